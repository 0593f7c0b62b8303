//! POST `/.search` (RFC 7644 §3.4.3), per resource type and at the root.

use axum::extract::State;

use super::auth::ScimAuth;
use super::extract::{BaseUrl, ScimBody, ScimJson};
use super::{groups as group_routes, users as user_routes};
use crate::app::AppState;
use crate::scim::list::{ListParams, Page, list_response};
use crate::scim::{ScimError, ScimResult};

/// `POST /Users/.search`
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn users(
    State(state): State<AppState>,
    auth: ScimAuth,
    BaseUrl(base): BaseUrl,
    ScimBody(body): ScimBody,
) -> ScimResult<ScimJson> {
    let params = ListParams::from_search(&body)?;
    let page = user_routes::list_page(&state, &auth.tenant_id, &base, &params).await?;
    Ok(ScimJson::ok(list_response(page, &params)))
}

/// `POST /Groups/.search`
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn groups(
    State(state): State<AppState>,
    auth: ScimAuth,
    BaseUrl(base): BaseUrl,
    ScimBody(body): ScimBody,
) -> ScimResult<ScimJson> {
    let params = ListParams::from_search(&body)?;
    let page = group_routes::list_page(&state, &auth.tenant_id, &base, &params).await?;
    Ok(ScimJson::ok(list_response(page, &params)))
}

/// `POST /.search`: users then groups, paged as one list (index pagination only). A filter
/// that names an attribute only one resource type has matches nothing of the other type; a
/// filter neither type understands is `invalidFilter`.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn root(
    State(state): State<AppState>,
    auth: ScimAuth,
    BaseUrl(base): BaseUrl,
    ScimBody(body): ScimBody,
) -> ScimResult<ScimJson> {
    let params = ListParams::from_search(&body)?;
    if params.cursor.is_some() {
        return Err(ScimError::invalid_value(
            "cursor pagination is offered on /Users and /Groups; search the root with startIndex",
        ));
    }
    let offset = params.start_index - 1;
    // Count each type first (count=0 fetches no rows), then fetch the slice that overlaps.
    let counting = ListParams {
        count: 0,
        ..params.clone()
    };
    let user_total = user_routes::list_page(&state, &auth.tenant_id, &base, &counting).await;
    let group_total = group_routes::list_page(&state, &auth.tenant_id, &base, &counting).await;
    // A filter that names attributes of one type only (userName, members) matches nothing
    // of the other; a server error of either is the answer.
    let (user_total, group_total) = match (user_total, group_total) {
        (Err(e), _) | (_, Err(e)) if e.status >= 500 => return Err(e),
        (Err(e), Err(_)) => return Err(e),
        (u, g) => (
            u.map(|p| p.total).unwrap_or(0),
            g.map(|p| p.total).unwrap_or(0),
        ),
    };
    let mut resources = Vec::new();
    if offset < user_total && params.count > 0 {
        let page = user_routes::list_page(&state, &auth.tenant_id, &base, &params).await?;
        resources.extend(page.resources);
    }
    let remaining = params.count.saturating_sub(resources.len() as u64);
    if remaining > 0 && group_total > 0 {
        let group_offset = offset.saturating_sub(user_total);
        let group_params = ListParams {
            start_index: group_offset + 1,
            count: remaining,
            ..params.clone()
        };
        let page = group_routes::list_page(&state, &auth.tenant_id, &base, &group_params).await?;
        resources.extend(page.resources);
    }
    let page = Page {
        resources,
        total: user_total + group_total,
        next_cursor: None,
    };
    Ok(ScimJson::ok(list_response(page, &params)))
}
