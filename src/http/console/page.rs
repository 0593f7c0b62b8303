//! The console's page frame: the document, the navigation and the shared pieces.

use axum::response::Html;
use maud::{DOCTYPE, Markup, html};

use super::session::Signed;

/// The screens of the navigation, in order, with their paths.
pub const NAV: [(&str, &str); 8] = [
    ("Users", "/console/users"),
    ("Upload", "/console/upload"),
    ("Create from template", "/console/from-template"),
    ("Catalogs", "/console/catalogs"),
    ("Settings", "/console/settings"),
    ("API credentials", "/console/credentials"),
    ("Audit log", "/console/audit"),
    ("Identity provider", "/console/identity-provider"),
];

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            // htmx must not inject its indicator styles: the CSP allows no inline style.
            meta name="htmx-config" content=r#"{"includeIndicatorStyles":false,"allowEval":false}"#;
            title { (title) " · Rollcall" }
            link rel="stylesheet" href="/console/assets/console.css";
            script src="/console/assets/htmx.min.js" defer {}
            script src="/console/assets/console.js" defer {}
        }
    }
}

/// A page without navigation: signing in, and errors.
pub fn bare(title: &str, body: &Markup) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                (head(title))
                body {
                    header.top { span.brand { "Rollcall" } }
                    main.narrow { (body) }
                }
            }
        }
        .into_string(),
    )
}

/// A screen of the signed-in console: navigation, who is signed in, sign out. Every
/// htmx request of the page carries the session's CSRF token.
pub fn layout(signed: &Signed, current: &str, title: &str, body: Markup) -> Html<String> {
    let csrf_header = format!(r#"{{"X-CSRF-Token":"{}"}}"#, signed.session.csrf);
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                (head(title))
                body hx-headers=(csrf_header) {
                    a.skip href="#main" { "Skip to content" }
                    header.top {
                        span.brand { "Rollcall" }
                        span.tenant { (signed.tenant_slug) }
                        nav aria-label="Console" {
                            ul {
                                @for (name, path) in NAV {
                                    li {
                                        @if name == current {
                                            a href=(path) aria-current="page" { (name) }
                                        } @else {
                                            a href=(path) { (name) }
                                        }
                                    }
                                }
                            }
                        }
                        form.sign-out method="post" action="/console/sign-out" {
                            (csrf_field(signed))
                            span.who { "Signed in as " strong { (signed.auth.user.user_name()) } }
                            button type="submit" { "Sign out" }
                        }
                    }
                    main #main { (body) }
                }
            }
        }
        .into_string(),
    )
}

/// The hidden field carrying the CSRF token in a plain form.
pub fn csrf_field(signed: &Signed) -> Markup {
    html! { input type="hidden" name="_csrf" value=(signed.session.csrf); }
}

/// A titled message.
pub fn message(title: &str, detail: &str) -> Markup {
    html! {
        h1 { (title) }
        p.detail { (detail) }
        p { a href="/console/" { "Back to the console" } }
    }
}

/// A notice at the top of a screen (`role=status`, read out by screen readers).
pub fn notice(text: &str) -> Markup {
    html! { p.notice role="status" { (text) } }
}

/// An error box at the top of a screen (`role=alert`).
pub fn alert(text: &str) -> Markup {
    html! { p.alert role="alert" { (text) } }
}
