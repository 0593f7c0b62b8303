//! A tenant's OpenID Connect sign-in to the console: its identity provider's issuer and the
//! client Rollcall signs in as (ManageSettings). Set, changed and removed in one transaction
//! with its audit row; the client secret never appears in the audit log or in any answer.

use sea_orm::DatabaseConnection;
use serde_json::{Map, Value, json};

use super::{begin, commit};
use crate::domain::audit::{Actor, Entry};
use crate::domain::ownership::Permission;
use crate::domain::{Error, Result};
use crate::store::audit;
use crate::store::console::{self as store, OidcConfig};

/// What an admin sends to set the sign-in. Without `client_secret`, the stored one stays.
#[derive(Debug, Clone)]
pub struct OidcInput {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<String>,
}

/// Whether `host` is this machine (plain http is allowed only there).
pub(crate) fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Checks an issuer URL: `https://` (plain `http://` only on loopback, for testing), with a
/// host, without query or fragment. Answers it without a trailing slash.
pub fn check_issuer(text: &str) -> Result<String> {
    let bad = || {
        Error::invalid(
            "issuer",
            format!(
                "issuer {text:?} must be the identity provider's https:// issuer URL, like https://login.example.com/oauth2/default"
            ),
        )
    };
    let uri: axum::http::Uri = text.parse().map_err(|_| bad())?;
    let host = uri.host().ok_or_else(bad)?;
    let secure = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => is_loopback(host),
        _ => false,
    };
    if !secure || uri.query().is_some() || text.contains('#') || text.len() > 2000 {
        return Err(bad());
    }
    Ok(text.trim_end_matches('/').to_string())
}

fn check_text(field: &str, value: &str, max: usize) -> Result<()> {
    if value.trim().is_empty() || value.len() > max || value.chars().any(char::is_control) {
        return Err(Error::invalid(
            field,
            format!("{field} must be 1 to {max} characters, without control characters"),
        ));
    }
    Ok(())
}

/// Sets (`Some`) or removes (`None`) the tenant's OpenID Connect sign-in; the stored
/// settings after the change.
pub async fn set(
    db: &DatabaseConnection,
    tenant_id: &str,
    actor: &Actor,
    input: Option<OidcInput>,
) -> Result<Option<OidcConfig>> {
    actor.require(&[Permission::ManageSettings])?;
    let txn = begin(db).await?;
    let current = store::oidc_config(&txn, tenant_id).await?;
    let next = match input {
        None => None,
        Some(input) => {
            let issuer = check_issuer(&input.issuer)?;
            check_text("clientId", &input.client_id, 255)?;
            let client_secret = match (input.client_secret, &current) {
                (Some(secret), _) => secret,
                (None, Some(c)) => c.client_secret.clone(),
                (None, None) => {
                    return Err(Error::invalid(
                        "clientSecret",
                        "clientSecret is required when the sign-in is first set",
                    ));
                }
            };
            check_text("clientSecret", &client_secret, 1024)?;
            Some(OidcConfig {
                tenant_id: tenant_id.to_string(),
                issuer,
                client_id: input.client_id.trim().to_string(),
                client_secret,
                modified_us: 0,
            })
        }
    };
    let mut changes = Map::new();
    let field = |c: &Option<OidcConfig>, f: fn(&OidcConfig) -> &str| -> Value {
        c.as_ref().map_or(Value::Null, |c| json!(f(c)))
    };
    for (name, get) in [
        (
            "issuer",
            (|c: &OidcConfig| c.issuer.as_str()) as fn(&OidcConfig) -> &str,
        ),
        ("clientId", |c: &OidcConfig| c.client_id.as_str()),
    ] {
        let (before, after) = (field(&current, get), field(&next, get));
        if before != after {
            changes.insert(name.into(), json!({"before": before, "after": after}));
        }
    }
    let secret_of = |c: &Option<OidcConfig>| c.as_ref().map(|c| c.client_secret.clone());
    if secret_of(&current) != secret_of(&next) {
        let shown = |c: &Option<OidcConfig>| {
            if c.is_some() {
                json!("(secret)")
            } else {
                Value::Null
            }
        };
        changes.insert(
            "clientSecret".into(),
            json!({"before": shown(&current), "after": shown(&next)}),
        );
    }
    if !changes.is_empty() {
        store::set_oidc_config(&txn, tenant_id, next.clone()).await?;
        let entry = Entry::new(
            tenant_id,
            actor,
            "tenant.oidc",
            "tenant",
            tenant_id,
            changes,
        );
        audit::record(&txn, &entry).await?;
    }
    commit(txn).await?;
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::check_issuer;

    #[test]
    fn issuers_must_be_https_except_on_loopback() {
        assert_eq!(
            check_issuer("https://login.example.com/oauth2/default/").unwrap(),
            "https://login.example.com/oauth2/default"
        );
        assert!(check_issuer("http://127.0.0.1:9000").is_ok());
        assert!(check_issuer("http://localhost:9000").is_ok());
        assert!(check_issuer("http://[::1]:9000").is_ok());
        for bad in [
            "http://login.example.com",
            "ftp://x.example",
            "https://x.example?a=1",
            "https://x.example#f",
            "login.example.com",
            "",
        ] {
            assert!(check_issuer(bad).is_err(), "{bad}");
        }
    }
}
