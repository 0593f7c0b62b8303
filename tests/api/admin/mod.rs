//! The admin API (`/admin/v1`): authentication and permissions, the user view, local creation,
//! merge-patch edits and the ownership registry's refusals, bulk edits, archive and delete,
//! catalogs, settings, credentials, the audit log and the OpenAPI document.

mod access;
mod catalogs;
mod contract;
mod credentials;
mod edits;
mod flows;
mod lifecycle;
mod tenant;
mod users;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{
    CONTACT_CENTRE, ENTERPRISE, TestApp, TestResponse, USER_SCHEMA, boss, catalog, local_user,
    patch_user, q, view,
};

const SSO_REASON: &str = "owned by the identity provider (SSO); change it there";

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
