//! The Audit log: every change, newest first, filtered by the user changed, by who changed
//! it, and by time; each change shown field by field, before → after. The admin API's
//! audit listing does the work.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::response::Html;
use maud::html;
use serde::Deserialize;
use serde_json::Value;

use super::ConsoleResult;
use super::page::{self, layout};
use super::session::Signed;
use crate::app::AppState;
use crate::http::admin::audit as admin;
use crate::http::admin::error::Code;
use crate::http::extract::QueryMap;
use crate::store::users;

/// Entries per page.
const PAGE: u64 = 50;

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    user: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    page: Option<u64>,
}

fn shown(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `GET /console/audit?user=&actor=&since=&until=&page=` (usernames; RFC 3339 times).
pub async fn show(
    State(state): State<AppState>,
    signed: Signed,
    Query(q): Query<AuditQuery>,
) -> ConsoleResult<Html<String>> {
    let tenant_id = &signed.auth.tenant_id;
    let page_no = q.page.unwrap_or(1).max(1);
    let mut params = HashMap::from([
        ("count".to_string(), PAGE.to_string()),
        (
            "startIndex".to_string(),
            ((page_no - 1) * PAGE + 1).to_string(),
        ),
    ]);
    let mut problems = Vec::new();
    for (field, name, param) in [
        ("user", q.user.trim(), "target"),
        ("actor", q.actor.trim(), "actor"),
    ] {
        if name.is_empty() {
            continue;
        }
        match users::by_user_name(&state.db, tenant_id, name).await {
            Ok(u) => {
                params.insert(param.to_string(), u.id);
            }
            Err(crate::domain::Error::NotFound(_)) => {
                problems.push(format!("{field}: no user is named {name:?}"))
            }
            Err(e) => return Err(e.into()),
        }
    }
    for (name, value) in [("since", q.since.trim()), ("until", q.until.trim())] {
        if !value.is_empty() {
            params.insert(name.to_string(), value.to_string());
        }
    }
    let (items, total) = if problems.is_empty() {
        match admin::list(State(state.clone()), signed.auth.clone(), QueryMap(params)).await {
            Ok(Json(body)) => (
                body["items"].as_array().cloned().unwrap_or_default(),
                body["totalResults"].as_u64().unwrap_or(0),
            ),
            Err(e) if e.code == Code::InvalidValue => {
                problems.push(e.detail);
                (Vec::new(), 0)
            }
            Err(e) => return Err(e.into()),
        }
    } else {
        (Vec::new(), 0)
    };
    let ids: Vec<String> = items
        .iter()
        .flat_map(|i| [i["actor"]["userId"].as_str(), i["target"]["id"].as_str()])
        .flatten()
        .map(str::to_string)
        .collect();
    let names: HashMap<String, String> = users::many(&state.db, tenant_id, &ids)
        .await?
        .into_iter()
        .map(|u| (u.id.clone(), u.user_name().to_string()))
        .collect();
    let name_of =
        |id: Option<&str>| id.map(|i| names.get(i).cloned().unwrap_or_else(|| i.to_string()));
    let pages = total.div_ceil(PAGE).max(1);
    let link = |n: u64| {
        format!(
            "/console/audit?{}",
            serde_urlencoded::to_string([
                ("user", q.user.as_str()),
                ("actor", q.actor.as_str()),
                ("since", q.since.as_str()),
                ("until", q.until.as_str()),
                ("page", &n.to_string()),
            ])
            .unwrap_or_default()
        )
    };
    let body = html! {
        h1 { "Audit log" }
        form.filters method="get" action="/console/audit" {
            label for="a-user" { "User changed" }
            input #a-user type="text" name="user" value=(q.user) placeholder="username";
            label for="a-actor" { "Changed by" }
            input #a-actor type="text" name="actor" value=(q.actor) placeholder="username";
            label for="a-since" { "From" }
            input #a-since type="text" name="since" value=(q.since) placeholder="2026-12-01T00:00:00Z";
            label for="a-until" { "To" }
            input #a-until type="text" name="until" value=(q.until) placeholder="2026-12-31T23:59:59Z";
            button type="submit" { "Filter" }
        }
        @for p in &problems { (page::alert(p)) }
        p.count role="status" { (total) " changes" @if pages > 1 { " · page " (page_no) " of " (pages) } }
        table.audit {
            thead { tr { th scope="col" { "When" } th scope="col" { "Who" } th scope="col" { "Action" } th scope="col" { "What" } th scope="col" { "Before → after" } } }
            tbody {
                @for i in &items {
                    tr {
                        td { (i["at"].as_str().unwrap_or("")) }
                        td {
                            (i["actor"]["kind"].as_str().unwrap_or(""))
                            @if let Some(who) = name_of(i["actor"]["userId"].as_str()) { " · " (who) }
                        }
                        td { (i["action"].as_str().unwrap_or("")) }
                        td { (name_of(i["target"]["id"].as_str()).unwrap_or_default()) }
                        td {
                            ul.changes {
                                @for (field, change) in i["changes"].as_object().into_iter().flatten() {
                                    li { strong { (field) } ": " (shown(&change["before"])) " → " (shown(&change["after"])) }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if pages > 1 {
            nav.pages aria-label="Pages" {
                @if page_no > 1 { a href=(link(page_no - 1)) rel="prev" { "Previous" } }
                @if page_no < pages { a href=(link(page_no + 1)) rel="next" { "Next" } }
            }
        }
    };
    Ok(layout(&signed, "Audit log", "Audit log", body))
}
