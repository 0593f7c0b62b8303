//! The `user_attrs` index rows of a user document: one per singular value and one per
//! element of a multi-valued attribute, rebuilt on every write.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Map, Value};

use crate::domain::Result;
use crate::domain::user::{User, fold_key};
use crate::store::entity::user_attrs;
use crate::store::{rows_per_insert, sql_err};

/// Attributes kept in their own columns rather than in `user_attrs`.
const COLUMNS: [&str; 4] = ["userName", "externalId", "displayName", "active"];

fn row(tenant_id: &str, user_id: &str, attr: &str, ordinal: i32) -> user_attrs::ActiveModel {
    user_attrs::ActiveModel {
        tenant_id: Set(tenant_id.to_string()),
        user_id: Set(user_id.to_string()),
        attr: Set(attr.to_string()),
        ordinal: Set(ordinal),
        str_val: Set(None),
        str_key: Set(None),
        num_val: Set(None),
        bool_val: Set(None),
        type_key: Set(None),
        is_primary: Set(None),
        display_key: Set(None),
        ..Default::default()
    }
}

fn set_scalar(r: &mut user_attrs::ActiveModel, value: &Value) -> bool {
    match value {
        Value::String(s) if !s.is_empty() => {
            r.str_val = Set(Some(s.clone()));
            r.str_key = Set(Some(fold_key(s)));
            true
        }
        Value::Number(n) => {
            r.num_val = Set(n.as_f64());
            true
        }
        Value::Bool(b) => {
            r.bool_val = Set(Some(*b));
            true
        }
        _ => false,
    }
}

/// The searchable rows of a document: one per singular value (`title`, `name.familyName`,
/// `urn:…:User:employeeNumber`) and one per element of a multi-valued attribute.
pub fn index_rows(
    tenant_id: &str,
    user_id: &str,
    doc: &Map<String, Value>,
) -> Vec<user_attrs::ActiveModel> {
    let mut rows = Vec::new();
    let push_attr =
        |key: String, value: &Value, rows: &mut Vec<user_attrs::ActiveModel>| match value {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let mut r = row(
                        tenant_id,
                        user_id,
                        &key,
                        i32::try_from(i).unwrap_or(i32::MAX),
                    );
                    match item {
                        Value::Object(fields) => {
                            let main = fields
                                .get("value")
                                .or_else(|| fields.get("formatted"))
                                .or_else(|| fields.get("name"));
                            if let Some(Value::String(s)) = main
                                && !s.is_empty()
                            {
                                r.str_val = Set(Some(s.clone()));
                                r.str_key = Set(Some(fold_key(s)));
                            }
                            if let Some(level) = fields.get("level").and_then(Value::as_f64) {
                                r.num_val = Set(Some(level));
                            }
                            if let Some(t) = fields.get("type").and_then(Value::as_str) {
                                r.type_key = Set(Some(fold_key(t)));
                            }
                            if let Some(p) = fields.get("primary").and_then(Value::as_bool) {
                                r.is_primary = Set(Some(p));
                            }
                            if let Some(d) = fields.get("display").and_then(Value::as_str) {
                                r.display_key = Set(Some(fold_key(d)));
                            }
                        }
                        scalar => {
                            set_scalar(&mut r, scalar);
                        }
                    }
                    rows.push(r);
                }
            }
            Value::Object(fields) => {
                for (sub, v) in fields {
                    let mut r = row(tenant_id, user_id, &format!("{key}.{sub}"), 0);
                    if set_scalar(&mut r, v) {
                        rows.push(r);
                    }
                }
            }
            scalar => {
                let mut r = row(tenant_id, user_id, &key, 0);
                if set_scalar(&mut r, scalar) {
                    rows.push(r);
                }
            }
        };
    for (key, value) in doc {
        if COLUMNS.contains(&key.as_str()) {
            continue;
        }
        match value {
            Value::Object(fields) if key.starts_with("urn:") => {
                for (name, v) in fields {
                    push_attr(format!("{key}:{name}"), v, &mut rows);
                }
            }
            _ => push_attr(key.clone(), value, &mut rows),
        }
    }
    rows
}

pub(super) async fn write_index(db: &impl ConnectionTrait, user: &User) -> Result<()> {
    user_attrs::Entity::delete_many()
        .filter(user_attrs::Column::UserId.eq(user.id.clone()))
        .exec(db)
        .await
        .map_err(|e| sql_err(e, "user"))?;
    let rows = index_rows(&user.tenant_id, &user.id, &user.attributes);
    for chunk in rows.chunks(rows_per_insert::<user_attrs::Entity>()) {
        user_attrs::Entity::insert_many(chunk.iter().cloned())
            .exec_without_returning(db)
            .await
            .map_err(|e| sql_err(e, "user"))?;
    }
    Ok(())
}

/// Rewrites the index rows of many users in multi-row statements: deletes theirs first
/// unless they are new (`replace` false).
pub async fn write_indexes(db: &impl ConnectionTrait, users: &[User], replace: bool) -> Result<()> {
    if replace {
        for chunk in users.chunks(crate::store::chunk_len(1)) {
            user_attrs::Entity::delete_many()
                .filter(user_attrs::Column::UserId.is_in(chunk.iter().map(|u| u.id.clone())))
                .exec(db)
                .await
                .map_err(|e| sql_err(e, "user"))?;
        }
    }
    let rows: Vec<user_attrs::ActiveModel> = users
        .iter()
        .flat_map(|u| index_rows(&u.tenant_id, &u.id, &u.attributes))
        .collect();
    for chunk in rows.chunks(rows_per_insert::<user_attrs::Entity>()) {
        user_attrs::Entity::insert_many(chunk.iter().cloned())
            .exec_without_returning(db)
            .await
            .map_err(|e| sql_err(e, "user"))?;
    }
    Ok(())
}
