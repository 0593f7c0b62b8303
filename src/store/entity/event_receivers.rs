//! `event_receivers` rows: where a tenant's SCIM events go.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "event_receivers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub delivery: String,
    pub url: Option<String>,
    pub poll_token_hash: Option<String>,
    pub secret: String,
    pub events: String,
    pub description: Option<String>,
    pub down_until_us: Option<i64>,
    pub version: i64,
    pub created_us: i64,
    pub modified_us: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
