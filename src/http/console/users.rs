//! The Users screens: the list (search, Active/Archived filter, pages) and one user
//! (view, edit, archive, revert to active, delete). Every read and write is the admin API's
//! own handler run with the signed-in user's identity; which fields are editable, and why
//! not, comes from the admin view's `editable` map (the ownership registry).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use serde_json::Value;

use super::ConsoleResult;
use super::fields::{
    Form, Input, Problem, SECTIONS, field_error, fields, form_value, input_id, patch_of, place,
    read_only_value, render_input, save_bar, value_of, verdict, why_read_only,
};
use super::page::{self, csrf_field, layout};
use super::session::Signed;
use crate::app::AppState;
use crate::domain::validation::Surface;
use crate::http::admin::error::{AdminError, Code};
use crate::http::admin::{DryRun, bulk, users as admin};
use crate::http::extract::QueryMap;
use crate::store::catalog;
use crate::write;

/// Users per page of the list.
pub const PAGE: usize = 50;

/// The list counts at most this many matches; past it, it says "more than" (an exact count
/// of a million users costs more than the page itself).
pub const COUNT_CAP: u64 = 10_000;

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    status: Option<String>,
    page: Option<usize>,
}

/// The list's status filter.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Active,
    Archived,
    All,
}

impl Status {
    fn parse(text: Option<&str>) -> Status {
        match text {
            Some("archived") => Status::Archived,
            Some("all") => Status::All,
            _ => Status::Active,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Archived => "archived",
            Status::All => "all",
        }
    }
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// How the list and the page title name a user.
fn full_name(user: &Value) -> String {
    let display = text(user, "displayName");
    if !display.is_empty() {
        return display.to_string();
    }
    let name = user.get("name").cloned().unwrap_or(Value::Null);
    let joined = [text(&name, "givenName"), text(&name, "familyName")]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    if joined.is_empty() {
        text(user, "userName").to_string()
    } else {
        joined
    }
}

fn skills_text(user: &Value) -> String {
    user.get("skills")
        .and_then(Value::as_array)
        .map(|skills| {
            skills
                .iter()
                .map(|s| format!("{} ({})", text(s, "name"), s["level"]))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

fn groups_text(user: &Value) -> String {
    user.get("groups")
        .and_then(Value::as_array)
        .map(|groups| {
            groups
                .iter()
                .map(|g| text(g, "displayName").to_string())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// `GET /console/users?q=&status=active|archived|all&page=N`
pub async fn list(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<ListQuery>,
) -> ConsoleResult<Html<String>> {
    let status = Status::parse(query.status.as_deref());
    let page_no = query.page.unwrap_or(1).max(1);
    let mut params = HashMap::from([
        ("count".to_string(), PAGE.to_string()),
        (
            "startIndex".to_string(),
            ((page_no - 1) * PAGE + 1).to_string(),
        ),
    ]);
    match status {
        Status::Active => params.insert("filter".into(), "active eq true".into()),
        Status::Archived => params.insert("filter".into(), "active eq false".into()),
        Status::All => None,
    };
    let q = query.q.trim();
    if !q.is_empty() {
        params.insert("q".into(), q.to_string());
    }
    let answer = admin::list_page(&state, &signed.auth, &QueryMap(params), Some(COUNT_CAP)).await;
    let (users, total, problem) = match answer {
        Ok(body) => (
            body["users"].as_array().cloned().unwrap_or_default(),
            body["totalResults"].as_u64().unwrap_or(0) as usize,
            None,
        ),
        Err(e) if e.code == Code::InvalidValue => (Vec::new(), 0, Some(e.detail)),
        Err(e) => return Err(e.into()),
    };
    let capped = total as u64 > COUNT_CAP;
    let pages = total.div_ceil(PAGE).max(1);
    let has_next = if capped {
        users.len() == PAGE
    } else {
        page_no < pages
    };
    let link = |page_no: usize| {
        let query = serde_urlencoded::to_string([
            ("q", q),
            ("status", status.as_str()),
            ("page", &page_no.to_string()),
        ])
        .unwrap_or_default();
        format!("/console/users?{query}")
    };
    let body = html! {
        h1 { "Users" }
        form.filters method="get" action="/console/users" role="search" {
            label for="q" { "Search" }
            input #q type="search" name="q" value=(q)
                placeholder="Name, username, email or agent ID";
            label for="status" { "Show" }
            select #status name="status" {
                @for (value, label) in [("active", "Active"), ("archived", "Archived"), ("all", "All")] {
                    option value=(value) selected[status.as_str() == value] { (label) }
                }
            }
            button type="submit" { "Search" }
        }
        @if let Some(problem) = &problem { (page::alert(problem)) }
        p.count role="status" {
            @if capped {
                "More than " (COUNT_CAP) " users · page " (page_no)
            } @else {
                (total) " " (if total == 1 { "user" } else { "users" })
                @if pages > 1 { " · page " (page_no) " of " (pages) }
            }
        }
        form #pick method="get" action="/console/users/edit" {
            div.bulk-bar {
                button type="submit" { "Edit selected users" }
            }
            table.users {
                thead {
                    tr {
                        th scope="col" {
                            input #pick-all type="checkbox" data-select-all="id";
                            label.small for="pick-all" { "All" }
                        }
                        th scope="col" { "Name" }
                        th scope="col" { "Username" }
                        th scope="col" { "Licence" }
                        th scope="col" { "Agent ID" }
                        th scope="col" { "Skills" }
                        th scope="col" { "Groups" }
                        th scope="col" { "Status" }
                    }
                }
                tbody {
                    @for user in &users {
                        @let id = text(user, "id");
                        @let active = user["active"].as_bool().unwrap_or(true);
                        tr.archived[!active] {
                            td {
                                input id={ "pick-" (id) } type="checkbox" name="id" value=(id);
                                label.small for={ "pick-" (id) } { "Select" }
                            }
                            td { a href={ "/console/users/" (id) } { (full_name(user)) } }
                            td { (text(user, "userName")) }
                            td { (text(user, "licenceType")) }
                            td { (text(user, "agentId")) }
                            td { (skills_text(user)) }
                            td { (groups_text(user)) }
                            td { @if active { "Active" } @else { span.badge { "Archived" } } }
                        }
                    }
                }
            }
        }
        @if page_no > 1 || has_next {
            nav.pages aria-label="Pages" {
                @if page_no > 1 { a href=(link(page_no - 1)) rel="prev" { "Previous" } }
                @if has_next { a href=(link(page_no + 1)) rel="next" { "Next" } }
            }
        }
    };
    Ok(layout(&signed, "Users", "Users", body))
}

/// A lifecycle action of the user page and whether this user may take it now.
struct Action {
    label: &'static str,
    path: &'static str,
    allowed: Result<(), String>,
}

/// Archive, Revert to active and Delete user, each enabled only when the write would
/// succeed: decided by running it as a dry run (the domain's rules, not the console's).
async fn actions(state: &AppState, signed: &Signed, id: &str, active: bool) -> Vec<Action> {
    let auth = &signed.auth;
    let set_active = write::dry_run(admin::set_active(state, auth, id, !active)).await;
    let delete = write::dry_run(write::users::delete(
        &state.db,
        &auth.tenant_id,
        id,
        &auth.actor,
        Surface::Local,
        None,
    ))
    .await;
    let why = |e: AdminError| match e.code {
        Code::SsoOwnedFields => "Managed by your identity provider: archive it there".to_string(),
        _ => e.detail,
    };
    vec![
        Action {
            label: if active {
                "Archive"
            } else {
                "Revert to active"
            },
            path: if active { "archive" } else { "reactivate" },
            allowed: set_active.map(|_| ()).map_err(why),
        },
        Action {
            label: "Delete user",
            path: "delete",
            allowed: delete.map_err(|e| why(e.into())),
        },
    ]
}

/// What the user page shows besides the user: a notice or an alert, and the form's errors.
#[derive(Default)]
struct Shown {
    notice: Option<String>,
    alert: Option<String>,
    problems: Vec<Problem>,
}

async fn user_page(
    state: &AppState,
    signed: &Signed,
    view: &Value,
    shown: Shown,
) -> ConsoleResult<Html<String>> {
    let id = text(view, "id");
    let active = view["active"].as_bool().unwrap_or(true);
    let catalogs = catalog::load(&state.db, &signed.auth.tenant_id).await?;
    let actions = actions(state, signed, id, active).await;
    let any_editable = fields().any(|f| verdict(view, f).is_ok());
    let title = full_name(view);
    let managed_by_idp = view["managedBy"] == "idp";
    let body = html! {
        p.crumbs { a href="/console/users" { "Users" } " › " (title) }
        h1 {
            (title)
            @if !active { " " span.badge { "Archived" } }
        }
        p.meta {
            @if managed_by_idp { "Managed by your identity provider. " } @else { "Local user. " }
            "Groups: " (match groups_text(view).as_str() { "" => "none".to_string(), g => g.to_string() })
        }
        @if let Some(n) = &shown.notice { (page::notice(n)) }
        @if let Some(a) = &shown.alert { (page::alert(a)) }
        @for w in view["warnings"].as_array().into_iter().flatten() {
            p.warning { strong { (text(w, "field")) } ": " (text(w, "message")) }
        }
        div.actions {
            @for a in &actions {
                @match &a.allowed {
                    Ok(()) if a.path == "delete" => {
                        button type="button" data-open-dialog="delete-dialog" { (a.label) }
                    }
                    Ok(()) => {
                        form method="post" action={ "/console/users/" (id) "/" (a.path) } {
                            (csrf_field(signed))
                            button type="submit" { (a.label) }
                        }
                    }
                    Err(reason) => {
                        span.disabled-action {
                            button type="button" disabled aria-describedby={ "why-" (a.path) } { (a.label) }
                            span.why id={ "why-" (a.path) } { (reason) }
                        }
                    }
                }
            }
        }
        dialog #delete-dialog aria-labelledby="delete-title" {
            form method="post" action={ "/console/users/" (id) "/delete" } {
                (csrf_field(signed))
                h2 #delete-title { "Delete " (title) "?" }
                p { "Deleting removes the user for good; its audit history is kept. Only archived "
                    "users can be deleted, and only once they hold no API credentials: revoke "
                    "those first." }
                button.danger type="submit" { "Delete user" }
                " "
                button type="button" data-close-dialog="delete-dialog" { "Cancel" }
            }
        }
        // The server checks every field (and counts the errors by Save): no browser validation.
        form #user-form method="post" action={ "/console/users/" (id) } novalidate
            hx-post={ "/console/users/" (id) "/check" } hx-trigger="change" hx-swap="none" {
            (csrf_field(signed))
            input type="hidden" name="_version" value=(text(view, "version"));
            @for (section, section_fields) in SECTIONS {
                fieldset {
                    legend { (section) }
                    @if *section == "Licence status" {
                        div.field {
                            span.label { "Status" }
                            span.value { @if active { "Active" } @else { "Archived" } }
                        }
                    }
                    @for f in section_fields.iter() {
                        @let value = value_of(view, f);
                        div.field {
                            @match verdict(view, f) {
                                Ok(()) => {
                                    @if matches!(f.input, Input::Several(_) | Input::Skills | Input::Capacity) {
                                        span.label id={ (input_id(f.key)) "-label" } { (f.label) }
                                    } @else {
                                        label for=(input_id(f.key)) { (f.label) }
                                    }
                                    (render_input(f, &value, &catalogs))
                                    (field_error(f.key, &shown.problems, false))
                                }
                                Err(reason) => {
                                    span.label { (f.label) }
                                    span.value.read-only data-field=(f.key) { (read_only_value(f, &value)) }
                                    span.why { (why_read_only(reason)) }
                                }
                            }
                        }
                    }
                }
            }
            @if any_editable { (save_bar(&shown.problems, false)) }
        }
    };
    Ok(layout(signed, "Users", &title, body))
}

async fn view_of(state: &AppState, signed: &Signed, id: &str) -> ConsoleResult<Value> {
    let Json(view) = admin::get(
        State(state.clone()),
        signed.auth.clone(),
        Path(id.to_string()),
    )
    .await?;
    Ok(view)
}

#[derive(Deserialize)]
pub struct ShowQuery {
    done: Option<String>,
}

/// `GET /console/users/{id}`
pub async fn show(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Query(q): Query<ShowQuery>,
) -> ConsoleResult<Html<String>> {
    let view = view_of(&state, &signed, &id).await?;
    let notice = match q.done.as_deref() {
        Some("saved") => Some("Saved.".to_string()),
        Some("unchanged") => Some("Nothing to save: no field was changed.".to_string()),
        Some("archived") => Some("The user is archived.".to_string()),
        Some("reactivated") => Some("The user is active again.".to_string()),
        _ => None,
    };
    user_page(
        &state,
        &signed,
        &view,
        Shown {
            notice,
            ..Shown::default()
        },
    )
    .await
}

/// Every error the form's change would meet: the admin API's own checks, run as a dry run.
async fn problems_of(
    state: &AppState,
    signed: &Signed,
    id: &str,
    patch: &Value,
) -> ConsoleResult<Vec<AdminError>> {
    let ctx = write::users::TenantContext::load(&state.db, &signed.auth.tenant_id).await?;
    Ok(bulk::edit_errors(state, &signed.auth, &ctx, id, patch).await)
}

/// `POST /console/users/{id}/check` (htmx, on every change): the error count by Save and
/// each field's errors, swapped in place; nothing is written.
pub async fn check(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<Form>,
) -> ConsoleResult<Html<String>> {
    let view = view_of(&state, &signed, &id).await?;
    let catalogs = catalog::load(&state.db, &signed.auth.tenant_id).await?;
    let (patch, _) = patch_of(&view, &form, &catalogs);
    let problems = if patch.as_object().is_some_and(|p| p.is_empty()) {
        Vec::new()
    } else {
        place(&problems_of(&state, &signed, &id, &patch).await?)
    };
    Ok(Html(
        html! {
            (save_bar(&problems, true))
            @for f in fields().filter(|f| verdict(&view, f).is_ok()) {
                (field_error(f.key, &problems, true))
            }
        }
        .into_string(),
    ))
}

fn see_user(id: &str, done: &str) -> Response {
    Redirect::to(&format!("/console/users/{id}?done={done}")).into_response()
}

/// `POST /console/users/{id}`: Save. Saves only the fields the form changed, only if the
/// user did not change since the form was shown (else the edit is reported stale, not
/// written); with errors, the form comes back with each next to its field.
pub async fn save(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<Form>,
) -> ConsoleResult<Response> {
    let view = view_of(&state, &signed, &id).await?;
    let catalogs = catalog::load(&state.db, &signed.auth.tenant_id).await?;
    let (patch, shown_view) = patch_of(&view, &form, &catalogs);
    if patch.as_object().is_some_and(|p| p.is_empty()) {
        return Ok(see_user(&id, "unchanged"));
    }
    let version = form_value(&form, "_version").unwrap_or("");
    let stale = |view: &Value| version != text(view, "version");
    if stale(&view) {
        let page = user_page(
            &state,
            &signed,
            &view,
            Shown {
                alert: Some(
                    "Someone else saved this user after you opened it, so your changes were not \
                     saved. The page now shows their version: make your changes again."
                        .into(),
                ),
                ..Shown::default()
            },
        )
        .await?;
        return Ok((StatusCode::CONFLICT, page).into_response());
    }
    let problems = place(&problems_of(&state, &signed, &id, &patch).await?);
    if !problems.is_empty() {
        let page = user_page(
            &state,
            &signed,
            &shown_view,
            Shown {
                alert: Some("Nothing was saved: fix the errors below.".into()),
                problems,
                ..Shown::default()
            },
        )
        .await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(version) {
        headers.insert(header::IF_MATCH, v);
    }
    let saved = admin::patch(
        State(state.clone()),
        signed.auth.clone(),
        Path(id.clone()),
        DryRun(false),
        headers,
        crate::http::admin::AdminBody(patch),
    )
    .await;
    match saved {
        Ok(_) => Ok(see_user(&id, "saved")),
        Err(e) => {
            let current = view_of(&state, &signed, &id).await?;
            let (status, alert) = if e.code == Code::PreconditionFailed {
                (
                    StatusCode::CONFLICT,
                    "Someone else saved this user after you opened it, so your changes were not \
                     saved. The page now shows their version: make your changes again."
                        .to_string(),
                )
            } else {
                (
                    StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
                    format!("Nothing was saved: {}", e.detail),
                )
            };
            let page = user_page(
                &state,
                &signed,
                &current,
                Shown {
                    alert: Some(alert),
                    ..Shown::default()
                },
            )
            .await?;
            Ok((status, page).into_response())
        }
    }
}

/// Runs a lifecycle action; on refusal the user page comes back saying why.
async fn lifecycle(
    state: AppState,
    signed: Signed,
    id: String,
    outcome: Result<(), AdminError>,
    done: &str,
) -> ConsoleResult<Response> {
    match outcome {
        Ok(()) if done == "deleted" => Ok(Redirect::to("/console/users?deleted=1").into_response()),
        Ok(()) => Ok(see_user(&id, done)),
        Err(e) if e.code == Code::NotFound => Err(e.into()),
        Err(e) => {
            let view = view_of(&state, &signed, &id).await?;
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::CONFLICT);
            let page = user_page(
                &state,
                &signed,
                &view,
                Shown {
                    alert: Some(e.detail),
                    ..Shown::default()
                },
            )
            .await?;
            Ok((status, page).into_response())
        }
    }
}

/// `POST /console/users/{id}/archive`
pub async fn archive(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> ConsoleResult<Response> {
    let outcome = admin::set_active(&state, &signed.auth, &id, false)
        .await
        .map(|_| ());
    lifecycle(state, signed, id, outcome, "archived").await
}

/// `POST /console/users/{id}/reactivate` (Revert to active)
pub async fn reactivate(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> ConsoleResult<Response> {
    let outcome = admin::set_active(&state, &signed.auth, &id, true)
        .await
        .map(|_| ());
    lifecycle(state, signed, id, outcome, "reactivated").await
}

/// `POST /console/users/{id}/delete` (Delete user, after the confirmation dialog)
pub async fn delete(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> ConsoleResult<Response> {
    let outcome = write::users::delete(
        &state.db,
        &signed.auth.tenant_id,
        &id,
        &signed.auth.actor,
        Surface::Local,
        None,
    )
    .await
    .map_err(AdminError::from);
    lifecycle(state, signed, id, outcome, "deleted").await
}
