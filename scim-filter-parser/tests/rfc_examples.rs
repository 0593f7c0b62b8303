//! Every example filter of RFC 7644 §3.4.2.2 and PATCH path of §3.5.2,
//! each with the expected syntax tree.

use scim_filter_parser::{
    AttrPath, CompValue, CompareOp, Filter, PatchPath, parse_filter, parse_path,
};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn attr(name: &str) -> AttrPath {
    AttrPath::simple(name)
}

fn sub(name: &str, sub: &str) -> AttrPath {
    AttrPath {
        uri: None,
        name: name.into(),
        sub_attr: Some(sub.into()),
    }
}

fn cmp(attr: AttrPath, op: CompareOp, value: &str) -> Filter {
    Filter::Compare {
        attr,
        op,
        value: CompValue::Str(value.into()),
    }
}

fn and(l: Filter, r: Filter) -> Filter {
    Filter::And(Box::new(l), Box::new(r))
}

fn or(l: Filter, r: Filter) -> Filter {
    Filter::Or(Box::new(l), Box::new(r))
}

fn value_path(name: &str, filter: Filter) -> Filter {
    Filter::ValuePath {
        attr: attr(name),
        filter: Box::new(filter),
    }
}

/// Parses, compares, and checks that the canonical form round-trips.
fn check(input: &str, expected: Filter) {
    let parsed = parse_filter(input).unwrap();
    assert_eq!(parsed, expected, "{input}");
    assert_eq!(parse_filter(&parsed.to_string()).unwrap(), expected);
}

fn check_path(input: &str, expected: PatchPath) {
    let parsed = parse_path(input).unwrap();
    assert_eq!(parsed, expected, "{input}");
    assert_eq!(parsed.to_string(), input);
}

#[test]
fn username_eq() {
    check(
        r#"userName eq "bjensen""#,
        cmp(attr("userName"), CompareOp::Eq, "bjensen"),
    );
}

#[test]
fn family_name_co() {
    check(
        r#"name.familyName co "O'Malley""#,
        cmp(sub("name", "familyName"), CompareOp::Co, "O'Malley"),
    );
}

#[test]
fn username_sw() {
    check(
        r#"userName sw "J""#,
        cmp(attr("userName"), CompareOp::Sw, "J"),
    );
}

#[test]
fn urn_username_sw() {
    check(
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
        cmp(
            AttrPath {
                uri: Some("urn:ietf:params:scim:schemas:core:2.0:User".into()),
                name: "userName".into(),
                sub_attr: None,
            },
            CompareOp::Sw,
            "J",
        ),
    );
}

#[test]
fn title_pr() {
    check("title pr", Filter::Present(attr("title")));
}

#[test]
fn last_modified_gt() {
    check(
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        cmp(
            sub("meta", "lastModified"),
            CompareOp::Gt,
            "2011-05-13T04:42:34Z",
        ),
    );
}

#[test]
fn last_modified_ge() {
    check(
        r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
        cmp(
            sub("meta", "lastModified"),
            CompareOp::Ge,
            "2011-05-13T04:42:34Z",
        ),
    );
}

#[test]
fn last_modified_lt() {
    check(
        r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
        cmp(
            sub("meta", "lastModified"),
            CompareOp::Lt,
            "2011-05-13T04:42:34Z",
        ),
    );
}

#[test]
fn last_modified_le() {
    check(
        r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
        cmp(
            sub("meta", "lastModified"),
            CompareOp::Le,
            "2011-05-13T04:42:34Z",
        ),
    );
}

#[test]
fn title_pr_and_user_type() {
    check(
        r#"title pr and userType eq "Employee""#,
        and(
            Filter::Present(attr("title")),
            cmp(attr("userType"), CompareOp::Eq, "Employee"),
        ),
    );
}

#[test]
fn title_pr_or_user_type() {
    check(
        r#"title pr or userType eq "Intern""#,
        or(
            Filter::Present(attr("title")),
            cmp(attr("userType"), CompareOp::Eq, "Intern"),
        ),
    );
}

#[test]
fn schemas_eq_enterprise() {
    check(
        r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
        cmp(attr("schemas"), CompareOp::Eq, ENTERPRISE),
    );
}

#[test]
fn grouped_or() {
    check(
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
        and(
            cmp(attr("userType"), CompareOp::Eq, "Employee"),
            or(
                cmp(attr("emails"), CompareOp::Co, "example.com"),
                cmp(sub("emails", "value"), CompareOp::Co, "example.org"),
            ),
        ),
    );
}

#[test]
fn not_grouped_or() {
    check(
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
        and(
            cmp(attr("userType"), CompareOp::Ne, "Employee"),
            Filter::Not(Box::new(or(
                cmp(attr("emails"), CompareOp::Co, "example.com"),
                cmp(sub("emails", "value"), CompareOp::Co, "example.org"),
            ))),
        ),
    );
}

#[test]
fn grouped_single() {
    check(
        r#"userType eq "Employee" and (emails.type eq "work")"#,
        and(
            cmp(attr("userType"), CompareOp::Eq, "Employee"),
            cmp(sub("emails", "type"), CompareOp::Eq, "work"),
        ),
    );
}

#[test]
fn value_path_in_conjunction() {
    check(
        r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
        and(
            cmp(attr("userType"), CompareOp::Eq, "Employee"),
            value_path(
                "emails",
                and(
                    cmp(attr("type"), CompareOp::Eq, "work"),
                    cmp(attr("value"), CompareOp::Co, "@example.com"),
                ),
            ),
        ),
    );
}

#[test]
fn value_paths_in_disjunction() {
    check(
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
        or(
            value_path(
                "emails",
                and(
                    cmp(attr("type"), CompareOp::Eq, "work"),
                    cmp(attr("value"), CompareOp::Co, "@example.com"),
                ),
            ),
            value_path(
                "ims",
                and(
                    cmp(attr("type"), CompareOp::Eq, "xmpp"),
                    cmp(attr("value"), CompareOp::Co, "@foo.com"),
                ),
            ),
        ),
    );
}

#[test]
fn value_path_then_comparison() {
    check(
        r#"emails[type eq "work"] and userName sw "a""#,
        and(
            value_path("emails", cmp(attr("type"), CompareOp::Eq, "work")),
            cmp(attr("userName"), CompareOp::Sw, "a"),
        ),
    );
}

const MEMBER: &str = "2819c223-7f76-453a-919d-413861904646";

#[test]
fn path_members_filter() {
    check_path(
        r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#,
        PatchPath {
            attr: attr("members"),
            filter: Some(cmp(attr("value"), CompareOp::Eq, MEMBER)),
            sub_attr: None,
        },
    );
}

#[test]
fn path_members_filter_sub_attr() {
    check_path(
        r#"members[value eq "2819c223-7f76-453a-919d-413861904646"].displayName"#,
        PatchPath {
            attr: attr("members"),
            filter: Some(cmp(attr("value"), CompareOp::Eq, MEMBER)),
            sub_attr: Some("displayName".into()),
        },
    );
}

#[test]
fn path_emails_work_value() {
    check_path(
        r#"emails[type eq "work"].value"#,
        PatchPath {
            attr: attr("emails"),
            filter: Some(cmp(attr("type"), CompareOp::Eq, "work")),
            sub_attr: Some("value".into()),
        },
    );
}

#[test]
fn path_name_family_name() {
    check_path(
        "name.familyName",
        PatchPath {
            attr: sub("name", "familyName"),
            filter: None,
            sub_attr: None,
        },
    );
}

#[test]
fn path_addresses_work() {
    check_path(
        r#"addresses[type eq "work"]"#,
        PatchPath {
            attr: attr("addresses"),
            filter: Some(cmp(attr("type"), CompareOp::Eq, "work")),
            sub_attr: None,
        },
    );
}

#[test]
fn path_enterprise_employee_number() {
    check_path(
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
        PatchPath {
            attr: AttrPath {
                uri: Some(ENTERPRISE.into()),
                name: "employeeNumber".into(),
                sub_attr: None,
            },
            filter: None,
            sub_attr: None,
        },
    );
}

#[test]
fn path_enterprise_manager_value() {
    check_path(
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        PatchPath {
            attr: AttrPath {
                uri: Some(ENTERPRISE.into()),
                name: "manager".into(),
                sub_attr: Some("value".into()),
            },
            filter: None,
            sub_attr: None,
        },
    );
}

#[test]
fn path_bare_schema_urn() {
    check_path(
        ENTERPRISE,
        PatchPath {
            attr: AttrPath {
                uri: Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0".into()),
                name: "User".into(),
                sub_attr: None,
            },
            filter: None,
            sub_attr: None,
        },
    );
}
