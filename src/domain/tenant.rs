//! Tenants: the unit of isolation, and their contact-centre settings.

use serde::{Deserialize, Serialize};

/// A tenant, named by a slug unique across the installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: String,
    pub slug: String,
    pub created_us: i64,
    /// Since when the operator has disabled it (its credentials authenticate nothing).
    pub disabled_us: Option<i64>,
}

/// A tenant's settings (`GET|PATCH /admin/v1/settings`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Settings {
    /// Users come from the identity provider only: local creation is off.
    pub idp_managed: bool,
    /// Every user edited locally must sit in the agent hierarchy.
    pub agent_hierarchy_required: bool,
    /// Agents may be dialled directly on a personal phone number.
    pub direct_to_agent_dialling: bool,
    /// The user whose locally-owned values new IdP-created users copy.
    pub provisioning_template_user: Option<String>,
    /// The first agent id handed out; later ones skip ids in use.
    pub agent_id_start: i64,
    /// Requests per second each of the tenant's credentials may make (bursts up to twice
    /// that); `None` takes the server's `--rate-limit`.
    pub rate_limit: Option<u32>,
    /// No two users of the tenant share a primary email (compared ignoring case), as the
    /// contact-centre products require; `/Schemas` advertises `emails` as unique when on.
    pub unique_primary_email: bool,
    /// The mass-deprovision brake: one identity provider credential deactivating or deleting
    /// more than `deprovision_brake_percent` % of the active users (and at least
    /// `deprovision_brake_minimum` users) within `deprovision_brake_window_minutes` has its
    /// further deactivations and deletes held until an admin releases them.
    pub deprovision_brake: bool,
    pub deprovision_brake_percent: u32,
    pub deprovision_brake_minimum: u32,
    pub deprovision_brake_window_minutes: u32,
}

/// The largest per-tenant `rateLimit`.
pub const MAX_RATE_LIMIT: u32 = 100_000;

impl Default for Settings {
    fn default() -> Self {
        Settings {
            idp_managed: false,
            agent_hierarchy_required: false,
            direct_to_agent_dialling: false,
            provisioning_template_user: None,
            agent_id_start: 1000,
            rate_limit: None,
            unique_primary_email: true,
            deprovision_brake: true,
            deprovision_brake_percent: 10,
            deprovision_brake_minimum: 50,
            deprovision_brake_window_minutes: 60,
        }
    }
}

/// Checks a tenant slug: 1–63 lower-case letters, digits and hyphens, not starting with a hyphen.
pub fn validate_slug(slug: &str) -> crate::domain::Result<()> {
    let ok = !slug.is_empty()
        && slug.len() <= 63
        && !slug.starts_with('-')
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(crate::domain::Error::invalid(
            "slug",
            format!("tenant slug {slug:?} must be 1-63 lower-case letters, digits or hyphens"),
        ))
    }
}
