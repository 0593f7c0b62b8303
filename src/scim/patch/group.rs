//! PATCH of a group: `displayName`/`externalId` in the document, membership operations for
//! the join table.

use scim_filter_parser as parser;
use serde_json::{Map, Value};

use super::user::apply_path;
use super::{MemberOp, OpKind, Operation, parse_path};
use crate::domain::filter::Collection;
use crate::scim::filter::{Resource, resolve_element};
use crate::scim::resource::member_ids;
use crate::scim::schema::ResourceSchema;
use crate::scim::{ScimError, ScimResult};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::Registry;
    use serde_json::json;

    fn apply(ops: Value) -> ScimResult<(Map<String, Value>, Vec<MemberOp>)> {
        let registry = Registry::load().expect("schemas");
        let ops = super::super::parse_request(&json!({
            "schemas": [crate::scim::PATCH_OP],
            "Operations": ops
        }))?;
        let mut doc = json!({"displayName": "G"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let member_ops = apply_group(&registry.group, &mut doc, &ops)?;
        Ok((doc, member_ops))
    }

    #[test]
    fn entra_removal_by_value_list_removes_only_those() {
        let (_, ops) = apply(json!([
            {"op": "Remove", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]}
        ]))
        .expect("applies");
        assert_eq!(ops, vec![MemberOp::Remove(vec!["u1".into(), "u2".into()])]);
    }

    #[test]
    fn okta_pathless_rename_and_member_add_in_one_request() {
        let (doc, ops) = apply(json!([
            {"op": "replace", "value": {"id": "g", "displayName": "Renamed"}},
            {"op": "add", "path": "members", "value": [{"value": "u3", "display": "x"}]},
            {"op": "remove", "path": "members[value eq \"u4\"]"}
        ]))
        .expect("applies");
        assert_eq!(doc["displayName"], "Renamed");
        assert_eq!(
            ops,
            vec![
                MemberOp::Add(vec!["u3".into()]),
                MemberOp::Remove(vec!["u4".into()])
            ]
        );
    }

    #[test]
    fn replacing_members_clears_then_adds() {
        let (_, ops) =
            apply(json!([{"op": "replace", "path": "members", "value": []}])).expect("applies");
        assert_eq!(ops.first(), Some(&MemberOp::RemoveAll));
    }
}
