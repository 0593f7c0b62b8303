//! The contact-centre domain rules as SCIM and the admin API see them together: the ownership
//! registry on the SCIM side, catalog-driven `/Schemas`, the provisioning template, archive
//! and credentials, and the audit trail across surfaces.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{
    CONTACT_CENTRE, ENTERPRISE, TestApp, USER_SCHEMA, boss, catalog, patch_op, q, view,
};

async fn admin_patch(app: &TestApp, token: &str, id: &str, body: Value) -> Value {
    app.admin(token, Method::PATCH, &format!("/users/{id}"), Some(body))
        .await
        .assert_admin_ok(200)
        .clone()
}

async fn routing_catalogs(app: &TestApp, token: &str) {
    catalog(app, token, "routing-profiles", json!({"name": "Inbound"})).await;
    catalog(app, token, "skills", json!({"name": "French"})).await;
    catalog(app, token, "hierarchy", json!({"path": "EMEA/London"})).await;
}

fn cc_attr<'a>(schema: &'a Value, name: &str) -> &'a Value {
    crate::harness::schema_attribute(schema, name)
}

#[tokio::test]
async fn schemas_advertise_the_tenants_security_profiles_and_ownership() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    catalog(
        &app,
        &boss,
        "security-profiles",
        json!({"name": "Team lead", "permissions": ["ViewUsers"]}),
    )
    .await;
    let schema = app.fetch(&format!("/Schemas/{CONTACT_CENTRE}")).await;
    let profiles = cc_attr(&schema, "securityProfiles");
    let mut values: Vec<&str> = profiles["canonicalValues"]
        .as_array()
        .unwrap_or_else(|| panic!("canonicalValues: {profiles}"))
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    values.sort();
    assert_eq!(
        values,
        vec!["Administrator", "Agent", "Supervisor", "Team lead"]
    );
    assert_eq!(profiles["mutability"], "readWrite");
    for local in ["routingProfile", "licenceType", "agentHierarchy", "skills"] {
        assert_eq!(cc_attr(&schema, local)["mutability"], "readOnly", "{local}");
    }

    // Another tenant sees its own catalog only.
    let other = app.other_tenant("globex").await;
    let r = app
        .send_as(
            &other,
            Method::GET,
            &format!("/Schemas/{CONTACT_CENTRE}"),
            None,
            &[],
        )
        .await;
    let schema = r.assert_ok(200);
    let values = cc_attr(schema, "securityProfiles")["canonicalValues"].clone();
    assert!(
        !values.to_string().contains("Team lead"),
        "another tenant's profile leaked: {values}"
    );
}

#[tokio::test]
async fn scim_patch_of_a_locally_owned_attribute_is_400_mutability() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    routing_catalogs(&app, &boss).await;
    let id = app.user("agent@acme.example").await;
    admin_patch(&app, &boss, &id, json!({"routingProfile": "Inbound"})).await;
    let before = app.fetch(&format!("/Users/{id}")).await;
    for op in ["replace", "add", "remove"] {
        let mut operation = json!({
            "op": op,
            "path": format!("{CONTACT_CENTRE}:routingProfile")
        });
        if op != "remove" {
            operation["value"] = json!("Inbound");
        }
        let r = app
            .patch(&format!("/Users/{id}"), patch_op(json!([operation])))
            .await;
        r.assert_error(400, Some("mutability"));
        assert!(
            r.body["detail"]
                .as_str()
                .unwrap()
                .contains("routingProfile"),
            "{}",
            r.body
        );
    }
    let after = app.fetch(&format!("/Users/{id}")).await;
    assert_eq!(after["meta"]["version"], before["meta"]["version"]);
    assert_eq!(view(&app, &boss, &id).await["routingProfile"], "Inbound");
}

#[tokio::test]
async fn scim_post_and_put_ignore_locally_owned_attributes() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    routing_catalogs(&app, &boss).await;
    let body = app
        .create_user(json!({
            "schemas": [USER_SCHEMA, CONTACT_CENTRE],
            "userName": "pushy@acme.example",
            CONTACT_CENTRE: {"routingProfile": "Inbound", "licenceType": "Admin"}
        }))
        .await;
    let id = body["id"].as_str().unwrap().to_string();
    let v = view(&app, &boss, &id).await;
    assert!(v.get("routingProfile").is_none(), "{v}");
    assert!(v.get("licenceType").is_none(), "{v}");

    let r = app
        .put(
            &format!("/Users/{id}"),
            json!({
                "schemas": [USER_SCHEMA, CONTACT_CENTRE],
                "userName": "pushy@acme.example",
                CONTACT_CENTRE: {"routingProfile": "Inbound"}
            }),
        )
        .await;
    r.assert_ok(200);
    assert!(view(&app, &boss, &id).await.get("routingProfile").is_none());
}

#[tokio::test]
async fn scim_put_never_wipes_locally_owned_values() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    routing_catalogs(&app, &boss).await;
    let id = app.user("keep@acme.example").await;
    admin_patch(
        &app,
        &boss,
        &id,
        json!({
            "routingProfile": "Inbound",
            "licenceType": "AgentDesktop",
            "skills": [{"name": "French", "level": 4}],
            "agentHierarchy": "EMEA/London"
        }),
    )
    .await;
    let agent_id = view(&app, &boss, &id).await["agentId"].clone();
    assert_eq!(agent_id, "1000");

    // A PUT without the extension at all.
    app.put(
        &format!("/Users/{id}"),
        json!({
            "schemas": [USER_SCHEMA],
            "userName": "keep@acme.example",
            "displayName": "Kept"
        }),
    )
    .await
    .assert_ok(200);
    // A PUT with the extension carrying only IdP-owned values.
    app.put(
        &format!("/Users/{id}"),
        json!({
            "schemas": [USER_SCHEMA, CONTACT_CENTRE],
            "userName": "keep@acme.example",
            "displayName": "Kept again",
            CONTACT_CENTRE: {"securityProfiles": ["Agent"]}
        }),
    )
    .await
    .assert_ok(200);
    let v = view(&app, &boss, &id).await;
    assert_eq!(v["displayName"], "Kept again");
    assert_eq!(v["securityProfiles"], json!(["Agent"]));
    assert_eq!(v["routingProfile"], "Inbound", "{v}");
    assert_eq!(v["licenceType"], "AgentDesktop");
    assert_eq!(v["skills"], json!([{"name": "French", "level": 4}]));
    assert_eq!(v["agentHierarchy"], "EMEA/London");
    assert_eq!(v["agentId"], agent_id);

    // A SCIM PATCH replacing the whole extension does not wipe them either.
    app.patch(
        &format!("/Users/{id}"),
        patch_op(json!([{
            "op": "replace",
            "path": CONTACT_CENTRE,
            "value": {"securityProfiles": ["Supervisor"]}
        }])),
    )
    .await
    .assert_ok(200);
    let v = view(&app, &boss, &id).await;
    assert_eq!(v["securityProfiles"], json!(["Supervisor"]));
    assert_eq!(v["routingProfile"], "Inbound", "{v}");
    assert_eq!(v["agentId"], agent_id);
}

#[tokio::test]
async fn scim_security_profiles_must_name_the_catalog() {
    let app = TestApp::new().await;
    let r = app
        .post(
            "/Users",
            json!({
                "schemas": [USER_SCHEMA, CONTACT_CENTRE],
                "userName": "ghost@acme.example",
                CONTACT_CENTRE: {"securityProfiles": ["Agent", "Ghost Buster"]}
            }),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));
    assert!(
        r.body["detail"].as_str().unwrap().contains("Ghost Buster"),
        "{}",
        r.body
    );
    assert!(
        app.find_users("userName eq \"ghost@acme.example\"")
            .await
            .is_empty()
    );

    // Catalog spelling wins; PATCH to an unknown profile changes nothing.
    let body = app
        .create_user(json!({
            "schemas": [USER_SCHEMA, CONTACT_CENTRE],
            "userName": "real@acme.example",
            CONTACT_CENTRE: {"securityProfiles": ["supervisor"]}
        }))
        .await;
    let id = body["id"].as_str().unwrap().to_string();
    assert_eq!(
        body[CONTACT_CENTRE]["securityProfiles"],
        json!(["Supervisor"])
    );
    let r = app
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([{
                "op": "add",
                "path": format!("{CONTACT_CENTRE}:securityProfiles"),
                "value": ["Overlord"]
            }])),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));
    assert!(r.body["detail"].as_str().unwrap().contains("Overlord"));
    let after = app.fetch(&format!("/Users/{id}")).await;
    assert_eq!(
        after[CONTACT_CENTRE]["securityProfiles"],
        json!(["Supervisor"])
    );
}

#[tokio::test]
async fn scim_provisioning_is_never_refused_for_descriptive_values() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let body = app
        .create_user(json!({
            "schemas": [USER_SCHEMA],
            "userName": "liberal@acme.example",
            "name": {"givenName": "R2-D2 (unit)", "familyName": "Droid#1"},
            "timezone": "Tatooine Standard Time"
        }))
        .await;
    let id = body["id"].as_str().unwrap();
    let v = view(&app, &boss, id).await;
    assert_eq!(v["name"]["givenName"], "R2-D2 (unit)");
    assert_eq!(v["timezone"], "Tatooine Standard Time");
    let flagged: Vec<&str> = v["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .map(|w| w["field"].as_str().unwrap())
        .collect();
    for field in ["timezone", "name.givenName", "name.familyName"] {
        assert!(flagged.contains(&field), "{field}: {v}");
    }
}

#[tokio::test]
async fn agent_hierarchy_is_not_required_of_the_idp() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    app.admin(
        &boss,
        Method::PATCH,
        "/settings",
        Some(json!({"agentHierarchyRequired": true})),
    )
    .await
    .assert_admin_ok(200);
    let id = app.user("nohier@acme.example").await;
    let v = view(&app, &boss, &id).await;
    assert!(v.get("agentHierarchy").is_none());
    // SCIM updates of such a user keep working.
    app.patch(
        &format!("/Users/{id}"),
        patch_op(json!([{"op": "replace", "path": "displayName", "value": "N H"}])),
    )
    .await
    .assert_ok(200);
    assert_eq!(view(&app, &boss, &id).await["displayName"], "N H");
}

#[tokio::test]
async fn provisioning_template_seeds_new_idp_users() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    routing_catalogs(&app, &boss).await;
    let r = app
        .admin(
            &boss,
            Method::POST,
            "/users",
            Some(json!({"userName": "template", "securityProfiles": ["Agent"]})),
        )
        .await;
    let template = r.assert_admin_ok(201)["id"].as_str().unwrap().to_string();
    admin_patch(
        &app,
        &boss,
        &template,
        json!({
            "routingProfile": "Inbound",
            "licenceType": "AgentDesktop",
            "skills": [{"name": "French", "level": 6}],
            "agentHierarchy": "EMEA/London",
            "telephonyRegion": "Sydney"
        }),
    )
    .await;
    let template_agent_id = view(&app, &boss, &template).await["agentId"].clone();
    assert_eq!(template_agent_id, "1000");
    app.admin(
        &boss,
        Method::PATCH,
        "/settings",
        Some(json!({"provisioningTemplateUser": template})),
    )
    .await
    .assert_admin_ok(200);

    let first = app.user("new1@acme.example").await;
    let second = app.user("new2@acme.example").await;
    let v = view(&app, &boss, &first).await;
    assert_eq!(v["managedBy"], "idp");
    assert_eq!(v["routingProfile"], "Inbound", "{v}");
    assert_eq!(v["licenceType"], "AgentDesktop");
    assert_eq!(v["skills"], json!([{"name": "French", "level": 6}]));
    assert_eq!(v["agentHierarchy"], "EMEA/London");
    assert_eq!(v["telephonyRegion"], "Sydney");
    assert_eq!(v["agentId"], "1001", "its own agent id: {v}");
    let v2 = view(&app, &boss, &second).await;
    assert_eq!(v2["agentId"], "1002", "{v2}");
    assert_eq!(v2["routingProfile"], "Inbound");

    // Users that existed before are not touched; the template keeps its agent id.
    assert_eq!(view(&app, &boss, &template).await["agentId"], "1000");
    // The template's values do not override values the IdP owns.
    let body = app
        .create_user(json!({
            "schemas": [USER_SCHEMA, CONTACT_CENTRE],
            "userName": "new3@acme.example",
            CONTACT_CENTRE: {"securityProfiles": ["Supervisor"]}
        }))
        .await;
    let v3 = view(&app, &boss, body["id"].as_str().unwrap()).await;
    assert_eq!(v3["securityProfiles"], json!(["Supervisor"]));
    assert_eq!(v3["routingProfile"], "Inbound");
}

#[tokio::test]
async fn scim_delete_is_refused_while_the_user_holds_credentials() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let id = app.user("holder@acme.example").await;
    let group = app.group("Team", &[&id]).await;
    let (cred, _) = app.user_credential(&id).await;

    let r = app.delete(&format!("/Users/{id}")).await;
    r.assert_error(409, None);
    app.fetch(&format!("/Users/{id}")).await;
    assert_eq!(
        crate::harness::member_ids(&app.fetch(&format!("/Groups/{group}")).await),
        vec![id.clone()]
    );

    let r = app
        .admin(&boss, Method::DELETE, &format!("/credentials/{cred}"), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = app.delete(&format!("/Users/{id}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    app.get(&format!("/Users/{id}"))
        .await
        .assert_error(404, None);
    app.admin(&boss, Method::GET, &format!("/users/{id}"), None)
        .await
        .assert_admin_error(404, "not_found");
    assert!(crate::harness::member_ids(&app.fetch(&format!("/Groups/{group}")).await).is_empty());
    // The userName is reusable at once.
    app.user("holder@acme.example").await;
}

#[tokio::test]
async fn idp_archive_stops_the_users_api_credentials() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let body = app
        .create_user(json!({
            "schemas": [USER_SCHEMA, CONTACT_CENTRE],
            "userName": "sso-admin@acme.example",
            CONTACT_CENTRE: {"securityProfiles": ["Supervisor"]}
        }))
        .await;
    let id = body["id"].as_str().unwrap().to_string();
    let (_, token) = app.user_credential(&id).await;
    app.admin(&token, Method::GET, "/users", None)
        .await
        .assert_admin_ok(200);

    app.patch(
        &format!("/Users/{id}"),
        patch_op(json!([{"op": "replace", "path": "active", "value": false}])),
    )
    .await
    .assert_ok(200);
    app.admin(&token, Method::GET, "/users", None)
        .await
        .assert_admin_error(401, "unauthorized");
    let r = app
        .admin(
            &boss,
            Method::GET,
            &format!("/users?filter={}", q("active eq false")),
            None,
        )
        .await;
    let listed: Vec<&str> = r.assert_admin_ok(200)["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, vec![id.as_str()]);
    assert_eq!(app.find_users("active eq false").await, vec![id.clone()]);

    // The IdP reactivates; the credential works again.
    app.patch(
        &format!("/Users/{id}"),
        patch_op(json!([{"op": "replace", "path": "active", "value": true}])),
    )
    .await
    .assert_ok(200);
    assert_eq!(view(&app, &boss, &id).await["active"], true);
    app.admin(&token, Method::GET, "/users", None)
        .await
        .assert_admin_ok(200);
}

#[tokio::test]
async fn the_audit_log_names_the_surface_of_every_change() {
    let app = TestApp::new().await;
    let (boss_id, boss) = app.admin_token("boss", &["Administrator"]).await;
    routing_catalogs(&app, &boss).await;

    // SCIM create, SCIM patch, admin patch, SCIM delete.
    let id = app.user("trail@acme.example").await;
    app.patch(
        &format!("/Users/{id}"),
        patch_op(json!([{"op": "replace", "path": "title", "value": "Agent"}])),
    )
    .await
    .assert_ok(200);
    admin_patch(&app, &boss, &id, json!({"routingProfile": "Inbound"})).await;
    let r = app.delete(&format!("/Users/{id}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);

    let r = app
        .admin(&boss, Method::GET, &format!("/audit?target={id}"), None)
        .await;
    let body = r.assert_admin_ok(200).clone();
    let items = body["items"].as_array().unwrap();
    assert_eq!(body["totalResults"], 4, "{body}");
    let kinds: Vec<&str> = items
        .iter()
        .map(|i| i["actor"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["scim", "admin", "scim", "scim"], "{body}");
    assert_eq!(items[0]["action"], "user.delete");
    assert_eq!(items[3]["action"], "user.create");
    assert!(
        ["user.patch", "user.update"].contains(&items[2]["action"].as_str().unwrap()),
        "{}",
        items[2]
    );
    assert_eq!(
        items[2]["changes"]["title"],
        json!({"before": null, "after": "Agent"})
    );
    assert_eq!(items[1]["actor"]["userId"], boss_id.as_str());
    // SCIM changes carry the SCIM credential, no user.
    let creds = app.admin(&boss, Method::GET, "/credentials", None).await;
    let scim_cred = creds.assert_admin_ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "scim")
        .map(|c| c["id"].clone())
        .unwrap();
    assert_eq!(items[3]["actor"]["credentialId"], scim_cred);
    assert_eq!(items[3]["actor"]["userId"], Value::Null);

    // CLI changes are audited as the CLI.
    let cli_user = rollcall::write::users::create(
        &app.db,
        &app.tenant_id,
        &rollcall::domain::audit::Actor::cli(),
        rollcall::domain::validation::Surface::Local,
        json!({"userName": "from-cli", ENTERPRISE: {"department": "Ops"}})
            .as_object()
            .unwrap()
            .clone(),
    )
    .await
    .expect("cli create");
    let r = app
        .admin(
            &boss,
            Method::GET,
            &format!("/audit?target={}", cli_user.id),
            None,
        )
        .await;
    let body = r.assert_admin_ok(200);
    assert_eq!(body["totalResults"], 1);
    assert_eq!(body["items"][0]["actor"]["kind"], "cli");
    assert_eq!(body["items"][0]["action"], "user.create");
    assert_eq!(
        body["items"][0]["changes"][format!("{ENTERPRISE}:department")],
        json!({"before": null, "after": "Ops"})
    );
    assert_eq!(view(&app, &boss, &cli_user.id).await["managedBy"], "local");
}

#[tokio::test]
async fn user_names_are_unique_across_surfaces_case_insensitively() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    app.admin(
        &boss,
        Method::POST,
        "/users",
        Some(json!({"userName": "Shared@Acme.example"})),
    )
    .await
    .assert_admin_ok(201);
    let r = app
        .post(
            "/Users",
            json!({"schemas": [USER_SCHEMA], "userName": "shared@acme.example"}),
        )
        .await;
    r.assert_error(409, Some("uniqueness"));
    let r = app
        .admin(
            &boss,
            Method::GET,
            &format!("/users?filter={}", q("userName eq \"shared@acme.example\"")),
            None,
        )
        .await;
    assert_eq!(r.assert_admin_ok(200)["totalResults"], 1);
}

#[tokio::test]
async fn catalogs_are_per_tenant() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    catalog(&app, &boss, "routing-profiles", json!({"name": "Inbound"})).await;

    let other =
        rollcall::write::tenants::create(&app.db, &rollcall::domain::audit::Actor::cli(), "globex")
            .await
            .expect("tenant");
    let other_boss = rollcall::write::users::create(
        &app.db,
        &other.id,
        &rollcall::domain::audit::Actor::cli(),
        rollcall::domain::validation::Surface::Local,
        json!({"userName": "boss", CONTACT_CENTRE: {"securityProfiles": ["Administrator"]}})
            .as_object()
            .unwrap()
            .clone(),
    )
    .await
    .expect("other boss");
    let (_, other_token) = rollcall::store::credentials::create(
        &app.db,
        &other.id,
        rollcall::store::credentials::Kind::User,
        Some(&other_boss.id),
        "t",
    )
    .await
    .expect("credential");

    let r = app
        .admin(&other_token, Method::GET, "/routing-profiles", None)
        .await;
    assert_eq!(r.assert_admin_ok(200)["items"], json!([]));
    let r = app
        .admin(
            &other_token,
            Method::PATCH,
            &format!("/users/{}", other_boss.id),
            Some(json!({"routingProfile": "Inbound"})),
        )
        .await;
    r.assert_admin_error(400, "invalid_value");
    let r = app.admin(&other_token, Method::GET, "/users", None).await;
    let body = r.assert_admin_ok(200);
    assert_eq!(body["totalResults"], 1, "{body}");
    assert_eq!(body["users"][0]["id"], other_boss.id.as_str());
    let r = app.admin(&other_token, Method::GET, "/audit", None).await;
    let body = r.assert_admin_ok(200);
    assert!(
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["target"]["id"] != app.tenant_id.as_str()
                && i["action"] != "catalog.create"),
        "another tenant's audit leaked: {body}"
    );
}
