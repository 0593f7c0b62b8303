//! The lookups identity providers make on every sync use indexes, on both databases.

use rollcall::domain::filter::Filter;
use rollcall::scim::filter::{self, Resource};
use rollcall::scim::schema::Registry;
use rollcall::store::entity::users;
use rollcall::store::filter::{Table, condition};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryTrait, Statement,
};

use crate::harness::TestApp;

fn resolve(text: &str) -> Filter {
    let registry = Registry::load().expect("schemas");
    filter::parse(&registry.user, Resource::User, text).expect("valid filter")
}

/// The plan of the exact SELECT the list endpoint runs for this filter.
async fn plan(app: &TestApp, text: &str) -> String {
    let backend = app.db.get_database_backend();
    let statement = users::Entity::find()
        .filter(users::Column::TenantId.eq(app.tenant_id.clone()))
        .filter(condition(
            backend,
            Table::Users,
            &app.tenant_id,
            &resolve(text),
        ))
        .build(backend);
    let prefix = match backend {
        DbBackend::Postgres => "EXPLAIN ",
        _ => "EXPLAIN QUERY PLAN ",
    };
    let explained = Statement::from_sql_and_values(
        backend,
        format!("{prefix}{}", statement.sql),
        statement.values.map(|v| v.0).unwrap_or_default(),
    );
    let rows = app.db.query_all_raw(explained).await.expect("explain");
    rows.iter()
        .map(|row| {
            let column = if backend == DbBackend::Postgres {
                "QUERY PLAN"
            } else {
                "detail"
            };
            row.try_get::<String>("", column).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn populate(app: &TestApp) {
    // Enough rows that PostgreSQL's planner prefers an index to a scan.
    let backend = app.db.get_database_backend();
    for chunk in 0..4 {
        let mut sql = String::from(
            "INSERT INTO users (id, tenant_id, user_name, user_name_key, external_id, display_name, display_name_key, active, managed_by, data, version, created_us, modified_us) VALUES ",
        );
        for i in 0..500 {
            let n = chunk * 500 + i;
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "('id-{n}', '{}', 'user{n}', 'user{n}', 'ext-{n}', 'User {n}', 'user {n}', {}, 'idp', '{{}}', 1, {n}, {n})",
                app.tenant_id,
                if backend == DbBackend::Postgres { "true" } else { "1" }
            ));
        }
        app.db.execute_unprepared(&sql).await.expect("insert");
        let mut attrs = String::from(
            "INSERT INTO user_attrs (tenant_id, user_id, attr, ordinal, str_val, str_key, type_key, is_primary) VALUES ",
        );
        for i in 0..500 {
            let n = chunk * 500 + i;
            if i > 0 {
                attrs.push(',');
            }
            attrs.push_str(&format!(
                "('{}', 'id-{n}', 'emails', 0, 'u{n}@x.example', 'u{n}@x.example', 'work', {}), ('{}', 'id-{n}', 'title', 0, 'Agent', 'agent', NULL, NULL)",
                app.tenant_id,
                if backend == DbBackend::Postgres { "true" } else { "1" },
                app.tenant_id,
            ));
        }
        app.db
            .execute_unprepared(&attrs)
            .await
            .expect("insert attrs");
    }
    app.db.execute_unprepared("ANALYZE").await.expect("analyze");
}

#[tokio::test]
async fn user_name_and_external_id_lookups_use_indexes() {
    let app = TestApp::new().await;
    populate(&app).await;
    let by_user_name = plan(&app, "userName eq \"User42\"").await;
    assert!(
        by_user_name.contains("users_tenant_user_name"),
        "plan:\n{by_user_name}"
    );
    let by_external_id = plan(&app, "externalId eq \"ext-42\"").await;
    assert!(
        by_external_id.contains("users_tenant_external_id"),
        "plan:\n{by_external_id}"
    );
    let by_email = plan(&app, "emails[type eq \"work\"].value eq \"a@b.example\"").await;
    assert!(by_email.contains("user_attrs_key"), "plan:\n{by_email}");
}
