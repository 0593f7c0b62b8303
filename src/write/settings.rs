//! Tenant settings writes: a compare-and-swap on the settings' version, so concurrent
//! changes of different fields both land and a stale If-Match is refused.

use sea_orm::DatabaseConnection;
use serde_json::{Map, Value};

use super::{Attempts, begin, commit};
use crate::domain::audit::{Actor, Entry, diff};
use crate::domain::ownership::Permission;
use crate::domain::tenant::{MAX_RATE_LIMIT, Settings};
use crate::domain::{Error, Result};
use crate::store::{audit, tenants, users};

/// The largest first agent id: agent ids are at most 32 characters, and ids are handed out
/// upwards from the start, so it stays far from the integer limit.
pub const MAX_AGENT_ID_START: i64 = 999_999_999_999;

fn as_map(settings: &Settings) -> Map<String, Value> {
    serde_json::to_value(settings)
        .ok()
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default()
}

/// Changes the settings (ManageSettings): `change` computes the new settings from the stored
/// ones, and runs again on the newer ones if another writer got there first. `expected` is
/// the caller's If-Match version. Returns the settings and their new version.
pub async fn update<F>(
    db: &DatabaseConnection,
    tenant_id: &str,
    actor: &Actor,
    expected: Option<i64>,
    change: F,
) -> Result<(Settings, i64)>
where
    F: Fn(&Settings) -> Result<Settings>,
{
    actor.require(&[Permission::ManageSettings])?;
    let mut attempts = Attempts::default();
    loop {
        let (current, version) = tenants::versioned_settings(db, tenant_id).await?;
        if expected.is_some_and(|v| v != version) {
            return Err(Error::PreconditionFailed);
        }
        let next = change(&current)?;
        if !(1..=MAX_AGENT_ID_START).contains(&next.agent_id_start) {
            return Err(Error::invalid(
                "agentIdStart",
                format!("agentIdStart must be an integer from 1 to {MAX_AGENT_ID_START}"),
            ));
        }
        if next
            .rate_limit
            .is_some_and(|r| !(1..=MAX_RATE_LIMIT).contains(&r))
        {
            return Err(Error::invalid(
                "rateLimit",
                format!(
                    "rateLimit must be an integer from 1 to {MAX_RATE_LIMIT} requests per second, or null for the server's default"
                ),
            ));
        }
        if !(1..=100).contains(&next.deprovision_brake_percent) {
            return Err(Error::invalid(
                "deprovisionBrakePercent",
                "deprovisionBrakePercent must be a percentage from 1 to 100",
            ));
        }
        if !(1..=1_000_000).contains(&next.deprovision_brake_minimum) {
            return Err(Error::invalid(
                "deprovisionBrakeMinimum",
                "deprovisionBrakeMinimum must be a number of users from 1 to 1000000",
            ));
        }
        if !(1..=10_080).contains(&next.deprovision_brake_window_minutes) {
            return Err(Error::invalid(
                "deprovisionBrakeWindowMinutes",
                "deprovisionBrakeWindowMinutes must be from 1 to 10080 minutes (a week)",
            ));
        }
        if next == current {
            return Ok((current, version));
        }
        let txn = begin(db).await?;
        if let Some(template) = &next.provisioning_template_user
            && next.provisioning_template_user != current.provisioning_template_user
            && users::get(&txn, tenant_id, template).await.is_err()
        {
            return Err(Error::invalid(
                "provisioningTemplateUser",
                format!("provisioningTemplateUser {template} is not a user of this tenant"),
            ));
        }
        if next.unique_primary_email != current.unique_primary_email {
            users::set_email_uniqueness(&txn, tenant_id, next.unique_primary_email).await?;
        }
        let attempt = tenants::set_settings(&txn, tenant_id, &next, version).await;
        match attempt {
            Ok(()) => {}
            Err(Error::VersionConflict) if attempts.pause().await => continue,
            Err(e) => return Err(e),
        }
        let entry = Entry::new(
            tenant_id,
            actor,
            "settings.update",
            "tenant",
            tenant_id,
            diff(Some(&as_map(&current)), Some(&as_map(&next))),
        );
        audit::record(&txn, &entry).await?;
        match commit(txn).await {
            Ok(()) => return Ok((next, version + 1)),
            Err(Error::VersionConflict) if attempts.pause().await => continue,
            Err(e) => return Err(e),
        }
    }
}
