//! The schema registry (RFC 7643 §7): the schema files in `schemas/`, embedded at build time,
//! with the contact-centre extension's mutability taken from the ownership registry.

use serde_json::{Map, Value};

use crate::domain::ownership::{self, CONTACT_CENTRE, ENTERPRISE, Mutability};
use crate::domain::validation::MAX_MULTI_VALUES;

const USER_JSON: &str = include_str!("../../schemas/user.json");
const GROUP_JSON: &str = include_str!("../../schemas/group.json");
const ENTERPRISE_JSON: &str = include_str!("../../schemas/enterprise_user.json");
const CONTACT_CENTRE_JSON: &str = include_str!("../../schemas/contact_centre_user.json");
const RESOURCE_TYPES_JSON: &str = include_str!("../../schemas/resource_types.json");

/// RFC 7643 §2.3 attribute data types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

/// RFC 7643 §7 `returned`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

/// One attribute definition.
#[derive(Debug, Clone)]
pub struct Attribute {
    pub name: String,
    pub kind: AttrType,
    pub multi_valued: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub sub_attributes: Vec<Attribute>,
}

impl Attribute {
    /// The sub-attribute of that name, matched case-insensitively.
    pub fn sub(&self, name: &str) -> Option<&Attribute> {
        find(&self.sub_attributes, name)
    }
}

/// One schema: its URN, attributes, and its `/Schemas` representation.
#[derive(Debug, Clone)]
pub struct Schema {
    pub id: String,
    pub attributes: Vec<Attribute>,
    pub json: Value,
}

impl Schema {
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        find(&self.attributes, name)
    }
}

fn find<'a>(attributes: &'a [Attribute], name: &str) -> Option<&'a Attribute> {
    attributes
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(name))
}

/// A resource type's schemas: the core one and its extensions.
#[derive(Debug, Clone)]
pub struct ResourceSchema {
    pub name: &'static str,
    pub endpoint: &'static str,
    pub core: Schema,
    pub extensions: Vec<Schema>,
}

impl ResourceSchema {
    /// The extension whose URN equals `urn`, case-insensitively.
    pub fn extension(&self, urn: &str) -> Option<&Schema> {
        self.extensions
            .iter()
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// The core schema or an extension by URN.
    pub fn schema(&self, urn: &str) -> Option<&Schema> {
        if self.core.id.eq_ignore_ascii_case(urn) {
            Some(&self.core)
        } else {
            self.extension(urn)
        }
    }
}

/// Every schema and resource type Rollcall serves.
#[derive(Debug, Clone)]
pub struct Registry {
    pub user: ResourceSchema,
    pub group: ResourceSchema,
    pub resource_types: Vec<Value>,
}

/// Why the embedded schema files could not be read (a build defect, caught by a unit test).
#[derive(Debug, thiserror::Error)]
#[error("schema file {file}: {reason}")]
pub struct SchemaFileError {
    file: &'static str,
    reason: String,
}

impl Registry {
    /// Parses the embedded schema files and applies the ownership registry's mutability.
    pub fn load() -> Result<Registry, SchemaFileError> {
        let user = parse_schema("user.json", USER_JSON, None)?;
        let enterprise = parse_schema("enterprise_user.json", ENTERPRISE_JSON, Some(ENTERPRISE))?;
        let contact_centre = parse_schema(
            "contact_centre_user.json",
            CONTACT_CENTRE_JSON,
            Some(CONTACT_CENTRE),
        )?;
        let group = parse_schema("group.json", GROUP_JSON, None)?;
        let resource_types: Vec<Value> =
            serde_json::from_str(RESOURCE_TYPES_JSON).map_err(|e| SchemaFileError {
                file: "resource_types.json",
                reason: e.to_string(),
            })?;
        Ok(Registry {
            user: ResourceSchema {
                name: "User",
                endpoint: "/Users",
                core: user,
                extensions: vec![enterprise, contact_centre],
            },
            group: ResourceSchema {
                name: "Group",
                endpoint: "/Groups",
                core: group,
                extensions: Vec::new(),
            },
            resource_types,
        })
    }

    /// Every schema, core first.
    pub fn schemas(&self) -> impl Iterator<Item = &Schema> {
        [&self.user.core, &self.group.core]
            .into_iter()
            .chain(self.user.extensions.iter())
    }
}

fn parse_schema(
    file: &'static str,
    text: &str,
    extension: Option<&str>,
) -> Result<Schema, SchemaFileError> {
    let fail = |reason: String| SchemaFileError { file, reason };
    let mut json: Value = serde_json::from_str(text).map_err(|e| fail(e.to_string()))?;
    let id = json
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| fail("no id".into()))?
        .to_string();
    // The ownership registry decides mutability; the file only describes.
    if let Some(attrs) = json.get_mut("attributes").and_then(Value::as_array_mut) {
        for attr in attrs.iter_mut() {
            let Some(name) = attr.get("name").and_then(Value::as_str).map(str::to_string) else {
                continue;
            };
            // The bound on a user's multi-valued attributes is advertised where clients read
            // the attribute (a group's members are bounded by the body size only).
            if attr.get("multiValued") == Some(&Value::Bool(true))
                && name != "members"
                && name != "groups"
            {
                let bound = format!(
                    "Rollcall accepts at most {MAX_MULTI_VALUES} values (more is 400 invalidValue)."
                );
                let description = match attr.get("description").and_then(Value::as_str) {
                    Some(text) if !text.is_empty() => format!("{text} {bound}"),
                    _ => bound,
                };
                attr["description"] = Value::String(description);
            }
            let key = match extension {
                Some(urn) => format!("{urn}:{name}"),
                None => name.to_string(),
            };
            if let Some(entry) = ownership::lookup(&key) {
                attr["mutability"] = Value::String(entry.scim.as_str().to_string());
                if let Some(values) = entry.canonical {
                    attr["canonicalValues"] = values.iter().map(|v| Value::from(*v)).collect();
                }
            }
        }
    }
    let attributes = json
        .get("attributes")
        .and_then(Value::as_array)
        .ok_or_else(|| fail("no attributes".into()))?
        .iter()
        .map(parse_attribute)
        .collect::<Result<Vec<_>, String>>()
        .map_err(fail)?;
    Ok(Schema {
        id,
        attributes,
        json,
    })
}

fn parse_attribute(json: &Value) -> Result<Attribute, String> {
    let text = |key: &str| -> Result<&str, String> {
        json.get(key)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("attribute without {key}: {json}"))
    };
    let flag = |key: &str| json.get(key).and_then(Value::as_bool).unwrap_or(false);
    let name = text("name")?.to_string();
    let kind = match text("type")? {
        "string" => AttrType::String,
        "boolean" => AttrType::Boolean,
        "decimal" => AttrType::Decimal,
        "integer" => AttrType::Integer,
        "dateTime" => AttrType::DateTime,
        "binary" => AttrType::Binary,
        "reference" => AttrType::Reference,
        "complex" => AttrType::Complex,
        other => return Err(format!("{name}: unknown type {other}")),
    };
    let mutability = match text("mutability")? {
        "readOnly" => Mutability::ReadOnly,
        "readWrite" => Mutability::ReadWrite,
        "immutable" => Mutability::Immutable,
        "writeOnly" => Mutability::WriteOnly,
        other => return Err(format!("{name}: unknown mutability {other}")),
    };
    let returned = match text("returned")? {
        "always" => Returned::Always,
        "never" => Returned::Never,
        "default" => Returned::Default,
        "request" => Returned::Request,
        other => return Err(format!("{name}: unknown returned {other}")),
    };
    let sub_attributes = match json.get("subAttributes").and_then(Value::as_array) {
        Some(subs) => subs.iter().map(parse_attribute).collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    Ok(Attribute {
        name,
        kind,
        multi_valued: flag("multiValued"),
        required: flag("required"),
        case_exact: flag("caseExact"),
        mutability,
        returned,
        sub_attributes,
    })
}

/// The `/Schemas` representation of a schema with `meta.location` made absolute and the
/// tenant's security profiles as `canonicalValues`.
/// What a tenant changes in the schemas it is shown: the security profiles of its catalog
/// (`canonicalValues`), and whether its users' primary emails are unique.
#[derive(Debug, Clone)]
pub struct TenantSchema {
    pub security_profiles: Vec<String>,
    pub unique_primary_email: bool,
}

impl Default for TenantSchema {
    /// What a caller without a tenant is shown: no catalog, the settings' defaults.
    fn default() -> Self {
        TenantSchema {
            security_profiles: Vec::new(),
            unique_primary_email: crate::domain::tenant::Settings::default().unique_primary_email,
        }
    }
}

/// A schema as served to a tenant: its `meta.location` under `base`, and the tenant's
/// values (see [`TenantSchema`]).
pub fn schema_json(schema: &Schema, base: &str, tenant: &TenantSchema) -> Value {
    let security_profiles = &tenant.security_profiles;
    let mut json = schema.json.clone();
    if let Some(meta) = json.get_mut("meta").and_then(Value::as_object_mut) {
        meta.insert(
            "location".into(),
            Value::String(format!("{base}/Schemas/{}", schema.id)),
        );
    } else if let Some(obj) = json.as_object_mut() {
        let mut meta = Map::new();
        meta.insert("resourceType".into(), "Schema".into());
        meta.insert(
            "location".into(),
            Value::String(format!("{base}/Schemas/{}", schema.id)),
        );
        obj.insert("meta".into(), Value::Object(meta));
    }
    if schema.id == CONTACT_CENTRE
        && let Some(attrs) = json.get_mut("attributes").and_then(Value::as_array_mut)
    {
        for attr in attrs.iter_mut() {
            if attr.get("name").and_then(Value::as_str) == Some("securityProfiles")
                && let Some(fields) = attr.as_object_mut()
            {
                if security_profiles.is_empty() {
                    fields.remove("canonicalValues");
                } else {
                    fields.insert(
                        "canonicalValues".into(),
                        security_profiles
                            .iter()
                            .map(|p| Value::String(p.clone()))
                            .collect(),
                    );
                }
            }
        }
    }
    if schema.id == crate::scim::USER_SCHEMA
        && let Some(emails) = json
            .get_mut("attributes")
            .and_then(Value::as_array_mut)
            .and_then(|attrs| {
                attrs
                    .iter_mut()
                    .find(|a| a.get("name").and_then(Value::as_str) == Some("emails"))
            })
            .and_then(Value::as_object_mut)
    {
        let (uniqueness, description) = if tenant.unique_primary_email {
            (
                "server",
                "Email addresses of the user. The primary address (the one marked primary, else the first) is unique within the tenant, ignoring case: a second user with it is refused with 409 uniqueness.",
            )
        } else {
            (
                "none",
                "Email addresses of the user. Several users may share an address in this tenant.",
            )
        };
        emails.insert("uniqueness".into(), uniqueness.into());
        emails.insert("description".into(), description.into());
    }
    json
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_schemas_load_and_follow_the_ownership_registry() {
        let registry = Registry::load().expect("schemas load");
        let cc = registry
            .user
            .extension(CONTACT_CENTRE)
            .expect("cc extension");
        assert_eq!(
            cc.attribute("routingProfile").map(|a| a.mutability),
            Some(Mutability::ReadOnly)
        );
        assert_eq!(
            cc.attribute("securityProfiles").map(|a| a.mutability),
            Some(Mutability::ReadWrite)
        );
        let user_name = registry.user.core.attribute("USERNAME").expect("userName");
        assert!(!user_name.case_exact);
        assert_eq!(registry.resource_types.len(), 2);
    }

    #[test]
    fn every_extension_attribute_has_a_registry_row() {
        let registry = Registry::load().expect("schemas load");
        for urn in [CONTACT_CENTRE, ENTERPRISE] {
            let schema = registry.user.extension(urn).expect("extension");
            for attr in &schema.attributes {
                assert!(
                    ownership::lookup(&format!("{urn}:{}", attr.name)).is_some(),
                    "{urn}:{} has no row in the ownership registry",
                    attr.name
                );
            }
        }
        // And every contact-centre row names an attribute of the schema.
        let cc = registry.user.extension(CONTACT_CENTRE).expect("cc");
        for row in ownership::REGISTRY
            .iter()
            .filter(|o| o.attr.starts_with(CONTACT_CENTRE))
        {
            let name = row.attr.rsplit(':').next().unwrap_or_default();
            assert!(
                cc.attribute(name).is_some(),
                "{} is not in the schema",
                row.attr
            );
        }
    }

    #[test]
    fn the_multi_valued_bound_is_advertised() {
        let registry = Registry::load().expect("schemas load");
        let emails = registry.user.core.json["attributes"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["name"] == "emails"))
            .cloned()
            .unwrap_or_default();
        assert!(
            emails["description"]
                .as_str()
                .is_some_and(|d| d.contains(&format!("at most {MAX_MULTI_VALUES} values"))),
            "{emails}"
        );
    }

    #[test]
    fn enumerated_values_come_from_the_registry() {
        let registry = Registry::load().expect("schemas load");
        let cc = registry.user.extension(CONTACT_CENTRE).expect("cc schema");
        let attr = |name: &str| {
            cc.json["attributes"]
                .as_array()
                .and_then(|a| a.iter().find(|x| x["name"] == name))
                .cloned()
                .unwrap_or_default()
        };
        assert_eq!(
            attr("licenceType")["canonicalValues"],
            serde_json::json!(crate::domain::validation::LICENCE_TYPES)
        );
        assert_eq!(
            attr("telephonyRegion")["canonicalValues"],
            serde_json::json!(crate::domain::validation::TELEPHONY_REGIONS)
        );
    }
}
