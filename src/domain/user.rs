//! The user as the domain sees it: identity columns plus the attribute document that the
//! schema registry validated.

use serde_json::{Map, Value};

/// Who manages a user's SSO-owned attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManagedBy {
    /// Created over SCIM: the identity provider owns the attributes the registry marks `Idp`.
    Idp,
    /// Created by an admin or the CLI: owned locally in full.
    Local,
}

impl ManagedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            ManagedBy::Idp => "idp",
            ManagedBy::Local => "local",
        }
    }

    pub fn parse(s: &str) -> ManagedBy {
        if s == "local" {
            ManagedBy::Local
        } else {
            ManagedBy::Idp
        }
    }
}

/// Which users a caller sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// An identity provider sees only the users it manages: local users are outside its
    /// reach (they answer 404 over SCIM).
    Idp,
    /// The tenant's own admins see every user of the tenant.
    Tenant,
}

/// A stored user. `attributes` is the SCIM document without `id`, `meta`, `groups`,
/// `schemas` and `password`; `user_name`, `external_id`, `display_name` and `active` mirror
/// the document's values into indexed columns.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
    pub tenant_id: String,
    pub managed_by: ManagedBy,
    pub version: i64,
    pub created_us: i64,
    pub modified_us: i64,
    pub attributes: Map<String, Value>,
}

impl User {
    pub fn user_name(&self) -> &str {
        self.attributes
            .get("userName")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    pub fn external_id(&self) -> Option<&str> {
        self.attributes.get("externalId").and_then(Value::as_str)
    }

    pub fn display_name(&self) -> Option<&str> {
        self.attributes.get("displayName").and_then(Value::as_str)
    }

    /// The primary email: the one flagged `primary`, else the first.
    pub fn primary_email(&self) -> Option<&str> {
        let emails = self.attributes.get("emails")?.as_array()?;
        emails
            .iter()
            .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true))
            .or_else(|| emails.first())
            .and_then(|e| e.get("value"))
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Archived users are `active: false`; a user without the attribute is active.
    pub fn active(&self) -> bool {
        self.attributes
            .get("active")
            .and_then(Value::as_bool)
            .unwrap_or(true)
    }
}

/// The lower-cased comparison key of a case-insensitive attribute.
pub fn fold_key(s: &str) -> String {
    s.to_lowercase()
}
