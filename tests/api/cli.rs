//! The command line against a real database file: tenants, local users, tokens, revocation,
//! and the first-serve bootstrap's admin user — each checked through the HTTP surfaces.

use std::process::Command;

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use rollcall::app::{AppState, router};
use rollcall::store;
use serde_json::Value;
use tower::ServiceExt;

fn rollcall(url: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .arg("--database-url")
        .arg(url)
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .expect("run rollcall");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn get(app: &axum::Router, token: &str, uri: &str) -> (u16, Value) {
    let request = Request::get(uri)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .expect("request");
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn cli_creates_tenants_users_and_tokens_that_work_and_are_audited() {
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite://{}/cli.db?mode=rwc", dir.path().display());
    let (ok, _, err) = rollcall(&url, &["migrate"]);
    assert!(ok, "{err}");
    let (ok, out, err) = rollcall(&url, &["tenant", "create", "acme"]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "acme");
    let (ok, _, err) = rollcall(&url, &["tenant", "create", "Not A Slug"]);
    assert!(!ok);
    assert!(err.contains("slug"), "{err}");

    let (ok, user_id, err) = rollcall(
        &url,
        &[
            "user",
            "create",
            "--tenant",
            "acme",
            "--user-name",
            "boss",
            "--security-profile",
            "Administrator",
            "--email",
            "boss@acme.example",
        ],
    );
    assert!(ok, "{err}");
    let (ok, _, err) = rollcall(
        &url,
        &[
            "user",
            "create",
            "--tenant",
            "acme",
            "--user-name",
            "x",
            "--security-profile",
            "Nope",
        ],
    );
    assert!(!ok, "an unknown security profile must be refused");
    assert!(err.contains("Nope"), "{err}");

    let (ok, secret, err) = rollcall(
        &url,
        &["token", "create", "--tenant", "acme", "--user", "boss"],
    );
    assert!(ok, "{err}");
    let secret = secret.trim().to_string();
    assert_eq!(secret.lines().count(), 1, "only the secret on stdout");
    let (ok, scim_secret, _) = rollcall(
        &url,
        &[
            "token", "create", "--tenant", "acme", "--scim", "--name", "okta",
        ],
    );
    assert!(ok);
    let (ok, listed, _) = rollcall(&url, &["token", "list", "--tenant", "acme"]);
    assert!(ok);
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(!listed.contains(&secret), "secrets are never listed");

    let db = store::connect(&url).await.expect("open");
    let app = router(AppState::new(db).expect("schemas"));
    let (status, view) = get(
        &app,
        &secret,
        &format!("/admin/v1/users/{}", user_id.trim()),
    )
    .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["managedBy"], "local");
    assert_eq!(
        view["securityProfiles"],
        serde_json::json!(["Administrator"])
    );
    let (status, _) = get(&app, scim_secret.trim(), "/scim/v2/Users").await;
    assert_eq!(status, 200);
    let (status, audit) = get(&app, &secret, "/admin/v1/audit").await;
    assert_eq!(status, 200);
    let actions: Vec<(String, String)> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            (
                i["actor"]["kind"].as_str().unwrap_or("").to_string(),
                i["action"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert!(
        actions.contains(&("cli".into(), "user.create".into())),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("cli".into(), "credential.create".into())),
        "{actions:?}"
    );

    // Revoking through the CLI takes effect at once.
    let credential_id = listed
        .lines()
        .find(|l| l.contains("\tscim\t"))
        .and_then(|l| l.split('\t').next())
        .expect("scim credential id")
        .to_string();
    let (ok, _, err) = rollcall(&url, &["token", "revoke", &credential_id]);
    assert!(ok, "{err}");
    let (status, _) = get(&app, scim_secret.trim(), "/scim/v2/Users").await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn first_serve_bootstraps_a_scim_token_and_an_admin_user() {
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite://{}/boot.db?mode=rwc", dir.path().display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(["--database-url", &url, "serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("serve");
    // The banner is printed before serving; read it, then stop the server.
    let mut stdout = child.stdout.take().expect("stdout");
    let mut text = String::new();
    let started = std::time::Instant::now();
    while !text.contains("/admin/v1") && started.elapsed() < std::time::Duration::from_secs(30) {
        let mut buf = [0u8; 512];
        let n = std::io::Read::read(&mut stdout, &mut buf).unwrap_or(0);
        if n == 0 {
            break;
        }
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    child.kill().ok();
    child.wait().ok();
    let secrets: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("rc_"))
        .collect();
    assert_eq!(secrets.len(), 2, "{text}");
    let db = store::connect(&url).await.expect("open");
    let app = router(AppState::new(db).expect("schemas"));
    let (status, _) = get(&app, secrets[0], "/scim/v2/Users").await;
    assert_eq!(status, 200);
    let (status, users) = get(&app, secrets[1], "/admin/v1/users").await;
    assert_eq!(status, 200, "{users}");
    assert_eq!(users["users"][0]["userName"], "admin");
    assert_eq!(
        users["users"][0]["securityProfiles"],
        serde_json::json!(["Administrator"])
    );
}

#[tokio::test]
async fn console_link_and_tenant_oidc_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite://{}/cli.db?mode=rwc", dir.path().display());
    assert!(rollcall(&url, &["migrate"]).0);
    assert!(rollcall(&url, &["tenant", "create", "acme"]).0);
    let (ok, _, err) = rollcall(
        &url,
        &[
            "user",
            "create",
            "--tenant",
            "acme",
            "--user-name",
            "boss",
            "--security-profile",
            "Administrator",
        ],
    );
    assert!(ok, "{err}");
    let (ok, out, err) = rollcall(
        &url,
        &[
            "console-link",
            "--tenant",
            "acme",
            "--user",
            "boss",
            "--public-url",
            "https://rc.example",
        ],
    );
    assert!(ok, "{err}");
    let link = out.trim();
    assert!(
        link.starts_with("https://rc.example/console/sign-in/link?token="),
        "{link}"
    );
    assert!(err.contains("valid 15 minutes"), "{err}");
    let (ok, _, err) = rollcall(
        &url,
        &["console-link", "--tenant", "acme", "--user", "nobody"],
    );
    assert!(!ok && err.contains("nobody"), "{err}");

    // The link signs in once, through the HTTP surface.
    let db = store::connect(&url).await.expect("db");
    let app = router(AppState::new(db.clone()).expect("state"));
    let token = link.rsplit('=').next().unwrap();
    let sign_in = |token: String| {
        let app = app.clone();
        async move {
            let request = Request::post("/console/sign-in/link")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(format!("token={token}")))
                .expect("request");
            app.oneshot(request)
                .await
                .expect("infallible")
                .status()
                .as_u16()
        }
    };
    assert_eq!(sign_in(token.to_string()).await, 303);
    assert_eq!(sign_in(token.to_string()).await, 400);

    // OpenID Connect sign-in: set (secret from the environment), refused over plain http, off.
    let out = Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args([
            "--database-url",
            &url,
            "tenant",
            "oidc",
            "acme",
            "--issuer",
            "https://login.acme.example",
            "--client-id",
            "rc",
        ])
        .env("ROLLCALL_OIDC_CLIENT_SECRET", "from-env")
        .env("RUST_LOG", "error")
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tenant = store::tenants::by_slug(&db, "acme").await.expect("tenant");
    let config = store::console::oidc_config(&db, &tenant.id)
        .await
        .expect("read")
        .expect("set");
    assert_eq!(
        (config.client_id.as_str(), config.client_secret.as_str()),
        ("rc", "from-env")
    );
    let (ok, _, err) = rollcall(
        &url,
        &[
            "tenant",
            "oidc",
            "acme",
            "--issuer",
            "http://login.acme.example",
            "--client-id",
            "rc",
        ],
    );
    assert!(!ok && err.contains("issuer"), "{err}");
    assert!(rollcall(&url, &["tenant", "oidc", "acme", "--remove"]).0);
    assert!(
        store::console::oidc_config(&db, &tenant.id)
            .await
            .expect("read")
            .is_none()
    );
}
