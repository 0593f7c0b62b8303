//! `/admin/v1/oidc` (ManageSettings): the tenant's OpenID Connect sign-in to the console —
//! the identity provider's issuer and the client Rollcall signs in as. Answers never carry
//! the client secret; they carry the redirect URI to register at the identity provider and
//! the console's sign-in URL for this tenant.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::auth::AdminAuth;
use super::error::{AdminError, AdminResult};
use super::{AdminBody, DryRun};
use crate::app::AppState;
use crate::domain::ownership::Permission;
use crate::store::console::{self as store, OidcConfig};
use crate::store::tenants;
use crate::write::{self, oidc::OidcInput};

/// The path of the console's OpenID Connect callback (the redirect URI's path).
pub const CALLBACK: &str = "/console/sign-in/oidc/callback";

async fn answer(
    state: &AppState,
    auth: &AdminAuth,
    headers: &HeaderMap,
    config: Option<&OidcConfig>,
) -> AdminResult<Value> {
    let base = state.edge.base(headers);
    let slug = tenants::by_id(&state.db, &auth.tenant_id).await?.slug;
    let mut out = json!({
        "configured": config.is_some(),
        "redirectUri": format!("{base}{CALLBACK}"),
        "signInUrl": format!("{base}/console/sign-in?tenant={slug}"),
    });
    if let Some(c) = config {
        out["issuer"] = json!(c.issuer);
        out["clientId"] = json!(c.client_id);
        out["clientSecretSet"] = json!(true);
    }
    Ok(out)
}

/// `GET /admin/v1/oidc`
pub async fn get(
    State(state): State<AppState>,
    auth: AdminAuth,
    headers: HeaderMap,
) -> AdminResult<Json<Value>> {
    auth.require(&[Permission::ManageSettings])?;
    let config = store::oidc_config(&state.db, &auth.tenant_id).await?;
    Ok(Json(
        answer(&state, &auth, &headers, config.as_ref()).await?,
    ))
}

fn text_field(body: &Value, name: &str, required: bool) -> AdminResult<Option<String>> {
    match body.get(name) {
        Some(Value::String(s)) => Ok(Some(s.clone())),
        None | Some(Value::Null) if !required => Ok(None),
        _ => Err(AdminError::invalid(
            name,
            format!("{name} must be a string"),
        )),
    }
}

/// `PUT /admin/v1/oidc[?dryRun=true]` `{"issuer", "clientId", "clientSecret"}`; without
/// `clientSecret` the stored secret stays.
pub async fn put(
    State(state): State<AppState>,
    auth: AdminAuth,
    dry: DryRun,
    headers: HeaderMap,
    AdminBody(body): AdminBody,
) -> AdminResult<Json<Value>> {
    let Some(fields) = body.as_object() else {
        return Err(AdminError::syntax("the body must be a JSON object"));
    };
    if let Some(unknown) = fields
        .keys()
        .find(|k| !["issuer", "clientId", "clientSecret"].contains(&k.as_str()))
    {
        return Err(AdminError::invalid(
            unknown.as_str(),
            format!(
                "{unknown} is not a field of the sign-in settings (issuer, clientId, clientSecret)"
            ),
        ));
    }
    let input = OidcInput {
        issuer: text_field(&body, "issuer", true)?.unwrap_or_default(),
        client_id: text_field(&body, "clientId", true)?.unwrap_or_default(),
        client_secret: text_field(&body, "clientSecret", false)?,
    };
    let config = dry
        .run(write::oidc::set(
            &state.db,
            &auth.tenant_id,
            &auth.actor,
            Some(input),
        ))
        .await?;
    Ok(Json(dry.mark(
        answer(&state, &auth, &headers, config.as_ref()).await?,
    )))
}

/// `DELETE /admin/v1/oidc[?dryRun=true]`: the console's OpenID Connect sign-in is off.
pub async fn delete(
    State(state): State<AppState>,
    auth: AdminAuth,
    dry: DryRun,
) -> AdminResult<Response> {
    dry.run(write::oidc::set(
        &state.db,
        &auth.tenant_id,
        &auth.actor,
        None,
    ))
    .await?;
    Ok(if dry.0 {
        Json(json!({"dryRun": true})).into_response()
    } else {
        StatusCode::NO_CONTENT.into_response()
    })
}
