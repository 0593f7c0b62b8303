//! The HTTP surface (axum): routing, authentication, SCIM JSON in and out, and the
//! error → response mapping. Handlers call `scim` for protocol semantics and `store` for IO.

pub mod admin;
pub mod auth;
pub mod discovery;
pub mod error;
pub mod extract;
pub mod groups;
pub mod search;
pub mod users;

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};

use crate::app::AppState;
use crate::domain;
use crate::scim::{ScimError, ScimResult};

/// The SCIM routes under `/scim/v2`.
pub fn scim_routes() -> Router<AppState> {
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
        .route(
            "/ServiceProviderConfig",
            get(discovery::service_provider_config),
        )
        .route("/ResourceTypes", get(discovery::resource_types))
        .route("/ResourceTypes/{id}", get(discovery::resource_type))
        .route("/Schemas", get(discovery::schemas))
        .route("/Schemas/{id}", get(discovery::schema))
}

/// Outcome of one optimistic attempt: done, or the stored version moved on.
pub enum Attempt<T> {
    Done(T),
    Conflict,
}

impl<T> Attempt<T> {
    /// Maps a store write's result: a version conflict means try again.
    pub fn from_write(result: domain::Result<T>) -> ScimResult<Attempt<T>> {
        match result {
            Ok(v) => Ok(Attempt::Done(v)),
            Err(domain::Error::VersionConflict) => Ok(Attempt::Conflict),
            Err(e) => Err(e.into()),
        }
    }
}

/// Runs a read-modify-write until it lands on an unchanged version, so concurrent writers
/// never lose each other's changes.
pub async fn optimistic<T, F, Fut>(mut attempt: F) -> ScimResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ScimResult<Attempt<T>>>,
{
    for round in 0..40u64 {
        match attempt().await? {
            Attempt::Done(v) => return Ok(v),
            Attempt::Conflict => {
                let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0] % 10);
                tokio::time::sleep(Duration::from_millis(2 + round * 2 + jitter)).await;
            }
        }
    }
    Err(ScimError::from(domain::Error::VersionConflict))
}
