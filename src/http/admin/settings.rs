//! `/admin/v1/settings`: the tenant's settings, versioned. GET answers an ETag; PATCH is a
//! JSON merge patch that honours If-Match (412 when stale), and concurrent PATCHes of
//! different fields both land.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::auth::AdminAuth;
use super::error::{AdminError, AdminResult};
use super::{AdminBody, DryRun};
use crate::app::AppState;
use crate::domain::ownership::Permission;
use crate::domain::tenant::Settings;
use crate::domain::{self};
use crate::http::extract::if_match_version;
use crate::scim::resource::etag;
use crate::store::tenants;
use crate::write;

fn answer(settings: &Settings, version: i64) -> Response {
    (
        [(header::ETAG, etag(version))],
        Json(serde_json::to_value(settings).unwrap_or_default()),
    )
        .into_response()
}

/// `GET /admin/v1/settings` (ViewUsers), with `ETag`.
pub async fn get(State(state): State<AppState>, auth: AdminAuth) -> AdminResult<Response> {
    auth.require(&[Permission::ViewUsers])?;
    let (settings, version) = tenants::versioned_settings(&state.db, &auth.tenant_id).await?;
    Ok(answer(&settings, version))
}

/// Applies a merge patch of the settings' JSON form.
fn merge(current: &Settings, fields: &serde_json::Map<String, Value>) -> domain::Result<Settings> {
    let mut merged = serde_json::to_value(current).unwrap_or_default();
    for (k, v) in fields {
        merged[k.as_str()] = v.clone();
    }
    serde_json::from_value(merged)
        .map_err(|e| domain::Error::invalid_input(format!("invalid settings: {e}")))
}

/// `PATCH /admin/v1/settings` (ManageSettings): a merge patch; If-Match honoured.
pub async fn patch(
    State(state): State<AppState>,
    auth: AdminAuth,
    dry: DryRun,
    headers: HeaderMap,
    AdminBody(body): AdminBody,
) -> AdminResult<Response> {
    let Some(fields) = body.as_object() else {
        return Err(AdminError::syntax("the body must be a JSON object"));
    };
    let expected = if_match_version(&headers)?;
    let (settings, version) = dry
        .run(write::settings::update(
            &state.db,
            &auth.tenant_id,
            &auth.actor,
            expected,
            |current| merge(current, fields),
        ))
        .await?;
    if dry.0 {
        let mut body = serde_json::to_value(&settings).unwrap_or_default();
        body["dryRun"] = Value::Bool(true);
        return Ok(axum::Json(body).into_response());
    }
    Ok(answer(&settings, version))
}
