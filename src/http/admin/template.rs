//! `POST /admin/v1/users/from-template`: create several local users from a template user,
//! with agent ids generated from a starting id; partial success is the normal outcome and
//! the answer lists every user, created or failed with why, in the order sent.
//!
//! ```json
//! {"template": "USER_ID", "startingAgentId": 5000, "dryRun": false,
//!  "users": [{"userName": "ann", "email": "ann@acme.example",
//!             "name": {"givenName": "Ann", "familyName": "Lee"}, "agentId": "5100"}]}
//! ```

use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value, json};

use super::auth::AdminAuth;
use super::error::{AdminError, AdminResult};
use super::{AdminBody, DryRun};
use crate::app::AppState;
use crate::domain::Error;
use crate::domain::ownership::{CONTACT_CENTRE, Permission};
use crate::write;

/// The most users one request creates.
pub const MAX_USERS: usize = 1000;

/// Fields a new user's entry may carry: core ones, and its own contact-centre values.
const CORE: [&str; 6] = [
    "userName",
    "email",
    "name",
    "displayName",
    "title",
    "timezone",
];
const OWN: [&str; 3] = ["agentId", "personalPhoneNumber", "webRtcFallbackNumber"];

/// One problem of one user, as the results table shows it.
fn problem(field: Option<&str>, message: impl Into<String>) -> Value {
    json!({"field": field, "message": message.into()})
}

fn problem_of(e: &Error) -> Value {
    match e {
        Error::InvalidValue { field, detail } => problem(field.as_deref(), detail.clone()),
        Error::Uniqueness { field, detail } => problem(Some(field.as_str()), detail.clone()),
        other => problem(
            None,
            AdminError::from(Error::invalid_input(other.to_string())).detail,
        ),
    }
}

/// The user document an entry describes, or every problem of its shape.
fn document(entry: &Value) -> Result<Map<String, Value>, Vec<Value>> {
    let Some(fields) = entry.as_object() else {
        return Err(vec![problem(None, "each user must be a JSON object")]);
    };
    let mut problems = Vec::new();
    let mut doc = Map::new();
    let mut cc = Map::new();
    for (key, value) in fields {
        if OWN.contains(&key.as_str()) {
            match value {
                Value::String(s) if !s.trim().is_empty() => {
                    cc.insert(key.clone(), Value::String(s.trim().to_string()));
                }
                Value::Number(n) if key == "agentId" => {
                    cc.insert(key.clone(), Value::String(n.to_string()));
                }
                Value::Null => {}
                _ => problems.push(problem(Some(key), format!("{key} must be a string"))),
            }
            continue;
        }
        if !CORE.contains(&key.as_str()) {
            problems.push(problem(
                Some(key),
                format!(
                    "unknown field {key}; a user takes {} and {}",
                    CORE.join(", "),
                    OWN.join(", ")
                ),
            ));
            continue;
        }
        match (key.as_str(), value) {
            ("email", Value::String(email)) if !email.trim().is_empty() => {
                doc.insert(
                    "emails".into(),
                    json!([{"value": email.trim(), "type": "work", "primary": true}]),
                );
            }
            ("name", Value::Object(name)) => {
                doc.insert("name".into(), Value::Object(name.clone()));
            }
            (_, Value::String(text)) if key != "name" && !text.trim().is_empty() => {
                doc.insert(key.clone(), Value::String(text.trim().to_string()));
            }
            (_, Value::Null) => {}
            _ => problems.push(problem(
                Some(key),
                format!("{key} has the wrong type or is empty"),
            )),
        }
    }
    if !doc.contains_key("userName") && !fields.contains_key("userName") {
        problems.push(problem(Some("userName"), "userName is required"));
    }
    if !doc.contains_key("emails") && !fields.contains_key("email") {
        problems.push(problem(Some("email"), "email is required"));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    if !doc.contains_key("displayName")
        && let Some(name) = doc.get("name")
    {
        let parts: Vec<&str> = ["givenName", "familyName"]
            .iter()
            .filter_map(|p| name.get(p).and_then(Value::as_str))
            .collect();
        if !parts.is_empty() {
            doc.insert("displayName".into(), Value::String(parts.join(" ")));
        }
    }
    doc.insert(CONTACT_CENTRE.into(), Value::Object(cc));
    Ok(doc)
}

/// `POST /admin/v1/users/from-template[?dryRun=true]` (CreateUser + EditUser).
#[tracing::instrument(skip_all, err(Debug, level = "debug"))]
pub async fn create(
    State(state): State<AppState>,
    auth: AdminAuth,
    query_dry: DryRun,
    AdminBody(body): AdminBody,
) -> AdminResult<Json<Value>> {
    auth.require(&[Permission::CreateUser, Permission::EditUser])?;
    let dry = match body.get("dryRun") {
        None | Some(Value::Null) => query_dry,
        Some(Value::Bool(b)) => DryRun(*b || query_dry.0),
        Some(_) => {
            return Err(AdminError::invalid(
                "dryRun",
                "dryRun must be true or false",
            ));
        }
    };
    let template = match body.get("template") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) => Some(id.as_str()),
        Some(_) => {
            return Err(AdminError::invalid(
                "template",
                "template must be a user id",
            ));
        }
    };
    let starting = match body.get("startingAgentId") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let n = v
                .as_i64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                .filter(|n| (0..=999_999_999_999).contains(n))
                .ok_or_else(|| {
                    AdminError::invalid(
                        "startingAgentId",
                        "startingAgentId must be a whole number from 0 to 999999999999",
                    )
                })?;
            Some(n)
        }
    };
    let entries = body
        .get("users")
        .and_then(Value::as_array)
        .filter(|u| !u.is_empty() && u.len() <= MAX_USERS)
        .ok_or_else(|| {
            AdminError::invalid(
                "users",
                format!("users must be an array of 1 to {MAX_USERS} users"),
            )
        })?;
    // Entries whose shape is wrong fail without reaching the write layer; the others go
    // to it in order.
    let shaped: Vec<Result<Map<String, Value>, Vec<Value>>> =
        entries.iter().map(document).collect();
    let documents: Vec<Map<String, Value>> = shaped
        .iter()
        .filter_map(|d| d.as_ref().ok().cloned())
        .collect();
    let mut outcomes = dry
        .run(write::users::from_template(
            &state.db,
            &auth.tenant_id,
            &auth.actor(),
            template,
            starting,
            documents,
        ))
        .await?
        .into_iter();
    let mut results = Vec::with_capacity(entries.len());
    let (mut created, mut failed) = (0, 0);
    for (entry, shape) in entries.iter().zip(shaped) {
        let user_name = entry.get("userName").cloned().unwrap_or(Value::Null);
        let outcome = match shape {
            Err(problems) => Err(problems),
            Ok(_) => match outcomes.next() {
                Some(Ok(user)) => Ok(user),
                Some(Err(errors)) => Err(errors.iter().map(problem_of).collect()),
                None => Err(vec![problem(None, "not attempted")]),
            },
        };
        match outcome {
            Ok(user) => {
                created += 1;
                let mut row = json!({"userName": user_name, "status": "created"});
                if !dry.0 {
                    row["id"] = json!(user.id);
                }
                if let Some(agent_id) = crate::domain::user::Document::agent_id(&user) {
                    row["agentId"] = json!(agent_id);
                }
                results.push(row);
            }
            Err(errors) => {
                failed += 1;
                results.push(json!({"userName": user_name, "status": "failed", "errors": errors}));
            }
        }
    }
    Ok(Json(json!({
        "dryRun": dry.0,
        "created": created,
        "failed": failed,
        "results": results,
    })))
}
