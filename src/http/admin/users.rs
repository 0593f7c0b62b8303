//! `/admin/v1/users`: the restricted local edit surface. Every write goes through the same
//! directory operations as SCIM; what may be written comes from the ownership registry.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::auth::AdminAuth;
use super::error::{AdminError, AdminResult, Code};
use super::view::{Detail, attributes, merge, render, with_view_defaults};
use super::{AdminBody, DryRun};
use crate::app::AppState;
use crate::domain::filter::search_words;
use crate::domain::ownership::Permission;
use crate::domain::user::{User, View};
use crate::domain::validation::Surface;
use crate::http::extract::{QueryMap, if_match_ok};
use crate::scim::filter::{self, Resource};
use crate::scim::list::ListParams;
use crate::scim::resource::etag;
use crate::scim::schema::ResourceSchema;
use crate::store::{self, users as store_users};
use crate::write;

/// The single-user view of `user` for this caller.
async fn view(state: &AppState, user: &User, auth: &AdminAuth) -> AdminResult<Value> {
    let groups = store_users::groups_of(&state.db, &user.tenant_id, std::slice::from_ref(&user.id))
        .await?
        .remove(&user.id)
        .unwrap_or_default();
    let settings = store::tenants::settings(&state.db, &auth.tenant_id).await?;
    Ok(render(
        &state.registry.user,
        user,
        &groups,
        &auth.actor,
        Detail::Full(&settings),
    ))
}

/// The group `group=` names: its id, else its display name (case-insensitively).
pub(crate) async fn group_named(
    state: &AppState,
    auth: &AdminAuth,
    text: &str,
) -> AdminResult<String> {
    match store::groups::get(&state.db, &auth.tenant_id, text).await {
        Ok(group) => return Ok(group.id),
        Err(crate::domain::Error::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let ids = store::groups::ids_named(&state.db, &auth.tenant_id, text).await?;
    match ids.as_slice() {
        [id] => Ok(id.clone()),
        [] => Err(AdminError::new(
            Code::NotFound,
            format!("group: no group has the id or name {text:?}"),
        )),
        _ => Err(AdminError::invalid(
            "group",
            format!(
                "group: {} groups are named {text:?}; name one by its id",
                ids.len()
            ),
        )),
    }
}

/// The fields `attributes=` keeps in each list row (`id` always).
fn projection(schema: &ResourceSchema, text: &str) -> AdminResult<Vec<String>> {
    let names: Vec<String> = attributes(schema)
        .iter()
        .map(|va| va.name.to_string())
        .chain(
            ["id", "active", "managedBy", "version", "groups", "meta"]
                .iter()
                .map(|s| s.to_string()),
        )
        .collect();
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|wanted| {
            names
                .iter()
                .find(|n| n.eq_ignore_ascii_case(wanted))
                .cloned()
                .ok_or_else(|| {
                    AdminError::invalid(
                        "attributes",
                        format!("attributes: {wanted:?} is not a field of the admin view"),
                    )
                })
        })
        .collect()
}

/// `GET /admin/v1/users`: SCIM filter syntax (`filter=`, where a field's default value —
/// `telephonyRegion eq "NAM East"` — matches users that show it by default), `q=` free
/// text, `group=` a group's id or name, `attributes=`, startIndex/count. Rows are compact:
/// the per-field `editable` map is on the single-user view only.
#[tracing::instrument(skip_all, err(Debug, level = "debug"))]
pub async fn list(
    State(state): State<AppState>,
    auth: AdminAuth,
    query: QueryMap,
) -> AdminResult<Json<Value>> {
    auth.require(&[Permission::ViewUsers])?;
    let params = ListParams::from_query(&query.0)?;
    let schema = &state.registry.user;
    let mut list_query = filter::query(schema, Resource::User, &params)?;
    list_query.filter = list_query.filter.map(with_view_defaults);
    if let Some(text) = query.0.get("q") {
        list_query.search = search_words(text).map_err(|e| AdminError::invalid("q", e))?;
    }
    if let Some(group) = query.0.get("group") {
        list_query.group = Some(group_named(&state, &auth, group).await?);
    }
    let keep = query
        .0
        .get("attributes")
        .map(|text| projection(schema, text))
        .transpose()?;
    let (users, total) =
        store_users::list(&state.db, &auth.tenant_id, &list_query, View::Tenant).await?;
    let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
    let mut groups = store_users::groups_of(&state.db, &auth.tenant_id, &ids).await?;
    let items: Vec<Value> = users
        .iter()
        .map(|u| {
            let row = render(
                schema,
                u,
                &groups.remove(&u.id).unwrap_or_default(),
                &auth.actor,
                Detail::Row,
            );
            match (&keep, row) {
                (Some(keep), Value::Object(mut fields)) => {
                    fields.retain(|k, _| k == "id" || keep.contains(k));
                    Value::Object(fields)
                }
                (_, row) => row,
            }
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

/// `POST /admin/v1/users[?dryRun=true]`: a local user (CreateUser + EditUser); 409 when the
/// tenant's users are managed by its identity provider.
#[tracing::instrument(skip_all, err(Debug, level = "debug"))]
pub async fn create(
    State(state): State<AppState>,
    auth: AdminAuth,
    dry: DryRun,
    AdminBody(body): AdminBody,
) -> AdminResult<(StatusCode, Json<Value>)> {
    auth.require(&[Permission::CreateUser, Permission::EditUser])?;
    let doc = merge(&state.registry.user, None, &body, &auth.actor)?;
    crate::scim::resource::require(&state.registry.user, &doc)?;
    let user = dry
        .run(write::users::create(
            &state.db,
            &auth.tenant_id,
            &auth.actor(),
            Surface::Local,
            doc,
        ))
        .await?;
    Ok((
        dry.status(StatusCode::CREATED),
        Json(dry.mark(view(&state, &user, &auth).await?)),
    ))
}

/// `PATCH /admin/v1/users/{id}[?dryRun=true]`: a JSON merge patch of the admin view.
/// SSO-owned fields of an IdP-managed user → 409 `sso_owned_fields` and nothing changes;
/// If-Match honoured.
#[tracing::instrument(skip_all, err(Debug, level = "debug"))]
pub async fn patch(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
    dry: DryRun,
    headers: HeaderMap,
    AdminBody(body): AdminBody,
) -> AdminResult<Json<Value>> {
    let schema = &state.registry.user;
    let user = dry
        .run(write::users::update(
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
        ))
        .await?;
    Ok(Json(dry.mark(view(&state, &user, &auth).await?)))
}

/// The user ids of a bulk request: `{"ids": […]}`, 1 to [`MAX_BULK`].
fn bulk_ids(body: &Value) -> AdminResult<Vec<String>> {
    let ids: Vec<String> = body
        .get("ids")
        .and_then(Value::as_array)
        .map(|ids| {
            ids.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .ok_or_else(|| AdminError::invalid("ids", "ids must be an array of user ids"))?;
    if ids.is_empty() || ids.len() > MAX_BULK {
        return Err(AdminError::invalid(
            "ids",
            format!("ids must list 1 to {MAX_BULK} users"),
        ));
    }
    Ok(ids)
}

/// The most users one bulk request names.
pub const MAX_BULK: usize = 1000;

/// One user a bulk change cannot be applied to, with every reason.
fn failure(id: &str, errors: Vec<AdminError>) -> Value {
    let first = errors.first();
    let mut out = json!({
        "id": id,
        "error": first.map(|e| e.code.as_str()),
        "detail": first.map(|e| e.detail.clone()),
        "errors": errors.iter().map(|e| json!({
            "field": e.fields.as_ref().and_then(|f| f.first()),
            "error": e.code.as_str(),
            "message": e.detail,
        })).collect::<Vec<_>>(),
    });
    if let Some(fields) = first.and_then(|e| e.fields.clone()) {
        out["fields"] = json!(fields);
    }
    out
}

/// The refusal of a bulk request some users cannot take: every one of them, and why.
fn bulk_failed(failures: Vec<Value>, of: usize) -> AdminError {
    let mut e = AdminError::new(
        Code::BulkFailed,
        format!(
            "{} of {of} users cannot take this change; nothing was changed",
            failures.len()
        ),
    );
    e.extra = Some(json!({"failures": failures}));
    e
}

/// Fields a bulk edit of several users cannot set: each user's own, unique in the tenant.
const ONE_USER_EACH: [&str; 3] = ["agentId", "personalPhoneNumber", "webRtcFallbackNumber"];

/// `PATCH /admin/v1/users[?dryRun=true]` bulk edit: `{"ids": […], "set": {…}}`. Every user
/// is checked first, each with every reason it cannot take the change; if any cannot,
/// nothing changes and the answer lists them all. Then all change in one transaction.
#[tracing::instrument(skip_all, err(Debug, level = "debug"))]
pub async fn bulk(
    State(state): State<AppState>,
    auth: AdminAuth,
    dry: DryRun,
    AdminBody(body): AdminBody,
) -> AdminResult<Json<Value>> {
    let schema = &state.registry.user;
    let ids = bulk_ids(&body)?;
    let set = body
        .get("set")
        .filter(|s| s.is_object())
        .ok_or_else(|| AdminError::invalid("set", "set must be an object of fields"))?;
    if ids.len() > 1
        && let Some(field) = ONE_USER_EACH
            .iter()
            .find(|f| set.get(**f).is_some_and(|v| !v.is_null()))
    {
        return Err(AdminError::invalid(
            *field,
            format!("{field} is unique to each user: set it one user at a time"),
        ));
    }
    let ctx = write::users::TenantContext::load(&state.db, &auth.tenant_id).await?;
    let mut failures = Vec::new();
    for id in &ids {
        let errors = bulk_check(&state, &auth, &ctx, id, set).await;
        if !errors.is_empty() {
            failures.push(failure(id, errors));
        }
    }
    if !failures.is_empty() {
        return Err(bulk_failed(failures, ids.len()));
    }
    let updated = dry
        .run(write::users::update_many(
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
        ))
        .await?;
    Ok(Json(
        dry.mark(json!({"updated": updated.len(), "ids": ids})),
    ))
}

/// Every reason one user cannot take a bulk edit: the merge (fields and permissions), every
/// validation error, then — when those pass — the write itself run as a dry run
/// (authorisation of profiles, the tenant keeping an administrator, unique values).
async fn bulk_check(
    state: &AppState,
    auth: &AdminAuth,
    ctx: &write::users::TenantContext,
    id: &str,
    set: &Value,
) -> Vec<AdminError> {
    let schema = &state.registry.user;
    let user = match store_users::get(&state.db, &auth.tenant_id, id).await {
        Ok(user) => user,
        Err(e) => return vec![e.into()],
    };
    let mut doc = match merge(schema, Some(&user), set, &auth.actor) {
        Ok(doc) => doc,
        Err(e) => return vec![e],
    };
    if let Err(e) = crate::scim::resource::require(schema, &doc) {
        return vec![e.into()];
    }
    let errors: Vec<AdminError> =
        write::users::validate_all(&mut doc, Some(&user.attributes), ctx, Surface::Local)
            .into_iter()
            .map(AdminError::from)
            .collect();
    if !errors.is_empty() {
        return errors;
    }
    let attempt = write::dry_run(write::users::update(
        &state.db,
        &auth.tenant_id,
        id,
        &auth.actor(),
        Surface::Local,
        "user.bulk_update",
        |current| merge(schema, Some(current), set, &auth.actor),
    ))
    .await;
    attempt.err().into_iter().collect()
}

/// Archives or reactivates several users: every one that cannot is listed, and then none
/// changes; else all change in one transaction.
async fn set_active_many(
    state: &AppState,
    auth: &AdminAuth,
    dry: DryRun,
    body: &Value,
    active: bool,
) -> AdminResult<Json<Value>> {
    let ids = bulk_ids(body)?;
    let mut failures = Vec::new();
    for id in &ids {
        let attempt = write::dry_run(set_active(state, auth, id, active)).await;
        if let Err(e) = attempt {
            failures.push(failure(id, vec![e]));
        }
    }
    if !failures.is_empty() {
        return Err(bulk_failed(failures, ids.len()));
    }
    let action = if active {
        "user.reactivate"
    } else {
        "user.archive"
    };
    let changed = dry
        .run(write::users::update_many(
            &state.db,
            &auth.tenant_id,
            &auth.actor(),
            Surface::Local,
            action,
            &ids,
            |user| {
                auth.actor.require(&[Permission::ArchiveUser])?;
                if user.managed_by == crate::domain::user::ManagedBy::Idp {
                    return Err(crate::domain::Error::conflict(
                        crate::domain::Refusal::IdpManaged,
                        "active: this user is managed by the identity provider",
                    ));
                }
                let mut doc = user.attributes.clone();
                doc.insert("active".into(), Value::Bool(active));
                Ok(doc)
            },
        ))
        .await?;
    let key = if active { "reactivated" } else { "archived" };
    Ok(Json(dry.mark(json!({key: changed.len(), "ids": ids}))))
}

/// `POST /admin/v1/users/archive[?dryRun=true]` `{"ids": […]}` (ArchiveUser; local users).
#[tracing::instrument(skip_all, err(Debug, level = "debug"))]
pub async fn archive_many(
    State(state): State<AppState>,
    auth: AdminAuth,
    dry: DryRun,
    AdminBody(body): AdminBody,
) -> AdminResult<Json<Value>> {
    set_active_many(&state, &auth, dry, &body, false).await
}

/// `POST /admin/v1/users/reactivate[?dryRun=true]` `{"ids": […]}` (ArchiveUser; local users).
#[tracing::instrument(skip_all, err(Debug, level = "debug"))]
pub async fn reactivate_many(
    State(state): State<AppState>,
    auth: AdminAuth,
    dry: DryRun,
    AdminBody(body): AdminBody,
) -> AdminResult<Json<Value>> {
    set_active_many(&state, &auth, dry, &body, true).await
}

async fn set_active(
    state: &AppState,
    auth: &AdminAuth,
    id: &str,
    active: bool,
) -> AdminResult<User> {
    write::users::set_active(&state.db, &auth.tenant_id, id, &auth.actor, active)
        .await
        .map_err(|e| match e {
            // The archive state of an IdP-managed user is an SSO-owned field.
            crate::domain::Error::Conflict {
                refusal: crate::domain::Refusal::IdpManaged,
                ..
            } => AdminError::sso_owned(vec!["active".into()]),
            other => other.into(),
        })
}

/// `POST /admin/v1/users/{id}/archive` (ArchiveUser; local users only).
#[tracing::instrument(skip_all, err(Debug, level = "debug"))]
pub async fn archive(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
    dry: DryRun,
) -> AdminResult<Json<Value>> {
    let user = dry.run(set_active(&state, &auth, &id, false)).await?;
    Ok(Json(dry.mark(view(&state, &user, &auth).await?)))
}

/// `POST /admin/v1/users/{id}/reactivate` (ArchiveUser; local users only).
#[tracing::instrument(skip_all, err(Debug, level = "debug"))]
pub async fn reactivate(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
    dry: DryRun,
) -> AdminResult<Json<Value>> {
    let user = dry.run(set_active(&state, &auth, &id, true)).await?;
    Ok(Json(dry.mark(view(&state, &user, &auth).await?)))
}

/// `POST /admin/v1/users/{id}/hand-over`: a local user becomes managed by the identity
/// provider (EditUser + ArchiveUser, and every permission its profiles carry).
#[tracing::instrument(skip_all, err(Debug, level = "debug"))]
pub async fn hand_over(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
    dry: DryRun,
) -> AdminResult<Json<Value>> {
    let user = dry
        .run(write::users::hand_over(
            &state.db,
            &auth.tenant_id,
            &id,
            &auth.actor,
        ))
        .await?;
    Ok(Json(dry.mark(view(&state, &user, &auth).await?)))
}

/// `DELETE /admin/v1/users/{id}` (DeleteUser): only archived, local users without API
/// credentials; each refusal is a 409 saying which rule.
#[tracing::instrument(skip_all, err(Debug, level = "debug"))]
pub async fn delete(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
    dry: DryRun,
) -> AdminResult<axum::response::Response> {
    use axum::response::IntoResponse;
    dry.run(write::users::delete(
        &state.db,
        &auth.tenant_id,
        &id,
        &auth.actor,
        Surface::Local,
        None,
    ))
    .await?;
    Ok(if dry.0 {
        Json(json!({"dryRun": true, "deleted": id})).into_response()
    } else {
        StatusCode::NO_CONTENT.into_response()
    })
}
