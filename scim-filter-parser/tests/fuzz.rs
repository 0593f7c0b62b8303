//! Stable-Rust fuzz harness for the RFC 7644 §3.4.2.2 filter and §3.5.2 path
//! parsers: arbitrary bytes and grammar-aware mutations of valid filters.
//!
//! Properties: neither parser panics, and every accepted input re-displays
//! to text that parses back to an equal tree. The number of cases per test
//! comes from `FUZZ_CASES` (default 2000), e.g.
//! `FUZZ_CASES=1000000 cargo test --release -p scim-filter-parser --test fuzz`.

mod common;

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::Config;
use scim_filter_parser::{parse_filter, parse_path};

fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

fn config() -> Config {
    Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    }
}

/// Runs both parsers and checks the round-trip property on whatever they accept.
fn check(input: &str) -> Result<(), TestCaseError> {
    if let Ok(tree) = parse_filter(input) {
        let text = tree.to_string();
        prop_assert_eq!(parse_filter(&text), Ok(tree), "{:?} -> {:?}", input, text);
    }
    if let Ok(path) = parse_path(input) {
        let text = path.to_string();
        prop_assert_eq!(parse_path(&text), Ok(path), "{:?} -> {:?}", input, text);
    }
    Ok(())
}

/// Grammar-significant fragments to splice into valid filters.
const TOKENS: &[&str] = &[
    "(", ")", "[", "]", "\"", "\\", " and ", " or ", "not (", " pr", " eq ", ".", ":", "urn:",
    "\\u", "\\ud83d", "\\udc00", "0", "-", "e", "1.5e3", "true", "$ref", " ", "\t", "\u{0}", "é",
    "\u{2028}",
];

#[derive(Debug, Clone)]
enum Mutation {
    Insert(Index, Index),
    Delete(Index),
    Duplicate(Index, Index),
    Swap(Index, Index),
    InsertChar(Index, char),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::Insert(a, b)),
        2 => any::<Index>().prop_map(Mutation::Delete),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::Duplicate(a, b)),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::Swap(a, b)),
        1 => (any::<Index>(), any::<char>()).prop_map(|(a, c)| Mutation::InsertChar(a, c)),
    ]
}

/// Applies mutations on a char vector, so every edit stays valid UTF-8.
fn mutate(text: &str, mutations: &[Mutation]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for m in mutations {
        let len = chars.len();
        match m {
            Mutation::Insert(at, token) => {
                let at = at.index(len + 1);
                let token = TOKENS[token.index(TOKENS.len())];
                chars.splice(at..at, token.chars());
            }
            Mutation::InsertChar(at, c) => chars.insert(at.index(len + 1), *c),
            Mutation::Delete(at) if len > 0 => {
                chars.remove(at.index(len));
            }
            Mutation::Duplicate(from, span) if len > 0 => {
                let start = from.index(len);
                let end = start + 1 + span.index((len - start).min(8));
                let copy: Vec<char> = chars[start..end].to_vec();
                chars.splice(end..end, copy);
            }
            Mutation::Swap(a, b) if len > 0 => chars.swap(a.index(len), b.index(len)),
            _ => {}
        }
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        check(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn mutated_filters(
        tree in common::filter(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let text = mutate(&tree.to_string(), &mutations);
        check(&text)?;
    }

    #[test]
    fn mutated_paths(
        path in common::patch_path(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let text = mutate(&path.to_string(), &mutations);
        check(&text)?;
    }
}
