//! Event receiver writes (ManageSettings): register, change, delete, redeliver — each with
//! its audit row in the same transaction. Secrets (the signing key, the poll token) are
//! answered once, when made, and never audited.

use sea_orm::DatabaseConnection;
use serde_json::{Map, Value, json};

use super::{begin, commit, retry};
use crate::domain::audit::{Actor, Entry};
use crate::domain::events;
use crate::domain::ownership::Permission;
use crate::domain::{Error, Result};
use crate::store::events::{self as store, POLL, PUSH, Receiver};
use crate::store::{self as db_store, audit, credentials};

/// What a registration or change asks for; `None`: unchanged (or the default on create).
#[derive(Debug, Clone, Default)]
pub struct ReceiverInput {
    pub delivery: Option<String>,
    pub url: Option<Option<String>>,
    pub events: Option<Vec<String>>,
    pub description: Option<Option<String>>,
    /// Make a new signing secret (and, for polling, a new poll token).
    pub rotate: bool,
}

/// A receiver with the secrets made for it (answered once).
#[derive(Debug, Clone)]
pub struct Made {
    pub receiver: Receiver,
    pub secret: Option<String>,
    pub poll_token: Option<String>,
}

/// Checks a push URL: https, or http on loopback only (a receiver on the same machine).
pub fn check_url(text: &str) -> Result<String> {
    let bad = || {
        Error::invalid(
            "url",
            format!(
                "url {text:?} must be an https:// URL (http:// only on loopback), without a fragment"
            ),
        )
    };
    let uri: axum::http::Uri = text.parse().map_err(|_| bad())?;
    let host = uri.host().ok_or_else(bad)?;
    let ok = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => super::oidc::is_loopback(host),
        _ => false,
    };
    if !ok || text.contains('#') || text.len() > 2000 {
        return Err(bad());
    }
    Ok(text.to_string())
}

fn check_events(names: &[String]) -> Result<()> {
    if let Some(unknown) = names.iter().find(|n| !events::is_known(n)) {
        return Err(Error::invalid(
            "events",
            format!(
                "{unknown:?} is not an event Rollcall emits; use names or prefixes of: {}",
                events::NAMES.join(", ")
            ),
        ));
    }
    Ok(())
}

fn check_description(text: &Option<String>) -> Result<()> {
    if text
        .as_ref()
        .is_some_and(|d| d.len() > 500 || d.chars().any(char::is_control))
    {
        return Err(Error::invalid(
            "description",
            "description must be at most 500 characters, without control characters",
        ));
    }
    Ok(())
}

/// What the audit shows of a receiver (never its secrets).
fn shown(r: &Receiver) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("delivery".into(), json!(r.delivery));
    out.insert("url".into(), json!(r.url));
    out.insert("events".into(), store::claims_of(&r.events));
    out.insert("description".into(), json!(r.description));
    out
}

fn changes(
    before: Option<&Receiver>,
    after: Option<&Receiver>,
    rotated: bool,
) -> Map<String, Value> {
    let mut out = crate::domain::audit::diff(before.map(shown).as_ref(), after.map(shown).as_ref());
    if rotated {
        out.insert(
            "secret".into(),
            json!({"before": "(secret)", "after": "(new secret)"}),
        );
    }
    out
}

async fn record(
    db: &DatabaseConnection,
    tenant_id: &str,
    actor: &Actor,
    action: &str,
    id: &str,
    changes: Map<String, Value>,
    write: impl AsyncFnOnce(&sea_orm::DatabaseTransaction) -> Result<()>,
) -> Result<()> {
    let txn = begin(db).await?;
    write(&txn).await?;
    audit::record(
        &txn,
        &Entry::new(tenant_id, actor, action, "event_receiver", id, changes),
    )
    .await?;
    commit(txn).await
}

/// Registers a receiver: `push` (the default with a `url`) or `poll`.
pub async fn create(
    db: &DatabaseConnection,
    tenant_id: &str,
    actor: &Actor,
    input: ReceiverInput,
) -> Result<Made> {
    actor.require(&[Permission::ManageSettings])?;
    let url = input.url.clone().flatten();
    let delivery = input.delivery.clone().unwrap_or_else(|| PUSH.to_string());
    let url = match (delivery.as_str(), url) {
        (PUSH, Some(url)) => Some(check_url(&url)?),
        (PUSH, None) => {
            return Err(Error::invalid(
                "url",
                "give the url to push events to, or \"delivery\": \"poll\" for a receiver that polls",
            ));
        }
        (POLL, None) => None,
        (POLL, Some(_)) => {
            return Err(Error::invalid(
                "url",
                "a poll receiver has no url: it polls POST /events/v1/poll",
            ));
        }
        (other, _) => {
            return Err(Error::invalid(
                "delivery",
                format!("delivery must be push or poll, not {other:?}"),
            ));
        }
    };
    let wanted = input.events.clone().unwrap_or_default();
    check_events(&wanted)?;
    let description = input.description.clone().flatten();
    check_description(&description)?;
    let secret = credentials::random_secret()?;
    let poll_token = if delivery == POLL {
        Some(credentials::random_secret()?)
    } else {
        None
    };
    let now = db_store::now_us();
    let receiver = Receiver {
        id: db_store::new_id(),
        tenant_id: tenant_id.to_string(),
        delivery,
        url,
        poll_token_hash: poll_token.as_deref().map(credentials::hash),
        secret: secret.clone(),
        events: json!(wanted).to_string(),
        description,
        down_until_us: None,
        version: 1,
        created_us: now,
        modified_us: now,
    };
    let stored = receiver.clone();
    record(
        db,
        tenant_id,
        actor,
        "event_receiver.create",
        &receiver.id,
        changes(None, Some(&receiver), false),
        async move |txn| store::insert_receiver(txn, stored).await,
    )
    .await?;
    Ok(Made {
        receiver,
        secret: Some(secret),
        poll_token,
    })
}

/// Changes a receiver: its url (push), events, description; `rotate` makes new secrets.
/// `expected` is the caller's If-Match version.
pub async fn update(
    db: &DatabaseConnection,
    tenant_id: &str,
    id: &str,
    actor: &Actor,
    expected: Option<i64>,
    input: ReceiverInput,
) -> Result<Made> {
    actor.require(&[Permission::ManageSettings])?;
    retry(|| async {
        let current = store::receiver(db, tenant_id, id).await?;
        if expected.is_some_and(|v| v != current.version) {
            return Err(Error::PreconditionFailed);
        }
        if input
            .delivery
            .as_ref()
            .is_some_and(|d| *d != current.delivery)
        {
            return Err(Error::invalid(
                "delivery",
                "a receiver's delivery cannot change: register another receiver",
            ));
        }
        let mut next = current.clone();
        if let Some(url) = &input.url {
            next.url = match (current.delivery.as_str(), url) {
                (PUSH, Some(url)) => Some(check_url(url)?),
                (PUSH, None) => return Err(Error::invalid("url", "a push receiver needs its url")),
                (_, None) => None,
                (_, Some(_)) => {
                    return Err(Error::invalid("url", "a poll receiver has no url"));
                }
            };
        }
        if let Some(wanted) = &input.events {
            check_events(wanted)?;
            next.events = json!(wanted).to_string();
        }
        if let Some(description) = &input.description {
            check_description(description)?;
            next.description = description.clone();
        }
        let mut secret = None;
        let mut poll_token = None;
        if input.rotate {
            let s = credentials::random_secret()?;
            next.secret = s.clone();
            secret = Some(s);
            if next.delivery == POLL {
                let token = credentials::random_secret()?;
                next.poll_token_hash = Some(credentials::hash(&token));
                poll_token = Some(token);
            }
        }
        if next == current {
            return Ok(Made {
                receiver: current,
                secret: None,
                poll_token: None,
            });
        }
        next.version = current.version + 1;
        next.modified_us = db_store::now_us().max(current.modified_us + 1);
        let stored = next.clone();
        let version = current.version;
        record(
            db,
            tenant_id,
            actor,
            "event_receiver.update",
            id,
            changes(Some(&current), Some(&next), input.rotate),
            async move |txn| store::update_receiver(txn, &stored, version).await,
        )
        .await?;
        Ok(Made {
            receiver: next,
            secret,
            poll_token,
        })
    })
    .await
}

/// Deletes a receiver and its undelivered events.
pub async fn delete(
    db: &DatabaseConnection,
    tenant_id: &str,
    id: &str,
    actor: &Actor,
) -> Result<()> {
    actor.require(&[Permission::ManageSettings])?;
    let current = store::receiver(db, tenant_id, id).await?;
    let (tenant, rid) = (tenant_id.to_string(), id.to_string());
    record(
        db,
        tenant_id,
        actor,
        "event_receiver.delete",
        id,
        changes(Some(&current), None, false),
        async move |txn| store::delete_receiver(txn, &tenant, &rid).await,
    )
    .await
}

/// Puts a receiver's dead deliveries back in line; answers how many.
pub async fn redeliver(
    db: &DatabaseConnection,
    tenant_id: &str,
    id: &str,
    actor: &Actor,
) -> Result<u64> {
    actor.require(&[Permission::ManageSettings])?;
    store::receiver(db, tenant_id, id).await?;
    let txn = begin(db).await?;
    let count = store::redeliver(&txn, id).await?;
    audit::record(
        &txn,
        &Entry::new(
            tenant_id,
            actor,
            "event_receiver.redeliver",
            "event_receiver",
            id,
            Map::from_iter([("redelivered".to_string(), json!(count))]),
        ),
    )
    .await?;
    commit(txn).await?;
    Ok(count)
}

/// Releases a brake hold (ArchiveUser and DeleteUser: the user who could take those users
/// out of service decides), audited.
pub async fn release_hold(
    db: &DatabaseConnection,
    tenant_id: &str,
    id: &str,
    actor: &Actor,
) -> Result<crate::store::brake::Hold> {
    actor.require(&[Permission::ArchiveUser, Permission::DeleteUser])?;
    let txn = begin(db).await?;
    let by = actor
        .user_id
        .clone()
        .unwrap_or_else(|| actor.kind.as_str().to_string());
    let hold = crate::store::brake::release(&txn, tenant_id, id, &by).await?;
    audit::record(
        &txn,
        &Entry::new(
            tenant_id,
            actor,
            "hold.release",
            "hold",
            id,
            Map::from_iter([(
                "state".to_string(),
                json!({"before": "held", "after": "released"}),
            )]),
        ),
    )
    .await?;
    commit(txn).await?;
    Ok(hold)
}
