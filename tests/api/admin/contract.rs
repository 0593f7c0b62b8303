//! The OpenAPI document as a contract, checked the way schemathesis checks one: every
//! documented operation is called — with its example, with each parameter garbled, with
//! wrong bodies, without credentials — and every answer must be a status the operation
//! documents, with a body that matches the schema documented for it; never a 5xx.

use serde_json::Map;

use super::*;

/// Checks `value` against a JSON schema (the subset the document uses: `$ref`, `type`,
/// `enum`, `properties`, `required`, `additionalProperties`, `items`, `oneOf`, `minItems`).
fn validate(schema: &Value, value: &Value, doc: &Value, at: &str) -> Result<(), String> {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or_default();
        let target = &doc["components"]["schemas"][name];
        if target.is_null() {
            return Err(format!("{at}: unknown schema {r}"));
        }
        return validate(target, value, doc, at);
    }
    if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
        let matching = options
            .iter()
            .filter(|o| validate(o, value, doc, at).is_ok())
            .count();
        return if matching == 1 {
            Ok(())
        } else {
            Err(format!("{at}: {value} matches {matching} of oneOf"))
        };
    }
    if let Some(types) = schema.get("type") {
        let names: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let fits = names.iter().any(|t| match *t {
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "object" => value.is_object(),
            "array" => value.is_array(),
            "null" => value.is_null(),
            _ => false,
        });
        if !fits {
            return Err(format!("{at}: {} is not {names:?}", short(value)));
        }
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array)
        && !values.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {values:?}"));
    }
    if let Value::Object(fields) = value {
        let empty = Map::new();
        let properties = schema
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !fields.contains_key(required) {
                return Err(format!("{at}: {required} is missing from {value}"));
            }
        }
        for (name, v) in fields {
            let path = format!("{at}.{name}");
            match (properties.get(name), schema.get("additionalProperties")) {
                (Some(s), _) => validate(s, v, doc, &path)?,
                (None, Some(Value::Bool(false))) => {
                    return Err(format!("{path} is not documented"));
                }
                (None, Some(s @ Value::Object(_))) => validate(s, v, doc, &path)?,
                _ => {}
            }
        }
    }
    if let (Value::Array(items), Some(item)) = (value, schema.get("items")) {
        for (i, v) in items.iter().enumerate() {
            validate(item, v, doc, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

/// Checks one answer against its operation: a documented status, never a 5xx, and a body
/// matching the documented schema.
fn conforms(op: &Value, doc: &Value, what: &str, r: &TestResponse) -> Result<(), String> {
    let status = r.status.as_u16();
    if status >= 500 {
        return Err(format!("{what}: {status} {}", short(&r.body)));
    }
    let Some(response) = op["responses"].get(status.to_string()) else {
        return Err(format!(
            "{what}: status {status} is not documented: {}",
            r.body
        ));
    };
    let content_type = r.header("content-type").unwrap_or_default();
    match response["content"].as_object() {
        None if r.body.is_null() => Ok(()),
        None => Err(format!(
            "{what}: {status} documents no body but got {}",
            r.body
        )),
        Some(content) => {
            let (media, spec) = content
                .iter()
                .find(|(media, _)| content_type.starts_with(media.as_str()))
                .ok_or_else(|| {
                    format!(
                        "{what}: {status} answered {content_type}, documented {:?}",
                        content.keys()
                    )
                })?;
            if media == "application/json" {
                validate(&spec["schema"], &r.body, doc, &format!("{what} ({status})"))
            } else {
                Ok(())
            }
        }
    }
}

fn short(v: &Value) -> String {
    v.to_string().chars().take(300).collect()
}

/// Fills a path's `{…}` with `id`.
fn fill(path: &str, id: &str) -> String {
    path.split('/')
        .map(|seg| if seg.starts_with('{') { id } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_operation_answers_what_the_document_says() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    seed_catalogs(&app, &boss).await;
    let doc = app
        .admin(&boss, Method::GET, "/openapi.json", None)
        .await
        .assert_admin_ok(200)
        .clone();
    let paths = doc["paths"].as_object().expect("paths").clone();
    assert!(paths.len() >= 20, "{:?}", paths.keys());

    let mut failures = Vec::new();
    let mut calls = 0;
    for (path, item) in &paths {
        for (method, op) in item.as_object().expect("path item") {
            let method: Method = method.to_uppercase().parse().expect("method");
            // Each operation runs against its own user, so a delete or an archive does not
            // change what the next one sees.
            let user = local_user(&app, &boss, &format!("u{calls}")).await;
            let mut send =
                async |token: &str, uri: String, body: Option<(&str, String)>, what: String| {
                    calls += 1;
                    let r = app.dispatch(token, method.clone(), &uri, body, &[]).await;
                    if let Err(e) = conforms(op, &doc, &what, &r) {
                        failures.push(e);
                    }
                    r
                };
            let uri = format!("/admin/v1{}", fill(path, &user));
            let example = op["requestBody"]["content"]["application/json"]["example"].clone();
            let example = (!example.is_null()).then(|| {
                let text = example
                    .to_string()
                    .replace("USER_ID", &user)
                    .replace("TEMPLATE_USER_ID", &user);
                ("application/json", text)
            });
            let csv = op["requestBody"]["content"]["text/csv"]["example"]
                .as_str()
                .map(|t| ("text/csv", t.to_string()));
            let body = example.clone().or(csv.clone());

            // Without credentials.
            let public = op["security"].as_array().is_some_and(Vec::is_empty);
            let r = send(
                "",
                uri.clone(),
                body.clone(),
                format!("{method} {path} unauthenticated"),
            )
            .await;
            if !public {
                assert_eq!(r.status.as_u16(), 401, "{method} {path}");
            }
            // As documented, in a dry run where the operation takes one (its example is
            // then answered as the real run would be), then for real.
            let dry = op["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["name"] == "dryRun"));
            if dry {
                let r = send(
                    &boss,
                    format!("{uri}?dryRun=true"),
                    body.clone(),
                    format!("{method} {path} dry run"),
                )
                .await;
                assert!(r.status.as_u16() < 500, "{method} {path}: {}", r.body);
            }
            send(&boss, uri.clone(), body.clone(), format!("{method} {path}")).await;
            // An id that does not exist.
            if path.contains('{') {
                let other = format!("/admin/v1{}", fill(path, "no-such-id"));
                send(
                    &boss,
                    other,
                    body.clone(),
                    format!("{method} {path} unknown id"),
                )
                .await;
            }
            // Each query parameter garbled.
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["in"] != "query" {
                    continue;
                }
                let name = p["name"].as_str().unwrap_or_default();
                for junk in ["%25%25", "-1", "x%20y%20z", "%22%28"] {
                    send(
                        &boss,
                        format!("{uri}?{name}={junk}"),
                        body.clone(),
                        format!("{method} {path} ?{name}={junk}"),
                    )
                    .await;
                }
            }
            // Wrong bodies.
            if op.get("requestBody").is_some() {
                for junk in [
                    "",
                    "{",
                    "[]",
                    "\"text\"",
                    "null",
                    "{\"unknownField\": 1}",
                    "{\"ids\": 5, \"set\": []}",
                ] {
                    send(
                        &boss,
                        uri.clone(),
                        Some(("application/json", junk.to_string())),
                        format!("{method} {path} body {junk:?}"),
                    )
                    .await;
                }
                if let Some(Value::Object(fields)) =
                    op["requestBody"]["content"]["application/json"]["example"]
                        .as_object()
                        .map(|o| Value::Object(o.clone()))
                {
                    for name in fields.keys() {
                        for wrong in [
                            json!(null),
                            json!(12),
                            json!([1]),
                            json!({"x": {}}),
                            json!("ZZZ"),
                        ] {
                            let mut garbled = fields.clone();
                            garbled.insert(name.clone(), wrong.clone());
                            send(
                                &boss,
                                uri.clone(),
                                Some(("application/json", Value::Object(garbled).to_string())),
                                format!("{method} {path} {name}={wrong}"),
                            )
                            .await;
                        }
                    }
                }
            }
        }
    }
    assert!(calls > 300, "{calls} calls");
    assert!(
        failures.is_empty(),
        "{} of {calls} answers break the document:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn every_route_has_its_entry_and_every_entry_its_route() {
    let app = TestApp::new().await;
    let boss = boss(&app).await;
    let doc = app
        .admin(&boss, Method::GET, "/openapi.json", None)
        .await
        .assert_admin_ok(200)
        .clone();
    let documented: Vec<(String, String)> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("item")
                .keys()
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect();
    let table: Vec<(String, String)> = rollcall::http::admin::routes::table()
        .iter()
        .map(|r| (r.method.to_string(), r.path.clone()))
        .collect();
    assert_eq!(documented.len(), table.len());
    for entry in &table {
        assert!(
            documented.contains(entry),
            "{entry:?} is routed but not documented"
        );
    }
    // A method the document does not list for a path is not routed either.
    for (path, methods) in [
        ("/users/{id}", "POST"),
        ("/settings", "DELETE"),
        ("/audit", "POST"),
    ] {
        assert!(!documented.contains(&(methods.to_string(), path.to_string())));
        let r = app
            .admin(
                &boss,
                methods.parse().expect("method"),
                &fill(path, "x"),
                None,
            )
            .await;
        assert_eq!(r.status.as_u16(), 405, "{methods} {path}: {}", r.body);
    }
    // Every operation documents its statuses with schemas that exist.
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            let responses = op["responses"].as_object().expect("responses");
            let public = op["security"].as_array().is_some_and(Vec::is_empty);
            assert!(public || responses.contains_key("401"), "{method} {path}");
            for (status, response) in responses {
                if let Some(r) = response["content"]["application/json"]["schema"]["$ref"].as_str()
                {
                    let name = r.rsplit('/').next().unwrap_or_default();
                    assert!(
                        doc["components"]["schemas"][name].is_object(),
                        "{method} {path} {status}: {r}"
                    );
                }
            }
        }
    }
}
