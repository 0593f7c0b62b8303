//! The operator's commands against a real database file, checked through the HTTP surfaces:
//! disabling, enabling and deleting a tenant, backing up a live SQLite database, and the
//! doctor's report.

use std::process::Command;

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use rollcall::app::{AppState, router};
use rollcall::store;
use serde_json::Value;
use tower::ServiceExt;

/// Runs the binary: (exit code, stdout, stderr).
fn rollcall(url: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .arg("--database-url")
        .arg(url)
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .expect("run rollcall");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A status the router answers for a GET with this token.
async fn status(app: &axum::Router, token: &str, uri: &str) -> (u16, Value) {
    let request = Request::get(uri)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .expect("request");
    let response = app.clone().oneshot(request).await.expect("infallible");
    let code = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (code, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// A database file with tenant `acme`: a SCIM token and a local admin user `boss` (its one
/// user) with its token. Returns (url, scim secret, admin secret, dir guard).
async fn acme() -> (String, String, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite://{}/ops.db?mode=rwc", dir.path().display());
    let run = |args: &[&str]| {
        let (code, out, err) = rollcall(&url, args);
        assert_eq!(code, Some(0), "{args:?}: {err}");
        out.trim().to_string()
    };
    run(&["tenant", "create", "acme"]);
    let scim = run(&["token", "create", "--tenant", "acme", "--scim"]);
    run(&[
        "user",
        "create",
        "--tenant",
        "acme",
        "--user-name",
        "boss",
        "--security-profile",
        "Administrator",
    ]);
    let admin = run(&["token", "create", "--tenant", "acme", "--user", "boss"]);
    (url, scim, admin, dir)
}

#[tokio::test]
async fn a_disabled_tenant_is_refused_until_enabled_and_both_are_audited() {
    let (url, scim, admin, _dir) = acme().await;
    let app = router(AppState::new(store::connect(&url).await.expect("open")).expect("schemas"));
    assert_eq!(status(&app, &scim, "/scim/v2/Users").await.0, 200);

    let (code, _, err) = rollcall(&url, &["tenant", "disable", "acme"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("disabled"), "{err}");
    let (code, body) = status(&app, &scim, "/scim/v2/Users").await;
    assert_eq!(code, 401);
    assert!(
        body["detail"].as_str().unwrap_or("").contains("disabled"),
        "{body}"
    );
    assert_eq!(status(&app, &admin, "/admin/v1/users").await.0, 401);
    let (_, listed, _) = rollcall(&url, &["tenant", "list"]);
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("acme\t") && l.ends_with("\tdisabled")),
        "{listed}"
    );
    // Disabling again changes nothing and says so.
    let (code, _, err) = rollcall(&url, &["tenant", "disable", "acme"]);
    assert_eq!(code, Some(0));
    assert!(err.contains("already disabled"), "{err}");

    let (code, _, err) = rollcall(&url, &["tenant", "enable", "acme"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(status(&app, &scim, "/scim/v2/Users").await.0, 200);
    let (code, audit) = status(&app, &admin, "/admin/v1/audit").await;
    assert_eq!(code, 200);
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["actor"]["kind"] == "cli")
        .filter_map(|i| i["action"].as_str())
        .filter(|a| a.starts_with("tenant."))
        .collect();
    // Newest first: one disable (the second changed nothing) and one enable.
    assert_eq!(
        actions,
        ["tenant.enable", "tenant.disable", "tenant.create"],
        "{audit}"
    );

    let (code, _, err) = rollcall(&url, &["tenant", "disable", "nope"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("nope"), "{err}");
}

#[tokio::test]
async fn deleting_a_tenant_with_users_needs_force_and_keeps_its_audit_log() {
    let (url, scim, admin, _dir) = acme().await;
    let db = store::connect(&url).await.expect("open");
    let app = router(AppState::new(db.clone()).expect("schemas"));
    let (code, _, err) = rollcall(&url, &["tenant", "create", "spare"]);
    assert_eq!(code, Some(0), "{err}");

    let (code, _, err) = rollcall(&url, &["tenant", "delete", "acme"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("1 user(s)") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(
        status(&app, &scim, "/scim/v2/Users").await.0,
        200,
        "nothing was deleted"
    );

    // A tenant without users goes without --force.
    let (code, _, err) = rollcall(&url, &["tenant", "delete", "spare"]);
    assert_eq!(code, Some(0), "{err}");

    let acme_id = store::tenants::by_slug(&db, "acme").await.expect("acme").id;
    let (code, _, err) = rollcall(&url, &["tenant", "delete", "acme", "--force"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("1 user(s)") && err.contains("2 credential(s)"),
        "{err}"
    );
    assert_eq!(status(&app, &scim, "/scim/v2/Users").await.0, 401);
    assert_eq!(status(&app, &admin, "/admin/v1/users").await.0, 401);
    let (_, listed, _) = rollcall(&url, &["tenant", "list"]);
    assert!(
        !listed.contains("acme") && !listed.contains("spare"),
        "{listed}"
    );
    // Its rows are gone; its audit log stays, ending with the deletion.
    use sea_orm::{ConnectionTrait, Statement};
    let count = |sql: String| {
        let db = db.clone();
        async move {
            let row = db
                .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
                .await
                .expect("query")
                .expect("row");
            row.try_get_by_index::<i64>(0).expect("count")
        }
    };
    for table in ["users", "credentials", "catalog_items", "user_attrs"] {
        assert_eq!(
            count(format!(
                "SELECT COUNT(*) FROM {table} WHERE tenant_id = '{acme_id}'"
            ))
            .await,
            0,
            "{table}"
        );
    }
    assert!(
        count(format!(
            "SELECT COUNT(*) FROM audit_log WHERE tenant_id = '{acme_id}'"
        ))
        .await
            > 3
    );
    assert_eq!(
        count(format!(
            "SELECT COUNT(*) FROM audit_log WHERE tenant_id = '{acme_id}' AND action = 'tenant.delete' AND actor_kind = 'cli'"
        ))
        .await,
        1
    );
    // The slug is free again.
    let (code, _, err) = rollcall(&url, &["tenant", "create", "acme"]);
    assert_eq!(code, Some(0), "{err}");
}

#[tokio::test]
async fn a_backup_of_a_live_database_opens_with_the_same_data() {
    let (url, scim, _admin, dir) = acme().await;
    let db = store::connect(&url).await.expect("open");
    let app = router(AppState::new(db).expect("schemas"));
    let copy = dir.path().join("copy of ops.db");
    let copy_text = copy.to_str().expect("utf-8").to_string();
    // The server's pool holds the database open meanwhile.
    let (code, out, err) = rollcall(&url, &["backup", &copy_text]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.trim(), copy_text);
    assert!(err.contains("bytes"), "{err}");
    let copied = router(
        AppState::new(
            store::connect(&format!("sqlite://{copy_text}"))
                .await
                .expect("open the copy"),
        )
        .expect("schemas"),
    );
    let (code, live) = status(&app, &scim, "/scim/v2/Users").await;
    assert_eq!(code, 200);
    let (code, restored) = status(&copied, &scim, "/scim/v2/Users").await;
    assert_eq!(code, 200, "the copy's credentials work");
    assert_eq!(restored["totalResults"], live["totalResults"]);
    // Never over an existing file.
    let (code, _, err) = rollcall(&url, &["backup", &copy_text]);
    assert_eq!(code, Some(1));
    assert!(err.contains("already exists"), "{err}");
    // PostgreSQL: pg_dump's job.
    let (code, _, err) = rollcall(
        "postgres://rollcall@127.0.0.1:1/rollcall",
        &["backup", "x.db"],
    );
    assert_eq!(code, Some(1));
    assert!(err.contains("pg_dump"), "{err}");
}

#[tokio::test]
async fn doctor_prints_the_configuration_and_checks_the_database() {
    let (url, _, _, dir) = acme().await;
    let (code, out, err) = rollcall(
        &url,
        &[
            "doctor",
            "--rate-limit",
            "50",
            "--public-url",
            "https://scim.example.com",
        ],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    for line in [
        "rate-limit          50 requests/s per credential, bursts of 100",
        "public-url          https://scim.example.com",
        "ok    migrations: all applied",
        "ok    tenants: 1 (0 disabled)",
        "healthy",
    ] {
        assert!(out.contains(line), "{line:?} missing from\n{out}");
    }
    // A database file that does not exist fails the check, and is not created.
    let missing = dir.path().join("none.db");
    let missing_url = format!("sqlite://{}?mode=rwc", missing.display());
    let (code, out, err) = rollcall(&missing_url, &["doctor"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("FAIL  database"), "{out}");
    assert!(err.contains("1 check(s) failed"), "{err}");
    assert!(!missing.exists());
    // A bad flag fails its check.
    let (code, out, _) = rollcall(&url, &["doctor", "--public-url", "not a url"]);
    assert_eq!(code, Some(2));
    assert!(out.contains("FAIL  flags"), "{out}");
    // A password never shows.
    let (_, out, _) = rollcall(
        "postgres://rollcall:s3cret@127.0.0.1:1/rollcall",
        &["doctor", "--db-acquire-timeout", "1"],
    );
    assert!(out.contains("rollcall:***@127.0.0.1:1"), "{out}");
    assert!(!out.contains("s3cret"), "{out}");
}
