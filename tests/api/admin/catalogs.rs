//! The catalogs: security profiles, routing profiles, hierarchy, skills, callback numbers.

use super::*;

// ---- catalogs -------------------------------------------------------------------------------

#[tokio::test]
async fn catalogs_create_list_rename_and_delete() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;

    let r = app
        .admin(&boss, Method::GET, "/security-profiles", None)
        .await;
    let names: Vec<&str> = r.assert_admin_ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    for seeded in ["Administrator", "Supervisor", "Agent"] {
        assert!(names.contains(&seeded), "{names:?}");
    }

    let cases = [
        (
            "security-profiles",
            "name",
            json!({"name": "Auditor", "permissions": ["ViewUsers"]}),
            json!({"name": "Auditors"}),
        ),
        (
            "routing-profiles",
            "name",
            json!({"name": "Inbound"}),
            json!({"name": "Inbound EMEA"}),
        ),
        (
            "hierarchy",
            "path",
            json!({"path": "EMEA/London/Team A"}),
            json!({"path": "EMEA/London/Team B"}),
        ),
        (
            "skills",
            "name",
            json!({"name": "French"}),
            json!({"name": "German"}),
        ),
        (
            "callback-numbers",
            "number",
            json!({"number": "+442071234567", "label": "London"}),
            json!({"number": "+442071234500"}),
        ),
    ];
    for (segment, field, body, rename) in cases {
        let path = format!("/{segment}");
        let r = app
            .admin(&boss, Method::POST, &path, Some(body.clone()))
            .await;
        let created = r.assert_admin_ok(201).clone();
        let id = created["id"].as_str().expect("id").to_string();
        assert_eq!(created[field], body[field], "{segment}: {created}");

        let r = app
            .admin(&boss, Method::POST, &path, Some(body.clone()))
            .await;
        r.assert_admin_error(409, "uniqueness");

        let r = app.admin(&boss, Method::GET, &path, None).await;
        let items = r.assert_admin_ok(200)["items"].as_array().unwrap().clone();
        assert_eq!(
            items.iter().filter(|i| i["id"] == id.as_str()).count(),
            1,
            "{segment}: {items:?}"
        );
        let listed = items.iter().find(|i| i["id"] == id.as_str()).unwrap();
        assert_eq!(listed[field], body[field]);
        if segment == "security-profiles" {
            assert_eq!(listed["permissions"], json!(["ViewUsers"]));
        }
        if segment == "callback-numbers" {
            assert_eq!(listed["label"], "London");
        }

        let r = app
            .admin(
                &boss,
                Method::PATCH,
                &format!("{path}/{id}"),
                Some(rename.clone()),
            )
            .await;
        assert_eq!(r.assert_admin_ok(200)[field], rename[field], "{segment}");
        let r = app.admin(&boss, Method::GET, &path, None).await;
        let listed = r.assert_admin_ok(200)["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == id.as_str())
            .cloned()
            .expect("still listed");
        assert_eq!(listed[field], rename[field], "{segment}");

        let r = app
            .admin(&boss, Method::DELETE, &format!("{path}/{id}"), None)
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{segment}: {}", r.body);
        let r = app.admin(&boss, Method::GET, &path, None).await;
        assert!(
            !r.assert_admin_ok(200)["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["id"] == id.as_str()),
            "{segment}"
        );
        let r = app
            .admin(&boss, Method::DELETE, &format!("{path}/{id}"), None)
            .await;
        r.assert_admin_error(404, "not_found");
    }
}

#[tokio::test]
async fn catalog_entries_in_use_cannot_be_deleted() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let routing = catalog(&app, &boss, "routing-profiles", json!({"name": "Inbound"})).await;
    let node = catalog(&app, &boss, "hierarchy", json!({"path": "EMEA/London"})).await;
    let skill = catalog(&app, &boss, "skills", json!({"name": "French"})).await;
    let number = catalog(
        &app,
        &boss,
        "callback-numbers",
        json!({"number": "+442071234567"}),
    )
    .await;
    let profile = catalog(
        &app,
        &boss,
        "security-profiles",
        json!({"name": "Team lead", "permissions": ["ViewUsers"]}),
    )
    .await;
    let a = local_user(&app, &boss, "ua").await;
    let b = local_user(&app, &boss, "ub").await;
    let set = json!({
        "routingProfile": "Inbound",
        "agentHierarchy": "EMEA/London",
        "skills": [{"name": "French", "level": 5}],
        "callbackNumbers": ["+442071234567"],
        "securityProfiles": ["Team lead"]
    });
    for id in [&a, &b] {
        patch_user(&app, &boss, id, set.clone())
            .await
            .assert_admin_ok(200);
    }
    let entries = [
        ("routing-profiles", &routing, "routingProfile"),
        ("hierarchy", &node, "agentHierarchy"),
        ("skills", &skill, "skills"),
        ("callback-numbers", &number, "callbackNumbers"),
        ("security-profiles", &profile, "securityProfiles"),
    ];
    for (segment, id, _) in entries {
        let r = app
            .admin(&boss, Method::DELETE, &format!("/{segment}/{id}"), None)
            .await;
        r.assert_admin_error(409, "in_use");
        assert!(detail(&r).contains("2 user(s)"), "{segment}: {}", r.body);
    }
    // One user fewer: the count follows.
    let clear = json!({
        "routingProfile": null,
        "agentHierarchy": null,
        "skills": null,
        "callbackNumbers": null,
        "securityProfiles": null
    });
    patch_user(&app, &boss, &a, clear.clone())
        .await
        .assert_admin_ok(200);
    for (segment, id, _) in entries {
        let r = app
            .admin(&boss, Method::DELETE, &format!("/{segment}/{id}"), None)
            .await;
        r.assert_admin_error(409, "in_use");
        assert!(detail(&r).contains("1 user(s)"), "{segment}: {}", r.body);
    }
    patch_user(&app, &boss, &b, clear)
        .await
        .assert_admin_ok(200);
    for (segment, id, attr) in entries {
        let r = app
            .admin(&boss, Method::DELETE, &format!("/{segment}/{id}"), None)
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{segment}: {}", r.body);
        // The entry is gone, so users may no longer name it.
        let r = patch_user(&app, &boss, &a, json!({attr: set[attr].clone()})).await;
        r.assert_admin_error(400, "invalid_value");
    }
}

#[tokio::test]
async fn catalog_renames_of_entries_in_use_are_refused() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let routing = catalog(&app, &boss, "routing-profiles", json!({"name": "Inbound"})).await;
    let a = local_user(&app, &boss, "ua").await;
    patch_user(&app, &boss, &a, json!({"routingProfile": "Inbound"}))
        .await
        .assert_admin_ok(200);
    let r = app
        .admin(
            &boss,
            Method::PATCH,
            &format!("/routing-profiles/{routing}"),
            Some(json!({"name": "Outbound"})),
        )
        .await;
    r.assert_admin_error(409, "in_use");
    assert_eq!(view(&app, &boss, &a).await["routingProfile"], "Inbound");
}

#[tokio::test]
async fn catalog_writes_need_their_permission() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let (_, sup) = app.admin_token("sup", &["Supervisor"]).await;
    let (_, agent) = app.admin_token("agent", &["Agent"]).await;
    for segment in ["routing-profiles", "skills"] {
        catalog(&app, &sup, segment, json!({"name": format!("{segment} 1")})).await;
    }
    catalog(&app, &sup, "hierarchy", json!({"path": "NAM/Austin"})).await;
    catalog(
        &app,
        &sup,
        "callback-numbers",
        json!({"number": "+15125550100"}),
    )
    .await;

    let r = app
        .admin(
            &sup,
            Method::POST,
            "/security-profiles",
            Some(json!({"name": "Root", "permissions": ["ManageSettings"]})),
        )
        .await;
    r.assert_admin_error(403, "forbidden");
    assert!(detail(&r).contains("ManageSecurityProfiles"), "{}", r.body);

    for segment in [
        "routing-profiles",
        "skills",
        "hierarchy",
        "callback-numbers",
    ] {
        let r = app
            .admin(&agent, Method::GET, &format!("/{segment}"), None)
            .await;
        r.assert_admin_error(403, "forbidden");
        let r = app
            .admin(
                &agent,
                Method::POST,
                &format!("/{segment}"),
                Some(json!({"name": "x", "path": "x", "number": "+15125550199"})),
            )
            .await;
        r.assert_admin_error(403, "forbidden");
        assert!(detail(&r).contains("ManageRoutingSettings"), "{}", r.body);
    }
    let r = app
        .admin(&boss, Method::GET, "/security-profiles", None)
        .await;
    assert!(
        !r.assert_admin_ok(200)["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["name"] == "Root")
    );
    let r = app.admin(&boss, Method::GET, "/skills", None).await;
    assert_eq!(r.assert_admin_ok(200)["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn catalog_bodies_are_validated() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let cases = [
        ("callback-numbers", json!({"number": "020 7123 4567"})),
        (
            "security-profiles",
            json!({"name": "P", "permissions": ["FlyPlanes"]}),
        ),
        ("hierarchy", json!({"path": "EMEA//London"})),
        ("hierarchy", json!({"path": "a/b/c/d/e/f"})),
        ("skills", json!({"name": ""})),
        ("skills", json!({"name": "French", "colour": "blue"})),
        ("routing-profiles", json!({})),
    ];
    for (segment, body) in cases {
        let r = app
            .admin(
                &boss,
                Method::POST,
                &format!("/{segment}"),
                Some(body.clone()),
            )
            .await;
        r.assert_admin_error(400, "invalid_value");
    }
    for segment in [
        "callback-numbers",
        "hierarchy",
        "skills",
        "routing-profiles",
    ] {
        let r = app
            .admin(&boss, Method::GET, &format!("/{segment}"), None)
            .await;
        assert_eq!(r.assert_admin_ok(200)["items"], json!([]), "{segment}");
    }
}

#[tokio::test]
async fn security_profile_permissions_take_effect_at_once() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let profile = catalog(
        &app,
        &boss,
        "security-profiles",
        json!({"name": "Auditor", "permissions": ["ViewUsers"]}),
    )
    .await;
    let (_, auditor) = app.admin_token("auditor", &["Auditor"]).await;
    let target = local_user(&app, &boss, "target").await;
    app.admin(&auditor, Method::GET, "/users", None)
        .await
        .assert_admin_ok(200);
    let r = patch_user(&app, &auditor, &target, json!({"licenceType": "Admin"})).await;
    r.assert_admin_error(403, "forbidden");

    app.admin(
        &boss,
        Method::PATCH,
        &format!("/security-profiles/{profile}"),
        Some(json!({"permissions": ["ViewUsers", "EditUser"]})),
    )
    .await
    .assert_admin_ok(200);
    patch_user(&app, &auditor, &target, json!({"licenceType": "Admin"}))
        .await
        .assert_admin_ok(200);
    assert_eq!(view(&app, &boss, &target).await["licenceType"], "Admin");

    // A local user's security profiles are editable here, and change its permissions.
    let (agent_id, agent) = app.admin_token("agent", &["Agent"]).await;
    app.admin(&agent, Method::GET, "/users", None)
        .await
        .assert_admin_error(403, "forbidden");
    patch_user(
        &app,
        &boss,
        &agent_id,
        json!({"securityProfiles": ["Auditor"]}),
    )
    .await
    .assert_admin_ok(200);
    app.admin(&agent, Method::GET, "/users", None)
        .await
        .assert_admin_ok(200);
}
