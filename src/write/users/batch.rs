//! Writes of many users at once, all or none: the admin bulk edit and the CSV import.

use std::collections::BTreeSet;

use sea_orm::DatabaseConnection;
use serde_json::{Map, Value};

use super::{
    TenantContext, check, check_before, local_creation_off, needs_agent_id, next_version, plan,
    set_agent_id, validate, view_of,
};
use crate::domain::audit::{Actor, Entry, diff};
use crate::domain::catalog::CatalogKind;
use crate::domain::ownership::Permission;
use crate::domain::user::{ManagedBy, User};
use crate::domain::validation::Surface;
use crate::domain::{Error, Result};
use crate::store::{self, audit, catalog, users};
use crate::write::{begin, commit, guard, retry};

/// Changes several users in one transaction: all of them, or none. `change` computes each
/// new document; a concurrent change of any of them runs the whole batch again.
pub async fn update_many<F>(
    db: &DatabaseConnection,
    tenant_id: &str,
    actor: &Actor,
    surface: Surface,
    action: &str,
    ids: &[String],
    change: F,
) -> Result<Vec<User>>
where
    F: Fn(&User) -> Result<Map<String, Value>>,
{
    let ctx = TenantContext::load(db, tenant_id).await?;
    // One order for every batch, so two batches over the same users lock them alike.
    let mut ids = ids.to_vec();
    ids.sort();
    ids.dedup();
    let ids = &ids;
    retry(|| async {
        let txn = begin(db).await?;
        let mut done = Vec::with_capacity(ids.len());
        for id in ids {
            let current = users::get_in(&txn, tenant_id, id, view_of(surface)).await?;
            let mut attributes = change(&current)?;
            if attributes == current.attributes {
                done.push(current);
                continue;
            }
            if surface == Surface::Local {
                guard::authorise_edits(actor, &current, &attributes)?;
            }
            validate(&mut attributes, Some(&current.attributes), &ctx, surface)?;
            if attributes == current.attributes {
                done.push(current);
                continue;
            }
            let generated = needs_agent_id(&attributes);
            if generated {
                let next =
                    users::next_agent_id(&txn, tenant_id, ctx.settings.agent_id_start).await?;
                set_agent_id(&mut attributes, next);
            }
            let (next, entry) = next_version(&current, attributes, tenant_id, actor, action);
            let checks = plan(actor, &ctx, surface, Some(&current), &next, None)?;
            let administrators = check_before(&txn, tenant_id, actor, &checks).await?;
            generated_id_taken(
                users::update(
                    &txn,
                    &next,
                    current.version,
                    ctx.settings.unique_primary_email,
                )
                .await,
                generated,
            )?;
            check(&txn, tenant_id, &checks, administrators).await?;
            audit::record(&txn, &entry).await?;
            done.push(next);
        }
        commit(txn).await?;
        Ok(done)
    })
    .await
}

/// One planned change of an import.
#[derive(Debug, Clone)]
pub enum Plan {
    Create(Map<String, Value>),
    Update {
        current: User,
        attributes: Map<String, Value>,
    },
}

/// Applies already-validated plans in one transaction: all of them, or none. A user changed
/// since it was read makes the whole batch fail with a conflict.
pub async fn apply(
    db: &DatabaseConnection,
    tenant_id: &str,
    actor: &Actor,
    action: &str,
    plans: Vec<Plan>,
) -> Result<(usize, usize)> {
    let ctx = TenantContext::load(db, tenant_id).await?;
    // A busy database or a generated agent id taken meanwhile runs the import again; a user
    // changed since the plan read it stays a conflict (its version no longer matches).
    retry(|| apply_once(db, &ctx, actor, action, plans.clone())).await
}

async fn apply_once(
    db: &DatabaseConnection,
    ctx: &TenantContext,
    actor: &Actor,
    action: &str,
    plans: Vec<Plan>,
) -> Result<(usize, usize)> {
    let tenant_id = ctx.tenant_id.as_str();
    let txn = begin(db).await?;
    let mut agent_ids = users::AgentIds::load(&txn, tenant_id, ctx.settings.agent_id_start).await?;
    // Written together at the end, in multi-row statements: the new users, the index rows
    // of the changed ones, the catalog entries they name (held once), the audit records.
    let mut new_users = Vec::new();
    let mut changed = Vec::new();
    let mut references: Vec<(CatalogKind, String)> = Vec::new();
    let mut seen_references = BTreeSet::new();
    let mut entries = Vec::new();
    let mut any_generated = false;
    let (mut created, mut updated) = (0, 0);
    for plan_item in plans {
        let (checks, is_guarded) = match plan_item {
            Plan::Create(mut attributes) => {
                actor.require(&[Permission::CreateUser])?;
                if ctx.settings.idp_managed {
                    return Err(local_creation_off());
                }
                attributes.entry("active").or_insert(Value::Bool(true));
                if needs_agent_id(&attributes) {
                    any_generated = true;
                    set_agent_id(&mut attributes, agent_ids.allocate());
                }
                let now = store::now_us();
                let user = User {
                    id: store::new_id(),
                    tenant_id: tenant_id.to_string(),
                    managed_by: ManagedBy::Local,
                    version: 1,
                    created_us: now,
                    modified_us: now,
                    attributes,
                };
                let implicit = ctx.catalogs.least_privileged_profile();
                let checks = plan(actor, ctx, Surface::Local, None, &user, implicit.as_deref())?;
                entries.push(Entry::new(
                    tenant_id,
                    actor,
                    "user.create",
                    "user",
                    &user.id,
                    diff(None, Some(&user.attributes)),
                ));
                new_users.push(user);
                created += 1;
                (checks, false)
            }
            Plan::Update {
                current,
                mut attributes,
            } => {
                guard::authorise_edits(actor, &current, &attributes)?;
                let generated = needs_agent_id(&attributes);
                if generated {
                    set_agent_id(&mut attributes, agent_ids.allocate());
                }
                let (next, entry) = next_version(&current, attributes, tenant_id, actor, action);
                let checks = plan(actor, ctx, Surface::Local, Some(&current), &next, None)?;
                entries.push(entry);
                updated += 1;
                if checks.guarded.is_some() {
                    // A change of who administers the tenant: written and checked at once,
                    // with the tenant's lock, as a single write is.
                    let administrators = check_before(&txn, tenant_id, actor, &checks).await?;
                    generated_id_taken(
                        users::update(
                            &txn,
                            &next,
                            current.version,
                            ctx.settings.unique_primary_email,
                        )
                        .await,
                        generated,
                    )?;
                    check(&txn, tenant_id, &checks, administrators).await?;
                    (checks, true)
                } else {
                    generated_id_taken(
                        users::update_row(
                            &txn,
                            &next,
                            current.version,
                            ctx.settings.unique_primary_email,
                        )
                        .await,
                        generated,
                    )?;
                    changed.push(next);
                    (checks, false)
                }
            }
        };
        if !is_guarded {
            for (kind, name) in checks.references {
                if seen_references.insert((kind.as_str(), name.to_lowercase())) {
                    references.push((kind, name));
                }
            }
        }
    }
    generated_id_taken(
        users::insert_many(&txn, &new_users, ctx.settings.unique_primary_email).await,
        any_generated,
    )?;
    users::write_indexes(&txn, &changed, true).await?;
    catalog::hold(&txn, tenant_id, &references).await?;
    audit::record_many(&txn, &entries).await?;
    commit(txn).await?;
    Ok((created, updated))
}

/// A generated agent id that another writer took meanwhile makes the attempt run again
/// (with the next free id) instead of answering a conflict about a value nobody sent.
fn generated_id_taken(result: Result<()>, generated: bool) -> Result<()> {
    match result {
        Err(Error::Uniqueness { field, .. }) if generated && field == "agentId" => {
            Err(Error::VersionConflict)
        }
        other => other,
    }
}
