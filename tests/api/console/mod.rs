//! The admin console over HTTP: signing in, sessions, CSRF, and the screens' forms, driven
//! as a browser would (cookies, forms), without one. `browser` drives a real Chromium.

mod browser;
mod oidc;
mod provider;
mod screens;
mod session;
mod tenant;
mod tools;

use axum::http::Method;
use rollcall::store::console as console_store;

use crate::harness::{TestApp, TestResponse};

/// A browser's state: the session cookie and the page's CSRF token.
pub struct Client<'a> {
    pub app: &'a TestApp,
    pub cookie: String,
    pub csrf: String,
}

/// The HTML of a console answer.
pub fn html(r: &TestResponse) -> &str {
    r.body.as_str().unwrap_or("")
}

/// The value of the first `name="…" value="…"` hidden field named `name`.
pub fn hidden(page: &str, name: &str) -> Option<String> {
    let at = page.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &page[at + name.len() + 15..];
    rest.split('"').next().map(unescape)
}

/// Undoes HTML escaping of an attribute value, as a browser does.
pub fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A one-time sign-in link's token for a user of the test tenant.
pub async fn link(app: &TestApp, user_id: &str) -> String {
    console_store::create_link(&app.db, &app.tenant_id, user_id, 15 * 60 * 1_000_000)
        .await
        .expect("link")
}

/// Posts a form without a session (sign-in).
pub async fn post_form_anonymous(app: &TestApp, path: &str, form: &[(&str, &str)]) -> TestResponse {
    let body = serde_urlencoded::to_string(form).expect("form");
    app.dispatch(
        "",
        Method::POST,
        path,
        Some(("application/x-www-form-urlencoded", body)),
        &[],
    )
    .await
}

/// Signs a user in through a one-time link, as the link page's button does.
pub async fn sign_in<'a>(app: &'a TestApp, user_id: &str) -> Client<'a> {
    let token = link(app, user_id).await;
    let r = post_form_anonymous(app, "/console/sign-in/link", &[("token", &token)]).await;
    assert_eq!(r.status.as_u16(), 303, "{}", html(&r));
    let cookie = r
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .expect("session cookie")
        .to_string();
    let mut client = Client {
        app,
        cookie,
        csrf: String::new(),
    };
    let page = client.get("/console/users").await;
    assert_eq!(page.status.as_u16(), 200, "{}", html(&page));
    client.csrf = hidden(html(&page), "_csrf").expect("csrf field");
    client
}

impl Client<'_> {
    pub async fn get(&self, path: &str) -> TestResponse {
        self.app
            .dispatch("", Method::GET, path, None, &[("cookie", &self.cookie)])
            .await
    }

    /// Posts a form with the page's CSRF token.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> TestResponse {
        let mut fields = vec![("_csrf", self.csrf.as_str())];
        fields.extend_from_slice(form);
        self.post_raw(path, &fields).await
    }

    /// Posts a form as given (no token added).
    pub async fn post_raw(&self, path: &str, form: &[(&str, &str)]) -> TestResponse {
        let body = serde_urlencoded::to_string(form).expect("form");
        self.app
            .dispatch(
                "",
                Method::POST,
                path,
                Some(("application/x-www-form-urlencoded", body)),
                &[("cookie", &self.cookie)],
            )
            .await
    }
}

/// The id of the user with this userName, through the admin API (local users are outside
/// the SCIM view).
pub async fn find_user(app: &TestApp, token: &str, user_name: &str) -> Option<String> {
    let filter = crate::harness::q(&format!("userName eq \"{user_name}\""));
    let r = app
        .admin(token, Method::GET, &format!("/users?filter={filter}"), None)
        .await;
    r.assert_admin_ok(200)["users"][0]["id"]
        .as_str()
        .map(str::to_string)
}

/// `find_user` of a user that must exist.
pub async fn user_id(app: &TestApp, token: &str, user_name: &str) -> String {
    find_user(app, token, user_name).await.expect("user")
}
