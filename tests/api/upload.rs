//! The upload wizard as an admin walks it: download the template (CSV or .xlsx), fill it in,
//! upload it for a dry run that lists every error of every row, fix, re-upload and apply;
//! export the current users, edit the file, upload it again.

use axum::http::{Method, StatusCode};
use rollcall::http::admin::table::{self, XLSX_TYPE};
use serde_json::{Value, json};

use crate::harness::{TestApp, boss, catalog, local_user, patch_user, view};

async fn setup(app: &TestApp) -> String {
    let token = boss(app).await;
    catalog(app, &token, "routing-profiles", json!({"name": "Sales"})).await;
    catalog(app, &token, "skills", json!({"name": "French"})).await;
    app.admin(
        &token,
        Method::PATCH,
        "/settings",
        Some(json!({"directToAgentDialling": true})),
    )
    .await
    .assert_admin_ok(200);
    token
}

async fn upload(
    app: &TestApp,
    token: &str,
    dry_run: bool,
    content_type: &str,
    bytes: Vec<u8>,
) -> (StatusCode, Value) {
    let (status, _, body) = app
        .dispatch_bytes(
            token,
            Method::POST,
            &format!("/admin/v1/users/import?dryRun={dry_run}"),
            Some((content_type, bytes)),
        )
        .await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// (row, column) of every error, in order.
fn errors(body: &Value) -> Vec<(u64, String)> {
    body["errors"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|e| {
            (
                e["row"].as_u64().unwrap_or(0),
                e["column"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect()
}

async fn find(app: &TestApp, token: &str, user_name: &str) -> Value {
    let r = app
        .admin(
            token,
            Method::GET,
            &format!("/users?filter=userName%20eq%20%22{user_name}%22"),
            None,
        )
        .await;
    r.assert_admin_ok(200)["users"][0].clone()
}

#[tokio::test]
async fn a_semicolon_csv_dry_run_lists_every_error_then_a_clean_upload_applies() {
    let app = TestApp::new().await;
    let token = setup(&app).await;
    let holder = local_user(&app, &token, "holder").await;
    patch_user(&app, &token, &holder, json!({"agentId": "700"}))
        .await
        .assert_admin_ok(200);

    // Excel in many locales writes `;` and a BOM. Row 3 has two errors of its own; row 4
    // repeats row 2's phone; row 5 takes an agent id already stored.
    let file = "\u{feff}email;userName;givenName;familyName;securityProfiles;routingProfile;agentId;personalPhoneNumber;skills\n\
        ann@acme.example;ann;Ann;Lee;Agent;Sales;;+442071234567;French:7\n\
        bob@acme.example;bob;B0b!;Jones;Agent;Nope;;;French:11\n\
        cy@acme.example;cy;Cy;Park;Agent;Sales;;+442071234567;\n\
        di@acme.example;di;Di;Ro;Agent;Sales;700;;\n";
    let (status, body) = upload(&app, &token, true, "text/csv", file.as_bytes().to_vec()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        errors(&body),
        [
            (3, "givenName".to_string()),
            (3, "routingProfile".to_string()),
            (3, "skills".to_string()),
            (4, "personalPhoneNumber".to_string()),
            (5, "agentId".to_string()),
        ],
        "{body}"
    );
    let messages = body["errors"].to_string();
    assert!(messages.contains("also on row 2"), "{messages}");
    assert!(messages.contains("already in use"), "{messages}");
    assert_eq!(body["errors"][4]["value"], "700", "{body}");

    // The real run of the same file applies nothing.
    let (status, body) = upload(&app, &token, false, "text/csv", file.as_bytes().to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "import_failed");
    assert!(find(&app, &token, "ann").await.is_null());

    // Fixed, its dry run is clean, and the real run does what it said.
    let fixed = "email;userName;givenName;familyName;securityProfiles;routingProfile;agentId;personalPhoneNumber;skills\n\
        ann@acme.example;ann;Ann;Lee;Agent;Sales;;+442071234567;French:7\n\
        bob@acme.example;bob;Bob;Jones;Agent;Sales;;;French:10\n\
        cy@acme.example;cy;Cy;Park;Agent;Sales;;+442071234568;\n\
        di@acme.example;di;Di;Ro;Agent;Sales;701;;\n";
    let (status, dry) = upload(&app, &token, true, "text/csv", fixed.as_bytes().to_vec()).await;
    assert_eq!(status, StatusCode::OK, "{dry}");
    assert_eq!(dry["errors"], json!([]), "{dry}");
    let (status, body) = upload(&app, &token, false, "text/csv", fixed.as_bytes().to_vec()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["created"], 4, "{body}");
    let ann = find(&app, &token, "ann").await;
    assert_eq!(ann["name"]["givenName"], "Ann");
    assert_eq!(ann["displayName"], "Ann Lee");
    assert_eq!(ann["emails"][0]["value"], "ann@acme.example");
    assert_eq!(ann["personalPhoneNumber"], "+442071234567");
    assert_eq!(ann["routingProfile"], "Sales");
    assert_eq!(ann["managedBy"], "local");
    assert_eq!(find(&app, &token, "di").await["agentId"], "701");
}

#[tokio::test]
async fn an_xlsx_template_filled_in_and_uploaded_through_a_browser_form() {
    let app = TestApp::new().await;
    let token = setup(&app).await;
    let (status, headers, bytes) = app
        .dispatch_bytes(
            &token,
            Method::GET,
            "/admin/v1/users/import-template.xlsx",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some(XLSX_TYPE)
    );
    let template = table::read(Some(XLSX_TYPE), &bytes)
        .await
        .expect("a workbook");
    assert_eq!(template.headers[0], "email");
    assert!(template.rows.is_empty());

    // The admin fills in two rows: one good, one with a taken email and a bad licence.
    local_user(&app, &token, "taken@acme.example").await;
    let headers: Vec<&str> = template.headers.iter().map(String::as_str).collect();
    let row = |pairs: &[(&str, &str)]| -> Vec<String> {
        headers
            .iter()
            .map(|h| {
                pairs
                    .iter()
                    .find(|(k, _)| k == h)
                    .map_or(String::new(), |(_, v)| v.to_string())
            })
            .collect()
    };
    let filled = table::write_xlsx(
        &headers,
        &[
            row(&[
                ("email", "eve@acme.example"),
                ("givenName", "Eve"),
                ("licenceType", "AD+OCM"),
                ("telephonyRegion", "EMEA - Primary (11)"),
            ]),
            row(&[
                ("email", "fay@acme.example"),
                ("userName", "taken@acme.example"),
                ("licenceType", "Wizard"),
            ]),
        ],
        "Users",
    )
    .expect("xlsx");
    let boundary = "rollcallform";
    let mut form = Vec::new();
    form.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"users.xlsx\"\r\nContent-Type: {XLSX_TYPE}\r\n\r\n"
        )
        .as_bytes(),
    );
    form.extend_from_slice(&filled);
    form.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let (status, body) = upload(&app, &token, true, &content_type, form.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        errors(&body),
        [(3, "userName".to_string()), (3, "licenceType".to_string())],
        "{body}"
    );
    // The sheet's row numbers: the header is row 1.
    assert_eq!(body["rows"][0]["row"], 2);

    let fixed = table::write_xlsx(
        &headers,
        &[row(&[
            ("email", "eve@acme.example"),
            ("givenName", "Eve"),
            ("licenceType", "AD+OCM"),
            ("telephonyRegion", "EMEA - Primary (11)"),
        ])],
        "Users",
    )
    .expect("xlsx");
    let (status, body) = upload(&app, &token, false, XLSX_TYPE, fixed).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["created"], 1);
    let eve = find(&app, &token, "eve@acme.example").await;
    assert_eq!(eve["licenceType"], "AgentDesktopOutbound", "{eve}");
    assert_eq!(eve["telephonyRegion"], "EMEA Primary");
    assert!(
        eve["agentId"].is_string(),
        "an agent licence gives an agent id: {eve}"
    );
}

#[tokio::test]
async fn export_edit_and_re_upload_round_trip() {
    let app = TestApp::new().await;
    let token = setup(&app).await;
    // An IdP-managed user: its SSO-owned columns come back unchanged and are no change.
    let idp = app
        .create_user(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "ivy",
            "name": {"givenName": "Ivy", "familyName": "Stone"},
            "emails": [{"value": "ivy@acme.example", "primary": true}]
        }))
        .await["id"]
        .as_str()
        .expect("id")
        .to_string();
    patch_user(
        &app,
        &token,
        &idp,
        json!({"skills": [{"name": "French", "level": 3}], "interactionCapacity": {"mode": "custom", "voice": 100, "chat": 50}}),
    )
    .await
    .assert_admin_ok(200);

    let mut current = "French:3";
    for (format, content_type) in [("csv", "text/csv"), ("xlsx", XLSX_TYPE)] {
        let (status, headers, bytes) = app
            .dispatch_bytes(
                &token,
                Method::GET,
                &format!("/admin/v1/users/export.{format}?q=ivy"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            headers
                .get("content-disposition")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|d| d.contains(&format!("users.{format}"))),
            "{headers:?}"
        );
        let exported = table::read(Some(content_type), &bytes)
            .await
            .expect("export");
        assert_eq!(exported.rows.len(), 1, "{exported:?}");
        let col = |name: &str| exported.headers.iter().position(|h| h == name).expect(name);
        let cells = &exported.rows[0].cells;
        assert_eq!(cells[col("email")], "ivy@acme.example");
        assert_eq!(cells[col("givenName")], "Ivy");
        assert_eq!(cells[col("skills")], current);

        // Unchanged, it re-uploads as no change at all.
        let (status, body) = upload(&app, &token, true, content_type, bytes.clone()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["errors"], json!([]), "{body}");
        assert_eq!(body["rows"][0]["action"], "unchanged", "{body}");

        // Edited, it applies the edit.
        let mut rows = vec![cells.clone()];
        let level = if format == "csv" {
            "French:5"
        } else {
            "French:6"
        };
        rows[0][col("skills")] = level.into();
        let headers: Vec<&str> = exported.headers.iter().map(String::as_str).collect();
        let edited = match format {
            "csv" => table::write_csv(&headers, &rows),
            _ => table::write_xlsx(&headers, &rows, "Users").expect("xlsx"),
        };
        let (status, body) = upload(&app, &token, false, content_type, edited).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["updated"], 1, "{body}");
        let v = view(&app, &token, &idp).await;
        assert_eq!(
            v["skills"][0]["level"],
            level[7..].parse::<i64>().unwrap_or(0)
        );
        assert_eq!(
            v["interactionCapacity"],
            json!({"mode": "custom", "voice": 100, "chat": 50})
        );
        current = level;
    }

    // An SSO-owned column changed in the file is that row's error.
    let (_, _, bytes) = app
        .dispatch_bytes(
            &token,
            Method::GET,
            "/admin/v1/users/export.csv?q=ivy",
            None,
        )
        .await;
    let text = String::from_utf8(bytes)
        .expect("utf-8")
        .replace(",Ivy,", ",Ivan,");
    let (status, body) = upload(&app, &token, true, "text/csv", text.into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(errors(&body), [(2, "givenName".to_string())], "{body}");

    // Without ViewUsers there is no export.
    let (_, agent) = app.admin_token("agent", &["Agent"]).await;
    let (status, _, _) = app
        .dispatch_bytes(&agent, Method::GET, "/admin/v1/users/export.csv", None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
