//! `POST /Bulk` with 1,000 user creates against 1,000 single `POST /Users`, through the real
//! in-process router, on SQLite (and PostgreSQL with `ROLLCALL_BENCH_DATABASE_URL` set to a
//! server URL). Rounds alternate single/bulk on one database, each round creating new users,
//! so drift on a shared machine hits both; the figure is the ratio of the medians.
//!
//! `cargo bench --bench bulk`; `BULK_USERS=1000` and `BULK_ROUNDS=5` change the defaults.

mod common;

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use rollcall::app::{AppState, router};
use rollcall::store::{self, credentials};
use serde_json::{Value, json};
use tower::ServiceExt;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What Entra ID sends to create a user.
fn user(name: &str) -> Value {
    json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "externalId": format!("ext-{name}"),
        "userName": format!("{name}@example.com"),
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": format!("{name}@example.com")}],
        "name": {"formatted": "Ann Example", "familyName": "Example", "givenName": "Ann"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales"}
    })
}

async fn send(app: &Router, token: &str, path: &str, body: &Value) -> (u16, Vec<u8>) {
    let request = Request::post(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/scim+json")
        .body(Body::from(body.to_string()))
        .expect("request");
    let response = app.clone().oneshot(request).await.expect("response");
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, body.to_vec())
}

async fn singles(app: &Router, token: &str, prefix: &str, users: usize) -> Duration {
    let started = Instant::now();
    for n in 0..users {
        let (status, _) = send(app, token, "/scim/v2/Users", &user(&format!("{prefix}{n}"))).await;
        assert_eq!(status, 201, "a single create failed");
    }
    started.elapsed()
}

async fn bulk(app: &Router, token: &str, prefix: &str, users: usize) -> Duration {
    let operations: Vec<Value> = (0..users)
        .map(|n| {
            json!({"method": "POST", "path": "/Users", "bulkId": n.to_string(),
                   "data": user(&format!("{prefix}{n}"))})
        })
        .collect();
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": operations
    });
    let started = Instant::now();
    let (status, answer) = send(app, token, "/scim/v2/Bulk", &body).await;
    let elapsed = started.elapsed();
    assert_eq!(status, 200, "the bulk request failed");
    let answer: Value = serde_json::from_slice(&answer).expect("json");
    let results = answer["Operations"].as_array().expect("Operations");
    assert_eq!(results.len(), users);
    assert!(
        results.iter().all(|r| r["status"] == "201"),
        "a bulk create failed"
    );
    elapsed
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

async fn run(kind: &str, users: usize, rounds: usize) -> (Duration, Duration) {
    let (db, _dir) = common::fresh(kind, "bulk").await;
    store::migrate(&db).await.expect("migrate");
    let tenant =
        rollcall::write::tenants::create(&db, &rollcall::domain::audit::Actor::cli(), "bench")
            .await
            .expect("tenant");
    let (_, token) = credentials::create(&db, &tenant.id, credentials::Kind::Scim, None, "bench")
        .await
        .expect("token");
    let app = router(
        AppState::with_edge(
            db,
            rollcall::http::edge::EdgeConfig {
                // Measures the request path, not the limiter (see benches/edge.rs).
                rate_limit: 0,
                ..Default::default()
            },
        )
        .expect("schemas"),
    );
    // Warm-up: the pool's connections, the statement caches.
    singles(&app, &token, "warm-single-", 50).await;
    bulk(&app, &token, "warm-bulk-", 50).await;
    let (mut single_times, mut bulk_times) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let single = singles(&app, &token, &format!("s{round}-"), users).await;
        let together = bulk(&app, &token, &format!("b{round}-"), users).await;
        eprintln!("{kind} round {round}: {users} single POSTs {single:.2?}, /Bulk {together:.2?}");
        single_times.push(single);
        bulk_times.push(together);
    }
    (median(single_times), median(bulk_times))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let users = env_or("BULK_USERS", 1000);
    let rounds = env_or("BULK_ROUNDS", 5);
    let mut kinds = vec!["sqlite"];
    if std::env::var("ROLLCALL_BENCH_DATABASE_URL").is_ok_and(|u| !u.is_empty()) {
        kinds.push("postgres");
    }
    println!(
        "| database | {users} single POST /Users | /Bulk with {users} POSTs | bulk ÷ single |"
    );
    println!("|---|---|---|---|");
    for kind in kinds {
        let (single, together) = run(kind, users, rounds).await;
        println!(
            "| {kind} | {single:.2?} ({:.2?} each) | {together:.2?} ({:.2?} each) | {:.2} |",
            single / users as u32,
            together / users as u32,
            together.as_secs_f64() / single.as_secs_f64()
        );
    }
}
