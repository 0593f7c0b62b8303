//! Creating users from a template user — the products' "create from template" flow. Each
//! new user takes the template's locally-owned settings (skills, routing profile, hierarchy,
//! licence, region, feature flags) and its security profiles; agent ids come from a starting
//! id, skipping ids in use. Each user is its own write: some are created, some fail, and the
//! answer says which and why. Run as a dry run (`write::dry_run`) it answers the same without
//! writing.

use std::collections::HashMap;

use sea_orm::DatabaseConnection;
use serde_json::{Map, Value};

use super::{
    TenantContext, cc_mut, create_as_given, local_creation_off, needs_agent_id, validate_all,
};
use crate::domain::audit::Actor;
use crate::domain::ownership::{CONTACT_CENTRE, Permission, lookup};
use crate::domain::user::{Document, User, fold_key};
use crate::domain::validation::Surface;
use crate::domain::{Error, Result};
use crate::store::users::{self, AgentIds};

/// What became of one new user: created, or every reason it was not.
pub type Outcome = std::result::Result<User, Vec<Error>>;

/// The template's values every new user takes: its locally-owned contact-centre settings
/// that the registry marks as copied from a template, and its security profiles.
fn template_values(template: &User) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(cc) = template.contact_centre() {
        for (name, value) in cc {
            let copied = name == "securityProfiles"
                || lookup(&format!("{CONTACT_CENTRE}:{name}")).is_some_and(|o| o.from_template);
            if copied {
                out.insert(name.clone(), value.clone());
            }
        }
    }
    out
}

/// The values of a new user that must be unique in the tenant, by field, folded for
/// comparison: a second user of the same request with one of them fails.
fn unique_values(doc: &Map<String, Value>) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(name) = doc.get("userName").and_then(Value::as_str) {
        out.push(("userName", fold_key(name)));
    }
    let email = doc
        .get("emails")
        .and_then(Value::as_array)
        .and_then(|emails| emails.first())
        .and_then(|e| e.get("value"))
        .and_then(Value::as_str);
    if let Some(email) = email {
        out.push(("emails", fold_key(email)));
    }
    for (field, value) in [
        ("agentId", doc.agent_id()),
        ("personalPhoneNumber", doc.personal_phone()),
        ("webRtcFallbackNumber", doc.webrtc_fallback()),
    ] {
        if let Some(v) = value {
            out.push((field, v.to_string()));
        }
    }
    out
}

/// Creates one user per document from the template user `template_id` (the tenant's
/// provisioning template when None). Agent ids are handed out from `starting_agent_id` (the
/// tenant's start when None) to users whose licence makes them agents and who bring none.
/// Refuses the whole request only when it cannot start: no template, local creation off, a
/// caller who may not create users.
pub async fn from_template(
    db: &DatabaseConnection,
    tenant_id: &str,
    actor: &Actor,
    template_id: Option<&str>,
    starting_agent_id: Option<i64>,
    documents: Vec<Map<String, Value>>,
) -> Result<Vec<Outcome>> {
    actor.require(&[Permission::CreateUser, Permission::EditUser])?;
    let ctx = TenantContext::load(db, tenant_id).await?;
    if ctx.settings.idp_managed {
        return Err(local_creation_off());
    }
    let template_id = template_id
        .map(str::to_string)
        .or_else(|| ctx.settings.provisioning_template_user.clone())
        .ok_or_else(|| {
            Error::invalid(
                "template",
                "template: name a template user, or set the tenant's provisioning template (provisioningTemplateUser)",
            )
        })?;
    let template = match users::get(db, tenant_id, &template_id).await {
        Ok(user) => user,
        Err(Error::NotFound(_)) => {
            return Err(Error::invalid(
                "template",
                format!("template: no user {template_id:?} in this tenant"),
            ));
        }
        Err(e) => return Err(e),
    };
    let mut values = template_values(&template);
    // A template holding only the least-privileged profile gives it as every creation does
    // by default, which needs no ManageSecurityProfiles.
    let least = ctx.catalogs.least_privileged_profile();
    if let (Some(Value::Array(profiles)), Some(least)) = (values.get("securityProfiles"), &least)
        && profiles.len() == 1
        && profiles[0]
            .as_str()
            .is_some_and(|p| p.eq_ignore_ascii_case(least))
    {
        values.remove("securityProfiles");
    }
    let start = starting_agent_id.unwrap_or(ctx.settings.agent_id_start);
    let mut agent_ids = AgentIds::load(db, tenant_id, start).await?;
    for doc in &documents {
        if let Some(id) = doc.agent_id() {
            agent_ids.take(id);
        }
    }
    // Unique values of the users created so far in this request, and which row holds them.
    let mut used: HashMap<(&'static str, String), usize> = HashMap::new();
    let mut outcomes = Vec::with_capacity(documents.len());
    for (index, mut doc) in documents.into_iter().enumerate() {
        if let Some(cc) = cc_mut(&mut doc) {
            for (name, value) in &values {
                cc.entry(name.clone()).or_insert_with(|| value.clone());
            }
        }
        // Checked as it will be stored: with the default profile where it gets one.
        let mut checked = doc.clone();
        super::default_profile(&mut checked, &ctx.catalogs);
        let mut errors = validate_all(&mut checked, None, &ctx, Surface::Local);
        for (field, value) in unique_values(&checked) {
            if let Some(row) = used.get(&(field, value.clone())) {
                errors.push(Error::Uniqueness {
                    field: field.to_string(),
                    detail: format!(
                        "{field} {value:?} is already used by user {} of this request",
                        row + 1
                    ),
                });
            }
        }
        if !errors.is_empty() {
            outcomes.push(Err(errors));
            continue;
        }
        let generated = needs_agent_id(&doc).then(|| agent_ids.allocate());
        if let Some(id) = &generated {
            super::set_agent_id(&mut doc, id.clone());
        }
        match create_as_given(db, tenant_id, actor, Surface::Local, doc).await {
            Ok(user) => {
                for key in unique_values(&user.attributes) {
                    used.insert(key, index);
                }
                outcomes.push(Ok(user));
            }
            Err(e) => {
                if let Some(id) = &generated {
                    agent_ids.release(id);
                }
                outcomes.push(Err(vec![e]));
            }
        }
    }
    Ok(outcomes)
}
