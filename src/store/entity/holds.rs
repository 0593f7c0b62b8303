//! `holds` rows: the mass-deprovision brake's holds.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "holds")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub credential_id: String,
    pub open_key: Option<String>,
    pub state: String,
    pub threshold: i64,
    pub active_users: i64,
    pub created_us: i64,
    pub released_us: Option<i64>,
    pub released_by: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
