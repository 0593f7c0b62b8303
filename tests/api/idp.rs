//! Every request shape in IDP-NOTES.md, sent as the identity providers send it, with what a
//! later GET shows.

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{
    ENTERPRISE, GROUP_SCHEMA, TestApp, USER_SCHEMA, member_ids, patch_op, q, sorted,
};

const AAD_GROUP: &str = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";

/// The body Entra ID sends to create a user.
fn entra_user(user_name: &str, external_id: &str, email: &str) -> Value {
    json!({
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": email}],
        "externalId": external_id,
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Givenname Familyname", "familyName": "Familyname", "givenName": "Givenname"},
        "roles": [],
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "userName": user_name,
        ENTERPRISE: {"employeeNumber": "1234", "department": "Sales"}
    })
}

async fn entra_create(app: &TestApp, user_name: &str) -> String {
    let r = app
        .post(
            "/Users",
            entra_user(
                user_name,
                &format!("ext-{user_name}"),
                &format!("{user_name}@work.example"),
            ),
        )
        .await;
    r.assert_ok(201)["id"].as_str().unwrap().to_string()
}

async fn user_body(app: &TestApp, id: &str) -> Value {
    app.fetch(&format!("/Users/{id}")).await
}

fn emails_of(user: &Value) -> Vec<(String, Option<String>)> {
    let mut out: Vec<(String, Option<String>)> = user["emails"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        e["value"].as_str().unwrap().to_string(),
                        e["type"].as_str().map(str::to_string),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

// ---------------------------------------------------------------- Microsoft Entra ID

#[tokio::test]
async fn entra_probe_with_a_random_guid_answers_an_empty_list() {
    let app = TestApp::new().await;
    app.user("someone").await;
    let guid = uuid::Uuid::new_v4();
    let r = app
        .get(&format!(
            "/Users?filter={}",
            q(&format!("userName eq \"{guid}\""))
        ))
        .await;
    r.assert_ok(200);
    assert!(r.ids().is_empty());
    assert_eq!(r.body["totalResults"], json!(0));
}

#[tokio::test]
async fn entra_create_user_body() {
    let app = TestApp::new().await;
    let r = app
        .post(
            "/Users",
            entra_user(
                "Test_User_1@contoso.example",
                "0a21f0f2-8d2a",
                "Test_User_1@contoso.example",
            ),
        )
        .await;
    let created = r.assert_ok(201).clone();
    let id = created["id"].as_str().unwrap();
    let got = user_body(&app, id).await;
    assert_eq!(got, created);
    assert_eq!(got["userName"], "Test_User_1@contoso.example");
    assert_eq!(got["externalId"], "0a21f0f2-8d2a");
    assert_eq!(got["active"], true);
    assert_eq!(got["name"]["formatted"], "Givenname Familyname");
    assert_eq!(got["name"]["familyName"], "Familyname");
    assert_eq!(got["name"]["givenName"], "Givenname");
    assert_eq!(got["emails"][0]["value"], "Test_User_1@contoso.example");
    assert_eq!(got["emails"][0]["type"], "work");
    assert_eq!(got["emails"][0]["primary"], true);
    assert_eq!(got[ENTERPRISE]["employeeNumber"], "1234");
    assert_eq!(got[ENTERPRISE]["department"], "Sales");
    assert_eq!(got["meta"]["resourceType"], "User");
    assert!(
        got["roles"].as_array().is_none_or(|r| r.is_empty()),
        "{got}"
    );
    assert_eq!(
        app.find_users("externalId eq \"0a21f0f2-8d2a\"").await,
        vec![id.to_string()]
    );
    assert_eq!(
        app.find_users(
            "userName eq \"test_user_1@contoso.example\" and externalId eq \"0a21f0f2-8d2a\""
        )
        .await,
        vec![id.to_string()]
    );
}

#[tokio::test]
async fn entra_work_email_filter_matches_only_work_emails() {
    let app = TestApp::new().await;
    let worker = app
        .create_user(entra_user("worker", "ext-w", "shared@x.example"))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.create_user(json!({
        "schemas": [USER_SCHEMA],
        "userName": "homebody",
        "emails": [
            {"value": "homebody@x.example", "type": "work", "primary": true},
            {"value": "shared@x.example", "type": "home"}
        ]
    }))
    .await;
    let filter = "emails[type eq \"work\"].value eq \"shared@x.example\"";
    assert_eq!(app.find_users(filter).await, vec![worker.clone()]);
    assert_eq!(
        app.find_users("emails[type eq \"work\"].value eq \"SHARED@x.example\"")
            .await,
        vec![worker]
    );
    assert!(
        app.find_users("emails[type eq \"work\"].value eq \"nobody@x.example\"")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn entra_group_lookup_by_display_name_without_members() {
    let app = TestApp::new().await;
    let a = app.user("alice").await;
    let g = app.group("Sales Team", &[&a]).await;
    app.group("Sales", &[]).await;
    let r = app
        .get(&format!(
            "/Groups?excludedAttributes=members&filter={}",
            q("displayName eq \"Sales Team\"")
        ))
        .await;
    assert_eq!(r.ids(), vec![g]);
    assert!(
        r.body["Resources"][0].get("members").is_none(),
        "{}",
        r.body
    );
    assert_eq!(r.body["Resources"][0]["displayName"], "Sales Team");
    let r = app
        .get(&format!(
            "/Groups?excludedAttributes=members&filter={}",
            q("displayName eq \"Nope\"")
        ))
        .await;
    assert!(r.ids().is_empty());
    assert_eq!(r.body["totalResults"], json!(0));
}

#[tokio::test]
async fn entra_group_create_with_the_extra_schema() {
    let app = TestApp::new().await;
    let a = app.user("alice").await;
    let r = app
        .post(
            "/Groups",
            json!({
                "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                "displayName": "Group1DisplayName",
                "meta": {"resourceType": "Group"},
                "members": [{"value": a}],
                "schemas": [GROUP_SCHEMA, AAD_GROUP]
            }),
        )
        .await;
    let id = r.assert_ok(201)["id"].as_str().unwrap().to_string();
    let got = app.fetch(&format!("/Groups/{id}")).await;
    assert_eq!(got["displayName"], "Group1DisplayName");
    assert_eq!(got["externalId"], "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159");
    assert_eq!(member_ids(&got), sorted(&[&a]));
    assert_eq!(got["schemas"], json!([GROUP_SCHEMA]));
}

#[tokio::test]
async fn entra_capitalised_ops() {
    let app = TestApp::new().await;
    let id = entra_create(&app, "ryan").await;
    let r = app
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([
                {"op": "Add", "path": "title", "value": "Manager"},
                {"op": "Replace", "path": "name.familyName", "value": "Leenay"},
                {"op": "Remove", "path": "externalId"},
                {"op": "Replace", "path": "displayName", "value": "Ryan Leenay"}
            ])),
        )
        .await;
    r.assert_ok(200);
    let got = user_body(&app, &id).await;
    assert_eq!(got["title"], "Manager");
    assert_eq!(got["name"]["familyName"], "Leenay");
    assert_eq!(got["name"]["givenName"], "Givenname");
    assert_eq!(got["displayName"], "Ryan Leenay");
    assert!(got.get("externalId").is_none(), "{got}");
}

#[tokio::test]
async fn entra_work_email_value_path_creates_then_replaces_keeping_others() {
    let app = TestApp::new().await;
    let id = app
        .create_user(json!({
            "schemas": [USER_SCHEMA],
            "userName": "mia",
            "emails": [{"value": "mia@home.example", "type": "home"}]
        }))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.patch(
        &format!("/Users/{id}"),
        patch_op(json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "mia@work.example"}])),
    )
    .await
    .assert_ok(200);
    let got = user_body(&app, &id).await;
    assert_eq!(
        emails_of(&got),
        vec![
            ("mia@home.example".to_string(), Some("home".to_string())),
            ("mia@work.example".to_string(), Some("work".to_string())),
        ],
        "{got}"
    );
    app.patch(
        &format!("/Users/{id}"),
        patch_op(json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "mia@new-work.example"}])),
    )
    .await
    .assert_ok(200);
    let got = user_body(&app, &id).await;
    assert_eq!(
        emails_of(&got),
        vec![
            ("mia@home.example".to_string(), Some("home".to_string())),
            ("mia@new-work.example".to_string(), Some("work".to_string())),
        ],
        "{got}"
    );
    assert_eq!(
        app.find_users("emails[type eq \"work\"].value eq \"mia@new-work.example\"")
            .await,
        vec![id.clone()]
    );
    assert!(
        app.find_users("emails.value eq \"mia@work.example\"")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn entra_add_work_email_path_when_none_exists() {
    let app = TestApp::new().await;
    let id = app.user("noah").await;
    app.patch(
        &format!("/Users/{id}"),
        patch_op(json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "noah@work.example"}])),
    )
    .await
    .assert_ok(200);
    let got = user_body(&app, &id).await;
    assert_eq!(
        emails_of(&got),
        vec![("noah@work.example".to_string(), Some("work".to_string()))],
        "{got}"
    );
}

#[tokio::test]
async fn entra_manager_as_a_bare_string() {
    let app = TestApp::new().await;
    let boss = entra_create(&app, "boss").await;
    let id = entra_create(&app, "worker").await;
    app.patch(
        &format!("/Users/{id}"),
        patch_op(json!([{"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": boss}])),
    )
    .await
    .assert_ok(200);
    let got = user_body(&app, &id).await;
    assert_eq!(got[ENTERPRISE]["manager"]["value"], json!(boss), "{got}");
    assert_eq!(got[ENTERPRISE]["employeeNumber"], "1234");
    app.patch(
        &format!("/Users/{id}"),
        patch_op(json!([{"op": "Remove", "path": format!("{ENTERPRISE}:manager")}])),
    )
    .await
    .assert_ok(200);
    let got = user_body(&app, &id).await;
    assert!(got[ENTERPRISE].get("manager").is_none(), "{got}");
}

#[tokio::test]
async fn entra_manager_older_shape() {
    let app = TestApp::new().await;
    let boss = entra_create(&app, "boss").await;
    let id = entra_create(&app, "worker").await;
    app.patch(
        &format!("/Users/{id}"),
        patch_op(json!([{
            "op": "Add",
            "path": "manager",
            "value": [{"$ref": format!("../Users/{boss}"), "value": boss}]
        }])),
    )
    .await
    .assert_ok(200);
    let got = user_body(&app, &id).await;
    assert_eq!(got[ENTERPRISE]["manager"]["value"], json!(boss), "{got}");
}

#[tokio::test]
async fn entra_disable_with_a_string_false() {
    let app = TestApp::new().await;
    let id = entra_create(&app, "leaver").await;
    let other = entra_create(&app, "stayer").await;
    app.patch(
        &format!("/Users/{id}"),
        patch_op(json!([{"op": "Replace", "path": "active", "value": "False"}])),
    )
    .await
    .assert_ok(200);
    assert_eq!(user_body(&app, &id).await["active"], false);
    assert_eq!(app.find_users("active eq false").await, vec![id.clone()]);
    assert_eq!(app.find_users("active eq true").await, vec![other]);
    app.patch(
        &format!("/Users/{id}"),
        patch_op(json!([{"op": "Replace", "path": "active", "value": "True"}])),
    )
    .await
    .assert_ok(200);
    assert_eq!(user_body(&app, &id).await["active"], true);
    assert!(app.find_users("active eq false").await.is_empty());
}

#[tokio::test]
async fn entra_flagged_mode_disable_with_a_boolean() {
    let app = TestApp::new().await;
    let id = entra_create(&app, "leaver").await;
    app.patch(
        &format!("/Users/{id}?aadOptscim062020"),
        patch_op(json!([{"op": "replace", "path": "active", "value": false}])),
    )
    .await
    .assert_ok(200);
    assert_eq!(user_body(&app, &id).await["active"], false);
    let r = app
        .get(&format!(
            "/Users?aadOptscim062020&filter={}",
            q("active eq false")
        ))
        .await;
    assert_eq!(r.ids(), vec![id]);
}

#[tokio::test]
async fn entra_flagged_path_less_replace_with_dotted_and_urn_keys() {
    let app = TestApp::new().await;
    let id = entra_create(&app, "dotty").await;
    app.patch(
        &format!("/Users/{id}?aadOptscim062020"),
        patch_op(json!([{
            "op": "replace",
            "value": {
                "displayName": "Dotty Display",
                "name.givenName": "Dorothy",
                format!("{ENTERPRISE}:employeeNumber"): "9999"
            }
        }])),
    )
    .await
    .assert_ok(200);
    let got = user_body(&app, &id).await;
    assert_eq!(got["displayName"], "Dotty Display");
    assert_eq!(got["name"]["givenName"], "Dorothy");
    assert_eq!(got["name"]["familyName"], "Familyname");
    assert_eq!(got[ENTERPRISE]["employeeNumber"], "9999");
    assert_eq!(got[ENTERPRISE]["department"], "Sales");
    assert!(got.get("name.givenName").is_none(), "{got}");
    assert!(
        got.get(format!("{ENTERPRISE}:employeeNumber")).is_none(),
        "{got}"
    );
}

#[tokio::test]
async fn entra_group_member_add_with_null_ref() {
    let app = TestApp::new().await;
    let a = app.user("alice").await;
    let b = app.user("bob").await;
    let g = app.group("Ops", &[&a]).await;
    app.patch(
        &format!("/Groups/{g}"),
        patch_op(json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": b}]}])),
    )
    .await
    .assert_ok(200);
    assert_eq!(
        member_ids(&app.fetch(&format!("/Groups/{g}")).await),
        sorted(&[&a, &b])
    );
}

#[tokio::test]
async fn entra_default_mode_remove_with_a_value_list_removes_only_those() {
    let app = TestApp::new().await;
    let a = app.user("alice").await;
    let b = app.user("bob").await;
    let c = app.user("carol").await;
    let g = app.group("Ops", &[&a, &b, &c]).await;
    let r = app
        .patch(
            &format!("/Groups/{g}"),
            patch_op(json!([{"op": "Remove", "path": "members", "value": [{"value": b}]}])),
        )
        .await;
    assert!(
        matches!(r.status, StatusCode::OK | StatusCode::NO_CONTENT),
        "{}",
        r.body
    );
    assert_eq!(
        member_ids(&app.fetch(&format!("/Groups/{g}")).await),
        sorted(&[&a, &c])
    );
}

#[tokio::test]
async fn entra_flagged_remove_by_value_filter() {
    let app = TestApp::new().await;
    let a = app.user("alice").await;
    let b = app.user("bob").await;
    let g = app.group("Ops", &[&a, &b]).await;
    let r = app
        .patch(
            &format!("/Groups/{g}?aadOptscim062020"),
            patch_op(json!([{"op": "remove", "path": format!("members[value eq \"{a}\"]")}])),
        )
        .await;
    assert!(
        matches!(r.status, StatusCode::OK | StatusCode::NO_CONTENT),
        "{}",
        r.body
    );
    assert_eq!(
        member_ids(&app.fetch(&format!("/Groups/{g}")).await),
        sorted(&[&b])
    );
}

#[tokio::test]
async fn entra_delete_user() {
    let app = TestApp::new().await;
    let id = entra_create(&app, "gone").await;
    let r = app.delete(&format!("/Users/{id}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    app.get(&format!("/Users/{id}"))
        .await
        .assert_error(404, None);
    assert!(
        app.find_users("externalId eq \"ext-gone\"")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn validator_empty_operations_answers_200_and_changes_nothing() {
    let app = TestApp::new().await;
    let id = entra_create(&app, "same").await;
    let before = user_body(&app, &id).await;
    let r = app
        .patch(&format!("/Users/{id}"), patch_op(json!([])))
        .await;
    r.assert_ok(200);
    assert_eq!(r.body["id"], json!(id));
    assert_eq!(user_body(&app, &id).await, before);
    let g = app.group("Ops", &[&id]).await;
    let before = app.fetch(&format!("/Groups/{g}")).await;
    app.patch(&format!("/Groups/{g}"), patch_op(json!([])))
        .await
        .assert_ok(200);
    assert_eq!(app.fetch(&format!("/Groups/{g}")).await, before);
}

#[tokio::test]
async fn emails_never_carry_display_unless_sent() {
    let app = TestApp::new().await;
    let id = entra_create(&app, "plain").await;
    app.patch(
        &format!("/Users/{id}"),
        patch_op(json!([{"op": "Add", "path": "emails", "value": [{"value": "plain@home.example", "type": "home"}]}])),
    )
    .await
    .assert_ok(200);
    let got = user_body(&app, &id).await;
    assert_eq!(got["emails"].as_array().unwrap().len(), 2, "{got}");
    for e in got["emails"].as_array().unwrap() {
        assert!(e.get("display").is_none(), "{got}");
    }
    let list = app.get("/Users").await;
    for user in list.body["Resources"].as_array().unwrap() {
        for e in user["emails"].as_array().unwrap() {
            assert!(e.get("display").is_none(), "{user}");
        }
    }
    let with_display = app
        .create_user(json!({
            "schemas": [USER_SCHEMA],
            "userName": "shown",
            "emails": [{"value": "shown@x.example", "type": "work", "display": "Shown"}]
        }))
        .await;
    let got = user_body(&app, with_display["id"].as_str().unwrap()).await;
    assert_eq!(got["emails"][0]["display"], "Shown");
}

// ---------------------------------------------------------------- Okta

#[tokio::test]
async fn okta_lookup_of_an_absent_user_answers_an_empty_page() {
    let app = TestApp::new().await;
    app.user("present@x.example").await;
    let r = app
        .get(&format!(
            "/Users?filter={}&startIndex=1&count=100",
            q("userName eq \"absent@x.example\"")
        ))
        .await;
    r.assert_ok(200);
    assert!(r.ids().is_empty());
    assert_eq!(r.body["totalResults"], json!(0));
    assert_eq!(r.body["startIndex"], json!(1));
}

#[tokio::test]
async fn okta_connection_test() {
    let app = TestApp::new().await;
    for i in 0..3 {
        app.user(&format!("u{i}")).await;
    }
    let r = app.get("/Users?startIndex=1&count=2").await;
    r.assert_ok(200);
    assert_eq!(r.ids().len(), 2);
    assert_eq!(r.body["totalResults"], json!(3));
    assert_eq!(r.body["startIndex"], json!(1));
    assert_eq!(r.body["itemsPerPage"], json!(2));
    let r = app.get("/Users?count=1").await;
    assert_eq!(r.ids().len(), 1);
}

#[tokio::test]
async fn okta_import_pages_are_stable_without_duplicates() {
    let app = TestApp::new().await;
    let mut created = BTreeSet::new();
    for i in 0..150 {
        created.insert(app.user(&format!("import{i:03}@x.example")).await);
    }
    let first = app.get("/Users?startIndex=1&count=100").await;
    first.assert_ok(200);
    assert_eq!(first.body["totalResults"], json!(150));
    assert_eq!(first.body["startIndex"], json!(1));
    assert_eq!(first.body["itemsPerPage"], json!(100));
    let second = app.get("/Users?startIndex=101&count=100").await;
    second.assert_ok(200);
    assert_eq!(second.body["totalResults"], json!(150));
    assert_eq!(second.body["startIndex"], json!(101));
    assert_eq!(second.body["itemsPerPage"], json!(50));
    let mut all = first.ids();
    all.extend(second.ids());
    assert_eq!(all.len(), 150);
    let distinct: BTreeSet<String> = all.iter().cloned().collect();
    assert_eq!(distinct, created);
    assert_eq!(
        app.get("/Users?startIndex=1&count=100").await.ids(),
        first.ids()
    );
    assert_eq!(
        app.get("/Users?startIndex=101&count=100").await.ids(),
        second.ids()
    );
    let third = app.get("/Users?startIndex=201&count=100").await;
    assert!(third.ids().is_empty());
    assert_eq!(third.body["totalResults"], json!(150));
}

#[tokio::test]
async fn okta_upper_case_user_name_filter_finds_the_user() {
    let app = TestApp::new().await;
    let id = app.user("isaac.brock@example.com").await;
    let r = app
        .get(&format!(
            "/Users?filter={}&startIndex=1&count=100",
            q("userName eq \"ISAAC.BROCK@EXAMPLE.COM\"")
        ))
        .await;
    assert_eq!(r.ids(), vec![id]);
}

fn okta_user(user_name: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "name": {"givenName": "Isaac", "familyName": "Brock"},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": "Isaac Brock",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": true
    })
}

#[tokio::test]
async fn okta_create_as_application_json() {
    let app = TestApp::new().await;
    let r = app
        .send(
            Method::POST,
            "/Users",
            Some(okta_user("isaac.brock@example.com")),
            &[("content-type", "application/json")],
        )
        .await;
    let body = r.assert_ok(201).clone();
    assert!(body.get("password").is_none());
    assert!(!body.to_string().contains("1mz050nq"));
    let id = body["id"].as_str().unwrap();
    let got = user_body(&app, id).await;
    assert_eq!(got["locale"], "en-US");
    assert_eq!(got["displayName"], "Isaac Brock");
    assert_eq!(got["active"], true);
    assert!(got.get("password").is_none());
    assert!(!got.to_string().contains("1mz050nq"));
    assert!(
        got["groups"].as_array().is_none_or(|g| g.is_empty()),
        "{got}"
    );
    let list = app.get("/Users?attributes=password,userName").await;
    assert!(!list.body.to_string().contains("1mz050nq"), "{}", list.body);
    assert!(list.body["Resources"][0].get("password").is_none());
}

#[tokio::test]
async fn okta_duplicate_create_is_409_and_the_original_stays() {
    let app = TestApp::new().await;
    let first = app.create_user(okta_user("isaac.brock@example.com")).await;
    let id = first["id"].as_str().unwrap();
    let mut retry = okta_user("isaac.brock@example.com");
    retry["displayName"] = json!("Overwritten");
    retry["active"] = json!(false);
    app.send(
        Method::POST,
        "/Users",
        Some(retry),
        &[("content-type", "application/json")],
    )
    .await
    .assert_error(409, Some("uniqueness"));
    let got = user_body(&app, id).await;
    assert_eq!(got, first);
    assert_eq!(app.get("/Users").await.ids(), vec![id.to_string()]);
}

#[tokio::test]
async fn okta_full_put_without_active_keeps_the_user_active() {
    let app = TestApp::new().await;
    let id = app.create_user(okta_user("isaac.brock@example.com")).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut body = user_body(&app, &id).await;
    body.as_object_mut().unwrap().remove("active");
    body["displayName"] = json!("Isaac B.");
    app.put(&format!("/Users/{id}"), body).await.assert_ok(200);
    let got = user_body(&app, &id).await;
    assert_eq!(got["active"], true, "{got}");
    assert_eq!(got["displayName"], "Isaac B.");
}

#[tokio::test]
async fn okta_put_with_active_false_deactivates() {
    let app = TestApp::new().await;
    let id = app.create_user(okta_user("isaac.brock@example.com")).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut body = user_body(&app, &id).await;
    body["active"] = json!(false);
    let r = app.put(&format!("/Users/{id}"), body).await;
    r.assert_ok(200);
    assert_eq!(r.body["active"], false);
    assert_eq!(user_body(&app, &id).await["active"], false);
    assert_eq!(app.find_users("active eq false").await, vec![id.clone()]);
    let mut body = user_body(&app, &id).await;
    body["active"] = json!(true);
    app.put(&format!("/Users/{id}"), body).await.assert_ok(200);
    assert_eq!(user_body(&app, &id).await["active"], true);
}

#[tokio::test]
async fn okta_path_less_deactivate() {
    let app = TestApp::new().await;
    let id = app.create_user(okta_user("isaac.brock@example.com")).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([{"op": "replace", "value": {"active": false}}])),
        )
        .await;
    assert!(
        matches!(r.status, StatusCode::OK | StatusCode::NO_CONTENT),
        "{}",
        r.body
    );
    let got = user_body(&app, &id).await;
    assert_eq!(got["active"], false);
    assert_eq!(got["displayName"], "Isaac Brock");
    assert_eq!(got["locale"], "en-US");
}

#[tokio::test]
async fn okta_group_path_less_replace_of_id_and_display_name() {
    let app = TestApp::new().await;
    let a = app.user("alice").await;
    let g = app.group("Okta Group", &[&a]).await;
    let r = app
        .patch(
            &format!("/Groups/{g}"),
            patch_op(
                json!([{"op": "replace", "value": {"id": g, "displayName": "Renamed Group"}}]),
            ),
        )
        .await;
    assert!(
        matches!(r.status, StatusCode::OK | StatusCode::NO_CONTENT),
        "{}",
        r.body
    );
    let got = app.fetch(&format!("/Groups/{g}")).await;
    assert_eq!(got["id"], json!(g));
    assert_eq!(got["displayName"], "Renamed Group");
    assert_eq!(member_ids(&got), sorted(&[&a]));
}

#[tokio::test]
async fn okta_group_remove_and_add_in_one_request() {
    let app = TestApp::new().await;
    let a = app.user("alice").await;
    let b = app.user("bob").await;
    let c = app.user("carol").await;
    let g = app.group("Okta Group", &[&a, &b]).await;
    let r = app
        .patch(
            &format!("/Groups/{g}"),
            patch_op(json!([
                {"op": "remove", "path": format!("members[value eq \"{a}\"]")},
                {"op": "add", "path": "members", "value": [{"value": c, "display": "carol"}]}
            ])),
        )
        .await;
    assert!(
        matches!(r.status, StatusCode::OK | StatusCode::NO_CONTENT),
        "{}",
        r.body
    );
    assert_eq!(
        member_ids(&app.fetch(&format!("/Groups/{g}")).await),
        sorted(&[&b, &c])
    );
}

#[tokio::test]
async fn okta_group_full_replace_of_members_and_full_put() {
    let app = TestApp::new().await;
    let a = app.user("alice").await;
    let b = app.user("bob").await;
    let g = app.group("Okta Group", &[&a]).await;
    app.patch(
        &format!("/Groups/{g}"),
        patch_op(json!([{"op": "replace", "path": "members", "value": [{"value": b, "display": "bob"}]}])),
    )
    .await
    .assert_ok(200);
    assert_eq!(
        member_ids(&app.fetch(&format!("/Groups/{g}")).await),
        sorted(&[&b])
    );
    app.patch(
        &format!("/Groups/{g}"),
        patch_op(json!([{"op": "replace", "path": "members", "value": []}])),
    )
    .await
    .assert_ok(200);
    assert!(member_ids(&app.fetch(&format!("/Groups/{g}")).await).is_empty());
    app.put(
        &format!("/Groups/{g}"),
        json!({"schemas": [GROUP_SCHEMA], "id": g, "displayName": "Okta Group", "members": [{"value": a, "display": "alice"}, {"value": b}]}),
    )
    .await
    .assert_ok(200);
    assert_eq!(
        member_ids(&app.fetch(&format!("/Groups/{g}")).await),
        sorted(&[&a, &b])
    );
    app.put(
        &format!("/Groups/{g}"),
        json!({"schemas": [GROUP_SCHEMA], "id": g, "displayName": "Okta Group", "members": []}),
    )
    .await
    .assert_ok(200);
    let got = app.fetch(&format!("/Groups/{g}")).await;
    assert!(member_ids(&got).is_empty(), "{got}");
    assert_eq!(got["displayName"], "Okta Group");
}

#[tokio::test]
async fn okta_group_delete() {
    let app = TestApp::new().await;
    let a = app.user("alice").await;
    let g = app.group("Okta Group", &[&a]).await;
    let r = app.delete(&format!("/Groups/{g}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    app.get(&format!("/Groups/{g}"))
        .await
        .assert_error(404, None);
    assert!(
        app.get(&format!(
            "/Groups?filter={}",
            q("displayName eq \"Okta Group\"")
        ))
        .await
        .ids()
        .is_empty()
    );
    let alice = user_body(&app, &a).await;
    assert!(
        alice["groups"].as_array().is_none_or(|g| g.is_empty()),
        "{alice}"
    );
}

// ---------------------------------------------------------------- Everyone

#[tokio::test]
async fn patch_with_the_whole_extension_urn_as_path() {
    let app = TestApp::new().await;
    let id = entra_create(&app, "ext").await;
    app.patch(
        &format!("/Users/{id}"),
        patch_op(json!([{"op": "replace", "path": ENTERPRISE, "value": {"costCenter": "CC-7", "department": "Support"}}])),
    )
    .await
    .assert_ok(200);
    let got = user_body(&app, &id).await;
    assert_eq!(got[ENTERPRISE]["costCenter"], "CC-7");
    assert_eq!(got[ENTERPRISE]["department"], "Support");
    assert_eq!(got["userName"], "ext");
    app.patch(
        &format!("/Users/{id}"),
        patch_op(json!([{"op": "add", "path": ENTERPRISE, "value": {"division": "North"}}])),
    )
    .await
    .assert_ok(200);
    let got = user_body(&app, &id).await;
    assert_eq!(got[ENTERPRISE]["division"], "North");
    assert_eq!(got[ENTERPRISE]["costCenter"], "CC-7");
}

#[tokio::test]
async fn booleans_as_strings_in_post_and_patch() {
    let app = TestApp::new().await;
    let r = app
        .post(
            "/Users",
            json!({
                "schemas": [USER_SCHEMA],
                "userName": "stringly",
                "active": "True",
                "emails": [
                    {"value": "s@work.example", "type": "work", "primary": "true"},
                    {"value": "s@home.example", "type": "home", "primary": "False"}
                ]
            }),
        )
        .await;
    let id = r.assert_ok(201)["id"].as_str().unwrap().to_string();
    let got = user_body(&app, &id).await;
    assert_eq!(got["active"], json!(true));
    let work = got["emails"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "work")
        .unwrap()
        .clone();
    assert_eq!(work["primary"], json!(true), "{got}");
    let inactive = app
        .post(
            "/Users",
            json!({"schemas": [USER_SCHEMA], "userName": "off", "active": "false"}),
        )
        .await;
    let off = inactive.assert_ok(201)["id"].as_str().unwrap().to_string();
    assert_eq!(user_body(&app, &off).await["active"], json!(false));
    app.patch(
        &format!("/Users/{id}"),
        patch_op(json!([{"op": "replace", "path": "active", "value": "false"}])),
    )
    .await
    .assert_ok(200);
    assert_eq!(user_body(&app, &id).await["active"], json!(false));
    app.patch(
        &format!("/Users/{off}"),
        patch_op(json!([{"op": "replace", "value": {"active": "True"}}])),
    )
    .await
    .assert_ok(200);
    assert_eq!(user_body(&app, &off).await["active"], json!(true));
}

#[tokio::test]
async fn unknown_attributes_in_post_and_put_are_ignored() {
    let app = TestApp::new().await;
    let r = app
        .post(
            "/Users",
            json!({
                "schemas": [USER_SCHEMA, "urn:example:custom:2.0:User"],
                "userName": "unk",
                "shoeSize": 42,
                "urn:example:custom:2.0:User": {"badge": "7"}
            }),
        )
        .await;
    let id = r.assert_ok(201)["id"].as_str().unwrap().to_string();
    let r = app
        .put(
            &format!("/Users/{id}"),
            json!({"schemas": [USER_SCHEMA], "userName": "unk", "title": "T", "hatSize": 7}),
        )
        .await;
    r.assert_ok(200);
    let got = user_body(&app, &id).await;
    assert_eq!(got["title"], "T");
    assert!(
        got.get("hatSize").is_none() && got.get("shoeSize").is_none(),
        "{got}"
    );
    assert!(got.get("urn:example:custom:2.0:User").is_none(), "{got}");
    let r = app
        .post(
            "/Groups",
            json!({"schemas": [GROUP_SCHEMA], "displayName": "G", "colour": "blue"}),
        )
        .await;
    let g = r.assert_ok(201)["id"].as_str().unwrap().to_string();
    assert!(
        app.fetch(&format!("/Groups/{g}"))
            .await
            .get("colour")
            .is_none()
    );
}

#[tokio::test]
async fn read_only_attributes_sent_back_in_put_are_ignored() {
    let app = TestApp::new().await;
    let id = entra_create(&app, "roundtrip").await;
    let g = app.group("Ops", &[&id]).await;
    let other_group = app.group("Other", &[]).await;
    let mut body = user_body(&app, &id).await;
    let created = body["meta"]["created"].clone();
    body["id"] = json!("forged-id");
    body["meta"]["created"] = json!("1999-01-01T00:00:00Z");
    body["meta"]["version"] = json!("W/\"forged\"");
    body["groups"] = json!([{"value": other_group, "display": "Other"}]);
    body["title"] = json!("Round Trip");
    let r = app.put(&format!("/Users/{id}"), body).await;
    r.assert_ok(200);
    assert_eq!(r.body["id"], json!(id));
    let got = user_body(&app, &id).await;
    assert_eq!(got["title"], "Round Trip");
    assert_eq!(got["meta"]["created"], created);
    assert_ne!(got["meta"]["version"], "W/\"forged\"");
    let groups: Vec<&Value> = got["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| &g["value"])
        .collect();
    assert_eq!(groups, vec![&json!(g)], "{got}");
    assert!(member_ids(&app.fetch(&format!("/Groups/{other_group}")).await).is_empty());
    app.get("/Users/forged-id").await.assert_error(404, None);
}

#[tokio::test]
async fn stray_id_and_schemas_inside_patch_values_are_ignored() {
    let app = TestApp::new().await;
    let id = entra_create(&app, "stray").await;
    app.patch(
        &format!("/Users/{id}"),
        patch_op(json!([{
            "op": "replace",
            "value": {"id": id, "schemas": [USER_SCHEMA], "displayName": "Stray Keys"}
        }])),
    )
    .await
    .assert_ok(200);
    let got = user_body(&app, &id).await;
    assert_eq!(got["displayName"], "Stray Keys");
    assert_eq!(got["id"], json!(id));
    app.patch(
        &format!("/Users/{id}"),
        patch_op(json!([{
            "op": "add",
            "path": "emails",
            "value": [{"id": "e1", "schemas": ["x"], "value": "stray@home.example", "type": "home"}]
        }])),
    )
    .await
    .assert_ok(200);
    let got = user_body(&app, &id).await;
    let home = got["emails"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "home")
        .expect("home email")
        .clone();
    assert_eq!(home["value"], "stray@home.example");
    assert!(
        home.get("id").is_none() && home.get("schemas").is_none(),
        "{got}"
    );
}

#[tokio::test]
async fn patch_answers_200_with_the_full_resource() {
    let app = TestApp::new().await;
    let id = entra_create(&app, "full").await;
    let r = app
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([{"op": "Replace", "path": "title", "value": "Lead"}])),
        )
        .await;
    r.assert_ok(200);
    let got = app.get(&format!("/Users/{id}")).await;
    assert_eq!(r.body, got.body);
    assert_eq!(r.header("etag"), got.header("etag"));
    assert_eq!(r.body["title"], "Lead");
    assert_eq!(r.body["userName"], "full");
    assert_eq!(r.body[ENTERPRISE]["employeeNumber"], "1234");
    assert!(r.body["meta"]["location"].is_string());
}
