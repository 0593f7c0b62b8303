//! The admin console's sign-in state, shared by every instance on one database:
//!
//! - `console_sessions`: one row per signed-in browser. `id` is the SHA-256 of the session
//!   cookie's secret (the secret itself is never stored); `csrf` the token every
//!   state-changing request must carry; `created_us`/`seen_us` drive the absolute and idle
//!   timeouts. A user's sessions go with the user (and the tenant).
//! - `console_links`: break-glass one-time sign-in links (`rollcall console-link`), by the
//!   SHA-256 of their secret; `used_us` is set by the one statement that redeems a link.
//! - `console_oidc`: sign-ins through the tenant's identity provider in flight — the state,
//!   the PKCE verifier and the nonce, between the redirect out and the callback.
//! - `users_tenant_active` (tenant_id, active, created_us, id): the console's Active /
//!   Archived filter (and SCIM's `active eq …`) counts its matches from the index alone and
//!   reads its pages in creation order from it, without a sort.
//! - `tenant_oidc`: a tenant's OpenID Connect sign-in: its identity provider's issuer, and
//!   the client id and secret Rollcall signs in with (the secret is needed in clear to
//!   authenticate to the provider; no API answers it).

use sea_orm_migration::prelude::*;

use crate::columns::{big, fk, id, index, text, text_null};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000007_console"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(index(
                "users_tenant_active",
                "users",
                &["tenant_id", "active", "created_us", "id"],
                false,
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(id("console_sessions"))
                    .col(text("id").primary_key())
                    .col(text("tenant_id"))
                    .col(text("user_id"))
                    .col(text("csrf"))
                    .col(text("via"))
                    .col(big("created_us"))
                    .col(big("seen_us"))
                    .foreign_key(&mut fk("console_sessions", "tenant_id", "tenants"))
                    .foreign_key(&mut fk("console_sessions", "user_id", "users"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "console_sessions_user",
                "console_sessions",
                &["tenant_id", "user_id"],
                false,
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(id("console_links"))
                    .col(text("id").primary_key())
                    .col(text("tenant_id"))
                    .col(text("user_id"))
                    .col(big("expires_us"))
                    .col(ColumnDef::new(id("used_us")).big_integer().null())
                    .foreign_key(&mut fk("console_links", "tenant_id", "tenants"))
                    .foreign_key(&mut fk("console_links", "user_id", "users"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(id("console_oidc"))
                    .col(text("id").primary_key())
                    .col(text("tenant_id"))
                    .col(text("verifier"))
                    .col(text("nonce"))
                    .col(text_null("next"))
                    .col(big("expires_us"))
                    .foreign_key(&mut fk("console_oidc", "tenant_id", "tenants"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(id("tenant_oidc"))
                    .col(text("tenant_id").primary_key())
                    .col(text("issuer"))
                    .col(text("client_id"))
                    .col(text("client_secret"))
                    .col(big("modified_us"))
                    .foreign_key(&mut fk("tenant_oidc", "tenant_id", "tenants"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "tenant_oidc",
            "console_oidc",
            "console_links",
            "console_sessions",
        ] {
            manager
                .drop_table(Table::drop().table(id(table)).to_owned())
                .await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("users_tenant_active")
                    .table(id("users"))
                    .to_owned(),
            )
            .await
    }
}
