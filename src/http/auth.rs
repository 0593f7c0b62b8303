//! Authentication: `Authorization: Bearer <secret>` or Basic (credential id as user name,
//! secret as password). The tenant comes from the credential.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use base64::Engine;

use crate::app::AppState;
use crate::domain::audit::Actor;
use crate::scim::ScimError;
use crate::store::credentials::{self, Credential, Kind};

/// An authenticated SCIM client: a tenant's provisioning credential.
#[derive(Debug, Clone)]
pub struct ScimAuth {
    pub tenant_id: String,
    pub credential: Credential,
}

/// The credential id (Basic only) and secret an `Authorization` header carries.
pub fn presented(headers: &HeaderMap) -> Option<(Option<String>, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return (!rest.is_empty()).then(|| (None, rest.to_string()));
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (id, secret) = text.split_once(':')?;
        return Some((Some(id.to_string()), secret.to_string()));
    }
    None
}

impl ScimAuth {
    /// The audit actor of this client's changes.
    pub fn actor(&self) -> Actor {
        Actor::idp(&self.credential.id)
    }
}

impl FromRequestParts<AppState> for ScimAuth {
    type Rejection = ScimError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let (id, secret) = presented(&parts.headers).ok_or_else(|| {
            ScimError::unauthorized(
                "authentication required: send a Bearer token or Basic credentials",
            )
        })?;
        let credential = credentials::authenticate(&state.db, id.as_deref(), &secret)
            .await?
            .ok_or_else(|| ScimError::unauthorized("invalid credentials"))?;
        if credential.kind != Kind::Scim {
            return Err(ScimError::new(
                403,
                None,
                "this credential is for the admin API, not for SCIM provisioning",
            ));
        }
        Ok(ScimAuth {
            tenant_id: credential.tenant_id.clone(),
            credential,
        })
    }
}

/// The tenant of a valid SCIM credential, if the request carries one: discovery answers
/// without authentication, but shows an authenticated client its tenant's catalog.
pub async fn optional_tenant(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let (id, secret) = presented(headers)?;
    credentials::authenticate(&state.db, id.as_deref(), &secret)
        .await
        .ok()
        .flatten()
        .filter(|c| c.kind == Kind::Scim)
        .map(|c| c.tenant_id)
}
