//! Column and index builders the migrations share; they only shorten the statements, the
//! SQL they produce is the same as spelled out.

use sea_orm_migration::prelude::*;

pub fn id(name: &str) -> Alias {
    Alias::new(name)
}

pub fn text(name: &str) -> ColumnDef {
    ColumnDef::new(id(name)).text().not_null().to_owned()
}

pub fn text_null(name: &str) -> ColumnDef {
    ColumnDef::new(id(name)).text().null().to_owned()
}

pub fn big(name: &str) -> ColumnDef {
    ColumnDef::new(id(name)).big_integer().not_null().to_owned()
}

pub fn index(name: &str, table: &str, columns: &[&str], unique: bool) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(name).table(id(table));
    for column in columns {
        stmt.col(id(column));
    }
    if unique {
        stmt.unique();
    }
    stmt.to_owned()
}

/// A foreign key from `table.column` to `target.id`, deleting with its target.
pub fn fk(table: &str, column: &str, target: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(id(table), id(column))
        .to(id(target), id("id"))
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}
