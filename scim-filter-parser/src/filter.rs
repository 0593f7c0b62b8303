//! Recursive-descent layer of the RFC 7644 §3.4.2.2 filter grammar.
//!
//! Precedence is `or` < `and` < `not`/grouping; `and` and `or` chains are
//! built by iteration (left-associative), and every construct that recurses
//! (`(`, `not (`, valuePath `[`) checks [`MAX_DEPTH`] before descending, so
//! the stack stays bounded whatever the input. Tokens come from `lexer.rs`.

use crate::{
    AttrPath, CompValue, Filter, MAX_DEPTH, MAX_LENGTH, ParseError,
    error::ErrorKind,
    lexer::{self, Res},
};

const EXPECTED_OPERATOR: &str =
    "expected comparison operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr)";
const EXPECTED_VALUE: &str = "expected comparison value (string, number, true, false or null)";

/// Parses a complete filter expression (RFC 7644 §3.4.2.2).
///
/// Leading and trailing whitespace is allowed; anything else after the
/// filter is an error.
pub fn parse_filter(input: &str) -> Result<Filter, ParseError> {
    let mut cursor = Cursor::new(input, "filter")?;
    let filter = cursor.filter(false)?;
    cursor.skip_ws();
    if !cursor.at_end() {
        return Err(cursor.syntax(cursor.pos, "unexpected input after filter"));
    }
    Ok(filter)
}

/// Position in the input plus the current nesting depth.
pub(crate) struct Cursor<'a> {
    src: &'a str,
    pub(crate) pos: usize,
    depth: usize,
}

impl<'a> Cursor<'a> {
    /// Starts at the beginning of `src`, rejecting oversized input up front.
    pub(crate) fn new(src: &'a str, what: &str) -> Result<Self, ParseError> {
        if src.len() > MAX_LENGTH {
            return Err(ParseError::new(
                ErrorKind::TooLong,
                MAX_LENGTH,
                format!("{what} longer than {MAX_LENGTH} bytes"),
            ));
        }
        Ok(Self {
            src,
            pos: 0,
            depth: 0,
        })
    }

    fn rest(&self) -> &'a str {
        self.src.get(self.pos..).unwrap_or("")
    }

    /// Runs a token parser at the current position, advancing on success.
    fn run<T>(&mut self, parser: impl FnOnce(&'a str) -> Res<'a, T>) -> Option<T> {
        let (rest, value) = parser(self.rest()).ok()?;
        self.pos = self.src.len() - rest.len();
        Some(value)
    }

    /// Skips whitespace; reports whether there was any.
    pub(crate) fn skip_ws(&mut self) -> bool {
        let before = self.pos;
        self.run(lexer::ws);
        self.pos > before
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    /// Consumes `c` if it is next.
    pub(crate) fn eat(&mut self, c: char) -> bool {
        let found = self.rest().starts_with(c);
        if found {
            self.pos += c.len_utf8();
        }
        found
    }

    pub(crate) fn syntax(&self, at: usize, message: impl Into<String>) -> ParseError {
        ParseError::new(ErrorKind::Syntax, at, message)
    }

    /// Opens one nesting level for the construct starting at `at`.
    fn enter(&mut self, at: usize) -> Result<(), ParseError> {
        if self.depth >= MAX_DEPTH {
            return Err(ParseError::new(
                ErrorKind::TooDeep,
                at,
                format!("nesting deeper than {MAX_DEPTH}"),
            ));
        }
        self.depth += 1;
        Ok(())
    }

    /// Skips whitespace and requires `close`, ending the level opened by `enter`.
    fn close(&mut self, close: char, message: &str) -> Result<(), ParseError> {
        self.skip_ws();
        if !self.eat(close) {
            return Err(self.syntax(self.pos, message));
        }
        self.depth -= 1;
        Ok(())
    }

    /// `ATTRNAME` (or `$ref`) at the current position.
    pub(crate) fn attr_name(&mut self, expected: &str) -> Result<String, ParseError> {
        let at = self.pos;
        match self.run(lexer::attr_name) {
            Some(name) => Ok(name.to_owned()),
            None if self.at_end() => {
                Err(self.syntax(at, format!("{expected}, found end of input")))
            }
            None => Err(self.syntax(at, expected)),
        }
    }

    /// `attrPath = [URI ":"] ATTRNAME ["." subAttr]`.
    pub(crate) fn attr_path(&mut self) -> Result<AttrPath, ParseError> {
        let start = self.pos;
        let Some(run) = self.run(lexer::urn_run) else {
            let (name, sub_attr) = self.name_and_sub()?;
            return Ok(AttrPath {
                uri: None,
                name,
                sub_attr,
            });
        };
        // URNs contain dots and colons themselves, so the attribute is
        // whatever follows the last colon.
        let colon = run.rfind(':').unwrap_or(0);
        let end = self.pos;
        self.pos = start + colon + 1;
        let (name, sub_attr) = self.name_and_sub()?;
        if self.pos != end {
            return Err(self.syntax(self.pos, "unexpected character in attribute path"));
        }
        Ok(AttrPath {
            uri: Some(run[..colon].to_owned()),
            name,
            sub_attr,
        })
    }

    fn name_and_sub(&mut self) -> Result<(String, Option<String>), ParseError> {
        let name = self.attr_name("expected attribute name")?;
        let sub = if self.eat('.') {
            Some(self.attr_name("expected sub-attribute name after '.'")?)
        } else {
            None
        };
        Ok((name, sub))
    }

    /// `filter = conjunction *("or" conjunction)`, left-associative.
    pub(crate) fn filter(&mut self, in_brackets: bool) -> Result<Filter, ParseError> {
        let mut lhs = self.conjunction(in_brackets)?;
        while self.keyword_ahead("or") {
            let rhs = self.conjunction(in_brackets)?;
            lhs = Filter::Or(Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }

    /// `conjunction = unary *("and" unary)`, left-associative.
    fn conjunction(&mut self, in_brackets: bool) -> Result<Filter, ParseError> {
        let mut lhs = self.unary(in_brackets)?;
        while self.keyword_ahead("and") {
            let rhs = self.unary(in_brackets)?;
            lhs = Filter::And(Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }

    /// Consumes whitespace and `word` if the keyword comes next.
    fn keyword_ahead(&mut self, word: &'static str) -> bool {
        let save = self.pos;
        self.skip_ws();
        let found = self.run(lexer::keyword(word)).is_some();
        if !found {
            self.pos = save;
        }
        found
    }

    /// `"(" filter ")"`, `"not" ["SP"] "(" filter ")"`, or an attribute expression.
    fn unary(&mut self, in_brackets: bool) -> Result<Filter, ParseError> {
        self.skip_ws();
        let start = self.pos;
        if self.eat('(') {
            return self.grouped(start, in_brackets);
        }
        if self.run(lexer::keyword("not")).is_some() {
            self.skip_ws();
            let after_not = self.pos;
            if self.eat('(') {
                return Ok(Filter::Not(Box::new(self.grouped(start, in_brackets)?)));
            }
            // `not` may also be an attribute name (`not pr`); only when that
            // reading fails right after the word is it a missing parenthesis.
            self.pos = start;
            return match self.attr_expr(in_brackets) {
                Err(e) if e.kind == ErrorKind::Syntax && e.position == after_not => {
                    Err(self.syntax(after_not, "expected '(' after 'not'"))
                }
                other => other,
            };
        }
        self.attr_expr(in_brackets)
    }

    /// The rest of a parenthesised group whose `(` (or `not`) is at `start`.
    fn grouped(&mut self, start: usize, in_brackets: bool) -> Result<Filter, ParseError> {
        self.enter(start)?;
        let inner = self.filter(in_brackets)?;
        self.close(')', "expected closing ')'")?;
        Ok(inner)
    }

    /// The rest of a valuePath after its `[` at `open`: `valFilter "]"`.
    pub(crate) fn bracketed(&mut self, open: usize) -> Result<Filter, ParseError> {
        self.enter(open)?;
        let inner = self.filter(true)?;
        self.close(']', "expected closing ']'")?;
        Ok(inner)
    }

    /// `attrPath "pr"`, `attrPath compareOp compValue`, or a valuePath.
    fn attr_expr(&mut self, in_brackets: bool) -> Result<Filter, ParseError> {
        let attr = self.attr_path()?;
        let open = self.pos;
        if !self.eat('[') {
            return self.comparison(attr);
        }
        if in_brackets {
            return Err(self.syntax(open, "nested valuePath ('[' inside '[...]') is not allowed"));
        }
        let inner = self.bracketed(open)?;
        if !self.eat('.') {
            return Ok(Filter::ValuePath {
                attr,
                filter: Box::new(inner),
            });
        }
        // Beyond the ABNF, sent by Microsoft Entra: `emails[type eq "work"].value eq "x"`
        // means an element matching both conditions.
        let sub = self.attr_name("expected sub-attribute name after '].'")?;
        let condition = self.comparison(AttrPath::simple(sub))?;
        Ok(Filter::ValuePath {
            attr,
            filter: Box::new(Filter::And(Box::new(inner), Box::new(condition))),
        })
    }

    /// After an attribute path: whitespace, then `pr` or `compareOp compValue`.
    fn comparison(&mut self, attr: AttrPath) -> Result<Filter, ParseError> {
        let had_ws = self.skip_ws();
        let at = self.pos;
        let op = match self.run(lexer::operator) {
            Some(op) if had_ws => op,
            _ => return Err(self.syntax(at, EXPECTED_OPERATOR)),
        };
        let Some(op) = op else {
            return Ok(Filter::Present(attr));
        };
        self.skip_ws();
        let value = self.comp_value()?;
        Ok(Filter::Compare { attr, op, value })
    }

    /// `compValue = false / null / true / number / string`.
    fn comp_value(&mut self) -> Result<CompValue, ParseError> {
        let at = self.pos;
        match self.rest().chars().next() {
            Some('"') => {
                let (text, len) = lexer::json_string(self.rest())
                    .map_err(|(off, msg)| self.syntax(at + off, msg))?;
                self.pos += len;
                Ok(CompValue::Str(text))
            }
            Some(c) if c == '-' || c.is_ascii_digit() => self.number(),
            _ => self
                .run(lexer::literal)
                .ok_or_else(|| self.syntax(at, EXPECTED_VALUE)),
        }
    }

    fn number(&mut self) -> Result<CompValue, ParseError> {
        let at = self.pos;
        let text = self
            .run(lexer::number_text)
            .ok_or_else(|| self.syntax(at, "invalid number"))?;
        // JSON numbers end at a delimiter: `01`, `1.`, `1e`, `1x` are malformed.
        if self
            .rest()
            .starts_with(|c: char| c.is_ascii_alphanumeric() || c == '.' || c == '+' || c == '-')
        {
            return Err(self.syntax(self.pos, "invalid number"));
        }
        match text.parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(CompValue::Number(n)),
            Ok(_) => Err(self.syntax(at, "number out of range")),
            Err(_) => Err(self.syntax(at, "invalid number")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CompareOp;

    fn pr(name: &str) -> Filter {
        Filter::Present(AttrPath::simple(name))
    }

    fn cmp(name: &str, op: CompareOp, value: CompValue) -> Filter {
        Filter::Compare {
            attr: AttrPath::simple(name),
            op,
            value,
        }
    }

    fn and(l: Filter, r: Filter) -> Filter {
        Filter::And(Box::new(l), Box::new(r))
    }

    fn or(l: Filter, r: Filter) -> Filter {
        Filter::Or(Box::new(l), Box::new(r))
    }

    fn err(input: &str) -> (ErrorKind, usize, String) {
        let e = parse_filter(input).unwrap_err();
        (e.kind, e.position, e.message)
    }

    fn syntax_at(input: &str, position: usize, message: &str) {
        assert_eq!(
            err(input),
            (ErrorKind::Syntax, position, message.to_owned()),
            "{input}"
        );
    }

    #[test]
    fn precedence_and_associativity() {
        assert_eq!(
            parse_filter("a pr or b pr or c pr").unwrap(),
            or(or(pr("a"), pr("b")), pr("c"))
        );
        assert_eq!(
            parse_filter("a pr and b pr and c pr").unwrap(),
            and(and(pr("a"), pr("b")), pr("c"))
        );
        assert_eq!(
            parse_filter("a pr or b pr and c pr").unwrap(),
            or(pr("a"), and(pr("b"), pr("c")))
        );
        assert_eq!(
            parse_filter("a pr and b pr or c pr").unwrap(),
            or(and(pr("a"), pr("b")), pr("c"))
        );
        assert_eq!(
            parse_filter("a pr and (b pr or c pr)").unwrap(),
            and(pr("a"), or(pr("b"), pr("c")))
        );
        assert_eq!(
            parse_filter("not (a pr) and b pr").unwrap(),
            and(Filter::Not(Box::new(pr("a"))), pr("b"))
        );
    }

    #[test]
    fn case_insensitive_keywords() {
        assert_eq!(
            parse_filter(r#"USERNAME Eq "x" AND title PR"#).unwrap(),
            and(
                cmp("USERNAME", CompareOp::Eq, CompValue::Str("x".into())),
                pr("title")
            )
        );
        assert_eq!(
            parse_filter("active eq TRUE Or x ne NULL").unwrap(),
            or(
                cmp("active", CompareOp::Eq, CompValue::Bool(true)),
                cmp("x", CompareOp::Ne, CompValue::Null)
            )
        );
        assert_eq!(
            parse_filter("NoT(a pr)").unwrap(),
            Filter::Not(Box::new(pr("a")))
        );
        let f = parse_filter("URN:x:y:Name.Given pr").unwrap();
        assert_eq!(f.to_string(), "URN:x:y:Name.Given pr");
        for op in CompareOp::ALL {
            let text = format!("a {} 1", op.as_str().to_uppercase());
            assert_eq!(
                parse_filter(&text).unwrap(),
                cmp("a", op, CompValue::Number(1.0))
            );
        }
    }

    #[test]
    fn whitespace_tolerance() {
        assert_eq!(
            parse_filter(" \t\na\t eq\n\"x\"  and  ( b pr )\r\n").unwrap(),
            and(cmp("a", CompareOp::Eq, CompValue::Str("x".into())), pr("b"))
        );
        assert_eq!(
            parse_filter("(a pr)and(b pr)").unwrap(),
            and(pr("a"), pr("b"))
        );
        assert_eq!(
            parse_filter("emails[ type eq \"w\" ]").unwrap().to_string(),
            "emails[type eq \"w\"]"
        );
    }

    #[test]
    fn keyword_like_attribute_names() {
        assert_eq!(parse_filter("not pr").unwrap(), pr("not"));
        assert_eq!(parse_filter("notes pr").unwrap(), pr("notes"));
        assert_eq!(
            parse_filter("and pr or or pr").unwrap(),
            or(pr("and"), pr("or"))
        );
        assert_eq!(
            parse_filter("a eq \"x\" and pr eq 1").unwrap(),
            and(
                cmp("a", CompareOp::Eq, CompValue::Str("x".into())),
                cmp("pr", CompareOp::Eq, CompValue::Number(1.0))
            )
        );
    }

    #[test]
    fn numbers() {
        for (text, n) in [
            ("-1", -1.0),
            ("0", 0.0),
            ("1.5", 1.5),
            ("1e3", 1000.0),
            ("2.5E-3", 0.0025),
            ("-0.5e+2", -50.0),
        ] {
            assert_eq!(
                parse_filter(&format!("a gt {text}")).unwrap(),
                cmp("a", CompareOp::Gt, CompValue::Number(n)),
                "{text}"
            );
        }
        syntax_at("a eq 01", 6, "invalid number");
        syntax_at("a eq +1", 5, EXPECTED_VALUE);
        syntax_at("a eq 1.", 6, "invalid number");
        syntax_at("a eq 1e", 6, "invalid number");
        syntax_at("a eq .5", 5, EXPECTED_VALUE);
        syntax_at("a eq -", 5, "invalid number");
        syntax_at("a eq 1e400", 5, "number out of range");
    }

    #[test]
    fn ref_attribute() {
        assert_eq!(
            parse_filter("members.$ref pr").unwrap(),
            Filter::Present(AttrPath {
                uri: None,
                name: "members".into(),
                sub_attr: Some("$ref".into())
            })
        );
        assert_eq!(parse_filter("$ref pr").unwrap(), pr("$ref"));
    }

    #[test]
    fn entra_extension() {
        let inner = cmp("type", CompareOp::Eq, CompValue::Str("work".into()));
        let cond = cmp("value", CompareOp::Eq, CompValue::Str("a@b.example".into()));
        assert_eq!(
            parse_filter(r#"emails[type eq "work"].value eq "a@b.example""#).unwrap(),
            Filter::ValuePath {
                attr: AttrPath::simple("emails"),
                filter: Box::new(and(inner.clone(), cond)),
            }
        );
        assert_eq!(
            parse_filter(r#"emails[type eq "work"].value pr and x pr"#).unwrap(),
            and(
                Filter::ValuePath {
                    attr: AttrPath::simple("emails"),
                    filter: Box::new(and(inner, pr("value"))),
                },
                pr("x")
            )
        );
    }

    #[test]
    fn uri_splitting() {
        let f = parse_filter("urn:ietf:params:scim:schemas:core:2.0:User:name.familyName eq \"x\"")
            .unwrap();
        let Filter::Compare { attr, .. } = f else {
            panic!("not a comparison")
        };
        assert_eq!(
            attr.uri.as_deref(),
            Some("urn:ietf:params:scim:schemas:core:2.0:User")
        );
        assert_eq!(attr.name, "name");
        assert_eq!(attr.sub_attr.as_deref(), Some("familyName"));
        syntax_at(
            "urn:a:b.c.d pr",
            9,
            "unexpected character in attribute path",
        );
        syntax_at("urn: pr", 4, "expected attribute name");
        syntax_at("urn:a:1x pr", 6, "expected attribute name");
    }

    #[test]
    fn syntax_errors() {
        syntax_at("userName", 8, EXPECTED_OPERATOR);
        syntax_at(r#"userName "x""#, 9, EXPECTED_OPERATOR);
        syntax_at(r#"userNameeq "x""#, 11, EXPECTED_OPERATOR);
        syntax_at(r#"userName xx "x""#, 9, EXPECTED_OPERATOR);
        syntax_at(r#"userName == "x""#, 9, EXPECTED_OPERATOR);
    }

    #[test]
    fn more_syntax_errors() {
        syntax_at(r#"userName eq "bjensen"#, 12, "unterminated string");
        syntax_at(r#"userName eq "a\qb""#, 14, "invalid escape \\q");
        syntax_at(r#"userName eq "\ud800x""#, 13, "lone surrogate \\uD800");
        syntax_at(r#"userName eq "\udc00""#, 13, "lone surrogate \\uDC00");
        syntax_at(
            "a eq \"x\u{1}\"",
            7,
            "control character U+0001 in string must be escaped",
        );
        syntax_at("(a pr", 5, "expected closing ')'");
        syntax_at("((a pr) and b pr", 16, "expected closing ')'");
        syntax_at("a pr)", 4, "unexpected input after filter");
        syntax_at(r#"a eq "x" garbage"#, 9, "unexpected input after filter");
        syntax_at("not a pr", 4, "expected '(' after 'not'");
        syntax_at("not", 3, "expected '(' after 'not'");
        syntax_at(
            r#"emails[type eq "work" and x[y pr]]"#,
            27,
            "nested valuePath ('[' inside '[...]') is not allowed",
        );
        syntax_at(r#"emails[type eq "work""#, 21, "expected closing ']'");
        syntax_at("", 0, "expected attribute name, found end of input");
        syntax_at("   ", 3, "expected attribute name, found end of input");
        syntax_at("a pr and", 8, "expected attribute name, found end of input");
        syntax_at("a eq", 4, EXPECTED_VALUE);
        syntax_at("a eq bogus", 5, EXPECTED_VALUE);
        syntax_at("a. pr", 2, "expected sub-attribute name after '.'");
        syntax_at(
            "e[a pr].",
            8,
            "expected sub-attribute name after '].', found end of input",
        );
    }

    #[test]
    fn too_long() {
        let input = format!("a eq \"{}\"", "x".repeat(MAX_LENGTH));
        assert_eq!(
            err(&input),
            (
                ErrorKind::TooLong,
                MAX_LENGTH,
                format!("filter longer than {MAX_LENGTH} bytes")
            )
        );
        let ok = format!("a eq \"{}\"", "x".repeat(MAX_LENGTH - 7));
        assert_eq!(ok.len(), MAX_LENGTH);
        assert!(parse_filter(&ok).is_ok());
    }

    #[test]
    fn depth_limit_is_exact() {
        let ok = format!("{}a pr{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert_eq!(parse_filter(&ok).unwrap(), pr("a"));
        let deep = format!(
            "{}a pr{}",
            "(".repeat(MAX_DEPTH + 1),
            ")".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(
            err(&deep),
            (
                ErrorKind::TooDeep,
                MAX_DEPTH,
                "nesting deeper than 64".to_owned()
            )
        );
        // Brackets count too: 63 parentheses plus a valuePath is fine, 64 is not.
        let vp = |n: usize| format!("{}e[a pr]{}", "(".repeat(n), ")".repeat(n));
        assert!(parse_filter(&vp(MAX_DEPTH - 1)).is_ok());
        assert_eq!(err(&vp(MAX_DEPTH)).0, ErrorKind::TooDeep);
        assert_eq!(err(&vp(MAX_DEPTH)).1, MAX_DEPTH + 1);
    }

    #[test]
    fn hundred_thousand_open_parens() {
        let input = "(".repeat(100_000);
        assert_eq!(
            crate::ParseError {
                kind: ErrorKind::TooLong,
                position: MAX_LENGTH,
                message: "filter longer than 8192 bytes".into()
            },
            parse_filter(&input).unwrap_err()
        );
        // Within the length limit the depth limit is what stops it.
        let input = "(".repeat(MAX_LENGTH);
        assert_eq!(err(&input).0, ErrorKind::TooDeep);
        assert_eq!(err(&input).1, MAX_DEPTH);
    }

    #[test]
    fn hundred_thousand_nots() {
        let input = "not (".repeat(100_000);
        assert_eq!(err(&input).0, ErrorKind::TooLong);
        let input = "not (".repeat(MAX_LENGTH / 5);
        assert_eq!(
            err(&input),
            (
                ErrorKind::TooDeep,
                MAX_DEPTH * 5,
                "nesting deeper than 64".into()
            )
        );
        let input = "not(".repeat(MAX_LENGTH / 4);
        assert_eq!(err(&input).1, MAX_DEPTH * 4);
    }

    #[test]
    fn depth_check_alone_stops_100_000_levels_on_a_2_mib_stack() {
        // Bypasses the length check so only the depth bound protects the stack.
        let run = |input: String| {
            std::thread::Builder::new()
                .stack_size(2 << 20)
                .spawn(move || {
                    let mut cursor = Cursor {
                        src: &input,
                        pos: 0,
                        depth: 0,
                    };
                    cursor.filter(false).unwrap_err()
                })
                .unwrap()
                .join()
                .unwrap()
        };
        let e = run("(".repeat(100_000));
        assert_eq!((e.kind, e.position), (ErrorKind::TooDeep, MAX_DEPTH));
        let e = run("not (".repeat(100_000));
        assert_eq!((e.kind, e.position), (ErrorKind::TooDeep, MAX_DEPTH * 5));
        let e = run("e[".repeat(100_000));
        assert_eq!(e.kind, ErrorKind::Syntax);
    }
}
