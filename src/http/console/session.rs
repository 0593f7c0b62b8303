//! Signing in to the console and the sessions that follow.
//!
//! - A session is a row of `console_sessions` (shared by every instance) named by the
//!   SHA-256 of a random cookie secret. The cookie is `HttpOnly`, `SameSite=Lax`, limited
//!   to `/console`, and `Secure` whenever the console's public URL is `https`.
//! - Every request re-reads the session's user: archiving it, deleting it, or taking away
//!   its profiles takes effect on its next click, on every instance. A session ends after
//!   [`IDLE`] without use or [`ABSOLUTE`] after sign-in, whichever comes first.
//! - Every state-changing request carries the session's CSRF token, in the `X-CSRF-Token`
//!   header (htmx sends it from the page) or a form's `_csrf` field; without it: 403.
//! - Break-glass sign-in: `rollcall console-link` prints a one-time link valid [`LINK_TTL`];
//!   opening it shows a button, and only the click (a POST) spends it, so link previewers
//!   cannot.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::page;
use super::{ConsoleError, ConsoleResult};
use crate::app::AppState;
use crate::domain::audit::Actor;
use crate::domain::user::Document;
use crate::http::admin::auth::AdminAuth;
use crate::store::console::{self as store, Session};
use crate::store::{catalog, now_us, tenants, users};

/// A session ends after this long without a request.
pub const IDLE: Duration = Duration::from_secs(30 * 60);
/// A session ends this long after sign-in, however busy.
pub const ABSOLUTE: Duration = Duration::from_secs(12 * 60 * 60);
/// How long a `rollcall console-link` link stays valid.
pub const LINK_TTL: Duration = Duration::from_secs(15 * 60);
/// A session's last use is written at most this often.
const TOUCH_EVERY: Duration = Duration::from_secs(60);
/// The session cookie's name.
pub const COOKIE: &str = "rollcall_console";
/// The largest form body the CSRF check reads (the console's forms are small; uploads
/// carry the token in the header).
const MAX_FORM: usize = 1 << 20;

fn us(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// The signed-in user of a console request: its session, its tenant, and the admin
/// identity every operation runs with.
#[derive(Debug, Clone)]
pub struct Signed {
    pub session: Session,
    pub tenant_slug: String,
    pub auth: AdminAuth,
}

impl<S: Send + Sync> FromRequestParts<S> for Signed {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Signed>().cloned().ok_or_else(|| {
            ConsoleError::new(StatusCode::UNAUTHORIZED, "Signed out", "Sign in first.")
        })
    }
}

/// The session cookie's secret, if the request has one.
fn cookie_secret(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
        .filter(|v| !v.is_empty())
}

fn session_cookie(value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/console; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("rollcall_console=; Path=/console; Max-Age=0"))
}

/// Whether the console is reached over TLS (its public URL, or a trusted proxy's scheme).
fn over_tls(state: &AppState, headers: &HeaderMap) -> bool {
    state.edge.base(headers).starts_with("https://")
}

/// Where a signed-out browser goes: the sign-in page, saying why.
fn to_sign_in(reason: &str, secure: bool, clear: bool) -> Response {
    let mut response = Redirect::to(&format!("/console/sign-in?reason={reason}")).into_response();
    if clear {
        response
            .headers_mut()
            .insert(header::SET_COOKIE, session_cookie("", 0, secure));
    }
    response
}

/// Why a session cannot go on, if it cannot.
async fn check(state: &AppState, session: &Session) -> ConsoleResult<Result<Signed, &'static str>> {
    let now = now_us();
    if session.seen_us < now - us(IDLE) || session.created_us < now - us(ABSOLUTE) {
        return Ok(Err("expired"));
    }
    let tenant = match tenants::by_id(&state.db, &session.tenant_id).await {
        Ok(t) => t,
        Err(crate::domain::Error::NotFound(_)) => return Ok(Err("no-access")),
        Err(e) => return Err(e.into()),
    };
    if tenant.disabled_us.is_some() {
        return Ok(Err("tenant-disabled"));
    }
    let user = match users::get(&state.db, &session.tenant_id, &session.user_id).await {
        Ok(u) => u,
        Err(crate::domain::Error::NotFound(_)) => return Ok(Err("no-access")),
        Err(e) => return Err(e.into()),
    };
    if !user.active() {
        return Ok(Err("archived"));
    }
    let catalogs = catalog::load(&state.db, &session.tenant_id).await?;
    let permissions = catalogs.permissions_of(user.security_profiles());
    if permissions.is_empty() {
        return Ok(Err("no-access"));
    }
    Ok(Ok(Signed {
        session: session.clone(),
        tenant_slug: tenant.slug,
        auth: AdminAuth {
            tenant_id: session.tenant_id.clone(),
            actor: Actor::console(&user.id, permissions),
            user,
        },
    }))
}

/// Middleware of every signed-in screen: finds the session, checks it is still good (see
/// the module), checks the CSRF token of a state-changing request, and hands [`Signed`] to
/// the handler. Signed-out browsers are sent to the sign-in page.
pub async fn signed_in(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let secure = over_tls(&state, request.headers());
    let Some(secret) = cookie_secret(request.headers()).map(str::to_string) else {
        return to_sign_in("signed-out", secure, false);
    };
    let session = match store::session(&state.db, &secret).await {
        Ok(Some(s)) => s,
        Ok(None) => return to_sign_in("signed-out", secure, true),
        Err(e) => return ConsoleError::from(e).into_response(),
    };
    let signed = match check(&state, &session).await {
        Ok(Ok(signed)) => signed,
        Ok(Err(reason)) => {
            if let Err(e) = store::end(&state.db, &session.id).await {
                return ConsoleError::from(e).into_response();
            }
            return to_sign_in(reason, secure, true);
        }
        Err(e) => return e.into_response(),
    };
    let mut request = if request.method() == Method::GET || request.method() == Method::HEAD {
        request
    } else {
        match csrf_checked(request, &session.csrf).await {
            Ok(request) => request,
            Err(refusal) => return refusal.into_response(),
        }
    };
    let now = now_us();
    if session.seen_us < now - us(TOUCH_EVERY)
        && let Err(e) = store::touch(&state.db, &session.id, now).await
    {
        return ConsoleError::from(e).into_response();
    }
    request.extensions_mut().insert(signed);
    next.run(request).await
}

fn csrf_refused() -> ConsoleError {
    ConsoleError::new(
        StatusCode::FORBIDDEN,
        "Request refused",
        "This request did not carry the page's security token (CSRF). Reload the page and try again.",
    )
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The request if it carries the session's CSRF token (header, or `_csrf` of a form).
async fn csrf_checked(request: Request, expected: &str) -> ConsoleResult<Request> {
    let headers = request.headers();
    if headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site")
    {
        return Err(csrf_refused());
    }
    if let Some(token) = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()) {
        return if same(token, expected) {
            Ok(request)
        } else {
            Err(csrf_refused())
        };
    }
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(csrf_refused());
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM).await.map_err(|_| {
        ConsoleError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Too large",
            "The form is larger than the console accepts.",
        )
    })?;
    let token = form_urlencoded_value(&bytes, "_csrf");
    if !token.as_deref().is_some_and(|t| same(t, expected)) {
        return Err(csrf_refused());
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// The first value of `name` in a urlencoded form.
fn form_urlencoded_value(bytes: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

#[derive(Deserialize)]
pub struct SignInQuery {
    reason: Option<String>,
    tenant: Option<String>,
}

/// `GET /console/sign-in[?tenant=SLUG]`: how to sign in, and why the browser was sent here.
/// With a tenant that signs in through its identity provider, a link starts that sign-in
/// (a link, not a form: the CSP's `form-action 'self'` would stop a form's redirect to the
/// provider).
pub async fn sign_in_page(
    State(state): State<AppState>,
    Query(q): Query<SignInQuery>,
) -> ConsoleResult<Response> {
    let why = match q.reason.as_deref() {
        Some("expired") => Some("Your session expired. Sign in again."),
        Some("archived") => Some("Your user is archived: you were signed out."),
        Some("no-access") => Some("Your user no longer has access to the console."),
        Some("tenant-disabled") => Some("Your tenant is disabled by the operator."),
        Some("signed-out") => Some("You are signed out."),
        _ => None,
    };
    let slug = q.tenant.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let oidc = match slug {
        Some(slug) => match tenants::by_slug(&state.db, slug).await {
            Ok(tenant) => store::oidc_config(&state.db, &tenant.id).await?.is_some(),
            Err(crate::domain::Error::NotFound(_)) => false,
            Err(e) => return Err(e.into()),
        },
        None => false,
    };
    let start = slug.map(|slug| {
        format!(
            "/console/sign-in/oidc?{}",
            serde_urlencoded::to_string([("tenant", slug)]).unwrap_or_default()
        )
    });
    Ok(page::bare(
        "Sign in",
        &html! {
            h1 { "Sign in to Rollcall" }
            @if let Some(why) = why { (page::notice(why)) }
            @match (&start, oidc) {
                (Some(start), true) => {
                    p { a.button.primary #oidc href=(start) { "Sign in with your identity provider" } }
                }
                _ => {
                    @if let Some(slug) = slug {
                        (page::alert(&format!("The organisation {slug:?} does not sign in through an identity provider here.")))
                    }
                    form.sign-in method="get" action="/console/sign-in" {
                        label for="tenant" { "Organisation" }
                        input #tenant type="text" name="tenant" required autocomplete="organization"
                            value=(slug.unwrap_or(""));
                        button.primary type="submit" { "Continue" }
                    }
                }
            }
            p {
                "No identity provider? Sign in with the one-time link your administrator or "
                "operator gave you. An operator creates one with "
                code { "rollcall console-link --tenant SLUG --user USERNAME" } "."
            }
        },
    )
    .into_response())
}

#[derive(Deserialize)]
pub struct LinkQuery {
    token: Option<String>,
}

/// `GET /console/sign-in/link?token=…`: a button that spends the link. Nothing is spent
/// by opening it.
pub async fn link_page(Query(q): Query<LinkQuery>) -> Response {
    let Some(token) = q.token.filter(|t| !t.is_empty()) else {
        return ConsoleError::bad_request("This sign-in link has no token.").into_response();
    };
    page::bare(
        "Sign in",
        &html! {
            h1 { "Sign in to Rollcall" }
            p { "This one-time link signs you in once; it then stops working." }
            form method="post" action="/console/sign-in/link" {
                input type="hidden" name="token" value=(token);
                button.primary type="submit" { "Sign in" }
            }
        },
    )
    .into_response()
}

#[derive(Deserialize)]
pub struct LinkForm {
    token: String,
}

/// `POST /console/sign-in/link`: spends the link and starts a session.
pub async fn link_sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<LinkForm>,
) -> ConsoleResult<Response> {
    if headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site")
    {
        return Err(csrf_refused());
    }
    let Some((tenant_id, user_id)) = store::redeem_link(&state.db, &form.token).await? else {
        return Err(ConsoleError::new(
            StatusCode::BAD_REQUEST,
            "Link not valid",
            "This sign-in link is unknown, already used or expired (links last 15 minutes). \
             Ask for a new one.",
        ));
    };
    start_session(&state, &headers, &tenant_id, &user_id, "link").await
}

/// Starts a session for a user that proved who it is, refusing archived users and users
/// without any permission, and sends the browser to the console.
pub async fn start_session(
    state: &AppState,
    headers: &HeaderMap,
    tenant_id: &str,
    user_id: &str,
    via: &str,
) -> ConsoleResult<Response> {
    let now = now_us();
    store::sweep(&state.db, now - us(IDLE), now - us(ABSOLUTE)).await?;
    let (secret, session) = store::create_session(&state.db, tenant_id, user_id, via).await?;
    match check(state, &session).await? {
        Ok(_) => {}
        Err(reason) => {
            store::end(&state.db, &session.id).await?;
            let detail = match reason {
                "archived" => "Your user is archived, so it cannot sign in to the console.",
                "tenant-disabled" => "Your tenant is disabled by the operator.",
                _ => "Your user has no security profile that gives access to the console.",
            };
            return Err(ConsoleError::new(
                StatusCode::FORBIDDEN,
                "Cannot sign in",
                detail,
            ));
        }
    }
    let mut response = Redirect::to("/console/users").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(&secret, us(ABSOLUTE) / 1_000_000, over_tls(state, headers)),
    );
    Ok(response)
}

/// `POST /console/sign-out`: ends the session here and on every instance.
pub async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
) -> ConsoleResult<Response> {
    store::end(&state.db, &signed.session.id).await?;
    Ok(to_sign_in("signed-out", over_tls(&state, &headers), true))
}
