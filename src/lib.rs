//! Rollcall: a SCIM 2.0 provisioning server (RFC 7643, RFC 7644) for contact-centre user
//! directories.
//!
//! Layers, imports going one way: `http` (axum) → `scim` (protocol, pure) → `domain`
//! (contact-centre rules, pure) ← `store` (sea-orm over SQLite or PostgreSQL).

pub mod app;
pub mod cli;
pub mod directory;
pub mod domain;
pub mod http;
pub mod scim;
pub mod store;
