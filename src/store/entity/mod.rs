//! sea-orm entities: one per table of `migrations/`.

pub mod audit_log;
pub mod catalog_items;
pub mod console_links;
pub mod console_oidc;
pub mod console_sessions;
pub mod credentials;
pub mod deprovisions;
pub mod event_deliveries;
pub mod event_receivers;
pub mod group_members;
pub mod groups;
pub mod hold_items;
pub mod holds;
pub mod provisioning_log;
pub mod tenant_oidc;
pub mod tenants;
pub mod user_attrs;
pub mod users;
