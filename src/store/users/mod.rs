//! User rows: the document as JSON text, identity columns, and the `user_attrs` index rows
//! rebuilt on every write. Index rows and id lists go to the database in chunks (see
//! `store::MAX_BINDS`).
//!
//! `index` builds the searchable rows, `read` answers queries, `agent_ids` hands out ids.

mod agent_ids;
mod index;
mod read;

pub use self::agent_ids::{AgentIds, next_agent_id};
pub use self::index::{index_rows, write_indexes};
pub use self::read::*;

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set};
use serde_json::{Map, Value};

use crate::domain::user::{Document, ManagedBy, User, fold_key};
use crate::domain::{Error, Result};
use crate::store::entity::{group_members, groups, user_attrs, users};
use crate::store::{chunk_len, now_us, rows_per_insert, sql_err, unique_err};

use self::index::write_index;

pub(super) fn to_domain(m: users::Model) -> Result<User> {
    let attributes: Map<String, Value> = serde_json::from_str(&m.data)
        .map_err(|e| Error::Internal(format!("user {} has a corrupt document: {e}", m.id)))?;
    Ok(User {
        id: m.id,
        tenant_id: m.tenant_id,
        managed_by: ManagedBy::parse(&m.managed_by),
        version: m.version,
        created_us: m.created_us,
        modified_us: m.modified_us,
        attributes,
    })
}

fn data(user: &User) -> Result<String> {
    serde_json::to_string(&user.attributes).map_err(|e| Error::Internal(e.to_string()))
}

/// Maps a unique-index violation of a user write to the attribute it is about, from the
/// index's name (the one place that knows them).
fn uniqueness(user: &User) -> impl Fn(sea_orm::DbErr) -> Error + '_ {
    move |e| {
        let text = e.to_string();
        let (field, value) = if text.contains("agent_id") {
            ("agentId", user.agent_id().unwrap_or_default())
        } else if text.contains("primary_email") {
            ("emails", user.primary_email().unwrap_or_default())
        } else if text.contains("personal_phone") {
            (
                "personalPhoneNumber",
                user.personal_phone().unwrap_or_default(),
            )
        } else if text.contains("webrtc_fallback") {
            (
                "webRtcFallbackNumber",
                user.webrtc_fallback().unwrap_or_default(),
            )
        } else {
            ("userName", user.user_name())
        };
        let label = if field == "emails" {
            "primary email".to_string()
        } else {
            field.to_string()
        };
        unique_err(e, field, format!("{label} {value:?} is already in use"))
    }
}

/// Inserts a new user and its index rows, inside the caller's transaction; a taken userName
/// (case-insensitively), primary email, agent id, personal number or WebRTC fallback number is
/// a uniqueness error.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn insert(txn: &impl ConnectionTrait, user: &User, unique_email: bool) -> Result<()> {
    users::Entity::insert(new_row(user, unique_email)?)
        .exec_without_returning(txn)
        .await
        .map_err(uniqueness(user))?;
    write_index(txn, user).await
}

/// The value of `primary_email_unique`: the folded primary email when the tenant's
/// `uniquePrimaryEmail` is on (the unique index then refuses a second), else null.
fn email_unique(user: &User, unique_email: bool) -> Option<String> {
    user.primary_email().filter(|_| unique_email).map(fold_key)
}

fn new_row(user: &User, unique_email: bool) -> Result<users::ActiveModel> {
    Ok(users::ActiveModel {
        id: Set(user.id.clone()),
        tenant_id: Set(user.tenant_id.clone()),
        user_name: Set(user.user_name().to_string()),
        user_name_key: Set(fold_key(user.user_name())),
        external_id: Set(user.external_id().map(str::to_string)),
        display_name: Set(user.display_name().map(str::to_string)),
        display_name_key: Set(user.display_name().map(fold_key)),
        active: Set(user.active()),
        managed_by: Set(user.managed_by.as_str().to_string()),
        data: Set(data(user)?),
        version: Set(user.version),
        created_us: Set(user.created_us),
        modified_us: Set(user.modified_us),
        agent_id: Set(user.agent_id().map(str::to_string)),
        personal_phone: Set(user.personal_phone().map(str::to_string)),
        primary_email_key: Set(user.primary_email().map(fold_key)),
        primary_email_unique: Set(email_unique(user, unique_email)),
        webrtc_fallback: Set(user.webrtc_fallback().map(str::to_string)),
    })
}

/// Inserts new users and their index rows in multi-row statements, inside the caller's
/// transaction (an upload creating thousands). A taken unique value is a uniqueness error
/// naming the field (not the user: the caller checked the values beforehand, so this is a
/// concurrent writer).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn insert_many(
    txn: &impl ConnectionTrait,
    new_users: &[User],
    unique_email: bool,
) -> Result<()> {
    for chunk in new_users.chunks(rows_per_insert::<users::Entity>()) {
        let rows = chunk
            .iter()
            .map(|user| new_row(user, unique_email))
            .collect::<Result<Vec<_>>>()?;
        users::Entity::insert_many(rows)
            .exec_without_returning(txn)
            .await
            .map_err(|e| {
                let text = e.to_string();
                let field = [
                    "agent_id",
                    "primary_email",
                    "personal_phone",
                    "webrtc_fallback",
                ]
                .iter()
                .zip([
                    "agentId",
                    "emails",
                    "personalPhoneNumber",
                    "webRtcFallbackNumber",
                ])
                .find(|(index, _)| text.contains(**index))
                .map_or("userName", |(_, field)| field);
                unique_err(e, field, format!("{field}: a value is already in use"))
            })?;
    }
    write_indexes(txn, new_users, false).await
}

/// Stores a changed user, inside the caller's transaction, if its stored version is still
/// `expected_version` (else `VersionConflict`); the stored version becomes `user.version`.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn update(
    txn: &impl ConnectionTrait,
    user: &User,
    expected_version: i64,
    unique_email: bool,
) -> Result<()> {
    update_row(txn, user, expected_version, unique_email).await?;
    write_index(txn, user).await
}

/// [`update`] without the index rows: the caller rewrites them (`write_indexes`) before
/// its transaction ends.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn update_row(
    txn: &impl ConnectionTrait,
    user: &User,
    expected_version: i64,
    unique_email: bool,
) -> Result<()> {
    let result = users::Entity::update_many()
        .col_expr(
            users::Column::UserName,
            Expr::value(user.user_name().to_string()),
        )
        .col_expr(
            users::Column::UserNameKey,
            Expr::value(fold_key(user.user_name())),
        )
        .col_expr(
            users::Column::ExternalId,
            Expr::value(user.external_id().map(str::to_string)),
        )
        .col_expr(
            users::Column::DisplayName,
            Expr::value(user.display_name().map(str::to_string)),
        )
        .col_expr(
            users::Column::DisplayNameKey,
            Expr::value(user.display_name().map(fold_key)),
        )
        .col_expr(users::Column::Active, Expr::value(user.active()))
        .col_expr(
            users::Column::ManagedBy,
            Expr::value(user.managed_by.as_str().to_string()),
        )
        .col_expr(users::Column::Data, Expr::value(data(user)?))
        .col_expr(users::Column::Version, Expr::value(user.version))
        .col_expr(users::Column::ModifiedUs, Expr::value(user.modified_us))
        .col_expr(
            users::Column::AgentId,
            Expr::value(user.agent_id().map(str::to_string)),
        )
        .col_expr(
            users::Column::PersonalPhone,
            Expr::value(user.personal_phone().map(str::to_string)),
        )
        .col_expr(
            users::Column::PrimaryEmailKey,
            Expr::value(user.primary_email().map(fold_key)),
        )
        .col_expr(
            users::Column::PrimaryEmailUnique,
            Expr::value(email_unique(user, unique_email)),
        )
        .col_expr(
            users::Column::WebrtcFallback,
            Expr::value(user.webrtc_fallback().map(str::to_string)),
        )
        .filter(users::Column::Id.eq(user.id.clone()))
        .filter(users::Column::TenantId.eq(user.tenant_id.clone()))
        .filter(users::Column::Version.eq(expected_version))
        .exec(txn)
        .await
        .map_err(uniqueness(user))?;
    if result.rows_affected == 0 {
        return Err(Error::VersionConflict);
    }
    Ok(())
}

/// Deletes a user, inside the caller's transaction, if its stored version is still
/// `expected_version` (else `VersionConflict`: the caller re-reads and re-checks its rules).
/// The user's row goes first — taking its lock in the same order as an update — then its
/// index rows (by cascade) and its group memberships, bumping those groups' versions.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn delete(
    txn: &impl ConnectionTrait,
    tenant_id: &str,
    id: &str,
    expected_version: i64,
) -> Result<()> {
    let result = users::Entity::delete_many()
        .filter(users::Column::Id.eq(id))
        .filter(users::Column::TenantId.eq(tenant_id))
        .filter(users::Column::Version.eq(expected_version))
        .exec(txn)
        .await
        .map_err(|e| sql_err(e, "user"))?;
    if result.rows_affected == 0 {
        return Err(Error::VersionConflict);
    }
    let group_ids: Vec<String> = group_members::Entity::find()
        .select_only()
        .column(group_members::Column::GroupId)
        .filter(group_members::Column::MemberId.eq(id))
        .filter(group_members::Column::TenantId.eq(tenant_id))
        .into_tuple()
        .all(txn)
        .await
        .map_err(|e| sql_err(e, "user"))?;
    let modified_us = now_us();
    for chunk in group_ids.chunks(chunk_len(1)) {
        groups::Entity::update_many()
            .col_expr(
                groups::Column::Version,
                Expr::col(groups::Column::Version).add(1),
            )
            .col_expr(groups::Column::ModifiedUs, Expr::value(modified_us))
            .filter(groups::Column::Id.is_in(chunk.iter().cloned()))
            .exec(txn)
            .await
            .map_err(|e| sql_err(e, "group"))?;
    }
    group_members::Entity::delete_many()
        .filter(group_members::Column::MemberId.eq(id))
        .filter(group_members::Column::TenantId.eq(tenant_id))
        .exec(txn)
        .await
        .map_err(|e| sql_err(e, "user"))?;
    // Foreign keys cascade on PostgreSQL and on SQLite (foreign_keys=ON); said explicitly so
    // the index rows never outlive their user.
    user_attrs::Entity::delete_many()
        .filter(user_attrs::Column::UserId.eq(id))
        .exec(txn)
        .await
        .map_err(|e| sql_err(e, "user"))?;
    Ok(())
}

/// Turns the tenant's primary-email uniqueness on or off over all its users, inside the
/// settings change's transaction. Turning it on while users share a primary email is a
/// uniqueness error naming some of the shared addresses; nothing changes then.
pub async fn set_email_uniqueness(
    txn: &impl ConnectionTrait,
    tenant_id: &str,
    on: bool,
) -> Result<()> {
    let refused = |shared: &[String]| Error::Uniqueness {
        field: "uniquePrimaryEmail".into(),
        detail: format!(
            "users share a primary email ({}); give each its own before turning uniquePrimaryEmail on",
            shared.join(", ")
        ),
    };
    if on {
        let shared: Vec<String> = users::Entity::find()
            .select_only()
            .column(users::Column::PrimaryEmailKey)
            .filter(users::Column::TenantId.eq(tenant_id))
            .filter(users::Column::PrimaryEmailKey.is_not_null())
            .group_by(users::Column::PrimaryEmailKey)
            .having(Expr::col(users::Column::Id).count().gt(1))
            .limit(5)
            .into_tuple()
            .all(txn)
            .await
            .map_err(|e| sql_err(e, "users"))?;
        if !shared.is_empty() {
            return Err(refused(&shared));
        }
    }
    let value = if on {
        Expr::col(users::Column::PrimaryEmailKey)
    } else {
        Expr::value(Option::<String>::None)
    };
    users::Entity::update_many()
        .col_expr(users::Column::PrimaryEmailUnique, value)
        .filter(users::Column::TenantId.eq(tenant_id))
        .exec(txn)
        .await
        // A user given a shared address meanwhile.
        .map_err(|e| unique_err(e, "uniquePrimaryEmail", "users share a primary email; give each its own before turning uniquePrimaryEmail on".into()))?;
    Ok(())
}

/// The userName and displayName of each of `ids` that is a user of the tenant.
pub async fn names(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    ids: &[String],
) -> Result<std::collections::HashMap<String, (String, Option<String>)>> {
    let mut out = std::collections::HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(chunk_len(1)) {
        let rows: Vec<(String, String, Option<String>)> = users::Entity::find()
            .select_only()
            .column(users::Column::Id)
            .column(users::Column::UserName)
            .column(users::Column::DisplayName)
            .filter(users::Column::TenantId.eq(tenant_id))
            .filter(users::Column::Id.is_in(chunk.iter().cloned()))
            .into_tuple()
            .all(db)
            .await
            .map_err(|e| sql_err(e, "users"))?;
        for (id, user_name, display_name) in rows {
            out.insert(id, (user_name, display_name));
        }
    }
    Ok(out)
}
