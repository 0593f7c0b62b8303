//! SCIM errors as HTTP responses (RFC 7644 §3.12): `application/scim+json` bodies with
//! `status` as a string, plus `WWW-Authenticate` on 401.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::scim::ScimError;

/// The cause of a 5xx answer, carried in the response's extensions from where the error
/// was mapped to the access log, whose line for the request says it (at ERROR).
#[derive(Debug, Clone)]
pub struct ErrorCause(pub String);

/// The `scimType` and detail of an error answer, carried in the response's extensions for
/// the provisioning log.
#[derive(Debug, Clone)]
pub struct ErrorDetail {
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

/// The media type of every SCIM response.
pub const SCIM_JSON: &str = "application/scim+json";

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, self.body().to_string()).into_response();
        response.extensions_mut().insert(ErrorDetail {
            scim_type: self.scim_type.map(|t| t.as_str()),
            detail: self.detail,
        });
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
        if let Some(cause) = self.cause {
            response.extensions_mut().insert(ErrorCause(cause));
        }
        let headers = response.headers_mut();
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == 401 {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"rollcall\", Basic realm=\"rollcall\""),
            );
        }
        response
    }
}
