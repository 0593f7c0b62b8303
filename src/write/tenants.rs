//! Tenant writes (the operator's, through the CLI): creation with the built-in security
//! profiles, disabling and enabling, deletion; each audited in the same transaction.

use sea_orm::DatabaseConnection;
use serde_json::{Map, json};

use super::{begin, commit};
use crate::domain::audit::{Actor, Entry};
use crate::domain::tenant::Tenant;
use crate::domain::{Error, Result};
use crate::store::{audit, now_us, tenants};

/// Creates a tenant; a taken slug is a uniqueness error.
pub async fn create(db: &DatabaseConnection, actor: &Actor, slug: &str) -> Result<Tenant> {
    let txn = begin(db).await?;
    let tenant = tenants::create(&txn, slug).await?;
    let mut changes = Map::new();
    changes.insert("slug".into(), json!({"before": null, "after": slug}));
    let entry = Entry::new(
        &tenant.id,
        actor,
        "tenant.create",
        "tenant",
        &tenant.id,
        changes,
    );
    audit::record(&txn, &entry).await?;
    commit(txn).await?;
    Ok(tenant)
}

/// Disables (`true`) or enables a tenant. A disabled tenant's credentials authenticate
/// nothing (401) until it is enabled again; its data stays. Whether anything changed: a
/// tenant already in that state is left alone, without an audit row.
pub async fn set_disabled(
    db: &DatabaseConnection,
    actor: &Actor,
    slug: &str,
    disabled: bool,
) -> Result<bool> {
    let txn = begin(db).await?;
    let tenant = tenants::by_slug(&txn, slug).await?;
    let changed = tenants::set_disabled(&txn, &tenant.id, disabled.then(now_us)).await?;
    if !changed {
        return Ok(false);
    }
    let mut changes = Map::new();
    changes.insert(
        "disabled".into(),
        json!({"before": !disabled, "after": disabled}),
    );
    let action = if disabled {
        "tenant.disable"
    } else {
        "tenant.enable"
    };
    let entry = Entry::new(&tenant.id, actor, action, "tenant", &tenant.id, changes);
    audit::record(&txn, &entry).await?;
    commit(txn).await?;
    Ok(true)
}

/// Deletes a tenant with everything of it but its audit log, which keeps a `tenant.delete`
/// row counting what went. Refused while it has users, unless `force`.
pub async fn delete(
    db: &DatabaseConnection,
    actor: &Actor,
    slug: &str,
    force: bool,
) -> Result<tenants::Holdings> {
    let txn = begin(db).await?;
    let tenant = tenants::by_slug(&txn, slug).await?;
    crate::store::lock_tenant(&txn, &tenant.id).await?;
    let holdings = tenants::holdings(&txn, &tenant.id).await?;
    if holdings.users > 0 && !force {
        return Err(Error::invalid(
            "force",
            format!(
                "tenant {slug} has {} user(s); pass --force to delete it with all of them",
                holdings.users
            ),
        ));
    }
    tenants::delete(&txn, &tenant.id).await?;
    let mut changes = Map::new();
    changes.insert("slug".into(), json!({"before": slug, "after": null}));
    changes.insert(
        "removed".into(),
        json!({"before": {
            "users": holdings.users,
            "groups": holdings.groups,
            "credentials": holdings.credentials,
        }, "after": null}),
    );
    let entry = Entry::new(
        &tenant.id,
        actor,
        "tenant.delete",
        "tenant",
        &tenant.id,
        changes,
    );
    audit::record(&txn, &entry).await?;
    commit(txn).await?;
    Ok(holdings)
}
