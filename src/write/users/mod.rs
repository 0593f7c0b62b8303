//! User writes, shared by every surface — SCIM, the admin API, CSV import and the CLI:
//! what the actor may reach and grant, validation against the tenant's catalogs and
//! settings, the provisioning template, agent ids, and the compare-and-swap write with its
//! audit row and in-transaction checks.

use std::collections::BTreeSet;

use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::{Map, Value};

use super::{Attempts, begin, brake, commit, guard, retry};
use crate::domain::audit::{Actor, Entry, diff};
use crate::domain::catalog::{CatalogKind, Catalogs};
use crate::domain::ownership::{CONTACT_CENTRE, Permission, lookup};
use crate::domain::tenant::Settings;
use crate::domain::user::{Document, ManagedBy, User, View};
use crate::domain::validation::{self, Surface};
use crate::domain::{Error, Refusal, Result};
use crate::store::{self, audit, catalog, tenants, users};

mod batch;
mod lifecycle;
mod template;

pub use self::batch::{Plan, apply, update_many};
pub use self::lifecycle::{delete, hand_over, set_active};
pub use self::template::{Outcome, from_template};

/// What a write is checked against: the tenant's settings and catalogs.
#[derive(Debug, Clone)]
pub struct TenantContext {
    pub tenant_id: String,
    pub settings: Settings,
    pub catalogs: Catalogs,
}

impl TenantContext {
    pub async fn load(db: &DatabaseConnection, tenant_id: &str) -> Result<TenantContext> {
        Ok(TenantContext {
            tenant_id: tenant_id.to_string(),
            settings: tenants::settings(db, tenant_id).await?,
            catalogs: catalog::load(db, tenant_id).await?,
        })
    }
}

/// Every contact-centre user holds a security profile: a user that was given none gets the
/// least-privileged profile of the catalog (Agent in a new tenant).
fn default_profile(doc: &mut Map<String, Value>, catalogs: &Catalogs) {
    if doc.has_security_profiles() {
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

/// Validates a document about to be stored, on the given surface: the first error.
pub fn validate(
    doc: &mut Map<String, Value>,
    previous: Option<&Map<String, Value>>,
    ctx: &TenantContext,
    surface: Surface,
) -> Result<()> {
    match validate_all(doc, previous, ctx, surface).into_iter().next() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Every error of a document about to be stored, on the given surface (the upload's dry
/// run and the template creation report them all). Values an identity provider sends are
/// stored as sent (a Windows time zone id stays one; the admin view derives its IANA zone).
pub fn validate_all(
    doc: &mut Map<String, Value>,
    previous: Option<&Map<String, Value>>,
    ctx: &TenantContext,
    surface: Surface,
) -> Vec<Error> {
    let mut errors: Vec<Error> = validation::multi_valued_bounds(doc)
        .err()
        .into_iter()
        .collect();
    errors.extend(validation::contact_centre_all(
        doc,
        previous,
        &ctx.catalogs,
        &ctx.settings,
        surface,
    ));
    if surface == Surface::Local {
        errors.extend(validation::local_descriptive(doc, previous));
    }
    errors
}

/// The locally-owned contact-centre attributes of the tenant's provisioning template user,
/// which every new user takes for what it does not set itself (empty without a template).
pub async fn provisioning_template(
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
    if let Some(cc) = template.contact_centre() {
        for (name, value) in cc {
            if lookup(&format!("{CONTACT_CENTRE}:{name}")).is_some_and(|o| o.from_template) {
                out.insert(name.clone(), value.clone());
            }
        }
    }
    Ok(out)
}

/// Whether the user's licence makes it an agent that has no agent id yet.
fn needs_agent_id(doc: &Map<String, Value>) -> bool {
    validation::is_agent_licence(doc.licence_type()) && doc.agent_id().is_none()
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

/// The catalog entries a document names that `before` did not: the ones a write must find
/// still present, inside its transaction.
fn new_references(
    after: &Map<String, Value>,
    before: Option<&Map<String, Value>>,
) -> Vec<(CatalogKind, String)> {
    let names = |doc: Option<&Map<String, Value>>, kind: CatalogKind| -> BTreeSet<String> {
        let Some(value) = doc
            .and_then(|d| d.contact_centre())
            .and_then(|cc| cc.get(kind.attr_name()))
        else {
            return BTreeSet::new();
        };
        let one = |v: &Value| -> Option<String> {
            match v {
                Value::String(s) => Some(s.clone()),
                Value::Object(o) => o
                    .get("value")
                    .or_else(|| o.get("name"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
                _ => None,
            }
        };
        match value {
            Value::Array(items) => items.iter().filter_map(one).collect(),
            other => one(other).into_iter().collect(),
        }
    };
    let mut out = Vec::new();
    for kind in CatalogKind::ALL {
        let old: BTreeSet<String> = names(before, kind)
            .into_iter()
            .map(|n| n.to_lowercase())
            .collect();
        for name in names(Some(after), kind) {
            if !old.contains(&name.to_lowercase()) {
                out.push((kind, name));
            }
        }
    }
    out
}

/// What a user write checks inside its transaction.
struct Checks {
    /// Catalog entries the new document names for the first time: held after the write.
    references: Vec<(CatalogKind, String)>,
    /// The write changes the security profiles, archive state or manager of an active local
    /// user: it takes the tenant's lock first, authorises profile changes again against the
    /// catalogs as the transaction sees them, and keeps the tenant administered.
    guarded: Option<Guarded>,
}

/// A guarded write's profile change, to authorise again under the tenant's lock.
struct Guarded {
    surface: Surface,
    before: BTreeSet<String>,
    after: BTreeSet<String>,
}

/// Authorises a user write on the local surfaces (security profiles) against the catalogs
/// read before the transaction — a quick refusal — and works out what it must check inside
/// its transaction. `implicit` is a profile the layer assigned itself.
fn plan(
    actor: &Actor,
    ctx: &TenantContext,
    surface: Surface,
    before: Option<&User>,
    after: &User,
    implicit: Option<&str>,
) -> Result<Checks> {
    let old = before
        .map(|b| guard::profiles(&b.attributes))
        .unwrap_or_default();
    let new = guard::profiles(&after.attributes);
    if surface == Surface::Local {
        guard::authorise_profiles(actor, &ctx.catalogs, &old, &new, implicit)?;
    }
    // Archiving, reactivating, re-profiling or handing over a local user decides who
    // administers the tenant.
    let guarded = before
        .filter(|b| b.managed_by == ManagedBy::Local && (b.active() || after.active()))
        .filter(|b| old != new || b.active() != after.active() || b.managed_by != after.managed_by)
        .map(|_| Guarded {
            surface,
            before: old,
            after: new,
        });
    Ok(Checks {
        references: new_references(&after.attributes, before.map(|b| &b.attributes)),
        guarded,
    })
}

/// Inside the write's transaction, before the write: a guarded write takes the tenant's
/// lock, re-reads the actor (still active, still holding what it was authenticated with),
/// re-authorises its profile change against the catalogs the transaction sees, and counts
/// the full administrators. Returns that count.
async fn check_before(
    txn: &impl ConnectionTrait,
    tenant_id: &str,
    actor: &Actor,
    checks: &Checks,
) -> Result<Option<usize>> {
    let Some(guarded) = &checks.guarded else {
        return Ok(None);
    };
    let administrators = guard::lock_and_count(txn, tenant_id).await?;
    let actor = guard::refreshed(txn, tenant_id, actor).await?;
    if guarded.surface == Surface::Local && guarded.before != guarded.after {
        let catalogs = catalog::load(txn, tenant_id).await?;
        guard::authorise_profiles(&actor, &catalogs, &guarded.before, &guarded.after, None)?;
    }
    Ok(Some(administrators))
}

/// Inside the write's transaction, after the write: the catalog entries it names are still
/// there (and held), and a guarded write left the tenant administered.
async fn check(
    txn: &impl ConnectionTrait,
    tenant_id: &str,
    checks: &Checks,
    administrators: Option<usize>,
) -> Result<()> {
    catalog::hold(txn, tenant_id, &checks.references).await?;
    if let Some(before) = administrators {
        guard::keep_an_administrator(txn, tenant_id, before, "this change").await?;
    }
    Ok(())
}

/// The refusal of a local create in a tenant whose users come from its identity provider.
fn local_creation_off() -> Error {
    Error::conflict(
        Refusal::LocalCreationOff,
        "the tenant's users are managed by its identity provider: local creation is off",
    )
}

/// Over SCIM, a userName held by a local user is refused with a detail saying so.
async fn explain_uniqueness(
    db: &DatabaseConnection,
    tenant_id: &str,
    surface: Surface,
    err: Error,
    user_name: &str,
) -> Error {
    if let Error::Uniqueness { field, .. } = &err
        && field == "userName"
        && surface == Surface::Scim
        && let Ok(holder) = users::by_user_name(db, tenant_id, user_name).await
        && holder.managed_by == ManagedBy::Local
    {
        return Error::Uniqueness {
            field: field.clone(),
            detail: format!(
                "userName {user_name:?} is held by a local user of this tenant (created in Rollcall, outside the identity provider's reach); \
                 an admin can hand that user over to the identity provider"
            ),
        };
    }
    err
}

/// Creates a user. Every new user — from the identity provider, the admin API or an
/// upload — takes the provisioning template user's locally-owned values for what it does
/// not set itself; users whose licence makes them agents get the next free agent id.
pub async fn create(
    db: &DatabaseConnection,
    tenant_id: &str,
    actor: &Actor,
    surface: Surface,
    mut attributes: Map<String, Value>,
) -> Result<User> {
    let settings = tenants::settings(db, tenant_id).await?;
    let template = provisioning_template(db, tenant_id, &settings).await?;
    if !template.is_empty()
        && let Some(cc) = cc_mut(&mut attributes)
    {
        for (name, value) in template {
            cc.entry(name).or_insert(value);
        }
    }
    create_as_given(db, tenant_id, actor, surface, attributes).await
}

/// Creates a user with the values given, without the provisioning template.
async fn create_as_given(
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
            actor.require(&[Permission::CreateUser])?;
            if ctx.settings.idp_managed {
                return Err(local_creation_off());
            }
            ManagedBy::Local
        }
    };
    let implicit = if attributes.has_security_profiles() {
        None
    } else {
        ctx.catalogs.least_privileged_profile()
    };
    default_profile(&mut attributes, &ctx.catalogs);
    attributes.entry("active").or_insert(Value::Bool(true));
    attributes.retain(|k, v| !(k.starts_with("urn:") && v.as_object().is_some_and(Map::is_empty)));
    validate(&mut attributes, None, &ctx, surface)?;
    let user_name = attributes
        .get("userName")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let result = retry(|| async {
        let mut doc = attributes.clone();
        let generated = needs_agent_id(&doc);
        if generated {
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
        let checks = plan(actor, &ctx, surface, None, &user, implicit.as_deref())?;
        let entry = Entry::new(
            tenant_id,
            actor,
            "user.create",
            "user",
            &user.id,
            diff(None, Some(&user.attributes)),
        );
        let txn = begin(db).await?;
        let administrators = check_before(&txn, tenant_id, actor, &checks).await?;
        match users::insert(&txn, &user, ctx.settings.unique_primary_email).await {
            // Another writer took the generated agent id: try the next one.
            Err(Error::Uniqueness { field, .. }) if generated && field == "agentId" => {
                return Err(Error::VersionConflict);
            }
            other => other?,
        }
        check(&txn, tenant_id, &checks, administrators).await?;
        audit::record(&txn, &entry).await?;
        commit(txn).await?;
        Ok(user)
    })
    .await;
    match result {
        Err(e) => Err(explain_uniqueness(db, tenant_id, surface, e, &user_name).await),
        ok => ok,
    }
}

/// The user a surface may change: an identity provider reaches only the users it manages.
fn view_of(surface: Surface) -> View {
    match surface {
        Surface::Scim => View::Idp,
        Surface::Local => View::Tenant,
    }
}

/// Changes a user: `change` computes the new document from the stored user (and may
/// refuse); the result is authorised, validated and stored if the user did not change
/// meanwhile, else `change` runs again on the newer version. `action` names the audit record.
pub async fn update<E, F>(
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
    F: FnMut(&User) -> std::result::Result<Map<String, Value>, E>,
{
    let ctx = TenantContext::load(db, tenant_id).await?;
    let mut attempts = Attempts::default();
    loop {
        let current = users::get_in(db, tenant_id, id, view_of(surface)).await?;
        let mut attributes = change(&current)?;
        let result = store_change(
            db,
            &ctx,
            actor,
            surface,
            action,
            &current,
            &mut attributes,
            None,
        )
        .await;
        match result {
            Ok(user) => return Ok(user),
            Err(Error::VersionConflict) if attempts.pause().await => {}
            Err(e) => {
                let name = attributes
                    .get("userName")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                return Err(explain_uniqueness(db, tenant_id, surface, e, &name)
                    .await
                    .into());
            }
        }
    }
}

/// One attempt at storing a changed document: authorise, validate, then write with a
/// compare-and-swap, check and audit in one transaction. `managed_by` changes who manages
/// the user (the hand-over to the identity provider).
#[allow(clippy::too_many_arguments)]
async fn store_change(
    db: &DatabaseConnection,
    ctx: &TenantContext,
    actor: &Actor,
    surface: Surface,
    action: &str,
    current: &User,
    attributes: &mut Map<String, Value>,
    managed_by: Option<ManagedBy>,
) -> Result<User> {
    attributes.retain(|k, v| !(k.starts_with("urn:") && v.as_object().is_some_and(Map::is_empty)));
    if *attributes == current.attributes && managed_by.is_none_or(|m| m == current.managed_by) {
        return Ok(current.clone());
    }
    if surface == Surface::Local {
        guard::authorise_edits(actor, current, attributes)?;
    }
    if !current.attributes.has_security_profiles() && attributes.contains_key(CONTACT_CENTRE) {
        default_profile(attributes, &ctx.catalogs);
    }
    validate(attributes, Some(&current.attributes), ctx, surface)?;
    // Validation takes the catalogs' spelling: a change only in spelling is no change.
    if *attributes == current.attributes && managed_by.is_none_or(|m| m == current.managed_by) {
        return Ok(current.clone());
    }
    let generated = needs_agent_id(attributes);
    if generated {
        let next = users::next_agent_id(db, &ctx.tenant_id, ctx.settings.agent_id_start).await?;
        set_agent_id(attributes, next);
    }
    let (mut next, mut entry) =
        next_version(current, attributes.clone(), &ctx.tenant_id, actor, action);
    if let Some(m) = managed_by.filter(|m| *m != current.managed_by) {
        next.managed_by = m;
        entry.changes.insert(
            "managedBy".into(),
            serde_json::json!({"before": current.managed_by.as_str(), "after": m.as_str()}),
        );
    }
    let checks = plan(actor, ctx, surface, Some(current), &next, None)?;
    let txn = begin(db).await?;
    if current.active()
        && !next.active()
        && let Some(tripped) =
            brake::check(&txn, &ctx.settings, &ctx.tenant_id, actor, &current.id).await?
    {
        drop(txn);
        return Err(brake::hold(
            db,
            &ctx.tenant_id,
            actor,
            &current.id,
            brake::Deprovision::Deactivate,
            tripped,
        )
        .await);
    }
    let administrators = check_before(&txn, &ctx.tenant_id, actor, &checks).await?;
    match users::update(
        &txn,
        &next,
        current.version,
        ctx.settings.unique_primary_email,
    )
    .await
    {
        // Another writer took the id we generated: take the next one.
        Err(Error::Uniqueness { field, .. }) if generated && field == "agentId" => {
            return Err(Error::VersionConflict);
        }
        other => other?,
    }
    check(&txn, &ctx.tenant_id, &checks, administrators).await?;
    // A user handed over to the identity provider must hold no API credential, also one
    // created while the hand-over ran.
    if managed_by == Some(ManagedBy::Idp)
        && store::credentials::count_for_user(&txn, &ctx.tenant_id, &current.id).await? > 0
    {
        return Err(Error::conflict(
            Refusal::HoldsCredentials,
            "the user holds API credentials; revoke them before handing the user over",
        ));
    }
    audit::record(&txn, &entry).await?;
    commit(txn).await?;
    Ok(next)
}
