//! Contact-centre validation (DESIGN.md "Domain rules"): strict where a value drives
//! behaviour, liberal where it only describes. Values that name catalog entries take the
//! catalog's spelling. The local surfaces (admin API, CSV, CLI) also check descriptive
//! attributes; from an identity provider those are stored as sent and only flagged.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::catalog::{CatalogKind, Catalogs};
use super::error::Refusal;
use super::ownership::CONTACT_CENTRE;
use super::tenant::Settings;
use super::windows_zones::WINDOWS_ZONES;
use super::{Error, Result};

/// Licence types, in canonical spelling.
pub const LICENCE_TYPES: [&str; 4] = ["None", "Admin", "AgentDesktop", "AgentDesktopOutbound"];
/// Telephony regions, in canonical spelling; `NAM East` is the default.
pub const TELEPHONY_REGIONS: [&str; 6] = [
    "EMEA Primary",
    "EMEA Secondary",
    "NAM East",
    "NAM West",
    "Singapore",
    "Sydney",
];
/// The default telephony region.
pub const DEFAULT_REGION: &str = "NAM East";
/// Interaction types whose capacity can be set per agent.
pub const INTERACTION_TYPES: [&str; 4] = ["voice", "chat", "email", "task"];

/// The most elements one multi-valued attribute of a user may hold: `emails`,
/// `phoneNumbers`, `addresses`, `ims`, `photos`, `entitlements`, `roles`,
/// `x509Certificates`, and the contact-centre extension's `skills`, `callbackNumbers` and
/// `securityProfiles`. Every element is an index row rewritten on each write. Group
/// members are not bounded here (only by the request body limit).
pub const MAX_MULTI_VALUES: usize = 1000;

/// Who is writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// An identity provider over SCIM.
    Scim,
    /// The admin API, CSV import or CLI.
    Local,
}

fn invalid(field: &str, message: impl std::fmt::Display) -> Error {
    Error::invalid(field, format!("{field}: {message}"))
}

/// The error of a multi-valued attribute given more than [`MAX_MULTI_VALUES`] elements.
pub fn too_many_values(field: &str, count: usize) -> Error {
    invalid(
        field,
        format!("has {count} values; at most {MAX_MULTI_VALUES} are accepted"),
    )
}

/// Checks every multi-valued attribute of a user document, core or extension, against
/// [`MAX_MULTI_VALUES`].
pub fn multi_valued_bounds(doc: &Map<String, Value>) -> Result<()> {
    let check = |name: &str, value: &Value| match value {
        Value::Array(items) if items.len() > MAX_MULTI_VALUES => {
            Err(too_many_values(name, items.len()))
        }
        _ => Ok(()),
    };
    for (key, value) in doc {
        match value {
            Value::Object(fields) if key.starts_with("urn:") => {
                for (name, v) in fields {
                    check(name, v)?;
                }
            }
            _ => check(key, value)?,
        }
    }
    Ok(())
}

/// Checks an E.164 number: `+`, a non-zero digit, at most 15 digits in all.
pub fn is_e164(number: &str) -> bool {
    let Some(digits) = number.strip_prefix('+') else {
        return false;
    };
    (2..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// A given or family name as the local surfaces accept it: letters of any script, digits,
/// spaces, apostrophes and hyphens.
pub fn is_person_name(name: &str) -> bool {
    !name.trim().is_empty()
        && name.chars().all(|c| {
            c.is_alphabetic() || c.is_numeric() || c == ' ' || c == '\'' || c == '-' || c == '’'
        })
}

/// Whether `tz` is an IANA time zone name.
pub fn is_iana_timezone(tz: &str) -> bool {
    tz.parse::<chrono_tz::Tz>().is_ok()
}

/// The agent-desktop licences make a user an agent (who gets an agent id).
pub fn is_agent_licence(licence: Option<&str>) -> bool {
    matches!(licence, Some("AgentDesktop" | "AgentDesktopOutbound"))
}

/// The comparison key of a label: lower case, letters and digits only, so "EMEA - Primary
/// (11)", "emea primary 11" and "EMEA Primary (11)" compare equal.
fn label_key(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Licence types as the products label them, beside the canonical names.
const LICENCE_LABELS: [(&str, &str); 5] = [
    ("AgentDesktop", "Agent Desktop"),
    ("AgentDesktop", "AD"),
    (
        "AgentDesktopOutbound",
        "Agent Desktop + Outbound Campaign Manager",
    ),
    ("AgentDesktopOutbound", "AD+OCM"),
    ("AgentDesktopOutbound", "Agent Desktop + Outbound"),
];

/// Telephony regions as the products label them, with their region numbers.
const REGION_LABELS: [(&str, &str); 5] = [
    ("EMEA Primary", "EMEA - Primary (11)"),
    ("EMEA Secondary", "EMEA - Secondary (8)"),
    ("NAM West", "NAM West (16)"),
    ("Singapore", "Singapore (14)"),
    ("Sydney", "Sydney (12)"),
];

/// The canonical value of `value` among `allowed`, also when it is written as one of the
/// products' labels (`"AD+OCM"`, `"EMEA - Primary (11)"`); compared by [`label_key`].
fn canonical(
    allowed: &'static [&'static str],
    labels: &[(&'static str, &str)],
    value: &str,
) -> Option<&'static str> {
    let key = label_key(value);
    if key.is_empty() {
        return None;
    }
    allowed
        .iter()
        .copied()
        .find(|a| label_key(a) == key)
        .or_else(|| {
            labels
                .iter()
                .find(|(_, label)| label_key(label) == key)
                .map(|(canonical, _)| *canonical)
        })
}

/// The canonical licence type of a value or product label.
pub fn licence_type(value: &str) -> Option<&'static str> {
    canonical(&LICENCE_TYPES, &LICENCE_LABELS, value)
}

/// The canonical telephony region of a value or product label.
pub fn telephony_region(value: &str) -> Option<&'static str> {
    canonical(&TELEPHONY_REGIONS, &REGION_LABELS, value)
}

fn catalog_name(
    catalogs: &Catalogs,
    kind: CatalogKind,
    field: &str,
    value: &Value,
) -> Result<Value> {
    let name = value
        .as_str()
        .ok_or_else(|| invalid(field, "must be a string"))?;
    catalogs
        .find(kind, name)
        .map(|item| Value::String(item.name.clone()))
        .ok_or_else(|| invalid(field, format!("{name:?} is not in the tenant's catalog")))
}

/// Validates and normalises the contact-centre extension of a user document in place.
/// `previous` is the stored document (None on create) for the rules that depend on history.
/// Answers the first error; [`contact_centre_all`] answers every one.
pub fn contact_centre(
    doc: &mut Map<String, Value>,
    previous: Option<&Map<String, Value>>,
    catalogs: &Catalogs,
    settings: &Settings,
    surface: Surface,
) -> Result<()> {
    match contact_centre_all(doc, previous, catalogs, settings, surface)
        .into_iter()
        .next()
    {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Whether a rule that depends on a field is this write's to keep: on a create always, on
/// an edit when the edit changes one of `fields` (a gap the user already had is shown as a
/// warning in the admin view, not blamed on an unrelated edit).
fn touched_by_write(
    cc: &Map<String, Value>,
    old_cc: Option<&Map<String, Value>>,
    previous: Option<&Map<String, Value>>,
    fields: &[&str],
) -> bool {
    previous.is_none()
        || fields
            .iter()
            .any(|f| cc.get(*f) != old_cc.and_then(|o| o.get(*f)))
}

/// Every error of the contact-centre extension of a user document, normalising it in place
/// where the values are good (catalog spelling, canonical labels).
pub fn contact_centre_all(
    doc: &mut Map<String, Value>,
    previous: Option<&Map<String, Value>>,
    catalogs: &Catalogs,
    settings: &Settings,
    surface: Surface,
) -> Vec<Error> {
    let mut errors = Vec::new();
    let old_cc = previous
        .and_then(|p| p.get(CONTACT_CENTRE))
        .and_then(Value::as_object);
    let Some(Value::Object(cc)) = doc.get_mut(CONTACT_CENTRE) else {
        return errors;
    };
    if cc
        .get("securityProfiles")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty)
    {
        errors.push(invalid(
            "securityProfiles",
            "a contact-centre user needs at least one security profile",
        ));
    }
    if let Some(Value::Array(profiles)) = cc.get_mut("securityProfiles") {
        let mut seen = HashSet::new();
        for p in profiles.iter_mut() {
            match catalog_name(
                catalogs,
                CatalogKind::SecurityProfile,
                "securityProfiles",
                p,
            ) {
                Ok(name) => *p = name,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            }
            if !seen.insert(p.as_str().unwrap_or_default().to_string()) {
                errors.push(invalid("securityProfiles", format!("{p} is listed twice")));
            }
        }
    }
    if let Some(v) = cc.get_mut("routingProfile") {
        match catalog_name(catalogs, CatalogKind::RoutingProfile, "routingProfile", v) {
            Ok(name) => *v = name,
            Err(e) => errors.push(e),
        }
    }
    let hierarchy_touched = touched_by_write(cc, old_cc, previous, &["agentHierarchy"]);
    match cc.get_mut("agentHierarchy") {
        Some(v) => match catalog_name(catalogs, CatalogKind::Hierarchy, "agentHierarchy", v) {
            Ok(name) => *v = name,
            Err(e) => errors.push(e),
        },
        None if settings.agent_hierarchy_required
            && surface == Surface::Local
            && hierarchy_touched =>
        {
            errors.push(invalid(
                "agentHierarchy",
                "is required: the tenant requires every user to sit in the agent hierarchy",
            ));
        }
        None => {}
    }
    if let Some(v) = cc.get_mut("licenceType") {
        let text = v.as_str().unwrap_or_default();
        match licence_type(text) {
            Some(found) => *v = Value::String(found.into()),
            None => errors.push(invalid(
                "licenceType",
                format!("{text:?} is not one of {}", LICENCE_TYPES.join(", ")),
            )),
        }
    }
    if let Some(v) = cc.get_mut("telephonyRegion") {
        let text = v.as_str().unwrap_or_default();
        match telephony_region(text) {
            Some(found) => *v = Value::String(found.into()),
            None => errors.push(invalid(
                "telephonyRegion",
                format!("{text:?} is not one of {}", TELEPHONY_REGIONS.join(", ")),
            )),
        }
    }
    if let Some(v) = cc.get("agentId") {
        let id = v.as_str().unwrap_or_default();
        if !is_agent_id(id) {
            errors.push(invalid(
                "agentId",
                format!("{id:?} must be 1-32 letters, digits or hyphens"),
            ));
        }
    }
    if let Some(v) = cc.get("personalPhoneNumber") {
        let number = v.as_str().unwrap_or_default();
        if !settings.direct_to_agent_dialling {
            errors.push(invalid(
                "personalPhoneNumber",
                "the tenant does not use direct-to-agent dialling",
            ));
        } else if !is_e164(number) {
            errors.push(invalid(
                "personalPhoneNumber",
                format!("{number:?} is not an E.164 number like +442071234567"),
            ));
        }
    }
    if let Some(v) = cc.get("webRtcFallbackNumber") {
        let number = v.as_str().unwrap_or_default();
        let own_agent_id = cc.get("agentId").and_then(Value::as_str);
        if !is_e164(number) && own_agent_id != Some(number) {
            errors.push(invalid(
                "webRtcFallbackNumber",
                format!(
                    "{number:?} is neither an E.164 number like +442071234567 nor this agent's own agent ID"
                ),
            ));
        }
    }
    if cc.get("webRtcEnabled").and_then(Value::as_bool) == Some(true)
        && !cc.contains_key("webRtcFallbackNumber")
        && touched_by_write(
            cc,
            old_cc,
            previous,
            &["webRtcEnabled", "webRtcFallbackNumber"],
        )
    {
        errors.push(invalid(
            "webRtcFallbackNumber",
            "is required for WebRTC: a number unique in the tenant, or the agent's own agent ID for an agent who only uses WebRTC",
        ));
    }
    if let Some(Value::Array(skills)) = cc.get_mut("skills") {
        let mut seen: HashSet<String> = HashSet::new();
        for skill in skills.iter_mut() {
            let name = skill.get("name").cloned().unwrap_or(Value::Null);
            let level = skill.get("level").and_then(Value::as_i64);
            let name = match catalog_name(catalogs, CatalogKind::Skill, "skills.name", &name) {
                Ok(name) => name,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            if !level.is_some_and(|l| (1..=10).contains(&l)) {
                errors.push(invalid(
                    "skills.level",
                    format!("{name} needs a level from 1 to 10"),
                ));
            }
            let key = name.as_str().unwrap_or_default().to_lowercase();
            if !seen.insert(key) {
                errors.push(invalid("skills", format!("{name} is listed twice")));
            }
            skill["name"] = name;
        }
    }
    if let Some(Value::Array(numbers)) = cc.get_mut("callbackNumbers") {
        for n in numbers.iter_mut() {
            match catalog_name(catalogs, CatalogKind::CallbackNumber, "callbackNumbers", n) {
                Ok(name) => *n = name,
                Err(e) => errors.push(e),
            }
        }
    }
    if let Some(capacity) = cc.get("interactionCapacity")
        && let Err(e) = check_capacity(capacity)
    {
        errors.push(e);
    }
    // Act-as-agent access, once granted, stays granted; the allow/deny toggle is free.
    let granted_before = old_cc
        .and_then(|o| o.get("actAsAgentGranted"))
        .and_then(Value::as_bool)
        == Some(true);
    let allow = cc.get("allowActAsAgent").and_then(Value::as_bool) == Some(true);
    if cc.get("actAsAgentGranted").and_then(Value::as_bool) == Some(false) && granted_before {
        errors.push(Error::conflict(
            Refusal::Irrevocable,
            "actAsAgentGranted: act-as-agent access, once granted, is never revoked; set allowActAsAgent to false to deny it",
        ));
    }
    if granted_before || allow {
        cc.insert("actAsAgentGranted".into(), Value::Bool(true));
    }
    errors
}

/// An agent id: 1 to 32 letters, digits or hyphens.
pub fn is_agent_id(id: &str) -> bool {
    (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The rules the admin view flags for a stored user that an earlier setting or change left
/// unmet (a later edit is not refused for them): `(field, message)`.
pub fn gaps(doc: &Map<String, Value>, settings: &Settings) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let cc = doc.get(CONTACT_CENTRE).and_then(Value::as_object);
    let has = |f: &str| cc.is_some_and(|cc| cc.contains_key(f));
    if settings.agent_hierarchy_required && cc.is_some() && !has("agentHierarchy") {
        out.push((
            "agentHierarchy".into(),
            "missing: the tenant requires every user to sit in the agent hierarchy".into(),
        ));
    }
    if cc
        .and_then(|cc| cc.get("webRtcEnabled"))
        .and_then(Value::as_bool)
        == Some(true)
        && !has("webRtcFallbackNumber")
    {
        out.push((
            "webRtcFallbackNumber".into(),
            "missing: an agent with WebRTC needs a fallback number".into(),
        ));
    }
    out
}

fn check_capacity(capacity: &Value) -> Result<()> {
    let Some(fields) = capacity.as_object() else {
        return Err(invalid(
            "interactionCapacity",
            "must be an object with a mode",
        ));
    };
    match fields.get("mode").and_then(Value::as_str) {
        Some("default") => {
            if fields.keys().any(|k| k != "mode") {
                return Err(invalid(
                    "interactionCapacity",
                    "mode default takes no percentages",
                ));
            }
        }
        Some("custom") => {
            for (key, value) in fields.iter().filter(|(k, _)| *k != "mode") {
                if !INTERACTION_TYPES.contains(&key.as_str()) {
                    return Err(invalid(
                        "interactionCapacity",
                        format!("{key} is not one of {}", INTERACTION_TYPES.join(", ")),
                    ));
                }
                if !value.as_i64().is_some_and(|p| (0..=100).contains(&p)) {
                    return Err(invalid(
                        &format!("interactionCapacity.{key}"),
                        "must be a percentage from 0 to 100",
                    ));
                }
            }
        }
        _ => {
            return Err(invalid(
                "interactionCapacity",
                "mode must be default or custom",
            ));
        }
    }
    Ok(())
}

/// The local surfaces' checks of descriptive attributes: person names and time zone. Only
/// values this write changes are checked; what an identity provider stored stays as sent.
/// Answers every error.
pub fn local_descriptive(
    doc: &Map<String, Value>,
    previous: Option<&Map<String, Value>>,
) -> Vec<Error> {
    let mut errors = Vec::new();
    let before = |path: &[&str]| {
        let mut node = previous?.get(path[0])?;
        for p in &path[1..] {
            node = node.get(p)?;
        }
        node.as_str()
    };
    if let Some(Value::Object(name)) = doc.get("name") {
        for part in ["givenName", "familyName"] {
            if let Some(v) = name.get(part).and_then(Value::as_str)
                && before(&["name", part]) != Some(v)
                && !is_person_name(v)
            {
                errors.push(invalid(
                    &format!("name.{part}"),
                    "may hold letters, digits, spaces, apostrophes and hyphens only",
                ));
            }
        }
    }
    if let Some(tz) = doc.get("timezone").and_then(Value::as_str)
        && before(&["timezone"]) != Some(tz)
        && !is_iana_timezone(tz)
    {
        errors.push(invalid(
            "timezone",
            format!("{tz:?} is not an IANA time zone name"),
        ));
    }
    errors
}

/// The IANA name of a Windows time zone id (Entra ID sends them for users synchronised from
/// on-premises AD), by CLDR's whole mapping (the zone of territory "001"), ignoring case.
pub fn windows_to_iana(name: &str) -> Option<&'static str> {
    let key = name.to_ascii_lowercase();
    WINDOWS_ZONES
        .binary_search_by(|(windows, _)| windows.to_ascii_lowercase().as_str().cmp(key.as_str()))
        .ok()
        .map(|i| WINDOWS_ZONES[i].1)
}

/// The IANA zone a stored `timezone` stands for: itself when it is an IANA name, its CLDR
/// zone when it is a Windows id, else none. The stored value stays as the identity
/// provider sent it; this is the derived value the admin view shows.
pub fn iana_timezone(tz: &str) -> Option<String> {
    if is_iana_timezone(tz) {
        Some(tz.to_string())
    } else {
        windows_to_iana(tz).map(str::to_string)
    }
}

/// Descriptive values from an identity provider that Rollcall does not recognise; the admin
/// view flags them, provisioning never fails on them.
pub fn unrecognised(doc: &Map<String, Value>) -> Vec<(String, String)> {
    let mut flags = Vec::new();
    if let Some(tz) = doc.get("timezone").and_then(Value::as_str)
        && iana_timezone(tz).is_none()
    {
        flags.push((
            "timezone".into(),
            format!("{tz:?} is neither an IANA time zone name nor a Windows time zone id"),
        ));
    }
    if let Some(Value::Object(name)) = doc.get("name") {
        for part in ["givenName", "familyName"] {
            if let Some(v) = name.get(part).and_then(Value::as_str)
                && !is_person_name(v)
            {
                flags.push((
                    format!("name.{part}"),
                    "holds characters other than letters, digits, spaces, apostrophes and hyphens"
                        .into(),
                ));
            }
        }
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_and_names() {
        assert!(is_e164("+442071234567"));
        assert!(!is_e164("+0442071234567"));
        assert!(!is_e164("02071234567"));
        assert!(!is_e164("+1234567890123456"));
        assert!(is_person_name("Zoë O'Brien-Smith"));
        assert!(is_person_name("山田 太郎"));
        assert!(!is_person_name("Robert'); DROP"));
        assert!(is_iana_timezone("Europe/London"));
        assert!(!is_iana_timezone("GMT Standard Time"));
        for (windows, iana) in WINDOWS_ZONES {
            assert!(
                is_iana_timezone(iana),
                "{windows} maps to {iana}, which chrono-tz does not know"
            );
        }
        assert_eq!(windows_to_iana("gmt standard time"), Some("Europe/London"));
    }

    #[test]
    fn multi_valued_attributes_hold_at_most_the_bound() {
        let doc = |key: &str, n: usize| -> Map<String, Value> {
            let list = Value::Array(vec![Value::from("x"); n]);
            let value = match key.strip_prefix("cc:") {
                Some(name) => serde_json::json!({CONTACT_CENTRE: {name: list}}),
                None => serde_json::json!({key: list}),
            };
            value.as_object().cloned().unwrap_or_default()
        };
        for key in [
            "emails",
            "x509Certificates",
            "cc:skills",
            "cc:callbackNumbers",
        ] {
            assert!(
                multi_valued_bounds(&doc(key, MAX_MULTI_VALUES)).is_ok(),
                "{key}"
            );
            let err =
                multi_valued_bounds(&doc(key, MAX_MULTI_VALUES + 1)).expect_err("one too many");
            let name = key.trim_start_matches("cc:");
            assert!(
                matches!(&err, Error::InvalidValue { field: Some(f), detail: d } if f == name && d.starts_with(name) && d.contains("1000")),
                "{err}"
            );
        }
    }
}
