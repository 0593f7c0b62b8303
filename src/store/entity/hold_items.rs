//! `hold_items` rows: the users a hold kept from being deactivated or deleted.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "hold_items")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub hold_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: String,
    pub operation: String,
    pub first_us: i64,
    pub last_us: i64,
    pub attempts: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
