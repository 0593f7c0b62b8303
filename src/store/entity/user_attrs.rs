//! `user_attrs` rows: one per searchable value of a user, reached by filters through EXISTS.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "user_attrs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub row_id: i64,
    pub tenant_id: String,
    pub user_id: String,
    pub attr: String,
    pub ordinal: i32,
    pub str_val: Option<String>,
    pub str_key: Option<String>,
    pub num_val: Option<f64>,
    pub bool_val: Option<bool>,
    pub type_key: Option<String>,
    pub is_primary: Option<bool>,
    pub display_key: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
