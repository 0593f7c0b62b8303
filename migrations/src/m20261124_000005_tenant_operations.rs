//! Tenants an operator can switch off, and a per-tenant request rate.
//!
//! - `tenants.disabled_us`: when set, the tenant is disabled (since that time): its
//!   credentials authenticate nothing until `rollcall tenant enable`.
//! - `tenants.rate_limit`: requests per second per credential for this tenant, copied from
//!   the settings' `rateLimit` in the same statement that stores them (null: the server's
//!   default). A column, so authentication reads it with the credential in one query.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000005_tenant_operations"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("tenants"))
                    .add_column(
                        ColumnDef::new(Alias::new("disabled_us"))
                            .big_integer()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("tenants"))
                    .add_column(ColumnDef::new(Alias::new("rate_limit")).integer().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["rate_limit", "disabled_us"] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new("tenants"))
                        .drop_column(Alias::new(column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
