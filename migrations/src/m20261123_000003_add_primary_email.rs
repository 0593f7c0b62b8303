//! A user's primary email, lower-cased, unique per tenant (DESIGN.md: "primary email unique
//! per tenant"). The primary email is the one flagged `primary`, else the first.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000003_add_primary_email"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("users"))
                    .add_column(
                        ColumnDef::new(Alias::new("primary_email_key"))
                            .text()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("users_tenant_primary_email")
                    .table(Alias::new("users"))
                    .col(Alias::new("tenant_id"))
                    .col(Alias::new("primary_email_key"))
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("users_tenant_primary_email")
                    .table(Alias::new("users"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("users"))
                    .drop_column(Alias::new("primary_email_key"))
                    .to_owned(),
            )
            .await
    }
}
