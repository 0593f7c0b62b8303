//! The resolved filter (RFC 7644 §3.4.2.2 after schema resolution) and its in-memory
//! evaluator. `scim::filter` builds it from the syntax tree; `store::filter` turns it into
//! SQL; PATCH value paths and the differential tests evaluate it here. Both evaluations
//! follow the same two-valued semantics: a missing value never satisfies a comparison, `ne`
//! is the negation of `eq`, `pr` is false for null, "" and [].

use serde_json::Value as Json;

/// A comparison operator other than `pr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A comparison value, already normalised for the attribute it is compared with: strings of
/// case-insensitive attributes are lower-cased, date-times are microseconds since the epoch.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Bool(bool),
    Num(f64),
    DateTime(i64),
}

/// How an attribute's values compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str { case_exact: bool },
    Bool,
    Num,
    DateTime,
}

/// Attributes kept in their own column of the resource's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Id,
    UserName,
    ExternalId,
    DisplayName,
    Active,
    Created,
    LastModified,
}

impl Column {
    /// Where the attribute sits in the wire document.
    pub fn json_path(self) -> &'static [&'static str] {
        match self {
            Column::Id => &["id"],
            Column::UserName => &["userName"],
            Column::ExternalId => &["externalId"],
            Column::DisplayName => &["displayName"],
            Column::Active => &["active"],
            Column::Created => &["meta", "created"],
            Column::LastModified => &["meta", "lastModified"],
        }
    }
}

/// A sub-attribute of one element of a multi-valued attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElemField {
    Value,
    Type,
    Primary,
    Display,
    /// The numeric sub-attribute of a skill (`level`).
    Level,
}

/// How the elements of a multi-valued attribute look in the wire document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElemShape {
    /// `{value, type, primary, display}` (emails, phoneNumbers, …)
    Complex,
    /// A bare string (securityProfiles, callbackNumbers)
    Simple,
    /// An address: `formatted` stands for the value
    Address,
    /// A skill: `name` stands for the value, `level` is numeric
    Skill,
}

impl ElemShape {
    fn json_key(self, field: ElemField) -> Option<&'static str> {
        match (self, field) {
            (ElemShape::Simple, ElemField::Value) => None,
            (ElemShape::Address, ElemField::Value) => Some("formatted"),
            (ElemShape::Skill, ElemField::Value) => Some("name"),
            (_, ElemField::Value) => Some("value"),
            (_, ElemField::Type) => Some("type"),
            (_, ElemField::Primary) => Some("primary"),
            (_, ElemField::Display) => Some("display"),
            (_, ElemField::Level) => Some("level"),
        }
    }
}

/// A multi-valued attribute that `Any` ranges over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Collection {
    /// A user's stored multi-valued attribute, by its canonical key (`emails`,
    /// `urn:…:User:securityProfiles`).
    Values { key: String, shape: ElemShape },
    /// A group's members (join table).
    Members,
    /// The groups a user belongs to (join table).
    Groups,
}

impl Collection {
    fn shape(&self) -> ElemShape {
        match self {
            Collection::Values { shape, .. } => *shape,
            Collection::Members | Collection::Groups => ElemShape::Complex,
        }
    }

    fn json_path(&self) -> Vec<String> {
        match self {
            Collection::Values { key, .. } => key_path(key),
            Collection::Members => vec!["members".into()],
            Collection::Groups => vec!["groups".into()],
        }
    }
}

/// What a comparison reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    Column(Column),
    /// A singular stored attribute by canonical key (`title`, `name.familyName`,
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber`).
    Attr(String),
    /// A sub-attribute of the element under test; only inside `Filter::Any`.
    Elem(ElemField),
}

/// A resolved filter over one resource type.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Compare {
        field: Field,
        kind: Kind,
        op: Op,
        value: Value,
    },
    Present {
        field: Field,
        kind: Kind,
    },
    /// Some element of the collection satisfies the inner filter (whose fields are `Elem`).
    Any {
        collection: Collection,
        filter: Box<Filter>,
    },
    /// The collection has at least one element.
    NonEmpty(Collection),
    Not(Box<Filter>),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
}

/// RFC 7644 §3.4.2.3 `sortOrder`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    #[default]
    Ascending,
    Descending,
}

/// A resolved list request: which resources, in which order, which page.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    /// Keyset pagination: only rows after this (creation time, id) of the default order.
    pub after: Option<(i64, String)>,
    pub sort: Option<SortKey>,
    pub order: SortOrder,
    pub offset: u64,
    pub limit: u64,
    /// Free-text search of the admin list: every word (lower-cased) starts one of the
    /// user's searchable keys (see [`SEARCHED`]).
    pub search: Vec<String>,
    /// Only members of this group (its id).
    pub group: Option<String>,
    /// Count at most this many matches and one more: a total above the cap means "more
    /// than the cap" (the console's lists; the APIs count exactly).
    pub count_cap: Option<u64>,
}

/// The keys the admin list's free-text search matches by prefix: userName and displayName
/// (columns), and these attribute keys.
pub const SEARCHED: [&str; 4] = [
    "name.givenName",
    "name.familyName",
    "emails",
    "urn:rollcall:params:scim:schemas:extension:contactcentre:2.0:User:agentId",
];

/// The words of a free-text search, lower-cased as the keys are stored; at most 8 words of
/// at most 100 characters each, so a query stays a handful of index range scans.
pub fn search_words(text: &str) -> Result<Vec<String>, String> {
    let words: Vec<String> = text
        .split_whitespace()
        .map(crate::domain::user::fold_key)
        .collect();
    if words.len() > 8 {
        return Err("q takes at most 8 words".into());
    }
    if let Some(w) = words.iter().find(|w| w.chars().count() > 100) {
        return Err(format!("q: {w:?} is longer than 100 characters"));
    }
    Ok(words)
}

/// What a list is sorted by (RFC 7644 §3.4.2.3).
#[derive(Debug, Clone, PartialEq)]
pub enum SortKey {
    Column(Column),
    /// A singular stored attribute.
    Attr {
        key: String,
        kind: Kind,
    },
    /// A multi-valued attribute, by its primary (else first) element's value.
    Primary {
        key: String,
        kind: Kind,
    },
}

/// Splits a canonical attribute key into wire-document path segments:
/// `name.familyName` → [name, familyName]; `urn:…:User:manager.value` → [urn:…:User, manager, value].
pub fn key_path(key: &str) -> Vec<String> {
    if let Some((urn, rest)) = key.rsplit_once(':') {
        let mut path = vec![urn.to_string()];
        path.extend(rest.split('.').map(str::to_string));
        path
    } else {
        key.split('.').map(str::to_string).collect()
    }
}

fn lookup<'a, S: AsRef<str>>(doc: &'a Json, path: &[S]) -> Option<&'a Json> {
    let mut node = doc;
    for segment in path {
        node = node.as_object()?.get(segment.as_ref())?;
    }
    Some(node)
}

/// Microseconds since the epoch of an RFC 3339 date-time.
pub fn parse_datetime(s: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1000).ok()
}

impl Filter {
    /// Evaluates the filter against a rendered resource (the wire JSON with `id` and `meta`).
    pub fn matches(&self, resource: &Json) -> bool {
        self.eval(resource, None)
    }

    /// Evaluates an element filter (the inside of a value path) against one element.
    pub fn matches_element(&self, shape: ElemShape, element: &Json) -> bool {
        self.eval(element, Some(shape))
    }

    fn eval(&self, node: &Json, shape: Option<ElemShape>) -> bool {
        match self {
            // `ne` is the negation of `eq`: a missing value is "not equal".
            Filter::Compare {
                field,
                kind,
                op: Op::Ne,
                value,
            } => !read(node, field, shape)
                .is_some_and(|actual| compare(actual, *kind, Op::Eq, value)),
            Filter::Compare {
                field,
                kind,
                op,
                value,
            } => read(node, field, shape).is_some_and(|actual| compare(actual, *kind, *op, value)),
            Filter::Present { field, .. } => read(node, field, shape).is_some_and(is_present),
            Filter::Any { collection, filter } => elements(node, collection)
                .iter()
                .any(|element| filter.eval(element, Some(collection.shape()))),
            Filter::NonEmpty(collection) => !elements(node, collection).is_empty(),
            Filter::Not(inner) => !inner.eval(node, shape),
            Filter::And(a, b) => a.eval(node, shape) && b.eval(node, shape),
            Filter::Or(a, b) => a.eval(node, shape) || b.eval(node, shape),
        }
    }
}

fn elements<'a>(node: &'a Json, collection: &Collection) -> &'a [Json] {
    lookup(node, &collection.json_path())
        .and_then(Json::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn read<'a>(node: &'a Json, field: &Field, shape: Option<ElemShape>) -> Option<&'a Json> {
    let found = match field {
        Field::Column(Column::Active) => {
            // An absent `active` means active, as the column's default says.
            return Some(node.get("active").unwrap_or(&Json::Bool(true)));
        }
        Field::Column(column) => lookup(node, column.json_path()),
        Field::Attr(key) => lookup(node, &key_path(key)),
        Field::Elem(elem) => match shape?.json_key(*elem) {
            Some(key) => node.get(key),
            None => Some(node),
        },
    };
    // Null and "" are both unassigned (RFC 7643 §2.5), as in the SQL form.
    found.filter(|v| !v.is_null() && v.as_str() != Some(""))
}

fn is_present(value: &Json) -> bool {
    match value {
        Json::Null => false,
        Json::String(s) => !s.is_empty(),
        Json::Array(a) => !a.is_empty(),
        _ => true,
    }
}

fn compare(actual: &Json, kind: Kind, op: Op, expected: &Value) -> bool {
    match (kind, expected) {
        (Kind::Str { case_exact }, Value::Str(want)) => {
            let Some(have) = actual.as_str() else {
                return false;
            };
            let have = if case_exact {
                have.to_string()
            } else {
                super::user::fold_key(have)
            };
            compare_str(&have, op, want)
        }
        (Kind::Bool, Value::Bool(want)) => match actual.as_bool() {
            Some(have) => match op {
                Op::Eq => have == *want,
                Op::Ne => have != *want,
                _ => false,
            },
            None => false,
        },
        (Kind::Num, Value::Num(want)) => actual
            .as_f64()
            .is_some_and(|have| compare_ord(have.partial_cmp(want), op)),
        (Kind::DateTime, Value::DateTime(want)) => actual
            .as_str()
            .and_then(parse_datetime)
            .is_some_and(|have| compare_ord(Some(have.cmp(want)), op)),
        _ => false,
    }
}

fn compare_str(have: &str, op: Op, want: &str) -> bool {
    match op {
        Op::Co => have.contains(want),
        Op::Sw => have.starts_with(want),
        Op::Ew => have.ends_with(want),
        _ => compare_ord(Some(have.cmp(want)), op),
    }
}

fn compare_ord(ordering: Option<std::cmp::Ordering>, op: Op) -> bool {
    use std::cmp::Ordering::*;
    let Some(ordering) = ordering else {
        return false;
    };
    match op {
        Op::Eq => ordering == Equal,
        Op::Ne => ordering != Equal,
        Op::Gt => ordering == Greater,
        Op::Ge => ordering != Less,
        Op::Lt => ordering == Less,
        Op::Le => ordering != Greater,
        Op::Co | Op::Sw | Op::Ew => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user_name(op: Op, v: &str) -> Filter {
        Filter::Compare {
            field: Field::Column(Column::UserName),
            kind: Kind::Str { case_exact: false },
            op,
            value: Value::Str(v.into()),
        }
    }

    #[test]
    fn case_insensitive_comparison_uses_folded_value() {
        let doc = json!({"id": "1", "userName": "BJensen"});
        assert!(user_name(Op::Eq, "bjensen").matches(&doc));
        assert!(user_name(Op::Sw, "bj").matches(&doc));
        assert!(!user_name(Op::Ne, "bjensen").matches(&doc));
    }

    #[test]
    fn missing_value_fails_comparison_and_ne_is_negation() {
        let doc = json!({"id": "1", "userName": "a"});
        let title = |op| Filter::Compare {
            field: Field::Attr("title".into()),
            kind: Kind::Str { case_exact: false },
            op,
            value: Value::Str("x".into()),
        };
        assert!(!title(Op::Eq).matches(&doc));
        assert!(Filter::Not(Box::new(title(Op::Eq))).matches(&doc));
    }

    #[test]
    fn value_path_needs_one_element_matching_both() {
        let doc = json!({"emails": [
            {"value": "a@x.example", "type": "home"},
            {"value": "b@y.example", "type": "work"}
        ]});
        let any = |t: &str, v: &str| Filter::Any {
            collection: Collection::Values {
                key: "emails".into(),
                shape: ElemShape::Complex,
            },
            filter: Box::new(Filter::And(
                Box::new(Filter::Compare {
                    field: Field::Elem(ElemField::Type),
                    kind: Kind::Str { case_exact: false },
                    op: Op::Eq,
                    value: Value::Str(t.into()),
                }),
                Box::new(Filter::Compare {
                    field: Field::Elem(ElemField::Value),
                    kind: Kind::Str { case_exact: false },
                    op: Op::Co,
                    value: Value::Str(v.into()),
                }),
            )),
        };
        assert!(any("work", "y.example").matches(&doc));
        assert!(!any("work", "x.example").matches(&doc));
    }

    #[test]
    fn key_path_splits_urn_prefix_at_last_colon() {
        assert_eq!(
            key_path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"),
            vec![
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                "manager",
                "value"
            ]
        );
        assert_eq!(key_path("name.givenName"), vec!["name", "givenName"]);
    }
}
