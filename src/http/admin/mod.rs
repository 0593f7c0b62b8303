//! The admin API, `/admin/v1`: the tenant admins' restricted local edit surface (JSON).
//! Authenticated with user-level API credentials; what may be written comes from the
//! ownership registry, and every change is audited.

// Admin errors carry the fields involved; they are built once per failed request, so their
// size does not matter.
#![allow(clippy::result_large_err)]

pub mod audit;
pub mod auth;
pub mod bulk;
pub mod catalogs;
pub mod credentials;
pub mod error;
pub mod events;
pub mod import;
pub mod oidc;
pub mod openapi;
pub mod provisioning_log;
pub mod routes;
pub mod settings;
pub mod table;
pub mod template;
pub mod users;
pub mod view;

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde_json::Value;

use self::error::AdminError;
use crate::app::AppState;
use crate::http::extract::{QueryMap, ScimBody};

/// A JSON request body; malformed JSON is a 400 in the admin error format.
pub struct AdminBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for AdminBody {
    type Rejection = AdminError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        ScimBody::from_request(req, state)
            .await
            .map(|b| AdminBody(b.0))
            .map_err(AdminError::from)
    }
}

/// `?dryRun=true|false` on an admin write (default false). A dry run does everything the
/// write does — authorisation, validation, the in-transaction checks and unique indexes —
/// and rolls it back (see `write::dry_run`); its answer is the real run's, with
/// `"dryRun": true` and 200 in place of 201 or 204.
#[derive(Debug, Clone, Copy)]
pub struct DryRun(pub bool);

impl DryRun {
    /// Parses the query parameter.
    pub fn parse(value: Option<&str>) -> Result<DryRun, AdminError> {
        match value {
            None | Some("false") => Ok(DryRun(false)),
            Some("true") => Ok(DryRun(true)),
            Some(other) => Err(AdminError::invalid(
                "dryRun",
                format!("dryRun must be true or false, not {other:?}"),
            )),
        }
    }

    /// Runs the writes, as a dry run when asked.
    pub async fn run<F: std::future::Future>(self, writes: F) -> F::Output {
        if self.0 {
            crate::write::dry_run(writes).await
        } else {
            writes.await
        }
    }

    /// The answer's body: marked `"dryRun": true` in a dry run.
    pub fn mark(self, mut body: Value) -> Value {
        if self.0
            && let Some(fields) = body.as_object_mut()
        {
            fields.insert("dryRun".into(), Value::Bool(true));
        }
        body
    }

    /// The status of a write that creates (201) or answers nothing (204): 200 in a dry run.
    pub fn status(self, real: StatusCode) -> StatusCode {
        if self.0 { StatusCode::OK } else { real }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for DryRun {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let query = QueryMap::from_request_parts(parts, state)
            .await
            .map_err(AdminError::from)?;
        DryRun::parse(query.0.get("dryRun").map(String::as_str))
    }
}

/// The routes under `/admin/v1` (see `routes::table`).
pub fn routes() -> Router<AppState> {
    routes::router()
}
