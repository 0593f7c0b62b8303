//! Tenant rows.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};

use sea_orm::TransactionSession;
use sea_orm::TransactionTrait;
use sea_orm::sea_query::Expr;

use super::entity::tenants;
use super::{catalog, new_id, now_us, sql_err};
use crate::domain::tenant::{Settings, Tenant, validate_slug};
use crate::domain::{Error, Result};

fn to_domain(m: tenants::Model) -> Tenant {
    Tenant {
        id: m.id,
        slug: m.slug,
        created_us: m.created_us,
    }
}

/// Creates a tenant with the built-in security profiles; a taken slug is a uniqueness error.
#[tracing::instrument(skip_all, err)]
pub async fn create(db: &(impl ConnectionTrait + TransactionTrait), slug: &str) -> Result<Tenant> {
    validate_slug(slug)?;
    let txn = db.begin().await.map_err(|e| sql_err(e, "tenant"))?;
    let model = tenants::ActiveModel {
        id: Set(new_id()),
        slug: Set(slug.to_string()),
        settings: Set("{}".into()),
        created_us: Set(now_us()),
    }
    .insert(&txn)
    .await
    .map_err(|e| sql_err(e, &format!("tenant slug {slug}")))?;
    catalog::seed(&txn, &model.id).await?;
    txn.commit().await.map_err(|e| sql_err(e, "tenant"))?;
    Ok(to_domain(model))
}

/// A tenant's settings.
pub async fn settings(db: &impl ConnectionTrait, tenant_id: &str) -> Result<Settings> {
    let model = tenants::Entity::find_by_id(tenant_id.to_string())
        .one(db)
        .await
        .map_err(|e| sql_err(e, "tenant"))?
        .ok_or_else(|| Error::NotFound(format!("tenant {tenant_id}")))?;
    serde_json::from_str(&model.settings)
        .map_err(|e| Error::Internal(format!("tenant {tenant_id} has corrupt settings: {e}")))
}

/// Stores a tenant's settings.
pub async fn set_settings(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    settings: &Settings,
) -> Result<()> {
    let text = serde_json::to_string(settings).map_err(|e| Error::Internal(e.to_string()))?;
    tenants::Entity::update_many()
        .col_expr(tenants::Column::Settings, Expr::value(text))
        .filter(tenants::Column::Id.eq(tenant_id))
        .exec(db)
        .await
        .map_err(|e| sql_err(e, "tenant"))?;
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
