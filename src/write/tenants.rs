//! Tenant writes: creation with the built-in security profiles, audited in the same
//! transaction.

use sea_orm::DatabaseConnection;
use serde_json::{Map, json};

use super::{begin, commit};
use crate::domain::Result;
use crate::domain::audit::{Actor, Entry};
use crate::domain::tenant::Tenant;
use crate::store::{audit, tenants};

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
