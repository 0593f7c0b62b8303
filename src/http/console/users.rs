//! The Users screens: the list (search, Active/Archived filter, pages) and one user
//! (view, edit, archive, revert to active, delete). Every read and write is the admin API's
//! own handler run with the signed-in user's identity; which fields are editable, and why
//! not, comes from the admin view's `editable` map (the ownership registry).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::ConsoleResult;
use super::page::{self, csrf_field, layout};
use super::session::Signed;
use crate::app::AppState;
use crate::domain::catalog::{CatalogKind, Catalogs};
use crate::domain::validation::{LICENCE_TYPES, Surface, TELEPHONY_REGIONS};
use crate::http::admin::error::{AdminError, Code};
use crate::http::admin::{DryRun, bulk, users as admin};
use crate::http::extract::QueryMap;
use crate::store::catalog;
use crate::write;

/// Users per page of the list.
pub const PAGE: usize = 50;

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
    let answer = admin::list(State(state.clone()), signed.auth.clone(), QueryMap(params)).await;
    let (users, total, problem) = match answer {
        Ok(Json(body)) => (
            body["users"].as_array().cloned().unwrap_or_default(),
            body["totalResults"].as_u64().unwrap_or(0) as usize,
            None,
        ),
        Err(e) if e.code == Code::InvalidValue => (Vec::new(), 0, Some(e.detail)),
        Err(e) => return Err(e.into()),
    };
    let pages = total.div_ceil(PAGE).max(1);
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
            (total) " " (if total == 1 { "user" } else { "users" })
            @if pages > 1 { " · page " (page_no) " of " (pages) }
        }
        table.users {
            thead {
                tr {
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
        @if pages > 1 {
            nav.pages aria-label="Pages" {
                @if page_no > 1 { a href=(link(page_no - 1)) rel="prev" { "Previous" } }
                @if page_no < pages { a href=(link(page_no + 1)) rel="next" { "Next" } }
            }
        }
    };
    Ok(layout(&signed, "Users", "Users", body))
}

/// How a field of the user page is entered.
#[derive(Clone, Copy)]
enum Input {
    Text,
    Check,
    /// One of a list (a catalog's names, or fixed values); empty for none.
    Choose(Source),
    /// Any of a list, as checkboxes, with All and Clear.
    Several(Source),
    Skills,
    Capacity,
    /// A sub-attribute of `name`.
    Name(&'static str),
    /// The primary email's value.
    Email,
}

#[derive(Clone, Copy)]
enum Source {
    Catalog(CatalogKind),
    Fixed(&'static [&'static str]),
}

impl Source {
    fn options(self, catalogs: &Catalogs) -> Vec<String> {
        match self {
            Source::Catalog(kind) => catalogs.names(kind),
            Source::Fixed(values) => values.iter().map(|v| v.to_string()).collect(),
        }
    }
}

/// A field of the user page: its form name, its label, how it is entered. The form name
/// is the admin view's field (`name.givenName` for a part of `name`).
struct Field {
    key: &'static str,
    label: &'static str,
    input: Input,
}

impl Field {
    /// The admin view field whose `editable` verdict governs this one.
    fn view_key(&self) -> &'static str {
        match self.input {
            Input::Name(_) => "name",
            Input::Email => "emails",
            _ => self.key,
        }
    }
}

const fn field(key: &'static str, label: &'static str, input: Input) -> Field {
    Field { key, label, input }
}

/// The user page's sections, in the products' words. Only layout lives here: whether a
/// field is editable comes from the admin view.
const SECTIONS: &[(&str, &[Field])] = &[
    (
        "User details",
        &[
            field("userName", "Username", Input::Text),
            field("name.givenName", "First name", Input::Name("givenName")),
            field("name.familyName", "Last name", Input::Name("familyName")),
            field("displayName", "Display name", Input::Text),
            field("email", "Email", Input::Email),
        ],
    ),
    (
        "Licence status",
        &[field(
            "licenceType",
            "Licence type",
            Input::Choose(Source::Fixed(&LICENCE_TYPES)),
        )],
    ),
    (
        "Agent settings",
        &[
            field("agentId", "Agent ID", Input::Text),
            field(
                "telephonyRegion",
                "Telephony region",
                Input::Choose(Source::Fixed(&TELEPHONY_REGIONS)),
            ),
            field(
                "callbackNumbers",
                "Callback numbers",
                Input::Several(Source::Catalog(CatalogKind::CallbackNumber)),
            ),
            field("webRtcEnabled", "WebRTC", Input::Check),
            field(
                "webRtcFallbackNumber",
                "WebRTC fallback number",
                Input::Text,
            ),
            field(
                "enforcedDispositionCodes",
                "Enforced disposition codes",
                Input::Check,
            ),
            field(
                "callRecordingControl",
                "Call recording control",
                Input::Check,
            ),
            field("screenRecording", "Screen recording", Input::Check),
            field("allowActAsAgent", "Allow act as agent", Input::Check),
        ],
    ),
    (
        "Routing settings",
        &[
            field(
                "routingProfile",
                "Routing profile",
                Input::Choose(Source::Catalog(CatalogKind::RoutingProfile)),
            ),
            field("skills", "Skills", Input::Skills),
            field(
                "interactionCapacity",
                "Interaction capacity",
                Input::Capacity,
            ),
        ],
    ),
    (
        "Security profiles",
        &[field(
            "securityProfiles",
            "Security profiles",
            Input::Several(Source::Catalog(CatalogKind::SecurityProfile)),
        )],
    ),
    (
        "Agent hierarchy",
        &[field(
            "agentHierarchy",
            "Agent hierarchy",
            Input::Choose(Source::Catalog(CatalogKind::Hierarchy)),
        )],
    ),
    (
        "Personal phone number",
        &[field(
            "personalPhoneNumber",
            "Personal phone number",
            Input::Text,
        )],
    ),
    (
        "Media-less mode",
        &[field("mediaLessMode", "Media-less mode", Input::Check)],
    ),
];

fn fields() -> impl Iterator<Item = &'static Field> {
    SECTIONS.iter().flat_map(|(_, fields)| fields.iter())
}

/// The primary email's value (else the first).
fn primary_email(view: &Value) -> Option<&str> {
    let emails = view.get("emails")?.as_array()?;
    emails
        .iter()
        .find(|e| e["primary"] == Value::Bool(true))
        .or_else(|| emails.first())
        .and_then(|e| e.get("value"))
        .and_then(Value::as_str)
}

/// A field's current value in a view, as the form holds it.
fn value_of(view: &Value, f: &Field) -> Value {
    match f.input {
        Input::Name(part) => view
            .get("name")
            .and_then(|n| n.get(part))
            .cloned()
            .unwrap_or(Value::Null),
        Input::Email => primary_email(view).map_or(Value::Null, |e| json!(e)),
        Input::Check => json!(view.get(f.key).and_then(Value::as_bool).unwrap_or(false)),
        Input::Several(_) | Input::Skills => view
            .get(f.key)
            .cloned()
            .filter(|v| !v.is_null())
            .unwrap_or(json!([])),
        Input::Capacity => view
            .get(f.key)
            .cloned()
            .filter(|v| !v.is_null())
            .unwrap_or(json!({"mode": "default"})),
        Input::Text | Input::Choose(_) => view.get(f.key).cloned().unwrap_or(Value::Null),
    }
}

/// Whether this caller may edit the field, and why not (from the admin view).
fn verdict<'a>(view: &'a Value, f: &Field) -> Result<(), &'a str> {
    let entry = &view["editable"][f.view_key()];
    if entry["editable"].as_bool().unwrap_or(false) {
        Ok(())
    } else {
        Err(entry["reason"].as_str().unwrap_or("not editable here"))
    }
}

/// The words shown for a field that is not editable.
fn why_read_only(reason: &str) -> String {
    if reason.starts_with("owned by the identity provider") {
        "Managed by your identity provider".to_string()
    } else {
        let mut s = reason.to_string();
        if let Some(first) = s.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        s
    }
}

/// The submitted form, as (name, value) pairs in order.
type Form = Vec<(String, String)>;

fn form_values<'a>(form: &'a Form, name: &str) -> impl Iterator<Item = &'a str> {
    form.iter()
        .filter(move |(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn form_value<'a>(form: &'a Form, name: &str) -> Option<&'a str> {
    form_values(form, name).next()
}

/// What the form says of a field (only fields the form showed as editable are read).
fn submitted(form: &Form, f: &Field, catalogs: &Catalogs) -> Value {
    let trimmed = |name: &str| {
        form_value(form, name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map_or(Value::Null, |v| json!(v))
    };
    match f.input {
        Input::Text | Input::Choose(_) | Input::Name(_) | Input::Email => trimmed(f.key),
        Input::Check => json!(form_value(form, f.key).is_some()),
        Input::Several(_) => json!(form_values(form, f.key).collect::<Vec<_>>()),
        Input::Skills => json!(
            catalogs
                .names(CatalogKind::Skill)
                .iter()
                .filter_map(|name| {
                    let level = form_value(form, &format!("skill:{name}"))?.trim();
                    if level.is_empty() {
                        return None;
                    }
                    Some(match level.parse::<i64>() {
                        Ok(n) => json!({"name": name, "level": n}),
                        Err(_) => json!({"name": name, "level": level}),
                    })
                })
                .collect::<Vec<_>>()
        ),
        Input::Capacity => {
            if form_value(form, "capacity.mode") == Some("custom") {
                let mut out = Map::from_iter([("mode".to_string(), json!("custom"))]);
                for kind in crate::domain::validation::INTERACTION_TYPES {
                    let raw = form_value(form, &format!("capacity.{kind}"))
                        .unwrap_or("")
                        .trim();
                    if !raw.is_empty() {
                        out.insert(
                            kind.to_string(),
                            raw.parse::<i64>().map_or(json!(raw), |n| json!(n)),
                        );
                    }
                }
                Value::Object(out)
            } else {
                json!({"mode": "default"})
            }
        }
    }
}

/// The merge patch of the admin view that the form asks for: only the fields it changes.
/// Also answers the view with the submitted values in place, to show the form again.
fn patch_of(view: &Value, form: &Form, catalogs: &Catalogs) -> (Value, Value) {
    let mut patch = Map::new();
    let mut shown = view.clone();
    for f in fields().filter(|f| verdict(view, f).is_ok()) {
        let now = value_of(view, f);
        let wanted = submitted(form, f, catalogs);
        if wanted == now {
            continue;
        }
        match f.input {
            Input::Name(part) => {
                let name = patch.entry("name").or_insert_with(|| json!({}));
                name[part] = wanted.clone();
                shown["name"][part] = wanted;
            }
            Input::Email => {
                // The primary email's value changes; other addresses stay.
                let mut emails: Vec<Value> = view
                    .get("emails")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let at = emails
                    .iter()
                    .position(|e| e["primary"] == Value::Bool(true))
                    .or(if emails.is_empty() { None } else { Some(0) });
                match (&wanted, at) {
                    (Value::Null, Some(i)) => {
                        emails.remove(i);
                    }
                    (Value::Null, None) => {}
                    (v, Some(i)) => emails[i]["value"] = v.clone(),
                    (v, None) => emails.push(json!({"value": v, "type": "work", "primary": true})),
                }
                let emails = if emails.is_empty() {
                    Value::Null
                } else {
                    json!(emails)
                };
                patch.insert("emails".into(), emails.clone());
                shown["emails"] = emails;
            }
            _ => {
                patch.insert(f.key.into(), wanted.clone());
                shown[f.key] = wanted;
            }
        }
    }
    (Value::Object(patch), shown)
}

/// An error of the form, placed at its field when it names one the page shows.
struct Problem {
    field: Option<&'static str>,
    message: String,
}

fn place(errors: &[AdminError]) -> Vec<Problem> {
    errors
        .iter()
        .map(|e| {
            let named = e
                .fields
                .as_ref()
                .and_then(|f| f.first())
                .map(|f| f.rsplit(':').next().unwrap_or(f).to_string());
            let field = named.and_then(|n| {
                fields()
                    .find(|f| f.key.eq_ignore_ascii_case(&n) || f.view_key() == n)
                    .or_else(|| {
                        let top = n.split('.').next().unwrap_or(&n);
                        fields().find(|f| f.key.eq_ignore_ascii_case(top))
                    })
                    .map(|f| f.key)
            });
            Problem {
                field,
                message: e.detail.clone(),
            }
        })
        .collect()
}

/// Id of the element showing a field's error.
fn error_id(key: &str) -> String {
    format!("error-{}", key.replace('.', "-"))
}

fn input_id(key: &str) -> String {
    format!("f-{}", key.replace('.', "-"))
}

/// The bar with Save and the number of errors; Save is disabled while there are some.
fn save_bar(problems: &[Problem], oob: bool) -> Markup {
    let count = problems.len();
    html! {
        div #save-bar.save-bar hx-swap-oob=[oob.then_some("true")] {
            button.primary #save type="submit" disabled[count > 0] { "Save" }
            @if count > 0 {
                span.error-count role="alert" {
                    (count) " " (if count == 1 { "error" } else { "errors" }) " to fix before saving"
                }
                @for p in problems.iter().filter(|p| p.field.is_none()) {
                    span.error { (p.message) }
                }
            }
        }
    }
}

fn field_error(key: &str, problems: &[Problem], oob: bool) -> Markup {
    let messages: Vec<&str> = problems
        .iter()
        .filter(|p| p.field == Some(key))
        .map(|p| p.message.as_str())
        .collect();
    html! {
        span.field-error id=(error_id(key)) hx-swap-oob=[oob.then_some("true")] {
            @for m in &messages { (m) " " }
        }
    }
}

fn render_input(f: &Field, value: &Value, catalogs: &Catalogs) -> Markup {
    let id = input_id(f.key);
    let described = error_id(f.key);
    match f.input {
        Input::Text | Input::Name(_) | Input::Email => html! {
            input id=(id) type=(if matches!(f.input, Input::Email) { "email" } else { "text" })
                name=(f.key) value=(value.as_str().unwrap_or("")) aria-describedby=(described);
        },
        Input::Check => html! {
            input id=(id) type="checkbox" name=(f.key) checked[value.as_bool().unwrap_or(false)]
                aria-describedby=(described);
        },
        Input::Choose(source) => {
            let current = value.as_str().unwrap_or("");
            let mut options = source.options(catalogs);
            if !current.is_empty() && !options.iter().any(|o| o == current) {
                options.push(current.to_string());
            }
            html! {
                select id=(id) name=(f.key) aria-describedby=(described) {
                    option value="" selected[current.is_empty()] { "(none)" }
                    @for o in &options { option value=(o) selected[o == current] { (o) } }
                }
            }
        }
        Input::Several(source) => {
            let chosen: Vec<&str> = value
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let options = source.options(catalogs);
            html! {
                div.choices role="group" aria-labelledby={ (id) "-label" } id=(id) {
                    @if options.is_empty() { span.hint { "The catalog is empty." } }
                    @for (i, o) in options.iter().enumerate() {
                        @let oid = format!("{id}-{i}");
                        span.choice {
                            input id=(oid) type="checkbox" name=(f.key) value=(o)
                                checked[chosen.contains(&o.as_str())];
                            label for=(oid) { (o) }
                        }
                    }
                    @if options.len() > 1 {
                        span.all-clear {
                            button type="button" data-check-all=(id) { "All" }
                            button type="button" data-check-none=(id) { "Clear" }
                        }
                    }
                }
            }
        }
        Input::Skills => {
            let levels: HashMap<&str, String> = value
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|s| (text(s, "name"), s["level"].to_string()))
                        .collect()
                })
                .unwrap_or_default();
            let skills = catalogs.names(CatalogKind::Skill);
            html! {
                table.skills id=(id) {
                    thead { tr { th scope="col" { "Skill" } th scope="col" { "Level (1–10)" } } }
                    tbody {
                        @for (i, name) in skills.iter().enumerate() {
                            @let sid = format!("{id}-{i}");
                            @let level = levels.get(name.as_str()).cloned().unwrap_or_default();
                            tr {
                                td { label for=(sid) { (name) } }
                                td {
                                    select id=(sid) name={ "skill:" (name) } {
                                        option value="" selected[level.is_empty()] { "—" }
                                        @for n in 1..=10 {
                                            option value=(n) selected[level == n.to_string()] { (n) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if skills.is_empty() { span.hint { "The skills catalog is empty." } }
            }
        }
        Input::Capacity => {
            let custom = value["mode"] == "custom";
            html! {
                div.capacity role="group" id=(id) {
                    span.choice {
                        input #capacity-default type="radio" name="capacity.mode" value="default" checked[!custom];
                        label for="capacity-default" { "Default" }
                    }
                    span.choice {
                        input #capacity-custom type="radio" name="capacity.mode" value="custom" checked[custom];
                        label for="capacity-custom" { "Custom" }
                    }
                    @for kind in crate::domain::validation::INTERACTION_TYPES {
                        @let cid = format!("capacity-{kind}");
                        span.percent {
                            label for=(cid) { (kind) " %" }
                            input id=(cid) type="number" min="0" max="100" name={ "capacity." (kind) }
                                value=(match &value[kind] { Value::Null => String::new(), Value::String(s) => s.clone(), v => v.to_string() });
                        }
                    }
                }
            }
        }
    }
}

fn read_only_value(f: &Field, value: &Value) -> String {
    match (f.input, value) {
        (_, Value::Null) => "—".into(),
        (Input::Check, Value::Bool(b)) => if *b { "On" } else { "Off" }.into(),
        (Input::Skills, Value::Array(a)) if a.is_empty() => "—".into(),
        (Input::Skills, Value::Array(a)) => a
            .iter()
            .map(|s| format!("{} ({})", text(s, "name"), s["level"]))
            .collect::<Vec<_>>()
            .join(", "),
        (Input::Several(_), Value::Array(a)) if a.is_empty() => "—".into(),
        (Input::Several(_), Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        (Input::Capacity, v) if v["mode"] == "custom" => {
            let parts: Vec<String> = crate::domain::validation::INTERACTION_TYPES
                .iter()
                .filter(|k| !v[**k].is_null())
                .map(|k| format!("{k} {}%", v[*k]))
                .collect();
            format!("Custom: {}", parts.join(", "))
        }
        (Input::Capacity, _) => "Default".into(),
        (_, Value::String(s)) => s.clone(),
        (_, v) => v.to_string(),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Form {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn editable_view(extra: Value) -> Value {
        let mut editable = Map::new();
        for f in fields() {
            editable.insert(f.view_key().into(), json!({"editable": true}));
        }
        let mut view =
            json!({"id": "u1", "userName": "ann", "version": "W/\"1\"", "editable": editable});
        for (k, v) in extra.as_object().unwrap() {
            view[k] = v.clone();
        }
        view
    }

    #[test]
    fn an_unchanged_form_patches_nothing() {
        let view = editable_view(json!({"displayName": "Ann", "webRtcEnabled": false}));
        let (patch, _) = patch_of(
            &view,
            &form(&[
                ("userName", "ann"),
                ("displayName", "Ann"),
                ("capacity.mode", "default"),
            ]),
            &Catalogs::default(),
        );
        assert_eq!(patch, json!({}));
    }

    #[test]
    fn a_changed_field_and_an_unticked_box_are_patched() {
        let view = editable_view(json!({"displayName": "Ann", "screenRecording": true}));
        let (patch, _) = patch_of(
            &view,
            &form(&[
                ("userName", "ann"),
                ("displayName", "Ann B"),
                ("capacity.mode", "default"),
            ]),
            &Catalogs::default(),
        );
        assert_eq!(
            patch,
            json!({"displayName": "Ann B", "screenRecording": false})
        );
    }

    #[test]
    fn fields_the_view_marks_read_only_are_never_patched() {
        let mut view = editable_view(json!({"displayName": "Ann"}));
        view["editable"]["displayName"] = json!({"editable": false, "reason": "owned by the identity provider (SSO); change it there"});
        let (patch, _) = patch_of(
            &view,
            &form(&[
                ("userName", "ann"),
                ("displayName", "Mallory"),
                ("capacity.mode", "default"),
            ]),
            &Catalogs::default(),
        );
        assert_eq!(patch, json!({}));
    }

    #[test]
    fn the_primary_email_is_replaced_and_others_kept() {
        let view = editable_view(json!({"emails": [
            {"value": "old@x.test", "primary": true, "type": "work"},
            {"value": "home@x.test", "type": "home"}
        ]}));
        let (patch, _) = patch_of(
            &view,
            &form(&[
                ("userName", "ann"),
                ("email", "new@x.test"),
                ("capacity.mode", "default"),
            ]),
            &Catalogs::default(),
        );
        assert_eq!(
            patch["emails"],
            json!([{"value": "new@x.test", "primary": true, "type": "work"}, {"value": "home@x.test", "type": "home"}])
        );
    }
}
