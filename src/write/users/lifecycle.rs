//! The lifecycle of a user: archive and reactivate, hand-over to the identity provider,
//! delete.

use sea_orm::DatabaseConnection;
use serde_json::Value;

use super::{TenantContext, store_change, update, view_of};
use crate::domain::audit::{Actor, Entry, diff};
use crate::domain::ownership::Permission;
use crate::domain::user::{ManagedBy, User};
use crate::domain::validation::Surface;
use crate::domain::{Error, Refusal, Result};
use crate::store::{self, audit, users};
use crate::write::{begin, brake, commit, guard, retry};

/// Archives (`active: false`) or reactivates a local user (ArchiveUser). An IdP-managed
/// user's archive state belongs to the identity provider.
pub async fn set_active(
    db: &DatabaseConnection,
    tenant_id: &str,
    id: &str,
    actor: &Actor,
    active: bool,
) -> Result<User> {
    actor.require(&[Permission::ArchiveUser])?;
    let action = if active {
        "user.reactivate"
    } else {
        "user.archive"
    };
    update(db, tenant_id, id, actor, Surface::Local, action, |user| {
        if user.managed_by == ManagedBy::Idp {
            return Err(Error::conflict(
                Refusal::IdpManaged,
                "active: this user is managed by the identity provider, which archives and reactivates it",
            ));
        }
        let mut doc = user.attributes.clone();
        doc.insert("active".into(), Value::Bool(active));
        Ok(doc)
    })
    .await
}

/// Hands a local user over to the identity provider: from then on it is IdP-managed like any
/// other (visible over SCIM, its SSO-owned attributes read-only here). Needs EditUser and
/// ArchiveUser, and every permission the user's profiles carry; the tenant's last full
/// administrator cannot be handed over.
pub async fn hand_over(
    db: &DatabaseConnection,
    tenant_id: &str,
    id: &str,
    actor: &Actor,
) -> Result<User> {
    actor.require(&[Permission::EditUser, Permission::ArchiveUser])?;
    let ctx = TenantContext::load(db, tenant_id).await?;
    retry(|| async {
        let current = users::get(db, tenant_id, id).await?;
        if current.managed_by == ManagedBy::Idp {
            return Err(Error::conflict(
                Refusal::AlreadyManaged,
                "this user is already managed by the identity provider",
            ));
        }
        // The tenant's last administrator stays local (checked again under the lock below).
        if guard::is_full_administrator(&current, &ctx.catalogs)
            && guard::full_administrators(db, tenant_id).await? <= 1
        {
            return Err(Error::conflict(
                Refusal::LastAdministrator,
                "handing this user over would leave the tenant without an active local user holding every permission",
            ));
        }
        // The identity provider will own the user's security profiles: an API credential it
        // holds would then carry whatever profiles the IdP gives it.
        let credentials = store::credentials::count_for_user(db, tenant_id, id).await?;
        if credentials > 0 {
            return Err(Error::conflict(
                Refusal::HoldsCredentials,
                format!(
                    "user {id} holds {credentials} API credential(s); revoke them before handing the user over"
                ),
            ));
        }
        let held = ctx
            .catalogs
            .permissions_of(guard::profiles(&current.attributes).iter().map(String::as_str));
        if !actor.holds(&held) {
            return Err(Error::Forbidden(
                "you cannot hand over a user whose security profiles carry permissions you do not hold".into(),
            ));
        }
        let mut attributes = current.attributes.clone();
        store_change(
            db,
            &ctx,
            actor,
            Surface::Local,
            "user.hand_over",
            &current,
            &mut attributes,
            Some(ManagedBy::Idp),
        )
        .await
    })
    .await
}

/// Deletes a user; refused while it holds API credentials. On the local surfaces only
/// archived local users are deleted (DeleteUser); over SCIM only the IdP's own users.
pub async fn delete(
    db: &DatabaseConnection,
    tenant_id: &str,
    id: &str,
    actor: &Actor,
    surface: Surface,
    expected_version: Option<i64>,
) -> Result<()> {
    if surface == Surface::Local {
        actor.require(&[Permission::DeleteUser])?;
    }
    retry(|| async {
        let user = users::get_in(db, tenant_id, id, view_of(surface)).await?;
        if expected_version.is_some_and(|v| v != user.version) {
            return Err(Error::PreconditionFailed);
        }
        if surface == Surface::Local {
            if user.managed_by == ManagedBy::Idp {
                return Err(Error::conflict(
                    Refusal::IdpManaged,
                    "this user is managed by the identity provider, which removes it",
                ));
            }
            if user.active() {
                return Err(Error::conflict(
                    Refusal::NotArchived,
                    "only archived users can be deleted: archive the user first",
                ));
            }
        }
        let held = store::credentials::count_for_user(db, tenant_id, id).await?;
        if held > 0 {
            return Err(Error::conflict(
                Refusal::HoldsCredentials,
                format!(
                    "user {id} holds {held} API credential(s); revoke them before deleting the user"
                ),
            ));
        }
        let entry = Entry::new(
            tenant_id,
            actor,
            "user.delete",
            "user",
            id,
            diff(Some(&user.attributes), None),
        );
        let txn = begin(db).await?;
        if user.active() && actor.kind == crate::domain::audit::ActorKind::Scim {
            let settings = store::tenants::settings(&txn, tenant_id).await?;
            if let Some(tripped) = brake::check(&txn, &settings, tenant_id, actor, id).await? {
                drop(txn);
                return Err(brake::hold(
                    db,
                    tenant_id,
                    actor,
                    id,
                    brake::Deprovision::Delete,
                    tripped,
                )
                .await);
            }
        }
        users::delete(&txn, tenant_id, id, user.version).await?;
        // A credential created meanwhile for this user would be left without its user.
        if store::credentials::count_for_user(&txn, tenant_id, id).await? > 0 {
            return Err(Error::VersionConflict);
        }
        audit::record(&txn, &entry).await?;
        commit(txn).await
    })
    .await
}
