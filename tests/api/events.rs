//! SCIM events (RFC 9967): written with their change, pushed to a receiver on loopback (RFC
//! 8935) through outages, in order per resource, once per event across instances; polled
//! (RFC 8936); receivers managed through the admin API.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{Method, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rollcall::events::{Deliverer, DeliveryConfig};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::harness::*;

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PREFIX: &str = "urn:ietf:params:scim:event:";

/// A SET's claims, after checking its HS256 signature with `secret`.
fn verified(token: &str, secret: &str) -> Value {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "{token}");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
    mac.verify_slice(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap())
        .expect("the SET's signature verifies with the receiver's secret");
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["typ"], "secevent+jwt");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap()
}

/// `(event short name, subject uri)` of a SET's claims.
fn summary(claims: &Value) -> (String, String) {
    let events = claims["events"].as_object().unwrap();
    assert_eq!(events.len(), 1, "{claims}");
    let uri = events.keys().next().unwrap();
    (
        uri.strip_prefix(PREFIX).unwrap().to_string(),
        claims["sub_id"]["uri"].as_str().unwrap().to_string(),
    )
}

/// A receiver on loopback: takes SETs with 202, or answers 503 while `down`.
struct Receiver {
    url: String,
    down: Arc<AtomicBool>,
    refused: Arc<AtomicUsize>,
    got: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    async fn start() -> Receiver {
        let down = Arc::new(AtomicBool::new(false));
        let refused = Arc::new(AtomicUsize::new(0));
        let got = Arc::new(Mutex::new(Vec::new()));
        let (d, r, g) = (down.clone(), refused.clone(), got.clone());
        let app = axum::Router::new().route(
            "/events",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let (d, r, g) = (d.clone(), r.clone(), g.clone());
                async move {
                    assert_eq!(
                        headers.get("content-type").unwrap(),
                        "application/secevent+jwt"
                    );
                    if d.load(Ordering::SeqCst) {
                        r.fetch_add(1, Ordering::SeqCst);
                        return StatusCode::SERVICE_UNAVAILABLE;
                    }
                    g.lock().unwrap().push(body);
                    StatusCode::ACCEPTED
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let url = format!("http://{}/events", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver {
            url,
            down,
            refused,
            got,
        }
    }

    fn tokens(&self) -> Vec<String> {
        self.got.lock().unwrap().clone()
    }
}

fn fast(app_issuer: &str) -> DeliveryConfig {
    DeliveryConfig {
        interval: Duration::from_millis(10),
        retry_base: Duration::from_millis(20),
        retry_max: Duration::from_millis(100),
        max_attempts: 1000,
        lease: Duration::from_secs(30),
        batch: 64,
        timeout: Duration::from_secs(5),
        ..DeliveryConfig::new(app_issuer.to_string())
    }
}

/// Runs `deliverer` until `done` holds (or fails after 20 s).
async fn deliver_until(deliverer: &Deliverer, done: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "delivery did not finish in time"
        );
        if deliverer.deliver_due().await.expect("deliver") == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

async fn register(app: &TestApp, boss: &str, body: Value) -> Value {
    app.admin(boss, Method::POST, "/event-receivers", Some(body))
        .await
        .assert_admin_ok(201)
        .clone()
}

async fn poll(app: &TestApp, token: &str, body: Value) -> crate::harness::TestResponse {
    app.dispatch(
        token,
        Method::POST,
        "/events/v1/poll",
        Some(("application/json", body.to_string())),
        &[],
    )
    .await
}

/// Every pending event of a poll receiver, acknowledged, as `(name, subject)`.
async fn drain(app: &TestApp, receiver: &Value) -> Vec<(String, String, Value)> {
    let token = receiver["pollToken"].as_str().unwrap();
    let secret = receiver["secret"].as_str().unwrap();
    let r = poll(
        app,
        token,
        json!({"returnImmediately": true, "maxEvents": 1000}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["moreAvailable"], false);
    let sets = r.body["sets"].as_object().unwrap().clone();
    let mut out: Vec<(String, String, Value)> = sets
        .iter()
        .map(|(jti, token)| {
            let claims = verified(token.as_str().unwrap(), secret);
            assert_eq!(claims["jti"], jti.as_str());
            let (name, sub) = summary(&claims);
            (name, sub, claims)
        })
        .collect();
    // The answer is an object: order by the stored order (toe, then the poll's order).
    let order: Vec<String> = sets.keys().cloned().collect();
    out.sort_by_key(|(_, _, c)| order.iter().position(|j| j == c["jti"].as_str().unwrap()));
    let ack: Vec<String> = order.clone();
    let r = poll(app, token, json!({"returnImmediately": true, "ack": ack})).await;
    assert_eq!(r.body["sets"], json!({}), "acknowledged events are gone");
    out
}

#[tokio::test]
async fn every_surface_emits_its_events_with_the_change_and_a_failed_change_none() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let receiver = register(&app, &boss, json!({"delivery": "poll"})).await;
    assert!(receiver["secret"].as_str().unwrap().len() >= 32);

    let alice = app
        .create_user(json!({"schemas": [USER_SCHEMA], "userName": "alice", "title": "Agent"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Refused: a duplicate userName, and a dry run: nothing to tell.
    app.post(
        "/scim/v2/Users",
        json!({"schemas": [USER_SCHEMA], "userName": "ALICE"}),
    )
    .await
    .assert_error(409, Some("uniqueness"));
    app.admin(
        &boss,
        Method::POST,
        "/users?dryRun=true",
        Some(json!({"userName": "ghost"})),
    )
    .await
    .assert_admin_ok(200);
    let events = drain(&app, &receiver).await;
    let names: Vec<(&str, &str)> = events
        .iter()
        .map(|(n, s, _)| (n.as_str(), s.as_str()))
        .collect();
    let alice_uri = format!("/Users/{alice}");
    assert_eq!(names, vec![("prov:create:notice", alice_uri.as_str())]);
    let claims = &events[0].2;
    assert!(
        claims["iss"].as_str().unwrap().ends_with("/scim/v2"),
        "{claims}"
    );
    assert_eq!(claims["aud"], receiver["id"]);
    let attributes = claims["events"][format!("{PREFIX}prov:create:notice")]["attributes"].clone();
    assert!(
        attributes.as_array().unwrap().contains(&json!("userName")),
        "{claims}"
    );
    assert!(
        !claims.to_string().contains("alice"),
        "a notice carries no values: {claims}"
    );

    // A deactivation: the patch and the deactivation; the admin API's change; a group with
    // a member, a member leaving; the user deleted.
    app.patch(
        &format!("/scim/v2/Users/{alice}"),
        patch_op(json!([{"op": "replace", "value": {"active": false}}])),
    )
    .await
    .assert_ok(200);
    let carol = app
        .admin(
            &boss,
            Method::POST,
            "/users",
            Some(json!({"userName": "carol"})),
        )
        .await
        .assert_admin_ok(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let bob = app.user("bob").await;
    let group = app.group("Sales", &[&bob]).await;
    app.patch(
        &format!("/scim/v2/Groups/{group}"),
        patch_op(json!([{"op": "remove", "path": format!("members[value eq \"{bob}\"]")}])),
    )
    .await;
    app.delete(&format!("/scim/v2/Users/{alice}")).await;
    let events = drain(&app, &receiver).await;
    let got: Vec<(String, String)> = events.into_iter().map(|(n, s, _)| (n, s)).collect();
    let g = format!("/Groups/{group}");
    let b = format!("/Users/{bob}");
    let c = format!("/Users/{carol}");
    let expected: Vec<(String, String)> = [
        ("prov:patch:notice", alice_uri.as_str()),
        ("prov:deactivate", alice_uri.as_str()),
        ("prov:create:notice", c.as_str()),
        ("prov:create:notice", b.as_str()),
        ("prov:create:notice", g.as_str()),
        ("feed:add", g.as_str()),
        ("feed:remove", g.as_str()),
        ("prov:delete", alice_uri.as_str()),
    ]
    .iter()
    .map(|(n, s)| (n.to_string(), s.to_string()))
    .collect();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn push_survives_an_outage_and_keeps_each_resources_order() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let sink = Receiver::start().await;
    let receiver = register(&app, &boss, json!({"url": sink.url, "events": ["prov"]})).await;
    let secret = receiver["secret"].as_str().unwrap().to_string();
    let deliverer = Deliverer::new(app.db.clone(), fast("https://scim.test/scim/v2"));

    sink.down.store(true, Ordering::SeqCst);
    let mut ids = Vec::new();
    for i in 0..5 {
        let id = app.user(&format!("u{i}")).await;
        for title in ["one", "two", "three"] {
            app.patch(
                &format!("/scim/v2/Users/{id}"),
                patch_op(json!([{"op": "replace", "path": "title", "value": title}])),
            )
            .await
            .assert_ok(200);
        }
        ids.push(id);
    }
    // Down: attempts fail, nothing is lost, the admin sees why.
    let refused = sink.refused.clone();
    deliver_until(&deliverer, || refused.load(Ordering::SeqCst) >= 10).await;
    let rid = receiver["id"].as_str().unwrap();
    let r = app
        .admin(
            &boss,
            Method::GET,
            &format!("/event-receivers/{rid}/deliveries?state=pending"),
            None,
        )
        .await;
    let page = r.assert_admin_ok(200);
    assert_eq!(page["totalResults"], 20);
    assert!(
        page["items"][0]["lastError"]
            .as_str()
            .unwrap()
            .contains("503"),
        "{page}"
    );
    assert!(sink.tokens().is_empty());
    let r = app
        .admin(&boss, Method::GET, &format!("/event-receivers/{rid}"), None)
        .await;
    assert!(
        r.assert_admin_ok(200)["downUntil"].is_string(),
        "{}",
        r.body
    );

    // Back: everything arrives, once, each user's events in the order they happened.
    sink.down.store(false, Ordering::SeqCst);
    let got = sink.got.clone();
    deliver_until(&deliverer, || got.lock().unwrap().len() >= 20).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    deliverer.deliver_due().await.unwrap();
    let tokens = sink.tokens();
    assert_eq!(tokens.len(), 20);
    let mut per_user: HashMap<String, Vec<String>> = HashMap::new();
    let mut jtis = std::collections::HashSet::new();
    for token in &tokens {
        let claims = verified(token, &secret);
        assert_eq!(claims["aud"], sink.url.as_str());
        assert_eq!(claims["iss"], "https://scim.test/scim/v2");
        assert!(jtis.insert(claims["jti"].as_str().unwrap().to_string()));
        let (name, sub) = summary(&claims);
        per_user.entry(sub).or_default().push(name);
    }
    for id in &ids {
        assert_eq!(
            per_user[&format!("/Users/{id}")],
            [
                "prov:create:notice",
                "prov:patch:notice",
                "prov:patch:notice",
                "prov:patch:notice"
            ]
        );
    }
    let r = app
        .admin(&boss, Method::GET, &format!("/event-receivers/{rid}"), None)
        .await;
    assert_eq!(
        r.assert_admin_ok(200)["deliveries"],
        json!({"pending": 0, "delivered": 20, "dead": 0})
    );
    assert_eq!(r.body["downUntil"], Value::Null);
}

#[tokio::test]
async fn dead_letters_are_listed_and_can_be_redelivered() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let sink = Receiver::start().await;
    let receiver = register(&app, &boss, json!({"url": sink.url})).await;
    let rid = receiver["id"].as_str().unwrap();
    let deliverer = Deliverer::new(
        app.db.clone(),
        DeliveryConfig {
            max_attempts: 2,
            ..fast("https://scim.test/scim/v2")
        },
    );
    sink.down.store(true, Ordering::SeqCst);
    let id = app.user("doomed").await;
    let dead = || async {
        app.admin(
            &boss,
            Method::GET,
            &format!("/event-receivers/{rid}/deliveries?state=dead"),
            None,
        )
        .await
        .assert_admin_ok(200)
        .clone()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        deliverer.deliver_due().await.unwrap();
        let page = dead().await;
        if page["totalResults"] == 1 {
            assert_eq!(page["items"][0]["resource"], format!("/Users/{id}"));
            assert_eq!(page["items"][0]["attempts"], 2);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never dead-lettered"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sink.down.store(false, Ordering::SeqCst);
    let r = app
        .admin(
            &boss,
            Method::POST,
            &format!("/event-receivers/{rid}/redeliver"),
            None,
        )
        .await;
    assert_eq!(r.assert_admin_ok(200)["redelivered"], 1);
    let got = sink.got.clone();
    deliver_until(&deliverer, || got.lock().unwrap().len() == 1).await;
    assert_eq!(dead().await["totalResults"], 0);
}

#[tokio::test]
async fn two_instances_deliver_each_event_exactly_once() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let sink = Receiver::start().await;
    register(&app, &boss, json!({"url": sink.url})).await;
    for i in 0..40 {
        let id = app.user(&format!("p{i}")).await;
        app.patch(
            &format!("/scim/v2/Users/{id}"),
            patch_op(json!([{"op": "replace", "path": "title", "value": "x"}])),
        )
        .await
        .assert_ok(200);
    }
    let second = app.instance().await;
    let (a, b) = (
        Deliverer::new(app.db.clone(), fast("https://scim.test/scim/v2")),
        Deliverer::new(second.db.clone(), fast("https://scim.test/scim/v2")),
    );
    let got = sink.got.clone();
    let done = || got.lock().unwrap().len() >= 80;
    tokio::join!(deliver_until(&a, done), deliver_until(&b, done));
    tokio::time::sleep(Duration::from_millis(100)).await;
    a.deliver_due().await.unwrap();
    b.deliver_due().await.unwrap();
    let tokens = sink.tokens();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for token in &tokens {
        let claims = URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap())
            .unwrap();
        let claims: Value = serde_json::from_slice(&claims).unwrap();
        *seen
            .entry(claims["jti"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(tokens.len(), 80, "each of the 80 events exactly once");
    assert!(seen.values().all(|n| *n == 1));
}

#[tokio::test]
async fn receivers_are_the_tenants_own_and_checked() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    for (body, field) in [
        (json!({"url": "http://example.com/events"}), "url"),
        (json!({"url": "ftp://127.0.0.1/x"}), "url"),
        (json!({}), "url"),
        (
            json!({"delivery": "poll", "url": "https://r.example/e"}),
            "url",
        ),
        (
            json!({"url": "https://r.example/e", "events": ["prov:nope"]}),
            "events",
        ),
        (
            json!({"url": "https://r.example/e", "colour": "red"}),
            "colour",
        ),
        (json!({"delivery": "carrier pigeon"}), "delivery"),
    ] {
        let r = app
            .admin(&boss, Method::POST, "/event-receivers", Some(body.clone()))
            .await;
        r.assert_admin_error(400, "invalid_value");
        assert_eq!(r.body["fields"], json!([field]), "{body}: {}", r.body);
    }
    let made = register(
        &app,
        &boss,
        json!({"url": "https://receiver.example/events", "events": ["prov:create", "feed"], "description": "CRM"}),
    )
    .await;
    let id = made["id"].as_str().unwrap();
    assert_eq!(made["events"], json!(["prov:create", "feed"]));
    let listed = app
        .admin(&boss, Method::GET, "/event-receivers", None)
        .await;
    let listed = listed.assert_admin_ok(200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert!(
        listed["items"][0].get("secret").is_none(),
        "secrets are answered once"
    );

    // Rotation answers a new secret once; a stale If-Match is refused.
    let r = app
        .admin_with(
            &boss,
            Method::PATCH,
            &format!("/event-receivers/{id}"),
            Some(json!({"rotateSecret": true})),
            &[("If-Match", "1")],
        )
        .await;
    let rotated = r.assert_admin_ok(200);
    assert_ne!(rotated["secret"], made["secret"]);
    assert_eq!(rotated["version"], 2);
    let r = app
        .admin_with(
            &boss,
            Method::PATCH,
            &format!("/event-receivers/{id}"),
            Some(json!({"description": "late"})),
            &[("If-Match", "1")],
        )
        .await;
    r.assert_admin_error(412, "precondition_failed");

    // An agent can neither see nor touch it.
    let (_, agent) = app.admin_token("agent", &["Agent"]).await;
    app.admin(&agent, Method::GET, "/event-receivers", None)
        .await
        .assert_admin_error(403, "forbidden");
    app.admin(
        &agent,
        Method::DELETE,
        &format!("/event-receivers/{id}"),
        None,
    )
    .await
    .assert_admin_error(403, "forbidden");
    let audit = app
        .admin(&boss, Method::GET, &format!("/audit?target={id}"), None)
        .await;
    let audit = audit.assert_admin_ok(200).to_string();
    assert!(audit.contains("event_receiver.create") && audit.contains("event_receiver.update"));
    assert!(
        !audit.contains(made["secret"].as_str().unwrap()),
        "secrets are never audited"
    );

    app.admin(
        &boss,
        Method::DELETE,
        &format!("/event-receivers/{id}"),
        None,
    )
    .await;
    app.admin(&boss, Method::GET, &format!("/event-receivers/{id}"), None)
        .await
        .assert_admin_error(404, "not_found");
}

#[tokio::test]
async fn polling_needs_its_token_and_reported_errors_become_dead_letters() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let receiver = register(&app, &boss, json!({"delivery": "poll"})).await;
    let token = receiver["pollToken"].as_str().unwrap();
    let r = poll(&app, "not-a-token", json!({"returnImmediately": true})).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["err"], "authentication_failed");
    let r = poll(&app, token, json!({"maxEvents": "many"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Another tenant's SCIM token is no poll token.
    let other = app.other_tenant("globex").await;
    assert_eq!(
        poll(&app, &other, json!({})).await.status,
        StatusCode::UNAUTHORIZED
    );

    app.user("first").await;
    app.user("second").await;
    // Unacknowledged events come again; one reported as unusable is a dead letter.
    let r = poll(
        &app,
        token,
        json!({"returnImmediately": true, "maxEvents": 1}),
    )
    .await;
    assert_eq!(r.body["moreAvailable"], true);
    let first: Vec<String> = r.body["sets"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let again = poll(
        &app,
        token,
        json!({"returnImmediately": true, "maxEvents": 1}),
    )
    .await;
    assert_eq!(
        again.body["sets"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>(),
        first
    );
    let r = poll(
        &app,
        token,
        json!({"returnImmediately": true, "setErrs": {first[0].clone(): {"err": "invalid_key", "description": "cannot parse"}}}),
    )
    .await;
    assert_eq!(r.body["sets"].as_object().unwrap().len(), 1);
    let rid = receiver["id"].as_str().unwrap();
    let page = app
        .admin(
            &boss,
            Method::GET,
            &format!("/event-receivers/{rid}/deliveries?state=dead"),
            None,
        )
        .await;
    let page = page.assert_admin_ok(200);
    assert_eq!(page["items"][0]["jti"], first[0].as_str());
    assert!(
        page["items"][0]["lastError"]
            .as_str()
            .unwrap()
            .contains("invalid_key")
    );

    // A long poll waits for the next event.
    let waiting = poll(
        &app,
        token,
        json!({"ack": r.body["sets"].as_object().unwrap().keys().collect::<Vec<_>>()}),
    );
    let create = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        app.user("third").await
    };
    let (r, third) = tokio::join!(waiting, create);
    let sets = r.body["sets"].as_object().unwrap();
    assert_eq!(sets.len(), 1, "{}", r.body);
    let claims = verified(
        sets.values().next().unwrap().as_str().unwrap(),
        receiver["secret"].as_str().unwrap(),
    );
    assert_eq!(claims["sub_id"]["uri"], format!("/Users/{third}"));
}

#[tokio::test]
async fn group_events_name_the_group_and_its_members() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let receiver = register(&app, &boss, json!({"delivery": "poll", "events": ["feed"]})).await;
    let a = app.user("a").await;
    let b = app.user("b").await;
    let group = app.group("Team", &[&a, &b]).await;
    app.put(
        &format!("/scim/v2/Groups/{group}"),
        json!({"schemas": [GROUP_SCHEMA], "displayName": "Team", "members": [{"value": a}]}),
    )
    .await
    .assert_ok(200);
    let events = drain(&app, &receiver).await;
    let payloads: Vec<(String, Value)> = events
        .iter()
        .map(|(n, _, c)| (n.clone(), c["events"][format!("{PREFIX}{n}")].clone()))
        .collect();
    assert_eq!(payloads.len(), 2, "{payloads:?}");
    assert_eq!(payloads[0].0, "feed:add");
    let mut added: Vec<String> = payloads[0].1["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap().to_string())
        .collect();
    added.sort();
    assert_eq!(added, sorted(&[&a, &b]));
    assert_eq!(
        payloads[1],
        (
            "feed:remove".to_string(),
            json!({"members": [{"value": b}]})
        )
    );
}

#[tokio::test]
async fn the_sweep_deletes_delivered_events_and_keeps_the_rest() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let receiver = register(&app, &boss, json!({"delivery": "poll"})).await;
    app.user("kept").await;
    drain(&app, &receiver).await;
    app.user("waiting").await;
    let future = rollcall::store::now_us() + 1_000_000;
    assert_eq!(
        rollcall::store::events::sweep(&app.db, future)
            .await
            .unwrap(),
        1
    );
    let rid = receiver["id"].as_str().unwrap();
    let r = app
        .admin(&boss, Method::GET, &format!("/event-receivers/{rid}"), None)
        .await;
    assert_eq!(
        r.assert_admin_ok(200)["deliveries"],
        json!({"pending": 1, "delivered": 0, "dead": 0})
    );
}

#[tokio::test]
async fn events_an_instance_held_when_it_died_are_delivered_once_its_lease_runs_out() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let sink = Receiver::start().await;
    register(&app, &boss, json!({"url": sink.url})).await;
    for i in 0..3 {
        app.user(&format!("d{i}")).await;
    }
    // An instance claims the events and dies before sending them.
    let lease = rollcall::store::now_us() + 300_000;
    let claimed = rollcall::store::events::claim(&app.db, 64, lease)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 3);
    let survivor = app.instance().await;
    let deliverer = Deliverer::new(survivor.db.clone(), fast("https://scim.test/scim/v2"));
    assert_eq!(
        deliverer.deliver_due().await.unwrap(),
        0,
        "leased events wait"
    );
    assert!(sink.tokens().is_empty());
    let got = sink.got.clone();
    deliver_until(&deliverer, || got.lock().unwrap().len() >= 3).await;
    assert_eq!(sink.tokens().len(), 3);
}

#[tokio::test]
async fn another_tenants_admin_reaches_none_of_the_receivers_or_holds() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let receiver = register(
        &app,
        &boss,
        json!({"url": "https://receiver.example/events"}),
    )
    .await;
    let rid = receiver["id"].as_str().unwrap();
    app.admin(
        &boss,
        Method::PATCH,
        "/settings",
        Some(json!({"deprovisionBrakeMinimum": 1, "deprovisionBrakePercent": 1})),
    )
    .await
    .assert_admin_ok(200);
    for name in ["x1", "x2", "x3"] {
        app.user(name).await;
    }
    let ids = app.find_users("userName sw \"x\"").await;
    for id in &ids {
        app.patch(
            &format!("/scim/v2/Users/{id}"),
            patch_op(json!([{"op": "replace", "value": {"active": false}}])),
        )
        .await;
    }
    let holds = app.admin(&boss, Method::GET, "/holds", None).await;
    let hold = holds.assert_admin_ok(200)["items"][0]["id"]
        .as_str()
        .expect("a hold opened")
        .to_string();

    let (_, other) = app.other_tenant_admin("globex").await;
    let listed = app
        .admin(&other, Method::GET, "/event-receivers", None)
        .await;
    assert_eq!(listed.assert_admin_ok(200)["items"], json!([]));
    assert_eq!(
        app.admin(&other, Method::GET, "/holds", None)
            .await
            .assert_admin_ok(200)["items"],
        json!([])
    );
    for (method, path, body) in [
        (Method::GET, format!("/event-receivers/{rid}"), None),
        (
            Method::PATCH,
            format!("/event-receivers/{rid}"),
            Some(json!({"description": "mine now"})),
        ),
        (
            Method::GET,
            format!("/event-receivers/{rid}/deliveries"),
            None,
        ),
        (
            Method::POST,
            format!("/event-receivers/{rid}/redeliver"),
            None,
        ),
        (Method::DELETE, format!("/event-receivers/{rid}"), None),
        (Method::POST, format!("/holds/{hold}/release"), None),
    ] {
        let r = app.admin(&other, method.clone(), &path, body).await;
        r.assert_admin_error(404, "not_found");
    }
    // Untouched for its own tenant.
    let r = app
        .admin(&boss, Method::GET, &format!("/event-receivers/{rid}"), None)
        .await;
    assert_eq!(r.assert_admin_ok(200)["description"], Value::Null);
    let holds = app
        .admin(&boss, Method::GET, "/holds?state=held", None)
        .await;
    assert_eq!(holds.assert_admin_ok(200)["items"][0]["id"], hold.as_str());
}
