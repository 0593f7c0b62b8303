//! Group writes (SCIM only: groups belong to the identity provider): create, change
//! (attributes and membership operations, one compare-and-swap), delete — each with its
//! audit row in the same transaction. Member ids that name nothing in the identity
//! provider's view (unknown ids, local users) are skipped.

use sea_orm::DatabaseConnection;
use serde_json::{Map, Value};

use super::{Attempts, retry};
use crate::domain::audit::{Actor, Entry, diff};
use crate::domain::group::{Group, Member, MemberOp};
use crate::domain::{Error, Result};
use crate::store::groups::{self as store_groups, Membership};
use crate::store::{self};

/// The audit changes of a group write: attributes, and membership operations as given.
fn changes_of(
    before: Option<&Group>,
    after: Option<&Group>,
    members: &[Membership],
) -> Map<String, Value> {
    let mut changes = diff(before.map(|g| &g.attributes), after.map(|g| &g.attributes));
    for m in members {
        if matches!(m, Membership::Add(ids) | Membership::Remove(ids) if ids.is_empty()) {
            continue;
        }
        let (key, ids) = match m {
            Membership::Add(ids) => ("members.added", serde_json::json!(ids)),
            Membership::Remove(ids) => ("members.removed", serde_json::json!(ids)),
            Membership::RemoveAll => ("members.cleared", Value::Bool(true)),
        };
        changes.insert(key.into(), ids);
    }
    changes
}

/// Creates a group with its initial members.
pub async fn create(
    db: &DatabaseConnection,
    tenant_id: &str,
    actor: &Actor,
    attributes: Map<String, Value>,
    members: Vec<String>,
) -> Result<Group> {
    let now = store::now_us();
    let group = Group {
        id: store::new_id(),
        tenant_id: tenant_id.to_string(),
        version: 1,
        created_us: now,
        modified_us: now,
        attributes,
    };
    let entry = Entry::new(
        tenant_id,
        actor,
        "group.create",
        "group",
        &group.id,
        changes_of(None, Some(&group), &[Membership::Add(members.clone())]),
    );
    retry(|| store_groups::insert(db, &group, &members, &entry)).await?;
    Ok(group)
}

/// A group's current members.
async fn current_members(db: &DatabaseConnection, group: &Group) -> Result<Vec<Member>> {
    Ok(
        store_groups::members(db, &group.tenant_id, std::slice::from_ref(&group.id))
            .await?
            .remove(&group.id)
            .unwrap_or_default(),
    )
}

/// Turns membership operations into join-table changes; a filtered removal other than by
/// id evaluates its filter against the current members, and a whole replacement (PUT, or a
/// `replace` of `members`) becomes the difference from the current members — nothing, when
/// they are the same.
async fn memberships(
    db: &DatabaseConnection,
    group: &Group,
    ops: Vec<MemberOp>,
) -> Result<Vec<Membership>> {
    if let [MemberOp::RemoveAll, MemberOp::Add(wanted)] = ops.as_slice() {
        let current: std::collections::HashSet<String> = current_members(db, group)
            .await?
            .into_iter()
            .map(|m| m.id)
            .collect();
        let wanted_set: std::collections::HashSet<&String> = wanted.iter().collect();
        let gone: Vec<String> = current
            .iter()
            .filter(|id| !wanted_set.contains(id))
            .cloned()
            .collect();
        let new: Vec<String> = wanted
            .iter()
            .filter(|id| !current.contains(*id))
            .cloned()
            .collect();
        let mut changes = Vec::new();
        if !gone.is_empty() {
            changes.push(Membership::Remove(gone));
        }
        if !new.is_empty() {
            changes.push(Membership::Add(new));
        }
        return Ok(changes);
    }
    let mut changes = Vec::with_capacity(ops.len());
    for op in ops {
        changes.push(match op {
            MemberOp::Add(ids) => Membership::Add(ids),
            MemberOp::Remove(ids) => Membership::Remove(ids),
            // Removing every member names them, so the audit record and the `feed:remove`
            // events say who left.
            MemberOp::RemoveAll => Membership::Remove(
                current_members(db, group)
                    .await?
                    .into_iter()
                    .map(|m| m.id)
                    .collect(),
            ),
            MemberOp::RemoveWhere(filter) => {
                let ids = current_members(db, group)
                    .await?
                    .into_iter()
                    .filter(|m| {
                        let element = serde_json::json!({
                            "value": m.id,
                            "type": m.member_type.as_str(),
                        });
                        filter.matches_element(crate::domain::filter::ElemShape::Complex, &element)
                    })
                    .map(|m| m.id)
                    .collect();
                Membership::Remove(ids)
            }
        });
    }
    Ok(changes)
}

/// Changes a group: `change` computes the new attributes and membership operations from the
/// stored group (and may refuse); they are stored if the group did not change meanwhile,
/// else `change` runs again on the newer version. `action` names the audit record.
pub async fn update<E, F>(
    db: &DatabaseConnection,
    tenant_id: &str,
    id: &str,
    actor: &Actor,
    action: &str,
    mut change: F,
) -> std::result::Result<Group, E>
where
    E: From<Error>,
    F: FnMut(&Group) -> std::result::Result<(Map<String, Value>, Vec<MemberOp>), E>,
{
    let mut attempts = Attempts::default();
    loop {
        let current = store_groups::get(db, tenant_id, id).await?;
        let (attributes, ops) = change(&current)?;
        let members = memberships(db, &current, ops).await?;
        if attributes == current.attributes && members.is_empty() {
            return Ok(current);
        }
        let next = Group {
            attributes,
            version: current.version + 1,
            modified_us: store::now_us().max(current.modified_us + 1),
            ..current.clone()
        };
        let entry = Entry::new(
            tenant_id,
            actor,
            action,
            "group",
            &current.id,
            changes_of(Some(&current), Some(&next), &members),
        );
        match store_groups::update(db, &next, current.version, &members, &entry).await {
            Ok(()) => return Ok(next),
            Err(Error::VersionConflict) if attempts.pause().await => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Deletes a group (its memberships go with it); `expected_version` is the caller's If-Match.
pub async fn delete(
    db: &DatabaseConnection,
    tenant_id: &str,
    id: &str,
    actor: &Actor,
    expected_version: Option<i64>,
) -> Result<()> {
    retry(|| async {
        let group = store_groups::get(db, tenant_id, id).await?;
        if expected_version.is_some_and(|v| v != group.version) {
            return Err(Error::PreconditionFailed);
        }
        let entry = Entry::new(
            tenant_id,
            actor,
            "group.delete",
            "group",
            id,
            changes_of(Some(&group), None, &[]),
        );
        store_groups::delete(db, tenant_id, id, group.version, &entry).await
    })
    .await
}
