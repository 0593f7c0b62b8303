//! `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9): which attributes of a
//! rendered resource a response carries.

use serde_json::{Map, Value};

/// One requested attribute: an optional schema URN, the attribute, an optional sub-attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Selector {
    urn: Option<String>,
    name: String,
    sub: Option<String>,
}

/// The projection a request asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    include: Vec<Selector>,
    exclude: Vec<Selector>,
}

/// Attributes returned whatever the request says (RFC 7643 `returned: always`).
const ALWAYS: [&str; 2] = ["id", "schemas"];

fn parse_list(list: Option<&str>, extension_urns: &[&str]) -> Vec<Selector> {
    let Some(list) = list else {
        return Vec::new();
    };
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| parse_selector(item, extension_urns))
        .collect()
}

fn parse_selector(item: &str, extension_urns: &[&str]) -> Selector {
    // A whole extension: `urn:…:enterprise:2.0:User`.
    if let Some(urn) = extension_urns.iter().find(|u| u.eq_ignore_ascii_case(item)) {
        return Selector {
            urn: Some((*urn).to_string()),
            name: String::new(),
            sub: None,
        };
    }
    // `get` rather than slicing: the name is client text, and its fifth byte may sit inside
    // a multi-byte character.
    let is_urn = item.len() > 4
        && item
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("urn:"));
    let (urn, rest) = if is_urn {
        match item.rsplit_once(':') {
            Some((urn, rest)) => (Some(urn.to_string()), rest),
            None => (None, item),
        }
    } else {
        (None, item)
    };
    let (name, sub) = match rest.split_once('.') {
        Some((name, sub)) => (name.to_string(), Some(sub.to_string())),
        None => (rest.to_string(), None),
    };
    // The core schema's URN prefix names a top-level attribute.
    let urn = urn.filter(|u| extension_urns.iter().any(|e| e.eq_ignore_ascii_case(u)));
    Selector { urn, name, sub }
}

impl Projection {
    /// Builds a projection from the two query parameters; `extension_urns` are the
    /// resource type's extension schemas (their attributes nest under the URN).
    pub fn new(attributes: Option<&str>, excluded: Option<&str>, extension_urns: &[&str]) -> Self {
        Projection {
            include: parse_list(attributes, extension_urns),
            exclude: parse_list(excluded, extension_urns),
        }
    }

    /// Whether the response needs the attribute at all (so the store can skip loading it).
    pub fn wants(&self, name: &str) -> bool {
        if !self.include.is_empty() {
            return self
                .include
                .iter()
                .any(|s| s.urn.is_none() && s.name.eq_ignore_ascii_case(name));
        }
        !self
            .exclude
            .iter()
            .any(|s| s.urn.is_none() && s.sub.is_none() && s.name.eq_ignore_ascii_case(name))
    }

    /// Applies the projection to a rendered resource.
    pub fn apply(&self, resource: Value) -> Value {
        let Value::Object(fields) = resource else {
            return resource;
        };
        let fields = if self.include.is_empty() {
            fields
        } else {
            self.keep(fields)
        };
        Value::Object(self.drop_excluded(fields))
    }

    fn keep(&self, fields: Map<String, Value>) -> Map<String, Value> {
        let mut out = Map::new();
        for (key, value) in fields {
            if ALWAYS.contains(&key.as_str()) {
                out.insert(key, value);
                continue;
            }
            let is_extension = key.starts_with("urn:");
            let selected: Vec<&Selector> = self
                .include
                .iter()
                .filter(|s| match (&s.urn, is_extension) {
                    (Some(urn), true) => urn.eq_ignore_ascii_case(&key),
                    (None, false) => s.name.eq_ignore_ascii_case(&key),
                    _ => false,
                })
                .collect();
            if selected.is_empty() {
                continue;
            }
            if is_extension {
                if selected.iter().any(|s| s.name.is_empty()) {
                    out.insert(key, value);
                    continue;
                }
                let Value::Object(inner) = value else {
                    continue;
                };
                let mut kept = Map::new();
                for (name, v) in inner {
                    let subs: Vec<&Selector> = selected
                        .iter()
                        .copied()
                        .filter(|s| s.name.eq_ignore_ascii_case(&name))
                        .collect();
                    if let Some(v) = pick(v, &subs) {
                        kept.insert(name, v);
                    }
                }
                if !kept.is_empty() {
                    out.insert(key, Value::Object(kept));
                }
            } else if let Some(v) = pick(value, &selected) {
                out.insert(key, v);
            }
        }
        out
    }

    fn drop_excluded(&self, mut fields: Map<String, Value>) -> Map<String, Value> {
        for s in &self.exclude {
            let holder = match &s.urn {
                Some(urn) => {
                    if s.name.is_empty() {
                        fields.retain(|k, _| !k.eq_ignore_ascii_case(urn));
                        continue;
                    }
                    match fields
                        .iter_mut()
                        .find(|(k, _)| k.eq_ignore_ascii_case(urn))
                        .and_then(|(_, v)| v.as_object_mut())
                    {
                        Some(inner) => inner,
                        None => continue,
                    }
                }
                None => &mut fields,
            };
            let Some(key) = holder
                .keys()
                .find(|k| k.eq_ignore_ascii_case(&s.name) && !ALWAYS.contains(&k.as_str()))
                .cloned()
            else {
                continue;
            };
            match &s.sub {
                None => {
                    holder.remove(&key);
                }
                Some(sub) => {
                    if let Some(v) = holder.get_mut(&key) {
                        remove_sub(v, sub);
                    }
                }
            }
        }
        fields
    }
}

/// The parts of one attribute's value the selectors ask for: all of it when one names the
/// attribute alone, else only the named sub-attributes.
fn pick(value: Value, selectors: &[&Selector]) -> Option<Value> {
    if selectors.is_empty() {
        return None;
    }
    if selectors.iter().any(|s| s.sub.is_none()) {
        return Some(value);
    }
    let keep = |obj: Map<String, Value>| -> Map<String, Value> {
        obj.into_iter()
            .filter(|(k, _)| {
                selectors.iter().any(|s| {
                    s.sub
                        .as_deref()
                        .is_some_and(|sub| sub.eq_ignore_ascii_case(k))
                })
            })
            .collect()
    };
    match value {
        Value::Object(obj) => {
            let kept = keep(obj);
            (!kept.is_empty()).then_some(Value::Object(kept))
        }
        Value::Array(items) => {
            let kept: Vec<Value> = items
                .into_iter()
                .filter_map(|item| match item {
                    Value::Object(obj) => {
                        let kept = keep(obj);
                        (!kept.is_empty()).then_some(Value::Object(kept))
                    }
                    _ => None,
                })
                .collect();
            (!kept.is_empty()).then_some(Value::Array(kept))
        }
        _ => None,
    }
}

fn remove_sub(value: &mut Value, sub: &str) {
    match value {
        Value::Object(obj) => obj.retain(|k, _| !k.eq_ignore_ascii_case(sub)),
        Value::Array(items) => {
            for item in items {
                if let Value::Object(obj) = item {
                    obj.retain(|k, _| !k.eq_ignore_ascii_case(sub));
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "1",
            "userName": "bjensen",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "b@x.example", "type": "work"}],
            ENT: {"employeeNumber": "7", "department": "Sales"},
            "meta": {"resourceType": "User"}
        })
    }

    #[test]
    fn attributes_keep_always_returned_and_requested_sub_attributes() {
        let p = Projection::new(
            Some(&format!(
                "userName,name.familyName,emails.value,{ENT}:department"
            )),
            None,
            &[ENT],
        );
        assert_eq!(
            p.apply(user()),
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "id": "1",
                "userName": "bjensen",
                "name": {"familyName": "Jensen"},
                "emails": [{"value": "b@x.example"}],
                ENT: {"department": "Sales"}
            })
        );
    }

    #[test]
    fn names_in_any_script_select_nothing_and_exclude_nothing() {
        for name in ["aaa€", "€", "urn€", "urn:€:x", "ü.ü", "名前.名"] {
            let p = Projection::new(Some(name), None, &[ENT]);
            assert_eq!(
                p.apply(user()),
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "1"}),
                "{name}"
            );
            let p = Projection::new(None, Some(name), &[ENT]);
            assert_eq!(p.apply(user()), user(), "{name}");
        }
    }

    #[test]
    fn excluded_attributes_remove_but_never_id() {
        let p = Projection::new(
            None,
            Some(&format!("emails,id,name.givenName,{ENT}")),
            &[ENT],
        );
        assert_eq!(
            p.apply(user()),
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "id": "1",
                "userName": "bjensen",
                "name": {"familyName": "Jensen"},
                "meta": {"resourceType": "User"}
            })
        );
        assert!(!p.wants("emails"));
        assert!(p.wants("members"));
    }
}
