//! The SCIM events outbox and its receivers.
//!
//! [`append`] runs inside the transaction of every audited change (from `audit::record`):
//! one row per event and subscribed receiver, so a change and its events commit or roll back
//! together. Delivery takes rows in `id` order, at most one pending row per receiver and
//! resource at a time (so each resource's events arrive in order), under a lease: a row a
//! delivering instance holds is skipped by the others (`FOR UPDATE SKIP LOCKED` on
//! PostgreSQL; SQLite has one writer), and taken up again once the lease runs out if that
//! instance died.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, Statement,
};
use serde_json::Value;

use super::entity::{event_deliveries, event_receivers};
use super::{now_us, rows_per_insert, sql_err};
use crate::domain::audit::Entry;
use crate::domain::events;
use crate::domain::{Error, Result};

/// How a receiver gets its events.
pub const PUSH: &str = "push";
pub const POLL: &str = "poll";

/// Delivery states.
pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
pub const DEAD: &str = "dead";

/// A receiver as stored.
pub type Receiver = event_receivers::Model;

/// A delivery row as stored.
pub type Delivery = event_deliveries::Model;

/// The event names a receiver takes (empty: all).
pub fn wanted(receiver: &Receiver) -> Vec<String> {
    serde_json::from_str(&receiver.events).unwrap_or_default()
}

/// Appends the events of audited changes to the outbox of each receiver of their tenant
/// that takes them, inside the caller's transaction. One read when the tenant has no
/// receiver.
pub async fn append(db: &impl ConnectionTrait, entries: &[Entry]) -> Result<()> {
    let Some(first) = entries.first() else {
        return Ok(());
    };
    if !entries
        .iter()
        .any(|e| matches!(e.target_type.as_str(), "user" | "group"))
    {
        return Ok(());
    }
    let receivers: Vec<(String, String)> = event_receivers::Entity::find()
        .select_only()
        .column(event_receivers::Column::Id)
        .column(event_receivers::Column::Events)
        .filter(event_receivers::Column::TenantId.eq(first.tenant_id.clone()))
        .into_tuple()
        .all(db)
        .await
        .map_err(|e| sql_err(e, "event receivers"))?;
    if receivers.is_empty() {
        return Ok(());
    }
    let receivers: Vec<(String, Vec<String>)> = receivers
        .into_iter()
        .map(|(id, events)| (id, serde_json::from_str(&events).unwrap_or_default()))
        .collect();
    let now = now_us();
    let mut rows = Vec::new();
    for entry in entries {
        let txn = uuid::Uuid::new_v4().to_string();
        for event in events::of(entry) {
            for (receiver, wanted) in &receivers {
                if !events::wants(wanted, event.name) {
                    continue;
                }
                let jti = uuid::Uuid::new_v4().to_string();
                rows.push(event_deliveries::ActiveModel {
                    tenant_id: Set(entry.tenant_id.clone()),
                    receiver_id: Set(receiver.clone()),
                    jti: Set(jti.clone()),
                    event: Set(event.name.to_string()),
                    resource_type: Set(event.resource_type.to_string()),
                    resource_id: Set(event.resource_id.clone()),
                    claims: Set(event.claims(&jti, &txn, now).to_string()),
                    created_us: Set(now),
                    state: Set(PENDING.into()),
                    attempts: Set(0),
                    next_us: Set(now),
                    lease_until_us: Set(None),
                    last_error: Set(None),
                    delivered_us: Set(None),
                    ..Default::default()
                });
            }
        }
    }
    for chunk in rows.chunks(rows_per_insert::<event_deliveries::Entity>()) {
        event_deliveries::Entity::insert_many(chunk.iter().cloned())
            .exec_without_returning(db)
            .await
            .map_err(|e| sql_err(e, "event"))?;
    }
    Ok(())
}

/// A tenant's receivers, oldest first.
pub async fn receivers(db: &impl ConnectionTrait, tenant_id: &str) -> Result<Vec<Receiver>> {
    event_receivers::Entity::find()
        .filter(event_receivers::Column::TenantId.eq(tenant_id))
        .order_by_asc(event_receivers::Column::CreatedUs)
        .order_by_asc(event_receivers::Column::Id)
        .all(db)
        .await
        .map_err(|e| sql_err(e, "event receivers"))
}

/// One receiver of a tenant.
pub async fn receiver(db: &impl ConnectionTrait, tenant_id: &str, id: &str) -> Result<Receiver> {
    event_receivers::Entity::find_by_id(id.to_string())
        .filter(event_receivers::Column::TenantId.eq(tenant_id))
        .one(db)
        .await
        .map_err(|e| sql_err(e, "event receiver"))?
        .ok_or_else(|| Error::NotFound(format!("event receiver {id}")))
}

/// The receiver a poll token belongs to.
pub async fn receiver_by_poll_token(
    db: &impl ConnectionTrait,
    token_hash: &str,
) -> Result<Option<Receiver>> {
    event_receivers::Entity::find()
        .filter(event_receivers::Column::PollTokenHash.eq(token_hash))
        .filter(event_receivers::Column::Delivery.eq(POLL))
        .one(db)
        .await
        .map_err(|e| sql_err(e, "event receiver"))
}

pub async fn insert_receiver(db: &impl ConnectionTrait, receiver: Receiver) -> Result<()> {
    let model: event_receivers::ActiveModel = receiver.into();
    event_receivers::Entity::insert(model)
        .exec_without_returning(db)
        .await
        .map_err(|e| sql_err(e, "event receiver"))?;
    Ok(())
}

/// Stores a changed receiver if its version is still `expected_version`.
pub async fn update_receiver(
    db: &impl ConnectionTrait,
    receiver: &Receiver,
    expected_version: i64,
) -> Result<()> {
    let result = event_receivers::Entity::update_many()
        .col_expr(
            event_receivers::Column::Url,
            Expr::value(receiver.url.clone()),
        )
        .col_expr(
            event_receivers::Column::Events,
            Expr::value(receiver.events.clone()),
        )
        .col_expr(
            event_receivers::Column::Description,
            Expr::value(receiver.description.clone()),
        )
        .col_expr(
            event_receivers::Column::Secret,
            Expr::value(receiver.secret.clone()),
        )
        .col_expr(
            event_receivers::Column::PollTokenHash,
            Expr::value(receiver.poll_token_hash.clone()),
        )
        .col_expr(
            event_receivers::Column::Version,
            Expr::value(receiver.version),
        )
        .col_expr(
            event_receivers::Column::ModifiedUs,
            Expr::value(receiver.modified_us),
        )
        .filter(event_receivers::Column::Id.eq(receiver.id.clone()))
        .filter(event_receivers::Column::TenantId.eq(receiver.tenant_id.clone()))
        .filter(event_receivers::Column::Version.eq(expected_version))
        .exec(db)
        .await
        .map_err(|e| sql_err(e, "event receiver"))?;
    if result.rows_affected == 0 {
        return Err(Error::VersionConflict);
    }
    Ok(())
}

/// Deletes a receiver and its outbox.
pub async fn delete_receiver(db: &impl ConnectionTrait, tenant_id: &str, id: &str) -> Result<()> {
    event_deliveries::Entity::delete_many()
        .filter(event_deliveries::Column::ReceiverId.eq(id))
        .filter(event_deliveries::Column::TenantId.eq(tenant_id))
        .exec(db)
        .await
        .map_err(|e| sql_err(e, "event"))?;
    let result = event_receivers::Entity::delete_many()
        .filter(event_receivers::Column::Id.eq(id))
        .filter(event_receivers::Column::TenantId.eq(tenant_id))
        .exec(db)
        .await
        .map_err(|e| sql_err(e, "event receiver"))?;
    if result.rows_affected == 0 {
        return Err(Error::NotFound(format!("event receiver {id}")));
    }
    Ok(())
}

/// A receiver's deliveries by state: `pending`, `delivered` and `dead`.
pub async fn counts(db: &impl ConnectionTrait, receiver_id: &str) -> Result<[u64; 3]> {
    let mut out = [0; 3];
    for (i, state) in [PENDING, DELIVERED, DEAD].iter().enumerate() {
        out[i] = event_deliveries::Entity::find()
            .filter(event_deliveries::Column::ReceiverId.eq(receiver_id))
            .filter(event_deliveries::Column::State.eq(*state))
            .count(db)
            .await
            .map_err(|e| sql_err(e, "event"))?;
    }
    Ok(out)
}

/// A page of a receiver's deliveries in one state, oldest first.
pub async fn deliveries(
    db: &impl ConnectionTrait,
    receiver_id: &str,
    state: Option<&str>,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<Delivery>)> {
    let mut query = event_deliveries::Entity::find()
        .filter(event_deliveries::Column::ReceiverId.eq(receiver_id));
    if let Some(state) = state {
        query = query.filter(event_deliveries::Column::State.eq(state));
    }
    let total = query
        .clone()
        .count(db)
        .await
        .map_err(|e| sql_err(e, "event"))?;
    let rows = query
        .order_by_asc(event_deliveries::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(db)
        .await
        .map_err(|e| sql_err(e, "event"))?;
    Ok((total, rows))
}

/// Puts a receiver's dead deliveries back in line; answers how many.
pub async fn redeliver(db: &impl ConnectionTrait, receiver_id: &str) -> Result<u64> {
    let result = event_deliveries::Entity::update_many()
        .col_expr(event_deliveries::Column::State, Expr::value(PENDING))
        .col_expr(event_deliveries::Column::Attempts, Expr::value(0))
        .col_expr(event_deliveries::Column::NextUs, Expr::value(now_us()))
        .filter(event_deliveries::Column::ReceiverId.eq(receiver_id))
        .filter(event_deliveries::Column::State.eq(DEAD))
        .exec(db)
        .await
        .map_err(|e| sql_err(e, "event"))?;
    Ok(result.rows_affected)
}

/// What a push delivery needs of a claimed row.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub receiver_id: String,
    pub claims: String,
    pub attempts: i32,
}

fn placeholders(backend: DatabaseBackend, sql: &str) -> String {
    if backend != DatabaseBackend::Postgres {
        return sql.to_string();
    }
    let mut n = 0;
    let mut out = String::with_capacity(sql.len() + 8);
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(c);
        }
    }
    out
}

/// Takes up to `limit` due push deliveries for this instance until `lease_until_us`: the
/// oldest pending row of each receiver and resource whose turn has come and that no live
/// lease holds.
pub async fn claim(
    db: &impl ConnectionTrait,
    limit: u64,
    lease_until_us: i64,
) -> Result<Vec<Claimed>> {
    let backend = db.get_database_backend();
    let lock = if backend == DatabaseBackend::Postgres {
        " FOR UPDATE OF d SKIP LOCKED"
    } else {
        ""
    };
    let now = now_us();
    let sql = format!(
        "UPDATE event_deliveries SET lease_until_us = ? WHERE id IN (\
         SELECT d.id FROM event_deliveries d JOIN event_receivers r ON r.id = d.receiver_id \
         WHERE d.state = 'pending' AND r.delivery = 'push' AND d.next_us <= ? \
         AND (r.down_until_us IS NULL OR r.down_until_us <= ?) \
         AND (d.lease_until_us IS NULL OR d.lease_until_us < ?) \
         AND NOT EXISTS (SELECT 1 FROM event_deliveries e WHERE e.receiver_id = d.receiver_id \
         AND e.resource_id = d.resource_id AND e.state = 'pending' AND e.id < d.id) \
         ORDER BY d.id LIMIT ?{lock}) \
         RETURNING id, receiver_id, claims, attempts"
    );
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            placeholders(backend, &sql),
            [
                lease_until_us.into(),
                now.into(),
                now.into(),
                now.into(),
                (limit as i64).into(),
            ],
        ))
        .await
        .map_err(|e| sql_err(e, "event claim"))?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let get = |e: sea_orm::DbErr| Error::Internal(e.to_string());
        out.push(Claimed {
            id: row.try_get("", "id").map_err(get)?,
            receiver_id: row.try_get("", "receiver_id").map_err(get)?,
            claims: row.try_get("", "claims").map_err(get)?,
            attempts: row.try_get("", "attempts").map_err(get)?,
        });
    }
    out.sort_by_key(|c| c.id);
    Ok(out)
}

/// Marks deliveries done.
pub async fn delivered(db: &impl ConnectionTrait, ids: &[i64]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    event_deliveries::Entity::update_many()
        .col_expr(event_deliveries::Column::State, Expr::value(DELIVERED))
        .col_expr(event_deliveries::Column::DeliveredUs, Expr::value(now_us()))
        .col_expr(
            event_deliveries::Column::LeaseUntilUs,
            Expr::value(Option::<i64>::None),
        )
        .filter(event_deliveries::Column::Id.is_in(ids.iter().copied()))
        .exec(db)
        .await
        .map_err(|e| sql_err(e, "event"))?;
    Ok(())
}

/// Records a failed attempt: the row waits until `next_us`, or is dead when `dead`.
pub async fn failed(
    db: &impl ConnectionTrait,
    id: i64,
    attempts: i32,
    next_us: i64,
    dead: bool,
    error: &str,
) -> Result<()> {
    event_deliveries::Entity::update_many()
        .col_expr(
            event_deliveries::Column::State,
            Expr::value(if dead { DEAD } else { PENDING }),
        )
        .col_expr(event_deliveries::Column::Attempts, Expr::value(attempts))
        .col_expr(event_deliveries::Column::NextUs, Expr::value(next_us))
        .col_expr(
            event_deliveries::Column::LeaseUntilUs,
            Expr::value(Option::<i64>::None),
        )
        .col_expr(
            event_deliveries::Column::LastError,
            Expr::value(error.chars().take(500).collect::<String>()),
        )
        .filter(event_deliveries::Column::Id.eq(id))
        .exec(db)
        .await
        .map_err(|e| sql_err(e, "event"))?;
    Ok(())
}

/// A poll (RFC 8936): acknowledges `ack`ed events and dead-letters those the receiver
/// reports errors for, then answers up to `max` pending ones in order, and whether more wait.
pub async fn poll(
    db: &impl ConnectionTrait,
    receiver_id: &str,
    ack: &[String],
    errors: &[(String, String)],
    max: u64,
) -> Result<(Vec<(String, String)>, bool)> {
    for chunk in ack.chunks(super::chunk_len(1)) {
        event_deliveries::Entity::update_many()
            .col_expr(event_deliveries::Column::State, Expr::value(DELIVERED))
            .col_expr(event_deliveries::Column::DeliveredUs, Expr::value(now_us()))
            .filter(event_deliveries::Column::ReceiverId.eq(receiver_id))
            .filter(event_deliveries::Column::State.eq(PENDING))
            .filter(event_deliveries::Column::Jti.is_in(chunk.iter().cloned()))
            .exec(db)
            .await
            .map_err(|e| sql_err(e, "event"))?;
    }
    for (jti, error) in errors {
        event_deliveries::Entity::update_many()
            .col_expr(event_deliveries::Column::State, Expr::value(DEAD))
            .col_expr(
                event_deliveries::Column::LastError,
                Expr::value(error.chars().take(500).collect::<String>()),
            )
            .filter(event_deliveries::Column::ReceiverId.eq(receiver_id))
            .filter(event_deliveries::Column::State.eq(PENDING))
            .filter(event_deliveries::Column::Jti.eq(jti.clone()))
            .exec(db)
            .await
            .map_err(|e| sql_err(e, "event"))?;
    }
    let rows: Vec<(String, String)> = event_deliveries::Entity::find()
        .select_only()
        .column(event_deliveries::Column::Jti)
        .column(event_deliveries::Column::Claims)
        .filter(event_deliveries::Column::ReceiverId.eq(receiver_id))
        .filter(event_deliveries::Column::State.eq(PENDING))
        .order_by_asc(event_deliveries::Column::Id)
        .limit(max + 1)
        .into_tuple()
        .all(db)
        .await
        .map_err(|e| sql_err(e, "event"))?;
    let more = rows.len() as u64 > max;
    Ok((rows.into_iter().take(max as usize).collect(), more))
}

/// A receiver answered: if it was marked down, it no longer is, and its events waiting out
/// their own backoff are due now — after an outage the backlog flows as soon as one retry
/// gets through. `failed_now` (events that failed in the same round) keep their backoff.
pub async fn receiver_up(
    db: &impl ConnectionTrait,
    receiver_id: &str,
    failed_now: &[i64],
) -> Result<()> {
    let was_down = event_receivers::Entity::update_many()
        .col_expr(
            event_receivers::Column::DownUntilUs,
            Expr::value(Option::<i64>::None),
        )
        .filter(event_receivers::Column::Id.eq(receiver_id))
        .filter(event_receivers::Column::DownUntilUs.is_not_null())
        .exec(db)
        .await
        .map_err(|e| sql_err(e, "event receiver"))?
        .rows_affected
        > 0;
    if !was_down {
        return Ok(());
    }
    let now = now_us();
    event_deliveries::Entity::update_many()
        .col_expr(event_deliveries::Column::NextUs, Expr::value(now))
        .filter(event_deliveries::Column::ReceiverId.eq(receiver_id))
        .filter(event_deliveries::Column::Id.is_not_in(failed_now.iter().copied()))
        .filter(event_deliveries::Column::State.eq(PENDING))
        .filter(event_deliveries::Column::NextUs.gt(now))
        .exec(db)
        .await
        .map_err(|e| sql_err(e, "event"))?;
    Ok(())
}

/// A round of attempts to a receiver all failed: none of its events is tried before
/// `until_us` (a receiver that is down gets one round per backoff step, not one attempt per
/// resource, and new events wait with the old).
pub async fn receiver_down(
    db: &impl ConnectionTrait,
    receiver_id: &str,
    until_us: i64,
) -> Result<()> {
    event_receivers::Entity::update_many()
        .col_expr(event_receivers::Column::DownUntilUs, Expr::value(until_us))
        .filter(event_receivers::Column::Id.eq(receiver_id))
        .exec(db)
        .await
        .map_err(|e| sql_err(e, "event receiver"))?;
    Ok(())
}

/// Deletes delivered events older than `before_us`; answers how many.
pub async fn sweep(db: &impl ConnectionTrait, before_us: i64) -> Result<u64> {
    let result = event_deliveries::Entity::delete_many()
        .filter(event_deliveries::Column::State.eq(DELIVERED))
        .filter(event_deliveries::Column::CreatedUs.lt(before_us))
        .exec(db)
        .await
        .map_err(|e| sql_err(e, "event"))?;
    Ok(result.rows_affected)
}

/// The claims of a stored event, as JSON.
pub fn claims_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}
