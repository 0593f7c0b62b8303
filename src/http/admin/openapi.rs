//! `GET /admin/v1/openapi.json`: the admin API's OpenAPI 3.1 document, generated from the
//! route table below and from the ownership registry (which fields are editable, with which
//! permission).

use axum::Json;
use serde_json::{Map, Value, json};

use crate::domain::catalog::CatalogKind;
use crate::domain::ownership::{AdminEdit, REGISTRY};

/// (method, path, summary, permission) of every admin route.
const ROUTES: &[(&str, &str, &str, &str)] = &[
    (
        "get",
        "/users",
        "List users (SCIM filter, startIndex, count)",
        "ViewUsers",
    ),
    (
        "post",
        "/users",
        "Create a local user",
        "CreateUser + EditUser",
    ),
    (
        "patch",
        "/users",
        "Bulk edit: {ids, set}, all or nothing",
        "per field",
    ),
    (
        "post",
        "/users/from-template",
        "Create users from a template user: per-user results, agent ids from startingAgentId",
        "CreateUser + EditUser",
    ),
    (
        "post",
        "/users/archive",
        "Bulk archive: {ids}, every refusal listed, all or nothing",
        "ArchiveUser",
    ),
    (
        "post",
        "/users/reactivate",
        "Bulk reactivate: {ids}, every refusal listed, all or nothing",
        "ArchiveUser",
    ),
    (
        "get",
        "/users/{id}",
        "The admin view of a user",
        "ViewUsers",
    ),
    (
        "patch",
        "/users/{id}",
        "JSON merge patch of the admin view; 409 sso_owned_fields",
        "per field",
    ),
    (
        "delete",
        "/users/{id}",
        "Delete an archived local user without API credentials",
        "DeleteUser",
    ),
    (
        "post",
        "/users/{id}/archive",
        "Archive a local user",
        "ArchiveUser",
    ),
    (
        "post",
        "/users/{id}/reactivate",
        "Reactivate a local user",
        "ArchiveUser",
    ),
    (
        "get",
        "/users/import-template.csv",
        "CSV template: email, then every locally-editable column",
        "ViewUsers",
    ),
    (
        "post",
        "/users/import",
        "CSV import (?dryRun=true|false), matched by email; all rows or none",
        "per column; CreateUser for new users",
    ),
    (
        "post",
        "/users/{id}/hand-over",
        "Hand a local user over to the identity provider",
        "EditUser + ArchiveUser + every permission of the user's profiles",
    ),
    (
        "get",
        "/settings",
        "Tenant settings (with ETag)",
        "ViewUsers",
    ),
    (
        "patch",
        "/settings",
        "Merge patch of the tenant settings (If-Match honoured)",
        "ManageSettings",
    ),
    (
        "get",
        "/credentials",
        "List credentials (never secrets)",
        "ManageCredentials",
    ),
    (
        "post",
        "/credentials",
        "Issue a credential ({\"kind\": \"scim\"|\"user\", \"name\", \"userId\"}): 201 with its secret, shown only in this answer; a user's credential needs every permission that user holds, a SCIM credential every permission",
        "ManageCredentials",
    ),
    (
        "delete",
        "/credentials/{id}",
        "Revoke a credential",
        "ManageCredentials",
    ),
    (
        "get",
        "/audit",
        "Audit log (actor, target, since, until, startIndex, count)",
        "ViewUsers",
    ),
];

/// The OpenAPI document.
pub async fn document() -> Json<Value> {
    let mut paths = Map::new();
    let mut add = |method: &str, path: String, summary: String, permission: &str| {
        let entry = paths.entry(path).or_insert_with(|| json!({}));
        entry[method] = json!({
            "summary": summary,
            "description": format!("Permission: {permission}."),
            "security": [{"bearer": []}, {"basic": []}],
            "responses": {"200": {"description": "OK"}, "401": {"description": "Unauthenticated"}, "403": {"description": "Missing permission"}}
        });
    };
    for (method, path, summary, permission) in ROUTES {
        add(
            method,
            (*path).to_string(),
            (*summary).to_string(),
            permission,
        );
    }
    for kind in CatalogKind::ALL {
        let base = format!("/{}", kind.segment());
        let permission = crate::write::catalogs::write_permission(kind).as_str();
        add(
            "get",
            base.clone(),
            format!("List {}", kind.segment()),
            "ViewUsers",
        );
        add(
            "post",
            base.clone(),
            format!("Add to {}", kind.segment()),
            permission,
        );
        add(
            "patch",
            format!("{base}/{{id}}"),
            format!("Change an entry of {}", kind.segment()),
            permission,
        );
        add(
            "delete",
            format!("{base}/{{id}}"),
            format!("Delete an entry of {} (409 while in use)", kind.segment()),
            permission,
        );
    }
    let fields: Map<String, Value> = REGISTRY
        .iter()
        .map(|o| {
            let name = o.attr.rsplit(':').next().unwrap_or(o.attr).to_string();
            let edit = match o.admin {
                AdminEdit::Never => "read-only here for IdP-managed users".to_string(),
                AdminEdit::LocalUsersOnly(p) => format!("editable on local users ({})", p.as_str()),
                AdminEdit::Always(p) => format!("editable ({})", p.as_str()),
            };
            (name, json!({"description": edit}))
        })
        .collect();
    Json(json!({
        "openapi": "3.1.0",
        "info": {"title": "Rollcall admin API", "version": "1"},
        "servers": [{"url": "/admin/v1"}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "basic": {"type": "http", "scheme": "basic"}
            },
            "schemas": {"AdminUser": {"type": "object", "properties": fields}}
        }
    }))
}
