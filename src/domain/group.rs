//! Groups and their members. Membership is a join table: one row per member.

use serde_json::{Map, Value};

use super::filter::Filter;

/// A change to a group's membership, applied to the join table in order.
#[derive(Debug, Clone, PartialEq)]
pub enum MemberOp {
    Add(Vec<String>),
    Remove(Vec<String>),
    /// Remove the members an element filter selects (`members[type eq "Group"]`).
    RemoveWhere(Filter),
    RemoveAll,
}

/// What a member id points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberType {
    User,
    Group,
}

impl MemberType {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberType::User => "User",
            MemberType::Group => "Group",
        }
    }

    pub fn parse(s: &str) -> MemberType {
        if s == "Group" {
            MemberType::Group
        } else {
            MemberType::User
        }
    }
}

/// One member of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: String,
    pub member_type: MemberType,
}

/// A group a user belongs to, as rendered in the user's `groups` attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRef {
    pub id: String,
    pub display: String,
}

/// A stored group. `attributes` holds `displayName` and `externalId`; members live in the
/// join table and are loaded only when asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub id: String,
    pub tenant_id: String,
    pub version: i64,
    pub created_us: i64,
    pub modified_us: i64,
    pub attributes: Map<String, Value>,
}

impl Group {
    pub fn display_name(&self) -> &str {
        self.attributes
            .get("displayName")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    pub fn external_id(&self) -> Option<&str> {
        self.attributes.get("externalId").and_then(Value::as_str)
    }
}
