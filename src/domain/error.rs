//! Errors of the domain, the write layer and the store. Meaning travels as data — the field,
//! the refusal — so each surface maps a variant to its status and code in one exhaustive
//! match (`scim::error` for SCIM, `http::admin::error` for the admin API, `cli` for the CLI).

/// Why a write is refused in the resource's current state (409 on every surface).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A catalog entry is used by users: it cannot be deleted or renamed.
    InUse,
    /// The change would leave the tenant without an active local user holding every
    /// permission.
    LastAdministrator,
    /// A built-in catalog entry (the Administrator profile) keeps its name and permissions.
    BuiltIn,
    /// The user is managed by the identity provider, which owns this change.
    IdpManaged,
    /// The user is already managed locally / already handed over.
    AlreadyManaged,
    /// Only archived users can be deleted.
    NotArchived,
    /// The user holds API credentials: revoke them first.
    HoldsCredentials,
    /// The tenant's users come from its identity provider: local creation is off.
    LocalCreationOff,
    /// Act-as-agent access, once granted, is never revoked.
    Irrevocable,
    /// The brake's hold was already released.
    AlreadyReleased,
}

/// What went wrong below the protocol layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such resource in the caller's view. → 404
    #[error("{0} not found")]
    NotFound(String),
    /// A unique index refused the write; `field` names the attribute. → 409 `uniqueness`
    #[error("{detail}")]
    Uniqueness { field: String, detail: String },
    /// A value breaks a rule; `field` names the attribute when there is one.
    /// → 400 `invalidValue` / `invalid_value`
    #[error("{detail}")]
    InvalidValue {
        field: Option<String>,
        detail: String,
    },
    /// The caller lacks a permission, or may not grant or remove what it asked. → 403
    #[error("{0}")]
    Forbidden(String),
    /// The write is refused in the resource's current state. → 409 with the refusal's code
    #[error("{detail}")]
    Conflict { refusal: Refusal, detail: String },
    /// The stored version moved on while we worked (or SQLite was busy); the write layer
    /// retries. → 409 after the retries
    #[error("concurrent modification")]
    VersionConflict,
    /// The caller's If-Match did not match. → 412
    #[error("version mismatch: the resource was modified")]
    PreconditionFailed,
    /// The mass-deprovision brake holds this credential's deactivations and deletes until
    /// an admin releases them. → 429 with `Retry-After`
    #[error("{detail}")]
    Held { detail: String, retry_after: u64 },
    /// The database cannot be reached, or did not answer in time; nothing was written.
    /// → 503 with `Retry-After`, logged once
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a corrupt row, a bug. → 500, logged once, generic body
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// A value error naming its field.
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Error {
        Error::InvalidValue {
            field: Some(field.into()),
            detail: detail.into(),
        }
    }

    /// A value error without one field to blame.
    pub fn invalid_input(detail: impl Into<String>) -> Error {
        Error::InvalidValue {
            field: None,
            detail: detail.into(),
        }
    }

    /// A refusal.
    pub fn conflict(refusal: Refusal, detail: impl Into<String>) -> Error {
        Error::Conflict {
            refusal,
            detail: detail.into(),
        }
    }
}

/// Result of the domain and storage layers.
pub type Result<T> = std::result::Result<T, Error>;
