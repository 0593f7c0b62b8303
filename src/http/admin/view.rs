//! The admin view of a user: SCIM core, enterprise and contact-centre attributes flattened
//! under their own names, with `managedBy`, `active`, `version`, and for each attribute
//! whether this caller may edit it here and why not — all read from the ownership registry.

use serde_json::{Map, Value, json};

use super::error::{AdminError, Code};
use crate::domain::audit::Actor;
use crate::domain::filter::{Field, Filter, Op, Value as FilterValue};
use crate::domain::group::GroupRef;
use crate::domain::ownership::CONTACT_CENTRE;
use crate::domain::ownership::{NotEditable, admin_editability, in_admin_view};
use crate::domain::tenant::Settings;
use crate::domain::user::fold_key;
use crate::domain::user::{ManagedBy, User};
use crate::domain::validation::{
    DEFAULT_REGION, gaps, licence_type, telephony_region, unrecognised,
};
use crate::scim::resource::{etag, format_time, normalize_value};
use crate::scim::schema::{Attribute, ResourceSchema};

/// Keys of the view that are never written through it.
const READ_ONLY: [&str; 7] = [
    "id",
    "managedBy",
    "version",
    "groups",
    "editable",
    "warnings",
    "meta",
];

/// An attribute of the view: its name, its canonical key, its definition.
pub struct ViewAttr<'a> {
    pub name: &'a str,
    pub key: String,
    pub attr: &'a Attribute,
    pub extension: Option<&'a str>,
}

/// Every attribute the view shows, core first, then enterprise, then contact-centre.
pub fn attributes(schema: &ResourceSchema) -> Vec<ViewAttr<'_>> {
    let mut out: Vec<ViewAttr<'_>> = schema
        .core
        .attributes
        .iter()
        .filter(|a| in_admin_view(&a.name))
        .map(|a| ViewAttr {
            name: &a.name,
            key: a.name.clone(),
            attr: a,
            extension: None,
        })
        .collect();
    for ext in &schema.extensions {
        out.extend(ext.attributes.iter().map(|a| ViewAttr {
            name: &a.name,
            key: format!("{}:{}", ext.id, a.name),
            attr: a,
            extension: Some(ext.id.as_str()),
        }));
    }
    out
}

/// Whether the caller may edit the attribute of this user here, and if not, why (the
/// registry decides; see `ownership::admin_editability`).
pub fn editability(key: &str, user: Option<&User>, actor: &Actor) -> Result<(), NotEditable> {
    let local_user = user.is_none_or(|u| u.managed_by == ManagedBy::Local);
    admin_editability(key, local_user, &actor.permissions)
}

fn get_value<'a>(user: &'a User, va: &ViewAttr<'_>) -> Option<&'a Value> {
    match va.extension {
        None => user.attributes.get(va.name),
        Some(urn) => user.attributes.get(urn).and_then(|e| e.get(va.name)),
    }
}

/// How much of the view to render.
#[derive(Clone, Copy)]
pub enum Detail<'a> {
    /// A list row: the values, without the per-field `editable` map and the warnings.
    Row,
    /// The single-user view: with what this caller may edit and why not, and the warnings
    /// (unrecognised values from the identity provider, rules the user does not meet).
    Full(&'a Settings),
}

/// Renders the admin view of a user for this caller.
pub fn render(
    schema: &ResourceSchema,
    user: &User,
    groups: &[GroupRef],
    actor: &Actor,
    detail: Detail<'_>,
) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), Value::String(user.id.clone()));
    let mut editable = Map::new();
    for va in attributes(schema) {
        if let Some(v) = get_value(user, &va) {
            out.insert(va.name.to_string(), v.clone());
        }
        if let Detail::Full(_) = detail {
            let verdict = match editability(&va.key, Some(user), actor) {
                Ok(()) => json!({"editable": true}),
                Err(reason) => json!({"editable": false, "reason": reason.to_string()}),
            };
            editable.insert(va.name.to_string(), verdict);
        }
    }
    if let Some(tz) = user.attributes.get("timezone").and_then(Value::as_str) {
        // Stored as the identity provider sent it; the IANA zone it stands for, derived.
        out.insert(
            "timezoneIana".into(),
            crate::domain::validation::iana_timezone(tz).map_or(Value::Null, Value::String),
        );
    }
    out.entry("telephonyRegion")
        .or_insert(Value::String(DEFAULT_REGION.into()));
    out.insert("active".into(), Value::Bool(user.active()));
    out.insert(
        "managedBy".into(),
        Value::String(user.managed_by.as_str().into()),
    );
    out.insert("version".into(), Value::String(etag(user.version)));
    out.insert(
        "groups".into(),
        groups
            .iter()
            .map(|g| json!({"id": g.id, "displayName": g.display}))
            .collect(),
    );
    out.insert(
        "meta".into(),
        json!({"created": format_time(user.created_us), "lastModified": format_time(user.modified_us)}),
    );
    if let Detail::Full(settings) = detail {
        out.insert("editable".into(), Value::Object(editable));
        let warnings: Vec<Value> = unrecognised(&user.attributes)
            .into_iter()
            .chain(gaps(&user.attributes, settings))
            .map(|(field, message)| json!({"field": field, "message": message}))
            .collect();
        out.insert("warnings".into(), Value::Array(warnings));
    }
    Value::Object(out)
}

/// The dotted field names a body touches: `name.givenName` for nested objects.
fn touched(name: &str, value: &Value) -> Vec<String> {
    match value {
        Value::Object(fields) if !fields.is_empty() => {
            fields.keys().map(|k| format!("{name}.{k}")).collect()
        }
        _ => vec![name.to_string()],
    }
}

/// Applies a JSON merge patch (RFC 7386) of the admin view to a user's document, or builds
/// a new document (`user` = None). Refuses, changing nothing: unknown or read-only fields
/// (400), SSO-owned fields of an IdP-managed user (409 `sso_owned_fields`, listing them all),
/// fields the caller lacks the permission for (403).
pub fn merge(
    schema: &ResourceSchema,
    user: Option<&User>,
    body: &Value,
    actor: &Actor,
) -> Result<Map<String, Value>, AdminError> {
    let Some(fields) = body.as_object() else {
        return Err(AdminError::syntax("the body must be a JSON object"));
    };
    let view = attributes(schema);
    let mut sso = Vec::new();
    let mut forbidden = Vec::new();
    let mut targets = Vec::new();
    for (name, value) in fields {
        if READ_ONLY.contains(&name.as_str()) {
            return Err(AdminError::new(
                Code::ReadOnly,
                format!("{name} cannot be changed"),
            ));
        }
        let va = if name == "active" {
            None
        } else {
            Some(view.iter().find(|va| va.name == name).ok_or_else(|| {
                let mut e = AdminError::bad_request(format!("unknown field {name}"));
                e.fields = Some(vec![name.clone()]);
                e
            })?)
        };
        let key = va.map_or_else(|| "active".to_string(), |va| va.key.clone());
        match editability(&key, user, actor) {
            Ok(()) => targets.push((name, va, value)),
            Err(NotEditable::SsoOwned) => sso.extend(touched(name, value)),
            Err(NotEditable::Derived) => {
                return Err(AdminError::new(
                    Code::ReadOnly,
                    format!("{name} is {}", NotEditable::Derived),
                ));
            }
            Err(reason @ NotEditable::Needs(_)) => forbidden.push(format!("{name} ({reason})")),
        }
    }
    if !sso.is_empty() {
        return Err(AdminError::sso_owned(sso));
    }
    if !forbidden.is_empty() {
        return Err(AdminError::forbidden(format!(
            "you may not change {}",
            forbidden.join(", ")
        )));
    }
    let mut doc = user.map(|u| u.attributes.clone()).unwrap_or_default();
    for (name, va, value) in targets {
        let Some(va) = va else {
            match value {
                Value::Bool(_) => {
                    doc.insert("active".into(), value.clone());
                }
                _ => return Err(AdminError::bad_request("active must be a boolean")),
            }
            continue;
        };
        let container = match va.extension {
            None => &mut doc,
            Some(urn) => doc
                .entry(urn.to_string())
                .or_insert_with(|| Value::Object(Map::new()))
                .as_object_mut()
                .ok_or_else(|| AdminError::new(Code::Internal, "corrupt document"))?,
        };
        let merged = match (container.get(va.name), value) {
            // Skills by name: `{"French": 7, "Sales": null}` adds or re-levels French and
            // removes Sales, keeping the others; an array replaces them all.
            (old, Value::Object(changes)) if va.name == "skills" => merge_skills(old, changes)?,
            // `{"mode": "default"}` resets the capacity: the percentages go with it.
            (_, Value::Object(new))
                if new.get("mode").and_then(Value::as_str) == Some("default") =>
            {
                value.clone()
            }
            // Merge patch: objects merge key by key, null removes.
            (Some(Value::Object(old)), Value::Object(new)) if !va.attr.multi_valued => {
                let mut m = old.clone();
                for (k, v) in new {
                    if v.is_null() {
                        m.remove(k);
                    } else {
                        m.insert(k.clone(), v.clone());
                    }
                }
                Value::Object(m)
            }
            _ => value.clone(),
        };
        match normalize_value(va.attr, &merged, name).map_err(AdminError::from)? {
            Some(v) => {
                container.insert(va.name.to_string(), v);
            }
            None => {
                container.remove(va.name);
            }
        }
    }
    doc.retain(|k, v| !(k.starts_with("urn:") && v.as_object().is_some_and(Map::is_empty)));
    Ok(doc)
}

/// Applies a by-name change of skills to the user's current list: a level (a number, or
/// `{"level": n}`) adds or re-levels the skill, `null` removes it; names compare
/// case-insensitively and the others keep their order.
fn merge_skills(
    current: Option<&Value>,
    changes: &Map<String, Value>,
) -> Result<Value, AdminError> {
    let mut skills: Vec<Value> = current
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let named = |skill: &Value, name: &str| {
        skill
            .get("name")
            .and_then(Value::as_str)
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
    };
    for (name, change) in changes {
        let level = match change {
            Value::Null => {
                if !skills.iter().any(|s| named(s, name)) {
                    return Err(AdminError::invalid(
                        "skills",
                        format!("skills: the user has no skill {name:?} to remove"),
                    ));
                }
                skills.retain(|s| !named(s, name));
                continue;
            }
            Value::Number(_) => change.clone(),
            Value::Object(fields) if fields.contains_key("level") => fields["level"].clone(),
            _ => {
                return Err(AdminError::invalid(
                    "skills.level",
                    format!("skills: {name} takes a level from 1 to 10, or null to remove it"),
                ));
            }
        };
        match skills.iter_mut().find(|s| named(s, name)) {
            Some(skill) => skill["level"] = level,
            None => skills.push(json!({"name": name, "level": level})),
        }
    }
    Ok(Value::Array(skills))
}

/// A filter over the admin view rather than the stored document: the telephony region a
/// user shows by default (`NAM East`, when none is stored) matches `eq`, `ne` and `pr` as
/// shown, and licence and region labels (`"AD+OCM"`, `"EMEA - Primary (11)"`) compare as
/// their canonical values.
pub fn with_view_defaults(filter: Filter) -> Filter {
    let region = format!("{CONTACT_CENTRE}:telephonyRegion");
    let licence = format!("{CONTACT_CENTRE}:licenceType");
    match filter {
        Filter::And(a, b) => Filter::And(
            Box::new(with_view_defaults(*a)),
            Box::new(with_view_defaults(*b)),
        ),
        Filter::Or(a, b) => Filter::Or(
            Box::new(with_view_defaults(*a)),
            Box::new(with_view_defaults(*b)),
        ),
        Filter::Not(inner) => Filter::Not(Box::new(with_view_defaults(*inner))),
        Filter::Compare {
            field: Field::Attr(key),
            kind,
            op,
            value: FilterValue::Str(text),
        } if key.eq_ignore_ascii_case(&region) || key.eq_ignore_ascii_case(&licence) => {
            let is_region = key.eq_ignore_ascii_case(&region);
            let canonical = if is_region {
                telephony_region(&text)
            } else {
                licence_type(&text)
            };
            let text = match (op, canonical) {
                (Op::Eq | Op::Ne, Some(c)) => fold_key(c),
                _ => text,
            };
            let shows_default = is_region && text == fold_key(DEFAULT_REGION);
            let present = Filter::Present {
                field: Field::Attr(key.clone()),
                kind,
            };
            let compare = Filter::Compare {
                field: Field::Attr(key),
                kind,
                op,
                value: FilterValue::Str(text),
            };
            match op {
                Op::Eq if shows_default => {
                    Filter::Or(Box::new(compare), Box::new(Filter::Not(Box::new(present))))
                }
                Op::Ne if shows_default => Filter::And(Box::new(compare), Box::new(present)),
                _ => compare,
            }
        }
        Filter::Present {
            field: Field::Attr(key),
            kind,
        } if key.eq_ignore_ascii_case(&region) => {
            let present = || Filter::Present {
                field: Field::Attr(key.clone()),
                kind,
            };
            // Every user shows a region.
            Filter::Or(
                Box::new(present()),
                Box::new(Filter::Not(Box::new(present()))),
            )
        }
        other => other,
    }
}
