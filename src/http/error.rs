//! SCIM errors as HTTP responses (RFC 7644 §3.12): `application/scim+json` bodies with
//! `status` as a string, plus `WWW-Authenticate` on 401.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::scim::{ERROR, ScimError};

/// The cause of a 5xx answer, carried in the response's extensions from where the error
/// was mapped to the logging middleware, which logs it once inside the request span.
#[derive(Debug, Clone)]
pub struct ErrorCause(pub String);

/// Logs every 5xx answer once, at ERROR, with its cause; client errors are not errors of the
/// server and are left to the request trace (debug).
pub async fn log_server_errors(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    let status = response.status();
    if status.is_server_error() {
        let cause = response
            .extensions()
            .get::<ErrorCause>()
            .map_or("no cause recorded", |c| c.0.as_str());
        tracing::error!(%method, %path, status = status.as_u16(), cause, "request failed");
    } else if status.is_client_error() {
        tracing::debug!(%method, %path, status = status.as_u16(), "client error");
    }
    response
}

/// The media type of every SCIM response.
pub const SCIM_JSON: &str = "application/scim+json";

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut body = json!({
            "schemas": [ERROR],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let Some(scim_type) = self.scim_type {
            body["scimType"] = scim_type.as_str().into();
        }
        let mut response = (status, body.to_string()).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
        if let Some(cause) = self.cause {
            response.extensions_mut().insert(ErrorCause(cause));
        }
        let headers = response.headers_mut();
        if self.status == 401 {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"rollcall\", Basic realm=\"rollcall\""),
            );
        }
        response
    }
}
