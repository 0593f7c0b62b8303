//! CSV template and import of locally-owned attributes (`/admin/v1/users/import…`).

use axum::http::Method;
use serde_json::{Value, json};

use crate::harness::{CONTACT_CENTRE, TestApp, view};

async fn post_csv(app: &TestApp, token: &str, dry_run: bool, csv: &str) -> (u16, Value) {
    let uri = format!("/admin/v1/users/import?dryRun={dry_run}");
    let r = app
        .dispatch(
            token,
            Method::POST,
            &uri,
            Some(("text/csv", csv.to_string())),
            &[],
        )
        .await;
    (r.status.as_u16(), r.body)
}

async fn setup(app: &TestApp) -> String {
    let token = app.admin_token("boss", &["Administrator"]).await.1;
    for (segment, body) in [
        ("routing-profiles", json!({"name": "Sales"})),
        ("skills", json!({"name": "French"})),
        ("hierarchy", json!({"path": "EMEA/London"})),
    ] {
        app.admin(&token, Method::POST, &format!("/{segment}"), Some(body))
            .await
            .assert_admin_ok(201);
    }
    token
}

async fn scim_user(app: &TestApp, user_name: &str, email: &str) -> String {
    app.create_user(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "emails": [{"value": email, "type": "work", "primary": true}]
    }))
    .await["id"]
        .as_str()
        .expect("id")
        .to_string()
}

#[tokio::test]
async fn template_lists_email_then_every_locally_editable_column() {
    let app = TestApp::new().await;
    let token = setup(&app).await;
    let r = app
        .admin(&token, Method::GET, "/users/import-template.csv", None)
        .await;
    assert_eq!(r.status.as_u16(), 200);
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("text/csv"))
    );
    let header = r.body.as_str().expect("csv text").trim_end().to_string();
    let columns: Vec<&str> = header.split(',').collect();
    assert_eq!(columns[0], "email");
    for column in [
        "routingProfile",
        "agentHierarchy",
        "licenceType",
        "skills",
        "telephonyRegion",
        "interactionCapacity",
    ] {
        assert!(columns.contains(&column), "{column} missing from {header}");
    }
    // Who the user is, for creating complete users where the tenant allows it.
    assert_eq!(
        &columns[..6],
        [
            "email",
            "userName",
            "givenName",
            "familyName",
            "displayName",
            "securityProfiles"
        ]
    );
    // Derived and write-only attributes never are.
    for column in ["active", "groups", "password"] {
        assert!(
            !columns.contains(&column),
            "{column} must not be a column: {header}"
        );
    }
}

#[tokio::test]
async fn dry_run_reports_plans_and_errors_and_changes_nothing() {
    let app = TestApp::new().await;
    let token = setup(&app).await;
    let ann = scim_user(&app, "ann", "ann@acme.example").await;
    let csv = "email,routingProfile,skills,licenceType\n\
               ann@acme.example,Sales,French:4,AgentDesktop\n\
               ANN@acme.example,Sales,,\n\
               new@acme.example,Nope,,\n\
               bob@acme.example,,French:11,\n";
    let (status, body) = post_csv(&app, &token, true, csv).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["dryRun"], true);
    let rows = body["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1, "{body}");
    assert_eq!(rows[0]["row"], 2);
    assert_eq!(rows[0]["action"], "update");
    assert_eq!(
        rows[0]["changes"][format!("{CONTACT_CENTRE}:routingProfile")],
        json!({"before": null, "after": "Sales"})
    );
    let errors = body["errors"].as_array().expect("errors");
    // Emails match exactly: "ANN@…" matches nobody, and since it differs from ann's only in
    // letter case (primary emails are unique case-insensitively) it is an error, as are the
    // unknown routing profile and the level 11.
    let by_row: Vec<(i64, Option<&str>)> = errors
        .iter()
        .map(|e| (e["row"].as_i64().unwrap_or(0), e["column"].as_str()))
        .collect();
    assert!(by_row.contains(&(3, Some("email"))), "{body}");
    assert!(by_row.contains(&(4, Some("routingProfile"))), "{body}");
    assert!(by_row.contains(&(5, Some("skills"))), "{body}");
    assert_eq!(errors.len(), 3, "{body}");
    // Nothing changed.
    let after = view(&app, &token, &ann).await;
    assert!(after.get("routingProfile").is_none(), "{after}");
    let listed = app.admin(&token, Method::GET, "/users", None).await;
    assert_eq!(listed.assert_admin_ok(200)["totalResults"], 2);
}

#[tokio::test]
async fn real_run_applies_every_row_in_one_go() {
    let app = TestApp::new().await;
    let token = setup(&app).await;
    let ann = scim_user(&app, "ann", "ann@acme.example").await;
    let csv = "email,routingProfile,skills,licenceType,agentHierarchy,interactionCapacity\n\
               ann@acme.example,Sales,French:4,AgentDesktop,EMEA/London,custom voice=100 chat=50\n\
               new@acme.example,Sales,,Admin,,\n";
    let (status, body) = post_csv(&app, &token, false, csv).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["created"], 1);
    assert_eq!(body["updated"], 1);
    let v = view(&app, &token, &ann).await;
    assert_eq!(v["routingProfile"], "Sales");
    assert_eq!(v["skills"], json!([{"name": "French", "level": 4}]));
    assert_eq!(v["licenceType"], "AgentDesktop");
    assert_eq!(v["agentId"], "1000");
    assert_eq!(
        v["interactionCapacity"],
        json!({"mode": "custom", "voice": 100, "chat": 50})
    );
    assert_eq!(v["managedBy"], "idp");
    let found = app
        .admin(
            &token,
            Method::GET,
            &format!(
                "/users?filter={}",
                crate::harness::q("userName eq \"new@acme.example\"")
            ),
            None,
        )
        .await;
    let created = &found.assert_admin_ok(200)["users"][0];
    assert_eq!(created["managedBy"], "local");
    assert_eq!(created["licenceType"], "Admin");
    assert_eq!(created["securityProfiles"], json!(["Agent"]));
    // The import is audited per user.
    let audit = app
        .admin(&token, Method::GET, &format!("/audit?target={ann}"), None)
        .await;
    let actions: Vec<&str> = audit.assert_admin_ok(200)["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["action"].as_str())
        .collect();
    assert!(actions.contains(&"user.import"), "{actions:?}");
}

#[tokio::test]
async fn real_run_with_any_error_applies_nothing() {
    let app = TestApp::new().await;
    let token = setup(&app).await;
    let ann = scim_user(&app, "ann", "ann@acme.example").await;
    let csv = "email,routingProfile,telephonyRegion\n\
               ann@acme.example,Sales,EMEA Primary\n\
               new@acme.example,Sales,Mars\n";
    let (status, body) = post_csv(&app, &token, false, csv).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "import_failed");
    assert_eq!(body["errors"][0]["row"], 3);
    assert_eq!(body["errors"][0]["column"], "telephonyRegion");
    let v = view(&app, &token, &ann).await;
    assert!(v.get("routingProfile").is_none(), "{v}");
    assert_eq!(v["telephonyRegion"], "NAM East");
    let listed = app.admin(&token, Method::GET, "/users", None).await;
    assert_eq!(listed.assert_admin_ok(200)["totalResults"], 2);
}

#[tokio::test]
async fn unknown_emails_are_errors_in_an_idp_managed_tenant() {
    let app = TestApp::new().await;
    let token = setup(&app).await;
    app.admin(
        &token,
        Method::PATCH,
        "/settings",
        Some(json!({"idpManaged": true})),
    )
    .await
    .assert_admin_ok(200);
    let (status, body) = post_csv(
        &app,
        &token,
        false,
        "email,routingProfile\nghost@acme.example,Sales\n",
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["column"], "email");
    let listed = app.admin(&token, Method::GET, "/users", None).await;
    assert_eq!(listed.assert_admin_ok(200)["totalResults"], 1);
}

#[tokio::test]
async fn bad_files_are_refused_with_a_reason() {
    let app = TestApp::new().await;
    let token = setup(&app).await;
    let (status, body) = post_csv(
        &app,
        &token,
        true,
        "mail,routingProfile\nx@y.example,Sales\n",
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_csv")),
        "{body}"
    );
    let (status, body) = post_csv(&app, &token, true, "email,active\nx@y.example,false\n").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_csv")),
        "{body}"
    );
    assert_eq!(body["fields"], json!(["active"]));
    let (status, body) = post_csv(
        &app,
        &token,
        true,
        "email,routingProfile\nx@y.example,Sales,extra\n",
    )
    .await;
    // A row longer than the header is that row's error, listed with the others.
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["errors"][0]["row"], 2, "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("3 cells")),
        "{body}"
    );
    let r = app
        .admin(&token, Method::POST, "/users/import?dryRun=maybe", None)
        .await;
    r.assert_admin_error(400, "invalid_value");
}

#[tokio::test]
async fn columns_need_their_permissions() {
    let app = TestApp::new().await;
    setup(&app).await;
    let token = app.admin_token("lead", &["Supervisor"]).await.1;
    scim_user(&app, "ann", "ann@acme.example").await;
    // Supervisors lack CreateUser: a row for an unknown email is refused.
    let (status, body) = post_csv(
        &app,
        &token,
        true,
        "email,routingProfile\nnew@acme.example,Sales\n",
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "forbidden");
    // They may set routing columns on existing users.
    let (status, body) = post_csv(
        &app,
        &token,
        false,
        "email,routingProfile\nann@acme.example,Sales\n",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["updated"], 1);
}
