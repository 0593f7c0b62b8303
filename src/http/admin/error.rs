//! Admin API errors: JSON `{"error": code, "detail": …}` plus the fields involved where
//! there are some. Every code and its status is one row of the table below; every domain
//! error maps to a code in one exhaustive match.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::domain::{self, Refusal};
use crate::scim::ScimError;
use crate::scim::error::ScimType;

macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $status:literal, $name:literal;)*) => {
        /// An admin API error code: its name in bodies, and its HTTP status.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Code {
            $($(#[$doc])* $variant,)*
        }

        impl Code {
            /// Every code, in table order (documentation and tests read it).
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn status(self) -> u16 {
                match self {
                    $(Code::$variant => $status,)*
                }
            }

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $name,)*
                }
            }
        }
    };
}

error_codes! {
    /// The body is not the JSON object the endpoint expects.
    InvalidSyntax = 400, "invalid_syntax";
    /// A value breaks a rule; `fields` names it.
    InvalidValue = 400, "invalid_value";
    /// A SCIM filter in `filter=` does not parse or names an unknown attribute.
    InvalidFilter = 400, "invalid_filter";
    /// The field can never be written (id, meta, groups, managedBy…).
    ReadOnly = 400, "read_only";
    /// A CSV upload that cannot be read.
    InvalidCsv = 400, "invalid_csv";
    /// A bulk edit some users cannot take; `failures` lists them, nothing changed.
    BulkFailed = 400, "bulk_failed";
    /// A CSV import with row errors; nothing changed.
    ImportFailed = 400, "import_failed";
    /// No or bad credentials, or the credential's user is archived.
    Unauthorized = 401, "unauthorized";
    /// The caller lacks a permission, or may not grant what it asked.
    Forbidden = 403, "forbidden";
    NotFound = 404, "not_found";
    /// A unique value is taken.
    Uniqueness = 409, "uniqueness";
    /// SSO-owned fields of an IdP-managed user; `fields` lists them.
    SsoOwnedFields = 409, "sso_owned_fields";
    /// The resource changed concurrently too often; retry.
    Conflict = 409, "conflict";
    /// A catalog entry in use cannot be deleted or renamed.
    InUse = 409, "in_use";
    /// The change would leave the tenant without a full administrator.
    LastAdministrator = 409, "last_administrator";
    /// The built-in Administrator profile keeps its name and permissions.
    BuiltIn = 409, "built_in";
    /// The user is managed by the identity provider.
    IdpManaged = 409, "idp_managed";
    /// The user is already managed by the identity provider.
    AlreadyHandedOver = 409, "already_handed_over";
    /// Only archived users can be deleted.
    NotArchived = 409, "not_archived";
    /// The user holds API credentials.
    HoldsCredentials = 409, "holds_credentials";
    /// The tenant's users come from its identity provider.
    LocalCreationOff = 409, "local_creation_off";
    /// Act-as-agent access, once granted, is never revoked.
    Irrevocable = 409, "irrevocable";
    /// The brake's hold was already released.
    AlreadyReleased = 409, "already_released";
    /// The request body stopped arriving before the body timeout.
    RequestTimeout = 408, "request_timeout";
    /// If-Match does not match the current version.
    PreconditionFailed = 412, "precondition_failed";
    /// The body is larger than the limit.
    TooLarge = 413, "too_large";
    /// The credential is over its rate, or the client address made too many failed sign-ins;
    /// `Retry-After` says when to try again.
    TooManyRequests = 429, "too_many_requests";
    /// The database is unavailable; `Retry-After` says when to try again.
    Unavailable = 503, "unavailable";
    /// Anything unexpected; logged, generic body.
    Internal = 500, "internal";
}

/// An error answered by the admin API.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminError {
    pub code: Code,
    pub detail: String,
    pub fields: Option<Vec<String>>,
    pub extra: Option<Value>,
    /// The cause of a 500 or 503, logged once by the error-logging middleware, never sent.
    pub cause: Option<String>,
    /// Seconds for the `Retry-After` header of a 429 or 503.
    pub retry_after: Option<u64>,
}

/// Result of an admin handler.
pub type AdminResult<T> = Result<T, AdminError>;

impl AdminError {
    pub fn new(code: Code, detail: impl Into<String>) -> Self {
        AdminError {
            code,
            detail: detail.into(),
            fields: None,
            extra: None,
            cause: None,
            retry_after: None,
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(Code::InvalidValue, detail)
    }

    /// A value error naming its field.
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Self {
        AdminError {
            fields: Some(vec![field.into()]),
            ..Self::bad_request(detail)
        }
    }

    pub fn syntax(detail: impl Into<String>) -> Self {
        Self::new(Code::InvalidSyntax, detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(Code::Forbidden, detail)
    }

    /// 409 naming the SSO-owned fields a request tried to change.
    pub fn sso_owned(fields: Vec<String>) -> Self {
        AdminError {
            fields: Some(fields.clone()),
            ..Self::new(
                Code::SsoOwnedFields,
                format!(
                    "owned by the identity provider and read-only here: {}; change them in the identity provider",
                    fields.join(", ")
                ),
            )
        }
    }

    pub fn status(&self) -> u16 {
        self.code.status()
    }
}

fn refusal_code(refusal: Refusal) -> Code {
    match refusal {
        Refusal::InUse => Code::InUse,
        Refusal::LastAdministrator => Code::LastAdministrator,
        Refusal::BuiltIn => Code::BuiltIn,
        Refusal::IdpManaged => Code::IdpManaged,
        Refusal::AlreadyManaged => Code::AlreadyHandedOver,
        Refusal::NotArchived => Code::NotArchived,
        Refusal::HoldsCredentials => Code::HoldsCredentials,
        Refusal::LocalCreationOff => Code::LocalCreationOff,
        Refusal::Irrevocable => Code::Irrevocable,
        Refusal::AlreadyReleased => Code::AlreadyReleased,
    }
}

impl From<domain::Error> for AdminError {
    fn from(err: domain::Error) -> Self {
        match err {
            domain::Error::NotFound(what) => {
                AdminError::new(Code::NotFound, format!("{what} not found"))
            }
            domain::Error::Uniqueness { field, detail } => AdminError {
                fields: Some(vec![field]),
                ..AdminError::new(Code::Uniqueness, detail)
            },
            domain::Error::InvalidValue { field, detail } => AdminError {
                fields: field.map(|f| vec![f]),
                ..AdminError::bad_request(detail)
            },
            domain::Error::Forbidden(detail) => AdminError::forbidden(detail),
            domain::Error::Conflict { refusal, detail } => {
                AdminError::new(refusal_code(refusal), detail)
            }
            domain::Error::VersionConflict => AdminError::new(
                Code::Conflict,
                "the resource is being modified concurrently; retry",
            ),
            domain::Error::PreconditionFailed => AdminError::new(
                Code::PreconditionFailed,
                "If-Match does not match the current version",
            ),
            domain::Error::Held {
                detail,
                retry_after,
            } => ScimError::too_many_requests(retry_after, detail).into(),
            domain::Error::Unavailable(cause) => ScimError::unavailable(cause).into(),
            domain::Error::Internal(cause) => AdminError {
                cause: Some(cause),
                ..AdminError::new(Code::Internal, "internal server error")
            },
        }
    }
}

impl From<ScimError> for AdminError {
    fn from(err: ScimError) -> Self {
        let code = match err.scim_type {
            Some(t) => match t {
                ScimType::InvalidFilter => Code::InvalidFilter,
                ScimType::Uniqueness => Code::Uniqueness,
                ScimType::InvalidSyntax => Code::InvalidSyntax,
                ScimType::Mutability => Code::ReadOnly,
                ScimType::TooLarge => Code::TooLarge,
                ScimType::TooMany
                | ScimType::InvalidPath
                | ScimType::NoTarget
                | ScimType::InvalidValue
                | ScimType::InvalidVers
                | ScimType::Sensitive
                | ScimType::InvalidCursor => Code::InvalidValue,
            },
            None => match err.status {
                401 => Code::Unauthorized,
                403 => Code::Forbidden,
                404 => Code::NotFound,
                408 => Code::RequestTimeout,
                409 => Code::Conflict,
                412 => Code::PreconditionFailed,
                413 => Code::TooLarge,
                429 => Code::TooManyRequests,
                503 => Code::Unavailable,
                400..=499 => Code::InvalidValue,
                _ => Code::Internal,
            },
        };
        AdminError {
            cause: err.cause.clone(),
            retry_after: err.retry_after,
            ..AdminError::new(code, err.detail)
        }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut body = json!({"error": self.code.as_str(), "detail": self.detail});
        if let Some(fields) = self.fields {
            body["fields"] = json!(fields);
        }
        if let Some(Value::Object(extra)) = self.extra {
            for (k, v) in extra {
                body[k] = v;
            }
        }
        let mut response = (status, axum::Json(body)).into_response();
        if self.code == Code::Unauthorized {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static(
                    "Bearer realm=\"rollcall-admin\", Basic realm=\"rollcall-admin\"",
                ),
            );
        }
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(seconds),
            );
        }
        if let Some(cause) = self.cause {
            response
                .extensions_mut()
                .insert(crate::http::error::ErrorCause(cause));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_have_error_statuses() {
        let mut names: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        names.sort();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before, "duplicate code names");
        assert!(Code::ALL.iter().all(|c| (400..600).contains(&c.status())));
    }

    #[test]
    fn every_refusal_is_a_conflict() {
        for refusal in [
            Refusal::InUse,
            Refusal::LastAdministrator,
            Refusal::BuiltIn,
            Refusal::IdpManaged,
            Refusal::AlreadyManaged,
            Refusal::NotArchived,
            Refusal::HoldsCredentials,
            Refusal::LocalCreationOff,
            Refusal::Irrevocable,
            Refusal::AlreadyReleased,
        ] {
            assert_eq!(refusal_code(refusal).status(), 409, "{refusal:?}");
        }
    }

    #[test]
    fn internal_errors_keep_their_cause_out_of_the_body() {
        let e = AdminError::from(domain::Error::Internal("disk on fire".into()));
        assert_eq!(e.status(), 500);
        assert_eq!(e.detail, "internal server error");
        assert_eq!(e.cause.as_deref(), Some("disk on fire"));
    }
}
