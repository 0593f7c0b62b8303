//! Grammar-aware proptest generators for RFC 7644 §3.4.2.2 filter trees and
//! §3.5.2 PATCH paths, shared by the round-trip and fuzz tests.

#![allow(dead_code)]

use proptest::prelude::*;
use scim_filter_parser::{AttrPath, CompValue, CompareOp, Filter, PatchPath};

/// ATTRNAME, including the special `$ref` and keyword look-alikes.
pub fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[a-zA-Z][a-zA-Z0-9_-]{0,8}",
        1 => prop::sample::select(vec!["$ref", "not", "and", "or", "pr", "eq", "urn", "true"])
            .prop_map(str::to_owned),
    ]
}

/// A `urn:` prefix made of URN characters, with varying case of `urn`.
pub fn uri() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["urn", "URN", "Urn"]),
        prop::collection::vec("[a-zA-Z0-9.+_-]{1,8}", 1..5),
    )
        .prop_map(|(scheme, parts)| format!("{scheme}:{}", parts.join(":")))
}

pub fn attr_path() -> impl Strategy<Value = AttrPath> {
    (
        prop::option::weighted(0.2, uri()),
        name(),
        prop::option::weighted(0.3, name()),
    )
        .prop_map(|(uri, name, sub_attr)| AttrPath {
            uri,
            name,
            sub_attr,
        })
}

pub fn op() -> impl Strategy<Value = CompareOp> {
    prop::sample::select(CompareOp::ALL.to_vec())
}

/// Strings heavy in characters that need escaping.
pub fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => any::<char>(),
            2 => prop::sample::select(vec![
                '"', '\\', '/', '\n', '\r', '\t', '\u{0}', '\u{8}', '\u{c}', '\u{1f}', '\u{7f}',
                '\u{2028}', 'é', '😀', ' ', '(', ']',
            ]),
        ],
        0..12,
    )
    .prop_map(String::from_iter)
}

pub fn comp_value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        Just(CompValue::Null),
        any::<bool>().prop_map(CompValue::Bool),
        any::<f64>()
            .prop_filter("finite", |n| n.is_finite())
            .prop_map(CompValue::Number),
        (-1000i32..1000).prop_map(|n| CompValue::Number(f64::from(n))),
        text().prop_map(CompValue::Str),
    ]
}

fn leaf() -> impl Strategy<Value = Filter> {
    prop_oneof![
        (attr_path(), op(), comp_value()).prop_map(|(attr, op, value)| Filter::Compare {
            attr,
            op,
            value
        }),
        attr_path().prop_map(Filter::Present),
    ]
}

fn combine(inner: BoxedStrategy<Filter>) -> impl Strategy<Value = Filter> {
    prop_oneof![
        inner.clone().prop_map(|f| Filter::Not(Box::new(f))),
        (inner.clone(), inner.clone()).prop_map(|(l, r)| Filter::And(Box::new(l), Box::new(r))),
        (inner.clone(), inner).prop_map(|(l, r)| Filter::Or(Box::new(l), Box::new(r))),
    ]
}

/// A filter valid inside `[...]`: no valuePath.
pub fn val_filter() -> BoxedStrategy<Filter> {
    leaf()
        .prop_recursive(5, 32, 2, |inner| combine(inner.boxed()))
        .boxed()
}

/// Any filter the parser can produce.
pub fn filter() -> BoxedStrategy<Filter> {
    let atom = prop_oneof![
        3 => leaf(),
        1 => (attr_path(), val_filter()).prop_map(|(attr, f)| Filter::ValuePath {
            attr,
            filter: Box::new(f)
        }),
    ];
    atom.prop_recursive(5, 48, 2, |inner| combine(inner.boxed()))
        .boxed()
}

/// Any PATCH path the parser can produce.
pub fn patch_path() -> impl Strategy<Value = PatchPath> {
    (
        attr_path(),
        prop::option::of((val_filter(), prop::option::of(name()))),
    )
        .prop_map(|(attr, selector)| match selector {
            None => PatchPath {
                attr,
                filter: None,
                sub_attr: None,
            },
            Some((filter, sub_attr)) => PatchPath {
                attr,
                filter: Some(filter),
                sub_attr,
            },
        })
}
