//! Wire JSON <-> domain resources (RFC 7643 §4): validating and normalising what clients
//! send, and rendering what they get back.

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use super::schema::{AttrType, Attribute, ResourceSchema};
use super::{GROUP_SCHEMA, ScimError, ScimResult, USER_SCHEMA};
use crate::domain::group::{Group, GroupRef, Member};
use crate::domain::ownership::Mutability;
use crate::domain::user::User;

/// Normalises a client's resource body (POST or PUT): keys take their canonical names,
/// values their schema types (`"True"` → `true`), unknown and read-only attributes are
/// dropped, `password` is never kept. Core attributes come out at the top level,
/// extension attributes under their schema URN.
pub fn normalize_input(schema: &ResourceSchema, body: &Value) -> ScimResult<Map<String, Value>> {
    let Some(input) = body.as_object() else {
        return Err(ScimError::invalid_syntax(
            "the request body must be a JSON object",
        ));
    };
    let mut out = Map::new();
    for (key, value) in input {
        if ["schemas", "id", "meta"]
            .iter()
            .any(|k| k.eq_ignore_ascii_case(key))
        {
            continue;
        }
        if key.eq_ignore_ascii_case("externalId") {
            match value {
                Value::Null => {}
                Value::String(s) if s.len() > MAX_VALUE_BYTES => {
                    return Err(ScimError::invalid_value(format!(
                        "externalId must be at most {MAX_VALUE_BYTES} bytes long"
                    )));
                }
                Value::String(s) => {
                    out.insert("externalId".into(), Value::String(s.clone()));
                }
                _ => return Err(ScimError::invalid_value("externalId must be a string")),
            }
            continue;
        }
        if let Some(ext) = schema.extension(key) {
            let Some(fields) = value.as_object() else {
                if value.is_null() {
                    continue;
                }
                return Err(ScimError::invalid_value(format!(
                    "{} must be an object",
                    ext.id
                )));
            };
            for (name, v) in fields {
                if let Some(attr) = ext.attribute(name) {
                    set_input(&mut out, Some(&ext.id), attr, v)?;
                }
            }
            continue;
        }
        // A URN-qualified attribute at the top level: `urn:…:User:employeeNumber`.
        if let Some((urn, name)) = key.rsplit_once(':')
            && let Some(s) = schema.schema(urn)
        {
            if let Some(attr) = s.attribute(name) {
                let ext = (s.id != schema.core.id).then_some(s.id.as_str());
                set_input(&mut out, ext, attr, value)?;
            }
            continue;
        }
        if let Some(attr) = schema.core.attribute(key) {
            set_input(&mut out, None, attr, value)?;
        }
    }
    out.retain(|_, v| !matches!(v, Value::Object(fields) if fields.is_empty()));
    Ok(out)
}

fn set_input(
    out: &mut Map<String, Value>,
    extension: Option<&str>,
    attr: &Attribute,
    value: &Value,
) -> ScimResult<()> {
    if matches!(
        attr.mutability,
        Mutability::ReadOnly | Mutability::WriteOnly
    ) {
        return Ok(());
    }
    let normalized = normalize_value(attr, value, &attr.name)?;
    let target = match extension {
        None => out,
        Some(urn) => out
            .entry(urn.to_string())
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
            .ok_or_else(ScimError::internal)?,
    };
    match normalized {
        Some(v) => {
            target.insert(attr.name.clone(), v);
        }
        None => {
            target.remove(&attr.name);
        }
    }
    Ok(())
}

/// The longest string value accepted, in bytes: every value is indexed, and an index entry
/// must stay well under PostgreSQL's B-tree limit (about 2.7 kB).
pub const MAX_VALUE_BYTES: usize = 2048;

/// Coerces a value to its attribute's type. `None` means unassigned (null, "", [] or {}).
/// Read-only sub-attributes are dropped.
pub fn normalize_value(attr: &Attribute, value: &Value, path: &str) -> ScimResult<Option<Value>> {
    if value.is_null() {
        return Ok(None);
    }
    if attr.multi_valued {
        let items: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            single => vec![single],
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            if let Some(v) = normalize_single(attr, item, path)? {
                out.push(v);
            }
        }
        keep_one_primary(&mut out);
        return Ok((!out.is_empty()).then_some(Value::Array(out)));
    }
    // A one-element array for a singular attribute (Entra's old manager shape).
    let value = match value {
        Value::Array(items) if items.len() == 1 => &items[0],
        Value::Array(items) if items.is_empty() => return Ok(None),
        other => other,
    };
    normalize_single(attr, value, path)
}

/// At most one element may be primary (RFC 7643 §2.4); the first one claiming it keeps it.
fn keep_one_primary(items: &mut [Value]) {
    let mut seen = false;
    for item in items.iter_mut() {
        if let Some(obj) = item.as_object_mut()
            && obj.get("primary").and_then(Value::as_bool) == Some(true)
        {
            if seen {
                obj.insert("primary".into(), Value::Bool(false));
            }
            seen = true;
        }
    }
}

fn normalize_single(attr: &Attribute, value: &Value, path: &str) -> ScimResult<Option<Value>> {
    if value.is_null() {
        return Ok(None);
    }
    let wrong = |what: &str| ScimError::invalid_value(format!("{path} must be {what}"));
    let v = match attr.kind {
        AttrType::Complex => {
            let fields = match value {
                Value::Object(fields) => fields.clone(),
                // A bare value for a complex attribute names its `value` (Entra's manager).
                Value::String(_) | Value::Number(_) | Value::Bool(_)
                    if attr.sub("value").is_some() =>
                {
                    let mut m = Map::new();
                    m.insert("value".into(), value.clone());
                    m
                }
                _ => return Err(wrong("an object")),
            };
            let mut out = Map::new();
            for (key, v) in &fields {
                let Some(sub) = attr.sub(key) else { continue };
                if sub.mutability == Mutability::ReadOnly {
                    continue;
                }
                if let Some(v) = normalize_single(sub, v, &format!("{path}.{}", sub.name))? {
                    out.insert(sub.name.clone(), v);
                }
            }
            if out.is_empty() {
                return Ok(None);
            }
            Value::Object(out)
        }
        AttrType::Boolean => match value {
            Value::Bool(b) => Value::Bool(*b),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Value::Bool(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Value::Bool(false),
            _ => return Err(wrong("a boolean")),
        },
        AttrType::Integer => match value {
            Value::Number(n) if n.is_i64() => value.clone(),
            Value::String(s) => s
                .trim()
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| wrong("an integer"))?,
            _ => return Err(wrong("an integer")),
        },
        AttrType::Decimal => match value {
            Value::Number(_) => value.clone(),
            Value::String(s) => s
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(|f| serde_json::Number::from_f64(f).map(Value::Number))
                .ok_or_else(|| wrong("a number"))?,
            _ => return Err(wrong("a number")),
        },
        AttrType::DateTime => match value {
            Value::String(s) if crate::domain::filter::parse_datetime(s).is_some() => value.clone(),
            _ => return Err(wrong("an RFC 3339 date-time")),
        },
        AttrType::String | AttrType::Reference | AttrType::Binary => match value {
            Value::String(s) if s.is_empty() => return Ok(None),
            Value::String(s) if s.len() > MAX_VALUE_BYTES => {
                return Err(wrong(&format!("at most {MAX_VALUE_BYTES} bytes long")));
            }
            Value::String(_) => value.clone(),
            _ => return Err(wrong("a string")),
        },
    };
    Ok(Some(v))
}

/// Keeps, across a PUT, what the client cannot write or did not send: extension attributes
/// that are read-only over SCIM (locally owned), required extension attributes the body
/// leaves out (a contact-centre user's security profiles: an IdP that does not know the
/// extension cannot clear them), and `active` when the body leaves it out.
pub fn carry_over(schema: &ResourceSchema, old: &Map<String, Value>, new: &mut Map<String, Value>) {
    for ext in &schema.extensions {
        let Some(Value::Object(old_fields)) = old.get(&ext.id) else {
            continue;
        };
        for (name, value) in old_fields {
            let keep = ext.attribute(name).is_some_and(|a| {
                a.mutability == Mutability::ReadOnly
                    || (a.required && new.get(&ext.id).and_then(|e| e.get(name)).is_none())
            });
            if !keep {
                continue;
            }
            if let Some(fields) = new
                .entry(ext.id.clone())
                .or_insert_with(|| Value::Object(Map::new()))
                .as_object_mut()
            {
                fields.insert(name.clone(), value.clone());
            }
        }
    }
    if !new.contains_key("active")
        && let Some(active) = old.get("active")
    {
        new.insert("active".into(), active.clone());
    }
}

/// Checks the core attributes a resource cannot exist without (`userName`, a group's
/// `displayName`). Extension rules (a contact-centre user's security profile) are domain
/// validation.
pub fn require(schema: &ResourceSchema, doc: &Map<String, Value>) -> ScimResult<()> {
    for attr in schema.core.attributes.iter().filter(|a| a.required) {
        let present = match doc.get(&attr.name) {
            Some(Value::String(s)) => !s.trim().is_empty(),
            Some(Value::Array(items)) => !items.is_empty(),
            Some(v) => !v.is_null(),
            None => false,
        };
        if !present {
            return Err(ScimError::invalid_value(format!(
                "{} is required",
                attr.name
            )));
        }
    }
    Ok(())
}

/// RFC 3339 text of a microsecond timestamp.
pub fn format_time(us: i64) -> String {
    let nanos = i128::from(us) * 1000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// The weak ETag of a resource version; `meta.version` carries the same text.
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

fn meta(resource_type: &str, created: i64, modified: i64, location: String, version: i64) -> Value {
    json!({
        "resourceType": resource_type,
        "created": format_time(created),
        "lastModified": format_time(modified),
        "location": location,
        "version": etag(version),
    })
}

/// The wire form of a user: `schemas`, `id`, the stored attributes, `groups`, `meta`.
pub fn render_user(schema: &ResourceSchema, user: &User, groups: &[GroupRef], base: &str) -> Value {
    let mut out = Map::new();
    let mut schemas = vec![Value::String(USER_SCHEMA.into())];
    for ext in &schema.extensions {
        if user.attributes.contains_key(&ext.id) {
            schemas.push(Value::String(ext.id.clone()));
        }
    }
    out.insert("schemas".into(), Value::Array(schemas));
    out.insert("id".into(), Value::String(user.id.clone()));
    for (key, value) in &user.attributes {
        out.insert(key.clone(), value.clone());
    }
    if !groups.is_empty() {
        let groups = groups
            .iter()
            .map(|g| {
                json!({
                    "value": g.id,
                    "$ref": format!("{base}/Groups/{}", g.id),
                    "display": g.display,
                    "type": "direct",
                })
            })
            .collect();
        out.insert("groups".into(), Value::Array(groups));
    }
    out.insert(
        "meta".into(),
        meta(
            "User",
            user.created_us,
            user.modified_us,
            format!("{base}/Users/{}", user.id),
            user.version,
        ),
    );
    Value::Object(out)
}

/// The wire form of a group; `members` only when they were loaded.
pub fn render_group(group: &Group, members: Option<&[Member]>, base: &str) -> Value {
    let mut out = Map::new();
    out.insert("schemas".into(), json!([GROUP_SCHEMA]));
    out.insert("id".into(), Value::String(group.id.clone()));
    for (key, value) in &group.attributes {
        out.insert(key.clone(), value.clone());
    }
    if let Some(members) = members {
        let members = members
            .iter()
            .map(|m| {
                let endpoint = match m.member_type {
                    crate::domain::group::MemberType::User => "Users",
                    crate::domain::group::MemberType::Group => "Groups",
                };
                json!({
                    "value": m.id,
                    "$ref": format!("{base}/{endpoint}/{}", m.id),
                    "type": m.member_type.as_str(),
                })
            })
            .collect();
        out.insert("members".into(), Value::Array(members));
    }
    out.insert(
        "meta".into(),
        meta(
            "Group",
            group.created_us,
            group.modified_us,
            format!("{base}/Groups/{}", group.id),
            group.version,
        ),
    );
    Value::Object(out)
}

/// The member ids a group body lists (`members[].value`), in order, without duplicates.
pub fn member_ids(value: &Value) -> ScimResult<Vec<String>> {
    let items: Vec<&Value> = match value {
        Value::Null => Vec::new(),
        Value::Array(items) => items.iter().collect(),
        single => vec![single],
    };
    let mut ids: Vec<String> = Vec::with_capacity(items.len());
    // Linear in the number of members: a body may list tens of thousands.
    let mut seen: HashSet<&str> = HashSet::with_capacity(items.len());
    for item in items {
        let id = match item {
            Value::Object(fields) => fields
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("value"))
                .and_then(|(_, v)| v.as_str()),
            Value::String(s) => Some(s.as_str()),
            _ => None,
        }
        .ok_or_else(|| ScimError::invalid_value("each member needs a string value"))?;
        if seen.insert(id) {
            ids.push(id.to_string());
        }
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::Registry;

    #[test]
    fn input_is_canonicalised_and_read_only_dropped() {
        let registry = Registry::load().expect("schemas");
        let body = json!({
            "schemas": [USER_SCHEMA],
            "id": "client-chosen",
            "USERNAME": "bjensen",
            "active": "False",
            "password": "secret",
            "groups": [{"value": "g1"}],
            "emails": [{"value": "a@x.example", "primary": "true", "type": "work"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "employeeNumber": "42",
                "manager": "m1"
            },
            "urn:rollcall:params:scim:schemas:extension:contactcentre:2.0:User": {
                "routingProfile": "Sales"
            },
            "unknownThing": 1
        });
        let doc = normalize_input(&registry.user, &body).expect("valid");
        assert_eq!(
            Value::Object(doc),
            json!({
                "userName": "bjensen",
                "active": false,
                "emails": [{"value": "a@x.example", "primary": true, "type": "work"}],
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                    "employeeNumber": "42",
                    "manager": {"value": "m1"}
                }
            })
        );
    }

    #[test]
    fn wrong_types_name_the_attribute() {
        let registry = Registry::load().expect("schemas");
        let err = normalize_input(&registry.user, &json!({"userName": "a", "active": 3}))
            .expect_err("invalid");
        assert_eq!(err.status, 400);
        assert!(err.detail.contains("active"), "{}", err.detail);
    }
}
