//! Catalog endpoints: `/admin/v1/security-profiles`, `/routing-profiles`, `/hierarchy`,
//! `/skills`, `/callback-numbers`. Reading needs ViewUsers; writes go through
//! `write::catalogs`, which authorises them.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::DryRun;
use super::auth::AdminAuth;
use super::error::{AdminError, AdminResult};
use crate::app::AppState;
use crate::domain::catalog::{CatalogItem, CatalogKind};
use crate::domain::ownership::Permission;
use crate::store::catalog;
use crate::write;

/// Reads a catalog entry from a request body, over `base` for a PATCH.
fn from_body(
    kind: CatalogKind,
    body: &Value,
    base: Option<&CatalogItem>,
) -> AdminResult<CatalogItem> {
    let Some(fields) = body.as_object() else {
        return Err(AdminError::syntax("the body must be a JSON object"));
    };
    let name_field = kind.name_field();
    let allowed: &[&str] = match kind {
        CatalogKind::SecurityProfile => &["name", "permissions"],
        CatalogKind::CallbackNumber => &["number", "label"],
        _ => &[name_field],
    };
    if let Some(unknown) = fields
        .keys()
        .find(|k| !allowed.contains(&k.as_str()) && k.as_str() != "id")
    {
        return Err(AdminError::bad_request(format!(
            "unknown field {unknown}; expected {}",
            allowed.join(", ")
        )));
    }
    let mut item = base.cloned().unwrap_or(CatalogItem {
        id: String::new(),
        kind,
        name: String::new(),
        permissions: BTreeSet::new(),
        label: None,
    });
    match fields.get(name_field) {
        Some(Value::String(s)) if !s.trim().is_empty() => item.name = s.trim().to_string(),
        None if base.is_some() => {}
        _ => {
            return Err(AdminError::bad_request(format!(
                "{name_field} must be a non-empty string"
            )));
        }
    }
    // The entry's own rules (length, hierarchy path, E.164) are the write layer's.
    item = item.checked()?;
    if let Some(v) = fields.get("permissions") {
        let list = v
            .as_array()
            .ok_or_else(|| AdminError::bad_request("permissions must be an array"))?;
        let mut permissions = BTreeSet::new();
        for p in list {
            let name = p.as_str().unwrap_or_default();
            permissions.insert(Permission::parse(name).ok_or_else(|| {
                AdminError::bad_request(format!(
                    "unknown permission {name:?}; known: {}",
                    Permission::ALL.map(|p| p.as_str()).join(", ")
                ))
            })?);
        }
        item.permissions = permissions;
    }
    if let Some(v) = fields.get("label") {
        item.label = match v {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            _ => return Err(AdminError::bad_request("label must be a string")),
        };
    }
    Ok(item)
}

/// `GET /admin/v1/{catalog}`
pub async fn list(
    State(state): State<AppState>,
    auth: AdminAuth,
    kind: CatalogKind,
) -> AdminResult<Json<Value>> {
    auth.require(&[Permission::ViewUsers])?;
    let catalogs = catalog::load(&state.db, &auth.tenant_id).await?;
    let items: Vec<Value> = catalogs
        .items
        .iter()
        .filter(|i| i.kind == kind)
        .map(CatalogItem::to_json)
        .collect();
    Ok(Json(json!({"items": items})))
}

/// `POST /admin/v1/{catalog}`
pub async fn create(
    State(state): State<AppState>,
    auth: AdminAuth,
    kind: CatalogKind,
    dry: DryRun,
    body: Value,
) -> AdminResult<(StatusCode, Json<Value>)> {
    auth.require(&[write::catalogs::write_permission(kind)])?;
    let item = from_body(kind, &body, None)?;
    let created = dry
        .run(write::catalogs::create(
            &state.db,
            &auth.tenant_id,
            &auth.actor,
            item,
        ))
        .await?;
    Ok((
        dry.status(StatusCode::CREATED),
        Json(dry.mark(created.to_json())),
    ))
}

/// `PATCH /admin/v1/{catalog}/{id}`: renaming an entry in use is refused (users name it).
pub async fn patch(
    State(state): State<AppState>,
    auth: AdminAuth,
    kind: CatalogKind,
    id: String,
    dry: DryRun,
    body: Value,
) -> AdminResult<Json<Value>> {
    auth.require(&[write::catalogs::write_permission(kind)])?;
    // A bad body is refused with its own code before the write; the write re-reads it
    // against the entry as it is inside the transaction.
    let current = catalog::get(&state.db, &auth.tenant_id, kind, &id).await?;
    from_body(kind, &body, Some(&current))?;
    let updated = dry
        .run(write::catalogs::update(
            &state.db,
            &auth.tenant_id,
            &auth.actor,
            kind,
            &id,
            |current| {
                from_body(kind, &body, Some(current)).map_err(|e| {
                    crate::domain::Error::InvalidValue {
                        field: e.fields.and_then(|f| f.into_iter().next()),
                        detail: e.detail,
                    }
                })
            },
        ))
        .await?;
    Ok(Json(dry.mark(updated.to_json())))
}

/// `DELETE /admin/v1/{catalog}/{id}`: 409 `in_use` saying how many users use it.
pub async fn delete(
    State(state): State<AppState>,
    auth: AdminAuth,
    kind: CatalogKind,
    id: String,
    dry: DryRun,
) -> AdminResult<axum::response::Response> {
    use axum::response::IntoResponse;
    dry.run(write::catalogs::delete(
        &state.db,
        &auth.tenant_id,
        &auth.actor,
        kind,
        &id,
    ))
    .await?;
    Ok(if dry.0 {
        Json(json!({"dryRun": true, "deleted": id})).into_response()
    } else {
        StatusCode::NO_CONTENT.into_response()
    })
}
