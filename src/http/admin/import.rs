//! CSV template and import of the locally-owned attributes (`/admin/v1/users/import…`).
//! Rows are matched to users by email, exactly (the SSO email, case-sensitive). A dry run
//! returns each row's planned change or its errors; a real run applies every row in one
//! transaction only when no row has an error.
//!
//! Cells: an empty cell leaves the value unchanged; booleans are `true`/`false`; lists
//! (`callbackNumbers`) are separated by `;`; `skills` are `Name:level;Name:level`;
//! `interactionCapacity` is `default` or `custom voice=100 chat=50 email=0 task=0`.

use std::collections::{BTreeSet, HashMap};

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::auth::AdminAuth;
use super::error::{AdminError, AdminResult, Code};
use super::view::editability;
use crate::app::AppState;
use crate::domain::audit::diff;
use crate::domain::ownership::{AdminEdit, CONTACT_CENTRE, Permission, REGISTRY};
use crate::domain::validation::Surface;
use crate::http::extract::{QueryMap, RawBody};
use crate::scim::ScimError;
use crate::scim::schema::{AttrType, Attribute};
use crate::store::users as store_users;
use crate::write::users::{self as directory, Plan, TenantContext};

/// The most rows one import takes.
pub const MAX_ROWS: usize = 50_000;

/// The template's columns after `email`: every attribute the registry lets admins edit on
/// any user (the locally-owned ones).
pub fn columns() -> Vec<&'static str> {
    REGISTRY
        .iter()
        .filter(|o| matches!(o.admin, AdminEdit::Always(_)))
        .filter_map(|o| {
            o.attr
                .strip_prefix(CONTACT_CENTRE)
                .and_then(|n| n.strip_prefix(':'))
        })
        .collect()
}

/// `GET /admin/v1/users/import-template.csv`
pub async fn template(auth: AdminAuth) -> AdminResult<Response> {
    auth.require(&[Permission::ViewUsers])?;
    let header_row = std::iter::once("email")
        .chain(columns())
        .collect::<Vec<_>>()
        .join(",");
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
        format!("{header_row}\n"),
    )
        .into_response())
}

fn parse_bool(text: &str) -> Result<Value, String> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Ok(Value::Bool(true)),
        "false" | "no" | "0" => Ok(Value::Bool(false)),
        _ => Err(format!("{text:?} is not true or false")),
    }
}

/// Parses one cell for its attribute.
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

/// A row's error.
fn row_error(row: usize, column: Option<&str>, message: impl Into<String>) -> Value {
    json!({"row": row, "column": column, "message": message.into()})
}

/// `POST /admin/v1/users/import?dryRun=true|false` with a CSV body.
#[tracing::instrument(skip_all, err(Debug, level = "debug"))]
pub async fn import(
    State(state): State<AppState>,
    auth: AdminAuth,
    query: QueryMap,
    body: Result<RawBody, ScimError>,
) -> AdminResult<(StatusCode, Json<Value>)> {
    let RawBody(bytes) = body?;
    let dry_run = match query.0.get("dryRun").map(String::as_str) {
        None | Some("true") => true,
        Some("false") => false,
        Some(other) => {
            return Err(AdminError::bad_request(format!(
                "dryRun must be true or false, not {other:?}"
            )));
        }
    };
    let body = String::from_utf8(bytes.to_vec())
        .map_err(|_| AdminError::new(Code::InvalidCsv, "the file must be UTF-8 text"))?;
    if body.contains('\0') {
        return Err(AdminError::new(
            Code::InvalidCsv,
            "the file must not contain the NUL character (U+0000)",
        ));
    }
    let cc = state
        .registry
        .user
        .extension(CONTACT_CENTRE)
        .ok_or_else(|| AdminError::new(Code::Internal, "contact-centre schema missing"))?;
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(body.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| AdminError::new(Code::InvalidCsv, format!("cannot read the header row: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    if headers.first().map(String::as_str) != Some("email") {
        return Err(AdminError::new(
            Code::InvalidCsv,
            "the first column must be email",
        ));
    }
    let allowed = columns();
    let mut attrs: Vec<&Attribute> = Vec::new();
    for h in &headers[1..] {
        if !allowed.contains(&h.as_str()) {
            let mut e = AdminError::new(
                Code::InvalidCsv,
                format!(
                    "unknown or non-editable column {h:?}; columns: email, {}",
                    allowed.join(", ")
                ),
            );
            e.fields = Some(vec![h.clone()]);
            return Err(e);
        }
        attrs.push(
            cc.attribute(h)
                .ok_or_else(|| AdminError::new(Code::Internal, format!("no schema for {h}")))?,
        );
    }
    let ctx = TenantContext::load(&state.db, &auth.tenant_id).await?;
    let mut by_email: HashMap<String, Vec<String>> = HashMap::new();
    let mut folded: HashMap<String, String> = HashMap::new();
    for (email, id) in store_users::emails(&state.db, &auth.tenant_id).await? {
        folded.insert(email.to_lowercase(), email.clone());
        let ids = by_email.entry(email).or_default();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let records: Vec<csv::StringRecord> = reader
        .records()
        .collect::<Result<_, _>>()
        .map_err(|e| AdminError::new(Code::InvalidCsv, format!("malformed CSV: {e}")))?;
    if records.len() > MAX_ROWS {
        return Err(AdminError::new(
            Code::TooLarge,
            format!("at most {MAX_ROWS} rows per import"),
        ));
    }
    let wanted: Vec<String> = records
        .iter()
        .filter_map(|r| {
            r.get(0)
                .and_then(|e| by_email.get(e))
                .filter(|ids| ids.len() == 1)
                .map(|ids| ids[0].clone())
        })
        .collect();
    let mut users: HashMap<String, crate::domain::user::User> =
        store_users::many(&state.db, &auth.tenant_id, &wanted)
            .await?
            .into_iter()
            .map(|u| (u.id.clone(), u))
            .collect();
    let mut errors = Vec::new();
    let mut planned = Vec::new();
    let mut reports = Vec::new();
    let mut seen_emails = BTreeSet::new();
    let mut needs: BTreeSet<Permission> = BTreeSet::new();
    for (index, record) in records.iter().enumerate() {
        let row = index + 2; // the header is line 1
        let email = record.get(0).unwrap_or_default().to_string();
        if email.is_empty() {
            errors.push(row_error(row, Some("email"), "the email is empty"));
            continue;
        }
        if !seen_emails.insert(email.clone()) {
            errors.push(row_error(
                row,
                Some("email"),
                format!("{email} appears on an earlier row"),
            ));
            continue;
        }
        let current = match by_email.get(&email).map(Vec::as_slice) {
            Some([id]) => users.remove(id),
            Some(ids) if ids.len() > 1 => {
                errors.push(row_error(
                    row,
                    Some("email"),
                    format!("{email} matches {} users", ids.len()),
                ));
                continue;
            }
            _ if folded.contains_key(&email.to_lowercase()) => {
                let existing = &folded[&email.to_lowercase()];
                errors.push(row_error(
                    row,
                    Some("email"),
                    format!(
                        "{email} matches no user exactly; {existing} differs only in letter case"
                    ),
                ));
                continue;
            }
            _ if ctx.settings.idp_managed => {
                errors.push(row_error(row, Some("email"), format!("no user has the email {email}, and this tenant's users come from its identity provider")));
                continue;
            }
            _ => None,
        };
        let mut doc = match &current {
            Some(user) => user.attributes.clone(),
            None => {
                needs.insert(Permission::CreateUser);
                needs.insert(Permission::EditUser);
                json!({
                    "userName": email,
                    "emails": [{"value": email, "type": "work", "primary": true}],
                    CONTACT_CENTRE: {"securityProfiles": ["Agent"]}
                })
                .as_object()
                .cloned()
                .unwrap_or_default()
            }
        };
        let mut row_ok = true;
        for (i, attr) in attrs.iter().enumerate() {
            let text = record.get(i + 1).unwrap_or_default();
            if text.is_empty() {
                continue;
            }
            let key = format!("{CONTACT_CENTRE}:{}", attr.name);
            if let Err(reason) = editability(&key, current.as_ref(), &auth.actor) {
                errors.push(row_error(
                    row,
                    Some(&attr.name),
                    format!("you may not change {}: {reason}", attr.name),
                ));
                row_ok = false;
                continue;
            }
            match parse_cell(attr, text) {
                Ok(value) => {
                    if let Some(fields) = doc
                        .entry(CONTACT_CENTRE.to_string())
                        .or_insert_with(|| Value::Object(Map::new()))
                        .as_object_mut()
                    {
                        fields.insert(attr.name.clone(), value);
                    }
                }
                Err(message) => {
                    errors.push(row_error(row, Some(&attr.name), message));
                    row_ok = false;
                }
            }
        }
        if !row_ok {
            continue;
        }
        if let Err(e) = directory::validate(
            &mut doc,
            current.as_ref().map(|u| &u.attributes),
            &ctx,
            Surface::Local,
        ) {
            let field = match &e {
                crate::domain::Error::InvalidValue { field, .. } => field.clone(),
                crate::domain::Error::Uniqueness { field, .. } => Some(field.clone()),
                _ => None,
            };
            let message = e.to_string();
            let column = field
                .map(|f| f.split('.').next().unwrap_or(&f).to_string())
                .filter(|c| headers.contains(c));
            errors.push(row_error(row, column.as_deref(), message));
            continue;
        }
        let changes = diff(current.as_ref().map(|u| &u.attributes), Some(&doc));
        let action = match &current {
            None => "create",
            Some(_) if changes.is_empty() => "unchanged",
            Some(_) => "update",
        };
        reports.push(json!({"row": row, "email": email, "action": action, "changes": changes}));
        match current {
            None => planned.push(Plan::Create(doc)),
            Some(user) if !changes.is_empty() => planned.push(Plan::Update {
                current: user,
                attributes: doc,
            }),
            Some(_) => {}
        }
    }
    auth.require(&needs.into_iter().collect::<Vec<_>>())?;
    if dry_run {
        return Ok((
            StatusCode::OK,
            Json(json!({"dryRun": true, "rows": reports, "errors": errors})),
        ));
    }
    if !errors.is_empty() {
        let mut e = AdminError::new(
            Code::ImportFailed,
            format!("{} error(s); nothing was applied", errors.len()),
        );
        e.extra = Some(json!({"errors": errors}));
        return Err(e);
    }
    let (created, updated) = directory::apply(
        &state.db,
        &auth.tenant_id,
        &auth.actor(),
        "user.import",
        planned,
    )
    .await?;
    Ok((
        StatusCode::OK,
        Json(
            json!({"dryRun": false, "created": created, "updated": updated, "rows": reports.len()}),
        ),
    ))
}
