//! Property: for every tree the RFC 7644 §3.4.2.2 / §3.5.2 grammar can
//! describe, `parse(display(tree)) == tree`.

mod common;

use proptest::prelude::*;
use scim_filter_parser::{parse_filter, parse_path};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn filter_round_trips(tree in common::filter()) {
        let text = tree.to_string();
        prop_assert_eq!(parse_filter(&text), Ok(tree), "{}", text);
    }

    #[test]
    fn filter_display_is_canonical(tree in common::filter()) {
        let text = tree.to_string();
        let reparsed = parse_filter(&text).map(|t| t.to_string());
        prop_assert_eq!(reparsed, Ok(text));
    }

    #[test]
    fn patch_path_round_trips(path in common::patch_path()) {
        let text = path.to_string();
        prop_assert_eq!(parse_path(&text), Ok(path), "{}", text);
    }

    #[test]
    fn attr_path_round_trips_inside_a_filter(attr in common::attr_path()) {
        let text = format!("{attr} pr");
        prop_assert_eq!(
            parse_filter(&text),
            Ok(scim_filter_parser::Filter::Present(attr))
        );
    }
}
