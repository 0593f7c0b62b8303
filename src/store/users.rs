//! User rows: the document as JSON text, identity columns, and the `user_attrs` index rows
//! rebuilt on every write. Index rows and id lists go to the database in chunks (see
//! `store::MAX_BINDS`).

use std::collections::{HashMap, HashSet};

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::{Map, Value};

use super::entity::{group_members, groups, user_attrs, users};
use super::filter::{Table, condition, order_by};
use super::{chunk_len, now_us, rows_per_insert, sql_err, unique_err};
use crate::domain::filter::ListQuery;
use crate::domain::group::GroupRef;
use crate::domain::ownership::CONTACT_CENTRE;
use crate::domain::user::{Document, ManagedBy, User, View, fold_key};
use crate::domain::{Error, Result};

/// Attributes kept in their own columns rather than in `user_attrs`.
const COLUMNS: [&str; 4] = ["userName", "externalId", "displayName", "active"];

fn to_domain(m: users::Model) -> Result<User> {
    let attributes: Map<String, Value> = serde_json::from_str(&m.data)
        .map_err(|e| Error::Internal(format!("user {} has a corrupt document: {e}", m.id)))?;
    Ok(User {
        id: m.id,
        tenant_id: m.tenant_id,
        managed_by: ManagedBy::parse(&m.managed_by),
        version: m.version,
        created_us: m.created_us,
        modified_us: m.modified_us,
        attributes,
    })
}

fn row(tenant_id: &str, user_id: &str, attr: &str, ordinal: i32) -> user_attrs::ActiveModel {
    user_attrs::ActiveModel {
        tenant_id: Set(tenant_id.to_string()),
        user_id: Set(user_id.to_string()),
        attr: Set(attr.to_string()),
        ordinal: Set(ordinal),
        str_val: Set(None),
        str_key: Set(None),
        num_val: Set(None),
        bool_val: Set(None),
        type_key: Set(None),
        is_primary: Set(None),
        display_key: Set(None),
        ..Default::default()
    }
}

fn set_scalar(r: &mut user_attrs::ActiveModel, value: &Value) -> bool {
    match value {
        Value::String(s) if !s.is_empty() => {
            r.str_val = Set(Some(s.clone()));
            r.str_key = Set(Some(fold_key(s)));
            true
        }
        Value::Number(n) => {
            r.num_val = Set(n.as_f64());
            true
        }
        Value::Bool(b) => {
            r.bool_val = Set(Some(*b));
            true
        }
        _ => false,
    }
}

/// The searchable rows of a document: one per singular value (`title`, `name.familyName`,
/// `urn:…:User:employeeNumber`) and one per element of a multi-valued attribute.
pub fn index_rows(
    tenant_id: &str,
    user_id: &str,
    doc: &Map<String, Value>,
) -> Vec<user_attrs::ActiveModel> {
    let mut rows = Vec::new();
    let push_attr =
        |key: String, value: &Value, rows: &mut Vec<user_attrs::ActiveModel>| match value {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let mut r = row(
                        tenant_id,
                        user_id,
                        &key,
                        i32::try_from(i).unwrap_or(i32::MAX),
                    );
                    match item {
                        Value::Object(fields) => {
                            let main = fields
                                .get("value")
                                .or_else(|| fields.get("formatted"))
                                .or_else(|| fields.get("name"));
                            if let Some(Value::String(s)) = main
                                && !s.is_empty()
                            {
                                r.str_val = Set(Some(s.clone()));
                                r.str_key = Set(Some(fold_key(s)));
                            }
                            if let Some(level) = fields.get("level").and_then(Value::as_f64) {
                                r.num_val = Set(Some(level));
                            }
                            if let Some(t) = fields.get("type").and_then(Value::as_str) {
                                r.type_key = Set(Some(fold_key(t)));
                            }
                            if let Some(p) = fields.get("primary").and_then(Value::as_bool) {
                                r.is_primary = Set(Some(p));
                            }
                            if let Some(d) = fields.get("display").and_then(Value::as_str) {
                                r.display_key = Set(Some(fold_key(d)));
                            }
                        }
                        scalar => {
                            set_scalar(&mut r, scalar);
                        }
                    }
                    rows.push(r);
                }
            }
            Value::Object(fields) => {
                for (sub, v) in fields {
                    let mut r = row(tenant_id, user_id, &format!("{key}.{sub}"), 0);
                    if set_scalar(&mut r, v) {
                        rows.push(r);
                    }
                }
            }
            scalar => {
                let mut r = row(tenant_id, user_id, &key, 0);
                if set_scalar(&mut r, scalar) {
                    rows.push(r);
                }
            }
        };
    for (key, value) in doc {
        if COLUMNS.contains(&key.as_str()) {
            continue;
        }
        match value {
            Value::Object(fields) if key.starts_with("urn:") => {
                for (name, v) in fields {
                    push_attr(format!("{key}:{name}"), v, &mut rows);
                }
            }
            _ => push_attr(key.clone(), value, &mut rows),
        }
    }
    rows
}

fn data(user: &User) -> Result<String> {
    serde_json::to_string(&user.attributes).map_err(|e| Error::Internal(e.to_string()))
}

async fn write_index(db: &impl ConnectionTrait, user: &User) -> Result<()> {
    user_attrs::Entity::delete_many()
        .filter(user_attrs::Column::UserId.eq(user.id.clone()))
        .exec(db)
        .await
        .map_err(|e| sql_err(e, "user"))?;
    let rows = index_rows(&user.tenant_id, &user.id, &user.attributes);
    for chunk in rows.chunks(rows_per_insert::<user_attrs::Entity>()) {
        user_attrs::Entity::insert_many(chunk.iter().cloned())
            .exec_without_returning(db)
            .await
            .map_err(|e| sql_err(e, "user"))?;
    }
    Ok(())
}

/// Maps a unique-index violation of a user write to the attribute it is about, from the
/// index's name (the one place that knows them).
fn uniqueness(user: &User) -> impl Fn(sea_orm::DbErr) -> Error + '_ {
    move |e| {
        let text = e.to_string();
        let (field, value) = if text.contains("agent_id") {
            ("agentId", user.agent_id().unwrap_or_default())
        } else if text.contains("primary_email") {
            ("emails", user.primary_email().unwrap_or_default())
        } else if text.contains("personal_phone") {
            (
                "personalPhoneNumber",
                user.personal_phone().unwrap_or_default(),
            )
        } else {
            ("userName", user.user_name())
        };
        let label = if field == "emails" {
            "primary email".to_string()
        } else {
            field.to_string()
        };
        unique_err(e, field, format!("{label} {value:?} is already in use"))
    }
}

/// Inserts a new user and its index rows, inside the caller's transaction; a taken userName
/// (case-insensitively), primary email, agent id or personal number is a uniqueness error.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn insert(txn: &impl ConnectionTrait, user: &User) -> Result<()> {
    users::Entity::insert(users::ActiveModel {
        id: Set(user.id.clone()),
        tenant_id: Set(user.tenant_id.clone()),
        user_name: Set(user.user_name().to_string()),
        user_name_key: Set(fold_key(user.user_name())),
        external_id: Set(user.external_id().map(str::to_string)),
        display_name: Set(user.display_name().map(str::to_string)),
        display_name_key: Set(user.display_name().map(fold_key)),
        active: Set(user.active()),
        managed_by: Set(user.managed_by.as_str().to_string()),
        data: Set(data(user)?),
        version: Set(user.version),
        created_us: Set(user.created_us),
        modified_us: Set(user.modified_us),
        agent_id: Set(user.agent_id().map(str::to_string)),
        personal_phone: Set(user.personal_phone().map(str::to_string)),
        primary_email_key: Set(user.primary_email().map(fold_key)),
    })
    .exec_without_returning(txn)
    .await
    .map_err(uniqueness(user))?;
    write_index(txn, user).await
}

/// Stores a changed user, inside the caller's transaction, if its stored version is still
/// `expected_version` (else `VersionConflict`); the stored version becomes `user.version`.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn update(txn: &impl ConnectionTrait, user: &User, expected_version: i64) -> Result<()> {
    let result = users::Entity::update_many()
        .col_expr(
            users::Column::UserName,
            Expr::value(user.user_name().to_string()),
        )
        .col_expr(
            users::Column::UserNameKey,
            Expr::value(fold_key(user.user_name())),
        )
        .col_expr(
            users::Column::ExternalId,
            Expr::value(user.external_id().map(str::to_string)),
        )
        .col_expr(
            users::Column::DisplayName,
            Expr::value(user.display_name().map(str::to_string)),
        )
        .col_expr(
            users::Column::DisplayNameKey,
            Expr::value(user.display_name().map(fold_key)),
        )
        .col_expr(users::Column::Active, Expr::value(user.active()))
        .col_expr(
            users::Column::ManagedBy,
            Expr::value(user.managed_by.as_str().to_string()),
        )
        .col_expr(users::Column::Data, Expr::value(data(user)?))
        .col_expr(users::Column::Version, Expr::value(user.version))
        .col_expr(users::Column::ModifiedUs, Expr::value(user.modified_us))
        .col_expr(
            users::Column::AgentId,
            Expr::value(user.agent_id().map(str::to_string)),
        )
        .col_expr(
            users::Column::PersonalPhone,
            Expr::value(user.personal_phone().map(str::to_string)),
        )
        .col_expr(
            users::Column::PrimaryEmailKey,
            Expr::value(user.primary_email().map(fold_key)),
        )
        .filter(users::Column::Id.eq(user.id.clone()))
        .filter(users::Column::TenantId.eq(user.tenant_id.clone()))
        .filter(users::Column::Version.eq(expected_version))
        .exec(txn)
        .await
        .map_err(uniqueness(user))?;
    if result.rows_affected == 0 {
        return Err(Error::VersionConflict);
    }
    write_index(txn, user).await
}

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

/// Deletes a user, its index rows and its group memberships (bumping those groups' versions),
/// inside the caller's transaction.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn delete(txn: &impl ConnectionTrait, tenant_id: &str, id: &str) -> Result<()> {
    let found = users::Entity::find_by_id(id.to_string())
        .filter(users::Column::TenantId.eq(tenant_id))
        .one(txn)
        .await
        .map_err(|e| sql_err(e, "user"))?;
    if found.is_none() {
        return Err(Error::NotFound(format!("user {id}")));
    }
    let group_ids: Vec<String> = group_members::Entity::find()
        .select_only()
        .column(group_members::Column::GroupId)
        .filter(group_members::Column::MemberId.eq(id))
        .filter(group_members::Column::TenantId.eq(tenant_id))
        .into_tuple()
        .all(txn)
        .await
        .map_err(|e| sql_err(e, "user"))?;
    let modified_us = now_us();
    for chunk in group_ids.chunks(chunk_len(1)) {
        groups::Entity::update_many()
            .col_expr(
                groups::Column::Version,
                Expr::col(groups::Column::Version).add(1),
            )
            .col_expr(groups::Column::ModifiedUs, Expr::value(modified_us))
            .filter(groups::Column::Id.is_in(chunk.iter().cloned()))
            .exec(txn)
            .await
            .map_err(|e| sql_err(e, "group"))?;
    }
    group_members::Entity::delete_many()
        .filter(group_members::Column::MemberId.eq(id))
        .filter(group_members::Column::TenantId.eq(tenant_id))
        .exec(txn)
        .await
        .map_err(|e| sql_err(e, "user"))?;
    user_attrs::Entity::delete_many()
        .filter(user_attrs::Column::UserId.eq(id))
        .exec(txn)
        .await
        .map_err(|e| sql_err(e, "user"))?;
    users::Entity::delete_by_id(id.to_string())
        .exec(txn)
        .await
        .map_err(|e| sql_err(e, "user"))?;
    Ok(())
}

/// A page of the tenant's users in a view matching `filter`, and how many match in all.
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
    let total = query
        .clone()
        .count(db)
        .await
        .map_err(|e| sql_err(e, "user"))?;
    if q.limit == 0 || q.offset >= total {
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

/// The agent ids of a tenant in use at or above a start, handing out the free ones in order.
/// The unique index still decides: a concurrent writer that took the same id makes the insert
/// fail and the caller try again.
#[derive(Debug, Clone)]
pub struct AgentIds {
    taken: std::collections::BTreeSet<i64>,
    next: i64,
}

impl AgentIds {
    /// Loads the ids in use.
    pub async fn load(db: &impl ConnectionTrait, tenant_id: &str, start: i64) -> Result<AgentIds> {
        let taken: Vec<Option<String>> = users::Entity::find()
            .select_only()
            .column(users::Column::AgentId)
            .filter(users::Column::TenantId.eq(tenant_id))
            .filter(users::Column::AgentId.is_not_null())
            .into_tuple()
            .all(db)
            .await
            .map_err(|e| sql_err(e, "user"))?;
        Ok(AgentIds {
            taken: taken
                .into_iter()
                .flatten()
                .filter_map(|s| s.parse().ok())
                .filter(|n| *n >= start)
                .collect(),
            next: start,
        })
    }

    /// The smallest free id, marked as taken.
    pub fn allocate(&mut self) -> String {
        while self.taken.contains(&self.next) {
            self.next += 1;
        }
        self.taken.insert(self.next);
        self.next.to_string()
    }
}

/// The smallest agent id at or above `start` that no user of the tenant holds.
pub async fn next_agent_id(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    start: i64,
) -> Result<String> {
    Ok(AgentIds::load(db, tenant_id, start).await?.allocate())
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

/// The security profiles (lower-cased names) of each active local user of the tenant.
pub async fn local_profile_sets(
    db: &impl ConnectionTrait,
    tenant_id: &str,
) -> Result<HashMap<String, std::collections::BTreeSet<String>>> {
    use sea_orm::sea_query::Query;
    let local_active = Query::select()
        .column(users::Column::Id)
        .from(users::Entity)
        .and_where(users::Column::TenantId.eq(tenant_id))
        .and_where(users::Column::ManagedBy.eq(ManagedBy::Local.as_str()))
        .and_where(users::Column::Active.eq(true))
        .to_owned();
    let rows: Vec<(String, Option<String>)> = user_attrs::Entity::find()
        .select_only()
        .column(user_attrs::Column::UserId)
        .column(user_attrs::Column::StrKey)
        .filter(user_attrs::Column::TenantId.eq(tenant_id))
        .filter(user_attrs::Column::Attr.eq(format!("{CONTACT_CENTRE}:securityProfiles")))
        .filter(user_attrs::Column::UserId.in_subquery(local_active))
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
