//! The contact-centre domain: per-tenant catalogs (security profiles, routing profiles,
//! hierarchy nodes, skills, callback numbers), the audit log, and unique columns for agent
//! ids and personal phone numbers. Existing tenants get the built-in security profiles.

use sea_orm_migration::prelude::*;

use crate::columns::{id, index, text, text_null};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000002_contact_centre"
    }
}

/// The built-in security profiles every tenant starts with.
const BUILT_IN: [(&str, &str); 3] = [
    (
        "Administrator",
        r#"["ViewUsers","CreateUser","EditUser","ArchiveUser","DeleteUser","ManageRoutingSettings","ManageCredentials","ManageSettings"]"#,
    ),
    (
        "Supervisor",
        r#"["ViewUsers","EditUser","ArchiveUser","ManageRoutingSettings"]"#,
    ),
    ("Agent", "[]"),
];

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(id("catalog_items"))
                    .col(text("id").primary_key())
                    .col(text("tenant_id"))
                    .col(text("kind"))
                    .col(text("name"))
                    .col(text("name_key"))
                    .col(text("data").default("{}"))
                    .col(ColumnDef::new(id("created_us")).big_integer().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(id("catalog_items"), id("tenant_id"))
                            .to(id("tenants"), id("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "catalog_items_name",
                "catalog_items",
                &["tenant_id", "kind", "name_key"],
                true,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(id("audit_log"))
                    .col(
                        ColumnDef::new(id("id"))
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(text("tenant_id"))
                    .col(ColumnDef::new(id("at_us")).big_integer().not_null())
                    .col(text("actor_kind"))
                    .col(text_null("actor_credential_id"))
                    .col(text_null("actor_user_id"))
                    .col(text("action"))
                    .col(text("target_type"))
                    .col(text("target_id"))
                    .col(text("changes"))
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            ("audit_log_time", &["tenant_id", "at_us"][..]),
            ("audit_log_target", &["tenant_id", "target_id", "at_us"][..]),
            (
                "audit_log_actor",
                &["tenant_id", "actor_user_id", "at_us"][..],
            ),
        ] {
            manager
                .create_index(index(name, "audit_log", columns, false))
                .await?;
        }

        // SQLite adds one column per ALTER TABLE.
        for column in ["agent_id", "personal_phone"] {
            manager
                .alter_table(
                    Table::alter()
                        .table(id("users"))
                        .add_column(text_null(column))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(index(
                "users_tenant_agent_id",
                "users",
                &["tenant_id", "agent_id"],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                "users_tenant_personal_phone",
                "users",
                &["tenant_id", "personal_phone"],
                true,
            ))
            .await?;

        let db = manager.get_connection();
        for (name, permissions) in BUILT_IN {
            let key = name.to_lowercase();
            db.execute_unprepared(&format!(
                "INSERT INTO catalog_items (id, tenant_id, kind, name, name_key, data, created_us) \
                 SELECT id || ':security_profile:{key}', id, 'security_profile', '{name}', '{key}', \
                 '{{\"permissions\":{permissions}}}', created_us FROM tenants"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("users_tenant_personal_phone")
                    .table(id("users"))
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("users_tenant_agent_id")
                    .table(id("users"))
                    .to_owned(),
            )
            .await?;
        for column in ["personal_phone", "agent_id"] {
            manager
                .alter_table(
                    Table::alter()
                        .table(id("users"))
                        .drop_column(id(column))
                        .to_owned(),
                )
                .await?;
        }
        for table in ["audit_log", "catalog_items"] {
            manager
                .drop_table(Table::drop().table(id(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
