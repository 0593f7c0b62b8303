//! Time to validate and apply a 10,000-row CSV import through the real router: first a file
//! that creates 10,000 complete local users (names, security profile), then one that updates all of them (routing profile,
//! licence, skills, hierarchy). Each is run as a dry run (validate only) and for real.
//!
//! `cargo bench --bench csv_import`; `CSV_ROWS` changes the row count, and
//! `ROLLCALL_BENCH_DATABASE_URL` (a PostgreSQL server URL) adds a PostgreSQL run.

mod common;

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use rollcall::app::{AppState, router};
use rollcall::domain::audit::Actor;
use rollcall::domain::catalog::{CatalogItem, CatalogKind};
use rollcall::domain::validation::Surface;
use rollcall::store::{self, catalog, credentials};
use serde_json::{Value, json};
use tower::ServiceExt;

async fn post(app: &axum::Router, token: &str, uri: &str, csv: String) -> (Duration, Value) {
    let request = Request::post(uri)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "text/csv")
        .body(Body::from(csv))
        .expect("request");
    let started = Instant::now();
    let response = app.clone().oneshot(request).await.expect("response");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let elapsed = started.elapsed();
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    assert!(status.is_success(), "{status}: {body}");
    (elapsed, body)
}

async fn run(kind: &str, rows: usize) {
    let (db, _dir) = common::fresh(kind, "csv").await;
    store::migrate(&db).await.expect("migrate");
    let tenant =
        rollcall::write::tenants::create(&db, &rollcall::domain::audit::Actor::cli(), "bench")
            .await
            .expect("tenant");
    for (kind, name) in [
        (CatalogKind::RoutingProfile, "Sales"),
        (CatalogKind::RoutingProfile, "Support"),
        (CatalogKind::Skill, "French"),
        (CatalogKind::Skill, "Billing"),
        (CatalogKind::Hierarchy, "EMEA/London/Team A"),
    ] {
        let item = CatalogItem {
            id: String::new(),
            kind,
            name: name.into(),
            permissions: Default::default(),
            label: None,
        };
        catalog::create(&db, &tenant.id, &item)
            .await
            .expect("catalog");
    }
    let boss = rollcall::write::users::create(
        &db,
        &tenant.id,
        &Actor::cli(),
        Surface::Local,
        json!({"userName": "boss", "urn:rollcall:params:scim:schemas:extension:contactcentre:2.0:User": {"securityProfiles": ["Administrator"]}})
            .as_object()
            .cloned()
            .unwrap_or_default(),
    )
    .await
    .expect("admin");
    let (_, token) = credentials::create(
        &db,
        &tenant.id,
        credentials::Kind::User,
        Some(&boss.id),
        "bench",
    )
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

    let mut create = String::from(
        "email,userName,givenName,familyName,securityProfiles,routingProfile,licenceType\n",
    );
    let mut update =
        String::from("email,routingProfile,licenceType,skills,agentHierarchy,telephonyRegion\n");
    for n in 0..rows {
        create.push_str(&format!(
            "agent{n}@bench.example,agent{n},Agent,Number {n},Agent,Sales,Admin\n"
        ));
        update.push_str(&format!(
            "agent{n}@bench.example,Support,AgentDesktop,French:{};Billing:3,EMEA/London/Team A,EMEA Primary\n",
            1 + n % 10
        ));
    }
    let (dry_create, body) = post(
        &app,
        &token,
        "/admin/v1/users/import?dryRun=true",
        create.clone(),
    )
    .await;
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(0), "{body}");
    let (real_create, body) =
        post(&app, &token, "/admin/v1/users/import?dryRun=false", create).await;
    assert_eq!(body["created"], json!(rows), "{body}");
    let (dry_update, body) = post(
        &app,
        &token,
        "/admin/v1/users/import?dryRun=true",
        update.clone(),
    )
    .await;
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(0), "{body}");
    let (real_update, body) =
        post(&app, &token, "/admin/v1/users/import?dryRun=false", update).await;
    assert_eq!(body["updated"], json!(rows), "{body}");
    println!(
        "| {kind} | {rows} | create | {:.2?} | {:.2?} |",
        dry_create, real_create
    );
    println!(
        "| {kind} | {rows} | update (agent ids assigned) | {:.2?} | {:.2?} |",
        dry_update, real_update
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let rows: usize = std::env::var("CSV_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let mut kinds = vec!["sqlite"];
    if std::env::var("ROLLCALL_BENCH_DATABASE_URL").is_ok_and(|u| !u.is_empty()) {
        kinds.push("postgres");
    }
    println!("| database | rows | file | dry run (validate) | real run (validate + apply) |");
    println!("|---|---|---|---|---|");
    for kind in kinds {
        run(kind, rows).await;
    }
}
