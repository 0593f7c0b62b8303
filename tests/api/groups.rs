//! `/Groups`: membership through create, PATCH and PUT, the users' `groups` view, filters,
//! projection, ETags and deletion.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::harness::{GROUP_SCHEMA, TestApp, member_ids, patch_op, q, sorted};

#[tokio::test]
async fn create_with_members_and_read_them_back() {
    let app = TestApp::new().await;
    let a = app.user("alice").await;
    let b = app.user("bob").await;
    let r = app
        .post(
            "/Groups",
            json!({"schemas": [GROUP_SCHEMA], "displayName": "Ops", "members": [{"value": a}, {"value": b}]}),
        )
        .await;
    let body = r.assert_ok(201).clone();
    let id = body["id"].as_str().unwrap().to_string();
    assert_eq!(body["displayName"], "Ops");
    assert_eq!(member_ids(&body), sorted(&[&a, &b]));
    let location = body["meta"]["location"].as_str().unwrap();
    assert!(
        location.ends_with(&format!("/scim/v2/Groups/{id}")),
        "{location}"
    );
    assert_eq!(r.header("location"), Some(location));
    assert_eq!(r.header("etag"), body["meta"]["version"].as_str());
    assert_eq!(body["meta"]["resourceType"], "Group");

    let got = app.fetch(&format!("/Groups/{id}")).await;
    assert_eq!(member_ids(&got), sorted(&[&a, &b]));
    for m in got["members"].as_array().unwrap() {
        let value = m["value"].as_str().unwrap();
        assert_eq!(m["type"], "User", "{m}");
        assert!(
            m["$ref"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/scim/v2/Users/{value}")),
            "{m}"
        );
    }

    let user = app.fetch(&format!("/Users/{a}")).await;
    let groups = user["groups"].as_array().expect("groups on the user");
    assert_eq!(groups.len(), 1, "{user}");
    assert_eq!(groups[0]["value"], json!(id));
    assert_eq!(groups[0]["display"], "Ops");
}

#[tokio::test]
async fn excluded_members_and_filters() {
    let app = TestApp::new().await;
    let a = app.user("alice").await;
    let b = app.user("bob").await;
    let ops = app.group("Ops", &[&a]).await;
    let dev = app.group("Dev", &[&b]).await;

    let one = app
        .fetch(&format!("/Groups/{ops}?excludedAttributes=members"))
        .await;
    assert!(one.get("members").is_none(), "{one}");
    assert_eq!(one["displayName"], "Ops");

    let r = app
        .get(&format!(
            "/Groups?excludedAttributes=members&filter={}",
            q("displayName eq \"OPS\"")
        ))
        .await;
    assert_eq!(r.ids(), vec![ops.clone()]);
    assert!(
        r.body["Resources"][0].get("members").is_none(),
        "{}",
        r.body
    );
    assert_eq!(r.body["totalResults"], json!(1));

    let r = app
        .get(&format!(
            "/Groups?filter={}",
            q(&format!("members.value eq \"{b}\""))
        ))
        .await;
    assert_eq!(r.ids(), vec![dev.clone()]);
    let r = app
        .get(&format!(
            "/Groups?filter={}",
            q("displayName eq \"nobody\"")
        ))
        .await;
    assert!(r.ids().is_empty());
    assert_eq!(r.body["totalResults"], json!(0));
}

#[tokio::test]
async fn patch_add_and_remove_one_member() {
    let app = TestApp::new().await;
    let a = app.user("alice").await;
    let b = app.user("bob").await;
    let c = app.user("carol").await;
    let g = app.group("Ops", &[&a, &b]).await;
    let r = app
        .patch(
            &format!("/Groups/{g}"),
            patch_op(json!([{"op": "add", "path": "members", "value": [{"value": c}]}])),
        )
        .await;
    r.assert_ok(200);
    assert_eq!(member_ids(&r.body), sorted(&[&a, &b, &c]));
    assert_eq!(
        member_ids(&app.fetch(&format!("/Groups/{g}")).await),
        sorted(&[&a, &b, &c])
    );

    let r = app
        .patch(
            &format!("/Groups/{g}"),
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
        sorted(&[&b, &c])
    );
    let alice = app.fetch(&format!("/Users/{a}")).await;
    assert!(
        alice["groups"].as_array().is_none_or(|g| g.is_empty()),
        "{alice}"
    );
}

#[tokio::test]
async fn patch_replace_members_and_empty_them() {
    let app = TestApp::new().await;
    let a = app.user("alice").await;
    let b = app.user("bob").await;
    let c = app.user("carol").await;
    let g = app.group("Ops", &[&a, &b]).await;
    app.patch(
        &format!("/Groups/{g}"),
        patch_op(json!([{"op": "replace", "path": "members", "value": [{"value": c}]}])),
    )
    .await
    .assert_ok(200);
    assert_eq!(
        member_ids(&app.fetch(&format!("/Groups/{g}")).await),
        sorted(&[&c])
    );
    app.patch(
        &format!("/Groups/{g}"),
        patch_op(json!([{"op": "replace", "path": "members", "value": []}])),
    )
    .await
    .assert_ok(200);
    let got = app.fetch(&format!("/Groups/{g}")).await;
    assert!(member_ids(&got).is_empty(), "{got}");
    assert_eq!(got["displayName"], "Ops");
    app.patch(
        &format!("/Groups/{g}"),
        patch_op(json!([{"op": "replace", "value": {"members": [{"value": a}]}}])),
    )
    .await
    .assert_ok(200);
    assert_eq!(
        member_ids(&app.fetch(&format!("/Groups/{g}")).await),
        sorted(&[&a])
    );
}

/// Ids that name no user or group of the tenant (including another tenant's users) are
/// skipped: the known members land, the unknown ones never appear (README, behaviour decisions).
#[tokio::test]
async fn unknown_member_ids_are_skipped_and_known_ones_added() {
    let app = TestApp::new().await;
    let a = app.user("alice").await;
    let b = app.user("bob").await;
    let g = app.group("Ops", &[&a]).await;
    let r = app
        .patch(
            &format!("/Groups/{g}"),
            patch_op(json!([
                {"op": "add", "path": "members", "value": [{"value": b}]},
                {"op": "add", "path": "members", "value": [{"value": "00000000-0000-0000-0000-00000000dead"}]}
            ])),
        )
        .await;
    assert_eq!(member_ids(r.assert_ok(200)), sorted(&[&a, &b]));
    assert_eq!(
        member_ids(&app.fetch(&format!("/Groups/{g}")).await),
        sorted(&[&a, &b])
    );
    let other = app.other_tenant("globex").await;
    let foreign = app
        .send_as(
            &other,
            Method::POST,
            "/Users",
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "eve"})),
            &[],
        )
        .await;
    let foreign_id = foreign.assert_ok(201)["id"].as_str().unwrap().to_string();
    app.patch(
        &format!("/Groups/{g}"),
        patch_op(json!([{"op": "add", "path": "members", "value": [{"value": foreign_id}]}])),
    )
    .await
    .assert_ok(200);
    assert_eq!(
        member_ids(&app.fetch(&format!("/Groups/{g}")).await),
        sorted(&[&a, &b])
    );
}

#[tokio::test]
async fn put_replaces_members() {
    let app = TestApp::new().await;
    let a = app.user("alice").await;
    let b = app.user("bob").await;
    let c = app.user("carol").await;
    let g = app.group("Ops", &[&a, &b]).await;
    let r = app
        .put(
            &format!("/Groups/{g}"),
            json!({"schemas": [GROUP_SCHEMA], "displayName": "Operations", "members": [{"value": b}, {"value": c}]}),
        )
        .await;
    r.assert_ok(200);
    assert_eq!(r.body["id"], json!(g));
    let got = app.fetch(&format!("/Groups/{g}")).await;
    assert_eq!(got["displayName"], "Operations");
    assert_eq!(member_ids(&got), sorted(&[&b, &c]));
    let alice = app.fetch(&format!("/Users/{a}")).await;
    assert!(
        alice["groups"].as_array().is_none_or(|g| g.is_empty()),
        "{alice}"
    );
    let carol = app.fetch(&format!("/Users/{c}")).await;
    assert_eq!(carol["groups"][0]["display"], "Operations", "{carol}");
}

#[tokio::test]
async fn delete_group_then_404() {
    let app = TestApp::new().await;
    let a = app.user("alice").await;
    let g = app.group("Ops", &[&a]).await;
    let r = app.delete(&format!("/Groups/{g}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    app.get(&format!("/Groups/{g}"))
        .await
        .assert_error(404, None);
    app.delete(&format!("/Groups/{g}"))
        .await
        .assert_error(404, None);
    assert!(app.get("/Groups").await.ids().is_empty());
    let alice = app.fetch(&format!("/Users/{a}")).await;
    assert!(
        alice["groups"].as_array().is_none_or(|g| g.is_empty()),
        "{alice}"
    );
    // The name is free again.
    app.group("Ops", &[]).await;
}

#[tokio::test]
async fn deleting_a_user_removes_it_from_groups() {
    let app = TestApp::new().await;
    let a = app.user("alice").await;
    let b = app.user("bob").await;
    let g = app.group("Ops", &[&a, &b]).await;
    assert_eq!(
        app.delete(&format!("/Users/{a}")).await.status,
        StatusCode::NO_CONTENT
    );
    let got = app.fetch(&format!("/Groups/{g}")).await;
    assert_eq!(member_ids(&got), sorted(&[&b]));
    let r = app
        .get(&format!(
            "/Groups?filter={}",
            q(&format!("members.value eq \"{a}\""))
        ))
        .await;
    assert!(r.ids().is_empty());
}

#[tokio::test]
async fn group_etag_changes_with_membership() {
    let app = TestApp::new().await;
    let a = app.user("alice").await;
    let g = app.group("Ops", &[]).await;
    let first = app.get(&format!("/Groups/{g}")).await;
    let before = first.header("etag").expect("etag").to_string();
    assert_eq!(first.body["meta"]["version"], json!(before));
    app.patch(
        &format!("/Groups/{g}"),
        patch_op(json!([{"op": "add", "path": "members", "value": [{"value": a}]}])),
    )
    .await
    .assert_ok(200);
    let second = app.get(&format!("/Groups/{g}")).await;
    let after = second.header("etag").expect("etag").to_string();
    assert_ne!(after, before);
    assert_eq!(second.body["meta"]["version"], json!(after));
    let r = app
        .send(
            Method::PATCH,
            &format!("/Groups/{g}"),
            Some(patch_op(
                json!([{"op": "replace", "path": "members", "value": []}]),
            )),
            &[("if-match", &before)],
        )
        .await;
    r.assert_error(412, None);
    assert_eq!(
        member_ids(&app.fetch(&format!("/Groups/{g}")).await),
        sorted(&[&a])
    );
    let r = app
        .send(
            Method::GET,
            &format!("/Groups/{g}"),
            None,
            &[("if-none-match", &after)],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn missing_display_name_unknown_id_and_other_tenants() {
    let app = TestApp::new().await;
    app.post("/Groups", json!({"schemas": [GROUP_SCHEMA]}))
        .await
        .assert_error(400, Some("invalidValue"));
    app.get("/Groups/00000000-0000-0000-0000-000000000000")
        .await
        .assert_error(404, None);
    let other = app.other_tenant("globex").await;
    let g = app.group("Ops", &[]).await;
    app.send_as(&other, Method::GET, &format!("/Groups/{g}"), None, &[])
        .await
        .assert_error(404, None);
    let list = app.send_as(&other, Method::GET, "/Groups", None, &[]).await;
    assert!(list.ids().is_empty());
}

#[tokio::test]
async fn unknown_member_in_create_or_put_is_skipped() {
    let app = TestApp::new().await;
    let a = app.user("alice").await;
    let ghost = "00000000-0000-0000-0000-00000000dead";
    let created = app
        .post(
            "/Groups",
            json!({"schemas": [GROUP_SCHEMA], "displayName": "Ghosts", "members": [{"value": a}, {"value": ghost}]}),
        )
        .await;
    let id = created.assert_ok(201)["id"].as_str().unwrap().to_string();
    assert_eq!(
        member_ids(&app.fetch(&format!("/Groups/{id}")).await),
        sorted(&[&a])
    );
    app.put(
        &format!("/Groups/{id}"),
        json!({"schemas": [GROUP_SCHEMA], "displayName": "Renamed", "members": [{"value": ghost}]}),
    )
    .await
    .assert_ok(200);
    let after = app.fetch(&format!("/Groups/{id}")).await;
    assert_eq!(after["displayName"], "Renamed");
    assert!(member_ids(&after).is_empty());
}

#[tokio::test]
async fn remove_with_a_filter_other_than_value_selects_among_current_members() {
    let app = TestApp::new().await;
    let a = app.user("alice").await;
    let inner = app.group("Inner", &[]).await;
    let g = app.group("Outer", &[&a, &inner]).await;
    assert_eq!(
        member_ids(&app.fetch(&format!("/Groups/{g}")).await),
        sorted(&[&a, &inner])
    );
    app.patch(
        &format!("/Groups/{g}"),
        patch_op(json!([{"op": "remove", "path": "members[type eq \"Group\"]"}])),
    )
    .await
    .assert_ok(200);
    assert_eq!(
        member_ids(&app.fetch(&format!("/Groups/{g}")).await),
        sorted(&[&a])
    );
    app.patch(
        &format!("/Groups/{g}"),
        patch_op(json!([{"op": "remove", "path": "members[display eq \"alice\"]"}])),
    )
    .await
    .assert_error(400, Some("invalidPath"));
    assert_eq!(
        member_ids(&app.fetch(&format!("/Groups/{g}")).await),
        sorted(&[&a])
    );
}

#[tokio::test]
async fn a_put_that_changes_nothing_keeps_the_version_and_writes_no_audit() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let id = app.group("Ops", &[&alice, &bob]).await;
    let body = |members: &[&str]| {
        json!({
            "schemas": [GROUP_SCHEMA],
            "displayName": "Ops",
            "members": members.iter().map(|m| json!({"value": m})).collect::<Vec<_>>()
        })
    };
    let first = app
        .put(&format!("/Groups/{id}"), body(&[&bob, &alice]))
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let version = first.body["meta"]["version"].clone();
    let again = app
        .put(&format!("/Groups/{id}"), body(&[&alice, &bob]))
        .await;
    assert_eq!(again.body["meta"]["version"], version, "{}", again.body);
    // A real change lands as the difference: carol in, bob out.
    let changed = app
        .put(&format!("/Groups/{id}"), body(&[&alice, &carol]))
        .await;
    assert_ne!(changed.body["meta"]["version"], version);
    assert_eq!(
        sorted(
            &member_ids(&app.fetch(&format!("/Groups/{id}")).await)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
        ),
        sorted(&[&alice, &carol])
    );
    let (_, boss) = app.admin_token("boss", &["Administrator"]).await;
    let audit = app
        .admin(&boss, Method::GET, &format!("/audit?target={id}"), None)
        .await;
    let rows = audit.assert_admin_ok(200)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let actions: Vec<&str> = rows.iter().filter_map(|r| r["action"].as_str()).collect();
    // create, then the one real change (the first PUT only reordered the members).
    assert_eq!(actions, vec!["group.update", "group.create"], "{rows:?}");
    let change = &rows[0]["changes"];
    assert_eq!(change["members.added"], json!([carol]));
    assert_eq!(change["members.removed"], json!([bob]));
}
