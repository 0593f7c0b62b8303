//! `event_deliveries` rows: the events outbox, one row per event and receiver.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "event_deliveries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: String,
    pub receiver_id: String,
    pub jti: String,
    pub event: String,
    pub resource_type: String,
    pub resource_id: String,
    pub claims: String,
    pub created_us: i64,
    pub state: String,
    pub attempts: i32,
    pub next_us: i64,
    pub lease_until_us: Option<i64>,
    pub last_error: Option<String>,
    pub delivered_us: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
