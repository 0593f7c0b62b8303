//! Provisioning operations:
//!
//! - `groups_tenant_display_name_unique` replaces `groups_tenant_display_name`: a group's `displayName` is unique per
//!   tenant, case-insensitively (`display_name_key` is the folded name). Groups already
//!   sharing a name are renamed first, deterministically: in each set of groups with one
//!   folded name, the oldest (by creation time, then id) keeps it and the others become
//!   `"<name> (2)"`, `"<name> (3)"`, … (the first suffix not taken), each with its version
//!   raised and an audit row `group.rename_duplicate` saying what it was called before. The
//!   migration prints one line per rename.
//! - `users.primary_email_unique`: the primary email's folded key when the tenant's
//!   `uniquePrimaryEmail` setting is on, else null; the unique index on the primary email
//!   moves to it (`users_tenant_primary_email_unique`), so turning the setting off or on is one
//!   statement over the tenant's users. `primary_email_key` stays, always filled, as the
//!   source the setting copies from.
//! - `event_receivers`: where a tenant's SCIM events go (RFC 9967 security event tokens):
//!   pushed to `url` (RFC 8935) or polled (RFC 8936) with the token whose SHA-256 is
//!   `poll_token_hash`; `secret` signs the tokens (HS256) and is needed in clear for that.
//!   `events` is the JSON array of the event names it takes; `down_until_us` is set while a
//!   push receiver is failing: none of its events is tried before then.
//! - `event_deliveries`: the outbox, one row per event and receiver, appended in the
//!   transaction of the change it records. `id` orders them; `state` is `pending`,
//!   `delivered` or `dead`; a delivering instance holds a row by `lease_until_us`, so a row
//!   whose instance died is taken up again once its lease runs out.
//! - `deprovisions`: each deactivation or deletion made by an identity provider's credential,
//!   for the mass-deprovision brake's count over its window.
//! - `holds` and `hold_items`: the brake's holds — a credential's deactivations and deletes
//!   refused until an admin releases them — and the users each would have affected. A
//!   credential has at most one hold open (`holds_open` over `open_key`, null once released).
//! - `provisioning_log`: the last SCIM requests of each credential, bounded in number and age.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement, TryGetable};

use crate::columns::{big, fk, id, index, text, text_null};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000008_provisioning"
    }
}

fn serial() -> ColumnDef {
    ColumnDef::new(id("id"))
        .big_integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .to_owned()
}

fn int(name: &str) -> ColumnDef {
    ColumnDef::new(id(name)).integer().not_null().to_owned()
}

fn big_null(name: &str) -> ColumnDef {
    ColumnDef::new(id(name)).big_integer().null().to_owned()
}

fn get<T: TryGetable>(
    row: &sea_orm_migration::sea_orm::QueryResult,
    column: &str,
) -> Result<T, DbErr> {
    row.try_get("", column)
}

async fn db_execute(manager: &SchemaManager<'_>, sql: &str) -> Result<(), DbErr> {
    manager
        .get_connection()
        .execute_unprepared(sql)
        .await
        .map(|_| ())
}

/// Renames groups sharing a folded display name within a tenant, as the module says.
async fn rename_duplicate_groups(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let backend = manager.get_database_backend();
    let rows = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT g.id, g.tenant_id, g.display_name, g.display_name_key, g.data, g.version \
             FROM groups g JOIN (SELECT tenant_id, display_name_key FROM groups \
             GROUP BY tenant_id, display_name_key HAVING COUNT(*) > 1) d \
             ON d.tenant_id = g.tenant_id AND d.display_name_key = g.display_name_key \
             ORDER BY g.tenant_id, g.display_name_key, g.created_us, g.id",
        ))
        .await?;
    let now_us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0);
    let mut previous: Option<(String, String)> = None;
    for row in rows {
        let group_id: String = get(&row, "id")?;
        let tenant_id: String = get(&row, "tenant_id")?;
        let name: String = get(&row, "display_name")?;
        let key: String = get(&row, "display_name_key")?;
        let data: String = get(&row, "data")?;
        let version: i64 = get(&row, "version")?;
        let set = Some((tenant_id.clone(), key.clone()));
        if previous != set {
            // The oldest of the set keeps its name.
            previous = set;
            continue;
        }
        let mut suffix = 2;
        let new_name = loop {
            let candidate = format!("{name} ({suffix})");
            let taken = db
                .query_one_raw(Statement::from_sql_and_values(
                    backend,
                    match backend {
                        sea_orm_migration::sea_orm::DatabaseBackend::Postgres => {
                            "SELECT 1 AS one FROM groups WHERE tenant_id = $1 AND display_name_key = $2"
                        }
                        _ => "SELECT 1 AS one FROM groups WHERE tenant_id = ? AND display_name_key = ?",
                    },
                    [tenant_id.clone().into(), candidate.to_lowercase().into()],
                ))
                .await?
                .is_some();
            if !taken {
                break candidate;
            }
            suffix += 1;
        };
        let mut document: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&data).unwrap_or_default();
        document.insert("displayName".into(), new_name.clone().into());
        let data = serde_json::Value::Object(document).to_string();
        let (update, audit) = match backend {
            sea_orm_migration::sea_orm::DatabaseBackend::Postgres => (
                "UPDATE groups SET display_name = $1, display_name_key = $2, data = $3, \
                 version = $4, modified_us = $5 WHERE id = $6",
                "INSERT INTO audit_log (tenant_id, at_us, actor_kind, action, target_type, \
                 target_id, changes) VALUES ($1, $2, 'cli', 'group.rename_duplicate', 'group', $3, $4)",
            ),
            _ => (
                "UPDATE groups SET display_name = ?, display_name_key = ?, data = ?, \
                 version = ?, modified_us = ? WHERE id = ?",
                "INSERT INTO audit_log (tenant_id, at_us, actor_kind, action, target_type, \
                 target_id, changes) VALUES (?, ?, 'cli', 'group.rename_duplicate', 'group', ?, ?)",
            ),
        };
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            update,
            [
                new_name.clone().into(),
                new_name.to_lowercase().into(),
                data.into(),
                (version + 1).into(),
                now_us.into(),
                group_id.clone().into(),
            ],
        ))
        .await?;
        let changes = serde_json::json!({"displayName": {"before": name, "after": new_name}});
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            audit,
            [
                tenant_id.clone().into(),
                now_us.into(),
                group_id.clone().into(),
                changes.to_string().into(),
            ],
        ))
        .await?;
        println!(
            "migration: group {group_id} of tenant {tenant_id} shared the name {name:?} with an older group; renamed to {new_name:?}"
        );
    }
    Ok(())
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    /// All or nothing on SQLite too (sea-orm-migration runs SQLite migrations outside a
    /// transaction by default): a migration stopped half-way would leave the renamed groups
    /// without their index.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rename_duplicate_groups(manager).await?;
        manager
            .alter_table(
                Table::alter()
                    .table(id("users"))
                    .add_column(text_null("primary_email_unique"))
                    .to_owned(),
            )
            .await?;
        db_execute(manager, "DROP INDEX users_tenant_primary_email").await?;
        db_execute(
            manager,
            "UPDATE users SET primary_email_unique = primary_email_key",
        )
        .await?;
        manager
            .create_index(index(
                "users_tenant_primary_email_unique",
                "users",
                &["tenant_id", "primary_email_unique"],
                true,
            ))
            .await?;
        db_execute(manager, "DROP INDEX groups_tenant_display_name").await?;
        manager
            .create_index(index(
                "groups_tenant_display_name_unique",
                "groups",
                &["tenant_id", "display_name_key"],
                true,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(id("event_receivers"))
                    .col(text("id").primary_key())
                    .col(text("tenant_id"))
                    .col(text("delivery"))
                    .col(text_null("url"))
                    .col(text_null("poll_token_hash"))
                    .col(text("secret"))
                    .col(text("events"))
                    .col(text_null("description"))
                    .col(big_null("down_until_us"))
                    .col(big("version"))
                    .col(big("created_us"))
                    .col(big("modified_us"))
                    .foreign_key(&mut fk("event_receivers", "tenant_id", "tenants"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "event_receivers_tenant",
                "event_receivers",
                &["tenant_id"],
                false,
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(id("event_deliveries"))
                    .col(serial())
                    .col(text("tenant_id"))
                    .col(text("receiver_id"))
                    .col(text("jti"))
                    .col(text("event"))
                    .col(text("resource_type"))
                    .col(text("resource_id"))
                    .col(text("claims"))
                    .col(big("created_us"))
                    .col(text("state"))
                    .col(int("attempts"))
                    .col(big("next_us"))
                    .col(big_null("lease_until_us"))
                    .col(text_null("last_error"))
                    .col(big_null("delivered_us"))
                    .foreign_key(&mut fk(
                        "event_deliveries",
                        "receiver_id",
                        "event_receivers",
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            ("event_deliveries_due", &["state", "next_us"][..]),
            // The delivery claim asks, per candidate, whether an earlier event of the same
            // resource is pending: an index seek, whatever the backlog.
            (
                "event_deliveries_resource",
                &["receiver_id", "resource_id", "state", "id"][..],
            ),
            (
                "event_deliveries_receiver",
                &["receiver_id", "state", "id"][..],
            ),
            ("event_deliveries_jti", &["receiver_id", "jti"][..]),
        ] {
            manager
                .create_index(index(name, "event_deliveries", columns, false))
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(id("deprovisions"))
                    .col(serial())
                    .col(text("tenant_id"))
                    .col(text("credential_id"))
                    .col(text("user_id"))
                    .col(big("at_us"))
                    .foreign_key(&mut fk("deprovisions", "tenant_id", "tenants"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "deprovisions_window",
                "deprovisions",
                &["tenant_id", "credential_id", "at_us"],
                false,
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(id("holds"))
                    .col(text("id").primary_key())
                    .col(text("tenant_id"))
                    .col(text("credential_id"))
                    .col(text_null("open_key"))
                    .col(text("state"))
                    .col(big("threshold"))
                    .col(big("active_users"))
                    .col(big("created_us"))
                    .col(big_null("released_us"))
                    .col(text_null("released_by"))
                    .foreign_key(&mut fk("holds", "tenant_id", "tenants"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "holds_credential",
                "holds",
                &["tenant_id", "credential_id", "state"],
                false,
            ))
            .await?;
        // At most one open hold per credential: `open_key` is the credential id while the
        // hold is held, null once released.
        manager
            .create_index(index(
                "holds_open",
                "holds",
                &["tenant_id", "open_key"],
                true,
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(id("hold_items"))
                    .col(text("hold_id"))
                    .col(text("user_id"))
                    .col(text("operation"))
                    .col(big("first_us"))
                    .col(big("last_us"))
                    .col(int("attempts"))
                    .primary_key(Index::create().col(id("hold_id")).col(id("user_id")))
                    .foreign_key(&mut fk("hold_items", "hold_id", "holds"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(id("provisioning_log"))
                    .col(serial())
                    .col(text("tenant_id"))
                    .col(text("credential_id"))
                    .col(big("at_us"))
                    .col(text("method"))
                    .col(text("path"))
                    .col(int("status"))
                    .col(big("latency_us"))
                    .col(text_null("resource_id"))
                    .col(text_null("user_name_key"))
                    .col(text_null("scim_type"))
                    .col(text_null("detail"))
                    .col(text_null("request"))
                    .foreign_key(&mut fk("provisioning_log", "tenant_id", "tenants"))
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            ("provisioning_log_tenant", &["tenant_id", "id"][..]),
            ("provisioning_log_credential", &["credential_id", "id"][..]),
            (
                "provisioning_log_status",
                &["tenant_id", "status", "id"][..],
            ),
            (
                "provisioning_log_resource",
                &["tenant_id", "resource_id", "id"][..],
            ),
            (
                "provisioning_log_user_name",
                &["tenant_id", "user_name_key", "id"][..],
            ),
            ("provisioning_log_age", &["at_us"][..]),
        ] {
            manager
                .create_index(index(name, "provisioning_log", columns, false))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "provisioning_log",
            "hold_items",
            "holds",
            "deprovisions",
            "event_deliveries",
            "event_receivers",
        ] {
            manager
                .drop_table(Table::drop().table(id(table)).to_owned())
                .await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("groups_tenant_display_name_unique")
                    .table(id("groups"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "groups_tenant_display_name",
                "groups",
                &["tenant_id", "display_name_key"],
                false,
            ))
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("users_tenant_primary_email_unique")
                    .table(id("users"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(id("users"))
                    .drop_column(id("primary_email_unique"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "users_tenant_primary_email",
                "users",
                &["tenant_id", "primary_email_key"],
                true,
            ))
            .await
    }
}
