//! POST `/.search` (RFC 7644 §3.4.3), per resource type and at the root.

use axum::extract::State;

use super::auth::ScimAuth;
use super::extract::{BaseUrl, ScimBody, ScimJson};
use super::{groups as group_routes, users as user_routes};
use crate::app::AppState;
use crate::scim::ScimResult;
use crate::scim::list::{ListParams, list_response};

/// `POST /Users/.search`
#[tracing::instrument(skip_all, err)]
pub async fn users(
    State(state): State<AppState>,
    auth: ScimAuth,
    BaseUrl(base): BaseUrl,
    ScimBody(body): ScimBody,
) -> ScimResult<ScimJson> {
    let params = ListParams::from_search(&body)?;
    let (resources, total) =
        user_routes::list_page(&state, &auth.tenant_id, &base, &params).await?;
    Ok(ScimJson::ok(list_response(
        resources,
        total,
        params.start_index,
    )))
}

/// `POST /Groups/.search`
#[tracing::instrument(skip_all, err)]
pub async fn groups(
    State(state): State<AppState>,
    auth: ScimAuth,
    BaseUrl(base): BaseUrl,
    ScimBody(body): ScimBody,
) -> ScimResult<ScimJson> {
    let params = ListParams::from_search(&body)?;
    let (resources, total) =
        group_routes::list_page(&state, &auth.tenant_id, &base, &params).await?;
    Ok(ScimJson::ok(list_response(
        resources,
        total,
        params.start_index,
    )))
}

/// `POST /.search`: users then groups, paged as one list. A filter that names an attribute
/// only one resource type has matches nothing of the other type; a filter neither type
/// understands is `invalidFilter`.
#[tracing::instrument(skip_all, err)]
pub async fn root(
    State(state): State<AppState>,
    auth: ScimAuth,
    BaseUrl(base): BaseUrl,
    ScimBody(body): ScimBody,
) -> ScimResult<ScimJson> {
    let params = ListParams::from_search(&body)?;
    let offset = params.start_index - 1;
    // Count each type first (count=0 fetches no rows), then fetch the slice that overlaps.
    let counting = ListParams {
        count: 0,
        ..params.clone()
    };
    let user_total = user_routes::list_page(&state, &auth.tenant_id, &base, &counting).await;
    let group_total = group_routes::list_page(&state, &auth.tenant_id, &base, &counting).await;
    let (user_total, group_total) = match (user_total, group_total) {
        (Err(e), Err(_)) => return Err(e),
        (u, g) => (
            u.map(|(_, t)| t).unwrap_or(0),
            g.map(|(_, t)| t).unwrap_or(0),
        ),
    };
    let mut resources = Vec::new();
    if offset < user_total && params.count > 0 {
        let (page, _) = user_routes::list_page(&state, &auth.tenant_id, &base, &params).await?;
        resources.extend(page);
    }
    let remaining = params.count.saturating_sub(resources.len() as u64);
    if remaining > 0 && group_total > 0 {
        let group_offset = offset.saturating_sub(user_total);
        let group_params = ListParams {
            start_index: group_offset + 1,
            count: remaining,
            ..params.clone()
        };
        let (page, _) =
            group_routes::list_page(&state, &auth.tenant_id, &base, &group_params).await?;
        resources.extend(page);
    }
    Ok(ScimJson::ok(list_response(
        resources,
        user_total + group_total,
        params.start_index,
    )))
}
