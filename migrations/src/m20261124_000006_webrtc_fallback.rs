//! The WebRTC fallback number: the number an agent's calls fall back to when WebRTC is
//! unavailable, unique within the tenant (`users_tenant_webrtc_fallback`). It is either an
//! E.164 number or the agent's own agent id; existing rows start without one.

use sea_orm_migration::prelude::*;

use crate::columns::{id, index, text_null};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000006_webrtc_fallback"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(id("users"))
                    .add_column(text_null("webrtc_fallback"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "users_tenant_webrtc_fallback",
                "users",
                &["tenant_id", "webrtc_fallback"],
                true,
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("users_tenant_webrtc_fallback")
                    .table(id("users"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(id("users"))
                    .drop_column(id("webrtc_fallback"))
                    .to_owned(),
            )
            .await
    }
}
