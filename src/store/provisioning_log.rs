//! The provisioning log's rows: the last SCIM requests of each credential, written in
//! batches by the log's writer (`http::provisioning_log`), bounded in number per credential
//! and in age, and listed newest first for the admin API.

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use super::entity::provisioning_log;
use super::sql_err;
use crate::domain::Result;

/// One request, as the writer stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    pub tenant_id: String,
    pub credential_id: String,
    pub at_us: i64,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub latency_us: i64,
    pub resource_id: Option<String>,
    /// The userName the request named, folded (`domain::user::fold_key`).
    pub user_name_key: Option<String>,
    pub scim_type: Option<String>,
    pub detail: Option<String>,
    /// The request body as JSON text, secrets removed and bounded in size.
    pub request: Option<String>,
}

/// Appends entries in multi-row statements.
pub async fn insert(db: &impl ConnectionTrait, entries: &[NewEntry]) -> Result<()> {
    let rows: Vec<provisioning_log::ActiveModel> = entries
        .iter()
        .map(|e| provisioning_log::ActiveModel {
            tenant_id: Set(e.tenant_id.clone()),
            credential_id: Set(e.credential_id.clone()),
            at_us: Set(e.at_us),
            method: Set(e.method.clone()),
            path: Set(e.path.clone()),
            status: Set(i32::from(e.status)),
            latency_us: Set(e.latency_us),
            resource_id: Set(e.resource_id.clone()),
            user_name_key: Set(e.user_name_key.clone()),
            scim_type: Set(e.scim_type.clone()),
            detail: Set(e.detail.clone()),
            request: Set(e.request.clone()),
            ..Default::default()
        })
        .collect();
    for chunk in rows.chunks(super::rows_per_insert::<provisioning_log::Entity>()) {
        provisioning_log::Entity::insert_many(chunk.iter().cloned())
            .exec_without_returning(db)
            .await
            .map_err(|e| sql_err(e, "provisioning log entry"))?;
    }
    Ok(())
}

/// Deletes a credential's entries but the newest `keep`; answers how many went.
pub async fn keep_newest(db: &impl ConnectionTrait, credential_id: &str, keep: u64) -> Result<u64> {
    let cutoff: Option<i64> = provisioning_log::Entity::find()
        .select_only()
        .column(provisioning_log::Column::Id)
        .filter(provisioning_log::Column::CredentialId.eq(credential_id))
        .order_by_desc(provisioning_log::Column::Id)
        .offset(keep)
        .limit(1)
        .into_tuple()
        .one(db)
        .await
        .map_err(|e| sql_err(e, "provisioning log"))?;
    let Some(cutoff) = cutoff else {
        return Ok(0);
    };
    let result = provisioning_log::Entity::delete_many()
        .filter(provisioning_log::Column::CredentialId.eq(credential_id))
        .filter(provisioning_log::Column::Id.lte(cutoff))
        .exec(db)
        .await
        .map_err(|e| sql_err(e, "provisioning log"))?;
    Ok(result.rows_affected)
}

/// Deletes every entry older than `before_us`; answers how many went.
pub async fn delete_older(db: &impl ConnectionTrait, before_us: i64) -> Result<u64> {
    let result = provisioning_log::Entity::delete_many()
        .filter(provisioning_log::Column::AtUs.lt(before_us))
        .exec(db)
        .await
        .map_err(|e| sql_err(e, "provisioning log"))?;
    Ok(result.rows_affected)
}

/// Which entries of a tenant to list.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Statuses from the first to the second, inclusive.
    pub status: Option<(u16, u16)>,
    /// Entries about one user: those naming one of these resource ids, or this folded
    /// userName.
    pub user: Option<(Vec<String>, String)>,
    pub credential_id: Option<String>,
    pub offset: u64,
    pub limit: u64,
}

/// A stored entry, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub id: i64,
    pub credential_id: String,
    pub at_us: i64,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub latency_us: i64,
    pub resource_id: Option<String>,
    pub user_name_key: Option<String>,
    pub scim_type: Option<String>,
    pub detail: Option<String>,
    pub request: Option<String>,
}

/// A page of a tenant's entries, newest (last written) first, and how many match.
pub async fn list(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    q: &Query,
) -> Result<(Vec<Record>, u64)> {
    let mut query =
        provisioning_log::Entity::find().filter(provisioning_log::Column::TenantId.eq(tenant_id));
    if let Some((from, to)) = q.status {
        query = query
            .filter(provisioning_log::Column::Status.gte(i32::from(from)))
            .filter(provisioning_log::Column::Status.lte(i32::from(to)));
    }
    if let Some((ids, key)) = &q.user {
        let mut any = Condition::any().add(provisioning_log::Column::UserNameKey.eq(key.clone()));
        if !ids.is_empty() {
            any = any.add(provisioning_log::Column::ResourceId.is_in(ids.clone()));
        }
        query = query.filter(any);
    }
    if let Some(id) = &q.credential_id {
        query = query.filter(provisioning_log::Column::CredentialId.eq(id.clone()));
    }
    let total = query
        .clone()
        .count(db)
        .await
        .map_err(|e| sql_err(e, "provisioning log"))?;
    let rows = query
        .order_by_desc(provisioning_log::Column::Id)
        .offset(q.offset)
        .limit(q.limit)
        .all(db)
        .await
        .map_err(|e| sql_err(e, "provisioning log"))?;
    let records = rows
        .into_iter()
        .map(|m| Record {
            id: m.id,
            credential_id: m.credential_id,
            at_us: m.at_us,
            method: m.method,
            path: m.path,
            status: u16::try_from(m.status).unwrap_or(0),
            latency_us: m.latency_us,
            resource_id: m.resource_id,
            user_name_key: m.user_name_key,
            scim_type: m.scim_type,
            detail: m.detail,
            request: m.request,
        })
        .collect();
    Ok((records, total))
}
