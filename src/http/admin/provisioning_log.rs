//! `/admin/v1/provisioning-log` (ViewUsers): the last SCIM requests of the tenant's
//! credentials, newest first, by status, user and credential — what an identity provider
//! sent and what it was answered, without server access.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::auth::AdminAuth;
use super::error::{AdminError, AdminResult};
use crate::app::AppState;
use crate::domain::Error;
use crate::domain::ownership::Permission;
use crate::domain::user::fold_key;
use crate::http::extract::QueryMap;
use crate::scim::resource::format_time;
use crate::store::provisioning_log::{self as store, Record};
use crate::store::{credentials, users};

/// The statuses `status=` names: a code (`409`), a class (`4xx`), or `error` (400 and
/// above).
pub fn status_range(text: &str) -> Option<(u16, u16)> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("error") {
        return Some((400, 599));
    }
    let (first, rest) = text.split_at_checked(1)?;
    let class = first.parse::<u16>().ok().filter(|c| (1..=5).contains(c));
    match (class, rest.eq_ignore_ascii_case("xx")) {
        (Some(c), true) => Some((c * 100, c * 100 + 99)),
        _ => text
            .parse::<u16>()
            .ok()
            .filter(|code| (100..=599).contains(code) && text.len() == 3)
            .map(|code| (code, code)),
    }
}

/// A parameter's value; empty counts as not given (an empty form field).
fn param<'a>(query: &'a QueryMap, name: &str) -> Option<&'a str> {
    query
        .0
        .get(name)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
}

/// One entry as answered.
fn item(r: Record, names: &HashMap<String, String>) -> Value {
    let request: Option<Value> = r
        .request
        .as_deref()
        .map(|text| serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.into())));
    // The userName as sent, where the body still has it; else the folded key.
    let user_name = r.user_name_key.as_ref().map(|key| {
        request
            .as_ref()
            .and_then(|b| b.get("userName"))
            .and_then(Value::as_str)
            .filter(|sent| fold_key(sent) == *key)
            .map_or_else(|| key.clone(), str::to_string)
    });
    json!({
        "id": r.id,
        "at": format_time(r.at_us),
        "method": r.method,
        "path": r.path,
        "status": r.status,
        "latencyMs": r.latency_us as f64 / 1000.0,
        "credential": r.credential_id,
        "credentialName": names.get(&r.credential_id),
        "resourceId": r.resource_id,
        "userName": user_name,
        "scimType": r.scim_type,
        "detail": r.detail,
        "request": request,
    })
}

/// `GET /admin/v1/provisioning-log?status=&user=&credential=&startIndex=&count=`
/// (ViewUsers).
pub async fn list(
    State(state): State<AppState>,
    auth: AdminAuth,
    query: QueryMap,
) -> AdminResult<Json<Value>> {
    auth.require(&[Permission::ViewUsers])?;
    let params = crate::scim::list::ListParams::from_query(&query.0)?;
    let status = match param(&query, "status") {
        None => None,
        Some(text) => Some(status_range(text).ok_or_else(|| {
            AdminError::invalid(
                "status",
                format!(
                    "status must be a status code like 409, a class like 4xx, or error (every status from 400), not {text:?}"
                ),
            )
        })?),
    };
    let user = match param(&query, "user") {
        None => None,
        Some(user) => {
            // An id, or a userName: then also the requests naming that user's id (a PATCH,
            // a DELETE), whatever name they were sent under.
            let mut ids = vec![user.to_string()];
            match users::by_user_name(&state.db, &auth.tenant_id, user).await {
                Ok(found) => ids.push(found.id),
                Err(Error::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
            Some((ids, fold_key(user)))
        }
    };
    let q = store::Query {
        status,
        user,
        credential_id: param(&query, "credential").map(str::to_string),
        offset: params.start_index - 1,
        limit: params.count,
    };
    let (records, total) = store::list(&state.db, &auth.tenant_id, &q).await?;
    let names: HashMap<String, String> = credentials::list(&state.db, &auth.tenant_id)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let items: Vec<Value> = records.into_iter().map(|r| item(r, &names)).collect();
    Ok(Json(json!({
        "totalResults": total,
        "startIndex": params.start_index,
        "itemsPerPage": items.len(),
        "items": items,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_takes_a_code_a_class_or_error() {
        assert_eq!(status_range("409"), Some((409, 409)));
        assert_eq!(status_range("4xx"), Some((400, 499)));
        assert_eq!(status_range("5XX"), Some((500, 599)));
        assert_eq!(status_range("Error"), Some((400, 599)));
        for bad in [
            "", "4", "40", "4000", "6xx", "0xx", "xx", "099", "600", "4x", "e", "é",
        ] {
            assert_eq!(status_range(bad), None, "{bad}");
        }
    }
}
