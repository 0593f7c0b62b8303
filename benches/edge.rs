//! What the rate limiter costs: requests per second over loopback, through the real
//! connection loop and router, with rate limiting off and on (at a rate no client reaches,
//! so every request takes the limiter's path and passes). Rounds alternate off/on so drift
//! on a shared machine hits both; the figure is the ratio of the medians.
//!
//! `cargo bench --bench edge`; `EDGE_SECONDS=3` (per round), `EDGE_ROUNDS=3`,
//! `EDGE_CONNECTIONS=16` change the defaults. `EDGE_LOG=1` formats the access log at the
//! server's default level (into a sink), to see what one line per request costs. Only 127.0.0.1 is contacted, and every round
//! stops by itself.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rollcall::app::{AppState, router};
use rollcall::http::edge::EdgeConfig;
use rollcall::http::edge::server::{self, ConnectionLimits};
use rollcall::store::{self, credentials};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Reads one HTTP/1.1 answer with a Content-Length off a kept-alive connection; its status.
async fn read_answer(stream: &mut TcpStream, buf: &mut Vec<u8>) -> u16 {
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            let total = end + 4 + length;
            if buf.len() >= total {
                let status = head
                    .split_whitespace()
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                buf.drain(..total);
                return status;
            }
        }
        let n = stream.read(&mut chunk).await.expect("read");
        assert!(n > 0, "the server closed the connection");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Requests per second answered 200 by `connections` kept-alive clients for `seconds`.
async fn load(addr: SocketAddr, request: Arc<String>, connections: u64, seconds: u64) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for _ in 0..connections {
        let (done, stop, request) = (done.clone(), stop.clone(), request.clone());
        clients.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await.expect("connect");
            let mut buf = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                stream.write_all(request.as_bytes()).await.expect("send");
                let status = read_answer(&mut stream, &mut buf).await;
                assert_eq!(status, 200, "a request was refused");
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed();
    for client in clients {
        client.await.expect("client");
    }
    done.load(Ordering::Relaxed) as f64 / elapsed.as_secs_f64()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let seconds = env_or("EDGE_SECONDS", 3);
    let rounds = env_or("EDGE_ROUNDS", 3);
    let connections = env_or("EDGE_CONNECTIONS", 16);
    let logging = env_or("EDGE_LOG", 0) == 1;
    if logging {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "info,sqlx=warn,sea_orm=warn",
            ))
            .with_ansi(false)
            .with_writer(std::io::sink)
            .init();
    }
    let (db, _dir) = common::fresh("sqlite", "edge").await;
    store::migrate(&db).await.expect("migrate");
    let tenant =
        rollcall::write::tenants::create(&db, &rollcall::domain::audit::Actor::cli(), "bench")
            .await
            .expect("tenant");
    let (_, token) = credentials::create(&db, &tenant.id, credentials::Kind::Scim, None, "bench")
        .await
        .expect("token");
    let user = rollcall::write::users::create(
        &db,
        &tenant.id,
        &rollcall::domain::audit::Actor::idp("bench"),
        rollcall::domain::validation::Surface::Scim,
        serde_json::json!({"userName": "alice"})
            .as_object()
            .cloned()
            .expect("object"),
    )
    .await
    .expect("user");
    let request = Arc::new(format!(
        "GET /scim/v2/Users/{} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n",
        user.id
    ));
    let mut off = Vec::new();
    let mut on = Vec::new();
    for round in 0..rounds * 2 {
        let limited = round % 2 == 1;
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let config = EdgeConfig {
            listen_base: format!("http://{addr}"),
            rate_limit: if limited { 1_000_000 } else { 0 },
            ..EdgeConfig::default()
        };
        let app = router(AppState::with_edge(db.clone(), config).expect("schemas"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(server::serve(
            listener,
            app,
            ConnectionLimits::default(),
            async {
                let _ = stopped.await;
            },
        ));
        let rate = load(addr, request.clone(), connections, seconds).await;
        let _ = stop.send(());
        let _ = serving.await;
        println!(
            "round {}: rate limiter {}: {rate:.0} req/s",
            round / 2 + 1,
            if limited { "on " } else { "off" }
        );
        if limited {
            on.push(rate)
        } else {
            off.push(rate)
        }
    }
    let (off, on) = (median(off), median(on));
    println!(
        "GET /Users/{{id}}, {connections} kept-alive connections, {seconds} s x {rounds} rounds each (median){}: off {off:.0} req/s, on {on:.0} req/s; on/off = {:.3} ({:+.1}%)",
        if logging {
            ", access log formatted"
        } else {
            ""
        },
        on / off,
        (on / off - 1.0) * 100.0
    );
}
