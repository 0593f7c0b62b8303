//! Filter resolution (RFC 7644 §3.4.2.2): the parser's syntax tree checked against the
//! schema registry and turned into a `domain::filter::Filter`, whose attributes know their
//! storage, type and case-exactness. Unknown attributes and type mismatches are
//! `invalidFilter`.

use scim_filter_parser as parser;

use super::error::ScimType;
use super::list::{ListParams, Position, decode_cursor, fingerprint};
use super::schema::{AttrType, Attribute, ResourceSchema};
use super::{ScimError, ScimResult};
use crate::domain::filter::{
    Collection, Column, ElemField, ElemShape, Field, Filter, Kind, ListQuery, Op, SortKey, Value,
};
use crate::domain::ownership::Mutability;
use crate::domain::user::fold_key;

/// Which resource type a filter runs over; some attributes live in columns or join tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    User,
    Group,
}

impl Resource {
    pub fn name(self) -> &'static str {
        match self {
            Resource::User => "User",
            Resource::Group => "Group",
        }
    }
}

/// Parses and resolves a `filter` query parameter.
pub fn parse(schema: &ResourceSchema, resource: Resource, text: &str) -> ScimResult<Filter> {
    let ast = parser::parse_filter(text)
        .map_err(|e| ScimError::invalid_filter(format!("invalid filter: {e}")))?;
    resolve(schema, resource, &ast)
}

/// Resolves a parsed filter against a resource type's schemas.
pub fn resolve(
    schema: &ResourceSchema,
    resource: Resource,
    ast: &parser::Filter,
) -> ScimResult<Filter> {
    Ok(match ast {
        parser::Filter::And(a, b) => Filter::And(
            Box::new(resolve(schema, resource, a)?),
            Box::new(resolve(schema, resource, b)?),
        ),
        parser::Filter::Or(a, b) => Filter::Or(
            Box::new(resolve(schema, resource, a)?),
            Box::new(resolve(schema, resource, b)?),
        ),
        parser::Filter::Not(inner) => Filter::Not(Box::new(resolve(schema, resource, inner)?)),
        parser::Filter::Present(path) => match target(schema, resource, path)? {
            Target::Scalar { field, kind } => Filter::Present { field, kind },
            Target::Multi {
                collection,
                whole: true,
                ..
            }
            | Target::Multi {
                collection,
                sub: None,
                ..
            } => Filter::NonEmpty(collection),
            Target::Multi {
                collection,
                sub: Some((field, kind)),
                ..
            } => Filter::Any {
                collection,
                filter: Box::new(Filter::Present {
                    field: Field::Elem(field),
                    kind,
                }),
            },
            Target::Complex { keys } => keys
                .into_iter()
                .map(|(key, kind)| Filter::Present {
                    field: Field::Attr(key),
                    kind,
                })
                .reduce(|a, b| Filter::Or(Box::new(a), Box::new(b)))
                .ok_or_else(|| {
                    ScimError::invalid_filter(format!("{path} has no sub-attributes"))
                })?,
        },
        parser::Filter::Compare { attr, op, value } => match target(schema, resource, attr)? {
            Target::Scalar { field, kind } => compare(field, kind, *op, value, attr)?,
            Target::Multi {
                collection, sub, ..
            } => {
                let (field, kind) = sub.ok_or_else(|| {
                    ScimError::invalid_filter(format!("{attr} cannot be compared as a whole"))
                })?;
                Filter::Any {
                    collection,
                    filter: Box::new(compare(Field::Elem(field), kind, *op, value, attr)?),
                }
            }
            Target::Complex { .. } => {
                return Err(ScimError::invalid_filter(format!(
                    "{attr} is complex: compare one of its sub-attributes"
                )));
            }
        },
        parser::Filter::ValuePath { attr, filter } => {
            let Target::Multi { collection, .. } = target(schema, resource, attr)? else {
                return Err(ScimError::invalid_filter(format!(
                    "{attr} is not multi-valued: a value filter needs a multi-valued attribute"
                )));
            };
            let element = resolve_element(schema, resource, attr, &collection, filter)?;
            Filter::Any {
                collection,
                filter: Box::new(element),
            }
        }
    })
}

/// Resolves the filter inside `attr[...]`, whose attribute names are the collection's
/// sub-attributes.
pub fn resolve_element(
    schema: &ResourceSchema,
    resource: Resource,
    attr: &parser::AttrPath,
    collection: &Collection,
    ast: &parser::Filter,
) -> ScimResult<Filter> {
    let again = |f: &parser::Filter| resolve_element(schema, resource, attr, collection, f);
    Ok(match ast {
        parser::Filter::And(a, b) => Filter::And(Box::new(again(a)?), Box::new(again(b)?)),
        parser::Filter::Or(a, b) => Filter::Or(Box::new(again(a)?), Box::new(again(b)?)),
        parser::Filter::Not(inner) => Filter::Not(Box::new(again(inner)?)),
        parser::Filter::Present(path) => {
            let (field, kind) = element_field(schema, resource, attr, collection, path)?;
            Filter::Present {
                field: Field::Elem(field),
                kind,
            }
        }
        parser::Filter::Compare {
            attr: path,
            op,
            value,
        } => {
            let (field, kind) = element_field(schema, resource, attr, collection, path)?;
            compare(Field::Elem(field), kind, *op, value, path)?
        }
        parser::Filter::ValuePath { attr: inner, .. } => {
            return Err(ScimError::invalid_filter(format!(
                "value filters cannot nest: {inner} inside {attr}"
            )));
        }
    })
}

enum Target {
    Scalar {
        field: Field,
        kind: Kind,
    },
    Multi {
        collection: Collection,
        /// The sub-attribute compared; for the attribute named whole, its `value`.
        sub: Option<(ElemField, Kind)>,
        /// Named without a sub-attribute: `pr` tests for any element at all.
        whole: bool,
    },
    /// A singular complex attribute named without a sub-attribute: its sub-attributes' keys.
    Complex {
        keys: Vec<(String, Kind)>,
    },
}

fn kind_of(attr: &Attribute) -> Kind {
    match attr.kind {
        AttrType::Boolean => Kind::Bool,
        AttrType::Integer | AttrType::Decimal => Kind::Num,
        AttrType::DateTime => Kind::DateTime,
        AttrType::String | AttrType::Reference | AttrType::Binary | AttrType::Complex => {
            Kind::Str {
                case_exact: attr.case_exact,
            }
        }
    }
}

const EXACT: Kind = Kind::Str { case_exact: true };
const FOLDED: Kind = Kind::Str { case_exact: false };

fn unknown(path: &parser::AttrPath) -> ScimError {
    ScimError::invalid_filter(format!("unknown attribute {path}"))
}

fn not_filterable(path: &parser::AttrPath) -> ScimError {
    ScimError::invalid_filter(format!("{path} cannot be filtered on"))
}

fn target(
    schema: &ResourceSchema,
    resource: Resource,
    path: &parser::AttrPath,
) -> ScimResult<Target> {
    let name = path.name.as_str();
    let sub = path.sub_attr.as_deref();
    let is = |n: &str| name.eq_ignore_ascii_case(n);
    let sub_is = |n: &str| sub.is_some_and(|s| s.eq_ignore_ascii_case(n));
    let core = match &path.uri {
        None => true,
        Some(uri) => uri.eq_ignore_ascii_case(&schema.core.id),
    };
    if core {
        let column = |c: Column, kind: Kind| -> ScimResult<Target> {
            if sub.is_some() {
                return Err(unknown(path));
            }
            Ok(Target::Scalar {
                field: Field::Column(c),
                kind,
            })
        };
        if is("id") {
            return column(Column::Id, EXACT);
        }
        if is("externalId") {
            return column(Column::ExternalId, EXACT);
        }
        if is("meta") {
            return match sub {
                _ if sub_is("created") => Ok(Target::Scalar {
                    field: Field::Column(Column::Created),
                    kind: Kind::DateTime,
                }),
                _ if sub_is("lastModified") => Ok(Target::Scalar {
                    field: Field::Column(Column::LastModified),
                    kind: Kind::DateTime,
                }),
                _ => Err(not_filterable(path)),
            };
        }
        if is("displayName") {
            return column(Column::DisplayName, FOLDED);
        }
        match resource {
            Resource::User => {
                if is("userName") {
                    return column(Column::UserName, FOLDED);
                }
                if is("active") {
                    return column(Column::Active, Kind::Bool);
                }
                if is("groups") {
                    return join_target(Collection::Groups, path);
                }
            }
            Resource::Group => {
                if is("members") {
                    return join_target(Collection::Members, path);
                }
            }
        }
    }
    let (schema_doc, attr) = match &path.uri {
        Some(uri) => {
            let s = schema
                .schema(uri)
                .ok_or_else(|| ScimError::invalid_filter(format!("unknown schema {uri}")))?;
            (s, s.attribute(name).ok_or_else(|| unknown(path))?)
        }
        None => match schema.core.attribute(name) {
            Some(attr) => (&schema.core, attr),
            // Liberal: an extension attribute named without its URN, if only one has it.
            None => schema
                .extensions
                .iter()
                .find_map(|s| s.attribute(name).map(|a| (s, a)))
                .ok_or_else(|| unknown(path))?,
        },
    };
    if attr.mutability == Mutability::WriteOnly || resource == Resource::Group {
        return Err(not_filterable(path));
    }
    let key = if schema_doc.id == schema.core.id {
        attr.name.clone()
    } else {
        format!("{}:{}", schema_doc.id, attr.name)
    };
    if attr.multi_valued {
        let shape = shape_of(attr);
        let (sub, whole) = match sub {
            None if attr.kind == AttrType::Complex => {
                let main = match shape {
                    ElemShape::Address => "formatted",
                    ElemShape::Skill => "name",
                    _ => "value",
                };
                (elem_field(attr, shape, main), true)
            }
            None => (Some((ElemField::Value, kind_of(attr))), true),
            Some(s) => (
                Some(elem_field(attr, shape, s).ok_or_else(|| not_filterable(path))?),
                false,
            ),
        };
        return Ok(Target::Multi {
            collection: Collection::Values { key, shape },
            sub,
            whole,
        });
    }
    if attr.kind == AttrType::Complex {
        return match sub {
            None => Ok(Target::Complex {
                keys: attr
                    .sub_attributes
                    .iter()
                    .map(|s| (format!("{key}.{}", s.name), kind_of(s)))
                    .collect(),
            }),
            Some(s) => {
                let sub_attr = attr.sub(s).ok_or_else(|| unknown(path))?;
                Ok(Target::Scalar {
                    field: Field::Attr(format!("{key}.{}", sub_attr.name)),
                    kind: kind_of(sub_attr),
                })
            }
        };
    }
    if sub.is_some() {
        return Err(unknown(path));
    }
    Ok(Target::Scalar {
        field: Field::Attr(key),
        kind: kind_of(attr),
    })
}

fn join_target(collection: Collection, path: &parser::AttrPath) -> ScimResult<Target> {
    let whole = path.sub_attr.is_none();
    let sub = match path.sub_attr.as_deref() {
        None => Some((ElemField::Value, EXACT)),
        Some(s) if s.eq_ignore_ascii_case("value") => Some((ElemField::Value, EXACT)),
        Some(s) if s.eq_ignore_ascii_case("type") => Some((ElemField::Type, FOLDED)),
        Some(_) => return Err(not_filterable(path)),
    };
    Ok(Target::Multi {
        collection,
        sub,
        whole,
    })
}

pub(crate) fn shape_of(attr: &Attribute) -> ElemShape {
    if attr.kind != AttrType::Complex {
        ElemShape::Simple
    } else if attr.name == "addresses" {
        ElemShape::Address
    } else if attr.sub("level").is_some() && attr.sub("name").is_some() {
        ElemShape::Skill
    } else {
        ElemShape::Complex
    }
}

/// The stored element column a sub-attribute maps to, with its comparison kind.
fn elem_field(attr: &Attribute, shape: ElemShape, sub: &str) -> Option<(ElemField, Kind)> {
    let is = |n: &str| sub.eq_ignore_ascii_case(n);
    let sub_kind = |n: &str| attr.sub(n).map(kind_of);
    match shape {
        ElemShape::Simple => is("value").then(|| (ElemField::Value, kind_of(attr))),
        ElemShape::Address if is("formatted") => Some((ElemField::Value, sub_kind("formatted")?)),
        ElemShape::Skill if is("name") => Some((ElemField::Value, sub_kind("name")?)),
        ElemShape::Skill if is("level") => Some((ElemField::Level, Kind::Num)),
        ElemShape::Complex if is("value") => Some((ElemField::Value, sub_kind("value")?)),
        ElemShape::Complex if is("display") => Some((ElemField::Display, FOLDED)),
        ElemShape::Complex | ElemShape::Address if is("type") => Some((ElemField::Type, FOLDED)),
        ElemShape::Complex | ElemShape::Address if is("primary") => {
            Some((ElemField::Primary, Kind::Bool))
        }
        _ => None,
    }
}

fn element_field(
    schema: &ResourceSchema,
    resource: Resource,
    outer: &parser::AttrPath,
    collection: &Collection,
    path: &parser::AttrPath,
) -> ScimResult<(ElemField, Kind)> {
    if path.uri.is_some() || path.sub_attr.is_some() {
        return Err(ScimError::invalid_filter(format!(
            "{path} is not a sub-attribute of {outer}"
        )));
    }
    let bad =
        || ScimError::invalid_filter(format!("{outer} has no filterable sub-attribute {path}"));
    match collection {
        Collection::Members | Collection::Groups => {
            let as_path = parser::AttrPath {
                uri: None,
                name: outer.name.clone(),
                sub_attr: Some(path.name.clone()),
            };
            match join_target(collection.clone(), &as_path).map_err(|_| bad())? {
                Target::Multi { sub: Some(sub), .. } => Ok(sub),
                _ => Err(bad()),
            }
        }
        Collection::Values { shape, .. } => {
            let Target::Multi { .. } = target(schema, resource, outer)? else {
                return Err(bad());
            };
            let attr = find_attr(schema, outer).ok_or_else(bad)?;
            elem_field(attr, *shape, &path.name).ok_or_else(bad)
        }
    }
}

fn find_attr<'a>(schema: &'a ResourceSchema, path: &parser::AttrPath) -> Option<&'a Attribute> {
    match &path.uri {
        Some(uri) => schema.schema(uri)?.attribute(&path.name),
        None => schema.core.attribute(&path.name).or_else(|| {
            schema
                .extensions
                .iter()
                .find_map(|s| s.attribute(&path.name))
        }),
    }
}

fn op_of(op: parser::CompareOp) -> Op {
    match op {
        parser::CompareOp::Eq => Op::Eq,
        parser::CompareOp::Ne => Op::Ne,
        parser::CompareOp::Co => Op::Co,
        parser::CompareOp::Sw => Op::Sw,
        parser::CompareOp::Ew => Op::Ew,
        parser::CompareOp::Gt => Op::Gt,
        parser::CompareOp::Ge => Op::Ge,
        parser::CompareOp::Lt => Op::Lt,
        parser::CompareOp::Le => Op::Le,
    }
}

fn compare(
    field: Field,
    kind: Kind,
    op: parser::CompareOp,
    value: &parser::CompValue,
    path: &parser::AttrPath,
) -> ScimResult<Filter> {
    let op = op_of(op);
    let mismatch = |what: &str| {
        ScimError::invalid_filter(format!("{path} is {what}; the value {value} does not fit"))
    };
    let value = match (kind, value) {
        (_, parser::CompValue::Null) => {
            let present = Filter::Present { field, kind };
            return match op {
                Op::Eq => Ok(Filter::Not(Box::new(present))),
                Op::Ne => Ok(present),
                _ => Err(ScimError::invalid_filter(format!(
                    "null can only be compared with eq or ne ({path})"
                ))),
            };
        }
        (Kind::Str { case_exact }, parser::CompValue::Str(s)) => {
            Value::Str(if case_exact { s.clone() } else { fold_key(s) })
        }
        (Kind::Str { .. }, _) => return Err(mismatch("a string")),
        (Kind::Bool, v) => {
            let b = match v {
                parser::CompValue::Bool(b) => *b,
                parser::CompValue::Str(s) if s.eq_ignore_ascii_case("true") => true,
                parser::CompValue::Str(s) if s.eq_ignore_ascii_case("false") => false,
                _ => return Err(mismatch("a boolean")),
            };
            if !matches!(op, Op::Eq | Op::Ne) {
                return Err(ScimError::invalid_filter(format!(
                    "{path} is a boolean: only eq, ne and pr apply"
                )));
            }
            Value::Bool(b)
        }
        (Kind::Num, parser::CompValue::Number(n)) => {
            if matches!(op, Op::Co | Op::Sw | Op::Ew) {
                return Err(ScimError::invalid_filter(format!(
                    "{path} is a number: co, sw and ew do not apply"
                )));
            }
            Value::Num(*n)
        }
        (Kind::Num, _) => return Err(mismatch("a number")),
        (Kind::DateTime, parser::CompValue::Str(s)) => {
            if matches!(op, Op::Co | Op::Sw | Op::Ew) {
                return Err(ScimError::invalid_filter(format!(
                    "{path} is a date-time: co, sw and ew do not apply"
                )));
            }
            Value::DateTime(
                crate::domain::filter::parse_datetime(s)
                    .ok_or_else(|| mismatch("a date-time (RFC 3339)"))?,
            )
        }
        (Kind::DateTime, _) => return Err(mismatch("a date-time (RFC 3339)")),
    };
    Ok(Filter::Compare {
        field,
        kind,
        op,
        value,
    })
}

/// Resolves a list request's filter, sort and page against a resource type.
pub fn query(
    schema: &ResourceSchema,
    resource: Resource,
    params: &ListParams,
) -> ScimResult<ListQuery> {
    let filter = match params.filter.as_deref().map(str::trim) {
        Some(text) if !text.is_empty() => Some(parse(schema, resource, text)?),
        _ => None,
    };
    let sort = params
        .sort_by
        .as_deref()
        .map(|s| sort_key(schema, resource, s))
        .transpose()?;
    let mut query = ListQuery {
        filter,
        sort,
        order: params.sort_order,
        offset: params.start_index.saturating_sub(1),
        limit: params.count,
        after: None,
        ..ListQuery::default()
    };
    if let Some(cursor) = &params.cursor {
        if params.explicit_start {
            return Err(ScimError::invalid_value(
                "startIndex and cursor cannot be combined: use one pagination method",
            ));
        }
        query.offset = 0;
        // One row more than the page tells whether a next page exists (see `next_cursor`).
        if query.limit > 0 {
            query.limit += 1;
        }
        match (
            decode_cursor(cursor, &fingerprint(resource.name(), params))?,
            &query.sort,
        ) {
            (Position::Start, _) => {}
            (Position::After { created_us, id }, None) => query.after = Some((created_us, id)),
            (Position::Offset(offset), Some(_)) => query.offset = offset,
            _ => {
                return Err(ScimError::bad_request(
                    ScimType::InvalidCursor,
                    "the cursor is not one this list issued",
                ));
            }
        }
    }
    Ok(query)
}

/// Resolves `sortBy` to what the store orders by.
pub fn sort_key(schema: &ResourceSchema, resource: Resource, text: &str) -> ScimResult<SortKey> {
    let path = parser::parse_path(text)
        .map_err(|e| ScimError::invalid_value(format!("invalid sortBy: {e}")))?;
    if path.filter.is_some() || path.sub_attr.is_some() {
        return Err(ScimError::invalid_value(format!("cannot sort by {text}")));
    }
    let cannot = || ScimError::invalid_value(format!("cannot sort by {text}"));
    match target(schema, resource, &path.attr).map_err(|_| cannot())? {
        Target::Scalar {
            field: Field::Column(c),
            ..
        } => Ok(SortKey::Column(c)),
        Target::Scalar {
            field: Field::Attr(key),
            kind,
        } => Ok(SortKey::Attr { key, kind }),
        Target::Multi {
            collection: Collection::Values { key, .. },
            sub: Some((ElemField::Value, kind)),
            ..
        } => Ok(SortKey::Primary { key, kind }),
        _ => Err(cannot()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::Registry;

    fn users(text: &str) -> ScimResult<Filter> {
        let registry = Registry::load().expect("schemas");
        parse(&registry.user, Resource::User, text)
    }

    #[test]
    fn user_name_is_case_insensitive_and_external_id_exact() {
        assert_eq!(
            users("USERNAME eq \"BJensen\"").expect("valid"),
            Filter::Compare {
                field: Field::Column(Column::UserName),
                kind: FOLDED,
                op: Op::Eq,
                value: Value::Str("bjensen".into())
            }
        );
        assert_eq!(
            users("externalId eq \"AbC\"").expect("valid"),
            Filter::Compare {
                field: Field::Column(Column::ExternalId),
                kind: EXACT,
                op: Op::Eq,
                value: Value::Str("AbC".into())
            }
        );
    }

    #[test]
    fn entra_work_email_filter_is_one_element() {
        let f = users("emails[type eq \"work\"].value eq \"A@B.example\"").expect("valid");
        let Filter::Any { collection, .. } = &f else {
            panic!("expected Any, got {f:?}")
        };
        assert_eq!(
            collection,
            &Collection::Values {
                key: "emails".into(),
                shape: ElemShape::Complex
            }
        );
        let doc = serde_json::json!({"emails": [
            {"type": "home", "value": "a@b.example"},
            {"type": "work", "value": "other@b.example"}
        ]});
        assert!(!f.matches(&doc));
    }

    #[test]
    fn errors_name_the_problem() {
        for (text, needle) in [
            ("nope eq \"x\"", "nope"),
            ("userName eq 1", "userName"),
            ("active gt true", "boolean"),
            ("meta.created gt \"yesterday\"", "date-time"),
            ("password eq \"x\"", "password"),
            ("userName eq", "position"),
        ] {
            let err = users(text).expect_err(text);
            assert_eq!(err.status, 400, "{text}");
            assert_eq!(
                err.scim_type,
                Some(super::super::error::ScimType::InvalidFilter)
            );
            assert!(err.detail.contains(needle), "{text}: {}", err.detail);
        }
    }
}
