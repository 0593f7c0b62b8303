//! `/Users`: create, read, list (filter, paging, sorting, projection), replace, patch,
//! delete, ETags, tenancy and authentication, as a SCIM client sees them.

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{ENTERPRISE, LIST_SCHEMA, TestApp, TestResponse, USER_SCHEMA, patch_op, q};

fn alice() -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "userName": "alice@acme.example",
        "externalId": "ext-Alice",
        "name": {"givenName": "Alice", "familyName": "Liddell"},
        "displayName": "Alice Liddell",
        "title": "Agent",
        "active": true,
        "password": "s3cret-Passw0rd!",
        "emails": [{"value": "alice@acme.example", "type": "work", "primary": true}]
    })
}

#[tokio::test]
async fn create_answers_201_with_location_etag_and_the_resource() {
    let app = TestApp::new().await;
    let r = app.post("/Users", alice()).await;
    let body = r.assert_ok(201).clone();
    let id = body["id"].as_str().expect("id");
    assert!(!id.is_empty());
    assert_eq!(
        body["schemas"].as_array().unwrap().first(),
        Some(&json!(USER_SCHEMA))
    );
    assert_eq!(body["userName"], "alice@acme.example");
    assert_eq!(body["externalId"], "ext-Alice");
    assert_eq!(body["name"]["familyName"], "Liddell");
    assert_eq!(body["active"], true);
    assert_eq!(body["emails"][0]["value"], "alice@acme.example");
    assert!(body.get("password").is_none(), "password returned: {body}");
    assert!(
        !body.to_string().contains("s3cret-Passw0rd!"),
        "password leaked: {body}"
    );
    let meta = &body["meta"];
    assert_eq!(meta["resourceType"], "User");
    assert!(
        meta["created"].as_str().is_some_and(|s| !s.is_empty()),
        "{meta}"
    );
    assert!(
        meta["lastModified"].as_str().is_some_and(|s| !s.is_empty()),
        "{meta}"
    );
    let location = meta["location"].as_str().expect("meta.location");
    assert!(
        location.ends_with(&format!("/scim/v2/Users/{id}")),
        "{location}"
    );
    assert_eq!(r.header("location"), Some(location));
    let version = meta["version"].as_str().expect("meta.version");
    assert_eq!(r.header("etag"), Some(version));

    let got = app.get(&format!("/Users/{id}")).await;
    let got_body = got.assert_ok(200);
    assert_eq!(got_body, &body);
    assert_eq!(got.header("etag"), Some(version));
    assert!(got_body.get("password").is_none());
}

#[tokio::test]
async fn get_unknown_id_is_a_404_scim_error() {
    let app = TestApp::new().await;
    app.get("/Users/00000000-0000-0000-0000-000000000000")
        .await
        .assert_error(404, None);
    app.get("/Users/not-even-a-uuid")
        .await
        .assert_error(404, None);
}

#[tokio::test]
async fn duplicate_user_name_is_409_uniqueness_even_in_another_case() {
    let app = TestApp::new().await;
    let id = app.user("bob@acme.example").await;
    app.post(
        "/Users",
        json!({"schemas": [USER_SCHEMA], "userName": "bob@acme.example", "title": "X"}),
    )
    .await
    .assert_error(409, Some("uniqueness"));
    app.post(
        "/Users",
        json!({"schemas": [USER_SCHEMA], "userName": "BOB@Acme.Example"}),
    )
    .await
    .assert_error(409, Some("uniqueness"));
    let list = app.get("/Users").await;
    assert_eq!(list.ids(), vec![id.clone()]);
    let got = app.fetch(&format!("/Users/{id}")).await;
    assert_eq!(got["userName"], "bob@acme.example");
    assert!(got.get("title").is_none());
}

#[tokio::test]
async fn bad_create_bodies_are_400_and_create_nothing() {
    let app = TestApp::new().await;
    app.post(
        "/Users",
        json!({"schemas": [USER_SCHEMA], "displayName": "No Name"}),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    let r = app
        .send(
            Method::POST,
            "/Users",
            None,
            &[("content-type", "application/scim+json")],
        )
        .await;
    r.assert_error(400, Some("invalidSyntax"));
    let not_json = app
        .send_as(
            &app.token,
            Method::POST,
            "/Users",
            Some(Value::String("{not json".into())),
            &[],
        )
        .await;
    // Valid JSON, but not an object.
    assert_eq!(
        not_json.status,
        StatusCode::BAD_REQUEST,
        "{}",
        not_json.body
    );
    let garbage = raw_post(&app, "/Users", "{\"userName\": ").await;
    garbage.assert_error(400, Some("invalidSyntax"));
    app.post(
        "/Users",
        json!({"schemas": [USER_SCHEMA], "userName": "carol", "active": 3}),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    let list = app.get("/Users").await;
    assert_eq!(list.body["totalResults"], 0, "{}", list.body);
}

/// POSTs a raw (possibly malformed) body.
async fn raw_post(app: &TestApp, path: &str, text: &str) -> TestResponse {
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!("/scim/v2{path}"))
        .header("host", "rollcall.test")
        .header("authorization", format!("Bearer {}", app.token))
        .header("content-type", "application/scim+json")
        .body(Body::from(text.to_string()))
        .expect("request");
    let response = app
        .router
        .clone()
        .oneshot(request)
        .await
        .expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    TestResponse {
        status,
        headers,
        body,
    }
}

#[tokio::test]
async fn unknown_and_read_only_attributes_in_create_are_ignored() {
    let app = TestApp::new().await;
    let body = app
        .create_user(json!({
            "schemas": [USER_SCHEMA],
            "userName": "dave",
            "favouriteColour": "green",
            "id": "my-own-id",
            "meta": {"created": "1999-01-01T00:00:00Z", "version": "W/\"99\""},
            "groups": [{"value": "00000000-0000-0000-0000-000000000001"}]
        }))
        .await;
    let id = body["id"].as_str().unwrap();
    assert_ne!(id, "my-own-id");
    let got = app.fetch(&format!("/Users/{id}")).await;
    assert!(got.get("favouriteColour").is_none());
    assert_ne!(got["meta"]["created"], "1999-01-01T00:00:00Z");
    assert_ne!(got["meta"]["version"], "W/\"99\"");
    assert!(
        got["groups"].as_array().is_none_or(|g| g.is_empty()),
        "{got}"
    );
    app.get("/Users/my-own-id").await.assert_error(404, None);
}

async fn filter_fixture(app: &TestApp) -> (String, String, String) {
    let a = app.create_user(alice()).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let b = app
        .create_user(json!({
            "schemas": [USER_SCHEMA],
            "userName": "bob@acme.example",
            "externalId": "ext-bob",
            "name": {"givenName": "Bob", "familyName": "Builder"},
            "active": false,
            "emails": [{"value": "bob@home.example", "type": "home"}]
        }))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let c = app
        .create_user(json!({
            "schemas": [USER_SCHEMA],
            "userName": "carol@acme.example",
            "name": {"givenName": "Carol", "familyName": "Danvers"},
            "title": "Supervisor",
            "active": true
        }))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    (a, b, c)
}

fn set(ids: Vec<String>) -> BTreeSet<String> {
    ids.into_iter().collect()
}

fn of(ids: &[&String]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn filters_on_core_attributes() {
    let app = TestApp::new().await;
    let (a, b, c) = filter_fixture(&app).await;
    assert_eq!(
        app.find_users("userName eq \"ALICE@acme.EXAMPLE\"").await,
        vec![a.clone()]
    );
    assert_eq!(
        app.find_users("externalId eq \"ext-Alice\"").await,
        vec![a.clone()]
    );
    assert!(
        app.find_users("externalId eq \"EXT-ALICE\"")
            .await
            .is_empty()
    );
    assert_eq!(
        app.find_users("emails.value eq \"bob@home.example\"").await,
        vec![b.clone()]
    );
    assert_eq!(set(app.find_users("title pr").await), of(&[&a, &c]));
    assert_eq!(
        app.find_users("name.familyName co \"uild\"").await,
        vec![b.clone()]
    );
    assert_eq!(app.find_users("active eq false").await, vec![b.clone()]);
    assert_eq!(set(app.find_users("active eq true").await), of(&[&a, &c]));
    assert_eq!(
        app.find_users("title pr and name.givenName sw \"car\"")
            .await,
        vec![c.clone()]
    );
    assert_eq!(
        set(app
            .find_users("userName eq \"alice@acme.example\" or externalId eq \"ext-bob\"")
            .await),
        of(&[&a, &b])
    );
    assert_eq!(set(app.find_users("not (title pr)").await), of(&[&b]));
    assert_eq!(
        set(app
            .find_users("not (userName eq \"bob@acme.example\") and (active eq true)")
            .await),
        of(&[&a, &c])
    );
}

#[tokio::test]
async fn filters_on_meta_created() {
    let app = TestApp::new().await;
    let first = app.create_user(alice()).await;
    let a = first["id"].as_str().unwrap().to_string();
    let b = app.user("bob").await;
    assert_eq!(
        set(app
            .find_users("meta.created gt \"2000-01-01T00:00:00Z\"")
            .await),
        of(&[&a, &b])
    );
    assert!(
        app.find_users("meta.created gt \"2999-01-01T00:00:00Z\"")
            .await
            .is_empty()
    );
    let created = first["meta"]["created"].as_str().unwrap();
    assert_eq!(
        set(app
            .find_users(&format!("meta.created ge \"{created}\""))
            .await),
        of(&[&a, &b])
    );
}

#[tokio::test]
async fn invalid_filters_are_400_invalid_filter() {
    let app = TestApp::new().await;
    app.user("alice").await;
    let r = app
        .get(&format!("/Users?filter={}", q("userName eq \"alice\" and")))
        .await;
    r.assert_error(400, Some("invalidFilter"));
    assert!(
        r.body["detail"].as_str().unwrap().contains("position"),
        "{}",
        r.body
    );
    let r = app
        .get(&format!("/Users?filter={}", q("userName xx \"alice\"")))
        .await;
    r.assert_error(400, Some("invalidFilter"));
    let r = app
        .get(&format!("/Users?filter={}", q("shoeSize eq \"42\"")))
        .await;
    r.assert_error(400, Some("invalidFilter"));
    assert!(
        r.body["detail"].as_str().unwrap().contains("shoeSize"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn paging_is_stable_and_counts_are_integers() {
    let app = TestApp::new().await;
    for i in 0..5 {
        app.user(&format!("user{i}")).await;
    }
    let mut seen = Vec::new();
    for (start, expect) in [(1, 2), (3, 2), (5, 1)] {
        let r = app.get(&format!("/Users?startIndex={start}&count=2")).await;
        r.assert_ok(200);
        assert_eq!(r.body["schemas"][0], LIST_SCHEMA);
        assert_eq!(r.body["totalResults"], json!(5), "{}", r.body);
        assert_eq!(r.body["startIndex"], json!(start), "{}", r.body);
        assert_eq!(r.body["itemsPerPage"], json!(expect), "{}", r.body);
        let ids = r.ids();
        assert_eq!(ids.len(), expect);
        let again = app
            .get(&format!("/Users?startIndex={start}&count=2"))
            .await
            .ids();
        assert_eq!(ids, again, "order not stable");
        seen.extend(ids);
    }
    let distinct: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(distinct.len(), 5, "{seen:?}");

    let r = app.get("/Users?count=0").await;
    r.assert_ok(200);
    assert_eq!(r.body["totalResults"], json!(5));
    assert_eq!(r.body["Resources"], json!([]), "{}", r.body);

    let r = app.get("/Users?startIndex=9&count=2").await;
    assert!(r.ids().is_empty());
    assert_eq!(r.body["totalResults"], json!(5));
}

#[tokio::test]
async fn sort_by_user_name_both_ways() {
    let app = TestApp::new().await;
    let c = app.user("charlie").await;
    let a = app.user("alice").await;
    let b = app.user("Bob").await;
    let asc = app.get("/Users?sortBy=userName").await.ids();
    assert_eq!(asc, vec![a.clone(), b.clone(), c.clone()]);
    let asc = app
        .get("/Users?sortBy=userName&sortOrder=ascending")
        .await
        .ids();
    assert_eq!(asc, vec![a.clone(), b.clone(), c.clone()]);
    let desc = app
        .get("/Users?sortBy=userName&sortOrder=descending")
        .await
        .ids();
    assert_eq!(desc, vec![c, b, a]);
}

#[tokio::test]
async fn attributes_and_excluded_attributes_project() {
    let app = TestApp::new().await;
    let id = app.create_user(alice()).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app.get("/Users?attributes=userName").await;
    r.assert_ok(200);
    let user = &r.body["Resources"][0];
    let keys: BTreeSet<&str> = user
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(["id", "schemas", "userName"]),
        "{user}"
    );
    assert_eq!(user["id"], json!(id));

    let one = app.fetch(&format!("/Users/{id}?attributes=userName")).await;
    let keys: BTreeSet<&str> = one
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, BTreeSet::from(["id", "schemas", "userName"]), "{one}");

    let r = app
        .fetch(&format!("/Users/{id}?excludedAttributes=emails"))
        .await;
    assert!(r.get("emails").is_none(), "{r}");
    assert_eq!(r["userName"], "alice@acme.example");
    assert_eq!(r["title"], "Agent");
}

#[tokio::test]
async fn put_replaces_keeps_id_and_keeps_active_when_omitted() {
    let app = TestApp::new().await;
    let id = app.create_user(alice()).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .put(
            &format!("/Users/{id}"),
            json!({
                "schemas": [USER_SCHEMA],
                "id": "someone-else",
                "userName": "alice@acme.example",
                "displayName": "Alice L.",
                "emails": [{"value": "alice@acme.example", "type": "work", "primary": true}]
            }),
        )
        .await;
    let body = r.assert_ok(200).clone();
    assert_eq!(body["id"], json!(id));
    assert!(r.header("etag").is_some());
    let got = app.fetch(&format!("/Users/{id}")).await;
    assert_eq!(got["id"], json!(id));
    assert_eq!(got["displayName"], "Alice L.");
    assert!(got.get("title").is_none(), "title survived PUT: {got}");
    assert!(got.get("name").is_none(), "name survived PUT: {got}");
    assert!(
        got.get("externalId").is_none(),
        "externalId survived PUT: {got}"
    );
    assert_eq!(got["active"], true, "PUT without active deactivated: {got}");
    app.get("/Users/someone-else").await.assert_error(404, None);
}

#[tokio::test]
async fn patch_add_replace_remove_with_paths() {
    let app = TestApp::new().await;
    let id = app.create_user(alice()).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([
                {"op": "add", "path": "nickName", "value": "Al"},
                {"op": "replace", "path": "name.familyName", "value": "Pleasance"},
                {"op": "remove", "path": "title"}
            ])),
        )
        .await;
    let body = r.assert_ok(200).clone();
    assert_eq!(body["nickName"], "Al");
    let got = app.fetch(&format!("/Users/{id}")).await;
    assert_eq!(got, body);
    assert_eq!(got["nickName"], "Al");
    assert_eq!(got["name"]["familyName"], "Pleasance");
    assert_eq!(got["name"]["givenName"], "Alice");
    assert!(got.get("title").is_none(), "{got}");
}

#[tokio::test]
async fn patch_prefer_minimal_answers_204() {
    let app = TestApp::new().await;
    let id = app.user("alice").await;
    let r = app
        .send(
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(patch_op(
                json!([{"op": "replace", "path": "title", "value": "Lead"}]),
            )),
            &[("prefer", "return=minimal")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(r.body, Value::Null);
    assert_eq!(app.fetch(&format!("/Users/{id}")).await["title"], "Lead");
}

#[tokio::test]
async fn patch_is_atomic() {
    let app = TestApp::new().await;
    let id = app.create_user(alice()).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let before = app.fetch(&format!("/Users/{id}")).await;
    let r = app
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([
                {"op": "replace", "path": "title", "value": "Changed"},
                {"op": "replace", "path": "active", "value": 3}
            ])),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));
    let after = app.fetch(&format!("/Users/{id}")).await;
    assert_eq!(after, before);
    assert_eq!(after["title"], "Agent");
}

#[tokio::test]
async fn patch_of_read_only_attributes_is_400_mutability() {
    let app = TestApp::new().await;
    let id = app.user("alice").await;
    let gid = app.group("Ops", &[]).await;
    let before = app.fetch(&format!("/Users/{id}")).await;
    app.patch(
        &format!("/Users/{id}"),
        patch_op(json!([{"op": "add", "path": "groups", "value": [{"value": gid}]}])),
    )
    .await
    .assert_error(400, Some("mutability"));
    app.patch(
        &format!("/Users/{id}"),
        patch_op(json!([{"op": "replace", "path": "id", "value": "other-id"}])),
    )
    .await
    .assert_error(400, Some("mutability"));
    app.patch(
        &format!("/Users/{id}"),
        patch_op(
            json!([{"op": "replace", "path": "meta.created", "value": "2000-01-01T00:00:00Z"}]),
        ),
    )
    .await
    .assert_error(400, Some("mutability"));
    assert_eq!(app.fetch(&format!("/Users/{id}")).await, before);
    assert!(
        app.fetch(&format!("/Groups/{gid}")).await["members"]
            .as_array()
            .is_none_or(|m| m.is_empty())
    );
}

#[tokio::test]
async fn setting_primary_on_one_email_clears_the_other() {
    let app = TestApp::new().await;
    let id = app
        .create_user(json!({
            "schemas": [USER_SCHEMA],
            "userName": "erin",
            "emails": [
                {"value": "erin@work.example", "type": "work", "primary": true},
                {"value": "erin@home.example", "type": "home"}
            ]
        }))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.patch(
        &format!("/Users/{id}"),
        patch_op(json!([{"op": "replace", "path": "emails[value eq \"erin@home.example\"].primary", "value": true}])),
    )
    .await
    .assert_ok(200);
    let got = app.fetch(&format!("/Users/{id}")).await;
    let emails = got["emails"].as_array().expect("emails");
    assert_eq!(emails.len(), 2, "{got}");
    let home = emails
        .iter()
        .find(|e| e["value"] == "erin@home.example")
        .unwrap();
    let work = emails
        .iter()
        .find(|e| e["value"] == "erin@work.example")
        .unwrap();
    assert_eq!(home["primary"], true, "{got}");
    assert_ne!(work["primary"], true, "two primary emails: {got}");
}

#[tokio::test]
async fn if_match_and_if_none_match() {
    let app = TestApp::new().await;
    let created = app.post("/Users", alice()).await;
    let id = created.body["id"].as_str().unwrap().to_string();
    let stale = created.header("etag").unwrap().to_string();
    let r = app
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([{"op": "replace", "path": "title", "value": "Lead"}])),
        )
        .await;
    r.assert_ok(200);
    let current = r.header("etag").unwrap().to_string();
    assert_ne!(current, stale, "ETag unchanged by a write");
    assert_eq!(r.body["meta"]["version"], json!(current));

    let r = app
        .send(
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(patch_op(
                json!([{"op": "replace", "path": "title", "value": "Stale"}]),
            )),
            &[("if-match", &stale)],
        )
        .await;
    r.assert_error(412, None);
    let mut put_body = alice();
    put_body["title"] = json!("Stale PUT");
    let r = app
        .send(
            Method::PUT,
            &format!("/Users/{id}"),
            Some(put_body),
            &[("if-match", &stale)],
        )
        .await;
    r.assert_error(412, None);
    let r = app
        .send(
            Method::DELETE,
            &format!("/Users/{id}"),
            None,
            &[("if-match", &stale)],
        )
        .await;
    r.assert_error(412, None);
    let got = app.get(&format!("/Users/{id}")).await;
    assert_eq!(got.body["title"], "Lead");
    assert_eq!(got.header("etag"), Some(current.as_str()));

    let r = app
        .send(
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(patch_op(
                json!([{"op": "replace", "path": "title", "value": "Fresh"}]),
            )),
            &[("if-match", &current)],
        )
        .await;
    r.assert_ok(200);
    let newest = r.header("etag").unwrap().to_string();
    assert_eq!(app.fetch(&format!("/Users/{id}")).await["title"], "Fresh");

    let r = app
        .send(
            Method::GET,
            &format!("/Users/{id}"),
            None,
            &[("if-none-match", &newest)],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED, "{}", r.body);
    assert_eq!(r.body, Value::Null);
    let r = app
        .send(
            Method::GET,
            &format!("/Users/{id}"),
            None,
            &[("if-none-match", &stale)],
        )
        .await;
    r.assert_ok(200);
}

#[tokio::test]
async fn delete_then_404_and_user_name_reusable() {
    let app = TestApp::new().await;
    let id = app.user("frank").await;
    let r = app.delete(&format!("/Users/{id}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(r.body, Value::Null);
    app.get(&format!("/Users/{id}"))
        .await
        .assert_error(404, None);
    app.delete(&format!("/Users/{id}"))
        .await
        .assert_error(404, None);
    assert!(app.find_users("userName eq \"frank\"").await.is_empty());
    let again = app.user("FRANK").await;
    assert_ne!(again, id);
    assert_eq!(app.find_users("userName eq \"frank\"").await, vec![again]);
}

#[tokio::test]
async fn another_tenant_sees_nothing() {
    let app = TestApp::new().await;
    let id = app.create_user(alice()).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let other = app.other_tenant("globex").await;
    let path = format!("/Users/{id}");
    app.send_as(&other, Method::GET, &path, None, &[])
        .await
        .assert_error(404, None);
    app.send_as(
        &other,
        Method::PATCH,
        &path,
        Some(patch_op(
            json!([{"op": "replace", "path": "title", "value": "Hacked"}]),
        )),
        &[],
    )
    .await
    .assert_error(404, None);
    app.send_as(
        &other,
        Method::PUT,
        &path,
        Some(json!({"schemas": [USER_SCHEMA], "userName": "hacked"})),
        &[],
    )
    .await
    .assert_error(404, None);
    app.send_as(&other, Method::DELETE, &path, None, &[])
        .await
        .assert_error(404, None);
    let list = app.send_as(&other, Method::GET, "/Users", None, &[]).await;
    assert!(list.ids().is_empty());
    assert_eq!(list.body["totalResults"], 0);
    let filtered = app
        .send_as(
            &other,
            Method::GET,
            &format!("/Users?filter={}", q("userName eq \"alice@acme.example\"")),
            None,
            &[],
        )
        .await;
    assert!(filtered.ids().is_empty());
    // The same userName is free in the other tenant.
    let r = app
        .send_as(
            &other,
            Method::POST,
            "/Users",
            Some(json!({"schemas": [USER_SCHEMA], "userName": "alice@acme.example"})),
            &[],
        )
        .await;
    r.assert_ok(201);
    let got = app.fetch(&path).await;
    assert_eq!(got["title"], "Agent");
    assert_eq!(got["userName"], "alice@acme.example");
    assert_eq!(app.get("/Users").await.ids(), vec![id]);
}

#[tokio::test]
async fn missing_or_bad_credentials_are_401_scim_errors() {
    let app = TestApp::new().await;
    for token in ["", "not-a-real-token"] {
        for (method, path) in [
            (Method::GET, "/Users"),
            (Method::GET, "/Groups"),
            (Method::POST, "/Users"),
        ] {
            let body = (method == Method::POST)
                .then(|| json!({"schemas": [USER_SCHEMA], "userName": "x"}));
            let r = app.send_as(token, method, path, body, &[]).await;
            r.assert_error(401, None);
            assert_eq!(r.body["status"], "401");
            assert!(r.header("www-authenticate").is_some(), "{:?}", r.headers);
        }
    }
    assert!(app.get("/Users").await.ids().is_empty());
}

#[tokio::test]
async fn aad_flag_query_parameter_is_tolerated_everywhere() {
    let app = TestApp::new().await;
    let r = app.post("/Users?aadOptscim062020", alice()).await;
    let id = r.assert_ok(201)["id"].as_str().unwrap().to_string();
    app.get("/Users?aadOptscim062020").await.assert_ok(200);
    let r = app
        .get(&format!(
            "/Users?aadOptscim062020&filter={}",
            q("userName eq \"alice@acme.example\"")
        ))
        .await;
    assert_eq!(r.ids(), vec![id.clone()]);
    app.get(&format!("/Users/{id}?aadOptscim062020"))
        .await
        .assert_ok(200);
    app.patch(
        &format!("/Users/{id}?aadOptscim062020"),
        patch_op(json!([{"op": "replace", "path": "title", "value": "Lead"}])),
    )
    .await
    .assert_ok(200);
    let mut body = alice();
    body["title"] = json!("Put");
    app.put(&format!("/Users/{id}?aadOptscim062020"), body)
        .await
        .assert_ok(200);
    assert_eq!(app.fetch(&format!("/Users/{id}")).await["title"], "Put");
    let gid = app
        .post(
            "/Groups?aadOptscim062020",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "G"}),
        )
        .await
        .assert_ok(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.get("/Groups?aadOptscim062020").await.assert_ok(200);
    app.get(&format!("/Groups/{gid}?aadOptscim062020"))
        .await
        .assert_ok(200);
    for path in ["/ServiceProviderConfig", "/ResourceTypes", "/Schemas"] {
        app.get(&format!("{path}?aadOptscim062020"))
            .await
            .assert_ok(200);
    }
    let r = app.delete(&format!("/Groups/{gid}?aadOptscim062020")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = app.delete(&format!("/Users/{id}?aadOptscim062020")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    app.get(&format!("/Users/{id}"))
        .await
        .assert_error(404, None);
    app.get(&format!("/Groups/{gid}"))
        .await
        .assert_error(404, None);
}

#[tokio::test]
async fn post_search_on_users_and_root() {
    let app = TestApp::new().await;
    let a = app
        .create_user(json!({"schemas": [USER_SCHEMA], "userName": "alice", "displayName": "Ops"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let b = app.user("alicia").await;
    app.user("bob").await;
    let r = app
        .post(
            "/Users/.search",
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "filter": "userName sw \"ali\"",
                "sortBy": "userName",
                "startIndex": 1,
                "count": 1
            }),
        )
        .await;
    r.assert_ok(200);
    assert_eq!(r.body["totalResults"], json!(2), "{}", r.body);
    assert_eq!(r.body["itemsPerPage"], json!(1), "{}", r.body);
    assert_eq!(r.ids(), vec![a.clone()]);
    let r = app
        .post(
            "/Users/.search",
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "filter": "userName sw \"ali\"",
                "sortBy": "userName",
                "startIndex": 2,
                "count": 1
            }),
        )
        .await;
    assert_eq!(r.ids(), vec![b]);

    let g = app.group("Ops", &[]).await;
    app.group("Dev", &[]).await;
    let r = app
        .post(
            "/.search",
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "filter": "displayName eq \"ops\""
            }),
        )
        .await;
    r.assert_ok(200);
    assert_eq!(r.body["totalResults"], json!(2), "{}", r.body);
    assert_eq!(set(r.ids()), of(&[&a, &g]));
}

#[tokio::test]
async fn application_json_content_type_is_accepted() {
    let app = TestApp::new().await;
    let r = app
        .send(
            Method::POST,
            "/Users",
            Some(alice()),
            &[("content-type", "application/json")],
        )
        .await;
    let id = r.assert_ok(201)["id"].as_str().unwrap().to_string();
    let r = app
        .send(
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(patch_op(
                json!([{"op": "replace", "path": "title", "value": "Json"}]),
            )),
            &[("content-type", "application/json; charset=utf-8")],
        )
        .await;
    r.assert_ok(200);
    assert_eq!(app.fetch(&format!("/Users/{id}")).await["title"], "Json");
}

#[tokio::test]
async fn enterprise_extension_round_trips() {
    let app = TestApp::new().await;
    let manager = app.user("boss").await;
    let body = app
        .create_user(json!({
            "schemas": [USER_SCHEMA, ENTERPRISE],
            "userName": "grace",
            ENTERPRISE: {"employeeNumber": "701984", "department": "Tour Operations", "manager": {"value": manager}}
        }))
        .await;
    let id = body["id"].as_str().unwrap();
    let got = app.fetch(&format!("/Users/{id}")).await;
    assert!(
        got["schemas"]
            .as_array()
            .unwrap()
            .contains(&json!(ENTERPRISE)),
        "{got}"
    );
    assert_eq!(got[ENTERPRISE]["employeeNumber"], "701984");
    assert_eq!(got[ENTERPRISE]["department"], "Tour Operations");
    assert_eq!(got[ENTERPRISE]["manager"]["value"], json!(manager));
    let r = app
        .get(&format!(
            "/Users?filter={}",
            q(&format!("{ENTERPRISE}:employeeNumber eq \"701984\""))
        ))
        .await;
    assert_eq!(r.ids(), vec![id.to_string()]);
}

#[tokio::test]
async fn primary_email_is_unique_per_tenant_case_insensitively() {
    let app = TestApp::new().await;
    app.create_user(json!({
        "schemas": [USER_SCHEMA],
        "userName": "first",
        "emails": [{"value": "Same@acme.example", "type": "work", "primary": true}]
    }))
    .await;
    let r = app
        .post(
            "/Users",
            json!({
                "schemas": [USER_SCHEMA],
                "userName": "second",
                "emails": [{"value": "same@ACME.example", "type": "work", "primary": true}]
            }),
        )
        .await;
    r.assert_error(409, Some("uniqueness"));
    assert!(
        r.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("primary email")),
        "{}",
        r.body
    );
    let listed = app
        .get(&format!("/Users?filter={}", q("userName eq \"second\"")))
        .await;
    assert_eq!(listed.body["totalResults"], 0);
    // The same address as a secondary email is fine.
    app.create_user(json!({
        "schemas": [USER_SCHEMA],
        "userName": "third",
        "emails": [
            {"value": "third@acme.example", "type": "work", "primary": true},
            {"value": "same@acme.example", "type": "home"}
        ]
    }))
    .await;
}

#[tokio::test]
async fn overlong_values_are_refused_before_they_reach_an_index() {
    let app = TestApp::new().await;
    let long = "x".repeat(3000);
    for body in [
        json!({"schemas": [USER_SCHEMA], "userName": long}),
        json!({"schemas": [USER_SCHEMA], "userName": "ok", "externalId": long}),
        json!({"schemas": [USER_SCHEMA], "userName": "ok", "title": long}),
    ] {
        let r = app.post("/Users", body).await;
        r.assert_error(400, Some("invalidValue"));
        assert!(
            r.body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("2048")),
            "{}",
            r.body
        );
    }
    assert_eq!(app.get("/Users").await.body["totalResults"], 0);
    let id = app.user("ok").await;
    app.patch(
        &format!("/Users/{id}"),
        patch_op(json!([{"op": "replace", "path": "externalId", "value": long}])),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    assert!(
        app.get(&format!("/Users/{id}"))
            .await
            .body
            .get("externalId")
            .is_none()
    );
}
