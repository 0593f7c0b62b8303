//! PATCH `path` grammar of RFC 7644 §3.5.2:
//! `PATH = attrPath / valuePath [subAttr]`, with `valuePath = attrPath "[" valFilter "]"`.

use crate::{ParseError, PatchPath, filter::Cursor};

/// Parses a PATCH operation `path` (RFC 7644 §3.5.2).
///
/// Surrounding whitespace is allowed; an empty path is an error.
pub fn parse_path(input: &str) -> Result<PatchPath, ParseError> {
    let mut cursor = Cursor::new(input, "path")?;
    cursor.skip_ws();
    let attr = cursor.attr_path()?;
    let open = cursor.pos;
    let mut filter = None;
    let mut sub_attr = None;
    if cursor.eat('[') {
        filter = Some(cursor.bracketed(open)?);
        if cursor.eat('.') {
            sub_attr = Some(cursor.attr_name("expected sub-attribute name after '].'")?);
        }
    }
    cursor.skip_ws();
    if !cursor.at_end() {
        return Err(cursor.syntax(cursor.pos, "unexpected input after path"));
    }
    Ok(PatchPath {
        attr,
        filter,
        sub_attr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AttrPath, CompValue, CompareOp, ErrorKind, Filter};

    fn eq(name: &str, value: &str) -> Filter {
        Filter::Compare {
            attr: AttrPath::simple(name),
            op: CompareOp::Eq,
            value: CompValue::Str(value.to_owned()),
        }
    }

    #[test]
    fn plain_and_sub_attribute() {
        let p = parse_path("name.familyName").unwrap();
        assert_eq!(p.attr.name, "name");
        assert_eq!(p.attr.sub_attr.as_deref(), Some("familyName"));
        assert_eq!((p.filter, p.sub_attr), (None, None));
        assert_eq!(
            parse_path("  title ").unwrap().attr,
            AttrPath::simple("title")
        );
    }

    #[test]
    fn value_path_with_sub_attribute() {
        let p = parse_path(r#"addresses[type eq "work"].streetAddress"#).unwrap();
        assert_eq!(p.attr, AttrPath::simple("addresses"));
        assert_eq!(p.filter, Some(eq("type", "work")));
        assert_eq!(p.sub_attr.as_deref(), Some("streetAddress"));
    }

    #[test]
    fn ref_sub_attribute() {
        let p = parse_path("members.$ref").unwrap();
        assert_eq!(p.attr.sub_attr.as_deref(), Some("$ref"));
        let p = parse_path(r#"members[value eq "1"].$ref"#).unwrap();
        assert_eq!(p.sub_attr.as_deref(), Some("$ref"));
    }

    #[test]
    fn errors() {
        let e = parse_path("").unwrap_err();
        assert_eq!((e.kind, e.position), (ErrorKind::Syntax, 0));
        assert_eq!(e.message, "expected attribute name, found end of input");
        let e = parse_path(r#"emails[type eq "work"].value eq "x""#).unwrap_err();
        assert_eq!((e.kind, e.position), (ErrorKind::Syntax, 29));
        assert_eq!(e.message, "unexpected input after path");
        let e = parse_path(r#"emails[type eq "work"]."#).unwrap_err();
        assert_eq!(e.position, 23);
        let e = parse_path(r#"emails[type eq "work""#).unwrap_err();
        assert_eq!(
            (e.position, e.message.as_str()),
            (21, "expected closing ']'")
        );
        let e = parse_path(r#"emails[x[y pr]]"#).unwrap_err();
        assert_eq!(e.position, 8);
        let e = parse_path(&"a".repeat(crate::MAX_LENGTH + 1)).unwrap_err();
        assert_eq!(
            (e.kind, e.position),
            (ErrorKind::TooLong, crate::MAX_LENGTH)
        );
    }
}
