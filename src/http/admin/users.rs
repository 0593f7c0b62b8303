//! `/admin/v1/users`: the restricted local edit surface. Every write goes through the same
//! directory operations as SCIM; what may be written comes from the ownership registry.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::AdminBody;
use super::auth::AdminAuth;
use super::error::{AdminError, AdminResult, Code};
use super::view::{merge, render};
use crate::app::AppState;
use crate::domain::ownership::Permission;
use crate::domain::user::{User, View};
use crate::domain::validation::Surface;
use crate::http::extract::{QueryMap, if_match_ok};
use crate::scim::filter::{self, Resource};
use crate::scim::list::ListParams;
use crate::scim::resource::etag;
use crate::store::users as store_users;
use crate::write;

async fn view(state: &AppState, user: &User, auth: &AdminAuth) -> AdminResult<Value> {
    let groups = store_users::groups_of(&state.db, &user.tenant_id, std::slice::from_ref(&user.id))
        .await?
        .remove(&user.id)
        .unwrap_or_default();
    Ok(render(&state.registry.user, user, &groups, &auth.actor))
}

/// `GET /admin/v1/users`: SCIM filter syntax, startIndex/count.
#[tracing::instrument(skip_all, err(Debug, level = "debug"))]
pub async fn list(
    State(state): State<AppState>,
    auth: AdminAuth,
    query: QueryMap,
) -> AdminResult<Json<Value>> {
    auth.require(&[Permission::ViewUsers])?;
    let params = ListParams::from_query(&query.0)?;
    let schema = &state.registry.user;
    let query = filter::query(schema, Resource::User, &params)?;
    let (users, total) =
        store_users::list(&state.db, &auth.tenant_id, &query, View::Tenant).await?;
    let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
    let mut groups = store_users::groups_of(&state.db, &auth.tenant_id, &ids).await?;
    let items: Vec<Value> = users
        .iter()
        .map(|u| {
            render(
                schema,
                u,
                &groups.remove(&u.id).unwrap_or_default(),
                &auth.actor,
            )
        })
        .collect();
    Ok(Json(json!({
        "totalResults": total,
        "startIndex": params.start_index,
        "itemsPerPage": items.len(),
        "users": items,
    })))
}

/// `GET /admin/v1/users/{id}`
#[tracing::instrument(skip_all, err(Debug, level = "debug"))]
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
#[tracing::instrument(skip_all, err(Debug, level = "debug"))]
pub async fn create(
    State(state): State<AppState>,
    auth: AdminAuth,
    AdminBody(body): AdminBody,
) -> AdminResult<(StatusCode, Json<Value>)> {
    auth.require(&[Permission::CreateUser, Permission::EditUser])?;
    let doc = merge(&state.registry.user, None, &body, &auth.actor)?;
    crate::scim::resource::require(&state.registry.user, &doc)?;
    let user = write::users::create(
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
#[tracing::instrument(skip_all, err(Debug, level = "debug"))]
pub async fn patch(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
    headers: HeaderMap,
    AdminBody(body): AdminBody,
) -> AdminResult<Json<Value>> {
    let schema = &state.registry.user;
    let user = write::users::update(
        &state.db,
        &auth.tenant_id,
        &id,
        &auth.actor(),
        Surface::Local,
        "user.update",
        |user| {
            if !if_match_ok(&headers, &etag(user.version)) {
                return Err(AdminError::from(crate::domain::Error::PreconditionFailed));
            }
            let doc = merge(schema, Some(user), &body, &auth.actor)?;
            crate::scim::resource::require(schema, &doc)?;
            Ok(doc)
        },
    )
    .await?;
    Ok(Json(view(&state, &user, &auth).await?))
}

/// `PATCH /admin/v1/users` bulk edit: `{"ids": […], "set": {…}}`. Every user is checked
/// first; if any fails, nothing changes and the answer lists each failure.
#[tracing::instrument(skip_all, err(Debug, level = "debug"))]
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
    let ctx = write::users::TenantContext::load(&state.db, &auth.tenant_id).await?;
    let mut failures = Vec::new();
    let mut planned: HashMap<String, User> = HashMap::new();
    for id in &ids {
        let outcome: AdminResult<()> = async {
            let user = store_users::get(&state.db, &auth.tenant_id, id).await?;
            let mut doc = merge(schema, Some(&user), set, &auth.actor)?;
            crate::scim::resource::require(schema, &doc)?;
            write::users::validate(&mut doc, Some(&user.attributes), &ctx, Surface::Local)?;
            planned.insert(id.clone(), user);
            Ok(())
        }
        .await;
        if let Err(e) = outcome {
            let mut failure = json!({"id": id, "error": e.code.as_str(), "detail": e.detail});
            if let Some(fields) = e.fields {
                failure["fields"] = json!(fields);
            }
            failures.push(failure);
        }
    }
    if !failures.is_empty() {
        let mut e = AdminError::new(
            Code::BulkFailed,
            format!(
                "{} of {} users cannot take this change; nothing was changed",
                failures.len(),
                ids.len()
            ),
        );
        e.extra = Some(json!({"failures": failures}));
        return Err(e);
    }
    let updated = write::users::update_many(
        &state.db,
        &auth.tenant_id,
        &auth.actor(),
        Surface::Local,
        "user.bulk_update",
        &ids,
        |user| {
            merge(schema, Some(user), set, &auth.actor).map_err(|e| {
                crate::domain::Error::InvalidValue {
                    field: e.fields.and_then(|f| f.into_iter().next()),
                    detail: e.detail,
                }
            })
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
    let user = write::users::set_active(&state.db, &auth.tenant_id, id, &auth.actor, active)
        .await
        .map_err(|e| match e {
            // The archive state of an IdP-managed user is an SSO-owned field.
            crate::domain::Error::Conflict {
                refusal: crate::domain::Refusal::IdpManaged,
                ..
            } => AdminError::sso_owned(vec!["active".into()]),
            other => other.into(),
        })?;
    Ok(Json(view(state, &user, auth).await?))
}

/// `POST /admin/v1/users/{id}/archive` (ArchiveUser; local users only).
#[tracing::instrument(skip_all, err(Debug, level = "debug"))]
pub async fn archive(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
) -> AdminResult<Json<Value>> {
    set_active(&state, &auth, &id, false).await
}

/// `POST /admin/v1/users/{id}/reactivate` (ArchiveUser; local users only).
#[tracing::instrument(skip_all, err(Debug, level = "debug"))]
pub async fn reactivate(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
) -> AdminResult<Json<Value>> {
    set_active(&state, &auth, &id, true).await
}

/// `POST /admin/v1/users/{id}/hand-over`: a local user becomes managed by the identity
/// provider (EditUser + ArchiveUser, and every permission its profiles carry).
#[tracing::instrument(skip_all, err(Debug, level = "debug"))]
pub async fn hand_over(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
) -> AdminResult<Json<Value>> {
    let user = write::users::hand_over(&state.db, &auth.tenant_id, &id, &auth.actor).await?;
    Ok(Json(view(&state, &user, &auth).await?))
}

/// `DELETE /admin/v1/users/{id}` (DeleteUser): only archived, local users without API
/// credentials; each refusal is a 409 saying which rule.
#[tracing::instrument(skip_all, err(Debug, level = "debug"))]
pub async fn delete(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
) -> AdminResult<StatusCode> {
    write::users::delete(
        &state.db,
        &auth.tenant_id,
        &id,
        &auth.actor,
        Surface::Local,
        None,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
