//! The contact-centre admins' flows: creating users from a template, dry runs of every
//! write, bulk archive and reactivate, edits without traps, the product's permission
//! matrix, labels as input, and the list's search.

use super::*;

/// A template user with the settings new agents share: licence AgentDesktop, routing
/// profile Inbound, hierarchy, skill French 7, region Sydney, media-less mode.
async fn template_user(app: &TestApp, boss: &str) -> String {
    let r = app
        .admin(
            boss,
            Method::POST,
            "/users",
            Some(json!({
                "userName": "template.agent",
                "securityProfiles": ["Agent"],
                "licenceType": "AgentDesktop",
                "routingProfile": "Inbound",
                "agentHierarchy": "EMEA/London/Team A",
                "skills": [{"name": "French", "level": 7}],
                "telephonyRegion": "Sydney",
                "mediaLessMode": true,
                "agentId": "9000"
            })),
        )
        .await;
    r.assert_admin_ok(201);
    r.body["id"].as_str().expect("id").to_string()
}

fn new_user(name: &str) -> Value {
    json!({
        "userName": name,
        "email": format!("{name}@acme.example"),
        "name": {"givenName": "Ann", "familyName": "Lee"}
    })
}

#[tokio::test]
async fn create_from_template_reports_each_user_and_agrees_with_its_dry_run() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    seed_catalogs(&app, &boss).await;
    let template = template_user(&app, &boss).await;
    // 5001 is taken: generated ids skip it.
    let holder = local_user(&app, &boss, "holder").await;
    patch_user(&app, &boss, &holder, json!({"agentId": "5001"}))
        .await
        .assert_admin_ok(200);
    local_user(&app, &boss, "taken").await;

    let mut bad_name = new_user("badname");
    bad_name["name"]["givenName"] = json!("R2; DROP");
    let body = json!({
        "template": template,
        "startingAgentId": 5000,
        "users": [
            new_user("ann"),
            new_user("taken"),
            new_user("bob"),
            bad_name,
            new_user("cy"),
        ]
    });
    let dry = app
        .admin(
            &boss,
            Method::POST,
            "/users/from-template?dryRun=true",
            Some(body.clone()),
        )
        .await;
    let dry = dry.assert_admin_ok(200).clone();
    assert_eq!(dry["dryRun"], true);
    assert_eq!(
        (dry["created"].clone(), dry["failed"].clone()),
        (json!(3), json!(2)),
        "{dry}"
    );
    // Nothing was written.
    let list = app
        .admin(
            &boss,
            Method::GET,
            "/users?filter=userName%20eq%20%22ann%22",
            None,
        )
        .await;
    assert_eq!(list.assert_admin_ok(200)["totalResults"], 0);

    let real = app
        .admin(&boss, Method::POST, "/users/from-template", Some(body))
        .await;
    let real = real.assert_admin_ok(200).clone();
    assert_eq!(real["dryRun"], false);
    let results = real["results"].as_array().expect("results");
    assert_eq!(results.len(), 5);
    let summary: Vec<(String, String, Value)> = results
        .iter()
        .map(|r| {
            (
                r["userName"].as_str().unwrap_or_default().to_string(),
                r["status"].as_str().unwrap_or_default().to_string(),
                r["agentId"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("ann".into(), "created".into(), json!("5000")),
            ("taken".into(), "failed".into(), Value::Null),
            ("bob".into(), "created".into(), json!("5002")),
            ("badname".into(), "failed".into(), Value::Null),
            ("cy".into(), "created".into(), json!("5003")),
        ],
        "{real}"
    );
    // The dry run showed the same table (without ids).
    for (d, r) in dry["results"].as_array().expect("dry").iter().zip(results) {
        assert_eq!(d["status"], r["status"], "{d} vs {r}");
        assert_eq!(d["agentId"], r["agentId"], "{d} vs {r}");
        assert!(d.get("id").is_none());
    }
    assert_eq!(results[1]["errors"][0]["field"], "userName", "{real}");
    assert!(
        results[1]["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("already in use")),
        "{real}"
    );
    assert_eq!(results[3]["errors"][0]["field"], "name.givenName", "{real}");

    // A created user has the template's settings, its own name and email.
    let ann = view(&app, &boss, results[0]["id"].as_str().expect("id")).await;
    assert_eq!(ann["routingProfile"], "Inbound", "{ann}");
    assert_eq!(ann["agentHierarchy"], "EMEA/London/Team A");
    assert_eq!(ann["licenceType"], "AgentDesktop");
    assert_eq!(ann["telephonyRegion"], "Sydney");
    assert_eq!(ann["skills"], json!([{"name": "French", "level": 7}]));
    assert_eq!(ann["mediaLessMode"], true);
    assert_eq!(ann["securityProfiles"], json!(["Agent"]));
    assert_eq!(ann["emails"][0]["value"], "ann@acme.example");
    assert_eq!(ann["name"]["familyName"], "Lee");
    assert_eq!(ann["managedBy"], "local");
    assert_eq!(ann["agentId"], "5000");
}

#[tokio::test]
async fn create_from_template_reports_duplicates_within_the_request_and_needs_a_template() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    // No template named and none set for the tenant.
    let r = app
        .admin(
            &boss,
            Method::POST,
            "/users/from-template",
            Some(json!({"users": [new_user("a")]})),
        )
        .await;
    r.assert_admin_error(400, "invalid_value");
    assert_eq!(r.body["fields"], json!(["template"]));

    let template = local_user(&app, &boss, "tpl").await;
    settings(&app, &boss, json!({"provisioningTemplateUser": template})).await;
    let mut second = new_user("b");
    second["email"] = json!("a@acme.example");
    let r = app
        .admin(
            &boss,
            Method::POST,
            "/users/from-template",
            Some(json!({"users": [new_user("a"), second, {"userName": "c"}, {"userName": "d", "email": "d@x.example", "colour": "red"}]})),
        )
        .await;
    let body = r.assert_admin_ok(200).clone();
    let statuses: Vec<&str> = body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["status"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        statuses,
        ["created", "failed", "failed", "failed"],
        "{body}"
    );
    assert_eq!(body["results"][1]["errors"][0]["field"], "emails", "{body}");
    assert_eq!(body["results"][2]["errors"][0]["field"], "email", "{body}");
    assert_eq!(body["results"][3]["errors"][0]["field"], "colour", "{body}");

    // Another tenant's user is no template here.
    let other = rollcall::write::tenants::create(
        &app.db,
        &rollcall::domain::audit::Actor::cli(),
        "elsewhere",
    )
    .await
    .expect("tenant");
    let foreign = rollcall::write::users::create(
        &app.db,
        &other.id,
        &rollcall::domain::audit::Actor::cli(),
        rollcall::domain::validation::Surface::Local,
        json!({"userName": "foreign", CONTACT_CENTRE: {"securityProfiles": ["Agent"]}})
            .as_object()
            .cloned()
            .unwrap_or_default(),
    )
    .await
    .expect("foreign user");
    let r = app
        .admin(
            &boss,
            Method::POST,
            "/users/from-template",
            Some(json!({"template": foreign.id, "users": [new_user("x")]})),
        )
        .await;
    r.assert_admin_error(400, "invalid_value");
    assert_eq!(r.body["fields"], json!(["template"]));

    // A Supervisor-like creator (CreateUser, EditUser, no ManageSecurityProfiles) may use
    // an Agent template — the default profile — but not grant Administrator through one.
    catalog(
        &app,
        &boss,
        "security-profiles",
        json!({"name": "Creator", "permissions": ["ViewUsers", "CreateUser", "EditUser"]}),
    )
    .await;
    let (_, creator) = app.admin_token("creator", &["Creator"]).await;
    let r = app
        .admin(
            &creator,
            Method::POST,
            "/users/from-template",
            Some(json!({"template": template, "users": [new_user("by.creator")]})),
        )
        .await;
    assert_eq!(r.assert_admin_ok(200)["created"], 1, "{}", r.body);
    let (boss_id, _) = app.admin_token("boss.two", &["Administrator"]).await;
    let r = app
        .admin(
            &creator,
            Method::POST,
            "/users/from-template",
            Some(json!({"template": boss_id, "users": [new_user("climber")]})),
        )
        .await;
    let body = r.assert_admin_ok(200).clone();
    assert_eq!(body["results"][0]["status"], "failed", "{body}");
    assert!(
        body["results"][0]["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("ManageSecurityProfiles")),
        "{body}"
    );
    let r = app
        .admin(
            &boss,
            Method::GET,
            &format!("/users?filter={}", q("userName eq \"climber\"")),
            None,
        )
        .await;
    assert_eq!(r.assert_admin_ok(200)["totalResults"], 0);

    // A caller who may not create users is refused outright.
    let (_, viewer) = app.admin_token("viewer", &["Agent"]).await;
    let r = app
        .admin(
            &viewer,
            Method::POST,
            "/users/from-template",
            Some(json!({"users": [new_user("z")]})),
        )
        .await;
    r.assert_admin_error(403, "forbidden");
}

#[tokio::test]
async fn dry_run_on_admin_writes_answers_and_changes_nothing() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    seed_catalogs(&app, &boss).await;

    // Create: 200 with the would-be user, nothing stored, nothing audited.
    let r = app
        .admin(
            &boss,
            Method::POST,
            "/users?dryRun=true",
            Some(json!({"userName": "dry", "securityProfiles": ["Agent"], "licenceType": "AgentDesktop"})),
        )
        .await;
    let body = r.assert_admin_ok(200).clone();
    assert_eq!(body["dryRun"], true);
    assert_eq!(body["userName"], "dry");
    assert!(body["agentId"].is_string(), "{body}");
    let list = app
        .admin(
            &boss,
            Method::GET,
            &format!("/users?filter={}", q("userName eq \"dry\"")),
            None,
        )
        .await;
    assert_eq!(list.assert_admin_ok(200)["totalResults"], 0);
    let audit = app.admin(&boss, Method::GET, "/audit", None).await;
    let actions: Vec<String> = audit.assert_admin_ok(200)["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["action"] == "user.create")
        .map(|e| e["target"].to_string())
        .collect();
    assert!(
        !actions
            .iter()
            .any(|t| t.contains(body["id"].as_str().unwrap_or("?"))),
        "{actions:?}"
    );

    // A dry run sees what the real run would refuse: a taken agent id.
    let a = local_user(&app, &boss, "a").await;
    let b = local_user(&app, &boss, "b").await;
    patch_user(&app, &boss, &a, json!({"agentId": "100"}))
        .await
        .assert_admin_ok(200);
    let r = app
        .admin(
            &boss,
            Method::PATCH,
            &format!("/users/{b}?dryRun=true"),
            Some(json!({"agentId": "100"})),
        )
        .await;
    r.assert_admin_error(409, "uniqueness");

    // Edit, archive, delete: answered, not applied.
    let r = app
        .admin(
            &boss,
            Method::PATCH,
            &format!("/users/{b}?dryRun=true"),
            Some(json!({"routingProfile": "Inbound"})),
        )
        .await;
    assert_eq!(r.assert_admin_ok(200)["routingProfile"], "Inbound");
    assert!(view(&app, &boss, &b).await.get("routingProfile").is_none());
    let r = app
        .admin(
            &boss,
            Method::POST,
            &format!("/users/{b}/archive?dryRun=true"),
            None,
        )
        .await;
    assert_eq!(r.assert_admin_ok(200)["active"], false);
    assert_eq!(view(&app, &boss, &b).await["active"], true);
    // Delete of an active user is refused in a dry run as in a real one.
    let r = app
        .admin(
            &boss,
            Method::DELETE,
            &format!("/users/{b}?dryRun=true"),
            None,
        )
        .await;
    r.assert_admin_error(409, "not_archived");
    app.admin(&boss, Method::POST, &format!("/users/{b}/archive"), None)
        .await
        .assert_admin_ok(200);
    let r = app
        .admin(
            &boss,
            Method::DELETE,
            &format!("/users/{b}?dryRun=true"),
            None,
        )
        .await;
    assert_eq!(r.assert_admin_ok(200)["deleted"], b.as_str());
    view(&app, &boss, &b).await;

    // Settings and catalogs too.
    let r = app
        .admin(
            &boss,
            Method::PATCH,
            "/settings?dryRun=true",
            Some(json!({"agentIdStart": 7000})),
        )
        .await;
    assert_eq!(r.assert_admin_ok(200)["agentIdStart"], 7000);
    let s = app.admin(&boss, Method::GET, "/settings", None).await;
    assert_ne!(s.assert_admin_ok(200)["agentIdStart"], 7000);
    let r = app
        .admin(
            &boss,
            Method::POST,
            "/skills?dryRun=true",
            Some(json!({"name": "German"})),
        )
        .await;
    r.assert_admin_ok(200);
    let skills = app.admin(&boss, Method::GET, "/skills", None).await;
    assert!(
        !skills.body.to_string().contains("German"),
        "{}",
        skills.body
    );

    let r = app
        .admin(
            &boss,
            Method::POST,
            "/users?dryRun=maybe",
            Some(json!({"userName": "x"})),
        )
        .await;
    r.assert_admin_error(400, "invalid_value");
}

#[tokio::test]
async fn bulk_archive_and_reactivate_list_every_user_that_cannot() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let a = local_user(&app, &boss, "a").await;
    let b = local_user(&app, &boss, "b").await;
    let idp = app.user("idp.user").await;
    let r = app
        .admin(
            &boss,
            Method::POST,
            "/users/archive",
            Some(json!({"ids": [a, idp, "nobody", b]})),
        )
        .await;
    r.assert_admin_error(400, "bulk_failed");
    let failures = r.body["failures"].as_array().expect("failures");
    let ids: Vec<&str> = failures
        .iter()
        .map(|f| f["id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(ids, [idp.as_str(), "nobody"], "{}", r.body);
    assert_eq!(failures[0]["error"], "sso_owned_fields");
    assert_eq!(failures[1]["error"], "not_found");
    assert_eq!(view(&app, &boss, &a).await["active"], true);

    let r = app
        .admin(
            &boss,
            Method::POST,
            "/users/archive",
            Some(json!({"ids": [a, b]})),
        )
        .await;
    assert_eq!(r.assert_admin_ok(200)["archived"], 2);
    for id in [&a, &b] {
        assert_eq!(view(&app, &boss, id).await["active"], false);
    }
    let r = app
        .admin(
            &boss,
            Method::POST,
            "/users/reactivate",
            Some(json!({"ids": [a, b]})),
        )
        .await;
    assert_eq!(r.assert_admin_ok(200)["reactivated"], 2);
    assert_eq!(view(&app, &boss, &b).await["active"], true);

    // Archiving the tenant's only administrator with others is refused, naming it.
    let (boss_id, _) = app.admin_token("boss2", &["Supervisor"]).await;
    let me = app
        .admin(
            &boss,
            Method::GET,
            &format!("/users?filter={}", q("userName eq \"boss\"")),
            None,
        )
        .await;
    let me = me.assert_admin_ok(200)["users"][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let r = app
        .admin(
            &boss,
            Method::POST,
            "/users/archive",
            Some(json!({"ids": [a, me, boss_id]})),
        )
        .await;
    r.assert_admin_error(400, "bulk_failed");
    assert_eq!(r.body["failures"][0]["id"], me.as_str(), "{}", r.body);
    assert_eq!(r.body["failures"][0]["error"], "last_administrator");
    assert_eq!(view(&app, &boss, &a).await["active"], true);

    // A Supervisor-only caller without ArchiveUser… Supervisors hold it; an Agent does not.
    let (_, agent) = app.admin_token("agent", &["Agent"]).await;
    let r = app
        .admin(
            &agent,
            Method::POST,
            "/users/archive",
            Some(json!({"ids": [a]})),
        )
        .await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.body);
    assert_eq!(r.body["failures"][0]["error"], "forbidden", "{}", r.body);
}

#[tokio::test]
async fn bulk_edit_lists_every_reason_of_every_user() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    seed_catalogs(&app, &boss).await;
    let a = local_user(&app, &boss, "a").await;
    let idp = app.user("idp.user").await;
    let r = app
        .admin(
            &boss,
            Method::PATCH,
            "/users",
            Some(json!({"ids": [a, idp], "set": {"routingProfile": "Nope", "licenceType": "Wizard"}})),
        )
        .await;
    r.assert_admin_error(400, "bulk_failed");
    let failures = r.body["failures"].as_array().expect("failures");
    assert_eq!(failures.len(), 2, "{}", r.body);
    for f in failures {
        let fields: Vec<&str> = f["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| e["field"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(fields, ["routingProfile", "licenceType"], "{f}");
    }
}

#[tokio::test]
async fn edits_without_traps_skills_by_name_and_capacity_reset() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    seed_catalogs(&app, &boss).await;
    catalog(&app, &boss, "skills", json!({"name": "Sales"})).await;
    catalog(&app, &boss, "skills", json!({"name": "German"})).await;
    let id = local_user(&app, &boss, "s").await;
    patch_user(
        &app,
        &boss,
        &id,
        json!({"skills": [{"name": "French", "level": 3}, {"name": "Sales", "level": 5}]}),
    )
    .await
    .assert_admin_ok(200);
    // Add one, re-level one, remove one, by name; the others stay.
    let v = patch_user(
        &app,
        &boss,
        &id,
        json!({"skills": {"german": 2, "French": 6}}),
    )
    .await
    .assert_admin_ok(200)
    .clone();
    assert_eq!(
        v["skills"],
        json!([{"name": "French", "level": 6}, {"name": "Sales", "level": 5}, {"name": "German", "level": 2}]),
        "{v}"
    );
    let v = patch_user(&app, &boss, &id, json!({"skills": {"Sales": null}}))
        .await
        .assert_admin_ok(200)
        .clone();
    assert_eq!(
        v["skills"],
        json!([{"name": "French", "level": 6}, {"name": "German", "level": 2}])
    );
    let r = patch_user(&app, &boss, &id, json!({"skills": {"French": 11}})).await;
    r.assert_admin_error(400, "invalid_value");
    let r = patch_user(&app, &boss, &id, json!({"skills": {"Sales": null}})).await;
    r.assert_admin_error(400, "invalid_value");
    assert_eq!(view(&app, &boss, &id).await["skills"][0]["level"], 6);

    // Capacity: custom percentages, then back to the account's default in one step.
    patch_user(
        &app,
        &boss,
        &id,
        json!({"interactionCapacity": {"mode": "custom", "voice": 100, "chat": 50}}),
    )
    .await
    .assert_admin_ok(200);
    let v = patch_user(
        &app,
        &boss,
        &id,
        json!({"interactionCapacity": {"mode": "default"}}),
    )
    .await
    .assert_admin_ok(200)
    .clone();
    assert_eq!(v["interactionCapacity"], json!({"mode": "default"}));
}

#[tokio::test]
async fn the_products_permission_matrix() {
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
    let (_, editor) = app.admin_token("editor", &["Editor"]).await;
    let id = local_user(&app, &boss, "m").await;
    // Agent settings need Edit User.
    let v = patch_user(
        &app,
        &boss,
        &id,
        json!({"webRtcEnabled": true, "webRtcFallbackNumber": "+15125550100"}),
    )
    .await;
    v.assert_admin_ok(200);
    let v = patch_user(
        &app,
        &editor,
        &id,
        json!({
            "telephonyRegion": "NAM West",
            "callbackNumbers": ["+442071234567"],
            "enforcedDispositionCodes": true,
            "callRecordingControl": true,
            "screenRecording": true,
            "webRtcFallbackNumber": "+15125550101"
        }),
    )
    .await;
    let v = v.assert_admin_ok(200).clone();
    assert_eq!(v["telephonyRegion"], "NAM West");
    // Routing settings need Manage Routing Settings.
    for body in [
        json!({"skills": {"French": 2}}),
        json!({"interactionCapacity": {"mode": "default"}}),
        json!({"routingProfile": "Inbound"}),
    ] {
        let r = patch_user(&app, &editor, &id, body.clone()).await;
        r.assert_admin_error(403, "forbidden");
        assert!(
            detail(&r).contains("ManageRoutingSettings"),
            "{body}: {}",
            r.body
        );
    }
    // The single view says so; list rows are compact.
    let v = view(&app, &editor, &id).await;
    assert_eq!(v["editable"]["skills"]["editable"], false);
    assert_eq!(v["editable"]["telephonyRegion"]["editable"], true);
    let list = app.admin(&editor, Method::GET, "/users", None).await;
    let row = &list.assert_admin_ok(200)["users"][0];
    assert!(row.get("editable").is_none(), "{row}");
}

#[tokio::test]
async fn product_labels_are_accepted_and_stored_canonically() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let id = local_user(&app, &boss, "l").await;
    let v = patch_user(
        &app,
        &boss,
        &id,
        json!({"licenceType": "AD+OCM", "telephonyRegion": "EMEA - Primary (11)"}),
    )
    .await
    .assert_admin_ok(200)
    .clone();
    assert_eq!(v["licenceType"], "AgentDesktopOutbound");
    assert_eq!(v["telephonyRegion"], "EMEA Primary");
    let v = patch_user(
        &app,
        &boss,
        &id,
        json!({"licenceType": "Agent Desktop", "telephonyRegion": "sydney (12)"}),
    )
    .await
    .assert_admin_ok(200)
    .clone();
    assert_eq!(v["licenceType"], "AgentDesktop");
    assert_eq!(v["telephonyRegion"], "Sydney");
    // A label with the wrong region number is not a label.
    let r = patch_user(
        &app,
        &boss,
        &id,
        json!({"telephonyRegion": "EMEA - Primary (8)"}),
    )
    .await;
    r.assert_admin_error(400, "invalid_value");
    let v = view(&app, &boss, &id).await;
    assert_eq!(v["telephonyRegion"], "Sydney");
}

#[tokio::test]
async fn search_by_text_group_and_default_values() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    for (name, given, family, email) in [
        ("jsmith", "John", "Smith", "john.smith@acme.example"),
        ("asmithers", "Anna", "Smithers", "anna@acme.example"),
        ("bjones", "Bob", "Jones", "bob@other.example"),
    ] {
        app.create_user(json!({
            "schemas": [USER_SCHEMA],
            "userName": name,
            "name": {"givenName": given, "familyName": family},
            "emails": [{"value": email, "primary": true}]
        }))
        .await;
    }
    let bob = app
        .admin(
            &boss,
            Method::GET,
            &format!("/users?filter={}", q("userName eq \"bjones\"")),
            None,
        )
        .await;
    let bob = bob.assert_admin_ok(200)["users"][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    patch_user(
        &app,
        &boss,
        &bob,
        json!({"agentId": "4711", "telephonyRegion": "Sydney"}),
    )
    .await
    .assert_admin_ok(200);

    let search = |query: &str| {
        let app = &app;
        let boss = &boss;
        let query = query.to_string();
        async move {
            let r = app
                .admin(boss, Method::GET, &format!("/users?{query}"), None)
                .await;
            user_names(r.assert_admin_ok(200))
        }
    };
    assert_eq!(search("q=smith").await, ["asmithers", "jsmith"]);
    assert_eq!(search("q=SMITHERS").await, ["asmithers"]);
    assert_eq!(search("q=john%20smi").await, ["jsmith"]);
    assert_eq!(search("q=anna%40").await, ["asmithers"]);
    assert_eq!(search("q=471").await, ["bjones"]);
    assert_eq!(search("q=nobody").await, Vec::<String>::new());
    // Combined with a filter.
    assert_eq!(
        search(&format!(
            "q=smith&filter={}",
            q("name.givenName eq \"Anna\"")
        ))
        .await,
        ["asmithers"]
    );
    // Default values match: users without a region show NAM East.
    let nam = search(&format!("filter={}", q("telephonyRegion eq \"NAM East\""))).await;
    assert!(
        nam.contains(&"jsmith".to_string()) && !nam.contains(&"bjones".to_string()),
        "{nam:?}"
    );
    let not_nam = search(&format!("filter={}", q("telephonyRegion ne \"NAM East\""))).await;
    assert_eq!(not_nam, ["bjones"]);
    assert_eq!(
        search(&format!(
            "filter={}",
            q("telephonyRegion eq \"Sydney (12)\"")
        ))
        .await,
        ["bjones"]
    );

    // By group, by id or name.
    let jsmith = app.find_users("userName eq \"jsmith\"").await;
    let group = app.group("French speakers", &[jsmith[0].as_str()]).await;
    assert_eq!(search(&format!("group={group}")).await, ["jsmith"]);
    assert_eq!(search("group=french%20SPEAKERS").await, ["jsmith"]);
    let r = app
        .admin(&boss, Method::GET, "/users?group=nope", None)
        .await;
    r.assert_admin_error(404, "not_found");

    // attributes= keeps the id and the fields named.
    let r = app
        .admin(
            &boss,
            Method::GET,
            "/users?q=bjones&attributes=userName,agentId",
            None,
        )
        .await;
    let row = r.assert_admin_ok(200)["users"][0].clone();
    let mut keys: Vec<&str> = row
        .as_object()
        .expect("row")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(keys, ["agentId", "id", "userName"], "{row}");
    let r = app
        .admin(&boss, Method::GET, "/users?attributes=shoeSize", None)
        .await;
    r.assert_admin_error(400, "invalid_value");
    let r = app
        .admin(
            &boss,
            Method::GET,
            &format!("/users?q={}", "a%20".repeat(9)),
            None,
        )
        .await;
    r.assert_admin_error(400, "invalid_value");
}

#[tokio::test]
async fn every_new_user_takes_the_provisioning_template() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    seed_catalogs(&app, &boss).await;
    let template = template_user(&app, &boss).await;
    settings(&app, &boss, json!({"provisioningTemplateUser": template})).await;

    // Created by an admin: what it does not set comes from the template.
    let r = app
        .admin(
            &boss,
            Method::POST,
            "/users",
            Some(json!({"userName": "admin.made", "securityProfiles": ["Agent"], "telephonyRegion": "NAM West"})),
        )
        .await;
    let v = r.assert_admin_ok(201).clone();
    assert_eq!(v["routingProfile"], "Inbound", "{v}");
    assert_eq!(v["skills"], json!([{"name": "French", "level": 7}]));
    assert_eq!(v["telephonyRegion"], "NAM West", "its own value wins");
    assert_ne!(
        v["agentId"], "9000",
        "never the template's own agent id: {v}"
    );

    // Created by an upload.
    let r = app
        .dispatch(
            &boss,
            Method::POST,
            "/admin/v1/users/import?dryRun=false",
            Some(("text/csv", "email,givenName\nup@acme.example,Uma\n".into())),
            &[],
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    let r = app
        .admin(
            &boss,
            Method::GET,
            &format!("/users?filter={}", q("userName eq \"up@acme.example\"")),
            None,
        )
        .await;
    let up = r.assert_admin_ok(200)["users"][0].clone();
    assert_eq!(up["routingProfile"], "Inbound", "{up}");
    assert_eq!(up["agentHierarchy"], "EMEA/London/Team A");
    assert_eq!(up["name"]["givenName"], "Uma");
}
