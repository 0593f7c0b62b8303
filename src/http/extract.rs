//! Extractors and the response type of the SCIM surface: JSON bodies accepted as
//! `application/scim+json` or `application/json` with rejections as SCIM errors, query maps,
//! the base URL for `meta.location`, and `ScimJson` answers.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::error::SCIM_JSON;
use crate::app::AppState;
use crate::scim::ScimError;

/// A request body's bytes: 413 over the body limit, 408 when it stops arriving within the
/// body timeout, 400 when it cannot be read otherwise.
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ScimError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(req, state)
            .await
            .map(RawBody)
            .map_err(|e| {
                let timed_out = {
                    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
                    std::iter::from_fn(|| {
                        let current = cause?;
                        cause = current.source();
                        Some(current)
                    })
                    .any(|c| c.is::<tower_http::timeout::TimeoutError>())
                };
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ScimError::too_large("the request body is larger than the body limit")
                } else if timed_out {
                    ScimError::new(
                        408,
                        None,
                        "the request body did not arrive within the body timeout",
                    )
                } else {
                    ScimError::invalid_syntax(format!("cannot read the request body: {e}"))
                }
            })
    }
}

/// A JSON request body.
pub struct ScimBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for ScimBody {
    type Rejection = ScimError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let RawBody(bytes) = RawBody::from_request(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ScimError::invalid_syntax("the request body is empty"));
        }
        let value = serde_json::from_slice(&bytes)
            .map_err(|e| ScimError::invalid_syntax(format!("the body is not valid JSON: {e}")))?;
        if has_nul(&value) {
            return Err(ScimError::invalid_value(
                "text must not contain the NUL character (U+0000)",
            ));
        }
        Ok(ScimBody(value))
    }
}

/// Whether any key or string of a document holds U+0000, which no stored text may contain
/// (PostgreSQL refuses it; SQLite would store it): refused alike on both databases.
fn has_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(fields) => fields.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

/// Refuses a request whose path or query carries an encoded NUL (`%00`): no id or value
/// may contain it. 400, as a SCIM error, on every surface and both databases.
pub async fn refuse_nul(request: Request, next: axum::middleware::Next) -> Response {
    let uri = request.uri();
    let encoded_nul = |text: &str| {
        text.as_bytes()
            .windows(3)
            .any(|w| w.eq_ignore_ascii_case(b"%00"))
    };
    if encoded_nul(uri.path()) || uri.query().is_some_and(encoded_nul) {
        return ScimError::invalid_value(
            "the request URL must not contain the NUL character (%00)",
        )
        .into_response();
    }
    next.run(request).await
}

/// The query parameters, names as sent.
pub struct QueryMap(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryMap {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
            .map(|q| QueryMap(q.0))
            .map_err(|e| ScimError::invalid_value(format!("invalid query string: {e}")))
    }
}

/// `scheme://host/scim/v2`, for `meta.location` and `$ref`: from `--public-url`, a trusted
/// proxy's forwarded headers, or the listen address; never from a bare Host header.
pub struct BaseUrl(pub String);

impl FromRequestParts<AppState> for BaseUrl {
    type Rejection = ScimError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(BaseUrl(format!(
            "{}/scim/v2",
            state.edge.base(&parts.headers)
        )))
    }
}

/// A SCIM JSON answer with optional `ETag` and `Location`.
pub struct ScimJson {
    pub status: StatusCode,
    pub body: Value,
    pub etag: Option<String>,
    pub location: Option<String>,
}

impl ScimJson {
    pub fn ok(body: Value) -> Self {
        ScimJson {
            status: StatusCode::OK,
            body,
            etag: None,
            location: None,
        }
    }

    pub fn with_etag(mut self, etag: String) -> Self {
        self.etag = Some(etag);
        self
    }
}

impl IntoResponse for ScimJson {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
        if let Some(etag) = self.etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
            headers.insert(header::ETAG, etag);
        }
        if let Some(location) = self.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            headers.insert(header::LOCATION, location);
        }
        response
    }
}

/// Strips the weak prefix and quotes of an entity tag.
fn bare(tag: &str) -> &str {
    let tag = tag.trim();
    let tag = tag.strip_prefix("W/").unwrap_or(tag);
    tag.trim_matches('"')
}

fn matches_any(header_value: &str, etag: &str) -> bool {
    header_value
        .split(',')
        .any(|t| t.trim() == "*" || bare(t) == bare(etag))
}

/// `If-Match` (RFC 7232 §3.1, weak comparison): absent, or naming the current version.
pub fn if_match_ok(headers: &HeaderMap, etag: &str) -> bool {
    match headers.get(header::IF_MATCH) {
        None => true,
        // A tag that is not even text matches no version.
        Some(h) => h.to_str().is_ok_and(|h| matches_any(h, etag)),
    }
}

/// `If-None-Match` naming the current version: the client's copy is fresh (304).
pub fn if_none_match_hit(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| matches_any(h, etag))
}

/// `Prefer: return=minimal` (RFC 7240): answer 204 without a body.
pub fn wants_minimal(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|h| h.to_str().ok())
        .any(|h| {
            h.split(',')
                .any(|p| p.trim().eq_ignore_ascii_case("return=minimal"))
        })
}

/// The version an `If-Match` names, for writes that compare it inside their transaction:
/// none without the header or with `*`; a tag that names no version can never match (412).
pub fn if_match_version(headers: &HeaderMap) -> Result<Option<i64>, crate::domain::Error> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| crate::domain::Error::PreconditionFailed)?
        .trim();
    if text == "*" {
        return Ok(None);
    }
    let tag = text.split(',').next().unwrap_or_default().trim();
    let tag = tag.strip_prefix("W/").unwrap_or(tag).trim_matches('"');
    tag.parse::<i64>()
        .map(Some)
        .map_err(|_| crate::domain::Error::PreconditionFailed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_compare_weakly_and_star_matches() {
        assert!(matches_any("W/\"3\"", "W/\"3\""));
        assert!(matches_any("\"3\"", "W/\"3\""));
        assert!(matches_any("*", "W/\"3\""));
        assert!(matches_any("W/\"1\", W/\"3\"", "W/\"3\""));
        assert!(!matches_any("W/\"2\"", "W/\"3\""));
    }
}
