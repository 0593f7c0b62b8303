//! `POST /admin/v1/credentials`: issuing SCIM and user credentials through the admin API,
//! the secret shown once, and every refusal — including minting more power than one holds.

use super::*;

async fn issue(app: &TestApp, token: &str, body: Value) -> TestResponse {
    app.admin(token, Method::POST, "/credentials", Some(body))
        .await
}

#[tokio::test]
async fn an_issued_scim_credential_provisions_until_revoked() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let r = issue(&app, &boss, json!({"kind": "scim", "name": "okta"})).await;
    let body = r.assert_admin_ok(201).clone();
    assert_eq!(body["kind"], "scim");
    assert_eq!(body["name"], "okta");
    assert_eq!(body["userId"], Value::Null);
    let secret = body["secret"].as_str().expect("secret").to_string();
    let id = body["id"].as_str().expect("id").to_string();
    assert!(secret.starts_with("rc_"), "{secret}");
    // The secret works on SCIM.
    app.send_as(&secret, Method::GET, "/Users", None, &[])
        .await
        .assert_ok(200);
    // The list shows the credential, never a secret.
    let r = app.admin(&boss, Method::GET, "/credentials", None).await;
    let list = r.assert_admin_ok(200).clone();
    let listed = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|c| c["id"] == id.as_str())
        .cloned()
        .expect("listed");
    assert_eq!(listed["name"], "okta");
    assert!(listed.get("secret").is_none());
    assert!(!list.to_string().contains(&secret));
    // One audit row, naming the caller.
    let r = app
        .admin(&boss, Method::GET, &format!("/audit?target={id}"), None)
        .await;
    let entries = r.assert_admin_ok(200)["items"]
        .as_array()
        .expect("items")
        .clone();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["action"], "credential.create");
    // Revoked: refused at once.
    app.admin(&boss, Method::DELETE, &format!("/credentials/{id}"), None)
        .await;
    app.send_as(&secret, Method::GET, "/Users", None, &[])
        .await
        .assert_error(401, None);
}

#[tokio::test]
async fn an_issued_user_credential_acts_with_that_users_permissions() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let (supervisor, _) = app.admin_token("sue", &["Supervisor"]).await;
    let r = issue(
        &app,
        &boss,
        json!({"kind": "user", "name": "sue's laptop", "userId": supervisor}),
    )
    .await;
    let body = r.assert_admin_ok(201).clone();
    assert_eq!(body["userId"], supervisor.as_str());
    let secret = body["secret"].as_str().expect("secret").to_string();
    app.admin(&secret, Method::GET, "/users", None)
        .await
        .assert_admin_ok(200);
    // A user credential is not a SCIM credential.
    app.send_as(&secret, Method::GET, "/Users", None, &[])
        .await
        .assert_error(403, None);
    // It carries Sue's permissions, not the issuer's.
    app.admin(&secret, Method::GET, "/credentials", None)
        .await
        .assert_admin_error(403, "forbidden");
}

#[tokio::test]
async fn nobody_mints_a_credential_with_more_than_it_holds() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    catalog(
        &app,
        &boss,
        "security-profiles",
        json!({"name": "Key keeper", "permissions": ["ViewUsers", "ManageCredentials"]}),
    )
    .await;
    let (_, keeper) = app.admin_token("keeper", &["Key keeper"]).await;
    let (admin_user, _) = app.admin_token("root2", &["Administrator"]).await;
    let agent = local_user(&app, &boss, "ann").await;
    let (_, supervisor) = app.admin_token("sup", &["Supervisor"]).await;
    let before = app.admin(&boss, Method::GET, "/credentials", None).await;
    let count = before.assert_admin_ok(200)["items"]
        .as_array()
        .expect("items")
        .len();

    // For an Administrator: the keeper would act with permissions it lacks.
    let r = issue(
        &app,
        &keeper,
        json!({"kind": "user", "name": "climb", "userId": admin_user}),
    )
    .await;
    r.assert_admin_error(403, "forbidden");
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("ManageSettings"),
        "{}",
        r.body
    );
    // A SCIM credential can grant any security profile: it needs every permission.
    issue(&app, &keeper, json!({"kind": "scim", "name": "climb"}))
        .await
        .assert_admin_error(403, "forbidden");
    // An agent's credential holds less than the keeper: allowed.
    issue(
        &app,
        &keeper,
        json!({"kind": "user", "name": "ann", "userId": agent}),
    )
    .await
    .assert_admin_ok(201);
    // Without ManageCredentials at all.
    issue(
        &app,
        &supervisor,
        json!({"kind": "user", "name": "x", "userId": agent}),
    )
    .await
    .assert_admin_error(403, "forbidden");
    // Only the allowed one was created.
    let after = app.admin(&boss, Method::GET, "/credentials", None).await;
    assert_eq!(
        after.assert_admin_ok(200)["items"]
            .as_array()
            .expect("items")
            .len(),
        count + 1
    );
}

#[tokio::test]
async fn bad_credential_requests_are_refused_with_the_field_named() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let agent = local_user(&app, &boss, "ann").await;
    let other = app.other_tenant("other").await;
    let foreign = app
        .send_as(
            &other,
            Method::POST,
            "/Users",
            Some(json!({"schemas": [USER_SCHEMA], "userName": "stranger"})),
            &[],
        )
        .await;
    let foreign = foreign.assert_ok(201)["id"]
        .as_str()
        .expect("id")
        .to_string();
    let cases = [
        (
            json!({"kind": "admin", "name": "x"}),
            400,
            "invalid_value",
            Some("kind"),
        ),
        (json!({"name": "x"}), 400, "invalid_value", Some("kind")),
        (json!({"kind": "scim"}), 400, "invalid_value", Some("name")),
        (
            json!({"kind": "scim", "name": ""}),
            400,
            "invalid_value",
            Some("name"),
        ),
        (
            json!({"kind": "scim", "name": "x".repeat(101)}),
            400,
            "invalid_value",
            Some("name"),
        ),
        (
            json!({"kind": "user", "name": "x"}),
            400,
            "invalid_value",
            Some("userId"),
        ),
        (
            json!({"kind": "scim", "name": "x", "userId": agent}),
            400,
            "invalid_value",
            Some("userId"),
        ),
        (
            json!({"kind": "scim", "name": "x", "secret": "mine"}),
            400,
            "invalid_value",
            Some("secret"),
        ),
        (
            json!({"kind": "user", "name": "x", "userId": "no-such-user"}),
            404,
            "not_found",
            None,
        ),
        (
            json!({"kind": "user", "name": "x", "userId": foreign}),
            404,
            "not_found",
            None,
        ),
        (json!(["scim"]), 400, "invalid_syntax", None),
    ];
    for (body, status, code, field) in cases {
        let r = issue(&app, &boss, body.clone()).await;
        r.assert_admin_error(status, code);
        if let Some(field) = field {
            assert_eq!(r.body["fields"], json!([field]), "{body}: {}", r.body);
        }
    }
    // An archived user gets no credential.
    app.admin(
        &boss,
        Method::POST,
        &format!("/users/{agent}/archive"),
        None,
    )
    .await
    .assert_admin_ok(200);
    let r = issue(
        &app,
        &boss,
        json!({"kind": "user", "name": "x", "userId": agent}),
    )
    .await;
    r.assert_admin_error(400, "invalid_value");
    assert_eq!(r.body["fields"], json!(["userId"]));
    // Nothing was issued by any of these.
    let r = app.admin(&boss, Method::GET, "/credentials", None).await;
    let items = r.assert_admin_ok(200)["items"]
        .as_array()
        .expect("items")
        .clone();
    assert!(items.iter().all(|c| c["name"] != "x"), "{items:?}");
}
