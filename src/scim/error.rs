//! SCIM errors (RFC 7644 §3.12): an HTTP status, an optional `scimType` and a detail.

use crate::domain::{self, Refusal};

/// RFC 7644 §3.12 `scimType` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    InvalidVers,
    Sensitive,
    /// RFC 9865
    InvalidCursor,
    /// 413: a request over an advertised size limit (a body over `bulk.maxPayloadSize`, more
    /// than `bulk.maxOperations` operations). Not in RFC 7644's Table 9, which has no keyword
    /// for 413; the name is the one SCIM servers commonly use.
    TooLarge,
}

impl ScimType {
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
            ScimType::InvalidCursor => "invalidCursor",
            ScimType::TooLarge => "tooLarge",
        }
    }
}

/// An error answered to a SCIM client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {detail}")]
pub struct ScimError {
    pub status: u16,
    pub scim_type: Option<ScimType>,
    pub detail: String,
    /// The cause of a 500 or 503: logged once by the error-logging middleware, never sent.
    pub cause: Option<String>,
    /// Seconds for the `Retry-After` header of a 429 or 503.
    pub retry_after: Option<u64>,
}

/// The `Retry-After` seconds of a 503 answered while the database is unavailable.
pub const UNAVAILABLE_RETRY_AFTER: u64 = 5;

/// Result of the SCIM layer.
pub type ScimResult<T> = Result<T, ScimError>;

impl ScimError {
    pub fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
            cause: None,
            retry_after: None,
        }
    }

    pub fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self::new(400, Some(scim_type), detail)
    }

    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidValue, detail)
    }

    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidSyntax, detail)
    }

    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidFilter, detail)
    }

    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidPath, detail)
    }

    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::Mutability, detail)
    }

    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::NoTarget, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(404, None, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(401, None, detail)
    }

    /// The RFC 7644 §3.12 error body: `schemas`, `status` as a string, `scimType`, `detail`.
    pub fn body(&self) -> serde_json::Value {
        let mut body = serde_json::json!({
            "schemas": [super::ERROR],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let Some(scim_type) = self.scim_type {
            body["scimType"] = scim_type.as_str().into();
        }
        body
    }

    /// 413 `tooLarge`: the request is over a size limit the detail names.
    pub fn too_large(detail: impl Into<String>) -> Self {
        Self::new(413, Some(ScimType::TooLarge), detail)
    }

    pub fn internal() -> Self {
        Self::new(500, None, "internal server error")
    }

    /// 429: the caller is over its rate; it may retry after `seconds`.
    pub fn too_many_requests(seconds: u64, detail: impl Into<String>) -> Self {
        ScimError {
            retry_after: Some(seconds),
            ..Self::new(429, None, detail)
        }
    }

    /// 503: the database is unavailable; `cause` is logged, the client retries later.
    pub fn unavailable(cause: String) -> Self {
        ScimError {
            cause: Some(cause),
            retry_after: Some(UNAVAILABLE_RETRY_AFTER),
            ..Self::new(
                503,
                None,
                "the service is temporarily unavailable; retry after the Retry-After delay",
            )
        }
    }
}

impl From<domain::Error> for ScimError {
    fn from(err: domain::Error) -> Self {
        match err {
            domain::Error::NotFound(what) => ScimError::not_found(format!("{what} not found")),
            domain::Error::Uniqueness { detail, .. } => {
                ScimError::new(409, Some(ScimType::Uniqueness), detail)
            }
            domain::Error::InvalidValue { detail, .. } => ScimError::invalid_value(detail),
            domain::Error::Forbidden(detail) => ScimError::new(403, None, detail),
            domain::Error::Conflict { refusal, detail } => match refusal {
                Refusal::InUse
                | Refusal::LastAdministrator
                | Refusal::BuiltIn
                | Refusal::IdpManaged
                | Refusal::AlreadyManaged
                | Refusal::NotArchived
                | Refusal::HoldsCredentials
                | Refusal::LocalCreationOff
                | Refusal::Irrevocable
                | Refusal::AlreadyReleased => ScimError::new(409, None, detail),
            },
            domain::Error::VersionConflict => ScimError::new(
                409,
                None,
                "the resource is being modified concurrently; retry the request",
            ),
            domain::Error::PreconditionFailed => ScimError::new(
                412,
                None,
                "If-Match does not match the resource's current version",
            ),
            domain::Error::Held {
                detail,
                retry_after,
            } => ScimError::too_many_requests(retry_after, detail),
            domain::Error::Unavailable(cause) => ScimError::unavailable(cause),
            domain::Error::Internal(cause) => ScimError {
                cause: Some(cause),
                ..ScimError::internal()
            },
        }
    }
}
