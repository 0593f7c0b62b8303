//! Catalog endpoints (`/admin/v1/security-profiles`, `/routing-profiles`, `/hierarchy`,
//! `/skills`, `/callback-numbers`), tenant settings, credentials and the audit log.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::AdminBody;
use super::auth::AdminAuth;
use super::error::{AdminError, AdminResult};
use crate::app::AppState;
use crate::domain::audit::{Entry, diff};
use crate::domain::catalog::{CatalogItem, CatalogKind, validate_hierarchy_path};
use crate::domain::ownership::Permission;
use crate::domain::tenant::Settings;
use crate::domain::validation::is_e164;
use crate::http::extract::QueryMap;
use crate::scim::resource::format_time;
use crate::store::{self, audit, catalog, credentials, tenants, users};

/// Reading a catalog needs ViewUsers; changing security profiles needs ManageSettings, the
/// routing catalogs ManageRoutingSettings.
fn write_permission(kind: CatalogKind) -> Permission {
    match kind {
        CatalogKind::SecurityProfile => Permission::ManageSettings,
        _ => Permission::ManageRoutingSettings,
    }
}

fn item_json(item: &CatalogItem) -> Value {
    let mut v = json!({"id": item.id});
    v[item.kind.name_field()] = Value::String(item.name.clone());
    match item.kind {
        CatalogKind::SecurityProfile => {
            v["permissions"] = item.permissions.iter().map(|p| p.as_str()).collect();
        }
        CatalogKind::CallbackNumber => {
            v["label"] = item.label.clone().map(Value::String).unwrap_or(Value::Null);
        }
        _ => {}
    }
    v
}

/// Reads a catalog entry from a request body, over `base` for a PATCH.
fn from_body(
    kind: CatalogKind,
    body: &Value,
    base: Option<&CatalogItem>,
) -> AdminResult<CatalogItem> {
    let Some(fields) = body.as_object() else {
        return Err(AdminError::new(
            400,
            "invalid_syntax",
            "the body must be a JSON object",
        ));
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
    if item.name.len() > 200 {
        return Err(AdminError::bad_request(format!(
            "{name_field} must be at most 200 bytes long"
        )));
    }
    if kind == CatalogKind::Hierarchy {
        item.name = validate_hierarchy_path(&item.name).map_err(AdminError::bad_request)?;
    }
    if kind == CatalogKind::CallbackNumber && !is_e164(&item.name) {
        return Err(AdminError::bad_request(format!(
            "number {:?} is not an E.164 number like +442071234567",
            item.name
        )));
    }
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

fn audit_entry(
    auth: &AdminAuth,
    action: &str,
    item: &CatalogItem,
    before: Option<&CatalogItem>,
    after: Option<&CatalogItem>,
) -> Entry {
    let as_map = |i: Option<&CatalogItem>| i.and_then(|i| item_json(i).as_object().cloned());
    let (b, a) = (as_map(before), as_map(after));
    Entry::new(
        &auth.tenant_id,
        &auth.actor(),
        action,
        item.kind.as_str(),
        &item.id,
        diff(b.as_ref(), a.as_ref()),
    )
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
        .map(item_json)
        .collect();
    Ok(Json(json!({"items": items})))
}

/// `POST /admin/v1/{catalog}`
pub async fn create(
    State(state): State<AppState>,
    auth: AdminAuth,
    kind: CatalogKind,
    body: Value,
) -> AdminResult<(StatusCode, Json<Value>)> {
    auth.require(&[write_permission(kind)])?;
    let item = from_body(kind, &body, None)?;
    let created = catalog::create(&state.db, &auth.tenant_id, &item).await?;
    store::audit::record(
        &state.db,
        &audit_entry(&auth, "catalog.create", &created, None, Some(&created)),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(item_json(&created))))
}

/// `PATCH /admin/v1/{catalog}/{id}`. Renaming an entry in use is refused (users name it).
pub async fn patch(
    State(state): State<AppState>,
    auth: AdminAuth,
    kind: CatalogKind,
    id: String,
    body: Value,
) -> AdminResult<Json<Value>> {
    auth.require(&[write_permission(kind)])?;
    let current = catalog::get(&state.db, &auth.tenant_id, kind, &id).await?;
    let next = from_body(kind, &body, Some(&current))?;
    if !next.name.eq_ignore_ascii_case(&current.name) {
        let used = catalog::usage(&state.db, &auth.tenant_id, &current).await?;
        if used > 0 {
            return Err(AdminError::new(
                409,
                "in_use",
                format!(
                    "{:?} is used by {used} user(s); it cannot be renamed",
                    current.name
                ),
            ));
        }
    }
    catalog::update(&state.db, &auth.tenant_id, &next).await?;
    store::audit::record(
        &state.db,
        &audit_entry(&auth, "catalog.update", &next, Some(&current), Some(&next)),
    )
    .await?;
    Ok(Json(item_json(&next)))
}

/// `DELETE /admin/v1/{catalog}/{id}`: 409 saying how many users use it.
pub async fn delete(
    State(state): State<AppState>,
    auth: AdminAuth,
    kind: CatalogKind,
    id: String,
) -> AdminResult<StatusCode> {
    auth.require(&[write_permission(kind)])?;
    let current = catalog::get(&state.db, &auth.tenant_id, kind, &id).await?;
    catalog::delete(&state.db, &auth.tenant_id, &current)
        .await
        .map_err(|e| match e {
            crate::domain::Error::Conflict(detail) => AdminError::new(409, "in_use", detail),
            other => other.into(),
        })?;
    store::audit::record(
        &state.db,
        &audit_entry(&auth, "catalog.delete", &current, Some(&current), None),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /admin/v1/settings`
pub async fn get_settings(
    State(state): State<AppState>,
    auth: AdminAuth,
) -> AdminResult<Json<Value>> {
    auth.require(&[Permission::ViewUsers])?;
    let settings = tenants::settings(&state.db, &auth.tenant_id).await?;
    Ok(Json(serde_json::to_value(settings).unwrap_or_default()))
}

/// `PATCH /admin/v1/settings`: a merge patch (ManageSettings).
pub async fn patch_settings(
    State(state): State<AppState>,
    auth: AdminAuth,
    AdminBody(body): AdminBody,
) -> AdminResult<Json<Value>> {
    auth.require(&[Permission::ManageSettings])?;
    let current = tenants::settings(&state.db, &auth.tenant_id).await?;
    let mut merged = serde_json::to_value(&current).unwrap_or_default();
    let Some(fields) = body.as_object() else {
        return Err(AdminError::new(
            400,
            "invalid_syntax",
            "the body must be a JSON object",
        ));
    };
    for (k, v) in fields {
        merged[k.as_str()] = v.clone();
    }
    let next: Settings = serde_json::from_value(merged)
        .map_err(|e| AdminError::bad_request(format!("invalid settings: {e}")))?;
    if next.agent_id_start < 1 {
        return Err(AdminError::bad_request(
            "agentIdStart must be a positive integer",
        ));
    }
    if let Some(template) = &next.provisioning_template_user {
        users::get(&state.db, &auth.tenant_id, template)
            .await
            .map_err(|_| {
                AdminError::bad_request(format!(
                    "provisioningTemplateUser {template} is not a user of this tenant"
                ))
            })?;
    }
    tenants::set_settings(&state.db, &auth.tenant_id, &next).await?;
    let as_map = |s: &Settings| {
        serde_json::to_value(s)
            .ok()
            .and_then(|v| v.as_object().cloned())
            .unwrap_or_default()
    };
    let entry = Entry::new(
        &auth.tenant_id,
        &auth.actor(),
        "settings.update",
        "tenant",
        &auth.tenant_id,
        diff(Some(&as_map(&current)), Some(&as_map(&next))),
    );
    store::audit::record(&state.db, &entry).await?;
    Ok(Json(serde_json::to_value(next).unwrap_or_default()))
}

/// `GET /admin/v1/credentials` (ManageCredentials): never the secrets.
pub async fn list_credentials(
    State(state): State<AppState>,
    auth: AdminAuth,
) -> AdminResult<Json<Value>> {
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

/// `DELETE /admin/v1/credentials/{id}` (ManageCredentials): revoked at once.
pub async fn delete_credential(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
) -> AdminResult<StatusCode> {
    auth.require(&[Permission::ManageCredentials])?;
    let known = credentials::list(&state.db, &auth.tenant_id).await?;
    let Some(credential) = known.into_iter().find(|c| c.id == id) else {
        return Err(AdminError::new(
            404,
            "not_found",
            format!("credential {id} not found"),
        ));
    };
    credentials::revoke(&state.db, &credential.id).await?;
    let mut changes = Map::new();
    changes.insert("revoked".into(), json!({"before": false, "after": true}));
    store::audit::record(
        &state.db,
        &Entry::new(
            &auth.tenant_id,
            &auth.actor(),
            "credential.revoke",
            "credential",
            &id,
            changes,
        ),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn time_param(query: &QueryMap, name: &str) -> AdminResult<Option<i64>> {
    match query.0.get(name) {
        None => Ok(None),
        Some(text) => crate::domain::filter::parse_datetime(text)
            .map(Some)
            .ok_or_else(|| {
                AdminError::bad_request(format!("{name} must be an RFC 3339 date-time"))
            }),
    }
}

/// `GET /admin/v1/audit?actor=&target=&since=&until=&startIndex=&count=` (ViewUsers).
pub async fn list_audit(
    State(state): State<AppState>,
    auth: AdminAuth,
    query: QueryMap,
) -> AdminResult<Json<Value>> {
    auth.require(&[Permission::ViewUsers])?;
    let params = crate::scim::list::ListParams::from_query(&query.0)?;
    let q = audit::Query {
        actor_user_id: query.0.get("actor").cloned(),
        actor_credential_id: query.0.get("credential").cloned(),
        target_id: query.0.get("target").cloned(),
        since_us: time_param(&query, "since")?,
        until_us: time_param(&query, "until")?,
        offset: params.start_index - 1,
        limit: params.count,
    };
    let (records, total) = audit::list(&state.db, &auth.tenant_id, &q).await?;
    let items: Vec<Value> = records
        .into_iter()
        .map(|r| {
            json!({
                "id": r.id,
                "at": format_time(r.at_us),
                "actor": {"kind": r.actor_kind, "credentialId": r.actor_credential_id, "userId": r.actor_user_id},
                "action": r.action,
                "target": {"type": r.target_type, "id": r.target_id},
                "changes": r.changes,
            })
        })
        .collect();
    Ok(Json(
        json!({"totalResults": total, "startIndex": params.start_index, "itemsPerPage": items.len(), "items": items}),
    ))
}
