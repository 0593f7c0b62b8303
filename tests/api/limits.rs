//! Limits as a client meets them: attribute lists in any script, tens of thousands of group
//! members in one request, and the bound on each multi-valued attribute of a user.

use axum::http::{Method, StatusCode};
use sea_orm::{ConnectionTrait, DbBackend, TransactionTrait};
use serde_json::{Value, json};

use crate::harness::{CONTACT_CENTRE, GROUP_SCHEMA, TestApp, USER_SCHEMA, patch_op, q};

/// The documented bound on the elements of one multi-valued user attribute.
const MAX_VALUES: usize = 1000;

#[tokio::test]
async fn attribute_lists_with_non_ascii_names_are_not_server_errors() {
    let app = TestApp::new().await;
    let user = app.user("alice").await;
    let group = app.group("Ops", &[&user]).await;
    let names = [
        "aaa€",
        "€",
        "urn€",
        "urn:€:x",
        "ü.ü",
        "aaaa€,userName",
        "名前.名",
    ];
    for (collection, id) in [("Users", &user), ("Groups", &group)] {
        for param in ["attributes", "excludedAttributes"] {
            for name in names {
                let list = app.get(&format!("/{collection}?{param}={}", q(name))).await;
                list.assert_ok(200);
                assert_eq!(list.body["Resources"][0]["id"], json!(id), "{}", list.body);

                let one = app
                    .get(&format!("/{collection}/{id}?{param}={}", q(name)))
                    .await;
                one.assert_ok(200);
                assert_eq!(one.body["id"], json!(id), "{}", one.body);

                let search = app
                    .post(
                        &format!("/{collection}/.search"),
                        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], param: [name]}),
                    )
                    .await;
                search.assert_ok(200);
                assert_eq!(
                    search.body["Resources"][0]["id"],
                    json!(id),
                    "{}",
                    search.body
                );
            }
        }
    }
    // Unknown names select nothing but the attributes always returned; excluding them
    // leaves the resource whole.
    let only = app
        .fetch(&format!("/Users/{user}?attributes={}", q("aaa€")))
        .await;
    assert!(only.get("userName").is_none(), "{only}");
    let whole = app
        .fetch(&format!("/Users/{user}?excludedAttributes={}", q("aaa€")))
        .await;
    assert_eq!(whole["userName"], "alice", "{whole}");
}

/// Loads `count` users with ids `{prefix}{n}` straight into the table, in one transaction,
/// so that a test can name tens of thousands of real members without creating each one.
async fn seed_users(app: &TestApp, prefix: &str, count: usize) -> Vec<String> {
    let truth = if app.db.get_database_backend() == DbBackend::Postgres {
        "true"
    } else {
        "1"
    };
    let tenant = &app.tenant_id;
    let ids: Vec<String> = (0..count).map(|n| format!("{prefix}{n}")).collect();
    let txn = app.db.begin().await.expect("begin");
    for chunk in ids.chunks(1000) {
        let rows: Vec<String> = chunk
            .iter()
            .map(|id| {
                format!(
                    r#"('{id}', '{tenant}', '{id}', '{id}', {truth}, 'idp', '{{"userName":"{id}","active":true}}', 1, 1, 1)"#
                )
            })
            .collect();
        txn.execute_unprepared(&format!(
            "INSERT INTO users (id, tenant_id, user_name, user_name_key, active, managed_by, data, version, created_us, modified_us) VALUES {}",
            rows.join(",")
        ))
        .await
        .expect("seed users");
    }
    txn.commit().await.expect("commit");
    ids
}

fn members(ids: &[String]) -> Value {
    Value::Array(ids.iter().map(|id| json!({"value": id})).collect())
}

/// The member ids a later GET lists, sorted.
async fn stored_members(app: &TestApp, group: &str) -> Vec<String> {
    let got = app
        .fetch(&format!("/Groups/{group}?attributes=members"))
        .await;
    let mut ids: Vec<String> = got["members"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| m["value"].as_str().expect("member value").to_string())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}
#[tokio::test]
async fn a_group_created_with_20000_members_keeps_them_all() {
    let app = TestApp::new().await;
    let ids = seed_users(&app, "u", 20_000).await;
    let r = app
        .post(
            "/Groups?attributes=displayName",
            json!({"schemas": [GROUP_SCHEMA], "displayName": "Everyone", "members": members(&ids)}),
        )
        .await;
    r.assert_ok(201);
    let group = r.body["id"].as_str().expect("id").to_string();
    assert_eq!(stored_members(&app, &group).await, sorted(ids.clone()));

    // Each user sees the group.
    let user = app.fetch(&format!("/Users/{}", ids[19_999])).await;
    assert_eq!(user["groups"][0]["value"], json!(group), "{user}");
}

#[tokio::test]
async fn a_group_replaced_with_20000_members_keeps_them_all() {
    let app = TestApp::new().await;
    let ids = seed_users(&app, "u", 20_000).await;
    let group = app.group("Everyone", &[&ids[0]]).await;
    let body =
        json!({"schemas": [GROUP_SCHEMA], "displayName": "Everyone", "members": members(&ids)});
    app.put(&format!("/Groups/{group}?attributes=displayName"), body)
        .await
        .assert_ok(200);
    assert_eq!(stored_members(&app, &group).await, sorted(ids.clone()));

    let few = json!({"schemas": [GROUP_SCHEMA], "displayName": "Everyone", "members": members(&ids[..3])});
    app.put(&format!("/Groups/{group}"), few)
        .await
        .assert_ok(200);
    assert_eq!(
        stored_members(&app, &group).await,
        sorted(ids[..3].to_vec())
    );
}

#[tokio::test]
async fn a_group_patched_with_20000_members_adds_and_removes_them_all() {
    let app = TestApp::new().await;
    let ids = seed_users(&app, "u", 20_000).await;
    let group = app.group("Everyone", &[]).await;
    let add = patch_op(json!([{"op": "add", "path": "members", "value": members(&ids)}]));
    app.patch(&format!("/Groups/{group}?attributes=displayName"), add)
        .await
        .assert_ok(200);
    assert_eq!(stored_members(&app, &group).await, sorted(ids.clone()));

    let keep = &ids[..2];
    let remove =
        patch_op(json!([{"op": "remove", "path": "members", "value": members(&ids[2..])}]));
    app.patch(&format!("/Groups/{group}"), remove)
        .await
        .assert_ok(200);
    assert_eq!(stored_members(&app, &group).await, sorted(keep.to_vec()));

    // A replace with all of them again, in one operation.
    let replace = patch_op(json!([{"op": "replace", "path": "members", "value": members(&ids)}]));
    let r = app
        .send(
            Method::PATCH,
            &format!("/Groups/{group}"),
            Some(replace),
            &[("prefer", "return=minimal")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(stored_members(&app, &group).await, sorted(ids));
}

#[tokio::test]
async fn a_patch_naming_tens_of_thousands_of_unknown_ids_changes_no_membership() {
    let app = TestApp::new().await;
    let a = app.user("alice").await;
    let b = app.user("bob").await;
    let group = app.group("Ops", &[&a, &b]).await;
    let expected = sorted(vec![a.clone(), b.clone()]);

    // 40,000 unknown ids as member objects (what identity providers send)…
    let unknown: Vec<String> = (0..40_000).map(|n| format!("x{n}")).collect();
    let add = patch_op(json!([{"op": "add", "path": "members", "value": members(&unknown)}]));
    let r = app.patch(&format!("/Groups/{group}"), add).await;
    r.assert_ok(200);
    assert_eq!(stored_members(&app, &group).await, expected);

    let remove = patch_op(json!([{"op": "remove", "path": "members", "value": members(&unknown)}]));
    app.patch(&format!("/Groups/{group}"), remove)
        .await
        .assert_ok(200);
    assert_eq!(stored_members(&app, &group).await, expected);

    // …and 70,000 as bare ids, more than any one statement could bind.
    let unknown: Vec<String> = (0..70_000).map(|n| format!("y{n}")).collect();
    for op in ["add", "remove"] {
        let body = patch_op(json!([{"op": op, "path": "members", "value": unknown}]));
        app.patch(&format!("/Groups/{group}"), body)
            .await
            .assert_ok(200);
        assert_eq!(stored_members(&app, &group).await, expected);
    }
}

/// `count` elements of a multi-valued core attribute, all distinct, tagged with `tag`.
fn values(attr: &str, count: usize, tag: &str) -> Value {
    let items = (0..count).map(|n| match attr {
        "emails" => json!({"value": format!("{tag}{n}@x.example"), "type": "work"}),
        "phoneNumbers" => json!({"value": format!("+44{n}"), "type": "work"}),
        "addresses" => json!({"formatted": format!("{n} {tag} Street"), "type": "work"}),
        "photos" => json!({"value": format!("https://x.example/{tag}{n}.png")}),
        _ => json!({"value": format!("{tag}{n}")}),
    });
    Value::Array(items.collect())
}

const MULTI_VALUED: [&str; 8] = [
    "emails",
    "phoneNumbers",
    "addresses",
    "ims",
    "photos",
    "entitlements",
    "roles",
    "x509Certificates",
];

fn full_user(user_name: &str, tag: &str) -> Value {
    let mut body = json!({"schemas": [USER_SCHEMA], "userName": user_name});
    for attr in MULTI_VALUED {
        body[attr] = values(attr, MAX_VALUES, tag);
    }
    body
}
#[tokio::test]
async fn a_user_with_1000_values_in_every_multi_valued_attribute_is_stored() {
    let app = TestApp::new().await;
    let r = app
        .post("/Users?attributes=userName", full_user("many", "a"))
        .await;
    r.assert_ok(201);
    let id = r.body["id"].as_str().expect("id").to_string();
    let got = app.fetch(&format!("/Users/{id}")).await;
    for attr in MULTI_VALUED {
        assert_eq!(got[attr], values(attr, MAX_VALUES, "a"), "{attr}");
    }
    // Every value is searchable.
    let found = app.find_users("emails.value eq \"a999@x.example\"").await;
    assert_eq!(found, vec![id.clone()]);

    app.put(
        &format!("/Users/{id}?attributes=userName"),
        full_user("many", "b"),
    )
    .await
    .assert_ok(200);
    let got = app.fetch(&format!("/Users/{id}")).await;
    for attr in MULTI_VALUED {
        assert_eq!(got[attr], values(attr, MAX_VALUES, "b"), "{attr}");
    }
    assert!(
        app.find_users("emails.value eq \"a999@x.example\"")
            .await
            .is_empty()
    );
    assert_eq!(
        app.find_users("emails.value eq \"b999@x.example\"").await,
        vec![id]
    );
}

#[tokio::test]
async fn more_than_1000_values_are_refused_and_nothing_changes() {
    let app = TestApp::new().await;
    for attr in MULTI_VALUED {
        let mut body = json!({"schemas": [USER_SCHEMA], "userName": format!("too-many-{attr}")});
        body[attr] = values(attr, MAX_VALUES + 1, "a");
        let r = app.post("/Users", body).await;
        r.assert_error(400, Some("invalidValue"));
        let detail = r.body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(attr) && detail.contains("1000"), "{detail}");
    }
    let all = app.get("/Users").await;
    assert_eq!(all.body["totalResults"], json!(0), "{}", all.body);

    // An existing user: PUT and PATCH beyond the bound leave it as it was.
    let created = app
        .create_user(json!({"schemas": [USER_SCHEMA], "userName": "bounded", "emails": values("emails", MAX_VALUES, "a")}))
        .await;
    let id = created["id"].as_str().expect("id");
    let mut put = json!({"schemas": [USER_SCHEMA], "userName": "bounded"});
    put["emails"] = values("emails", MAX_VALUES + 1, "b");
    app.put(&format!("/Users/{id}"), put)
        .await
        .assert_error(400, Some("invalidValue"));
    let one_more =
        patch_op(json!([{"op": "add", "path": "emails", "value": [{"value": "extra@x.example"}]}]));
    let r = app.patch(&format!("/Users/{id}"), one_more).await;
    r.assert_error(400, Some("invalidValue"));
    assert!(
        r.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("emails") && d.contains("1000")),
        "{}",
        r.body
    );
    let many_more = patch_op(
        json!([{"op": "add", "path": "phoneNumbers", "value": values("phoneNumbers", 5000, "c")}]),
    );
    app.patch(&format!("/Users/{id}"), many_more)
        .await
        .assert_error(400, Some("invalidValue"));
    let after = app.fetch(&format!("/Users/{id}")).await;
    assert_eq!(after["emails"], values("emails", MAX_VALUES, "a"));
    assert!(after.get("phoneNumbers").is_none(), "{after}");
    assert_eq!(after["meta"]["version"], created["meta"]["version"]);

    // The contact-centre extension's lists have the same bound.
    let profiles = vec![json!("Agent"); MAX_VALUES + 1];
    let r = app
        .post(
            "/Users",
            json!({"schemas": [USER_SCHEMA, CONTACT_CENTRE], "userName": "profiles", CONTACT_CENTRE: {"securityProfiles": profiles}}),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));
    let detail = r.body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("securityProfiles") && detail.contains("1000"),
        "{detail}"
    );
}

#[tokio::test]
async fn the_nul_character_is_refused_everywhere_and_changes_nothing() {
    let app = TestApp::new().await;
    let user = app.user("alice").await;
    // In a body: 400 invalidValue, nothing created or changed (PostgreSQL cannot store it,
    // and SQLite refuses it alike).
    app.post(
        "/Users",
        json!({"schemas": [USER_SCHEMA], "userName": "nul\u{0}name"}),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    assert!(app.find_users("userName sw \"nul\"").await.is_empty());
    app.patch(
        &format!("/Users/{user}"),
        patch_op(json!([{"op": "replace", "path": "title", "value": "a\u{0}b"}])),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    assert!(
        app.fetch(&format!("/Users/{user}"))
            .await
            .get("title")
            .is_none()
    );
    // In a path or a query: 400, on SCIM and the admin API alike.
    app.get("/Users/a%00b")
        .await
        .assert_error(400, Some("invalidValue"));
    app.get("/Users?filter=userName%20eq%20%22a%00%22")
        .await
        .assert_error(400, Some("invalidValue"));
    let token = crate::harness::boss(&app).await;
    let r = app
        .admin(&token, Method::DELETE, "/skills/a%00b", None)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let r = app
        .admin(
            &token,
            Method::POST,
            "/skills",
            Some(json!({"name": "x\u{0}"})),
        )
        .await;
    r.assert_admin_error(400, "invalid_value");
    let skills = app.admin(&token, Method::GET, "/skills", None).await;
    assert_eq!(skills.assert_admin_ok(200)["items"], json!([]));
}
