//! Contact-centre domain: users, groups, tenants, the ownership registry and the resolved
//! filter. Pure: no HTTP and no SQL here.

pub mod audit;
pub mod catalog;
pub mod error;
pub mod events;
pub mod filter;
pub mod group;
pub mod ownership;
pub mod tenant;
pub mod user;
pub mod validation;
pub mod windows_zones;

pub use error::{Error, Refusal, Result};
