//! Syntax tree for RFC 7644 §3.4.2.2 filters and §3.5.2 PATCH paths.

/// `attrPath = [URI ":"] ATTRNAME ["." subAttr]` (RFC 7644 §3.4.2.2).
///
/// Names are kept exactly as written; SCIM compares them case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// Schema URN prefix without the trailing colon, e.g.
    /// `urn:ietf:params:scim:schemas:core:2.0:User`.
    pub uri: Option<String>,
    /// Attribute name (`ALPHA *(ALPHA / DIGIT / "-" / "_")` or `$ref`).
    pub name: String,
    /// Sub-attribute name after the `.`.
    pub sub_attr: Option<String>,
}

impl AttrPath {
    /// A bare attribute name without URI or sub-attribute.
    pub fn simple(name: impl Into<String>) -> Self {
        Self {
            uri: None,
            name: name.into(),
            sub_attr: None,
        }
    }
}

/// Comparison operators of RFC 7644 §3.4.2.2, Table 3 (`pr` is [`Filter::Present`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `eq`: equal.
    Eq,
    /// `ne`: not equal.
    Ne,
    /// `co`: contains.
    Co,
    /// `sw`: starts with.
    Sw,
    /// `ew`: ends with.
    Ew,
    /// `gt`: greater than.
    Gt,
    /// `ge`: greater than or equal.
    Ge,
    /// `lt`: less than.
    Lt,
    /// `le`: less than or equal.
    Le,
}

impl CompareOp {
    /// All operators, in the order of RFC 7644 Table 3.
    pub const ALL: [CompareOp; 9] = [
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ];

    /// The lower-case operator keyword, e.g. `"eq"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }
}

/// `compValue = false / null / true / number / string` (JSON literals).
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A JSON number; always finite when produced by the parser.
    Number(f64),
    /// A JSON string with its escapes decoded.
    Str(String),
}

/// A filter expression (RFC 7644 §3.4.2.2).
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `attrPath compareOp compValue`.
    Compare {
        /// Attribute being compared.
        attr: AttrPath,
        /// Operator.
        op: CompareOp,
        /// Literal on the right-hand side.
        value: CompValue,
    },
    /// `attrPath pr`.
    Present(AttrPath),
    /// `emails[type eq "work"]`: attr is the multi-valued attribute, filter is relative to its elements
    ValuePath {
        /// The multi-valued attribute.
        attr: AttrPath,
        /// Condition on one element; contains no further `ValuePath`.
        filter: Box<Filter>,
    },
    /// `not (filter)`.
    Not(Box<Filter>),
    /// `filter and filter`.
    And(Box<Filter>, Box<Filter>),
    /// `filter or filter`.
    Or(Box<Filter>, Box<Filter>),
}

/// PATCH path: `name.familyName`, `members[value eq "x"]`, `emails[type eq "work"].value`,
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`
///
/// RFC 7644 §3.5.2: `PATH = attrPath / valuePath [subAttr]`. `sub_attr` is only
/// meaningful together with `filter`; without a filter the sub-attribute lives
/// in `attr.sub_attr`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// The targeted attribute.
    pub attr: AttrPath,
    /// The `[valFilter]` selecting elements of a multi-valued attribute.
    pub filter: Option<Filter>,
    /// Sub-attribute after `]`, as in `emails[type eq "work"].value`.
    pub sub_attr: Option<String>,
}
