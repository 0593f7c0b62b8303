//! HTTP fuzzing through the in-process router: seeded random SCIM and admin requests — random
//! methods, paths, ids, query strings and mutated bodies — never get a 5xx, a missing or
//! garbage credential never gets a 2xx, and the application answers normally afterwards.
//! `HTTP_FUZZ_REQUESTS` (default 3,000) sets the request count, `FUZZ_SEED` replays a run.
//! The run goes on after a failure and reports every distinct one at the end.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{Method, Request, Uri};
use http_body_util::BodyExt;
use serde_json::{Map, Value, json};
use tower::ServiceExt;

use crate::harness::{CONTACT_CENTRE, ENTERPRISE, GROUP_SCHEMA, TestApp, USER_SCHEMA, q};
use crate::rng::Rng;

const CATALOGS: [&str; 5] = [
    "skills",
    "routing-profiles",
    "security-profiles",
    "hierarchy",
    "callback-numbers",
];
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const SEARCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// Ids the run has seen created, so later requests hit real resources.
#[derive(Default)]
struct Pools {
    users: Vec<String>,
    groups: Vec<String>,
    catalog: BTreeMap<&'static str, Vec<String>>,
    catalog_names: Vec<String>,
    credentials: Vec<String>,
}

impl Pools {
    fn any(&self, rng: &mut Rng) -> Option<String> {
        let all: Vec<&String> = self
            .users
            .iter()
            .chain(&self.groups)
            .chain(self.catalog.values().flatten())
            .chain(&self.credentials)
            .collect();
        rng.pick(&all).map(|s| s.to_string())
    }
}

/// Which credential a request carries.
#[derive(Clone, Copy, PartialEq)]
enum Token {
    /// The right one for the surface.
    Good,
    /// The other surface's.
    Crossed,
    /// None, or one that is not a credential at all.
    Garbage,
}

/// One generated request.
#[derive(Clone)]
struct Fuzzed {
    method: Method,
    /// The route it aims at, e.g. `/scim/v2/Users/{id}`, to group failures.
    route: String,
    path: String,
    /// Query parameters, each `key=value` already percent-encoded (or deliberately not).
    params: Vec<String>,
    token: Token,
    authorization: Option<String>,
    headers: Vec<(&'static str, String)>,
    body: Option<(String, Vec<u8>)>,
}

impl Fuzzed {
    fn uri(&self) -> String {
        if self.params.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.params.join("&"))
        }
    }

    fn describe(&self) -> String {
        let params: Vec<String> = self.params.iter().map(|p| clip(p, 200)).collect();
        let mut text = format!("{} {}", self.method, self.path);
        if !params.is_empty() {
            text.push_str(&format!("?{}", params.join("&")));
        }
        for (k, v) in &self.headers {
            text.push_str(&format!("\n    {k}: {}", clip(v, 100)));
        }
        if let Some((content_type, body)) = &self.body {
            text.push_str(&format!(
                "\n    content-type: {content_type}\n    body: {}",
                clip(&String::from_utf8_lossy(body), 600)
            ));
        }
        text
    }
}

fn clip(s: &str, n: usize) -> String {
    if s.len() <= n {
        return s.to_string();
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &s[..end], s.len())
}

// ---- Random pieces -----------------------------------------------------------------------

fn one<'a>(rng: &mut Rng, items: &[&'a str]) -> &'a str {
    rng.pick(items).copied().unwrap_or_default()
}

fn random_string(rng: &mut Rng) -> String {
    match rng.below(14) {
        0 => String::new(),
        1 => "x".repeat(rng.below(70_000)),
        2 => "ü€😀中文 ".repeat(1 + rng.below(50)),
        3 => "\u{0}\u{1}\t\n\r\u{7f}\u{202e}".to_string(),
        4 => one(
            rng,
            &[
                "Agent",
                "Administrator",
                "Supervisor",
                "None",
                "AgentDesktop",
            ],
        )
        .into(),
        5 => one(
            rng,
            &[
                "+442071234567",
                "+1",
                "++44",
                "EMEA/London/Team A",
                "a/b/c/d/e/f",
            ],
        )
        .into(),
        6 => one(
            rng,
            &["true", "False", "null", "1e999", "-0", "NaN", "[]", "{}"],
        )
        .into(),
        7 => uuid::Uuid::new_v4().to_string(),
        8 => one(
            rng,
            &["Europe/London", "GMT Standard Time", "Mars/Olympus", "UTC"],
        )
        .into(),
        9 => "\"\\'%00%;--".to_string(),
        10 => format!("user{}@example.com", rng.below(50)),
        11 => "a".repeat(1 + rng.below(300)),
        12 => one(rng, &["work", "home", "other", "WORK", ""]).into(),
        _ => format!("s{}", rng.below(1000)),
    }
}

fn random_value(rng: &mut Rng, pools: &Pools, depth: usize) -> Value {
    match rng.below(if depth > 3 { 9 } else { 12 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.chance(50)),
        2 => json!(
            one(rng, &["0", "-1", "1", "7", "100", "101"])
                .parse::<i64>()
                .unwrap_or(0)
        ),
        3 => json!(
            [
                i64::MAX as f64,
                i64::MIN as f64,
                1e308,
                -0.0,
                0.5,
                u64::MAX as f64
            ][rng.below(6)]
        ),
        4 => json!(u64::MAX),
        5 | 6 => Value::String(random_string(rng)),
        7 => pools.any(rng).map_or(Value::Null, Value::String),
        8 => nested(rng.below(400)),
        9 => Value::Array(
            (0..rng.below(4))
                .map(|_| random_value(rng, pools, depth + 1))
                .collect(),
        ),
        _ => {
            let mut map = Map::new();
            for _ in 0..rng.below(4) {
                let key = one(
                    rng,
                    &["value", "type", "primary", "display", "$ref", "name"],
                );
                map.insert(key.into(), random_value(rng, pools, depth + 1));
            }
            Value::Object(map)
        }
    }
}

/// `[[[…]]]` `depth` deep.
fn nested(depth: usize) -> Value {
    let mut v = json!(1);
    for _ in 0..depth {
        v = json!([v]);
    }
    v
}

fn id_from(rng: &mut Rng, pool: &[String], pools: &Pools) -> String {
    match rng.below(10) {
        0..=5 => rng.pick(pool).cloned().unwrap_or_else(|| "none".into()),
        6 => pools.any(rng).unwrap_or_default(),
        7 => uuid::Uuid::new_v4().to_string(),
        _ => one(
            rng,
            &[
                "",
                "..",
                "%2e%2e",
                "%2F",
                "a%00b",
                "%E2%82%AC",
                "%FF",
                "caf%C3%A9",
                "1",
                "-1",
                "null",
                "Users",
                "%27%20OR%201%3D1%20--",
                "x%20y",
            ],
        )
        .to_string(),
    }
}

const USER_PATHS: &[&str] = &[
    "userName",
    "name.givenName",
    "name",
    "displayName",
    "title",
    "active",
    "emails",
    "emails.value",
    "emails[type eq \"work\"].value",
    "emails[type eq \"work\"]",
    "emails[value co \"@\"].primary",
    "phoneNumbers",
    "addresses[type eq \"work\"].locality",
    "meta.lastModified",
    "id",
    "groups",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
    "urn:rollcall:params:scim:schemas:extension:contactcentre:2.0:User:securityProfiles",
    "urn:rollcall:params:scim:schemas:extension:contactcentre:2.0:User:skills",
    "urn:rollcall:params:scim:schemas:extension:contactcentre:2.0:User",
    "members",
    "members.value",
    "members[value eq \"x\"]",
    "displayName[",
    "emails[type eq]",
    "x.y.z",
    "aaa€",
    "",
    "urn:",
];

fn attribute_path(rng: &mut Rng, pools: &Pools) -> String {
    if rng.chance(10)
        && let Some(id) = rng.pick(&pools.users).cloned()
    {
        return format!("members[value eq \"{id}\"]");
    }
    if rng.chance(5) {
        return random_string(rng);
    }
    one(rng, USER_PATHS).to_string()
}

fn filter(rng: &mut Rng, pools: &Pools) -> String {
    let attr = one(
        rng,
        &[
            "userName",
            "displayName",
            "title",
            "active",
            "emails.value",
            "emails[type eq \"work\"].value",
            "meta.lastModified",
            "meta.created",
            "id",
            "externalId",
            "members.value",
            "name.familyName",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            "urn:rollcall:params:scim:schemas:extension:contactcentre:2.0:User:agentId",
            "nope",
            "aaa€",
        ],
    );
    let op = one(
        rng,
        &[
            "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr", "EQ", "xx",
        ],
    );
    let value = match rng.below(8) {
        0 => "true".into(),
        1 => "null".into(),
        2 => "42".into(),
        3 => "\"2024-01-01T00:00:00Z\"".into(),
        4 => format!("\"{}\"", pools.any(rng).unwrap_or_default()),
        _ => serde_json::to_string(&random_string(rng)).unwrap_or_default(),
    };
    let mut text = if op == "pr" {
        format!("{attr} pr")
    } else {
        format!("{attr} {op} {value}")
    };
    for _ in 0..rng.below(3) {
        let other = filter_leaf(rng);
        text = match rng.below(4) {
            0 => format!("{text} and {other}"),
            1 => format!("({text}) or {other}"),
            2 => format!("not ({text})"),
            _ => format!("emails[{text}]"),
        };
    }
    match rng.below(12) {
        0 => {
            let n = rng.below(200);
            format!("{}{text}{}", "(".repeat(n), ")".repeat(n))
        }
        1 => "not (".repeat(rng.below(200)) + &text,
        2 => {
            let cut = rng.below(text.len() + 1);
            text.chars().take(cut).collect()
        }
        3 => format!("{text} {}", random_string(rng)),
        4 => format!("userName eq \"{}\"", "x".repeat(rng.below(20_000))),
        _ => text,
    }
}

fn filter_leaf(rng: &mut Rng) -> String {
    one(
        rng,
        &[
            "title pr",
            "active eq false",
            "userName sw \"a\"",
            "displayName co \"€\"",
            "meta.created lt \"2100-01-01T00:00:00Z\"",
            "emails[type eq \"work\" and value ew \".com\"]",
            "x eq",
        ],
    )
    .to_string()
}

/// A query string value: percent-encoded, or (sometimes) raw text that is already encoded,
/// malformed or not UTF-8 once decoded.
fn query_value(rng: &mut Rng, key: &str, pools: &Pools) -> String {
    if rng.chance(12) {
        return one(
            rng,
            &[
                "aaa%E2%82%AC",
                "%E2%82%AC",
                "%ZZ",
                "%",
                "%E2%82",
                "%FF%FE",
                "a+b",
                "%00",
                "%20",
                "userName%20eq%20%22%E2%82%AC%22",
                "emails%5Btype%20eq%20%22work%22%5D.value",
            ],
        )
        .to_string();
    }
    let text = match key {
        "filter" => filter(rng, pools),
        "attributes" | "excludedAttributes" | "sortBy" => (0..1 + rng.below(3))
            .map(|_| attribute_path(rng, pools))
            .collect::<Vec<_>>()
            .join(","),
        "sortOrder" => one(rng, &["ascending", "descending", "DESCENDING", "up", ""]).into(),
        "startIndex" | "count" => one(
            rng,
            &[
                "0",
                "1",
                "2",
                "-1",
                "200",
                "201",
                "99999999999999999999",
                "abc",
                "1.5",
                "",
                " 1",
                "9223372036854775807",
                "-9223372036854775808",
            ],
        )
        .into(),
        "cursor" => match rng.below(4) {
            0 => String::new(),
            1 => "eyJ0IjoxfQ".into(),
            2 => random_string(rng),
            _ => "A".repeat(rng.below(5000)),
        },
        "dryRun" => one(rng, &["true", "false", "TRUE", "1", ""]).into(),
        "since" | "until" => one(
            rng,
            &[
                "2020-01-01T00:00:00Z",
                "2999-12-31T23:59:59+14:00",
                "yesterday",
                "0000-00-00T00:00:00Z",
                "",
            ],
        )
        .into(),
        "target" | "actor" | "credential" => pools.any(rng).unwrap_or_default(),
        _ => random_string(rng),
    };
    q(&text)
}

fn query_params(rng: &mut Rng, pools: &Pools) -> Vec<String> {
    let keys = [
        "filter",
        "attributes",
        "excludedAttributes",
        "sortBy",
        "sortOrder",
        "startIndex",
        "count",
        "cursor",
        "dryRun",
        "target",
        "actor",
        "credential",
        "since",
        "until",
        "aadOptscim062020",
        "FILTER",
        "Count",
        "x€",
    ];
    let mut parts = Vec::new();
    for _ in 0..rng.below(5) {
        let key = one(rng, &keys);
        if rng.chance(5) {
            parts.push(q(key));
        } else {
            let value = query_value(rng, key, pools);
            parts.push(format!("{}={value}", q(key)));
        }
    }
    parts
}

// ---- Documents ---------------------------------------------------------------------------

fn scim_user(rng: &mut Rng, pools: &Pools) -> Value {
    let mut doc = json!({
        "schemas": [USER_SCHEMA],
        "userName": format!("fuzz{}@example.com", rng.below(100_000)),
    });
    let extras: [(&str, Value); 9] = [
        (
            "name",
            json!({"givenName": "Ann", "familyName": "Lee", "formatted": "Ann Lee"}),
        ),
        ("displayName", json!("Ann Lee")),
        ("title", json!(random_string(rng))),
        ("active", json!(rng.chance(70))),
        (
            "emails",
            json!([{"value": format!("a{}@x.example", rng.below(500)), "type": "work", "primary": true}]),
        ),
        ("externalId", json!(random_string(rng))),
        (
            "timezone",
            json!(one(rng, &["Europe/London", "GMT Standard Time", "Nowhere"])),
        ),
        (
            ENTERPRISE,
            json!({"department": "Sales", "manager": {"value": pools.users.first()}}),
        ),
        (CONTACT_CENTRE, json!({"securityProfiles": ["Agent"]})),
    ];
    for (k, v) in extras {
        if rng.chance(50) {
            doc[k] = v;
        }
    }
    doc
}

fn members(rng: &mut Rng, pools: &Pools) -> Value {
    let n = match rng.below(100) {
        0..=1 => [1_000, 5_000, 12_000, 20_000][rng.below(4)],
        2..=6 => rng.below(200),
        _ => rng.below(5),
    };
    if rng.chance(1) {
        // As many distinct ids as fit in a request body (1 MiB): short ones.
        return (0..34_000 + rng.below(16_000))
            .map(|i| json!({"value": format!("{i:x}")}))
            .collect();
    }
    let known = if n >= 1_000 { 100 } else { 80 };
    (0..n)
        .map(|_| {
            let id = if rng.chance(known) {
                rng.pick(&pools.users).cloned()
            } else {
                None
            };
            json!({"value": id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string())})
        })
        .collect()
}

fn scim_group(rng: &mut Rng, pools: &Pools) -> Value {
    json!({
        "schemas": [GROUP_SCHEMA],
        "displayName": format!("fuzz group {}", rng.below(100_000)),
        "members": members(rng, pools),
    })
}

fn scim_patch(rng: &mut Rng, pools: &Pools) -> Value {
    let ops: Vec<Value> = (0..1 + rng.below(4))
        .map(|_| {
            let op = one(
                rng,
                &["add", "replace", "remove", "Add", "REPLACE", "move", ""],
            );
            let mut o = json!({"op": op});
            if rng.chance(80) {
                o["path"] = json!(attribute_path(rng, pools));
            }
            if rng.chance(80) {
                o["value"] = if rng.chance(30) {
                    members(rng, pools)
                } else {
                    random_value(rng, pools, 0)
                };
            }
            o
        })
        .collect();
    json!({"schemas": [PATCH_SCHEMA], "Operations": ops})
}

fn search(rng: &mut Rng, pools: &Pools) -> Value {
    let mut doc = json!({"schemas": [SEARCH_SCHEMA]});
    for (key, value) in [
        ("filter", json!(filter(rng, pools))),
        ("attributes", json!([attribute_path(rng, pools)])),
        ("excludedAttributes", json!(attribute_path(rng, pools))),
        ("sortBy", json!(attribute_path(rng, pools))),
        (
            "sortOrder",
            json!(one(rng, &["ascending", "descending", "x"])),
        ),
        ("startIndex", random_value(rng, pools, 0)),
        ("count", json!(rng.below(300) as i64 - 50)),
        ("cursor", json!(one(rng, &["", "abc"]))),
    ] {
        if rng.chance(40) {
            doc[key] = value;
        }
    }
    doc
}

fn admin_user(rng: &mut Rng, pools: &Pools) -> Value {
    let mut doc = json!({});
    let fields: [(&str, Value); 16] = [
        (
            "userName",
            json!(format!("local{}@example.com", rng.below(100_000))),
        ),
        (
            "securityProfiles",
            json!([one(rng, &["Agent", "Supervisor", "Nope"])]),
        ),
        (
            "name",
            json!({"givenName": random_string(rng), "familyName": "O'Neil-Smith"}),
        ),
        ("routingProfile", json!(pools.catalog_names.first())),
        (
            "licenceType",
            json!(one(
                rng,
                &["None", "Admin", "AgentDesktop", "AgentDesktopOutbound", "x"]
            )),
        ),
        (
            "skills",
            json!([{"name": pools.catalog_names.last(), "level": rng.below(12)}]),
        ),
        ("callbackNumbers", json!(["+442071234567"])),
        ("agentHierarchy", json!("EMEA/London")),
        (
            "telephonyRegion",
            json!(one(rng, &["EMEA Primary", "Sydney", "Moon"])),
        ),
        (
            "personalPhoneNumber",
            json!(format!("+4477009{:05}", rng.below(100_000))),
        ),
        ("webRtcEnabled", json!(rng.chance(50))),
        (
            "interactionCapacity",
            json!({"mode": one(rng, &["default", "custom", "x"]), "voice": rng.below(120)}),
        ),
        ("allowActAsAgent", json!(rng.chance(50))),
        ("actAsAgentGranted", json!(rng.chance(50))),
        (
            "timezone",
            json!(one(rng, &["Europe/London", "GMT Standard Time", "Nowhere"])),
        ),
        (
            "emails",
            json!([{"value": format!("l{}@x.example", rng.below(500)), "type": "work"}]),
        ),
    ];
    for (k, v) in fields {
        if rng.chance(35) || k == "userName" {
            doc[k] = v;
        }
    }
    doc
}

fn admin_doc(rng: &mut Rng, route: &str, pools: &Pools) -> Value {
    match route {
        "/admin/v1/users" if rng.chance(50) => {
            let ids: Vec<String> = (0..rng.below(5))
                .filter_map(|_| rng.pick(&pools.users).cloned())
                .collect();
            json!({"ids": ids, "set": admin_user(rng, pools)})
        }
        "/admin/v1/users" | "/admin/v1/users/{id}" => admin_user(rng, pools),
        "/admin/v1/settings" => {
            let mut doc = json!({});
            for (k, v) in [
                ("idpManaged", json!(rng.chance(20))),
                ("agentHierarchyRequired", json!(rng.chance(20))),
                ("directToAgentDialling", json!(rng.chance(50))),
                ("provisioningTemplateUser", json!(pools.users.first())),
                ("agentIdStart", json!(rng.below(100_000) as i64 - 10)),
                ("unknown", json!(1)),
            ] {
                if rng.chance(30) {
                    doc[k] = v;
                }
            }
            doc
        }
        _ => {
            let name = format!("fuzz {}", rng.below(100_000));
            json!({
                "name": name,
                "path": format!("Fuzz/{}", rng.below(1000)),
                "number": format!("+4420{:07}", rng.below(10_000_000)),
                "label": random_string(rng),
                "permissions": [one(rng, &["ViewUsers", "EditUser", "Nope"])],
            })
        }
    }
}

fn csv(rng: &mut Rng, header: &str) -> String {
    let columns = header.trim().split(',').count();
    let mut text = if rng.chance(90) {
        header.trim().to_string()
    } else {
        random_string(rng)
    };
    for _ in 0..rng.below(6) {
        let cells: Vec<String> = (0..columns + rng.below(2))
            .map(|i| match (i, rng.below(6)) {
                (0, _) => format!("csv{}@example.com", rng.below(1000)),
                (_, 0) => String::new(),
                (_, 1) => "\"a,\"\"b\"".into(),
                (_, 2) => "French:7;Billing:11".into(),
                (_, 3) => "custom voice=100 chat=x".into(),
                _ => random_string(rng).replace(['\n', '\r'], " "),
            })
            .collect();
        text.push('\n');
        text.push_str(&cells.join(","));
    }
    text
}

/// Mutates a document in place: replaces, drops, adds or wraps a random node.
fn mutate(rng: &mut Rng, v: &mut Value, pools: &Pools) {
    let descend = rng.chance(60);
    match v {
        Value::Object(map) if descend && !map.is_empty() => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let key = rng.pick(&keys).cloned().unwrap_or_default();
            if let Some(child) = map.get_mut(&key) {
                return mutate(rng, child, pools);
            }
        }
        Value::Array(items) if descend && !items.is_empty() => {
            let i = rng.below(items.len());
            return mutate(rng, &mut items[i], pools);
        }
        _ => {}
    }
    match (rng.below(6), &mut *v) {
        (0, Value::Object(map)) if !map.is_empty() => {
            let keys: Vec<String> = map.keys().cloned().collect();
            if let Some(key) = rng.pick(&keys) {
                map.remove(key);
            }
        }
        (1, Value::Object(map)) => {
            let key = one(
                rng,
                &["unknownKey", "schemas", "id", "meta", "Operations", "€"],
            );
            map.insert(key.into(), random_value(rng, pools, 0));
        }
        (2, Value::Array(items)) if !items.is_empty() => {
            let first = items[0].clone();
            items.extend(std::iter::repeat_n(first, rng.below(500)));
        }
        (3, _) => *v = json!([v.take()]),
        (4, _) => *v = json!({"value": v.take()}),
        _ => *v = random_value(rng, pools, 0),
    }
}

/// The body of a request to `route`, as bytes with a content type.
fn body(
    rng: &mut Rng,
    method: &Method,
    route: &str,
    pools: &Pools,
    csv_header: &str,
) -> Option<(String, Vec<u8>)> {
    let reads = *method == Method::GET || *method == Method::DELETE;
    if (reads && rng.chance(95)) || rng.chance(3) {
        return None;
    }
    let scim = route.starts_with("/scim/");
    let content_type = if scim {
        "application/scim+json"
    } else {
        "application/json"
    };
    if route == "/admin/v1/users/import" && rng.chance(85) {
        return Some(("text/csv".into(), csv(rng, csv_header).into_bytes()));
    }
    let mut doc = match (method.as_str(), route) {
        ("POST" | "PUT", "/scim/v2/Users" | "/scim/v2/Users/{id}") => scim_user(rng, pools),
        ("POST" | "PUT", "/scim/v2/Groups" | "/scim/v2/Groups/{id}") => scim_group(rng, pools),
        ("PATCH", r) if r.starts_with("/scim/") => scim_patch(rng, pools),
        ("POST", r) if r.ends_with(".search") => search(rng, pools),
        _ if !scim => admin_doc(rng, route, pools),
        _ => random_value(rng, pools, 0),
    };
    if rng.chance(45) {
        for _ in 0..1 + rng.below(3) {
            mutate(rng, &mut doc, pools);
        }
    }
    let mut bytes = doc.to_string().into_bytes();
    match rng.below(25) {
        0 => bytes.truncate(rng.below(bytes.len() + 1)),
        1 => bytes.insert(
            rng.below(bytes.len() + 1),
            b"{\"\\,:]\xff\x00"[rng.below(8)],
        ),
        2 => bytes = b"[".repeat(rng.below(100_000)),
        3 => {
            bytes = one(rng, &["", "null", "1", "\"x\"", "{}", "[]"])
                .as_bytes()
                .to_vec()
        }
        _ => {}
    }
    let content_type = match rng.below(20) {
        0 => one(
            rng,
            &[
                "text/plain",
                "application/xml",
                "",
                "application/json; charset=latin1",
            ],
        ),
        1 => "application/json",
        2 => "application/scim+json",
        _ => content_type,
    };
    Some((content_type.to_string(), bytes))
}

// ---- Requests ----------------------------------------------------------------------------

/// The methods a route serves (the generator mostly sticks to them, to get past routing).
fn allowed_methods(route: &str) -> Vec<Method> {
    use Method as M;
    let route = route
        .trim_start_matches("/scim/v2")
        .trim_start_matches("/admin/v1");
    match route {
        "/Users" | "/Groups" | "/{catalog}" => vec![M::GET, M::POST],
        "/Users/{id}" | "/Groups/{id}" => vec![M::GET, M::PUT, M::PATCH, M::DELETE],
        "/users" => vec![M::GET, M::POST, M::PATCH],
        "/users/{id}" => vec![M::GET, M::PATCH, M::DELETE],
        "/settings" => vec![M::GET, M::PATCH],
        "/{catalog}/{id}" => vec![M::PATCH, M::DELETE],
        "/credentials/{id}" => vec![M::DELETE],
        r if r.ends_with(".search")
            || r.ends_with("/archive")
            || r.ends_with("/reactivate")
            || r.ends_with("/import")
            || r == "/Bulk" =>
        {
            vec![M::POST]
        }
        _ => vec![M::GET],
    }
}

fn generate(rng: &mut Rng, pools: &Pools, csv_header: &str) -> Fuzzed {
    let scim = rng.chance(50);
    let (route, path) = if scim {
        let route = one(
            rng,
            &[
                "/Users",
                "/Users/{id}",
                "/Users/{id}",
                "/Groups",
                "/Groups/{id}",
                "/Groups/{id}",
                "/.search",
                "/Users/.search",
                "/Groups/.search",
                "/Bulk",
                "/Schemas",
                "/Schemas/{id}",
                "/ResourceTypes",
                "/ResourceTypes/{id}",
                "/ServiceProviderConfig",
            ],
        );
        let id = match route {
            "/Users/{id}" => id_from(rng, &pools.users, pools),
            "/Groups/{id}" => id_from(rng, &pools.groups, pools),
            "/Schemas/{id}" => one(
                rng,
                &[
                    USER_SCHEMA,
                    GROUP_SCHEMA,
                    ENTERPRISE,
                    CONTACT_CENTRE,
                    "urn:x",
                    "%E2%82%AC",
                ],
            )
            .to_string(),
            _ => one(rng, &["User", "Group", "user", "x%2Fy"]).to_string(),
        };
        (
            format!("/scim/v2{route}"),
            format!("/scim/v2{}", route.replace("{id}", &id)),
        )
    } else {
        let route = one(
            rng,
            &[
                "/users",
                "/users/{id}",
                "/users/{id}",
                "/users/{id}/archive",
                "/users/{id}/reactivate",
                "/settings",
                "/{catalog}",
                "/{catalog}",
                "/{catalog}/{id}",
                "/{catalog}/{id}",
                "/credentials",
                "/credentials/{id}",
                "/audit",
                "/users/import",
                "/users/import-template.csv",
                "/openapi.json",
            ],
        );
        let catalog = one(rng, &CATALOGS);
        let id = if route.starts_with("/users/") {
            id_from(rng, &pools.users, pools)
        } else if route.starts_with("/credentials") {
            id_from(rng, &pools.credentials, pools)
        } else {
            let pool = pools.catalog.get(catalog).cloned().unwrap_or_default();
            id_from(rng, &pool, pools)
        };
        let path = route.replace("{catalog}", catalog).replace("{id}", &id);
        (format!("/admin/v1{route}"), format!("/admin/v1{path}"))
    };
    let method = if rng.chance(85) {
        let allowed = allowed_methods(&route);
        allowed[rng.below(allowed.len())].clone()
    } else {
        match rng.below(8) {
            0 => Method::GET,
            1 => Method::POST,
            2 => Method::PUT,
            3 => Method::PATCH,
            4 => Method::DELETE,
            5 => Method::HEAD,
            6 => Method::OPTIONS,
            _ => Method::from_bytes(b"PROPFIND").unwrap_or(Method::OPTIONS),
        }
    };
    // A raw piece the URI grammar refuses is left out.
    let mut params: Vec<String> = query_params(rng, pools)
        .into_iter()
        .filter(|p| format!("{path}?{p}").parse::<Uri>().is_ok())
        .collect();
    while format!("{path}?{}", params.join("&"))
        .parse::<Uri>()
        .is_err()
    {
        params.pop(); // together too long for a URI
    }
    let token = match rng.below(100) {
        0..=3 => Token::Garbage,
        4..=5 => Token::Crossed,
        _ => Token::Good,
    };
    let authorization = (token == Token::Garbage).then(|| {
        one(
            rng,
            &[
                "",
                "Bearer",
                "Bearer ",
                "Bearer rc_",
                "Bearer rc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                "Basic Zm9vOmJhcg==",
                "Basic !!!",
                "Basic Og==",
                "Bearer rc_é\t",
                "Negotiate x",
            ],
        )
        .to_string()
    });
    let mut headers = Vec::new();
    if rng.chance(10) {
        let tag = one(
            rng,
            &[
                "W/\"1\"",
                "W/\"2\"",
                "*",
                "\"x\"",
                "W/\"99999999999999999999\"",
            ],
        );
        headers.push(("if-match", tag.to_string()));
    }
    if rng.chance(5) {
        headers.push(("prefer", "return=minimal".to_string()));
    }
    if rng.chance(3) {
        headers.push((
            "x-forwarded-proto",
            one(rng, &["https", "gopher", ""]).to_string(),
        ));
    }
    let body = body(rng, &method, &route, pools, csv_header);
    Fuzzed {
        method,
        route,
        path,
        params,
        token,
        authorization,
        headers,
        body,
    }
}

/// What the router answered: status and body (JSON if it parses).
async fn send(app: &TestApp, scim: &str, admin: &str, r: &Fuzzed) -> (u16, Value) {
    let (good, crossed) = if r.route.starts_with("/scim/") {
        (scim, admin)
    } else {
        (admin, scim)
    };
    let mut builder = Request::builder()
        .method(r.method.clone())
        .uri(r.uri())
        .header("host", "rollcall.test");
    let authorization = match (&r.authorization, r.token) {
        (Some(a), _) => a.clone(),
        (None, Token::Crossed) => format!("Bearer {crossed}"),
        (None, _) => format!("Bearer {good}"),
    };
    if !authorization.is_empty() {
        builder = builder.header("authorization", authorization);
    }
    for (k, v) in &r.headers {
        builder = builder.header(*k, v);
    }
    let body = match &r.body {
        Some((content_type, bytes)) => {
            if !content_type.is_empty() {
                builder = builder.header("content-type", content_type);
            }
            Body::from(bytes.clone())
        }
        None => Body::empty(),
    };
    let request = builder.body(body).expect("a valid request");
    let response = app
        .router
        .clone()
        .oneshot(request)
        .await
        .expect("infallible");
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, body)
}

fn harvest(pools: &mut Pools, r: &Fuzzed, status: u16, body: &Value) {
    let Some(id) = body["id"].as_str().filter(|_| status == 201) else {
        return;
    };
    let id = id.to_string();
    let route = r.route.as_str();
    if route == "/scim/v2/Users" || route == "/admin/v1/users" {
        pools.users.push(id);
    } else if route == "/scim/v2/Groups" {
        pools.groups.push(id);
    } else if let Some(catalog) = CATALOGS
        .iter()
        .find(|c| r.path.starts_with(&format!("/admin/v1/{c}")))
    {
        if let Some(name) = body["name"].as_str() {
            pools.catalog_names.push(name.to_string());
        }
        pools.catalog.entry(catalog).or_default().push(id);
    }
}

/// The smallest variant of a request that still gets a 5xx: query parameters, comma-separated
/// list items, body members and headers are dropped one at a time while the 5xx stays.
async fn shrink(app: &TestApp, scim: &str, admin: &str, mut r: Fuzzed) -> Fuzzed {
    let mut budget = 60;
    let mut still_fails = async |candidate: &Fuzzed| {
        budget -= 1;
        // A create again under the same name would only meet a uniqueness conflict.
        let mut fresh = candidate.clone();
        if let Some((_, bytes)) = fresh.body.as_mut()
            && let Ok(Value::Object(mut doc)) = serde_json::from_slice::<Value>(bytes)
        {
            for key in ["userName", "displayName", "name", "path"] {
                if let Some(Value::String(s)) = doc.get_mut(key) {
                    s.push_str(&format!(" {budget}"));
                }
            }
            if let Some(Value::Array(emails)) = doc.get_mut("emails") {
                for email in emails {
                    if let Some(Value::String(s)) = email.get_mut("value") {
                        s.insert_str(0, &format!("s{budget}."));
                    }
                }
            }
            *bytes = Value::Object(doc).to_string().into_bytes();
        }
        budget > 0 && send(app, scim, admin, &fresh).await.0 >= 500
    };
    for i in (0..r.params.len()).rev() {
        let mut c = r.clone();
        c.params.remove(i);
        if still_fails(&c).await {
            r = c;
        }
    }
    for i in 0..r.params.len() {
        let Some((key, value)) = r.params[i]
            .split_once('=')
            .map(|(k, v)| (k.to_string(), v.to_string()))
        else {
            continue;
        };
        let items: Vec<String> = value.split("%2C").map(str::to_string).collect();
        let mut kept = items.clone();
        for item in items.iter().rev() {
            if kept.len() < 2 {
                break;
            }
            let mut c = r.clone();
            let fewer: Vec<String> = kept.iter().filter(|k| *k != item).cloned().collect();
            c.params[i] = format!("{key}={}", fewer.join("%2C"));
            if still_fails(&c).await {
                kept = fewer;
                r = c;
            }
        }
    }
    for i in (0..r.headers.len()).rev() {
        let mut c = r.clone();
        c.headers.remove(i);
        if still_fails(&c).await {
            r = c;
        }
    }
    let mut c = r.clone();
    c.body = None;
    if still_fails(&c).await {
        return c;
    }
    let parsed = r
        .body
        .as_ref()
        .and_then(|(_, b)| serde_json::from_slice::<Value>(b).ok());
    if let Some(Value::Object(mut doc)) = parsed {
        let keys: Vec<String> = doc.keys().cloned().collect();
        for key in keys {
            let mut fewer = doc.clone();
            fewer.remove(&key);
            let mut c = r.clone();
            if let Some((_, bytes)) = c.body.as_mut() {
                *bytes = Value::Object(fewer.clone()).to_string().into_bytes();
            }
            if still_fails(&c).await {
                doc = fewer;
                r = c;
            }
        }
    }
    r
}

/// What identifies a shrunk failure: method, route, what is left of the query (ids blanked)
/// and the shape of the body.
fn signature(r: &Fuzzed, status: u16) -> String {
    let mut text = format!("{} {}", r.method, r.route);
    if !r.params.is_empty() {
        text.push_str(&format!("?{}", clip(&r.params.join("&"), 120)));
    }
    for (k, _) in &r.headers {
        text.push_str(&format!(" +{k}"));
    }
    match &r.body {
        None => {}
        Some((_, bytes)) => match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(doc)) => {
                let shape: Vec<String> = doc
                    .iter()
                    .map(|(k, v)| match v {
                        Value::Array(a) => format!("{k}[{}]", a.len()),
                        _ => k.clone(),
                    })
                    .collect();
                text.push_str(&format!(" {{{}}}", shape.join(", ")));
            }
            _ => text.push_str(&format!(" ({} byte body)", bytes.len())),
        },
    }
    let mut out = format!("{text} → {status}");
    for id in r.path.split('/').filter(|p| p.len() == 36) {
        out = out.replace(id, "{id}");
    }
    out
}

/// A distinct failure: its first example and how often it happened.
struct Failure {
    example: String,
    count: usize,
}

#[tokio::test]
async fn random_requests_never_get_a_server_error() {
    let requests: usize = std::env::var("HTTP_FUZZ_REQUESTS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(3_000);
    let seed: u64 = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0x5C1A_F022);
    println!("FUZZ_SEED={seed} HTTP_FUZZ_REQUESTS={requests}");
    let mut rng = Rng::new(seed);
    let app = TestApp::new().await;
    let mut admin = crate::harness::boss(&app).await;
    let scim = app.token.clone();

    // Something to aim at: users, groups, catalog entries and spare credentials.
    let mut pools = Pools::default();
    for i in 0..5 {
        pools
            .users
            .push(app.user(&format!("seed{i}@example.com")).await);
    }
    let seeded = pools.users.clone();
    pools
        .groups
        .push(app.group("seed group", &[&seeded[0], &seeded[1]]).await);
    for (segment, body) in [
        ("skills", json!({"name": "French"})),
        ("routing-profiles", json!({"name": "Sales"})),
        ("hierarchy", json!({"path": "EMEA/London"})),
        (
            "callback-numbers",
            json!({"number": "+442071234567", "label": "London"}),
        ),
    ] {
        let id = crate::harness::catalog(&app, &admin, segment, body.clone()).await;
        pools.catalog.entry(segment).or_default().push(id);
    }
    pools.catalog_names = vec!["Sales".into(), "French".into()];
    for user in &seeded[..3] {
        pools.credentials.push(app.user_credential(user).await.0);
    }
    let template = app
        .admin(&admin, Method::GET, "/users/import-template.csv", None)
        .await;
    let csv_header = template.body.as_str().unwrap_or("email").to_string();

    let started = std::time::Instant::now();
    let mut failures: BTreeMap<String, Failure> = BTreeMap::new();
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    for n in 0..requests {
        let r = generate(&mut rng, &pools, &csv_header);
        let (status, body) = send(&app, &scim, &admin, &r).await;
        *statuses.entry(status).or_default() += 1;
        // Discovery and the API description are public.
        let public = [
            "/scim/v2/Schemas",
            "/scim/v2/ResourceTypes",
            "/scim/v2/ServiceProviderConfig",
            "/admin/v1/openapi.json",
        ]
        .iter()
        .any(|d| r.route.starts_with(d));
        let problem = if status >= 500 {
            let small = shrink(&app, &scim, &admin, r.clone()).await;
            let (again, answer) = send(&app, &scim, &admin, &small).await;
            Some(if again >= 500 {
                (signature(&small, again), small.describe(), answer)
            } else {
                (signature(&r, status), r.describe(), body.clone())
            })
        } else if r.token == Token::Garbage && !public && (200..300).contains(&status) {
            let key = format!("{} {} → {status} without a credential", r.method, r.route);
            Some((key, r.describe(), body.clone()))
        } else {
            None
        };
        if let Some((key, example, answer)) = problem {
            let failure = failures.entry(key).or_insert_with(|| Failure {
                example: format!(
                    "request #{n}: {example}\n    answer: {}",
                    clip(&answer.to_string(), 300)
                ),
                count: 0,
            });
            failure.count += 1;
        }
        harvest(&mut pools, &r, status, &body);
        // Random settings and edits can lock the fuzzer's own admin out; mint a new one.
        if n % 100 == 99 {
            let probe = app.admin(&admin, Method::GET, "/settings", None).await;
            if probe.status.as_u16() != 200 {
                rollcall::write::settings::update(
                    &app.db,
                    &app.tenant_id,
                    &rollcall::domain::audit::Actor::cli(),
                    None,
                    |_| Ok(Default::default()),
                )
                .await
                .expect("reset settings");
                admin = app
                    .admin_token(&format!("boss{n}"), &["Administrator"])
                    .await
                    .1;
            }
        }
    }
    println!(
        "{requests} requests in {:.1} s; statuses: {statuses:?}",
        started.elapsed().as_secs_f64()
    );

    // Still serving normally afterwards.
    app.get("/Users?count=1").await.assert_ok(200);
    let settings = app.admin(&admin, Method::GET, "/settings", None).await;
    settings.assert_admin_ok(200);
    // The generator reaches past validation: creates and reads succeed too.
    if requests >= 1_000 {
        for status in [200, 201, 204, 400, 404] {
            assert!(
                statuses.contains_key(&status),
                "no {status} in {statuses:?}"
            );
        }
    }
    assert!(
        failures.is_empty(),
        "FUZZ_SEED={seed}: {} distinct failure(s):\n{}",
        failures.len(),
        failures
            .iter()
            .map(|(key, f)| format!("- {key} ({} times)\n  {}", f.count, f.example))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
