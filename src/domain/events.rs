//! SCIM events (RFC 9967): what each change of the directory tells a tenant's event
//! receivers. Derived from the change's audit record, so every surface that writes one —
//! SCIM, /Bulk, the admin API, uploads, the console, the CLI — emits the same events, in
//! the same transaction.
//!
//! Rollcall sends the `notice` forms: the event names the resource and the attributes that
//! changed, never their values (a receiver reads the resource with SCIM when it needs them),
//! so no personal data or secret travels in an event.

use serde_json::{Map, Value, json};

use super::audit::Entry;

/// The URI prefix of every SCIM event.
pub const PREFIX: &str = "urn:ietf:params:scim:event:";

/// The events Rollcall emits, by their short names (the URI after [`PREFIX`]).
pub const NAMES: [&str; 8] = [
    "prov:create:notice",
    "prov:patch:notice",
    "prov:put:notice",
    "prov:delete",
    "prov:activate",
    "prov:deactivate",
    "feed:add",
    "feed:remove",
];

/// The most member ids one `feed:add`/`feed:remove` event lists; a larger membership change
/// becomes several events.
pub const MEMBERS_PER_EVENT: usize = 1000;

/// One event about one resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The short name, one of [`NAMES`].
    pub name: &'static str,
    /// `Users` or `Groups`.
    pub resource_type: &'static str,
    pub resource_id: String,
    /// The event's payload (the value of its URI in the SET's `events`).
    pub payload: Value,
}

impl Event {
    /// The event's full URI.
    pub fn uri(&self) -> String {
        format!("{PREFIX}{}", self.name)
    }

    /// The SET claims Rollcall stores for the event (`iss`, `aud` and `iat` are added when
    /// it is delivered): `jti`, `txn` (shared by the events of one change), `sub_id` and
    /// `events`.
    pub fn claims(&self, jti: &str, txn: &str, created_us: i64) -> Value {
        let mut events = Map::new();
        events.insert(self.uri(), self.payload.clone());
        json!({
            "jti": jti,
            "txn": txn,
            "toe": created_us / 1_000_000,
            "sub_id": {
                "format": "scim",
                "uri": format!("/{}/{}", self.resource_type, self.resource_id),
            },
            "events": events,
        })
    }
}

/// Whether `name` is an event name a receiver can ask for: one of [`NAMES`], or a prefix of
/// some (`prov`, `prov:create`, `feed`).
pub fn is_known(name: &str) -> bool {
    NAMES
        .iter()
        .any(|n| *n == name || n.starts_with(&format!("{name}:")))
}

/// Whether a receiver asking for `wanted` (names or prefixes; empty: everything) takes `name`.
pub fn wants(wanted: &[String], name: &str) -> bool {
    wanted.is_empty()
        || wanted
            .iter()
            .any(|w| name == w || name.starts_with(&format!("{w}:")))
}

/// The attributes a change touched, as its notice lists them: top-level names (an
/// extension's attributes under their URN-qualified names), membership bookkeeping aside.
fn attributes(changes: &Map<String, Value>) -> Vec<String> {
    let mut names: Vec<String> = changes
        .keys()
        .filter(|k| !k.starts_with("members.") && *k != "managedBy")
        .cloned()
        .collect();
    names.sort();
    names.dedup();
    names
}

/// `Some(true)` when the change turned the user active, `Some(false)` inactive.
fn activity(changes: &Map<String, Value>) -> Option<bool> {
    let active = changes.get("active")?;
    let before = active
        .get("before")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let after = active.get("after").and_then(Value::as_bool)?;
    (before != after).then_some(after)
}

fn member_events(group_id: &str, name: &'static str, ids: Option<&Value>) -> Vec<Event> {
    let ids: Vec<&str> = ids
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    ids.chunks(MEMBERS_PER_EVENT)
        .map(|chunk| Event {
            name,
            resource_type: "Groups",
            resource_id: group_id.to_string(),
            payload: json!({"members": chunk.iter().map(|id| json!({"value": id})).collect::<Vec<_>>()}),
        })
        .collect()
}

/// The events an audited change emits, in order: none for changes outside Users and Groups.
pub fn of(entry: &Entry) -> Vec<Event> {
    let resource_type = match entry.target_type.as_str() {
        "user" => "Users",
        "group" => "Groups",
        _ => return Vec::new(),
    };
    let id = entry.target_id.as_str();
    let event = |name: &'static str, payload: Value| Event {
        name,
        resource_type,
        resource_id: id.to_string(),
        payload,
    };
    let notice = || json!({"attributes": attributes(&entry.changes)});
    let action = entry.action.rsplit('.').next().unwrap_or_default();
    let mut out = Vec::new();
    match action {
        "create" => out.push(event("prov:create:notice", notice())),
        "delete" => return vec![event("prov:delete", json!({}))],
        "archive" => return vec![event("prov:deactivate", json!({}))],
        "reactivate" => return vec![event("prov:activate", json!({}))],
        other => {
            if !attributes(&entry.changes).is_empty() {
                let name = if other == "replace" {
                    "prov:put:notice"
                } else {
                    "prov:patch:notice"
                };
                out.push(event(name, notice()));
            }
        }
    }
    if resource_type == "Users" {
        match activity(&entry.changes) {
            Some(true) if action != "create" => out.push(event("prov:activate", json!({}))),
            Some(false) => out.push(event("prov:deactivate", json!({}))),
            _ => {}
        }
    } else {
        out.extend(member_events(
            id,
            "feed:add",
            entry.changes.get("members.added"),
        ));
        out.extend(member_events(
            id,
            "feed:remove",
            entry.changes.get("members.removed"),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::audit::Actor;

    fn entry(action: &str, target: &str, changes: Value) -> Entry {
        Entry::new(
            "t",
            &Actor::cli(),
            action,
            target,
            "id1",
            changes.as_object().cloned().unwrap(),
        )
    }

    fn names(events: &[Event]) -> Vec<&str> {
        events.iter().map(|e| e.name).collect()
    }

    #[test]
    fn each_change_emits_its_events() {
        let create = of(&entry(
            "user.create",
            "user",
            json!({"userName": {"before": null, "after": "a"}, "active": {"before": null, "after": true}}),
        ));
        assert_eq!(names(&create), ["prov:create:notice"]);
        assert_eq!(
            create[0].payload,
            json!({"attributes": ["active", "userName"]})
        );
        let off = of(&entry(
            "user.patch",
            "user",
            json!({"active": {"before": true, "after": false}}),
        ));
        assert_eq!(names(&off), ["prov:patch:notice", "prov:deactivate"]);
        let put = of(&entry(
            "user.replace",
            "user",
            json!({"title": {"before": "a", "after": "b"}}),
        ));
        assert_eq!(names(&put), ["prov:put:notice"]);
        assert_eq!(
            names(&of(&entry("user.archive", "user", json!({})))),
            ["prov:deactivate"]
        );
        assert_eq!(
            names(&of(&entry("group.delete", "group", json!({})))),
            ["prov:delete"]
        );
        assert!(of(&entry("catalog.create", "catalog", json!({}))).is_empty());
    }

    #[test]
    fn membership_changes_are_feed_events_in_chunks() {
        let ids: Vec<String> = (0..2500).map(|i| format!("u{i}")).collect();
        let events = of(&entry(
            "group.update",
            "group",
            json!({"members.added": ids, "members.removed": ["x"]}),
        ));
        assert_eq!(
            names(&events),
            ["feed:add", "feed:add", "feed:add", "feed:remove"]
        );
        assert_eq!(events[2].payload["members"].as_array().unwrap().len(), 500);
        assert_eq!(events[3].payload, json!({"members": [{"value": "x"}]}));
    }

    #[test]
    fn receivers_take_names_or_prefixes() {
        assert!(wants(&[], "feed:add"));
        assert!(wants(&["prov".into()], "prov:create:notice"));
        assert!(wants(&["prov:create".into()], "prov:create:notice"));
        assert!(!wants(&["prov:create".into()], "prov:delete"));
        assert!(!wants(&["pro".into()], "prov:delete"));
        assert!(is_known("prov:create") && is_known("feed") && !is_known("prov:nope"));
    }
}
