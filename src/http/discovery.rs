//! Discovery endpoints (RFC 7644 §4): `/ServiceProviderConfig`, `/ResourceTypes`,
//! `/Schemas`. They answer without authentication; what they advertise is what works.

use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::auth::OptionalTenant;
use super::extract::{BaseUrl, ScimJson};
use crate::app::AppState;
use crate::domain::catalog::CatalogKind;
use crate::scim::bulk::MAX_OPERATIONS;
use crate::scim::list::{ListParams, MAX_PAGE, Page, list_response};
use crate::scim::schema::{TenantSchema, schema_json};
use crate::scim::{ScimError, ScimResult};
use crate::store::{catalog, tenants};

/// The largest request body accepted, in bytes (advertised as `bulk.maxPayloadSize`).
pub const MAX_BODY: usize = 1024 * 1024;

/// `GET /ServiceProviderConfig`
pub async fn service_provider_config(BaseUrl(base): BaseUrl) -> ScimJson {
    ScimJson::ok(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://github.com/rollcall/rollcall#readme",
        "patch": {"supported": true},
        "bulk": {"supported": true, "maxOperations": MAX_OPERATIONS, "maxPayloadSize": MAX_BODY},
        "filter": {"supported": true, "maxResults": MAX_PAGE},
        "pagination": {
            "cursor": true,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": MAX_PAGE,
            "maxPageSize": MAX_PAGE,
            "cursorTimeout": 3600
        },
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "Bearer token",
                "description": "Authorization: Bearer <secret>, a token from `rollcall token create`",
                "primary": true
            },
            {
                "type": "httpbasic",
                "name": "HTTP Basic",
                "description": "The credential id as user name and its secret as password"
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig")
        }
    }))
}

fn resource_type_json(rt: &Value, base: &str) -> Value {
    let mut rt = rt.clone();
    if let Some(id) = rt.get("id").and_then(Value::as_str).map(str::to_string) {
        rt["meta"] = json!({
            "resourceType": "ResourceType",
            "location": format!("{base}/ResourceTypes/{id}"),
        });
    }
    rt
}

/// `GET /ResourceTypes`
pub async fn resource_types(State(state): State<AppState>, BaseUrl(base): BaseUrl) -> ScimJson {
    let all: Vec<Value> = state
        .registry
        .resource_types
        .iter()
        .map(|rt| resource_type_json(rt, &base))
        .collect();
    let total = all.len() as u64;
    ScimJson::ok(list_response(
        Page {
            resources: all,
            total,
            next_cursor: None,
        },
        &ListParams::default(),
    ))
}

/// `GET /ResourceTypes/{id}`
pub async fn resource_type(
    State(state): State<AppState>,
    BaseUrl(base): BaseUrl,
    Path(id): Path<String>,
) -> ScimResult<ScimJson> {
    state
        .registry
        .resource_types
        .iter()
        .find(|rt| {
            rt.get("id")
                .and_then(Value::as_str)
                .is_some_and(|i| i.eq_ignore_ascii_case(&id))
        })
        .map(|rt| ScimJson::ok(resource_type_json(rt, &base)))
        .ok_or_else(|| ScimError::not_found(format!("resource type {id} not found")))
}

/// What an authenticated caller's tenant changes in the schemas: its security profiles
/// (`canonicalValues`) and its primary-email uniqueness. Without a tenant, the defaults.
async fn tenant_schema(state: &AppState, tenant: Option<String>) -> TenantSchema {
    let Some(tenant_id) = tenant else {
        return TenantSchema::default();
    };
    let security_profiles = catalog::load(&state.db, &tenant_id)
        .await
        .map(|c| c.names(CatalogKind::SecurityProfile))
        .unwrap_or_default();
    let unique_primary_email = tenants::settings(&state.db, &tenant_id)
        .await
        .map(|s| s.unique_primary_email)
        .unwrap_or(TenantSchema::default().unique_primary_email);
    TenantSchema {
        security_profiles,
        unique_primary_email,
    }
}

/// `GET /Schemas`
pub async fn schemas(
    State(state): State<AppState>,
    BaseUrl(base): BaseUrl,
    OptionalTenant(tenant): OptionalTenant,
) -> ScimJson {
    let tenant = tenant_schema(&state, tenant).await;
    let all: Vec<Value> = state
        .registry
        .schemas()
        .map(|s| schema_json(s, &base, &tenant))
        .collect();
    let total = all.len() as u64;
    ScimJson::ok(list_response(
        Page {
            resources: all,
            total,
            next_cursor: None,
        },
        &ListParams::default(),
    ))
}

/// `GET /Schemas/{id}`
pub async fn schema(
    State(state): State<AppState>,
    BaseUrl(base): BaseUrl,
    Path(id): Path<String>,
    OptionalTenant(tenant): OptionalTenant,
) -> ScimResult<ScimJson> {
    let tenant = tenant_schema(&state, tenant).await;
    state
        .registry
        .schemas()
        .find(|s| s.id.eq_ignore_ascii_case(&id))
        .map(|s| ScimJson::ok(schema_json(s, &base, &tenant)))
        .ok_or_else(|| ScimError::not_found(format!("schema {id} not found")))
}
