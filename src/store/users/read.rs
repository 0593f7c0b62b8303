//! Reading users: by id (within a view), lists with filters pushed down to SQL, their groups,
//! and the lookups the write layer and imports need.

use std::collections::{HashMap, HashSet};

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::domain::filter::ListQuery;
use crate::domain::group::GroupRef;
use crate::domain::ownership::CONTACT_CENTRE;
use crate::domain::user::{ManagedBy, User, View, fold_key};
use crate::domain::{Error, Result};
use crate::store::entity::{group_members, groups, user_attrs, users};
use crate::store::filter::{Table, condition, member_condition, order_by, search_condition};
use crate::store::{chunk_len, sql_err};

use super::to_domain;

/// One user of the tenant.
pub async fn get(db: &impl ConnectionTrait, tenant_id: &str, id: &str) -> Result<User> {
    get_in(db, tenant_id, id, View::Tenant).await
}

/// One user of the tenant within a view: an identity provider sees only the users it manages.
pub async fn get_in(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    id: &str,
    view: View,
) -> Result<User> {
    let mut query =
        users::Entity::find_by_id(id.to_string()).filter(users::Column::TenantId.eq(tenant_id));
    if view == View::Idp {
        query = query.filter(users::Column::ManagedBy.eq(ManagedBy::Idp.as_str()));
    }
    query
        .one(db)
        .await
        .map_err(|e| sql_err(e, "user"))?
        .ok_or_else(|| Error::NotFound(format!("user {id}")))
        .and_then(to_domain)
}

/// How many rows `query` matches, counting at most `cap + 1` of them (so a large tenant's
/// count reads no more than that many index entries).
async fn capped_count(
    db: &impl ConnectionTrait,
    query: sea_orm::Select<users::Entity>,
    cap: u64,
) -> Result<u64> {
    use sea_orm::QueryTrait;
    use sea_orm::sea_query::{Expr, SelectStatement};
    let inner = query
        .select_only()
        .column(users::Column::Id)
        .limit(cap.saturating_add(1))
        .into_query();
    let outer = SelectStatement::new()
        .expr(Expr::cust("COUNT(*) AS num_items"))
        .from_subquery(inner, "capped")
        .to_owned();
    let row = db.query_one(&outer).await.map_err(|e| sql_err(e, "user"))?;
    let n = match row {
        Some(row) => row
            .try_get::<i64>("", "num_items")
            .map_err(|e| sql_err(e, "user"))?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

/// A page of the tenant's users in a view matching `filter`, and how many match in all
/// (at most `count_cap + 1` when the query caps its count).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn list(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    q: &ListQuery,
    view: View,
) -> Result<(Vec<User>, u64)> {
    let backend = db.get_database_backend();
    let mut query = users::Entity::find().filter(users::Column::TenantId.eq(tenant_id));
    if view == View::Idp {
        query = query.filter(users::Column::ManagedBy.eq(ManagedBy::Idp.as_str()));
    }
    if let Some(filter) = &q.filter {
        query = query.filter(condition(backend, Table::Users, tenant_id, filter));
    }
    if !q.search.is_empty() {
        query = query.filter(search_condition(backend, tenant_id, &q.search));
    }
    if let Some(group_id) = &q.group {
        query = query.filter(member_condition(backend, tenant_id, group_id));
    }
    let total = match q.count_cap {
        None => query
            .clone()
            .count(db)
            .await
            .map_err(|e| sql_err(e, "user"))?,
        Some(cap) => capped_count(db, query.clone(), cap).await?,
    };
    if q.limit == 0 || (q.count_cap.is_none() && q.offset >= total) {
        return Ok((Vec::new(), total));
    }
    // The keyset applies to the rows fetched, not to totalResults.
    if let Some((created_us, id)) = &q.after {
        query = query.filter(
            sea_orm::Condition::any()
                .add(users::Column::CreatedUs.gt(*created_us))
                .add(
                    sea_orm::Condition::all()
                        .add(users::Column::CreatedUs.eq(*created_us))
                        .add(users::Column::Id.gt(id.clone())),
                ),
        );
    }
    for (expr, direction) in order_by(backend, Table::Users, q.sort.as_ref(), q.order) {
        query = query.order_by(expr, direction);
    }
    let rows = query
        .offset(q.offset)
        .limit(q.limit)
        .all(db)
        .await
        .map_err(|e| sql_err(e, "user"))?;
    let users = rows
        .into_iter()
        .map(to_domain)
        .collect::<Result<Vec<_>>>()?;
    Ok((users, total))
}

/// The groups each of the given users belongs to.
pub async fn groups_of(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    user_ids: &[String],
) -> Result<HashMap<String, Vec<GroupRef>>> {
    let mut out: HashMap<String, Vec<GroupRef>> = HashMap::new();
    // A user's memberships all come from the one chunk that names it, in the order added.
    let mut memberships: Vec<(String, String)> = Vec::new();
    for chunk in user_ids.chunks(chunk_len(1)) {
        let found: Vec<(String, String)> = group_members::Entity::find()
            .select_only()
            .column(group_members::Column::MemberId)
            .column(group_members::Column::GroupId)
            .filter(group_members::Column::TenantId.eq(tenant_id))
            .filter(group_members::Column::MemberId.is_in(chunk.iter().cloned()))
            .order_by_asc(group_members::Column::AddedUs)
            .into_tuple()
            .all(db)
            .await
            .map_err(|e| sql_err(e, "group"))?;
        memberships.extend(found);
    }
    let group_ids: Vec<&String> = memberships
        .iter()
        .map(|(_, g)| g)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut names: HashMap<String, String> = HashMap::with_capacity(group_ids.len());
    for chunk in group_ids.chunks(chunk_len(1)) {
        let found: Vec<(String, String)> = groups::Entity::find()
            .select_only()
            .column(groups::Column::Id)
            .column(groups::Column::DisplayName)
            .filter(groups::Column::Id.is_in(chunk.iter().map(|id| (*id).clone())))
            .into_tuple()
            .all(db)
            .await
            .map_err(|e| sql_err(e, "group"))?;
        names.extend(found);
    }
    for (member, group) in memberships {
        let display = names.get(&group).cloned().unwrap_or_default();
        out.entry(member)
            .or_default()
            .push(GroupRef { id: group, display });
    }
    Ok(out)
}

/// The user with that userName (case-insensitively).
pub async fn by_user_name(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    user_name: &str,
) -> Result<User> {
    users::Entity::find()
        .filter(users::Column::TenantId.eq(tenant_id))
        .filter(users::Column::UserNameKey.eq(fold_key(user_name)))
        .one(db)
        .await
        .map_err(|e| sql_err(e, "user"))?
        .ok_or_else(|| Error::NotFound(format!("user {user_name}")))
        .and_then(to_domain)
}

/// Every (email, user id) pair of the tenant, by the emails' exact values.
pub async fn emails(db: &impl ConnectionTrait, tenant_id: &str) -> Result<Vec<(String, String)>> {
    let rows: Vec<(Option<String>, String)> = user_attrs::Entity::find()
        .select_only()
        .column(user_attrs::Column::StrVal)
        .column(user_attrs::Column::UserId)
        .filter(user_attrs::Column::TenantId.eq(tenant_id))
        .filter(user_attrs::Column::Attr.eq("emails"))
        .into_tuple()
        .all(db)
        .await
        .map_err(|e| sql_err(e, "user"))?;
    Ok(rows
        .into_iter()
        .filter_map(|(email, id)| email.map(|e| (e, id)))
        .collect())
}

/// A value of a user that a unique index keeps unique in the tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unique {
    /// userName, compared case-insensitively (give the folded key).
    UserName,
    /// The primary email, compared case-insensitively (give the folded key).
    PrimaryEmail,
    AgentId,
    PersonalPhone,
    WebRtcFallback,
}

impl Unique {
    fn column(self) -> users::Column {
        match self {
            Unique::UserName => users::Column::UserNameKey,
            Unique::PrimaryEmail => users::Column::PrimaryEmailKey,
            Unique::AgentId => users::Column::AgentId,
            Unique::PersonalPhone => users::Column::PersonalPhone,
            Unique::WebRtcFallback => users::Column::WebrtcFallback,
        }
    }
}

/// Which users of the tenant hold these values of a unique field: (value, user id).
pub async fn holders(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    field: Unique,
    values: &[String],
) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for chunk in values.chunks(chunk_len(1)) {
        let rows: Vec<(Option<String>, String)> = users::Entity::find()
            .select_only()
            .column(field.column())
            .column(users::Column::Id)
            .filter(users::Column::TenantId.eq(tenant_id))
            .filter(field.column().is_in(chunk.iter().cloned()))
            .into_tuple()
            .all(db)
            .await
            .map_err(|e| sql_err(e, "user"))?;
        out.extend(rows.into_iter().filter_map(|(v, id)| v.map(|v| (v, id))));
    }
    Ok(out)
}

/// The users with these ids (any order; unknown ids are left out).
pub async fn many(db: &impl ConnectionTrait, tenant_id: &str, ids: &[String]) -> Result<Vec<User>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(chunk_len(1)) {
        let rows = users::Entity::find()
            .filter(users::Column::TenantId.eq(tenant_id))
            .filter(users::Column::Id.is_in(chunk.iter().cloned()))
            .all(db)
            .await
            .map_err(|e| sql_err(e, "user"))?;
        for row in rows {
            out.push(to_domain(row)?);
        }
    }
    Ok(out)
}

/// The security profiles (folded names) of the tenant's active local users, restricted to
/// the profiles in `profiles` (folded names): users holding none of them are left out, so a
/// caller asking about permission-granting profiles never reads the many users whose
/// profiles grant nothing. One index range scan of `user_attrs_key` per profile, each row
/// checked against its user.
pub async fn local_profile_sets(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    profiles: &[String],
) -> Result<HashMap<String, std::collections::BTreeSet<String>>> {
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
    if profiles.is_empty() {
        return Ok(HashMap::new());
    }
    let holder = Alias::new("holder");
    let local_active = Query::select()
        .expr(Expr::val(1))
        .from_as(users::Entity, holder.clone())
        .and_where(
            Expr::col((holder.clone(), users::Column::Id))
                .equals((user_attrs::Entity, user_attrs::Column::UserId)),
        )
        .and_where(Expr::col((holder.clone(), users::Column::TenantId)).eq(tenant_id))
        .and_where(
            Expr::col((holder.clone(), users::Column::ManagedBy)).eq(ManagedBy::Local.as_str()),
        )
        .and_where(Expr::col((holder, users::Column::Active)).eq(true))
        .to_owned();
    let rows: Vec<(String, Option<String>)> = user_attrs::Entity::find()
        .select_only()
        .column(user_attrs::Column::UserId)
        .column(user_attrs::Column::StrKey)
        .filter(user_attrs::Column::TenantId.eq(tenant_id))
        .filter(user_attrs::Column::Attr.eq(format!("{CONTACT_CENTRE}:securityProfiles")))
        .filter(user_attrs::Column::StrKey.is_in(profiles.iter().cloned()))
        .filter(Expr::exists(local_active))
        .into_tuple()
        .all(db)
        .await
        .map_err(|e| sql_err(e, "user"))?;
    let mut out: HashMap<String, std::collections::BTreeSet<String>> = HashMap::new();
    for (user, profile) in rows {
        if let Some(profile) = profile {
            out.entry(user).or_default().insert(profile);
        }
    }
    Ok(out)
}
