//! The production edge, as a client on the network sees it: rate limits and the
//! failed-authentication throttle, connection timeouts and the early 413 on a real socket,
//! tolerant SCIM paths, links built from the configured public URL (never a Host header),
//! `/metrics`, `/readyz`, and 503 with `Retry-After` while the database is unreachable.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::http::Method;
use rollcall::http::edge::EdgeConfig;
use rollcall::http::edge::server::{self, ConnectionLimits};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use crate::harness::{TestApp, USER_SCHEMA, boss, q, test_edge};

// ---- a real server on loopback ----------------------------------------------------------------

/// The application served on a loopback port until dropped.
struct Served {
    app: TestApp,
    addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

/// Serves a fresh application on 127.0.0.1 behind `edge` (its `listen_base` set to the bound
/// address) with the connection `limits`.
async fn served(edge: EdgeConfig, limits: ConnectionLimits) -> Served {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let app = TestApp::with_edge(EdgeConfig {
        listen_base: format!("http://{addr}"),
        ..edge
    })
    .await;
    let (stop, stopped) = oneshot::channel::<()>();
    let router = app.router.clone();
    tokio::spawn(async move {
        let _ = server::serve(listener, router, limits, async {
            let _ = stopped.await;
        })
        .await;
    });
    Served {
        app,
        addr,
        _stop: stop,
    }
}

/// A response read off the wire.
#[derive(Debug)]
struct Raw {
    status: u16,
    head: String,
    body: String,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// Sends `request` (a complete HTTP/1.1 request; `Connection: close` is added) and reads the
/// answer to the end.
async fn raw(addr: SocketAddr, request: &str) -> Raw {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = request.replacen("\r\n", "\r\nConnection: close\r\n", 1);
    stream
        .write_all(request.as_bytes())
        .await
        .expect("send request");
    let mut bytes = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut bytes))
        .await
        .expect("the server answers")
        .expect("read the answer");
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Raw {
        status,
        head: head.to_string(),
        body: body.to_string(),
    }
}

fn get(path: &str, token: &str, extra: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: rollcall.test\r\nAuthorization: Bearer {token}\r\n{extra}\r\n"
    )
}

fn post(path: &str, token: &str, body: &Value, extra: &str) -> String {
    let body = body.to_string();
    format!(
        "POST {path} HTTP/1.1\r\nHost: rollcall.test\r\nAuthorization: Bearer {token}\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\n{extra}\r\n{body}",
        body.len()
    )
}

/// Whether the server has closed `stream`: a read ends (EOF or reset) within `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            // A 408 or similar before closing is fine; keep reading to the close.
            Ok(Ok(_)) => continue,
        }
    }
}

// ---- rate limits ------------------------------------------------------------------------------

#[tokio::test]
async fn a_burst_over_the_rate_gets_429_with_retry_after_and_requests_within_it_pass() {
    let app = TestApp::with_edge(EdgeConfig {
        rate_limit: 5,
        ..test_edge()
    })
    .await;
    // Bursts up to twice the rate pass.
    for _ in 0..10 {
        app.get("/Users").await.assert_ok(200);
    }
    let r = app.get("/Users").await;
    r.assert_error(429, None);
    let wait: u64 = r
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in whole seconds");
    assert!((1..=2).contains(&wait), "{wait}");
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("5 requests per second"),
        "{}",
        r.body
    );
    // Buckets are per credential: another tenant's token is not slowed.
    let other = app.other_tenant("other").await;
    app.send_as(&other, Method::GET, "/Users", None, &[])
        .await
        .assert_ok(200);
    // The bucket refills at the rate: after the wait, the credential passes again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    app.get("/Users").await.assert_ok(200);
}

#[tokio::test]
async fn the_admin_api_is_rate_limited_in_its_own_error_format_and_a_tenant_can_set_its_rate() {
    let app = TestApp::with_edge(EdgeConfig {
        rate_limit: 50,
        ..test_edge()
    })
    .await;
    let admin = boss(&app).await;
    // rateLimit is a setting; out-of-range values are refused and change nothing.
    for bad in [json!(0), json!(-1), json!(100_001), json!("fast")] {
        let r = app
            .admin(
                &admin,
                Method::PATCH,
                "/settings",
                Some(json!({"rateLimit": bad})),
            )
            .await;
        r.assert_admin_error(400, "invalid_value");
    }
    let r = app
        .admin(
            &admin,
            Method::PATCH,
            "/settings",
            Some(json!({"rateLimit": 2})),
        )
        .await;
    assert_eq!(r.assert_admin_ok(200)["rateLimit"], 2);
    // The tenant's rate replaces the server's for each of its credentials: 2 per second,
    // bursts of 4. The SCIM token starts with a full bucket at the new rate.
    for _ in 0..4 {
        app.get("/Users").await.assert_ok(200);
    }
    let r = app.get("/Users").await;
    r.assert_error(429, None);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("2 requests per second"),
        "{}",
        r.body
    );
    // The admin token has its own bucket at the tenant's rate, full: four, then 429.
    for _ in 0..4 {
        app.admin(&admin, Method::GET, "/settings", None)
            .await
            .assert_admin_ok(200);
    }
    let r = app.admin(&admin, Method::GET, "/settings", None).await;
    r.assert_admin_error(429, "too_many_requests");
    assert!(r.header("retry-after").is_some(), "{:?}", r.headers);
}

#[tokio::test]
async fn a_tenant_cannot_raise_its_rate_past_the_operators_ceiling() {
    let app = TestApp::with_edge(EdgeConfig {
        rate_limit: 50,
        rate_limit_max: 3,
        ..test_edge()
    })
    .await;
    let admin = boss(&app).await;
    // The setting is stored as asked; the server gives at most its ceiling.
    let r = app
        .admin(
            &admin,
            Method::PATCH,
            "/settings",
            Some(json!({"rateLimit": 5000})),
        )
        .await;
    assert_eq!(r.assert_admin_ok(200)["rateLimit"], 5000);
    let statuses: Vec<u16> = {
        let mut all = Vec::new();
        for _ in 0..8 {
            all.push(app.get("/Users").await.status.as_u16());
        }
        all
    };
    assert_eq!(statuses, [200, 200, 200, 200, 200, 200, 429, 429]);
    let r = app.get("/Users").await;
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("3 requests per second"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn bad_token_floods_are_throttled_per_client_address() {
    let app = TestApp::with_edge(EdgeConfig {
        auth_failure_limit: 5,
        trust_proxy: true,
        ..test_edge()
    })
    .await;
    let from = |address: &'static str| [("x-forwarded-for", address)];
    for _ in 0..5 {
        app.send_as(
            "rc_wrong",
            Method::GET,
            "/Users",
            None,
            &from("203.0.113.7"),
        )
        .await
        .assert_error(401, None);
    }
    let r = app
        .send_as(
            "rc_wrong",
            Method::GET,
            "/Users",
            None,
            &from("203.0.113.7"),
        )
        .await;
    r.assert_error(429, None);
    assert!(r.header("retry-after").is_some());
    // Throttled, the address is refused before its credentials are looked at: even a valid
    // token waits.
    app.send_as(
        &app.token,
        Method::GET,
        "/Users",
        None,
        &from("203.0.113.7"),
    )
    .await
    .assert_error(429, None);
    // Other addresses are not affected.
    app.send_as(
        &app.token,
        Method::GET,
        "/Users",
        None,
        &from("203.0.113.8"),
    )
    .await
    .assert_ok(200);
    // The admin API shares the throttle, in its own format.
    app.admin("rc_wrong", Method::GET, "/users", None)
        .await
        .assert_admin_error(401, "unauthorized");
    let r = app
        .admin_with(
            "rc_wrong",
            Method::GET,
            "/users",
            None,
            &from("203.0.113.7"),
        )
        .await;
    r.assert_admin_error(429, "too_many_requests");
}

#[tokio::test]
async fn without_a_trusted_proxy_a_forged_forwarded_for_does_not_escape_the_throttle() {
    let app = TestApp::with_edge(EdgeConfig {
        auth_failure_limit: 3,
        ..test_edge()
    })
    .await;
    let mut statuses = Vec::new();
    for i in 0..6 {
        let address = format!("198.51.100.{i}");
        let r = app
            .send_as(
                "rc_wrong",
                Method::GET,
                "/Users",
                None,
                &[("x-forwarded-for", address.as_str())],
            )
            .await;
        statuses.push(r.status.as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429, 429]);
}

// ---- connections ------------------------------------------------------------------------------

#[tokio::test]
async fn a_slow_header_client_is_cut_off_while_others_are_served() {
    let server = served(
        test_edge(),
        ConnectionLimits {
            header_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(30),
            max_connections: 64,
        },
    )
    .await;
    let slow = TcpStream::connect(server.addr).await.expect("connect");
    let (mut reading, mut writing) = slow.into_split();
    let started = Instant::now();
    // One header byte every 200 ms, for up to 8 s.
    let trickle = tokio::spawn(async move {
        let head = b"GET /healthz HTTP/1.1\r\nHost: rollcall.test\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        for byte in head {
            if writing.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    // While it trickles, another client is answered at once.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let asked = Instant::now();
    let fine = raw(
        server.addr,
        "GET /healthz HTTP/1.1\r\nHost: rollcall.test\r\n\r\n",
    )
    .await;
    assert_eq!(fine.status, 200, "{fine:?}");
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "{:?}",
        asked.elapsed()
    );
    // The slow one is cut off about a second after its first byte.
    let mut buf = [0u8; 1024];
    let closed = loop {
        match tokio::time::timeout(Duration::from_secs(5), reading.read(&mut buf)).await {
            Err(_) => break false,
            Ok(Ok(0) | Err(_)) => break true,
            Ok(Ok(_)) => continue,
        }
    };
    let after = started.elapsed();
    trickle.abort();
    assert!(closed, "the slow client is still connected after {after:?}");
    assert!(
        after < Duration::from_secs(4),
        "closed only after {after:?}"
    );
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_idle_timeout() {
    let server = served(
        test_edge(),
        ConnectionLimits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(1),
            max_connections: 64,
        },
    )
    .await;
    let mut silent = TcpStream::connect(server.addr).await.expect("connect");
    assert!(closed_within(&mut silent, Duration::from_secs(4)).await);
    // A kept-alive connection is closed the same way once its request is answered.
    let mut kept = TcpStream::connect(server.addr).await.expect("connect");
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: rollcall.test\r\n\r\n")
        .await
        .expect("send");
    let mut buf = [0u8; 512];
    let n = kept.read(&mut buf).await.expect("answer");
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    assert!(closed_within(&mut kept, Duration::from_secs(4)).await);
}

#[tokio::test]
async fn connections_over_the_cap_wait_until_one_closes() {
    let server = served(
        test_edge(),
        ConnectionLimits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(2),
            max_connections: 2,
        },
    )
    .await;
    let _a = TcpStream::connect(server.addr).await.expect("connect");
    let _b = TcpStream::connect(server.addr).await.expect("connect");
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The third connection is accepted by the kernel but not served while two are open.
    let started = Instant::now();
    let r = raw(
        server.addr,
        "GET /healthz HTTP/1.1\r\nHost: rollcall.test\r\n\r\n",
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "served after {:?}, before an idle connection was closed",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_huge_declared_body_is_refused_with_413_at_once() {
    let server = served(test_edge(), ConnectionLimits::default()).await;
    for (path, token) in [
        ("/scim/v2/Users", server.app.token.clone()),
        ("/admin/v1/users", boss(&server.app).await),
    ] {
        let mut stream = TcpStream::connect(server.addr).await.expect("connect");
        let started = Instant::now();
        stream
            .write_all(
                format!(
                    "POST {path} HTTP/1.1\r\nHost: rollcall.test\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 1000000000000\r\n\r\n{{"
                )
                .as_bytes(),
            )
            .await
            .expect("send");
        let mut bytes = Vec::new();
        let mut buf = [0u8; 2048];
        while !String::from_utf8_lossy(&bytes).contains("\r\n\r\n") {
            let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
                .await
                .expect("an answer before the body")
                .expect("read");
            if n == 0 {
                break;
            }
            bytes.extend_from_slice(&buf[..n]);
        }
        let elapsed = started.elapsed();
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.starts_with("HTTP/1.1 413"), "{path}: {text}");
        assert!(elapsed < Duration::from_secs(1), "{path}: {elapsed:?}");
    }
    // Nothing was created.
    assert!(server.app.find_users("userName pr").await.is_empty());
}

#[tokio::test]
async fn a_body_that_stops_arriving_is_answered_408() {
    let server = served(
        EdgeConfig {
            body_timeout: Duration::from_secs(1),
            ..test_edge()
        },
        ConnectionLimits::default(),
    )
    .await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    let started = Instant::now();
    stream
        .write_all(
            format!(
                "POST /scim/v2/Users HTTP/1.1\r\nHost: rollcall.test\r\nAuthorization: Bearer {}\r\nContent-Type: application/scim+json\r\nContent-Length: 100\r\n\r\n{{\"userName\":",
                server.app.token
            )
            .as_bytes(),
        )
        .await
        .expect("send");
    let mut buf = [0u8; 2048];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
        .await
        .expect("an answer")
        .expect("read");
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(server.app.find_users("userName pr").await.is_empty());
}

// ---- paths and links --------------------------------------------------------------------------

#[tokio::test]
async fn scim_paths_match_in_any_case_and_with_a_trailing_slash() {
    let app = TestApp::new().await;
    let id = app.user("alice").await;
    let group = app.group("Sales", &[&id]).await;
    for path in [
        "/scim/v2/users".to_string(),
        "/scim/v2/USERS/".to_string(),
        format!("/scim/v2/users/?filter={}", q("userName eq \"alice\"")),
        format!("/scim/v2/Users/{id}/"),
        format!("/scim/v2/users/{id}"),
        "/scim/v2/groups/".to_string(),
        format!("/scim/v2/groups/{group}"),
        "/scim/v2/serviceproviderconfig".to_string(),
        "/scim/v2/schemas/".to_string(),
        "/scim/v2/resourcetypes/User".to_string(),
    ] {
        let r = app.get(&path).await;
        r.assert_ok(200);
        if path.contains("filter") {
            assert_eq!(r.body["totalResults"], 1, "{path}");
        }
    }
    // Ids keep their case: a changed id is another resource.
    app.get(&format!("/scim/v2/Users/{}", id.to_uppercase()))
        .await
        .assert_error(404, None);
    // Writes route the same way.
    let r = app
        .post(
            "/scim/v2/users/",
            json!({"schemas": [USER_SCHEMA], "userName": "bob"}),
        )
        .await;
    r.assert_ok(201);
    let r = app
        .post(
            "/scim/v2/users/.search",
            json!({"filter": "userName eq \"bob\""}),
        )
        .await;
    assert_eq!(r.assert_ok(200)["totalResults"], 1);
}

#[tokio::test]
async fn links_use_the_public_url_never_the_host_header() {
    let server = served(
        EdgeConfig {
            public_url: Some("https://scim.example.com".into()),
            ..test_edge()
        },
        ConnectionLimits::default(),
    )
    .await;
    let r = raw(
        server.addr,
        &post(
            "/scim/v2/Users",
            &server.app.token,
            &json!({"schemas": [USER_SCHEMA], "userName": "alice"}),
            "X-Forwarded-Host: evil.example\r\nX-Forwarded-Proto: http\r\n",
        )
        .replace("Host: rollcall.test", "Host: evil.example"),
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    let id = r.json()["id"].as_str().expect("id").to_string();
    let expected = format!("https://scim.example.com/scim/v2/Users/{id}");
    assert_eq!(r.header("location"), Some(expected.as_str()));
    assert_eq!(r.json()["meta"]["location"], expected);

    // Without a public URL or a trusted proxy: the listen address, whatever Host says.
    let plain = served(test_edge(), ConnectionLimits::default()).await;
    let r = raw(
        plain.addr,
        &get(
            "/scim/v2/ServiceProviderConfig",
            &plain.app.token,
            "X-Forwarded-Host: evil.example\r\n",
        )
        .replace("Host: rollcall.test", "Host: evil.example"),
    )
    .await;
    assert_eq!(
        r.json()["meta"]["location"],
        format!("http://{}/scim/v2/ServiceProviderConfig", plain.addr)
    );

    // Behind a trusted proxy: its forwarded scheme and host.
    let proxied = served(
        EdgeConfig {
            trust_proxy: true,
            ..test_edge()
        },
        ConnectionLimits::default(),
    )
    .await;
    let r = raw(
        proxied.addr,
        &get(
            "/scim/v2/ServiceProviderConfig",
            &proxied.app.token,
            "X-Forwarded-Host: scim.acme.example\r\nX-Forwarded-Proto: https\r\n",
        ),
    )
    .await;
    assert_eq!(
        r.json()["meta"]["location"],
        "https://scim.acme.example/scim/v2/ServiceProviderConfig"
    );
}

// ---- metrics and health -----------------------------------------------------------------------

/// Checks the Prometheus text format line by line and returns the samples as
/// (`name{labels}`, value).
fn parse_prometheus(text: &str) -> Vec<(String, f64)> {
    let mut samples = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(comment) = line.strip_prefix('#') {
            let words: Vec<&str> = comment.split_whitespace().collect();
            assert!(
                matches!(words.first(), Some(&"HELP" | &"TYPE" | &"EOF")),
                "bad comment line: {line}"
            );
            if words[0] == "TYPE" {
                assert!(
                    matches!(
                        words.get(2),
                        Some(&"counter" | &"gauge" | &"histogram" | &"summary" | &"unknown")
                    ),
                    "{line}"
                );
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
        let name_end = series.find('{').unwrap_or(series.len());
        let name = &series[..name_end];
        assert!(
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':'),
            "bad metric name in {line}"
        );
        if name_end < series.len() {
            assert!(series.ends_with('}'), "{line}");
        }
        let value: f64 = value.parse().expect("a numeric value");
        samples.push((series.to_string(), value));
    }
    samples
}

#[tokio::test]
async fn metrics_parse_as_prometheus_text_and_count_the_requests_just_made() {
    let app = TestApp::with_edge(EdgeConfig {
        rate_limit: 3,
        ..test_edge()
    })
    .await;
    let id = app.user("alice").await;
    for _ in 0..4 {
        app.get(&format!("/Users/{id}")).await;
    }
    app.send_as("rc_wrong", Method::GET, "/Users", None, &[])
        .await
        .assert_error(401, None);
    let r = app.dispatch("", Method::GET, "/metrics", None, &[]).await;
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("text/plain; version=0.0.4")),
        "{:?}",
        r.headers
    );
    let text = r.body.as_str().expect("text").to_string();
    let samples = parse_prometheus(&text);
    let value = |series: &str| {
        samples
            .iter()
            .find(|(s, _)| s == series)
            .map(|(_, v)| *v)
            .unwrap_or_else(|| panic!("no {series} in\n{text}"))
    };
    // One create and four reads: within the burst of six.
    assert_eq!(
        value(r#"rollcall_http_requests_total{method="POST",route="/scim/v2/Users",status="201"}"#),
        1.0
    );
    assert_eq!(
        value(
            r#"rollcall_http_requests_total{method="GET",route="/scim/v2/Users/{id}",status="200"}"#
        ),
        4.0
    );
    assert_eq!(
        value(
            r#"rollcall_http_request_duration_seconds_count{method="GET",route="/scim/v2/Users/{id}"}"#
        ),
        4.0
    );
    assert_eq!(
        value(r#"rollcall_http_requests_total{method="GET",route="/scim/v2/Users",status="401"}"#),
        1.0
    );
    assert_eq!(value("rollcall_auth_failures_total"), 1.0);
    assert!(value(r#"rollcall_db_pool_connections{state="open"}"#) >= 1.0);
    assert_eq!(
        value(&format!(
            "rollcall_build_info{{version=\"{}\"}}",
            env!("CARGO_PKG_VERSION")
        )),
        1.0
    );
    // No ids, user names or secrets in the labels.
    assert!(!text.contains(&id), "{text}");
    assert!(!text.contains("alice"));
    assert!(!text.contains(&app.token));

    // Over the rate: counted as rate-limited.
    for _ in 0..6 {
        app.get("/Users").await;
    }
    let text = app
        .dispatch("", Method::GET, "/metrics", None, &[])
        .await
        .body
        .as_str()
        .expect("text")
        .to_string();
    let limited = parse_prometheus(&text)
        .into_iter()
        .find(|(s, _)| s == r#"rollcall_rate_limited_requests_total{reason="rate"}"#)
        .map(|(_, v)| v);
    assert!(limited.is_some_and(|v| v >= 1.0), "{text}");
}

#[tokio::test]
async fn metrics_can_move_off_the_main_address() {
    let app = TestApp::with_edge(EdgeConfig {
        metrics_on_main: false,
        ..test_edge()
    })
    .await;
    let r = app.dispatch("", Method::GET, "/metrics", None, &[]).await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn healthz_and_readyz_answer_without_credentials() {
    let app = TestApp::new().await;
    let r = app.dispatch("", Method::GET, "/healthz", None, &[]).await;
    assert_eq!((r.status.as_u16(), r.body.as_str()), (200, Some("ok")));
    let r = app.dispatch("", Method::GET, "/readyz", None, &[]).await;
    assert_eq!((r.status.as_u16(), r.body.as_str()), (200, Some("ready")));
}

#[tokio::test]
async fn readyz_is_503_until_the_database_is_migrated() {
    let (url, _dir) = crate::harness::fresh_database_url().await;
    let db = rollcall::store::connect(&url).await.expect("connect");
    let router = rollcall::app::router(
        rollcall::app::AppState::with_edge(db.clone(), test_edge()).expect("schemas"),
    );
    let ready = |router: axum::Router| async move {
        use tower::ServiceExt;
        let response = router
            .oneshot(
                axum::http::Request::get("/readyz")
                    .body(axum::body::Body::empty())
                    .expect("request"),
            )
            .await
            .expect("infallible");
        let status = response.status().as_u16();
        let retry = response.headers().get("retry-after").cloned();
        use http_body_util::BodyExt;
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (status, retry, String::from_utf8_lossy(&body).into_owned())
    };
    let (status, retry, body) = ready(router.clone()).await;
    assert_eq!(status, 503, "{body}");
    assert!(retry.is_some());
    assert!(body.contains("rollcall migrate"), "{body}");
    rollcall::store::migrate(&db).await.expect("migrate");
    let (status, _, body) = ready(router).await;
    assert_eq!(status, 200, "{body}");
}

// ---- the database going away ------------------------------------------------------------------

/// A TCP relay from a loopback port to `target`, which can be cut (every relayed connection
/// dropped, new ones refused) and restored on the same port.
struct Relay {
    port: u16,
    target: SocketAddr,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Relay {
    async fn start(target: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind relay");
        let port = listener.local_addr().expect("address").port();
        let mut relay = Relay {
            port,
            target,
            task: None,
        };
        relay.run(listener);
        relay
    }

    fn run(&mut self, listener: TcpListener) {
        let target = self.target;
        self.task = Some(tokio::spawn(async move {
            let mut pipes = tokio::task::JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                pipes.spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        }));
    }

    /// Drops every relayed connection and stops listening.
    fn cut(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    async fn restore(&mut self) {
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(listener) => break listener,
                Err(_) if tries < 50 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("rebind the relay: {e}"),
            }
        };
        self.run(listener);
    }
}

/// PostgreSQL only: SQLite is a file in the process and does not go away.
#[tokio::test]
async fn while_postgresql_is_unreachable_answers_are_503_with_retry_after_and_it_recovers() {
    let Ok(server) = std::env::var("ROLLCALL_TEST_DATABASE_URL") else {
        return;
    };
    if server.is_empty() {
        return;
    }
    let app = TestApp::new().await;
    let id = app.user("alice").await;
    // Rollcall's own pool reaches the same database through a relay that can be cut.
    let url = app.database_url.clone();
    let authority = url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("authority");
    let host_port = authority.rsplit('@').next().expect("host:port");
    let target: SocketAddr = tokio::net::lookup_host(host_port)
        .await
        .expect("resolve")
        .next()
        .expect("an address");
    let mut relay = Relay::start(target).await;
    let relayed = url.replacen(host_port, &format!("127.0.0.1:{}", relay.port), 1);
    let db = rollcall::store::connect_with(&relayed, Duration::from_secs(1))
        .await
        .expect("connect through the relay");
    let state = rollcall::app::AppState::with_edge(db, test_edge()).expect("schemas");
    let mut through = app.instance().await;
    through.router = rollcall::app::router(state);
    through.get(&format!("/Users/{id}")).await.assert_ok(200);
    let ready = |app: &TestApp| {
        let app_router = app.router.clone();
        async move {
            use tower::ServiceExt;
            let response = app_router
                .oneshot(
                    axum::http::Request::get("/readyz")
                        .body(axum::body::Body::empty())
                        .expect("request"),
                )
                .await
                .expect("infallible");
            (
                response.status().as_u16(),
                response.headers().contains_key("retry-after"),
            )
        }
    };
    assert_eq!(ready(&through).await, (200, false));

    relay.cut();
    let started = Instant::now();
    assert_eq!(ready(&through).await, (503, true));
    let r = through.get(&format!("/Users/{id}")).await;
    r.assert_error(503, None);
    assert!(r.header("retry-after").is_some(), "{:?}", r.headers);
    let r = through
        .post(
            "/Users",
            json!({"schemas": [USER_SCHEMA], "userName": "bob"}),
        )
        .await;
    r.assert_error(503, None);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );

    // Back without restarting anything.
    relay.restore().await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while ready(&through).await.0 != 200 {
        assert!(Instant::now() < deadline, "not ready again");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    through.get(&format!("/Users/{id}")).await.assert_ok(200);
    // bob was never created.
    assert!(app.find_users("userName eq \"bob\"").await.is_empty());
}
