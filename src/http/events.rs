//! `POST /events/v1/poll`: SCIM events for receivers that poll (RFC 8936). The receiver
//! authenticates with its poll token (`Authorization: Bearer …`, made when it was
//! registered), acknowledges what it took (`ack`), reports SETs it could not use
//! (`setErrs`: they become dead letters), and gets the next events in order:
//! `{"sets": {jti: SET}, "moreAvailable": bool}`. Events stay until acknowledged, so a lost
//! answer loses nothing: the next poll answers them again. Unless `returnImmediately` is
//! true, an empty poll waits up to 10 seconds for events.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::extract::ScimBody;
use crate::app::AppState;
use crate::events::{set_claims, sign};
use crate::store::{credentials, events as outbox};

/// The most events one poll answers.
pub const MAX_EVENTS: u64 = 1000;

/// How long an empty poll waits for events.
const LONG_POLL: Duration = Duration::from_secs(10);

fn error(status: StatusCode, err: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"err": err, "description": description})),
    )
        .into_response()
}

struct PollRequest {
    ack: Vec<String>,
    errors: Vec<(String, String)>,
    max: u64,
    wait: bool,
}

fn parse(body: &Value) -> Result<PollRequest, String> {
    let fields = body.as_object().ok_or("the body must be a JSON object")?;
    let ack = match fields.get("ack") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or("ack must be an array of jti strings")?,
        Some(_) => return Err("ack must be an array of jti strings".into()),
    };
    let errors = match fields.get("setErrs") {
        None => Vec::new(),
        Some(Value::Object(errs)) => errs
            .iter()
            .map(|(jti, e)| {
                let text = format!(
                    "receiver: {} {}",
                    e.get("err").and_then(Value::as_str).unwrap_or("error"),
                    e.get("description").and_then(Value::as_str).unwrap_or("")
                );
                (jti.clone(), text.trim().to_string())
            })
            .collect(),
        Some(_) => return Err("setErrs must be an object of jti → {err, description}".into()),
    };
    let max = match fields.get("maxEvents") {
        None => 100,
        Some(v) => v.as_u64().filter(|n| *n <= MAX_EVENTS).ok_or(format!(
            "maxEvents must be a whole number up to {MAX_EVENTS}"
        ))?,
    };
    let wait = match fields.get("returnImmediately") {
        None => true,
        Some(Value::Bool(b)) => !b,
        Some(_) => return Err("returnImmediately must be a boolean".into()),
    };
    Ok(PollRequest {
        ack,
        errors,
        max,
        wait,
    })
}

/// `POST /events/v1/poll`
pub async fn poll(State(state): State<AppState>, headers: HeaderMap, body: ScimBody) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(token) = token else {
        return error(
            StatusCode::UNAUTHORIZED,
            "authentication_failed",
            "send the receiver's poll token as Authorization: Bearer",
        );
    };
    let receiver = match outbox::receiver_by_poll_token(&state.db, &credentials::hash(token)).await
    {
        Ok(Some(r)) => r,
        Ok(None) => {
            return error(
                StatusCode::UNAUTHORIZED,
                "authentication_failed",
                "unknown poll token",
            );
        }
        Err(e) => return crate::scim::ScimError::from(e).into_response(),
    };
    let request = match parse(&body.0) {
        Ok(r) => r,
        Err(detail) => return error(StatusCode::BAD_REQUEST, "invalid_request", &detail),
    };
    let deadline = tokio::time::Instant::now() + LONG_POLL;
    let mut ack = request.ack;
    let mut errors = request.errors;
    loop {
        let (sets, more) =
            match outbox::poll(&state.db, &receiver.id, &ack, &errors, request.max).await {
                Ok(found) => found,
                Err(e) => return crate::scim::ScimError::from(e).into_response(),
            };
        ack.clear();
        errors.clear();
        if !sets.is_empty()
            || !request.wait
            || request.max == 0
            || tokio::time::Instant::now() >= deadline
        {
            let issuer = format!("{}/scim/v2", state.edge.base(&headers));
            let mut out = Map::new();
            for (jti, claims) in sets {
                out.insert(
                    jti,
                    Value::String(sign(
                        &set_claims(&claims, &issuer, &receiver.id),
                        &receiver.secret,
                    )),
                );
            }
            return Json(json!({"sets": out, "moreAvailable": more})).into_response();
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
