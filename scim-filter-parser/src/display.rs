//! Canonical text form of the RFC 7644 §3.4.2.2 / §3.5.2 syntax tree.
//!
//! Output uses lower-case keywords, single spaces and only the parentheses
//! the precedence rules need, and always parses back to an equal tree
//! (for trees the parser can produce: finite numbers, no valuePath nested
//! in a valuePath, `PatchPath::sub_attr` only together with a filter).

use std::fmt::{self, Display, Formatter, Write};

use crate::{AttrPath, CompValue, CompareOp, Filter, PatchPath};

impl Display for CompareOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Display for AttrPath {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if let Some(uri) = &self.uri {
            write!(f, "{uri}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

impl Display for CompValue {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Null => f.write_str("null"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Number(n) => write_number(f, *n),
            CompValue::Str(s) => write_json_string(f, s),
        }
    }
}

/// Shortest of plain and exponent notation; both are valid JSON and both
/// round-trip exactly (`1e300` would otherwise print 301 digits).
fn write_number(f: &mut Formatter<'_>, n: f64) -> fmt::Result {
    let plain = n.to_string();
    let exp = format!("{n:e}");
    f.write_str(if exp.len() < plain.len() {
        &exp
    } else {
        &plain
    })
}

fn write_json_string(f: &mut Formatter<'_>, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            '\u{8}' => f.write_str("\\b")?,
            '\u{c}' => f.write_str("\\f")?,
            c if (c as u32) < 0x20 => write!(f, "\\u{:04x}", c as u32)?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

impl Display for Filter {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Compare { attr, op, value } => write!(f, "{attr} {op} {value}"),
            Filter::Present(attr) => write!(f, "{attr} pr"),
            Filter::ValuePath { attr, filter } => write!(f, "{attr}[{filter}]"),
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::And(lhs, rhs) => {
                operand(f, lhs, matches!(**lhs, Filter::Or(..)))?;
                f.write_str(" and ")?;
                operand(f, rhs, matches!(**rhs, Filter::Or(..) | Filter::And(..)))
            }
            Filter::Or(lhs, rhs) => {
                operand(f, lhs, false)?;
                f.write_str(" or ")?;
                operand(f, rhs, matches!(**rhs, Filter::Or(..)))
            }
        }
    }
}

/// Parenthesises an operand whose operator binds looser than its parent
/// (or equally, on the right: chains are left-associative).
fn operand(f: &mut Formatter<'_>, filter: &Filter, parens: bool) -> fmt::Result {
    if parens {
        write!(f, "({filter})")
    } else {
        write!(f, "{filter}")
    }
}

impl Display for PatchPath {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::{CompValue, parse_filter};

    fn canon(input: &str) -> String {
        parse_filter(input).unwrap().to_string()
    }

    #[test]
    fn minimal_parentheses() {
        assert_eq!(canon("(a pr AND b pr) or c pr"), "a pr and b pr or c pr");
        assert_eq!(canon("a pr and (b pr or c pr)"), "a pr and (b pr or c pr)");
        assert_eq!(canon("(a pr or b pr) and c pr"), "(a pr or b pr) and c pr");
        assert_eq!(canon("a pr or (b pr or c pr)"), "a pr or (b pr or c pr)");
        assert_eq!(
            canon("a pr and (b pr and c pr)"),
            "a pr and (b pr and c pr)"
        );
        assert_eq!(canon("((a pr))"), "a pr");
        assert_eq!(canon("NOT(a pr)"), "not (a pr)");
    }

    #[test]
    fn values() {
        assert_eq!(
            canon(r#"a eq "q\"\\\/\u0001\t""#),
            r#"a eq "q\"\\/\u0001\t""#
        );
        assert_eq!(canon("a eq TRUE"), "a eq true");
        assert_eq!(canon("a eq 1e300"), "a eq 1e300");
        assert_eq!(canon("a eq 100"), "a eq 100");
        assert_eq!(canon("a eq 0.5"), "a eq 0.5");
        assert_eq!(canon("a eq 1e-7"), "a eq 1e-7");
        assert_eq!(CompValue::Null.to_string(), "null");
    }

    #[test]
    fn entra_extension_displays_as_conjunction() {
        assert_eq!(
            canon(r#"emails[type eq "work"].value eq "a@b.example""#),
            r#"emails[type eq "work" and value eq "a@b.example"]"#
        );
        assert_eq!(
            canon(r#"emails[type eq "a" or type eq "b"].value pr"#),
            r#"emails[(type eq "a" or type eq "b") and value pr]"#
        );
    }
}
