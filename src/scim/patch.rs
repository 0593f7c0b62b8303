//! PATCH (RFC 7644 §3.5.2): add, replace and remove operations with attribute paths,
//! value-filter paths and path-less values, applied to a resource document in memory. The
//! caller stores the result only if every operation succeeded, so a request is atomic.
//!
//! Accepts the shapes identity providers really send (IDP-NOTES.md): capitalised op names,
//! booleans as strings, path-less values with dotted and URN-qualified keys, whole-extension
//! paths, a bare manager id, stray `id`/`schemas` keys inside values.

use scim_filter_parser as parser;
use serde_json::{Map, Value};

use super::filter::{Resource, resolve_element, shape_of};
use super::resource::{MAX_VALUE_BYTES, member_ids, normalize_value};
use super::schema::{AttrType, Attribute, ResourceSchema};
use super::{PATCH_OP, ScimError, ScimResult};
use crate::domain::filter::{Collection, ElemShape, Filter};
use crate::domain::ownership::Mutability;
use crate::domain::validation::{MAX_MULTI_VALUES, too_many_values};

/// RFC 7644 §3.5.2 operation names, matched case-insensitively.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Replace,
    Remove,
}

/// One parsed operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub op: OpKind,
    pub path: Option<String>,
    pub value: Option<Value>,
}

/// Parses a PatchOp request body.
pub fn parse_request(body: &Value) -> ScimResult<Vec<Operation>> {
    let Some(fields) = body.as_object() else {
        return Err(ScimError::invalid_syntax(
            "the PATCH body must be a JSON object",
        ));
    };
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    };
    if let Some(schemas) = get("schemas") {
        let ok = schemas
            .as_array()
            .is_some_and(|s| s.iter().any(|u| u.as_str() == Some(PATCH_OP)));
        if !ok {
            return Err(ScimError::invalid_syntax(format!(
                "schemas must contain {PATCH_OP}"
            )));
        }
    }
    let Some(Value::Array(ops)) = get("Operations") else {
        return Err(ScimError::invalid_syntax("Operations must be an array"));
    };
    ops.iter()
        .enumerate()
        .map(|(i, op)| parse_operation(i, op))
        .collect()
}

fn parse_operation(index: usize, op: &Value) -> ScimResult<Operation> {
    let Some(fields) = op.as_object() else {
        return Err(ScimError::invalid_syntax(format!(
            "Operations[{index}] must be an object"
        )));
    };
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    };
    let kind = match get("op").and_then(Value::as_str) {
        Some(s) if s.eq_ignore_ascii_case("add") => OpKind::Add,
        Some(s) if s.eq_ignore_ascii_case("replace") => OpKind::Replace,
        Some(s) if s.eq_ignore_ascii_case("remove") => OpKind::Remove,
        other => {
            return Err(ScimError::invalid_syntax(format!(
                "Operations[{index}].op must be add, replace or remove, not {}",
                other.unwrap_or("missing")
            )));
        }
    };
    let path = match get("path") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(s.trim().to_string()),
        Some(_) => {
            return Err(ScimError::invalid_path(format!(
                "Operations[{index}].path must be a string"
            )));
        }
    };
    let value = get("value").cloned();
    if kind != OpKind::Remove && value.is_none() {
        return Err(ScimError::invalid_value(format!(
            "Operations[{index}] needs a value"
        )));
    }
    if kind == OpKind::Remove && path.is_none() {
        return Err(ScimError::no_target(format!(
            "Operations[{index}]: remove needs a path"
        )));
    }
    Ok(Operation {
        op: kind,
        path,
        value,
    })
}

fn parse_path(text: &str) -> ScimResult<parser::PatchPath> {
    parser::parse_path(text)
        .map_err(|e| ScimError::invalid_path(format!("invalid path {text:?}: {e}")))
}

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

fn apply_path(
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

pub use crate::domain::group::MemberOp;

/// Applies operations to a group: `displayName`/`externalId` change in `doc`, membership
/// changes come back as `MemberOp`s for the join table.
pub fn apply_group(
    schema: &ResourceSchema,
    doc: &mut Map<String, Value>,
    ops: &[Operation],
) -> ScimResult<Vec<MemberOp>> {
    let mut member_ops = Vec::new();
    for op in ops {
        match &op.path {
            None => {
                let Some(Value::Object(fields)) = &op.value else {
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
                    group_path(schema, doc, &mut member_ops, op.op, &path, Some(v))?;
                }
            }
            Some(text) => {
                let path = parse_path(text)?;
                group_path(
                    schema,
                    doc,
                    &mut member_ops,
                    op.op,
                    &path,
                    op.value.as_ref(),
                )?;
            }
        }
    }
    Ok(member_ops)
}

fn group_path(
    schema: &ResourceSchema,
    doc: &mut Map<String, Value>,
    member_ops: &mut Vec<MemberOp>,
    op: OpKind,
    path: &parser::PatchPath,
    value: Option<&Value>,
) -> ScimResult<()> {
    if path
        .attr
        .uri
        .as_deref()
        .is_some_and(|u| !u.eq_ignore_ascii_case(&schema.core.id))
    {
        return Err(ScimError::invalid_path(format!(
            "unknown attribute {}",
            path.attr
        )));
    }
    if !path.attr.name.eq_ignore_ascii_case("members") {
        if path.attr.name.eq_ignore_ascii_case("displayName") && op == OpKind::Remove {
            return Err(ScimError::invalid_value("displayName is required"));
        }
        return apply_path(schema, doc, op, path, value);
    }
    if path.attr.sub_attr.is_some() || path.sub_attr.is_some() {
        return Err(ScimError::mutability(
            "members' sub-attributes cannot be changed; add or remove the member",
        ));
    }
    match (op, &path.filter) {
        (OpKind::Add, None) => {
            member_ops.push(MemberOp::Add(member_ids(value.unwrap_or(&Value::Null))?))
        }
        (OpKind::Replace, None) => {
            member_ops.push(MemberOp::RemoveAll);
            member_ops.push(MemberOp::Add(member_ids(value.unwrap_or(&Value::Null))?));
        }
        (OpKind::Remove, None) => match value {
            Some(v) if !v.is_null() => member_ops.push(MemberOp::Remove(member_ids(v)?)),
            _ => member_ops.push(MemberOp::RemoveAll),
        },
        (OpKind::Remove, Some(filter)) => {
            let ids = value_eq_ids(filter);
            if let Some(ids) = ids {
                member_ops.push(MemberOp::Remove(ids));
            } else {
                let element = resolve_element(
                    schema,
                    Resource::Group,
                    &path.attr,
                    &Collection::Members,
                    filter,
                )
                .map_err(|e| ScimError::invalid_path(e.detail))?;
                member_ops.push(MemberOp::RemoveWhere(element));
            }
        }
        (OpKind::Add | OpKind::Replace, Some(_)) => {
            // A filtered add/replace names existing members; their only writable data is
            // membership itself, so this adds the given ids.
            member_ops.push(MemberOp::Add(member_ids(value.unwrap_or(&Value::Null))?));
        }
    }
    Ok(())
}

/// `value eq "a"` or `value eq "a" or value eq "b"`: the ids, for a one-row-each removal.
fn value_eq_ids(filter: &parser::Filter) -> Option<Vec<String>> {
    match filter {
        parser::Filter::Compare {
            attr,
            op: parser::CompareOp::Eq,
            value: parser::CompValue::Str(id),
        } if attr.uri.is_none()
            && attr.sub_attr.is_none()
            && attr.name.eq_ignore_ascii_case("value") =>
        {
            Some(vec![id.clone()])
        }
        parser::Filter::Or(a, b) => {
            let mut ids = value_eq_ids(a)?;
            ids.extend(value_eq_ids(b)?);
            Some(ids)
        }
        _ => None,
    }
}
