//! The mass-deprovision brake: an identity provider credential taking too many users out of
//! service in the window is held (429 + Retry-After), the admin sees who, and a release lets
//! the retries through. Ordinary traffic never trips it.

use axum::http::Method;
use serde_json::{Value, json};

use crate::harness::*;

async fn deactivate(app: &TestApp, id: &str) -> TestResponse {
    app.patch(
        &format!("/scim/v2/Users/{id}"),
        patch_op(json!([{"op": "replace", "value": {"active": false}}])),
    )
    .await
}

async fn users(app: &TestApp, n: usize, prefix: &str) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        ids.push(app.user(&format!("{prefix}{i}")).await);
    }
    ids
}

async fn settings(app: &TestApp, boss: &str, body: Value) {
    app.admin(boss, Method::PATCH, "/settings", Some(body))
        .await
        .assert_admin_ok(200);
}

async fn holds(app: &TestApp, boss: &str) -> Value {
    app.admin(boss, Method::GET, "/holds", None)
        .await
        .assert_admin_ok(200)
        .clone()
}

#[tokio::test]
async fn a_mass_deactivation_is_held_until_an_admin_releases_it() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    // 60 IdP users and the boss: 10% of 61 is 7 (rounded up), above the minimum of 5.
    settings(&app, &boss, json!({"deprovisionBrakeMinimum": 5})).await;
    let ids = users(&app, 60, "agent").await;
    for id in &ids[..7] {
        deactivate(&app, id).await.assert_ok(200);
    }
    let r = deactivate(&app, &ids[7]).await;
    r.assert_error(429, None);
    assert_eq!(r.header("retry-after"), Some("600"));
    assert!(
        r.body["detail"].as_str().unwrap().contains("brake"),
        "{}",
        r.body
    );
    assert_eq!(
        app.fetch(&format!("/scim/v2/Users/{}", ids[7])).await["active"],
        true
    );
    // Held: the deletes of this credential too, and again on retry.
    let r = app.delete(&format!("/scim/v2/Users/{}", ids[8])).await;
    r.assert_error(429, None);
    deactivate(&app, &ids[7]).await.assert_error(429, None);
    // Other writes go on.
    app.patch(
        &format!("/scim/v2/Users/{}", ids[9]),
        patch_op(json!([{"op": "replace", "path": "title", "value": "Lead"}])),
    )
    .await
    .assert_ok(200);

    let listed = holds(&app, &boss).await;
    let hold = &listed["items"][0];
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(hold["state"], "held");
    assert_eq!(hold["threshold"], 7);
    let kept: Vec<(String, String, i64)> = hold["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["userName"].as_str().unwrap().to_string(),
                u["operation"].as_str().unwrap().to_string(),
                u["attempts"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kept,
        vec![
            ("agent7".to_string(), "deactivate".to_string(), 2),
            ("agent8".to_string(), "delete".to_string(), 1)
        ]
    );

    // An agent may not release it; the admin does, once.
    let (_, agent) = app.admin_token("floor", &["Agent"]).await;
    let id = hold["id"].as_str().unwrap();
    app.admin(&agent, Method::POST, &format!("/holds/{id}/release"), None)
        .await
        .assert_admin_error(403, "forbidden");
    let r = app
        .admin(&boss, Method::POST, &format!("/holds/{id}/release"), None)
        .await;
    assert_eq!(r.assert_admin_ok(200)["state"], "released");
    app.admin(&boss, Method::POST, &format!("/holds/{id}/release"), None)
        .await
        .assert_admin_error(409, "already_released");

    // The identity provider's retries go through; a new count starts.
    deactivate(&app, &ids[7]).await.assert_ok(200);
    let r = app.delete(&format!("/scim/v2/Users/{}", ids[8])).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(
        app.fetch(&format!("/scim/v2/Users/{}", ids[7])).await["active"],
        false
    );
    for id in &ids[10..15] {
        deactivate(&app, id).await.assert_ok(200);
    }
    let audit = app
        .admin(&boss, Method::GET, &format!("/audit?target={id}"), None)
        .await;
    assert!(
        audit
            .assert_admin_ok(200)
            .to_string()
            .contains("hold.release")
    );
}

#[tokio::test]
async fn ordinary_traffic_never_trips_the_brake() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let ids = users(&app, 120, "u").await;
    // The default minimum is 50 users an hour: 49 offboardings, creates, edits, and the
    // same users deleted once inactive (not counted again) all pass.
    for id in &ids[..49] {
        deactivate(&app, id).await.assert_ok(200);
    }
    for id in &ids[..49] {
        let r = app.delete(&format!("/scim/v2/Users/{id}")).await;
        assert_eq!(r.status, 204, "{}", r.body);
    }
    users(&app, 10, "new").await;
    // Local archives by an admin are the admin's own decision: not counted.
    for i in 0..5 {
        let id = local_user(&app, &boss, &format!("local{i}")).await;
        app.admin(&boss, Method::POST, &format!("/users/{id}/archive"), None)
            .await
            .assert_admin_ok(200);
    }
    deactivate(&app, &ids[100]).await.assert_ok(200);
    assert_eq!(holds(&app, &boss).await["items"], json!([]));
}

#[tokio::test]
async fn the_brake_is_per_credential_and_can_be_turned_off() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    settings(
        &app,
        &boss,
        json!({"deprovisionBrakeMinimum": 2, "deprovisionBrakePercent": 1}),
    )
    .await;
    let ids = users(&app, 10, "c").await;
    deactivate(&app, &ids[0]).await.assert_ok(200);
    deactivate(&app, &ids[1]).await.assert_ok(200);
    deactivate(&app, &ids[2]).await.assert_error(429, None);
    // Another tenant's holds are not this one's, and bad settings are refused.
    let other = app.other_tenant("globex").await;
    let r = app
        .send_as(&other, Method::GET, "/scim/v2/Users", None, &[])
        .await;
    r.assert_ok(200);
    for (field, value) in [
        ("deprovisionBrakePercent", json!(0)),
        ("deprovisionBrakeMinimum", json!(0)),
        ("deprovisionBrakeWindowMinutes", json!(0)),
    ] {
        let r = app
            .admin(
                &boss,
                Method::PATCH,
                "/settings",
                Some(json!({field: value})),
            )
            .await;
        r.assert_admin_error(400, "invalid_value");
    }
    app.admin(&boss, Method::GET, "/holds?state=lost", None)
        .await
        .assert_admin_error(400, "invalid_value");
    // Turned off, the held credential's deactivations pass.
    settings(&app, &boss, json!({"deprovisionBrake": false})).await;
    deactivate(&app, &ids[2]).await.assert_ok(200);
    deactivate(&app, &ids[3]).await.assert_ok(200);
    assert_eq!(
        holds(&app, &boss).await["items"][0]["users"][0]["id"],
        ids[2].as_str()
    );
}
