//! PATCH (RFC 7644 §3.5.2): add, replace and remove operations with attribute paths,
//! value-filter paths and path-less values, applied to a resource document in memory. The
//! caller stores the result only if every operation succeeded, so a request is atomic.
//!
//! Accepts the shapes identity providers really send (IDP-NOTES.md): capitalised op names,
//! booleans as strings, path-less values with dotted and URN-qualified keys, whole-extension
//! paths, a bare manager id, stray `id`/`schemas` keys inside values.
//!
//! `parse_request` reads the request; `user` applies it to a user document, `group` to a
//! group's attributes and membership.

mod group;
mod user;

use scim_filter_parser as parser;
use serde_json::Value;

use super::{PATCH_OP, ScimError, ScimResult};

pub use self::group::apply_group;
pub use self::user::apply_user;
pub use crate::domain::group::MemberOp;

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

pub(crate) fn parse_path(text: &str) -> ScimResult<parser::PatchPath> {
    parser::parse_path(text)
        .map_err(|e| ScimError::invalid_path(format!("invalid path {text:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ops_are_case_insensitive_and_keep_path_and_value() {
        let ops = parse_request(&json!({
            "schemas": [PATCH_OP],
            "Operations": [
                {"op": "Replace", "path": "active", "value": "False"},
                {"op": "add", "value": {"title": "x"}},
                {"op": "REMOVE", "path": "members[value eq \"1\"]"}
            ]
        }))
        .expect("parses");
        assert_eq!(
            ops.iter().map(|o| o.op).collect::<Vec<_>>(),
            vec![OpKind::Replace, OpKind::Add, OpKind::Remove]
        );
        assert_eq!(ops[0].path.as_deref(), Some("active"));
        assert_eq!(ops[1].value, Some(json!({"title": "x"})));
    }

    #[test]
    fn malformed_requests_are_refused_with_their_scim_type() {
        let no_ops = parse_request(&json!({"schemas": [PATCH_OP]})).unwrap_err();
        assert_eq!(no_ops.status, 400);
        let bad_op = parse_request(&json!({
            "schemas": [PATCH_OP],
            "Operations": [{"op": "move", "path": "title"}]
        }))
        .unwrap_err();
        assert_eq!(bad_op.status, 400);
        let bad_path = parse_path("emails[type eq").unwrap_err();
        assert_eq!(
            bad_path.scim_type,
            Some(crate::scim::error::ScimType::InvalidPath)
        );
    }
}
