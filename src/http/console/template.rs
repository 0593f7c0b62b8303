//! Create users from a template: a template user (the tenant's provisioning template by
//! default), the new users one per line, a Starting ID; "Generate Agent IDs" shows what
//! Create would do (a dry run), Create creates them, and the results table lists every
//! user created or failed with the reasons. The admin API's from-template does the work.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};
use serde_json::{Value, json};

use super::ConsoleResult;
use super::fields::{Form, form_value};
use super::page::{self, csrf_field, layout};
use super::session::Signed;
use crate::app::AppState;
use crate::http::admin::{AdminBody, DryRun, template};
use crate::store::{tenants, users};

fn form(
    signed: &Signed,
    values: &Form,
    template_user: &str,
    results: Option<Markup>,
) -> Html<String> {
    let value = |name: &str| form_value(values, name).unwrap_or("").to_string();
    let template_user = match value("template") {
        v if v.is_empty() => template_user.to_string(),
        v => v,
    };
    let body = html! {
        h1 { "Create users from a template" }
        form.template method="post" action="/console/from-template" {
            (csrf_field(signed))
            div.field {
                label for="template" { "Template user (username)" }
                input #template type="text" name="template" value=(template_user);
                span.why { "Each new user takes the template's settings and security profiles. Empty: the tenant's provisioning template." }
            }
            div.field {
                label for="users" { "New users" }
                textarea #users name="users" rows="8" cols="60" { (value("users")) }
                span.why { "One per line: email, first name, last name. The email is also the username." }
            }
            div.field {
                label for="starting" { "Starting ID" }
                input #starting type="text" inputmode="numeric" name="startingAgentId" value=(value("startingAgentId"));
                span.why { "Agent IDs are given from here up, skipping IDs in use. Empty: the tenant's agentIdStart." }
            }
            div.save-bar {
                button #generate type="submit" name="action" value="preview" { "Generate Agent IDs" }
                button.primary #create type="submit" name="action" value="create" { "Create" }
            }
        }
        @if let Some(results) = results { (results) }
    };
    layout(
        signed,
        "Create from template",
        "Create users from a template",
        body,
    )
}

async fn default_template(state: &AppState, signed: &Signed) -> ConsoleResult<String> {
    let settings = tenants::settings(&state.db, &signed.auth.tenant_id).await?;
    let Some(id) = settings.provisioning_template_user else {
        return Ok(String::new());
    };
    Ok(users::get(&state.db, &signed.auth.tenant_id, &id)
        .await
        .map(|u| u.user_name().to_string())
        .unwrap_or_default())
}

/// `GET /console/from-template`
pub async fn show(State(state): State<AppState>, signed: Signed) -> ConsoleResult<Html<String>> {
    let template_user = default_template(&state, &signed).await?;
    Ok(form(&signed, &Vec::new(), &template_user, None))
}

/// The new users of the text box: `email, first name, last name` per line.
fn entries(text: &str) -> Vec<Value> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| {
            let mut parts = line.split(',').map(str::trim);
            let email = parts.next().unwrap_or("");
            let given = parts.next().unwrap_or("");
            let family = parts.next().unwrap_or("");
            let mut entry = json!({"userName": email, "email": email});
            if !given.is_empty() || !family.is_empty() {
                let mut name = serde_json::Map::new();
                if !given.is_empty() {
                    name.insert("givenName".into(), json!(given));
                }
                if !family.is_empty() {
                    name.insert("familyName".into(), json!(family));
                }
                entry["name"] = Value::Object(name);
            }
            entry
        })
        .collect()
}

fn results(answer: &Value) -> Markup {
    let dry = answer["dryRun"].as_bool().unwrap_or(false);
    html! {
        section.results aria-labelledby="results-title" {
            h2 #results-title { @if dry { "Preview: nothing created yet" } @else { "Results" } }
            p role="status" {
                (answer["created"]) (if dry { " would be created, " } else { " created, " })
                (answer["failed"]) " failed."
            }
            table.results {
                thead { tr { th scope="col" { "Username" } th scope="col" { "Status" } th scope="col" { "Agent ID" } th scope="col" { "Reasons" } } }
                tbody {
                    @for r in answer["results"].as_array().into_iter().flatten() {
                        tr {
                            td {
                                @if let Some(id) = r["id"].as_str() {
                                    a href={ "/console/users/" (id) } { (r["userName"].as_str().unwrap_or("")) }
                                } @else { (r["userName"].as_str().unwrap_or("")) }
                            }
                            td { @if r["status"] == "created" { (if dry { "Will be created" } else { "Created" }) } @else { span.error { "Failed" } } }
                            td { (r["agentId"].as_str().unwrap_or("")) }
                            td {
                                @for e in r["errors"].as_array().into_iter().flatten() {
                                    (e["message"].as_str().unwrap_or("")) " "
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `POST /console/from-template` (`action=preview|create`).
pub async fn create(
    State(state): State<AppState>,
    signed: Signed,
    axum::Form(values): axum::Form<Form>,
) -> ConsoleResult<Response> {
    let dry = form_value(&values, "action") != Some("create");
    let template_user = default_template(&state, &signed).await?;
    let named = form_value(&values, "template")
        .unwrap_or("")
        .trim()
        .to_string();
    let show = |status: StatusCode, markup: Markup| {
        Ok((status, form(&signed, &values, &template_user, Some(markup))).into_response())
    };
    let template = if named.is_empty() {
        Value::Null
    } else {
        match users::by_user_name(&state.db, &signed.auth.tenant_id, &named).await {
            Ok(u) => json!(u.id),
            Err(crate::domain::Error::NotFound(_)) => {
                return show(
                    StatusCode::BAD_REQUEST,
                    page::alert(&format!(
                        "No user is named {named:?}: choose the template user by username."
                    )),
                );
            }
            Err(e) => return Err(e.into()),
        }
    };
    let starting = form_value(&values, "startingAgentId").unwrap_or("").trim();
    let body = json!({
        "template": template,
        "startingAgentId": if starting.is_empty() { Value::Null } else { json!(starting) },
        "users": entries(form_value(&values, "users").unwrap_or("")),
        "dryRun": dry,
    });
    match template::create(
        State(state.clone()),
        signed.auth.clone(),
        DryRun(dry),
        AdminBody(body),
    )
    .await
    {
        Ok(Json(answer)) => show(StatusCode::OK, results(&answer)),
        Err(e) => show(
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
            page::alert(&format!("Nothing was created: {}", e.detail)),
        ),
    }
}
