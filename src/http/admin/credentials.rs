//! `/admin/v1/credentials` (ManageCredentials): issue (the secret is in the 201 answer,
//! once), list (never the secrets) and revoke.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::auth::AdminAuth;
use super::error::{AdminError, AdminResult};
use super::{AdminBody, DryRun};
use crate::app::AppState;
use crate::domain::ownership::Permission;
use crate::scim::resource::format_time;
use crate::store::credentials;
use crate::write;

fn to_json(c: &credentials::Credential) -> Value {
    json!({
        "id": c.id,
        "kind": match c.kind { credentials::Kind::Scim => "scim", credentials::Kind::User => "user" },
        "userId": c.user_id,
        "name": c.name,
        "created": format_time(c.created_us),
    })
}

/// `GET /admin/v1/credentials`
pub async fn list(State(state): State<AppState>, auth: AdminAuth) -> AdminResult<Json<Value>> {
    auth.require(&[Permission::ManageCredentials])?;
    let items: Vec<Value> = credentials::list(&state.db, &auth.tenant_id)
        .await?
        .iter()
        .map(to_json)
        .collect();
    Ok(Json(json!({"items": items})))
}

/// The longest credential label.
const MAX_NAME: usize = 100;

/// `POST /admin/v1/credentials` `{"kind": "scim"|"user", "name", "userId"}`: 201 with the
/// credential and its `secret`, which is never shown again.
pub async fn create(
    State(state): State<AppState>,
    auth: AdminAuth,
    dry: DryRun,
    AdminBody(body): AdminBody,
) -> AdminResult<(StatusCode, Json<Value>)> {
    let Some(fields) = body.as_object() else {
        return Err(AdminError::syntax("the body must be a JSON object"));
    };
    if let Some(unknown) = fields
        .keys()
        .find(|k| !matches!(k.as_str(), "kind" | "name" | "userId"))
    {
        return Err(AdminError::invalid(
            unknown.clone(),
            format!("unknown field {unknown:?}: a credential has kind, name and userId"),
        ));
    }
    let kind = match fields.get("kind").and_then(Value::as_str) {
        Some("scim") => credentials::Kind::Scim,
        Some("user") => credentials::Kind::User,
        _ => {
            return Err(AdminError::invalid(
                "kind",
                "kind must be \"scim\" (a SCIM provisioning token) or \"user\" (a user's admin API token)",
            ));
        }
    };
    let name = match fields.get("name") {
        Some(Value::String(name))
            if !name.trim().is_empty() && name.chars().count() <= MAX_NAME =>
        {
            name.trim().to_string()
        }
        _ => {
            return Err(AdminError::invalid(
                "name",
                format!("name must be a label of 1 to {MAX_NAME} characters"),
            ));
        }
    };
    let user_id = match (kind, fields.get("userId")) {
        (credentials::Kind::User, Some(Value::String(id))) if !id.is_empty() => Some(id.as_str()),
        (credentials::Kind::User, _) => {
            return Err(AdminError::invalid(
                "userId",
                "a user credential names its user: userId is required",
            ));
        }
        (credentials::Kind::Scim, None | Some(Value::Null)) => None,
        (credentials::Kind::Scim, Some(_)) => {
            return Err(AdminError::invalid(
                "userId",
                "a SCIM credential belongs to the tenant, not to a user: leave userId out",
            ));
        }
    };
    let (credential, secret) = dry
        .run(write::credentials::create(
            &state.db,
            &auth.tenant_id,
            &auth.actor,
            kind,
            user_id,
            &name,
        ))
        .await?;
    let mut answer = to_json(&credential);
    // A dry run's secret was never stored: it is not shown.
    if !dry.0 {
        answer["secret"] = Value::String(secret);
    }
    Ok((dry.status(StatusCode::CREATED), Json(dry.mark(answer))))
}

/// `DELETE /admin/v1/credentials/{id}`: revoked at once.
pub async fn revoke(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
    dry: DryRun,
) -> AdminResult<axum::response::Response> {
    use axum::response::IntoResponse;
    dry.run(write::credentials::revoke(
        &state.db,
        &auth.tenant_id,
        &auth.actor,
        &id,
    ))
    .await?;
    Ok(if dry.0 {
        Json(json!({"dryRun": true, "revoked": id})).into_response()
    } else {
        StatusCode::NO_CONTENT.into_response()
    })
}
