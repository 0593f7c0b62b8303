//! Signing in to the console through the tenant's own identity provider: OpenID Connect,
//! authorization code with PKCE (S256), a state and a nonce per sign-in kept in the database
//! (so the callback may reach another instance), the ID token's signature, issuer, audience,
//! expiry and nonce checked by `openidconnect`.
//!
//! The person is matched to a user of the tenant by `preferred_username` as userName, else
//! by `email` as userName, else by `email` as primary email (an `email` whose
//! `email_verified` is false is not used). Unknown and archived users are refused with a
//! page saying so; a matched user signs in with its own permissions.

use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde::Deserialize;

use super::session::start_session;
use super::{ConsoleError, ConsoleResult};
use crate::app::AppState;
use crate::domain::user::fold_key;
use crate::http::admin::oidc::CALLBACK;
use crate::store::console::{self as store, OidcConfig, OidcSignIn};
use crate::store::users::{self, Unique};
use crate::store::{now_us, tenants};

/// How long a sign-in may stay at the identity provider before its callback.
const SIGN_IN_TTL: Duration = Duration::from_secs(10 * 60);

fn failed(detail: impl Into<String>) -> ConsoleError {
    ConsoleError::new(StatusCode::BAD_GATEWAY, "Cannot sign in", detail)
}

fn refused(detail: impl Into<String>) -> ConsoleError {
    ConsoleError::new(StatusCode::FORBIDDEN, "Cannot sign in", detail)
}

/// An HTTP client for the identity provider: no redirects (no SSRF through them), bounded.
fn http_client() -> ConsoleResult<openidconnect::reqwest::Client> {
    openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| failed(format!("no HTTP client: {e}")))
}

/// The identity provider's client for this tenant, from its discovery document.
async fn client(
    state: &AppState,
    headers: &HeaderMap,
    config: &OidcConfig,
    http: &openidconnect::reqwest::Client,
) -> ConsoleResult<
    CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
> {
    let issuer = IssuerUrl::new(config.issuer.clone())
        .map_err(|e| failed(format!("the configured issuer is not a URL: {e}")))?;
    let metadata = CoreProviderMetadata::discover_async(issuer, http)
        .await
        .map_err(|e| {
            failed(format!(
                "Your identity provider ({}) could not be reached or answered no valid discovery document: {e}",
                config.issuer
            ))
        })?;
    let redirect = RedirectUrl::new(format!("{}{CALLBACK}", state.edge.base(headers)))
        .map_err(|e| failed(format!("bad redirect URI: {e}")))?;
    Ok(CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(config.client_id.clone()),
        Some(ClientSecret::new(config.client_secret.clone())),
    )
    .set_redirect_uri(redirect))
}

#[derive(Deserialize)]
pub struct StartQuery {
    tenant: Option<String>,
}

/// `GET /console/sign-in/oidc?tenant=SLUG`: off to the tenant's identity provider.
pub async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<StartQuery>,
) -> ConsoleResult<Response> {
    let slug = q.tenant.unwrap_or_default();
    let slug = slug.trim();
    let not_set = || {
        ConsoleError::new(
            StatusCode::NOT_FOUND,
            "Cannot sign in",
            format!(
                "No organisation {slug:?} signs in through an identity provider here. Check the name, or ask your administrator for a sign-in link."
            ),
        )
    };
    let tenant = tenants::by_slug(&state.db, slug)
        .await
        .map_err(|_| not_set())?;
    let config = store::oidc_config(&state.db, &tenant.id)
        .await?
        .ok_or_else(not_set)?;
    let http = http_client()?;
    let client = client(&state, &headers, &config, &http).await?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    store::begin_oidc(
        &state.db,
        OidcSignIn {
            id: csrf.secret().clone(),
            tenant_id: tenant.id,
            verifier: verifier.secret().clone(),
            nonce: nonce.secret().clone(),
            next: None,
            expires_us: now_us() + i64::try_from(SIGN_IN_TTL.as_micros()).unwrap_or(i64::MAX),
        },
    )
    .await?;
    Ok(Redirect::to(url.as_str()).into_response())
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /console/sign-in/oidc/callback`: the identity provider sends the browser back.
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> ConsoleResult<Response> {
    if let Some(error) = q.error {
        let detail = q.error_description.unwrap_or_default();
        return Err(refused(format!(
            "Your identity provider did not sign you in ({error}{}{detail}).",
            if detail.is_empty() { "" } else { ": " }
        )));
    }
    let expired = || {
        ConsoleError::new(
            StatusCode::BAD_REQUEST,
            "Cannot sign in",
            "This sign-in is unknown, already finished or took longer than 10 minutes. Start again.",
        )
    };
    let (Some(code), Some(sign_in)) = (q.code, q.state) else {
        return Err(expired());
    };
    let sign_in = store::take_oidc(&state.db, &sign_in)
        .await?
        .ok_or_else(expired)?;
    let config = store::oidc_config(&state.db, &sign_in.tenant_id)
        .await?
        .ok_or_else(|| {
            refused("Your organisation no longer signs in through an identity provider.")
        })?;
    let http = http_client()?;
    let client = client(&state, &headers, &config, &http).await?;
    let token = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| failed(format!("the identity provider has no token endpoint: {e}")))?
        .set_pkce_verifier(PkceCodeVerifier::new(sign_in.verifier.clone()))
        .request_async(&http)
        .await
        .map_err(|e| {
            failed(format!(
                "Your identity provider refused the sign-in code: {e}"
            ))
        })?;
    let id_token = token
        .id_token()
        .ok_or_else(|| failed("Your identity provider answered no ID token."))?;
    let claims = id_token
        .claims(
            &client.id_token_verifier(),
            &Nonce::new(sign_in.nonce.clone()),
        )
        .map_err(|e| {
            refused(format!(
                "The ID token from your identity provider is not valid: {e}"
            ))
        })?;
    let username = claims.preferred_username().map(|u| u.as_str().to_string());
    let email = claims
        .email()
        .filter(|_| claims.email_verified() != Some(false))
        .map(|e| e.as_str().to_string());
    let tenant_id = &sign_in.tenant_id;
    let mut user_id = None;
    for name in username.iter().chain(email.iter()) {
        if let Ok(user) = users::by_user_name(&state.db, tenant_id, name).await {
            user_id = Some(user.id);
            break;
        }
    }
    if user_id.is_none()
        && let Some(email) = &email
    {
        let found = users::holders(
            &state.db,
            tenant_id,
            Unique::PrimaryEmail,
            &[fold_key(email)],
        )
        .await?;
        user_id = found.into_iter().next().map(|(_, id)| id);
    }
    let Some(user_id) = user_id else {
        let who = username
            .or(email)
            .unwrap_or_else(|| claims.subject().as_str().to_string());
        return Err(refused(format!(
            "You signed in at your identity provider as {who}, but no user of this organisation has that username or email. Ask your administrator."
        )));
    };
    start_session(&state, &headers, tenant_id, &user_id, "oidc").await
}
