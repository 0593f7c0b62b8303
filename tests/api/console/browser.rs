//! End-to-end: a real headless Chromium, driven through WebDriver (Debian's `chromium` and
//! `chromium-driver`; `tests/run-all.sh` installs them when missing), against the console
//! served on loopback. Each test asserts what the page shows and what the admin API returns
//! afterwards. With `ROLLCALL_SCREENSHOTS=DIR` the screens are saved there as PNG (the
//! README's pictures come from `ROLLCALL_SCREENSHOTS=docs/console`).

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::Method;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::{link, user_id};
use crate::harness::{CONTACT_CENTRE, TestApp, catalog, local_user, view};
use rollcall::http::edge::server::{self, ConnectionLimits};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// The application served on 127.0.0.1 until dropped.
struct Served {
    app: TestApp,
    base: String,
    _stop: oneshot::Sender<()>,
}

async fn served() -> Served {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("address");
    let app = TestApp::with_edge(rollcall::http::edge::EdgeConfig {
        listen_base: format!("http://{addr}"),
        ..crate::harness::test_edge()
    })
    .await;
    let (stop, stopped) = oneshot::channel::<()>();
    let router = app.router.clone();
    tokio::spawn(async move {
        let _ = server::serve(listener, router, ConnectionLimits::default(), async {
            let _ = stopped.await;
        })
        .await;
    });
    Served {
        app,
        base: format!("http://{addr}"),
        _stop: stop,
    }
}

/// A headless Chromium under its own chromedriver; both stop when dropped.
struct Browser {
    client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    /// Stops this test's Chromium (found by its own profile directory) and chromedriver, also
    /// when the test failed before closing the session.
    fn drop(&mut self) {
        let _ = Command::new("pkill")
            .arg("-f")
            .arg(self._profile.path())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

async fn browser() -> Browser {
    assert!(
        std::path::Path::new(CHROMEDRIVER).exists() && std::path::Path::new(CHROMIUM).exists(),
        "the browser tests need Debian's chromium and chromium-driver: \
         apt-get install -y chromium chromium-driver (tests/run-all.sh does this)"
    );
    let port = free_port();
    let driver = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let profile = tempfile::tempdir().expect("profile dir");
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,1000", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-quic",
                format!("--user-data-dir={}", profile.path().display()),
            ]
        }),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let client = loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(capabilities.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(client) => break client,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("chromedriver did not start: {e}"),
        }
    };
    Browser {
        client,
        driver,
        _profile: profile,
    }
}

impl Browser {
    async fn go(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    async fn css(&self, selector: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("no {selector}: {e}"))
    }

    /// Clicks the element; found again if the page replaced it meanwhile (a navigation or
    /// an htmx swap still settling).
    async fn click(&self, selector: &str) {
        let mut last = None;
        for _ in 0..30 {
            let element = self.css(selector).await;
            // Centred, so that the sticky Save bar never covers it.
            let _ = self
                .client
                .execute(
                    "arguments[0].scrollIntoView({block: 'center'})",
                    vec![serde_json::to_value(&element).expect("element")],
                )
                .await;
            match element.click().await {
                Ok(()) => return,
                Err(e) => {
                    last = Some(e);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        panic!("click {selector}: {last:?}");
    }

    /// The element's text; found again if the page replaced it meanwhile (a navigation in
    /// progress answers "stale element" or "node does not belong to the document").
    async fn text(&self, selector: &str) -> String {
        let mut last = None;
        for _ in 0..50 {
            match self.css(selector).await.text().await {
                Ok(text) => return text,
                Err(e) => {
                    last = Some(e);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        panic!("text of {selector}: {last:?}");
    }

    /// Whether the element is disabled now (read fresh: htmx swaps elements).
    async fn disabled(&self, selector: &str) -> bool {
        self.client
            .execute(
                "return document.querySelector(arguments[0]).disabled",
                vec![json!(selector)],
            )
            .await
            .expect("disabled?")
            .as_bool()
            .expect("a form control")
    }

    /// The page's visible text.
    async fn page_text(&self) -> String {
        self.text("body").await
    }

    /// Waits until the page's text contains `needle`.
    async fn wait_for_text(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = self.page_text().await;
            if text.contains(needle) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "the page never showed {needle:?}; it shows:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn path(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("url")
            .path()
            .to_string()
    }

    /// Signs `user_id` (named `user_name`) in with a one-time link: open it, click Sign in.
    async fn sign_in_with_link(&self, served: &Served, user_id: &str, user_name: &str) {
        let secret = link(&served.app, user_id).await;
        self.go(&format!(
            "{}/console/sign-in/link?token={secret}",
            served.base
        ))
        .await;
        self.click("button[type=submit]").await;
        self.wait_for_text(&format!("Signed in as {user_name}"))
            .await;
    }

    /// Saves the screen as `name`.png when `ROLLCALL_SCREENSHOTS` names a folder.
    async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        if let Ok(dir) = std::env::var("ROLLCALL_SCREENSHOTS") {
            std::fs::create_dir_all(&dir).expect("screenshot dir");
            std::fs::write(format!("{dir}/{name}.png"), png).expect("write screenshot");
        }
    }
}

/// A tenant with catalogs and a few agents, one of them from the identity provider.
async fn tenant(app: &TestApp) -> (String, String) {
    let (boss, token) = app.admin_token("boss", &["Administrator"]).await;
    for profile in ["Sales", "Support"] {
        catalog(app, &token, "routing-profiles", json!({"name": profile})).await;
    }
    for skill in ["Billing", "French", "Spanish"] {
        catalog(app, &token, "skills", json!({"name": skill})).await;
    }
    for number in ["+14155550100", "+14155550101"] {
        catalog(app, &token, "callback-numbers", json!({"number": number})).await;
    }
    for (user_name, given, family, agent_id) in [
        ("ann.lee", "Ann", "Lee", "1001"),
        ("bob.ray", "Bob", "Ray", "1002"),
        ("cara.diaz", "Cara", "Diaz", "1003"),
        ("dan.moss", "Dan", "Moss", "1004"),
    ] {
        let id = local_user(app, &token, user_name).await;
        app.admin(
            &token,
            Method::PATCH,
            &format!("/users/{id}"),
            Some(json!({"name": {"givenName": given, "familyName": family}, "agentId": agent_id, "licenceType": "AgentDesktop", "routingProfile": "Support"})),
        )
        .await
        .assert_admin_ok(200);
    }
    app.create_user(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", CONTACT_CENTRE],
        "userName": "okta.user@acme.example",
        "displayName": "Olga Okta",
        CONTACT_CENTRE: {"securityProfiles": ["Agent"]}
    }))
    .await;
    (boss, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_signs_in_with_a_link_finds_edits_archives_and_deletes() {
    let served = served().await;
    let app = &served.app;
    let (boss, token) = tenant(app).await;
    let b = browser().await;

    // Break-glass sign-in: the link shows a button; the click signs in.
    b.sign_in_with_link(&served, &boss, "boss").await;
    assert_eq!(b.path().await, "/console/users");
    b.screenshot("users").await;

    // Find a user by search.
    // With the keyboard only: type, then Enter.
    b.css("#q")
        .await
        .send_keys("ann\u{E007}")
        .await
        .expect("type");
    let found = b.wait_for_text("1 user").await;
    assert!(
        found.contains("ann.lee") && !found.contains("bob.ray"),
        "{found}"
    );
    b.click("table.users a").await;
    b.wait_for_text("Routing settings").await;
    b.screenshot("user").await;

    // Edit its routing profile and skills, and save.
    b.css("#f-routingProfile")
        .await
        .select_by_value("Sales")
        .await
        .expect("routing profile");
    let french = b.css("select[name='skill:French']").await;
    french.select_by_value("7").await.expect("skill level");
    // Callback numbers: All ticks every one.
    b.click("[data-check-all=f-callbackNumbers]").await;
    b.click("#save").await;
    b.wait_for_text("Saved.").await;
    let ann = user_id(app, &token, "ann.lee").await;
    let after = view(app, &token, &ann).await;
    assert_eq!(after["routingProfile"], "Sales");
    assert_eq!(after["skills"], json!([{"name": "French", "level": 7}]));
    assert_eq!(
        after["callbackNumbers"],
        json!(["+14155550100", "+14155550101"])
    );
    // Clear unticks them all.
    b.click("[data-check-none=f-callbackNumbers]").await;
    b.click("#save").await;
    b.wait_for_text("Saved.").await;
    let cleared = view(app, &token, &ann).await;
    assert!(
        cleared["callbackNumbers"]
            .as_array()
            .is_none_or(|a| a.is_empty()),
        "{cleared}"
    );

    // An error is counted next to Save, and Save is disabled until it is fixed.
    b.click("#capacity-custom").await;
    let voice = b.css("#capacity-voice").await;
    voice.send_keys("250").await.expect("type");
    b.click("#f-agentId").await; // leaving the field fires its change
    b.wait_for_text("1 error to fix before saving").await;
    assert!(b.disabled("#save").await, "Save is disabled");
    assert!(
        b.text("#error-interactionCapacity")
            .await
            .contains("percentage")
    );
    b.screenshot("user-errors").await;
    voice.clear().await.expect("clear");
    voice.send_keys("80").await.expect("type");
    b.click("#f-agentId").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while b.disabled("#save").await {
        assert!(
            Instant::now() < deadline,
            "Save stays disabled after the fix"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    b.click("#save").await;
    b.wait_for_text("Saved.").await;
    assert_eq!(
        view(app, &token, &ann).await["interactionCapacity"],
        json!({"mode": "custom", "voice": 80})
    );

    // An SSO-owned field is read-only, and says why.
    let okta = user_id(app, &token, "okta.user@acme.example").await;
    b.go(&format!("{}/console/users/{okta}", served.base)).await;
    let shown = b.text("[data-field=displayName]").await;
    assert_eq!(shown, "Olga Okta");
    assert!(
        b.page_text()
            .await
            .contains("Managed by your identity provider")
    );
    assert!(
        b.client
            .find(Locator::Css("input[name=displayName]"))
            .await
            .is_err(),
        "no input for the SSO-owned display name"
    );
    b.screenshot("user-idp").await;

    // Edit three users at once, one of them dropped from the selection with its X.
    let bob = user_id(app, &token, "bob.ray").await;
    let cara = user_id(app, &token, "cara.diaz").await;
    let dan = user_id(app, &token, "dan.moss").await;
    let bob_before = view(app, &token, &bob).await;
    b.go(&format!("{}/console/users", served.base)).await;
    for id in [&bob, &cara, &dan] {
        b.click(&format!("#pick-{id}")).await;
    }
    b.click("#pick button[type=submit]").await;
    b.wait_for_text("3 selected users").await;
    b.click(&format!("[data-drop='sel-{bob}']")).await;
    b.click("#change-f-routingProfile").await;
    b.css("#f-routingProfile")
        .await
        .select_by_value("Sales")
        .await
        .expect("routing profile");
    b.screenshot("edit-multiple").await;
    b.click("#apply").await;
    let results = b.wait_for_text("2 users updated.").await;
    assert!(
        results.contains("Cara Diaz")
            && results.contains("Dan Moss")
            && !results.contains("Bob Ray"),
        "{results}"
    );
    b.screenshot("edit-multiple-results").await;
    assert_eq!(view(app, &token, &cara).await["routingProfile"], "Sales");
    assert_eq!(view(app, &token, &dan).await["routingProfile"], "Sales");
    assert_eq!(
        view(app, &token, &bob).await,
        bob_before,
        "the dropped user is untouched"
    );

    // Archive, revert to active, archive again, delete.
    b.go(&format!("{}/console/users/{ann}", served.base)).await;
    b.click("form[action$='/archive'] button").await;
    b.wait_for_text("The user is archived.").await;
    assert_eq!(view(app, &token, &ann).await["active"], false);
    b.click("form[action$='/reactivate'] button").await;
    b.wait_for_text("The user is active again.").await;
    assert_eq!(view(app, &token, &ann).await["active"], true);
    b.click("form[action$='/archive'] button").await;
    b.wait_for_text("The user is archived.").await;
    b.click("[data-open-dialog=delete-dialog]").await;
    let dialog = b.css("#delete-dialog").await;
    assert!(
        dialog.is_displayed().await.expect("shown"),
        "the confirmation dialog opens"
    );
    assert!(
        dialog
            .text()
            .await
            .expect("text")
            .contains("API credentials")
    );
    b.screenshot("delete-dialog").await;
    b.click("#delete-dialog button.danger").await;
    b.wait_for_text("Users").await;
    assert_eq!(b.path().await, "/console/users");
    app.admin(&token, Method::GET, &format!("/users/{ann}"), None)
        .await
        .assert_admin_error(404, "not_found");

    // Sign out: the console is closed to this browser.
    b.click("form.sign-out button").await;
    b.wait_for_text("You are signed out.").await;
    b.go(&format!("{}/console/users", served.base)).await;
    assert_eq!(b.path().await, "/console/sign-in");
    let _ = Value::Null;
    b.client.clone().close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_through_the_tenants_identity_provider() {
    let served = served().await;
    let app = &served.app;
    let provider = super::provider::Provider::start().await;
    let (_, token) = app.admin_token("boss", &["Administrator"]).await;
    super::oidc::configure(app, &token, &provider).await;
    provider.signs_in(super::provider::Who {
        username: None,
        email: Some("boss".into()),
    });
    let b = browser().await;
    b.go(&format!("{}/console/sign-in", served.base)).await;
    b.css("#tenant")
        .await
        .send_keys("acme")
        .await
        .expect("type");
    b.click("form.sign-in button").await;
    b.css("#oidc").await;
    b.screenshot("sign-in").await;
    b.click("#oidc").await;
    b.wait_for_text("Signed in as boss").await;
    assert_eq!(b.path().await, "/console/users");
    b.client.clone().close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_uploads_a_file_and_creates_users_from_a_template() {
    let served = served().await;
    let app = &served.app;
    let (boss, token) = tenant(app).await;
    let template = local_user(app, &token, "tmpl").await;
    app.admin(
        &token,
        Method::PATCH,
        &format!("/users/{template}"),
        Some(json!({"routingProfile": "Sales", "licenceType": "AgentDesktop"})),
    )
    .await
    .assert_admin_ok(200);
    let b = browser().await;
    b.sign_in_with_link(&served, &boss, "boss").await;

    // Upload: a file with an error, every error listed; then the fixed file, saved.
    let files = tempfile::tempdir().expect("dir");
    let with_errors = files.path().join("users.csv");
    std::fs::write(&with_errors, "email,userName,givenName,familyName,securityProfiles\nnew1@acme.example,new1,New,One,Agent\nnew2@acme.example,new2,New,Two,NoSuchProfile\n").unwrap();
    let clean = files.path().join("users-fixed.csv");
    std::fs::write(&clean, "email,userName,givenName,familyName,securityProfiles\nnew1@acme.example,new1,New,One,Agent\nnew2@acme.example,new2,New,Two,Agent\n").unwrap();
    b.go(&format!("{}/console/upload", served.base)).await;
    b.css("#file")
        .await
        .send_keys(&with_errors.display().to_string())
        .await
        .expect("choose file");
    b.click("#upload-form button[type=submit]").await;
    let shown = b.wait_for_text("1 error: nothing was saved").await;
    assert!(
        shown.contains("securityProfiles") && shown.contains("NoSuchProfile"),
        "{shown}"
    );
    b.screenshot("upload-errors").await;
    b.css("#file").await.clear().await.expect("clear the file");
    b.css("#file")
        .await
        .send_keys(&clean.display().to_string())
        .await
        .expect("choose file");
    b.click("#upload-form button[type=submit]").await;
    b.wait_for_text("No errors in 2 rows: 2 to create").await;
    b.click("#upload-save").await;
    b.wait_for_text("Saved: 2 users created, 0 updated.").await;
    let new2 = user_id(app, &token, "new2").await;
    assert_eq!(view(app, &token, &new2).await["name"]["givenName"], "New");

    // Create from a template: Generate Agent IDs previews, Create creates, the table says.
    b.go(&format!("{}/console/from-template", served.base))
        .await;
    b.css("#template")
        .await
        .send_keys("tmpl")
        .await
        .expect("type");
    b.css("#users")
        .await
        .send_keys(
            "eve@acme.example, Eve, Ng\nfay@acme.example, Fay, Ho\neve@acme.example, Eve, Again",
        )
        .await
        .expect("type");
    b.css("#starting")
        .await
        .send_keys("7000")
        .await
        .expect("type");
    b.click("#generate").await;
    let preview = b.wait_for_text("Preview: nothing created yet").await;
    assert!(
        preview.contains("7000") && preview.contains("7001"),
        "{preview}"
    );
    b.click("#create").await;
    let done = b.wait_for_text("2 created, 1 failed.").await;
    assert!(done.contains("already used"), "{done}");
    b.screenshot("from-template-results").await;
    let eve = user_id(app, &token, "eve@acme.example").await;
    let eve = view(app, &token, &eve).await;
    assert_eq!(
        (eve["routingProfile"].as_str(), eve["agentId"].as_str()),
        (Some("Sales"), Some("7000"))
    );

    // A catalog entry added through its screen, then the tenant's other screens.
    b.go(&format!(
        "{}/console/catalogs/routing-profiles",
        served.base
    ))
    .await;
    b.css("#new-name")
        .await
        .send_keys("Retention")
        .await
        .expect("type");
    b.click("form.new button[type=submit]").await;
    b.wait_for_text("Added Retention.").await;
    let profiles = app
        .admin(&token, Method::GET, "/routing-profiles", None)
        .await;
    assert!(
        profiles.body.to_string().contains("Retention"),
        "{}",
        profiles.body
    );
    b.go(&format!(
        "{}/console/catalogs/security-profiles",
        served.base
    ))
    .await;
    b.wait_for_text("Permissions").await;
    b.screenshot("catalogs").await;
    for (path, shows, shot) in [
        ("settings", "Agent hierarchy required", "settings"),
        ("credentials", "Create a credential", "credentials"),
        ("audit", "user.create", "audit"),
        ("identity-provider", "SCIM base URL", "identity-provider"),
    ] {
        b.go(&format!("{}/console/{path}", served.base)).await;
        b.wait_for_text(shows).await;
        b.screenshot(shot).await;
    }
    b.client.clone().close().await.expect("close");
}
