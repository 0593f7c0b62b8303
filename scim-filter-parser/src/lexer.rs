//! Token-level parsers for the RFC 7644 §3.4.2.2 filter ABNF (Figure 1).
//!
//! Each function recognises one token at the start of its input and returns
//! the remaining input. None of them recurse, so they are safe on any input;
//! the recursive layer lives in `filter.rs`.

use nom::{
    IResult, Parser,
    branch::alt,
    bytes::complete::{tag, tag_no_case, take_while, take_while1},
    character::complete::{char, digit1, multispace0, one_of, satisfy},
    combinator::{not, opt, recognize, value},
    sequence::{pair, preceded, terminated},
};

use crate::{CompValue, CompareOp};

/// nom result over `&str` with nom's default error type; callers turn a
/// failure into a positioned [`crate::ParseError`] with their own message.
pub(crate) type Res<'a, T> = IResult<&'a str, T>;

/// Characters after the first one of an ATTRNAME (`nameChar` in the ABNF).
pub(crate) fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// Characters allowed in a URN prefix (RFC 8141 NSS minus the grammar's own
/// `(`, `)`, `[`, `]`, `"` and whitespace). Must include every character an
/// attribute path can contain, so the run covers the trailing attribute.
fn is_urn_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~%!$&'*+,;=:@/".contains(c)
}

/// Any run of whitespace (the ABNF's single SP, tolerantly widened).
pub(crate) fn ws(i: &str) -> Res<'_, &str> {
    multispace0(i)
}

/// `ATTRNAME = ALPHA *(nameChar)`, or the special name `$ref`.
pub(crate) fn attr_name(i: &str) -> Res<'_, &str> {
    alt((
        tag("$ref"),
        recognize(pair(
            satisfy(|c| c.is_ascii_alphabetic()),
            take_while(is_name_char),
        )),
    ))
    .parse(i)
}

/// A `urn:`-prefixed run (case-insensitive) that includes the attribute
/// name; the caller splits it at the last colon.
pub(crate) fn urn_run(i: &str) -> Res<'_, &str> {
    recognize(pair(tag_no_case("urn:"), take_while(is_urn_char))).parse(i)
}

/// A case-insensitive keyword that is not the prefix of a longer name.
pub(crate) fn keyword<'a>(word: &'static str) -> impl Fn(&'a str) -> Res<'a, &'a str> {
    move |i| terminated(tag_no_case(word), not(satisfy(is_name_char))).parse(i)
}

/// `compareOp` or `pr`; `None` means `pr`.
pub(crate) fn operator(i: &str) -> Res<'_, Option<CompareOp>> {
    let (rest, word) = terminated(
        take_while1(|c: char| c.is_ascii_alphabetic()),
        not(satisfy(is_name_char)),
    )
    .parse(i)?;
    if word.eq_ignore_ascii_case("pr") {
        return Ok((rest, None));
    }
    CompareOp::ALL
        .into_iter()
        .find(|op| word.eq_ignore_ascii_case(op.as_str()))
        .map(|op| (rest, Some(op)))
        .ok_or_else(|| nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::Tag)))
}

/// `true`, `false` or `null`, case-insensitively.
pub(crate) fn literal(i: &str) -> Res<'_, CompValue> {
    alt((
        value(CompValue::Bool(true), keyword("true")),
        value(CompValue::Bool(false), keyword("false")),
        value(CompValue::Null, keyword("null")),
    ))
    .parse(i)
}

/// The text of a JSON number (RFC 8259 §6): no `+`, no leading zeros.
pub(crate) fn number_text(i: &str) -> Res<'_, &str> {
    recognize((
        opt(char('-')),
        alt((tag("0"), take_while1(|c: char| c.is_ascii_digit()))),
        opt(preceded(char('.'), digit1)),
        opt((one_of("eE"), opt(one_of("+-")), digit1)),
    ))
    .parse(i)
}

/// Decodes a JSON string (RFC 8259 §7) that starts with `"` at `i[0]`.
///
/// Returns the decoded text and the number of bytes consumed, or the byte
/// offset (relative to `i`) and message of the first problem.
pub(crate) fn json_string(i: &str) -> Result<(String, usize), (usize, String)> {
    let mut out = String::new();
    let mut chars = i.char_indices().skip(1);
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Ok((out, at + 1)),
            '\\' => {
                let Some((_, esc)) = chars.next() else { break };
                let decoded = match esc {
                    '"' => '"',
                    '\\' => '\\',
                    '/' => '/',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'u' => unicode_escape(i, at)?,
                    other => return Err((at, format!("invalid escape \\{other}"))),
                };
                if esc == 'u' {
                    // Skip the hex digits (and a second `\uXXXX` for a pair).
                    let used = if decoded as u32 > 0xFFFF { 10 } else { 4 };
                    for _ in 0..used {
                        chars.next();
                    }
                }
                out.push(decoded);
            }
            c if (c as u32) < 0x20 => {
                return Err((
                    at,
                    format!(
                        "control character U+{:04X} in string must be escaped",
                        c as u32
                    ),
                ));
            }
            c => out.push(c),
        }
    }
    Err((0, "unterminated string".to_owned()))
}

/// Decodes the `\uXXXX` escape at byte `at` of `i`, combining a UTF-16
/// surrogate pair written as two escapes into one character.
fn unicode_escape(i: &str, at: usize) -> Result<char, (usize, String)> {
    let first = hex4(i, at)?;
    match first {
        0xD800..=0xDBFF => {
            let low = if i.get(at + 6..at + 8) == Some("\\u") {
                hex4(i, at + 6)?
            } else {
                0
            };
            if !(0xDC00..=0xDFFF).contains(&low) {
                return Err((at, format!("lone surrogate \\u{first:04X}")));
            }
            let code = 0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00);
            char::from_u32(code).ok_or_else(|| (at, "invalid unicode escape".to_owned()))
        }
        0xDC00..=0xDFFF => Err((at, format!("lone surrogate \\u{first:04X}"))),
        _ => char::from_u32(first).ok_or_else(|| (at, "invalid unicode escape".to_owned())),
    }
}

/// The four hex digits after the `\u` at byte `at`.
fn hex4(i: &str, at: usize) -> Result<u32, (usize, String)> {
    i.get(at + 2..at + 6)
        .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
        .and_then(|h| u32::from_str_radix(h, 16).ok())
        .ok_or_else(|| {
            (
                at,
                "invalid unicode escape: expected 4 hex digits".to_owned(),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(s: &str) -> Result<String, (usize, String)> {
        json_string(s).map(|(v, _)| v)
    }

    #[test]
    fn names() {
        assert_eq!(attr_name("userName eq"), Ok((" eq", "userName")));
        assert_eq!(attr_name("$ref pr"), Ok((" pr", "$ref")));
        assert_eq!(attr_name("a-b_c1.x"), Ok((".x", "a-b_c1")));
        assert!(attr_name("1abc").is_err());
        assert!(attr_name("-a").is_err());
    }

    #[test]
    fn operators() {
        assert_eq!(operator("EQ \"x\""), Ok((" \"x\"", Some(CompareOp::Eq))));
        assert_eq!(operator("Pr"), Ok(("", None)));
        assert!(operator("eqx").is_err());
        assert!(operator("eq1").is_err());
        assert!(operator("xx").is_err());
    }

    #[test]
    fn numbers() {
        for ok in ["0", "-1", "1.5", "1e3", "2.5E-3", "-0.0e+5", "12345"] {
            assert_eq!(number_text(ok), Ok(("", ok)), "{ok}");
        }
        assert_eq!(number_text("01"), Ok(("1", "0")));
        assert_eq!(number_text("1."), Ok((".", "1")));
        assert!(number_text("+1").is_err());
        assert!(number_text(".5").is_err());
    }

    #[test]
    fn literals() {
        assert_eq!(literal("TRUE"), Ok(("", CompValue::Bool(true))));
        assert_eq!(literal("False)"), Ok((")", CompValue::Bool(false))));
        assert_eq!(literal("nuLL"), Ok(("", CompValue::Null)));
        assert!(literal("trueish").is_err());
    }

    #[test]
    fn string_escapes() {
        assert_eq!(
            string(r#""a\"b\\c\/d\b\f\n\r\t""#),
            Ok("a\"b\\c/d\u{8}\u{c}\n\r\t".to_owned())
        );
        assert_eq!(string(r#""\u00e9\u00E9""#), Ok("éé".to_owned()));
        assert_eq!(string(r#""\ud83d\ude00!""#), Ok("😀!".to_owned()));
        assert_eq!(string("\"😀ü\" rest"), Ok("😀ü".to_owned()));
        assert_eq!(json_string("\"ab\" x").map(|(_, n)| n), Ok(4));
    }

    #[test]
    fn string_errors() {
        assert_eq!(string("\"abc"), Err((0, "unterminated string".to_owned())));
        assert_eq!(
            string("\"abc\\"),
            Err((0, "unterminated string".to_owned()))
        );
        assert_eq!(
            string(r#""a\q""#),
            Err((2, "invalid escape \\q".to_owned()))
        );
        assert_eq!(
            string(r#""\ud83d""#),
            Err((1, "lone surrogate \\uD83D".to_owned()))
        );
        assert_eq!(
            string(r#""\ud83d\u0041""#),
            Err((1, "lone surrogate \\uD83D".to_owned()))
        );
        assert_eq!(
            string(r#""x\ude00""#),
            Err((2, "lone surrogate \\uDE00".to_owned()))
        );
        assert_eq!(string(r#""\u12""#).map_err(|e| e.0), Err(1));
        assert_eq!(string("\"a\nb\"").map_err(|e| e.0), Err(2));
    }
}
