//! Errors of the domain and storage layers; `scim::error` maps each variant to a status.

/// What went wrong below the protocol layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such resource in the caller's tenant. → 404
    #[error("{0} not found")]
    NotFound(String),
    /// A unique index refused the write. → 409 `uniqueness`
    #[error("{0}")]
    Uniqueness(String),
    /// A value breaks a domain rule. → 400 `invalidValue`
    #[error("{0}")]
    InvalidValue(String),
    /// The operation is refused in the resource's current state. → 409
    #[error("{0}")]
    Conflict(String),
    /// The stored version moved on while we worked; the caller retries. → 409 after retries
    #[error("concurrent modification")]
    VersionConflict,
    /// The caller's If-Match did not match. → 412
    #[error("version mismatch: the resource was modified")]
    PreconditionFailed,
    /// Anything else: database down, corrupt row. → 500, logged, generic body
    #[error("internal error: {0}")]
    Internal(String),
}

/// Result of the domain and storage layers.
pub type Result<T> = std::result::Result<T, Error>;
