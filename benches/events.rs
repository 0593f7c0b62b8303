//! SCIM event delivery during an initial sync: `EVENTS_USERS` (default 100,000) users created
//! through the write layer as an identity provider would (`EVENTS_CLIENTS` concurrent
//! clients, default 4), while one instance's deliverer pushes every `prov:create` SET to a
//! receiver on loopback that answers 202. Printed: the sync's rate without any receiver
//! (the outbox's cost is one read per write then) and with one, the delivery rate, the most
//! events waiting at any sample (every 250 ms), and how long after the last create the last
//! event arrived.
//!
//! `cargo bench --bench events`; `EVENTS_DB=postgres` with `ROLLCALL_BENCH_DATABASE_URL`.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use rollcall::domain::audit::Actor;
use rollcall::domain::validation::Surface;
use rollcall::events::{Deliverer, DeliveryConfig};
use rollcall::store;
use rollcall::write::receivers::{self, ReceiverInput};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::json;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A receiver on loopback counting the SETs it takes; while `down`, it answers 503.
async fn receiver(down: Arc<std::sync::atomic::AtomicBool>) -> (String, Arc<AtomicU64>) {
    let got = Arc::new(AtomicU64::new(0));
    let counter = got.clone();
    let app = axum::Router::new().route(
        "/events",
        axum::routing::post(move |_body: String| {
            let (counter, down) = (counter.clone(), down.clone());
            async move {
                if down.load(Ordering::Relaxed) {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                counter.fetch_add(1, Ordering::Relaxed);
                StatusCode::ACCEPTED
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

async fn pending(db: &DatabaseConnection) -> u64 {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM event_deliveries WHERE state = 'pending'",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap() as u64
}

/// Creates `users` users with `clients` concurrent writers; answers the elapsed time.
async fn sync(
    db: &DatabaseConnection,
    tenant: &str,
    users: usize,
    clients: usize,
    tag: &str,
) -> Duration {
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (db, tenant, next, tag) = (
            db.clone(),
            tenant.to_string(),
            next.clone(),
            tag.to_string(),
        );
        tasks.push(tokio::spawn(async move {
            let actor = Actor::idp("bench-idp");
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed) as usize;
                if n >= users {
                    return;
                }
                let doc = json!({
                    "userName": format!("{tag}{n}@acme.example"),
                    "name": {"givenName": "Agent", "familyName": format!("N{n}")},
                    "emails": [{"value": format!("{tag}{n}@acme.example"), "primary": true}],
                });
                rollcall::write::users::create(
                    &db,
                    &tenant,
                    &actor,
                    Surface::Scim,
                    doc.as_object().unwrap().clone(),
                )
                .await
                .expect("create");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    started.elapsed()
}

#[tokio::main]
async fn main() {
    let users = env("EVENTS_USERS", 100_000);
    let clients = env("EVENTS_CLIENTS", 4);
    let kind = std::env::var("EVENTS_DB").unwrap_or_else(|_| "sqlite".into());
    let (db, _dir) = common::fresh(&kind, "events").await;
    store::migrate(&db).await.unwrap();
    let tenant = rollcall::write::tenants::create(&db, &Actor::cli(), "acme")
        .await
        .unwrap();

    // Without a receiver: the outbox costs one read per write.
    let plain = sync(&db, &tenant.id, users, clients, "plain").await;

    // EVENTS_OUTAGE=1: the receiver is down for the whole sync and comes back after it;
    // measured is how fast the backlog drains.
    let outage = std::env::var("EVENTS_OUTAGE").is_ok_and(|v| v == "1");
    let down = Arc::new(std::sync::atomic::AtomicBool::new(outage));
    let (url, got) = receiver(down.clone()).await;
    receivers::create(
        &db,
        &tenant.id,
        &Actor::cli(),
        ReceiverInput {
            url: Some(Some(url)),
            ..ReceiverInput::default()
        },
    )
    .await
    .unwrap();
    let deliverer = Deliverer::new(
        db.clone(),
        DeliveryConfig::new("https://bench.test/scim/v2".into()),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let delivering = tokio::spawn(deliverer.run(async {
        stopped.await.ok();
    }));
    let most = Arc::new(AtomicU64::new(0));
    let (sampler_db, sampler_most) = (db.clone(), most.clone());
    let sampling = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            sampler_most.fetch_max(pending(&sampler_db).await, Ordering::Relaxed);
        }
    });
    let with_events = sync(&db, &tenant.id, users, clients, "evt").await;
    if outage {
        // Let the deliverer's backoff pass (retries double from 1 s), then bring it back.
        down.store(false, Ordering::Relaxed);
        println!(
            "backlog when the receiver came back: {}",
            pending(&db).await
        );
    }
    let synced = Instant::now();
    while got.load(Ordering::Relaxed) < users as u64 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            synced.elapsed() < Duration::from_secs(3600),
            "delivery stalled"
        );
    }
    let lag = synced.elapsed();
    let total = with_events + lag;
    sampling.abort();
    stop.send(()).ok();
    delivering.await.ok();

    println!("SCIM events during an initial sync ({kind}, {users} users, {clients} clients)");
    println!(
        "sync without a receiver: {:.1} s ({:.0} users/s)",
        plain.as_secs_f64(),
        users as f64 / plain.as_secs_f64()
    );
    println!(
        "sync with one push receiver: {:.1} s ({:.0} users/s, {:.2}x the time)",
        with_events.as_secs_f64(),
        users as f64 / with_events.as_secs_f64(),
        with_events.as_secs_f64() / plain.as_secs_f64()
    );
    println!(
        "delivered {} events in {:.1} s from the first create ({:.0} events/s); most waiting at once: {}; last event arrived {:.2} s after the last create",
        got.load(Ordering::Relaxed),
        total.as_secs_f64(),
        users as f64 / total.as_secs_f64(),
        most.load(Ordering::Relaxed),
        lag.as_secs_f64()
    );
}
