//! sea-orm entities: one per table of `migrations/`.

pub mod audit_log;
pub mod catalog_items;
pub mod console_links;
pub mod console_oidc;
pub mod console_sessions;
pub mod credentials;
pub mod group_members;
pub mod groups;
pub mod provisioning_log;
pub mod tenant_oidc;
pub mod tenants;
pub mod user_attrs;
pub mod users;
