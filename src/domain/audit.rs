//! The audit log: every change from every surface, with its actor and the before/after of
//! the attributes it changed.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::ownership::Permission;
use super::{Error, Result};

/// Which surface a change came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    Scim,
    Admin,
    /// The admin console, by a signed-in user.
    Console,
    Cli,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Scim => "scim",
            ActorKind::Admin => "admin",
            ActorKind::Console => "console",
            ActorKind::Cli => "cli",
        }
    }
}

/// Who makes a change: the surface, the credential used and the user it belongs to, and
/// what it may do on the local surfaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub kind: ActorKind,
    pub credential_id: Option<String>,
    pub user_id: Option<String>,
    /// An admin's permissions (the union of its security profiles'); the CLI, run by whoever
    /// has the database, holds them all; an identity provider holds none — what it may write
    /// is bounded by the ownership registry and the users in its view instead.
    pub permissions: BTreeSet<Permission>,
}

impl Actor {
    /// The command line, run by whoever has the database.
    pub fn cli() -> Actor {
        Actor {
            kind: ActorKind::Cli,
            credential_id: None,
            user_id: None,
            permissions: Permission::ALL.into_iter().collect(),
        }
    }

    /// An identity provider, through a SCIM credential.
    pub fn idp(credential_id: &str) -> Actor {
        Actor {
            kind: ActorKind::Scim,
            credential_id: Some(credential_id.to_string()),
            user_id: None,
            permissions: BTreeSet::new(),
        }
    }

    /// A signed-in user of the tenant, through its API credential.
    pub fn admin(credential_id: &str, user_id: &str, permissions: BTreeSet<Permission>) -> Actor {
        Actor {
            kind: ActorKind::Admin,
            credential_id: Some(credential_id.to_string()),
            user_id: Some(user_id.to_string()),
            permissions,
        }
    }

    /// A user signed in to the admin console (no credential: the session is its proof).
    pub fn console(user_id: &str, permissions: BTreeSet<Permission>) -> Actor {
        Actor {
            kind: ActorKind::Console,
            credential_id: None,
            user_id: Some(user_id.to_string()),
            permissions,
        }
    }

    /// Whether the actor is a user of the tenant acting with its own permissions (the
    /// admin API or the console), whose permissions are rechecked inside each write.
    pub fn is_tenant_user(&self) -> bool {
        matches!(self.kind, ActorKind::Admin | ActorKind::Console)
    }

    /// Whether the actor holds every one of `needed`.
    pub fn holds<'a>(&self, needed: impl IntoIterator<Item = &'a Permission>) -> bool {
        needed.into_iter().all(|p| self.permissions.contains(p))
    }

    /// The names of those of `needed` the actor does not hold.
    pub fn missing<'a>(
        &self,
        needed: impl IntoIterator<Item = &'a Permission>,
    ) -> Vec<&'static str> {
        needed
            .into_iter()
            .filter(|p| !self.permissions.contains(p))
            .map(|p| p.as_str())
            .collect()
    }

    /// `Forbidden` unless the actor holds every one of `needed`.
    pub fn require(&self, needed: &[Permission]) -> Result<()> {
        let missing = self.missing(needed);
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Error::Forbidden(format!(
                "this needs the permission(s) {}, which your security profiles do not grant",
                missing.join(", ")
            )))
        }
    }
}

/// One audit record.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub tenant_id: String,
    pub actor: Actor,
    /// `user.create`, `user.update`, `user.archive`, `group.delete`, `catalog.create`, …
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    /// `{attribute: {"before": …, "after": …}}` for each changed attribute.
    pub changes: Map<String, Value>,
}

impl Entry {
    pub fn new(
        tenant_id: &str,
        actor: &Actor,
        action: &str,
        target_type: &str,
        target_id: &str,
        changes: Map<String, Value>,
    ) -> Entry {
        Entry {
            tenant_id: tenant_id.to_string(),
            actor: actor.clone(),
            action: action.to_string(),
            target_type: target_type.to_string(),
            target_id: target_id.to_string(),
            changes,
        }
    }
}

fn flatten(doc: Option<&Map<String, Value>>) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(doc) = doc {
        for (key, value) in doc {
            match value {
                Value::Object(fields) if key.starts_with("urn:") => {
                    for (name, v) in fields {
                        out.insert(format!("{key}:{name}"), v.clone());
                    }
                }
                _ => {
                    out.insert(key.clone(), value.clone());
                }
            }
        }
    }
    out
}

/// The attributes that differ between two documents (extension attributes by their
/// URN-qualified names), each with its value before and after. Passwords never appear.
pub fn diff(
    before: Option<&Map<String, Value>>,
    after: Option<&Map<String, Value>>,
) -> Map<String, Value> {
    let before = flatten(before);
    let after = flatten(after);
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out = Map::new();
    for key in keys {
        let (b, a) = (before.get(key), after.get(key));
        if b != a && key != "password" {
            out.insert(
                key.clone(),
                json!({"before": b.cloned().unwrap_or(Value::Null), "after": a.cloned().unwrap_or(Value::Null)}),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_lists_changed_attributes_only() {
        let before = json!({"userName": "a", "title": "x", "urn:e:User": {"department": "d1", "costCenter": "c"}});
        let after = json!({"userName": "a", "urn:e:User": {"department": "d2", "costCenter": "c"}});
        let d = diff(before.as_object(), after.as_object());
        assert_eq!(
            Value::Object(d),
            json!({
                "title": {"before": "x", "after": null},
                "urn:e:User:department": {"before": "d1", "after": "d2"}
            })
        );
    }
}
