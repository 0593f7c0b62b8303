//! Audit log rows: written in the same transaction as the change they record, together with
//! the SCIM events the change emits (`events::append`).

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::{Map, Value};

use super::entity::audit_log;
use super::{now_us, sql_err};
use crate::domain::audit::Entry;
use crate::domain::{Error, Result};

/// Records one change.
pub async fn record(db: &impl ConnectionTrait, entry: &Entry) -> Result<()> {
    let changes =
        serde_json::to_string(&entry.changes).map_err(|e| Error::Internal(e.to_string()))?;
    audit_log::Entity::insert(audit_log::ActiveModel {
        tenant_id: Set(entry.tenant_id.clone()),
        at_us: Set(now_us()),
        actor_kind: Set(entry.actor.kind.as_str().to_string()),
        actor_credential_id: Set(entry.actor.credential_id.clone()),
        actor_user_id: Set(entry.actor.user_id.clone()),
        action: Set(entry.action.clone()),
        target_type: Set(entry.target_type.clone()),
        target_id: Set(entry.target_id.clone()),
        changes: Set(changes),
        ..Default::default()
    })
    .exec_without_returning(db)
    .await
    .map_err(|e| sql_err(e, "audit record"))?;
    super::events::append(db, std::slice::from_ref(entry)).await
}

/// Appends many audit records in multi-row statements (an upload's), inside the caller's
/// transaction.
pub async fn record_many(db: &impl ConnectionTrait, entries: &[Entry]) -> Result<()> {
    let at_us = now_us();
    let rows = entries
        .iter()
        .map(|entry| {
            let changes = serde_json::to_string(&entry.changes)
                .map_err(|e| Error::Internal(e.to_string()))?;
            Ok(audit_log::ActiveModel {
                tenant_id: Set(entry.tenant_id.clone()),
                at_us: Set(at_us),
                actor_kind: Set(entry.actor.kind.as_str().to_string()),
                actor_credential_id: Set(entry.actor.credential_id.clone()),
                actor_user_id: Set(entry.actor.user_id.clone()),
                action: Set(entry.action.clone()),
                target_type: Set(entry.target_type.clone()),
                target_id: Set(entry.target_id.clone()),
                changes: Set(changes),
                ..Default::default()
            })
        })
        .collect::<Result<Vec<_>>>()?;
    for chunk in rows.chunks(crate::store::rows_per_insert::<audit_log::Entity>()) {
        audit_log::Entity::insert_many(chunk.iter().cloned())
            .exec_without_returning(db)
            .await
            .map_err(|e| sql_err(e, "audit record"))?;
    }
    super::events::append(db, entries).await
}

/// Which records to list.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub actor_user_id: Option<String>,
    pub actor_credential_id: Option<String>,
    pub target_id: Option<String>,
    pub since_us: Option<i64>,
    pub until_us: Option<i64>,
    pub offset: u64,
    pub limit: u64,
}

/// A stored record, as listed.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub id: i64,
    pub at_us: i64,
    pub actor_kind: String,
    pub actor_credential_id: Option<String>,
    pub actor_user_id: Option<String>,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub changes: Map<String, Value>,
}

/// A page of a tenant's records, newest first, and how many match.
pub async fn list(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    q: &Query,
) -> Result<(Vec<Record>, u64)> {
    let mut query = audit_log::Entity::find().filter(audit_log::Column::TenantId.eq(tenant_id));
    if let Some(v) = &q.actor_user_id {
        query = query.filter(audit_log::Column::ActorUserId.eq(v.clone()));
    }
    if let Some(v) = &q.actor_credential_id {
        query = query.filter(audit_log::Column::ActorCredentialId.eq(v.clone()));
    }
    if let Some(v) = &q.target_id {
        query = query.filter(audit_log::Column::TargetId.eq(v.clone()));
    }
    if let Some(v) = q.since_us {
        query = query.filter(audit_log::Column::AtUs.gte(v));
    }
    if let Some(v) = q.until_us {
        query = query.filter(audit_log::Column::AtUs.lt(v));
    }
    let total = query
        .clone()
        .count(db)
        .await
        .map_err(|e| sql_err(e, "audit"))?;
    let rows = query
        .order_by_desc(audit_log::Column::AtUs)
        .order_by_desc(audit_log::Column::Id)
        .offset(q.offset)
        .limit(q.limit)
        .all(db)
        .await
        .map_err(|e| sql_err(e, "audit"))?;
    let records = rows
        .into_iter()
        .map(|m| Record {
            id: m.id,
            at_us: m.at_us,
            actor_kind: m.actor_kind,
            actor_credential_id: m.actor_credential_id,
            actor_user_id: m.actor_user_id,
            action: m.action,
            target_type: m.target_type,
            target_id: m.target_id,
            changes: serde_json::from_str(&m.changes).unwrap_or_default(),
        })
        .collect();
    Ok((records, total))
}
