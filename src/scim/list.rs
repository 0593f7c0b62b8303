//! List and search parameters (RFC 7644 §3.4.2, §3.4.3) and the ListResponse.

use std::collections::HashMap;

use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::error::ScimType;
use super::{LIST_RESPONSE, SEARCH_REQUEST, ScimError, ScimResult};
use crate::domain::filter::ListQuery;

/// The largest page served; larger `count`s are clamped (advertised as `filter.maxResults`).
pub const MAX_PAGE: u64 = 200;

pub use crate::domain::filter::SortOrder;

/// A list request, from query parameters or a SearchRequest body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListParams {
    pub filter: Option<String>,
    pub sort_by: Option<String>,
    pub sort_order: SortOrder,
    /// 1-based.
    pub start_index: u64,
    pub count: u64,
    pub attributes: Option<String>,
    pub excluded_attributes: Option<String>,
    /// RFC 9865 cursor pagination: `Some("")` asks for the first page.
    pub cursor: Option<String>,
    /// Whether the request named `startIndex` itself.
    pub explicit_start: bool,
}

impl Default for ListParams {
    fn default() -> Self {
        ListParams {
            filter: None,
            sort_by: None,
            sort_order: SortOrder::Ascending,
            start_index: 1,
            count: MAX_PAGE,
            attributes: None,
            excluded_attributes: None,
            cursor: None,
            explicit_start: false,
        }
    }
}

fn parse_sort_order(s: &str) -> ScimResult<SortOrder> {
    if s.eq_ignore_ascii_case("ascending") {
        Ok(SortOrder::Ascending)
    } else if s.eq_ignore_ascii_case("descending") {
        Ok(SortOrder::Descending)
    } else {
        Err(ScimError::invalid_value(format!(
            "sortOrder must be ascending or descending, not {s:?}"
        )))
    }
}

fn parse_int(name: &str, text: &str) -> ScimResult<i64> {
    text.trim()
        .parse::<i64>()
        .map_err(|_| ScimError::invalid_value(format!("{name} must be an integer, not {text:?}")))
}

fn clamp(params: &mut ListParams, start_index: Option<i64>, count: Option<i64>) {
    // RFC 7644 §3.4.2.4: a startIndex below 1 means 1; a negative count means 0.
    if let Some(s) = start_index {
        params.start_index = u64::try_from(s.max(1)).unwrap_or(1);
        params.explicit_start = true;
    }
    if let Some(c) = count {
        params.count = u64::try_from(c.max(0)).unwrap_or(0).min(MAX_PAGE);
    }
}

impl ListParams {
    /// From query parameters; names match case-insensitively, unknown ones are ignored.
    pub fn from_query(query: &HashMap<String, String>) -> ScimResult<ListParams> {
        let get = |name: &str| {
            query
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let mut params = ListParams {
            filter: get("filter").map(str::to_string),
            sort_by: get("sortBy").filter(|s| !s.is_empty()).map(str::to_string),
            attributes: get("attributes").map(str::to_string),
            excluded_attributes: get("excludedAttributes").map(str::to_string),
            cursor: get("cursor").map(str::to_string),
            ..ListParams::default()
        };
        if let Some(order) = get("sortOrder").filter(|s| !s.is_empty()) {
            params.sort_order = parse_sort_order(order)?;
        }
        let start = get("startIndex")
            .map(|s| parse_int("startIndex", s))
            .transpose()?;
        let count = get("count").map(|s| parse_int("count", s)).transpose()?;
        clamp(&mut params, start, count);
        Ok(params)
    }

    /// From a POST `/.search` body (RFC 7644 §3.4.3).
    pub fn from_search(body: &Value) -> ScimResult<ListParams> {
        let Some(fields) = body.as_object() else {
            return Err(ScimError::invalid_syntax(
                "the search body must be a JSON object",
            ));
        };
        let get = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
                .filter(|v| !v.is_null())
        };
        if let Some(schemas) = get("schemas")
            && !schemas
                .as_array()
                .is_some_and(|s| s.iter().any(|u| u.as_str() == Some(SEARCH_REQUEST)))
        {
            return Err(ScimError::invalid_syntax(format!(
                "schemas must contain {SEARCH_REQUEST}"
            )));
        }
        let text = |name: &str| -> ScimResult<Option<String>> {
            match get(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                // attributes may come as an array of names.
                Some(Value::Array(items)) => Ok(Some(
                    items
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(","),
                )),
                Some(_) => Err(ScimError::invalid_value(format!("{name} must be a string"))),
            }
        };
        let int = |name: &str| -> ScimResult<Option<i64>> {
            match get(name) {
                None => Ok(None),
                Some(Value::Number(n)) => n
                    .as_i64()
                    .map(Some)
                    .ok_or_else(|| ScimError::invalid_value(format!("{name} must be an integer"))),
                Some(Value::String(s)) => parse_int(name, s).map(Some),
                Some(_) => Err(ScimError::invalid_value(format!(
                    "{name} must be an integer"
                ))),
            }
        };
        let mut params = ListParams {
            filter: text("filter")?,
            sort_by: text("sortBy")?.filter(|s| !s.is_empty()),
            attributes: text("attributes")?,
            excluded_attributes: text("excludedAttributes")?,
            cursor: text("cursor")?,
            ..ListParams::default()
        };
        if let Some(order) = text("sortOrder")?.filter(|s| !s.is_empty()) {
            params.sort_order = parse_sort_order(&order)?;
        }
        let start = int("startIndex")?;
        let count = int("count")?;
        clamp(&mut params, start, count);
        Ok(params)
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub resources: Vec<Value>,
    pub total: u64,
    /// RFC 9865: where the next page starts, when there is one.
    pub next_cursor: Option<String>,
}

/// A ListResponse: `totalResults`, `startIndex` and `itemsPerPage` are always integers; with
/// cursor pagination (RFC 9865) `nextCursor` replaces `startIndex`.
pub fn list_response(page: Page, params: &ListParams) -> Value {
    let mut body = json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": page.total,
        "itemsPerPage": page.resources.len(),
    });
    if params.cursor.is_some() {
        if let Some(next) = page.next_cursor {
            body["nextCursor"] = Value::String(next);
        }
    } else {
        body["startIndex"] = json!(params.start_index);
    }
    body["Resources"] = Value::Array(page.resources);
    body
}

/// Where a cursor points: after a row of the default order (creation time, id), or at an
/// offset of a sorted list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    Start,
    After { created_us: i64, id: String },
    Offset(u64),
}

/// With cursor pagination the store was asked for one row more than the page (`query`):
/// that row, if it came, is dropped and a cursor to the next page returned — after the page's
/// last row in the default order, or at the next offset of a sorted list.
pub fn next_cursor<T>(
    rows: &mut Vec<T>,
    params: &ListParams,
    query: &ListQuery,
    resource: &str,
    key: impl Fn(&T) -> (i64, String),
) -> Option<String> {
    params.cursor.as_ref()?;
    let page = usize::try_from(params.count).unwrap_or(usize::MAX);
    if rows.len() <= page || page == 0 {
        return None;
    }
    rows.truncate(page);
    let position = if query.sort.is_some() {
        Position::Offset(query.offset + params.count)
    } else {
        let (created_us, id) = key(rows.last()?);
        Position::After { created_us, id }
    };
    Some(encode_cursor(&position, &fingerprint(resource, params)))
}

/// Ties a cursor to the list it came from: the resource type, filter and sort.
pub fn fingerprint(resource: &str, params: &ListParams) -> String {
    let mut hash = Sha256::new();
    for part in [
        resource,
        params.filter.as_deref().unwrap_or(""),
        params.sort_by.as_deref().unwrap_or(""),
        if params.sort_order == SortOrder::Descending {
            "d"
        } else {
            "a"
        },
    ] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    hash.finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The opaque cursor of a position (base64url of a small JSON document).
pub fn encode_cursor(position: &Position, fingerprint: &str) -> String {
    let doc = match position {
        Position::Start => json!({"f": fingerprint}),
        Position::After { created_us, id } => json!({"f": fingerprint, "c": created_us, "i": id}),
        Position::Offset(offset) => json!({"f": fingerprint, "o": offset}),
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(doc.to_string())
}

/// Reads a cursor back; one that is malformed or belongs to another list is `invalidCursor`.
pub fn decode_cursor(text: &str, fingerprint: &str) -> ScimResult<Position> {
    if text.is_empty() {
        return Ok(Position::Start);
    }
    let invalid = || {
        ScimError::bad_request(
            ScimType::InvalidCursor,
            "the cursor is not one this list issued",
        )
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| invalid())?;
    let doc: Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if doc.get("f").and_then(Value::as_str) != Some(fingerprint) {
        return Err(invalid());
    }
    match (
        doc.get("c").and_then(Value::as_i64),
        doc.get("i").and_then(Value::as_str),
        doc.get("o").and_then(Value::as_u64),
    ) {
        (Some(created_us), Some(id), None) => Ok(Position::After {
            created_us,
            id: id.to_string(),
        }),
        (None, None, Some(offset)) => Ok(Position::Offset(offset)),
        (None, None, None) => Ok(Position::Start),
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn paging_is_clamped_and_unknown_parameters_ignored() {
        let p = ListParams::from_query(&query(&[
            ("startIndex", "0"),
            ("COUNT", "5000"),
            ("aadOptscim062020", ""),
        ]))
        .expect("valid");
        assert_eq!(p.start_index, 1);
        assert_eq!(p.count, MAX_PAGE);
        let p = ListParams::from_query(&query(&[("count", "-3")])).expect("valid");
        assert_eq!(p.count, 0);
    }

    #[test]
    fn cursors_round_trip_and_belong_to_their_list() {
        let params = ListParams::default();
        let f = fingerprint("User", &params);
        for position in [
            Position::Start,
            Position::After {
                created_us: 42,
                id: "abc".into(),
            },
            Position::Offset(200),
        ] {
            assert_eq!(
                decode_cursor(&encode_cursor(&position, &f), &f),
                Ok(position)
            );
        }
        let other = fingerprint("Group", &params);
        let err =
            decode_cursor(&encode_cursor(&Position::Offset(1), &other), &f).expect_err("foreign");
        assert_eq!(err.scim_type, Some(ScimType::InvalidCursor));
        assert!(decode_cursor("not base64 !", &f).is_err());
    }

    #[test]
    fn bad_numbers_and_orders_are_invalid_values() {
        assert_eq!(
            ListParams::from_query(&query(&[("count", "ten")]))
                .expect_err("bad")
                .status,
            400
        );
        assert!(ListParams::from_query(&query(&[("sortOrder", "sideways")])).is_err());
    }
}
