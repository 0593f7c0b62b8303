//! Upload: Download template (CSV or .xlsx) → Choose file → Check (every error listed by row
//! and column) → choose the fixed file again → Save (the changes applied, all or nothing).
//! Each step is the admin API's import run with the signed-in user's identity; the file is
//! sent again for Save, so nothing is kept between the steps.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};
use serde_json::Value;

use super::ConsoleResult;
use super::page::{self, layout};
use super::session::Signed;
use crate::app::AppState;
use crate::http::admin::error::Code;
use crate::http::admin::import::{self, Format};
use crate::http::extract::{QueryMap, RawBody};

/// `GET /console/upload`
pub async fn show(signed: Signed) -> Html<String> {
    let body = html! {
        h1 { "Upload users" }
        ol.steps {
            li {
                h2 { "Download template" }
                p {
                    "One row per user, matched by email; empty cells leave values as they are. "
                    a href="/console/upload/template.csv" download { "Template (CSV)" }
                    " · "
                    a href="/console/upload/template.xlsx" download { "Template (.xlsx)" }
                    " · Or start from the "
                    a href="/console/upload/export.csv" download { "current users (CSV)" }
                    "."
                }
            }
            li {
                h2 { "Choose file, check, save" }
                form #upload-form hx-post="/console/upload/check" hx-encoding="multipart/form-data"
                    hx-target="#upload-result" {
                    label for="file" { "Choose file" }
                    input #file type="file" name="file" required accept=".csv,.xlsx,text/csv";
                    button type="submit" { "Check file" }
                }
                div #upload-result aria-live="polite" {}
            }
        }
    };
    layout(&signed, "Upload", "Upload users", body)
}

async fn run(
    state: AppState,
    signed: Signed,
    headers: HeaderMap,
    bytes: Bytes,
    dry_run: bool,
) -> ConsoleResult<Response> {
    let query = QueryMap([("dryRun".to_string(), dry_run.to_string())].into());
    let outcome = import::import(
        State(state),
        signed.auth.clone(),
        query,
        headers,
        Ok(RawBody(bytes)),
    )
    .await;
    let fragment = match outcome {
        Ok((_, Json(report))) if dry_run => checked(&report),
        Ok((_, Json(report))) => page::notice(&format!(
            "Saved: {} users created, {} updated.",
            report["created"], report["updated"]
        )),
        Err(e) if e.code == Code::ImportFailed => errors_table(
            e.extra.as_ref().and_then(|x| x["errors"].as_array()),
            &e.detail,
        ),
        Err(e) => page::alert(&format!("The file cannot be used: {}", e.detail)),
    };
    Ok((StatusCode::OK, Html(fragment.into_string())).into_response())
}

/// The check's answer: every error, or what Save would do and the Save button.
fn checked(report: &Value) -> Markup {
    let errors = report["errors"].as_array();
    if errors.is_some_and(|e| !e.is_empty()) {
        return errors_table(errors, "");
    }
    let rows = report["rows"].as_array().cloned().unwrap_or_default();
    let count = |action: &str| rows.iter().filter(|r| r["action"] == action).count();
    html! {
        (page::notice(&format!(
            "No errors in {} rows: {} to create, {} to update, {} unchanged.",
            rows.len(), count("create"), count("update"), count("unchanged")
        )))
        button.primary #upload-save type="button" hx-post="/console/upload/apply"
            hx-include="#upload-form" hx-encoding="multipart/form-data" hx-target="#upload-result" {
            "Save"
        }
    }
}

fn errors_table(errors: Option<&Vec<Value>>, detail: &str) -> Markup {
    let errors = errors.cloned().unwrap_or_default();
    html! {
        p.alert role="alert" {
            (errors.len()) " " (if errors.len() == 1 { "error" } else { "errors" })
            ": nothing was saved. Fix the file and choose it again. " (detail)
        }
        table.errors {
            thead { tr { th scope="col" { "Row" } th scope="col" { "Column" } th scope="col" { "Value" } th scope="col" { "Problem" } } }
            tbody {
                @for e in &errors {
                    tr {
                        td { (e["row"]) }
                        td { (e["column"].as_str().unwrap_or("")) }
                        td { (e["value"].as_str().unwrap_or("")) }
                        td { (e["message"].as_str().unwrap_or("")) }
                    }
                }
            }
        }
    }
}

/// `POST /console/upload/check` (multipart): the dry run.
pub async fn check(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    bytes: Bytes,
) -> ConsoleResult<Response> {
    run(state, signed, headers, bytes, true).await
}

/// `POST /console/upload/apply` (multipart): the real run.
pub async fn apply(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    bytes: Bytes,
) -> ConsoleResult<Response> {
    run(state, signed, headers, bytes, false).await
}

/// `GET /console/upload/template.csv|.xlsx`
pub async fn template(signed: Signed, format: Format) -> ConsoleResult<Response> {
    Ok(import::template(signed.auth, format).await?)
}

/// `GET /console/upload/export.csv`: the current users in the upload's columns.
pub async fn export(State(state): State<AppState>, signed: Signed) -> ConsoleResult<Response> {
    Ok(import::export(
        State(state),
        signed.auth,
        QueryMap(Default::default()),
        Format::Csv,
    )
    .await?)
}
