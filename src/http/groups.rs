//! `/Groups` (RFC 7644 §3.3–§3.6). Membership changes go to the join table one row each;
//! members load only when the response carries them.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::auth::ScimAuth;
use super::extract::{
    BaseUrl, QueryMap, ScimBody, ScimJson, if_match_ok, if_none_match_hit, wants_minimal,
};
use crate::app::AppState;
use crate::domain;
use crate::domain::group::{Group, MemberOp};
use crate::scim::filter::{self, Resource};
use crate::scim::list::{ListParams, Page, list_response, next_cursor};
use crate::scim::patch;
use crate::scim::projection::Projection;
use crate::scim::resource::{etag, member_ids, normalize_input, render_group, require};
use crate::scim::{ScimError, ScimResult};
use crate::store::groups as store_groups;
use crate::write;

fn projection(query: &QueryMap) -> Projection {
    let get = |name: &str| {
        query
            .0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    Projection::new(get("attributes"), get("excludedAttributes"), &[])
}

async fn render(
    state: &AppState,
    group: &Group,
    base: &str,
    projection: &Projection,
) -> ScimResult<Value> {
    let members = if projection.wants("members") {
        Some(
            store_groups::members(&state.db, &group.tenant_id, std::slice::from_ref(&group.id))
                .await?
                .remove(&group.id)
                .unwrap_or_default(),
        )
    } else {
        None
    };
    Ok(projection.apply(render_group(group, members.as_deref(), base)))
}

/// A page of groups; shared by GET and POST `/.search`.
pub async fn list_page(
    state: &AppState,
    tenant_id: &str,
    base: &str,
    params: &ListParams,
) -> ScimResult<Page> {
    let schema = &state.registry.group;
    let query = filter::query(schema, Resource::Group, params)?;
    let (mut groups, total) = store_groups::list(&state.db, tenant_id, &query).await?;
    let next_cursor = next_cursor(&mut groups, params, &query, Resource::Group.name(), |r| {
        (r.created_us, r.id.clone())
    });
    let projection = Projection::new(
        params.attributes.as_deref(),
        params.excluded_attributes.as_deref(),
        &[],
    );
    let mut members = if projection.wants("members") {
        let ids: Vec<String> = groups.iter().map(|g| g.id.clone()).collect();
        Some(store_groups::members(&state.db, tenant_id, &ids).await?)
    } else {
        None
    };
    let resources = groups
        .iter()
        .map(|g| {
            let m = members
                .as_mut()
                .map(|all| all.remove(&g.id).unwrap_or_default());
            projection.apply(render_group(g, m.as_deref(), base))
        })
        .collect();
    Ok(Page {
        resources,
        total,
        next_cursor,
    })
}

/// `GET /Groups`
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

/// `GET /Groups/{id}`
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn get(
    State(state): State<AppState>,
    auth: ScimAuth,
    BaseUrl(base): BaseUrl,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: QueryMap,
) -> ScimResult<Response> {
    let group = store_groups::get(&state.db, &auth.tenant_id, &id).await?;
    let tag = etag(group.version);
    if if_none_match_hit(&headers, &tag) {
        return Ok((StatusCode::NOT_MODIFIED, [(axum::http::header::ETAG, tag)]).into_response());
    }
    let body = render(&state, &group, &base, &projection(&query)).await?;
    Ok(ScimJson::ok(body).with_etag(tag).into_response())
}

/// A group body's attributes, and its member ids when it lists members.
type GroupBody = (Map<String, Value>, Option<Vec<String>>);

/// Splits a normalised group body into its attributes and its member ids.
fn split_members(mut attributes: Map<String, Value>) -> ScimResult<GroupBody> {
    let members = attributes
        .remove("members")
        .map(|m| member_ids(&m))
        .transpose()?;
    Ok((attributes, members))
}

/// `POST /Groups`: 201 with `Location`.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn create(
    State(state): State<AppState>,
    auth: ScimAuth,
    BaseUrl(base): BaseUrl,
    query: QueryMap,
    ScimBody(body): ScimBody,
) -> ScimResult<ScimJson> {
    let schema = &state.registry.group;
    let attributes = normalize_input(schema, &body)?;
    require(schema, &attributes)?;
    let (attributes, members) = split_members(attributes)?;
    let group = write::groups::create(
        &state.db,
        &auth.tenant_id,
        &auth.actor(),
        attributes,
        members.unwrap_or_default(),
    )
    .await?;
    let body = render(&state, &group, &base, &projection(&query)).await?;
    Ok(ScimJson {
        status: StatusCode::CREATED,
        body,
        etag: Some(etag(group.version)),
        location: Some(format!("{base}/Groups/{}", group.id)),
    })
}

fn check_if_match(headers: &HeaderMap, group: &Group) -> ScimResult<()> {
    if if_match_ok(headers, &etag(group.version)) {
        Ok(())
    } else {
        Err(domain::Error::PreconditionFailed.into())
    }
}

async fn answer(
    state: &AppState,
    group: &Group,
    base: &str,
    headers: &HeaderMap,
    query: &QueryMap,
) -> ScimResult<Response> {
    let tag = etag(group.version);
    if wants_minimal(headers) {
        return Ok((StatusCode::NO_CONTENT, [(axum::http::header::ETAG, tag)]).into_response());
    }
    let body = render(state, group, base, &projection(query)).await?;
    Ok(ScimJson::ok(body).with_etag(tag).into_response())
}

/// `PUT /Groups/{id}`: replaces displayName, externalId and the member list.
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
    let schema = &state.registry.group;
    let attributes = normalize_input(schema, &body)?;
    require(schema, &attributes)?;
    let (attributes, members) = split_members(attributes)?;
    let ops = vec![
        MemberOp::RemoveAll,
        MemberOp::Add(members.unwrap_or_default()),
    ];
    let group = write::groups::update(
        &state.db,
        &auth.tenant_id,
        &id,
        &auth.actor(),
        "group.update",
        |group| {
            check_if_match(&headers, group)?;
            Ok::<_, ScimError>((attributes.clone(), ops.clone()))
        },
    )
    .await?;
    answer(&state, &group, &base, &headers, &query).await
}

/// `PATCH /Groups/{id}`: all operations apply, or none.
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
    let schema = &state.registry.group;
    let ops = patch::parse_request(&body)?;
    let group = write::groups::update(
        &state.db,
        &auth.tenant_id,
        &id,
        &auth.actor(),
        "group.update",
        |group| {
            check_if_match(&headers, group)?;
            let mut attributes = group.attributes.clone();
            let member_ops = patch::apply_group(schema, &mut attributes, &ops)?;
            require(schema, &attributes)?;
            Ok::<_, ScimError>((attributes, member_ops))
        },
    )
    .await?;
    answer(&state, &group, &base, &headers, &query).await
}

/// `DELETE /Groups/{id}`: 204.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn delete(
    State(state): State<AppState>,
    auth: ScimAuth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ScimResult<StatusCode> {
    let expected = if headers.contains_key(axum::http::header::IF_MATCH) {
        let group = store_groups::get(&state.db, &auth.tenant_id, &id).await?;
        check_if_match(&headers, &group)?;
        Some(group.version)
    } else {
        None
    };
    write::groups::delete(&state.db, &auth.tenant_id, &id, &auth.actor(), expected).await?;
    Ok(StatusCode::NO_CONTENT)
}
