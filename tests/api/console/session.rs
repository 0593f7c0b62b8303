//! Signing in and out, the session cookie, CSRF, timeouts, and who is refused.

use axum::http::Method;
use sea_orm::ConnectionTrait;

use super::{Client, html, link, post_form_anonymous, sign_in};
use crate::harness::{TestApp, boss, local_user, view};

/// Moves a session's clock back, as if time had passed.
async fn age_session(app: &TestApp, column: &str, minutes: i64) {
    let sql = format!(
        "UPDATE console_sessions SET {column} = {column} - {}",
        minutes * 60 * 1_000_000
    );
    app.db.execute_unprepared(&sql).await.expect("age session");
}

#[tokio::test]
async fn a_link_signs_in_once_with_a_safe_cookie() {
    let app = TestApp::new().await;
    let (admin_id, _) = app.admin_token("boss", &["Administrator"]).await;
    let token = link(&app, &admin_id).await;

    // Opening the link spends nothing: it shows a button.
    let page = app
        .dispatch(
            "",
            Method::GET,
            &format!("/console/sign-in/link?token={token}"),
            None,
            &[],
        )
        .await;
    assert_eq!(page.status.as_u16(), 200);
    assert!(html(&page).contains("<button class=\"primary\" type=\"submit\">Sign in</button>"));

    let first = post_form_anonymous(&app, "/console/sign-in/link", &[("token", &token)]).await;
    assert_eq!(first.status.as_u16(), 303);
    assert_eq!(first.header("location"), Some("/console/users"));
    let cookie = first.header("set-cookie").expect("cookie");
    assert!(cookie.starts_with("rollcall_console="), "{cookie}");
    for part in ["HttpOnly", "SameSite=Lax", "Path=/console"] {
        assert!(cookie.contains(part), "{cookie} lacks {part}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain http: no Secure flag: {cookie}"
    );

    // The same link again: refused, and no cookie.
    let again = post_form_anonymous(&app, "/console/sign-in/link", &[("token", &token)]).await;
    assert_eq!(again.status.as_u16(), 400);
    assert!(html(&again).contains("already used or expired"));
    assert!(again.header("set-cookie").is_none());

    // A made-up token is refused the same way.
    let bogus = post_form_anonymous(&app, "/console/sign-in/link", &[("token", "nope")]).await;
    assert_eq!(bogus.status.as_u16(), 400);
}

#[tokio::test]
async fn the_cookie_is_secure_behind_an_https_public_url() {
    let app = TestApp::with_edge(rollcall::http::edge::EdgeConfig {
        public_url: Some("https://rollcall.example".into()),
        ..crate::harness::test_edge()
    })
    .await;
    let (admin_id, _) = app.admin_token("boss", &["Administrator"]).await;
    let token = link(&app, &admin_id).await;
    let r = post_form_anonymous(&app, "/console/sign-in/link", &[("token", &token)]).await;
    assert!(r.header("set-cookie").expect("cookie").contains("; Secure"));
}

#[tokio::test]
async fn an_expired_link_is_refused() {
    let app = TestApp::new().await;
    let (admin_id, _) = app.admin_token("boss", &["Administrator"]).await;
    let token = link(&app, &admin_id).await;
    app.db
        .execute_unprepared("UPDATE console_links SET expires_us = expires_us - 16 * 60 * 1000000")
        .await
        .expect("expire");
    let r = post_form_anonymous(&app, "/console/sign-in/link", &[("token", &token)]).await;
    assert_eq!(r.status.as_u16(), 400);
    assert!(r.header("set-cookie").is_none());
}

#[tokio::test]
async fn archived_users_and_users_without_permissions_cannot_sign_in() {
    let app = TestApp::new().await;
    let token = boss(&app).await;
    let agent = local_user(&app, &token, "agent1").await;
    let r = post_form_anonymous(
        &app,
        "/console/sign-in/link",
        &[("token", &link(&app, &agent).await)],
    )
    .await;
    assert_eq!(r.status.as_u16(), 403);
    assert!(
        html(&r).contains("no security profile that gives access"),
        "{}",
        html(&r)
    );
    assert!(r.header("set-cookie").is_none());

    let (sup, _) = app.admin_token("sup", &["Supervisor"]).await;
    app.admin(&token, Method::POST, &format!("/users/{sup}/archive"), None)
        .await
        .assert_admin_ok(200);
    let r = post_form_anonymous(
        &app,
        "/console/sign-in/link",
        &[("token", &link(&app, &sup).await)],
    )
    .await;
    assert_eq!(r.status.as_u16(), 403);
    assert!(html(&r).contains("archived"));
}

#[tokio::test]
async fn signed_out_browsers_go_to_the_sign_in_page() {
    let app = TestApp::new().await;
    let r = app
        .dispatch("", Method::GET, "/console/users", None, &[])
        .await;
    assert_eq!(r.status.as_u16(), 303);
    assert_eq!(
        r.header("location"),
        Some("/console/sign-in?reason=signed-out")
    );
    let forged = app
        .dispatch(
            "",
            Method::GET,
            "/console/users",
            None,
            &[("cookie", "rollcall_console=forged")],
        )
        .await;
    assert_eq!(forged.status.as_u16(), 303);
}

#[tokio::test]
async fn every_page_has_a_strict_content_security_policy() {
    let app = TestApp::new().await;
    let (admin_id, _) = app.admin_token("boss", &["Administrator"]).await;
    let client = sign_in(&app, &admin_id).await;
    for path in [
        "/console/users",
        &format!("/console/users/{admin_id}"),
        "/console/sign-in",
    ] {
        let r = client.get(path).await;
        assert_eq!(r.status.as_u16(), 200, "{path}");
        let csp = r.header("content-security-policy").expect("csp");
        assert!(
            csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert!(!html(&r).contains("<script>"), "no inline script on {path}");
        assert!(!html(&r).contains(" style="), "no inline style on {path}");
    }
}

#[tokio::test]
async fn a_write_without_the_csrf_token_is_refused_and_changes_nothing() {
    let app = TestApp::new().await;
    let (admin_id, token) = app.admin_token("boss", &["Administrator"]).await;
    let agent = local_user(&app, &token, "agent1").await;
    let client = sign_in(&app, &admin_id).await;
    let before = view(&app, &token, &agent).await;

    let version = before["version"].as_str().unwrap().to_string();
    let form = [
        ("_version", version.as_str()),
        ("userName", "agent1"),
        ("displayName", "Hijacked"),
        ("capacity.mode", "default"),
    ];
    let r = client
        .post_raw(&format!("/console/users/{agent}"), &form)
        .await;
    assert_eq!(r.status.as_u16(), 403);
    assert!(html(&r).contains("security token"));
    let mut wrong = form.to_vec();
    wrong.push(("_csrf", "not-the-token"));
    assert_eq!(
        client
            .post_raw(&format!("/console/users/{agent}"), &wrong)
            .await
            .status
            .as_u16(),
        403
    );
    let archive = client
        .post_raw(&format!("/console/users/{agent}/archive"), &[])
        .await;
    assert_eq!(archive.status.as_u16(), 403);
    // Cross-site requests are refused even with the token.
    let body = serde_urlencoded::to_string([("_csrf", client.csrf.as_str())]).unwrap();
    let cross = app
        .dispatch(
            "",
            Method::POST,
            &format!("/console/users/{agent}/archive"),
            Some(("application/x-www-form-urlencoded", body)),
            &[("cookie", &client.cookie), ("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(cross.status.as_u16(), 403);
    assert_eq!(view(&app, &token, &agent).await, before, "nothing changed");

    // With the token the same archive goes through.
    let ok = client
        .post(&format!("/console/users/{agent}/archive"), &[])
        .await;
    assert_eq!(ok.status.as_u16(), 303, "{}", html(&ok));
    assert_eq!(view(&app, &token, &agent).await["active"], false);
}

#[tokio::test]
async fn sessions_end_after_the_idle_and_the_absolute_timeouts() {
    let app = TestApp::new().await;
    let (admin_id, _) = app.admin_token("boss", &["Administrator"]).await;
    let client = sign_in(&app, &admin_id).await;
    age_session(&app, "seen_us", 29).await;
    assert_eq!(
        client.get("/console/users").await.status.as_u16(),
        200,
        "29 idle minutes: still in"
    );
    age_session(&app, "seen_us", 31).await;
    let r = client.get("/console/users").await;
    assert_eq!(r.status.as_u16(), 303);
    assert_eq!(
        r.header("location"),
        Some("/console/sign-in?reason=expired")
    );
    assert!(
        r.header("set-cookie")
            .expect("cleared")
            .contains("Max-Age=0")
    );
    assert_eq!(
        client.get("/console/users").await.header("location"),
        Some("/console/sign-in?reason=signed-out"),
        "the row is gone"
    );

    let busy = sign_in(&app, &admin_id).await;
    age_session(&app, "created_us", 12 * 60 + 1).await;
    let r = busy.get("/console/users").await;
    assert_eq!(
        r.header("location"),
        Some("/console/sign-in?reason=expired"),
        "absolute timeout, however busy"
    );
}

#[tokio::test]
async fn archiving_a_signed_in_user_or_taking_its_profiles_ends_its_session_at_once() {
    let app = TestApp::new().await;
    let token = boss(&app).await;
    let (sup, _) = app.admin_token("sup", &["Supervisor"]).await;
    let client = sign_in(&app, &sup).await;
    // Another instance on the same database sees the same session.
    let other = app.instance().await;
    let there = Client {
        app: &other,
        cookie: client.cookie.clone(),
        csrf: client.csrf.clone(),
    };
    assert_eq!(there.get("/console/users").await.status.as_u16(), 200);

    app.admin(&token, Method::POST, &format!("/users/{sup}/archive"), None)
        .await
        .assert_admin_ok(200);
    let r = there.get("/console/users").await;
    assert_eq!(
        r.header("location"),
        Some("/console/sign-in?reason=archived")
    );
    let page = app
        .dispatch(
            "",
            Method::GET,
            "/console/sign-in?reason=archived",
            None,
            &[],
        )
        .await;
    assert!(html(&page).contains("Your user is archived"));

    let (sup2, _) = app.admin_token("sup2", &["Supervisor"]).await;
    let client2 = sign_in(&app, &sup2).await;
    app.admin(
        &token,
        Method::PATCH,
        &format!("/users/{sup2}"),
        Some(serde_json::json!({"securityProfiles": ["Agent"]})),
    )
    .await
    .assert_admin_ok(200);
    assert_eq!(
        client2.get("/console/users").await.header("location"),
        Some("/console/sign-in?reason=no-access")
    );
}

#[tokio::test]
async fn sign_out_ends_the_session() {
    let app = TestApp::new().await;
    let (admin_id, _) = app.admin_token("boss", &["Administrator"]).await;
    let client = sign_in(&app, &admin_id).await;
    let r = client.post("/console/sign-out", &[]).await;
    assert_eq!(r.status.as_u16(), 303);
    assert!(
        r.header("set-cookie")
            .expect("cleared")
            .contains("Max-Age=0")
    );
    let after = client.get("/console/users").await;
    assert_eq!(
        after.header("location"),
        Some("/console/sign-in?reason=signed-out")
    );
}

#[tokio::test]
async fn console_writes_are_audited_with_the_signed_in_user_as_actor() {
    let app = TestApp::new().await;
    let (admin_id, token) = app.admin_token("boss", &["Administrator"]).await;
    let agent = local_user(&app, &token, "agent1").await;
    let client = sign_in(&app, &admin_id).await;
    let r = client
        .post(&format!("/console/users/{agent}/archive"), &[])
        .await;
    assert_eq!(r.status.as_u16(), 303);
    let audit = app
        .admin(&token, Method::GET, &format!("/audit?target={agent}"), None)
        .await;
    let entries = audit.assert_admin_ok(200)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let archived = entries
        .iter()
        .find(|e| e["action"] == "user.archive")
        .unwrap_or_else(|| panic!("no archive entry: {}", audit.body));
    assert_eq!(archived["actor"]["kind"], "console", "{archived}");
    assert_eq!(archived["actor"]["userId"], admin_id.as_str(), "{archived}");
}
