//! Reading an upload's rows into planned users, with every error of every row: cells,
//! permissions, validation, and uniqueness between the rows and against stored users.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Map, Value, json};

use super::cells::{Column, column_of, parse_cell};
use crate::app::AppState;
use crate::domain::Error;
use crate::domain::audit::diff;
use crate::domain::ownership::{CONTACT_CENTRE, Permission};
use crate::domain::user::{Document, User, fold_key};
use crate::domain::validation::Surface;
use crate::http::admin::auth::AdminAuth;
use crate::http::admin::error::AdminResult;
use crate::http::admin::table::Table;
use crate::http::admin::view::editability;
use crate::scim::schema::Attribute;
use crate::store::users::{self as store_users, Unique};
use crate::write::users::{self as directory, Plan, TenantContext};

/// One error of one row.
pub(super) fn row_error(
    row: usize,
    column: Option<&str>,
    value: Option<&str>,
    message: impl Into<String>,
) -> Value {
    json!({"row": row, "column": column, "value": value, "message": message.into()})
}

/// The unique values of a planned user: (field, column, value as compared).
fn unique_values(doc: &Map<String, Value>) -> Vec<(Unique, &'static str, String)> {
    let mut out = Vec::new();
    if let Some(name) = doc.get("userName").and_then(Value::as_str) {
        out.push((Unique::UserName, "userName", fold_key(name)));
    }
    let email = doc
        .get("emails")
        .and_then(Value::as_array)
        .and_then(|emails| {
            emails
                .iter()
                .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true))
                .or_else(|| emails.first())
        })
        .and_then(|e| e.get("value"))
        .and_then(Value::as_str);
    if let Some(email) = email {
        out.push((Unique::PrimaryEmail, "email", fold_key(email)));
    }
    for (field, column, value) in [
        (Unique::AgentId, "agentId", doc.agent_id()),
        (
            Unique::PersonalPhone,
            "personalPhoneNumber",
            doc.personal_phone(),
        ),
        (
            Unique::WebRtcFallback,
            "webRtcFallbackNumber",
            doc.webrtc_fallback(),
        ),
    ] {
        if let Some(v) = value {
            out.push((field, column, v.to_string()));
        }
    }
    out
}

/// A row read into a document: the user it changes (None: a new user), its planned
/// document, and whether it passed its own checks.
pub(super) struct Planned {
    row: usize,
    current: Option<User>,
    doc: Map<String, Value>,
    /// The row passed its own checks (uniqueness is checked for every row regardless).
    ok: bool,
}

/// What reading the rows needs.
pub(super) struct Context<'a> {
    pub auth: &'a AdminAuth,
    pub tenant: &'a TenantContext,
    /// The provisioning template's values, for new users.
    pub template: &'a Map<String, Value>,
    pub columns: &'a [Column<'a>],
    /// The column names, canonical.
    pub headers: &'a [String],
    pub email_at: usize,
    pub profiles_attr: &'a Attribute,
    /// The users the file names, by folded primary email.
    pub by_email: &'a HashMap<String, Vec<User>>,
}

/// The stored users an upload's emails name, by folded primary email.
pub(super) async fn by_email(
    state: &AppState,
    auth: &AdminAuth,
    upload: &Table,
    email_at: usize,
) -> AdminResult<HashMap<String, Vec<User>>> {
    // The users the file names, by exact primary email.
    let emails: Vec<String> = upload
        .rows
        .iter()
        .filter_map(|r| r.cells.get(email_at))
        .filter(|e| !e.is_empty())
        .map(|e| fold_key(e))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let holders =
        store_users::holders(&state.db, &auth.tenant_id, Unique::PrimaryEmail, &emails).await?;
    let ids: Vec<String> = holders.iter().map(|(_, id)| id.clone()).collect();
    let mut by_email: HashMap<String, Vec<User>> = HashMap::new();
    for user in store_users::many(&state.db, &auth.tenant_id, &ids).await? {
        if let Some(email) = user.primary_email() {
            by_email
                .entry(fold_key(email))
                .or_default()
                .push(user.clone());
        }
    }
    Ok(by_email)
}

/// Reads every row into a planned user, collecting every error of every row and the
/// permissions the file needs (creating users).
pub(super) fn read_rows(
    cx: &Context<'_>,
    upload: &Table,
) -> (Vec<Planned>, Vec<Value>, BTreeSet<Permission>) {
    let Context {
        auth,
        tenant: ctx,
        template,
        columns,
        headers,
        email_at,
        profiles_attr,
        by_email,
    } = *cx;
    let mut errors = Vec::new();
    let mut planned: Vec<Planned> = Vec::new();
    let mut seen_emails: HashMap<String, usize> = HashMap::new();
    let mut needs: BTreeSet<Permission> = BTreeSet::new();
    for record in &upload.rows {
        let row = record.line;
        let cell = |i: usize| record.cells.get(i).map(String::as_str).unwrap_or_default();
        let too_long = record.cells.len() > columns.len();
        if too_long {
            errors.push(row_error(
                row,
                None,
                None,
                format!(
                    "the row has {} cells; the header has {} columns",
                    record.cells.len(),
                    columns.len()
                ),
            ));
        }
        let email = cell(email_at).to_string();
        if email.is_empty() {
            errors.push(row_error(row, Some("email"), None, "the email is empty"));
            continue;
        }
        if let Some(first) = seen_emails.get(&fold_key(&email)) {
            errors.push(row_error(
                row,
                Some("email"),
                Some(&email),
                format!("{email} is also on row {first}"),
            ));
            continue;
        }
        seen_emails.insert(fold_key(&email), row);
        let candidates = by_email
            .get(&fold_key(&email))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let exact: Vec<&User> = candidates
            .iter()
            .filter(|u| u.primary_email() == Some(email.as_str()))
            .collect();
        let current = match (exact.as_slice(), candidates) {
            ([user], _) => Some((*user).clone()),
            ([], [other, ..]) => {
                errors.push(row_error(
                    row,
                    Some("email"),
                    Some(&email),
                    format!(
                        "{email} matches no user exactly; {} differs only in letter case",
                        other.primary_email().unwrap_or_default()
                    ),
                ));
                continue;
            }
            ([], []) if ctx.settings.idp_managed => {
                errors.push(row_error(
                    row,
                    Some("email"),
                    Some(&email),
                    format!("no user has the email {email}, and this tenant's users come from its identity provider: an upload only updates them"),
                ));
                continue;
            }
            ([], []) => None,
            (many, _) => {
                errors.push(row_error(
                    row,
                    Some("email"),
                    Some(&email),
                    format!("{email} matches {} users", many.len()),
                ));
                continue;
            }
        };
        let mut doc = match &current {
            Some(user) => user.attributes.clone(),
            None => {
                needs.insert(Permission::CreateUser);
                needs.insert(Permission::EditUser);
                let mut doc = Map::new();
                doc.insert("userName".into(), Value::String(email.clone()));
                doc.insert(
                    "emails".into(),
                    json!([{"value": email, "type": "work", "primary": true}]),
                );
                doc.insert(CONTACT_CENTRE.into(), Value::Object(template.clone()));
                doc
            }
        };
        let mut row_ok = !too_long;
        for (i, column) in columns.iter().enumerate() {
            let text = cell(i);
            if text.is_empty() || matches!(column, Column::Email) {
                continue;
            }
            let value = match column {
                Column::Cc(attr) => match parse_cell(attr, text) {
                    Ok(v) => v,
                    Err(message) => {
                        errors.push(row_error(row, Some(&headers[i]), Some(text), message));
                        row_ok = false;
                        continue;
                    }
                },
                _ => Value::String(text.to_string()),
            };
            if column.current(&doc) == Some(&value) {
                continue;
            }
            if let Err(reason) = editability(&column.key(), current.as_ref(), &auth.actor) {
                errors.push(row_error(
                    row,
                    Some(&headers[i]),
                    Some(text),
                    format!("you may not change {}: {reason}", headers[i]),
                ));
                row_ok = false;
                continue;
            }
            column.set(&mut doc, value);
        }
        // A new user given no security profile gets the least-privileged one, as on every
        // other surface.
        if current.is_none()
            && !doc.has_security_profiles()
            && let Some(profile) = ctx.catalogs.least_privileged_profile()
        {
            Column::Cc(profiles_attr).set(&mut doc, json!([profile]));
        }
        if current.is_none()
            && !doc.contains_key("displayName")
            && let Some(name) = doc.get("name")
        {
            let parts: Vec<&str> = ["givenName", "familyName"]
                .iter()
                .filter_map(|p| name.get(p).and_then(Value::as_str))
                .collect();
            if !parts.is_empty() {
                doc.insert("displayName".into(), Value::String(parts.join(" ")));
            }
        }
        doc.retain(|k, v| !(k.starts_with("urn:") && v.as_object().is_some_and(Map::is_empty)));
        for e in directory::validate_all(
            &mut doc,
            current.as_ref().map(|u| &u.attributes),
            ctx,
            Surface::Local,
        ) {
            let field = match &e {
                Error::InvalidValue { field, .. } => field.clone(),
                Error::Uniqueness { field, .. } => Some(field.clone()),
                _ => None,
            };
            let column = field.and_then(|f| column_of(&f, headers));
            let value = column
                .as_ref()
                .and_then(|c| headers.iter().position(|h| h == c))
                .map(cell);
            errors.push(row_error(row, column.as_deref(), value, e.to_string()));
            row_ok = false;
        }
        planned.push(Planned {
            row,
            current,
            doc,
            ok: row_ok,
        });
    }
    (planned, errors, needs)
}

/// Uniqueness between the rows of the file, then against stored users: every clash is an
/// error of its row; answers the rows that clash.
pub(super) async fn unique_rows(
    state: &AppState,
    auth: &AdminAuth,
    planned: &[Planned],
    errors: &mut Vec<Value>,
) -> AdminResult<BTreeSet<usize>> {
    // Uniqueness between the rows of the file, then against stored users.
    let mut taken: HashMap<(Unique, String), usize> = HashMap::new();
    let mut failed_rows = BTreeSet::new();
    let mut wanted: HashMap<Unique, Vec<String>> = HashMap::new();
    for p in planned {
        for (field, column, value) in unique_values(&p.doc) {
            if let Some(first) = taken.get(&(field, value.clone())) {
                let shown = column_value(&p.doc, column);
                errors.push(row_error(
                    p.row,
                    Some(column),
                    shown.as_deref(),
                    format!(
                        "{column} {:?} is also on row {first}",
                        shown.clone().unwrap_or(value.clone())
                    ),
                ));
                failed_rows.insert(p.row);
            } else {
                taken.insert((field, value.clone()), p.row);
                wanted.entry(field).or_default().push(value);
            }
        }
    }
    for (field, values) in &wanted {
        for (value, holder) in
            store_users::holders(&state.db, &auth.tenant_id, *field, values).await?
        {
            let Some(row) = taken.get(&(*field, value.clone())) else {
                continue;
            };
            let Some(p) = planned.iter().find(|p| p.row == *row) else {
                continue;
            };
            if p.current.as_ref().is_some_and(|u| u.id == holder) {
                continue;
            }
            let column = unique_values(&p.doc)
                .into_iter()
                .find(|(f, _, _)| f == field)
                .map_or("", |(_, c, _)| c);
            let shown = column_value(&p.doc, column);
            errors.push(row_error(
                p.row,
                Some(column),
                shown.as_deref(),
                format!(
                    "{column} {:?} is already in use by another user",
                    shown.clone().unwrap_or(value.clone())
                ),
            ));
            failed_rows.insert(p.row);
        }
    }
    Ok(failed_rows)
}

/// The report rows and the plans of the rows without errors.
pub(super) fn report(
    planned: Vec<Planned>,
    failed_rows: &BTreeSet<usize>,
) -> (Vec<Value>, Vec<Plan>) {
    let mut rows = Vec::new();
    let mut plans = Vec::new();
    for p in planned
        .into_iter()
        .filter(|p| p.ok && !failed_rows.contains(&p.row))
    {
        let changes = diff(p.current.as_ref().map(|u| &u.attributes), Some(&p.doc));
        let action = match &p.current {
            None => "create",
            Some(_) if changes.is_empty() => "unchanged",
            Some(_) => "update",
        };
        let email = p
            .current
            .as_ref()
            .and_then(User::primary_email)
            .map(str::to_string)
            .or_else(|| column_value(&p.doc, "email"));
        rows.push(json!({"row": p.row, "email": email, "action": action, "changes": changes}));
        match p.current {
            None => plans.push(Plan::Create(p.doc)),
            Some(user) if !changes.is_empty() => plans.push(Plan::Update {
                current: user,
                attributes: p.doc,
            }),
            Some(_) => {}
        }
    }
    (rows, plans)
}

/// A unique value of a planned document as the admin wrote it.
fn column_value(doc: &Map<String, Value>, column: &str) -> Option<String> {
    match column {
        "userName" => doc
            .get("userName")
            .and_then(Value::as_str)
            .map(str::to_string),
        "email" => doc
            .get("emails")
            .and_then(|e| e.get(0))
            .and_then(|e| e.get("value"))
            .and_then(Value::as_str)
            .map(str::to_string),
        other => doc.cc_str(other).map(str::to_string),
    }
}
