//! The admin console's sign-in state in the database, so that every instance behind a load
//! balancer sees the same sessions: sessions, one-time sign-in links and OpenID Connect
//! sign-ins in flight. Secrets are stored only as SHA-256 hashes (see `credentials`).

use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::credentials::{hash, random_secret};
use super::entity::{console_links, console_oidc, console_sessions, tenant_oidc};
use super::{now_us, sql_err};
use crate::domain::Result;

pub use console_sessions::Model as Session;

/// Creates a one-time sign-in link for a user, valid `ttl_us`; returns its secret.
pub async fn create_link(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    user_id: &str,
    ttl_us: i64,
) -> Result<String> {
    let secret = random_secret()?;
    console_links::ActiveModel {
        id: Set(hash(&secret)),
        tenant_id: Set(tenant_id.to_string()),
        user_id: Set(user_id.to_string()),
        expires_us: Set(now_us().saturating_add(ttl_us)),
        used_us: Set(None),
    }
    .insert(db)
    .await
    .map_err(|e| sql_err(e, "console link"))?;
    Ok(secret)
}

/// Redeems a sign-in link: `(tenant_id, user_id)` when the secret names a link that is
/// unused and unexpired, which one statement marks used — so two redemptions racing each
/// other cannot both succeed.
pub async fn redeem_link(
    db: &impl ConnectionTrait,
    secret: &str,
) -> Result<Option<(String, String)>> {
    let id = hash(secret);
    let now = now_us();
    let marked = console_links::Entity::update_many()
        .col_expr(console_links::Column::UsedUs, Expr::value(now))
        .filter(console_links::Column::Id.eq(id.clone()))
        .filter(console_links::Column::UsedUs.is_null())
        .filter(console_links::Column::ExpiresUs.gt(now))
        .exec(db)
        .await
        .map_err(|e| sql_err(e, "console link"))?;
    if marked.rows_affected != 1 {
        return Ok(None);
    }
    let link = console_links::Entity::find_by_id(id)
        .one(db)
        .await
        .map_err(|e| sql_err(e, "console link"))?;
    Ok(link.map(|l| (l.tenant_id, l.user_id)))
}

/// Starts a session; returns the cookie's secret and the session (with its CSRF token).
pub async fn create_session(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    user_id: &str,
    via: &str,
) -> Result<(String, Session)> {
    let secret = random_secret()?;
    let now = now_us();
    let session = console_sessions::ActiveModel {
        id: Set(hash(&secret)),
        tenant_id: Set(tenant_id.to_string()),
        user_id: Set(user_id.to_string()),
        csrf: Set(random_secret()?),
        via: Set(via.to_string()),
        created_us: Set(now),
        seen_us: Set(now),
    }
    .insert(db)
    .await
    .map_err(|e| sql_err(e, "console session"))?;
    Ok((secret, session))
}

/// The session a cookie's secret belongs to, if any (expiry is the caller's to judge).
pub async fn session(db: &impl ConnectionTrait, secret: &str) -> Result<Option<Session>> {
    console_sessions::Entity::find_by_id(hash(secret))
        .one(db)
        .await
        .map_err(|e| sql_err(e, "console session"))
}

/// Records that the session was used now (for the idle timeout).
pub async fn touch(db: &impl ConnectionTrait, id: &str, now: i64) -> Result<()> {
    console_sessions::Entity::update_many()
        .col_expr(console_sessions::Column::SeenUs, Expr::value(now))
        .filter(console_sessions::Column::Id.eq(id))
        .exec(db)
        .await
        .map_err(|e| sql_err(e, "console session"))?;
    Ok(())
}

/// Ends one session.
pub async fn end(db: &impl ConnectionTrait, id: &str) -> Result<()> {
    console_sessions::Entity::delete_by_id(id.to_string())
        .exec(db)
        .await
        .map_err(|e| sql_err(e, "console session"))?;
    Ok(())
}

/// Ends every session of a user; returns how many there were.
pub async fn end_all(db: &impl ConnectionTrait, tenant_id: &str, user_id: &str) -> Result<u64> {
    let gone = console_sessions::Entity::delete_many()
        .filter(console_sessions::Column::TenantId.eq(tenant_id))
        .filter(console_sessions::Column::UserId.eq(user_id))
        .exec(db)
        .await
        .map_err(|e| sql_err(e, "console session"))?;
    Ok(gone.rows_affected)
}

/// Deletes sessions idle since before `idle_before` or started before `started_before`,
/// and links and OIDC sign-ins past their expiry.
pub async fn sweep(db: &impl ConnectionTrait, idle_before: i64, started_before: i64) -> Result<()> {
    let now = now_us();
    console_sessions::Entity::delete_many()
        .filter(
            sea_orm::Condition::any()
                .add(console_sessions::Column::SeenUs.lt(idle_before))
                .add(console_sessions::Column::CreatedUs.lt(started_before)),
        )
        .exec(db)
        .await
        .map_err(|e| sql_err(e, "console session"))?;
    console_links::Entity::delete_many()
        .filter(console_links::Column::ExpiresUs.lt(now))
        .exec(db)
        .await
        .map_err(|e| sql_err(e, "console link"))?;
    console_oidc::Entity::delete_many()
        .filter(console_oidc::Column::ExpiresUs.lt(now))
        .exec(db)
        .await
        .map_err(|e| sql_err(e, "console sign-in"))?;
    Ok(())
}

/// An OpenID Connect sign-in in flight: what the callback needs to finish it.
pub use console_oidc::Model as OidcSignIn;

/// Records an OpenID Connect sign-in about to redirect to the identity provider.
pub async fn begin_oidc(db: &impl ConnectionTrait, sign_in: OidcSignIn) -> Result<()> {
    console_oidc::ActiveModel {
        id: Set(sign_in.id),
        tenant_id: Set(sign_in.tenant_id),
        verifier: Set(sign_in.verifier),
        nonce: Set(sign_in.nonce),
        next: Set(sign_in.next),
        expires_us: Set(sign_in.expires_us),
    }
    .insert(db)
    .await
    .map_err(|e| sql_err(e, "console sign-in"))?;
    Ok(())
}

/// Takes (reads and deletes) the sign-in a callback's `state` names, when unexpired; one
/// callback only can take it.
pub async fn take_oidc(db: &impl ConnectionTrait, state: &str) -> Result<Option<OidcSignIn>> {
    let Some(found) = console_oidc::Entity::find_by_id(state.to_string())
        .one(db)
        .await
        .map_err(|e| sql_err(e, "console sign-in"))?
    else {
        return Ok(None);
    };
    let gone = console_oidc::Entity::delete_by_id(state.to_string())
        .exec(db)
        .await
        .map_err(|e| sql_err(e, "console sign-in"))?;
    Ok((gone.rows_affected == 1 && found.expires_us > now_us()).then_some(found))
}

/// A tenant's OpenID Connect sign-in settings.
pub use tenant_oidc::Model as OidcConfig;

/// The tenant's OpenID Connect sign-in, if it has one.
pub async fn oidc_config(db: &impl ConnectionTrait, tenant_id: &str) -> Result<Option<OidcConfig>> {
    tenant_oidc::Entity::find_by_id(tenant_id.to_string())
        .one(db)
        .await
        .map_err(|e| sql_err(e, "sign-in settings"))
}

/// Sets (replaces) or, with `None`, removes the tenant's OpenID Connect sign-in.
pub async fn set_oidc_config(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    config: Option<OidcConfig>,
) -> Result<()> {
    tenant_oidc::Entity::delete_by_id(tenant_id.to_string())
        .exec(db)
        .await
        .map_err(|e| sql_err(e, "sign-in settings"))?;
    if let Some(c) = config {
        tenant_oidc::ActiveModel {
            tenant_id: Set(tenant_id.to_string()),
            issuer: Set(c.issuer),
            client_id: Set(c.client_id),
            client_secret: Set(c.client_secret),
            modified_us: Set(now_us()),
        }
        .insert(db)
        .await
        .map_err(|e| sql_err(e, "sign-in settings"))?;
    }
    Ok(())
}
