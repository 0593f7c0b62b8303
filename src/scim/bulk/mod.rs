//! SCIM bulk requests (RFC 7644 §3.7), pure: parsing a BulkRequest and the `bulkId:`
//! references of its operations; `order` says when each runs and what its references stand
//! for.

mod order;

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::filter::Resource;
use super::{ScimError, ScimResult};

pub use order::{Outcome, Schedule, bindings, circular, resolve_id, substitute};

/// RFC 7644 BulkRequest message URN.
pub const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
/// RFC 7644 BulkResponse message URN.
pub const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
/// The most operations one bulk request may hold (advertised as `bulk.maxOperations`).
pub const MAX_OPERATIONS: usize = 1000;
/// How a value names the resource another operation of the request creates.
const REFERENCE: &str = "bulkId:";

/// The methods a bulk operation may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    fn parse(text: &str) -> Option<Method> {
        [Method::Post, Method::Put, Method::Patch, Method::Delete]
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(text))
    }
}

/// The endpoint of a resource type: `/Users` or `/Groups`.
pub fn endpoint(resource: Resource) -> &'static str {
    match resource {
        Resource::User => "/Users",
        Resource::Group => "/Groups",
    }
}

/// One operation of a bulk request, as sent.
#[derive(Debug, Clone)]
pub struct Operation {
    /// The method as the response names it: upper-cased when known, else as sent.
    pub method: Option<String>,
    /// The operation's `bulkId`, when it has one.
    pub bulk_id: Option<String>,
    /// What to run, or why the operation cannot run (it fails with this error at its turn).
    pub request: ScimResult<Request>,
}

/// A well-formed operation.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub resource: Resource,
    /// The id in the path (`/Users/{id}`), possibly `bulkId:…`; none for POST.
    pub id: Option<String>,
    /// `version`: the `If-Match` the operation is sent with.
    pub version: Option<String>,
    /// The body of a POST, PUT or PATCH.
    pub data: Option<Value>,
    /// The bulkIds the path and the data refer to, each once.
    pub references: Vec<String>,
}

/// A parsed bulk request.
#[derive(Debug, Clone)]
pub struct BulkRequest {
    pub operations: Vec<Operation>,
    /// Stop after this many failed operations.
    pub fail_on_errors: Option<usize>,
    /// Which operation declares each bulkId.
    pub declared: HashMap<String, usize>,
}

/// A member of a JSON object by name, case-insensitively (RFC 7643 §2.1).
fn member<'a>(fields: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    fields
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
        .filter(|v| !v.is_null())
}

/// Parses a BulkRequest. A malformed envelope (not an object, no BulkRequest schema,
/// `Operations` not an array, a bad `failOnErrors`, a bulkId used twice) is a 400 and more
/// than `MAX_OPERATIONS` operations a 413, for the whole request; a malformed operation
/// only fails itself.
pub fn parse(body: &Value) -> ScimResult<BulkRequest> {
    let Some(fields) = body.as_object() else {
        return Err(ScimError::invalid_syntax(
            "the bulk request must be a JSON object",
        ));
    };
    let schema_ok = member(fields, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter().any(|u| {
                u.as_str()
                    .is_some_and(|u| u.eq_ignore_ascii_case(BULK_REQUEST))
            })
        });
    if !schema_ok {
        return Err(ScimError::invalid_syntax(format!(
            "schemas must contain {BULK_REQUEST}"
        )));
    }
    let Some(Value::Array(ops)) = member(fields, "Operations") else {
        return Err(ScimError::invalid_syntax("Operations must be an array"));
    };
    if ops.len() > MAX_OPERATIONS {
        return Err(ScimError::too_large(format!(
            "the bulk request has {} operations, more than maxOperations ({MAX_OPERATIONS})",
            ops.len()
        )));
    }
    let fail_on_errors = match member(fields, "failOnErrors") {
        None => None,
        Some(v) => match v.as_u64().filter(|n| *n >= 1) {
            Some(n) => Some(usize::try_from(n).unwrap_or(usize::MAX)),
            None => {
                return Err(ScimError::invalid_value(format!(
                    "failOnErrors must be an integer of at least 1, not {v}"
                )));
            }
        },
    };
    let operations: Vec<Operation> = ops
        .iter()
        .enumerate()
        .map(|(i, op)| parse_operation(i, op))
        .collect();
    let mut declared = HashMap::new();
    for (i, op) in operations.iter().enumerate() {
        if let Some(bulk_id) = &op.bulk_id
            && let Some(first) = declared.insert(bulk_id.clone(), i)
        {
            return Err(ScimError::invalid_value(format!(
                "bulkId {bulk_id:?} is used by Operations[{first}] and Operations[{i}]; bulkIds must be unique within a request"
            )));
        }
    }
    Ok(BulkRequest {
        operations,
        fail_on_errors,
        declared,
    })
}

fn parse_operation(i: usize, op: &Value) -> Operation {
    let Some(fields) = op.as_object() else {
        return Operation {
            method: None,
            bulk_id: None,
            request: Err(ScimError::invalid_syntax(format!(
                "Operations[{i}] must be a JSON object"
            ))),
        };
    };
    let sent_method = member(fields, "method").and_then(Value::as_str);
    let method = sent_method.and_then(Method::parse);
    let bulk_id = member(fields, "bulkId")
        .and_then(Value::as_str)
        .filter(|b| !b.is_empty())
        .map(str::to_string);
    Operation {
        method: method
            .map(|m| m.as_str().to_string())
            .or(sent_method.map(str::to_string)),
        request: parse_request(i, fields, method, bulk_id.is_some()),
        bulk_id,
    }
}

fn parse_request(
    i: usize,
    fields: &Map<String, Value>,
    method: Option<Method>,
    has_bulk_id: bool,
) -> ScimResult<Request> {
    let method = match (member(fields, "method"), method) {
        (_, Some(m)) => m,
        (None, _) => {
            return Err(ScimError::invalid_value(format!(
                "Operations[{i}] has no method; use POST, PUT, PATCH or DELETE"
            )));
        }
        (Some(Value::String(m)), None) => {
            return Err(ScimError::invalid_value(format!(
                "Operations[{i}]: method {m:?} is not allowed in a bulk request; use POST, PUT, PATCH or DELETE"
            )));
        }
        (Some(other), None) => {
            return Err(ScimError::invalid_syntax(format!(
                "Operations[{i}]: method must be a string, not {other}"
            )));
        }
    };
    match member(fields, "bulkId") {
        Some(Value::String(b)) if b.is_empty() => {
            return Err(ScimError::invalid_value(format!(
                "Operations[{i}]: bulkId must not be empty"
            )));
        }
        Some(Value::String(_)) | None => {}
        Some(other) => {
            return Err(ScimError::invalid_syntax(format!(
                "Operations[{i}]: bulkId must be a string, not {other}"
            )));
        }
    }
    if method == Method::Post && !has_bulk_id {
        return Err(ScimError::invalid_value(format!(
            "Operations[{i}]: a POST operation needs a bulkId (RFC 7644 §3.7)"
        )));
    }
    let version = match member(fields, "version") {
        None => None,
        Some(Value::String(v)) => Some(v.clone()),
        Some(other) => {
            return Err(ScimError::invalid_syntax(format!(
                "Operations[{i}]: version must be a string (an ETag such as W/\"3\"), not {other}"
            )));
        }
    };
    let path = match member(fields, "path") {
        Some(Value::String(p)) => p,
        None => {
            return Err(ScimError::invalid_value(format!(
                "Operations[{i}] has no path; use /Users, /Groups, /Users/{{id}} or /Groups/{{id}}"
            )));
        }
        Some(other) => {
            return Err(ScimError::invalid_syntax(format!(
                "Operations[{i}]: path must be a string, not {other}"
            )));
        }
    };
    let (resource, id) = parse_path(i, path)?;
    match (method, &id) {
        (Method::Post, Some(_)) => {
            return Err(ScimError::invalid_value(format!(
                "Operations[{i}]: a POST goes to a resource type's endpoint (/Users or /Groups), not to {path:?}"
            )));
        }
        (Method::Put | Method::Patch | Method::Delete, None) => {
            return Err(ScimError::invalid_value(format!(
                "Operations[{i}]: a {} names one resource (/Users/{{id}} or /Groups/{{id}}), not {path:?}",
                method.as_str()
            )));
        }
        _ => {}
    }
    let data = match (method, member(fields, "data")) {
        (Method::Delete, _) => None,
        (_, Some(Value::Object(data))) => Some(Value::Object(data.clone())),
        (_, None) => {
            return Err(ScimError::invalid_value(format!(
                "Operations[{i}]: a {} needs data",
                method.as_str()
            )));
        }
        (_, Some(other)) => {
            return Err(ScimError::invalid_syntax(format!(
                "Operations[{i}]: data must be a JSON object, not {}",
                kind(other)
            )));
        }
    };
    let mut seen = HashSet::new();
    let mut references = Vec::new();
    let mut note = |bulk_id: &str| {
        if seen.insert(bulk_id.to_string()) {
            references.push(bulk_id.to_string());
        }
    };
    if let Some(bulk_id) = id.as_deref().and_then(|id| id.strip_prefix(REFERENCE)) {
        note(bulk_id);
    }
    if let Some(data) = &data {
        visit_references(data, &mut note);
    }
    Ok(Request {
        method,
        resource,
        id,
        version,
        data,
        references,
    })
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `/Users`, `/Groups`, `/Users/{id}`, `/Groups/{id}`: the resource segment in any case,
/// one trailing slash allowed, as on the SCIM routes.
fn parse_path(i: usize, path: &str) -> ScimResult<(Resource, Option<String>)> {
    let outside = || {
        ScimError::invalid_value(format!(
            "Operations[{i}]: path {path:?} is not /Users, /Groups, /Users/{{id}} or /Groups/{{id}}"
        ))
    };
    let rest = path.strip_prefix('/').ok_or_else(outside)?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (first, id) = match rest.split_once('/') {
        Some((first, id)) => (first, Some(id)),
        None => (rest, None),
    };
    let resource = if first.eq_ignore_ascii_case("Users") {
        Resource::User
    } else if first.eq_ignore_ascii_case("Groups") {
        Resource::Group
    } else {
        return Err(outside());
    };
    match id {
        None => Ok((resource, None)),
        Some(id) if id.is_empty() || id.contains(['/', '?', '#']) => Err(outside()),
        Some(id) => Ok((resource, Some(id.to_string()))),
    }
}

/// Calls `note` with the bulkId of every string value `bulkId:<id>` in a document.
fn visit_references(value: &Value, note: &mut impl FnMut(&str)) {
    match value {
        Value::String(s) => {
            if let Some(bulk_id) = s.strip_prefix(REFERENCE) {
                note(bulk_id);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| visit_references(v, note)),
        Value::Object(fields) => fields.values().for_each(|v| visit_references(v, note)),
        _ => {}
    }
}

#[cfg(test)]
pub(super) mod fixtures {
    use super::BULK_REQUEST;
    use serde_json::{Value, json};

    pub fn bulk(ops: Value) -> Value {
        json!({"schemas": [BULK_REQUEST], "Operations": ops})
    }

    pub fn user(bulk_id: &str) -> Value {
        json!({"method": "POST", "path": "/Users", "bulkId": bulk_id, "data": {"userName": bulk_id}})
    }

    pub fn group(bulk_id: &str, members: &[&str]) -> Value {
        let members: Vec<Value> = members
            .iter()
            .map(|m| json!({"value": format!("bulkId:{m}")}))
            .collect();
        json!({"method": "POST", "path": "/Groups", "bulkId": bulk_id, "data": {"displayName": bulk_id, "members": members}})
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{bulk, group, user};
    use super::*;
    use crate::scim::error::ScimType;
    use serde_json::json;

    #[test]
    fn envelopes_are_checked() {
        let err = parse(&json!([])).unwrap_err();
        assert_eq!(
            (err.status, err.scim_type),
            (400, Some(ScimType::InvalidSyntax))
        );
        let err = parse(&json!({"Operations": []})).unwrap_err();
        assert_eq!(
            (err.status, err.scim_type),
            (400, Some(ScimType::InvalidSyntax))
        );
        let err = parse(&json!({"schemas": [BULK_REQUEST], "Operations": {}})).unwrap_err();
        assert_eq!(
            (err.status, err.scim_type),
            (400, Some(ScimType::InvalidSyntax))
        );
        let err = parse(&json!({"schemas": [BULK_REQUEST], "Operations": [], "failOnErrors": 0}))
            .unwrap_err();
        assert_eq!(
            (err.status, err.scim_type),
            (400, Some(ScimType::InvalidValue))
        );
        let ok = parse(&json!({"SCHEMAS": [BULK_REQUEST], "operations": [], "failOnErrors": 2}))
            .unwrap();
        assert_eq!(ok.fail_on_errors, Some(2));
        assert!(ok.operations.is_empty());
    }

    #[test]
    fn too_many_operations_are_413_and_duplicate_bulk_ids_400() {
        let ops: Vec<Value> = (0..=MAX_OPERATIONS).map(|n| user(&n.to_string())).collect();
        let err = parse(&bulk(Value::Array(ops))).unwrap_err();
        assert_eq!((err.status, err.scim_type), (413, Some(ScimType::TooLarge)));
        assert!(err.detail.contains("1000"), "{}", err.detail);

        let err = parse(&bulk(json!([user("a"), user("b"), user("a")]))).unwrap_err();
        assert_eq!(
            (err.status, err.scim_type),
            (400, Some(ScimType::InvalidValue))
        );
        assert!(err.detail.contains("Operations[0]") && err.detail.contains("Operations[2]"));
    }

    #[test]
    fn a_malformed_operation_fails_only_itself() {
        let request = parse(&bulk(json!([
            {"method": "GET", "path": "/Users/1"},
            {"method": "POST", "path": "/Users", "data": {"userName": "x"}},
            {"method": "POST", "path": "/Schemas", "bulkId": "s", "data": {}},
            {"method": "PUT", "path": "/Users", "data": {}},
            {"method": "PATCH", "path": "/Users/1"},
            {"method": "delete", "path": "/groups/abc/"},
            "nonsense",
            {"method": 7, "path": "/Users/1"},
            {"method": "POST", "path": "/Users/1", "bulkId": "p", "data": {}},
        ])))
        .unwrap();
        let statuses: Vec<Option<ScimType>> = request
            .operations
            .iter()
            .map(|op| op.request.as_ref().err().and_then(|e| e.scim_type))
            .collect();
        use ScimType::{InvalidSyntax as S, InvalidValue as V};
        assert_eq!(
            statuses,
            vec![
                Some(V),
                Some(V),
                Some(V),
                Some(V),
                Some(V),
                None,
                Some(S),
                Some(S),
                Some(V)
            ]
        );
        assert_eq!(request.operations[0].method.as_deref(), Some("GET"));
        let delete = request.operations[5].request.as_ref().unwrap();
        assert_eq!(delete.method, Method::Delete);
        assert_eq!(delete.resource, Resource::Group);
        assert_eq!(delete.id.as_deref(), Some("abc"));
        assert_eq!(request.operations[5].method.as_deref(), Some("DELETE"));
    }

    #[test]
    fn references_are_collected_once_from_path_and_data() {
        let request = parse(&bulk(json!([
            group("g", &["a", "b", "a"]),
            {"method": "PATCH", "path": "/Users/bulkId:a", "data": {"Operations": [
                {"op": "add", "path": "manager", "value": "bulkId:b"}]}},
            user("a"),
            user("b"),
        ])))
        .unwrap();
        let refs = |i: usize| {
            request.operations[i]
                .request
                .as_ref()
                .unwrap()
                .references
                .clone()
        };
        assert_eq!(refs(0), vec!["a", "b"]);
        assert_eq!(refs(1), vec!["a", "b"]);
        assert!(refs(2).is_empty());
    }
}
