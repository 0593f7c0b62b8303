//! `POST /Bulk` (RFC 7644 §3.7). Each operation runs as its own request through the SCIM
//! routes — authenticated with the caller's credentials, validated, written in its own
//! transaction and audited exactly as if it had been sent alone — and the answers are
//! collected into a BulkResponse. Parsing, `bulkId:` references and the order of operations
//! are `scim::bulk`'s.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Extension, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use axum::response::Response;
use serde_json::{Map, Value, json};
use tower::ServiceExt;

use super::auth::ScimAuth;
use super::discovery::MAX_BODY;
use super::error::{ErrorCause, SCIM_JSON};
use super::extract::{BaseUrl, ScimBody, ScimJson};
use crate::app::AppState;
use crate::scim::bulk::{self, BULK_RESPONSE, BulkRequest, Outcome, Schedule};
use crate::scim::{ScimError, ScimResult};

/// The request headers each operation carries over from the bulk request: the credentials,
/// and what the base URL of `meta.location` and the client address are read from.
const CARRIED: [HeaderName; 5] = [
    header::AUTHORIZATION,
    header::HOST,
    HeaderName::from_static("x-forwarded-proto"),
    HeaderName::from_static("x-forwarded-host"),
    HeaderName::from_static("x-forwarded-for"),
];

/// `POST /Bulk`: 200 with a BulkResponse listing each operation run, in the order they ran.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn run(
    State(state): State<AppState>,
    _auth: ScimAuth,
    BaseUrl(base): BaseUrl,
    headers: HeaderMap,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: Result<ScimBody, ScimError>,
) -> ScimResult<ScimJson> {
    let ScimBody(body) = body.map_err(|e| match e.status {
        413 => ScimError::too_large(format!(
            "the bulk request is larger than maxPayloadSize ({MAX_BODY} bytes)"
        )),
        _ => e,
    })?;
    let request = bulk::parse(&body)?;
    let sender = Sender {
        routes: crate::http::scim_routes(&state).with_state(state.clone()),
        headers: CARRIED
            .iter()
            .filter_map(|name| Some((name.clone(), headers.get(name)?.clone())))
            .collect(),
        peer: peer.map(|Extension(p)| p),
        base,
    };
    let n = request.operations.len();
    let mut schedule = Schedule::new(&request);
    let mut outcomes: Vec<Option<Outcome>> = vec![None; n];
    let mut results = Vec::with_capacity(n);
    let mut failures = 0;
    while let Some(i) = schedule.next_ready() {
        let (result, outcome) = operation(&sender, &request, &schedule, &outcomes, i).await;
        if matches!(outcome, Outcome::Failed(_)) {
            failures += 1;
        }
        outcomes[i] = Some(outcome);
        schedule.done(i);
        results.push(result);
        if request
            .fail_on_errors
            .is_some_and(|limit| failures >= limit)
        {
            break;
        }
    }
    Ok(ScimJson::ok(json!({
        "schemas": [BULK_RESPONSE],
        "Operations": results,
    })))
}

/// What sending an operation needs: the SCIM routes with their layers, and what each
/// operation's request carries over from the bulk request.
struct Sender {
    routes: Router,
    headers: Vec<(HeaderName, HeaderValue)>,
    peer: Option<ConnectInfo<SocketAddr>>,
    base: String,
}

/// What one operation's request answered.
struct Answer {
    status: u16,
    etag: Option<String>,
    location: Option<String>,
    /// The SCIM error body of a failure.
    error: Option<Value>,
}

impl Sender {
    /// Sends one operation through the SCIM routes as a request of its own; `version`
    /// becomes its `If-Match`.
    async fn send(
        &self,
        method: Method,
        path: &str,
        version: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> ScimResult<Answer> {
        let mut request = Request::builder().method(method).uri(path);
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        if let Some(version) = version {
            let value = HeaderValue::from_str(version).map_err(|_| {
                ScimError::invalid_value(format!(
                    "version {version:?} is not an entity tag (such as W/\"3\")"
                ))
            })?;
            request = request.header(header::IF_MATCH, value);
        }
        let body = match body {
            Some(bytes) => {
                request = request.header(header::CONTENT_TYPE, SCIM_JSON);
                Body::from(bytes)
            }
            None => Body::empty(),
        };
        let mut request = request
            .body(body)
            .map_err(|e| ScimError::invalid_value(format!("cannot form the request: {e}")))?;
        if let Some(peer) = self.peer {
            request.extensions_mut().insert(peer);
        }
        let response: Response = match self.routes.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let status = response.status();
        let etag = header_text(&response, header::ETAG);
        let location = header_text(&response, header::LOCATION);
        if let Some(ErrorCause(cause)) = response.extensions().get::<ErrorCause>() {
            tracing::error!(status = status.as_u16(), cause, "a bulk operation failed");
        }
        let error = if status.is_client_error() || status.is_server_error() {
            let bytes = axum::body::to_bytes(response.into_body(), MAX_BODY)
                .await
                .unwrap_or_default();
            Some(
                serde_json::from_slice::<Value>(&bytes)
                    .ok()
                    .filter(Value::is_object)
                    .unwrap_or_else(|| {
                        let reason = status.canonical_reason().unwrap_or("error");
                        ScimError::new(status.as_u16(), None, reason.to_ascii_lowercase()).body()
                    }),
            )
        } else {
            None
        };
        Ok(Answer {
            status: status.as_u16(),
            etag,
            location,
            error,
        })
    }
}

fn header_text(response: &Response, name: HeaderName) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Runs operation `i`: checks it, resolves its bulkId references, sends it; its entry of
/// the BulkResponse and its outcome.
async fn operation(
    sender: &Sender,
    request: &BulkRequest,
    schedule: &Schedule,
    outcomes: &[Option<Outcome>],
    i: usize,
) -> (Value, Outcome) {
    let op = &request.operations[i];
    let mut entry = Map::new();
    if let Some(method) = &op.method {
        entry.insert("method".into(), method.clone().into());
    }
    if let Some(bulk_id) = &op.bulk_id {
        entry.insert("bulkId".into(), bulk_id.clone().into());
    }
    let answer = async {
        let sent = op.request.as_ref().map_err(Clone::clone)?;
        if let Some(cycle) = schedule.cycle(i) {
            return Err(bulk::circular(request, i, cycle));
        }
        let ids = bulk::bindings(request, &sent.references, outcomes)?;
        let endpoint = bulk::endpoint(sent.resource);
        let id = sent.id.as_deref().map(|id| bulk::resolve_id(id, &ids));
        if let Some(id) = &id {
            entry.insert(
                "location".into(),
                format!("{}{endpoint}/{id}", sender.base).into(),
            );
        }
        let body = sent.data.as_ref().map(|data| {
            if ids.is_empty() {
                serde_json::to_vec(data)
            } else {
                let mut data = data.clone();
                bulk::substitute(&mut data, &ids);
                serde_json::to_vec(&data)
            }
            .unwrap_or_default()
        });
        // Only the status, ETag and Location of a success are reported: `attributes=id`
        // spares rendering the resource (a user's groups, a group's members).
        let path = match &id {
            Some(id) => format!("{endpoint}/{}", encode_segment(id)),
            None => endpoint.to_string(),
        };
        let path = match sent.method {
            bulk::Method::Delete => path,
            _ => format!("{path}?attributes=id"),
        };
        let method = match sent.method {
            bulk::Method::Post => Method::POST,
            bulk::Method::Put => Method::PUT,
            bulk::Method::Patch => Method::PATCH,
            bulk::Method::Delete => Method::DELETE,
        };
        sender
            .send(method, &path, sent.version.as_deref(), body)
            .await
    }
    .await;
    let answer = answer.unwrap_or_else(|e| Answer {
        status: e.status,
        etag: None,
        location: None,
        error: Some(e.body()),
    });
    let created = op
        .request
        .as_ref()
        .is_ok_and(|r| r.method == bulk::Method::Post);
    let outcome = match (&answer.error, &answer.location) {
        (Some(_), _) => Outcome::Failed(answer.status),
        (None, Some(location)) if created => {
            let id = location.rsplit('/').next().unwrap_or_default();
            entry.insert("location".into(), location.clone().into());
            Outcome::Created(id.to_string())
        }
        (None, _) => Outcome::Done,
    };
    if answer.error.is_none()
        && let Some(etag) = answer.etag
    {
        entry.insert("version".into(), etag.into());
    }
    entry.insert("status".into(), answer.status.to_string().into());
    if let Some(error) = answer.error {
        entry.insert("response".into(), error);
    }
    (Value::Object(entry), outcome)
}

/// Percent-encodes an id for a path segment (all but letters, digits, `-`, `_` and `~`; a
/// dot too, so that no id names another route such as `/Users/.search`): any id routes to
/// `/{resource}/{id}` and reaches the handler as sent.
fn encode_segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
