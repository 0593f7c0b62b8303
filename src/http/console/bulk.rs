//! Edit multiple users: the users ticked in the list, each with an X to drop it, the fields
//! that can be set on several users at once (each with a "Change" box: only ticked fields
//! change), and a per-user results list. The change is the admin API's bulk edit: every
//! user is checked first, and if any cannot take it, none changes and each is listed with
//! its reasons.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};
use serde_json::{Map, Value, json};

use super::fields::{
    Field, Form, Input, SECTIONS, form_values, input_id, read_only_value, render_input, submitted,
    value_of, verdict, why_read_only,
};
use super::page::{self, csrf_field, layout};
use super::session::Signed;
use super::{ConsoleError, ConsoleResult};
use crate::app::AppState;
use crate::domain::catalog::Catalogs;
use crate::domain::user::User;
use crate::http::admin::error::Code;
use crate::http::admin::view::{attributes, editability};
use crate::http::admin::{AdminBody, DryRun, bulk};
use crate::store::{catalog, users as store_users};

/// Fields that are one person's own (names, email, unique numbers): never set in bulk.
const OWN: [&str; 9] = [
    "userName",
    "employeeNumber",
    "name.givenName",
    "name.familyName",
    "displayName",
    "email",
    "agentId",
    "personalPhoneNumber",
    "webRtcFallbackNumber",
];

fn bulk_fields() -> impl Iterator<Item = (&'static str, &'static Field)> {
    SECTIONS.iter().flat_map(|(section, fields)| {
        fields
            .iter()
            .filter(|f| !OWN.contains(&f.key))
            .map(move |f| (*section, f))
    })
}

/// The ids a form or query names (`id=…`, repeated), in order, without repeats.
fn ids_of(pairs: &Form) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for id in form_values(pairs, "id") {
        if !id.is_empty() && !ids.iter().any(|i| i == id) {
            ids.push(id.to_string());
        }
    }
    ids
}

/// How the page names a user: display name, else given and family name, else userName.
fn display(user: &User) -> String {
    let a = &user.attributes;
    if let Some(d) = a.get("displayName").and_then(Value::as_str) {
        return d.to_string();
    }
    let part = |k: &str| a.get("name").and_then(|n| n.get(k)).and_then(Value::as_str);
    let joined: Vec<&str> = [part("givenName"), part("familyName")]
        .into_iter()
        .flatten()
        .collect();
    if joined.is_empty() {
        user.user_name().to_string()
    } else {
        joined.join(" ")
    }
}

/// What this caller may change on every one of the users, per view field, as the admin
/// view's `editable` map would say it (the first refusal wins).
fn editable_for_all(state: &AppState, signed: &Signed, users: &[User]) -> Value {
    let mut map = Map::new();
    for va in attributes(&state.registry.user) {
        let verdict = users
            .iter()
            .find_map(|u| editability(&va.key, Some(u), &signed.auth.actor).err());
        map.insert(
            va.name.to_string(),
            match verdict {
                None => json!({"editable": true}),
                Some(reason) => json!({"editable": false, "reason": reason.to_string()}),
            },
        );
    }
    json!({ "editable": map })
}

async fn load(state: &AppState, signed: &Signed, ids: &[String]) -> ConsoleResult<Vec<User>> {
    if ids.len() > bulk::MAX_BULK {
        return Err(ConsoleError::bad_request(format!(
            "Select at most {} users at once.",
            bulk::MAX_BULK
        )));
    }
    let mut found = store_users::many(&state.db, &signed.auth.tenant_id, ids).await?;
    // In the order selected.
    found.sort_by_key(|u| ids.iter().position(|i| *i == u.id));
    Ok(found)
}

fn form_page(
    signed: &Signed,
    users: &[User],
    editable: &Value,
    catalogs: &Catalogs,
    results: Option<Markup>,
) -> Html<String> {
    let body = html! {
        p.crumbs { a href="/console/users" { "Users" } " › Edit multiple users" }
        h1 { "Edit multiple users" }
        @if let Some(results) = results { (results) }
        @if users.is_empty() {
            p { "No users are selected. Tick users in the " a href="/console/users" { "Users" } " list first." }
        } @else {
            form #bulk-form method="post" action="/console/users/edit" {
                (csrf_field(signed))
                h2 #selected-title { (users.len()) " selected users" }
                ul.selected aria-labelledby="selected-title" {
                    @for u in users {
                        li id={ "sel-" (u.id) } {
                            input type="hidden" name="id" value=(u.id);
                            span { (display(u)) " (" (u.user_name()) ")" }
                            " "
                            button.drop type="button" data-drop={ "sel-" (u.id) }
                                aria-label={ "Remove " (display(u)) " from the selection" } { "✕" }
                        }
                    }
                }
                p.hint { "Tick “Change” for each field to set on every selected user; other fields stay as they are." }
                @for (section, section_fields) in SECTIONS {
                    @let shown: Vec<&Field> = bulk_fields().filter(|(s, _)| s == section).map(|(_, f)| f).collect();
                    @if !shown.is_empty() {
                        fieldset {
                            legend { (section) }
                            @for f in shown {
                                @let _ = section_fields;
                                div.field {
                                    @match verdict(editable, f) {
                                        Ok(()) => {
                                            span.change {
                                                input type="checkbox" name="change" value=(f.key) id={ "change-" (input_id(f.key)) };
                                                label for={ "change-" (input_id(f.key)) } { "Change " (f.label) }
                                            }
                                            @if matches!(f.input, Input::Several(_) | Input::Skills | Input::Capacity) {
                                                span.label id={ (input_id(f.key)) "-label" } { (f.label) }
                                            } @else {
                                                label for=(input_id(f.key)) { (f.label) }
                                            }
                                            (render_input(f, &value_of(&json!({}), f), catalogs))
                                        }
                                        Err(reason) => {
                                            span.label { (f.label) }
                                            span.value { (read_only_value(f, &Value::Null)) }
                                            span.why { (why_read_only(reason)) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                div.save-bar { button.primary #apply type="submit" { "Save changes to selected users" } }
            }
        }
    };
    layout(signed, "Users", "Edit multiple users", body)
}

/// `GET /console/users/edit?id=…&id=…`
pub async fn show(
    State(state): State<AppState>,
    signed: Signed,
    RawQuery(query): RawQuery,
) -> ConsoleResult<Html<String>> {
    let pairs: Form = serde_urlencoded::from_str(query.as_deref().unwrap_or(""))
        .map_err(|_| ConsoleError::bad_request("The selection is not readable."))?;
    let users = load(&state, &signed, &ids_of(&pairs)).await?;
    let catalogs = catalog::load(&state.db, &signed.auth.tenant_id).await?;
    let editable = editable_for_all(&state, &signed, &users);
    Ok(form_page(&signed, &users, &editable, &catalogs, None))
}

/// The `set` of the bulk edit: the ticked fields' values. Skills are set by name (the
/// levels chosen), leaving each user's other skills as they are.
fn set_of(form: &Form, catalogs: &Catalogs) -> Map<String, Value> {
    let changed: Vec<&str> = form_values(form, "change").collect();
    let mut set = Map::new();
    for (_, f) in bulk_fields().filter(|(_, f)| changed.contains(&f.key)) {
        let value = submitted(form, f, catalogs);
        let value = match f.input {
            Input::Skills => Value::Object(
                value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|s| Some((s["name"].as_str()?.to_string(), s["level"].clone())))
                    .collect(),
            ),
            _ => value,
        };
        set.insert(f.key.to_string(), value);
    }
    set
}

/// `POST /console/users/edit`: applies the ticked fields to every selected user, or to none.
pub async fn apply(
    State(state): State<AppState>,
    signed: Signed,
    axum::Form(form): axum::Form<Form>,
) -> ConsoleResult<Response> {
    let ids = ids_of(&form);
    let users = load(&state, &signed, &ids).await?;
    let catalogs = catalog::load(&state.db, &signed.auth.tenant_id).await?;
    let editable = editable_for_all(&state, &signed, &users);
    let set = set_of(&form, &catalogs);
    if set.is_empty() || users.is_empty() {
        let alert = page::alert(if users.is_empty() {
            "No users are selected."
        } else {
            "Nothing was changed: tick “Change” next to at least one field."
        });
        let page = form_page(&signed, &users, &editable, &catalogs, Some(alert));
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    }
    let outcome = bulk::edit(
        State(state.clone()),
        signed.auth.clone(),
        DryRun(false),
        AdminBody(json!({"ids": ids, "set": set})),
    )
    .await;
    let (status, results) = match outcome {
        Ok(Json(_)) => (
            StatusCode::OK,
            results(&users, None, &format!("{} users updated.", users.len())),
        ),
        Err(e) if e.code == Code::BulkFailed => {
            let failures = e
                .extra
                .as_ref()
                .and_then(|x| x["failures"].as_array().cloned())
                .unwrap_or_default();
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                results(&users, Some(&failures), &e.detail),
            )
        }
        Err(e) => (
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
            page::alert(&format!("Nothing was changed: {}", e.detail)),
        ),
    };
    let page = form_page(&signed, &users, &editable, &catalogs, Some(results));
    Ok((status, page).into_response())
}

/// The per-user results: each user updated, or why not (with failures, none changed).
fn results(users: &[User], failures: Option<&Vec<Value>>, summary: &str) -> Markup {
    let failed = |id: &str| failures.and_then(|f| f.iter().find(|x| x["id"] == id));
    html! {
        section.results aria-labelledby="results-title" {
            h2 #results-title { "Results" }
            @if failures.is_some() { (page::alert(summary)) } @else { (page::notice(summary)) }
            table.results {
                thead { tr { th scope="col" { "User" } th scope="col" { "Result" } } }
                tbody {
                    @for u in users {
                        tr {
                            td { a href={ "/console/users/" (u.id) } { (display(u)) } }
                            td {
                                @match (failures, failed(&u.id)) {
                                    (None, _) => { "Updated" }
                                    (Some(_), None) => { "Not changed (other users failed)" }
                                    (Some(_), Some(f)) => {
                                        span.error { "Failed: " }
                                        @for err in f["errors"].as_array().into_iter().flatten() {
                                            (err["message"].as_str().unwrap_or("")) " "
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
