//! The admin flows at scale, through the real router:
//! - creating 1,000 users from a template user (`POST /admin/v1/users/from-template`),
//!   dry run and real run;
//! - the admin list's free-text search (`GET /admin/v1/users?q=…&count=50`) at 10,000 and
//!   1,000,000 users: a surname prefix that names one user, a `first last` pair, a userName
//!   prefix, and a common first name (one user in 50 has it).
//!
//! - the console's screens (users list, search, a middle page, a user, the audit log), server
//!   time through the router, at the same sizes.
//!
//! `cargo bench --bench admin_flows`; `ADMIN_SIZES=10000,1000000`, `ADMIN_QUERIES=300`.

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
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, TransactionTrait};
use serde_json::{Value, json};
use tower::ServiceExt;

const CC: &str = "urn:rollcall:params:scim:schemas:extension:contactcentre:2.0:User";
const FIRST: [&str; 50] = [
    "Ann", "Bob", "Cara", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jo", "Kai", "Lena", "Mo",
    "Nia", "Otto", "Pia", "Quin", "Rae", "Sam", "Tia", "Uma", "Vic", "Wes", "Xia", "Yuri", "Zoe",
    "Abe", "Bea", "Cy", "Di", "Ed", "Flo", "Gil", "Hal", "Ida", "Jay", "Kim", "Lou", "Max", "Ned",
    "Ola", "Pat", "Ros", "Sid", "Ted", "Ula", "Val", "Wyn", "Yas", "Zak",
];

/// Bulk-loads `count` local users with names, a work email and an agent id.
async fn load(db: &DatabaseConnection, tenant_id: &str, count: usize) {
    let truth = if db.get_database_backend() == DbBackend::Postgres {
        "true"
    } else {
        "1"
    };
    let txn = db.begin().await.expect("begin");
    for start in (0..count).step_by(1000) {
        let end = (start + 1000).min(count);
        let mut users = String::from(
            "INSERT INTO users (id, tenant_id, user_name, user_name_key, external_id, display_name, display_name_key, active, managed_by, data, version, created_us, modified_us, agent_id) VALUES ",
        );
        let mut attrs = String::from(
            "INSERT INTO user_attrs (tenant_id, user_id, attr, ordinal, str_val, str_key, type_key, is_primary) VALUES ",
        );
        for n in start..end {
            if n > start {
                users.push(',');
                attrs.push(',');
            }
            let first = FIRST[n % FIRST.len()];
            let family = format!("Family{n}");
            let id = format!("u-{n}");
            let agent = 100_000 + n;
            let data = format!(
                r#"{{"userName":"user{n}","active":true,"name":{{"givenName":"{first}","familyName":"{family}"}},"displayName":"{first} {family}","emails":[{{"value":"user{n}@acme.example","type":"work","primary":true}}],"{CC}":{{"securityProfiles":["Agent"],"agentId":"{agent}"}}}}"#
            );
            users.push_str(&format!(
                "('{id}', '{tenant_id}', 'user{n}', 'user{n}', NULL, '{first} {family}', '{} {}', {truth}, 'local', '{data}', 1, {n}, {n}, '{agent}')",
                first.to_lowercase(),
                family.to_lowercase()
            ));
            attrs.push_str(&format!(
                "('{tenant_id}', '{id}', 'emails', 0, 'user{n}@acme.example', 'user{n}@acme.example', 'work', {truth}),\
                 ('{tenant_id}', '{id}', 'name.givenName', 0, '{first}', '{}', NULL, NULL),\
                 ('{tenant_id}', '{id}', 'name.familyName', 0, '{family}', '{}', NULL, NULL),\
                 ('{tenant_id}', '{id}', '{CC}:agentId', 0, '{agent}', '{agent}', NULL, NULL),\
                 ('{tenant_id}', '{id}', '{CC}:securityProfiles', 0, 'Agent', 'agent', NULL, NULL)",
                first.to_lowercase(),
                family.to_lowercase()
            ));
        }
        txn.execute_unprepared(&users).await.expect("users");
        txn.execute_unprepared(&attrs).await.expect("attrs");
    }
    txn.commit().await.expect("commit");
    db.execute_unprepared("ANALYZE").await.expect("analyze");
}

async fn call(
    app: &axum::Router,
    token: &str,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (Duration, Value) {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"));
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let request = request
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
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
    assert!(status.is_success(), "{uri}: {status} {body}");
    (elapsed, body)
}

struct Setup {
    app: axum::Router,
    token: String,
    db: DatabaseConnection,
    tenant_id: String,
    boss_id: String,
    _dir: Option<tempfile::TempDir>,
}

async fn setup(kind: &str, users: usize) -> Setup {
    let (db, dir) = common::fresh(kind, &format!("admin{users}")).await;
    store::migrate(&db).await.expect("migrate");
    let tenant = rollcall::write::tenants::create(&db, &Actor::cli(), "bench")
        .await
        .expect("tenant");
    for (kind, name) in [
        (CatalogKind::RoutingProfile, "Sales"),
        (CatalogKind::Skill, "French"),
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
        json!({"userName": "boss", CC: {"securityProfiles": ["Administrator"]}})
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
    if users > 0 {
        let started = Instant::now();
        load(&db, &tenant.id, users).await;
        eprintln!("{kind}: loaded {users} users in {:.1?}", started.elapsed());
    }
    let app = router(
        AppState::with_edge(
            db.clone(),
            rollcall::http::edge::EdgeConfig {
                rate_limit: 0,
                ..Default::default()
            },
        )
        .expect("schemas"),
    );
    Setup {
        app,
        token,
        db,
        tenant_id: tenant.id,
        boss_id: boss.id,
        _dir: dir,
    }
}

async fn template_creation(kind: &str, count: usize) {
    let s = setup(kind, 0).await;
    let (_, template) = call(
        &s.app,
        &s.token,
        "POST",
        "/admin/v1/users",
        Some(json!({
            "userName": "template", "securityProfiles": ["Agent"], "licenceType": "AgentDesktop",
            "routingProfile": "Sales", "agentHierarchy": "EMEA/London/Team A",
            "skills": [{"name": "French", "level": 7}], "telephonyRegion": "Sydney"
        })),
    )
    .await;
    let users: Vec<Value> = (0..count)
        .map(|n| json!({"userName": format!("new{n}"), "email": format!("new{n}@acme.example"), "name": {"givenName": "New", "familyName": format!("Agent {n}")}}))
        .collect();
    let body = json!({"template": template["id"], "startingAgentId": 5000, "users": users});
    let (dry, answer) = call(
        &s.app,
        &s.token,
        "POST",
        "/admin/v1/users/from-template?dryRun=true",
        Some(body.clone()),
    )
    .await;
    assert_eq!(answer["created"], json!(count), "{answer}");
    let (real, answer) = call(
        &s.app,
        &s.token,
        "POST",
        "/admin/v1/users/from-template",
        Some(body),
    )
    .await;
    assert_eq!(answer["created"], json!(count), "{answer}");
    println!("| {kind} | from-template, {count} users | {dry:.2?} | {real:.2?} |");
}

/// Makes a query's text from a user number.
type QueryShape = Box<dyn Fn(usize) -> String>;

fn median(mut times: Vec<Duration>) -> (Duration, Duration) {
    times.sort();
    (times[times.len() / 2], times[times.len() * 95 / 100])
}

async fn search(kind: &str, size: usize, queries: usize) {
    let s = setup(kind, size).await;
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % size as u64) as usize
    };
    let shapes: [(&str, QueryShape); 4] = [
        (
            "surname prefix (1 user)",
            Box::new(|n| format!("family{n}")),
        ),
        (
            "first last (1 user)",
            Box::new(|n| format!("{}%20family{n}", FIRST[n % FIRST.len()])),
        ),
        (
            "userName prefix (≤11 users)",
            Box::new(|n| format!("user{}", n / 10)),
        ),
        (
            "common first name (1 in 50)",
            Box::new(|n| FIRST[n % FIRST.len()].to_string()),
        ),
    ];
    for (label, make) in &shapes {
        let mut times = Vec::with_capacity(queries);
        for i in 0..queries + 20 {
            let n = next();
            let uri = format!("/admin/v1/users?q={}&count=50", make(n));
            let (elapsed, body) = call(&s.app, &s.token, "GET", &uri, None).await;
            assert!(
                body["totalResults"].as_u64().unwrap_or(0) >= 1,
                "{uri}: {body}"
            );
            if i >= 20 {
                times.push(elapsed);
            }
        }
        let (p50, p95) = median(times);
        println!("| {kind} | q= {label}, {size} users | {p50:.1?} | {p95:.1?} |");
    }
    console_pages(kind, size, queries, &s, &mut next).await;
}

/// Server time of the console's screens, signed in as the tenant's administrator.
async fn console_pages(
    kind: &str,
    size: usize,
    queries: usize,
    s: &Setup,
    next: &mut impl FnMut() -> usize,
) {
    let (secret, _) =
        rollcall::store::console::create_session(&s.db, &s.tenant_id, &s.boss_id, "bench")
            .await
            .expect("session");
    let cookie = format!("rollcall_console={secret}");
    let shapes: [(&str, QueryShape); 5] = [
        (
            "Users, Active, page 1",
            Box::new(|_| "/console/users".into()),
        ),
        (
            "Users, search a surname",
            Box::new(|n| format!("/console/users?q=family{n}&status=all")),
        ),
        (
            "Users, All, a middle page",
            Box::new(move |_| format!("/console/users?status=all&page={}", size / 100 + 1)),
        ),
        ("User page", Box::new(|n| format!("/console/users/u-{n}"))),
        ("Audit log, page 1", Box::new(|_| "/console/audit".into())),
    ];
    for (label, make) in &shapes {
        let mut times = Vec::with_capacity(queries);
        for i in 0..queries + 5 {
            let uri = make(next());
            let request = Request::builder()
                .uri(&uri)
                .header("cookie", &cookie)
                .body(Body::empty())
                .expect("request");
            let started = Instant::now();
            let response = s.app.clone().oneshot(request).await.expect("response");
            let status = response.status();
            let bytes = response
                .into_body()
                .collect()
                .await
                .expect("body")
                .to_bytes();
            let elapsed = started.elapsed();
            assert!(
                status.is_success(),
                "{uri}: {status} {}",
                String::from_utf8_lossy(&bytes)
            );
            if i >= 5 {
                times.push(elapsed);
            }
        }
        let (p50, p95) = median(times);
        println!("| {kind} | console: {label}, {size} users | {p50:.1?} | {p95:.1?} |");
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let sizes: Vec<usize> = std::env::var("ADMIN_SIZES")
        .unwrap_or_else(|_| "10000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let queries: usize = std::env::var("ADMIN_QUERIES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let mut kinds = vec!["sqlite"];
    if std::env::var("ROLLCALL_BENCH_DATABASE_URL").is_ok_and(|u| !u.is_empty()) {
        kinds.push("postgres");
    }
    println!("| database | what | dry run / p50 | real run / p95 |");
    println!("|---|---|---|---|");
    for kind in &kinds {
        template_creation(kind, 1000).await;
    }
    for kind in &kinds {
        for &size in &sizes {
            search(kind, size, queries).await;
        }
    }
}
