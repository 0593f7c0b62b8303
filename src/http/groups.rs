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
use super::{Attempt, optimistic};
use crate::app::AppState;
use crate::domain;
use crate::domain::audit::{Entry, diff};
use crate::domain::group::Group;
use crate::scim::ScimResult;
use crate::scim::filter::{self, Resource};
use crate::scim::list::{ListParams, Page, list_response, next_cursor};
use crate::scim::patch::{self, MemberOp};
use crate::scim::projection::Projection;
use crate::scim::resource::{etag, member_ids, normalize_input, render_group, require};
use crate::store::groups::Membership;
use crate::store::{self, groups as store_groups};

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
#[tracing::instrument(skip_all, err)]
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
#[tracing::instrument(skip_all, err)]
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
#[tracing::instrument(skip_all, err)]
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
    let now = store::now_us();
    let group = Group {
        id: store::new_id(),
        tenant_id: auth.tenant_id.clone(),
        version: 1,
        created_us: now,
        modified_us: now,
        attributes,
    };
    let members = members.unwrap_or_default();
    let entry = Entry::new(
        &auth.tenant_id,
        &auth.actor(),
        "group.create",
        "group",
        &group.id,
        group_changes(None, Some(&group), &[]),
    );
    store::retry(|| store_groups::insert(&state.db, &group, &members, &entry)).await?;
    let body = render(&state, &group, &base, &projection(&query)).await?;
    Ok(ScimJson {
        status: StatusCode::CREATED,
        body,
        etag: Some(etag(group.version)),
        location: Some(format!("{base}/Groups/{}", group.id)),
    })
}

async fn current(
    state: &AppState,
    tenant_id: &str,
    id: &str,
    headers: &HeaderMap,
) -> ScimResult<Group> {
    let group = store_groups::get(&state.db, tenant_id, id).await?;
    if !if_match_ok(headers, &etag(group.version)) {
        return Err(domain::Error::PreconditionFailed.into());
    }
    Ok(group)
}

/// The audit changes of a group write: attributes, and membership operations as given.
fn group_changes(
    before: Option<&Group>,
    after: Option<&Group>,
    members: &[Membership],
) -> Map<String, Value> {
    let mut changes = diff(before.map(|g| &g.attributes), after.map(|g| &g.attributes));
    for m in members {
        let (key, ids) = match m {
            Membership::Add(ids) => ("members.added", serde_json::json!(ids)),
            Membership::Remove(ids) => ("members.removed", serde_json::json!(ids)),
            Membership::RemoveAll => ("members.cleared", Value::Bool(true)),
        };
        changes.insert(key.into(), ids);
    }
    changes
}

async fn store_next(
    state: &AppState,
    auth: &ScimAuth,
    current: &Group,
    attributes: Map<String, Value>,
    changes: &[Membership],
) -> ScimResult<Attempt<Group>> {
    if attributes == current.attributes && changes.is_empty() {
        return Ok(Attempt::Done(current.clone()));
    }
    let next = Group {
        attributes,
        version: current.version + 1,
        modified_us: store::now_us().max(current.modified_us + 1),
        ..current.clone()
    };
    let entry = Entry::new(
        &auth.tenant_id,
        &auth.actor(),
        "group.update",
        "group",
        &current.id,
        group_changes(Some(current), Some(&next), changes),
    );
    Ok(
        match Attempt::from_write(
            store_groups::update(&state.db, &next, current.version, changes, &entry).await,
        )? {
            Attempt::Done(()) => Attempt::Done(next),
            Attempt::Conflict => Attempt::Conflict,
        },
    )
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
#[tracing::instrument(skip_all, err)]
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
    let changes = vec![
        Membership::RemoveAll,
        Membership::Add(members.unwrap_or_default()),
    ];
    let group = optimistic(|| async {
        let group = current(&state, &auth.tenant_id, &id, &headers).await?;
        store_next(&state, &auth, &group, attributes.clone(), &changes).await
    })
    .await?;
    answer(&state, &group, &base, &headers, &query).await
}

/// Turns PATCH member operations into join-table changes; a filtered removal other than by
/// id evaluates its filter against the current members.
async fn membership_changes(
    state: &AppState,
    group: &Group,
    ops: Vec<MemberOp>,
) -> ScimResult<Vec<Membership>> {
    let mut changes = Vec::with_capacity(ops.len());
    for op in ops {
        changes.push(match op {
            MemberOp::Add(ids) => Membership::Add(ids),
            MemberOp::Remove(ids) => Membership::Remove(ids),
            MemberOp::RemoveAll => Membership::RemoveAll,
            MemberOp::RemoveWhere(filter) => {
                let members = store_groups::members(
                    &state.db,
                    &group.tenant_id,
                    std::slice::from_ref(&group.id),
                )
                .await?
                .remove(&group.id)
                .unwrap_or_default();
                let ids = members
                    .into_iter()
                    .filter(|m| {
                        let element = serde_json::json!({
                            "value": m.id,
                            "type": m.member_type.as_str(),
                        });
                        filter.matches_element(domain::filter::ElemShape::Complex, &element)
                    })
                    .map(|m| m.id)
                    .collect();
                Membership::Remove(ids)
            }
        });
    }
    Ok(changes)
}

/// `PATCH /Groups/{id}`: all operations apply, or none.
#[tracing::instrument(skip_all, err)]
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
    let group = optimistic(|| async {
        let group = current(&state, &auth.tenant_id, &id, &headers).await?;
        let mut attributes = group.attributes.clone();
        let member_ops = patch::apply_group(schema, &mut attributes, &ops)?;
        require(schema, &attributes)?;
        let changes = membership_changes(&state, &group, member_ops).await?;
        store_next(&state, &auth, &group, attributes, &changes).await
    })
    .await?;
    answer(&state, &group, &base, &headers, &query).await
}

/// `DELETE /Groups/{id}`: 204.
#[tracing::instrument(skip_all, err)]
pub async fn delete(
    State(state): State<AppState>,
    auth: ScimAuth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ScimResult<StatusCode> {
    let group = current(&state, &auth.tenant_id, &id, &headers).await?;
    let entry = Entry::new(
        &auth.tenant_id,
        &auth.actor(),
        "group.delete",
        "group",
        &id,
        group_changes(Some(&group), None, &[]),
    );
    store::retry(|| store_groups::delete(&state.db, &auth.tenant_id, &id, &entry)).await?;
    Ok(StatusCode::NO_CONTENT)
}
