//! The fields of the user forms (one user, and several at once): how each is entered,
//! read back from a submitted form, shown read-only with the reason, and where an error
//! lands. Only layout lives here: whether a field is editable comes from the admin view's
//! `editable` map (the ownership registry).

use std::collections::HashMap;

use maud::{Markup, html};
use serde_json::{Map, Value, json};

use crate::domain::catalog::{CatalogKind, Catalogs};
use crate::domain::validation::{LICENCE_TYPES, TELEPHONY_REGIONS};
use crate::http::admin::error::AdminError;

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// How a field of the user page is entered.
#[derive(Clone, Copy)]
pub(super) enum Input {
    Text,
    Check,
    /// One of a list (a catalog's names, or fixed values); empty for none.
    Choose(Source),
    /// Any of a list, as checkboxes, with All and Clear.
    Several(Source),
    Skills,
    Capacity,
    /// A sub-attribute of `name`.
    Name(&'static str),
    /// The primary email's value.
    Email,
}

#[derive(Clone, Copy)]
pub(super) enum Source {
    Catalog(CatalogKind),
    Fixed(&'static [&'static str]),
}

impl Source {
    fn options(self, catalogs: &Catalogs) -> Vec<String> {
        match self {
            Source::Catalog(kind) => catalogs.names(kind),
            Source::Fixed(values) => values.iter().map(|v| v.to_string()).collect(),
        }
    }
}

/// A field of the user page: its form name, its label, how it is entered. The form name
/// is the admin view's field (`name.givenName` for a part of `name`).
pub(super) struct Field {
    pub key: &'static str,
    pub label: &'static str,
    pub input: Input,
}

impl Field {
    /// The admin view field whose `editable` verdict governs this one.
    pub(super) fn view_key(&self) -> &'static str {
        match self.input {
            Input::Name(_) => "name",
            Input::Email => "emails",
            _ => self.key,
        }
    }
}

const fn field(key: &'static str, label: &'static str, input: Input) -> Field {
    Field { key, label, input }
}

/// The user page's sections, in the products' words. Only layout lives here: whether a
/// field is editable comes from the admin view.
pub(super) const SECTIONS: &[(&str, &[Field])] = &[
    (
        "User details",
        &[
            field("userName", "Username", Input::Text),
            field("name.givenName", "First name", Input::Name("givenName")),
            field("name.familyName", "Last name", Input::Name("familyName")),
            field("displayName", "Display name", Input::Text),
            field("email", "Email", Input::Email),
            field("title", "Title", Input::Text),
            field("department", "Department", Input::Text),
            field("employeeNumber", "Employee number", Input::Text),
            field("preferredLanguage", "Preferred language", Input::Text),
            field("timezone", "Time zone", Input::Text),
        ],
    ),
    (
        "Licence status",
        &[field(
            "licenceType",
            "Licence type",
            Input::Choose(Source::Fixed(&LICENCE_TYPES)),
        )],
    ),
    (
        "Agent settings",
        &[
            field("agentId", "Agent ID", Input::Text),
            field(
                "telephonyRegion",
                "Telephony region",
                Input::Choose(Source::Fixed(&TELEPHONY_REGIONS)),
            ),
            field(
                "callbackNumbers",
                "Callback numbers",
                Input::Several(Source::Catalog(CatalogKind::CallbackNumber)),
            ),
            field("webRtcEnabled", "WebRTC", Input::Check),
            field(
                "webRtcFallbackNumber",
                "WebRTC fallback number",
                Input::Text,
            ),
            field(
                "enforcedDispositionCodes",
                "Enforced disposition codes",
                Input::Check,
            ),
            field(
                "callRecordingControl",
                "Call recording control",
                Input::Check,
            ),
            field("screenRecording", "Screen recording", Input::Check),
            field("allowActAsAgent", "Allow act as agent", Input::Check),
        ],
    ),
    (
        "Routing settings",
        &[
            field(
                "routingProfile",
                "Routing profile",
                Input::Choose(Source::Catalog(CatalogKind::RoutingProfile)),
            ),
            field("skills", "Skills", Input::Skills),
            field(
                "interactionCapacity",
                "Interaction capacity",
                Input::Capacity,
            ),
        ],
    ),
    (
        "Security profiles",
        &[field(
            "securityProfiles",
            "Security profiles",
            Input::Several(Source::Catalog(CatalogKind::SecurityProfile)),
        )],
    ),
    (
        "Agent hierarchy",
        &[field(
            "agentHierarchy",
            "Agent hierarchy",
            Input::Choose(Source::Catalog(CatalogKind::Hierarchy)),
        )],
    ),
    (
        "Personal phone number",
        &[field(
            "personalPhoneNumber",
            "Personal phone number",
            Input::Text,
        )],
    ),
    (
        "Media-less mode",
        &[field("mediaLessMode", "Media-less mode", Input::Check)],
    ),
];

pub(super) fn fields() -> impl Iterator<Item = &'static Field> {
    SECTIONS.iter().flat_map(|(_, fields)| fields.iter())
}

/// The primary email's value (else the first).
pub(super) fn primary_email(view: &Value) -> Option<&str> {
    let emails = view.get("emails")?.as_array()?;
    emails
        .iter()
        .find(|e| e["primary"] == Value::Bool(true))
        .or_else(|| emails.first())
        .and_then(|e| e.get("value"))
        .and_then(Value::as_str)
}

/// A field's current value in a view, as the form holds it.
pub(super) fn value_of(view: &Value, f: &Field) -> Value {
    match f.input {
        Input::Name(part) => view
            .get("name")
            .and_then(|n| n.get(part))
            .cloned()
            .unwrap_or(Value::Null),
        Input::Email => primary_email(view).map_or(Value::Null, |e| json!(e)),
        Input::Check => json!(view.get(f.key).and_then(Value::as_bool).unwrap_or(false)),
        Input::Several(_) | Input::Skills => view
            .get(f.key)
            .cloned()
            .filter(|v| !v.is_null())
            .unwrap_or(json!([])),
        Input::Capacity => view
            .get(f.key)
            .cloned()
            .filter(|v| !v.is_null())
            .unwrap_or(json!({"mode": "default"})),
        Input::Text | Input::Choose(_) => view.get(f.key).cloned().unwrap_or(Value::Null),
    }
}

/// Whether this caller may edit the field, and why not (from the admin view).
pub(super) fn verdict<'a>(view: &'a Value, f: &Field) -> Result<(), &'a str> {
    let entry = &view["editable"][f.view_key()];
    if entry["editable"].as_bool().unwrap_or(false) {
        Ok(())
    } else {
        Err(entry["reason"].as_str().unwrap_or("not editable here"))
    }
}

/// The words shown for a field that is not editable.
pub(super) fn why_read_only(reason: &str) -> String {
    if reason.starts_with("owned by the identity provider") {
        "Managed by your identity provider".to_string()
    } else {
        let mut s = reason.to_string();
        if let Some(first) = s.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        s
    }
}

/// The submitted form, as (name, value) pairs in order.
pub(super) type Form = Vec<(String, String)>;

pub(super) fn form_values<'a>(form: &'a Form, name: &str) -> impl Iterator<Item = &'a str> {
    form.iter()
        .filter(move |(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

pub(super) fn form_value<'a>(form: &'a Form, name: &str) -> Option<&'a str> {
    form_values(form, name).next()
}

/// What the form says of a field (only fields the form showed as editable are read).
pub(super) fn submitted(form: &Form, f: &Field, catalogs: &Catalogs) -> Value {
    let trimmed = |name: &str| {
        form_value(form, name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map_or(Value::Null, |v| json!(v))
    };
    match f.input {
        Input::Text | Input::Choose(_) | Input::Name(_) | Input::Email => trimmed(f.key),
        Input::Check => json!(form_value(form, f.key).is_some()),
        Input::Several(_) => json!(form_values(form, f.key).collect::<Vec<_>>()),
        Input::Skills => json!(
            catalogs
                .names(CatalogKind::Skill)
                .iter()
                .filter_map(|name| {
                    let level = form_value(form, &format!("skill:{name}"))?.trim();
                    if level.is_empty() {
                        return None;
                    }
                    Some(match level.parse::<i64>() {
                        Ok(n) => json!({"name": name, "level": n}),
                        Err(_) => json!({"name": name, "level": level}),
                    })
                })
                .collect::<Vec<_>>()
        ),
        Input::Capacity => {
            if form_value(form, "capacity.mode") == Some("custom") {
                let mut out = Map::from_iter([("mode".to_string(), json!("custom"))]);
                for kind in crate::domain::validation::INTERACTION_TYPES {
                    let raw = form_value(form, &format!("capacity.{kind}"))
                        .unwrap_or("")
                        .trim();
                    if !raw.is_empty() {
                        out.insert(
                            kind.to_string(),
                            raw.parse::<i64>().map_or(json!(raw), |n| json!(n)),
                        );
                    }
                }
                Value::Object(out)
            } else {
                json!({"mode": "default"})
            }
        }
    }
}

/// The merge patch of the admin view that the form asks for: only the fields it changes.
/// Also answers the view with the submitted values in place, to show the form again.
pub(super) fn patch_of(view: &Value, form: &Form, catalogs: &Catalogs) -> (Value, Value) {
    let mut patch = Map::new();
    let mut shown = view.clone();
    for f in fields().filter(|f| verdict(view, f).is_ok()) {
        let now = value_of(view, f);
        let wanted = submitted(form, f, catalogs);
        if wanted == now {
            continue;
        }
        match f.input {
            Input::Name(part) => {
                let name = patch.entry("name").or_insert_with(|| json!({}));
                name[part] = wanted.clone();
                shown["name"][part] = wanted;
            }
            Input::Email => {
                // The primary email's value changes; other addresses stay.
                let mut emails: Vec<Value> = view
                    .get("emails")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let at = emails
                    .iter()
                    .position(|e| e["primary"] == Value::Bool(true))
                    .or(if emails.is_empty() { None } else { Some(0) });
                match (&wanted, at) {
                    (Value::Null, Some(i)) => {
                        emails.remove(i);
                    }
                    (Value::Null, None) => {}
                    (v, Some(i)) => emails[i]["value"] = v.clone(),
                    (v, None) => emails.push(json!({"value": v, "type": "work", "primary": true})),
                }
                let emails = if emails.is_empty() {
                    Value::Null
                } else {
                    json!(emails)
                };
                patch.insert("emails".into(), emails.clone());
                shown["emails"] = emails;
            }
            _ => {
                patch.insert(f.key.into(), wanted.clone());
                shown[f.key] = wanted;
            }
        }
    }
    (Value::Object(patch), shown)
}

/// An error of the form, placed at its field when it names one the page shows.
pub(super) struct Problem {
    pub field: Option<&'static str>,
    pub message: String,
}

pub(super) fn place(errors: &[AdminError]) -> Vec<Problem> {
    errors
        .iter()
        .map(|e| {
            let named = e
                .fields
                .as_ref()
                .and_then(|f| f.first())
                .map(|f| f.rsplit(':').next().unwrap_or(f).to_string());
            let field = named.and_then(|n| {
                fields()
                    .find(|f| f.key.eq_ignore_ascii_case(&n) || f.view_key() == n)
                    .or_else(|| {
                        let top = n.split('.').next().unwrap_or(&n);
                        fields().find(|f| f.key.eq_ignore_ascii_case(top))
                    })
                    .map(|f| f.key)
            });
            Problem {
                field,
                message: e.detail.clone(),
            }
        })
        .collect()
}

/// Id of the element showing a field's error.
pub(super) fn error_id(key: &str) -> String {
    format!("error-{}", key.replace('.', "-"))
}

pub(super) fn input_id(key: &str) -> String {
    format!("f-{}", key.replace('.', "-"))
}

/// The bar with Save and the number of errors; Save is disabled while there are some.
pub(super) fn save_bar(problems: &[Problem], oob: bool) -> Markup {
    let count = problems.len();
    html! {
        div #save-bar.save-bar hx-swap-oob=[oob.then_some("true")] {
            button.primary #save type="submit" disabled[count > 0] { "Save" }
            @if count > 0 {
                span.error-count role="alert" {
                    (count) " " (if count == 1 { "error" } else { "errors" }) " to fix before saving"
                }
                @for p in problems.iter().filter(|p| p.field.is_none()) {
                    span.error { (p.message) }
                }
            }
        }
    }
}

pub(super) fn field_error(key: &str, problems: &[Problem], oob: bool) -> Markup {
    let messages: Vec<&str> = problems
        .iter()
        .filter(|p| p.field == Some(key))
        .map(|p| p.message.as_str())
        .collect();
    html! {
        span.field-error id=(error_id(key)) hx-swap-oob=[oob.then_some("true")] {
            @for m in &messages { (m) " " }
        }
    }
}

pub(super) fn render_input(f: &Field, value: &Value, catalogs: &Catalogs) -> Markup {
    let id = input_id(f.key);
    let described = error_id(f.key);
    match f.input {
        Input::Text | Input::Name(_) | Input::Email => html! {
            input id=(id) type=(if matches!(f.input, Input::Email) { "email" } else { "text" })
                name=(f.key) value=(value.as_str().unwrap_or("")) aria-describedby=(described);
        },
        Input::Check => html! {
            input id=(id) type="checkbox" name=(f.key) checked[value.as_bool().unwrap_or(false)]
                aria-describedby=(described);
        },
        Input::Choose(source) => {
            let current = value.as_str().unwrap_or("");
            let mut options = source.options(catalogs);
            if !current.is_empty() && !options.iter().any(|o| o == current) {
                options.push(current.to_string());
            }
            html! {
                select id=(id) name=(f.key) aria-describedby=(described) {
                    option value="" selected[current.is_empty()] { "(none)" }
                    @for o in &options { option value=(o) selected[o == current] { (o) } }
                }
            }
        }
        Input::Several(source) => {
            let chosen: Vec<&str> = value
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let options = source.options(catalogs);
            html! {
                div.choices role="group" aria-labelledby={ (id) "-label" } id=(id) {
                    @if options.is_empty() { span.hint { "The catalog is empty." } }
                    @for (i, o) in options.iter().enumerate() {
                        @let oid = format!("{id}-{i}");
                        span.choice {
                            input id=(oid) type="checkbox" name=(f.key) value=(o)
                                checked[chosen.contains(&o.as_str())];
                            label for=(oid) { (o) }
                        }
                    }
                    @if options.len() > 1 {
                        span.all-clear {
                            button type="button" data-check-all=(id) { "All" }
                            button type="button" data-check-none=(id) { "Clear" }
                        }
                    }
                }
            }
        }
        Input::Skills => {
            let levels: HashMap<&str, String> = value
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|s| (text(s, "name"), s["level"].to_string()))
                        .collect()
                })
                .unwrap_or_default();
            let skills = catalogs.names(CatalogKind::Skill);
            html! {
                table.skills id=(id) {
                    thead { tr { th scope="col" { "Skill" } th scope="col" { "Level (1–10)" } } }
                    tbody {
                        @for (i, name) in skills.iter().enumerate() {
                            @let sid = format!("{id}-{i}");
                            @let level = levels.get(name.as_str()).cloned().unwrap_or_default();
                            tr {
                                td { label for=(sid) { (name) } }
                                td {
                                    select id=(sid) name={ "skill:" (name) } {
                                        option value="" selected[level.is_empty()] { "—" }
                                        @for n in 1..=10 {
                                            option value=(n) selected[level == n.to_string()] { (n) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if skills.is_empty() { span.hint { "The skills catalog is empty." } }
            }
        }
        Input::Capacity => {
            let custom = value["mode"] == "custom";
            html! {
                div.capacity role="group" id=(id) {
                    span.choice {
                        input #capacity-default type="radio" name="capacity.mode" value="default" checked[!custom];
                        label for="capacity-default" { "Default" }
                    }
                    span.choice {
                        input #capacity-custom type="radio" name="capacity.mode" value="custom" checked[custom];
                        label for="capacity-custom" { "Custom" }
                    }
                    @for kind in crate::domain::validation::INTERACTION_TYPES {
                        @let cid = format!("capacity-{kind}");
                        span.percent {
                            label for=(cid) { (kind) " %" }
                            input id=(cid) type="number" min="0" max="100" name={ "capacity." (kind) }
                                value=(match &value[kind] { Value::Null => String::new(), Value::String(s) => s.clone(), v => v.to_string() });
                        }
                    }
                }
            }
        }
    }
}

pub(super) fn read_only_value(f: &Field, value: &Value) -> String {
    match (f.input, value) {
        (_, Value::Null) => "—".into(),
        (Input::Check, Value::Bool(b)) => if *b { "On" } else { "Off" }.into(),
        (Input::Skills, Value::Array(a)) if a.is_empty() => "—".into(),
        (Input::Skills, Value::Array(a)) => a
            .iter()
            .map(|s| format!("{} ({})", text(s, "name"), s["level"]))
            .collect::<Vec<_>>()
            .join(", "),
        (Input::Several(_), Value::Array(a)) if a.is_empty() => "—".into(),
        (Input::Several(_), Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        (Input::Capacity, v) if v["mode"] == "custom" => {
            let parts: Vec<String> = crate::domain::validation::INTERACTION_TYPES
                .iter()
                .filter(|k| !v[**k].is_null())
                .map(|k| format!("{k} {}%", v[*k]))
                .collect();
            format!("Custom: {}", parts.join(", "))
        }
        (Input::Capacity, _) => "Default".into(),
        (_, Value::String(s)) => s.clone(),
        (_, v) => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Form {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn editable_view(extra: Value) -> Value {
        let mut editable = Map::new();
        for f in fields() {
            editable.insert(f.view_key().into(), json!({"editable": true}));
        }
        let mut view =
            json!({"id": "u1", "userName": "ann", "version": "W/\"1\"", "editable": editable});
        for (k, v) in extra.as_object().unwrap() {
            view[k] = v.clone();
        }
        view
    }

    #[test]
    fn an_unchanged_form_patches_nothing() {
        let view = editable_view(json!({"displayName": "Ann", "webRtcEnabled": false}));
        let (patch, _) = patch_of(
            &view,
            &form(&[
                ("userName", "ann"),
                ("displayName", "Ann"),
                ("capacity.mode", "default"),
            ]),
            &Catalogs::default(),
        );
        assert_eq!(patch, json!({}));
    }

    #[test]
    fn a_changed_field_and_an_unticked_box_are_patched() {
        let view = editable_view(json!({"displayName": "Ann", "screenRecording": true}));
        let (patch, _) = patch_of(
            &view,
            &form(&[
                ("userName", "ann"),
                ("displayName", "Ann B"),
                ("capacity.mode", "default"),
            ]),
            &Catalogs::default(),
        );
        assert_eq!(
            patch,
            json!({"displayName": "Ann B", "screenRecording": false})
        );
    }

    #[test]
    fn fields_the_view_marks_read_only_are_never_patched() {
        let mut view = editable_view(json!({"displayName": "Ann"}));
        view["editable"]["displayName"] = json!({"editable": false, "reason": "owned by the identity provider (SSO); change it there"});
        let (patch, _) = patch_of(
            &view,
            &form(&[
                ("userName", "ann"),
                ("displayName", "Mallory"),
                ("capacity.mode", "default"),
            ]),
            &Catalogs::default(),
        );
        assert_eq!(patch, json!({}));
    }

    #[test]
    fn the_primary_email_is_replaced_and_others_kept() {
        let view = editable_view(json!({"emails": [
            {"value": "old@x.test", "primary": true, "type": "work"},
            {"value": "home@x.test", "type": "home"}
        ]}));
        let (patch, _) = patch_of(
            &view,
            &form(&[
                ("userName", "ann"),
                ("email", "new@x.test"),
                ("capacity.mode", "default"),
            ]),
            &Catalogs::default(),
        );
        assert_eq!(
            patch["emails"],
            json!([{"value": "new@x.test", "primary": true, "type": "work"}, {"value": "home@x.test", "type": "home"}])
        );
    }
}
