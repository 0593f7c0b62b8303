//! The production edge: what stands between the network and the handlers. Rate limits and
//! the failed-authentication throttle, metrics, the access log, the public base URL, tolerant
//! SCIM paths, the early body-size refusal, health and readiness, and the connection loop
//! with its timeouts (`server`).

pub mod limits;
pub mod metrics;
pub mod server;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use migrations::MigratorTrait;
use sea_orm::ConnectionTrait;

use self::limits::{AuthThrottle, RateLimits};
use self::metrics::Metrics;
use crate::app::AppState;
use crate::http::admin::error::AdminError;
use crate::http::error::ErrorCause;
use crate::scim::ScimError;

/// Requests per second per credential when `--rate-limit` is not given (bursts of 2,000).
/// Above what one credential's writes can reach on a small machine (a create takes ~2 ms; a
/// four-client Okta-style sync makes ~700 requests a second), so it never slows a sync the
/// storage can carry, and far above what identity providers send (Entra's gallery asks for
/// 25 per second per tenant); it caps a runaway or leaked token's reads, which could otherwise
/// take the whole server.
pub const DEFAULT_RATE_LIMIT: u32 = 1000;

/// The ceiling of tenants' own `rateLimit` settings when `--rate-limit-max` is not given: a
/// tenant admin may raise its rate this far, not further (the operator shares the server).
pub const DEFAULT_RATE_LIMIT_MAX: u32 = 10_000;

/// Failed authentications per minute per client address before it is throttled.
pub const DEFAULT_AUTH_FAILURE_LIMIT: u32 = 30;

/// How the edge behaves; `rollcall serve` fills it from its flags.
#[derive(Debug, Clone)]
pub struct EdgeConfig {
    /// The base of `meta.location` and `Location` (`https://scim.example.com`), without
    /// `/scim/v2`. `None`: the forwarded headers when `trust_proxy`, else `listen_base`.
    pub public_url: Option<String>,
    /// `http://` and the address the server listens on.
    pub listen_base: String,
    /// Honour `X-Forwarded-Proto`, `X-Forwarded-Host` and `X-Forwarded-For`.
    pub trust_proxy: bool,
    /// Requests per second per credential (bursts up to twice that); 0 turns limits off.
    pub rate_limit: u32,
    /// The most a tenant's own `rateLimit` setting can raise its credentials' rate to.
    pub rate_limit_max: u32,
    /// Failed authentications per minute per client address; 0 turns the throttle off.
    pub auth_failure_limit: u32,
    /// Longest a request may take, body included, before a 503.
    pub request_timeout: Duration,
    /// Longest the body of a request may take to arrive, before a 408.
    pub body_timeout: Duration,
    /// Serve `GET /metrics` on the main address (off when `--metrics-listen` moves it).
    pub metrics_on_main: bool,
}

impl Default for EdgeConfig {
    fn default() -> Self {
        EdgeConfig {
            public_url: None,
            listen_base: "http://localhost".into(),
            trust_proxy: false,
            rate_limit: DEFAULT_RATE_LIMIT,
            rate_limit_max: DEFAULT_RATE_LIMIT_MAX,
            auth_failure_limit: DEFAULT_AUTH_FAILURE_LIMIT,
            request_timeout: Duration::from_secs(55),
            body_timeout: Duration::from_secs(30),
            metrics_on_main: true,
        }
    }
}

/// Checks a `--public-url`: absolute http(s), no query or fragment; answered without its
/// trailing slash.
pub fn parse_public_url(text: &str) -> Result<String, String> {
    let uri: Uri = text
        .parse()
        .map_err(|e| format!("--public-url {text:?} is not a URL: {e}"))?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    if !scheme_ok || uri.authority().is_none() || uri.query().is_some() || text.contains('#') {
        return Err(format!(
            "--public-url {text:?} must be an absolute http:// or https:// URL without query, like https://scim.example.com"
        ));
    }
    Ok(text.trim_end_matches('/').to_string())
}

/// What the edge holds while serving.
pub struct Edge {
    pub config: EdgeConfig,
    pub rate_limits: RateLimits,
    pub auth_throttle: AuthThrottle,
    pub metrics: Metrics,
}

impl Edge {
    pub fn new(config: EdgeConfig) -> Self {
        Edge {
            rate_limits: RateLimits::new(config.rate_limit, config.rate_limit_max),
            auth_throttle: AuthThrottle::new(config.auth_failure_limit),
            metrics: Metrics::default(),
            config,
        }
    }

    /// The address a request came from: the last `X-Forwarded-For` hop when a proxy is
    /// trusted, else the peer; unknown (in-process requests) is `0.0.0.0`.
    pub fn client_address(&self, parts: &Parts) -> IpAddr {
        let forwarded = || {
            let value = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .next_back()?;
            value
                .to_str()
                .ok()?
                .rsplit(',')
                .next()?
                .trim()
                .parse::<IpAddr>()
                .ok()
        };
        self.config
            .trust_proxy
            .then(forwarded)
            .flatten()
            .or_else(|| {
                parts
                    .extensions
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|c| c.0.ip())
            })
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }

    /// `scheme://host[/prefix]` for links: the public URL, else the forwarded scheme and host
    /// of a trusted proxy, else the listen address. Never a Host header alone.
    pub fn base(&self, headers: &HeaderMap) -> String {
        if let Some(url) = &self.config.public_url {
            return url.clone();
        }
        if self.config.trust_proxy {
            let text = |name: &str| {
                headers
                    .get(name)
                    .and_then(|h| h.to_str().ok())
                    .and_then(|v| v.split(',').next())
                    .map(str::trim)
                    .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_graphic()))
            };
            let host = text("x-forwarded-host").or_else(|| text(header::HOST.as_str()));
            if let Some(host) = host {
                let scheme = text("x-forwarded-proto")
                    .filter(|p| p.eq_ignore_ascii_case("https") || p.eq_ignore_ascii_case("http"))
                    .unwrap_or("http")
                    .to_ascii_lowercase();
                return format!("{scheme}://{host}");
            }
        }
        self.config.listen_base.clone()
    }
}

/// Who made a request, for the access log: set by authentication.
#[derive(Clone, Default)]
pub struct Caller(Arc<OnceLock<(String, String)>>);

impl Caller {
    /// Records the tenant's slug and the credential's id.
    pub fn set(&self, tenant_slug: &str, credential_id: &str) {
        let _ = self
            .0
            .set((tenant_slug.to_string(), credential_id.to_string()));
    }
}

/// The route template that answered, carried from routing to the access log.
#[derive(Clone)]
struct Route(String);

/// Copies the matched route template, if a route matched, into the response.
pub async fn record_route(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| Route(m.as_str().to_string()));
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(route);
    }
    response
}

/// One access-log line per request (method, route template, status, latency, tenant,
/// credential; never secrets, paths or bodies) and its metrics. A 5xx is the same line at
/// ERROR, with its cause.
pub async fn observe(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let caller = Caller::default();
    request.extensions_mut().insert(caller.clone());
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let route = response
        .extensions()
        .get::<Route>()
        .map_or("unmatched", |r| r.0.as_str());
    let status = response.status().as_u16();
    state
        .edge
        .metrics
        .request(method.as_str(), route, status, elapsed.as_secs_f64());
    let (tenant, credential) = caller
        .0
        .get()
        .map_or(("-", "-"), |(t, c)| (t.as_str(), c.as_str()));
    let latency_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
    if response.status().is_server_error() {
        let cause = response
            .extensions()
            .get::<ErrorCause>()
            .map_or("no cause recorded", |c| c.0.as_str());
        tracing::error!(target: "rollcall::access", %method, route, status, latency_us, tenant, credential, cause, "request failed");
    } else {
        tracing::info!(target: "rollcall::access", %method, route, status, latency_us, tenant, credential, "request");
    }
    response
}

/// An edge refusal in the surface's own error format.
fn refusal(path: &str, scim: ScimError) -> Response {
    if path.starts_with("/admin/") {
        AdminError::from(scim).into_response()
    } else {
        scim.into_response()
    }
}

/// Refuses a body whose declared `Content-Length` is over `limit` with 413 before reading
/// any of it.
pub async fn refuse_oversized(limit: usize, request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u128>().ok());
    if declared.is_some_and(|n| n > limit as u128) {
        let detail = format!("the body is larger than the limit of {limit} bytes");
        let mut response = refusal(request.uri().path(), ScimError::too_large(detail));
        response.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
        return response;
    }
    next.run(request).await
}

/// An answer for a request the edge refused before its handler (429, 413), in the surface's
/// own error format: used by authentication.
pub fn too_many_requests(path: &str, seconds: u64, detail: &str) -> Response {
    refusal(path, ScimError::too_many_requests(seconds, detail))
}

/// The SCIM resource segments, as routed: a request naming one in any case is routed to it.
const SCIM_SEGMENTS: [&str; 6] = [
    "Bulk",
    "Users",
    "Groups",
    "Schemas",
    "ResourceTypes",
    "ServiceProviderConfig",
];

/// Rewrites a SCIM path to its routed form: the resource segment in its canonical case
/// (`/scim/v2/users` → `/scim/v2/Users`) and one trailing slash dropped. Ids keep their case.
pub fn normalize_path(mut request: Request) -> Request {
    let uri = request.uri();
    let path = uri.path();
    let Some(rest) = path.strip_prefix("/scim/v2/") else {
        return request;
    };
    let trimmed = rest.strip_suffix('/').unwrap_or(rest);
    let (first, tail) = trimmed.split_once('/').unwrap_or((trimmed, ""));
    let canonical = SCIM_SEGMENTS
        .iter()
        .find(|s| s.eq_ignore_ascii_case(first))
        .copied()
        .unwrap_or(first);
    let mut new_path = format!("/scim/v2/{canonical}");
    if !tail.is_empty() || trimmed.contains('/') {
        new_path.push('/');
        new_path.push_str(tail);
    }
    if new_path == path {
        return request;
    }
    let path_and_query = match uri.query() {
        Some(q) => format!("{new_path}?{q}"),
        None => new_path,
    };
    let mut parts = uri.clone().into_parts();
    if let Ok(pq) = path_and_query.parse() {
        parts.path_and_query = Some(pq);
        if let Ok(new_uri) = Uri::from_parts(parts) {
            *request.uri_mut() = new_uri;
        }
    }
    request
}

/// `GET /healthz`: the process is alive and answering.
pub async fn healthz() -> &'static str {
    "ok"
}

/// How long readiness waits for the database.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /readyz`: 200 when the database answers and has every migration, else 503 with
/// `Retry-After` and the reason.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let check = async {
        state
            .db
            .execute_unprepared("SELECT 1")
            .await
            .map_err(|e| format!("the database does not answer: {e}"))?;
        let pending = migrations::Migrator::get_pending_migrations_read_only(&state.db)
            .await
            .map_err(|e| {
                format!("cannot read the migration state ({e}); has `rollcall migrate` run?")
            })?;
        if pending.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{} database migration(s) not applied: run `rollcall migrate`",
                pending.len()
            ))
        }
    };
    let outcome = tokio::time::timeout(READY_TIMEOUT, check)
        .await
        .unwrap_or_else(|_| Err("the database did not answer in time".into()));
    match outcome {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(reason) => {
            tracing::warn!(reason, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(
                    header::RETRY_AFTER,
                    crate::scim::error::UNAVAILABLE_RETRY_AFTER.to_string(),
                )],
                format!("not ready: {reason}"),
            )
                .into_response()
        }
    }
}

/// `GET /metrics`: Prometheus text exposition.
pub async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.edge.metrics.render(&state.db),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalized(uri: &str) -> String {
        let request = Request::builder()
            .uri(uri)
            .body(axum::body::Body::empty())
            .expect("request");
        normalize_path(request).uri().to_string()
    }

    #[test]
    fn scim_paths_route_in_any_case_and_with_one_trailing_slash() {
        assert_eq!(normalized("/scim/v2/users"), "/scim/v2/Users");
        assert_eq!(normalized("/scim/v2/USERS/"), "/scim/v2/Users");
        assert_eq!(
            normalized("/scim/v2/Users/?filter=userName%20eq%20%22a%22"),
            "/scim/v2/Users?filter=userName%20eq%20%22a%22"
        );
        assert_eq!(normalized("/scim/v2/groups/AbC/"), "/scim/v2/Groups/AbC");
        assert_eq!(
            normalized("/scim/v2/users/.search"),
            "/scim/v2/Users/.search"
        );
        assert_eq!(
            normalized("/scim/v2/serviceproviderconfig"),
            "/scim/v2/ServiceProviderConfig"
        );
        assert_eq!(normalized("/scim/v2/Users/AbC"), "/scim/v2/Users/AbC");
        assert_eq!(normalized("/scim/v2/.search"), "/scim/v2/.search");
        assert_eq!(normalized("/scim/v2/bulk"), "/scim/v2/Bulk");
        assert_eq!(normalized("/scim/v2/Users//"), "/scim/v2/Users/");
        assert_eq!(normalized("/admin/v1/users/"), "/admin/v1/users/");
    }

    #[test]
    fn public_urls_are_checked() {
        assert_eq!(
            parse_public_url("https://scim.example.com/").as_deref(),
            Ok("https://scim.example.com")
        );
        assert_eq!(
            parse_public_url("https://example.com/rollcall").as_deref(),
            Ok("https://example.com/rollcall")
        );
        assert!(parse_public_url("scim.example.com").is_err());
        assert!(parse_public_url("ftp://example.com").is_err());
        assert!(parse_public_url("https://example.com/?a=b").is_err());
    }
}
