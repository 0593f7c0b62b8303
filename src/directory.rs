//! Operations on users that every surface shares — SCIM, the admin API, CSV import and the
//! CLI: validation against the tenant's catalogs and settings, the provisioning template,
//! agent ids, optimistic concurrency and the audit record, in one place.

use std::future::Future;
use std::time::Duration;

use sea_orm::{DatabaseConnection, TransactionTrait};
use serde_json::{Map, Value};

use crate::domain::audit::{Actor, Entry, diff};
use crate::domain::catalog::Catalogs;
use crate::domain::ownership::{CONTACT_CENTRE, Owner, lookup};
use crate::domain::tenant::Settings;
use crate::domain::user::{ManagedBy, User};
use crate::domain::validation::{self, Surface};
use crate::domain::{Error, Result};
use crate::store::{self, catalog, tenants, users};

/// What a write is checked against: the tenant's settings and catalogs.
#[derive(Debug, Clone)]
pub struct TenantContext {
    pub settings: Settings,
    pub catalogs: Catalogs,
}

impl TenantContext {
    pub async fn load(db: &DatabaseConnection, tenant_id: &str) -> Result<TenantContext> {
        Ok(TenantContext {
            settings: tenants::settings(db, tenant_id).await?,
            catalogs: catalog::load(db, tenant_id).await?,
        })
    }
}

fn has_profiles(doc: &Map<String, Value>) -> bool {
    doc.get(CONTACT_CENTRE)
        .and_then(|cc| cc.get("securityProfiles"))
        .is_some_and(|p| p.as_array().is_some_and(|a| !a.is_empty()))
}

/// Every contact-centre user holds a security profile: a user that was given none gets the
/// least-privileged profile of the catalog (Agent in a new tenant).
fn default_profile(doc: &mut Map<String, Value>, catalogs: &Catalogs) {
    if has_profiles(doc) {
        return;
    }
    if let Some(profile) = catalogs.least_privileged_profile()
        && let Some(cc) = cc_mut(doc)
    {
        cc.insert("securityProfiles".into(), serde_json::json!([profile]));
    }
}

/// The next version of a user with these attributes, and the audit record of the change.
fn next_version(
    current: &User,
    attributes: Map<String, Value>,
    tenant_id: &str,
    actor: &Actor,
    action: &str,
) -> (User, Entry) {
    let next = User {
        attributes,
        version: current.version + 1,
        modified_us: store::now_us().max(current.modified_us + 1),
        ..current.clone()
    };
    let changes = diff(Some(&current.attributes), Some(&next.attributes));
    let entry = Entry::new(tenant_id, actor, action, "user", &current.id, changes);
    (next, entry)
}

/// Validates a document about to be stored, on the given surface.
pub fn validate(
    doc: &mut Map<String, Value>,
    previous: Option<&Map<String, Value>>,
    ctx: &TenantContext,
    surface: Surface,
) -> Result<()> {
    validation::multi_valued_bounds(doc)?;
    if surface == Surface::Scim {
        validation::normalize_descriptive(doc);
    }
    validation::contact_centre(doc, previous, &ctx.catalogs, &ctx.settings, surface)?;
    if surface == Surface::Local {
        validation::local_descriptive(doc, previous)?;
    }
    Ok(())
}

/// The locally-owned contact-centre attributes of the template user, for a new IdP user.
async fn template_values(
    db: &DatabaseConnection,
    tenant_id: &str,
    settings: &Settings,
) -> Result<Map<String, Value>> {
    let Some(template_id) = &settings.provisioning_template_user else {
        return Ok(Map::new());
    };
    let template = match users::get(db, tenant_id, template_id).await {
        Ok(user) => user,
        Err(Error::NotFound(_)) => return Ok(Map::new()),
        Err(e) => return Err(e),
    };
    let mut out = Map::new();
    if let Some(Value::Object(cc)) = template.attributes.get(CONTACT_CENTRE) {
        for (name, value) in cc {
            let local = lookup(&format!("{CONTACT_CENTRE}:{name}"))
                .is_some_and(|o| o.owner == Owner::Local);
            // An agent id belongs to one agent; the new user gets its own.
            if local
                && name != "agentId"
                && name != "personalPhoneNumber"
                && name != "actAsAgentGranted"
            {
                out.insert(name.clone(), value.clone());
            }
        }
    }
    Ok(out)
}

fn cc_str<'a>(doc: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    doc.get(CONTACT_CENTRE)
        .and_then(|cc| cc.get(name))
        .and_then(Value::as_str)
}

/// Whether the user's licence makes it an agent that has no agent id yet.
fn needs_agent_id(doc: &Map<String, Value>) -> bool {
    validation::is_agent_licence(cc_str(doc, "licenceType")) && cc_str(doc, "agentId").is_none()
}

fn set_agent_id(doc: &mut Map<String, Value>, id: String) {
    if let Some(cc) = cc_mut(doc) {
        cc.insert("agentId".into(), Value::String(id));
    }
}

fn cc_mut(doc: &mut Map<String, Value>) -> Option<&mut Map<String, Value>> {
    doc.entry(CONTACT_CENTRE.to_string())
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
}

async fn backoff(round: u64) {
    let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0] % 10);
    tokio::time::sleep(Duration::from_millis(2 + round * 2 + jitter)).await;
}

/// Creates a user. IdP-created users copy the template user's locally-owned values; users
/// whose licence makes them agents get the next free agent id.
pub async fn create(
    db: &DatabaseConnection,
    tenant_id: &str,
    actor: &Actor,
    surface: Surface,
    mut attributes: Map<String, Value>,
) -> Result<User> {
    let ctx = TenantContext::load(db, tenant_id).await?;
    let managed_by = match surface {
        Surface::Scim => ManagedBy::Idp,
        Surface::Local => {
            if ctx.settings.idp_managed {
                return Err(Error::Conflict(
                    "the tenant's users are managed by its identity provider: local creation is off".into(),
                ));
            }
            ManagedBy::Local
        }
    };
    default_profile(&mut attributes, &ctx.catalogs);
    if surface == Surface::Scim {
        let template = template_values(db, tenant_id, &ctx.settings).await?;
        if !template.is_empty()
            && let Some(cc) = cc_mut(&mut attributes)
        {
            for (name, value) in template {
                cc.entry(name).or_insert(value);
            }
        }
    }
    attributes.entry("active").or_insert(Value::Bool(true));
    attributes.retain(|k, v| !(k.starts_with("urn:") && v.as_object().is_some_and(Map::is_empty)));
    validate(&mut attributes, None, &ctx, surface)?;
    for round in 0..20u64 {
        let mut doc = attributes.clone();
        if needs_agent_id(&doc) {
            let next = users::next_agent_id(db, tenant_id, ctx.settings.agent_id_start).await?;
            set_agent_id(&mut doc, next);
        }
        let now = store::now_us();
        let user = User {
            id: store::new_id(),
            tenant_id: tenant_id.to_string(),
            managed_by,
            version: 1,
            created_us: now,
            modified_us: now,
            attributes: doc,
        };
        let entry = Entry::new(
            tenant_id,
            actor,
            "user.create",
            "user",
            &user.id,
            diff(None, Some(&user.attributes)),
        );
        match users::insert(db, &user, &entry).await {
            Ok(()) => return Ok(user),
            // Another writer took the generated agent id (or the database was busy).
            Err(Error::Uniqueness(detail))
                if detail.starts_with("agentId") && cc_str(&attributes, "agentId").is_none() =>
            {
                backoff(round).await
            }
            Err(Error::VersionConflict) => backoff(round).await,
            Err(e) => return Err(e),
        }
    }
    Err(Error::VersionConflict)
}

/// Changes a user: `change` computes the new document from the stored user (and may refuse);
/// the result is validated and stored if the user did not change meanwhile, else `change`
/// runs again on the newer version. `action` names the audit record.
pub async fn update<E, F, Fut>(
    db: &DatabaseConnection,
    tenant_id: &str,
    id: &str,
    actor: &Actor,
    surface: Surface,
    action: &str,
    mut change: F,
) -> std::result::Result<User, E>
where
    E: From<Error>,
    F: FnMut(User) -> Fut,
    Fut: Future<Output = std::result::Result<Map<String, Value>, E>>,
{
    let ctx = TenantContext::load(db, tenant_id).await?;
    for round in 0..40u64 {
        let current = users::get(db, tenant_id, id).await?;
        let mut attributes = change(current.clone()).await?;
        attributes
            .retain(|k, v| !(k.starts_with("urn:") && v.as_object().is_some_and(Map::is_empty)));
        if attributes == current.attributes {
            return Ok(current);
        }
        if !has_profiles(&current.attributes) && attributes.contains_key(CONTACT_CENTRE) {
            default_profile(&mut attributes, &ctx.catalogs);
        }
        validate(&mut attributes, Some(&current.attributes), &ctx, surface)?;
        let generated = needs_agent_id(&attributes);
        if generated {
            let next = users::next_agent_id(db, tenant_id, ctx.settings.agent_id_start).await?;
            set_agent_id(&mut attributes, next);
        }
        let (next, entry) = next_version(&current, attributes, tenant_id, actor, action);
        match users::update(db, &next, current.version, &entry).await {
            Ok(()) => return Ok(next),
            Err(Error::VersionConflict) => backoff(round).await,
            // Another writer took the id we generated: take the next one.
            Err(Error::Uniqueness(detail)) if generated && detail.starts_with("agentId") => {
                backoff(round).await
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::VersionConflict.into())
}

/// Deletes a user; refused while it holds API credentials.
pub async fn delete(
    db: &DatabaseConnection,
    tenant_id: &str,
    id: &str,
    actor: &Actor,
) -> Result<()> {
    let user = users::get(db, tenant_id, id).await?;
    let held = store::credentials::count_for_user(db, tenant_id, id).await?;
    if held > 0 {
        return Err(Error::Conflict(format!(
            "user {id} holds {held} API credential(s); revoke them before deleting the user"
        )));
    }
    let entry = Entry::new(
        tenant_id,
        actor,
        "user.delete",
        "user",
        id,
        diff(Some(&user.attributes), None),
    );
    store::retry(|| users::delete(db, tenant_id, id, &entry)).await
}

/// Changes several users in one transaction: all of them, or none. `change` computes each
/// new document; a concurrent change of any of them runs the whole batch again.
pub async fn update_many<F>(
    db: &DatabaseConnection,
    tenant_id: &str,
    actor: &Actor,
    surface: Surface,
    action: &str,
    ids: &[String],
    change: F,
) -> Result<Vec<User>>
where
    F: Fn(&User) -> Result<Map<String, Value>>,
{
    let ctx = TenantContext::load(db, tenant_id).await?;
    for round in 0..10u64 {
        let txn = db.begin().await.map_err(|e| store::sql_err(e, "user"))?;
        let mut done = Vec::with_capacity(ids.len());
        let mut conflict = false;
        for id in ids {
            let current = users::get(&txn, tenant_id, id).await?;
            let mut attributes = change(&current)?;
            if attributes == current.attributes {
                done.push(current);
                continue;
            }
            validate(&mut attributes, Some(&current.attributes), &ctx, surface)?;
            if needs_agent_id(&attributes) {
                let next =
                    users::next_agent_id(&txn, tenant_id, ctx.settings.agent_id_start).await?;
                set_agent_id(&mut attributes, next);
            }
            let (next, entry) = next_version(&current, attributes, tenant_id, actor, action);
            match users::update(&txn, &next, current.version, &entry).await {
                Ok(()) => done.push(next),
                Err(Error::VersionConflict) => {
                    conflict = true;
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        if conflict {
            drop(txn);
            backoff(round).await;
            continue;
        }
        txn.commit().await.map_err(|e| store::sql_err(e, "user"))?;
        return Ok(done);
    }
    Err(Error::VersionConflict)
}

/// One planned change of an import.
#[derive(Debug, Clone)]
pub enum Plan {
    Create(Map<String, Value>),
    Update {
        current: User,
        attributes: Map<String, Value>,
    },
}

/// Applies already-validated plans in one transaction: all of them, or none. A user changed
/// since it was read makes the whole batch fail with a conflict.
pub async fn apply(
    db: &DatabaseConnection,
    tenant_id: &str,
    actor: &Actor,
    action: &str,
    plans: Vec<Plan>,
) -> Result<(usize, usize)> {
    let ctx = TenantContext::load(db, tenant_id).await?;
    let txn = db.begin().await.map_err(|e| store::sql_err(e, "user"))?;
    let mut agent_ids = users::AgentIds::load(&txn, tenant_id, ctx.settings.agent_id_start).await?;
    let (mut created, mut updated) = (0, 0);
    for plan in plans {
        match plan {
            Plan::Create(mut attributes) => {
                attributes.entry("active").or_insert(Value::Bool(true));
                if needs_agent_id(&attributes) {
                    set_agent_id(&mut attributes, agent_ids.allocate());
                }
                let now = store::now_us();
                let user = User {
                    id: store::new_id(),
                    tenant_id: tenant_id.to_string(),
                    managed_by: ManagedBy::Local,
                    version: 1,
                    created_us: now,
                    modified_us: now,
                    attributes,
                };
                let entry = Entry::new(
                    tenant_id,
                    actor,
                    "user.create",
                    "user",
                    &user.id,
                    diff(None, Some(&user.attributes)),
                );
                users::insert(&txn, &user, &entry).await?;
                created += 1;
            }
            Plan::Update {
                current,
                mut attributes,
            } => {
                if needs_agent_id(&attributes) {
                    set_agent_id(&mut attributes, agent_ids.allocate());
                }
                let (next, entry) = next_version(&current, attributes, tenant_id, actor, action);
                users::update(&txn, &next, current.version, &entry).await?;
                updated += 1;
            }
        }
    }
    txn.commit().await.map_err(|e| store::sql_err(e, "user"))?;
    Ok((created, updated))
}
