//! Tenant rows.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};

use sea_orm::sea_query::Expr;

use super::entity::tenants;
use super::{catalog, new_id, now_us, sql_err, unique_err};
use crate::domain::tenant::{Settings, Tenant, validate_slug};
use crate::domain::{Error, Result};

fn to_domain(m: tenants::Model) -> Tenant {
    Tenant {
        id: m.id,
        slug: m.slug,
        created_us: m.created_us,
        disabled_us: m.disabled_us,
    }
}

/// Creates a tenant with the built-in security profiles, inside the caller's transaction; a
/// taken slug is a uniqueness error.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn create(txn: &impl ConnectionTrait, slug: &str) -> Result<Tenant> {
    validate_slug(slug)?;
    let model = tenants::ActiveModel {
        id: Set(new_id()),
        slug: Set(slug.to_string()),
        settings: Set("{}".into()),
        settings_version: Set(1),
        created_us: Set(now_us()),
        disabled_us: Set(None),
        rate_limit: Set(None),
    }
    .insert(txn)
    .await
    .map_err(|e| unique_err(e, "slug", format!("tenant slug {slug:?} is already taken")))?;
    catalog::seed(txn, &model.id).await?;
    Ok(to_domain(model))
}

/// A tenant's settings.
pub async fn settings(db: &impl ConnectionTrait, tenant_id: &str) -> Result<Settings> {
    Ok(versioned_settings(db, tenant_id).await?.0)
}

/// A tenant's settings and their version.
pub async fn versioned_settings(
    db: &impl ConnectionTrait,
    tenant_id: &str,
) -> Result<(Settings, i64)> {
    let model = tenants::Entity::find_by_id(tenant_id.to_string())
        .one(db)
        .await
        .map_err(|e| sql_err(e, "tenant"))?
        .ok_or_else(|| Error::NotFound(format!("tenant {tenant_id}")))?;
    let settings = serde_json::from_str(&model.settings)
        .map_err(|e| Error::Internal(format!("tenant {tenant_id} has corrupt settings: {e}")))?;
    Ok((settings, model.settings_version))
}

/// Stores a tenant's settings if their version is still `expected_version` (else
/// `VersionConflict`); the version goes up by one.
pub async fn set_settings(
    txn: &impl ConnectionTrait,
    tenant_id: &str,
    settings: &Settings,
    expected_version: i64,
) -> Result<()> {
    let text = serde_json::to_string(settings).map_err(|e| Error::Internal(e.to_string()))?;
    let result = tenants::Entity::update_many()
        .col_expr(tenants::Column::Settings, Expr::value(text))
        .col_expr(
            tenants::Column::SettingsVersion,
            Expr::value(expected_version + 1),
        )
        .col_expr(
            tenants::Column::RateLimit,
            Expr::value(settings.rate_limit.map(|r| r as i32)),
        )
        .filter(tenants::Column::Id.eq(tenant_id))
        .filter(tenants::Column::SettingsVersion.eq(expected_version))
        .exec(txn)
        .await
        .map_err(|e| sql_err(e, "tenant"))?;
    if result.rows_affected == 0 {
        return Err(Error::VersionConflict);
    }
    Ok(())
}

/// The tenant with that slug.
pub async fn by_slug(db: &impl ConnectionTrait, slug: &str) -> Result<Tenant> {
    tenants::Entity::find()
        .filter(tenants::Column::Slug.eq(slug))
        .one(db)
        .await
        .map_err(|e| sql_err(e, "tenant"))?
        .map(to_domain)
        .ok_or_else(|| Error::NotFound(format!("tenant {slug}")))
}

/// The tenant with that id.
pub async fn by_id(db: &impl ConnectionTrait, id: &str) -> Result<Tenant> {
    tenants::Entity::find_by_id(id.to_string())
        .one(db)
        .await
        .map_err(|e| sql_err(e, "tenant"))?
        .map(to_domain)
        .ok_or_else(|| Error::NotFound(format!("tenant {id}")))
}

/// Every tenant, oldest first.
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<Tenant>> {
    Ok(tenants::Entity::find()
        .order_by_asc(tenants::Column::CreatedUs)
        .all(db)
        .await
        .map_err(|e| sql_err(e, "tenant"))?
        .into_iter()
        .map(to_domain)
        .collect())
}

/// Sets or clears a tenant's disabled mark; whether anything changed.
pub async fn set_disabled(
    txn: &impl ConnectionTrait,
    tenant_id: &str,
    disabled_us: Option<i64>,
) -> Result<bool> {
    let column = tenants::Column::DisabledUs;
    let mut update = tenants::Entity::update_many()
        .col_expr(column, Expr::value(disabled_us))
        .filter(tenants::Column::Id.eq(tenant_id));
    update = if disabled_us.is_some() {
        update.filter(column.is_null())
    } else {
        update.filter(column.is_not_null())
    };
    let result = update.exec(txn).await.map_err(|e| sql_err(e, "tenant"))?;
    Ok(result.rows_affected > 0)
}

/// What a tenant holds: users, groups and credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holdings {
    pub users: u64,
    pub groups: u64,
    pub credentials: u64,
}

/// Counts a tenant's users, groups and credentials.
pub async fn holdings(db: &impl ConnectionTrait, tenant_id: &str) -> Result<Holdings> {
    use super::entity::{credentials, groups, users};
    use sea_orm::PaginatorTrait;
    let users = users::Entity::find()
        .filter(users::Column::TenantId.eq(tenant_id))
        .count(db)
        .await
        .map_err(|e| sql_err(e, "tenant"))?;
    let groups = groups::Entity::find()
        .filter(groups::Column::TenantId.eq(tenant_id))
        .count(db)
        .await
        .map_err(|e| sql_err(e, "tenant"))?;
    let credentials = credentials::Entity::find()
        .filter(credentials::Column::TenantId.eq(tenant_id))
        .count(db)
        .await
        .map_err(|e| sql_err(e, "tenant"))?;
    Ok(Holdings {
        users,
        groups,
        credentials,
    })
}

/// Deletes a tenant and everything of it except its audit log (which has no key to the
/// tenant and outlives it), inside the caller's transaction: the foreign keys cascade to its
/// users (and their attribute rows), groups (and their memberships), credentials and catalog
/// entries.
pub async fn delete(txn: &impl ConnectionTrait, tenant_id: &str) -> Result<()> {
    let result = tenants::Entity::delete_by_id(tenant_id.to_string())
        .exec(txn)
        .await
        .map_err(|e| sql_err(e, "tenant"))?;
    if result.rows_affected == 0 {
        return Err(Error::NotFound(format!("tenant {tenant_id}")));
    }
    Ok(())
}
