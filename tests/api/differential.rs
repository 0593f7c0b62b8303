//! Differential test of the filter pipeline: random users and random filters from a
//! grammar-aware generator; the SQL result (store::filter) must equal the in-memory result
//! (domain::filter evaluator over the rendered resources), on whichever database runs.

use std::collections::BTreeSet;

use rollcall::domain::audit::{Actor, Entry};
use rollcall::domain::filter::ListQuery;
use rollcall::domain::user::{ManagedBy, User};
use rollcall::scim::filter::{self, Resource};
use rollcall::scim::resource::render_user;
use rollcall::scim::schema::Registry;
use rollcall::store::{groups as store_groups, users as store_users};
use serde_json::{Map, Value, json};

use crate::harness::TestApp;

/// A small deterministic generator (xorshift64*), so a failure is reproducible by seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const WORDS: &[&str] = &[
    "alpha", "Alpha", "ALPHA", "beta", "al%pha", "a_b", "x!y", "Élan", "élan", "straße", "zed",
    "b", "",
];
const TYPES: &[&str] = &["work", "Work", "home", "other"];
const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const CC: &str = "urn:rollcall:params:scim:schemas:extension:contactcentre:2.0:User";
const BASE_US: i64 = 1_700_000_000_000_000;

fn random_doc(rng: &mut Rng, n: usize) -> Map<String, Value> {
    let mut doc = Map::new();
    doc.insert("userName".into(), json!(format!("{}{n}", rng.pick(WORDS))));
    doc.insert("active".into(), json!(rng.chance(70)));
    let maybe = |rng: &mut Rng, doc: &mut Map<String, Value>, key: &str| {
        if rng.chance(60) {
            let w = *rng.pick(WORDS);
            if !w.is_empty() {
                doc.insert(key.into(), json!(w));
            }
        }
    };
    maybe(rng, &mut doc, "externalId");
    maybe(rng, &mut doc, "displayName");
    maybe(rng, &mut doc, "title");
    maybe(rng, &mut doc, "nickName");
    if rng.chance(70) {
        let mut name = Map::new();
        maybe(rng, &mut name, "givenName");
        maybe(rng, &mut name, "familyName");
        if !name.is_empty() {
            doc.insert("name".into(), Value::Object(name));
        }
    }
    let emails: Vec<Value> = (0..rng.below(4))
        .map(|i| {
            let mut e = json!({"value": format!(
                "{}{n}.{i}@{}.example",
                rng.pick(WORDS),
                rng.pick(&["x", "y", "X"])
            )});
            if rng.chance(80) {
                e["type"] = json!(rng.pick(TYPES));
            }
            if rng.chance(50) {
                e["primary"] = json!(i == 0);
            }
            e
        })
        .collect();
    if !emails.is_empty() {
        doc.insert("emails".into(), Value::Array(emails));
    }
    let mut ent = Map::new();
    maybe(rng, &mut ent, "department");
    maybe(rng, &mut ent, "employeeNumber");
    if rng.chance(30) {
        ent.insert("manager".into(), json!({"value": rng.pick(WORDS)}));
    }
    if !ent.is_empty() {
        doc.insert(ENT.into(), Value::Object(ent));
    }
    let mut cc = Map::new();
    if rng.chance(60) {
        let profiles: Vec<Value> = (0..1 + rng.below(2))
            .map(|_| json!(rng.pick(&["Agent", "Supervisor", "Administrator"])))
            .collect();
        cc.insert("securityProfiles".into(), Value::Array(profiles));
    }
    if rng.chance(50) {
        let skills: Vec<Value> = (0..1 + rng.below(2))
            .map(|_| json!({"name": rng.pick(&["French", "Sales"]), "level": 1 + rng.below(10)}))
            .collect();
        cc.insert("skills".into(), Value::Array(skills));
    }
    if rng.chance(50) {
        cc.insert("mediaLessMode".into(), json!(rng.chance(50)));
    }
    if !cc.is_empty() {
        doc.insert(CC.into(), Value::Object(cc));
    }
    doc
}

fn quoted<S: AsRef<str> + ?Sized>(s: &S) -> String {
    serde_json::to_string(s.as_ref()).expect("string")
}

fn string_atom(rng: &mut Rng, attrs: &[&str]) -> String {
    let attr = rng.pick(attrs);
    let op = rng.pick(&[
        "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr", "EQ",
    ]);
    if *op == "pr" {
        return format!("{attr} pr");
    }
    let mut value = rng.pick(WORDS).to_string();
    if rng.chance(30) && value.len() > 2 {
        value = value.chars().take(2).collect();
    }
    format!("{attr} {op} {}", quoted(&value))
}

fn atom(rng: &mut Rng, group_ids: &[String]) -> String {
    match rng.below(12) {
        0..=4 => string_atom(
            rng,
            &[
                "userName",
                "externalId",
                "displayName",
                "title",
                "nickName",
                "name.givenName",
                "name.familyName",
                "emails.value",
                "emails",
                "emails.type",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
                "urn:rollcall:params:scim:schemas:extension:contactcentre:2.0:User:securityProfiles",
                "employeeNumber",
                "id",
            ],
        ),
        5 => format!(
            "active {} {}",
            rng.pick(&["eq", "ne"]),
            rng.pick(&["true", "false"])
        ),
        6 => {
            let us = BASE_US + (rng.below(6) as i64) * 1_000_000;
            let when = rollcall::scim::resource::format_time(us);
            format!(
                "meta.{} {} {}",
                rng.pick(&["created", "lastModified"]),
                rng.pick(&["gt", "ge", "lt", "le", "eq"]),
                quoted(&when)
            )
        }
        7 => format!(
            "emails[type eq {} {} value {} {}]",
            quoted(rng.pick(TYPES)),
            rng.pick(&["and", "or"]),
            rng.pick(&["co", "sw", "ew", "eq"]),
            quoted(rng.pick(WORDS))
        ),
        8 => format!(
            "emails[{}].value {} {}",
            rng.pick(&[
                "type eq \"work\"",
                "primary eq true",
                "not (type eq \"home\")",
                "type pr"
            ]),
            rng.pick(&["eq", "co", "sw"]),
            quoted(rng.pick(WORDS))
        ),
        9 => format!(
            "urn:rollcall:params:scim:schemas:extension:contactcentre:2.0:User:skills[name eq {} and level {} {}]",
            quoted(rng.pick(&["french", "Sales"])),
            rng.pick(&["gt", "ge", "lt", "le", "eq", "ne"]),
            1 + rng.below(10)
        ),
        10 => {
            if group_ids.is_empty() {
                "userName pr".into()
            } else {
                format!("groups.value eq {}", quoted(rng.pick(group_ids).as_str()))
            }
        }
        _ => format!(
            "{} pr",
            rng.pick(&[
                "emails",
                "name",
                "groups",
                "urn:rollcall:params:scim:schemas:extension:contactcentre:2.0:User:mediaLessMode"
            ])
        ),
    }
}

fn random_filter(rng: &mut Rng, depth: u32, group_ids: &[String]) -> String {
    if depth == 0 || rng.chance(35) {
        return atom(rng, group_ids);
    }
    match rng.below(4) {
        0 => format!("not ({})", random_filter(rng, depth - 1, group_ids)),
        1 => format!(
            "({}) or ({})",
            random_filter(rng, depth - 1, group_ids),
            random_filter(rng, depth - 1, group_ids)
        ),
        _ => format!(
            "{} and {}",
            random_filter(rng, depth - 1, group_ids),
            random_filter(rng, depth - 1, group_ids)
        ),
    }
}

async fn run(seed: u64, users: usize, filters: usize) {
    let app = TestApp::new().await;
    let registry = Registry::load().expect("schemas");
    let mut rng = Rng(seed);
    let mut stored = Vec::new();
    for n in 0..users {
        let user = User {
            id: uuid::Uuid::new_v4().to_string(),
            tenant_id: app.tenant_id.clone(),
            managed_by: ManagedBy::Idp,
            version: 1,
            created_us: BASE_US + (rng.below(6) as i64) * 1_000_000,
            modified_us: BASE_US + (rng.below(6) as i64) * 1_000_000,
            attributes: random_doc(&mut rng, n),
        };
        store_users::insert(&app.db, &user, true)
            .await
            .expect("insert user");
        stored.push(user);
    }
    let mut group_ids = Vec::new();
    for g in 0..3 {
        let members: Vec<String> = stored
            .iter()
            .filter(|_| rng.chance(30))
            .map(|u| u.id.clone())
            .collect();
        let group = rollcall::domain::group::Group {
            id: uuid::Uuid::new_v4().to_string(),
            tenant_id: app.tenant_id.clone(),
            version: 1,
            created_us: BASE_US,
            modified_us: BASE_US,
            attributes: json!({"displayName": format!("g{g}")})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        };
        let entry = Entry::new(
            &app.tenant_id,
            &Actor::cli(),
            "group.create",
            "group",
            &group.id,
            Default::default(),
        );
        store_groups::insert(&app.db, &group, &members, &entry)
            .await
            .expect("insert group");
        group_ids.push(group.id);
    }
    let ids: Vec<String> = stored.iter().map(|u| u.id.clone()).collect();
    let mut memberships = store_users::groups_of(&app.db, &app.tenant_id, &ids)
        .await
        .expect("groups");
    let rendered: Vec<(String, Value)> = stored
        .iter()
        .map(|u| {
            let groups = memberships.remove(&u.id).unwrap_or_default();
            (
                u.id.clone(),
                render_user(&registry.user, u, &groups, "http://t/scim/v2"),
            )
        })
        .collect();
    let mut checked = 0;
    for _ in 0..filters {
        let text = random_filter(&mut rng, 3, &group_ids);
        let resolved = match filter::parse(&registry.user, Resource::User, &text) {
            Ok(f) => f,
            Err(e) => panic!("generated filter {text:?} was refused: {}", e.detail),
        };
        let query = ListQuery {
            filter: Some(resolved.clone()),
            limit: 10_000,
            ..ListQuery::default()
        };
        let (found, total) = store_users::list(
            &app.db,
            &app.tenant_id,
            &query,
            rollcall::domain::user::View::Tenant,
        )
        .await
        .unwrap_or_else(|e| panic!("SQL for {text:?} failed: {e}"));
        let sql: BTreeSet<String> = found.into_iter().map(|u| u.id).collect();
        let memory: BTreeSet<String> = rendered
            .iter()
            .filter(|(_, doc)| resolved.matches(doc))
            .map(|(id, _)| id.clone())
            .collect();
        assert_eq!(total as usize, sql.len(), "count for {text:?}");
        if sql != memory {
            let only_sql: Vec<&Value> = rendered
                .iter()
                .filter(|(id, _)| sql.contains(id) && !memory.contains(id))
                .map(|(_, d)| d)
                .collect();
            let only_memory: Vec<&Value> = rendered
                .iter()
                .filter(|(id, _)| memory.contains(id) && !sql.contains(id))
                .map(|(_, d)| d)
                .collect();
            panic!(
                "seed {seed}: filter {text:?}\nresolved {resolved:?}\nonly in SQL: {only_sql:#?}\nonly in memory: {only_memory:#?}"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, filters);
}

#[tokio::test]
async fn sql_and_in_memory_filters_agree_on_random_data() {
    let rounds: u64 = std::env::var("DIFFERENTIAL_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    for seed in 1..=rounds {
        run(0x9e37_79b9_7f4a_7c15 ^ seed, 60, 150).await;
    }
}
