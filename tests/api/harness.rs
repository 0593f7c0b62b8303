//! `TestApp`: builds the application on a fresh database and sends it requests.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use rollcall::app::{AppState, router};
use rollcall::http::edge::EdgeConfig;
use rollcall::store::{self, credentials};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::Value;
use tower::ServiceExt;

/// A running application on its own database.
pub struct TestApp {
    pub router: Router,
    pub db: DatabaseConnection,
    pub token: String,
    pub tenant_id: String,
    /// The database's URL, for opening more connection pools on it.
    pub database_url: String,
    _dir: Option<tempfile::TempDir>,
}

/// What the client saw.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl TestResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a SCIM error with this status and scimType.
    #[track_caller]
    pub fn assert_error(&self, status: u16, scim_type: Option<&str>) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(
            self.header("content-type"),
            Some("application/scim+json"),
            "{:?}",
            self.headers
        );
        assert_eq!(
            self.body["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
        assert_eq!(self.body["status"], status.to_string());
        assert_eq!(
            self.body["scimType"].as_str(),
            scim_type,
            "body: {}",
            self.body
        );
        assert!(self.body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
}

/// A fresh, empty database's URL: a new PostgreSQL database on the server named by
/// `ROLLCALL_TEST_DATABASE_URL` when it is set, else a SQLite file in a new temp dir (kept
/// alive by the returned guard).
pub async fn fresh_database_url() -> (String, Option<tempfile::TempDir>) {
    match std::env::var("ROLLCALL_TEST_DATABASE_URL") {
        Ok(server) if !server.is_empty() => {
            let admin = store::connect(&server)
                .await
                .expect("connect to PostgreSQL");
            let name = format!("rollcall_test_{}", uuid::Uuid::new_v4().simple());
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create test database");
            admin.close().await.ok();
            let base = server.rsplit_once('/').map(|(b, _)| b).unwrap_or(&server);
            (format!("{base}/{name}"), None)
        }
        _ => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}/rollcall.db?mode=rwc", dir.path().display());
            (url, Some(dir))
        }
    }
}

async fn fresh_database() -> (DatabaseConnection, String, Option<tempfile::TempDir>) {
    let (url, dir) = fresh_database_url().await;
    let db = store::connect(&url).await.expect("open the test database");
    (db, url, dir)
}

/// The edge the tests run behind: the defaults without the rate limit and the
/// failed-authentication throttle, which `edge.rs` tests on their own (the other tests send
/// requests, and bad credentials, faster than any identity provider).
pub fn test_edge() -> EdgeConfig {
    EdgeConfig {
        rate_limit: 0,
        auth_failure_limit: 0,
        ..EdgeConfig::default()
    }
}

impl TestApp {
    /// The application on a fresh, migrated database with tenant `acme` and a SCIM token.
    pub async fn new() -> TestApp {
        Self::with_edge(test_edge()).await
    }

    /// `new` behind an edge configured as given.
    pub async fn with_edge(edge: EdgeConfig) -> TestApp {
        let (db, database_url, dir) = fresh_database().await;
        store::migrate(&db).await.expect("migrate");
        let tenant =
            rollcall::write::tenants::create(&db, &rollcall::domain::audit::Actor::cli(), "acme")
                .await
                .expect("tenant");
        let (_, token) =
            credentials::create(&db, &tenant.id, credentials::Kind::Scim, None, "test")
                .await
                .expect("token");
        let state = AppState::with_edge(db.clone(), edge).expect("schemas");
        TestApp {
            router: router(state),
            db,
            token,
            tenant_id: tenant.id,
            database_url,
            _dir: dir,
        }
    }

    /// A second, independent instance of the application on the same database: its own
    /// connection pool and router, as a second server process would have. It must not
    /// outlive `self`, which owns the SQLite file's directory.
    pub async fn instance(&self) -> TestApp {
        self.instance_with(|state| state).await
    }

    /// `instance`, its state changed by `configure` first (a small provisioning log, …).
    pub async fn instance_with(&self, configure: impl FnOnce(AppState) -> AppState) -> TestApp {
        let db = store::connect(&self.database_url)
            .await
            .expect("second connection pool");
        let state = configure(AppState::with_edge(db.clone(), test_edge()).expect("schemas"));
        TestApp {
            router: router(state),
            db,
            token: self.token.clone(),
            tenant_id: self.tenant_id.clone(),
            database_url: self.database_url.clone(),
            _dir: None,
        }
    }

    /// Another tenant with its own SCIM token.
    pub async fn other_tenant(&self, slug: &str) -> String {
        let tenant = rollcall::write::tenants::create(
            &self.db,
            &rollcall::domain::audit::Actor::cli(),
            slug,
        )
        .await
        .expect("tenant");
        credentials::create(&self.db, &tenant.id, credentials::Kind::Scim, None, "test")
            .await
            .expect("token")
            .1
    }

    /// Sends a request with this app's token; `headers` are added as given.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        self.send_as(&self.token, method, path, body, headers).await
    }

    pub async fn send_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let uri = if path.starts_with('/') && !path.starts_with("/scim/") && path != "/healthz" {
            format!("/scim/v2{path}")
        } else {
            path.to_string()
        };
        let content_type = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map_or("application/scim+json", |(_, v)| *v);
        let body = body.map(|v| (content_type, v.to_string()));
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .copied()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("content-type"))
            .collect();
        self.dispatch(token, method, &uri, body, &headers).await
    }

    /// Sends one request to the router in-process: a Bearer token unless empty, a body with
    /// its content type, extra headers; decodes a JSON answer (else keeps it as a string).
    pub async fn dispatch(
        &self,
        token: &str,
        method: Method,
        uri: &str,
        body: Option<(&str, String)>,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let mut builder = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "rollcall.test");
        if !token.is_empty() {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let body = match body {
            Some((content_type, text)) => {
                builder = builder.header("content-type", content_type);
                Body::from(text)
            }
            None => Body::empty(),
        };
        let response = self
            .router
            .clone()
            .oneshot(builder.body(body).expect("request"))
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        TestResponse {
            status,
            headers,
            body,
        }
    }

    /// Sends raw bytes and answers the raw bytes (spreadsheets up and down).
    pub async fn dispatch_bytes(
        &self,
        token: &str,
        method: Method,
        uri: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> (StatusCode, HeaderMap, Vec<u8>) {
        let mut builder = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "rollcall.test")
            .header("authorization", format!("Bearer {token}"));
        let body = match body {
            Some((content_type, bytes)) => {
                builder = builder.header("content-type", content_type);
                Body::from(bytes)
            }
            None => Body::empty(),
        };
        let response = self
            .router
            .clone()
            .oneshot(builder.body(body).expect("request"))
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (status, headers, bytes.to_vec())
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.send(Method::GET, path, None, &[]).await
    }

    pub async fn post(&self, path: &str, body: Value) -> TestResponse {
        self.send(Method::POST, path, Some(body), &[]).await
    }

    pub async fn put(&self, path: &str, body: Value) -> TestResponse {
        self.send(Method::PUT, path, Some(body), &[]).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> TestResponse {
        self.send(Method::PATCH, path, Some(body), &[]).await
    }

    pub async fn delete(&self, path: &str) -> TestResponse {
        self.send(Method::DELETE, path, None, &[]).await
    }

    /// Creates a user and returns its body (asserting 201).
    pub async fn create_user(&self, body: Value) -> Value {
        let r = self.post("/Users", body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body
    }

    /// Creates a minimal user by userName and returns its id.
    pub async fn user(&self, user_name: &str) -> String {
        let body = self
            .create_user(serde_json::json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": user_name
            }))
            .await;
        body["id"].as_str().expect("id").to_string()
    }

    /// Creates a group and returns its id.
    pub async fn group(&self, display_name: &str, members: &[&str]) -> String {
        let members: Vec<Value> = members
            .iter()
            .map(|m| serde_json::json!({"value": m}))
            .collect();
        let r = self
            .post(
                "/Groups",
                serde_json::json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": display_name,
                    "members": members
                }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body["id"].as_str().expect("id").to_string()
    }
}

/// The PatchOp envelope.
pub fn patch_op(ops: Value) -> Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": ops
    })
}

/// Percent-encodes a query-string value (everything but RFC 3986 unreserved characters).
pub fn q(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const CONTACT_CENTRE: &str =
    "urn:rollcall:params:scim:schemas:extension:contactcentre:2.0:User";
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

impl TestResponse {
    /// Asserts the status and that the answer is SCIM JSON.
    #[track_caller]
    pub fn assert_ok(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(
            self.header("content-type"),
            Some("application/scim+json"),
            "{:?}",
            self.headers
        );
        &self.body
    }

    /// The ids of a ListResponse's resources, in order.
    #[track_caller]
    pub fn ids(&self) -> Vec<String> {
        assert_eq!(self.status, StatusCode::OK, "body: {}", self.body);
        assert_eq!(self.body["schemas"][0], LIST_SCHEMA, "body: {}", self.body);
        self.body["Resources"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|r| r["id"].as_str().expect("id").to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl TestApp {
    /// GET of one resource, asserting 200; its body.
    pub async fn fetch(&self, path: &str) -> Value {
        let r = self.get(path).await;
        r.assert_ok(200);
        r.body
    }

    /// The ids a filtered user list returns (the filter is percent-encoded here).
    pub async fn find_users(&self, filter: &str) -> Vec<String> {
        self.get(&format!("/Users?filter={}", q(filter)))
            .await
            .ids()
    }
}

/// The member ids of a group body, sorted.
pub fn member_ids(group: &Value) -> Vec<String> {
    let mut ids: Vec<String> = group["members"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| m["value"].as_str().expect("member value").to_string())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

/// Sorted copy of ids.
pub fn sorted(ids: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

// ---- Admin API helpers -------------------------------------------------------------------

impl TestApp {
    /// Sends a request to the admin API: `path` is taken as is when it starts with
    /// `/admin/`, else it is put under `/admin/v1`. An empty token sends no Authorization.
    pub async fn admin(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> TestResponse {
        self.admin_with(token, method, path, body, &[]).await
    }

    /// `admin` with extra request headers.
    pub async fn admin_with(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let uri = if path.starts_with("/admin/") {
            path.to_string()
        } else {
            format!("/admin/v1{path}")
        };
        let body = body.map(|v| ("application/json", v.to_string()));
        self.dispatch(token, method, &uri, body, headers).await
    }

    /// A local (CLI-created) user holding these security profiles, and a user-level API
    /// credential of it: `(user id, secret)`.
    pub async fn admin_token(&self, user_name: &str, profiles: &[&str]) -> (String, String) {
        let (user_id, _, secret) = self.admin_credential(user_name, profiles).await;
        (user_id, secret)
    }

    /// Like `admin_token`, also returning the credential id: `(user id, credential id, secret)`.
    pub async fn admin_credential(
        &self,
        user_name: &str,
        profiles: &[&str],
    ) -> (String, String, String) {
        let doc = serde_json::json!({
            "userName": user_name,
            CONTACT_CENTRE: {"securityProfiles": profiles}
        });
        let user = rollcall::write::users::create(
            &self.db,
            &self.tenant_id,
            &rollcall::domain::audit::Actor::cli(),
            rollcall::domain::validation::Surface::Local,
            doc.as_object().expect("object").clone(),
        )
        .await
        .expect("create admin user");
        let (credential, secret) = credentials::create(
            &self.db,
            &self.tenant_id,
            credentials::Kind::User,
            Some(&user.id),
            "test admin",
        )
        .await
        .expect("user credential");
        (user.id, credential.id, secret)
    }

    /// Another tenant with an Administrator's admin API token: `(tenant id, token)`.
    pub async fn other_tenant_admin(&self, slug: &str) -> (String, String) {
        let tenant = rollcall::write::tenants::create(
            &self.db,
            &rollcall::domain::audit::Actor::cli(),
            slug,
        )
        .await
        .expect("tenant");
        let doc = serde_json::json!({
            "userName": "other-boss",
            CONTACT_CENTRE: {"securityProfiles": ["Administrator"]}
        });
        let user = rollcall::write::users::create(
            &self.db,
            &tenant.id,
            &rollcall::domain::audit::Actor::cli(),
            rollcall::domain::validation::Surface::Local,
            doc.as_object().expect("object").clone(),
        )
        .await
        .expect("create admin user");
        let (_, secret) = credentials::create(
            &self.db,
            &tenant.id,
            credentials::Kind::User,
            Some(&user.id),
            "other admin",
        )
        .await
        .expect("user credential");
        (tenant.id, secret)
    }

    /// A user-level API credential for an existing user: `(credential id, secret)`.
    pub async fn user_credential(&self, user_id: &str) -> (String, String) {
        let (credential, secret) = credentials::create(
            &self.db,
            &self.tenant_id,
            credentials::Kind::User,
            Some(user_id),
            "test",
        )
        .await
        .expect("user credential");
        (credential.id, secret)
    }
}

impl TestResponse {
    /// Asserts an admin API error: this status, `application/json`, this `error` code and a
    /// non-empty detail.
    #[track_caller]
    pub fn assert_admin_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert!(
            self.header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "{:?}",
            self.headers
        );
        assert_eq!(self.body["error"], code, "body: {}", self.body);
        assert!(
            self.body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "body: {}",
            self.body
        );
    }

    /// Asserts an admin API success with this status and `application/json`; the body.
    #[track_caller]
    pub fn assert_admin_ok(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert!(
            self.header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "{:?}",
            self.headers
        );
        &self.body
    }
}

// ---- Shared admin test steps -------------------------------------------------------------

/// An Administrator's admin API token.
pub async fn boss(app: &TestApp) -> String {
    app.admin_token("boss", &["Administrator"]).await.1
}

/// The admin view of a user, asserting 200.
pub async fn view(app: &TestApp, token: &str, id: &str) -> Value {
    app.admin(token, Method::GET, &format!("/users/{id}"), None)
        .await
        .assert_admin_ok(200)
        .clone()
}

/// Creates a catalog entry, asserting 201; its id.
pub async fn catalog(app: &TestApp, token: &str, segment: &str, body: Value) -> String {
    let r = app
        .admin(token, Method::POST, &format!("/{segment}"), Some(body))
        .await;
    r.assert_admin_ok(201);
    r.body["id"].as_str().expect("catalog id").to_string()
}

/// PATCH of one user through the admin API.
pub async fn patch_user(app: &TestApp, token: &str, id: &str, body: Value) -> TestResponse {
    app.admin(token, Method::PATCH, &format!("/users/{id}"), Some(body))
        .await
}

/// Creates a local user through the admin API (profile Agent), asserting 201; its id.
pub async fn local_user(app: &TestApp, token: &str, user_name: &str) -> String {
    let r = app
        .admin(
            token,
            Method::POST,
            "/users",
            Some(serde_json::json!({"userName": user_name, "securityProfiles": ["Agent"]})),
        )
        .await;
    r.assert_admin_ok(201);
    r.body["id"].as_str().expect("id").to_string()
}

/// The attribute `name` of a schema as `/Schemas` answers it.
pub fn schema_attribute<'a>(schema: &'a Value, name: &str) -> &'a Value {
    schema["attributes"]
        .as_array()
        .expect("attributes")
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("no attribute {name} in {schema}"))
}
