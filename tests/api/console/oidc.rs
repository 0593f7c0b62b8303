//! The tenant's OpenID Connect sign-in: configured through the admin API, then signing in
//! through a provider on loopback (the browser's legs emulated; `browser` does it for real).

use std::collections::HashMap;

use axum::http::Method;
use serde_json::json;

use super::provider::{CLIENT_ID, CLIENT_SECRET, Provider, Who};
use super::{Client, html};
use crate::harness::{TestApp, TestResponse, boss, local_user};

/// Points the test tenant's sign-in at the provider.
pub async fn configure(app: &TestApp, token: &str, provider: &Provider) {
    app.admin(
        token,
        Method::PUT,
        "/oidc",
        Some(json!({"issuer": provider.issuer, "clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET})),
    )
    .await
    .assert_admin_ok(200);
}

/// A sign-in's first two legs, as a browser goes: start, then the provider's
/// authorization; answers the callback path the provider sends the browser back to.
async fn callback_path(app: &TestApp, provider: &Provider) -> String {
    let start = app
        .dispatch(
            "",
            Method::GET,
            "/console/sign-in/oidc?tenant=acme",
            None,
            &[],
        )
        .await;
    assert_eq!(start.status.as_u16(), 303, "{}", html(&start));
    let to = start
        .header("location")
        .expect("to the provider")
        .to_string();
    assert!(
        to.starts_with(&format!("{}/authorize?", provider.issuer)),
        "{to}"
    );
    let query: HashMap<String, String> =
        serde_urlencoded::from_str(to.split_once('?').unwrap().1).expect("query");
    assert_eq!(query["code_challenge_method"], "S256", "PKCE");
    assert!(query["scope"].contains("openid"));
    let back = provider.issue(&query).expect("authorized");
    let path = back
        .split_once("/console/")
        .map(|(_, p)| format!("/console/{p}"))
        .expect("callback");
    assert!(
        path.starts_with("/console/sign-in/oidc/callback?"),
        "{path}"
    );
    path
}

/// Runs a sign-in as a browser would: start, the provider's authorization, the callback.
async fn sign_in_through(app: &TestApp, provider: &Provider) -> TestResponse {
    let path = callback_path(app, provider).await;
    app.dispatch("", Method::GET, &path, None, &[]).await
}

fn signed_in<'a>(app: &'a TestApp, r: &TestResponse) -> Client<'a> {
    assert_eq!(r.status.as_u16(), 303, "{}", html(r));
    assert_eq!(r.header("location"), Some("/console/users"));
    let cookie = r
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .expect("cookie");
    Client {
        app,
        cookie: cookie.to_string(),
        csrf: String::new(),
    }
}

#[tokio::test]
async fn the_sign_in_is_configured_through_the_admin_api_without_showing_the_secret() {
    let app = TestApp::new().await;
    let token = boss(&app).await;
    let empty = app.admin(&token, Method::GET, "/oidc", None).await;
    let body = empty.assert_admin_ok(200);
    assert_eq!(body["configured"], false);
    assert_eq!(
        body["redirectUri"],
        "http://localhost/console/sign-in/oidc/callback"
    );
    assert_eq!(
        body["signInUrl"],
        "http://localhost/console/sign-in?tenant=acme"
    );

    // Refusals change nothing.
    for (bad, field) in [
        (
            json!({"issuer": "http://login.example.com", "clientId": "x", "clientSecret": "s"}),
            "issuer",
        ),
        (
            json!({"issuer": "https://login.example.com", "clientId": "", "clientSecret": "s"}),
            "clientId",
        ),
        (
            json!({"issuer": "https://login.example.com", "clientId": "x"}),
            "clientSecret",
        ),
        (
            json!({"issuer": "https://login.example.com", "clientId": "x", "clientSecret": "s", "scope": "all"}),
            "scope",
        ),
    ] {
        let r = app.admin(&token, Method::PUT, "/oidc", Some(bad)).await;
        r.assert_admin_error(400, "invalid_value");
        assert_eq!(r.body["fields"], json!([field]), "{}", r.body);
    }
    let dry = app
        .admin(&token, Method::PUT, "/oidc?dryRun=true", Some(json!({"issuer": "https://login.example.com", "clientId": "x", "clientSecret": "s"})))
        .await;
    assert_eq!(dry.assert_admin_ok(200)["dryRun"], true);
    assert_eq!(
        app.admin(&token, Method::GET, "/oidc", None).await.body["configured"],
        false
    );

    let set = app
        .admin(&token, Method::PUT, "/oidc", Some(json!({"issuer": "https://login.example.com/", "clientId": "rc", "clientSecret": "top-secret-value"})))
        .await;
    let body = set.assert_admin_ok(200);
    assert_eq!(body["issuer"], "https://login.example.com");
    assert_eq!(body["clientSecretSet"], true);
    assert!(!set.body.to_string().contains("top-secret-value"));
    // A change without the secret keeps it.
    app.admin(
        &token,
        Method::PUT,
        "/oidc",
        Some(json!({"issuer": "https://login.example.com", "clientId": "rc2"})),
    )
    .await
    .assert_admin_ok(200);
    let stored = rollcall::store::console::oidc_config(&app.db, &app.tenant_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.client_id.as_str(), stored.client_secret.as_str()),
        ("rc2", "top-secret-value")
    );

    let audit = app
        .admin(
            &token,
            Method::GET,
            &format!("/audit?target={}", app.tenant_id),
            None,
        )
        .await;
    let text = audit.body.to_string();
    assert!(
        text.contains("tenant.oidc") && text.contains("(secret)"),
        "{text}"
    );
    assert!(
        !text.contains("top-secret-value"),
        "the secret is never audited"
    );

    // Only ManageSettings may read or change it.
    let (_, sup) = app.admin_token("sup", &["Supervisor"]).await;
    app.admin(&sup, Method::GET, "/oidc", None)
        .await
        .assert_admin_error(403, "forbidden");
    app.admin(&sup, Method::DELETE, "/oidc", None)
        .await
        .assert_admin_error(403, "forbidden");

    assert_eq!(
        app.admin(&token, Method::DELETE, "/oidc", None)
            .await
            .status
            .as_u16(),
        204
    );
    assert_eq!(
        app.admin(&token, Method::GET, "/oidc", None).await.body["configured"],
        false
    );
}

#[tokio::test]
async fn a_person_signs_in_through_the_identity_provider_as_the_matching_user() {
    let app = TestApp::new().await;
    let provider = Provider::start().await;
    let (boss_id, token) = app.admin_token("boss", &["Administrator"]).await;
    configure(&app, &token, &provider).await;

    provider.signs_in(Who {
        username: Some("BOSS".into()),
        email: None,
    });
    let r = sign_in_through(&app, &provider).await;
    let client = signed_in(&app, &r);
    let page = client.get("/console/users").await;
    assert!(
        html(&page).contains("Signed in as <strong>boss</strong>"),
        "{}",
        html(&page)
    );

    // By email, as the primary email of a user whose userName differs.
    let sue = local_user(&app, &token, "sue").await;
    app.admin(&token, Method::PATCH, &format!("/users/{sue}"), Some(json!({"emails": [{"value": "Sue@Acme.example", "primary": true}], "securityProfiles": ["Supervisor"]})))
        .await
        .assert_admin_ok(200);
    provider.signs_in(Who {
        username: Some("sue.w@idp.example".into()),
        email: Some("sue@acme.example".into()),
    });
    let client = signed_in(&app, &sign_in_through(&app, &provider).await);
    assert!(
        html(&client.get("/console/users").await).contains("Signed in as <strong>sue</strong>")
    );
    let sessions: Vec<_> =
        rollcall::store::console::session(&app.db, client.cookie.split('=').nth(1).unwrap())
            .await
            .unwrap()
            .into_iter()
            .collect();
    assert_eq!(sessions[0].via, "oidc");
    assert_ne!(sessions[0].user_id, boss_id);
}

#[tokio::test]
async fn unknown_archived_and_replayed_sign_ins_are_refused() {
    let app = TestApp::new().await;
    let provider = Provider::start().await;
    let token = boss(&app).await;
    configure(&app, &token, &provider).await;

    provider.signs_in(Who {
        username: Some("nobody".into()),
        email: Some("nobody@acme.example".into()),
    });
    let r = sign_in_through(&app, &provider).await;
    assert_eq!(r.status.as_u16(), 403);
    assert!(
        html(&r).contains("no user of this organisation has that username or email"),
        "{}",
        html(&r)
    );
    assert!(r.header("set-cookie").is_none());

    let (sup, _) = app.admin_token("sup", &["Supervisor"]).await;
    app.admin(&token, Method::POST, &format!("/users/{sup}/archive"), None)
        .await
        .assert_admin_ok(200);
    provider.signs_in(Who {
        username: Some("sup".into()),
        email: None,
    });
    let r = sign_in_through(&app, &provider).await;
    assert_eq!(r.status.as_u16(), 403);
    assert!(html(&r).contains("archived"), "{}", html(&r));

    // An ID token for another sign-in (its nonce) is refused.
    *provider.wrong_nonce.lock().unwrap() = true;
    provider.signs_in(Who {
        username: Some("boss".into()),
        email: None,
    });
    let r = sign_in_through(&app, &provider).await;
    assert_eq!(r.status.as_u16(), 403, "{}", html(&r));
    assert!(html(&r).contains("not valid"), "{}", html(&r));
    *provider.wrong_nonce.lock().unwrap() = false;

    // A callback can be used once.
    let path = callback_path(&app, &provider).await;
    assert_eq!(
        app.dispatch("", Method::GET, &path, None, &[])
            .await
            .status
            .as_u16(),
        303
    );
    let again = app.dispatch("", Method::GET, &path, None, &[]).await;
    assert_eq!(again.status.as_u16(), 400);
    assert!(again.header("set-cookie").is_none());

    // The provider saying no, and a tenant without OIDC.
    let denied = app
        .dispatch(
            "",
            Method::GET,
            "/console/sign-in/oidc/callback?error=access_denied&error_description=not+assigned",
            None,
            &[],
        )
        .await;
    assert_eq!(denied.status.as_u16(), 403);
    assert!(html(&denied).contains("not assigned"));
    app.other_tenant("globex").await;
    let none = app
        .dispatch(
            "",
            Method::GET,
            "/console/sign-in/oidc?tenant=globex",
            None,
            &[],
        )
        .await;
    assert_eq!(none.status.as_u16(), 404);
    let unknown = app
        .dispatch(
            "",
            Method::GET,
            "/console/sign-in/oidc?tenant=nope",
            None,
            &[],
        )
        .await;
    assert_eq!(unknown.status.as_u16(), 404);
}
