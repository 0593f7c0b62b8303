//! Tenant rows.

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use super::entity::tenants;
use super::{new_id, now_us, sql_err};
use crate::domain::tenant::{Tenant, validate_slug};
use crate::domain::{Error, Result};

fn to_domain(m: tenants::Model) -> Tenant {
    Tenant {
        id: m.id,
        slug: m.slug,
        created_us: m.created_us,
    }
}

/// Creates a tenant; a taken slug is a uniqueness error.
#[tracing::instrument(skip_all, err)]
pub async fn create(db: &impl ConnectionTrait, slug: &str) -> Result<Tenant> {
    validate_slug(slug)?;
    let model = tenants::ActiveModel {
        id: Set(new_id()),
        slug: Set(slug.to_string()),
        settings: Set("{}".into()),
        created_us: Set(now_us()),
    }
    .insert(db)
    .await
    .map_err(|e| sql_err(e, &format!("tenant slug {slug}")))?;
    Ok(to_domain(model))
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
