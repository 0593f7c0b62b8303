//! The template to fill in and the export of current users, as CSV or .xlsx, in the
//! upload's columns.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::MAX_ROWS;
use super::cells::{CORE, columns, format_cell};
use crate::app::AppState;
use crate::domain::filter::search_words;
use crate::domain::ownership::Permission;
use crate::domain::user::{Document, User, View};
use crate::http::admin::auth::AdminAuth;
use crate::http::admin::error::{AdminError, AdminResult, Code};
use crate::http::admin::table;
use crate::http::admin::view::with_view_defaults;
use crate::http::extract::QueryMap;
use crate::scim::filter::{self as scim_filter, Resource};
use crate::scim::list::ListParams;
use crate::store::users as store_users;

/// A file format of the template and the export.
#[derive(Debug, Clone, Copy)]
pub enum Format {
    Csv,
    Xlsx,
}

fn file(
    format: Format,
    name: &str,
    headers: &[&str],
    rows: &[Vec<String>],
) -> AdminResult<Response> {
    let (bytes, content_type, extension) = match format {
        Format::Csv => (
            table::write_csv(headers, rows),
            "text/csv; charset=utf-8",
            "csv",
        ),
        Format::Xlsx => (
            table::write_xlsx(headers, rows, "Users")
                .map_err(|e| AdminError::new(Code::Internal, e.to_string()))?,
            table::XLSX_TYPE,
            "xlsx",
        ),
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.{extension}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// `GET /admin/v1/users/import-template.csv|.xlsx`: the header row to fill in.
pub async fn template(auth: AdminAuth, format: Format) -> AdminResult<Response> {
    auth.require(&[Permission::ViewUsers])?;
    file(format, "users-template", &columns(), &[])
}

/// The export's row of a user, in [`columns`] order.
fn export_row(user: &User, cc_columns: &[&str]) -> Vec<String> {
    let doc = &user.attributes;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
    let mut row = vec![
        user.primary_email().unwrap_or_default().to_string(),
        user.user_name().to_string(),
        text(doc.get("name").and_then(|n| n.get("givenName"))),
        text(doc.get("name").and_then(|n| n.get("familyName"))),
        text(doc.get("displayName")),
    ];
    let cc = doc.contact_centre();
    for name in cc_columns {
        row.push(
            cc.and_then(|cc| cc.get(*name))
                .map(|v| format_cell(name, v))
                .unwrap_or_default(),
        );
    }
    row
}

/// `GET /admin/v1/users/export.csv|.xlsx` (ViewUsers): the users the list's `filter=`,
/// `q=` and `group=` select, in the upload's columns, at most [`MAX_ROWS`].
#[tracing::instrument(skip_all, err(Debug, level = "debug"))]
pub async fn export(
    State(state): State<AppState>,
    auth: AdminAuth,
    query: QueryMap,
    format: Format,
) -> AdminResult<Response> {
    auth.require(&[Permission::ViewUsers])?;
    let mut params_query = query.0.clone();
    params_query.remove("count");
    params_query.remove("startIndex");
    let params = ListParams::from_query(&params_query)?;
    let mut list_query = scim_filter::query(&state.registry.user, Resource::User, &params)?;
    list_query.filter = list_query.filter.map(with_view_defaults);
    if let Some(text) = query.0.get("q") {
        list_query.search = search_words(text).map_err(|e| AdminError::invalid("q", e))?;
    }
    if let Some(group) = query.0.get("group") {
        list_query.group =
            Some(crate::http::admin::users::group_named(&state, &auth, group).await?);
    }
    list_query.offset = 0;
    list_query.limit = MAX_ROWS as u64;
    let (users, total) =
        store_users::list(&state.db, &auth.tenant_id, &list_query, View::Tenant).await?;
    if total > MAX_ROWS as u64 {
        return Err(AdminError::invalid(
            "filter",
            format!(
                "the export would hold {total} users; at most {MAX_ROWS}: narrow it with filter, q or group"
            ),
        ));
    }
    let headers = columns();
    let cc_columns = &headers[CORE.len()..];
    let rows: Vec<Vec<String>> = users.iter().map(|u| export_row(u, cc_columns)).collect();
    file(format, "users", &headers, &rows)
}
