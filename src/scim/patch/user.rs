//! PATCH of a user document: attribute paths, value-filter paths and path-less values.

use scim_filter_parser as parser;
use serde_json::{Map, Value};

use super::{OpKind, Operation, parse_path};
use crate::domain::filter::{Collection, ElemShape, Filter};
use crate::domain::ownership::Mutability;
use crate::domain::validation::{MAX_MULTI_VALUES, too_many_values};
use crate::scim::filter::{Resource, resolve_element, shape_of};
use crate::scim::resource::{MAX_VALUE_BYTES, normalize_value};
use crate::scim::schema::{AttrType, Attribute, ResourceSchema};
use crate::scim::{ScimError, ScimResult};

/// Applies operations to a user's attribute document.
pub fn apply_user(
    schema: &ResourceSchema,
    doc: &mut Map<String, Value>,
    ops: &[Operation],
) -> ScimResult<()> {
    for op in ops {
        match &op.path {
            Some(path) => {
                let path = parse_path(path)?;
                apply_path(schema, doc, op.op, &path, op.value.as_ref())?;
            }
            None => apply_pathless(schema, doc, op.op, op.value.as_ref())?,
        }
    }
    doc.retain(|k, v| !(k.starts_with("urn:") && v.as_object().is_some_and(Map::is_empty)));
    Ok(())
}

fn apply_pathless(
    schema: &ResourceSchema,
    doc: &mut Map<String, Value>,
    op: OpKind,
    value: Option<&Value>,
) -> ScimResult<()> {
    let Some(Value::Object(fields)) = value else {
        return Err(ScimError::invalid_value(
            "an operation without a path needs an object value",
        ));
    };
    for (key, v) in fields {
        if ["schemas", "id", "meta"]
            .iter()
            .any(|k| k.eq_ignore_ascii_case(key))
        {
            continue;
        }
        let path = parse_path(key)?;
        apply_path(schema, doc, op, &path, Some(v))?;
    }
    Ok(())
}

/// Where a path points.
enum Located<'a> {
    /// A whole extension object: `urn:…:enterprise:2.0:User`.
    Extension(&'a str),
    ExternalId,
    Attribute {
        extension: Option<&'a str>,
        attr: &'a Attribute,
    },
}

fn locate<'a>(schema: &'a ResourceSchema, path: &parser::AttrPath) -> ScimResult<Located<'a>> {
    if let Some(uri) = &path.uri {
        let whole = format!("{uri}:{}", path.name);
        if path.sub_attr.is_none()
            && let Some(ext) = schema.extension(&whole)
        {
            return Ok(Located::Extension(&ext.id));
        }
        let s = schema
            .schema(uri)
            .ok_or_else(|| ScimError::invalid_path(format!("unknown schema {uri}")))?;
        let attr = s
            .attribute(&path.name)
            .ok_or_else(|| ScimError::invalid_path(format!("unknown attribute {path}")))?;
        let extension = (s.id != schema.core.id).then_some(s.id.as_str());
        return Ok(Located::Attribute { extension, attr });
    }
    if path.name.eq_ignore_ascii_case("externalId") && path.sub_attr.is_none() {
        return Ok(Located::ExternalId);
    }
    if ["id", "meta", "schemas"]
        .iter()
        .any(|k| k.eq_ignore_ascii_case(&path.name))
    {
        return Err(ScimError::mutability(format!("{} is read-only", path.name)));
    }
    if let Some(attr) = schema.core.attribute(&path.name) {
        return Ok(Located::Attribute {
            extension: None,
            attr,
        });
    }
    // Liberal: an extension attribute without its URN (Entra's old `manager` path).
    schema
        .extensions
        .iter()
        .find_map(|s| {
            s.attribute(&path.name).map(|attr| Located::Attribute {
                extension: Some(s.id.as_str()),
                attr,
            })
        })
        .ok_or_else(|| ScimError::invalid_path(format!("unknown attribute {path}")))
}

fn container<'m>(
    doc: &'m mut Map<String, Value>,
    extension: Option<&str>,
) -> ScimResult<&'m mut Map<String, Value>> {
    match extension {
        None => Ok(doc),
        Some(urn) => doc
            .entry(urn.to_string())
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
            .ok_or_else(ScimError::internal),
    }
}

fn check_writable(attr: &Attribute, path: &parser::PatchPath) -> ScimResult<()> {
    match attr.mutability {
        Mutability::ReadOnly => Err(ScimError::mutability(format!(
            "{} is read-only over SCIM",
            path.attr
        ))),
        Mutability::Immutable => Err(ScimError::mutability(format!("{} is immutable", path.attr))),
        Mutability::ReadWrite | Mutability::WriteOnly => Ok(()),
    }
}

pub(super) fn apply_path(
    schema: &ResourceSchema,
    doc: &mut Map<String, Value>,
    op: OpKind,
    path: &parser::PatchPath,
    value: Option<&Value>,
) -> ScimResult<()> {
    match locate(schema, &path.attr)? {
        Located::Extension(urn) => {
            if path.filter.is_some() {
                return Err(ScimError::invalid_path(format!("{urn} takes no filter")));
            }
            match op {
                OpKind::Remove => {
                    // Only what SCIM may write goes; locally-owned attributes stay.
                    if let Some(ext) = schema.extension(urn)
                        && let Some(Value::Object(fields)) = doc.get_mut(urn)
                    {
                        fields.retain(|name, _| {
                            ext.attribute(name)
                                .is_some_and(|a| a.mutability == Mutability::ReadOnly)
                        });
                    }
                    Ok(())
                }
                OpKind::Add | OpKind::Replace => {
                    let Some(Value::Object(fields)) = value else {
                        return Err(ScimError::invalid_value(format!(
                            "{urn} needs an object value"
                        )));
                    };
                    // The target is a complex attribute (the extension), so the value's
                    // sub-attributes are set as given (RFC 7644 §3.5.2.1 appends only when the
                    // target itself is multi-valued).
                    for (name, v) in fields {
                        if ["schemas", "id"]
                            .iter()
                            .any(|k| k.eq_ignore_ascii_case(name))
                        {
                            continue;
                        }
                        let sub_path = parse_path(&format!("{urn}:{name}"))?;
                        apply_path(schema, doc, OpKind::Replace, &sub_path, Some(v))?;
                    }
                    Ok(())
                }
            }
        }
        Located::ExternalId => {
            match (op, value) {
                (OpKind::Remove, _) | (_, Some(Value::Null)) => {
                    doc.remove("externalId");
                }
                (_, Some(Value::String(s))) if s.len() <= MAX_VALUE_BYTES => {
                    doc.insert("externalId".into(), Value::String(s.clone()));
                }
                _ => {
                    return Err(ScimError::invalid_value(format!(
                        "externalId must be a string of at most {MAX_VALUE_BYTES} bytes"
                    )));
                }
            }
            Ok(())
        }
        Located::Attribute { extension, attr } => {
            check_writable(attr, path)?;
            if attr.mutability == Mutability::WriteOnly {
                // Write-only attributes (password) are accepted and never stored.
                return Ok(());
            }
            let target = container(doc, extension)?;
            if attr.multi_valued {
                apply_multi(schema, target, attr, op, path, value)
            } else {
                apply_single(target, attr, op, path, value)
            }
        }
    }
}

fn apply_single(
    target: &mut Map<String, Value>,
    attr: &Attribute,
    op: OpKind,
    path: &parser::PatchPath,
    value: Option<&Value>,
) -> ScimResult<()> {
    if path.filter.is_some() {
        return Err(ScimError::invalid_path(format!(
            "{} is not multi-valued: it takes no value filter",
            path.attr
        )));
    }
    let name = attr.name.clone();
    match (&path.attr.sub_attr, op) {
        (None, OpKind::Remove) => {
            target.remove(&name);
        }
        (None, _) => {
            let normalized = normalize_value(attr, value.unwrap_or(&Value::Null), &name)?;
            match (normalized, target.get_mut(&name)) {
                // add and replace on a complex attribute merge the given sub-attributes.
                (Some(Value::Object(new)), Some(Value::Object(old))) => {
                    for (k, v) in new {
                        old.insert(k, v);
                    }
                }
                (Some(v), _) => {
                    target.insert(name, v);
                }
                (None, _) => {
                    target.remove(&name);
                }
            }
        }
        (Some(sub_name), _) => {
            let sub = attr.sub(sub_name).ok_or_else(|| {
                ScimError::invalid_path(format!("unknown attribute {}", path.attr))
            })?;
            if sub.mutability == Mutability::ReadOnly {
                return Err(ScimError::mutability(format!("{} is read-only", path.attr)));
            }
            let normalized = match op {
                OpKind::Remove => None,
                _ => normalize_value(sub, value.unwrap_or(&Value::Null), &path.attr.to_string())?,
            };
            let object = target
                .entry(name.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(fields) = object {
                match normalized {
                    Some(v) => {
                        fields.insert(sub.name.clone(), v);
                    }
                    None => {
                        fields.remove(&sub.name);
                    }
                }
                if fields.is_empty() {
                    target.remove(&name);
                }
            }
        }
    }
    Ok(())
}

/// The elements an operation's value gives a multi-valued attribute. More than an
/// attribute may hold is refused here, before they are compared with the stored ones.
fn elements_of(value: Option<&Value>, attr: &Attribute) -> ScimResult<Vec<Value>> {
    let items = match normalize_value(attr, value.unwrap_or(&Value::Null), &attr.name)? {
        Some(Value::Array(items)) => items,
        Some(other) => vec![other],
        None => Vec::new(),
    };
    if items.len() > MAX_MULTI_VALUES {
        return Err(too_many_values(&attr.name, items.len()).into());
    }
    Ok(items)
}

fn is_primary(v: &Value) -> bool {
    v.get("primary").and_then(Value::as_bool) == Some(true)
}

/// Clears `primary` on every element but `keep` (RFC 7643 §2.4: at most one primary).
fn clear_primary_except(items: &mut [Value], keep: &[usize]) {
    for (i, item) in items.iter_mut().enumerate() {
        if !keep.contains(&i)
            && let Some(obj) = item.as_object_mut()
            && obj.get("primary").and_then(Value::as_bool) == Some(true)
        {
            obj.insert("primary".into(), Value::Bool(false));
        }
    }
}

fn apply_multi(
    schema: &ResourceSchema,
    target: &mut Map<String, Value>,
    attr: &Attribute,
    op: OpKind,
    path: &parser::PatchPath,
    value: Option<&Value>,
) -> ScimResult<()> {
    let name = attr.name.clone();
    let mut items: Vec<Value> = match target.remove(&name) {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    let result = apply_multi_items(schema, &mut items, attr, op, path, value);
    if !items.is_empty() {
        target.insert(name, Value::Array(items));
    }
    result
}

fn apply_multi_items(
    schema: &ResourceSchema,
    items: &mut Vec<Value>,
    attr: &Attribute,
    op: OpKind,
    path: &parser::PatchPath,
    value: Option<&Value>,
) -> ScimResult<()> {
    let sub = match &path.sub_attr {
        Some(s) => Some(s.as_str()),
        None => path.attr.sub_attr.as_deref(),
    };
    let sub_attr = match sub {
        Some(s) => {
            let found = attr.sub(s).ok_or_else(|| {
                ScimError::invalid_path(format!("{} has no sub-attribute {s}", attr.name))
            })?;
            if found.mutability == Mutability::ReadOnly {
                return Err(ScimError::mutability(format!(
                    "{}.{} is read-only",
                    attr.name, found.name
                )));
            }
            Some(found)
        }
        None => None,
    };
    let selected: Vec<usize> = match &path.filter {
        None => (0..items.len()).collect(),
        Some(filter) => {
            let element = element_filter(schema, attr, &path.attr, filter)?;
            let shape = shape_of(attr);
            items
                .iter()
                .enumerate()
                .filter(|(_, item)| element.matches_element(shape, item))
                .map(|(i, _)| i)
                .collect()
        }
    };
    match (op, sub_attr, &path.filter) {
        // Whole attribute, no filter.
        (OpKind::Add, None, None) => {
            let new = elements_of(value, attr)?;
            let mut added = Vec::new();
            for element in new {
                if let Some(pos) = items.iter().position(|old| same_value(old, &element)) {
                    items[pos] = element;
                    added.push(pos);
                } else {
                    items.push(element);
                    added.push(items.len() - 1);
                }
            }
            let primary: Vec<usize> = added
                .into_iter()
                .filter(|&i| is_primary(&items[i]))
                .collect();
            if !primary.is_empty() {
                clear_primary_except(items, &primary[..1]);
            }
        }
        (OpKind::Replace, None, None) => {
            *items = elements_of(value, attr)?;
        }
        (OpKind::Remove, None, None) => {
            // Entra's default member removal carries a value: remove only those listed.
            match value {
                Some(v) if !v.is_null() => {
                    let listed = elements_of(Some(v), attr)?;
                    items.retain(|item| !listed.iter().any(|l| same_value(item, l)));
                }
                _ => items.clear(),
            }
        }
        // Filtered elements, whole.
        (OpKind::Remove, None, Some(_)) => {
            let mut index = 0;
            items.retain(|_| {
                let keep = !selected.contains(&index);
                index += 1;
                keep
            });
        }
        (OpKind::Add | OpKind::Replace, None, Some(filter)) => {
            let mut new = elements_of(value, attr)?;
            if selected.is_empty() {
                if op == OpKind::Replace && new.len() != 1 {
                    return Err(ScimError::no_target(format!(
                        "no value of {} matches {filter}",
                        attr.name
                    )));
                }
                // Nothing matched: the value becomes a new element carrying the filter's
                // equalities (`emails[type eq "work"]` creates a work email).
                for element in new.iter_mut() {
                    seed_from_filter(element, filter);
                }
                let base = items.len();
                items.extend(new);
                let primary: Vec<usize> = (base..items.len())
                    .filter(|&i| is_primary(&items[i]))
                    .collect();
                if !primary.is_empty() {
                    clear_primary_except(items, &primary[..1]);
                }
            } else {
                let Some(first) = new.pop() else {
                    return Err(ScimError::invalid_value(format!(
                        "{} needs a value",
                        attr.name
                    )));
                };
                for &i in &selected {
                    merge_element(&mut items[i], &first);
                }
                if is_primary(&first) {
                    clear_primary_except(items, &selected[..1]);
                }
            }
        }
        // A sub-attribute of the selected (or all) elements.
        (OpKind::Remove, Some(sub), _) => {
            for &i in &selected {
                if let Some(obj) = items[i].as_object_mut() {
                    obj.remove(&sub.name);
                }
            }
        }
        (OpKind::Add | OpKind::Replace, Some(sub), filter) => {
            let normalized = normalize_value(
                sub,
                value.unwrap_or(&Value::Null),
                &format!("{}.{}", attr.name, sub.name),
            )?;
            let Some(v) = normalized else {
                for &i in &selected {
                    if let Some(obj) = items[i].as_object_mut() {
                        obj.remove(&sub.name);
                    }
                }
                return Ok(());
            };
            if selected.is_empty() {
                let mut element = Value::Object(Map::new());
                if let Some(filter) = filter {
                    seed_from_filter(&mut element, filter);
                }
                element[sub.name.as_str()] = v.clone();
                items.push(element);
                if sub.name == "primary" && v == Value::Bool(true) {
                    let last = items.len() - 1;
                    clear_primary_except(items, &[last]);
                }
            } else {
                for &i in &selected {
                    if let Some(obj) = items[i].as_object_mut() {
                        obj.insert(sub.name.clone(), v.clone());
                    }
                }
                if sub.name == "primary" && v == Value::Bool(true) {
                    clear_primary_except(items, &selected[..1]);
                }
            }
        }
    }
    items.retain(|item| !item.as_object().is_some_and(Map::is_empty));
    Ok(())
}

/// Two elements hold the same value: equal `value` sub-attributes, or equal wholes.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a.get("value"), b.get("value")) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn merge_element(target: &mut Value, new: &Value) {
    match (target.as_object_mut(), new.as_object()) {
        (Some(old), Some(fields)) => {
            for (k, v) in fields {
                old.insert(k.clone(), v.clone());
            }
        }
        _ => *target = new.clone(),
    }
}

/// Copies `sub eq "x"` comparisons of a value filter into a new element.
fn seed_from_filter(element: &mut Value, filter: &parser::Filter) {
    match filter {
        parser::Filter::And(a, b) => {
            seed_from_filter(element, a);
            seed_from_filter(element, b);
        }
        parser::Filter::Compare {
            attr,
            op: parser::CompareOp::Eq,
            value,
        } if attr.uri.is_none() && attr.sub_attr.is_none() => {
            let v = match value {
                parser::CompValue::Str(s) => Value::String(s.clone()),
                parser::CompValue::Bool(b) => Value::Bool(*b),
                parser::CompValue::Number(n) => serde_json::Number::from_f64(*n)
                    .map(Value::Number)
                    .unwrap_or(Value::Null),
                parser::CompValue::Null => Value::Null,
            };
            if let Some(obj) = element.as_object_mut()
                && !obj.keys().any(|k| k.eq_ignore_ascii_case(&attr.name))
            {
                obj.insert(attr.name.clone(), v);
            }
        }
        _ => {}
    }
}

fn element_filter(
    schema: &ResourceSchema,
    attr: &Attribute,
    path: &parser::AttrPath,
    filter: &parser::Filter,
) -> ScimResult<Filter> {
    if attr.kind != AttrType::Complex && shape_of(attr) != ElemShape::Simple {
        return Err(ScimError::invalid_path(format!(
            "{path} takes no value filter"
        )));
    }
    let collection = Collection::Values {
        key: attr.name.clone(),
        shape: shape_of(attr),
    };
    resolve_element(schema, Resource::User, path, &collection, filter)
        .map_err(|e| ScimError::invalid_path(e.detail))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::Registry;
    use serde_json::json;

    fn apply(doc: Value, ops: Value) -> ScimResult<Value> {
        let registry = Registry::load().expect("schemas");
        let ops = super::super::parse_request(&json!({
            "schemas": [crate::scim::PATCH_OP],
            "Operations": ops
        }))?;
        let mut doc = doc.as_object().cloned().unwrap_or_default();
        apply_user(&registry.user, &mut doc, &ops)?;
        Ok(Value::Object(doc))
    }

    #[test]
    fn entra_disables_with_a_string_boolean() {
        let doc = apply(
            json!({"userName": "a", "active": true}),
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        )
        .expect("applies");
        assert_eq!(doc["active"], false);
    }

    #[test]
    fn work_email_path_creates_the_email_and_keeps_the_others() {
        let doc = apply(
            json!({"userName": "a", "emails": [{"value": "h@x.example", "type": "home"}]}),
            json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "w@x.example"}]),
        )
        .expect("applies");
        let emails = doc["emails"].as_array().expect("emails");
        assert_eq!(emails.len(), 2);
        assert!(
            emails
                .iter()
                .any(|e| e["type"] == "work" && e["value"] == "w@x.example")
        );
    }

    #[test]
    fn pathless_replace_takes_dotted_and_urn_keys() {
        let doc = apply(
            json!({"userName": "a", "name": {"givenName": "A"}}),
            json!([{"op": "replace", "value": {
                "name.givenName": "B",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "7"
            }}]),
        )
        .expect("applies");
        assert_eq!(doc["name"]["givenName"], "B");
        assert_eq!(
            doc["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["employeeNumber"],
            "7"
        );
    }

    #[test]
    fn a_locally_owned_attribute_is_read_only_over_scim() {
        let err = apply(
            json!({"userName": "a"}),
            json!([{"op": "add", "path": "urn:rollcall:params:scim:schemas:extension:contactcentre:2.0:User:routingProfile", "value": "Sales"}]),
        )
        .unwrap_err();
        assert_eq!(
            err.scim_type,
            Some(crate::scim::error::ScimType::Mutability)
        );
    }

    #[test]
    fn setting_primary_clears_it_elsewhere() {
        let doc = apply(
            json!({"userName": "a", "emails": [
                {"value": "a@x.example", "primary": true},
                {"value": "b@x.example", "type": "work"}
            ]}),
            json!([{"op": "replace", "path": "emails[value eq \"b@x.example\"].primary", "value": true}]),
        )
        .expect("applies");
        let primaries: Vec<&Value> = doc["emails"]
            .as_array()
            .expect("emails")
            .iter()
            .filter(|e| e["primary"] == true)
            .collect();
        assert_eq!(primaries.len(), 1);
        assert_eq!(primaries[0]["value"], "b@x.example");
    }
}
