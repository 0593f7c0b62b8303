//! `GET /admin/v1/openapi.json`: the admin API's OpenAPI 3.1 document, generated from the
//! route table (`routes::table`, which also builds the router) and from the ownership
//! registry and the schema files (the fields of the user view, who may edit each).

use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value, json};

use super::error::Code;
use super::routes::{Body, Content, Route, table};
use super::view::attributes;
use crate::app::AppState;
use crate::domain::ownership::{AdminEdit, Permission, lookup};
use crate::scim::schema::{AttrType, Attribute, ResourceSchema};

/// The statuses every route may answer, whatever it does.
const EVERY_ROUTE: [u16; 3] = [401, 429, 503];

fn status_text(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No content",
        400 => "Bad request: see error",
        401 => "No or bad credentials",
        403 => "Missing permission",
        404 => "Not found",
        409 => "Refused in the current state: see error",
        412 => "If-Match does not match",
        413 => "Too large",
        429 => "Over the rate limit (Retry-After)",
        503 => "Database unavailable (Retry-After)",
        _ => "See error",
    }
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn operation(route: &Route) -> Value {
    let mut parameters: Vec<Value> = route
        .path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    parameters.extend(route.query.iter().map(|p| {
        json!({"name": p.name, "in": "query", "required": false, "description": p.description, "schema": {"type": p.kind}})
    }));
    let mut responses = Map::new();
    for (status, content) in &route.responses {
        let body = match content {
            Content::Json(schema) => {
                json!({"description": status_text(*status), "content": {"application/json": {"schema": reference(schema)}}})
            }
            Content::Csv => {
                json!({"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}})
            }
            Content::Xlsx => json!({"description": "An .xlsx workbook", "content": {
                super::table::XLSX_TYPE: {"schema": {"type": "string", "contentEncoding": "binary"}}
            }}),
            Content::Empty => json!({"description": status_text(*status)}),
        };
        responses.insert(status.to_string(), body);
    }
    for status in EVERY_ROUTE {
        responses.entry(status.to_string()).or_insert_with(|| {
            json!({"description": status_text(status), "content": {"application/json": {"schema": reference("Error")}}})
        });
    }
    let public = route.permission == "none";
    let security = if public {
        json!([])
    } else {
        json!([{"bearer": []}, {"basic": []}])
    };
    if public {
        responses.remove("401");
    }
    let mut op = json!({
        "operationId": format!("{} {}", route.method, route.path),
        "summary": route.summary,
        "description": format!("Permission: {}.", route.permission),
        "security": security,
        "parameters": parameters,
        "responses": responses,
    });
    match &route.body {
        Some(Body::Json(schema)) => {
            op["requestBody"] = json!({"required": true, "content": {"application/json": {
                "schema": reference(schema),
                "example": example(schema),
            }}});
        }
        Some(Body::Upload) => {
            let file = json!({"type": "string", "contentEncoding": "binary"});
            op["requestBody"] = json!({"required": true, "content": {
                "text/csv": {"schema": {"type": "string"}, "example": "email,routingProfile\nann@acme.example,Sales\n"},
                super::table::XLSX_TYPE: {"schema": file},
                "multipart/form-data": {"schema": {"type": "object", "properties": {"file": file}, "required": ["file"]}},
            }});
        }
        None => {}
    }
    op
}

/// A request body the route takes, for readers and for the contract tests.
pub fn example(schema: &str) -> Value {
    match schema {
        "UserInput" => {
            json!({"userName": "jo@acme.example", "securityProfiles": ["Agent"], "licenceType": "AgentDesktop"})
        }
        "BulkEdit" => json!({"ids": ["USER_ID"], "set": {"mediaLessMode": true}}),
        "BulkIds" => json!({"ids": ["USER_ID"]}),
        "FromTemplate" => json!({
            "template": "TEMPLATE_USER_ID",
            "startingAgentId": 5000,
            "users": [{"userName": "ann", "email": "ann@acme.example", "name": {"givenName": "Ann", "familyName": "Lee"}}]
        }),
        "Settings" => json!({"agentIdStart": 5000}),
        "CredentialInput" => json!({"kind": "scim", "name": "okta"}),
        "CatalogInput" => json!({"name": "Sales"}),
        "OidcInput" => json!({
            "issuer": "https://login.acme.example/oauth2/default",
            "clientId": "rollcall-console",
            "clientSecret": "s3cret"
        }),
        _ => json!({}),
    }
}

/// The JSON schema of one attribute of the user view.
fn attribute_schema(attr: &Attribute) -> Value {
    let one = match attr.kind {
        AttrType::String | AttrType::Reference | AttrType::Binary => json!({"type": "string"}),
        AttrType::DateTime => json!({"type": "string", "format": "date-time"}),
        AttrType::Boolean => json!({"type": "boolean"}),
        AttrType::Integer => json!({"type": "integer"}),
        AttrType::Decimal => json!({"type": "number"}),
        AttrType::Complex => json!({"type": "object"}),
    };
    if attr.multi_valued {
        json!({"type": "array", "items": one})
    } else {
        one
    }
}

fn edit_note(key: &str) -> String {
    match lookup(key).map(|o| o.admin) {
        Some(AdminEdit::Always(p)) => format!("editable ({})", p.as_str()),
        Some(AdminEdit::LocalUsersOnly(p)) => format!("editable on local users ({})", p.as_str()),
        Some(AdminEdit::Never) | None => {
            "owned by the identity provider; editable on local users (EditUser)".into()
        }
    }
}

/// The user view and its input, from the schema files and the registry.
fn user_schemas(schema: &ResourceSchema) -> (Value, Value) {
    let mut view = Map::new();
    let mut input = Map::new();
    for va in attributes(schema) {
        let mut s = attribute_schema(va.attr);
        s["description"] = Value::String(edit_note(&va.key));
        input.insert(va.name.to_string(), s.clone());
        view.insert(va.name.to_string(), s);
    }
    // Skills also take a change by name: {"French": 7, "Sales": null}.
    if let Some(skills) = input.get_mut("skills") {
        *skills = json!({"oneOf": [skills.clone(), {"type": "object", "additionalProperties": {"type": ["integer", "null"]}}],
            "description": "an array replaces the skills; an object adds, re-levels (a level) or removes (null) skills by name"});
    }
    input.insert("active".into(), json!({"type": "boolean"}));
    for (name, s) in [
        ("id", json!({"type": "string"})),
        ("active", json!({"type": "boolean"})),
        (
            "managedBy",
            json!({"type": "string", "enum": ["local", "idp"]}),
        ),
        ("version", json!({"type": "string"})),
        (
            "timezoneIana",
            json!({"type": ["string", "null"], "description": "the IANA zone the stored timezone stands for (a Windows id mapped by CLDR); null when unrecognised"}),
        ),
        (
            "groups",
            json!({"type": "array", "items": {"type": "object", "properties": {"id": {"type": "string"}, "displayName": {"type": ["string", "null"]}}}}),
        ),
        (
            "meta",
            json!({"type": "object", "properties": {"created": {"type": "string"}, "lastModified": {"type": "string"}}}),
        ),
        (
            "editable",
            json!({"type": "object", "additionalProperties": {"type": "object", "properties": {"editable": {"type": "boolean"}, "reason": {"type": "string"}}, "required": ["editable"]}}),
        ),
        (
            "warnings",
            json!({"type": "array", "items": {"type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"}}, "required": ["field", "message"]}}),
        ),
        ("dryRun", json!({"type": "boolean"})),
    ] {
        view.insert(name.into(), s);
    }
    (
        json!({"type": "object", "properties": view, "required": ["id", "active", "managedBy", "version", "groups", "meta"], "additionalProperties": false}),
        json!({"type": "object", "properties": input, "additionalProperties": false}),
    )
}

fn schemas(state: &AppState) -> Value {
    let (user, user_input) = user_schemas(&state.registry.user);
    let codes: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    let permissions: Vec<&str> = Permission::ALL.iter().map(|p| p.as_str()).collect();
    let failure = json!({"type": "object", "properties": {
        "id": {"type": "string"}, "error": {"type": ["string", "null"]}, "detail": {"type": ["string", "null"]},
        "fields": {"type": "array", "items": {"type": "string"}},
        "errors": {"type": "array", "items": {"type": "object", "properties": {"field": {"type": ["string", "null"]}, "error": {"type": "string"}, "message": {"type": "string"}}}}
    }, "required": ["id", "errors"]});
    let problem = json!({"type": "object", "properties": {"field": {"type": ["string", "null"]}, "message": {"type": "string"}}, "required": ["field", "message"]});
    let row_error = json!({"type": "object", "properties": {
        "row": {"type": "integer"}, "column": {"type": ["string", "null"]}, "value": {"type": ["string", "null"]}, "message": {"type": "string"}
    }, "required": ["row", "column", "value", "message"]});
    let provisioning_log_page = json!({"type": "object", "properties": {
            "totalResults": {"type": "integer"}, "startIndex": {"type": "integer"}, "itemsPerPage": {"type": "integer"},
            "items": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "integer"}, "at": {"type": "string", "format": "date-time"},
                "method": {"type": "string"}, "path": {"type": "string", "description": "under /scim/v2, with the query; secret parameters removed"},
                "status": {"type": "integer"}, "latencyMs": {"type": "number"},
                "credential": {"type": "string"}, "credentialName": {"type": ["string", "null"], "description": "null once revoked"},
                "resourceId": {"type": ["string", "null"]}, "userName": {"type": ["string", "null"]},
                "scimType": {"type": ["string", "null"]}, "detail": {"type": ["string", "null"]},
                "request": {"description": "the body as JSON, secrets replaced by \"(removed)\", cut to 8 KiB with a note; null without a body"}
            }, "required": ["id", "at", "method", "path", "status", "latencyMs", "credential", "resourceId", "userName", "scimType", "detail", "request"], "additionalProperties": false}}
        }, "required": ["totalResults", "startIndex", "itemsPerPage", "items"], "additionalProperties": false});
    let mut schemas = json!({
        "Error": {"type": "object", "properties": {
            "error": {"type": "string", "enum": codes},
            "detail": {"type": "string"},
            "fields": {"type": "array", "items": {"type": "string"}},
            "failures": {"type": "array", "items": failure},
            "errors": {"type": "array", "items": row_error}
        }, "required": ["error", "detail"]},
        "User": user,
        "UserInput": user_input,
        "UserList": {"type": "object", "properties": {
            "totalResults": {"type": "integer"}, "startIndex": {"type": "integer"}, "itemsPerPage": {"type": "integer"},
            "users": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}}
        }, "required": ["totalResults", "startIndex", "itemsPerPage", "users"], "additionalProperties": false},
        "BulkEdit": {"type": "object", "properties": {"ids": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": super::bulk::MAX_BULK}, "set": reference("UserInput")}, "required": ["ids", "set"]},
        "BulkIds": {"type": "object", "properties": {"ids": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": super::bulk::MAX_BULK}}, "required": ["ids"]},
        "BulkResult": {"type": "object", "properties": {
            "updated": {"type": "integer"}, "archived": {"type": "integer"}, "reactivated": {"type": "integer"},
            "ids": {"type": "array", "items": {"type": "string"}}, "dryRun": {"type": "boolean"}
        }, "required": ["ids"]},
        "FromTemplate": {"type": "object", "properties": {
            "template": {"type": ["string", "null"], "description": "a user id; default: the tenant's provisioningTemplateUser"},
            "startingAgentId": {"type": ["integer", "null"], "minimum": 0},
            "dryRun": {"type": "boolean"},
            "users": {"type": "array", "minItems": 1, "maxItems": super::template::MAX_USERS, "items": {"type": "object", "properties": {
                "userName": {"type": "string"}, "email": {"type": "string"},
                "name": {"type": "object", "properties": {"givenName": {"type": "string"}, "familyName": {"type": "string"}}},
                "displayName": {"type": "string"}, "title": {"type": "string"}, "timezone": {"type": "string"},
                "agentId": {"type": "string"}, "personalPhoneNumber": {"type": "string"}, "webRtcFallbackNumber": {"type": "string"}
            }, "required": ["userName", "email"]}}
        }, "required": ["users"]},
        "FromTemplateResult": {"type": "object", "properties": {
            "dryRun": {"type": "boolean"}, "created": {"type": "integer"}, "failed": {"type": "integer"},
            "results": {"type": "array", "items": {"type": "object", "properties": {
                "userName": {}, "status": {"type": "string", "enum": ["created", "failed"]},
                "id": {"type": "string"}, "agentId": {"type": "string"}, "errors": {"type": "array", "items": problem}
            }, "required": ["userName", "status"]}}
        }, "required": ["dryRun", "created", "failed", "results"], "additionalProperties": false},
        "ImportReport": {"type": "object", "properties": {
            "dryRun": {"type": "boolean"},
            "rows": {"oneOf": [{"type": "integer"}, {"type": "array", "items": {"type": "object", "properties": {
                "row": {"type": "integer"}, "email": {"type": ["string", "null"]},
                "action": {"type": "string", "enum": ["create", "update", "unchanged"]}, "changes": {"type": "object"}
            }, "required": ["row", "action", "changes"]}}]},
            "errors": {"type": "array", "items": row_error},
            "created": {"type": "integer"}, "updated": {"type": "integer"}
        }, "required": ["dryRun", "rows"]},
        "Deleted": {"type": "object", "properties": {"dryRun": {"type": "boolean"}, "deleted": {"type": "string"}, "revoked": {"type": "string"}}, "required": ["dryRun"]},
        "Settings": {"type": "object", "properties": {
            "idpManaged": {"type": "boolean"}, "agentHierarchyRequired": {"type": "boolean"},
            "directToAgentDialling": {"type": "boolean"}, "provisioningTemplateUser": {"type": ["string", "null"]},
            "agentIdStart": {"type": "integer"}, "rateLimit": {"type": ["integer", "null"], "minimum": 1},
            "uniquePrimaryEmail": {"type": "boolean"},
            "deprovisionBrake": {"type": "boolean"}, "deprovisionBrakePercent": {"type": "integer", "minimum": 1, "maximum": 100},
            "deprovisionBrakeMinimum": {"type": "integer", "minimum": 1}, "deprovisionBrakeWindowMinutes": {"type": "integer", "minimum": 1, "maximum": 10080},
            "dryRun": {"type": "boolean"}
        }},
        "Credential": {"type": "object", "properties": {
            "id": {"type": "string"}, "kind": {"type": "string", "enum": ["scim", "user"]}, "userId": {"type": ["string", "null"]},
            "name": {"type": "string"}, "created": {"type": "string"}, "secret": {"type": "string"}, "dryRun": {"type": "boolean"}
        }, "required": ["id", "kind", "name", "created"]},
        "CredentialInput": {"type": "object", "properties": {
            "kind": {"type": "string", "enum": ["scim", "user"]}, "name": {"type": "string", "minLength": 1, "maxLength": 100}, "userId": {"type": ["string", "null"]}
        }, "required": ["kind", "name"], "additionalProperties": false},
        "CredentialList": {"type": "object", "properties": {"items": {"type": "array", "items": reference("Credential")}}, "required": ["items"]},
        "Oidc": {"type": "object", "properties": {
            "configured": {"type": "boolean"}, "issuer": {"type": "string"}, "clientId": {"type": "string"},
            "clientSecretSet": {"type": "boolean"}, "redirectUri": {"type": "string"}, "signInUrl": {"type": "string"},
            "dryRun": {"type": "boolean"}
        }, "required": ["configured", "redirectUri", "signInUrl"]},
        "OidcInput": {"type": "object", "properties": {
            "issuer": {"type": "string", "description": "https:// (http:// only on loopback)"},
            "clientId": {"type": "string", "minLength": 1, "maxLength": 255},
            "clientSecret": {"type": "string", "minLength": 1, "maxLength": 1024}
        }, "required": ["issuer", "clientId"], "additionalProperties": false},
        "CatalogItem": {"type": "object", "properties": {
            "id": {"type": "string"}, "name": {"type": "string"}, "path": {"type": "string"}, "number": {"type": "string"},
            "label": {"type": ["string", "null"]}, "permissions": {"type": "array", "items": {"type": "string", "enum": permissions}},
            "dryRun": {"type": "boolean"}
        }, "required": ["id"]},
        "CatalogInput": {"type": "object", "description": "name (security and routing profiles, skills), path (hierarchy) or number and label (callback numbers); permissions for security profiles", "properties": {
            "name": {"type": "string"}, "path": {"type": "string"}, "number": {"type": "string"}, "label": {"type": ["string", "null"]},
            "permissions": {"type": "array", "items": {"type": "string", "enum": permissions}}
        }},
        "CatalogList": {"type": "object", "properties": {"items": {"type": "array", "items": reference("CatalogItem")}}, "required": ["items"]},
        "AuditPage": {"type": "object", "properties": {
            "totalResults": {"type": "integer"}, "startIndex": {"type": "integer"}, "itemsPerPage": {"type": "integer"},
            "items": {"type": "array", "items": {"type": "object", "properties": {
                "id": {}, "at": {"type": "string"}, "actor": {"type": "object"}, "action": {"type": "string"},
                "target": {"type": "object"}, "changes": {}
            }, "required": ["id", "at", "actor", "action", "target"]}}
        }, "required": ["totalResults", "startIndex", "itemsPerPage", "items"]},
        "ProvisioningLogPage": provisioning_log_page,
        "OpenApi": {"type": "object", "properties": {"openapi": {"type": "string"}, "paths": {"type": "object"}}, "required": ["openapi", "paths"]}
    });
    if let (Some(all), Value::Object(more)) = (schemas.as_object_mut(), event_schemas()) {
        all.extend(more);
    }
    schemas
}

/// The schemas of the event receivers and the brake's holds.
fn event_schemas() -> Value {
    json!({
        "Receiver": {"type": "object", "properties": {
            "id": {"type": "string"}, "delivery": {"type": "string", "enum": ["push", "poll"]}, "url": {"type": ["string", "null"]},
            "events": {"type": "array", "items": {"type": "string"}}, "description": {"type": ["string", "null"]},
            "version": {"type": "integer"}, "created": {"type": "string"}, "lastModified": {"type": "string"},
            "deliveries": {"type": "object", "properties": {"pending": {"type": "integer"}, "delivered": {"type": "integer"}, "dead": {"type": "integer"}}},
            "downUntil": {"type": ["string", "null"], "description": "while a push receiver is failing: when its next round of attempts is due"},
            "secret": {"type": "string", "description": "the HS256 signing key; answered once"},
            "pollToken": {"type": "string", "description": "a poll receiver's bearer token for POST /events/v1/poll; answered once"}
        }, "required": ["id", "delivery", "events", "version", "deliveries"]},
        "ReceiverInput": {"type": "object", "properties": {
            "url": {"type": ["string", "null"]}, "delivery": {"type": "string", "enum": ["push", "poll"]},
            "events": {"type": ["array", "null"], "items": {"type": "string"}}, "description": {"type": ["string", "null"], "maxLength": 500},
            "rotateSecret": {"type": "boolean"}
        }, "additionalProperties": false},
        "ReceiverList": {"type": "object", "properties": {"items": {"type": "array", "items": reference("Receiver")}}, "required": ["items"]},
        "DeliveryPage": {"type": "object", "properties": {
            "totalResults": {"type": "integer"}, "startIndex": {"type": "integer"},
            "items": {"type": "array", "items": {"type": "object", "properties": {
                "jti": {"type": "string"}, "event": {"type": "string"}, "resource": {"type": "string"}, "state": {"type": "string"},
                "attempts": {"type": "integer"}, "created": {"type": "string"}, "nextAttempt": {"type": ["string", "null"]},
                "delivered": {"type": ["string", "null"]}, "lastError": {"type": ["string", "null"]}
            }, "required": ["jti", "event", "resource", "state", "attempts"]}}
        }, "required": ["totalResults", "startIndex", "items"]},
        "Redelivered": {"type": "object", "properties": {"redelivered": {"type": "integer"}}, "required": ["redelivered"]},
        "Hold": {"type": "object", "properties": {
            "id": {"type": "string"}, "credential": {"type": "string"}, "state": {"type": "string", "enum": ["held", "released"]},
            "threshold": {"type": "integer"}, "activeUsers": {"type": "integer"}, "created": {"type": "string"},
            "released": {"type": ["string", "null"]}, "releasedBy": {"type": ["string", "null"]},
            "users": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "string"}, "userName": {"type": ["string", "null"]}, "displayName": {"type": ["string", "null"]},
                "operation": {"type": "string", "enum": ["deactivate", "delete"]}, "firstAttempt": {"type": "string"},
                "lastAttempt": {"type": "string"}, "attempts": {"type": "integer"}
            }, "required": ["id", "operation", "attempts"]}}
        }, "required": ["id", "credential", "state", "threshold", "users"]},
        "HoldList": {"type": "object", "properties": {"items": {"type": "array", "items": reference("Hold")}}, "required": ["items"]},
    })
}

/// The OpenAPI document.
pub async fn document(State(state): State<AppState>) -> Json<Value> {
    let mut paths = Map::new();
    for route in table() {
        let entry = paths.entry(route.path.clone()).or_insert_with(|| json!({}));
        entry[route.method.as_str().to_ascii_lowercase()] = operation(&route);
    }
    Json(json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Rollcall admin API",
            "version": "1",
            "description": "The tenant admins' local edit surface. Every write takes ?dryRun=true; errors are {\"error\": code, \"detail\"}."
        },
        "servers": [{"url": "/admin/v1"}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "basic": {"type": "http", "scheme": "basic"}
            },
            "schemas": schemas(&state)
        }
    }))
}
