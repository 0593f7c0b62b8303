//! Bulk changes of users (`PATCH /admin/v1/users`, `POST /admin/v1/users/archive|reactivate`):
//! every user is checked first and every one that cannot take the change is listed with
//! every reason; then all change in one transaction, or none. Deletion has no bulk form.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::auth::AdminAuth;
use super::error::{AdminError, AdminResult, Code};
use super::users::set_active;
use super::view::merge;
use super::{AdminBody, DryRun};
use crate::app::AppState;
use crate::domain::ownership::Permission;
use crate::domain::validation::Surface;
use crate::store::users as store_users;
use crate::write;

/// The user ids of a bulk request: `{"ids": […]}`, 1 to [`MAX_BULK`].
fn bulk_ids(body: &Value) -> AdminResult<Vec<String>> {
    let ids: Vec<String> = body
        .get("ids")
        .and_then(Value::as_array)
        .map(|ids| {
            ids.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .ok_or_else(|| AdminError::invalid("ids", "ids must be an array of user ids"))?;
    if ids.is_empty() || ids.len() > MAX_BULK {
        return Err(AdminError::invalid(
            "ids",
            format!("ids must list 1 to {MAX_BULK} users"),
        ));
    }
    Ok(ids)
}

/// The most users one bulk request names.
pub const MAX_BULK: usize = 1000;

/// One user a bulk change cannot be applied to, with every reason.
fn failure(id: &str, errors: Vec<AdminError>) -> Value {
    let first = errors.first();
    let mut out = json!({
        "id": id,
        "error": first.map(|e| e.code.as_str()),
        "detail": first.map(|e| e.detail.clone()),
        "errors": errors.iter().map(|e| json!({
            "field": e.fields.as_ref().and_then(|f| f.first()),
            "error": e.code.as_str(),
            "message": e.detail,
        })).collect::<Vec<_>>(),
    });
    if let Some(fields) = first.and_then(|e| e.fields.clone()) {
        out["fields"] = json!(fields);
    }
    out
}

/// The refusal of a bulk request some users cannot take: every one of them, and why.
fn bulk_failed(failures: Vec<Value>, of: usize) -> AdminError {
    let mut e = AdminError::new(
        Code::BulkFailed,
        format!(
            "{} of {of} users cannot take this change; nothing was changed",
            failures.len()
        ),
    );
    e.extra = Some(json!({"failures": failures}));
    e
}

/// Fields a bulk edit of several users cannot set: each user's own, unique in the tenant.
const ONE_USER_EACH: [&str; 3] = ["agentId", "personalPhoneNumber", "webRtcFallbackNumber"];

/// `PATCH /admin/v1/users[?dryRun=true]` bulk edit: `{"ids": […], "set": {…}}`. Every user
/// is checked first, each with every reason it cannot take the change; if any cannot,
/// nothing changes and the answer lists them all. Then all change in one transaction.
#[tracing::instrument(skip_all, err(Debug, level = "debug"))]
pub async fn edit(
    State(state): State<AppState>,
    auth: AdminAuth,
    dry: DryRun,
    AdminBody(body): AdminBody,
) -> AdminResult<Json<Value>> {
    let schema = &state.registry.user;
    let ids = bulk_ids(&body)?;
    let set = body
        .get("set")
        .filter(|s| s.is_object())
        .ok_or_else(|| AdminError::invalid("set", "set must be an object of fields"))?;
    if ids.len() > 1
        && let Some(field) = ONE_USER_EACH
            .iter()
            .find(|f| set.get(**f).is_some_and(|v| !v.is_null()))
    {
        return Err(AdminError::invalid(
            *field,
            format!("{field} is unique to each user: set it one user at a time"),
        ));
    }
    let ctx = write::users::TenantContext::load(&state.db, &auth.tenant_id).await?;
    let mut failures = Vec::new();
    for id in &ids {
        let errors = edit_errors(&state, &auth, &ctx, id, set).await;
        if !errors.is_empty() {
            failures.push(failure(id, errors));
        }
    }
    if !failures.is_empty() {
        return Err(bulk_failed(failures, ids.len()));
    }
    let updated = dry
        .run(write::users::update_many(
            &state.db,
            &auth.tenant_id,
            &auth.actor(),
            Surface::Local,
            "user.bulk_update",
            &ids,
            |user| {
                merge(schema, Some(user), set, &auth.actor).map_err(|e| {
                    crate::domain::Error::InvalidValue {
                        field: e.fields.and_then(|f| f.into_iter().next()),
                        detail: e.detail,
                    }
                })
            },
        ))
        .await?;
    Ok(Json(
        dry.mark(json!({"updated": updated.len(), "ids": ids})),
    ))
}

/// Every reason one user cannot take a bulk edit: the merge (fields and permissions), every
/// validation error, then — when those pass — the write itself run as a dry run
/// (authorisation of profiles, the tenant keeping an administrator, unique values).
pub(crate) async fn edit_errors(
    state: &AppState,
    auth: &AdminAuth,
    ctx: &write::users::TenantContext,
    id: &str,
    set: &Value,
) -> Vec<AdminError> {
    let schema = &state.registry.user;
    let user = match store_users::get(&state.db, &auth.tenant_id, id).await {
        Ok(user) => user,
        Err(e) => return vec![e.into()],
    };
    let mut doc = match merge(schema, Some(&user), set, &auth.actor) {
        Ok(doc) => doc,
        Err(e) => return vec![e],
    };
    if let Err(e) = crate::scim::resource::require(schema, &doc) {
        return vec![e.into()];
    }
    let errors: Vec<AdminError> =
        write::users::validate_all(&mut doc, Some(&user.attributes), ctx, Surface::Local)
            .into_iter()
            .map(AdminError::from)
            .collect();
    if !errors.is_empty() {
        return errors;
    }
    let attempt = write::dry_run(write::users::update(
        &state.db,
        &auth.tenant_id,
        id,
        &auth.actor(),
        Surface::Local,
        "user.bulk_update",
        |current| merge(schema, Some(current), set, &auth.actor),
    ))
    .await;
    attempt.err().into_iter().collect()
}

/// Archives or reactivates several users: every one that cannot is listed, and then none
/// changes; else all change in one transaction.
async fn set_active_many(
    state: &AppState,
    auth: &AdminAuth,
    dry: DryRun,
    body: &Value,
    active: bool,
) -> AdminResult<Json<Value>> {
    let ids = bulk_ids(body)?;
    let mut failures = Vec::new();
    for id in &ids {
        let attempt = write::dry_run(set_active(state, auth, id, active)).await;
        if let Err(e) = attempt {
            failures.push(failure(id, vec![e]));
        }
    }
    if !failures.is_empty() {
        return Err(bulk_failed(failures, ids.len()));
    }
    let action = if active {
        "user.reactivate"
    } else {
        "user.archive"
    };
    let changed = dry
        .run(write::users::update_many(
            &state.db,
            &auth.tenant_id,
            &auth.actor(),
            Surface::Local,
            action,
            &ids,
            |user| {
                auth.actor.require(&[Permission::ArchiveUser])?;
                if user.managed_by == crate::domain::user::ManagedBy::Idp {
                    return Err(crate::domain::Error::conflict(
                        crate::domain::Refusal::IdpManaged,
                        "active: this user is managed by the identity provider",
                    ));
                }
                let mut doc = user.attributes.clone();
                doc.insert("active".into(), Value::Bool(active));
                Ok(doc)
            },
        ))
        .await?;
    let key = if active { "reactivated" } else { "archived" };
    Ok(Json(dry.mark(json!({key: changed.len(), "ids": ids}))))
}

/// `POST /admin/v1/users/archive[?dryRun=true]` `{"ids": […]}` (ArchiveUser; local users).
#[tracing::instrument(skip_all, err(Debug, level = "debug"))]
pub async fn archive(
    State(state): State<AppState>,
    auth: AdminAuth,
    dry: DryRun,
    AdminBody(body): AdminBody,
) -> AdminResult<Json<Value>> {
    set_active_many(&state, &auth, dry, &body, false).await
}

/// `POST /admin/v1/users/reactivate[?dryRun=true]` `{"ids": […]}` (ArchiveUser; local users).
#[tracing::instrument(skip_all, err(Debug, level = "debug"))]
pub async fn reactivate(
    State(state): State<AppState>,
    auth: AdminAuth,
    dry: DryRun,
    AdminBody(body): AdminBody,
) -> AdminResult<Json<Value>> {
    set_active_many(&state, &auth, dry, &body, true).await
}
