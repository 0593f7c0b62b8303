//! `/Bulk` (RFC 7644 §3.7): operations referring to each other by bulkId in any order,
//! circular references, failures that stay in their operation, `failOnErrors`, versions,
//! the advertised limits, authentication, tenancy and the audit log.

use axum::http::Method;
use serde_json::{Value, json};

use crate::harness::{ENTERPRISE, GROUP_SCHEMA, TestApp, USER_SCHEMA, boss, patch_op, q};

const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

fn request(ops: Value) -> Value {
    json!({"schemas": [BULK_REQUEST], "Operations": ops})
}

fn create_user(bulk_id: &str, user_name: &str) -> Value {
    json!({
        "method": "POST",
        "path": "/Users",
        "bulkId": bulk_id,
        "data": {"schemas": [USER_SCHEMA], "userName": user_name}
    })
}

fn create_group(bulk_id: &str, name: &str, members: &[&str]) -> Value {
    let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
    json!({
        "method": "POST",
        "path": "/Groups",
        "bulkId": bulk_id,
        "data": {"schemas": [GROUP_SCHEMA], "displayName": name, "members": members}
    })
}

/// POST /Bulk, asserting a 200 BulkResponse; its operations' results, in the order they ran.
async fn bulk(app: &TestApp, body: Value) -> Vec<Value> {
    let r = app.post("/Bulk", body).await;
    r.assert_ok(200);
    assert_eq!(r.body["schemas"], json!([BULK_RESPONSE]), "{}", r.body);
    r.body["Operations"].as_array().expect("Operations").clone()
}

/// The result of the operation with this bulkId.
#[track_caller]
fn by_bulk_id<'a>(results: &'a [Value], bulk_id: &str) -> &'a Value {
    results
        .iter()
        .find(|r| r["bulkId"] == bulk_id)
        .unwrap_or_else(|| panic!("no result for bulkId {bulk_id}: {results:?}"))
}

/// The id at the end of a result's `location`.
#[track_caller]
fn id_of(result: &Value) -> String {
    result["location"]
        .as_str()
        .and_then(|l| l.rsplit('/').next())
        .unwrap_or_else(|| panic!("no location: {result}"))
        .to_string()
}

/// Asserts a failed operation: its status and the SCIM error in `response`.
#[track_caller]
fn assert_failed(result: &Value, status: u16, scim_type: Option<&str>) {
    assert_eq!(result["status"], status.to_string(), "{result}");
    let response = &result["response"];
    assert_eq!(response["schemas"], json!([ERROR]), "{result}");
    assert_eq!(response["status"], status.to_string(), "{result}");
    assert_eq!(response["scimType"].as_str(), scim_type, "{result}");
    assert!(
        response["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{result}"
    );
    assert!(result.get("version").is_none(), "{result}");
}

async fn user_names(app: &TestApp) -> Vec<String> {
    let r = app.get("/Users?count=200").await;
    r.assert_ok(200);
    let mut names: Vec<String> = r.body["Resources"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|u| u["userName"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

async fn group_ids_named(app: &TestApp, name: &str) -> Vec<String> {
    app.get(&format!(
        "/Groups?filter={}",
        q(&format!("displayName eq \"{name}\""))
    ))
    .await
    .ids()
}

fn member_values(group: &Value) -> Vec<String> {
    let mut ids: Vec<String> = group["members"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| m["value"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

fn sorted(ids: &[&String]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn groups_name_members_created_before_and_after_them_in_the_same_request() {
    let app = TestApp::new().await;
    let results = bulk(
        &app,
        request(json!([
            create_user("alice", "alice"),
            create_user("bob", "bob"),
            create_group("ops", "Ops", &["bulkId:alice", "bulkId:bob"]),
            // Refers forward: runs once carol and dave exist.
            create_group(
                "dev",
                "Dev",
                &["bulkId:carol", "bulkId:dave", "bulkId:alice"]
            ),
            create_user("carol", "carol"),
            create_user("dave", "dave"),
        ])),
    )
    .await;
    assert_eq!(results.len(), 6, "{results:?}");
    let order: Vec<&str> = results
        .iter()
        .map(|r| r["bulkId"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["alice", "bob", "ops", "carol", "dave", "dev"]);
    for result in &results {
        assert_eq!(result["method"], "POST", "{result}");
        assert_eq!(result["status"], "201", "{result}");
        assert!(result.get("response").is_none(), "{result}");
    }
    let id = |b: &str| id_of(by_bulk_id(&results, b));
    let (alice, bob, carol, dave) = (id("alice"), id("bob"), id("carol"), id("dave"));

    // Location and version are what a GET of the resource says.
    let ops_result = by_bulk_id(&results, "ops");
    let ops = app.fetch(&format!("/Groups/{}", id("ops"))).await;
    assert_eq!(ops_result["location"], ops["meta"]["location"]);
    assert_eq!(ops_result["version"], ops["meta"]["version"]);
    assert_eq!(ops["displayName"], "Ops");
    assert_eq!(member_values(&ops), sorted(&[&alice, &bob]));

    let dev = app.fetch(&format!("/Groups/{}", id("dev"))).await;
    assert_eq!(member_values(&dev), sorted(&[&alice, &carol, &dave]));

    let user = app.fetch(&format!("/Users/{carol}")).await;
    assert_eq!(user["userName"], "carol");
    assert_eq!(
        by_bulk_id(&results, "carol")["version"],
        user["meta"]["version"]
    );
    assert_eq!(user["groups"][0]["value"], json!(id("dev")), "{user}");
}

#[tokio::test]
async fn a_manager_and_the_paths_of_patch_and_delete_name_resources_by_bulk_id() {
    let app = TestApp::new().await;
    let results = bulk(
        &app,
        request(json!([
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "emp",
                "data": {
                    "schemas": [USER_SCHEMA, ENTERPRISE],
                    "userName": "employee",
                    ENTERPRISE: {"manager": {"value": "bulkId:boss"}}
                }
            },
            create_user("boss", "the-boss"),
            {
                "method": "PATCH",
                "path": "/Users/bulkId:emp",
                "data": {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "replace", "path": "title", "value": "Agent"}]
                }
            },
            create_user("temp", "temporary"),
            create_group("team", "Team", &["bulkId:emp"]),
            {"method": "DELETE", "path": "/Users/bulkId:temp"},
            {
                "method": "PUT",
                "path": "/Groups/bulkId:team",
                "data": {"schemas": [GROUP_SCHEMA], "displayName": "Team 2", "members": [{"value": "bulkId:boss"}]}
            },
        ])),
    )
    .await;
    let statuses: Vec<&str> = results
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    // emp waits for boss; the PATCH waits for emp.
    let methods: Vec<&str> = results
        .iter()
        .map(|r| r["method"].as_str().unwrap())
        .collect();
    assert_eq!(
        methods,
        ["POST", "POST", "PATCH", "POST", "POST", "DELETE", "PUT"],
        "{results:?}"
    );
    assert_eq!(
        statuses,
        ["201", "201", "200", "201", "201", "204", "200"],
        "{results:?}"
    );
    let boss_id = id_of(by_bulk_id(&results, "boss"));
    let emp = id_of(by_bulk_id(&results, "emp"));
    let temp = id_of(by_bulk_id(&results, "temp"));
    let team = id_of(by_bulk_id(&results, "team"));

    let employee = app.fetch(&format!("/Users/{emp}")).await;
    assert_eq!(
        employee[ENTERPRISE]["manager"]["value"],
        json!(boss_id),
        "{employee}"
    );
    assert_eq!(employee["title"], "Agent");
    // The PATCH's result names the resource and its new version.
    let patched = &results[2];
    assert_eq!(patched["location"], employee["meta"]["location"]);
    assert_eq!(patched["version"], employee["meta"]["version"]);

    assert_eq!(
        results[5]["location"],
        json!(format!("http://localhost/scim/v2/Users/{temp}"))
    );
    app.get(&format!("/Users/{temp}"))
        .await
        .assert_error(404, None);

    let group = app.fetch(&format!("/Groups/{team}")).await;
    assert_eq!(group["displayName"], "Team 2");
    assert_eq!(member_values(&group), vec![boss_id]);
    assert_eq!(results[6]["version"], group["meta"]["version"]);
}

#[tokio::test]
async fn circular_references_fail_with_409_and_store_nothing() {
    let app = TestApp::new().await;
    let results = bulk(
        &app,
        request(json!([
            create_user("u", "ursula"),
            create_group("a", "Circle A", &["bulkId:b", "bulkId:u"]),
            create_group("b", "Circle B", &["bulkId:a"]),
            // Not in the cycle, but names a group of it.
            create_group("c", "Depends on A", &["bulkId:a"]),
            create_group("me", "Myself", &["bulkId:me"]),
            create_user("v", "victor"),
        ])),
    )
    .await;
    assert_eq!(results.len(), 6);
    assert_eq!(by_bulk_id(&results, "u")["status"], "201");
    assert_eq!(by_bulk_id(&results, "v")["status"], "201");
    for cyclic in ["a", "b", "me"] {
        let result = by_bulk_id(&results, cyclic);
        assert_failed(result, 409, Some("invalidValue"));
        assert!(
            result["response"]["detail"]
                .as_str()
                .unwrap()
                .contains("circular"),
            "{result}"
        );
        assert!(result.get("location").is_none(), "{result}");
    }
    let dependent = by_bulk_id(&results, "c");
    assert_failed(dependent, 409, Some("invalidValue"));
    assert!(
        dependent["response"]["detail"]
            .as_str()
            .unwrap()
            .contains("bulkId:a"),
        "{dependent}"
    );
    for name in ["Circle A", "Circle B", "Depends on A", "Myself"] {
        assert!(group_ids_named(&app, name).await.is_empty(), "{name}");
    }
    assert_eq!(user_names(&app).await, ["ursula", "victor"]);
}

#[tokio::test]
async fn a_failing_operation_fails_alone() {
    let app = TestApp::new().await;
    app.user("taken").await;
    let results = bulk(
        &app,
        request(json!([
            create_user("dup", "TAKEN"),
            create_user("ok1", "fine-1"),
            {"method": "POST", "path": "/Schemas", "bulkId": "s", "data": {"id": "x"}},
            {"method": "GET", "path": "/Users", "bulkId": "g"},
            {"method": "POST", "path": "/Users", "data": {"schemas": [USER_SCHEMA], "userName": "no-bulk-id"}},
            {"method": "PUT", "path": "/Users/whatever", "bulkId": "nodata"},
            create_group("undeclared", "Ghosts", &["bulkId:nobody"]),
            create_group("after-failed", "After failed", &["bulkId:dup"]),
            {"method": "PATCH", "path": "/Users", "bulkId": "coll", "data": {"Operations": []}},
            "not an operation",
            {"method": "POST", "path": "/Users", "bulkId": "bad", "data": {"schemas": [USER_SCHEMA]}},
            create_user("ok2", "fine-2"),
        ])),
    )
    .await;
    assert_eq!(results.len(), 12, "{results:?}");

    let dup = by_bulk_id(&results, "dup");
    assert_failed(dup, 409, Some("uniqueness"));
    assert_eq!(dup["method"], "POST");
    assert!(dup.get("location").is_none(), "{dup}");

    assert_failed(by_bulk_id(&results, "s"), 400, Some("invalidValue"));
    let get = by_bulk_id(&results, "g");
    assert_failed(get, 400, Some("invalidValue"));
    assert_eq!(get["method"], "GET");
    assert!(
        get["response"]["detail"].as_str().unwrap().contains("GET"),
        "{get}"
    );
    let no_bulk_id = results
        .iter()
        .find(|r| r.get("bulkId").is_none() && r["method"] == "POST")
        .expect("the POST without bulkId");
    assert_failed(no_bulk_id, 400, Some("invalidValue"));
    assert!(
        no_bulk_id["response"]["detail"]
            .as_str()
            .unwrap()
            .contains("bulkId"),
        "{no_bulk_id}"
    );
    assert_failed(by_bulk_id(&results, "nodata"), 400, Some("invalidValue"));
    let undeclared = by_bulk_id(&results, "undeclared");
    assert_failed(undeclared, 400, Some("invalidValue"));
    assert!(
        undeclared["response"]["detail"]
            .as_str()
            .unwrap()
            .contains("bulkId:nobody"),
        "{undeclared}"
    );
    let after = by_bulk_id(&results, "after-failed");
    assert_failed(after, 409, Some("invalidValue"));
    assert!(
        after["response"]["detail"]
            .as_str()
            .unwrap()
            .contains("failed"),
        "{after}"
    );
    assert_failed(by_bulk_id(&results, "coll"), 400, Some("invalidValue"));
    let not_object = results
        .iter()
        .find(|r| r.get("method").is_none())
        .expect("the operation that is not an object");
    assert_failed(not_object, 400, Some("invalidSyntax"));
    // The handler's own validation, as for a single POST.
    assert_failed(by_bulk_id(&results, "bad"), 400, Some("invalidValue"));

    assert_eq!(by_bulk_id(&results, "ok1")["status"], "201");
    assert_eq!(by_bulk_id(&results, "ok2")["status"], "201");
    assert_eq!(user_names(&app).await, ["fine-1", "fine-2", "taken"]);
    assert!(group_ids_named(&app, "Ghosts").await.is_empty());
    assert!(group_ids_named(&app, "After failed").await.is_empty());
}

#[tokio::test]
async fn fail_on_errors_stops_after_that_many_failures() {
    let app = TestApp::new().await;
    app.user("taken").await;
    let ops = json!([
        create_user("first", "first"),
        create_user("dup", "taken"),
        create_user("later", "later"),
        create_group("g", "Later group", &["bulkId:later"]),
    ]);
    let r = app
        .post(
            "/Bulk",
            json!({"schemas": [BULK_REQUEST], "failOnErrors": 1, "Operations": ops}),
        )
        .await;
    let body = r.assert_ok(200);
    let results = body["Operations"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{body}");
    assert_eq!(results[0]["bulkId"], "first");
    assert_eq!(results[0]["status"], "201");
    assert_eq!(results[1]["bulkId"], "dup");
    assert_failed(&results[1], 409, Some("uniqueness"));
    assert_eq!(user_names(&app).await, ["first", "taken"]);
    assert!(group_ids_named(&app, "Later group").await.is_empty());

    // Two failures allowed: the run goes on past the first.
    let results = bulk(
        &app,
        json!({"schemas": [BULK_REQUEST], "failOnErrors": 2, "Operations": [
            create_user("d1", "taken"),
            create_user("n1", "next-1"),
            create_user("d2", "first"),
            create_user("n2", "next-2"),
        ]}),
    )
    .await;
    let ran: Vec<&str> = results
        .iter()
        .map(|r| r["bulkId"].as_str().unwrap())
        .collect();
    assert_eq!(ran, ["d1", "n1", "d2"]);
    assert_eq!(user_names(&app).await, ["first", "next-1", "taken"]);
}

#[tokio::test]
async fn a_stale_version_is_412_and_changes_nothing() {
    let app = TestApp::new().await;
    let created = app
        .create_user(json!({"schemas": [USER_SCHEMA], "userName": "versioned", "title": "One"}))
        .await;
    let id = created["id"].as_str().unwrap().to_string();
    let stale = created["meta"]["version"].as_str().unwrap().to_string();
    let r = app
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([{"op": "replace", "path": "title", "value": "Two"}])),
        )
        .await;
    r.assert_ok(200);
    let current = r.body["meta"]["version"].as_str().unwrap().to_string();
    assert_ne!(stale, current);
    let group = app.group("Versioned", &[]).await;

    let results = bulk(
        &app,
        request(json!([
            {
                "method": "PUT",
                "path": format!("/Users/{id}"),
                "version": stale,
                "data": {"schemas": [USER_SCHEMA], "userName": "versioned", "title": "Three"}
            },
            {
                "method": "PATCH",
                "path": format!("/Users/{id}"),
                "version": stale,
                "data": patch_op(json!([{"op": "replace", "path": "title", "value": "Four"}]))
            },
            {"method": "DELETE", "path": format!("/Users/{id}"), "version": stale},
            {"method": "DELETE", "path": format!("/Groups/{group}"), "version": "W/\"999\""},
        ])),
    )
    .await;
    assert_eq!(results.len(), 4);
    for result in &results {
        assert_failed(result, 412, None);
    }
    assert_eq!(
        results[0]["location"],
        json!(format!("http://localhost/scim/v2/Users/{id}"))
    );
    let user = app.fetch(&format!("/Users/{id}")).await;
    assert_eq!(user["title"], "Two");
    assert_eq!(user["meta"]["version"], json!(current));
    app.fetch(&format!("/Groups/{group}")).await;

    // The current version is accepted; the result carries the new one.
    let results = bulk(
        &app,
        request(json!([{
            "method": "PATCH",
            "path": format!("/Users/{id}"),
            "version": current,
            "data": patch_op(json!([{"op": "replace", "path": "title", "value": "Five"}]))
        }])),
    )
    .await;
    assert_eq!(results[0]["status"], "200", "{results:?}");
    let user = app.fetch(&format!("/Users/{id}")).await;
    assert_eq!(user["title"], "Five");
    assert_eq!(results[0]["version"], user["meta"]["version"]);
}

#[tokio::test]
async fn malformed_bulk_requests_are_refused_whole() {
    let app = TestApp::new().await;
    let r = app
        .dispatch(
            &app.token,
            Method::POST,
            "/scim/v2/Bulk",
            Some(("application/scim+json", "{not json".into())),
            &[],
        )
        .await;
    r.assert_error(400, Some("invalidSyntax"));
    for body in [
        json!({"Operations": [create_user("a", "a")]}),
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [create_user("a", "a")]}),
        json!({"schemas": [BULK_REQUEST], "Operations": {"method": "POST"}}),
        json!({"schemas": [BULK_REQUEST]}),
        json!([create_user("a", "a")]),
    ] {
        app.post("/Bulk", body)
            .await
            .assert_error(400, Some("invalidSyntax"));
    }
    app.post(
        "/Bulk",
        json!({"schemas": [BULK_REQUEST], "failOnErrors": 0, "Operations": [create_user("a", "a")]}),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    let r = app
        .post(
            "/Bulk",
            request(json!([
                create_user("same", "one"),
                create_user("other", "two"),
                create_user("same", "three")
            ])),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));
    assert!(
        r.body["detail"].as_str().unwrap().contains("same"),
        "{}",
        r.body
    );
    assert!(user_names(&app).await.is_empty());

    // An empty request is answered with no results; the path is routed in any case.
    let r = app
        .send(Method::POST, "/scim/v2/bulk", Some(request(json!([]))), &[])
        .await;
    r.assert_ok(200);
    assert_eq!(r.body["Operations"], json!([]));
}

#[tokio::test]
async fn more_operations_than_max_operations_is_413_and_runs_nothing() {
    let app = TestApp::new().await;
    let ops: Vec<Value> = (0..1001)
        .map(|n| create_user(&format!("u{n}"), &format!("user-{n}")))
        .collect();
    let r = app.post("/Bulk", request(Value::Array(ops))).await;
    r.assert_error(413, Some("tooLarge"));
    let detail = r.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("maxOperations") && detail.contains("1000"),
        "{detail}"
    );
    assert!(user_names(&app).await.is_empty());
}

#[tokio::test]
async fn a_payload_over_max_payload_size_is_413() {
    let app = TestApp::new().await;
    let spc = app.fetch("/ServiceProviderConfig").await;
    let limit = spc["bulk"]["maxPayloadSize"].as_u64().unwrap() as usize;
    // One operation, padded past the limit by an attribute the server would ignore.
    let body = request(json!([{
        "method": "POST",
        "path": "/Users",
        "bulkId": "big",
        "data": {"schemas": [USER_SCHEMA], "userName": "big", "padding": "x".repeat(limit)}
    }]))
    .to_string();
    assert!(body.len() > limit);

    // Read until the limit (no declared length) …
    let r = app
        .dispatch(
            &app.token,
            Method::POST,
            "/scim/v2/Bulk",
            Some(("application/scim+json", body.clone())),
            &[],
        )
        .await;
    r.assert_error(413, Some("tooLarge"));
    let detail = r.body["detail"].as_str().unwrap();
    assert!(detail.contains(&limit.to_string()), "{detail}");

    // … or refused from its declared length before it is read.
    let length = body.len().to_string();
    let r = app
        .dispatch(
            &app.token,
            Method::POST,
            "/scim/v2/Bulk",
            Some(("application/scim+json", body)),
            &[("content-length", &length)],
        )
        .await;
    r.assert_error(413, Some("tooLarge"));
    let detail = r.body["detail"].as_str().unwrap();
    assert!(detail.contains(&limit.to_string()), "{detail}");
    assert!(user_names(&app).await.is_empty());
}

#[tokio::test]
async fn service_provider_config_advertises_bulk_with_its_limits() {
    let app = TestApp::new().await;
    let r = app
        .send_as("", Method::GET, "/ServiceProviderConfig", None, &[])
        .await;
    let spc = r.assert_ok(200);
    assert_eq!(
        spc["bulk"],
        json!({"supported": true, "maxOperations": 1000, "maxPayloadSize": 1048576})
    );
}

#[tokio::test]
async fn bulk_needs_credentials() {
    let app = TestApp::new().await;
    for token in ["", "not-a-token"] {
        let r = app
            .send_as(
                token,
                Method::POST,
                "/Bulk",
                Some(request(json!([create_user("a", "sneaky")]))),
                &[],
            )
            .await;
        r.assert_error(401, None);
    }
    assert!(user_names(&app).await.is_empty());
}

#[tokio::test]
async fn a_tenant_cannot_reach_another_tenants_resources() {
    let app = TestApp::new().await;
    let other = app.other_tenant("globex").await;
    let created = app
        .send_as(
            &other,
            Method::POST,
            "/Users",
            Some(json!({"schemas": [USER_SCHEMA], "userName": "theirs", "title": "Kept"})),
            &[],
        )
        .await;
    created.assert_ok(201);
    let theirs = created.body["id"].as_str().unwrap().to_string();
    let their_group = app
        .send_as(
            &other,
            Method::POST,
            "/Groups",
            Some(json!({"schemas": [GROUP_SCHEMA], "displayName": "Theirs"})),
            &[],
        )
        .await;
    let their_group = their_group.body["id"].as_str().unwrap().to_string();

    let results = bulk(
        &app,
        request(json!([
            {"method": "PUT", "path": format!("/Users/{theirs}"), "data": {"schemas": [USER_SCHEMA], "userName": "mine-now"}},
            {"method": "PATCH", "path": format!("/Users/{theirs}"), "data": patch_op(json!([{"op": "replace", "path": "title", "value": "Taken"}]))},
            {"method": "DELETE", "path": format!("/Users/{theirs}")},
            {"method": "DELETE", "path": format!("/Groups/{their_group}")},
            create_group("g", "Mine", &[&theirs]),
        ])),
    )
    .await;
    for result in &results[..4] {
        assert_failed(result, 404, None);
    }
    // A member id of another tenant names nothing here and is skipped, as in a single POST.
    let mine = app.fetch(&format!("/Groups/{}", id_of(&results[4]))).await;
    assert!(member_values(&mine).is_empty(), "{mine}");

    let r = app
        .send_as(&other, Method::GET, &format!("/Users/{theirs}"), None, &[])
        .await;
    assert_eq!(r.assert_ok(200)["title"], "Kept");
    assert_eq!(r.body["userName"], "theirs");
    app.send_as(
        &other,
        Method::GET,
        &format!("/Groups/{their_group}"),
        None,
        &[],
    )
    .await
    .assert_ok(200);
}

#[tokio::test]
async fn bulk_writes_are_audited_like_single_requests() {
    let app = TestApp::new().await;
    let results = bulk(
        &app,
        request(json!([
            create_user("a", "audited"),
            {
                "method": "PATCH",
                "path": "/Users/bulkId:a",
                "data": patch_op(json!([{"op": "replace", "path": "title", "value": "Agent"}]))
            },
        ])),
    )
    .await;
    let id = id_of(&results[0]);
    let single = app.user("single").await;

    let boss = boss(&app).await;
    let audit = |target: String| {
        let app = &app;
        let boss = &boss;
        async move {
            let r = app
                .admin(boss, Method::GET, &format!("/audit?target={target}"), None)
                .await;
            r.assert_admin_ok(200)["items"].as_array().unwrap().clone()
        }
    };
    let bulk_rows = audit(id.clone()).await;
    let single_rows = audit(single).await;
    assert_eq!(bulk_rows.len(), 2, "{bulk_rows:?}");
    // Newest first: the PATCH, then the create, by the same actor as a single POST's.
    assert_eq!(bulk_rows[1]["action"], "user.create");
    assert_eq!(bulk_rows[1]["action"], single_rows[0]["action"]);
    assert_eq!(bulk_rows[1]["actor"], single_rows[0]["actor"]);
    assert_eq!(bulk_rows[1]["actor"]["kind"], "scim");
    assert_eq!(bulk_rows[1]["target"], json!({"type": "user", "id": id}));
    assert_eq!(bulk_rows[0]["action"], "user.patch");
    assert_eq!(
        bulk_rows[0]["changes"]["title"],
        json!({"before": null, "after": "Agent"}),
        "{:?}",
        bulk_rows[0]
    );
}

#[tokio::test]
async fn odd_ids_and_values_are_client_errors_not_server_errors() {
    let app = TestApp::new().await;
    let results = bulk(
        &app,
        request(json!([
            {"method": "DELETE", "path": "/Users/.search"},
            {"method": "PUT", "path": "/Groups/a%2Fb", "data": {"displayName": "x"}},
            {"method": "PATCH", "path": "/Users/é ü", "data": {"Operations": []}},
            {"method": "DELETE", "path": "/Users/x", "version": "W/\"1\"\n"},
            {"method": "POST", "path": "/Users", "bulkId": "n", "data": {"userName": ["not", "a", "string"]}},
            {"method": "POST", "path": "/Users", "bulkId": 7, "data": {"userName": "x"}},
            {"method": "PATCH", "path": "/Users/bulkId:", "data": {"Operations": []}},
        ])),
    )
    .await;
    assert_eq!(results.len(), 7, "{results:?}");
    for result in &results {
        let status: u16 = result["status"].as_str().unwrap().parse().unwrap();
        assert!((400..500).contains(&status), "{result}");
        assert_eq!(result["response"]["schemas"], json!([ERROR]), "{result}");
    }
    assert_eq!(results[0]["status"], "404", "{}", results[0]);
    assert_eq!(results[1]["status"], "404", "{}", results[1]);
    assert_eq!(results[2]["status"], "404", "{}", results[2]);
    assert_failed(&results[3], 400, Some("invalidValue"));
    assert!(user_names(&app).await.is_empty());
}

#[tokio::test]
async fn each_operation_counts_against_the_credentials_rate() {
    let app = TestApp::with_edge(rollcall::http::edge::EdgeConfig {
        rate_limit: 1,
        ..crate::harness::test_edge()
    })
    .await;
    // A burst of twice the rate: the bulk request itself, then its first operation.
    let results = bulk(
        &app,
        request(json!([
            create_user("a", "within-the-rate"),
            create_user("b", "over-1"),
            create_user("c", "over-2"),
        ])),
    )
    .await;
    assert_eq!(results.len(), 3, "{results:?}");
    assert_eq!(results[0]["status"], "201", "{}", results[0]);
    for result in &results[1..] {
        assert_failed(result, 429, None);
        assert!(
            result["response"]["detail"]
                .as_str()
                .unwrap()
                .contains("1 requests per second"),
            "{result}"
        );
    }
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(user_names(&app).await, ["within-the-rate"]);
}
