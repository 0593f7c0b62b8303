//! Credential writes: creation (the secret is returned once, only its hash stored) and
//! revocation, each with its audit row in the same transaction.

use std::collections::BTreeSet;

use sea_orm::DatabaseConnection;
use serde_json::{Map, json};

use super::{begin, commit, retry};
use crate::domain::audit::{Actor, Entry};
use crate::domain::ownership::Permission;
use crate::domain::user::Document;
use crate::domain::{Error, Result};
use crate::store::credentials::{self, Credential, Kind};
use crate::store::{audit, catalog, users};

/// Creates a credential (ManageCredentials): tenant-wide SCIM, or a user's API credential
/// (the user must be active). Returns it with its secret.
///
/// Nobody mints more power than it holds: a user's credential acts with that user's
/// permissions, so the actor must hold every one of them; a SCIM credential can give users
/// any security profile, so the actor must hold every permission.
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
        let needed: BTreeSet<Permission> = match user_id {
            Some(user_id) => {
                let user = users::get(&txn, tenant_id, user_id).await?;
                if !user.active() {
                    return Err(Error::invalid(
                        "userId",
                        format!("user {} is archived", user.user_name()),
                    ));
                }
                catalog::load(&txn, tenant_id)
                    .await?
                    .permissions_of(user.security_profiles())
            }
            None => Permission::ALL.into_iter().collect(),
        };
        let missing = actor.missing(&needed);
        if !missing.is_empty() {
            return Err(Error::Forbidden(format!(
                "the credential would act with permission(s) {}, which your security profiles do not grant",
                missing.join(", ")
            )));
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
