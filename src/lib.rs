//! Rollcall: a SCIM 2.0 provisioning server (RFC 7643, RFC 7644) for contact-centre user
//! directories.
//!
//! Layers, imports going one way:
//!
//! ```text
//! request → http::edge (connection loop and timeouts, path normalisation, rate limits,
//!                   access log, metrics, health)
//!         → http   (axum: routing, authentication, extract → call → render, errors)
//!         → scim   (RFC 7643/7644 semantics, pure: schemas, wire JSON, PATCH, filters)
//!         → write  (the write layer: one function per mutation — authorise, validate,
//!                   compare-and-swap write + audit row + cross-writer checks in one
//!                   transaction, one retry policy)
//!         → domain (contact-centre rules, pure: users, catalogs, ownership registry,
//!                   permissions, errors)
//!         ← store  (sea-orm over SQLite or PostgreSQL: rows, queries, filter → SQL)
//! ```
//!
//! Every change — SCIM, admin API, CSV import, CLI — goes through [`write`]; reads go from
//! the handlers to [`store`] directly.

pub mod app;
pub mod cli;
pub mod domain;
pub mod events;
pub mod http;
pub mod scim;
pub mod store;
pub mod write;
