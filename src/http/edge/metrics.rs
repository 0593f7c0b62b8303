//! Prometheus metrics (`prometheus-client`), one registry per application: requests and
//! their latency by route template, method and status; rate-limited and failed
//! authentications; the database pool; dropped provisioning log entries; build info. Labels are route templates, never paths,
//! ids, tenants or credentials, so nothing personal or secret reaches a scrape.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use sea_orm::{DatabaseBackend, DatabaseConnection};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

fn latency_histogram() -> Histogram {
    // 0.25 ms to ~8 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

/// Why a request was refused with 429.
#[derive(Debug, Clone, Copy)]
pub enum Throttled {
    /// The credential is over its rate.
    Rate,
    /// The client address made too many failed authentications.
    AuthFailures,
}

/// The application's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    throttled: Family<ReasonLabels, Counter>,
    auth_failures: Counter,
    pool: Family<PoolLabels, Gauge>,
    provisioning_log_dropped: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("rollcall");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from receiving a request's headers to its answer, by method and route template",
            latency.clone(),
        );
        let throttled = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "rate_limited_requests",
            "Requests refused with 429: reason=rate (a credential over its rate) or auth_failures (an address with too many failed authentications)",
            throttled.clone(),
        );
        let auth_failures = Counter::default();
        registry.register(
            "auth_failures",
            "Requests with missing or invalid credentials",
            auth_failures.clone(),
        );
        let pool = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Database pool connections: state=open (all) or idle",
            pool.clone(),
        );
        let provisioning_log_dropped = Counter::default();
        registry.register(
            "provisioning_log_dropped",
            "Provisioning log entries dropped: the queue to the writer was full, or a batch could not be written",
            provisioning_log_dropped.clone(),
        );
        let build = Family::<BuildLabels, Gauge>::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        registry.register("build_info", "The running Rollcall's version", build);
        Metrics {
            registry,
            requests,
            latency,
            throttled,
            auth_failures,
            pool,
            provisioning_log_dropped,
        }
    }
}

/// A method label: the standard methods by name, any other as `OTHER`, so a client cannot
/// mint label values.
fn method_label(method: &str) -> &str {
    const KNOWN: [&str; 9] = [
        "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT",
    ];
    KNOWN
        .iter()
        .find(|m| **m == method)
        .copied()
        .unwrap_or("OTHER")
}

impl Metrics {
    /// Counts an answered request.
    pub fn request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let method = method_label(method);
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_string(),
                route: route.to_string(),
                status: status.to_string(),
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                method: method.to_string(),
                route: route.to_string(),
            })
            .observe(seconds);
    }

    pub fn throttled(&self, why: Throttled) {
        let reason = match why {
            Throttled::Rate => "rate",
            Throttled::AuthFailures => "auth_failures",
        };
        self.throttled.get_or_create(&ReasonLabels { reason }).inc();
    }

    pub fn auth_failure(&self) {
        self.auth_failures.inc();
    }

    /// The counter of dropped provisioning log entries, for the log's writer.
    pub fn provisioning_log_dropped(&self) -> Counter {
        self.provisioning_log_dropped.clone()
    }

    /// The Prometheus text exposition, with the pool's current use.
    pub fn render(&self, db: &DatabaseConnection) -> String {
        let (open, idle) = match db.get_database_backend() {
            DatabaseBackend::Sqlite => {
                let pool = db.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
            }
            DatabaseBackend::Postgres => {
                let pool = db.get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
            _ => (0, 0),
        };
        self.pool
            .get_or_create(&PoolLabels { state: "open" })
            .set(i64::from(open));
        self.pool
            .get_or_create(&PoolLabels { state: "idle" })
            .set(i64::try_from(idle).unwrap_or(i64::MAX));
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}
