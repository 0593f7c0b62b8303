//! The admin console, `/console/`: the contact-centre admins' screens, server-rendered
//! (maud) with htmx for partial updates, both embedded in the binary. Every screen calls the
//! admin API's own operations with the signed-in user's permissions, so what the console
//! may show and change is exactly what the admin API allows that user — the ownership
//! registry decides what is editable, and the console keeps no list of its own.

#![allow(clippy::result_large_err)]

pub mod audit;
pub mod bulk;
pub mod catalogs;
pub mod fields;
pub mod oidc;
pub mod page;
pub mod session;
pub mod template;
pub mod tenant;
pub mod upload;
pub mod users;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use axum::extract::DefaultBodyLimit;

use self::session::Signed;
use crate::app::AppState;
use crate::http::admin::error::{AdminError, Code};
use crate::http::admin::import::{Format, MAX_UPLOAD};

/// The console's Content-Security-Policy: scripts and styles from the console only, no
/// inline code, no framing, forms posting nowhere else.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const HTMX: &[u8] = include_bytes!("assets/htmx.min.js");
const SCRIPT: &[u8] = include_bytes!("assets/console.js");
const STYLE: &[u8] = include_bytes!("assets/console.css");

fn asset(body: &'static [u8], content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// The console's routes, mounted at `/console`.
pub fn routes(state: AppState) -> Router<AppState> {
    let signed = Router::new()
        .route("/", get(|| async { Redirect::to("/console/users") }))
        .route("/users", get(users::list))
        .route("/users/edit", get(bulk::show).post(bulk::apply))
        .route("/users/{id}", get(users::show).post(users::save))
        .route("/users/{id}/check", post(users::check))
        .route("/users/{id}/archive", post(users::archive))
        .route("/users/{id}/reactivate", post(users::reactivate))
        .route("/users/{id}/delete", post(users::delete))
        .route("/upload", get(upload::show))
        .route(
            "/upload/check",
            post(upload::check).layer(DefaultBodyLimit::max(MAX_UPLOAD)),
        )
        .route(
            "/upload/apply",
            post(upload::apply).layer(DefaultBodyLimit::max(MAX_UPLOAD)),
        )
        .route(
            "/upload/template.csv",
            get(|s: Signed| upload::template(s, Format::Csv)),
        )
        .route(
            "/upload/template.xlsx",
            get(|s: Signed| upload::template(s, Format::Xlsx)),
        )
        .route("/upload/export.csv", get(upload::export))
        .route("/from-template", get(template::show).post(template::create))
        .route("/catalogs", get(catalogs::index))
        .route(
            "/catalogs/{catalog}",
            get(catalogs::show).post(catalogs::create),
        )
        .route("/catalogs/{catalog}/{id}", post(catalogs::save))
        .route("/catalogs/{catalog}/{id}/delete", post(catalogs::delete))
        .route(
            "/settings",
            get(tenant::show_settings).post(tenant::save_settings),
        )
        .route(
            "/credentials",
            get(tenant::show_credentials).post(tenant::create_credential),
        )
        .route("/credentials/{id}/revoke", post(tenant::revoke_credential))
        .route(
            "/identity-provider",
            get(tenant::show_idp).post(tenant::save_idp),
        )
        .route("/audit", get(audit::show))
        .route("/sign-out", post(session::sign_out))
        .route_layer(axum::middleware::from_fn_with_state(
            state,
            session::signed_in,
        ));
    Router::new()
        .merge(signed)
        .route("/sign-in", get(session::sign_in_page))
        .route("/sign-in/oidc", get(oidc::start))
        .route("/sign-in/oidc/callback", get(oidc::callback))
        .route(
            "/sign-in/link",
            get(session::link_page).post(session::link_sign_in),
        )
        .route(
            "/assets/htmx.min.js",
            get(|| async { asset(HTMX, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/assets/console.js",
            get(|| async { asset(SCRIPT, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/assets/console.css",
            get(|| async { asset(STYLE, "text/css; charset=utf-8") }),
        )
        .fallback(|| async { ConsoleError::not_found("There is no such page in the console.") })
        .layer(axum::middleware::from_fn(security_headers))
}

/// Headers on every console answer: the CSP, no sniffing, no referrer (sign-in links carry
/// secrets), no caching of pages, no framing.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// A console page that could not be shown: an HTML page with the status and what to do.
#[derive(Debug)]
pub struct ConsoleError {
    pub status: StatusCode,
    pub title: &'static str,
    pub detail: String,
}

impl ConsoleError {
    pub fn new(status: StatusCode, title: &'static str, detail: impl Into<String>) -> Self {
        ConsoleError {
            status,
            title,
            detail: detail.into(),
        }
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not found", detail)
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Cannot do that", detail)
    }
}

impl From<AdminError> for ConsoleError {
    fn from(e: AdminError) -> Self {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let title = match e.code {
            Code::NotFound => "Not found",
            Code::Forbidden => "Not allowed",
            Code::Unauthorized => "Signed out",
            Code::Unavailable | Code::Internal | Code::RequestTimeout => "Something went wrong",
            Code::TooManyRequests => "Too many requests",
            _ => "Cannot do that",
        };
        if let Some(cause) = &e.cause {
            tracing::error!(cause, "console request failed");
        }
        let detail = match e.code {
            Code::Internal => "An unexpected error occurred; it has been logged.".to_string(),
            _ => e.detail,
        };
        ConsoleError::new(status, title, detail)
    }
}

impl From<crate::domain::Error> for ConsoleError {
    fn from(e: crate::domain::Error) -> Self {
        AdminError::from(e).into()
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        (
            self.status,
            page::bare(self.title, &page::message(self.title, &self.detail)),
        )
            .into_response()
    }
}

/// Result of a console handler.
pub type ConsoleResult<T> = Result<T, ConsoleError>;
