//! Listing, viewing and creating users.

use super::*;

// ---- listing and viewing users --------------------------------------------------------------

#[tokio::test]
async fn list_users_filters_and_pages() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    for name in ["amy", "ben", "cat", "dan"] {
        local_user(&app, &boss, name).await;
    }
    let r = app.admin(&boss, Method::GET, "/users", None).await;
    let body = r.assert_admin_ok(200);
    assert_eq!(body["totalResults"], 5, "{body}");
    assert_eq!(body["startIndex"], 1);
    assert_eq!(body["itemsPerPage"], 5);
    assert_eq!(user_names(body), vec!["amy", "ben", "boss", "cat", "dan"]);

    let r = app
        .admin(
            &boss,
            Method::GET,
            &format!("/users?filter={}", q("userName eq \"cat\"")),
            None,
        )
        .await;
    let body = r.assert_admin_ok(200);
    assert_eq!(body["totalResults"], 1);
    assert_eq!(user_names(body), vec!["cat"]);

    let r = app
        .admin(
            &boss,
            Method::GET,
            &format!(
                "/users?filter={}&sortBy=userName&startIndex=2&count=2",
                q("userName ne \"boss\"")
            ),
            None,
        )
        .await;
    let body = r.assert_admin_ok(200);
    assert_eq!(body["totalResults"], 4, "{body}");
    assert_eq!(body["startIndex"], 2);
    assert_eq!(body["itemsPerPage"], 2);
    assert_eq!(user_names(body), vec!["ben", "cat"]);

    let r = app
        .admin(
            &boss,
            Method::GET,
            &format!("/users?filter={}", q("userName eq")),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body["error"].is_string(), "{}", r.body);
}

#[tokio::test]
async fn archived_users_are_listed_by_active_eq_false() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let gone = local_user(&app, &boss, "gone").await;
    local_user(&app, &boss, "here").await;
    app.admin(&boss, Method::POST, &format!("/users/{gone}/archive"), None)
        .await
        .assert_admin_ok(200);
    let r = app
        .admin(
            &boss,
            Method::GET,
            &format!("/users?filter={}", q("active eq false")),
            None,
        )
        .await;
    let body = r.assert_admin_ok(200);
    assert_eq!(user_names(body), vec!["gone"]);
    assert_eq!(body["users"][0]["active"], false);
    let r = app
        .admin(
            &boss,
            Method::GET,
            &format!("/users?filter={}", q("active eq true")),
            None,
        )
        .await;
    assert_eq!(user_names(r.assert_admin_ok(200)), vec!["boss", "here"]);
}

#[tokio::test]
async fn view_of_an_idp_user_flattens_extensions_and_explains_editability() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let manager = app.user("mgr@acme.example").await;
    let body = app
        .create_user(json!({
            "schemas": [USER_SCHEMA, ENTERPRISE, CONTACT_CENTRE],
            "userName": "ivy@acme.example",
            "name": {"givenName": "Ivy", "familyName": "Green"},
            "displayName": "Ivy Green",
            "emails": [{"value": "ivy@acme.example", "type": "work", "primary": true}],
            ENTERPRISE: {
                "employeeNumber": "E-17",
                "department": "Support",
                "manager": {"value": manager}
            },
            CONTACT_CENTRE: {"securityProfiles": ["Agent"]}
        }))
        .await;
    let id = body["id"].as_str().unwrap().to_string();
    app.group("Night shift", &[&id]).await;

    let v = view(&app, &boss, &id).await;
    assert_eq!(v["id"], id.as_str());
    assert_eq!(v["userName"], "ivy@acme.example");
    assert_eq!(v["name"]["givenName"], "Ivy");
    assert_eq!(v["displayName"], "Ivy Green");
    assert_eq!(v["emails"][0]["value"], "ivy@acme.example");
    assert_eq!(v["employeeNumber"], "E-17");
    assert_eq!(v["department"], "Support");
    assert_eq!(v["manager"]["value"], manager.as_str());
    assert_eq!(v["securityProfiles"], json!(["Agent"]));
    assert_eq!(v["telephonyRegion"], "NAM East");
    assert_eq!(v["active"], true);
    assert_eq!(v["managedBy"], "idp");
    assert!(
        v["version"].as_str().is_some_and(|s| s.starts_with("W/\"")),
        "{v}"
    );
    assert_eq!(v["groups"].as_array().map(Vec::len), Some(1), "{v}");
    assert!(v.get(ENTERPRISE).is_none(), "extensions are flattened: {v}");
    assert!(
        v.get(CONTACT_CENTRE).is_none(),
        "extensions are flattened: {v}"
    );
    assert_eq!(v["warnings"], json!([]));

    for field in [
        "name",
        "userName",
        "emails",
        "department",
        "securityProfiles",
    ] {
        assert_eq!(v["editable"][field]["editable"], false, "{field}: {v}");
        assert_eq!(v["editable"][field]["reason"], SSO_REASON, "{field}");
    }
    for field in ["routingProfile", "licenceType", "skills", "agentHierarchy"] {
        assert_eq!(v["editable"][field]["editable"], true, "{field}: {v}");
    }

    // A viewer without ManageRoutingSettings is told why.
    catalog(
        &app,
        &boss,
        "security-profiles",
        json!({"name": "Editor", "permissions": ["ViewUsers", "EditUser"]}),
    )
    .await;
    let (_, editor) = app.admin_token("editor", &["Editor"]).await;
    let v = view(&app, &editor, &id).await;
    assert_eq!(v["editable"]["routingProfile"]["editable"], false);
    assert_eq!(
        v["editable"]["routingProfile"]["reason"],
        "requires the ManageRoutingSettings permission"
    );
    assert_eq!(v["editable"]["licenceType"]["editable"], true);
}

#[tokio::test]
async fn view_of_a_local_user_is_editable_and_managed_locally() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let id = local_user(&app, &boss, "loc").await;
    let v = view(&app, &boss, &id).await;
    assert_eq!(v["managedBy"], "local");
    for field in ["name", "displayName", "department", "securityProfiles"] {
        assert_eq!(v["editable"][field]["editable"], true, "{field}: {v}");
    }
}

#[tokio::test]
async fn unknown_and_foreign_users_are_404() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let r = app
        .admin(&boss, Method::GET, "/users/no-such-user", None)
        .await;
    r.assert_admin_error(404, "not_found");

    // A user of another tenant is invisible.
    let other =
        rollcall::write::tenants::create(&app.db, &rollcall::domain::audit::Actor::cli(), "globex")
            .await
            .expect("tenant");
    let stranger = rollcall::write::users::create(
        &app.db,
        &other.id,
        &rollcall::domain::audit::Actor::cli(),
        rollcall::domain::validation::Surface::Local,
        json!({"userName": "stranger"}).as_object().unwrap().clone(),
    )
    .await
    .expect("user");
    let r = app
        .admin(&boss, Method::GET, &format!("/users/{}", stranger.id), None)
        .await;
    r.assert_admin_error(404, "not_found");
    let r = patch_user(&app, &boss, &stranger.id, json!({"licenceType": "Admin"})).await;
    r.assert_admin_error(404, "not_found");
}

#[tokio::test]
async fn idp_timezone_that_is_not_iana_is_stored_as_sent_and_flagged() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let body = app
        .create_user(json!({
            "schemas": [USER_SCHEMA],
            "userName": "tz@acme.example",
            "timezone": "Middle Earth Time"
        }))
        .await;
    let id = body["id"].as_str().unwrap();
    assert_eq!(body["timezone"], "Middle Earth Time");
    let v = view(&app, &boss, id).await;
    assert_eq!(v["timezone"], "Middle Earth Time");
    let warnings = v["warnings"].as_array().expect("warnings");
    assert!(
        warnings
            .iter()
            .any(|w| w["field"] == "timezone" && w["message"].as_str().is_some()),
        "{v}"
    );
}

// ---- creating local users -------------------------------------------------------------------

#[tokio::test]
async fn create_local_user_answers_201_with_the_view() {
    let app = TestApp::new().await;
    let (boss_id, boss) = app.admin_token("boss", &["Administrator"]).await;
    seed_catalogs(&app, &boss).await;
    let r = app
        .admin(
            &boss,
            Method::POST,
            "/users",
            Some(json!({
                "userName": "zoe",
                "name": {"givenName": "Zoë", "familyName": "O'Brien-Smith"},
                "emails": [{"value": "zoe@acme.example", "primary": true}],
                "timezone": "Europe/London",
                "department": "Sales",
                "securityProfiles": ["Agent"],
                "routingProfile": "inbound",
                "licenceType": "Admin"
            })),
        )
        .await;
    let body = r.assert_admin_ok(201).clone();
    let id = body["id"].as_str().expect("id").to_string();
    assert_eq!(body["managedBy"], "local");
    assert_eq!(body["userName"], "zoe");
    assert_eq!(body["department"], "Sales");
    assert_eq!(body["routingProfile"], "Inbound", "catalog spelling");
    let v = view(&app, &boss, &id).await;
    assert_eq!(v["name"]["givenName"], "Zoë");
    assert_eq!(v["name"]["familyName"], "O'Brien-Smith");
    assert_eq!(v["emails"][0]["value"], "zoe@acme.example");
    assert_eq!(v["timezone"], "Europe/London");
    assert_eq!(v["securityProfiles"], json!(["Agent"]));
    assert_eq!(v["licenceType"], "Admin");
    assert_eq!(v["active"], true);
    assert_eq!(v["managedBy"], "local");

    // Outside the identity provider's view: SCIM neither finds nor lists it.
    app.get(&format!("/Users/{id}"))
        .await
        .assert_error(404, None);
    assert!(app.find_users("userName eq \"zoe\"").await.is_empty());

    // Audited as the admin.
    let r = app
        .admin(&boss, Method::GET, &format!("/audit?target={id}"), None)
        .await;
    let a = r.assert_admin_ok(200);
    assert_eq!(a["totalResults"], 1, "{a}");
    assert_eq!(a["items"][0]["action"], "user.create");
    assert_eq!(a["items"][0]["actor"]["kind"], "admin");
    assert_eq!(a["items"][0]["actor"]["userId"], boss_id.as_str());
}

#[tokio::test]
async fn create_is_refused_when_the_idp_manages_users() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    settings(&app, &boss, json!({"idpManaged": true})).await;
    let r = app
        .admin(
            &boss,
            Method::POST,
            "/users",
            Some(json!({"userName": "nope"})),
        )
        .await;
    r.assert_admin_error(409, "local_creation_off");
    assert!(
        app.admin(
            &boss,
            Method::GET,
            "/users?filter=userName%20eq%20%22nope%22",
            None
        )
        .await
        .assert_admin_ok(200)["totalResults"]
            == 0
    );
}

#[tokio::test]
async fn create_validates_names_and_timezone_on_the_local_surface() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let cases = [
        (
            json!({"userName": "x1", "name": {"givenName": "Robert'); DROP"}}),
            "name.givenName",
        ),
        (
            json!({"userName": "x2", "name": {"familyName": "Smith<script>"}}),
            "name.familyName",
        ),
        (
            json!({"userName": "x3", "timezone": "Mars/Olympus_Mons"}),
            "timezone",
        ),
        (
            json!({"userName": "x4", "securityProfiles": ["Agent"], "licenceType": "Gold"}),
            "licenceType",
        ),
    ];
    for (body, field) in cases {
        let r = app.admin(&boss, Method::POST, "/users", Some(body)).await;
        r.assert_admin_error(400, "invalid_value");
        assert!(detail(&r).contains(field), "{field}: {}", r.body);
    }
    let r = app.admin(&boss, Method::GET, "/users", None).await;
    assert_eq!(user_names(r.assert_admin_ok(200)), vec!["boss"]);
}

#[tokio::test]
async fn local_surface_refuses_windows_time_zone_names() {
    // DESIGN: the local surfaces enforce "timezone an IANA name"; only values from an IdP
    // are normalised.
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let r = app
        .admin(
            &boss,
            Method::POST,
            "/users",
            Some(json!({"userName": "win", "timezone": "GMT Standard Time"})),
        )
        .await;
    r.assert_admin_error(400, "invalid_value");
    assert!(detail(&r).contains("timezone"), "{}", r.body);
    let r = app.admin(&boss, Method::GET, "/users", None).await;
    assert_eq!(user_names(r.assert_admin_ok(200)), vec!["boss"]);

    let id = local_user(&app, &boss, "win2").await;
    let r = patch_user(&app, &boss, &id, json!({"timezone": "GMT Standard Time"})).await;
    r.assert_admin_error(400, "invalid_value");
    assert!(view(&app, &boss, &id).await.get("timezone").is_none());
}

#[tokio::test]
async fn a_local_user_created_without_security_profiles_stays_editable() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let r = app
        .admin(
            &boss,
            Method::POST,
            "/users",
            Some(json!({"userName": "bare"})),
        )
        .await;
    let id = r.assert_admin_ok(201)["id"].as_str().unwrap().to_string();
    let r = patch_user(&app, &boss, &id, json!({"licenceType": "Admin"})).await;
    r.assert_admin_ok(200);
    assert_eq!(view(&app, &boss, &id).await["licenceType"], "Admin");
}

#[tokio::test]
async fn create_of_a_taken_user_name_is_409_case_insensitively() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    app.user("Dup@Acme.example").await;
    let r = app
        .admin(
            &boss,
            Method::POST,
            "/users",
            Some(json!({"userName": "dup@acme.example"})),
        )
        .await;
    r.assert_admin_error(409, "uniqueness");
}
