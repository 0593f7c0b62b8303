//! What the provisioning log keeps of a SCIM request (RFC 7644 §3): its body with every
//! secret replaced by `"(removed)"` and cut down to a bounded size while staying JSON, and
//! its query string with secret parameters removed.

use serde_json::{Map, Value};

/// What a removed secret reads as.
pub const REMOVED: &str = "(removed)";

/// The most of a request body kept, in bytes of JSON text.
pub const MAX_BODY_KEPT: usize = 8 * 1024;

/// The most of a path and query kept, in bytes.
pub const MAX_PATH_KEPT: usize = 1024;

/// Whether a name is a secret's: it contains `passw` (password, passwd), `secret` or
/// `token`, in any case.
pub fn is_secret_name(name: &str) -> bool {
    let lower = name.to_lowercase();
    ["passw", "secret", "token"]
        .iter()
        .any(|word| lower.contains(word))
}

/// Replaces secrets by `"(removed)"`, at any depth: the value of every member whose name is
/// a secret's (`password`, `Password`, `urn:…:clientSecret`), and the `value` of an object
/// whose `path`, `name` or `type` names one — a PATCH operation on `password`, whatever its
/// value's shape.
pub fn redact(value: &mut Value) {
    match value {
        Value::Object(members) => {
            let names_secret = ["path", "name", "type"].iter().any(|key| {
                members.iter().any(|(k, v)| {
                    k.eq_ignore_ascii_case(key) && v.as_str().is_some_and(is_secret_name)
                })
            });
            for (name, member) in members.iter_mut() {
                if is_secret_name(name) || (names_secret && name.eq_ignore_ascii_case("value")) {
                    *member = Value::String(REMOVED.into());
                } else {
                    redact(member);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

/// The length of `value` as compact JSON text.
fn size(value: &Value) -> usize {
    serde_json::to_string(value).map_or(0, |text| text.len())
}

/// The length of a character inside a JSON string.
fn escaped_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
        c if u32::from(c) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

/// Room kept for the note that says what was cut.
const NOTE_ROOM: usize = 64;

/// Below this much room, a member or item is left out rather than cut.
const SMALLEST_PART: usize = 2 * NOTE_ROOM;

/// The start of `text` whose JSON string (quotes included) fits in `budget` bytes, with a
/// note of how long it was.
fn cut_string(text: &str, budget: usize) -> Value {
    let note = format!("… (cut: {} bytes in all)", text.len());
    let room = budget.saturating_sub(2 + note.len());
    let mut used = 0;
    let mut end = 0;
    for (at, c) in text.char_indices() {
        used += escaped_len(c);
        if used > room {
            break;
        }
        end = at + c.len_utf8();
    }
    Value::String(format!("{}{note}", &text[..end]))
}

/// `value` cut down to at most `budget` bytes of compact JSON text, still JSON: an array
/// keeps its first items and ends with a note `"(cut: N more of M items)"`, an object its
/// first members and a member `"(cut)": "N more of M attributes"`, a string its start with
/// `"… (cut: N bytes in all)"`; the item or member where the room runs out is cut in the same
/// way. A value that fits is returned as is. `budget` should be at least a few hundred bytes.
pub fn fit(value: Value, budget: usize) -> Value {
    if size(&value) <= budget {
        return value;
    }
    match value {
        Value::String(text) => cut_string(&text, budget),
        Value::Array(items) => {
            let total = items.len();
            let mut kept = Vec::new();
            let mut used = 2;
            for item in items {
                let room = budget.saturating_sub(used + 1 + NOTE_ROOM);
                let length = size(&item);
                if length <= room {
                    used += length + 1;
                    kept.push(item);
                    continue;
                }
                if room >= SMALLEST_PART {
                    kept.push(fit(item, room));
                }
                break;
            }
            let left_out = total - kept.len();
            if left_out > 0 {
                kept.push(Value::String(format!(
                    "(cut: {left_out} more of {total} items)"
                )));
            }
            Value::Array(kept)
        }
        Value::Object(members) => {
            let total = members.len();
            let mut kept = Map::new();
            let mut used = 2;
            for (name, member) in members {
                let name_length = size(&Value::String(name.clone())) + 1;
                let room = budget.saturating_sub(used + 1 + NOTE_ROOM + name_length);
                let length = size(&member);
                if length <= room {
                    used += name_length + length + 1;
                    kept.insert(name, member);
                    continue;
                }
                if room >= SMALLEST_PART {
                    kept.insert(name, fit(member, room));
                }
                break;
            }
            let left_out = total - kept.len();
            if left_out > 0 {
                kept.insert(
                    "(cut)".into(),
                    Value::String(format!("{left_out} more of {total} attributes")),
                );
            }
            Value::Object(kept)
        }
        // Numbers, booleans and null are short.
        other => other,
    }
}

/// A JSON body as the log keeps it: secrets removed, cut to [`MAX_BODY_KEPT`].
pub fn keep(mut value: Value) -> Value {
    redact(&mut value);
    fit(value, MAX_BODY_KEPT)
}

/// What the log keeps of a request body: the JSON with secrets removed, cut to
/// [`MAX_BODY_KEPT`]; of a body that is not JSON, only its length (it cannot be searched for
/// secrets); nothing of an empty one.
pub fn kept_body(body: &[u8]) -> Option<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(value) => Some(keep(value)),
        Err(_) => Some(Value::String(format!(
            "(not JSON: {} bytes, not kept)",
            body.len()
        ))),
    }
}

/// A query string with the value of every parameter whose name is a secret's, or whose
/// value mentions a password (a filter on `password`), replaced by `(removed)`. Other
/// parameters are kept as sent.
pub fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| {
            let decoded: Vec<(String, String)> =
                serde_urlencoded::from_str(pair).unwrap_or_default();
            let secret = decoded.iter().any(|(name, value)| {
                is_secret_name(name) || value.to_lowercase().contains("passw")
            });
            match (secret, pair.split_once('=')) {
                (true, Some((name, _))) => format!("{name}={REMOVED}"),
                _ => pair.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// `text` cut to at most `max` bytes (on a character boundary), ending with `…` when cut.
pub fn bound(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn passwords_and_secrets_are_removed_at_any_depth_and_in_any_case() {
        let mut body = json!({
            "userName": "ann",
            "password": "hunter2",
            "PASSWORD": "x",
            "name": {"givenName": "Ann"},
            "urn:example:ext": {"apiToken": "t", "clientSecret": "s", "keep": "me"},
            "emails": [{"value": "ann@example.com", "type": "work"}],
            "Operations": [
                {"op": "replace", "path": "password", "value": "new"},
                {"op": "Replace", "path": "urn:x:User:oldPassword", "value": {"a": 1}},
                {"op": "replace", "value": {"password": "p", "displayName": "Ann"}},
                {"op": "replace", "path": "displayName", "value": "Ann"}
            ]
        });
        redact(&mut body);
        assert_eq!(
            body,
            json!({
                "userName": "ann",
                "password": REMOVED,
                "PASSWORD": REMOVED,
                "name": {"givenName": "Ann"},
                "urn:example:ext": {"apiToken": REMOVED, "clientSecret": REMOVED, "keep": "me"},
                "emails": [{"value": "ann@example.com", "type": "work"}],
                "Operations": [
                    {"op": "replace", "path": "password", "value": REMOVED},
                    {"op": "Replace", "path": "urn:x:User:oldPassword", "value": REMOVED},
                    {"op": "replace", "value": {"password": REMOVED, "displayName": "Ann"}},
                    {"op": "replace", "path": "displayName", "value": "Ann"}
                ]
            })
        );
    }

    #[test]
    fn a_bulk_request_loses_the_passwords_of_its_operations() {
        let mut body = json!({"Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": "a", "password": "p"}},
            {"method": "PATCH", "path": "/Users/1", "data": {"Operations": [{"op": "add", "path": "password", "value": "q"}]}}
        ]});
        redact(&mut body);
        let text = body.to_string();
        assert!(!text.contains("\"p\"") && !text.contains("\"q\""), "{text}");
        assert_eq!(text.matches(REMOVED).count(), 2, "{text}");
    }

    #[test]
    fn a_small_body_is_kept_whole_and_a_large_one_is_cut_and_says_so() {
        let small =
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ann"});
        assert_eq!(fit(small.clone(), MAX_BODY_KEPT), small);

        let members: Vec<Value> = (0..2000)
            .map(|i| json!({"value": format!("member-{i}")}))
            .collect();
        let big = json!({"displayName": "All", "members": members});
        let cut = fit(big, MAX_BODY_KEPT);
        assert!(size(&cut) <= MAX_BODY_KEPT, "{}", size(&cut));
        assert_eq!(cut["displayName"], "All");
        let kept = cut["members"].as_array().expect("members");
        assert_eq!(kept[0], json!({"value": "member-0"}));
        let note = kept.last().and_then(Value::as_str).expect("note");
        assert!(
            note.starts_with("(cut: ") && note.ends_with(" more of 2000 items)"),
            "{note}"
        );

        let long = json!({"userName": "ann", "title": "x".repeat(20_000), "after": 1});
        let cut = fit(long, MAX_BODY_KEPT);
        assert!(size(&cut) <= MAX_BODY_KEPT);
        assert!(
            cut["title"]
                .as_str()
                .expect("title")
                .ends_with("… (cut: 20000 bytes in all)")
        );
        assert_eq!(cut["(cut)"], "1 more of 3 attributes");
    }

    #[test]
    fn bodies_that_are_not_json_are_not_kept() {
        assert_eq!(kept_body(b"  \n"), None);
        assert_eq!(
            kept_body(b"{\"password\": \"hunter2\""),
            Some(json!("(not JSON: 22 bytes, not kept)"))
        );
        assert_eq!(
            kept_body(br#"{"userName":"a","password":"p"}"#),
            Some(json!({"userName": "a", "password": REMOVED}))
        );
    }

    #[test]
    fn secret_query_parameters_are_removed() {
        assert_eq!(
            redact_query("filter=userName%20eq%20%22ann%22&count=2"),
            "filter=userName%20eq%20%22ann%22&count=2"
        );
        assert_eq!(
            redact_query("access_token=abc&filter=password%20eq%20%22x%22&aadOptscim062020"),
            "access_token=(removed)&filter=(removed)&aadOptscim062020"
        );
    }

    #[test]
    fn bounded_text_ends_with_an_ellipsis() {
        assert_eq!(bound("abc", 3), "abc");
        assert_eq!(bound("abcdef", 5), "ab…");
        assert_eq!(bound("ééé", 4), "…");
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            "\\PC{0,300}".prop_map(Value::String),
            "[\"\\\\\\n\u{1}é]{0,300}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 400, 40, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..40).prop_map(Value::Array),
                prop::collection::vec(("\\PC{0,40}", inner), 0..40)
                    .prop_map(|members| Value::Object(members.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn fitted_values_fit(value in json_value(), budget in 256usize..4096) {
            let fitted = fit(value.clone(), budget);
            prop_assert!(size(&fitted) <= budget, "{} > {budget}", size(&fitted));
            if size(&value) <= budget {
                prop_assert_eq!(fitted, value);
            }
        }
    }
}
