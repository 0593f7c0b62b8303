//! Latency of the lookup every identity provider makes before each write:
//! `GET /Users?filter=userName eq "…"`, through the real router, at 10,000 and at
//! 1,000,000 users in one tenant (plus 10,000 users in a second tenant).
//!
//! `cargo bench --bench lookup` runs SQLite; with `ROLLCALL_BENCH_DATABASE_URL` set to a
//! PostgreSQL server URL it runs there too (a fresh database per size).
//! `LOOKUP_SIZES=10000,1000000` and `LOOKUP_QUERIES=2000` change the defaults.

mod common;

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use rollcall::app::{AppState, router};
use rollcall::store::{self, credentials};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, TransactionTrait};
use tower::ServiceExt;

/// Bulk-loads `count` users (with one work email each) straight into the tables.
async fn load(db: &DatabaseConnection, tenant_id: &str, prefix: &str, count: usize) {
    let backend = db.get_database_backend();
    let truth = if backend == DbBackend::Postgres {
        "true"
    } else {
        "1"
    };
    let batch = 1000;
    let txn = db.begin().await.expect("begin");
    for start in (0..count).step_by(batch) {
        let end = (start + batch).min(count);
        let mut users = String::from(
            "INSERT INTO users (id, tenant_id, user_name, user_name_key, external_id, display_name, display_name_key, active, managed_by, data, version, created_us, modified_us) VALUES ",
        );
        let mut attrs = String::from(
            "INSERT INTO user_attrs (tenant_id, user_id, attr, ordinal, str_val, str_key, type_key, is_primary) VALUES ",
        );
        for n in start..end {
            if n > start {
                users.push(',');
                attrs.push(',');
            }
            let id = format!("{prefix}-{n}");
            let data = format!(
                r#"{{"userName":"{prefix}user{n}","active":true,"emails":[{{"value":"{prefix}user{n}@x.example","type":"work","primary":true}}]}}"#
            );
            users.push_str(&format!(
                "('{id}', '{tenant_id}', '{prefix}User{n}', '{prefix}user{n}', 'ext-{n}', NULL, NULL, {truth}, 'idp', '{data}', 1, {n}, {n})"
            ));
            attrs.push_str(&format!(
                "('{tenant_id}', '{id}', 'emails', 0, '{prefix}user{n}@x.example', '{prefix}user{n}@x.example', 'work', {truth})"
            ));
        }
        txn.execute_unprepared(&users).await.expect("users");
        txn.execute_unprepared(&attrs).await.expect("attrs");
    }
    txn.commit().await.expect("commit");
    db.execute_unprepared("ANALYZE").await.expect("analyze");
}

struct Stats {
    median: Duration,
    p99: Duration,
    mean: Duration,
}

async fn measure(app: &axum::Router, token: &str, size: usize, queries: usize) -> Stats {
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut times = Vec::with_capacity(queries);
    for i in 0..queries + 50 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let n = (seed % size as u64) as usize;
        let uri = format!("/scim/v2/Users?filter=userName%20eq%20%22MAINUSER{n}%22");
        let request = Request::get(uri)
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .expect("request");
        let started = Instant::now();
        let response = app.clone().oneshot(request).await.expect("response");
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let elapsed = started.elapsed();
        assert!(status.is_success(), "status {status}");
        assert!(
            body.windows(17).any(|w| w == b"\"totalResults\":1,"),
            "user {n} not found"
        );
        if i >= 50 {
            times.push(elapsed);
        }
    }
    times.sort();
    let total: Duration = times.iter().sum();
    Stats {
        median: times[times.len() / 2],
        p99: times[times.len() * 99 / 100],
        mean: total / times.len() as u32,
    }
}

async fn run(kind: &str, size: usize, queries: usize) -> Stats {
    let (db, _dir) = common::fresh(kind, &size.to_string()).await;
    store::migrate(&db).await.expect("migrate");
    let tenant =
        rollcall::write::tenants::create(&db, &rollcall::domain::audit::Actor::cli(), "bench")
            .await
            .expect("tenant");
    let other =
        rollcall::write::tenants::create(&db, &rollcall::domain::audit::Actor::cli(), "other")
            .await
            .expect("tenant");
    let (_, token) = credentials::create(&db, &tenant.id, credentials::Kind::Scim, None, "bench")
        .await
        .expect("token");
    let started = Instant::now();
    load(&db, &tenant.id, "main", size).await;
    load(&db, &other.id, "other", 10_000).await;
    eprintln!("{kind}: loaded {size} users in {:.1?}", started.elapsed());
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
    measure(&app, &token, size, queries).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let sizes: Vec<usize> = std::env::var("LOOKUP_SIZES")
        .unwrap_or_else(|_| "10000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let queries: usize = std::env::var("LOOKUP_QUERIES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    let mut kinds = vec!["sqlite"];
    if std::env::var("ROLLCALL_BENCH_DATABASE_URL").is_ok_and(|u| !u.is_empty()) {
        kinds.push("postgres");
    }
    println!("| database | users | median | p99 | mean | median ÷ smallest |");
    println!("|---|---|---|---|---|---|");
    for kind in kinds {
        let mut first: Option<Duration> = None;
        for &size in &sizes {
            let stats = run(kind, size, queries).await;
            let base = *first.get_or_insert(stats.median);
            println!(
                "| {kind} | {size} | {:.0?} | {:.0?} | {:.0?} | {:.2} |",
                stats.median,
                stats.p99,
                stats.mean,
                stats.median.as_secs_f64() / base.as_secs_f64()
            );
        }
    }
}
