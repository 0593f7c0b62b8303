//! The upload wizard and the export (`/admin/v1/users/import…`, `/users/export.*`): a
//! template to fill in (CSV or .xlsx), an upload that is validated — every error of every
//! row — then applied all or nothing, and an export of current users in the same columns
//! so an admin can edit and re-upload.
//!
//! Rows are matched to users by email, exactly (the SSO email, case-sensitive). A row whose
//! email matches no user creates one where the tenant allows local creation. A cell equal to
//! the stored value is no change (so an exported file re-uploads cleanly, also with the
//! columns the identity provider owns); an empty cell leaves the value unchanged.
//!
//! Cells: booleans are `true`/`false`; lists (`securityProfiles`, `callbackNumbers`) are
//! separated by `;`; `skills` are `Name:level;Name:level`; `interactionCapacity` is
//! `default` or `custom voice=100 chat=50 email=0 task=0`.

use std::collections::{BTreeSet, HashMap};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::auth::AdminAuth;
use super::error::{AdminError, AdminResult, Code};
use super::table::{self, Table};
use super::view::{editability, with_view_defaults};
use crate::app::AppState;
use crate::domain::Error;
use crate::domain::audit::diff;
use crate::domain::filter::search_words;
use crate::domain::ownership::{AdminEdit, CONTACT_CENTRE, Permission, REGISTRY};
use crate::domain::user::{Document, User, View, fold_key};
use crate::domain::validation::Surface;
use crate::http::extract::{QueryMap, RawBody};
use crate::scim::ScimError;
use crate::scim::filter::{self as scim_filter, Resource};
use crate::scim::list::ListParams;
use crate::scim::schema::{AttrType, Attribute, ResourceSchema};
use crate::store::users::{self as store_users, Unique};
use crate::write::users::{self as directory, Plan, TenantContext};

/// The most rows one upload takes, and one export gives.
pub const MAX_ROWS: usize = 50_000;

/// The largest upload: 16 MiB, room for [`MAX_ROWS`] rows of CSV (the request body limit of
/// every other endpoint is 1 MiB).
pub const MAX_UPLOAD: usize = 16 * 1024 * 1024;

/// The columns before the contact-centre fields: who the user is.
const CORE: [&str; 5] = [
    "email",
    "userName",
    "givenName",
    "familyName",
    "displayName",
];

/// Every column of the template, the upload and the export: the core columns, then every
/// contact-centre attribute the registry lets the local surfaces edit (security profiles
/// and the locally-owned ones).
pub fn columns() -> Vec<&'static str> {
    CORE.iter()
        .copied()
        .chain(
            REGISTRY
                .iter()
                .filter(|o| matches!(o.admin, AdminEdit::Always(_) | AdminEdit::LocalUsersOnly(_)))
                .filter_map(|o| {
                    o.attr
                        .strip_prefix(CONTACT_CENTRE)
                        .and_then(|n| n.strip_prefix(':'))
                }),
        )
        .collect()
}

/// A file format of the template and the export.
#[derive(Debug, Clone, Copy)]
pub enum Format {
    Csv,
    Xlsx,
}

fn file(
    format: Format,
    name: &str,
    headers: &[&str],
    rows: &[Vec<String>],
) -> AdminResult<Response> {
    let (bytes, content_type, extension) = match format {
        Format::Csv => (
            table::write_csv(headers, rows),
            "text/csv; charset=utf-8",
            "csv",
        ),
        Format::Xlsx => (
            table::write_xlsx(headers, rows, "Users")
                .map_err(|e| AdminError::new(Code::Internal, e.to_string()))?,
            table::XLSX_TYPE,
            "xlsx",
        ),
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.{extension}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// `GET /admin/v1/users/import-template.csv|.xlsx`: the header row to fill in.
pub async fn template(auth: AdminAuth, format: Format) -> AdminResult<Response> {
    auth.require(&[Permission::ViewUsers])?;
    file(format, "users-template", &columns(), &[])
}

fn parse_bool(text: &str) -> Result<Value, String> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Ok(Value::Bool(true)),
        "false" | "no" | "0" => Ok(Value::Bool(false)),
        _ => Err(format!("{text:?} is not true or false")),
    }
}

/// Parses one cell for its contact-centre attribute.
fn parse_cell(attr: &Attribute, text: &str) -> Result<Value, String> {
    match (attr.name.as_str(), attr.kind, attr.multi_valued) {
        ("skills", _, _) => text
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                let (name, level) = s
                    .rsplit_once(':')
                    .ok_or_else(|| format!("{s:?} is not Name:level"))?;
                let level: i64 = level
                    .trim()
                    .parse()
                    .map_err(|_| format!("{s:?}: the level must be a number from 1 to 10"))?;
                Ok(json!({"name": name.trim(), "level": level}))
            })
            .collect::<Result<Vec<_>, String>>()
            .map(Value::Array),
        ("interactionCapacity", _, _) => {
            let mut words = text.split_whitespace();
            match words.next() {
                Some("default") if words.next().is_none() => Ok(json!({"mode": "default"})),
                Some("custom") => {
                    let mut out = json!({"mode": "custom"});
                    for word in words {
                        let (kind, pct) = word
                            .split_once('=')
                            .ok_or_else(|| format!("{word:?} is not type=percentage"))?;
                        let pct: i64 = pct
                            .parse()
                            .map_err(|_| format!("{word:?}: the percentage must be a number"))?;
                        out[kind] = json!(pct);
                    }
                    Ok(out)
                }
                _ => Err("must be 'default' or 'custom voice=… chat=…'".into()),
            }
        }
        (_, AttrType::Boolean, _) => parse_bool(text),
        (_, _, true) => Ok(Value::Array(
            text.split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_string()))
                .collect(),
        )),
        _ => Ok(Value::String(text.to_string())),
    }
}

/// Writes a stored value as a cell, the inverse of [`parse_cell`].
fn format_cell(name: &str, value: &Value) -> String {
    match (name, value) {
        ("skills", Value::Array(skills)) => skills
            .iter()
            .map(|s| {
                format!(
                    "{}:{}",
                    s.get("name").and_then(Value::as_str).unwrap_or_default(),
                    s.get("level").map(Value::to_string).unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join(";"),
        ("interactionCapacity", Value::Object(fields)) => {
            let mode = fields
                .get("mode")
                .and_then(Value::as_str)
                .unwrap_or("default");
            let mut out = vec![mode.to_string()];
            for (k, v) in fields.iter().filter(|(k, _)| *k != "mode") {
                out.push(format!("{k}={v}"));
            }
            out.join(" ")
        }
        (_, Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join(";"),
        (_, Value::String(s)) => s.clone(),
        (_, Value::Null) => String::new(),
        (_, other) => other.to_string(),
    }
}

/// A column of an upload.
enum Column<'a> {
    Email,
    UserName,
    /// `name.givenName` / `name.familyName`.
    Name(&'static str),
    DisplayName,
    Cc(&'a Attribute),
}

impl Column<'_> {
    /// The registry key whose editability decides whether the cell may change the user.
    fn key(&self) -> String {
        match self {
            Column::Email => "emails".into(),
            Column::UserName => "userName".into(),
            Column::Name(_) => "name".into(),
            Column::DisplayName => "displayName".into(),
            Column::Cc(attr) => format!("{CONTACT_CENTRE}:{}", attr.name),
        }
    }

    /// The stored value the cell would replace.
    fn current<'d>(&self, doc: &'d Map<String, Value>) -> Option<&'d Value> {
        match self {
            Column::Email => None,
            Column::UserName => doc.get("userName"),
            Column::Name(part) => doc.get("name").and_then(|n| n.get(*part)),
            Column::DisplayName => doc.get("displayName"),
            Column::Cc(attr) => doc.contact_centre().and_then(|cc| cc.get(&attr.name)),
        }
    }

    fn set(&self, doc: &mut Map<String, Value>, value: Value) {
        let container = match self {
            Column::Email => return,
            Column::UserName | Column::DisplayName => doc,
            Column::Name(_) => match doc
                .entry("name".to_string())
                .or_insert_with(|| Value::Object(Map::new()))
                .as_object_mut()
            {
                Some(name) => name,
                None => return,
            },
            Column::Cc(_) => match doc
                .entry(CONTACT_CENTRE.to_string())
                .or_insert_with(|| Value::Object(Map::new()))
                .as_object_mut()
            {
                Some(cc) => cc,
                None => return,
            },
        };
        let name = match self {
            Column::UserName => "userName",
            Column::DisplayName => "displayName",
            Column::Name(part) => part,
            Column::Cc(attr) => attr.name.as_str(),
            Column::Email => return,
        };
        container.insert(name.to_string(), value);
    }
}

/// The column an error's field belongs to, when the file has it.
fn column_of(field: &str, headers: &[String]) -> Option<String> {
    let column = match field.split_once('.') {
        Some(("name", part)) => part,
        Some((head, _)) => head,
        None if field == "emails" => "email",
        None => field,
    };
    headers.iter().find(|h| *h == column).cloned()
}

/// One error of one row.
fn row_error(
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
struct Planned {
    row: usize,
    current: Option<User>,
    doc: Map<String, Value>,
    /// The row passed its own checks (uniqueness is checked for every row regardless).
    ok: bool,
}

/// `POST /admin/v1/users/import?dryRun=true|false` with a CSV (`,` or `;`), an .xlsx
/// workbook, or a `multipart/form-data` upload of either. The dry run (the default) reports
/// every error of every row; the real run applies every row in one transaction, and only
/// when no row has an error.
#[tracing::instrument(skip_all, err(Debug, level = "debug"))]
pub async fn import(
    State(state): State<AppState>,
    auth: AdminAuth,
    query: QueryMap,
    headers: HeaderMap,
    body: Result<RawBody, ScimError>,
) -> AdminResult<(StatusCode, Json<Value>)> {
    let RawBody(bytes) = body?;
    let dry_run = match query.0.get("dryRun").map(String::as_str) {
        None | Some("true") => true,
        Some("false") => false,
        Some(other) => {
            return Err(AdminError::invalid(
                "dryRun",
                format!("dryRun must be true or false, not {other:?}"),
            ));
        }
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let upload = table::read(content_type, &bytes)
        .await
        .map_err(|e| AdminError::new(Code::InvalidCsv, e.to_string()))?;
    if upload.rows.len() > MAX_ROWS {
        return Err(AdminError::new(
            Code::TooLarge,
            format!("at most {MAX_ROWS} rows per upload"),
        ));
    }
    let report = check(&state, &auth, &upload).await?;
    if dry_run {
        return Ok((
            StatusCode::OK,
            Json(json!({"dryRun": true, "rows": report.rows, "errors": report.errors})),
        ));
    }
    if !report.errors.is_empty() {
        let mut e = AdminError::new(
            Code::ImportFailed,
            format!("{} error(s); nothing was applied", report.errors.len()),
        );
        e.extra = Some(json!({"errors": report.errors}));
        return Err(e);
    }
    let (created, updated) = directory::apply(
        &state.db,
        &auth.tenant_id,
        &auth.actor(),
        "user.import",
        report.plans,
    )
    .await?;
    Ok((
        StatusCode::OK,
        Json(
            json!({"dryRun": false, "created": created, "updated": updated, "rows": report.rows.len()}),
        ),
    ))
}

/// What the checks of an upload found.
struct Report {
    rows: Vec<Value>,
    errors: Vec<Value>,
    plans: Vec<Plan>,
}

/// Reads the header row into columns; an unknown or repeated column refuses the file.
fn header_columns<'a>(
    schema: &'a ResourceSchema,
    headers: &[String],
) -> AdminResult<Vec<Column<'a>>> {
    let cc = schema
        .extension(CONTACT_CENTRE)
        .ok_or_else(|| AdminError::new(Code::Internal, "contact-centre schema missing"))?;
    let allowed = columns();
    if !headers.iter().any(|h| h == "email") {
        return Err(AdminError::new(
            Code::InvalidCsv,
            format!(
                "the file needs an email column; columns: {}",
                allowed.join(", ")
            ),
        ));
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(headers.len());
    for h in headers {
        let known = allowed.iter().find(|a| a.eq_ignore_ascii_case(h));
        let Some(name) = known else {
            let mut e = AdminError::new(
                Code::InvalidCsv,
                format!(
                    "unknown or non-editable column {h:?}; columns: {}",
                    allowed.join(", ")
                ),
            );
            e.fields = Some(vec![h.clone()]);
            return Err(e);
        };
        if !seen.insert(*name) {
            return Err(AdminError::new(
                Code::InvalidCsv,
                format!("the column {name} appears twice"),
            ));
        }
        out.push(match *name {
            "email" => Column::Email,
            "userName" => Column::UserName,
            "givenName" => Column::Name("givenName"),
            "familyName" => Column::Name("familyName"),
            "displayName" => Column::DisplayName,
            other => Column::Cc(cc.attribute(other).ok_or_else(|| {
                AdminError::new(Code::Internal, format!("no schema for {other}"))
            })?),
        });
    }
    Ok(out)
}

/// Checks every row of an upload: its cells, what the caller may change, every validation
/// rule, and uniqueness against stored users and between the file's rows.
async fn check(state: &AppState, auth: &AdminAuth, upload: &Table) -> AdminResult<Report> {
    let columns = header_columns(&state.registry.user, &upload.headers)?;
    let headers: Vec<String> = columns
        .iter()
        .zip(&upload.headers)
        .map(|(c, h)| match c {
            Column::Cc(attr) => attr.name.clone(),
            _ => CORE
                .iter()
                .find(|n| n.eq_ignore_ascii_case(h))
                .map_or_else(|| h.clone(), |n| n.to_string()),
        })
        .collect();
    let email_at = headers.iter().position(|h| h == "email").unwrap_or(0);
    let profiles_attr = state
        .registry
        .user
        .extension(CONTACT_CENTRE)
        .and_then(|cc| cc.attribute("securityProfiles"))
        .ok_or_else(|| AdminError::new(Code::Internal, "contact-centre schema missing"))?;
    let ctx = TenantContext::load(&state.db, &auth.tenant_id).await?;
    let template =
        directory::provisioning_template(&state.db, &auth.tenant_id, &ctx.settings).await?;

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
            &ctx,
            Surface::Local,
        ) {
            let field = match &e {
                Error::InvalidValue { field, .. } => field.clone(),
                Error::Uniqueness { field, .. } => Some(field.clone()),
                _ => None,
            };
            let column = field.and_then(|f| column_of(&f, &headers));
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
    auth.require(&needs.into_iter().collect::<Vec<_>>())?;

    // Uniqueness between the rows of the file, then against stored users.
    let mut taken: HashMap<(Unique, String), usize> = HashMap::new();
    let mut failed_rows = BTreeSet::new();
    let mut wanted: HashMap<Unique, Vec<String>> = HashMap::new();
    for p in &planned {
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
    // Row by row, and within a row in the file's column order.
    errors.sort_by_key(|e| {
        let column = e["column"]
            .as_str()
            .and_then(|c| headers.iter().position(|h| h == c))
            .unwrap_or(usize::MAX);
        (e["row"].as_u64().unwrap_or_default(), column)
    });

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
    Ok(Report {
        rows,
        errors,
        plans,
    })
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

/// The export's row of a user, in [`columns`] order.
fn export_row(user: &User, cc_columns: &[&str]) -> Vec<String> {
    let doc = &user.attributes;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
    let mut row = vec![
        user.primary_email().unwrap_or_default().to_string(),
        user.user_name().to_string(),
        text(doc.get("name").and_then(|n| n.get("givenName"))),
        text(doc.get("name").and_then(|n| n.get("familyName"))),
        text(doc.get("displayName")),
    ];
    let cc = doc.contact_centre();
    for name in cc_columns {
        row.push(
            cc.and_then(|cc| cc.get(*name))
                .map(|v| format_cell(name, v))
                .unwrap_or_default(),
        );
    }
    row
}

/// `GET /admin/v1/users/export.csv|.xlsx` (ViewUsers): the users the list's `filter=`,
/// `q=` and `group=` select, in the upload's columns, at most [`MAX_ROWS`].
#[tracing::instrument(skip_all, err(Debug, level = "debug"))]
pub async fn export(
    State(state): State<AppState>,
    auth: AdminAuth,
    query: QueryMap,
    format: Format,
) -> AdminResult<Response> {
    auth.require(&[Permission::ViewUsers])?;
    let mut params_query = query.0.clone();
    params_query.remove("count");
    params_query.remove("startIndex");
    let params = ListParams::from_query(&params_query)?;
    let mut list_query = scim_filter::query(&state.registry.user, Resource::User, &params)?;
    list_query.filter = list_query.filter.map(with_view_defaults);
    if let Some(text) = query.0.get("q") {
        list_query.search = search_words(text).map_err(|e| AdminError::invalid("q", e))?;
    }
    if let Some(group) = query.0.get("group") {
        list_query.group = Some(super::users::group_named(&state, &auth, group).await?);
    }
    list_query.offset = 0;
    list_query.limit = MAX_ROWS as u64;
    let (users, total) =
        store_users::list(&state.db, &auth.tenant_id, &list_query, View::Tenant).await?;
    if total > MAX_ROWS as u64 {
        return Err(AdminError::invalid(
            "filter",
            format!(
                "the export would hold {total} users; at most {MAX_ROWS}: narrow it with filter, q or group"
            ),
        ));
    }
    let headers = columns();
    let cc_columns = &headers[CORE.len()..];
    let rows: Vec<Vec<String>> = users.iter().map(|u| export_row(u, cc_columns)).collect();
    file(format, "users", &headers, &rows)
}
