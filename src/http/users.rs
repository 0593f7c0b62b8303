//! `/Users` (RFC 7644 §3.3–§3.6): create, get, list, replace, patch, delete.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::auth::ScimAuth;
use super::extract::{
    BaseUrl, QueryMap, ScimBody, ScimJson, if_match_ok, if_none_match_hit, wants_minimal,
};
use crate::app::AppState;
use crate::domain;
use crate::domain::user::User;
use crate::domain::user::View;
use crate::domain::validation::Surface;
use crate::scim::filter::{self, Resource};
use crate::scim::list::{ListParams, Page, list_response, next_cursor};
use crate::scim::patch;
use crate::scim::projection::Projection;
use crate::scim::resource::{carry_over, etag, normalize_input, render_user, require};
use crate::scim::{ScimError, ScimResult};
use crate::store::users as store_users;
use crate::write;

fn projection(state: &AppState, query: &QueryMap) -> Projection {
    let urns: Vec<&str> = state
        .registry
        .user
        .extensions
        .iter()
        .map(|s| s.id.as_str())
        .collect();
    let get = |name: &str| {
        query
            .0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    Projection::new(get("attributes"), get("excludedAttributes"), &urns)
}

/// Renders one user with its groups, projected.
async fn render(
    state: &AppState,
    user: &User,
    base: &str,
    projection: &Projection,
) -> ScimResult<Value> {
    let groups = if projection.wants("groups") {
        store_users::groups_of(&state.db, &user.tenant_id, std::slice::from_ref(&user.id))
            .await?
            .remove(&user.id)
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    Ok(projection.apply(render_user(&state.registry.user, user, &groups, base)))
}

/// A page of users as a ListResponse; shared by GET and POST `/.search`.
pub async fn list_page(
    state: &AppState,
    tenant_id: &str,
    base: &str,
    params: &ListParams,
) -> ScimResult<Page> {
    let schema = &state.registry.user;
    let query = filter::query(schema, Resource::User, params)?;
    let (mut users, total) = store_users::list(&state.db, tenant_id, &query, View::Idp).await?;
    let next_cursor = next_cursor(&mut users, params, &query, Resource::User.name(), |r| {
        (r.created_us, r.id.clone())
    });
    let urns: Vec<&str> = schema.extensions.iter().map(|s| s.id.as_str()).collect();
    let projection = Projection::new(
        params.attributes.as_deref(),
        params.excluded_attributes.as_deref(),
        &urns,
    );
    let mut groups = if projection.wants("groups") {
        let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
        store_users::groups_of(&state.db, tenant_id, &ids).await?
    } else {
        Default::default()
    };
    let resources = users
        .iter()
        .map(|u| {
            let g = groups.remove(&u.id).unwrap_or_default();
            projection.apply(render_user(schema, u, &g, base))
        })
        .collect();
    Ok(Page {
        resources,
        total,
        next_cursor,
    })
}

/// `GET /Users`
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn list(
    State(state): State<AppState>,
    auth: ScimAuth,
    BaseUrl(base): BaseUrl,
    query: QueryMap,
) -> ScimResult<ScimJson> {
    let params = ListParams::from_query(&query.0)?;
    let page = list_page(&state, &auth.tenant_id, &base, &params).await?;
    Ok(ScimJson::ok(list_response(page, &params)))
}

/// `GET /Users/{id}`; `If-None-Match` with the current version answers 304.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn get(
    State(state): State<AppState>,
    auth: ScimAuth,
    BaseUrl(base): BaseUrl,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: QueryMap,
) -> ScimResult<Response> {
    let user = store_users::get_in(&state.db, &auth.tenant_id, &id, View::Idp).await?;
    let tag = etag(user.version);
    if if_none_match_hit(&headers, &tag) {
        return Ok((StatusCode::NOT_MODIFIED, [(axum::http::header::ETAG, tag)]).into_response());
    }
    let body = render(&state, &user, &base, &projection(&state, &query)).await?;
    Ok(ScimJson::ok(body).with_etag(tag).into_response())
}

/// `POST /Users`: 201 with `Location`; a taken userName is 409 `uniqueness`.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn create(
    State(state): State<AppState>,
    auth: ScimAuth,
    BaseUrl(base): BaseUrl,
    query: QueryMap,
    ScimBody(body): ScimBody,
) -> ScimResult<ScimJson> {
    let schema = &state.registry.user;
    let attributes = normalize_input(schema, &body)?;
    require(schema, &attributes)?;
    let user = write::users::create(
        &state.db,
        &auth.tenant_id,
        &auth.actor(),
        Surface::Scim,
        attributes,
    )
    .await?;
    let body = render(&state, &user, &base, &projection(&state, &query)).await?;
    Ok(ScimJson {
        status: StatusCode::CREATED,
        body,
        etag: Some(etag(user.version)),
        location: Some(format!("{base}/Users/{}", user.id)),
    })
}

/// Answers a write: 200 with the resource, or 204 for `Prefer: return=minimal`.
async fn answer(
    state: &AppState,
    user: &User,
    base: &str,
    headers: &HeaderMap,
    query: &QueryMap,
) -> ScimResult<Response> {
    let tag = etag(user.version);
    if wants_minimal(headers) {
        return Ok((StatusCode::NO_CONTENT, [(axum::http::header::ETAG, tag)]).into_response());
    }
    let body = render(state, user, base, &projection(state, query)).await?;
    Ok(ScimJson::ok(body).with_etag(tag).into_response())
}

fn check_if_match(headers: &HeaderMap, user: &User) -> ScimResult<()> {
    if if_match_ok(headers, &etag(user.version)) {
        Ok(())
    } else {
        Err(domain::Error::PreconditionFailed.into())
    }
}

/// `PUT /Users/{id}`: replaces what the IdP owns; read-only attributes sent back are ignored,
/// locally-owned ones and an omitted `active` are kept.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn replace(
    State(state): State<AppState>,
    auth: ScimAuth,
    BaseUrl(base): BaseUrl,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: QueryMap,
    ScimBody(body): ScimBody,
) -> ScimResult<Response> {
    let schema = &state.registry.user;
    let replacement = normalize_input(schema, &body)?;
    require(schema, &replacement)?;
    let user = write::users::update(
        &state.db,
        &auth.tenant_id,
        &id,
        &auth.actor(),
        Surface::Scim,
        "user.replace",
        |user| {
            check_if_match(&headers, user)?;
            let mut attributes = replacement.clone();
            carry_over(schema, &user.attributes, &mut attributes);
            Ok::<_, ScimError>(attributes)
        },
    )
    .await?;
    answer(&state, &user, &base, &headers, &query).await
}

/// `PATCH /Users/{id}`: all operations apply, or none.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn patch(
    State(state): State<AppState>,
    auth: ScimAuth,
    BaseUrl(base): BaseUrl,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: QueryMap,
    ScimBody(body): ScimBody,
) -> ScimResult<Response> {
    let schema = &state.registry.user;
    let ops = patch::parse_request(&body)?;
    let user = write::users::update(
        &state.db,
        &auth.tenant_id,
        &id,
        &auth.actor(),
        Surface::Scim,
        "user.patch",
        |user| {
            check_if_match(&headers, user)?;
            let mut attributes = user.attributes.clone();
            patch::apply_user(schema, &mut attributes, &ops)?;
            require(schema, &attributes)?;
            Ok::<_, ScimError>(attributes)
        },
    )
    .await?;
    answer(&state, &user, &base, &headers, &query).await
}

/// `DELETE /Users/{id}`: 204; refused with 409 while the user holds API credentials.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn delete(
    State(state): State<AppState>,
    auth: ScimAuth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ScimResult<StatusCode> {
    let expected = if headers.contains_key(axum::http::header::IF_MATCH) {
        let user = store_users::get_in(&state.db, &auth.tenant_id, &id, View::Idp).await?;
        check_if_match(&headers, &user)?;
        Some(user.version)
    } else {
        None
    };
    write::users::delete(
        &state.db,
        &auth.tenant_id,
        &id,
        &auth.actor(),
        Surface::Scim,
        expected,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
