//! The provisioning log's recorder: a middleware on the SCIM routes (and so on every
//! operation `/Bulk` dispatches through them) notes each request a credential authenticated
//! — method, path and query, status, latency, the resource, the userName it named, the SCIM
//! error, the body — and hands it to a bounded queue; one writer task per application turns
//! them into rows (secrets removed, sizes bounded: `scim::redact`) and writes them in
//! multi-row batches, then keeps each credential's newest rows only and drops those past the
//! age limit. The request never waits for the database: when the queue is full the entry is
//! dropped and counted (`rollcall_provisioning_log_dropped_total`).

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::Response;
use http_body::{Frame, SizeHint};
use prometheus_client::metrics::counter::Counter;
use sea_orm::DatabaseConnection;
use tokio::sync::{mpsc, oneshot};

use crate::app::AppState;
use crate::domain::user::fold_key;
use crate::http::discovery::MAX_BODY;
use crate::http::error::ErrorDetail;
use crate::scim::redact::{self, MAX_PATH_KEPT};
use crate::store::now_us;
use crate::store::provisioning_log::{self as store, NewEntry};

/// Entries kept per credential when `--provisioning-log-rows` is not given.
pub const DEFAULT_ROWS: u64 = 1000;

/// Days an entry is kept when `--provisioning-log-days` is not given.
pub const DEFAULT_DAYS: u64 = 7;

/// The most of an error's detail kept, in bytes.
const MAX_DETAIL_KEPT: usize = 2048;

/// The most of a userName kept, in bytes.
const MAX_USER_NAME_KEPT: usize = 1024;

/// Entries waiting for the writer; past it, new ones are dropped.
const QUEUE_ENTRIES: usize = 4096;

/// Body bytes waiting for the writer; past it, new entries are dropped.
const QUEUE_BYTES: usize = 32 * 1024 * 1024;

/// The writer's pause after each batch, while the next one gathers.
const BATCH_EVERY: Duration = Duration::from_millis(200);

/// How often entries past the age limit are deleted.
const AGE_PRUNE_EVERY: Duration = Duration::from_secs(60);

/// How much the log keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogConfig {
    /// Entries kept per credential, newest first; 0 turns the log off.
    pub rows_per_credential: u64,
    /// Entries older than this are deleted.
    pub max_age: Duration,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            rows_per_credential: DEFAULT_ROWS,
            max_age: Duration::from_secs(DEFAULT_DAYS * 24 * 3600),
        }
    }
}

/// Whose request it is: the tenant and credential authentication found, set on the request
/// by `http::auth` (also when the request is then refused: a disabled tenant, a rate limit,
/// an admin credential on SCIM). A request without a valid credential has none and is not
/// logged: the log of a credential holds only requests that proved to be its.
#[derive(Debug, Clone, Default)]
pub struct Attribution(Arc<OnceLock<(String, String)>>);

impl Attribution {
    /// Records the tenant's id and the credential's id (the first call wins).
    pub fn set(&self, tenant_id: &str, credential_id: &str) {
        let _ = self
            .0
            .set((tenant_id.to_string(), credential_id.to_string()));
    }

    fn get(&self) -> Option<(String, String)> {
        self.0.get().cloned()
    }
}

/// The request body's chunks as the handler read them (up to the body limit).
#[derive(Default)]
struct Kept {
    chunks: Vec<Bytes>,
    len: usize,
    over: bool,
}

/// A request body that keeps a copy of what is read from it: the handler's own extractor
/// reads it, with the body limit and timeout, and the log sees exactly what it saw.
struct TeeBody {
    inner: Body,
    kept: Arc<Mutex<Kept>>,
}

impl http_body::Body for TeeBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
            && let Ok(mut kept) = this.kept.lock()
        {
            kept.len += data.len();
            if kept.len > MAX_BODY {
                kept.over = true;
                kept.chunks.clear();
            } else {
                kept.chunks.push(data.clone());
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// One request as the middleware saw it; the writer makes the row.
struct Raw {
    tenant_id: String,
    credential_id: String,
    at_us: i64,
    method: Method,
    /// The path and query as routed.
    target: String,
    status: u16,
    latency_us: i64,
    /// A 201's `Location`.
    location: Option<String>,
    error: Option<ErrorDetail>,
    body: Kept,
}

impl Raw {
    fn queued_bytes(&self) -> usize {
        self.body.len
    }
}

enum Message {
    Entry(Box<Raw>),
    /// Answered once everything sent before it is written.
    Flush(oneshot::Sender<()>),
}

/// What the writer shares with the log.
struct Shared {
    db: DatabaseConnection,
    config: LogConfig,
    dropped: Counter,
    queued_bytes: AtomicUsize,
}

/// The application's provisioning log: the queue and its writer.
pub struct ProvisioningLog {
    sender: mpsc::Sender<Message>,
    receiver: Mutex<Option<mpsc::Receiver<Message>>>,
    started: Once,
    shared: Arc<Shared>,
}

impl ProvisioningLog {
    /// A log writing to `db`, counting dropped entries in `dropped`. Its writer starts with
    /// [`start`](Self::start), or with the first request logged.
    pub fn new(db: DatabaseConnection, config: LogConfig, dropped: Counter) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE_ENTRIES);
        ProvisioningLog {
            sender,
            receiver: Mutex::new(Some(receiver)),
            started: Once::new(),
            shared: Arc::new(Shared {
                db,
                config,
                dropped,
                queued_bytes: AtomicUsize::new(0),
            }),
        }
    }

    pub fn config(&self) -> LogConfig {
        self.shared.config
    }

    fn on(&self) -> bool {
        self.shared.config.rows_per_credential > 0
    }

    /// Starts the writer on the current tokio runtime (once; later calls do nothing).
    pub fn start(&self) {
        if !self.on() {
            return;
        }
        self.started.call_once(|| {
            let receiver = self.receiver.lock().ok().and_then(|mut r| r.take());
            if let Some(receiver) = receiver {
                tokio::spawn(write_batches(receiver, self.shared.clone()));
            }
        });
    }

    /// Waits, at most `within`, until everything logged so far is written (at shutdown).
    pub async fn flush(&self, within: Duration) {
        if !self.on() {
            return;
        }
        self.start();
        let (done, written) = oneshot::channel();
        let _ = tokio::time::timeout(within, async {
            if self.sender.send(Message::Flush(done)).await.is_ok() {
                let _ = written.await;
            }
        })
        .await;
    }

    fn send(&self, raw: Raw) {
        let bytes = raw.queued_bytes();
        let queued = self.shared.queued_bytes.fetch_add(bytes, Ordering::Relaxed);
        if queued + bytes > QUEUE_BYTES
            || self.sender.try_send(Message::Entry(Box::new(raw))).is_err()
        {
            self.shared.queued_bytes.fetch_sub(bytes, Ordering::Relaxed);
            self.shared.dropped.inc();
        }
    }
}

/// A request on its way through the handler; sends its entry when the answer is known, or,
/// if the request is dropped unanswered (the request timeout passed, or the client went
/// away), an entry saying so.
struct Pending {
    log: Arc<ProvisioningLog>,
    attribution: Attribution,
    started: Instant,
    at_us: i64,
    method: Method,
    target: String,
    kept: Arc<Mutex<Kept>>,
    sent: bool,
}

impl Pending {
    fn send(&mut self, status: u16, location: Option<String>, error: Option<ErrorDetail>) {
        self.sent = true;
        let Some((tenant_id, credential_id)) = self.attribution.get() else {
            return;
        };
        let body = self
            .kept
            .lock()
            .map(|mut k| std::mem::take(&mut *k))
            .unwrap_or_default();
        self.log.send(Raw {
            tenant_id,
            credential_id,
            at_us: self.at_us,
            method: self.method.clone(),
            target: std::mem::take(&mut self.target),
            status,
            latency_us: i64::try_from(self.started.elapsed().as_micros()).unwrap_or(i64::MAX),
            location,
            error,
            body,
        });
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if self.sent {
            return;
        }
        // A panicking handler is answered 500 by the panic layer.
        let (status, detail) = if std::thread::panicking() {
            (500, "internal server error")
        } else {
            (
                503,
                "no answer was sent: the request took longer than the request timeout (the \
                 client got 503) or the client disconnected first",
            )
        };
        let error = ErrorDetail {
            scim_type: None,
            detail: detail.into(),
        };
        self.send(status, None, Some(error));
    }
}

/// The middleware: logs the request once it is answered, if a credential authenticated it.
pub async fn record(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let log = state.provisioning_log.clone();
    if !log.on() {
        return next.run(request).await;
    }
    log.start();
    // An operation of /Bulk arrives with its request's attribution; authentication may set
    // it again, to the same credential.
    let attribution = Attribution::default();
    if let Some((tenant_id, credential_id)) = request
        .extensions()
        .get::<Attribution>()
        .and_then(Attribution::get)
    {
        attribution.set(&tenant_id, &credential_id);
    }
    request.extensions_mut().insert(attribution.clone());
    let kept = Arc::new(Mutex::new(Kept::default()));
    let mut pending = Pending {
        log,
        attribution,
        started: Instant::now(),
        at_us: now_us(),
        method: request.method().clone(),
        target: request
            .uri()
            .path_and_query()
            .map_or_else(|| request.uri().path().to_string(), |pq| pq.to_string()),
        kept: kept.clone(),
        sent: false,
    };
    let request = request.map(|inner| Body::new(TeeBody { inner, kept }));
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let location = (status == 201)
        .then(|| response.headers().get(header::LOCATION))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let error = response.extensions().get::<ErrorDetail>().cloned();
    pending.send(status, location, error);
    response
}

/// The writer: waits for entries, writes what has gathered in one batch, prunes, pauses
/// [`BATCH_EVERY`] so the next batch can gather; deletes entries past the age limit every
/// [`AGE_PRUNE_EVERY`]. Ends when every sender is gone.
async fn write_batches(mut receiver: mpsc::Receiver<Message>, shared: Arc<Shared>) {
    let mut next_age_prune = tokio::time::Instant::now();
    loop {
        if tokio::time::Instant::now() >= next_age_prune {
            prune_by_age(&shared).await;
            next_age_prune = tokio::time::Instant::now() + AGE_PRUNE_EVERY;
        }
        let first = match tokio::time::timeout_at(next_age_prune, receiver.recv()).await {
            Ok(Some(message)) => message,
            Ok(None) => return,
            Err(_) => continue,
        };
        let mut entries = Vec::new();
        let mut flushes = Vec::new();
        let mut next = Some(first);
        while let Some(message) = next {
            match message {
                Message::Entry(raw) => {
                    shared
                        .queued_bytes
                        .fetch_sub(raw.queued_bytes(), Ordering::Relaxed);
                    entries.push(entry(*raw));
                }
                Message::Flush(done) => flushes.push(done),
            }
            next = receiver.try_recv().ok();
        }
        write(&shared, &entries).await;
        let flushed = !flushes.is_empty();
        for done in flushes {
            let _ = done.send(());
        }
        if !flushed {
            tokio::time::sleep(BATCH_EVERY).await;
        }
    }
}

/// Writes a batch, then keeps the newest entries of each credential in it.
async fn write(shared: &Shared, entries: &[NewEntry]) {
    if entries.is_empty() {
        return;
    }
    if let Err(err) = store::insert(&shared.db, entries).await {
        shared.dropped.inc_by(entries.len() as u64);
        tracing::warn!(%err, entries = entries.len(), "provisioning log: a batch could not be written and is dropped");
        return;
    }
    let mut credentials: Vec<&str> = entries.iter().map(|e| e.credential_id.as_str()).collect();
    credentials.sort_unstable();
    credentials.dedup();
    for credential_id in credentials {
        let keep = shared.config.rows_per_credential;
        if let Err(err) = store::keep_newest(&shared.db, credential_id, keep).await {
            tracing::warn!(%err, credential_id, "provisioning log: cannot prune a credential's entries");
        }
    }
}

async fn prune_by_age(shared: &Shared) {
    let age = i64::try_from(shared.config.max_age.as_micros()).unwrap_or(i64::MAX);
    if let Err(err) = store::delete_older(&shared.db, now_us().saturating_sub(age)).await {
        tracing::warn!(%err, "provisioning log: cannot delete old entries");
    }
}

/// The row of a request: the path under `/scim/v2` with secret query parameters removed,
/// the resource id (from the path, or a 201's `Location`), the userName a Users create or
/// replace named, the error, the body as `scim::redact` keeps it.
fn entry(raw: Raw) -> NewEntry {
    let (path, query) = raw
        .target
        .split_once('?')
        .map_or((raw.target.as_str(), None), |(p, q)| (p, Some(q)));
    let path = if path.starts_with("/scim/v2") {
        path.to_string()
    } else {
        format!("/scim/v2{path}")
    };
    let segments: Vec<&str> = path
        .trim_start_matches("/scim/v2")
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let resource_id = match segments.as_slice() {
        ["Users" | "Groups", id] if *id != ".search" => Some((*id).to_string()),
        _ => None,
    }
    .or_else(|| {
        raw.location
            .as_deref()
            .and_then(|l| l.rsplit('/').next())
            .map(str::to_string)
    });
    let body: Vec<u8> = raw.body.chunks.concat();
    let parsed: Option<serde_json::Value> = if raw.body.over {
        None
    } else {
        serde_json::from_slice(&body).ok()
    };
    let names_user = matches!(
        (&raw.method, segments.as_slice()),
        (&Method::POST, ["Users"]) | (&Method::PUT, ["Users", _])
    );
    let user_name_key = parsed
        .as_ref()
        .filter(|_| names_user)
        .and_then(|b| b.get("userName"))
        .and_then(serde_json::Value::as_str)
        .map(|name| redact::bound(&fold_key(name), MAX_USER_NAME_KEPT));
    let request = if raw.body.over {
        Some(serde_json::Value::String(format!(
            "({} bytes: over the body limit, not kept)",
            raw.body.len
        )))
    } else {
        match parsed {
            Some(value) => Some(redact::keep(value)),
            None => redact::kept_body(&body),
        }
    };
    let full = match query {
        Some(q) => format!("{path}?{}", redact::redact_query(q)),
        None => path,
    };
    let (scim_type, detail) = match raw.error.filter(|_| raw.status >= 400) {
        Some(e) => (
            e.scim_type.map(str::to_string),
            Some(redact::bound(&e.detail, MAX_DETAIL_KEPT)),
        ),
        None => (None, None),
    };
    NewEntry {
        tenant_id: raw.tenant_id,
        credential_id: raw.credential_id,
        at_us: raw.at_us,
        method: redact::bound(raw.method.as_str(), 16),
        path: redact::bound(&full, MAX_PATH_KEPT),
        status: raw.status,
        latency_us: raw.latency_us,
        resource_id: resource_id.map(|id| redact::bound(&id, MAX_USER_NAME_KEPT)),
        user_name_key,
        scim_type,
        detail,
        request: request.map(|v| v.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn raw(method: Method, target: &str, status: u16, body: &str) -> Raw {
        Raw {
            tenant_id: "t".into(),
            credential_id: "c".into(),
            at_us: 1,
            method,
            target: target.into(),
            status,
            latency_us: 1500,
            location: None,
            error: None,
            body: Kept {
                chunks: vec![Bytes::copy_from_slice(body.as_bytes())],
                len: body.len(),
                over: false,
            },
        }
    }

    #[test]
    fn a_failed_create_keeps_its_user_name_error_and_body_without_the_password() {
        let mut r = raw(
            Method::POST,
            "/Users?aadOptscim062020",
            409,
            r#"{"userName":"Ann@Acme.example","password":"hunter2"}"#,
        );
        r.error = Some(ErrorDetail {
            scim_type: Some("uniqueness"),
            detail: "userName is taken".into(),
        });
        let e = entry(r);
        assert_eq!(e.path, "/scim/v2/Users?aadOptscim062020");
        assert_eq!(e.user_name_key.as_deref(), Some("ann@acme.example"));
        assert_eq!(e.resource_id, None);
        assert_eq!(e.scim_type.as_deref(), Some("uniqueness"));
        assert_eq!(e.detail.as_deref(), Some("userName is taken"));
        let request: serde_json::Value =
            serde_json::from_str(e.request.as_deref().unwrap_or("null")).expect("json");
        assert_eq!(
            request,
            json!({"userName": "Ann@Acme.example", "password": "(removed)"})
        );
    }

    #[test]
    fn the_resource_comes_from_the_path_or_the_location_of_a_create() {
        let e = entry(raw(Method::PATCH, "/scim/v2/Users/abc", 200, "{}"));
        assert_eq!(e.resource_id.as_deref(), Some("abc"));
        assert_eq!(e.user_name_key, None);
        let mut r = raw(Method::POST, "/Groups", 201, r#"{"displayName":"G"}"#);
        r.location = Some("http://localhost/scim/v2/Groups/g-1".into());
        assert_eq!(entry(r).resource_id.as_deref(), Some("g-1"));
        let e = entry(raw(Method::POST, "/Users/.search", 200, "{}"));
        assert_eq!(e.resource_id, None);
        assert_eq!(e.user_name_key, None);
        let e = entry(raw(Method::GET, "/Users", 200, ""));
        assert_eq!(e.request, None);
        assert_eq!(e.detail, None);
    }
}
