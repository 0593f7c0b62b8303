//! List and search parameters (RFC 7644 §3.4.2, §3.4.3) and the ListResponse.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::{LIST_RESPONSE, SEARCH_REQUEST, ScimError, ScimResult};

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

/// A ListResponse: `totalResults`, `startIndex` and `itemsPerPage` are always integers.
pub fn list_response(resources: Vec<Value>, total: u64, start_index: u64) -> Value {
    json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
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
