//! SCIM bulk requests (RFC 7644 §3.7), pure: parsing a BulkRequest, the `bulkId:` references
//! between its operations, and the order they run in (request order, an operation deferred
//! until the POSTs it names have run; circular references found before anything runs).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

use serde_json::{Map, Value};

use super::error::ScimType;
use super::filter::Resource;
use super::{ScimError, ScimResult};

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

/// Replaces every string value `bulkId:<id>` whose bulkId `ids` maps with the id it maps to.
pub fn substitute(value: &mut Value, ids: &HashMap<String, String>) {
    match value {
        Value::String(s) => {
            if let Some(id) = s.strip_prefix(REFERENCE).and_then(|b| ids.get(b)) {
                *s = id.clone();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| substitute(v, ids)),
        Value::Object(fields) => fields.values_mut().for_each(|v| substitute(v, ids)),
        _ => {}
    }
}

/// The path id with its bulkId replaced.
pub fn resolve_id(id: &str, ids: &HashMap<String, String>) -> String {
    id.strip_prefix(REFERENCE)
        .and_then(|b| ids.get(b))
        .cloned()
        .unwrap_or_else(|| id.to_string())
}

/// What became of an operation that ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A POST created the resource with this id.
    Created(String),
    /// A PUT, PATCH or DELETE succeeded.
    Done,
    /// The operation failed with this status.
    Failed(u16),
}

/// The ids an operation's bulkId references stand for, once the operations declaring them
/// have run; else why it cannot run: a bulkId no operation declares (400), one whose
/// operation failed (409), one declared by an operation other than a POST (400).
pub fn bindings(
    request: &BulkRequest,
    references: &[String],
    outcomes: &[Option<Outcome>],
) -> ScimResult<HashMap<String, String>> {
    let mut ids = HashMap::with_capacity(references.len());
    for bulk_id in references {
        let Some(&j) = request.declared.get(bulk_id) else {
            return Err(ScimError::invalid_value(format!(
                "bulkId:{bulk_id} names no operation of this request"
            )));
        };
        let declaring = &request.operations[j];
        match outcomes.get(j).and_then(Option::as_ref) {
            Some(Outcome::Created(id)) => {
                ids.insert(bulk_id.clone(), id.clone());
            }
            Some(Outcome::Failed(status)) => {
                return Err(ScimError::new(
                    409,
                    Some(ScimType::InvalidValue),
                    format!(
                        "bulkId:{bulk_id} names the resource of Operations[{j}], which failed with status {status}"
                    ),
                ));
            }
            Some(Outcome::Done) => {
                return Err(ScimError::invalid_value(format!(
                    "bulkId:{bulk_id} is the bulkId of Operations[{j}], a {}; only a POST's bulkId names a resource",
                    declaring.method.as_deref().unwrap_or("operation")
                )));
            }
            None => {
                return Err(ScimError::new(
                    409,
                    Some(ScimType::InvalidValue),
                    format!("bulkId:{bulk_id} names a resource not created yet"),
                ));
            }
        }
    }
    Ok(ids)
}

/// The order operations run in: request order, except that an operation waits until every
/// operation declaring a bulkId it refers to has run. Operations whose references form a
/// cycle are found up front and run (to fail) at their own turn.
#[derive(Debug)]
pub struct Schedule {
    /// Per operation: the operations it still waits for.
    waiting: Vec<usize>,
    /// Per operation: the operations waiting for it.
    dependents: Vec<Vec<usize>>,
    ready: BinaryHeap<Reverse<usize>>,
    /// Per operation: the index in `cycles` of the cycle it is part of.
    cycle_of: Vec<Option<usize>>,
    cycles: Vec<Vec<usize>>,
}

impl Schedule {
    pub fn new(request: &BulkRequest) -> Schedule {
        let n = request.operations.len();
        let depends_on: Vec<Vec<usize>> = request
            .operations
            .iter()
            .map(|op| {
                let mut deps: Vec<usize> = op
                    .request
                    .as_ref()
                    .map(|r| r.references.as_slice())
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|b| request.declared.get(b).copied())
                    .collect();
                deps.sort_unstable();
                deps.dedup();
                deps
            })
            .collect();
        let cycles = cycles(&depends_on);
        let mut cycle_of = vec![None; n];
        for (c, members) in cycles.iter().enumerate() {
            for &i in members {
                cycle_of[i] = Some(c);
            }
        }
        let mut waiting = vec![0; n];
        let mut dependents = vec![Vec::new(); n];
        for (i, deps) in depends_on.iter().enumerate() {
            if cycle_of[i].is_some() {
                continue;
            }
            waiting[i] = deps.len();
            for &j in deps {
                dependents[j].push(i);
            }
        }
        let ready = (0..n).filter(|&i| waiting[i] == 0).map(Reverse).collect();
        Schedule {
            waiting,
            dependents,
            ready,
            cycle_of,
            cycles,
        }
    }

    /// The next operation to run: the first in request order whose references are settled.
    pub fn next_ready(&mut self) -> Option<usize> {
        self.ready.pop().map(|Reverse(i)| i)
    }

    /// Records that operation `i` has run, releasing those waiting only for it.
    pub fn done(&mut self, i: usize) {
        for k in std::mem::take(&mut self.dependents[i]) {
            self.waiting[k] -= 1;
            if self.waiting[k] == 0 {
                self.ready.push(Reverse(k));
            }
        }
    }

    /// The operations of the reference cycle operation `i` is part of, if any.
    pub fn cycle(&self, i: usize) -> Option<&[usize]> {
        self.cycle_of[i].map(|c| self.cycles[c].as_slice())
    }
}

/// 409 for an operation in a reference cycle: RFC 7644 §3.7.1 lets a provider that cannot
/// resolve circular references answer 409.
pub fn circular(request: &BulkRequest, i: usize, cycle: &[usize]) -> ScimError {
    let names: Vec<String> = cycle
        .iter()
        .map(|&j| match &request.operations[j].bulk_id {
            Some(b) => format!("Operations[{j}] (bulkId {b})"),
            None => format!("Operations[{j}]"),
        })
        .collect();
    ScimError::new(
        409,
        Some(ScimType::InvalidValue),
        format!(
            "Operations[{i}] is part of a circular bulkId reference between {}; create the resources first, then add the references with PATCH",
            names.join(", ")
        ),
    )
}

/// The strongly connected components with a cycle (several operations, or one referring to
/// itself) of the graph `depends_on`, each in request order: Tarjan's algorithm, iterative.
fn cycles(depends_on: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = depends_on.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut next_index = 0;
    let mut found = Vec::new();
    // (node, position of the next edge to follow)
    let mut calls: Vec<(usize, usize)> = Vec::new();
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        calls.push((root, 0));
        while let Some(&mut (v, ref mut edge)) = calls.last_mut() {
            if *edge == 0 && index[v] == usize::MAX {
                index[v] = next_index;
                low[v] = next_index;
                next_index += 1;
                stack.push(v);
                on_stack[v] = true;
            }
            if let Some(&w) = depends_on[v].get(*edge) {
                *edge += 1;
                if index[w] == usize::MAX {
                    calls.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            calls.pop();
            if let Some(&(parent, _)) = calls.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 || depends_on[v].contains(&v) {
                    component.sort_unstable();
                    found.push(component);
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bulk(ops: Value) -> Value {
        json!({"schemas": [BULK_REQUEST], "Operations": ops})
    }

    fn user(bulk_id: &str) -> Value {
        json!({"method": "POST", "path": "/Users", "bulkId": bulk_id, "data": {"userName": bulk_id}})
    }

    fn group(bulk_id: &str, members: &[&str]) -> Value {
        let members: Vec<Value> = members
            .iter()
            .map(|m| json!({"value": format!("bulkId:{m}")}))
            .collect();
        json!({"method": "POST", "path": "/Groups", "bulkId": bulk_id, "data": {"displayName": bulk_id, "members": members}})
    }

    /// Runs the schedule with every operation succeeding; the order.
    fn order(request: &BulkRequest) -> Vec<usize> {
        let mut schedule = Schedule::new(request);
        let mut ran = Vec::new();
        while let Some(i) = schedule.next_ready() {
            ran.push(i);
            schedule.done(i);
        }
        ran
    }

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

    #[test]
    fn operations_run_in_request_order_deferred_until_their_references_exist() {
        let request = parse(&bulk(json!([
            group("g", &["a", "b"]),
            user("a"),
            group("h", &["g"]),
            user("x"),
            user("b"),
        ])))
        .unwrap();
        assert_eq!(order(&request), vec![1, 3, 4, 0, 2]);
    }

    #[test]
    fn cycles_are_found_and_run_at_their_turn() {
        let request = parse(&bulk(json!([
            user("u"),
            group("a", &["b"]),
            group("b", &["a"]),
            group("c", &["a", "u"]),
            group("self", &["self"]),
        ])))
        .unwrap();
        let schedule = Schedule::new(&request);
        assert_eq!(schedule.cycle(1), Some(&[1, 2][..]));
        assert_eq!(schedule.cycle(2), Some(&[1, 2][..]));
        assert_eq!(schedule.cycle(3), None);
        assert_eq!(schedule.cycle(4), Some(&[4][..]));
        assert_eq!(order(&request), vec![0, 1, 2, 3, 4]);
        let err = circular(&request, 1, &[1, 2]);
        assert_eq!(
            (err.status, err.scim_type),
            (409, Some(ScimType::InvalidValue))
        );
        assert!(err.detail.contains("bulkId a") && err.detail.contains("bulkId b"));
    }

    #[test]
    fn a_long_chain_does_not_recurse() {
        let mut ops: Vec<Value> = (1..MAX_OPERATIONS)
            .map(|n| group(&n.to_string(), &[&(n - 1).to_string()]))
            .collect();
        ops.push(user("0"));
        let request = parse(&bulk(Value::Array(ops))).unwrap();
        let ran = order(&request);
        assert_eq!(ran.len(), MAX_OPERATIONS);
        assert_eq!(ran[0], MAX_OPERATIONS - 1);
        assert_eq!(ran[1..], (0..MAX_OPERATIONS - 1).collect::<Vec<_>>()[..]);
    }

    #[test]
    fn bindings_name_created_ids_or_say_why_not() {
        let request = parse(&bulk(json!([
            user("a"),
            user("b"),
            {"method": "DELETE", "path": "/Users/1", "bulkId": "d"},
        ])))
        .unwrap();
        let outcomes = vec![
            Some(Outcome::Created("id-a".into())),
            Some(Outcome::Failed(409)),
            Some(Outcome::Done),
        ];
        let ids = bindings(&request, &["a".into()], &outcomes).unwrap();
        assert_eq!(ids.get("a").map(String::as_str), Some("id-a"));
        let err = bindings(&request, &["b".into()], &outcomes).unwrap_err();
        assert_eq!(err.status, 409);
        assert!(err.detail.contains("409"), "{}", err.detail);
        let err = bindings(&request, &["nope".into()], &outcomes).unwrap_err();
        assert_eq!(
            (err.status, err.scim_type),
            (400, Some(ScimType::InvalidValue))
        );
        let err = bindings(&request, &["d".into()], &outcomes).unwrap_err();
        assert_eq!(err.status, 400);

        let mut data =
            json!({"members": [{"value": "bulkId:a"}, {"value": "bulkId:zz"}], "x": "bulkId:a"});
        substitute(&mut data, &ids);
        assert_eq!(
            data,
            json!({"members": [{"value": "id-a"}, {"value": "bulkId:zz"}], "x": "id-a"})
        );
        assert_eq!(resolve_id("bulkId:a", &ids), "id-a");
        assert_eq!(resolve_id("plain", &ids), "plain");
    }
}
