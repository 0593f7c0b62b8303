//! The upload wizard and the export (`/admin/v1/users/import…`, `/users/export.*`): a
//! template to fill in (CSV or .xlsx), an upload that is validated — every error of every
//! row — then applied all or nothing, and an export of current users in the same columns
//! so an admin can edit and re-upload.
//!
//! Rows are matched to users by email, exactly (the SSO email, case-sensitive). A row whose
//! email matches no user creates one where the tenant allows local creation. A cell equal to
//! the stored value is no change (so an exported file re-uploads cleanly, also with the
//! columns the identity provider owns); an empty cell leaves the value unchanged.
//!
//! Cells: booleans are `true`/`false`; lists (`securityProfiles`, `callbackNumbers`) are
//! separated by `;`; `skills` are `Name:level;Name:level`; `interactionCapacity` is
//! `default` or `custom voice=100 chat=50 email=0 task=0`.

mod cells;
mod export;
mod rows;

pub use self::cells::columns;
pub use self::export::{Format, export, template};

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use serde_json::{Value, json};

use self::cells::{CORE, Column, header_columns};
use self::rows::{Planned, by_email, read_rows, report, unique_rows};
use super::auth::AdminAuth;
use super::error::{AdminError, AdminResult, Code};
use super::table::{self, Table};
use crate::app::AppState;
use crate::domain::ownership::{CONTACT_CENTRE, Permission};
use crate::http::extract::{QueryMap, RawBody};
use crate::scim::ScimError;
use crate::write::users::{self as directory, Plan, TenantContext};

/// The most rows one upload takes, and one export gives.
pub const MAX_ROWS: usize = 50_000;

/// The largest upload: 16 MiB, room for [`MAX_ROWS`] rows of CSV (the request body limit of
/// every other endpoint is 1 MiB).
pub const MAX_UPLOAD: usize = 16 * 1024 * 1024;

/// `POST /admin/v1/users/import?dryRun=true|false` with a CSV (`,` or `;`), an .xlsx
/// workbook, or a `multipart/form-data` upload of either. The dry run (the default) reports
/// every error of every row; the real run applies every row in one transaction, and only
/// when no row has an error.
#[tracing::instrument(skip_all, err(Debug, level = "debug"))]
pub async fn import(
    State(state): State<AppState>,
    auth: AdminAuth,
    query: QueryMap,
    headers: HeaderMap,
    body: Result<RawBody, ScimError>,
) -> AdminResult<(StatusCode, Json<Value>)> {
    let RawBody(bytes) = body?;
    let dry_run = match query.0.get("dryRun").map(String::as_str) {
        None | Some("true") => true,
        Some("false") => false,
        Some(other) => {
            return Err(AdminError::invalid(
                "dryRun",
                format!("dryRun must be true or false, not {other:?}"),
            ));
        }
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let upload = table::read(content_type, &bytes)
        .await
        .map_err(|e| AdminError::new(Code::InvalidCsv, e.to_string()))?;
    if upload.rows.len() > MAX_ROWS {
        return Err(AdminError::new(
            Code::TooLarge,
            format!("at most {MAX_ROWS} rows per upload"),
        ));
    }
    let report = check(&state, &auth, &upload).await?;
    if dry_run {
        return Ok((
            StatusCode::OK,
            Json(json!({"dryRun": true, "rows": report.rows, "errors": report.errors})),
        ));
    }
    if !report.errors.is_empty() {
        let mut e = AdminError::new(
            Code::ImportFailed,
            format!("{} error(s); nothing was applied", report.errors.len()),
        );
        e.extra = Some(json!({"errors": report.errors}));
        return Err(e);
    }
    let (created, updated) = directory::apply(
        &state.db,
        &auth.tenant_id,
        &auth.actor(),
        "user.import",
        report.plans,
    )
    .await?;
    Ok((
        StatusCode::OK,
        Json(
            json!({"dryRun": false, "created": created, "updated": updated, "rows": report.rows.len()}),
        ),
    ))
}

/// What the checks of an upload found.
struct Report {
    rows: Vec<Value>,
    errors: Vec<Value>,
    plans: Vec<Plan>,
}

/// Checks every row of an upload: its cells, what the caller may change, every validation
/// rule, and uniqueness against stored users and between the file's rows.
async fn check(state: &AppState, auth: &AdminAuth, upload: &Table) -> AdminResult<Report> {
    let columns = header_columns(&state.registry.user, &upload.headers)?;
    let headers: Vec<String> = columns
        .iter()
        .zip(&upload.headers)
        .map(|(c, h)| match c {
            Column::Cc(attr) => attr.name.clone(),
            _ => CORE
                .iter()
                .find(|n| n.eq_ignore_ascii_case(h))
                .map_or_else(|| h.clone(), |n| n.to_string()),
        })
        .collect();
    let email_at = headers.iter().position(|h| h == "email").unwrap_or(0);
    let profiles_attr = state
        .registry
        .user
        .extension(CONTACT_CENTRE)
        .and_then(|cc| cc.attribute("securityProfiles"))
        .ok_or_else(|| AdminError::new(Code::Internal, "contact-centre schema missing"))?;
    let ctx = TenantContext::load(&state.db, &auth.tenant_id).await?;
    let template =
        directory::provisioning_template(&state.db, &auth.tenant_id, &ctx.settings).await?;

    let by_email = by_email(state, auth, upload, email_at).await?;
    let (planned, mut errors, needs): (Vec<Planned>, Vec<Value>, BTreeSet<Permission>) = read_rows(
        &rows::Context {
            auth,
            tenant: &ctx,
            template: &template,
            columns: &columns,
            headers: &headers,
            email_at,
            profiles_attr,
            by_email: &by_email,
        },
        upload,
    );
    auth.require(&needs.into_iter().collect::<Vec<_>>())?;
    let failed_rows = unique_rows(state, auth, &planned, &mut errors).await?;
    // Row by row, and within a row in the file's column order.
    errors.sort_by_key(|e| {
        let column = e["column"]
            .as_str()
            .and_then(|c| headers.iter().position(|h| h == c))
            .unwrap_or(usize::MAX);
        (e["row"].as_u64().unwrap_or_default(), column)
    });
    let (rows, plans) = report(planned, &failed_rows);
    Ok(Report {
        rows,
        errors,
        plans,
    })
}
