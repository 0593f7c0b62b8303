//! Cursor pagination (RFC 9865) beside index pagination.

use std::collections::BTreeSet;

use axum::http::Method;
use serde_json::{Value, json};

use crate::harness::{TestApp, q};

async fn users(app: &TestApp, n: usize) {
    for i in 0..n {
        app.user(&format!("user{i:03}")).await;
    }
}

fn names(body: &Value) -> Vec<String> {
    body["Resources"]
        .as_array()
        .expect("Resources")
        .iter()
        .map(|r| r["userName"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Follows `nextCursor` from the first page; returns every page's body.
async fn walk(app: &TestApp, query: &str) -> Vec<Value> {
    let mut pages = Vec::new();
    let mut cursor = String::new();
    loop {
        let r = app.get(&format!("/Users?{query}&cursor={cursor}")).await;
        let body = r.assert_ok(200).clone();
        assert!(
            body.get("startIndex").is_none(),
            "cursor pages carry no startIndex: {body}"
        );
        assert!(
            body["totalResults"].is_u64() && body["itemsPerPage"].is_u64(),
            "{body}"
        );
        let next = body
            .get("nextCursor")
            .and_then(Value::as_str)
            .map(str::to_string);
        pages.push(body);
        match next {
            Some(next) => cursor = next,
            None => break,
        }
        assert!(pages.len() < 20, "runaway pagination");
    }
    pages
}

#[tokio::test]
async fn cursor_pages_cover_every_user_once() {
    let app = TestApp::new().await;
    users(&app, 25).await;
    let pages = walk(&app, "count=10").await;
    assert_eq!(pages.len(), 3);
    assert_eq!(
        pages
            .iter()
            .map(|p| p["itemsPerPage"].as_u64().unwrap_or(0))
            .collect::<Vec<_>>(),
        vec![10, 10, 5]
    );
    let all: Vec<String> = pages.iter().flat_map(names).collect();
    let distinct: BTreeSet<&String> = all.iter().collect();
    assert_eq!(all.len(), 25);
    assert_eq!(distinct.len(), 25);
    assert!(pages.iter().all(|p| p["totalResults"] == 25));
}

#[tokio::test]
async fn a_user_created_mid_walk_neither_shifts_nor_repeats_the_pages() {
    let app = TestApp::new().await;
    users(&app, 12).await;
    let first = app
        .get("/Users?count=5&cursor=")
        .await
        .assert_ok(200)
        .clone();
    let seen: Vec<String> = names(&first);
    // Deleting a user already seen must not make the walk skip anyone (index paging would).
    let first_id = first["Resources"][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    app.delete(&format!("/Users/{first_id}")).await;
    app.user("late").await;
    let mut rest = Vec::new();
    let mut cursor = first["nextCursor"].as_str().expect("next").to_string();
    loop {
        let page = app
            .get(&format!("/Users?count=5&cursor={cursor}"))
            .await
            .assert_ok(200)
            .clone();
        rest.extend(names(&page));
        match page.get("nextCursor").and_then(Value::as_str) {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
    }
    let mut expected: Vec<String> = (5..12).map(|i| format!("user{i:03}")).collect();
    expected.push("late".into());
    assert_eq!(rest, expected);
    assert!(seen.iter().all(|s| !rest.contains(s)));
}

#[tokio::test]
async fn sorted_and_filtered_cursor_pages_keep_their_order() {
    let app = TestApp::new().await;
    users(&app, 15).await;
    let pages = walk(
        &app,
        &format!(
            "count=4&sortBy=userName&sortOrder=descending&filter={}",
            q("userName sw \"user00\"")
        ),
    )
    .await;
    let all: Vec<String> = pages.iter().flat_map(names).collect();
    let expected: Vec<String> = (0..10).rev().map(|i| format!("user{i:03}")).collect();
    assert_eq!(all, expected);
}

#[tokio::test]
async fn foreign_or_broken_cursors_are_invalid_cursor_errors() {
    let app = TestApp::new().await;
    users(&app, 6).await;
    let first = app
        .get("/Users?count=2&cursor=")
        .await
        .assert_ok(200)
        .clone();
    let cursor = first["nextCursor"].as_str().expect("next").to_string();
    app.get(&format!(
        "/Users?count=2&cursor={cursor}&filter={}",
        q("userName pr")
    ))
    .await
    .assert_error(400, Some("invalidCursor"));
    app.get(&format!("/Groups?count=2&cursor={cursor}"))
        .await
        .assert_error(400, Some("invalidCursor"));
    app.get("/Users?cursor=not-a-cursor")
        .await
        .assert_error(400, Some("invalidCursor"));
    app.get(&format!("/Users?cursor={cursor}&startIndex=3"))
        .await
        .assert_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn search_takes_a_cursor_and_discovery_advertises_both_methods() {
    let app = TestApp::new().await;
    users(&app, 3).await;
    let r = app
        .send(
            Method::POST,
            "/Users/.search",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "count": 2,
                "cursor": ""
            })),
            &[],
        )
        .await;
    let body = r.assert_ok(200).clone();
    assert_eq!(body["itemsPerPage"], 2);
    let next = body["nextCursor"].as_str().expect("next").to_string();
    let r = app
        .send(
            Method::POST,
            "/Users/.search",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "count": 2,
                "cursor": next
            })),
            &[],
        )
        .await;
    let body = r.assert_ok(200).clone();
    assert_eq!(body["itemsPerPage"], 1);
    assert!(body.get("nextCursor").is_none());
    let spc = app
        .get("/ServiceProviderConfig")
        .await
        .assert_ok(200)
        .clone();
    assert_eq!(spc["pagination"]["cursor"], true);
    assert_eq!(spc["pagination"]["index"], true);
    assert_eq!(
        spc["pagination"]["maxPageSize"],
        spc["filter"]["maxResults"]
    );
}
