//! Catalogs, Settings, API credentials, Audit log and Identity provider over HTTP, and the
//! checks every screen must pass (labels, CSP).

use axum::http::Method;
use serde_json::json;

use super::{Client, hidden, html, sign_in};
use crate::harness::{TestApp, catalog, local_user, view};

#[tokio::test]
async fn catalogs_are_created_renamed_and_deleted_with_refusals_explained() {
    let app = TestApp::new().await;
    let (admin_id, token) = app.admin_token("boss", &["Administrator"]).await;
    let client = sign_in(&app, &admin_id).await;
    let r = client
        .post("/console/catalogs/routing-profiles", &[("name", "Sales")])
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", html(&r));
    assert!(html(&r).contains("Added Sales."));
    let listed = app
        .admin(&token, Method::GET, "/routing-profiles", None)
        .await;
    let id = listed.body["items"][0]["id"].as_str().unwrap().to_string();
    let r = client
        .post(
            &format!("/console/catalogs/routing-profiles/{id}"),
            &[("name", "Inside sales")],
        )
        .await;
    assert!(html(&r).contains("Saved Inside sales."), "{}", html(&r));
    let agent = local_user(&app, &token, "agent1").await;
    app.admin(
        &token,
        Method::PATCH,
        &format!("/users/{agent}"),
        Some(json!({"routingProfile": "Inside sales"})),
    )
    .await
    .assert_admin_ok(200);
    let refused = client
        .post(
            &format!("/console/catalogs/routing-profiles/{id}/delete"),
            &[],
        )
        .await;
    assert_eq!(refused.status.as_u16(), 409);
    assert!(html(&refused).contains("Not saved:"), "{}", html(&refused));
    assert_eq!(
        app.admin(&token, Method::GET, "/routing-profiles", None)
            .await
            .body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // A security profile with its permissions as checkboxes.
    let r = client
        .post(
            "/console/catalogs/security-profiles",
            &[
                ("name", "Team lead"),
                ("permissions", "ViewUsers"),
                ("permissions", "EditUser"),
            ],
        )
        .await;
    assert!(html(&r).contains("Added Team lead."), "{}", html(&r));
    let profiles = app
        .admin(&token, Method::GET, "/security-profiles", None)
        .await;
    let lead = profiles.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Team lead")
        .unwrap()
        .clone();
    assert_eq!(lead["permissions"], json!(["ViewUsers", "EditUser"]));
    // The built-in Administrator keeps its permissions.
    let admin_profile = profiles.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Administrator")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = client
        .post(
            &format!("/console/catalogs/security-profiles/{admin_profile}"),
            &[("name", "Administrator"), ("permissions", "ViewUsers")],
        )
        .await;
    assert_eq!(r.status.as_u16(), 409, "{}", html(&r));

    // A Supervisor sees the catalogs but cannot change them.
    let (sup, _) = app.admin_token("sup", &["Supervisor"]).await;
    let sup_client = sign_in(&app, &sup).await;
    assert_eq!(
        sup_client
            .get("/console/catalogs/skills")
            .await
            .status
            .as_u16(),
        200
    );
    let r = sup_client
        .post(
            "/console/catalogs/security-profiles",
            &[("name", "Boss"), ("permissions", "ManageSettings")],
        )
        .await;
    assert_eq!(r.status.as_u16(), 403);
    assert!(html(&r).contains("ManageSecurityProfiles"), "{}", html(&r));
    let names = app
        .admin(&token, Method::GET, "/security-profiles", None)
        .await
        .body
        .to_string();
    assert!(!names.contains("\"Boss\""), "nothing created");
}

#[tokio::test]
async fn settings_are_saved_unless_someone_else_saved_first() {
    let app = TestApp::new().await;
    let (admin_id, token) = app.admin_token("boss", &["Administrator"]).await;
    let client = sign_in(&app, &admin_id).await;
    let page = client.get("/console/settings").await;
    let version = hidden(html(&page), "_version").unwrap();
    let r = client
        .post(
            "/console/settings",
            &[
                ("_version", &version),
                ("agentIdStart", "9000"),
                ("rateLimit", ""),
            ],
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", html(&r));
    assert!(html(&r).contains("Saved."));
    assert_eq!(
        app.admin(&token, Method::GET, "/settings", None).await.body["agentIdStart"],
        9000
    );
    // The old version again: refused, theirs kept.
    let r = client
        .post(
            "/console/settings",
            &[("_version", &version), ("agentIdStart", "1234")],
        )
        .await;
    assert_eq!(r.status.as_u16(), 409);
    assert_eq!(
        app.admin(&token, Method::GET, "/settings", None).await.body["agentIdStart"],
        9000
    );
    // A bad value: the admin API's message.
    let page = client.get("/console/settings").await;
    let version = hidden(html(&page), "_version").unwrap();
    let r = client
        .post(
            "/console/settings",
            &[("_version", &version), ("agentIdStart", "0")],
        )
        .await;
    assert_eq!(r.status.as_u16(), 400);
    assert!(html(&r).contains("agentIdStart must be"));

    let (sup, _) = app.admin_token("sup", &["Supervisor"]).await;
    let sup_client = sign_in(&app, &sup).await;
    let page = sup_client.get("/console/settings").await;
    assert!(
        html(&page).contains("<fieldset disabled>"),
        "{}",
        html(&page)
    );
    assert!(html(&page).contains("requires the ManageSettings permission"));
}

#[tokio::test]
async fn a_credential_secret_is_shown_once_and_revoking_stops_it() {
    let app = TestApp::new().await;
    let (admin_id, _) = app.admin_token("boss", &["Administrator"]).await;
    let client = sign_in(&app, &admin_id).await;
    let r = client
        .post(
            "/console/credentials",
            &[("name", "okta"), ("kind", "scim")],
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", html(&r));
    assert!(html(&r).contains("shown only this once"));
    let secret = {
        let page = html(&r);
        let at = page.find("id=\"secret\"").unwrap();
        let v = &page[at..];
        let v = &v[v.find("value=\"").unwrap() + 7..];
        v[..v.find('"').unwrap()].to_string()
    };
    assert!(secret.starts_with("rc_"));
    let scim = app
        .dispatch(&secret, Method::GET, "/scim/v2/Users", None, &[])
        .await;
    assert_eq!(scim.status.as_u16(), 200);
    let list = client.get("/console/credentials").await;
    assert!(!html(&list).contains(&secret), "never shown again");
    let credential_id = {
        let page = html(&list);
        let at = page.find("aria-label=\"Revoke okta\"").unwrap();
        let before = &page[..at];
        let start = before.rfind("/console/credentials/").unwrap() + "/console/credentials/".len();
        before[start..].split('/').next().unwrap().to_string()
    };
    let r = client
        .post(&format!("/console/credentials/{credential_id}/revoke"), &[])
        .await;
    assert!(html(&r).contains("Revoked"), "{}", html(&r));
    assert_eq!(
        app.dispatch(&secret, Method::GET, "/scim/v2/Users", None, &[])
            .await
            .status
            .as_u16(),
        401
    );

    let (sup, _) = app.admin_token("sup", &["Supervisor"]).await;
    let sup_client = sign_in(&app, &sup).await;
    assert_eq!(
        sup_client.get("/console/credentials").await.status.as_u16(),
        403
    );
}

#[tokio::test]
async fn the_audit_log_shows_each_change_before_and_after_filtered_by_user() {
    let app = TestApp::new().await;
    let (admin_id, token) = app.admin_token("boss", &["Administrator"]).await;
    let ann = local_user(&app, &token, "ann").await;
    local_user(&app, &token, "bob").await;
    app.admin(
        &token,
        Method::PATCH,
        &format!("/users/{ann}"),
        Some(json!({"displayName": "Ann Lee"})),
    )
    .await
    .assert_admin_ok(200);
    let client = sign_in(&app, &admin_id).await;
    let page = client.get("/console/audit?user=ann").await;
    let text = html(&page);
    assert!(
        text.contains("<strong>displayName</strong>: — → Ann Lee"),
        "{text}"
    );
    assert!(!text.contains(">bob<"), "only ann's changes: {text}");
    let by_actor = client.get("/console/audit?actor=nobody").await;
    assert!(html(&by_actor).contains("no user is named"));
    let bad_time = client.get("/console/audit?since=yesterday").await;
    assert!(html(&bad_time).contains("since must be an RFC 3339 date-time"));
    let _ = view(&app, &token, &ann).await;
}

#[tokio::test]
async fn the_identity_provider_page_gives_the_scim_url_and_sets_the_sign_in() {
    let app = TestApp::new().await;
    let (admin_id, token) = app.admin_token("boss", &["Administrator"]).await;
    app.create_user(
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "from.okta"}),
    )
    .await;
    let client = sign_in(&app, &admin_id).await;
    let page = client.get("/console/identity-provider").await;
    let text = html(&page);
    assert!(
        text.contains("value=\"http://localhost/scim/v2\""),
        "{text}"
    );
    assert!(
        text.contains("<td>user.create</td><td>from.okta</td>"),
        "{text}"
    );
    let r = client
        .post(
            "/console/identity-provider",
            &[
                ("issuer", "https://login.acme.example"),
                ("clientId", "rc"),
                ("clientSecret", "s3cret"),
                ("action", "save"),
            ],
        )
        .await;
    assert!(html(&r).contains("Saved."), "{}", html(&r));
    assert_eq!(
        app.admin(&token, Method::GET, "/oidc", None).await.body["clientId"],
        "rc"
    );
    let r = client
        .post(
            "/console/identity-provider",
            &[
                ("issuer", "http://evil.example"),
                ("clientId", "rc"),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(r.status.as_u16(), 400);
    let r = client
        .post("/console/identity-provider", &[("action", "off")])
        .await;
    assert!(html(&r).contains("sign-in is off"));
    assert_eq!(
        app.admin(&token, Method::GET, "/oidc", None).await.body["configured"],
        false
    );
}

/// The ids of the form controls of a page that a person fills in (not hidden fields, not
/// buttons), and whether each has a `<label for=…>`.
fn unlabelled(page: &str) -> Vec<String> {
    let mut missing = Vec::new();
    for piece in page.split('<').skip(1) {
        let tag = piece.split('>').next().unwrap_or("");
        let control =
            tag.starts_with("input ") || tag.starts_with("select ") || tag.starts_with("textarea ");
        if !control || tag.contains("type=\"hidden\"") {
            continue;
        }
        let id = tag.split(" id=\"").nth(1).and_then(|r| r.split('"').next());
        match id {
            Some(id) if page.contains(&format!("for=\"{id}\"")) => {}
            _ => missing.push(tag.to_string()),
        }
    }
    missing
}

#[tokio::test]
async fn every_screen_labels_every_control() {
    let app = TestApp::new().await;
    let (admin_id, token) = app.admin_token("boss", &["Administrator"]).await;
    for (segment, body) in [
        ("routing-profiles", json!({"name": "Sales"})),
        ("skills", json!({"name": "French"})),
        ("callback-numbers", json!({"number": "+14155550100"})),
        ("hierarchy", json!({"path": "EMEA/Sales"})),
    ] {
        catalog(&app, &token, segment, body).await;
    }
    let agent = local_user(&app, &token, "agent1").await;
    let client: Client<'_> = sign_in(&app, &admin_id).await;
    let mut pages = vec![
        "/console/users".to_string(),
        format!("/console/users/{agent}"),
        format!("/console/users/edit?id={agent}&id={admin_id}"),
        "/console/upload".into(),
        "/console/from-template".into(),
        "/console/settings".into(),
        "/console/credentials".into(),
        "/console/audit".into(),
        "/console/identity-provider".into(),
        "/console/sign-in".into(),
    ];
    for segment in [
        "security-profiles",
        "routing-profiles",
        "hierarchy",
        "skills",
        "callback-numbers",
    ] {
        pages.push(format!("/console/catalogs/{segment}"));
    }
    for path in &pages {
        let r = client.get(path).await;
        assert_eq!(r.status.as_u16(), 200, "{path}: {}", html(&r));
        assert!(r.header("content-security-policy").is_some(), "{path}");
        let missing = unlabelled(html(&r));
        assert!(
            missing.is_empty(),
            "{path}: controls without a label: {missing:?}"
        );
    }
}

#[tokio::test]
async fn refusals_of_the_tenant_screens_and_of_a_disabled_tenant() {
    let app = TestApp::new().await;
    let (admin_id, token) = app.admin_token("boss", &["Administrator"]).await;
    let (sup, _) = app.admin_token("sup", &["Supervisor"]).await;
    let sup_client = sign_in(&app, &sup).await;
    // The Identity provider screen needs ManageSettings.
    assert_eq!(
        sup_client
            .get("/console/identity-provider")
            .await
            .status
            .as_u16(),
        403
    );
    let r = sup_client
        .post(
            "/console/identity-provider",
            &[
                ("issuer", "https://login.acme.example"),
                ("clientId", "rc"),
                ("clientSecret", "s"),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(r.status.as_u16(), 403);
    assert_eq!(
        app.admin(&token, Method::GET, "/oidc", None).await.body["configured"],
        false
    );

    // A user API token for a user that does not exist: refused, nothing created.
    let client = sign_in(&app, &admin_id).await;
    let before = app
        .admin(&token, Method::GET, "/credentials", None)
        .await
        .body["items"]
        .as_array()
        .unwrap()
        .len();
    let r = client
        .post(
            "/console/credentials",
            &[("name", "x"), ("kind", "user"), ("user", "nobody")],
        )
        .await;
    assert_eq!(r.status.as_u16(), 400);
    assert!(html(&r).contains("no user is named"), "{}", html(&r));
    assert_eq!(
        app.admin(&token, Method::GET, "/credentials", None)
            .await
            .body["items"]
            .as_array()
            .unwrap()
            .len(),
        before
    );

    // More users selected than a bulk edit takes.
    let ids: String = (0..1001).map(|i| format!("id=u{i}&")).collect();
    let r = client.get(&format!("/console/users/edit?{ids}")).await;
    assert_eq!(r.status.as_u16(), 400);
    assert!(html(&r).contains("at most 1000 users"));

    // A disabled tenant: its sessions end, and its links sign nobody in.
    rollcall::write::tenants::set_disabled(
        &app.db,
        &rollcall::domain::audit::Actor::cli(),
        "acme",
        true,
    )
    .await
    .unwrap();
    assert_eq!(
        client.get("/console/users").await.header("location"),
        Some("/console/sign-in?reason=tenant-disabled")
    );
    let token_link = super::link(&app, &admin_id).await;
    let r =
        super::post_form_anonymous(&app, "/console/sign-in/link", &[("token", &token_link)]).await;
    assert_eq!(r.status.as_u16(), 403);
    assert!(html(&r).contains("disabled"));
    assert!(r.header("set-cookie").is_none());
}
