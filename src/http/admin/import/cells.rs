//! The upload's and the export's columns, and their cells: parsing a cell into a value of
//! its attribute and writing a stored value back as a cell.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::domain::ownership::{AdminEdit, CONTACT_CENTRE, REGISTRY};
use crate::domain::user::Document;
use crate::http::admin::error::{AdminError, AdminResult, Code};
use crate::scim::schema::{AttrType, Attribute, ResourceSchema};

/// The columns before the contact-centre fields: who the user is.
pub(super) const CORE: [&str; 5] = [
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

fn parse_bool(text: &str) -> Result<Value, String> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Ok(Value::Bool(true)),
        "false" | "no" | "0" => Ok(Value::Bool(false)),
        _ => Err(format!("{text:?} is not true or false")),
    }
}

/// Parses one cell for its contact-centre attribute.
pub(super) fn parse_cell(attr: &Attribute, text: &str) -> Result<Value, String> {
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
pub(super) fn format_cell(name: &str, value: &Value) -> String {
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
pub(super) enum Column<'a> {
    Email,
    UserName,
    /// `name.givenName` / `name.familyName`.
    Name(&'static str),
    DisplayName,
    Cc(&'a Attribute),
}

impl Column<'_> {
    /// The registry key whose editability decides whether the cell may change the user.
    pub(super) fn key(&self) -> String {
        match self {
            Column::Email => "emails".into(),
            Column::UserName => "userName".into(),
            Column::Name(_) => "name".into(),
            Column::DisplayName => "displayName".into(),
            Column::Cc(attr) => format!("{CONTACT_CENTRE}:{}", attr.name),
        }
    }

    /// The stored value the cell would replace.
    pub(super) fn current<'d>(&self, doc: &'d Map<String, Value>) -> Option<&'d Value> {
        match self {
            Column::Email => None,
            Column::UserName => doc.get("userName"),
            Column::Name(part) => doc.get("name").and_then(|n| n.get(*part)),
            Column::DisplayName => doc.get("displayName"),
            Column::Cc(attr) => doc.contact_centre().and_then(|cc| cc.get(&attr.name)),
        }
    }

    pub(super) fn set(&self, doc: &mut Map<String, Value>, value: Value) {
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
pub(super) fn column_of(field: &str, headers: &[String]) -> Option<String> {
    let column = match field.split_once('.') {
        Some(("name", part)) => part,
        Some((head, _)) => head,
        None if field == "emails" => "email",
        None => field,
    };
    headers.iter().find(|h| *h == column).cloned()
}

/// Reads the header row into columns; an unknown or repeated column refuses the file.
pub(super) fn header_columns<'a>(
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
