//! Catalogs: security profiles (with their permissions), routing profiles, the agent
//! hierarchy, skills and callback numbers — create, rename, delete. Every write is the
//! admin API's; its refusals (in use, built in, the last administrator) are shown as it
//! words them.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde_json::{Value, json};

use super::fields::{Form, form_value, form_values};
use super::page::{self, csrf_field, layout};
use super::session::Signed;
use super::{ConsoleError, ConsoleResult};
use crate::app::AppState;
use crate::domain::catalog::CatalogKind;
use crate::domain::ownership::Permission;
use crate::http::admin::error::AdminError;
use crate::http::admin::{DryRun, catalogs as admin};

/// The catalogs, in the products' words.
const TITLES: [(CatalogKind, &str); 5] = [
    (CatalogKind::SecurityProfile, "Security profiles"),
    (CatalogKind::RoutingProfile, "Routing profiles"),
    (CatalogKind::Hierarchy, "Agent hierarchy"),
    (CatalogKind::Skill, "Skills"),
    (CatalogKind::CallbackNumber, "Callback numbers"),
];

fn kind_of(segment: &str) -> ConsoleResult<(CatalogKind, &'static str)> {
    TITLES
        .iter()
        .find(|(k, _)| k.segment() == segment)
        .copied()
        .ok_or_else(|| ConsoleError::not_found("There is no such catalog."))
}

fn name_label(kind: CatalogKind) -> &'static str {
    match kind {
        CatalogKind::Hierarchy => "Path (Level 1/Level 2/…)",
        CatalogKind::CallbackNumber => "Number (E.164)",
        _ => "Name",
    }
}

/// The fields of an entry's form: its name, and the permissions or the label.
fn entry_fields(kind: CatalogKind, prefix: &str, item: &Value) -> Markup {
    let name_field = kind.name_field();
    let id = |f: &str| format!("{prefix}-{f}");
    html! {
        span.entry-field {
            label for=(id("name")) { (name_label(kind)) }
            input id=(id("name")) type="text" name="name" value=(item[name_field].as_str().unwrap_or("")) required;
        }
        @if kind == CatalogKind::CallbackNumber {
            span.entry-field {
                label for=(id("label")) { "Label" }
                input id=(id("label")) type="text" name="label" value=(item["label"].as_str().unwrap_or(""));
            }
        }
        @if kind == CatalogKind::SecurityProfile {
            @let held: Vec<&str> = item["permissions"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            fieldset.permissions {
                legend { "Permissions" }
                @for p in Permission::ALL {
                    @let pid = id(p.as_str());
                    span.choice {
                        input id=(pid) type="checkbox" name="permissions" value=(p.as_str()) checked[held.contains(&p.as_str())];
                        label for=(pid) { (p.as_str()) }
                    }
                }
            }
        }
    }
}

async fn page_of(
    state: &AppState,
    signed: &Signed,
    kind: CatalogKind,
    title: &str,
    message: Option<Markup>,
) -> ConsoleResult<Html<String>> {
    let Json(list) = admin::list(State(state.clone()), signed.auth.clone(), kind).await?;
    let items = list["items"].as_array().cloned().unwrap_or_default();
    let segment = kind.segment();
    let body = html! {
        h1 { "Catalogs" }
        nav.tabs aria-label="Catalogs" {
            @for (k, t) in TITLES {
                @if k == kind {
                    a href={ "/console/catalogs/" (k.segment()) } aria-current="page" { (t) }
                } @else {
                    a href={ "/console/catalogs/" (k.segment()) } { (t) }
                }
            }
        }
        h2 { (title) }
        @if let Some(m) = message { (m) }
        @if items.is_empty() { p.hint { "This catalog is empty." } }
        ul.entries {
            @for item in &items {
                @let id = item["id"].as_str().unwrap_or("");
                li.entry {
                    form.entry method="post" action={ "/console/catalogs/" (segment) "/" (id) } {
                        (csrf_field(signed))
                        (entry_fields(kind, &format!("e-{id}"), item))
                        button type="submit" { "Save" }
                    }
                    form.entry-delete method="post" action={ "/console/catalogs/" (segment) "/" (id) "/delete" } {
                        (csrf_field(signed))
                        button.danger type="submit" aria-label={ "Delete " (item[kind.name_field()].as_str().unwrap_or("")) } { "Delete" }
                    }
                }
            }
        }
        h2 { "Add to " (title) }
        form.entry.new method="post" action={ "/console/catalogs/" (segment) } {
            (csrf_field(signed))
            (entry_fields(kind, "new", &json!({})))
            button.primary type="submit" { "Add" }
        }
    };
    Ok(layout(signed, "Catalogs", title, body))
}

/// `GET /console/catalogs` → the first catalog.
pub async fn index() -> Redirect {
    Redirect::to("/console/catalogs/security-profiles")
}

/// `GET /console/catalogs/{catalog}`
pub async fn show(
    State(state): State<AppState>,
    signed: Signed,
    Path(segment): Path<String>,
) -> ConsoleResult<Html<String>> {
    let (kind, title) = kind_of(&segment)?;
    page_of(&state, &signed, kind, title, None).await
}

/// The admin API body of an entry's form.
fn body_of(kind: CatalogKind, form: &Form) -> Value {
    let mut body = json!({ kind.name_field(): form_value(form, "name").unwrap_or("").trim() });
    match kind {
        CatalogKind::SecurityProfile => {
            body["permissions"] = json!(form_values(form, "permissions").collect::<Vec<_>>());
        }
        CatalogKind::CallbackNumber => {
            let label = form_value(form, "label").unwrap_or("").trim();
            body["label"] = if label.is_empty() {
                Value::Null
            } else {
                json!(label)
            };
        }
        _ => {}
    }
    body
}

/// The page again, after a write: a notice, or the refusal with its status.
async fn after(
    state: &AppState,
    signed: &Signed,
    kind: CatalogKind,
    title: &str,
    outcome: Result<String, AdminError>,
) -> ConsoleResult<Response> {
    let (status, message) = match outcome {
        Ok(done) => (StatusCode::OK, page::notice(&done)),
        Err(e) => (
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
            page::alert(&format!("Not saved: {}", e.detail)),
        ),
    };
    let page = page_of(state, signed, kind, title, Some(message)).await?;
    Ok((status, page).into_response())
}

/// `POST /console/catalogs/{catalog}`: a new entry.
pub async fn create(
    State(state): State<AppState>,
    signed: Signed,
    Path(segment): Path<String>,
    axum::Form(form): axum::Form<Form>,
) -> ConsoleResult<Response> {
    let (kind, title) = kind_of(&segment)?;
    let body = body_of(kind, &form);
    let outcome = admin::create(
        State(state.clone()),
        signed.auth.clone(),
        kind,
        DryRun(false),
        body,
    )
    .await
    .map(|(_, Json(item))| format!("Added {}.", item[kind.name_field()].as_str().unwrap_or("")));
    after(&state, &signed, kind, title, outcome).await
}

/// `POST /console/catalogs/{catalog}/{id}`: rename (and permissions, label).
pub async fn save(
    State(state): State<AppState>,
    signed: Signed,
    Path((segment, id)): Path<(String, String)>,
    axum::Form(form): axum::Form<Form>,
) -> ConsoleResult<Response> {
    let (kind, title) = kind_of(&segment)?;
    let body = body_of(kind, &form);
    let outcome = admin::patch(
        State(state.clone()),
        signed.auth.clone(),
        kind,
        id,
        DryRun(false),
        body,
    )
    .await
    .map(|Json(item)| format!("Saved {}.", item[kind.name_field()].as_str().unwrap_or("")));
    after(&state, &signed, kind, title, outcome).await
}

/// `POST /console/catalogs/{catalog}/{id}/delete`
pub async fn delete(
    State(state): State<AppState>,
    signed: Signed,
    Path((segment, id)): Path<(String, String)>,
) -> ConsoleResult<Response> {
    let (kind, title) = kind_of(&segment)?;
    let outcome = admin::delete(
        State(state.clone()),
        signed.auth.clone(),
        kind,
        id,
        DryRun(false),
    )
    .await
    .map(|_| "Deleted.".to_string());
    after(&state, &signed, kind, title, outcome).await
}
