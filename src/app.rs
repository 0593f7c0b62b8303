//! The application: shared state, the router with its middleware, and serving with
//! graceful shutdown.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sea_orm::DatabaseConnection;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::http::discovery::MAX_BODY;
use crate::scim::ScimError;
use crate::scim::schema::{Registry, SchemaFileError};

/// What every handler shares: the database pool and the schema registry.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub registry: Arc<Registry>,
}

impl AppState {
    pub fn new(db: DatabaseConnection) -> Result<Self, SchemaFileError> {
        Ok(AppState {
            db,
            registry: Arc::new(Registry::load()?),
        })
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

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    Router::new()
        .nest("/scim/v2", crate::http::scim_routes())
        .nest("/admin/v1", crate::http::admin::routes())
        .route("/healthz", get(|| async { "ok" }))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(crate::http::extract::refuse_nul))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(55),
        ))
        .layer(axum::middleware::from_fn(
            crate::http::error::log_server_errors,
        ))
        .layer(TraceLayer::new_for_http().on_failure(()))
        .with_state(state)
}

/// Serves until SIGTERM or Ctrl-C, then finishes the requests in flight.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
}

async fn shutdown_signal() {
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
