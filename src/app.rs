//! The application: shared state, the router with its middleware, and serving with
//! graceful shutdown.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sea_orm::DatabaseConnection;
use tower::ServiceExt;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

use crate::http::edge::server::{self, ConnectionLimits};
use crate::http::edge::{self, Edge, EdgeConfig};
use crate::http::provisioning_log::{LogConfig, ProvisioningLog};

use crate::http::discovery::MAX_BODY;
use crate::scim::ScimError;
use crate::scim::schema::{Registry, SchemaFileError};

/// What every handler shares: the database pool, the schema registry, the edge (limits,
/// metrics, the public URL) and the provisioning log.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub registry: Arc<Registry>,
    pub edge: Arc<Edge>,
    pub provisioning_log: Arc<ProvisioningLog>,
}

impl AppState {
    /// The state with the edge's defaults (those of `rollcall serve` without flags).
    pub fn new(db: DatabaseConnection) -> Result<Self, SchemaFileError> {
        Self::with_edge(db, EdgeConfig::default())
    }

    pub fn with_edge(db: DatabaseConnection, config: EdgeConfig) -> Result<Self, SchemaFileError> {
        let edge = Arc::new(Edge::new(config));
        let provisioning_log = Arc::new(ProvisioningLog::new(
            db.clone(),
            LogConfig::default(),
            edge.metrics.provisioning_log_dropped(),
        ));
        Ok(AppState {
            db,
            registry: Arc::new(Registry::load()?),
            edge,
            provisioning_log,
        })
    }

    /// This state with the provisioning log keeping what `config` says (before serving: the
    /// log in place is replaced, with whatever it has not written yet).
    pub fn with_provisioning_log(mut self, config: LogConfig) -> Self {
        self.provisioning_log = Arc::new(ProvisioningLog::new(
            self.db.clone(),
            config,
            self.edge.metrics.provisioning_log_dropped(),
        ));
        self
    }
}

async fn not_found() -> ScimError {
    ScimError::not_found("no such endpoint")
}

async fn method_not_allowed() -> ScimError {
    ScimError::new(405, None, "method not allowed on this endpoint")
}

fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a request handler panicked");
    ScimError {
        cause: Some(format!("panic: {message}")),
        ..ScimError::internal()
    }
    .into_response()
}

/// The whole HTTP application. SCIM paths are normalised (any case, one trailing slash)
/// before routing; every request is observed (access log, metrics) whatever answers it.
pub fn router(state: AppState) -> Router {
    let edge = &state.edge.config;
    let mut routes = Router::new()
        .nest("/scim/v2", crate::http::scim_routes(&state))
        .nest("/admin/v1", crate::http::admin::routes())
        .nest("/console", crate::http::console::routes(state.clone()))
        .route(
            "/console/",
            get(|| async { axum::response::Redirect::to("/console/users") }),
        )
        .route(
            "/events/v1/poll",
            axum::routing::post(crate::http::events::poll),
        )
        .route("/healthz", get(edge::healthz))
        .route("/readyz", get(edge::readyz));
    if edge.metrics_on_main {
        routes = routes.route("/metrics", get(edge::metrics));
    }
    let body_timeout = edge.body_timeout;
    let request_timeout = edge.request_timeout;
    let app = routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(crate::http::extract::refuse_nul))
        .layer(RequestBodyTimeoutLayer::new(body_timeout))
        .layer(axum::middleware::from_fn(
            |request: axum::extract::Request, next| {
                // Uploads to the import take spreadsheets of up to MAX_ROWS users.
                let limit = if matches!(
                    request.uri().path(),
                    "/admin/v1/users/import" | "/console/upload/check" | "/console/upload/apply"
                ) {
                    crate::http::admin::import::MAX_UPLOAD
                } else {
                    MAX_BODY
                };
                edge::refuse_oversized(limit, request, next)
            },
        ))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            request_timeout,
        ))
        .layer(axum::middleware::from_fn(edge::record_route))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            edge::observe,
        ))
        .with_state(state);
    Router::new().fallback_service(app.map_request(edge::normalize_path))
}

/// The metrics endpoint alone, for `--metrics-listen`.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(edge::metrics))
        .with_state(state)
}

/// Serves until SIGTERM or Ctrl-C, then finishes the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    limits: ConnectionLimits,
) -> std::io::Result<()> {
    server::serve(listener, router(state), limits, shutdown_signal()).await
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
