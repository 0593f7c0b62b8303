//! SCIM protocol semantics (RFC 7643, RFC 7644), pure: the schema registry, wire JSON <->
//! domain resources, list parameters, filter resolution, PATCH and projection.

pub mod bulk;
pub mod error;
pub mod filter;
pub mod list;
pub mod patch;
pub mod projection;
pub mod redact;
pub mod resource;
pub mod schema;

pub use error::{ScimError, ScimResult};

/// RFC 7643 core User schema URN.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// RFC 7643 core Group schema URN.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// RFC 7644 ListResponse message URN.
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// RFC 7644 PatchOp message URN.
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// RFC 7644 SearchRequest message URN.
pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
/// RFC 7644 Error message URN.
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
