//! What the server log says: client errors are not server errors (no ERROR line for a 4xx),
//! and every 5xx is logged once, at ERROR, with its cause.

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::http::Method;
use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::harness::{TestApp, USER_SCHEMA, boss, patch_op};

/// A log sink the test reads back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log lock")).into_owned()
    }

    fn error_lines(&self) -> Vec<String> {
        self.text()
            .lines()
            .filter(|l| l.contains("ERROR"))
            .map(str::to_string)
            .collect()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Logs at the server's default level (info) into a buffer, for this test's thread.
fn capture() -> (Captured, tracing::subscriber::DefaultGuard) {
    let sink = Captured::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    (sink, tracing::subscriber::set_default(subscriber))
}

#[tokio::test]
async fn client_errors_are_not_logged_as_errors() {
    let app = TestApp::new().await;
    let admin = boss(&app).await;
    let (log, _guard) = capture();
    let user = app.user("alice").await;
    // A spread of 4xx answers on both surfaces.
    app.get("/Users/nope").await.assert_error(404, None);
    app.get("/Users?filter=nope%20eq")
        .await
        .assert_error(400, Some("invalidFilter"));
    app.post(
        "/Users",
        json!({"schemas": [USER_SCHEMA], "userName": "alice"}),
    )
    .await
    .assert_error(409, Some("uniqueness"));
    app.patch(
        &format!("/Users/{user}"),
        patch_op(json!([{"op": "move", "path": "title"}])),
    )
    .await
    .assert_error(400, Some("invalidSyntax"));
    app.send_as("", Method::GET, "/Users", None, &[])
        .await
        .assert_error(401, None);
    app.admin(&admin, Method::DELETE, "/skills/nope", None)
        .await
        .assert_admin_error(404, "not_found");
    app.admin(
        &admin,
        Method::PATCH,
        "/settings",
        Some(json!({"agentIdStart": 0})),
    )
    .await
    .assert_admin_error(400, "invalid_value");
    assert_eq!(log.error_lines(), Vec::<String>::new(), "{}", log.text());
}

#[tokio::test]
async fn a_server_error_is_logged_once_with_its_cause() {
    let app = TestApp::new().await;
    let (log, _guard) = capture();
    // Break the storage under the running server: every write now fails inside its
    // transaction, which must answer a generic 500 and log the cause once.
    app.db
        .execute_unprepared("DROP TABLE audit_log")
        .await
        .expect("drop the audit table");
    let r = app
        .post(
            "/Users",
            json!({"schemas": [USER_SCHEMA], "userName": "bob"}),
        )
        .await;
    r.assert_error(500, None);
    assert_eq!(r.body["detail"], "internal server error");
    assert!(app.find_users("userName eq \"bob\"").await.is_empty());
    let errors = log.error_lines();
    assert_eq!(errors.len(), 1, "{}", log.text());
    assert!(errors[0].contains("audit_log"), "{}", errors[0]);
    assert!(errors[0].contains("POST"), "{}", errors[0]);
}

#[tokio::test]
async fn every_request_has_one_access_line_with_route_status_tenant_and_credential() {
    let app = TestApp::new().await;
    let admin = boss(&app).await;
    let user = app.user("alice").await;
    let scim_credential = rollcall::store::credentials::list(&app.db, &app.tenant_id)
        .await
        .expect("credentials")
        .into_iter()
        .find(|c| c.kind == rollcall::store::credentials::Kind::Scim)
        .expect("the SCIM credential")
        .id;
    let (log, _guard) = capture();
    app.get(&format!("/Users/{user}")).await.assert_ok(200);
    app.admin(&admin, Method::GET, "/users", None)
        .await
        .assert_admin_ok(200);
    app.send_as("rc_not_a_token", Method::GET, "/Groups", None, &[])
        .await
        .assert_error(401, None);
    app.dispatch("", Method::GET, "/healthz", None, &[]).await;
    let text = log.text();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("rollcall::access"))
        .collect();
    assert_eq!(lines.len(), 4, "{text}");
    let expect = |line: &str, parts: &[&str]| {
        for part in parts {
            assert!(line.contains(part), "{part:?} missing from {line}");
        }
        assert!(line.contains("latency_us="), "{line}");
        assert!(line.contains(" INFO "), "{line}");
    };
    expect(
        lines[0],
        &[
            "method=GET",
            "route=\"/scim/v2/Users/{id}\"",
            "status=200",
            "tenant=\"acme\"",
            &format!("credential=\"{scim_credential}\""),
        ],
    );
    expect(
        lines[1],
        &[
            "method=GET",
            "route=\"/admin/v1/users\"",
            "status=200",
            "tenant=\"acme\"",
        ],
    );
    expect(
        lines[2],
        &[
            "route=\"/scim/v2/Groups\"",
            "status=401",
            "tenant=\"-\"",
            "credential=\"-\"",
        ],
    );
    expect(lines[3], &["route=\"/healthz\"", "status=200"]);
    // Never a secret, an id from the path or a user name.
    for secret in [
        app.token.as_str(),
        admin.as_str(),
        "rc_not_a_token",
        user.as_str(),
        "alice",
    ] {
        assert!(!text.contains(secret), "{secret} in the log:\n{text}");
    }
}
