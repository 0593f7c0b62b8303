//! Credential writes: creation (the secret is returned once, only its hash stored) and
//! revocation, each with its audit row in the same transaction.

use sea_orm::DatabaseConnection;
use serde_json::{Map, json};

use super::{begin, commit, retry};
use crate::domain::audit::{Actor, Entry};
use crate::domain::ownership::Permission;
use crate::domain::{Error, Result};
use crate::store::credentials::{self, Credential, Kind};
use crate::store::{audit, users};

/// Creates a credential (ManageCredentials): tenant-wide SCIM, or a user's API credential
/// (the user must be active). Returns it with its secret.
pub async fn create(
    db: &DatabaseConnection,
    tenant_id: &str,
    actor: &Actor,
    kind: Kind,
    user_id: Option<&str>,
    name: &str,
) -> Result<(Credential, String)> {
    actor.require(&[Permission::ManageCredentials])?;
    retry(|| async {
        let txn = begin(db).await?;
        if let Some(user_id) = user_id {
            let user = users::get(&txn, tenant_id, user_id).await?;
            if !user.active() {
                return Err(Error::invalid(
                    "user",
                    format!("user {} is archived", user.user_name()),
                ));
            }
        }
        let (credential, secret) =
            credentials::create(&txn, tenant_id, kind, user_id, name).await?;
        let mut changes = Map::new();
        changes.insert("created".into(), json!({"before": null, "after": name}));
        let entry = Entry::new(
            tenant_id,
            actor,
            "credential.create",
            "credential",
            &credential.id,
            changes,
        );
        audit::record(&txn, &entry).await?;
        commit(txn).await?;
        Ok((credential, secret))
    })
    .await
}

/// Revokes a credential of the tenant (ManageCredentials); another tenant's id is not found.
pub async fn revoke(
    db: &DatabaseConnection,
    tenant_id: &str,
    actor: &Actor,
    id: &str,
) -> Result<()> {
    actor.require(&[Permission::ManageCredentials])?;
    retry(|| async {
        let txn = begin(db).await?;
        let credential = credentials::by_id(&txn, id).await?;
        if credential.tenant_id != tenant_id {
            return Err(Error::NotFound(format!("credential {id}")));
        }
        credentials::revoke(&txn, id).await?;
        let mut changes = Map::new();
        changes.insert("revoked".into(), json!({"before": false, "after": true}));
        let entry = Entry::new(
            tenant_id,
            actor,
            "credential.revoke",
            "credential",
            id,
            changes,
        );
        audit::record(&txn, &entry).await?;
        commit(txn).await
    })
    .await
}
