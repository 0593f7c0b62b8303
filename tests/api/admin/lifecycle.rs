//! Archive, reactivate and delete.

use super::*;

// ---- archive, reactivate, delete ------------------------------------------------------------

#[tokio::test]
async fn archive_and_reactivate_a_local_user() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let (sup_id, sup) = app.admin_token("sup", &["Supervisor"]).await;
    let id = local_user(&app, &boss, "arch").await;

    let r = app
        .admin(&sup, Method::POST, &format!("/users/{id}/archive"), None)
        .await;
    assert_eq!(r.assert_admin_ok(200)["active"], false);
    let v = view(&app, &boss, &id).await;
    assert_eq!(v["active"], false);
    // Archived users keep their data; a local user stays outside the IdP's view.
    assert_eq!(v["userName"], "arch");
    app.get(&format!("/Users/{id}"))
        .await
        .assert_error(404, None);

    let r = app
        .admin(&sup, Method::POST, &format!("/users/{id}/reactivate"), None)
        .await;
    assert_eq!(r.assert_admin_ok(200)["active"], true);
    assert_eq!(view(&app, &boss, &id).await["active"], true);

    // PATCH of active works on local users too (ArchiveUser).
    patch_user(&app, &sup, &id, json!({"active": false}))
        .await
        .assert_admin_ok(200);
    assert_eq!(view(&app, &boss, &id).await["active"], false);

    let r = app
        .admin(&boss, Method::GET, &format!("/audit?target={id}"), None)
        .await;
    let actions: Vec<&str> = r.assert_admin_ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions.len(), 4, "{actions:?}");
    assert_eq!(
        &actions[1..],
        &["user.reactivate", "user.archive", "user.create"]
    );
    assert_eq!(r.body["items"][1]["actor"]["userId"], sup_id.as_str());
}

#[tokio::test]
async fn archive_of_an_idp_user_is_409_sso_owned() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let id = app.user("idp@acme.example").await;
    for action in ["archive", "reactivate"] {
        let r = app
            .admin(&boss, Method::POST, &format!("/users/{id}/{action}"), None)
            .await;
        r.assert_admin_error(409, "sso_owned_fields");
        assert_eq!(r.body["fields"], json!(["active"]));
    }
    assert_eq!(view(&app, &boss, &id).await["active"], true);
    let r = app
        .admin(&boss, Method::POST, "/users/no-such/archive", None)
        .await;
    r.assert_admin_error(404, "not_found");
}

#[tokio::test]
async fn delete_follows_the_archive_rules() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let (_, sup) = app.admin_token("sup", &["Supervisor"]).await;
    let (target, cred_id, target_token) = app.admin_credential("leaver", &["Agent"]).await;

    // Only DeleteUser may delete.
    let r = app
        .admin(&sup, Method::DELETE, &format!("/users/{target}"), None)
        .await;
    r.assert_admin_error(403, "forbidden");

    // Active users are not deleted.
    let r = app
        .admin(&boss, Method::DELETE, &format!("/users/{target}"), None)
        .await;
    r.assert_admin_error(409, "not_archived");

    // IdP users are not deleted here, even archived.
    let idp = app.user("idp@acme.example").await;
    app.patch(
        &format!("/Users/{idp}"),
        crate::harness::patch_op(json!([{"op": "replace", "path": "active", "value": false}])),
    )
    .await
    .assert_ok(200);
    let r = app
        .admin(&boss, Method::DELETE, &format!("/users/{idp}"), None)
        .await;
    r.assert_admin_error(409, "idp_managed");
    assert_eq!(view(&app, &boss, &idp).await["active"], false);

    // Holding credentials blocks deletion.
    app.admin(
        &boss,
        Method::POST,
        &format!("/users/{target}/archive"),
        None,
    )
    .await
    .assert_admin_ok(200);
    let r = app
        .admin(&boss, Method::DELETE, &format!("/users/{target}"), None)
        .await;
    r.assert_admin_error(409, "holds_credentials");
    view(&app, &boss, &target).await;

    let r = app
        .admin(
            &boss,
            Method::DELETE,
            &format!("/credentials/{cred_id}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = app
        .admin(&boss, Method::DELETE, &format!("/users/{target}"), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = app
        .admin(&boss, Method::GET, &format!("/users/{target}"), None)
        .await;
    r.assert_admin_error(404, "not_found");
    app.get(&format!("/Users/{target}"))
        .await
        .assert_error(404, None);
    let r = app.admin(&target_token, Method::GET, "/users", None).await;
    r.assert_admin_error(401, "unauthorized");
    // The userName is free again.
    local_user(&app, &boss, "leaver").await;
}
