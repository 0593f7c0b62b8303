//! Admin API errors: JSON `{"error": code, "detail": …}` with the right status, plus the
//! fields involved where there are some (`sso_owned_fields`, validation).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::domain;
use crate::scim::ScimError;

/// An error answered by the admin API.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminError {
    pub status: u16,
    pub code: &'static str,
    pub detail: String,
    pub fields: Option<Vec<String>>,
    pub extra: Option<Value>,
}

/// Result of an admin handler.
pub type AdminResult<T> = Result<T, AdminError>;

impl AdminError {
    pub fn new(status: u16, code: &'static str, detail: impl Into<String>) -> Self {
        AdminError {
            status,
            code,
            detail: detail.into(),
            fields: None,
            extra: None,
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(400, "invalid_value", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(403, "forbidden", detail)
    }

    /// 409 naming the SSO-owned fields a request tried to change.
    pub fn sso_owned(fields: Vec<String>) -> Self {
        AdminError {
            status: 409,
            code: "sso_owned_fields",
            detail: format!(
                "owned by the identity provider and read-only here: {}; change them in the identity provider",
                fields.join(", ")
            ),
            fields: Some(fields),
            extra: None,
        }
    }
}

impl From<domain::Error> for AdminError {
    fn from(err: domain::Error) -> Self {
        match err {
            domain::Error::NotFound(what) => {
                AdminError::new(404, "not_found", format!("{what} not found"))
            }
            domain::Error::Uniqueness(detail) => AdminError::new(409, "uniqueness", detail),
            domain::Error::InvalidValue(detail) => {
                // Domain validation messages start with the field: "licenceType: …".
                let field = detail
                    .split_once(": ")
                    .map(|(f, _)| f.to_string())
                    .filter(|f| !f.contains(' '));
                let mut e = AdminError::bad_request(detail);
                e.fields = field.map(|f| vec![f]);
                e
            }
            domain::Error::Conflict(detail) => AdminError::new(409, "conflict", detail),
            domain::Error::VersionConflict => AdminError::new(
                409,
                "conflict",
                "the resource is being modified concurrently; retry",
            ),
            domain::Error::PreconditionFailed => AdminError::new(
                412,
                "precondition_failed",
                "If-Match does not match the current version",
            ),
            domain::Error::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                AdminError::new(500, "internal", "internal server error")
            }
        }
    }
}

impl From<ScimError> for AdminError {
    fn from(err: ScimError) -> Self {
        let code = match err.scim_type {
            Some(t) => match t.as_str() {
                "invalidFilter" => "invalid_filter",
                "uniqueness" => "uniqueness",
                "invalidSyntax" => "invalid_syntax",
                "mutability" => "read_only",
                _ => "invalid_value",
            },
            None => match err.status {
                401 => "unauthorized",
                403 => "forbidden",
                404 => "not_found",
                409 => "conflict",
                412 => "precondition_failed",
                413 => "too_large",
                500 => "internal",
                _ => "invalid_request",
            },
        };
        AdminError::new(err.status, code, err.detail)
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut body = json!({"error": self.code, "detail": self.detail});
        if let Some(fields) = self.fields {
            body["fields"] = json!(fields);
        }
        if let Some(Value::Object(extra)) = self.extra {
            for (k, v) in extra {
                body[k] = v;
            }
        }
        let mut response = (status, axum::Json(body)).into_response();
        if self.status == 401
            && let Ok(v) = axum::http::HeaderValue::from_str(
                "Bearer realm=\"rollcall-admin\", Basic realm=\"rollcall-admin\"",
            )
        {
            response
                .headers_mut()
                .insert(axum::http::header::WWW_AUTHENTICATE, v);
        }
        response
    }
}
