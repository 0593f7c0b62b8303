//! `domain::filter::Filter` → SQL (a sea-orm `Condition`), one exhaustive match. Stored
//! multi-valued attributes and singular attributes without a column are reached through
//! `id IN (SELECT …)` over `user_attrs`; membership likewise over `group_members`. Every atomic
//! predicate is two-valued (never NULL), so `NOT` agrees with the in-memory evaluator.
//! Text ordering uses byte order on both databases (`COLLATE "C"` on PostgreSQL).

use sea_orm::sea_query::{Expr, Order};
use sea_orm::{Condition, DbBackend};

use crate::domain::filter::{
    Collection, Column, ElemField, Filter, Kind, Op, SEARCHED, SortKey, SortOrder, Value,
};

/// The resource table a filter runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Users,
    Groups,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Users => "\"users\"",
            Table::Groups => "\"groups\"",
        }
    }

    fn column(self, column: Column, kind: Kind) -> String {
        let name = match (self, column) {
            (_, Column::Id) => "id",
            (Table::Users, Column::UserName) => {
                if kind == (Kind::Str { case_exact: true }) {
                    "user_name"
                } else {
                    "user_name_key"
                }
            }
            // Groups have no userName; the resolver never produces it for them.
            (Table::Groups, Column::UserName) => "display_name_key",
            (_, Column::ExternalId) => "external_id",
            (_, Column::DisplayName) => "display_name_key",
            (Table::Users, Column::Active) => "active",
            (Table::Groups, Column::Active) => "id",
            (_, Column::Created) => "created_us",
            (_, Column::LastModified) => "modified_us",
        };
        format!("{}.\"{}\"", self.name(), name)
    }
}

/// Accumulates SQL text and its bound values with the backend's placeholders.
struct Sql<'t> {
    backend: DbBackend,
    tenant_id: &'t str,
    text: String,
    values: Vec<sea_orm::Value>,
}

impl<'t> Sql<'t> {
    fn new(backend: DbBackend, tenant_id: &'t str) -> Self {
        Sql {
            backend,
            tenant_id,
            text: String::new(),
            values: Vec::new(),
        }
    }

    fn push(&mut self, s: &str) {
        self.text.push_str(s);
    }

    fn bind(&mut self, value: sea_orm::Value) {
        self.values.push(value);
        if self.backend == DbBackend::Postgres {
            self.text.push_str(&format!("${}", self.values.len()));
        } else {
            self.text.push('?');
        }
    }

    fn collate(&self) -> &'static str {
        if self.backend == DbBackend::Postgres {
            " COLLATE \"C\""
        } else {
            ""
        }
    }

    fn into_expr(self) -> Expr {
        Expr::cust_with_values(self.text, self.values)
    }
}

/// The WHERE condition for a resolved filter over one tenant's resources. Attribute rows
/// and memberships are reached through uncorrelated `id IN (SELECT …)` sub-queries, which
/// both databases answer from the indexes on (tenant, attribute, key).
pub fn condition(backend: DbBackend, table: Table, tenant_id: &str, filter: &Filter) -> Condition {
    let mut sql = Sql::new(backend, tenant_id);
    write_filter(&mut sql, table, None, filter);
    Condition::all().add(sql.into_expr())
}

/// The admin list's free-text search over users: every word starts the userName, the
/// displayName or one of the `SEARCHED` attribute keys (all stored lower-cased).
///
/// The longest word — usually the most selective — drives: its matches are the union of
/// three index range scans (userName, displayName, the attribute keys), and the users are
/// reached from those ids. Every other word is then checked per candidate, through the
/// user's own index rows. So a query costs what its most selective word matches, not what
/// its commonest word does.
pub fn search_condition(backend: DbBackend, tenant_id: &str, words: &[String]) -> Condition {
    let mut sql = Sql::new(backend, tenant_id);
    let mut ordered: Vec<&String> = words.iter().collect();
    ordered.sort_by_key(|w| std::cmp::Reverse(w.chars().count()));
    let like = |sql: &mut Sql, column: &str, word: &str| {
        sql.push(&format!("{column} LIKE "));
        sql.bind(format!("{}%", like_escape(word)).into());
        sql.push(" ESCAPE '!'");
    };
    let keys = |sql: &mut Sql| {
        sql.push(" AND a.attr IN (");
        for (i, key) in SEARCHED.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind((*key).to_string().into());
        }
        sql.push(") AND ");
    };
    sql.push("(1 = 1");
    if let Some(first) = ordered.first() {
        sql.push(
            " AND \"users\".\"id\" IN (SELECT a.user_id FROM user_attrs a WHERE a.tenant_id = ",
        );
        sql.bind(tenant_id.to_string().into());
        keys(&mut sql);
        like(&mut sql, "a.str_key", first);
        for column in ["user_name_key", "display_name_key"] {
            sql.push(" UNION SELECT u.\"id\" FROM \"users\" u WHERE u.tenant_id = ");
            sql.bind(tenant_id.to_string().into());
            sql.push(" AND ");
            like(&mut sql, &format!("u.\"{column}\""), first);
        }
        sql.push(")");
    }
    for word in ordered.iter().skip(1) {
        sql.push(" AND (");
        like(&mut sql, "\"users\".\"user_name_key\"", word);
        sql.push(" OR ");
        like(&mut sql, "\"users\".\"display_name_key\"", word);
        sql.push(" OR EXISTS (SELECT 1 FROM user_attrs a WHERE a.user_id = \"users\".\"id\"");
        keys(&mut sql);
        like(&mut sql, "a.str_key", word);
        sql.push("))");
    }
    sql.push(")");
    Condition::all().add(sql.into_expr())
}

/// Users that are members of the group `group_id`.
pub fn member_condition(backend: DbBackend, tenant_id: &str, group_id: &str) -> Condition {
    let mut sql = Sql::new(backend, tenant_id);
    sql.push(
        "\"users\".\"id\" IN (SELECT gm.member_id FROM group_members gm WHERE gm.tenant_id = ",
    );
    sql.bind(tenant_id.to_string().into());
    sql.push(" AND gm.group_id = ");
    sql.bind(group_id.to_string().into());
    sql.push(")");
    Condition::all().add(sql.into_expr())
}

/// What `Field::Elem` refers to inside an EXISTS.
#[derive(Clone, Copy)]
enum Elem {
    Attrs,
    Members,
    Groups,
}

fn elem_column(elem: Elem, field: ElemField, kind: Kind) -> String {
    match (elem, field) {
        (Elem::Attrs, ElemField::Value) => match kind {
            Kind::Str { case_exact: true } => "a.str_val".into(),
            Kind::Str { case_exact: false } => "a.str_key".into(),
            Kind::Num | Kind::DateTime => "a.num_val".into(),
            Kind::Bool => "a.bool_val".into(),
        },
        (Elem::Attrs, ElemField::Type) => "a.type_key".into(),
        (Elem::Attrs, ElemField::Primary) => "a.is_primary".into(),
        (Elem::Attrs, ElemField::Display) => "a.display_key".into(),
        (Elem::Attrs, ElemField::Level) => "a.num_val".into(),
        (Elem::Members, ElemField::Value) => "gm.member_id".into(),
        (Elem::Members, ElemField::Type) => "LOWER(gm.member_type)".into(),
        (Elem::Groups, ElemField::Value) => "gm.group_id".into(),
        (Elem::Groups, ElemField::Type) => "'direct'".into(),
        // The resolver offers no other sub-attributes of the join tables.
        (Elem::Members | Elem::Groups, _) => "NULL".into(),
    }
}

fn attr_column(kind: Kind) -> &'static str {
    match kind {
        Kind::Str { case_exact: true } => "a.str_val",
        Kind::Str { case_exact: false } => "a.str_key",
        Kind::Num | Kind::DateTime => "a.num_val",
        Kind::Bool => "a.bool_val",
    }
}

fn write_filter(sql: &mut Sql, table: Table, elem: Option<Elem>, filter: &Filter) {
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => {
            sql.push("(");
            write_filter(sql, table, elem, a);
            sql.push(if matches!(filter, Filter::And(..)) {
                " AND "
            } else {
                " OR "
            });
            write_filter(sql, table, elem, b);
            sql.push(")");
        }
        Filter::Not(inner) => {
            sql.push("NOT (");
            write_filter(sql, table, elem, inner);
            sql.push(")");
        }
        Filter::Compare {
            field,
            kind,
            op,
            value,
        } => match field {
            crate::domain::filter::Field::Column(c) => {
                write_compare(sql, &table.column(*c, *kind), *kind, *op, value)
            }
            crate::domain::filter::Field::Attr(key) => {
                if *op == Op::Ne {
                    sql.push("NOT ");
                }
                open_attr(sql, table, key);
                let op = if *op == Op::Ne { Op::Eq } else { *op };
                sql.push(" AND ");
                write_compare(sql, attr_column(*kind), *kind, op, value);
                sql.push(")");
            }
            crate::domain::filter::Field::Elem(e) => {
                let column = elem_column(elem.unwrap_or(Elem::Attrs), *e, *kind);
                write_compare(sql, &column, *kind, *op, value);
            }
        },
        Filter::Present { field, kind } => match field {
            crate::domain::filter::Field::Column(c) => {
                write_present(sql, &table.column(*c, *kind), *kind)
            }
            crate::domain::filter::Field::Attr(key) => {
                open_attr(sql, table, key);
                sql.push(")");
            }
            crate::domain::filter::Field::Elem(e) => {
                let column = elem_column(elem.unwrap_or(Elem::Attrs), *e, *kind);
                write_present(sql, &column, *kind);
            }
        },
        Filter::Any { collection, filter } => {
            let inner = open_collection(sql, table, collection);
            sql.push(" AND ");
            write_filter(sql, table, Some(inner), filter);
            sql.push(")");
        }
        Filter::NonEmpty(collection) => {
            open_collection(sql, table, collection);
            sql.push(")");
        }
    }
}

/// `users.id IN (SELECT a.user_id FROM user_attrs a WHERE a.tenant_id = ? AND a.attr = ?`
/// — the caller closes it.
fn open_attr(sql: &mut Sql, table: Table, key: &str) {
    sql.push(&format!(
        "{}.\"id\" IN (SELECT a.user_id FROM user_attrs a WHERE a.tenant_id = ",
        table.name()
    ));
    sql.bind(sql.tenant_id.to_string().into());
    sql.push(" AND a.attr = ");
    sql.bind(key.to_string().into());
}

fn open_collection(sql: &mut Sql, table: Table, collection: &Collection) -> Elem {
    match collection {
        Collection::Values { key, .. } => {
            open_attr(sql, table, key);
            Elem::Attrs
        }
        Collection::Members => {
            sql.push(&format!(
                "{}.\"id\" IN (SELECT gm.group_id FROM group_members gm WHERE gm.tenant_id = ",
                table.name()
            ));
            sql.bind(sql.tenant_id.to_string().into());
            Elem::Members
        }
        Collection::Groups => {
            sql.push(&format!(
                "{}.\"id\" IN (SELECT gm.member_id FROM group_members gm WHERE gm.tenant_id = ",
                table.name()
            ));
            sql.bind(sql.tenant_id.to_string().into());
            Elem::Groups
        }
    }
}

fn write_present(sql: &mut Sql, column: &str, kind: Kind) {
    if matches!(kind, Kind::Str { .. }) {
        sql.push(&format!("({column} IS NOT NULL AND {column} <> '')"));
    } else {
        sql.push(&format!("({column} IS NOT NULL)"));
    }
}

/// Escapes LIKE wildcards with `!` as the escape character.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '!' | '%' | '_') {
            out.push('!');
        }
        out.push(c);
    }
    out
}

fn sql_value(value: &Value) -> sea_orm::Value {
    match value {
        Value::Str(s) => s.clone().into(),
        Value::Bool(b) => (*b).into(),
        Value::Num(n) => (*n).into(),
        Value::DateTime(us) => (*us).into(),
    }
}

fn write_compare(sql: &mut Sql, column: &str, kind: Kind, op: Op, value: &Value) {
    // Value and kind agree by construction (scim::filter checks); a mismatch matches nothing.
    let fits = matches!(
        (kind, value),
        (Kind::Str { .. }, Value::Str(_))
            | (Kind::Bool, Value::Bool(_))
            | (Kind::Num, Value::Num(_))
            | (Kind::DateTime, Value::DateTime(_))
    );
    if !fits || (kind == Kind::Bool && !matches!(op, Op::Eq | Op::Ne)) {
        sql.push("(1 = 0)");
        return;
    }
    if op == Op::Ne {
        sql.push("NOT ");
        write_compare(sql, column, kind, Op::Eq, value);
        return;
    }
    let is_text = matches!(kind, Kind::Str { .. });
    let collate = if is_text { sql.collate() } else { "" };
    if is_text {
        // "" is unassigned, as in the in-memory evaluator.
        sql.push(&format!("({column} IS NOT NULL AND {column} <> '' AND "));
    } else {
        sql.push(&format!("({column} IS NOT NULL AND "));
    }
    match (op, value) {
        (Op::Co | Op::Sw | Op::Ew, Value::Str(s)) => {
            let escaped = like_escape(s);
            let pattern = match op {
                Op::Co => format!("%{escaped}%"),
                Op::Sw => format!("{escaped}%"),
                _ => format!("%{escaped}"),
            };
            sql.push(&format!("{column} LIKE "));
            sql.bind(pattern.into());
            sql.push(" ESCAPE '!'");
        }
        (Op::Co | Op::Sw | Op::Ew, _) => sql.push("1 = 0"),
        _ => {
            let symbol = match op {
                Op::Eq => "=",
                Op::Gt => ">",
                Op::Ge => ">=",
                Op::Lt => "<",
                _ => "<=",
            };
            if op == Op::Eq {
                sql.push(&format!("{column} = "));
            } else {
                sql.push(&format!("{column}{collate} {symbol} "));
            }
            sql.bind(sql_value(value));
        }
    }
    sql.push(")");
}

/// ORDER BY terms for a sort key: missing values last when ascending, first when
/// descending; then creation time and id so pages are stable.
pub fn order_by(
    backend: DbBackend,
    table: Table,
    sort: Option<&SortKey>,
    order: SortOrder,
) -> Vec<(Expr, Order)> {
    let (dir, nulls) = match order {
        SortOrder::Ascending => (Order::Asc, Order::Asc),
        SortOrder::Descending => (Order::Desc, Order::Desc),
    };
    let mut terms = Vec::new();
    if let Some(sort) = sort {
        let mut sql = Sql::new(backend, "");
        let collate = sql.collate();
        let value = match sort {
            SortKey::Column(c) => {
                let kind = match c {
                    Column::Created | Column::LastModified => Kind::Num,
                    Column::Active => Kind::Bool,
                    _ => Kind::Str { case_exact: false },
                };
                let column = table.column(*c, kind);
                if matches!(kind, Kind::Str { .. }) {
                    format!("{column}{collate}")
                } else {
                    column
                }
            }
            SortKey::Attr { key, kind } | SortKey::Primary { key, kind } => {
                let column = attr_column(*kind);
                sql.push(&format!(
                    "(SELECT {column} FROM user_attrs a WHERE a.user_id = {}.\"id\" AND a.attr = ",
                    table.name()
                ));
                sql.bind(key.clone().into());
                sql.push(" ORDER BY CASE WHEN a.is_primary THEN 0 ELSE 1 END, a.ordinal LIMIT 1)");
                let sub = std::mem::take(&mut sql.text);
                if matches!(kind, Kind::Str { .. }) {
                    format!("{sub}{collate}")
                } else {
                    sub
                }
            }
        };
        let values = std::mem::take(&mut sql.values);
        terms.push((
            Expr::cust_with_values(
                format!("(CASE WHEN {value} IS NULL THEN 1 ELSE 0 END)"),
                values.clone(),
            ),
            nulls,
        ));
        terms.push((Expr::cust_with_values(value, values), dir));
    }
    terms.push((
        Expr::cust(format!("{}.\"created_us\"", table.name())),
        Order::Asc,
    ));
    terms.push((Expr::cust(format!("{}.\"id\"", table.name())), Order::Asc));
    terms
}
