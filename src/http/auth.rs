//! Authentication: `Authorization: Bearer <secret>` or Basic (credential id as user name,
//! secret as password). The tenant comes from the credential.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use base64::Engine;

use crate::app::AppState;
use crate::domain::audit::Actor;
use crate::http::edge::Caller;
use crate::http::edge::metrics::Throttled;
use crate::http::provisioning_log::Attribution;
use crate::scim::ScimError;
use crate::store::credentials::{self, Authenticated, Credential, Kind};

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

/// Why a request's credentials were not accepted.
#[derive(Debug)]
pub enum Denied {
    /// No `Authorization` header of a known scheme.
    Missing,
    /// No credential has that secret (or that id and secret).
    Invalid,
    /// The credential's tenant is disabled by the operator.
    Disabled,
    /// The client address made too many failed authentications; retry after the seconds.
    Throttled(u64),
    /// The credential is over its rate of `rate` per second; retry after `seconds`.
    OverRate { seconds: u64, rate: u32 },
    /// The credential could not be looked up.
    Failed(crate::domain::Error),
}

impl From<Denied> for ScimError {
    fn from(denied: Denied) -> Self {
        match denied {
            Denied::Missing => ScimError::unauthorized(
                "authentication required: send a Bearer token or Basic credentials",
            ),
            Denied::Invalid => ScimError::unauthorized("invalid credentials"),
            Denied::Disabled => {
                ScimError::unauthorized("this tenant is disabled; its operator can enable it again")
            }
            Denied::Throttled(seconds) => ScimError::too_many_requests(
                seconds,
                format!("too many failed authentications from this address; retry in {seconds} s"),
            ),
            Denied::OverRate { seconds, rate } => ScimError::too_many_requests(
                seconds,
                format!(
                    "this credential is over its rate of {rate} requests per second; retry in {seconds} s"
                ),
            ),
            Denied::Failed(err) => err.into(),
        }
    }
}

/// The gate every authenticated request passes: the failed-authentication throttle of the
/// client address, the credential and its tenant (one query), the tenant's state, and the
/// credential's rate. Records the caller for the access log.
pub async fn admit(state: &AppState, parts: &Parts) -> Result<Authenticated, Denied> {
    let edge = &state.edge;
    let address = edge.client_address(parts);
    if let Some(seconds) = edge.auth_throttle.blocked(address) {
        edge.metrics.throttled(Throttled::AuthFailures);
        return Err(Denied::Throttled(seconds));
    }
    let fail = |denied: Denied| {
        edge.metrics.auth_failure();
        match edge.auth_throttle.failed(address) {
            Some(seconds) => {
                edge.metrics.throttled(Throttled::AuthFailures);
                Denied::Throttled(seconds)
            }
            None => denied,
        }
    };
    let Some((id, secret)) = presented(&parts.headers) else {
        return Err(fail(Denied::Missing));
    };
    let found = credentials::authenticate(&state.db, id.as_deref(), &secret)
        .await
        .map_err(Denied::Failed)?;
    let Some(authenticated) = found else {
        return Err(fail(Denied::Invalid));
    };
    let credential_id = &authenticated.credential.id;
    // Known from here on, refused or not: the access log names the tenant and credential,
    // and the provisioning log (on SCIM routes) keeps the request as the credential's.
    if let Some(caller) = parts.extensions.get::<Caller>() {
        caller.set(&authenticated.tenant_slug, credential_id);
    }
    if let Some(attribution) = parts.extensions.get::<Attribution>() {
        attribution.set(&authenticated.credential.tenant_id, credential_id);
    }
    if authenticated.tenant_disabled {
        return Err(fail(Denied::Disabled));
    }
    if let Err(seconds) = edge
        .rate_limits
        .check(credential_id, authenticated.rate_limit)
    {
        edge.metrics.throttled(Throttled::Rate);
        let rate = edge.rate_limits.rate(authenticated.rate_limit);
        return Err(Denied::OverRate { seconds, rate });
    }
    Ok(authenticated)
}

impl FromRequestParts<AppState> for ScimAuth {
    type Rejection = ScimError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let credential = admit(state, parts).await?.credential;
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
/// without authentication, but shows an authenticated client its tenant's catalog. A bad
/// credential counts towards the address's throttle; a throttled address is not looked up.
pub struct OptionalTenant(pub Option<String>);

impl FromRequestParts<AppState> for OptionalTenant {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some((id, secret)) = presented(&parts.headers) else {
            return Ok(OptionalTenant(None));
        };
        let address = state.edge.client_address(parts);
        let throttle = &state.edge.auth_throttle;
        if throttle.blocked(address).is_some() {
            return Ok(OptionalTenant(None));
        }
        let found = credentials::authenticate(&state.db, id.as_deref(), &secret)
            .await
            .ok()
            .flatten()
            .filter(|a| !a.tenant_disabled);
        match &found {
            None => {
                state.edge.metrics.auth_failure();
                throttle.failed(address);
            }
            Some(a) => {
                if let Some(attribution) = parts.extensions.get::<Attribution>() {
                    attribution.set(&a.credential.tenant_id, &a.credential.id);
                }
            }
        }
        Ok(OptionalTenant(
            found
                .map(|a| a.credential)
                .filter(|c| c.kind == Kind::Scim)
                .map(|c| c.tenant_id),
        ))
    }
}
