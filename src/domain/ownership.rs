//! The ownership registry (DESIGN.md): for every user attribute, who owns it for an
//! IdP-managed user, its SCIM mutability as advertised in `/Schemas`, and whether and with
//! which permission the admin surface may edit it. Every surface reads this one table.

use super::validation::{LICENCE_TYPES, TELEPHONY_REGIONS};

/// The contact-centre extension schema.
pub const CONTACT_CENTRE: &str =
    "urn:rollcall:params:scim:schemas:extension:contactcentre:2.0:User";
/// The RFC 7643 enterprise extension schema.
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// Who writes an attribute of an IdP-managed user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// The identity provider, over SCIM.
    Idp,
    /// The tenant admin, over the admin API, CSV or CLI.
    Local,
    /// Computed from other data (group membership).
    Derived,
}

/// RFC 7643 §7 `mutability`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadWrite,
    ReadOnly,
    WriteOnly,
    Immutable,
}

impl Mutability {
    pub fn as_str(self) -> &'static str {
        match self {
            Mutability::ReadWrite => "readWrite",
            Mutability::ReadOnly => "readOnly",
            Mutability::WriteOnly => "writeOnly",
            Mutability::Immutable => "immutable",
        }
    }
}

/// A permission a security profile grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    ViewUsers,
    CreateUser,
    EditUser,
    ArchiveUser,
    DeleteUser,
    ManageRoutingSettings,
    ManageCredentials,
    ManageSettings,
    /// Editing the security-profile catalog and users' profile assignments.
    ManageSecurityProfiles,
}

impl Permission {
    pub const ALL: [Permission; 9] = [
        Permission::ViewUsers,
        Permission::CreateUser,
        Permission::EditUser,
        Permission::ArchiveUser,
        Permission::DeleteUser,
        Permission::ManageRoutingSettings,
        Permission::ManageCredentials,
        Permission::ManageSettings,
        Permission::ManageSecurityProfiles,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::ViewUsers => "ViewUsers",
            Permission::CreateUser => "CreateUser",
            Permission::EditUser => "EditUser",
            Permission::ArchiveUser => "ArchiveUser",
            Permission::DeleteUser => "DeleteUser",
            Permission::ManageRoutingSettings => "ManageRoutingSettings",
            Permission::ManageCredentials => "ManageCredentials",
            Permission::ManageSettings => "ManageSettings",
            Permission::ManageSecurityProfiles => "ManageSecurityProfiles",
        }
    }

    /// Parses a permission name, case-insensitively.
    pub fn parse(name: &str) -> Option<Permission> {
        Permission::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(name))
    }
}

/// Whether the admin surface may edit an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminEdit {
    Never,
    /// Only on users created locally; SSO-owned on IdP-managed users.
    LocalUsersOnly(Permission),
    Always(Permission),
}

/// One row of the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ownership {
    /// Canonical key: a core attribute name, or `urn:…:attribute` for an extension.
    pub attr: &'static str,
    pub owner: Owner,
    pub scim: Mutability,
    pub admin: AdminEdit,
    /// New IdP-created users copy this attribute from the tenant's provisioning template.
    pub from_template: bool,
    /// The values the attribute takes, advertised as `canonicalValues` in `/Schemas`.
    pub canonical: Option<&'static [&'static str]>,
}

const fn idp(attr: &'static str) -> Ownership {
    Ownership {
        attr,
        owner: Owner::Idp,
        scim: Mutability::ReadWrite,
        admin: AdminEdit::Never,
        from_template: false,
        canonical: None,
    }
}

const fn local(attr: &'static str, permission: Permission) -> Ownership {
    Ownership {
        attr,
        owner: Owner::Local,
        scim: Mutability::ReadOnly,
        admin: AdminEdit::Always(permission),
        from_template: true,
        canonical: None,
    }
}

/// A locally-owned attribute that belongs to one user and is never copied from the
/// template (agent id, personal number, the act-as-agent grant).
const fn own(attr: &'static str, permission: Permission) -> Ownership {
    Ownership {
        from_template: false,
        ..local(attr, permission)
    }
}

/// A locally-owned attribute with a fixed set of values.
const fn enumerated(
    attr: &'static str,
    permission: Permission,
    values: &'static [&'static str],
) -> Ownership {
    Ownership {
        canonical: Some(values),
        ..local(attr, permission)
    }
}

macro_rules! cc {
    ($name:literal) => {
        concat!(
            "urn:rollcall:params:scim:schemas:extension:contactcentre:2.0:User:",
            $name
        )
    };
}

macro_rules! ent {
    ($name:literal) => {
        concat!(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:",
            $name
        )
    };
}

/// The registry. Attributes not listed (ims, photos, addresses, entitlements, roles,
/// x509Certificates, userType, profileUrl) are descriptive and IdP-owned like `title`.
pub static REGISTRY: &[Ownership] = &[
    idp("userName"),
    idp("name"),
    idp("displayName"),
    idp("nickName"),
    idp("title"),
    idp("emails"),
    idp("phoneNumbers"),
    idp("locale"),
    idp("timezone"),
    idp("preferredLanguage"),
    idp("externalId"),
    Ownership {
        admin: AdminEdit::LocalUsersOnly(Permission::ArchiveUser),
        ..idp("active")
    },
    Ownership {
        scim: Mutability::WriteOnly,
        ..idp("password")
    },
    Ownership {
        owner: Owner::Derived,
        scim: Mutability::ReadOnly,
        ..idp("groups")
    },
    idp(ent!("employeeNumber")),
    idp(ent!("costCenter")),
    idp(ent!("organization")),
    idp(ent!("division")),
    idp(ent!("department")),
    idp(ent!("manager")),
    Ownership {
        admin: AdminEdit::LocalUsersOnly(Permission::ManageSecurityProfiles),
        ..idp(cc!("securityProfiles"))
    },
    local(cc!("routingProfile"), Permission::ManageRoutingSettings),
    local(cc!("agentHierarchy"), Permission::EditUser),
    enumerated(cc!("licenceType"), Permission::EditUser, &LICENCE_TYPES),
    own(cc!("personalPhoneNumber"), Permission::EditUser),
    local(cc!("mediaLessMode"), Permission::EditUser),
    own(cc!("agentId"), Permission::EditUser),
    // Agent settings: Edit User, as the products have it.
    enumerated(
        cc!("telephonyRegion"),
        Permission::EditUser,
        &TELEPHONY_REGIONS,
    ),
    local(cc!("callbackNumbers"), Permission::EditUser),
    local(cc!("webRtcEnabled"), Permission::EditUser),
    own(cc!("webRtcFallbackNumber"), Permission::EditUser),
    local(cc!("enforcedDispositionCodes"), Permission::EditUser),
    local(cc!("callRecordingControl"), Permission::EditUser),
    local(cc!("screenRecording"), Permission::EditUser),
    local(cc!("allowActAsAgent"), Permission::EditUser),
    own(cc!("actAsAgentGranted"), Permission::EditUser),
    // Routing settings: Manage Routing Settings (routing profile, capacity, skills and levels).
    local(cc!("skills"), Permission::ManageRoutingSettings),
    local(
        cc!("interactionCapacity"),
        Permission::ManageRoutingSettings,
    ),
];

/// Why the admin surface may not edit an attribute of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotEditable {
    /// Computed from other data (group membership).
    Derived,
    /// Owned by the identity provider for this (IdP-managed) user.
    SsoOwned,
    /// Editable, but the caller lacks this permission.
    Needs(Permission),
}

impl std::fmt::Display for NotEditable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotEditable::Derived => f.write_str("derived from group membership"),
            NotEditable::SsoOwned => {
                f.write_str("owned by the identity provider (SSO); change it there")
            }
            NotEditable::Needs(p) => write!(f, "requires the {} permission", p.as_str()),
        }
    }
}

/// Whether a caller holding `permissions` may edit the attribute `key` on the local
/// surfaces, of a user managed locally (`local_user`) or by the identity provider. A
/// locally-managed user is owned locally in full: its IdP-owned attributes need EditUser.
pub fn admin_editability(
    key: &str,
    local_user: bool,
    permissions: &std::collections::BTreeSet<Permission>,
) -> Result<(), NotEditable> {
    let (owner, admin) = match lookup(key) {
        Some(entry) => (entry.owner, entry.admin),
        // Descriptive attributes outside the registry are owned like `title`.
        None => (Owner::Idp, AdminEdit::Never),
    };
    let needed = match (owner, admin) {
        (Owner::Derived, _) => return Err(NotEditable::Derived),
        (_, AdminEdit::Always(p)) => p,
        (_, AdminEdit::LocalUsersOnly(p)) if local_user => p,
        (_, AdminEdit::Never) if local_user => Permission::EditUser,
        _ => return Err(NotEditable::SsoOwned),
    };
    if permissions.contains(&needed) {
        Ok(())
    } else {
        Err(NotEditable::Needs(needed))
    }
}

/// Whether the admin view shows an attribute among the user's attributes: not a write-only
/// one (password) nor a derived one (groups, shown on its own).
pub fn in_admin_view(key: &str) -> bool {
    lookup(key).is_none_or(|o| o.scim != Mutability::WriteOnly && o.owner != Owner::Derived)
}

/// The registry row of a canonical attribute key, matched case-insensitively.
pub fn lookup(attr: &str) -> Option<&'static Ownership> {
    REGISTRY.iter().find(|o| o.attr.eq_ignore_ascii_case(attr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locally_owned_attributes_are_read_only_over_scim() {
        for entry in REGISTRY.iter().filter(|o| o.owner == Owner::Local) {
            assert_eq!(entry.scim, Mutability::ReadOnly, "{}", entry.attr);
            assert!(entry.attr.starts_with(CONTACT_CENTRE), "{}", entry.attr);
        }
        assert_eq!(
            lookup(&format!("{CONTACT_CENTRE}:routingProfile")).map(|o| o.owner),
            Some(Owner::Local)
        );
        assert_eq!(lookup("USERNAME").map(|o| o.owner), Some(Owner::Idp));
        assert!(lookup(&format!("{ENTERPRISE}:manager")).is_some());
    }

    #[test]
    fn one_row_per_attribute_and_template_rows_are_local() {
        let mut keys: Vec<String> = REGISTRY.iter().map(|o| o.attr.to_lowercase()).collect();
        keys.sort();
        let n = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), n, "an attribute has two registry rows");
        for row in REGISTRY.iter().filter(|o| o.from_template) {
            assert_eq!(row.owner, Owner::Local, "{}", row.attr);
        }
        for own in [
            "agentId",
            "personalPhoneNumber",
            "webRtcFallbackNumber",
            "actAsAgentGranted",
        ] {
            let row = lookup(&format!("{CONTACT_CENTRE}:{own}")).expect("row");
            assert!(!row.from_template, "{own} is one user's own");
        }
    }

    #[test]
    fn admin_editability_follows_the_owner_and_the_user() {
        let all: std::collections::BTreeSet<Permission> = Permission::ALL.into_iter().collect();
        let routing = format!("{CONTACT_CENTRE}:routingProfile");
        assert_eq!(admin_editability(&routing, false, &all), Ok(()));
        assert_eq!(
            admin_editability("userName", false, &all),
            Err(NotEditable::SsoOwned)
        );
        assert_eq!(admin_editability("userName", true, &all), Ok(()));
        assert_eq!(
            admin_editability("groups", true, &all),
            Err(NotEditable::Derived)
        );
        let none = std::collections::BTreeSet::new();
        assert_eq!(
            admin_editability(&routing, false, &none),
            Err(NotEditable::Needs(Permission::ManageRoutingSettings))
        );
        assert!(!in_admin_view("password"));
        assert!(!in_admin_view("groups"));
        assert!(in_admin_view("userName"));
    }

    #[test]
    fn security_profiles_need_their_own_permission_locally() {
        let row = lookup(&format!("{CONTACT_CENTRE}:securityProfiles")).expect("row");
        assert_eq!(
            row.admin,
            AdminEdit::LocalUsersOnly(Permission::ManageSecurityProfiles)
        );
        assert_eq!(row.scim, Mutability::ReadWrite);
    }
}
