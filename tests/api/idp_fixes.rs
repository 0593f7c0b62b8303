//! What identity providers see stays what they sent: time zones as sent (the admin view
//! derives the IANA zone), group names unique per tenant, and primary-email uniqueness as
//! the tenant's setting — advertised in `/Schemas` exactly as enforced.

use axum::http::Method;
use migrations::MigratorTrait;
use rollcall::store;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::harness::*;

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

fn attribute<'a>(schema: &'a Value, name: &str) -> &'a Value {
    schema_attribute(schema, name)
}

#[tokio::test]
async fn a_windows_time_zone_is_stored_and_answered_as_sent_and_derived_in_the_admin_view() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let body = app
        .create_user(json!({
            "schemas": [USER_SCHEMA],
            "userName": "tz@acme.example",
            "timezone": "GMT Standard Time"
        }))
        .await;
    assert_eq!(body["timezone"], "GMT Standard Time");
    let id = body["id"].as_str().unwrap();
    let got = app.get(&format!("/scim/v2/Users/{id}")).await;
    assert_eq!(got.assert_ok(200)["timezone"], "GMT Standard Time");

    // Every zone of CLDR's mapping, not a subset: a rarely seen one.
    let r = app
        .patch(
            &format!("/scim/v2/Users/{id}"),
            patch_op(json!([{"op": "replace", "path": "timezone", "value": "Line Islands Standard Time"}])),
        )
        .await;
    assert_eq!(r.assert_ok(200)["timezone"], "Line Islands Standard Time");
    let v = view(&app, &boss, id).await;
    assert_eq!(v["timezone"], "Line Islands Standard Time");
    assert_eq!(v["timezoneIana"], "Pacific/Kiritimati");
    assert!(
        !v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["field"] == "timezone"),
        "a Windows id is recognised: {v}"
    );

    // An IANA name derives itself; an unknown name is kept, flagged, and derives nothing.
    let r = app
        .patch(
            &format!("/scim/v2/Users/{id}"),
            patch_op(json!([{"op": "replace", "path": "timezone", "value": "Europe/Paris"}])),
        )
        .await;
    r.assert_ok(200);
    assert_eq!(view(&app, &boss, id).await["timezoneIana"], "Europe/Paris");
    let r = app
        .patch(
            &format!("/scim/v2/Users/{id}"),
            patch_op(json!([{"op": "replace", "path": "timezone", "value": "Mars Standard Time"}])),
        )
        .await;
    assert_eq!(r.assert_ok(200)["timezone"], "Mars Standard Time");
    let v = view(&app, &boss, id).await;
    assert_eq!(v["timezoneIana"], Value::Null);
    assert!(
        v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["field"] == "timezone"),
        "{v}"
    );
}

#[tokio::test]
async fn group_names_are_unique_in_a_tenant_ignoring_case() {
    let app = TestApp::new().await;
    let first = app.group("Sales EMEA", &[]).await;
    let r = app
        .post(
            "/scim/v2/Groups",
            json!({"schemas": [GROUP_SCHEMA], "displayName": "sales emea"}),
        )
        .await;
    r.assert_error(409, Some("uniqueness"));
    assert!(
        r.body["detail"].as_str().unwrap().contains("sales emea"),
        "{}",
        r.body
    );
    let found = app
        .get(&format!(
            "/scim/v2/Groups?filter={}",
            q("displayName eq \"Sales EMEA\"")
        ))
        .await;
    assert_eq!(found.assert_ok(200)["totalResults"], 1);

    // A rename onto another group's name is refused too, and changes nothing.
    let second = app.group("Support", &[]).await;
    let r = app
        .patch(
            &format!("/scim/v2/Groups/{second}"),
            patch_op(json!([{"op": "replace", "path": "displayName", "value": "SALES EMEA"}])),
        )
        .await;
    r.assert_error(409, Some("uniqueness"));
    let r = app
        .put(
            &format!("/scim/v2/Groups/{second}"),
            json!({"schemas": [GROUP_SCHEMA], "displayName": "Sales EMEA"}),
        )
        .await;
    r.assert_error(409, Some("uniqueness"));
    assert_eq!(
        app.fetch(&format!("/scim/v2/Groups/{second}")).await["displayName"],
        "Support"
    );
    // A change of the name's case on the group itself is fine.
    let r = app
        .patch(
            &format!("/scim/v2/Groups/{first}"),
            patch_op(json!([{"op": "replace", "path": "displayName", "value": "SALES EMEA"}])),
        )
        .await;
    assert_eq!(r.assert_ok(200)["displayName"], "SALES EMEA");
    // Another tenant may use the name.
    let other = app.other_tenant("globex").await;
    let r = app
        .send_as(
            &other,
            Method::POST,
            "/scim/v2/Groups",
            Some(json!({"schemas": [GROUP_SCHEMA], "displayName": "Sales EMEA"})),
            &[],
        )
        .await;
    r.assert_ok(201);

    let schema = app
        .fetch("/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group")
        .await;
    assert_eq!(attribute(&schema, "displayName")["uniqueness"], "server");
}

#[tokio::test]
async fn primary_email_uniqueness_follows_the_tenant_setting_and_schemas_say_so() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let user_schema = "/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User";
    // Default on: a second user with the primary email is refused, and the schema says so.
    assert_eq!(
        app.admin(&boss, Method::GET, "/settings", None)
            .await
            .assert_admin_ok(200)["uniquePrimaryEmail"],
        true
    );
    assert_eq!(
        attribute(&app.fetch(user_schema).await, "emails")["uniqueness"],
        "server"
    );
    let email = |name: &str| {
        json!({
            "schemas": [USER_SCHEMA],
            "userName": name,
            "emails": [{"value": "Shared@Acme.example", "type": "work", "primary": true}]
        })
    };
    app.create_user(email("one")).await;
    let r = app.post("/scim/v2/Users", email("two")).await;
    r.assert_error(409, Some("uniqueness"));
    assert!(
        r.body["detail"].as_str().unwrap().contains("primary email"),
        "{}",
        r.body
    );
    assert!(app.find_users("userName eq \"two\"").await.is_empty());

    // Off: the schema says none, and users may share it.
    app.admin(
        &boss,
        Method::PATCH,
        "/settings",
        Some(json!({"uniquePrimaryEmail": false})),
    )
    .await
    .assert_admin_ok(200);
    assert_eq!(
        attribute(&app.fetch(user_schema).await, "emails")["uniqueness"],
        "none"
    );
    app.create_user(email("two")).await;
    let third = app.create_user(email("three")).await;

    // On again while users share it: refused, naming the address, and nothing changes.
    let r = app
        .admin(
            &boss,
            Method::PATCH,
            "/settings",
            Some(json!({"uniquePrimaryEmail": true})),
        )
        .await;
    r.assert_admin_error(409, "uniqueness");
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("shared@acme.example"),
        "{}",
        r.body
    );
    assert_eq!(
        app.admin(&boss, Method::GET, "/settings", None)
            .await
            .assert_admin_ok(200)["uniquePrimaryEmail"],
        false
    );
    assert_eq!(
        attribute(&app.fetch(user_schema).await, "emails")["uniqueness"],
        "none"
    );

    // Once the addresses are distinct it turns on, and is enforced again.
    for name in ["two", "three"] {
        let id = app
            .find_users(&format!("userName eq \"{name}\""))
            .await
            .remove(0);
        let r = app
            .patch(
                &format!("/scim/v2/Users/{id}"),
                patch_op(json!([{"op": "replace", "path": "emails", "value": [{"value": format!("{name}@acme.example"), "primary": true}]}])),
            )
            .await;
        r.assert_ok(200);
    }
    app.admin(
        &boss,
        Method::PATCH,
        "/settings",
        Some(json!({"uniquePrimaryEmail": true})),
    )
    .await
    .assert_admin_ok(200);
    let r = app
        .patch(
            &format!("/scim/v2/Users/{}", third["id"].as_str().unwrap()),
            patch_op(json!([{"op": "replace", "path": "emails", "value": [{"value": "SHARED@acme.example", "primary": true}]}])),
        )
        .await;
    r.assert_error(409, Some("uniqueness"));
    assert_eq!(
        attribute(&app.fetch(user_schema).await, "emails")["uniqueness"],
        "server"
    );
}

/// Runs SQL with `?` placeholders on either database.
async fn exec(db: &sea_orm::DatabaseConnection, sql: &str, values: Vec<sea_orm::Value>) {
    let backend = db.get_database_backend();
    let sql = if backend == sea_orm::DatabaseBackend::Postgres {
        let mut n = 0;
        sql.chars()
            .map(|c| {
                if c == '?' {
                    n += 1;
                    format!("${n}")
                } else {
                    c.to_string()
                }
            })
            .collect()
    } else {
        sql.to_string()
    };
    db.execute_raw(Statement::from_sql_and_values(backend, sql.clone(), values))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

#[tokio::test]
async fn the_migration_renames_duplicate_group_names_oldest_first_and_audits_it() {
    let (url, _dir) = fresh_database_url().await;
    let db = store::connect(&url).await.expect("connect");
    // The schema as it was before group names became unique.
    migrations::Migrator::up(&db, Some(7))
        .await
        .expect("migrate to 7");
    exec(
        &db,
        "INSERT INTO tenants (id, slug, created_us, settings) VALUES ('t1', 'acme', 1, '{}')",
        vec![],
    )
    .await;
    for (id, name, created) in [
        ("g-new", "Sales", 30),
        ("g-old", "Sales", 10),
        ("g-mid", "SALES", 20),
        ("g-taken", "Sales (2)", 5),
        ("g-alone", "Support", 1),
    ] {
        exec(
            &db,
            "INSERT INTO groups (id, tenant_id, display_name, display_name_key, external_id, data, version, created_us, modified_us) VALUES (?, 't1', ?, ?, NULL, ?, 1, ?, ?)",
            vec![
                id.into(),
                name.into(),
                name.to_lowercase().into(),
                json!({"displayName": name}).to_string().into(),
                (created as i64).into(),
                (created as i64).into(),
            ],
        )
        .await;
    }
    migrations::Migrator::up(&db, None).await.expect("migrate");

    let names = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT id, display_name, data, version FROM groups ORDER BY id",
        ))
        .await
        .expect("groups");
    let got: Vec<(String, String, i64)> = names
        .iter()
        .map(|row| {
            let data: String = row.try_get("", "data").unwrap();
            let doc: Value = serde_json::from_str(&data).unwrap();
            let name: String = row.try_get("", "display_name").unwrap();
            assert_eq!(doc["displayName"], name.as_str(), "the document follows");
            (
                row.try_get("", "id").unwrap(),
                name,
                row.try_get("", "version").unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("g-alone".to_string(), "Support".to_string(), 1),
            ("g-mid".to_string(), "SALES (3)".to_string(), 2),
            ("g-new".to_string(), "Sales (4)".to_string(), 2),
            ("g-old".to_string(), "Sales".to_string(), 1),
            ("g-taken".to_string(), "Sales (2)".to_string(), 1),
        ]
    );
    let audit = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT target_id, changes FROM audit_log WHERE action = 'group.rename_duplicate' ORDER BY target_id",
        ))
        .await
        .expect("audit");
    let audited: Vec<(String, Value)> = audit
        .iter()
        .map(|row| {
            let changes: String = row.try_get("", "changes").unwrap();
            (
                row.try_get("", "target_id").unwrap(),
                serde_json::from_str(&changes).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        audited,
        vec![
            (
                "g-mid".to_string(),
                json!({"displayName": {"before": "SALES", "after": "SALES (3)"}})
            ),
            (
                "g-new".to_string(),
                json!({"displayName": {"before": "Sales", "after": "Sales (4)"}})
            ),
        ]
    );
}
