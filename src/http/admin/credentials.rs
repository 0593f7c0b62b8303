//! `/admin/v1/credentials` (ManageCredentials): list (never the secrets) and revoke.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::auth::AdminAuth;
use super::error::AdminResult;
use crate::app::AppState;
use crate::domain::ownership::Permission;
use crate::scim::resource::format_time;
use crate::store::credentials;
use crate::write;

/// `GET /admin/v1/credentials`
pub async fn list(State(state): State<AppState>, auth: AdminAuth) -> AdminResult<Json<Value>> {
    auth.require(&[Permission::ManageCredentials])?;
    let items: Vec<Value> = credentials::list(&state.db, &auth.tenant_id)
        .await?
        .into_iter()
        .map(|c| {
            json!({
                "id": c.id,
                "kind": match c.kind { credentials::Kind::Scim => "scim", credentials::Kind::User => "user" },
                "userId": c.user_id,
                "name": c.name,
                "created": format_time(c.created_us),
            })
        })
        .collect();
    Ok(Json(json!({"items": items})))
}

/// `DELETE /admin/v1/credentials/{id}`: revoked at once.
pub async fn revoke(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
) -> AdminResult<StatusCode> {
    write::credentials::revoke(&state.db, &auth.tenant_id, &auth.actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
