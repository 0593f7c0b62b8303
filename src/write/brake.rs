//! The mass-deprovision brake: an identity provider misconfigured to unassign everyone must
//! not archive every agent mid-shift.
//!
//! Each deactivation of an active user, and each deletion of an active user, made through an
//! identity provider's SCIM credential is counted, in the transaction of the change. When a
//! credential's count over the tenant's window (`deprovisionBrakeWindowMinutes`, default 60)
//! would exceed the larger of `deprovisionBrakeMinimum` users (default 50) and
//! `deprovisionBrakePercent` % (default 10) of the tenant's active users at the window's
//! start, the change is refused and the credential's further deactivations and deletes are
//! *held*: answered 429 with `Retry-After`, and listed with the users they would have taken
//! out (`GET /admin/v1/holds`). Identity providers retry a 429 (Okta reschedules by
//! `Retry-After`; Entra pauses the job and retries the failed requests), so nothing is lost
//! while an admin looks. Releasing the hold (`POST /admin/v1/holds/{id}/release`) lets the
//! retries of the held users through and starts a new window; keeping it (doing nothing)
//! keeps refusing them. The count is per credential and by the database's committed state:
//! under concurrent requests on PostgreSQL it may overshoot by the requests in flight.

use sea_orm::{ConnectionTrait, DatabaseConnection};

use crate::domain::audit::{Actor, ActorKind};
use crate::domain::tenant::Settings;
use crate::domain::{Error, Result};
use crate::store::{self, brake};

/// The `Retry-After` of a held request, in seconds.
pub const RETRY_AFTER: u64 = 600;

/// What an identity provider's change does to a user, for the brake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deprovision {
    Deactivate,
    Delete,
}

impl Deprovision {
    fn as_str(self) -> &'static str {
        match self {
            Deprovision::Deactivate => "deactivate",
            Deprovision::Delete => "delete",
        }
    }
}

/// Why a deprovision was refused: the hold to record it in (open, or to open).
#[derive(Debug, Clone)]
pub struct Tripped {
    threshold: i64,
    base: i64,
}

/// Checks and counts a deprovision inside its transaction. `Ok(None)`: it goes ahead
/// (counted when it is the brake's business). `Ok(Some(_))`: refuse it — the caller rolls
/// its transaction back and calls [`hold`].
pub async fn check(
    txn: &impl ConnectionTrait,
    settings: &Settings,
    tenant_id: &str,
    actor: &Actor,
    user_id: &str,
) -> Result<Option<Tripped>> {
    let (ActorKind::Scim, Some(credential)) = (actor.kind, actor.credential_id.as_deref()) else {
        return Ok(None);
    };
    if !settings.deprovision_brake {
        return Ok(None);
    }
    if brake::released_for(txn, tenant_id, credential, user_id).await? {
        return Ok(None);
    }
    if let Some(hold) = brake::open_hold(txn, tenant_id, credential).await? {
        return Ok(Some(Tripped {
            threshold: hold.threshold,
            base: hold.active_users,
        }));
    }
    let now = store::now_us();
    let window = i64::from(settings.deprovision_brake_window_minutes) * 60 * 1_000_000;
    let since = brake::last_release(txn, tenant_id, credential)
        .await?
        .map_or(now - window, |released| released.max(now - window));
    let counted = brake::count_since(txn, tenant_id, credential, since).await? as i64;
    let base = brake::active_users(txn, tenant_id).await? as i64 + counted;
    let share = (base * i64::from(settings.deprovision_brake_percent) + 99) / 100;
    let threshold = share.max(i64::from(settings.deprovision_brake_minimum));
    if counted + 1 > threshold {
        return Ok(Some(Tripped { threshold, base }));
    }
    brake::record(txn, tenant_id, credential, user_id).await?;
    Ok(None)
}

/// Records a refused deprovision in the credential's hold (opening it), in its own
/// transaction; answers the 429 to give the identity provider.
pub async fn hold(
    db: &DatabaseConnection,
    tenant_id: &str,
    actor: &Actor,
    user_id: &str,
    what: Deprovision,
    tripped: Tripped,
) -> Error {
    let credential = actor.credential_id.as_deref().unwrap_or_default();
    match super::retry(|| recorded_once(db, tenant_id, credential, user_id, what, &tripped)).await {
        Ok(id) => Error::Held {
            detail: format!(
                "the mass-deprovision brake holds this credential's deactivations and deletes \
                     (more than {} users in the window): hold {id} waits for an admin to release it; \
                     retry after the Retry-After delay",
                tripped.threshold
            ),
            retry_after: RETRY_AFTER,
        },
        Err(e) => e,
    }
}

async fn recorded_once(
    db: &DatabaseConnection,
    tenant_id: &str,
    credential: &str,
    user_id: &str,
    what: Deprovision,
    tripped: &Tripped,
) -> Result<String> {
    let txn = super::begin(db).await?;
    let id = brake::hold(
        &txn,
        tenant_id,
        credential,
        user_id,
        what.as_str(),
        tripped.threshold,
        tripped.base,
    )
    .await?;
    super::commit(txn).await?;
    Ok(id)
}
