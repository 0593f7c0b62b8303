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
    Ok(Json(list_page(&state, &auth, &query, None).await?))
}

/// The admin list's answer; with `count_cap`, `totalResults` counts at most that many
/// matches and one more (the console's lists, which say "more than" past the cap).
pub(crate) async fn list_page(
    state: &AppState,
    auth: &AdminAuth,
    query: &QueryMap,
    count_cap: Option<u64>,
) -> AdminResult<Value> {
    auth.require(&[Permission::ViewUsers])?;
    let params = ListParams::from_query(&query.0)?;
    let schema = &state.registry.user;
    let mut list_query = filter::query(schema, Resource::User, &params)?;
    list_query.filter = list_query.filter.map(with_view_defaults);
    list_query.count_cap = count_cap;
    if let Some(text) = query.0.get("q") {
        list_query.search = search_words(text).map_err(|e| AdminError::invalid("q", e))?;
    }
    if let Some(group) = query.0.get("group") {
        list_query.group = Some(group_named(state, auth, group).await?);
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
    Ok(json!({
        "totalResults": total,
        "startIndex": params.start_index,
        "itemsPerPage": items.len(),
        "users": items,
    }))
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

pub(crate) async fn set_active(
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
