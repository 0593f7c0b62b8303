//! `provisioning_log` rows: the last SCIM requests of each credential.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "provisioning_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: String,
    pub credential_id: String,
    pub at_us: i64,
    pub method: String,
    pub path: String,
    pub status: i32,
    pub latency_us: i64,
    pub resource_id: Option<String>,
    pub user_name_key: Option<String>,
    pub scim_type: Option<String>,
    pub detail: Option<String>,
    pub request: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
