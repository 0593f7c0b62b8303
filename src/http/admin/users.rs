//! `/admin/v1/users`: the restricted local edit surface. Every write goes through the same
//! directory operations as SCIM; what may be written comes from the ownership registry.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::AdminBody;
use super::auth::AdminAuth;
use super::error::{AdminError, AdminResult};
use super::view::{merge, render};
use crate::app::AppState;
use crate::directory;
use crate::domain::ownership::Permission;
use crate::domain::user::{ManagedBy, User};
use crate::domain::validation::Surface;
use crate::http::extract::{QueryMap, if_match_ok};
use crate::scim::filter::{self, Resource};
use crate::scim::list::ListParams;
use crate::scim::resource::etag;
use crate::store::users as store_users;

async fn view(state: &AppState, user: &User, auth: &AdminAuth) -> AdminResult<Value> {
    let groups = store_users::groups_of(&state.db, &user.tenant_id, std::slice::from_ref(&user.id))
        .await?
        .remove(&user.id)
        .unwrap_or_default();
    Ok(render(&state.registry.user, user, &groups, auth))
}

/// `GET /admin/v1/users`: SCIM filter syntax, startIndex/count.
#[tracing::instrument(skip_all, err(Debug))]
pub async fn list(
    State(state): State<AppState>,
    auth: AdminAuth,
    query: QueryMap,
) -> AdminResult<Json<Value>> {
    auth.require(&[Permission::ViewUsers])?;
    let params = ListParams::from_query(&query.0)?;
    let schema = &state.registry.user;
    let query = filter::query(schema, Resource::User, &params)?;
    let (users, total) = store_users::list(&state.db, &auth.tenant_id, &query).await?;
    let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
    let mut groups = store_users::groups_of(&state.db, &auth.tenant_id, &ids).await?;
    let items: Vec<Value> = users
        .iter()
        .map(|u| render(schema, u, &groups.remove(&u.id).unwrap_or_default(), &auth))
        .collect();
    Ok(Json(json!({
        "totalResults": total,
        "startIndex": params.start_index,
        "itemsPerPage": items.len(),
        "users": items,
    })))
}

/// `GET /admin/v1/users/{id}`
#[tracing::instrument(skip_all, err(Debug))]
pub async fn get(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
) -> AdminResult<Json<Value>> {
    auth.require(&[Permission::ViewUsers])?;
    let user = store_users::get(&state.db, &auth.tenant_id, &id).await?;
    Ok(Json(view(&state, &user, &auth).await?))
}

/// `POST /admin/v1/users`: a local user (CreateUser + EditUser); 409 when the tenant's users
/// are managed by its identity provider.
#[tracing::instrument(skip_all, err(Debug))]
pub async fn create(
    State(state): State<AppState>,
    auth: AdminAuth,
    AdminBody(body): AdminBody,
) -> AdminResult<(StatusCode, Json<Value>)> {
    auth.require(&[Permission::CreateUser, Permission::EditUser])?;
    let doc = merge(&state.registry.user, None, &body, &auth)?;
    crate::scim::resource::require(&state.registry.user, &doc)?;
    let user = directory::create(
        &state.db,
        &auth.tenant_id,
        &auth.actor(),
        Surface::Local,
        doc,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(view(&state, &user, &auth).await?)))
}

/// `PATCH /admin/v1/users/{id}`: a JSON merge patch of the admin view. SSO-owned fields of
/// an IdP-managed user → 409 `sso_owned_fields` and nothing changes; If-Match honoured.
#[tracing::instrument(skip_all, err(Debug))]
pub async fn patch(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
    headers: HeaderMap,
    AdminBody(body): AdminBody,
) -> AdminResult<Json<Value>> {
    let schema = &state.registry.user;
    let user = directory::update(
        &state.db,
        &auth.tenant_id,
        &id,
        &auth.actor(),
        Surface::Local,
        "user.update",
        |user| {
            let (auth, body, headers) = (&auth, &body, &headers);
            async move {
                if !if_match_ok(headers, &etag(user.version)) {
                    return Err(AdminError::from(crate::domain::Error::PreconditionFailed));
                }
                let doc = merge(schema, Some(&user), body, auth)?;
                crate::scim::resource::require(schema, &doc)?;
                Ok(doc)
            }
        },
    )
    .await?;
    Ok(Json(view(&state, &user, &auth).await?))
}

/// `PATCH /admin/v1/users` bulk edit: `{"ids": […], "set": {…}}`. Every user is checked
/// first; if any fails, nothing changes and the answer lists each failure.
#[tracing::instrument(skip_all, err(Debug))]
pub async fn bulk(
    State(state): State<AppState>,
    auth: AdminAuth,
    AdminBody(body): AdminBody,
) -> AdminResult<Json<Value>> {
    let schema = &state.registry.user;
    let ids: Vec<String> = body
        .get("ids")
        .and_then(Value::as_array)
        .map(|ids| {
            ids.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .ok_or_else(|| AdminError::bad_request("ids must be an array of user ids"))?;
    let set = body
        .get("set")
        .filter(|s| s.is_object())
        .ok_or_else(|| AdminError::bad_request("set must be an object of fields"))?;
    if ids.is_empty() || ids.len() > 1000 {
        return Err(AdminError::bad_request("ids must list 1 to 1000 users"));
    }
    let ctx = directory::TenantContext::load(&state.db, &auth.tenant_id).await?;
    let mut failures = Vec::new();
    let mut planned: HashMap<String, User> = HashMap::new();
    for id in &ids {
        let outcome: AdminResult<()> = async {
            let user = store_users::get(&state.db, &auth.tenant_id, id).await?;
            let mut doc = merge(schema, Some(&user), set, &auth)?;
            crate::scim::resource::require(schema, &doc)?;
            directory::validate(&mut doc, Some(&user.attributes), &ctx, Surface::Local)?;
            planned.insert(id.clone(), user);
            Ok(())
        }
        .await;
        if let Err(e) = outcome {
            let mut failure = json!({"id": id, "error": e.code, "detail": e.detail});
            if let Some(fields) = e.fields {
                failure["fields"] = json!(fields);
            }
            failures.push(failure);
        }
    }
    if !failures.is_empty() {
        let mut e = AdminError::new(
            400,
            "bulk_failed",
            format!(
                "{} of {} users cannot take this change; nothing was changed",
                failures.len(),
                ids.len()
            ),
        );
        e.extra = Some(json!({"failures": failures}));
        return Err(e);
    }
    let updated = directory::update_many(
        &state.db,
        &auth.tenant_id,
        &auth.actor(),
        Surface::Local,
        "user.bulk_update",
        &ids,
        |user| {
            merge(schema, Some(user), set, &auth)
                .map_err(|e| crate::domain::Error::InvalidValue(e.detail))
        },
    )
    .await?;
    Ok(Json(json!({"updated": updated.len(), "ids": ids})))
}

async fn set_active(
    state: &AppState,
    auth: &AdminAuth,
    id: &str,
    active: bool,
) -> AdminResult<Json<Value>> {
    auth.require(&[Permission::ArchiveUser])?;
    let action = if active {
        "user.reactivate"
    } else {
        "user.archive"
    };
    let user = directory::update(
        &state.db,
        &auth.tenant_id,
        id,
        &auth.actor(),
        Surface::Local,
        action,
        |user| async move {
            if user.managed_by == ManagedBy::Idp {
                return Err(AdminError::sso_owned(vec!["active".into()]));
            }
            let mut doc = user.attributes.clone();
            doc.insert("active".into(), Value::Bool(active));
            Ok(doc)
        },
    )
    .await?;
    Ok(Json(view(state, &user, auth).await?))
}

/// `POST /admin/v1/users/{id}/archive` (ArchiveUser; local users only).
#[tracing::instrument(skip_all, err(Debug))]
pub async fn archive(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
) -> AdminResult<Json<Value>> {
    set_active(&state, &auth, &id, false).await
}

/// `POST /admin/v1/users/{id}/reactivate` (ArchiveUser; local users only).
#[tracing::instrument(skip_all, err(Debug))]
pub async fn reactivate(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
) -> AdminResult<Json<Value>> {
    set_active(&state, &auth, &id, true).await
}

/// `DELETE /admin/v1/users/{id}` (DeleteUser): only archived, local users without API
/// credentials; each refusal is a 409 saying which rule.
#[tracing::instrument(skip_all, err(Debug))]
pub async fn delete(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
) -> AdminResult<StatusCode> {
    auth.require(&[Permission::DeleteUser])?;
    let user = store_users::get(&state.db, &auth.tenant_id, &id).await?;
    if user.managed_by == ManagedBy::Idp {
        return Err(AdminError::new(
            409,
            "idp_managed",
            "this user is managed by the identity provider, which removes it",
        ));
    }
    if user.active() {
        return Err(AdminError::new(
            409,
            "not_archived",
            "only archived users can be deleted: archive the user first",
        ));
    }
    directory::delete(&state.db, &auth.tenant_id, &id, &auth.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}
