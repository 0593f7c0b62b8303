//! Merge-patch edits, the ownership registry's refusals, and bulk edits.

use super::*;

// ---- editing users --------------------------------------------------------------------------

#[tokio::test]
async fn patch_of_sso_fields_on_an_idp_user_is_409_and_changes_nothing() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    seed_catalogs(&app, &boss).await;
    let body = app
        .create_user(json!({
            "schemas": [USER_SCHEMA, ENTERPRISE],
            "userName": "idp@acme.example",
            "name": {"givenName": "Ida", "familyName": "Park"},
            ENTERPRISE: {"department": "Support"}
        }))
        .await;
    let id = body["id"].as_str().unwrap();
    let before = view(&app, &boss, id).await;

    let r = patch_user(
        &app,
        &boss,
        id,
        json!({
            "name": {"givenName": "Idaho"},
            "department": "Sales",
            "routingProfile": "Inbound"
        }),
    )
    .await;
    r.assert_admin_error(409, "sso_owned_fields");
    let mut fields: Vec<String> = r.body["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect();
    fields.sort();
    assert_eq!(fields, vec!["department", "name.givenName"]);

    let after = view(&app, &boss, id).await;
    assert_eq!(after["name"]["givenName"], "Ida");
    assert_eq!(after["department"], "Support");
    assert!(after.get("routingProfile").is_none(), "{after}");
    assert_eq!(after["version"], before["version"]);

    // Each SSO-owned field alone is refused, naming it.
    let singles = [
        ("userName", json!("other@acme.example"), "userName"),
        ("displayName", json!("Ida P"), "displayName"),
        ("title", json!("Boss"), "title"),
        ("emails", json!([{"value": "x@acme.example"}]), "emails"),
        (
            "phoneNumbers",
            json!([{"value": "+15551234567"}]),
            "phoneNumbers",
        ),
        ("timezone", json!("Europe/Paris"), "timezone"),
        ("employeeNumber", json!("9"), "employeeNumber"),
        (
            "securityProfiles",
            json!(["Supervisor"]),
            "securityProfiles",
        ),
        ("active", json!(false), "active"),
    ];
    for (field, value, named) in singles {
        let mut body = json!({"licenceType": "Admin"});
        body[field] = value;
        let r = patch_user(&app, &boss, id, body).await;
        r.assert_admin_error(409, "sso_owned_fields");
        assert_eq!(r.body["fields"], json!([named]), "{field}: {}", r.body);
    }
    let after = view(&app, &boss, id).await;
    assert_eq!(after["version"], before["version"]);
    assert!(after.get("licenceType").is_none(), "{after}");
    assert_eq!(after["active"], true);
}

#[tokio::test]
async fn patch_of_locally_owned_fields_on_an_idp_user_succeeds() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    seed_catalogs(&app, &boss).await;
    let id = app.user("agent@acme.example").await;
    let r = patch_user(
        &app,
        &boss,
        &id,
        json!({
            "routingProfile": "Inbound",
            "agentHierarchy": "emea/london/team a",
            "licenceType": "admin",
            "skills": [{"name": "french", "level": 7}],
            "callbackNumbers": ["+442071234567"],
            "telephonyRegion": "EMEA Primary",
            "mediaLessMode": true,
            "interactionCapacity": {"mode": "custom", "voice": 100, "chat": 50}
        }),
    )
    .await;
    let body = r.assert_admin_ok(200).clone();
    assert_eq!(body["routingProfile"], "Inbound");
    let v = view(&app, &boss, &id).await;
    assert_eq!(v["managedBy"], "idp");
    assert_eq!(v["routingProfile"], "Inbound");
    assert_eq!(v["agentHierarchy"], "EMEA/London/Team A");
    assert_eq!(v["licenceType"], "Admin");
    assert_eq!(v["skills"], json!([{"name": "French", "level": 7}]));
    assert_eq!(v["callbackNumbers"], json!(["+442071234567"]));
    assert_eq!(v["telephonyRegion"], "EMEA Primary");
    assert_eq!(v["mediaLessMode"], true);
    assert_eq!(
        v["interactionCapacity"],
        json!({"mode": "custom", "voice": 100, "chat": 50})
    );
    assert_eq!(
        v["version"], body["version"],
        "the PATCH answer is the stored view"
    );

    // The SCIM view shows the locally-owned values (read-only there).
    let scim = app.fetch(&format!("/Users/{id}")).await;
    assert_eq!(scim[CONTACT_CENTRE]["routingProfile"], "Inbound", "{scim}");
    assert_eq!(scim[CONTACT_CENTRE]["licenceType"], "Admin");

    // Merge patch: null removes a value.
    let r = patch_user(&app, &boss, &id, json!({"routingProfile": null})).await;
    r.assert_admin_ok(200);
    let v = view(&app, &boss, &id).await;
    assert!(v.get("routingProfile").is_none(), "{v}");
    assert_eq!(v["licenceType"], "Admin");
}

#[tokio::test]
async fn patch_needs_the_permission_of_each_field() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    seed_catalogs(&app, &boss).await;
    catalog(
        &app,
        &boss,
        "security-profiles",
        json!({"name": "Editor", "permissions": ["ViewUsers", "EditUser"]}),
    )
    .await;
    catalog(
        &app,
        &boss,
        "security-profiles",
        json!({"name": "Router", "permissions": ["ViewUsers", "ManageRoutingSettings"]}),
    )
    .await;
    let (_, editor) = app.admin_token("editor", &["Editor"]).await;
    let (_, router) = app.admin_token("router", &["Router"]).await;
    let id = app.user("someone@acme.example").await;

    for (token, body, needs) in [
        (
            &editor,
            json!({"routingProfile": "Inbound"}),
            "ManageRoutingSettings",
        ),
        (
            &editor,
            json!({"skills": [{"name": "French", "level": 2}]}),
            "ManageRoutingSettings",
        ),
        (
            &editor,
            json!({"interactionCapacity": {"mode": "custom", "voice": 50}}),
            "ManageRoutingSettings",
        ),
        (&router, json!({"telephonyRegion": "Sydney"}), "EditUser"),
        (&router, json!({"agentId": "77"}), "EditUser"),
        (
            &router,
            json!({"callbackNumbers": ["+442071234567"]}),
            "EditUser",
        ),
        (&router, json!({"callRecordingControl": true}), "EditUser"),
        (&router, json!({"screenRecording": true}), "EditUser"),
        (
            &router,
            json!({"enforcedDispositionCodes": true}),
            "EditUser",
        ),
        (&router, json!({"licenceType": "Admin"}), "EditUser"),
        (
            &router,
            json!({"agentHierarchy": "EMEA/London/Team A"}),
            "EditUser",
        ),
        (&router, json!({"mediaLessMode": true}), "EditUser"),
        // One forbidden field refuses the whole body.
        (
            &router,
            json!({"routingProfile": "Inbound", "licenceType": "Admin"}),
            "EditUser",
        ),
    ] {
        let r = patch_user(&app, token, &id, body.clone()).await;
        r.assert_admin_error(403, "forbidden");
        assert!(detail(&r).contains(needs), "{body}: {}", r.body);
    }
    let v = view(&app, &boss, &id).await;
    for field in [
        "routingProfile",
        "skills",
        "agentId",
        "licenceType",
        "agentHierarchy",
    ] {
        assert!(v.get(field).is_none(), "{field} changed: {v}");
    }

    patch_user(&app, &editor, &id, json!({"licenceType": "Admin"}))
        .await
        .assert_admin_ok(200);
    patch_user(&app, &router, &id, json!({"routingProfile": "Inbound"}))
        .await
        .assert_admin_ok(200);
    let v = view(&app, &boss, &id).await;
    assert_eq!(v["licenceType"], "Admin");
    assert_eq!(v["routingProfile"], "Inbound");
}

#[tokio::test]
async fn patch_with_a_stale_if_match_is_412() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let id = app.user("etag@acme.example").await;
    let v1 = view(&app, &boss, &id).await["version"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .admin_with(
            &boss,
            Method::PATCH,
            &format!("/users/{id}"),
            Some(json!({"licenceType": "Admin"})),
            &[("if-match", &v1)],
        )
        .await;
    let v2 = r.assert_admin_ok(200)["version"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(v1, v2);
    let r = app
        .admin_with(
            &boss,
            Method::PATCH,
            &format!("/users/{id}"),
            Some(json!({"licenceType": "None"})),
            &[("if-match", &v1)],
        )
        .await;
    r.assert_admin_error(412, "precondition_failed");
    let v = view(&app, &boss, &id).await;
    assert_eq!(v["licenceType"], "Admin");
    assert_eq!(v["version"], v2.as_str());
    let r = app
        .admin_with(
            &boss,
            Method::PATCH,
            &format!("/users/{id}"),
            Some(json!({"licenceType": "None"})),
            &[("if-match", &v2)],
        )
        .await;
    r.assert_admin_ok(200);
    assert_eq!(view(&app, &boss, &id).await["licenceType"], "None");
}

#[tokio::test]
async fn patch_validation_errors_name_the_field_and_change_nothing() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    seed_catalogs(&app, &boss).await;
    let id = local_user(&app, &boss, "val").await;
    let cases = [
        (json!({"routingProfile": "Outbound"}), "routingProfile"),
        (json!({"agentHierarchy": "EMEA/Paris"}), "agentHierarchy"),
        (
            json!({"skills": [{"name": "Klingon", "level": 3}]}),
            "skills",
        ),
        (
            json!({"skills": [{"name": "French", "level": 11}]}),
            "skills",
        ),
        (
            json!({"skills": [{"name": "French", "level": 0}]}),
            "skills",
        ),
        (
            json!({"callbackNumbers": ["+15550001111"]}),
            "callbackNumbers",
        ),
        (json!({"securityProfiles": ["Ghost"]}), "securityProfiles"),
        (json!({"licenceType": "Premium"}), "licenceType"),
        (json!({"telephonyRegion": "Mars Base"}), "telephonyRegion"),
        (
            json!({"personalPhoneNumber": "+442071234568"}),
            "personalPhoneNumber",
        ),
        (
            json!({"interactionCapacity": {"mode": "custom", "voice": 101}}),
            "interactionCapacity",
        ),
        (
            json!({"interactionCapacity": {"mode": "sometimes"}}),
            "interactionCapacity",
        ),
        (json!({"name": {"givenName": "B@d"}}), "name.givenName"),
        (json!({"timezone": "Mars/Olympus_Mons"}), "timezone"),
    ];
    let before = view(&app, &boss, &id).await;
    for (body, field) in cases {
        let r = patch_user(&app, &boss, &id, body.clone()).await;
        r.assert_admin_error(400, "invalid_value");
        assert!(detail(&r).contains(field), "{body}: {}", r.body);
    }
    let after = view(&app, &boss, &id).await;
    assert_eq!(after["version"], before["version"]);
    for field in [
        "routingProfile",
        "agentHierarchy",
        "skills",
        "callbackNumbers",
        "licenceType",
        "personalPhoneNumber",
        "interactionCapacity",
        "timezone",
    ] {
        assert!(after.get(field).is_none(), "{field}: {after}");
    }
    assert_eq!(after["telephonyRegion"], "NAM East");
}

#[tokio::test]
async fn patch_of_unknown_or_read_only_view_fields_is_400() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let id = local_user(&app, &boss, "ro").await;
    let before = view(&app, &boss, &id).await;
    for body in [
        json!({"favouriteColour": "blue"}),
        json!({"managedBy": "idp"}),
        json!({"id": "other"}),
        json!({"groups": []}),
    ] {
        let r = patch_user(&app, &boss, &id, body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.body);
        assert!(r.body["error"].is_string(), "{}", r.body);
    }
    let r = app
        .admin_with(
            &boss,
            Method::PATCH,
            &format!("/users/{id}"),
            None,
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let after = view(&app, &boss, &id).await;
    assert_eq!(after["version"], before["version"]);
    assert_eq!(after["managedBy"], "local");
}

#[tokio::test]
async fn personal_phone_number_rules() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let a = local_user(&app, &boss, "pa").await;
    let b = local_user(&app, &boss, "pb").await;

    let r = patch_user(
        &app,
        &boss,
        &a,
        json!({"personalPhoneNumber": "+442071234567"}),
    )
    .await;
    r.assert_admin_error(400, "invalid_value");
    assert!(detail(&r).contains("personalPhoneNumber"), "{}", r.body);

    settings(&app, &boss, json!({"directToAgentDialling": true})).await;
    for bad in [
        "02071234567",
        "+0442071234567",
        "+44 20 7123 4567",
        "+1234567890123456",
    ] {
        let r = patch_user(&app, &boss, &a, json!({"personalPhoneNumber": bad})).await;
        r.assert_admin_error(400, "invalid_value");
        assert!(
            detail(&r).contains("personalPhoneNumber"),
            "{bad}: {}",
            r.body
        );
    }
    patch_user(
        &app,
        &boss,
        &a,
        json!({"personalPhoneNumber": "+442071234567"}),
    )
    .await
    .assert_admin_ok(200);
    assert_eq!(
        view(&app, &boss, &a).await["personalPhoneNumber"],
        "+442071234567"
    );

    let r = patch_user(
        &app,
        &boss,
        &b,
        json!({"personalPhoneNumber": "+442071234567"}),
    )
    .await;
    r.assert_admin_error(409, "uniqueness");
    assert!(
        view(&app, &boss, &b)
            .await
            .get("personalPhoneNumber")
            .is_none()
    );
}

#[tokio::test]
async fn webrtc_needs_a_fallback_number_unique_in_the_tenant_or_the_agents_own_id() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let a = local_user(&app, &boss, "wa").await;
    let b = local_user(&app, &boss, "wb").await;
    // WebRTC is not tied to direct-to-agent dialling (off in this tenant).
    let r = patch_user(&app, &boss, &a, json!({"webRtcEnabled": true})).await;
    r.assert_admin_error(400, "invalid_value");
    assert!(detail(&r).contains("webRtcFallbackNumber"), "{}", r.body);
    assert!(view(&app, &boss, &a).await.get("webRtcEnabled").is_none());

    for bad in ["12345", "02071234567", "+44 20 7123 4567"] {
        let r = patch_user(
            &app,
            &boss,
            &a,
            json!({"webRtcEnabled": true, "webRtcFallbackNumber": bad}),
        )
        .await;
        r.assert_admin_error(400, "invalid_value");
        assert!(
            detail(&r).contains("webRtcFallbackNumber"),
            "{bad}: {}",
            r.body
        );
    }

    let v = patch_user(
        &app,
        &boss,
        &a,
        json!({"webRtcEnabled": true, "webRtcFallbackNumber": "+442071234567"}),
    )
    .await
    .assert_admin_ok(200)
    .clone();
    assert_eq!(v["webRtcFallbackNumber"], "+442071234567");
    assert!(v.get("personalPhoneNumber").is_none(), "{v}");

    // Unique in the tenant.
    let r = patch_user(
        &app,
        &boss,
        &b,
        json!({"webRtcEnabled": true, "webRtcFallbackNumber": "+442071234567"}),
    )
    .await;
    r.assert_admin_error(409, "uniqueness");
    assert!(detail(&r).contains("webRtcFallbackNumber"), "{}", r.body);
    assert!(view(&app, &boss, &b).await.get("webRtcEnabled").is_none());

    // An agent who only uses WebRTC may use its own agent ID — not another agent's.
    patch_user(&app, &boss, &b, json!({"agentId": "7001"}))
        .await
        .assert_admin_ok(200);
    patch_user(&app, &boss, &a, json!({"agentId": "7002"}))
        .await
        .assert_admin_ok(200);
    let r = patch_user(
        &app,
        &boss,
        &b,
        json!({"webRtcEnabled": true, "webRtcFallbackNumber": "7002"}),
    )
    .await;
    r.assert_admin_error(400, "invalid_value");
    let v = patch_user(
        &app,
        &boss,
        &b,
        json!({"webRtcEnabled": true, "webRtcFallbackNumber": "7001"}),
    )
    .await
    .assert_admin_ok(200)
    .clone();
    assert_eq!(v["webRtcFallbackNumber"], "7001");

    // Removing the number while WebRTC is on is refused; turning WebRTC off frees it.
    let r = patch_user(&app, &boss, &a, json!({"webRtcFallbackNumber": null})).await;
    r.assert_admin_error(400, "invalid_value");
    assert_eq!(
        view(&app, &boss, &a).await["webRtcFallbackNumber"],
        "+442071234567"
    );
    patch_user(
        &app,
        &boss,
        &a,
        json!({"webRtcEnabled": false, "webRtcFallbackNumber": null}),
    )
    .await
    .assert_admin_ok(200);

    // Over SCIM the number is read-only and advertised as unique.
    let schemas = app.fetch("/Schemas").await;
    let text = schemas.to_string();
    assert!(text.contains("webRtcFallbackNumber"), "not in /Schemas");
}

#[tokio::test]
async fn agent_ids_are_unique_in_the_tenant() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let a = local_user(&app, &boss, "aa").await;
    let b = local_user(&app, &boss, "ab").await;
    patch_user(&app, &boss, &a, json!({"agentId": "555"}))
        .await
        .assert_admin_ok(200);
    let r = patch_user(&app, &boss, &b, json!({"agentId": "555"})).await;
    r.assert_admin_error(409, "uniqueness");
    assert!(view(&app, &boss, &b).await.get("agentId").is_none());
    assert_eq!(view(&app, &boss, &a).await["agentId"], "555");
}

#[tokio::test]
async fn agent_licence_assigns_the_next_free_agent_id() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let first = local_user(&app, &boss, "first").await;
    patch_user(&app, &boss, &first, json!({"licenceType": "AgentDesktop"}))
        .await
        .assert_admin_ok(200);
    assert_eq!(view(&app, &boss, &first).await["agentId"], "1000");

    settings(&app, &boss, json!({"agentIdStart": 2000})).await;
    let a = local_user(&app, &boss, "a").await;
    let b = local_user(&app, &boss, "b").await;
    let c = local_user(&app, &boss, "c").await;
    let d = local_user(&app, &boss, "d").await;
    patch_user(&app, &boss, &a, json!({"agentId": "2000"}))
        .await
        .assert_admin_ok(200);
    patch_user(&app, &boss, &b, json!({"licenceType": "AgentDesktop"}))
        .await
        .assert_admin_ok(200);
    patch_user(
        &app,
        &boss,
        &c,
        json!({"licenceType": "AgentDesktopOutbound"}),
    )
    .await
    .assert_admin_ok(200);
    patch_user(&app, &boss, &d, json!({"licenceType": "Admin"}))
        .await
        .assert_admin_ok(200);
    assert_eq!(view(&app, &boss, &b).await["agentId"], "2001");
    assert_eq!(view(&app, &boss, &c).await["agentId"], "2002");
    assert!(view(&app, &boss, &d).await.get("agentId").is_none());
    // An agent keeps its id when its licence changes again.
    patch_user(
        &app,
        &boss,
        &b,
        json!({"licenceType": "AgentDesktopOutbound"}),
    )
    .await
    .assert_admin_ok(200);
    assert_eq!(view(&app, &boss, &b).await["agentId"], "2001");

    // Creation with an agent licence gets one too.
    let r = app
        .admin(
            &boss,
            Method::POST,
            "/users",
            Some(json!({"userName": "e", "securityProfiles": ["Agent"], "licenceType": "AgentDesktop"})),
        )
        .await;
    assert_eq!(r.assert_admin_ok(201)["agentId"], "2003");
}

#[tokio::test]
async fn agent_hierarchy_required_on_local_surfaces() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    seed_catalogs(&app, &boss).await;
    let id = local_user(&app, &boss, "h").await;
    settings(&app, &boss, json!({"agentHierarchyRequired": true})).await;

    // A user that predates the rule is not blocked from unrelated edits; the gap shows
    // as a warning in its view.
    let v = patch_user(&app, &boss, &id, json!({"mediaLessMode": true}))
        .await
        .assert_admin_ok(200)
        .clone();
    assert_eq!(v["mediaLessMode"], true);
    let warnings = v["warnings"].as_array().cloned().unwrap_or_default();
    assert!(
        warnings.iter().any(|w| w["field"] == "agentHierarchy"),
        "{v}"
    );
    patch_user(
        &app,
        &boss,
        &id,
        json!({"agentHierarchy": "EMEA/London/Team A"}),
    )
    .await
    .assert_admin_ok(200);
    // An edit that would break the rule is refused.
    let r = patch_user(&app, &boss, &id, json!({"agentHierarchy": null})).await;
    r.assert_admin_error(400, "invalid_value");
    assert!(detail(&r).contains("agentHierarchy"), "{}", r.body);
    let v = view(&app, &boss, &id).await;
    assert_eq!(v["agentHierarchy"], "EMEA/London/Team A");
    assert_eq!(v["warnings"], json!([]), "{v}");

    let r = app
        .admin(
            &boss,
            Method::POST,
            "/users",
            Some(json!({"userName": "h2", "securityProfiles": ["Agent"]})),
        )
        .await;
    r.assert_admin_error(400, "invalid_value");
    assert!(detail(&r).contains("agentHierarchy"), "{}", r.body);

    let r = app
        .admin(
            &boss,
            Method::POST,
            "/users",
            Some(json!({"userName": "h3", "securityProfiles": ["Agent"], "agentHierarchy": "EMEA/London/Team A"})),
        )
        .await;
    assert_eq!(
        r.assert_admin_ok(201)["agentHierarchy"],
        "EMEA/London/Team A"
    );

    patch_user(&app, &boss, &id, json!({"licenceType": "Admin"}))
        .await
        .assert_admin_ok(200);
    assert_eq!(view(&app, &boss, &id).await["licenceType"], "Admin");
}

#[tokio::test]
async fn act_as_agent_once_granted_is_never_revoked() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let id = local_user(&app, &boss, "acting").await;
    patch_user(&app, &boss, &id, json!({"allowActAsAgent": true}))
        .await
        .assert_admin_ok(200);
    let v = view(&app, &boss, &id).await;
    assert_eq!(v["allowActAsAgent"], true);
    assert_eq!(v["actAsAgentGranted"], true);

    patch_user(&app, &boss, &id, json!({"allowActAsAgent": false}))
        .await
        .assert_admin_ok(200);
    let v = view(&app, &boss, &id).await;
    assert_eq!(v["allowActAsAgent"], false);
    assert_eq!(v["actAsAgentGranted"], true);

    let r = patch_user(&app, &boss, &id, json!({"actAsAgentGranted": false})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(
        r.body["error"].is_string() && !detail(&r).is_empty(),
        "{}",
        r.body
    );
    let v = view(&app, &boss, &id).await;
    assert_eq!(v["actAsAgentGranted"], true);

    // Removing it by merge-patch null does not revoke it either.
    let _ = patch_user(&app, &boss, &id, json!({"actAsAgentGranted": null})).await;
    assert_eq!(view(&app, &boss, &id).await["actAsAgentGranted"], true);
}

// ---- bulk edits -----------------------------------------------------------------------------

#[tokio::test]
async fn bulk_edit_sets_locally_owned_fields_on_every_user() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    seed_catalogs(&app, &boss).await;
    let a = local_user(&app, &boss, "ba").await;
    let b = local_user(&app, &boss, "bb").await;
    let c = app.user("bc@acme.example").await;
    let r = app
        .admin(
            &boss,
            Method::PATCH,
            "/users",
            Some(json!({
                "ids": [a, b, c],
                "set": {"routingProfile": "Inbound", "licenceType": "Admin"}
            })),
        )
        .await;
    let body = r.assert_admin_ok(200);
    assert_eq!(body["updated"], 3, "{body}");
    assert_eq!(body["ids"], json!([a, b, c]));
    for id in [&a, &b, &c] {
        let v = view(&app, &boss, id).await;
        assert_eq!(v["routingProfile"], "Inbound", "{v}");
        assert_eq!(v["licenceType"], "Admin", "{v}");
    }
}

#[tokio::test]
async fn bulk_edit_with_any_failure_changes_no_one() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    seed_catalogs(&app, &boss).await;
    let local = local_user(&app, &boss, "loc").await;
    let idp = app.user("idp@acme.example").await;

    // An SSO-owned field fails the IdP user only; the local user is not changed either.
    let r = app
        .admin(
            &boss,
            Method::PATCH,
            "/users",
            Some(
                json!({"ids": [local, idp], "set": {"department": "Ops", "licenceType": "Admin"}}),
            ),
        )
        .await;
    r.assert_admin_error(400, "bulk_failed");
    let failures = r.body["failures"].as_array().expect("failures");
    assert_eq!(failures.len(), 1, "{}", r.body);
    assert_eq!(failures[0]["id"], idp.as_str());
    assert_eq!(failures[0]["error"], "sso_owned_fields");
    assert!(
        failures[0]["detail"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
    );
    let v = view(&app, &boss, &local).await;
    assert!(v.get("department").is_none(), "{v}");
    assert!(v.get("licenceType").is_none(), "{v}");

    // A bad value fails every user.
    let r = app
        .admin(
            &boss,
            Method::PATCH,
            "/users",
            Some(json!({"ids": [local, idp], "set": {"routingProfile": "Nowhere"}})),
        )
        .await;
    r.assert_admin_error(400, "bulk_failed");
    let failures = r.body["failures"].as_array().expect("failures");
    assert_eq!(failures.len(), 2, "{}", r.body);
    for f in failures {
        assert_eq!(f["error"], "invalid_value", "{f}");
        assert!(
            f["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("routingProfile")
        );
    }

    // An unknown id fails.
    let r = app
        .admin(
            &boss,
            Method::PATCH,
            "/users",
            Some(json!({"ids": [local, "no-such-user"], "set": {"licenceType": "Admin"}})),
        )
        .await;
    r.assert_admin_error(400, "bulk_failed");
    assert_eq!(r.body["failures"][0]["id"], "no-such-user", "{}", r.body);
    for id in [&local, &idp] {
        let v = view(&app, &boss, id).await;
        assert!(v.get("routingProfile").is_none(), "{v}");
        assert!(v.get("licenceType").is_none(), "{v}");
    }
}

#[tokio::test]
async fn bulk_edit_giving_two_users_one_agent_id_changes_no_one() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let a = local_user(&app, &boss, "x").await;
    let b = local_user(&app, &boss, "y").await;
    let r = app
        .admin(
            &boss,
            Method::PATCH,
            "/users",
            Some(json!({"ids": [a, b], "set": {"agentId": "42"}})),
        )
        .await;
    // An agent id is each user's own: a bulk edit of several users cannot set one.
    r.assert_admin_error(400, "invalid_value");
    assert_eq!(r.body["fields"], json!(["agentId"]), "{}", r.body);
    for id in [&a, &b] {
        assert!(view(&app, &boss, id).await.get("agentId").is_none());
    }
}
