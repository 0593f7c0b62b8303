//! A small OpenID Connect provider on loopback for the sign-in tests: discovery, JWKS,
//! an authorization endpoint that signs in whoever `who` names at once, and a token
//! endpoint that checks the client's secret and the PKCE verifier and signs an RS256 ID
//! token. Its RSA key (`oidc-test-key.pem`) is a test key, for nothing else.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use openidconnect::core::{
    CoreIdToken, CoreIdTokenClaims, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
    CoreRsaPrivateSigningKey,
};
use openidconnect::{
    Audience, EmptyAdditionalClaims, EndUserEmail, EndUserUsername, IssuerUrl, JsonWebKeyId, Nonce,
    PrivateSigningKey, StandardClaims, SubjectIdentifier,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;

pub const CLIENT_ID: &str = "rollcall-console";
pub const CLIENT_SECRET: &str = "test-client-secret";
const KEY: &str = include_str!("oidc-test-key.pem");

/// Who the provider signs in: `preferred_username` and `email`.
#[derive(Clone, Default)]
pub struct Who {
    pub username: Option<String>,
    pub email: Option<String>,
}

struct Issued {
    nonce: String,
    challenge: String,
    who: Who,
}

#[derive(Clone)]
pub struct Provider {
    pub issuer: String,
    pub who: Arc<Mutex<Who>>,
    /// Signs ID tokens with this nonce instead of the one asked for (a replay).
    pub wrong_nonce: Arc<Mutex<bool>>,
    codes: Arc<Mutex<HashMap<String, Issued>>>,
}

impl Provider {
    /// Starts the provider on 127.0.0.1; it runs until the test's runtime ends.
    pub async fn start() -> Provider {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("addr");
        let provider = Provider {
            issuer: format!("http://{addr}"),
            who: Arc::default(),
            wrong_nonce: Arc::default(),
            codes: Arc::default(),
        };
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .with_state(provider.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        provider
    }

    pub fn signs_in(&self, who: Who) {
        *self.who.lock().unwrap() = who;
    }

    /// What the authorization endpoint does for a browser: a code for the current `who`,
    /// and where it sends the browser back (redirect_uri with code and state).
    pub fn issue(&self, query: &HashMap<String, String>) -> Result<String, String> {
        if query.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
            return Err("unknown client".into());
        }
        if query.get("code_challenge_method").map(String::as_str) != Some("S256") {
            return Err("PKCE S256 required".into());
        }
        let code = uuid::Uuid::new_v4().to_string();
        self.codes.lock().unwrap().insert(
            code.clone(),
            Issued {
                nonce: query.get("nonce").cloned().unwrap_or_default(),
                challenge: query.get("code_challenge").cloned().unwrap_or_default(),
                who: self.who.lock().unwrap().clone(),
            },
        );
        let redirect = query.get("redirect_uri").cloned().unwrap_or_default();
        let state = query.get("state").cloned().unwrap_or_default();
        Ok(format!(
            "{redirect}?{}",
            serde_urlencoded::to_string([("code", code.as_str()), ("state", state.as_str())])
                .unwrap()
        ))
    }
}

fn key() -> CoreRsaPrivateSigningKey {
    CoreRsaPrivateSigningKey::from_pem(KEY, Some(JsonWebKeyId::new("test".into())))
        .expect("test key")
}

async fn discovery(State(p): State<Provider>) -> Response {
    axum::Json(json!({
        "issuer": p.issuer,
        "authorization_endpoint": format!("{}/authorize", p.issuer),
        "token_endpoint": format!("{}/token", p.issuer),
        "jwks_uri": format!("{}/jwks", p.issuer),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "scopes_supported": ["openid", "email", "profile"],
        "code_challenge_methods_supported": ["S256"]
    }))
    .into_response()
}

async fn jwks() -> Response {
    axum::Json(CoreJsonWebKeySet::new(vec![key().as_verification_key()])).into_response()
}

async fn authorize(
    State(p): State<Provider>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match p.issue(&q) {
        Ok(back) => Redirect::to(&back).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, e).into_response(),
    }
}

async fn token(
    State(p): State<Provider>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(basic.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let bad_grant = || {
        (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "invalid_grant"})),
        )
            .into_response()
    };
    let Some(issued) = form
        .get("code")
        .and_then(|c| p.codes.lock().unwrap().remove(c))
    else {
        return bad_grant();
    };
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    if challenge != issued.challenge {
        return bad_grant();
    }
    let nonce = if *p.wrong_nonce.lock().unwrap() {
        "another-nonce".to_string()
    } else {
        issued.nonce
    };
    let now = chrono::Utc::now();
    let claims = CoreIdTokenClaims::new(
        IssuerUrl::new(p.issuer.clone()).unwrap(),
        vec![Audience::new(CLIENT_ID.into())],
        now + chrono::Duration::seconds(300),
        now,
        StandardClaims::new(SubjectIdentifier::new("subject-1".into()))
            .set_preferred_username(issued.who.username.map(EndUserUsername::new))
            .set_email(issued.who.email.map(EndUserEmail::new))
            .set_email_verified(Some(true)),
        EmptyAdditionalClaims {},
    )
    .set_nonce(Some(Nonce::new(nonce)));
    let id_token = CoreIdToken::new(
        claims,
        &key(),
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        None,
        None,
    )
    .expect("sign");
    axum::Json(json!({
        "access_token": "test-access-token",
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": id_token.to_string()
    }))
    .into_response()
}
