//! `/admin/v1/event-receivers` (ManageSettings): where the tenant's SCIM events go — register
//! (the signing secret, and a poll receiver's token, are in the 201 answer, once), list,
//! change, delete, the deliveries with their dead letters, redelivery. And `/admin/v1/holds`:
//! the mass-deprovision brake's holds, with the users each keeps, and their release.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::AdminBody;
use super::auth::AdminAuth;
use super::error::{AdminError, AdminResult};
use crate::app::AppState;
use crate::domain::ownership::Permission;
use crate::http::extract::QueryMap;
use crate::scim::resource::format_time;
use crate::store::brake::{self, Hold, HoldItem};
use crate::store::events::{self as store, DEAD, DELIVERED, PENDING, Receiver};
use crate::write::receivers::{self, Made, ReceiverInput};

async fn receiver_json(state: &AppState, r: &Receiver) -> AdminResult<Value> {
    let [pending, delivered, dead] = store::counts(&state.db, &r.id).await?;
    Ok(json!({
        "id": r.id,
        "delivery": r.delivery,
        "url": r.url,
        "events": store::claims_of(&r.events),
        "description": r.description,
        "version": r.version,
        "created": format_time(r.created_us),
        "lastModified": format_time(r.modified_us),
        "deliveries": {"pending": pending, "delivered": delivered, "dead": dead},
        "downUntil": r.down_until_us.map(format_time),
    }))
}

async fn made_json(state: &AppState, made: &Made) -> AdminResult<Value> {
    let mut out = receiver_json(state, &made.receiver).await?;
    if let Some(secret) = &made.secret {
        out["secret"] = json!(secret);
    }
    if let Some(token) = &made.poll_token {
        out["pollToken"] = json!(token);
    }
    Ok(out)
}

fn string_field(body: &Value, name: &str) -> AdminResult<Option<Option<String>>> {
    match body.get(name) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
        Some(_) => Err(AdminError::invalid(
            name,
            format!("{name} must be a string"),
        )),
    }
}

fn input(body: &Value) -> AdminResult<ReceiverInput> {
    let Some(fields) = body.as_object() else {
        return Err(AdminError::syntax("the body must be a JSON object"));
    };
    if let Some(unknown) = fields.keys().find(|k| {
        !matches!(
            k.as_str(),
            "url" | "delivery" | "events" | "description" | "rotateSecret"
        )
    }) {
        return Err(AdminError::invalid(
            unknown.as_str(),
            format!(
                "unknown field {unknown:?}: a receiver has url, delivery, events, description (and rotateSecret on change)"
            ),
        ));
    }
    let events = match body.get("events") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|v| {
                    v.as_str().map(str::to_string).ok_or_else(|| {
                        AdminError::invalid("events", "events must be an array of event names")
                    })
                })
                .collect::<AdminResult<Vec<_>>>()?,
        ),
        Some(_) => {
            return Err(AdminError::invalid(
                "events",
                "events must be an array of event names",
            ));
        }
    };
    let rotate = match body.get("rotateSecret") {
        None | Some(Value::Bool(false)) => false,
        Some(Value::Bool(true)) => true,
        Some(_) => {
            return Err(AdminError::invalid(
                "rotateSecret",
                "rotateSecret must be a boolean",
            ));
        }
    };
    Ok(ReceiverInput {
        delivery: string_field(body, "delivery")?.flatten(),
        url: string_field(body, "url")?,
        events,
        description: string_field(body, "description")?,
        rotate,
    })
}

/// `GET /admin/v1/event-receivers`
pub async fn list(State(state): State<AppState>, auth: AdminAuth) -> AdminResult<Json<Value>> {
    auth.require(&[Permission::ManageSettings])?;
    let mut items = Vec::new();
    for r in store::receivers(&state.db, &auth.tenant_id).await? {
        items.push(receiver_json(&state, &r).await?);
    }
    Ok(Json(json!({"items": items})))
}

/// `POST /admin/v1/event-receivers` `{"url"} | {"delivery": "poll"}`, `events`,
/// `description`: 201 with the receiver, its `secret` and (polling) its `pollToken`, once.
pub async fn create(
    State(state): State<AppState>,
    auth: AdminAuth,
    AdminBody(body): AdminBody,
) -> AdminResult<(StatusCode, Json<Value>)> {
    let input = input(&body)?;
    if input.rotate {
        return Err(AdminError::invalid(
            "rotateSecret",
            "rotateSecret is for changing a receiver; a new one gets its secret",
        ));
    }
    let made = receivers::create(&state.db, &auth.tenant_id, &auth.actor, input).await?;
    Ok((StatusCode::CREATED, Json(made_json(&state, &made).await?)))
}

/// `GET /admin/v1/event-receivers/{id}`
pub async fn get(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
) -> AdminResult<Json<Value>> {
    auth.require(&[Permission::ManageSettings])?;
    let r = store::receiver(&state.db, &auth.tenant_id, &id).await?;
    Ok(Json(receiver_json(&state, &r).await?))
}

fn expected_version(headers: &axum::http::HeaderMap) -> AdminResult<Option<i64>> {
    let Some(value) = headers.get(axum::http::header::IF_MATCH) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|v| v.parse().ok())
        .map(Some)
        .ok_or_else(|| AdminError::invalid("If-Match", "If-Match must be a receiver's version"))
}

/// `PATCH /admin/v1/event-receivers/{id}` `{"url", "events", "description", "rotateSecret"}`
/// (If-Match: the version); a rotation answers the new secrets once.
pub async fn patch(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    AdminBody(body): AdminBody,
) -> AdminResult<Json<Value>> {
    let input = input(&body)?;
    let expected = expected_version(&headers)?;
    let made = receivers::update(
        &state.db,
        &auth.tenant_id,
        &id,
        &auth.actor,
        expected,
        input,
    )
    .await?;
    Ok(Json(made_json(&state, &made).await?))
}

/// `DELETE /admin/v1/event-receivers/{id}`: the receiver and its undelivered events go.
pub async fn delete(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
) -> AdminResult<StatusCode> {
    receivers::delete(&state.db, &auth.tenant_id, &id, &auth.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn page(query: &QueryMap) -> AdminResult<(u64, u64)> {
    let number = |name: &str, default: u64, max: u64| -> AdminResult<u64> {
        match query.0.get(name) {
            None => Ok(default),
            Some(v) => v.parse::<u64>().ok().filter(|n| *n <= max).ok_or_else(|| {
                AdminError::invalid(name, format!("{name} must be a whole number up to {max}"))
            }),
        }
    };
    let start = number("startIndex", 1, u64::MAX / 2)?.max(1);
    let count = number("count", 100, 1000)?;
    Ok((start, count))
}

/// `GET /admin/v1/event-receivers/{id}/deliveries?state=pending|delivered|dead&startIndex&count`:
/// the receiver's events in order, with attempts and the last error (dead letters:
/// `state=dead`).
pub async fn deliveries(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
    query: QueryMap,
) -> AdminResult<Json<Value>> {
    auth.require(&[Permission::ManageSettings])?;
    store::receiver(&state.db, &auth.tenant_id, &id).await?;
    let wanted = match query.0.get("state") {
        None => None,
        Some(s) if [PENDING, DELIVERED, DEAD].contains(&s.as_str()) => Some(s.as_str()),
        Some(other) => {
            return Err(AdminError::invalid(
                "state",
                format!("state must be pending, delivered or dead, not {other:?}"),
            ));
        }
    };
    let (start, count) = page(&query)?;
    let (total, rows) = store::deliveries(&state.db, &id, wanted, start - 1, count).await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|d| {
            json!({
                "jti": d.jti,
                "event": format!("{}{}", crate::domain::events::PREFIX, d.event),
                "resource": format!("/{}/{}", d.resource_type, d.resource_id),
                "state": d.state,
                "attempts": d.attempts,
                "created": format_time(d.created_us),
                "nextAttempt": (d.state == PENDING).then(|| format_time(d.next_us)),
                "delivered": d.delivered_us.map(format_time),
                "lastError": d.last_error,
            })
        })
        .collect();
    Ok(Json(
        json!({"totalResults": total, "startIndex": start, "items": items}),
    ))
}

/// `POST /admin/v1/event-receivers/{id}/redeliver`: dead deliveries go back in line.
pub async fn redeliver(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
) -> AdminResult<Json<Value>> {
    let count = receivers::redeliver(&state.db, &auth.tenant_id, &id, &auth.actor).await?;
    Ok(Json(json!({"redelivered": count})))
}

async fn hold_json(
    state: &AppState,
    tenant_id: &str,
    hold: &Hold,
    items: &[HoldItem],
) -> AdminResult<Value> {
    let ids: Vec<String> = items.iter().map(|i| i.user_id.clone()).collect();
    let names: HashMap<String, (String, Option<String>)> =
        crate::store::users::names(&state.db, tenant_id, &ids).await?;
    let users: Vec<Value> = items
        .iter()
        .map(|i| {
            let (user_name, display_name) = names
                .get(&i.user_id)
                .cloned()
                .map_or((None, None), |(u, d)| (Some(u), d));
            json!({
                "id": i.user_id,
                "userName": user_name,
                "displayName": display_name,
                "operation": i.operation,
                "firstAttempt": format_time(i.first_us),
                "lastAttempt": format_time(i.last_us),
                "attempts": i.attempts,
            })
        })
        .collect();
    Ok(json!({
        "id": hold.id,
        "credential": hold.credential_id,
        "state": hold.state,
        "threshold": hold.threshold,
        "activeUsers": hold.active_users,
        "created": format_time(hold.created_us),
        "released": hold.released_us.map(format_time),
        "releasedBy": hold.released_by,
        "users": users,
    }))
}

/// `GET /admin/v1/holds?state=held|released` (ViewUsers): newest first, each with the users
/// it keeps from being deactivated or deleted.
pub async fn holds(
    State(state): State<AppState>,
    auth: AdminAuth,
    query: QueryMap,
) -> AdminResult<Json<Value>> {
    auth.require(&[Permission::ViewUsers])?;
    let wanted = match query.0.get("state") {
        None => None,
        Some(s) if [brake::HELD, brake::RELEASED].contains(&s.as_str()) => Some(s.as_str()),
        Some(other) => {
            return Err(AdminError::invalid(
                "state",
                format!("state must be held or released, not {other:?}"),
            ));
        }
    };
    let mut items = Vec::new();
    for (hold, kept) in brake::holds(&state.db, &auth.tenant_id, wanted).await? {
        items.push(hold_json(&state, &auth.tenant_id, &hold, &kept).await?);
    }
    Ok(Json(json!({"items": items})))
}

/// `POST /admin/v1/holds/{id}/release` (ArchiveUser and DeleteUser): the identity provider's
/// retries of the held users go through; a new count starts.
pub async fn release(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
) -> AdminResult<Json<Value>> {
    let hold = receivers::release_hold(&state.db, &auth.tenant_id, &id, &auth.actor).await?;
    let kept = brake::items(&state.db, &hold.id).await?;
    Ok(Json(
        hold_json(&state, &auth.tenant_id, &hold, &kept).await?,
    ))
}
