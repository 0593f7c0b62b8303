//! The mass-deprovision brake's rows: each deactivation or deletion made by an identity
//! provider's credential (`deprovisions`), the holds (`holds`, at most one open per
//! credential by a unique index) and the users each hold kept (`hold_items`).

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use super::entity::{deprovisions, hold_items, holds, users};
use super::{now_us, sql_err};
use crate::domain::{Error, Result};

pub const HELD: &str = "held";
pub const RELEASED: &str = "released";

pub type Hold = holds::Model;
pub type HoldItem = hold_items::Model;

/// Deprovisions counted for a credential since `since_us`.
pub async fn count_since(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    credential_id: &str,
    since_us: i64,
) -> Result<u64> {
    deprovisions::Entity::find()
        .filter(deprovisions::Column::TenantId.eq(tenant_id))
        .filter(deprovisions::Column::CredentialId.eq(credential_id))
        .filter(deprovisions::Column::AtUs.gt(since_us))
        .count(db)
        .await
        .map_err(|e| sql_err(e, "deprovisions"))
}

/// The tenant's active users.
pub async fn active_users(db: &impl ConnectionTrait, tenant_id: &str) -> Result<u64> {
    users::Entity::find()
        .filter(users::Column::TenantId.eq(tenant_id))
        .filter(users::Column::Active.eq(true))
        .count(db)
        .await
        .map_err(|e| sql_err(e, "users"))
}

/// Deletes counted deprovisions older than `before_us` (beyond every window).
pub async fn sweep(db: &impl ConnectionTrait, before_us: i64) -> Result<u64> {
    let result = deprovisions::Entity::delete_many()
        .filter(deprovisions::Column::AtUs.lt(before_us))
        .exec(db)
        .await
        .map_err(|e| sql_err(e, "deprovisions"))?;
    Ok(result.rows_affected)
}

/// Counts one deprovision.
pub async fn record(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    credential_id: &str,
    user_id: &str,
) -> Result<()> {
    deprovisions::Entity::insert(deprovisions::ActiveModel {
        tenant_id: Set(tenant_id.to_string()),
        credential_id: Set(credential_id.to_string()),
        user_id: Set(user_id.to_string()),
        at_us: Set(now_us()),
        ..Default::default()
    })
    .exec_without_returning(db)
    .await
    .map_err(|e| sql_err(e, "deprovisions"))?;
    Ok(())
}

/// The credential's open hold, if any.
pub async fn open_hold(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    credential_id: &str,
) -> Result<Option<Hold>> {
    holds::Entity::find()
        .filter(holds::Column::TenantId.eq(tenant_id))
        .filter(holds::Column::OpenKey.eq(credential_id))
        .one(db)
        .await
        .map_err(|e| sql_err(e, "hold"))
}

/// When the credential's latest hold was released.
pub async fn last_release(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    credential_id: &str,
) -> Result<Option<i64>> {
    let released: Option<Option<i64>> = holds::Entity::find()
        .select_only()
        .column(holds::Column::ReleasedUs)
        .filter(holds::Column::TenantId.eq(tenant_id))
        .filter(holds::Column::CredentialId.eq(credential_id))
        .filter(holds::Column::State.eq(RELEASED))
        .order_by_desc(holds::Column::ReleasedUs)
        .into_tuple()
        .one(db)
        .await
        .map_err(|e| sql_err(e, "hold"))?;
    Ok(released.flatten())
}

/// Whether a released hold of the credential kept this user: its operation goes through.
pub async fn released_for(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    credential_id: &str,
    user_id: &str,
) -> Result<bool> {
    let released: Vec<String> = holds::Entity::find()
        .select_only()
        .column(holds::Column::Id)
        .filter(holds::Column::TenantId.eq(tenant_id))
        .filter(holds::Column::CredentialId.eq(credential_id))
        .filter(holds::Column::State.eq(RELEASED))
        .into_tuple()
        .all(db)
        .await
        .map_err(|e| sql_err(e, "hold"))?;
    if released.is_empty() {
        return Ok(false);
    }
    let kept = hold_items::Entity::find()
        .filter(hold_items::Column::HoldId.is_in(released))
        .filter(hold_items::Column::UserId.eq(user_id))
        .count(db)
        .await
        .map_err(|e| sql_err(e, "hold"))?;
    Ok(kept > 0)
}

/// Opens the credential's hold (or finds the one open) and records the user it keeps;
/// answers the hold's id.
pub async fn hold(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    credential_id: &str,
    user_id: &str,
    operation: &str,
    threshold: i64,
    active_users: i64,
) -> Result<String> {
    let now = now_us();
    holds::Entity::insert(holds::ActiveModel {
        id: Set(super::new_id()),
        tenant_id: Set(tenant_id.to_string()),
        credential_id: Set(credential_id.to_string()),
        open_key: Set(Some(credential_id.to_string())),
        state: Set(HELD.into()),
        threshold: Set(threshold),
        active_users: Set(active_users),
        created_us: Set(now),
        released_us: Set(None),
        released_by: Set(None),
    })
    .on_conflict(
        OnConflict::columns([holds::Column::TenantId, holds::Column::OpenKey])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await
    .map_err(|e| sql_err(e, "hold"))?;
    let hold = open_hold(db, tenant_id, credential_id)
        .await?
        .ok_or(Error::VersionConflict)?;
    hold_items::Entity::insert(hold_items::ActiveModel {
        hold_id: Set(hold.id.clone()),
        user_id: Set(user_id.to_string()),
        operation: Set(operation.to_string()),
        first_us: Set(now),
        last_us: Set(now),
        attempts: Set(1),
    })
    .on_conflict(
        OnConflict::columns([hold_items::Column::HoldId, hold_items::Column::UserId])
            .value(hold_items::Column::LastUs, Expr::value(now))
            .value(hold_items::Column::Operation, Expr::value(operation))
            .value(
                hold_items::Column::Attempts,
                Expr::col((hold_items::Entity, hold_items::Column::Attempts)).add(1),
            )
            .to_owned(),
    )
    .exec_without_returning(db)
    .await
    .map_err(|e| sql_err(e, "hold"))?;
    Ok(hold.id)
}

/// A tenant's holds, newest first, with their items.
pub async fn holds(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    state: Option<&str>,
) -> Result<Vec<(Hold, Vec<HoldItem>)>> {
    let mut query = holds::Entity::find().filter(holds::Column::TenantId.eq(tenant_id));
    if let Some(state) = state {
        query = query.filter(holds::Column::State.eq(state));
    }
    let found = query
        .order_by_desc(holds::Column::CreatedUs)
        .all(db)
        .await
        .map_err(|e| sql_err(e, "hold"))?;
    let mut out = Vec::with_capacity(found.len());
    for hold in found {
        let kept = items(db, &hold.id).await?;
        out.push((hold, kept));
    }
    Ok(out)
}

/// The users a hold keeps, in the order they were first held.
pub async fn items(db: &impl ConnectionTrait, hold_id: &str) -> Result<Vec<HoldItem>> {
    hold_items::Entity::find()
        .filter(hold_items::Column::HoldId.eq(hold_id))
        .order_by_asc(hold_items::Column::FirstUs)
        .order_by_asc(hold_items::Column::UserId)
        .all(db)
        .await
        .map_err(|e| sql_err(e, "hold"))
}

/// Releases an open hold of the tenant; answers it as released.
pub async fn release(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    id: &str,
    by: &str,
) -> Result<Hold> {
    let hold = holds::Entity::find_by_id(id.to_string())
        .filter(holds::Column::TenantId.eq(tenant_id))
        .one(db)
        .await
        .map_err(|e| sql_err(e, "hold"))?
        .ok_or_else(|| Error::NotFound(format!("hold {id}")))?;
    if hold.state != HELD {
        return Err(Error::conflict(
            crate::domain::error::Refusal::AlreadyReleased,
            format!("hold {id} was already released"),
        ));
    }
    let now = now_us();
    let result = holds::Entity::update_many()
        .col_expr(holds::Column::State, Expr::value(RELEASED))
        .col_expr(holds::Column::OpenKey, Expr::value(Option::<String>::None))
        .col_expr(holds::Column::ReleasedUs, Expr::value(now))
        .col_expr(holds::Column::ReleasedBy, Expr::value(by))
        .filter(holds::Column::Id.eq(id))
        .filter(holds::Column::State.eq(HELD))
        .exec(db)
        .await
        .map_err(|e| sql_err(e, "hold"))?;
    if result.rows_affected == 0 {
        return Err(Error::VersionConflict);
    }
    Ok(Hold {
        state: RELEASED.into(),
        open_key: None,
        released_us: Some(now),
        released_by: Some(by.to_string()),
        ..hold
    })
}
