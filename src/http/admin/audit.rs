//! `/admin/v1/audit` (ViewUsers): the audit log, newest first, filtered by actor,
//! credential, target and time.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::auth::AdminAuth;
use super::error::{AdminError, AdminResult};
use crate::app::AppState;
use crate::domain::ownership::Permission;
use crate::http::extract::QueryMap;
use crate::scim::resource::format_time;
use crate::store::audit;

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
pub async fn list(
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
