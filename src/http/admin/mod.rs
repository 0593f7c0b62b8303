//! The admin API, `/admin/v1`: the tenant admins' restricted local edit surface (JSON).
//! Authenticated with user-level API credentials; what may be written comes from the
//! ownership registry, and every change is audited.

// Admin errors carry the fields involved; they are built once per failed request, so their
// size does not matter.
#![allow(clippy::result_large_err)]

pub mod audit;
pub mod auth;
pub mod catalogs;
pub mod credentials;
pub mod error;
pub mod import;
pub mod openapi;
pub mod settings;
pub mod users;
pub mod view;

use axum::Router;
use axum::extract::{FromRequest, Path, Request, State};
use axum::routing::{get, post};
use serde_json::Value;

use self::auth::AdminAuth;
use self::error::AdminError;
use crate::app::AppState;
use crate::domain::catalog::CatalogKind;
use crate::http::extract::ScimBody;

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

fn catalog_routes(kind: CatalogKind) -> Router<AppState> {
    Router::new()
        .route(
            "/",
            get(move |s: State<AppState>, a: AdminAuth| catalogs::list(s, a, kind)).post(
                move |s: State<AppState>, a: AdminAuth, AdminBody(b): AdminBody| {
                    catalogs::create(s, a, kind, b)
                },
            ),
        )
        .route(
            "/{id}",
            axum::routing::patch(
                move |s: State<AppState>,
                      a: AdminAuth,
                      Path(id): Path<String>,
                      AdminBody(b): AdminBody| {
                    catalogs::patch(s, a, kind, id, b)
                },
            )
            .delete(
                move |s: State<AppState>, a: AdminAuth, Path(id): Path<String>| {
                    catalogs::delete(s, a, kind, id)
                },
            ),
        )
}

/// The routes under `/admin/v1`.
pub fn routes() -> Router<AppState> {
    let mut router = Router::new()
        .route(
            "/users",
            get(users::list).post(users::create).patch(users::bulk),
        )
        .route(
            "/users/{id}",
            get(users::get).patch(users::patch).delete(users::delete),
        )
        .route("/users/import-template.csv", get(import::template))
        .route("/users/import", post(import::import))
        .route("/users/{id}/archive", post(users::archive))
        .route("/users/{id}/reactivate", post(users::reactivate))
        .route("/users/{id}/hand-over", post(users::hand_over))
        .route("/settings", get(settings::get).patch(settings::patch))
        .route(
            "/credentials",
            get(credentials::list).post(credentials::create),
        )
        .route(
            "/credentials/{id}",
            axum::routing::delete(credentials::revoke),
        )
        .route("/audit", get(audit::list))
        .route("/openapi.json", get(openapi::document));
    for kind in CatalogKind::ALL {
        router = router.nest(&format!("/{}", kind.segment()), catalog_routes(kind));
    }
    router
}
