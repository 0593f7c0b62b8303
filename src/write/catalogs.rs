//! Catalog writes: security profiles, routing profiles, hierarchy nodes, skills and callback
//! numbers. An entry in use cannot be deleted or renamed, and no interleaving with a user
//! write leaves a user naming a missing entry: the catalog write takes the entry's row lock
//! first and counts its users after, while user writes hold the entries they name
//! (`store::catalog::hold`). The built-in Administrator profile keeps its name and every
//! permission; a profile change that would leave the tenant without a full administrator is
//! refused.

use sea_orm::DatabaseConnection;

use super::{begin, commit, guard, retry};
use crate::domain::audit::{Actor, Entry, diff};
use crate::domain::catalog::{CatalogItem, CatalogKind};
use crate::domain::ownership::Permission;
use crate::domain::{Error, Refusal, Result};
use crate::store::{audit, catalog};

/// Who may change a catalog: security profiles need ManageSecurityProfiles, the routing
/// catalogs ManageRoutingSettings.
pub fn write_permission(kind: CatalogKind) -> Permission {
    match kind {
        CatalogKind::SecurityProfile => Permission::ManageSecurityProfiles,
        _ => Permission::ManageRoutingSettings,
    }
}

fn entry(
    tenant_id: &str,
    actor: &Actor,
    action: &str,
    item: &CatalogItem,
    before: Option<&CatalogItem>,
    after: Option<&CatalogItem>,
) -> Entry {
    let as_map = |i: Option<&CatalogItem>| i.and_then(|i| i.to_json().as_object().cloned());
    let (b, a) = (as_map(before), as_map(after));
    Entry::new(
        tenant_id,
        actor,
        action,
        item.kind.as_str(),
        &item.id,
        diff(b.as_ref(), a.as_ref()),
    )
}

/// Nobody defines or changes a profile carrying permissions they do not hold.
fn authorise_permissions(actor: &Actor, item: &CatalogItem) -> Result<()> {
    let missing = actor.missing(&item.permissions);
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::Forbidden(format!(
            "the security profile {:?} would carry {}, which you do not hold",
            item.name,
            missing.join(", ")
        )))
    }
}

/// Adds an entry; a name already in the catalog is a uniqueness error.
pub async fn create(
    db: &DatabaseConnection,
    tenant_id: &str,
    actor: &Actor,
    item: CatalogItem,
) -> Result<CatalogItem> {
    actor.require(&[write_permission(item.kind)])?;
    let item = item.checked()?;
    authorise_permissions(actor, &item)?;
    retry(|| async {
        let txn = begin(db).await?;
        let created = catalog::create(&txn, tenant_id, &item).await?;
        let record = entry(
            tenant_id,
            actor,
            "catalog.create",
            &created,
            None,
            Some(&created),
        );
        audit::record(&txn, &record).await?;
        commit(txn).await?;
        Ok(created)
    })
    .await
}

fn in_use(item: &CatalogItem, used: u64, doing: &str) -> Error {
    Error::conflict(
        Refusal::InUse,
        format!(
            "{} {:?} is used by {used} user(s); it cannot be {doing}: change them first",
            item.kind.name_field(),
            item.name
        ),
    )
}

/// Changes an entry: `change` computes the new entry from the stored one.
pub async fn update<F>(
    db: &DatabaseConnection,
    tenant_id: &str,
    actor: &Actor,
    kind: CatalogKind,
    id: &str,
    change: F,
) -> Result<CatalogItem>
where
    F: Fn(&CatalogItem) -> Result<CatalogItem>,
{
    actor.require(&[write_permission(kind)])?;
    retry(|| async {
        let txn = begin(db).await?;
        // Security profiles decide who administers the tenant: their changes run one at a
        // time per tenant, and against the administrators counted under that lock.
        let (administrators, actor) = if kind == CatalogKind::SecurityProfile {
            let count = guard::lock_and_count(&txn, tenant_id).await?;
            (Some(count), guard::refreshed(&txn, tenant_id, actor).await?)
        } else {
            (None, actor.clone())
        };
        let actor = &actor;
        let current = catalog::get_for_update(&txn, tenant_id, kind, id).await?;
        let next = change(&current)?.checked()?;
        if next == current {
            return Ok(current);
        }
        let renamed = next.name.to_lowercase() != current.name.to_lowercase();
        if current.is_built_in_administrator()
            && (renamed || !current.permissions.is_subset(&next.permissions))
        {
            return Err(Error::conflict(
                Refusal::BuiltIn,
                "the built-in Administrator profile keeps its name and every permission it holds",
            ));
        }
        if kind == CatalogKind::SecurityProfile && next.permissions != current.permissions {
            let changed = CatalogItem {
                permissions: current
                    .permissions
                    .symmetric_difference(&next.permissions)
                    .copied()
                    .collect(),
                ..next.clone()
            };
            authorise_permissions(actor, &changed)?;
        }
        if renamed && kind == CatalogKind::SecurityProfile {
            // Users naming the new name would gain the profile: only one its permissions
            // are held by the caller, and only onto a name nobody holds.
            authorise_permissions(actor, &next)?;
            let holders = catalog::usage(&txn, tenant_id, &next).await?;
            if holders > 0 {
                return Err(in_use(&next, holders, "taken as a new name"));
            }
        }
        catalog::update(&txn, tenant_id, &next).await?;
        if renamed {
            let used = catalog::usage(&txn, tenant_id, &current).await?;
            if used > 0 {
                return Err(in_use(&current, used, "renamed"));
            }
        }
        if let Some(before) = administrators
            && !current.permissions.is_subset(&next.permissions)
        {
            guard::keep_an_administrator(&txn, tenant_id, before, "removing these permissions")
                .await?;
        }
        let record = entry(
            tenant_id,
            actor,
            "catalog.update",
            &next,
            Some(&current),
            Some(&next),
        );
        audit::record(&txn, &record).await?;
        commit(txn).await?;
        Ok(next)
    })
    .await
}

/// Deletes an entry no user names; one in use is refused, saying how many use it.
pub async fn delete(
    db: &DatabaseConnection,
    tenant_id: &str,
    actor: &Actor,
    kind: CatalogKind,
    id: &str,
) -> Result<()> {
    actor.require(&[write_permission(kind)])?;
    retry(|| async {
        let txn = begin(db).await?;
        let current = catalog::get_for_update(&txn, tenant_id, kind, id).await?;
        if current.is_built_in_administrator() {
            return Err(Error::conflict(
                Refusal::BuiltIn,
                "the built-in Administrator profile cannot be deleted",
            ));
        }
        catalog::delete(&txn, tenant_id, &current).await?;
        let used = catalog::usage(&txn, tenant_id, &current).await?;
        if used > 0 {
            return Err(in_use(&current, used, "deleted"));
        }
        let record = entry(
            tenant_id,
            actor,
            "catalog.delete",
            &current,
            Some(&current),
            None,
        );
        audit::record(&txn, &record).await?;
        commit(txn).await
    })
    .await
}
