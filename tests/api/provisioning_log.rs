//! The provisioning log: each SCIM request of a credential — method, path, status, latency,
//! the SCIM error, the body without its secrets — listed by the admin API
//! (`GET /admin/v1/provisioning-log`) and the console's Identity provider screen, searchable by
//! status and user, bounded per credential and in age. Entries are written by a background
//! writer: the tests poll the admin API until they show.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{Method, Request};
use rollcall::http::edge::EdgeConfig;
use rollcall::http::provisioning_log::LogConfig;
use rollcall::store::provisioning_log::{self as log_store, NewEntry};
use rollcall::store::{credentials, now_us};
use serde_json::{Value, json};

use crate::console::{Client, html, link, post_form_anonymous, sign_in, unescape};
use crate::harness::{ENTERPRISE, TestApp, USER_SCHEMA, boss, patch_op, q, test_edge};
use tower::ServiceExt;

/// The body Microsoft Entra ID sends to create a user.
fn entra_user(user_name: &str) -> Value {
    json!({
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": format!("{}@work.example", user_name.to_lowercase())}],
        "externalId": format!("ext-{user_name}"),
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Ann Lee", "familyName": "Lee", "givenName": "Ann"},
        "roles": [],
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "userName": user_name,
        ENTERPRISE: {"employeeNumber": "1234", "department": "Sales"}
    })
}

/// The id of the test tenant's SCIM credential.
async fn scim_credential(app: &TestApp) -> String {
    credentials::list(&app.db, &app.tenant_id)
        .await
        .expect("credentials")
        .into_iter()
        .find(|c| c.kind == credentials::Kind::Scim)
        .expect("the SCIM credential")
        .id
}

/// Polls `GET /admin/v1/provisioning-log?{query}` until `done` holds of the answer (at most
/// 10 s); the answer.
async fn log_until(
    app: &TestApp,
    token: &str,
    query: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = app
            .admin(
                token,
                Method::GET,
                &format!("/provisioning-log?{query}"),
                None,
            )
            .await;
        let body = r.assert_admin_ok(200).clone();
        if done(&body) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "the provisioning log did not show ?{query} within 10 s: {body}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn total(body: &Value) -> u64 {
    body["totalResults"].as_u64().expect("totalResults")
}

fn items(body: &Value) -> &Vec<Value> {
    body["items"].as_array().expect("items")
}

#[tokio::test]
async fn an_entra_style_failed_create_shows_with_its_detail() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let credential = scim_credential(&app).await;
    let id = app.create_user(entra_user("ann@acme.example")).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    // Entra creates again, the userName in another case: 409 uniqueness.
    let refused = app
        .post("/Users?aadOptscim062020", entra_user("Ann@Acme.example"))
        .await;
    refused.assert_error(409, Some("uniqueness"));

    let page = log_until(&app, &boss, "user=ann%40acme.example&status=409", |b| {
        total(b) == 1
    })
    .await;
    let entry = &items(&page)[0];
    assert_eq!(entry["method"], "POST");
    assert_eq!(entry["path"], "/scim/v2/Users?aadOptscim062020");
    assert_eq!(entry["status"], 409);
    assert_eq!(entry["scimType"], "uniqueness");
    assert_eq!(entry["detail"], refused.body["detail"]);
    assert_eq!(entry["credential"], credential.as_str());
    assert_eq!(entry["credentialName"], "test");
    assert_eq!(entry["userName"], "Ann@Acme.example");
    assert_eq!(entry["resourceId"], Value::Null);
    assert!(
        entry["latencyMs"].as_f64().is_some_and(|ms| ms > 0.0),
        "{entry}"
    );
    assert!(
        entry["at"].as_str().is_some_and(|at| at.ends_with('Z')),
        "{entry}"
    );
    assert_eq!(entry["request"]["externalId"], "ext-Ann@Acme.example");
    assert_eq!(entry["request"]["emails"][0]["type"], "work");

    // By userName in any case, the successful create too (its id from Location), newest
    // first; by class and by `error`.
    let page = log_until(&app, &boss, "user=ANN%40ACME.EXAMPLE", |b| total(b) == 2).await;
    let statuses: Vec<&Value> = items(&page).iter().map(|e| &e["status"]).collect();
    assert_eq!(statuses, [&json!(409), &json!(201)]);
    assert_eq!(items(&page)[1]["resourceId"], id.as_str());
    assert_eq!(items(&page)[1]["scimType"], Value::Null);
    assert_eq!(items(&page)[1]["detail"], Value::Null);
    for status in ["4xx", "error", "409"] {
        let page = log_until(&app, &boss, &format!("status={status}"), |_| true).await;
        assert_eq!(total(&page), 1, "status={status}: {page}");
        assert_eq!(items(&page)[0]["status"], 409);
    }
    let page = log_until(&app, &boss, "status=2xx", |_| true).await;
    assert_eq!(items(&page)[0]["status"], 201);
    let page = log_until(&app, &boss, "status=5xx", |_| true).await;
    assert_eq!(total(&page), 0);
    let page = log_until(&app, &boss, &format!("credential={credential}"), |_| true).await;
    assert_eq!(total(&page), 2);
    let page = log_until(&app, &boss, "credential=someone-else", |_| true).await;
    assert_eq!(total(&page), 0);
}

#[tokio::test]
async fn a_user_is_found_by_id_or_name_whatever_the_request_named() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let id = app.user("bob@acme.example").await;
    // A PATCH names only the id; Entra's string "False" is fine, an unknown op is not.
    app.patch(
        &format!("/Users/{id}"),
        patch_op(json!([{"op": "Replace", "path": "active", "value": "False"}])),
    )
    .await
    .assert_ok(200);
    let bad = app
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([{"op": "Frobnicate", "path": "active", "value": true}])),
        )
        .await;
    assert_eq!(bad.status.as_u16(), 400, "{}", bad.body);
    app.get(&format!(
        "/Users?filter={}",
        q("userName eq \"bob@acme.example\"")
    ))
    .await
    .assert_ok(200);

    // By userName: the create (named in its body) and both PATCHes (naming the user's id).
    let page = log_until(&app, &boss, "user=Bob%40acme.example", |b| total(b) == 3).await;
    let methods: Vec<(&Value, &Value)> = items(&page)
        .iter()
        .map(|e| (&e["method"], &e["status"]))
        .collect();
    assert_eq!(
        methods,
        [
            (&json!("PATCH"), &json!(400)),
            (&json!("PATCH"), &json!(200)),
            (&json!("POST"), &json!(201))
        ]
    );
    let failed = &items(&page)[0];
    assert_eq!(failed["resourceId"], id.as_str());
    assert_eq!(failed["scimType"], bad.body["scimType"]);
    assert_eq!(failed["detail"], bad.body["detail"]);
    assert_eq!(failed["request"]["Operations"][0]["op"], "Frobnicate");
    // By id: the same three.
    let page = log_until(&app, &boss, &format!("user={id}"), |_| true).await;
    assert_eq!(total(&page), 3);
    // The list's filter is kept in the path, as sent.
    let page = log_until(&app, &boss, "status=200", |b| total(b) == 2).await;
    assert_eq!(
        items(&page)[0]["path"],
        format!(
            "/scim/v2/Users?filter={}",
            q("userName eq \"bob@acme.example\"")
        )
    );
}

#[tokio::test]
async fn passwords_and_secrets_are_never_kept() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    // Okta sends a password with its creates, and changes it by PATCH.
    let created = app
        .create_user(json!({
            "schemas": [USER_SCHEMA],
            "userName": "carol@acme.example",
            "password": "Hunter2-create!",
            "groups": [],
            "locale": "en_US",
            "urn:example:params:scim:schemas:extension:x:2.0:User": {"apiToken": "tok-Hunter2", "clientSecret": "sec-Hunter2"}
        }))
        .await;
    let id = created["id"].as_str().expect("id");
    app.patch(
        &format!("/Users/{id}"),
        patch_op(json!([
            {"op": "replace", "path": "password", "value": "Hunter2-patch!"},
            {"op": "replace", "value": {"Password": "Hunter2-pathless!", "displayName": "Carol"}}
        ])),
    )
    .await;
    // A filter on the password is refused; its value is not kept either.
    app.get(&format!(
        "/Users?filter={}",
        q("password eq \"Hunter2-filter\"")
    ))
    .await;

    let page = log_until(&app, &boss, "", |b| total(b) == 3).await;
    let text = page.to_string();
    assert!(!text.contains("Hunter2"), "a secret was kept: {text}");
    let [filter, patch, create] = items(&page).as_slice() else {
        panic!("three entries: {page}");
    };
    assert_eq!(create["request"]["password"], "(removed)");
    assert_eq!(create["request"]["locale"], "en_US");
    assert_eq!(
        create["request"]["urn:example:params:scim:schemas:extension:x:2.0:User"],
        json!({"apiToken": "(removed)", "clientSecret": "(removed)"})
    );
    assert_eq!(patch["request"]["Operations"][0]["value"], "(removed)");
    assert_eq!(
        patch["request"]["Operations"][1]["value"],
        json!({"Password": "(removed)", "displayName": "Carol"})
    );
    assert_eq!(filter["path"], "/scim/v2/Users?filter=(removed)");
    // Nor in the rows themselves.
    let (rows, _) = log_store::list(
        &app.db,
        &app.tenant_id,
        &log_store::Query {
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .expect("rows");
    for row in rows {
        let stored = format!("{} {}", row.path, row.request.unwrap_or_default());
        assert!(!stored.contains("Hunter2"), "{stored}");
    }
}

#[tokio::test]
async fn a_large_body_is_kept_cut_and_says_so() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let members: Vec<Value> = (0..3000)
        .map(|i| json!({"value": format!("no-such-user-{i:05}")}))
        .collect();
    let r = app
        .post(
            "/Groups",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Everyone", "members": members}),
        )
        .await;
    // Unknown members are left out of the group; the request is kept as sent (cut).
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    let page = log_until(&app, &boss, "", |b| total(b) == 1).await;
    let request = &items(&page)[0]["request"];
    assert!(request.to_string().len() <= 8 * 1024, "{request}");
    assert_eq!(request["displayName"], "Everyone");
    let kept = request["members"].as_array().expect("members");
    assert_eq!(kept[0]["value"], "no-such-user-00000");
    let note = kept.last().and_then(Value::as_str).expect("a note");
    assert!(note.ends_with("more of 3000 items)"), "{note}");
}

#[tokio::test]
async fn pages_are_newest_first() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    for i in 0..5 {
        app.get(&format!("/Users/missing-{i}"))
            .await
            .assert_error(404, None);
    }
    log_until(&app, &boss, "status=404", |b| total(b) == 5).await;
    let page = log_until(&app, &boss, "status=404&count=2", |_| true).await;
    assert_eq!(total(&page), 5);
    assert_eq!(page["startIndex"], 1);
    assert_eq!(page["itemsPerPage"], 2);
    let ids: Vec<&Value> = items(&page).iter().map(|e| &e["resourceId"]).collect();
    assert_eq!(ids, [&json!("missing-4"), &json!("missing-3")]);
    let page = log_until(&app, &boss, "status=404&count=2&startIndex=3", |_| true).await;
    let ids: Vec<&Value> = items(&page).iter().map(|e| &e["resourceId"]).collect();
    assert_eq!(ids, [&json!("missing-2"), &json!("missing-1")]);
    let page = log_until(&app, &boss, "status=404&count=2&startIndex=5", |_| true).await;
    let ids: Vec<&Value> = items(&page).iter().map(|e| &e["resourceId"]).collect();
    assert_eq!(ids, [&json!("missing-0")]);
    assert_eq!(page["startIndex"], 5);
}

#[tokio::test]
async fn only_requests_a_credential_authenticated_are_kept() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    // No credential, a wrong one, an admin API credential (a valid credential of the tenant:
    // kept, with its refusal), then the SCIM credential.
    app.send_as("", Method::GET, "/Users", None, &[]).await;
    app.send_as("rc_wrong", Method::GET, "/Users", None, &[])
        .await
        .assert_error(401, None);
    let (_, admin_credential, admin_secret) = app.admin_credential("sam", &["Administrator"]).await;
    let refused = app
        .send_as(&admin_secret, Method::GET, "/Users", None, &[])
        .await;
    refused.assert_error(403, None);
    // /Schemas answers without a credential; it looks one up when it comes with one (for the
    // tenant's catalog), and is then kept. /ServiceProviderConfig never looks: not kept.
    app.send_as("", Method::GET, "/Schemas", None, &[])
        .await
        .assert_ok(200);
    app.get("/ServiceProviderConfig").await.assert_ok(200);
    app.get("/Schemas").await.assert_ok(200);
    app.get("/Users").await.assert_ok(200);
    // Entries are written in the order they were sent: once the last shows, the others
    // would have too.
    let page = log_until(&app, &boss, "status=200", |b| total(b) == 2).await;
    assert_eq!(page["items"][0]["path"], "/scim/v2/Users");
    assert_eq!(page["items"][1]["path"], "/scim/v2/Schemas");
    let page = log_until(&app, &boss, "", |_| true).await;
    assert_eq!(total(&page), 3, "{page}");
    let admin = &items(&page)[2];
    assert_eq!(admin["credential"], admin_credential.as_str());
    assert_eq!(admin["status"], 403);
    assert_eq!(admin["detail"], refused.body["detail"]);
}

#[tokio::test]
async fn another_tenants_admin_sees_none_of_it() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let acme_credential = scim_credential(&app).await;
    let globex_token = app.other_tenant("globex").await;
    let globex = rollcall::store::tenants::by_slug(&app.db, "globex")
        .await
        .expect("globex");
    let globex_admin = rollcall::write::users::create(
        &app.db,
        &globex.id,
        &rollcall::domain::audit::Actor::cli(),
        rollcall::domain::validation::Surface::Local,
        json!({"userName": "gadmin", crate::harness::CONTACT_CENTRE: {"securityProfiles": ["Administrator"]}})
            .as_object()
            .expect("object")
            .clone(),
    )
    .await
    .expect("globex admin");
    let (_, globex_boss) = credentials::create(
        &app.db,
        &globex.id,
        credentials::Kind::User,
        Some(&globex_admin.id),
        "admin",
    )
    .await
    .expect("credential");

    app.post("/Users", entra_user("dup@acme.example")).await;
    app.post("/Users", entra_user("dup@acme.example"))
        .await
        .assert_error(409, Some("uniqueness"));
    app.send_as(&globex_token, Method::GET, "/Users/globex-only", None, &[])
        .await
        .assert_error(404, None);
    log_until(&app, &boss, "status=409", |b| total(b) == 1).await;
    log_until(&app, &globex_boss, "status=404", |b| total(b) == 1).await;

    for query in [
        String::new(),
        "user=dup%40acme.example".into(),
        "status=409".into(),
        format!("credential={acme_credential}"),
    ] {
        let page = log_until(&app, &globex_boss, &query, |_| true).await;
        let shown: Vec<&Value> = items(&page).iter().map(|e| &e["resourceId"]).collect();
        assert_eq!(
            shown,
            [&json!("globex-only")][..shown.len().min(1)],
            "?{query}: {page}"
        );
        assert!(
            items(&page)
                .iter()
                .all(|e| e["credential"] != acme_credential.as_str()),
            "?{query}: {page}"
        );
    }
    let page = log_until(&app, &boss, "", |_| true).await;
    assert_eq!(total(&page), 2);
    assert!(!page.to_string().contains("globex-only"), "{page}");
}

#[tokio::test]
async fn reading_the_log_takes_view_users() {
    let app = TestApp::new().await;
    let (_, agent) = app.admin_token("agent", &["Agent"]).await;
    let (_, supervisor) = app.admin_token("sup", &["Supervisor"]).await;
    let r = app
        .admin(&agent, Method::GET, "/provisioning-log", None)
        .await;
    r.assert_admin_error(403, "forbidden");
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("ViewUsers"),
        "{}",
        r.body
    );
    app.admin(&app.token, Method::GET, "/provisioning-log", None)
        .await
        .assert_admin_error(403, "forbidden");
    app.admin("", Method::GET, "/provisioning-log", None)
        .await
        .assert_admin_error(401, "unauthorized");
    app.admin(&supervisor, Method::GET, "/provisioning-log", None)
        .await
        .assert_admin_ok(200);
}

#[tokio::test]
async fn bad_parameters_are_400() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    for status in ["abc", "6xx", "40", "4000", "x4x", "errors"] {
        let r = app
            .admin(
                &boss,
                Method::GET,
                &format!("/provisioning-log?status={status}"),
                None,
            )
            .await;
        r.assert_admin_error(400, "invalid_value");
        assert_eq!(r.body["fields"], json!(["status"]));
        assert!(
            r.body["detail"].as_str().unwrap_or("").contains(status),
            "{}",
            r.body
        );
    }
    app.admin(&boss, Method::GET, "/provisioning-log?count=many", None)
        .await
        .assert_admin_error(400, "invalid_value");
    // Empty parameters are not given (an empty form field).
    app.admin(
        &boss,
        Method::GET,
        "/provisioning-log?status=&user=&credential=",
        None,
    )
    .await
    .assert_admin_ok(200);
}

#[tokio::test]
async fn each_credential_keeps_its_newest_entries_only() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let credential = scim_credential(&app).await;
    // An instance keeping 3 entries per credential.
    let small = app
        .instance_with(|state| {
            state.with_provisioning_log(LogConfig {
                rows_per_credential: 3,
                ..LogConfig::default()
            })
        })
        .await;
    for i in 0..7 {
        small.get(&format!("/Users?count={i}")).await.assert_ok(200);
    }
    let page = log_until(&small, &boss, &format!("credential={credential}"), |b| {
        total(b) == 3 && b["items"][0]["path"] == "/scim/v2/Users?count=6"
    })
    .await;
    let paths: Vec<&Value> = items(&page).iter().map(|e| &e["path"]).collect();
    assert_eq!(
        paths,
        [
            &json!("/scim/v2/Users?count=6"),
            &json!("/scim/v2/Users?count=5"),
            &json!("/scim/v2/Users?count=4")
        ]
    );
}

#[tokio::test]
async fn the_bounds_in_number_and_age_prune_the_store() {
    let app = TestApp::new().await;
    let now = now_us();
    let day = 24 * 3600 * 1_000_000_i64;
    let entry = |credential: &str, at_us: i64, path: &str| NewEntry {
        tenant_id: app.tenant_id.clone(),
        credential_id: credential.to_string(),
        at_us,
        method: "GET".into(),
        path: path.into(),
        status: 200,
        latency_us: 1000,
        resource_id: None,
        user_name_key: None,
        scim_type: None,
        detail: None,
        request: None,
    };
    let mut entries: Vec<NewEntry> = (0..5)
        .map(|i| entry("a", now - day * 8 + i, &format!("/a/old/{i}")))
        .collect();
    entries.extend((0..5).map(|i| entry("a", now + i, &format!("/a/new/{i}"))));
    entries.extend((0..2).map(|i| entry("b", now + i, &format!("/b/{i}"))));
    log_store::insert(&app.db, &entries).await.expect("insert");
    let paths = |credential: &'static str| {
        let db = app.db.clone();
        let tenant = app.tenant_id.clone();
        async move {
            let (rows, _) = log_store::list(
                &db,
                &tenant,
                &log_store::Query {
                    credential_id: Some(credential.into()),
                    limit: 100,
                    ..Default::default()
                },
            )
            .await
            .expect("list");
            rows.into_iter().map(|r| r.path).collect::<Vec<_>>()
        }
    };
    // By age: the 5 older than 7 days go.
    assert_eq!(
        log_store::delete_older(&app.db, now - day * 7)
            .await
            .expect("age"),
        5
    );
    assert_eq!(
        paths("a").await,
        ["/a/new/4", "/a/new/3", "/a/new/2", "/a/new/1", "/a/new/0"]
    );
    // By number, per credential: a keeps its newest 2, b is under the bound.
    assert_eq!(log_store::keep_newest(&app.db, "a", 2).await.expect("a"), 3);
    assert_eq!(log_store::keep_newest(&app.db, "b", 2).await.expect("b"), 0);
    assert_eq!(paths("a").await, ["/a/new/4", "/a/new/3"]);
    assert_eq!(paths("b").await, ["/b/1", "/b/0"]);
}

#[tokio::test]
async fn the_identity_provider_screen_lists_the_last_failed_requests() {
    let app = TestApp::new().await;
    let (admin_id, boss) = app.admin_token("boss", &["Administrator"]).await;
    app.create_user(entra_user("erin@acme.example")).await;
    let refused = app.post("/Users", entra_user("erin@acme.example")).await;
    refused.assert_error(409, Some("uniqueness"));
    log_until(&app, &boss, "status=error", |b| total(b) == 1).await;

    let client = sign_in(&app, &admin_id).await;
    let page = client.get("/console/identity-provider").await;
    let text = html(&page);
    assert!(
        text.contains("Last failed requests from the identity provider"),
        "{text}"
    );
    assert!(
        text.contains(
            "<code>POST /scim/v2/Users</code></td><td>409</td><td>erin@acme.example</td>"
        ),
        "{text}"
    );
    let detail = refused.body["detail"].as_str().expect("detail");
    assert!(
        unescape(text).contains(&format!("uniqueness: {detail}")),
        "{text}"
    );
    // The successful create is not listed.
    assert!(!text.contains("<td>201</td>"), "{text}");

    // Without ViewUsers, the screen says what it takes.
    app.admin(
        &boss,
        Method::POST,
        "/security-profiles",
        Some(json!({"name": "Settings only", "permissions": ["ManageSettings"]})),
    )
    .await
    .assert_admin_ok(201);
    let (setter_id, _) = app.admin_token("setter", &["Settings only"]).await;
    // Signed in without `sign_in`, which opens the Users screen (ViewUsers) first.
    let token = link(&app, &setter_id).await;
    let r = post_form_anonymous(&app, "/console/sign-in/link", &[("token", &token)]).await;
    assert_eq!(r.status.as_u16(), 303, "{}", html(&r));
    let client = Client {
        app: &app,
        cookie: r
            .header("set-cookie")
            .and_then(|c| c.split(';').next())
            .expect("session cookie")
            .to_string(),
        csrf: String::new(),
    };
    let page = client.get("/console/identity-provider").await;
    let text = html(&page);
    assert!(
        text.contains("Seeing failed requests requires the ViewUsers permission."),
        "{text}"
    );
    assert!(!text.contains("<table class=\"failed\">"), "{text}");
    assert!(!text.contains("<td>409</td>"), "{text}");
}

/// A request body that never arrives within the test.
struct NeverBody(Pin<Box<tokio::time::Sleep>>);

impl http_body::Body for NeverBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        self.0.as_mut().poll(cx).map(|()| None)
    }
}

#[tokio::test]
async fn a_request_cut_by_the_request_timeout_is_kept_as_unanswered() {
    let app = TestApp::with_edge(EdgeConfig {
        request_timeout: Duration::from_millis(200),
        ..test_edge()
    })
    .await;
    let request = Request::builder()
        .method(Method::POST)
        .uri("/scim/v2/Users")
        .header("authorization", format!("Bearer {}", app.token))
        .header("content-type", "application/scim+json")
        .body(Body::new(NeverBody(Box::pin(tokio::time::sleep(
            Duration::from_secs(60),
        )))))
        .expect("request");
    let response = app.router.clone().oneshot(request).await.expect("answer");
    assert_eq!(response.status().as_u16(), 503);
    // Read from the store: every admin request would be cut short too.
    let deadline = Instant::now() + Duration::from_secs(10);
    let entry = loop {
        let (rows, _) = log_store::list(
            &app.db,
            &app.tenant_id,
            &log_store::Query {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .expect("rows");
        if let Some(row) = rows.into_iter().next() {
            break row;
        }
        assert!(Instant::now() < deadline, "no entry within 10 s");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert_eq!(entry.method, "POST");
    assert_eq!(entry.path, "/scim/v2/Users");
    assert_eq!(entry.status, 503);
    assert!(entry.latency_us >= 200_000, "{}", entry.latency_us);
    assert!(
        entry
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("request timeout")),
        "{entry:?}"
    );
    assert_eq!(entry.request, None);
}
