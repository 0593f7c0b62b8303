//! The rules that keep the tenant's authorisation model from being climbed or broken:
//!
//! - a caller grants or removes a security profile only if it holds `ManageSecurityProfiles`
//!   and every permission that profile carries (nobody hands out what they do not hold);
//! - the tenant never loses its last active local user holding every permission — archiving,
//!   deleting, demoting or handing it over to the identity provider, or stripping a profile
//!   it relies on, is refused (`Refusal::LastAdministrator`). The check runs inside the
//!   write's transaction after the tenant's row lock, so two admins demoting each other at
//!   once cannot both succeed.

use std::collections::BTreeSet;

use sea_orm::ConnectionTrait;
use serde_json::Value;

use crate::domain::audit::{Actor, diff};
use crate::domain::catalog::{CatalogKind, Catalogs};
use crate::domain::ownership::{NotEditable, Permission, admin_editability};
use crate::domain::user::{Document, ManagedBy, User};
use crate::domain::{Error, Refusal, Result};
use crate::store::{self, catalog};

/// The security profiles a document names, lower-cased.
pub fn profiles(doc: &serde_json::Map<String, Value>) -> BTreeSet<String> {
    doc.security_profiles()
        .into_iter()
        .map(str::to_lowercase)
        .collect()
}

/// Whether a user is an active local user whose profiles grant every permission.
pub fn is_full_administrator(user: &User, catalogs: &Catalogs) -> bool {
    user.managed_by == ManagedBy::Local
        && user.active()
        && holds_everything(&profiles(&user.attributes), catalogs)
}

fn holds_everything(profiles: &BTreeSet<String>, catalogs: &Catalogs) -> bool {
    let granted = catalogs.permissions_of(profiles.iter().map(String::as_str));
    Permission::ALL.iter().all(|p| granted.contains(p))
}

/// Refuses a change of a user's security profiles (`before` → `after`) that the actor may
/// not make: changing them at all needs `ManageSecurityProfiles`, and each profile added or
/// removed must carry only permissions the actor holds. `implicit` is a profile the write
/// layer assigns by itself (the least-privileged default), which needs no permission.
pub fn authorise_profiles(
    actor: &Actor,
    catalogs: &Catalogs,
    before: &BTreeSet<String>,
    after: &BTreeSet<String>,
    implicit: Option<&str>,
) -> Result<()> {
    let changed: Vec<&String> = before.symmetric_difference(after).collect();
    if changed.is_empty() {
        return Ok(());
    }
    // The layer's own default needs no ManageSecurityProfiles, but like any other profile it
    // carries only permissions the actor holds.
    if changed
        .iter()
        .any(|p| implicit.is_none_or(|i| i.to_lowercase() != **p))
    {
        actor.require(&[Permission::ManageSecurityProfiles])?;
    }
    for name in changed {
        // A profile the catalog does not know carries unknown permissions: refused.
        let Some(profile) = catalogs.find(CatalogKind::SecurityProfile, name) else {
            return Err(Error::invalid(
                "securityProfiles",
                format!("securityProfiles: {name:?} is not in the tenant's catalog"),
            ));
        };
        let missing = actor.missing(&profile.permissions);
        if !missing.is_empty() {
            return Err(Error::Forbidden(format!(
                "you cannot grant or remove the security profile {:?}: it carries {}, which you do not hold",
                profile.name,
                missing.join(", ")
            )));
        }
    }
    Ok(())
}

/// Refuses a local-surface change of a user's attributes that the ownership registry does
/// not let this actor make: `requested` is the document the caller asked for, before the
/// layer adds its own values (defaults, generated ids). SSO-owned attributes of an
/// IdP-managed user are refused (409), as is an attribute whose permission the actor lacks
/// (403) — whatever surface translated the request.
pub fn authorise_edits(
    actor: &Actor,
    user: &User,
    requested: &serde_json::Map<String, Value>,
) -> Result<()> {
    let local_user = user.managed_by == ManagedBy::Local;
    let mut sso = Vec::new();
    let mut missing = Vec::new();
    for key in diff(Some(&user.attributes), Some(requested)).keys() {
        match admin_editability(key, local_user, &actor.permissions) {
            Ok(()) => {}
            Err(NotEditable::SsoOwned | NotEditable::Derived) => sso.push(key.clone()),
            Err(NotEditable::Needs(p)) => missing.push(format!("{key} ({})", p.as_str())),
        }
    }
    if !sso.is_empty() {
        return Err(Error::conflict(
            Refusal::IdpManaged,
            format!(
                "owned by the identity provider and read-only here: {}",
                sso.join(", ")
            ),
        ));
    }
    if !missing.is_empty() {
        return Err(Error::Forbidden(format!(
            "you may not change {}",
            missing.join(", ")
        )));
    }
    Ok(())
}

/// How many active local users hold every permission, as the transaction sees the tenant.
/// Only users holding a profile that grants something are read: a tenant's many agents
/// (whose profiles grant nothing) cost nothing here.
pub async fn full_administrators(txn: &impl ConnectionTrait, tenant_id: &str) -> Result<usize> {
    let catalogs = catalog::load(txn, tenant_id).await?;
    let granting: Vec<String> = catalogs
        .items
        .iter()
        .filter(|i| i.kind == CatalogKind::SecurityProfile && !i.permissions.is_empty())
        .map(|i| crate::domain::user::fold_key(&i.name))
        .collect();
    let holders = store::users::local_profile_sets(txn, tenant_id, &granting).await?;
    Ok(holders
        .values()
        .filter(|profiles| holds_everything(profiles, &catalogs))
        .count())
}

/// Inside a write's transaction, after the tenant's lock: the actor as the transaction sees
/// it. An admin's user must still exist and be active, and its permissions are recomputed
/// from its profiles and the catalogs now; if the request lost any permission while it ran
/// (a demotion or a profile change that committed meanwhile), the write is refused rather
/// than carried out with the permissions it was authenticated with.
pub async fn refreshed(
    txn: &impl ConnectionTrait,
    tenant_id: &str,
    actor: &Actor,
) -> Result<Actor> {
    let Some(user_id) = actor.user_id.as_deref().filter(|_| actor.is_tenant_user()) else {
        return Ok(actor.clone());
    };
    let user = match store::users::get(txn, tenant_id, user_id).await {
        Ok(user) => user,
        Err(Error::NotFound(_)) => {
            return Err(Error::Forbidden("your user no longer exists".into()));
        }
        Err(e) => return Err(e),
    };
    if !user.active() {
        return Err(Error::Forbidden("your user is archived".into()));
    }
    let catalogs = catalog::load(txn, tenant_id).await?;
    let now = catalogs.permissions_of(user.security_profiles());
    if !actor.permissions.is_subset(&now) {
        return Err(Error::Forbidden(
            "your permissions changed while this request ran; send it again".into(),
        ));
    }
    Ok(Actor {
        permissions: now,
        ..actor.clone()
    })
}

/// Inside a write's transaction, before the change: takes the tenant's lock (so writes that
/// can change who administers the tenant run one at a time, on one instance or several) and
/// counts the full administrators as they are now.
pub async fn lock_and_count(txn: &impl ConnectionTrait, tenant_id: &str) -> Result<usize> {
    store::lock_tenant(txn, tenant_id).await?;
    full_administrators(txn, tenant_id).await
}

/// Inside the same transaction, after the change: refuses it if it took the tenant from
/// having a full administrator (`before` of them) to having none. A tenant that had none
/// already (a new one, say) is not locked out of other changes by this rule.
pub async fn keep_an_administrator(
    txn: &impl ConnectionTrait,
    tenant_id: &str,
    before: usize,
    what: &str,
) -> Result<()> {
    if before > 0 && full_administrators(txn, tenant_id).await? == 0 {
        return Err(Error::conflict(
            Refusal::LastAdministrator,
            format!(
                "{what} would leave the tenant without an active local user holding every permission; \
                 give another local user the Administrator profile first"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalog::CatalogItem;
    use serde_json::json;

    fn catalogs() -> Catalogs {
        let profile = |name: &str, permissions: &[Permission]| CatalogItem {
            id: name.to_lowercase(),
            kind: CatalogKind::SecurityProfile,
            name: name.into(),
            permissions: permissions.iter().copied().collect(),
            label: None,
        };
        Catalogs {
            items: vec![
                profile("Administrator", &Permission::ALL),
                profile(
                    "Supervisor",
                    &[
                        Permission::ViewUsers,
                        Permission::EditUser,
                        Permission::ArchiveUser,
                        Permission::ManageRoutingSettings,
                    ],
                ),
                profile("Agent", &[]),
            ],
        }
    }

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| n.to_lowercase()).collect()
    }

    fn admin_with(permissions: &[Permission]) -> Actor {
        Actor::admin("c", "u", permissions.iter().copied().collect())
    }

    #[test]
    fn a_supervisor_cannot_make_itself_administrator() {
        let supervisor = admin_with(&[
            Permission::ViewUsers,
            Permission::EditUser,
            Permission::ArchiveUser,
            Permission::ManageRoutingSettings,
        ]);
        let err = authorise_profiles(
            &supervisor,
            &catalogs(),
            &set(&["Supervisor"]),
            &set(&["Supervisor", "Administrator"]),
            None,
        )
        .unwrap_err();
        assert!(matches!(err, Error::Forbidden(d) if d.contains("ManageSecurityProfiles")));
    }

    #[test]
    fn nobody_grants_or_removes_more_than_they_hold() {
        let profile_editor = admin_with(&[
            Permission::ViewUsers,
            Permission::EditUser,
            Permission::ManageSecurityProfiles,
        ]);
        let grant = authorise_profiles(
            &profile_editor,
            &catalogs(),
            &set(&["Agent"]),
            &set(&["Agent", "Administrator"]),
            None,
        );
        assert!(matches!(grant, Err(Error::Forbidden(d)) if d.contains("Administrator")));
        let remove = authorise_profiles(
            &profile_editor,
            &catalogs(),
            &set(&["Supervisor"]),
            &set(&["Agent"]),
            None,
        );
        assert!(matches!(remove, Err(Error::Forbidden(_))));
        // A profile whose permissions it holds (Agent: none) is fine.
        authorise_profiles(
            &profile_editor,
            &catalogs(),
            &set(&[]),
            &set(&["Agent"]),
            None,
        )
        .expect("may grant Agent");
        // The CLI holds everything.
        authorise_profiles(
            &Actor::cli(),
            &catalogs(),
            &set(&["Agent"]),
            &set(&["Administrator"]),
            None,
        )
        .expect("the CLI may");
    }

    #[test]
    fn the_default_profile_needs_no_permission() {
        let creator = admin_with(&[Permission::CreateUser, Permission::EditUser]);
        authorise_profiles(
            &creator,
            &catalogs(),
            &set(&[]),
            &set(&["Agent"]),
            Some("Agent"),
        )
        .expect("the layer's own default");
    }

    #[test]
    fn edits_follow_the_registry_whatever_surface_asked() {
        let user = |managed_by: ManagedBy| User {
            id: "u".into(),
            tenant_id: "t".into(),
            managed_by,
            version: 1,
            created_us: 0,
            modified_us: 0,
            attributes: json!({"userName": "u", "title": "x"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        };
        let routing = json!({
            "userName": "u", "title": "x",
            crate::domain::ownership::CONTACT_CENTRE: {"routingProfile": "Sales"}
        });
        let routing = routing.as_object().cloned().unwrap_or_default();
        let renamed = json!({"userName": "v", "title": "x"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let router = admin_with(&[Permission::ManageRoutingSettings]);
        authorise_edits(&router, &user(ManagedBy::Idp), &routing).expect("local attribute");
        assert!(matches!(
            authorise_edits(&router, &user(ManagedBy::Idp), &renamed),
            Err(Error::Conflict {
                refusal: Refusal::IdpManaged,
                ..
            })
        ));
        // A local user's IdP-owned attributes need EditUser.
        assert!(matches!(
            authorise_edits(&router, &user(ManagedBy::Local), &renamed),
            Err(Error::Forbidden(d)) if d.contains("EditUser")
        ));
        let editor = admin_with(&[Permission::EditUser]);
        authorise_edits(&editor, &user(ManagedBy::Local), &renamed).expect("local user");
        assert!(matches!(
            authorise_edits(&editor, &user(ManagedBy::Idp), &routing),
            Err(Error::Forbidden(d)) if d.contains("ManageRoutingSettings")
        ));
    }

    #[test]
    fn a_full_administrator_is_active_local_and_holds_everything() {
        let user = |managed_by: ManagedBy, active: bool, profiles: &[&str]| User {
            id: "u".into(),
            tenant_id: "t".into(),
            managed_by,
            version: 1,
            created_us: 0,
            modified_us: 0,
            attributes: json!({
                "userName": "u",
                "active": active,
                crate::domain::ownership::CONTACT_CENTRE: {"securityProfiles": profiles}
            })
            .as_object()
            .cloned()
            .unwrap_or_default(),
        };
        let c = catalogs();
        assert!(is_full_administrator(
            &user(ManagedBy::Local, true, &["Administrator"]),
            &c
        ));
        assert!(!is_full_administrator(
            &user(ManagedBy::Local, false, &["Administrator"]),
            &c
        ));
        assert!(!is_full_administrator(
            &user(ManagedBy::Idp, true, &["Administrator"]),
            &c
        ));
        assert!(!is_full_administrator(
            &user(ManagedBy::Local, true, &["Supervisor", "Agent"]),
            &c
        ));
    }
}
