//! Concurrent writers: no lost updates, and uniqueness holds under racing creates.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{ENTERPRISE, TestApp, TestResponse, USER_SCHEMA, member_ids, patch_op};

/// Runs the requests at once on the multi-threaded runtime and returns the responses.
async fn all_at_once(
    app: &Arc<TestApp>,
    requests: Vec<(Method, String, Value)>,
) -> Vec<TestResponse> {
    let handles: Vec<_> = requests
        .into_iter()
        .map(|(method, path, body)| {
            let app = Arc::clone(app);
            tokio::spawn(async move { app.send(method, &path, Some(body), &[]).await })
        })
        .collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_member_adds_all_land() {
    let app = TestApp::new().await;
    let mut users = Vec::new();
    for i in 0..20 {
        users.push(app.user(&format!("member{i:02}")).await);
    }
    let g = app.group("Busy", &[]).await;
    let app = Arc::new(app);
    let requests = users
        .iter()
        .map(|u| {
            (
                Method::PATCH,
                format!("/Groups/{g}"),
                patch_op(json!([{"op": "Add", "path": "members", "value": [{"value": u}]}])),
            )
        })
        .collect();
    for r in all_at_once(&app, requests).await {
        assert!(
            matches!(r.status, StatusCode::OK | StatusCode::NO_CONTENT),
            "{} {}",
            r.status,
            r.body
        );
    }
    let got = app.fetch(&format!("/Groups/{g}")).await;
    let mut expected = users.clone();
    expected.sort();
    assert_eq!(member_ids(&got), expected);
    for u in &users {
        let user = app.fetch(&format!("/Users/{u}")).await;
        assert_eq!(user["groups"][0]["value"], json!(g), "{user}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_concurrent_attribute_patches_on_one_user_all_land() {
    let app = TestApp::new().await;
    let id = app.user("target").await;
    let app = Arc::new(app);
    let fields = [
        "employeeNumber",
        "costCenter",
        "organization",
        "division",
        "department",
    ];
    let mut requests: Vec<(Method, String, Value)> = fields
        .iter()
        .map(|f| {
            (
                Method::PATCH,
                format!("/Users/{id}"),
                patch_op(json!([{"op": "add", "path": format!("{ENTERPRISE}:{f}"), "value": format!("{f}-value")}])),
            )
        })
        .collect();
    for i in 0..5 {
        requests.push((
            Method::PATCH,
            format!("/Users/{id}"),
            patch_op(json!([{"op": "add", "path": "emails", "value": [{"value": format!("e{i}@x.example"), "type": "other"}]}])),
        ));
    }
    for r in all_at_once(&app, requests).await {
        assert!(
            matches!(r.status, StatusCode::OK | StatusCode::NO_CONTENT),
            "{} {}",
            r.status,
            r.body
        );
    }
    let got = app.fetch(&format!("/Users/{id}")).await;
    for f in fields {
        assert_eq!(got[ENTERPRISE][f], json!(format!("{f}-value")), "{got}");
    }
    let emails: BTreeSet<&str> = got["emails"]
        .as_array()
        .expect("emails")
        .iter()
        .map(|e| e["value"].as_str().unwrap())
        .collect();
    let expected: BTreeSet<String> = (0..5).map(|i| format!("e{i}@x.example")).collect();
    assert_eq!(emails, expected.iter().map(String::as_str).collect());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_concurrent_creates_of_one_user_name_make_one_user() {
    let app = Arc::new(TestApp::new().await);
    let requests = (0..10)
        .map(|i| {
            (
                Method::POST,
                "/Users".to_string(),
                json!({"schemas": [USER_SCHEMA], "userName": if i % 2 == 0 { "Racer" } else { "racer" }, "title": format!("attempt {i}")}),
            )
        })
        .collect();
    let responses = all_at_once(&app, requests).await;
    let created: Vec<&TestResponse> = responses
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .collect();
    assert_eq!(created.len(), 1, "{responses:?}");
    for r in responses.iter().filter(|r| r.status != StatusCode::CREATED) {
        r.assert_error(409, Some("uniqueness"));
    }
    let winner = created[0].body["id"].as_str().unwrap().to_string();
    let list = app.get("/Users").await;
    assert_eq!(list.ids(), vec![winner.clone()]);
    let got = app.fetch(&format!("/Users/{winner}")).await;
    assert_eq!(got["title"], created[0].body["title"]);
}
