//! Resource bounds (RFC 7644 §3.4.2.2 filters are untrusted input): maximal
//! inputs parse, display, compare and drop on a default 2 MiB thread stack.

use scim_filter_parser::{ErrorKind, Filter, MAX_DEPTH, MAX_LENGTH, parse_filter};

/// Runs `f` on a thread with the default 2 MiB stack of spawned threads.
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
}

/// Longest `unit op unit op ...` chain that fits in MAX_LENGTH.
fn chain(unit: &str, op: &str) -> String {
    let count = (MAX_LENGTH + op.len()) / (unit.len() + op.len());
    let text = vec![unit; count].join(op);
    assert!(text.len() <= MAX_LENGTH);
    text
}

fn left_depth(mut f: &Filter) -> usize {
    let mut depth = 0;
    while let Filter::And(l, _) | Filter::Or(l, _) = f {
        depth += 1;
        f = l;
    }
    depth
}

#[test]
fn maximal_and_chain_displays_compares_and_drops() {
    on_small_stack(|| {
        let text = chain("a pr", " and ");
        let tree = parse_filter(&text).unwrap();
        assert_eq!(left_depth(&tree), (MAX_LENGTH + 5) / 9 - 1);
        let shown = tree.to_string();
        assert_eq!(shown, text);
        let again = parse_filter(&shown).unwrap();
        assert_eq!(again, tree);
        assert_eq!(format!("{again:?}").len(), format!("{tree:?}").len());
        drop(tree);
        drop(again);
    });
}

#[test]
fn maximal_or_chain_displays_compares_and_drops() {
    on_small_stack(|| {
        let text = chain("a pr", " or ");
        let tree = parse_filter(&text).unwrap();
        assert_eq!(left_depth(&tree), (MAX_LENGTH + 4) / 8 - 1);
        assert_eq!(tree.to_string(), text);
        assert_eq!(parse_filter(&text).unwrap(), tree.clone());
    });
}

#[test]
fn five_thousand_term_chain_is_rejected_as_too_long() {
    on_small_stack(|| {
        let text = vec!["a eq 1"; 5000].join(" and ");
        let err = parse_filter(&text).unwrap_err();
        assert_eq!((err.kind, err.position), (ErrorKind::TooLong, MAX_LENGTH));
    });
}

#[test]
fn maximal_nesting_of_every_kind_on_small_stack() {
    on_small_stack(|| {
        // 30 `not (` + 31 `(` + `[` + `(` + `not (` = 64 levels.
        let text = format!(
            "{}{}e[(a pr and not (b pr))]{}",
            "not (".repeat(30),
            "(".repeat(31),
            ")".repeat(61)
        );
        assert_eq!(MAX_DEPTH, 64);
        let tree = parse_filter(&text).unwrap();
        assert_eq!(parse_filter(&tree.to_string()).unwrap(), tree);
        let one_more = format!("({text})");
        assert_eq!(
            parse_filter(&one_more).unwrap_err().kind,
            ErrorKind::TooDeep
        );
    });
}

#[test]
fn hundred_thousand_open_parens_and_nots_error() {
    on_small_stack(|| {
        for input in [
            "(".repeat(100_000),
            "not (".repeat(100_000),
            "a[".repeat(100_000),
        ] {
            let err = parse_filter(&input).unwrap_err();
            assert_eq!(err.kind, ErrorKind::TooLong);
        }
        for input in ["(".repeat(MAX_LENGTH), "not (".repeat(MAX_LENGTH / 5)] {
            let err = parse_filter(&input).unwrap_err();
            assert_eq!(err.kind, ErrorKind::TooDeep);
        }
    });
}
