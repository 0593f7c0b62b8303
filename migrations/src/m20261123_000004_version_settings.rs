//! Versioned tenant settings, the ManageSecurityProfiles permission, and local users out of
//! the identity provider's groups.
//!
//! - `tenants.settings_version`: settings are written with a compare-and-swap on it, and it
//!   is the ETag of `GET /admin/v1/settings`.
//! - Editing security profiles became its own permission, `ManageSecurityProfiles`, taken
//!   over from `ManageSettings`: every security profile that holds `ManageSettings` gains it,
//!   so nobody loses what they could do (the built-in Administrator, which held every
//!   permission, holds every one again).
//! - Local users are outside the identity provider's view: group memberships an identity
//!   provider gave local users before this version are removed.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000004_version_settings"
    }
}

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
        let db = manager.get_connection();
        db.execute_unprepared(
            r#"UPDATE catalog_items
               SET data = REPLACE(data, '"ManageSettings"', '"ManageSettings","ManageSecurityProfiles"')
               WHERE kind = 'security_profile'
                 AND data LIKE '%"ManageSettings"%'
                 AND data NOT LIKE '%"ManageSecurityProfiles"%'"#,
        )
        .await?;
        db.execute_unprepared(
            "DELETE FROM group_members
             WHERE member_type = 'User'
               AND member_id IN (SELECT id FROM users WHERE managed_by = 'local')",
        )
        .await?;
        Ok(())
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
