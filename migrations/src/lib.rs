//! Database migrations for Rollcall: one file per change, applied in order on SQLite and
//! PostgreSQL alike (`rollcall migrate`, or on `rollcall serve` start).

pub use sea_orm_migration::prelude::*;

mod columns;
mod m20261123_000001_create_tables;
mod m20261123_000002_contact_centre;
mod m20261123_000003_add_primary_email;
mod m20261123_000004_version_settings;
mod m20261124_000005_tenant_operations;
mod m20261124_000006_webrtc_fallback;
mod m20261206_000007_console;
mod m20261206_000008_provisioning;

/// The ordered list of Rollcall's migrations.
pub struct Migrator;

#[sea_orm_migration::async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_create_tables::Migration),
            Box::new(m20261123_000002_contact_centre::Migration),
            Box::new(m20261123_000003_add_primary_email::Migration),
            Box::new(m20261123_000004_version_settings::Migration),
            Box::new(m20261124_000005_tenant_operations::Migration),
            Box::new(m20261124_000006_webrtc_fallback::Migration),
            Box::new(m20261206_000007_console::Migration),
            Box::new(m20261206_000008_provisioning::Migration),
        ]
    }
}
