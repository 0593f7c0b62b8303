//! The admin API (`/admin/v1`): authentication and permissions, the user view, local creation,
//! merge-patch edits and the ownership registry's refusals, bulk edits, archive and delete,
//! catalogs, settings, credentials, the audit log and the OpenAPI document.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{
    CONTACT_CENTRE, ENTERPRISE, TestApp, TestResponse, USER_SCHEMA, boss, catalog, q, view,
};

const SSO_REASON: &str = "owned by the identity provider (SSO); change it there";

/// PATCH of one user through the admin API.
async fn patch_user(app: &TestApp, token: &str, id: &str, body: Value) -> TestResponse {
    app.admin(token, Method::PATCH, &format!("/users/{id}"), Some(body))
        .await
}

/// Creates a local user through the admin API, asserting 201; its id.
async fn local_user(app: &TestApp, token: &str, user_name: &str) -> String {
    let r = app
        .admin(
            token,
            Method::POST,
            "/users",
            Some(json!({"userName": user_name, "securityProfiles": ["Agent"]})),
        )
        .await;
    r.assert_admin_ok(201);
    r.body["id"].as_str().expect("id").to_string()
}

/// The catalogs most tests use: routing profile Inbound, hierarchy EMEA/London/Team A,
/// skill French, callback number +442071234567.
async fn seed_catalogs(app: &TestApp, token: &str) {
    catalog(app, token, "routing-profiles", json!({"name": "Inbound"})).await;
    catalog(
        app,
        token,
        "hierarchy",
        json!({"path": "EMEA/London/Team A"}),
    )
    .await;
    catalog(app, token, "skills", json!({"name": "French"})).await;
    catalog(
        app,
        token,
        "callback-numbers",
        json!({"number": "+442071234567", "label": "London"}),
    )
    .await;
}

async fn settings(app: &TestApp, token: &str, body: Value) {
    app.admin(token, Method::PATCH, "/settings", Some(body))
        .await
        .assert_admin_ok(200);
}

/// The userNames of an admin user list.
fn user_names(body: &Value) -> Vec<String> {
    let mut names: Vec<String> = body["users"]
        .as_array()
        .expect("users array")
        .iter()
        .map(|u| u["userName"].as_str().expect("userName").to_string())
        .collect();
    names.sort();
    names
}

fn detail(r: &TestResponse) -> String {
    r.body["detail"].as_str().unwrap_or_default().to_string()
}

// ---- authentication and permissions ---------------------------------------------------------

#[tokio::test]
async fn missing_or_invalid_token_is_401() {
    let app = TestApp::new().await;
    boss(&app).await;
    for token in ["", "rc_not-a-real-token"] {
        let r = app.admin(token, Method::GET, "/users", None).await;
        r.assert_admin_error(401, "unauthorized");
    }
    let r = app
        .admin_with(
            "",
            Method::GET,
            "/users",
            None,
            &[("authorization", "Basic bm9ib2R5Om5vdGhpbmc=")],
        )
        .await;
    r.assert_admin_error(401, "unauthorized");
}

#[tokio::test]
async fn scim_token_is_403_on_the_admin_api() {
    let app = TestApp::new().await;
    let r = app.admin(&app.token, Method::GET, "/users", None).await;
    r.assert_admin_error(403, "forbidden");
    let r = app
        .admin(
            &app.token,
            Method::POST,
            "/users",
            Some(json!({"userName": "sneaky"})),
        )
        .await;
    r.assert_admin_error(403, "forbidden");
    assert!(app.find_users("userName eq \"sneaky\"").await.is_empty());
}

#[tokio::test]
async fn user_level_token_is_401_on_scim() {
    let app = TestApp::new().await;
    let token = boss(&app).await;
    let r = app.send_as(&token, Method::GET, "/Users", None, &[]).await;
    assert!(
        r.status == StatusCode::UNAUTHORIZED || r.status == StatusCode::FORBIDDEN,
        "a user-level credential must not provision over SCIM: {} {}",
        r.status,
        r.body
    );
}

#[tokio::test]
async fn archived_users_token_stops_working_at_once() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let (sup_id, sup) = app.admin_token("sup", &["Supervisor"]).await;
    app.admin(&sup, Method::GET, "/users", None)
        .await
        .assert_admin_ok(200);
    app.admin(
        &boss,
        Method::POST,
        &format!("/users/{sup_id}/archive"),
        None,
    )
    .await
    .assert_admin_ok(200);
    let r = app.admin(&sup, Method::GET, "/users", None).await;
    r.assert_admin_error(401, "unauthorized");
    let r = app
        .admin(&sup, Method::GET, &format!("/users/{sup_id}"), None)
        .await;
    r.assert_admin_error(401, "unauthorized");
    assert_eq!(view(&app, &boss, &sup_id).await["active"], false);
}

#[tokio::test]
async fn missing_permission_is_403_naming_it() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let target = local_user(&app, &boss, "target").await;
    let (_, agent) = app.admin_token("agent", &["Agent"]).await;
    let (_, sup) = app.admin_token("sup", &["Supervisor"]).await;

    let cases: Vec<(&str, Method, String, Option<Value>, &str)> = vec![
        (&agent, Method::GET, "/users".into(), None, "ViewUsers"),
        (
            &agent,
            Method::GET,
            format!("/users/{target}"),
            None,
            "ViewUsers",
        ),
        (&agent, Method::GET, "/audit".into(), None, "ViewUsers"),
        (
            &sup,
            Method::POST,
            "/users".into(),
            Some(json!({"userName": "new"})),
            "CreateUser",
        ),
        (
            &sup,
            Method::DELETE,
            format!("/users/{target}"),
            None,
            "DeleteUser",
        ),
        (
            &sup,
            Method::PATCH,
            "/settings".into(),
            Some(json!({"agentIdStart": 5})),
            "ManageSettings",
        ),
        (
            &sup,
            Method::GET,
            "/credentials".into(),
            None,
            "ManageCredentials",
        ),
        (
            &sup,
            Method::POST,
            "/security-profiles".into(),
            Some(json!({"name": "X", "permissions": []})),
            "ManageSecurityProfiles",
        ),
        (
            &agent,
            Method::POST,
            format!("/users/{target}/archive"),
            None,
            "ArchiveUser",
        ),
    ];
    for (token, method, path, body, permission) in cases {
        let r = app.admin(token, method.clone(), &path, body).await;
        r.assert_admin_error(403, "forbidden");
        assert!(
            detail(&r).contains(permission),
            "{method} {path}: detail should name {permission}: {}",
            r.body
        );
    }
    // Nothing happened.
    let v = view(&app, &boss, &target).await;
    assert_eq!(v["active"], true);
    let r = app
        .admin(
            &boss,
            Method::GET,
            &format!("/users?filter={}", q("userName eq \"new\"")),
            None,
        )
        .await;
    assert_eq!(r.assert_admin_ok(200)["totalResults"], 0);
    let s = app.admin(&boss, Method::GET, "/settings", None).await;
    assert_eq!(s.assert_admin_ok(200)["agentIdStart"], 1000);
}

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
            json!({"telephonyRegion": "Sydney"}),
            "ManageRoutingSettings",
        ),
        (&editor, json!({"agentId": "77"}), "ManageRoutingSettings"),
        (
            &editor,
            json!({"callbackNumbers": ["+442071234567"]}),
            "ManageRoutingSettings",
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
    let r = patch_user(&app, &boss, &a, json!({"webRtcEnabled": true})).await;
    r.assert_admin_error(400, "invalid_value");
    assert!(detail(&r).contains("webRtcEnabled"), "{}", r.body);
    assert!(view(&app, &boss, &a).await.get("webRtcEnabled").is_none());

    patch_user(
        &app,
        &boss,
        &a,
        json!({"personalPhoneNumber": "+442071234567", "webRtcEnabled": true}),
    )
    .await
    .assert_admin_ok(200);
    let v = view(&app, &boss, &a).await;
    assert_eq!(v["personalPhoneNumber"], "+442071234567");
    assert_eq!(v["webRtcEnabled"], true);

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

    // Removing the number while WebRTC is on is refused too.
    let r = patch_user(&app, &boss, &a, json!({"personalPhoneNumber": null})).await;
    r.assert_admin_error(400, "invalid_value");
    assert_eq!(
        view(&app, &boss, &a).await["personalPhoneNumber"],
        "+442071234567"
    );
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

    let r = patch_user(&app, &boss, &id, json!({"licenceType": "Admin"})).await;
    r.assert_admin_error(400, "invalid_value");
    assert!(detail(&r).contains("agentHierarchy"), "{}", r.body);
    assert!(view(&app, &boss, &id).await.get("licenceType").is_none());

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

    patch_user(
        &app,
        &boss,
        &id,
        json!({"licenceType": "Admin", "agentHierarchy": "EMEA/London/Team A"}),
    )
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
    assert!(
        (r.status == StatusCode::BAD_REQUEST && r.body["error"] == "bulk_failed")
            || (r.status == StatusCode::CONFLICT && r.body["error"] == "uniqueness"),
        "{} {}",
        r.status,
        r.body
    );
    for id in [&a, &b] {
        assert!(view(&app, &boss, id).await.get("agentId").is_none());
    }
}

// ---- archive, reactivate, delete ------------------------------------------------------------

#[tokio::test]
async fn archive_and_reactivate_a_local_user() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let (sup_id, sup) = app.admin_token("sup", &["Supervisor"]).await;
    let id = local_user(&app, &boss, "arch").await;

    let r = app
        .admin(&sup, Method::POST, &format!("/users/{id}/archive"), None)
        .await;
    assert_eq!(r.assert_admin_ok(200)["active"], false);
    let v = view(&app, &boss, &id).await;
    assert_eq!(v["active"], false);
    // Archived users keep their data; a local user stays outside the IdP's view.
    assert_eq!(v["userName"], "arch");
    app.get(&format!("/Users/{id}"))
        .await
        .assert_error(404, None);

    let r = app
        .admin(&sup, Method::POST, &format!("/users/{id}/reactivate"), None)
        .await;
    assert_eq!(r.assert_admin_ok(200)["active"], true);
    assert_eq!(view(&app, &boss, &id).await["active"], true);

    // PATCH of active works on local users too (ArchiveUser).
    patch_user(&app, &sup, &id, json!({"active": false}))
        .await
        .assert_admin_ok(200);
    assert_eq!(view(&app, &boss, &id).await["active"], false);

    let r = app
        .admin(&boss, Method::GET, &format!("/audit?target={id}"), None)
        .await;
    let actions: Vec<&str> = r.assert_admin_ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions.len(), 4, "{actions:?}");
    assert_eq!(
        &actions[1..],
        &["user.reactivate", "user.archive", "user.create"]
    );
    assert_eq!(r.body["items"][1]["actor"]["userId"], sup_id.as_str());
}

#[tokio::test]
async fn archive_of_an_idp_user_is_409_sso_owned() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let id = app.user("idp@acme.example").await;
    for action in ["archive", "reactivate"] {
        let r = app
            .admin(&boss, Method::POST, &format!("/users/{id}/{action}"), None)
            .await;
        r.assert_admin_error(409, "sso_owned_fields");
        assert_eq!(r.body["fields"], json!(["active"]));
    }
    assert_eq!(view(&app, &boss, &id).await["active"], true);
    let r = app
        .admin(&boss, Method::POST, "/users/no-such/archive", None)
        .await;
    r.assert_admin_error(404, "not_found");
}

#[tokio::test]
async fn delete_follows_the_archive_rules() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let (_, sup) = app.admin_token("sup", &["Supervisor"]).await;
    let (target, cred_id, target_token) = app.admin_credential("leaver", &["Agent"]).await;

    // Only DeleteUser may delete.
    let r = app
        .admin(&sup, Method::DELETE, &format!("/users/{target}"), None)
        .await;
    r.assert_admin_error(403, "forbidden");

    // Active users are not deleted.
    let r = app
        .admin(&boss, Method::DELETE, &format!("/users/{target}"), None)
        .await;
    r.assert_admin_error(409, "not_archived");

    // IdP users are not deleted here, even archived.
    let idp = app.user("idp@acme.example").await;
    app.patch(
        &format!("/Users/{idp}"),
        crate::harness::patch_op(json!([{"op": "replace", "path": "active", "value": false}])),
    )
    .await
    .assert_ok(200);
    let r = app
        .admin(&boss, Method::DELETE, &format!("/users/{idp}"), None)
        .await;
    r.assert_admin_error(409, "idp_managed");
    assert_eq!(view(&app, &boss, &idp).await["active"], false);

    // Holding credentials blocks deletion.
    app.admin(
        &boss,
        Method::POST,
        &format!("/users/{target}/archive"),
        None,
    )
    .await
    .assert_admin_ok(200);
    let r = app
        .admin(&boss, Method::DELETE, &format!("/users/{target}"), None)
        .await;
    r.assert_admin_error(409, "holds_credentials");
    view(&app, &boss, &target).await;

    let r = app
        .admin(
            &boss,
            Method::DELETE,
            &format!("/credentials/{cred_id}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = app
        .admin(&boss, Method::DELETE, &format!("/users/{target}"), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = app
        .admin(&boss, Method::GET, &format!("/users/{target}"), None)
        .await;
    r.assert_admin_error(404, "not_found");
    app.get(&format!("/Users/{target}"))
        .await
        .assert_error(404, None);
    let r = app.admin(&target_token, Method::GET, "/users", None).await;
    r.assert_admin_error(401, "unauthorized");
    // The userName is free again.
    local_user(&app, &boss, "leaver").await;
}

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
            "agentIdStart": 1000
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
