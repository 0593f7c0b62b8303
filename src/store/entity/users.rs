//! `users` rows: indexed identity columns plus the attribute document as JSON text.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub user_name: String,
    pub user_name_key: String,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    pub display_name_key: Option<String>,
    pub active: bool,
    pub managed_by: String,
    pub data: String,
    pub version: i64,
    pub created_us: i64,
    pub modified_us: i64,
    pub agent_id: Option<String>,
    pub personal_phone: Option<String>,
    pub primary_email_key: Option<String>,
    pub primary_email_unique: Option<String>,
    pub webrtc_fallback: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
