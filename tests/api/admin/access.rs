//! Authentication and permissions on the admin API.

use super::*;

// ---- authentication and permissions ---------------------------------------------------------

#[tokio::test]
async fn missing_or_invalid_token_is_401() {
    let app = TestApp::new().await;
    boss(&app).await;
    for token in ["", "rc_not-a-real-token"] {
        let r = app.admin(token, Method::GET, "/users", None).await;
        r.assert_admin_error(401, "unauthorized");
    }
    let r = app
        .admin_with(
            "",
            Method::GET,
            "/users",
            None,
            &[("authorization", "Basic bm9ib2R5Om5vdGhpbmc=")],
        )
        .await;
    r.assert_admin_error(401, "unauthorized");
}

#[tokio::test]
async fn scim_token_is_403_on_the_admin_api() {
    let app = TestApp::new().await;
    let r = app.admin(&app.token, Method::GET, "/users", None).await;
    r.assert_admin_error(403, "forbidden");
    let r = app
        .admin(
            &app.token,
            Method::POST,
            "/users",
            Some(json!({"userName": "sneaky"})),
        )
        .await;
    r.assert_admin_error(403, "forbidden");
    assert!(app.find_users("userName eq \"sneaky\"").await.is_empty());
}

#[tokio::test]
async fn user_level_token_is_401_on_scim() {
    let app = TestApp::new().await;
    let token = boss(&app).await;
    let r = app.send_as(&token, Method::GET, "/Users", None, &[]).await;
    assert!(
        r.status == StatusCode::UNAUTHORIZED || r.status == StatusCode::FORBIDDEN,
        "a user-level credential must not provision over SCIM: {} {}",
        r.status,
        r.body
    );
}

#[tokio::test]
async fn archived_users_token_stops_working_at_once() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let (sup_id, sup) = app.admin_token("sup", &["Supervisor"]).await;
    app.admin(&sup, Method::GET, "/users", None)
        .await
        .assert_admin_ok(200);
    app.admin(
        &boss,
        Method::POST,
        &format!("/users/{sup_id}/archive"),
        None,
    )
    .await
    .assert_admin_ok(200);
    let r = app.admin(&sup, Method::GET, "/users", None).await;
    r.assert_admin_error(401, "unauthorized");
    let r = app
        .admin(&sup, Method::GET, &format!("/users/{sup_id}"), None)
        .await;
    r.assert_admin_error(401, "unauthorized");
    assert_eq!(view(&app, &boss, &sup_id).await["active"], false);
}

#[tokio::test]
async fn missing_permission_is_403_naming_it() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let target = local_user(&app, &boss, "target").await;
    let (_, agent) = app.admin_token("agent", &["Agent"]).await;
    let (_, sup) = app.admin_token("sup", &["Supervisor"]).await;

    let cases: Vec<(&str, Method, String, Option<Value>, &str)> = vec![
        (&agent, Method::GET, "/users".into(), None, "ViewUsers"),
        (
            &agent,
            Method::GET,
            format!("/users/{target}"),
            None,
            "ViewUsers",
        ),
        (&agent, Method::GET, "/audit".into(), None, "ViewUsers"),
        (
            &sup,
            Method::POST,
            "/users".into(),
            Some(json!({"userName": "new"})),
            "CreateUser",
        ),
        (
            &sup,
            Method::DELETE,
            format!("/users/{target}"),
            None,
            "DeleteUser",
        ),
        (
            &sup,
            Method::PATCH,
            "/settings".into(),
            Some(json!({"agentIdStart": 5})),
            "ManageSettings",
        ),
        (
            &sup,
            Method::GET,
            "/credentials".into(),
            None,
            "ManageCredentials",
        ),
        (
            &sup,
            Method::POST,
            "/security-profiles".into(),
            Some(json!({"name": "X", "permissions": []})),
            "ManageSecurityProfiles",
        ),
        (
            &agent,
            Method::POST,
            format!("/users/{target}/archive"),
            None,
            "ArchiveUser",
        ),
    ];
    for (token, method, path, body, permission) in cases {
        let r = app.admin(token, method.clone(), &path, body).await;
        r.assert_admin_error(403, "forbidden");
        assert!(
            detail(&r).contains(permission),
            "{method} {path}: detail should name {permission}: {}",
            r.body
        );
    }
    // Nothing happened.
    let v = view(&app, &boss, &target).await;
    assert_eq!(v["active"], true);
    let r = app
        .admin(
            &boss,
            Method::GET,
            &format!("/users?filter={}", q("userName eq \"new\"")),
            None,
        )
        .await;
    assert_eq!(r.assert_admin_ok(200)["totalResults"], 0);
    let s = app.admin(&boss, Method::GET, "/settings", None).await;
    assert_eq!(s.assert_admin_ok(200)["agentIdStart"], 1000);
}
