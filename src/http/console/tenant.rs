//! The tenant's own screens: Settings, API credentials (a secret shown once; revoke) and
//! Identity provider (the SCIM base URL to paste into Okta or Entra, the SCIM tokens, the
//! console's OpenID Connect sign-in, the last changes the identity provider made and its
//! last failed requests, from the provisioning log).
//! Every read and write is the admin API's, with the signed-in user's permissions.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};
use serde_json::{Map, Value, json};

use super::ConsoleResult;
use super::fields::{Form, form_value};
use super::page::{self, csrf_field, layout};
use super::session::Signed;
use crate::app::AppState;
use crate::domain::ownership::Permission;
use crate::http::admin::error::{AdminError, Code};
use crate::http::admin::{AdminBody, DryRun, credentials, oidc, provisioning_log, settings};
use crate::http::extract::QueryMap;
use crate::scim::resource::{etag, format_time};
use crate::store::{
    audit, console as console_store, credentials as store_credentials, tenants, users,
};

/// The settings' labels, in the products' words (presentation only: the settings and their
/// rules are the admin API's).
fn setting_label(key: &str) -> &str {
    match key {
        "idpManaged" => "Users come from the identity provider (no local user creation)",
        "agentHierarchyRequired" => "Agent hierarchy required",
        "directToAgentDialling" => "Direct-to-agent dialling",
        "provisioningTemplateUser" => "Provisioning template user (user id)",
        "agentIdStart" => "First agent ID",
        "rateLimit" => "Requests per second per credential (empty: the server's default)",
        "uniquePrimaryEmail" => "Each user's primary email is unique",
        "deprovisionBrake" => "Hold mass deactivations from the identity provider",
        "deprovisionBrakePercent" => "Brake: share of active users (%)",
        "deprovisionBrakeMinimum" => "Brake: at least this many users",
        "deprovisionBrakeWindowMinutes" => "Brake: within this many minutes",
        other => other,
    }
}

fn outcome_markup(outcome: Result<String, AdminError>) -> (StatusCode, Markup) {
    match outcome {
        Ok(done) => (StatusCode::OK, page::notice(&done)),
        Err(e) if e.code == Code::PreconditionFailed => (
            StatusCode::CONFLICT,
            page::alert(
                "Someone else saved the settings after you opened them, so your changes were not saved. The page now shows theirs.",
            ),
        ),
        Err(e) => (
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
            page::alert(&format!("Not saved: {}", e.detail)),
        ),
    }
}

async fn settings_page(
    state: &AppState,
    signed: &Signed,
    message: Option<Markup>,
) -> ConsoleResult<Html<String>> {
    signed.auth.require(&[Permission::ViewUsers])?;
    let (current, version) = tenants::versioned_settings(&state.db, &signed.auth.tenant_id).await?;
    let values = serde_json::to_value(&current).unwrap_or_default();
    let may = signed.auth.actor.holds(&[Permission::ManageSettings]);
    let body = html! {
        h1 { "Settings" }
        @if let Some(m) = message { (m) }
        @if !may { p.why { "Changing settings requires the ManageSettings permission." } }
        form #settings method="post" action="/console/settings" {
            (csrf_field(signed))
            input type="hidden" name="_version" value=(etag(version));
            fieldset disabled[!may] {
                legend { "Tenant settings" }
                @for (key, value) in values.as_object().into_iter().flatten() {
                    @let id = format!("s-{key}");
                    div.field {
                        label for=(id) { (setting_label(key)) }
                        @match value {
                            Value::Bool(b) => { input id=(id) type="checkbox" name=(key) checked[*b]; input type="hidden" name="_bool" value=(key); }
                            Value::Number(n) => { input id=(id) type="number" name=(key) value=(n.to_string()); }
                            Value::Null => { input id=(id) type="text" name=(key) value=""; }
                            Value::String(s) => { input id=(id) type="text" name=(key) value=(s); }
                            other => { input id=(id) type="text" name=(key) value=(other.to_string()) readonly; }
                        }
                    }
                }
            }
            @if may { div.save-bar { button.primary type="submit" { "Save" } } }
        }
    };
    Ok(layout(signed, "Settings", "Settings", body))
}

/// `GET /console/settings`
pub async fn show_settings(
    State(state): State<AppState>,
    signed: Signed,
) -> ConsoleResult<Html<String>> {
    settings_page(&state, &signed, None).await
}

/// `POST /console/settings`: the changed settings, if nobody saved meanwhile.
pub async fn save_settings(
    State(state): State<AppState>,
    signed: Signed,
    axum::Form(form): axum::Form<Form>,
) -> ConsoleResult<Response> {
    let (current, _) = tenants::versioned_settings(&state.db, &signed.auth.tenant_id).await?;
    let current = serde_json::to_value(&current).unwrap_or_default();
    let booleans: Vec<&str> = form
        .iter()
        .filter(|(k, _)| k == "_bool")
        .map(|(_, v)| v.as_str())
        .collect();
    let mut patch = Map::new();
    for (key, now) in current.as_object().into_iter().flatten() {
        let wanted = match now {
            Value::Bool(_) if booleans.contains(&key.as_str()) => {
                json!(form_value(&form, key).is_some())
            }
            Value::Bool(_) => continue,
            _ => match form_value(&form, key).map(str::trim) {
                None => continue,
                Some("") => Value::Null,
                Some(text) => match now {
                    Value::Number(_) => text.parse::<i64>().map_or(json!(text), |n| json!(n)),
                    Value::Null if text.parse::<i64>().is_ok() && key == "rateLimit" => {
                        json!(text.parse::<i64>().unwrap_or_default())
                    }
                    _ => json!(text),
                },
            },
        };
        if &wanted != now {
            patch.insert(key.clone(), wanted);
        }
    }
    let mut headers = HeaderMap::new();
    if let Some(v) = form_value(&form, "_version").and_then(|v| HeaderValue::from_str(v).ok()) {
        headers.insert(header::IF_MATCH, v);
    }
    let outcome = if patch.is_empty() {
        Ok("Nothing to save: no setting was changed.".to_string())
    } else {
        settings::patch(
            State(state.clone()),
            signed.auth.clone(),
            DryRun(false),
            headers,
            AdminBody(Value::Object(patch)),
        )
        .await
        .map(|_| "Saved.".to_string())
    };
    let (status, message) = outcome_markup(outcome);
    Ok((status, settings_page(&state, &signed, Some(message)).await?).into_response())
}

async fn user_names(
    state: &AppState,
    tenant_id: &str,
    ids: Vec<String>,
) -> ConsoleResult<std::collections::HashMap<String, String>> {
    Ok(users::many(&state.db, tenant_id, &ids)
        .await?
        .into_iter()
        .map(|u| (u.id.clone(), u.user_name().to_string()))
        .collect())
}

async fn credentials_page(
    state: &AppState,
    signed: &Signed,
    message: Option<Markup>,
) -> ConsoleResult<Html<String>> {
    let Json(list) = credentials::list(State(state.clone()), signed.auth.clone()).await?;
    let items = list["items"].as_array().cloned().unwrap_or_default();
    let ids: Vec<String> = items
        .iter()
        .filter_map(|c| c["userId"].as_str().map(str::to_string))
        .collect();
    let names = user_names(state, &signed.auth.tenant_id, ids).await?;
    let body = html! {
        h1 { "API credentials" }
        @if let Some(m) = message { (m) }
        table.credentials {
            thead { tr { th scope="col" { "Name" } th scope="col" { "Kind" } th scope="col" { "User" } th scope="col" { "Created" } th scope="col" { "Revoke" } } }
            tbody {
                @for c in &items {
                    @let id = c["id"].as_str().unwrap_or("");
                    tr {
                        td { (c["name"].as_str().unwrap_or("")) }
                        td { @if c["kind"] == "scim" { "SCIM token" } @else { "User API token" } }
                        td { (c["userId"].as_str().and_then(|u| names.get(u)).map(String::as_str).unwrap_or("—")) }
                        td { (c["created"].as_str().unwrap_or("")) }
                        td {
                            form method="post" action={ "/console/credentials/" (id) "/revoke" } {
                                (csrf_field(signed))
                                button.danger type="submit" aria-label={ "Revoke " (c["name"].as_str().unwrap_or("")) } { "Revoke" }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Create a credential" }
        form.create-credential method="post" action="/console/credentials" {
            (csrf_field(signed))
            div.field {
                label for="c-name" { "Name" }
                input #c-name type="text" name="name" required maxlength="100";
            }
            div.field {
                label for="c-kind" { "Kind" }
                select #c-kind name="kind" {
                    option value="scim" { "SCIM token (for the identity provider)" }
                    option value="user" { "User API token (acts as a user)" }
                }
            }
            div.field {
                label for="c-user" { "User (username, for a user API token)" }
                input #c-user type="text" name="user";
            }
            button.primary type="submit" { "Create" }
        }
    };
    Ok(layout(signed, "API credentials", "API credentials", body))
}

/// `GET /console/credentials`
pub async fn show_credentials(
    State(state): State<AppState>,
    signed: Signed,
) -> ConsoleResult<Html<String>> {
    credentials_page(&state, &signed, None).await
}

/// `POST /console/credentials`: the secret is shown on the answer's page, once.
pub async fn create_credential(
    State(state): State<AppState>,
    signed: Signed,
    axum::Form(form): axum::Form<Form>,
) -> ConsoleResult<Response> {
    let kind = form_value(&form, "kind").unwrap_or("scim");
    let mut body = json!({"kind": kind, "name": form_value(&form, "name").unwrap_or("").trim()});
    let mut outcome = Ok(());
    if kind == "user" {
        let named = form_value(&form, "user").unwrap_or("").trim();
        match users::by_user_name(&state.db, &signed.auth.tenant_id, named).await {
            Ok(u) => body["userId"] = json!(u.id),
            Err(crate::domain::Error::NotFound(_)) => {
                outcome = Err(AdminError::invalid(
                    "user",
                    format!("no user is named {named:?}"),
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let answer = match outcome {
        Ok(()) => credentials::create(
            State(state.clone()),
            signed.auth.clone(),
            DryRun(false),
            AdminBody(body),
        )
        .await
        .map(|(_, Json(c))| c),
        Err(e) => Err(e),
    };
    let (status, message) = match answer {
        Ok(c) => (
            StatusCode::CREATED,
            html! {
                div.notice role="status" {
                    p { "Created " strong { (c["name"].as_str().unwrap_or("")) } ". Copy the secret now: it is shown only this once." }
                    label for="secret" { "Secret" }
                    input #secret type="text" readonly value=(c["secret"].as_str().unwrap_or("")) size="60";
                }
            },
        ),
        Err(e) => outcome_markup(Err(e)),
    };
    Ok((
        status,
        credentials_page(&state, &signed, Some(message)).await?,
    )
        .into_response())
}

/// `POST /console/credentials/{id}/revoke`
pub async fn revoke_credential(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> ConsoleResult<Response> {
    let outcome = credentials::revoke(
        State(state.clone()),
        signed.auth.clone(),
        Path(id),
        DryRun(false),
    )
    .await
    .map(|_| "Revoked: it stops working at once.".to_string());
    let (status, message) = outcome_markup(outcome);
    Ok((
        status,
        credentials_page(&state, &signed, Some(message)).await?,
    )
        .into_response())
}

/// How many of the last changes, and of the last failed requests, of the identity provider
/// the page shows.
const RECENT: u64 = 20;

/// The last failed requests of the tenant's credentials (the admin API's provisioning log,
/// `status=error`), or `None` when the user may not read it (ViewUsers).
async fn failed_requests(state: &AppState, signed: &Signed) -> ConsoleResult<Option<Vec<Value>>> {
    if !signed.auth.actor.holds(&[Permission::ViewUsers]) {
        return Ok(None);
    }
    let query = QueryMap(
        [
            ("status", "error".to_string()),
            ("count", RECENT.to_string()),
        ]
        .map(|(name, value)| (name.to_string(), value))
        .into(),
    );
    let Json(page) =
        provisioning_log::list(State(state.clone()), signed.auth.clone(), query).await?;
    Ok(Some(page["items"].as_array().cloned().unwrap_or_default()))
}

/// A failed request's error, as a cell: `scimType: detail`.
fn error_text(entry: &Value) -> String {
    let detail = entry["detail"].as_str().unwrap_or("");
    match entry["scimType"].as_str() {
        Some(t) => format!("{t}: {detail}"),
        None => detail.to_string(),
    }
}

async fn idp_page(
    state: &AppState,
    signed: &Signed,
    headers: &HeaderMap,
    message: Option<Markup>,
) -> ConsoleResult<Html<String>> {
    signed.auth.require(&[Permission::ManageSettings])?;
    let tenant_id = &signed.auth.tenant_id;
    let base = state.edge.base(headers);
    let tokens: Vec<_> = store_credentials::list(&state.db, tenant_id)
        .await?
        .into_iter()
        .filter(|c| c.kind == store_credentials::Kind::Scim)
        .collect();
    let mut recent = Vec::new();
    for token in &tokens {
        let q = audit::Query {
            actor_user_id: None,
            actor_credential_id: Some(token.id.clone()),
            target_id: None,
            since_us: None,
            until_us: None,
            offset: 0,
            limit: RECENT,
        };
        recent.extend(audit::list(&state.db, tenant_id, &q).await?.0);
    }
    recent.sort_by_key(|r| std::cmp::Reverse(r.at_us));
    recent.truncate(RECENT as usize);
    let targets = user_names(
        state,
        tenant_id,
        recent.iter().map(|r| r.target_id.clone()).collect(),
    )
    .await?;
    let config = console_store::oidc_config(&state.db, tenant_id).await?;
    let failed = failed_requests(state, signed).await?;
    let body = html! {
        h1 { "Identity provider" }
        @if let Some(m) = message { (m) }
        section {
            h2 { "Provisioning (SCIM)" }
            div.field {
                label for="scim-url" { "SCIM base URL (paste into Okta or Entra)" }
                input #scim-url type="text" readonly value={ (base) "/scim/v2" } size="50";
            }
            p {
                (tokens.len()) " SCIM " (if tokens.len() == 1 { "token" } else { "tokens" }) ": "
                @for (i, t) in tokens.iter().enumerate() { @if i > 0 { ", " } (t.name) }
                ". Create and revoke them on " a href="/console/credentials" { "API credentials" } "."
            }
            h3 { "Last changes from the identity provider" }
            @if recent.is_empty() { p.hint { "None yet." } }
            @else {
                table.recent {
                    thead { tr { th scope="col" { "When" } th scope="col" { "Change" } th scope="col" { "User or group" } } }
                    tbody {
                        @for r in &recent {
                            tr {
                                td { (format_time(r.at_us)) }
                                td { (r.action) }
                                td { (targets.get(&r.target_id).cloned().unwrap_or_else(|| r.target_id.clone())) }
                            }
                        }
                    }
                }
            }
            h3 { "Last failed requests from the identity provider" }
            @match &failed {
                None => { p.why { "Seeing failed requests requires the ViewUsers permission." } }
                Some(entries) if entries.is_empty() => { p.hint { "None kept." } }
                Some(entries) => {
                    table.failed {
                        thead { tr { th scope="col" { "When" } th scope="col" { "Token" } th scope="col" { "Request" } th scope="col" { "Status" } th scope="col" { "User" } th scope="col" { "Error" } } }
                        tbody {
                            @for e in entries {
                                tr {
                                    td { (e["at"].as_str().unwrap_or("")) }
                                    td { (e["credentialName"].as_str().or(e["credential"].as_str()).unwrap_or("")) }
                                    td { code { (e["method"].as_str().unwrap_or("")) " " (e["path"].as_str().unwrap_or("")) } }
                                    td { (e["status"]) }
                                    td { (e["userName"].as_str().or(e["resourceId"].as_str()).unwrap_or("—")) }
                                    td { (error_text(e)) }
                                }
                            }
                        }
                    }
                }
            }
            @if failed.is_some() {
                p.hint { "Every request kept, with its body (secrets removed): " code { "GET /admin/v1/provisioning-log" } "." }
            }
        }
        section {
            h2 { "Console sign-in (OpenID Connect)" }
            p {
                "Register this redirect URI at your identity provider: "
                code { (base) (oidc::CALLBACK) }
            }
            form.oidc method="post" action="/console/identity-provider" {
                (csrf_field(signed))
                div.field {
                    label for="issuer" { "Issuer URL" }
                    input #issuer type="text" name="issuer" value=(config.as_ref().map(|c| c.issuer.as_str()).unwrap_or(""));
                }
                div.field {
                    label for="client-id" { "Client ID" }
                    input #client-id type="text" name="clientId" value=(config.as_ref().map(|c| c.client_id.as_str()).unwrap_or(""));
                }
                div.field {
                    label for="client-secret" { "Client secret" }
                    input #client-secret type="password" name="clientSecret" autocomplete="off"
                        placeholder=(if config.is_some() { "(set; leave empty to keep)" } else { "" });
                }
                button.primary type="submit" name="action" value="save" { "Save" }
                @if config.is_some() {
                    " " button.danger type="submit" name="action" value="off" { "Turn off" }
                }
            }
        }
    };
    Ok(layout(
        signed,
        "Identity provider",
        "Identity provider",
        body,
    ))
}

/// `GET /console/identity-provider`
pub async fn show_idp(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
) -> ConsoleResult<Html<String>> {
    idp_page(&state, &signed, &headers, None).await
}

/// `POST /console/identity-provider`: the console's OpenID Connect sign-in, set or off.
pub async fn save_idp(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    axum::Form(form): axum::Form<Form>,
) -> ConsoleResult<Response> {
    let outcome = if form_value(&form, "action") == Some("off") {
        oidc::delete(State(state.clone()), signed.auth.clone(), DryRun(false))
            .await
            .map(|_| "OpenID Connect sign-in is off.".to_string())
    } else {
        let mut body = json!({
            "issuer": form_value(&form, "issuer").unwrap_or("").trim(),
            "clientId": form_value(&form, "clientId").unwrap_or("").trim(),
        });
        if let Some(secret) = form_value(&form, "clientSecret").filter(|s| !s.is_empty()) {
            body["clientSecret"] = json!(secret);
        }
        oidc::put(
            State(state.clone()),
            signed.auth.clone(),
            DryRun(false),
            headers.clone(),
            AdminBody(body),
        )
        .await
        .map(|_| "Saved.".to_string())
    };
    let (status, message) = outcome_markup(outcome);
    Ok((
        status,
        idp_page(&state, &signed, &headers, Some(message)).await?,
    )
        .into_response())
}
