//! The initial schema: tenants, credentials, users with their searchable attribute rows,
//! groups and the membership join table.
//!
//! Every attribute that a filter, a sort or a uniqueness rule reaches is an indexed column.
//! Case-insensitive attributes carry a lower-cased `*_key` column computed by the application,
//! so SQLite and PostgreSQL compare the same bytes.

use sea_orm_migration::prelude::*;

use crate::columns::{big, fk, id, index, text, text_null};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000001_create_tables"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(id("tenants"))
                    .col(text("id").primary_key())
                    .col(text("slug"))
                    .col(text("settings").default("{}"))
                    .col(big("created_us"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("tenants_slug", "tenants", &["slug"], true))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(id("users"))
                    .col(text("id").primary_key())
                    .col(text("tenant_id"))
                    .col(text("user_name"))
                    .col(text("user_name_key"))
                    .col(text_null("external_id"))
                    .col(text_null("display_name"))
                    .col(text_null("display_name_key"))
                    .col(ColumnDef::new(id("active")).boolean().not_null())
                    .col(text("managed_by"))
                    .col(text("data"))
                    .col(big("version"))
                    .col(big("created_us"))
                    .col(big("modified_us"))
                    .foreign_key(&mut fk("users", "tenant_id", "tenants"))
                    .to_owned(),
            )
            .await?;
        for (name, columns, unique) in [
            (
                "users_tenant_user_name",
                &["tenant_id", "user_name_key"][..],
                true,
            ),
            (
                "users_tenant_external_id",
                &["tenant_id", "external_id"][..],
                false,
            ),
            (
                "users_tenant_display_name",
                &["tenant_id", "display_name_key"][..],
                false,
            ),
            (
                "users_tenant_created",
                &["tenant_id", "created_us", "id"][..],
                false,
            ),
            (
                "users_tenant_modified",
                &["tenant_id", "modified_us"][..],
                false,
            ),
        ] {
            manager
                .create_index(index(name, "users", columns, unique))
                .await?;
        }

        // One row per searchable value of a user: a singular attribute (`title`,
        // `name.familyName`, `urn:…:User:employeeNumber`) or one element of a multi-valued one
        // (`emails`, with its type and primary flag). Filters reach them through EXISTS.
        manager
            .create_table(
                Table::create()
                    .table(id("user_attrs"))
                    .col(
                        ColumnDef::new(id("row_id"))
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(text("tenant_id"))
                    .col(text("user_id"))
                    .col(text("attr"))
                    .col(ColumnDef::new(id("ordinal")).integer().not_null())
                    .col(text_null("str_val"))
                    .col(text_null("str_key"))
                    .col(ColumnDef::new(id("num_val")).double().null())
                    .col(ColumnDef::new(id("bool_val")).boolean().null())
                    .col(text_null("type_key"))
                    .col(ColumnDef::new(id("is_primary")).boolean().null())
                    .col(text_null("display_key"))
                    .foreign_key(&mut fk("user_attrs", "user_id", "users"))
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            ("user_attrs_user", &["user_id", "attr"][..]),
            ("user_attrs_key", &["tenant_id", "attr", "str_key"][..]),
            ("user_attrs_val", &["tenant_id", "attr", "str_val"][..]),
        ] {
            manager
                .create_index(index(name, "user_attrs", columns, false))
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(id("groups"))
                    .col(text("id").primary_key())
                    .col(text("tenant_id"))
                    .col(text("display_name"))
                    .col(text("display_name_key"))
                    .col(text_null("external_id"))
                    .col(text("data"))
                    .col(big("version"))
                    .col(big("created_us"))
                    .col(big("modified_us"))
                    .foreign_key(&mut fk("groups", "tenant_id", "tenants"))
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            (
                "groups_tenant_display_name",
                &["tenant_id", "display_name_key"][..],
            ),
            (
                "groups_tenant_external_id",
                &["tenant_id", "external_id"][..],
            ),
            (
                "groups_tenant_created",
                &["tenant_id", "created_us", "id"][..],
            ),
        ] {
            manager
                .create_index(index(name, "groups", columns, false))
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(id("group_members"))
                    .col(text("group_id"))
                    .col(text("member_id"))
                    .col(text("tenant_id"))
                    .col(text("member_type"))
                    .col(big("added_us"))
                    .primary_key(Index::create().col(id("group_id")).col(id("member_id")))
                    .foreign_key(&mut fk("group_members", "group_id", "groups"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "group_members_member",
                "group_members",
                &["member_id", "group_id"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(id("credentials"))
                    .col(text("id").primary_key())
                    .col(text("tenant_id"))
                    .col(text("kind"))
                    .col(text_null("user_id"))
                    .col(text("name"))
                    .col(text("secret_hash"))
                    .col(big("created_us"))
                    .foreign_key(&mut fk("credentials", "tenant_id", "tenants"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "credentials_user",
                "credentials",
                &["tenant_id", "user_id"],
                false,
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "credentials",
            "group_members",
            "groups",
            "user_attrs",
            "users",
            "tenants",
        ] {
            manager
                .drop_table(Table::drop().table(id(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
