//! The HTTP surface (axum): routing, authentication, SCIM JSON in and out, and the
//! error → response mapping. Handlers call `scim` for protocol semantics and `store` for IO.

pub mod admin;
pub mod auth;
pub mod bulk;
pub mod console;
pub mod discovery;
pub mod edge;
pub mod error;
pub mod events;
pub mod extract;
pub mod groups;
pub mod provisioning_log;
pub mod search;
pub mod users;

use axum::Router;
use axum::routing::{get, post};

use crate::app::AppState;

/// The SCIM routes under `/scim/v2`, with the layers every SCIM request passes (also those
/// `/Bulk` dispatches one operation at a time): the provisioning log's.
pub fn scim_routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/Users", get(users::list).post(users::create))
        .route(
            "/Users/{id}",
            get(users::get)
                .put(users::replace)
                .patch(users::patch)
                .delete(users::delete),
        )
        .route("/Users/.search", post(search::users))
        .route("/Groups", get(groups::list).post(groups::create))
        .route(
            "/Groups/{id}",
            get(groups::get)
                .put(groups::replace)
                .patch(groups::patch)
                .delete(groups::delete),
        )
        .route("/Groups/.search", post(search::groups))
        .route("/.search", post(search::root))
        .route("/Bulk", post(bulk::run))
        .route(
            "/ServiceProviderConfig",
            get(discovery::service_provider_config),
        )
        .route("/ResourceTypes", get(discovery::resource_types))
        .route("/ResourceTypes/{id}", get(discovery::resource_type))
        .route("/Schemas", get(discovery::schemas))
        .route("/Schemas/{id}", get(discovery::schema))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            provisioning_log::record,
        ))
}
