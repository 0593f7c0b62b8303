//! sea-orm entities: one per table of `migrations/`.

pub mod credentials;
pub mod group_members;
pub mod groups;
pub mod tenants;
pub mod user_attrs;
pub mod users;
