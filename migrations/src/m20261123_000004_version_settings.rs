//! Versioned tenant settings, and the ManageSecurityProfiles permission.
//!
//! - `tenants.settings_version`: settings are written with a compare-and-swap on it, and it
//!   is the ETag of `GET /admin/v1/settings`.
//! - Editing security profiles became its own permission, `ManageSecurityProfiles`. The
//!   built-in Administrator profile holds every permission, so every tenant's Administrator
//!   profile is set to the full list (it cannot be changed through the API afterwards).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000004_version_settings"
    }
}

const ADMINISTRATOR: &str = r#"{"permissions":["ViewUsers","CreateUser","EditUser","ArchiveUser","DeleteUser","ManageRoutingSettings","ManageCredentials","ManageSettings","ManageSecurityProfiles"]}"#;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("tenants"))
                    .add_column(
                        ColumnDef::new(Alias::new("settings_version"))
                            .big_integer()
                            .not_null()
                            .default(1),
                    )
                    .to_owned(),
            )
            .await?;
        let update = Query::update()
            .table(Alias::new("catalog_items"))
            .value(Alias::new("data"), ADMINISTRATOR)
            .and_where(Expr::col(Alias::new("kind")).eq("security_profile"))
            .and_where(Expr::col(Alias::new("name_key")).eq("administrator"))
            .to_owned();
        manager.exec_stmt(update).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("tenants"))
                    .drop_column(Alias::new("settings_version"))
                    .to_owned(),
            )
            .await
    }
}
