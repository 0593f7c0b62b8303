//! When each operation of a bulk request runs and what its `bulkId:` references stand for:
//! request order, an operation deferred until the operations declaring its references have
//! run; reference cycles found before anything runs (RFC 7644 §3.7.1 lets them fail with 409).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use serde_json::Value;

use super::{BulkRequest, REFERENCE};
use crate::scim::error::ScimType;
use crate::scim::{ScimError, ScimResult};

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
    use super::super::fixtures::{bulk, group, user};
    use super::super::{MAX_OPERATIONS, parse};
    use super::*;
    use serde_json::json;

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
