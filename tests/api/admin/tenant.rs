//! Settings, credentials, the audit log and the OpenAPI document.

use super::*;

// ---- settings -------------------------------------------------------------------------------

#[tokio::test]
async fn settings_read_and_merge_patch() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let r = app.admin(&boss, Method::GET, "/settings", None).await;
    assert_eq!(
        r.assert_admin_ok(200),
        &json!({
            "idpManaged": false,
            "agentHierarchyRequired": false,
            "directToAgentDialling": false,
            "provisioningTemplateUser": null,
            "agentIdStart": 1000,
            "rateLimit": null,
            "uniquePrimaryEmail": true,
            "deprovisionBrake": true,
            "deprovisionBrakePercent": 10,
            "deprovisionBrakeMinimum": 50,
            "deprovisionBrakeWindowMinutes": 60
        })
    );
    let r = app
        .admin(
            &boss,
            Method::PATCH,
            "/settings",
            Some(json!({"agentIdStart": 5000, "directToAgentDialling": true})),
        )
        .await;
    assert_eq!(r.assert_admin_ok(200)["agentIdStart"], 5000);
    let r = app.admin(&boss, Method::GET, "/settings", None).await;
    let s = r.assert_admin_ok(200);
    assert_eq!(s["agentIdStart"], 5000);
    assert_eq!(s["directToAgentDialling"], true);
    assert_eq!(s["idpManaged"], false);

    for bad in [
        json!({"colour": "blue"}),
        json!({"agentIdStart": "lots"}),
        json!({"agentIdStart": 0}),
        json!({"idpManaged": "yes"}),
        json!({"provisioningTemplateUser": "no-such-user"}),
    ] {
        let r = app
            .admin(&boss, Method::PATCH, "/settings", Some(bad.clone()))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.body);
        assert!(r.body["error"].is_string(), "{}", r.body);
    }
    let r = app.admin(&boss, Method::GET, "/settings", None).await;
    let s = r.assert_admin_ok(200);
    assert_eq!(s["agentIdStart"], 5000);
    assert_eq!(s["idpManaged"], false);
    assert_eq!(s["provisioningTemplateUser"], Value::Null);
}

// ---- credentials ----------------------------------------------------------------------------

#[tokio::test]
async fn credentials_are_listed_without_secrets_and_revoked_at_once() {
    let app = TestApp::new().await;
    let (boss_id, boss_cred, boss) = app.admin_credential("boss", &["Administrator"]).await;
    let (sup_id, sup_cred, sup) = app.admin_credential("sup", &["Supervisor"]).await;
    let r = app.admin(&boss, Method::GET, "/credentials", None).await;
    let body = r.assert_admin_ok(200).clone();
    let items = body["items"].as_array().expect("items");
    assert_eq!(items.len(), 3, "{body}");
    let text = body.to_string();
    for secret in [&app.token, &boss, &sup] {
        assert!(!text.contains(secret.as_str()), "a secret leaked: {text}");
    }
    for item in items {
        let keys: Vec<&String> = item.as_object().unwrap().keys().collect();
        assert!(
            !keys
                .iter()
                .any(|k| k.to_lowercase().contains("secret") || k.to_lowercase().contains("hash")),
            "{item}"
        );
    }
    assert_eq!(items.iter().filter(|i| i["kind"] == "scim").count(), 1);
    let boss_item = items
        .iter()
        .find(|i| i["id"] == boss_cred.as_str())
        .expect("boss");
    assert_eq!(boss_item["kind"], "user");
    assert_eq!(boss_item["userId"], boss_id.as_str());
    assert!(boss_item["name"].is_string());
    let sup_item = items
        .iter()
        .find(|i| i["id"] == sup_cred.as_str())
        .expect("sup");
    assert_eq!(sup_item["userId"], sup_id.as_str());

    let r = app.admin(&sup, Method::GET, "/credentials", None).await;
    r.assert_admin_error(403, "forbidden");
    assert!(detail(&r).contains("ManageCredentials"));

    app.admin(&sup, Method::GET, "/users", None)
        .await
        .assert_admin_ok(200);
    let r = app
        .admin(
            &boss,
            Method::DELETE,
            &format!("/credentials/{sup_cred}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    app.admin(&sup, Method::GET, "/users", None)
        .await
        .assert_admin_error(401, "unauthorized");
    let r = app.admin(&boss, Method::GET, "/credentials", None).await;
    assert_eq!(r.assert_admin_ok(200)["items"].as_array().unwrap().len(), 2);

    let r = app
        .admin(
            &boss,
            Method::DELETE,
            &format!("/credentials/{sup_cred}"),
            None,
        )
        .await;
    r.assert_admin_error(404, "not_found");

    // Revoking the SCIM token ends provisioning at once.
    let scim_id = items
        .iter()
        .find(|i| i["kind"] == "scim")
        .and_then(|i| i["id"].as_str())
        .unwrap()
        .to_string();
    app.get("/Users").await.assert_ok(200);
    let r = app
        .admin(
            &boss,
            Method::DELETE,
            &format!("/credentials/{scim_id}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(app.get("/Users").await.status, StatusCode::UNAUTHORIZED);
}

// ---- audit ----------------------------------------------------------------------------------

fn audit_key(attr: &str) -> String {
    format!("{CONTACT_CENTRE}:{attr}")
}

#[tokio::test]
async fn audit_records_admin_changes_with_actor_and_diff() {
    let app = TestApp::new().await;
    let (boss_id, boss_cred, boss) = app.admin_credential("boss", &["Administrator"]).await;
    seed_catalogs(&app, &boss).await;
    let id = app.user("audited@acme.example").await;
    patch_user(&app, &boss, &id, json!({"routingProfile": "Inbound"}))
        .await
        .assert_admin_ok(200);
    patch_user(
        &app,
        &boss,
        &id,
        json!({"routingProfile": null, "licenceType": "Admin"}),
    )
    .await
    .assert_admin_ok(200);

    let r = app
        .admin(&boss, Method::GET, &format!("/audit?target={id}"), None)
        .await;
    let body = r.assert_admin_ok(200).clone();
    assert_eq!(body["totalResults"], 3, "{body}");
    let items = body["items"].as_array().unwrap();
    // Newest first.
    assert_eq!(items[2]["action"], "user.create");
    assert_eq!(items[2]["actor"]["kind"], "scim");
    let latest = &items[0];
    assert!(
        latest["action"] == "user.update" || latest["action"] == "user.patch",
        "{latest}"
    );
    assert_eq!(latest["actor"]["kind"], "admin");
    assert_eq!(latest["actor"]["userId"], boss_id.as_str());
    assert_eq!(latest["actor"]["credentialId"], boss_cred.as_str());
    assert_eq!(latest["target"], json!({"type": "user", "id": id}));
    assert!(latest["id"].is_string() || latest["id"].is_number());
    assert!(latest["at"].as_str().is_some_and(|t| t.contains('T')));
    let changes = latest["changes"].as_object().expect("changes");
    assert_eq!(
        changes.get(&audit_key("routingProfile")),
        Some(&json!({"before": "Inbound", "after": null})),
        "{latest}"
    );
    assert_eq!(
        changes.get(&audit_key("licenceType")),
        Some(&json!({"before": null, "after": "Admin"})),
        "{latest}"
    );
    assert_eq!(changes.len(), 2, "only changed attributes: {latest}");
    assert_eq!(
        items[1]["changes"][audit_key("routingProfile")],
        json!({"before": null, "after": "Inbound"})
    );

    // A refused change leaves no record.
    patch_user(&app, &boss, &id, json!({"title": "x"}))
        .await
        .assert_admin_error(409, "sso_owned_fields");
    let r = app
        .admin(&boss, Method::GET, &format!("/audit?target={id}"), None)
        .await;
    assert_eq!(r.assert_admin_ok(200)["totalResults"], 3);
}

#[tokio::test]
async fn audit_filters_by_actor_and_time_and_pages() {
    let app = TestApp::new().await;
    let (boss_id, boss) = app.admin_token("boss", &["Administrator"]).await;
    let (sup_id, sup) = app.admin_token("sup", &["Supervisor"]).await;
    let a = local_user(&app, &boss, "a").await;
    let b = local_user(&app, &boss, "b").await;
    for id in [&a, &b] {
        app.admin(&sup, Method::POST, &format!("/users/{id}/archive"), None)
            .await
            .assert_admin_ok(200);
    }

    let r = app
        .admin(&boss, Method::GET, &format!("/audit?actor={sup_id}"), None)
        .await;
    let body = r.assert_admin_ok(200).clone();
    assert_eq!(body["totalResults"], 2, "{body}");
    let targets: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            assert_eq!(i["action"], "user.archive");
            assert_eq!(i["actor"]["userId"], sup_id.as_str());
            i["target"]["id"].as_str().unwrap()
        })
        .collect();
    assert_eq!(targets, vec![b.as_str(), a.as_str()], "newest first");

    let r = app
        .admin(&boss, Method::GET, &format!("/audit?actor={boss_id}"), None)
        .await;
    let body = r.assert_admin_ok(200);
    assert_eq!(body["totalResults"], 2, "{body}");
    assert!(
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["action"] == "user.create")
    );

    let r = app
        .admin(
            &boss,
            Method::GET,
            &format!("/audit?actor={sup_id}&startIndex=2&count=1"),
            None,
        )
        .await;
    let body = r.assert_admin_ok(200);
    assert_eq!(body["totalResults"], 2);
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    assert_eq!(body["items"][0]["target"]["id"], a.as_str());

    let r = app
        .admin(
            &boss,
            Method::GET,
            &format!("/audit?since={}", q("2999-01-01T00:00:00Z")),
            None,
        )
        .await;
    let body = r.assert_admin_ok(200);
    assert_eq!(body["totalResults"], 0);
    assert_eq!(body["items"], json!([]));
    let r = app
        .admin(
            &boss,
            Method::GET,
            &format!("/audit?until={}", q("2000-01-01T00:00:00Z")),
            None,
        )
        .await;
    assert_eq!(r.assert_admin_ok(200)["totalResults"], 0);
    let r = app
        .admin(
            &boss,
            Method::GET,
            &format!(
                "/audit?actor={sup_id}&since={}&until={}",
                q("2000-01-01T00:00:00Z"),
                q("2999-01-01T00:00:00+01:00")
            ),
            None,
        )
        .await;
    assert_eq!(r.assert_admin_ok(200)["totalResults"], 2);

    let r = app
        .admin(&boss, Method::GET, "/audit?since=yesterday", None)
        .await;
    r.assert_admin_error(400, "invalid_value");
    assert!(detail(&r).contains("since"), "{}", r.body);
}

// ---- OpenAPI --------------------------------------------------------------------------------

#[tokio::test]
async fn openapi_document_describes_the_admin_api() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let r = app.admin(&boss, Method::GET, "/openapi.json", None).await;
    let doc = r.assert_admin_ok(200);
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{doc}"
    );
    let paths = doc["paths"].as_object().expect("paths");
    for path in ["/users", "/users/{id}", "/settings", "/audit"] {
        assert!(paths.contains_key(path), "{path}: {:?}", paths.keys());
    }
    assert!(paths["/users/{id}"]["patch"].is_object());
}
