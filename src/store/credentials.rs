//! Credentials: random secrets shown once, stored only as SHA-256 hashes. A secret is
//! 256 random bits; hashing without a salt is sound for such secrets (nothing to guess), and
//! lets authentication find the row by hash. The comparison is constant-time.

use base64::Engine;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::entity::{credentials, tenants};
use super::{new_id, now_us, sql_err};
use crate::domain::{Error, Result};

/// What a credential lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Tenant-wide SCIM provisioning.
    Scim,
    /// The admin API, with a user's permissions.
    User,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Scim => "scim",
            Kind::User => "user",
        }
    }
}

/// A stored credential, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub id: String,
    pub tenant_id: String,
    pub kind: Kind,
    pub user_id: Option<String>,
    pub name: String,
    pub created_us: i64,
}

fn to_domain(m: credentials::Model) -> Credential {
    Credential {
        id: m.id,
        tenant_id: m.tenant_id,
        kind: if m.kind == "user" {
            Kind::User
        } else {
            Kind::Scim
        },
        user_id: m.user_id,
        name: m.name,
        created_us: m.created_us,
    }
}

/// The hex SHA-256 of a secret: what is stored and looked up in its place.
pub(crate) fn hash(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// 256 random bits, URL-safe base64 without padding.
pub(crate) fn random_secret() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Creates a credential and returns it with its secret, which is never stored.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn create(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    kind: Kind,
    user_id: Option<&str>,
    name: &str,
) -> Result<(Credential, String)> {
    let secret = format!("rc_{}", random_secret()?);
    let model = credentials::ActiveModel {
        id: Set(new_id()),
        tenant_id: Set(tenant_id.to_string()),
        kind: Set(kind.as_str().to_string()),
        user_id: Set(user_id.map(str::to_string)),
        name: Set(name.to_string()),
        secret_hash: Set(hash(&secret)),
        created_us: Set(now_us()),
    }
    .insert(db)
    .await
    .map_err(|e| sql_err(e, "credential"))?;
    Ok((to_domain(model), secret))
}

/// A credential a secret matched, with what the request path needs of its tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    pub credential: Credential,
    pub tenant_slug: String,
    /// The operator disabled the tenant: its credentials authenticate nothing.
    pub tenant_disabled: bool,
    /// The tenant's `rateLimit` setting, if it has one.
    pub rate_limit: Option<u32>,
}

/// The credential a secret belongs to, with its tenant, in one query; `id` (from Basic auth)
/// must match too when given.
pub async fn authenticate(
    db: &impl ConnectionTrait,
    id: Option<&str>,
    secret: &str,
) -> Result<Option<Authenticated>> {
    let digest = hash(secret);
    let mut query =
        credentials::Entity::find().filter(credentials::Column::SecretHash.eq(digest.clone()));
    if let Some(id) = id {
        query = query.filter(credentials::Column::Id.eq(id));
    }
    let found = query
        .find_also_related(tenants::Entity)
        .one(db)
        .await
        .map_err(|e| sql_err(e, "credential"))?;
    Ok(found.and_then(|(m, tenant)| {
        let tenant = tenant?;
        bool::from(m.secret_hash.as_bytes().ct_eq(digest.as_bytes())).then(|| Authenticated {
            credential: to_domain(m),
            tenant_slug: tenant.slug,
            tenant_disabled: tenant.disabled_us.is_some(),
            rate_limit: tenant.rate_limit.and_then(|r| u32::try_from(r).ok()),
        })
    }))
}

/// A tenant's credentials, oldest first.
pub async fn list(db: &impl ConnectionTrait, tenant_id: &str) -> Result<Vec<Credential>> {
    Ok(credentials::Entity::find()
        .filter(credentials::Column::TenantId.eq(tenant_id))
        .order_by_asc(credentials::Column::CreatedUs)
        .all(db)
        .await
        .map_err(|e| sql_err(e, "credential"))?
        .into_iter()
        .map(to_domain)
        .collect())
}

/// One credential by id.
pub async fn by_id(db: &impl ConnectionTrait, id: &str) -> Result<Credential> {
    credentials::Entity::find_by_id(id.to_string())
        .one(db)
        .await
        .map_err(|e| sql_err(e, "credential"))?
        .map(to_domain)
        .ok_or_else(|| Error::NotFound(format!("credential {id}")))
}

/// Revokes (deletes) a credential by id.
pub async fn revoke(db: &impl ConnectionTrait, id: &str) -> Result<()> {
    let result = credentials::Entity::delete_by_id(id.to_string())
        .exec(db)
        .await
        .map_err(|e| sql_err(e, "credential"))?;
    if result.rows_affected == 0 {
        return Err(Error::NotFound(format!("credential {id}")));
    }
    Ok(())
}

/// How many credentials a user holds.
pub async fn count_for_user(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    user_id: &str,
) -> Result<u64> {
    credentials::Entity::find()
        .filter(credentials::Column::TenantId.eq(tenant_id))
        .filter(credentials::Column::UserId.eq(user_id))
        .count(db)
        .await
        .map_err(|e| sql_err(e, "credential"))
}
