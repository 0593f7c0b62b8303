//! Per-tenant catalogs: security profiles (named permission sets), routing profiles, agent
//! hierarchy nodes, skills and callback numbers. User attributes must name catalog entries.

use std::collections::BTreeSet;

use super::ownership::{CONTACT_CENTRE, Permission};

/// Which catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CatalogKind {
    SecurityProfile,
    RoutingProfile,
    Hierarchy,
    Skill,
    CallbackNumber,
}

impl CatalogKind {
    pub const ALL: [CatalogKind; 5] = [
        CatalogKind::SecurityProfile,
        CatalogKind::RoutingProfile,
        CatalogKind::Hierarchy,
        CatalogKind::Skill,
        CatalogKind::CallbackNumber,
    ];

    /// The stored kind name.
    pub fn as_str(self) -> &'static str {
        match self {
            CatalogKind::SecurityProfile => "security_profile",
            CatalogKind::RoutingProfile => "routing_profile",
            CatalogKind::Hierarchy => "hierarchy",
            CatalogKind::Skill => "skill",
            CatalogKind::CallbackNumber => "callback_number",
        }
    }

    /// The admin API path segment.
    pub fn segment(self) -> &'static str {
        match self {
            CatalogKind::SecurityProfile => "security-profiles",
            CatalogKind::RoutingProfile => "routing-profiles",
            CatalogKind::Hierarchy => "hierarchy",
            CatalogKind::Skill => "skills",
            CatalogKind::CallbackNumber => "callback-numbers",
        }
    }

    /// The JSON field that names an entry in request bodies.
    pub fn name_field(self) -> &'static str {
        match self {
            CatalogKind::Hierarchy => "path",
            CatalogKind::CallbackNumber => "number",
            _ => "name",
        }
    }

    /// The user attribute (canonical key) whose values name entries of this catalog.
    pub fn user_attr(self) -> String {
        format!("{CONTACT_CENTRE}:{}", self.attr_name())
    }

    /// That attribute's name within the contact-centre extension (`routingProfile`).
    pub fn attr_name(self) -> &'static str {
        match self {
            CatalogKind::SecurityProfile => "securityProfiles",
            CatalogKind::RoutingProfile => "routingProfile",
            CatalogKind::Hierarchy => "agentHierarchy",
            CatalogKind::Skill => "skills",
            CatalogKind::CallbackNumber => "callbackNumbers",
        }
    }
}

/// One catalog entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogItem {
    pub id: String,
    pub kind: CatalogKind,
    /// Profile or skill name, hierarchy path, or phone number.
    pub name: String,
    /// Security profiles only.
    pub permissions: BTreeSet<Permission>,
    /// Callback numbers only.
    pub label: Option<String>,
}

/// A tenant's catalogs, loaded together for validation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalogs {
    pub items: Vec<CatalogItem>,
}

impl Catalogs {
    /// The entry of that kind whose name matches case-insensitively (the same full Unicode
    /// lower-casing as the unique index's `name_key` and the guard's profile sets).
    pub fn find(&self, kind: CatalogKind, name: &str) -> Option<&CatalogItem> {
        self.items
            .iter()
            .find(|i| i.kind == kind && i.name.to_lowercase() == name.to_lowercase())
    }

    /// Entry names of one kind, in catalog order.
    pub fn names(&self, kind: CatalogKind) -> Vec<String> {
        self.items
            .iter()
            .filter(|i| i.kind == kind)
            .map(|i| i.name.clone())
            .collect()
    }

    /// The security profile granting the fewest permissions (`Agent` when it exists).
    pub fn least_privileged_profile(&self) -> Option<String> {
        let profiles = self
            .items
            .iter()
            .filter(|i| i.kind == CatalogKind::SecurityProfile);
        profiles
            .clone()
            .find(|i| i.name == "Agent")
            .or_else(|| profiles.min_by_key(|i| i.permissions.len()))
            .map(|i| i.name.clone())
    }

    /// The union of the permissions of the named security profiles.
    pub fn permissions_of<'a>(
        &self,
        profiles: impl IntoIterator<Item = &'a str>,
    ) -> BTreeSet<Permission> {
        profiles
            .into_iter()
            .filter_map(|p| self.find(CatalogKind::SecurityProfile, p))
            .flat_map(|item| item.permissions.iter().copied())
            .collect()
    }
}

/// Checks a hierarchy path: 1–5 non-empty levels separated by `/`.
pub fn validate_hierarchy_path(path: &str) -> Result<String, String> {
    let levels: Vec<&str> = path.split('/').map(str::trim).collect();
    if levels.len() > 5 || levels.iter().any(|l| l.is_empty()) {
        return Err(format!(
            "hierarchy path {path:?} must be 1-5 non-empty levels separated by '/'"
        ));
    }
    Ok(levels.join("/"))
}

impl CatalogItem {
    /// The entry as the admin API shows it (and as its audit records compare it).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::{Value, json};
        let mut v = json!({"id": self.id});
        v[self.kind.name_field()] = Value::String(self.name.clone());
        match self.kind {
            CatalogKind::SecurityProfile => {
                v["permissions"] = self.permissions.iter().map(|p| p.as_str()).collect();
            }
            CatalogKind::CallbackNumber => {
                v["label"] = self.label.clone().map(Value::String).unwrap_or(Value::Null);
            }
            _ => {}
        }
        v
    }

    /// The entry checked and normalised: a name (profile, skill…) of 1–200 bytes, a hierarchy
    /// path of 1–5 levels, an E.164 callback number.
    pub fn checked(mut self) -> crate::domain::Result<CatalogItem> {
        use crate::domain::Error;
        let field = self.kind.name_field();
        self.name = self.name.trim().to_string();
        if self.name.is_empty() {
            return Err(Error::invalid(
                field,
                format!("{field} must be a non-empty string"),
            ));
        }
        if self.name.len() > 200 {
            return Err(Error::invalid(
                field,
                format!("{field} must be at most 200 bytes long"),
            ));
        }
        match self.kind {
            CatalogKind::Hierarchy => {
                self.name =
                    validate_hierarchy_path(&self.name).map_err(|e| Error::invalid(field, e))?;
            }
            CatalogKind::CallbackNumber if !crate::domain::validation::is_e164(&self.name) => {
                return Err(Error::invalid(
                    field,
                    format!(
                        "number {:?} is not an E.164 number like +442071234567",
                        self.name
                    ),
                ));
            }
            _ => {}
        }
        Ok(self)
    }

    /// The built-in Administrator profile: it keeps its name and every permission, so the
    /// tenant can always be administered.
    pub fn is_built_in_administrator(&self) -> bool {
        self.kind == CatalogKind::SecurityProfile
            && self.name.to_lowercase() == ADMINISTRATOR.to_lowercase()
    }
}

/// The name of the built-in profile holding every permission.
pub const ADMINISTRATOR: &str = "Administrator";
