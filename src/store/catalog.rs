//! Catalog rows: security profiles, routing profiles, hierarchy nodes, skills and callback
//! numbers of one tenant. Names are unique per tenant and kind, case-insensitively (a unique
//! index); an entry in use by users cannot be deleted.

use std::collections::BTreeSet;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::{Value, json};

use super::entity::{catalog_items, user_attrs};
use super::{new_id, now_us, sql_err, unique_err};
use crate::domain::catalog::{CatalogItem, CatalogKind, Catalogs};
use crate::domain::ownership::Permission;
use crate::domain::{Error, Result};

fn kind_of(s: &str) -> Option<CatalogKind> {
    CatalogKind::ALL.into_iter().find(|k| k.as_str() == s)
}

fn to_domain(m: catalog_items::Model) -> Option<CatalogItem> {
    let data: Value = serde_json::from_str(&m.data).unwrap_or(Value::Null);
    let permissions: BTreeSet<Permission> = data
        .get("permissions")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .filter_map(|p| p.as_str().and_then(Permission::parse))
                .collect()
        })
        .unwrap_or_default();
    Some(CatalogItem {
        id: m.id,
        kind: kind_of(&m.kind)?,
        name: m.name,
        permissions,
        label: data
            .get("label")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

fn data(item: &CatalogItem) -> String {
    let mut data = json!({});
    if item.kind == CatalogKind::SecurityProfile {
        data["permissions"] = item.permissions.iter().map(|p| p.as_str()).collect();
    }
    if let Some(label) = &item.label {
        data["label"] = Value::String(label.clone());
    }
    data.to_string()
}

fn taken(e: sea_orm::DbErr, item: &CatalogItem) -> Error {
    let field = item.kind.name_field();
    unique_err(
        e,
        field,
        format!("{field} {:?} is already in the catalog", item.name),
    )
}

/// Every catalog of a tenant, each in creation order.
pub async fn load(db: &impl ConnectionTrait, tenant_id: &str) -> Result<Catalogs> {
    let rows = catalog_items::Entity::find()
        .filter(catalog_items::Column::TenantId.eq(tenant_id))
        .order_by_asc(catalog_items::Column::CreatedUs)
        .order_by_asc(catalog_items::Column::NameKey)
        .all(db)
        .await
        .map_err(|e| sql_err(e, "catalog"))?;
    Ok(Catalogs {
        items: rows.into_iter().filter_map(to_domain).collect(),
    })
}

/// Adds an entry; a name already in the catalog is a uniqueness error.
pub async fn create(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    item: &CatalogItem,
) -> Result<CatalogItem> {
    let id = new_id();
    catalog_items::Entity::insert(catalog_items::ActiveModel {
        id: Set(id.clone()),
        tenant_id: Set(tenant_id.to_string()),
        kind: Set(item.kind.as_str().to_string()),
        name: Set(item.name.clone()),
        name_key: Set(item.name.to_lowercase()),
        data: Set(data(item)),
        created_us: Set(now_us()),
    })
    .exec_without_returning(db)
    .await
    .map_err(|e| taken(e, item))?;
    Ok(CatalogItem { id, ..item.clone() })
}

/// Seeds the built-in security profiles of a new tenant.
pub async fn seed(db: &impl ConnectionTrait, tenant_id: &str) -> Result<()> {
    let profiles: [(&str, &[Permission]); 3] = [
        ("Administrator", &Permission::ALL),
        (
            "Supervisor",
            &[
                Permission::ViewUsers,
                Permission::EditUser,
                Permission::ArchiveUser,
                Permission::ManageRoutingSettings,
            ],
        ),
        ("Agent", &[]),
    ];
    for (name, permissions) in profiles {
        create(
            db,
            tenant_id,
            &CatalogItem {
                id: String::new(),
                kind: CatalogKind::SecurityProfile,
                name: name.to_string(),
                permissions: permissions.iter().copied().collect(),
                label: None,
            },
        )
        .await?;
    }
    Ok(())
}

fn by_id(tenant_id: &str, kind: CatalogKind, id: &str) -> sea_orm::Select<catalog_items::Entity> {
    catalog_items::Entity::find_by_id(id.to_string())
        .filter(catalog_items::Column::TenantId.eq(tenant_id))
        .filter(catalog_items::Column::Kind.eq(kind.as_str()))
}

async fn one(
    db: &impl ConnectionTrait,
    query: sea_orm::Select<catalog_items::Entity>,
    kind: CatalogKind,
    id: &str,
) -> Result<CatalogItem> {
    query
        .one(db)
        .await
        .map_err(|e| sql_err(e, "catalog"))?
        .and_then(to_domain)
        .ok_or_else(|| Error::NotFound(format!("{} {id}", kind.segment())))
}

/// One entry by id.
pub async fn get(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    kind: CatalogKind,
    id: &str,
) -> Result<CatalogItem> {
    one(db, by_id(tenant_id, kind, id), kind, id).await
}

/// Stores a changed entry (name, permissions, label).
pub async fn update(db: &impl ConnectionTrait, tenant_id: &str, item: &CatalogItem) -> Result<()> {
    catalog_items::Entity::update_many()
        .col_expr(catalog_items::Column::Name, Expr::value(item.name.clone()))
        .col_expr(
            catalog_items::Column::NameKey,
            Expr::value(item.name.to_lowercase()),
        )
        .col_expr(catalog_items::Column::Data, Expr::value(data(item)))
        .filter(catalog_items::Column::Id.eq(item.id.clone()))
        .filter(catalog_items::Column::TenantId.eq(tenant_id))
        .exec(db)
        .await
        .map_err(|e| taken(e, item))?;
    Ok(())
}

/// How many users name the entry.
pub async fn usage(db: &impl ConnectionTrait, tenant_id: &str, item: &CatalogItem) -> Result<u64> {
    let users: Vec<String> = user_attrs::Entity::find()
        .select_only()
        .column(user_attrs::Column::UserId)
        .distinct()
        .filter(user_attrs::Column::TenantId.eq(tenant_id))
        .filter(user_attrs::Column::Attr.eq(item.kind.user_attr()))
        .filter(user_attrs::Column::StrKey.eq(item.name.to_lowercase()))
        .into_tuple()
        .all(db)
        .await
        .map_err(|e| sql_err(e, "catalog"))?;
    Ok(users.len() as u64)
}

/// Deletes an entry (inside the caller's transaction; the write layer then checks usage).
pub async fn delete(db: &impl ConnectionTrait, tenant_id: &str, item: &CatalogItem) -> Result<()> {
    let result = catalog_items::Entity::delete_many()
        .filter(catalog_items::Column::Id.eq(item.id.clone()))
        .filter(catalog_items::Column::TenantId.eq(tenant_id))
        .exec(db)
        .await
        .map_err(|e| sql_err(e, "catalog"))?;
    if result.rows_affected == 0 {
        return Err(Error::NotFound(format!(
            "{} {}",
            item.kind.segment(),
            item.id
        )));
    }
    Ok(())
}

/// How many entries of a kind a tenant has.
pub async fn count(db: &impl ConnectionTrait, tenant_id: &str, kind: CatalogKind) -> Result<u64> {
    catalog_items::Entity::find()
        .filter(catalog_items::Column::TenantId.eq(tenant_id))
        .filter(catalog_items::Column::Kind.eq(kind.as_str()))
        .count(db)
        .await
        .map_err(|e| sql_err(e, "catalog"))
}

/// Inside a user write's transaction: checks that every named entry still exists and holds
/// it until the transaction ends (`FOR SHARE` on PostgreSQL; SQLite's write lock, already
/// held by the write, does the same), so a concurrent delete or rename of an entry either
/// sees this user or makes this write fail — never leaves a user naming a missing entry.
pub async fn hold(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    names: &[(CatalogKind, String)],
) -> Result<()> {
    if names.is_empty() {
        return Ok(());
    }
    let mut wanted = sea_orm::Condition::any();
    for kind in CatalogKind::ALL {
        let keys: Vec<String> = names
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, n)| n.to_lowercase())
            .collect();
        if !keys.is_empty() {
            wanted = wanted.add(
                sea_orm::Condition::all()
                    .add(catalog_items::Column::Kind.eq(kind.as_str()))
                    .add(catalog_items::Column::NameKey.is_in(keys)),
            );
        }
    }
    let found: BTreeSet<(String, String)> = catalog_items::Entity::find()
        .select_only()
        .column(catalog_items::Column::Kind)
        .column(catalog_items::Column::NameKey)
        .filter(catalog_items::Column::TenantId.eq(tenant_id))
        .filter(wanted)
        .lock_shared()
        .into_tuple()
        .all(db)
        .await
        .map_err(|e| sql_err(e, "catalog"))?
        .into_iter()
        .collect();
    for (kind, name) in names {
        if !found.contains(&(kind.as_str().to_string(), name.to_lowercase())) {
            let field = kind.attr_name();
            return Err(Error::invalid(
                field,
                format!("{field}: {name:?} is not in the tenant's catalog"),
            ));
        }
    }
    Ok(())
}

/// One entry by id, locked for the rest of the transaction (`FOR UPDATE` on PostgreSQL; on
/// SQLite the transaction's first write takes the database lock).
pub async fn get_for_update(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    kind: CatalogKind,
    id: &str,
) -> Result<CatalogItem> {
    one(db, by_id(tenant_id, kind, id).lock_exclusive(), kind, id).await
}
