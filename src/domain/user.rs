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

/// Typed reads of a user document: the contact-centre extension's attributes by name, so
/// no caller spells the extension's URN or walks its JSON.
pub trait Document {
    /// The contact-centre extension object.
    fn contact_centre(&self) -> Option<&Map<String, Value>>;

    /// A string attribute of the contact-centre extension.
    fn cc_str(&self, name: &str) -> Option<&str> {
        self.contact_centre()?.get(name)?.as_str()
    }

    /// The security profiles the user holds, as stored (the catalog's spelling).
    fn security_profiles(&self) -> Vec<&str> {
        self.contact_centre()
            .and_then(|cc| cc.get("securityProfiles"))
            .and_then(Value::as_array)
            .map(|ps| ps.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    /// Whether the document names at least one security profile.
    fn has_security_profiles(&self) -> bool {
        !self.security_profiles().is_empty()
    }

    /// The licence type.
    fn licence_type(&self) -> Option<&str> {
        self.cc_str("licenceType")
    }

    /// The agent id.
    fn agent_id(&self) -> Option<&str> {
        self.cc_str("agentId")
    }

    /// The personal (direct-dial) phone number.
    fn personal_phone(&self) -> Option<&str> {
        self.cc_str("personalPhoneNumber")
    }

    /// The number WebRTC calls fall back to (E.164, or the agent's own agent id).
    fn webrtc_fallback(&self) -> Option<&str> {
        self.cc_str("webRtcFallbackNumber")
    }
}

impl Document for Map<String, Value> {
    fn contact_centre(&self) -> Option<&Map<String, Value>> {
        self.get(super::ownership::CONTACT_CENTRE)?.as_object()
    }
}

impl Document for User {
    fn contact_centre(&self) -> Option<&Map<String, Value>> {
        self.attributes.contact_centre()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ownership::CONTACT_CENTRE;

    #[test]
    fn typed_reads_of_the_extension() {
        let doc = serde_json::json!({
            "userName": "a",
            CONTACT_CENTRE: {"securityProfiles": ["Agent", "Supervisor"], "licenceType": "Admin", "agentId": "1001"}
        });
        let doc = doc.as_object().expect("object").clone();
        assert_eq!(doc.security_profiles(), vec!["Agent", "Supervisor"]);
        assert!(doc.has_security_profiles());
        assert_eq!(doc.licence_type(), Some("Admin"));
        assert_eq!(doc.agent_id(), Some("1001"));
        assert_eq!(doc.personal_phone(), None);
        let empty = Map::new();
        assert!(!empty.has_security_profiles());
        assert_eq!(empty.licence_type(), None);
    }
}
