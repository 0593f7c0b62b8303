//! Group rows and the membership join table. Adding or removing one member touches one
//! row, whatever the group's size; members load only when a response needs them. Lists of
//! ids go to the database in chunks of `chunk_len`, so a request naming tens of thousands
//! of members stays within every statement's bind limit.

use std::collections::{HashMap, HashSet};

use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionSession, TransactionTrait,
};
use serde_json::{Map, Value};

use super::entity::{group_members, groups, users};
use super::filter::{Table, condition, order_by};
use super::{audit, chunk_len, now_us, rows_per_insert, sql_err, unique_err};
use crate::domain::audit::Entry;
use crate::domain::filter::ListQuery;
use crate::domain::group::{Group, Member, MemberType};
use crate::domain::user::fold_key;
use crate::domain::{Error, Result};

fn to_domain(m: groups::Model) -> Result<Group> {
    let attributes: Map<String, Value> = serde_json::from_str(&m.data)
        .map_err(|e| Error::Internal(format!("group {} has a corrupt document: {e}", m.id)))?;
    Ok(Group {
        id: m.id,
        tenant_id: m.tenant_id,
        version: m.version,
        created_us: m.created_us,
        modified_us: m.modified_us,
        attributes,
    })
}

fn data(group: &Group) -> Result<String> {
    serde_json::to_string(&group.attributes).map_err(|e| Error::Internal(e.to_string()))
}

/// A unique violation of a group write: its `displayName` is another group's, compared
/// case-insensitively (`groups_tenant_display_name`).
fn name_taken(group: &Group) -> impl Fn(sea_orm::DbErr) -> Error + '_ {
    move |e| {
        unique_err(
            e,
            "displayName",
            format!(
                "a group named {:?} already exists (group names are unique, ignoring case)",
                group.display_name()
            ),
        )
    }
}

/// A change to a group's membership.
#[derive(Debug, Clone, PartialEq)]
pub enum Membership {
    Add(Vec<String>),
    Remove(Vec<String>),
    RemoveAll,
}

/// Inserts a group and its initial members.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn insert(
    db: &(impl ConnectionTrait + TransactionTrait),
    group: &Group,
    members: &[String],
    entry: &Entry,
) -> Result<()> {
    let txn = db.begin().await.map_err(|e| sql_err(e, "group"))?;
    groups::Entity::insert(groups::ActiveModel {
        id: Set(group.id.clone()),
        tenant_id: Set(group.tenant_id.clone()),
        display_name: Set(group.display_name().to_string()),
        display_name_key: Set(fold_key(group.display_name())),
        external_id: Set(group.external_id().map(str::to_string)),
        data: Set(data(group)?),
        version: Set(group.version),
        created_us: Set(group.created_us),
        modified_us: Set(group.modified_us),
    })
    .exec_without_returning(&txn)
    .await
    .map_err(name_taken(group))?;
    add_members(&txn, &group.tenant_id, &group.id, members).await?;
    audit::record(&txn, entry).await?;
    txn.commit().await.map_err(|e| sql_err(e, "group"))
}

/// Stores a changed group and applies membership changes in order, if the stored version
/// is still `expected_version`.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn update(
    db: &(impl ConnectionTrait + TransactionTrait),
    group: &Group,
    expected_version: i64,
    changes: &[Membership],
    entry: &Entry,
) -> Result<()> {
    let txn = db.begin().await.map_err(|e| sql_err(e, "group"))?;
    let result = groups::Entity::update_many()
        .col_expr(
            groups::Column::DisplayName,
            Expr::value(group.display_name().to_string()),
        )
        .col_expr(
            groups::Column::DisplayNameKey,
            Expr::value(fold_key(group.display_name())),
        )
        .col_expr(
            groups::Column::ExternalId,
            Expr::value(group.external_id().map(str::to_string)),
        )
        .col_expr(groups::Column::Data, Expr::value(data(group)?))
        .col_expr(groups::Column::Version, Expr::value(group.version))
        .col_expr(groups::Column::ModifiedUs, Expr::value(group.modified_us))
        .filter(groups::Column::Id.eq(group.id.clone()))
        .filter(groups::Column::TenantId.eq(group.tenant_id.clone()))
        .filter(groups::Column::Version.eq(expected_version))
        .exec(&txn)
        .await
        .map_err(name_taken(group))?;
    if result.rows_affected == 0 {
        return Err(Error::VersionConflict);
    }
    for change in changes {
        match change {
            Membership::Add(ids) => add_members(&txn, &group.tenant_id, &group.id, ids).await?,
            Membership::Remove(ids) => {
                for chunk in ids.chunks(chunk_len(1)) {
                    group_members::Entity::delete_many()
                        .filter(group_members::Column::GroupId.eq(group.id.clone()))
                        .filter(group_members::Column::MemberId.is_in(chunk.iter().cloned()))
                        .exec(&txn)
                        .await
                        .map_err(|e| sql_err(e, "group member"))?;
                }
            }
            Membership::RemoveAll => {
                group_members::Entity::delete_many()
                    .filter(group_members::Column::GroupId.eq(group.id.clone()))
                    .exec(&txn)
                    .await
                    .map_err(|e| sql_err(e, "group member"))?;
            }
        }
    }
    audit::record(&txn, entry).await?;
    txn.commit().await.map_err(|e| sql_err(e, "group"))
}

/// Adds members (IdP-managed users or groups of the same tenant). Ids already members are
/// skipped, and so are ids that name nothing in the identity provider's view (unknown ids,
/// local users): identity providers push groups whose members are not (yet) provisioned
/// here, and such a reference could never resolve later because ids are generated by
/// Rollcall.
async fn add_members(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    group_id: &str,
    ids: &[String],
) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut user_ids: HashSet<String> = HashSet::new();
    let mut group_ids: HashSet<String> = HashSet::new();
    for chunk in ids.chunks(chunk_len(1)) {
        let found: Vec<String> = users::Entity::find()
            .select_only()
            .column(users::Column::Id)
            .filter(users::Column::TenantId.eq(tenant_id))
            // Local users are outside the identity provider's view: not members it can add.
            .filter(users::Column::ManagedBy.eq(crate::domain::user::ManagedBy::Idp.as_str()))
            .filter(users::Column::Id.is_in(chunk.iter().cloned()))
            // Held until the membership commits, so a user deleted meanwhile either sees the
            // new membership (and removes it) or is gone before it is added.
            .lock_shared()
            .into_tuple()
            .all(db)
            .await
            .map_err(|e| sql_err(e, "user"))?;
        user_ids.extend(found);
        let found: Vec<String> = groups::Entity::find()
            .select_only()
            .column(groups::Column::Id)
            .filter(groups::Column::TenantId.eq(tenant_id))
            .filter(groups::Column::Id.is_in(chunk.iter().cloned()))
            .into_tuple()
            .all(db)
            .await
            .map_err(|e| sql_err(e, "group"))?;
        group_ids.extend(found);
    }
    let now = now_us();
    let mut rows = Vec::with_capacity(ids.len());
    let mut skipped = 0usize;
    for id in ids {
        let member_type = if user_ids.contains(id) {
            MemberType::User
        } else if group_ids.contains(id) && id != group_id {
            MemberType::Group
        } else {
            skipped += 1;
            continue;
        };
        rows.push(group_members::ActiveModel {
            group_id: Set(group_id.to_string()),
            member_id: Set(id.clone()),
            tenant_id: Set(tenant_id.to_string()),
            member_type: Set(member_type.as_str().to_string()),
            added_us: Set(now),
        });
    }
    if skipped > 0 {
        // One line per request, not per id: a request may name tens of thousands.
        tracing::info!(
            group_id,
            skipped,
            "skipping members that are not users or groups of this tenant"
        );
    }
    for chunk in rows.chunks(rows_per_insert::<group_members::Entity>()) {
        group_members::Entity::insert_many(chunk.iter().cloned())
            .on_conflict(
                OnConflict::columns([
                    group_members::Column::GroupId,
                    group_members::Column::MemberId,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(db)
            .await
            .map_err(|e| sql_err(e, "group member"))?;
    }
    Ok(())
}

/// The ids of the tenant's groups with this display name (case-insensitively).
pub async fn ids_named(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    name: &str,
) -> Result<Vec<String>> {
    groups::Entity::find()
        .select_only()
        .column(groups::Column::Id)
        .filter(groups::Column::TenantId.eq(tenant_id))
        .filter(groups::Column::DisplayNameKey.eq(fold_key(name)))
        .into_tuple()
        .all(db)
        .await
        .map_err(|e| sql_err(e, "group"))
}

/// One group of the tenant.
pub async fn get(db: &impl ConnectionTrait, tenant_id: &str, id: &str) -> Result<Group> {
    groups::Entity::find_by_id(id.to_string())
        .filter(groups::Column::TenantId.eq(tenant_id))
        .one(db)
        .await
        .map_err(|e| sql_err(e, "group"))?
        .ok_or_else(|| Error::NotFound(format!("group {id}")))
        .and_then(to_domain)
}

/// The members of the given groups, in the order they were added.
pub async fn members(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    group_ids: &[String],
) -> Result<HashMap<String, Vec<Member>>> {
    let mut out: HashMap<String, Vec<Member>> = HashMap::new();
    // A group's members all come from the one chunk that names it, so each list keeps
    // the statement's order.
    for chunk in group_ids.chunks(chunk_len(1)) {
        let rows: Vec<(String, String, String)> = group_members::Entity::find()
            .select_only()
            .column(group_members::Column::GroupId)
            .column(group_members::Column::MemberId)
            .column(group_members::Column::MemberType)
            .filter(group_members::Column::TenantId.eq(tenant_id))
            .filter(group_members::Column::GroupId.is_in(chunk.iter().cloned()))
            .order_by_asc(group_members::Column::AddedUs)
            .order_by_asc(group_members::Column::MemberId)
            .into_tuple()
            .all(db)
            .await
            .map_err(|e| sql_err(e, "group member"))?;
        for (group, member, member_type) in rows {
            out.entry(group).or_default().push(Member {
                id: member,
                member_type: MemberType::parse(&member_type),
            });
        }
    }
    Ok(out)
}

/// Deletes a group and its membership rows, if its stored version is still
/// `expected_version` (else `VersionConflict`: the caller re-reads); as a member of other
/// groups it leaves them too. The audit record is written in the same transaction.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn delete(
    db: &(impl ConnectionTrait + TransactionTrait),
    tenant_id: &str,
    id: &str,
    expected_version: i64,
    entry: &Entry,
) -> Result<()> {
    let txn = db.begin().await.map_err(|e| sql_err(e, "group"))?;
    let result = groups::Entity::delete_many()
        .filter(groups::Column::Id.eq(id))
        .filter(groups::Column::TenantId.eq(tenant_id))
        .filter(groups::Column::Version.eq(expected_version))
        .exec(&txn)
        .await
        .map_err(|e| sql_err(e, "group"))?;
    if result.rows_affected == 0 {
        return Err(Error::VersionConflict);
    }
    group_members::Entity::delete_many()
        .filter(
            sea_orm::Condition::any()
                .add(group_members::Column::GroupId.eq(id))
                .add(group_members::Column::MemberId.eq(id)),
        )
        .filter(group_members::Column::TenantId.eq(tenant_id))
        .exec(&txn)
        .await
        .map_err(|e| sql_err(e, "group member"))?;
    audit::record(&txn, entry).await?;
    txn.commit().await.map_err(|e| sql_err(e, "group"))
}

/// A page of the tenant's groups matching `filter`, and how many match in all.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn list(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    q: &ListQuery,
) -> Result<(Vec<Group>, u64)> {
    let backend = db.get_database_backend();
    let mut query = groups::Entity::find().filter(groups::Column::TenantId.eq(tenant_id));
    if let Some(filter) = &q.filter {
        query = query.filter(condition(backend, Table::Groups, tenant_id, filter));
    }
    let total = query
        .clone()
        .count(db)
        .await
        .map_err(|e| sql_err(e, "group"))?;
    if q.limit == 0 || q.offset >= total {
        return Ok((Vec::new(), total));
    }
    // The keyset applies to the rows fetched, not to totalResults.
    if let Some((created_us, id)) = &q.after {
        query = query.filter(
            sea_orm::Condition::any()
                .add(groups::Column::CreatedUs.gt(*created_us))
                .add(
                    sea_orm::Condition::all()
                        .add(groups::Column::CreatedUs.eq(*created_us))
                        .add(groups::Column::Id.gt(id.clone())),
                ),
        );
    }
    for (expr, direction) in order_by(backend, Table::Groups, q.sort.as_ref(), q.order) {
        query = query.order_by(expr, direction);
    }
    let rows = query
        .offset(q.offset)
        .limit(q.limit)
        .all(db)
        .await
        .map_err(|e| sql_err(e, "group"))?;
    let groups = rows
        .into_iter()
        .map(to_domain)
        .collect::<Result<Vec<_>>>()?;
    Ok((groups, total))
}
