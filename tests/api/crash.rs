//! Durability under `kill -9`: the real binary serves concurrent admin and SCIM writes and is
//! killed at a random moment; after a restart every acknowledged write must be stored, every
//! stored change must have its audit row, and no audit row may describe a change that is not
//! stored. SQLite in a temp dir, or a fresh PostgreSQL database when
//! `ROLLCALL_TEST_DATABASE_URL` is set. `CRASH_ROUNDS` (default 6) sets the number of kills,
//! `CRASH_SEED` the random seed (printed).
//!
//! Traffic goes only to 127.0.0.1, over a minimal HTTP/1.1 client (`Connection: close`), and
//! every loop is bounded in count and time.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::{GROUP_SCHEMA, USER_SCHEMA, fresh_database_url, patch_op};
use crate::rng::Rng;

/// Credentials minted with the CLI before each round, some of which the round revokes.
const TOKENS_PER_ROUND: usize = 3;
/// Bounds of one client task in one round.
const MAX_OPS_PER_TASK: usize = 400;
const MAX_TASK_TIME: Duration = Duration::from_secs(5);
/// The catalogs the workload writes, with their audit target type.
const CATALOGS: [&str; 2] = ["skills", "routing-profiles"];

// ---- A minimal HTTP/1.1 client -----------------------------------------------------------

/// What became of one request.
#[derive(Debug)]
enum Exchange {
    /// A complete answer: status and JSON body (a string if not JSON, null if empty).
    Answered(u16, Value),
    /// No connection: the server never saw the request.
    NotSent,
    /// Sent, but no complete answer: the write may or may not be stored.
    Lost,
}

async fn request(
    port: u16,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Exchange {
    let connect = TcpStream::connect(("127.0.0.1", port));
    let Ok(Ok(mut stream)) = tokio::time::timeout(Duration::from_secs(5), connect).await else {
        return Exchange::NotSent;
    };
    let payload = body.map(Value::to_string).unwrap_or_default();
    let content_type = if path.starts_with("/scim/") {
        "application/scim+json"
    } else {
        "application/json"
    };
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Authorization: Bearer {token}\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\n\r\n",
        payload.len()
    );
    let exchange = async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(payload.as_bytes()).await?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await?;
        Ok::<_, std::io::Error>(raw)
    };
    match tokio::time::timeout(Duration::from_secs(15), exchange).await {
        Ok(Ok(raw)) => {
            parse_response(&raw).map_or(Exchange::Lost, |(s, b)| Exchange::Answered(s, b))
        }
        _ => Exchange::Lost,
    }
}

/// Status and body of a complete response; `None` if it was cut off.
fn parse_response(raw: &[u8]) -> Option<(u16, Value)> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let (mut length, mut chunked) = (None, false);
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(value.parse::<usize>().ok()?);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        }
    }
    let rest = &raw[end + 4..];
    let body = if chunked {
        dechunk(rest)?
    } else if let Some(n) = length {
        rest.get(..n)?.to_vec()
    } else {
        rest.to_vec()
    };
    let value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()))
    };
    Some((status, value))
}

fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

/// A GET that must answer 200 (the server is up and idle while we verify).
async fn get_ok(port: u16, token: &str, path: &str) -> Value {
    match request(port, token, "GET", path, None).await {
        Exchange::Answered(200, body) => body,
        other => panic!("GET {path}: {other:?}"),
    }
}

// ---- The server process ------------------------------------------------------------------

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    /// SIGKILL: no graceful shutdown, no flush.
    fn kill(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn cli(url: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .arg("--database-url")
        .arg(url)
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .expect("run rollcall");
    assert!(
        out.status.success(),
        "rollcall {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Starts `rollcall serve` on a free port and waits for `/healthz`. On an empty database the
/// banner's two secrets (SCIM, admin) are returned too.
async fn start(url: &str, logs: &Path, n: usize) -> (Server, Vec<String>) {
    for attempt in 0..3 {
        let port = free_port();
        let log = std::fs::File::create(logs.join(format!("server-{n}-{attempt}.log")))
            .expect("log file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_rollcall"))
            .args(["--database-url", url, "serve", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "error")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("spawn rollcall serve");
        // The banner is printed (line-buffered) before the server listens.
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.trim().starts_with("rc_") && tx.send(line.trim().to_string()).is_err() {
                    break;
                }
            }
        });
        let mut server = Server { child, port };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if let Exchange::Answered(200, _) = request(port, "", "GET", "/healthz", None).await {
                let secrets: Vec<String> = rx.try_iter().collect();
                return (server, secrets);
            }
            if let Ok(Some(_)) = server.child.try_wait() {
                break; // probably lost the port to someone else: try another
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        server.kill();
    }
    panic!("rollcall serve did not come up; logs in {}", logs.display());
}

// ---- What the clients were told ----------------------------------------------------------

/// A resource's state as acknowledged, and the other state it may be in when the write in
/// flight at the kill was lost (`alt`). Verification resolves `alt` to what was stored.
#[derive(Debug, Clone)]
struct Tracked<T> {
    owner: usize,
    state: T,
    alt: Option<T>,
}

impl<T: PartialEq + Clone + std::fmt::Debug> Tracked<T> {
    fn new(owner: usize, state: T) -> Tracked<T> {
        Tracked {
            owner,
            state,
            alt: None,
        }
    }

    /// Whether `observed` is a state the clients' acknowledgements allow; then adopt it.
    fn settle(&mut self, observed: T) -> Result<(), String> {
        let allowed = observed == self.state || self.alt.as_ref() == Some(&observed);
        let result = if allowed {
            Ok(())
        } else {
            Err(format!(
                "stored {observed:?}, acknowledged {:?} (or, if the write in flight \
                 landed, {:?})",
                self.state, self.alt
            ))
        };
        self.state = observed;
        self.alt = None;
        result
    }
}

#[derive(Debug, Clone)]
struct Credential {
    id: String,
    secret: String,
    /// Whether the revocation of it was acknowledged; `alt` = a revocation was in flight.
    revoked: Tracked<bool>,
    audit_checked: bool,
}

#[derive(Default)]
struct Model {
    /// Catalog entries by id: (segment, name or None when deleted).
    catalog: HashMap<String, (&'static str, Tracked<Option<String>>, bool)>,
    /// SCIM users by id: title.
    users: HashMap<String, Tracked<String>>,
    /// SCIM groups by id: member ids.
    groups: HashMap<String, Tracked<BTreeSet<String>>>,
    credentials: Vec<Credential>,
    /// (agentIdStart, directToAgentDialling).
    settings: Option<Tracked<(i64, bool)>>,
    /// agentIdStart values whose PATCH was acknowledged and whose audit row is not yet seen.
    settings_unaudited: Vec<i64>,
    /// Creates whose answer was lost, by (kind, name): they may exist without our knowing.
    lost_creates: BTreeSet<(String, String)>,
    /// Writes acknowledged / lost / refused, for the round summary.
    acked: usize,
    lost: usize,
    refused: usize,
}

type Shared = Arc<Mutex<Model>>;

fn model(shared: &Shared) -> std::sync::MutexGuard<'_, Model> {
    shared.lock().unwrap_or_else(|p| p.into_inner())
}

/// Everything that went wrong, by message, with the first round it was seen in.
type Failures = Arc<Mutex<BTreeMap<String, usize>>>;

fn fail(failures: &Failures, round: usize, message: String) {
    failures
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(message)
        .or_insert(round);
}

// ---- The workload ------------------------------------------------------------------------

struct Client {
    port: u16,
    scim: String,
    admin: String,
    round: usize,
    slot: usize,
    rng: Rng,
    model: Shared,
    failures: Failures,
}

/// How one write ended, from the client's point of view.
enum Outcome {
    Acked(Value),
    Refused,
    Lost,
    Stop,
}

impl Client {
    async fn write(&mut self, method: &str, path: &str, body: Option<Value>) -> Outcome {
        let token = if path.starts_with("/scim/") {
            &self.scim
        } else {
            &self.admin
        };
        match request(self.port, token, method, path, body.as_ref()).await {
            Exchange::Answered(status, body) if (200..300).contains(&status) => {
                model(&self.model).acked += 1;
                Outcome::Acked(body)
            }
            Exchange::Answered(status, answer) => {
                model(&self.model).refused += 1;
                fail(
                    &self.failures,
                    self.round,
                    format!("workload: {method} {path} {body:?} answered {status} {answer}"),
                );
                Outcome::Refused
            }
            Exchange::Lost => {
                model(&self.model).lost += 1;
                Outcome::Lost
            }
            Exchange::NotSent => Outcome::Stop,
        }
    }

    /// Runs writes until the server dies or the bounds are reached.
    async fn run(mut self, kind: usize) {
        let started = Instant::now();
        for n in 0..MAX_OPS_PER_TASK {
            if started.elapsed() > MAX_TASK_TIME {
                break;
            }
            let go_on = match kind {
                0 | 1 => self.catalog_step(n).await,
                2 => self.user_step(n).await,
                3 => self.group_step(n).await,
                _ => self.settings_step(n).await,
            };
            if !go_on {
                break;
            }
        }
    }

    async fn catalog_step(&mut self, n: usize) -> bool {
        let segment = *self.rng.pick(&CATALOGS).expect("catalogs");
        let mine: Vec<(String, String)> = model(&self.model)
            .catalog
            .iter()
            .filter(|(_, (s, t, _))| *s == segment && t.owner == self.slot && t.alt.is_none())
            .filter_map(|(id, (_, t, _))| t.state.clone().map(|name| (id.clone(), name)))
            .collect();
        let name = format!("{segment}-{}-{}-{n}", self.round, self.slot);
        let roll = self.rng.below(100);
        let Some((id, _)) = self.rng.pick(&mine).cloned().filter(|_| roll >= 45) else {
            let outcome = self
                .write(
                    "POST",
                    &format!("/admin/v1/{segment}"),
                    Some(json!({"name": name})),
                )
                .await;
            return match outcome {
                Outcome::Acked(body) => {
                    let id = body["id"].as_str().unwrap_or_default().to_string();
                    let tracked = Tracked::new(self.slot, Some(name));
                    model(&self.model)
                        .catalog
                        .insert(id, (segment, tracked, false));
                    true
                }
                Outcome::Refused => true,
                Outcome::Lost => {
                    model(&self.model)
                        .lost_creates
                        .insert((segment.to_string(), name));
                    false
                }
                Outcome::Stop => false,
            };
        };
        let path = format!("/admin/v1/{segment}/{id}");
        let (outcome, next) = if roll < 75 {
            let body = json!({"name": name});
            (self.write("PATCH", &path, Some(body)).await, Some(name))
        } else {
            (self.write("DELETE", &path, None).await, None)
        };
        let mut m = model(&self.model);
        let Some((_, tracked, _)) = m.catalog.get_mut(&id) else {
            return false;
        };
        match outcome {
            Outcome::Acked(_) => tracked.state = next,
            Outcome::Lost => tracked.alt = Some(next),
            Outcome::Refused => {}
            Outcome::Stop => return false,
        }
        !matches!(outcome, Outcome::Lost)
    }

    async fn user_step(&mut self, n: usize) -> bool {
        let mine: Vec<String> = model(&self.model)
            .users
            .iter()
            .filter(|(_, t)| t.owner == self.slot && t.alt.is_none())
            .map(|(id, _)| id.clone())
            .collect();
        let title = format!("title {}.{n}", self.round);
        let Some(id) = self
            .rng
            .pick(&mine)
            .cloned()
            .filter(|_| self.rng.chance(50))
        else {
            let user_name = format!("crash-{}-{n}@example.com", self.round);
            let body = json!({"schemas": [USER_SCHEMA], "userName": user_name, "title": title});
            return match self.write("POST", "/scim/v2/Users", Some(body)).await {
                Outcome::Acked(body) => {
                    let id = body["id"].as_str().unwrap_or_default().to_string();
                    model(&self.model)
                        .users
                        .insert(id, Tracked::new(self.slot, title));
                    true
                }
                Outcome::Refused => true,
                Outcome::Lost => {
                    model(&self.model)
                        .lost_creates
                        .insert(("user".into(), user_name));
                    false
                }
                Outcome::Stop => false,
            };
        };
        let body = patch_op(json!([{"op": "replace", "path": "title", "value": title}]));
        let outcome = self
            .write("PATCH", &format!("/scim/v2/Users/{id}"), Some(body))
            .await;
        let mut m = model(&self.model);
        let tracked = m.users.get_mut(&id).expect("tracked user");
        match outcome {
            Outcome::Acked(_) => tracked.state = title,
            Outcome::Lost => tracked.alt = Some(title),
            Outcome::Refused => {}
            Outcome::Stop => return false,
        }
        !matches!(outcome, Outcome::Lost)
    }

    async fn group_step(&mut self, n: usize) -> bool {
        let (users, mine) = {
            let m = model(&self.model);
            let users: Vec<String> = m.users.keys().cloned().collect();
            let mine: Vec<(String, BTreeSet<String>)> = m
                .groups
                .iter()
                .filter(|(_, t)| t.owner == self.slot && t.alt.is_none())
                .map(|(id, t)| (id.clone(), t.state.clone()))
                .collect();
            (users, mine)
        };
        let Some((id, members)) = self
            .rng
            .pick(&mine)
            .cloned()
            .filter(|_| self.rng.chance(70))
        else {
            let name = format!("crash-group-{}-{n}", self.round);
            let members: BTreeSet<String> = (0..self.rng.below(4))
                .filter_map(|_| self.rng.pick(&users).cloned())
                .collect();
            let values: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
            let body = json!({"schemas": [GROUP_SCHEMA], "displayName": name, "members": values});
            return match self.write("POST", "/scim/v2/Groups", Some(body)).await {
                Outcome::Acked(body) => {
                    let id = body["id"].as_str().unwrap_or_default().to_string();
                    model(&self.model)
                        .groups
                        .insert(id, Tracked::new(self.slot, members));
                    true
                }
                Outcome::Refused => true,
                Outcome::Lost => {
                    model(&self.model)
                        .lost_creates
                        .insert(("group".into(), name));
                    false
                }
                Outcome::Stop => false,
            };
        };
        let mut next = members.clone();
        let remove = members
            .iter()
            .next()
            .cloned()
            .filter(|_| self.rng.chance(30));
        let op = if let Some(member) = remove {
            next.remove(&member);
            json!({"op": "remove", "path": format!("members[value eq \"{member}\"]")})
        } else {
            let Some(user) = self.rng.pick(&users).cloned() else {
                return true;
            };
            next.insert(user.clone());
            json!({"op": "add", "path": "members", "value": [{"value": user}]})
        };
        let outcome = self
            .write(
                "PATCH",
                &format!("/scim/v2/Groups/{id}"),
                Some(patch_op(json!([op]))),
            )
            .await;
        let mut m = model(&self.model);
        let tracked = m.groups.get_mut(&id).expect("tracked group");
        match outcome {
            Outcome::Acked(_) => tracked.state = next,
            Outcome::Lost => tracked.alt = Some(next),
            Outcome::Refused => {}
            Outcome::Stop => return false,
        }
        !matches!(outcome, Outcome::Lost)
    }

    /// Settings patches (one client only, so "last acknowledged" is well defined) and
    /// credential revocations.
    async fn settings_step(&mut self, n: usize) -> bool {
        let revocable: Vec<String> = model(&self.model)
            .credentials
            .iter()
            .filter(|c| !c.revoked.state && c.revoked.alt.is_none())
            .map(|c| c.id.clone())
            .collect();
        if let Some(id) = self
            .rng
            .pick(&revocable)
            .cloned()
            .filter(|_| self.rng.chance(30))
        {
            let outcome = self
                .write("DELETE", &format!("/admin/v1/credentials/{id}"), None)
                .await;
            let mut m = model(&self.model);
            let c = m.credentials.iter_mut().find(|c| c.id == id).expect("ours");
            return match outcome {
                Outcome::Acked(_) => {
                    c.revoked.state = true;
                    true
                }
                Outcome::Lost => {
                    c.revoked.alt = Some(true);
                    false
                }
                Outcome::Refused => true,
                Outcome::Stop => false,
            };
        }
        // Unique per write, so each has its own audit row to find.
        let start = 1000 + (self.round as i64) * 10_000 + n as i64;
        let dialling = self.rng.chance(50);
        let body = json!({"agentIdStart": start, "directToAgentDialling": dialling});
        let outcome = self.write("PATCH", "/admin/v1/settings", Some(body)).await;
        let mut m = model(&self.model);
        let settings = m
            .settings
            .get_or_insert_with(|| Tracked::new(0, (1000, false)));
        match outcome {
            Outcome::Acked(_) => {
                settings.state = (start, dialling);
                m.settings_unaudited.push(start);
                true
            }
            Outcome::Lost => {
                settings.alt = Some((start, dialling));
                false
            }
            Outcome::Refused => true,
            Outcome::Stop => false,
        }
    }
}

// ---- Verification after a restart --------------------------------------------------------

/// The audit log, newest first, indexed by target id.
struct Audit {
    rows: Vec<Value>,
}

impl Audit {
    async fn load(port: u16, admin: &str) -> Audit {
        let mut rows: Vec<Value> = Vec::new();
        for _ in 0..10_000 {
            let page = get_ok(
                port,
                admin,
                &format!("/admin/v1/audit?startIndex={}&count=200", rows.len() + 1),
            )
            .await;
            let items = page["items"].as_array().cloned().unwrap_or_default();
            let total = page["totalResults"].as_u64().unwrap_or(0) as usize;
            if items.is_empty() {
                break;
            }
            rows.extend(items);
            if rows.len() >= total {
                break;
            }
        }
        Audit { rows }
    }

    fn of<'a>(&'a self, target: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.rows
            .iter()
            .filter(move |r| r["target"]["id"] == target)
    }

    fn has(&self, target: &str, action: &str) -> bool {
        self.of(target).any(|r| r["action"] == action)
    }

    /// The newest recorded value of a changed field on a target.
    fn last_after(&self, target: &str, field: &str) -> Option<Value> {
        self.of(target)
            .find_map(|r| r["changes"].get(field).map(|c| c["after"].clone()))
    }

    fn with_action<'a>(&'a self, action: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.rows.iter().filter(move |r| r["action"] == action)
    }
}

/// All resources of a SCIM list, paged.
async fn scim_all(port: u16, scim: &str, resource: &str) -> Vec<Value> {
    let mut all: Vec<Value> = Vec::new();
    for _ in 0..10_000 {
        let page = get_ok(
            port,
            scim,
            &format!("/scim/v2/{resource}?startIndex={}&count=200", all.len() + 1),
        )
        .await;
        let items = page["Resources"].as_array().cloned().unwrap_or_default();
        let total = page["totalResults"].as_u64().unwrap_or(0) as usize;
        if items.is_empty() {
            break;
        }
        all.extend(items);
        if all.len() >= total {
            break;
        }
    }
    all
}

struct Verifier<'a> {
    port: u16,
    scim: &'a str,
    admin: &'a str,
    round: usize,
    failures: &'a Failures,
    audit: Audit,
}

impl Verifier<'_> {
    fn fail(&self, message: String) {
        fail(self.failures, self.round, message);
    }

    async fn catalogs(&self, m: &mut Model) {
        for segment in CATALOGS {
            let listed = get_ok(self.port, self.admin, &format!("/admin/v1/{segment}")).await;
            let stored: HashMap<String, String> = listed["items"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|i| (str_of(&i["id"]), str_of(&i["name"])))
                .collect();
            for (id, (s, tracked, gone_checked)) in m.catalog.iter_mut() {
                if *s != segment {
                    continue;
                }
                if let Err(e) = tracked.settle(stored.get(id).cloned()) {
                    self.fail(format!("{segment} {id}: {e}"));
                }
                if tracked.state.is_none() && !*gone_checked {
                    *gone_checked = true;
                    if !self.audit.has(id, "catalog.delete") {
                        self.fail(format!(
                            "{segment} {id} is deleted without a catalog.delete audit row"
                        ));
                    }
                }
            }
            for (id, name) in &stored {
                if !m.catalog.contains_key(id) {
                    if m.lost_creates
                        .contains(&(segment.to_string(), name.clone()))
                    {
                        let tracked = Tracked::new(0, Some(name.clone()));
                        m.catalog.insert(id.clone(), (segment, tracked, false));
                    } else {
                        self.fail(format!(
                            "{segment} {id} ({name}) exists but nobody created it"
                        ));
                    }
                }
                if !self.audit.has(id, "catalog.create") {
                    self.fail(format!(
                        "{segment} {id} ({name}) exists without a catalog.create audit row"
                    ));
                }
                let last = self.audit.last_after(id, "name");
                if last.is_some() && last != Some(Value::String(name.clone())) {
                    self.fail(format!(
                        "{segment} {id} is named {name:?} but its newest audit row says {}",
                        last.unwrap_or_default()
                    ));
                }
            }
        }
        // No audit row for a change that is not stored.
        for row in self.audit.with_action("catalog.create") {
            let id = str_of(&row["target"]["id"]);
            let known = m.catalog.get(&id);
            let stored = known.is_some_and(|(_, t, _)| t.state.is_some());
            if known.is_some() && !stored && !self.audit.has(&id, "catalog.delete") {
                self.fail(format!("catalog.create audit row for {id}, which is gone"));
            }
            if known.is_none() && CATALOGS.iter().any(|s| row["target"]["type"] == *s) {
                self.fail(format!("catalog.create audit row for {id}, never stored"));
            }
        }
        for row in self.audit.with_action("catalog.delete") {
            let id = str_of(&row["target"]["id"]);
            if m.catalog
                .get(&id)
                .is_some_and(|(_, t, _)| t.state.is_some())
            {
                self.fail(format!(
                    "catalog.delete audit row for {id}, which is still stored"
                ));
            }
        }
    }

    async fn users(&self, m: &mut Model) {
        let stored: HashMap<String, (String, String)> = scim_all(self.port, self.scim, "Users")
            .await
            .iter()
            .map(|u| {
                (
                    str_of(&u["id"]),
                    (str_of(&u["userName"]), str_of(&u["title"])),
                )
            })
            .collect();
        for (id, tracked) in m.users.iter_mut() {
            match stored.get(id) {
                None => self.fail(format!("user {id} was acknowledged but is not stored")),
                Some((_, title)) => {
                    if let Err(e) = tracked.settle(title.clone()) {
                        self.fail(format!("user {id} title: {e}"));
                    }
                }
            }
        }
        for (id, (user_name, title)) in &stored {
            if !m.users.contains_key(id) && user_name != "admin" {
                if m.lost_creates.contains(&("user".into(), user_name.clone())) {
                    m.users.insert(id.clone(), Tracked::new(2, title.clone()));
                } else {
                    self.fail(format!(
                        "user {id} ({user_name}) exists but nobody created it"
                    ));
                }
            }
            if !self.audit.has(id, "user.create") {
                self.fail(format!(
                    "user {id} ({user_name}) exists without a user.create audit row"
                ));
            }
            let last = self.audit.last_after(id, "title");
            if last.is_some() && last != Some(Value::String(title.clone())) {
                self.fail(format!(
                    "user {id} has title {title:?} but its newest audit row says {}",
                    last.unwrap_or_default()
                ));
            }
        }
        for row in self.audit.with_action("user.create") {
            let id = str_of(&row["target"]["id"]);
            if !stored.contains_key(&id) {
                // Local users (the bootstrap admin, CLI users) are outside SCIM's view; the
                // admin API sees every user.
                let alone = request(
                    self.port,
                    self.admin,
                    "GET",
                    &format!("/admin/v1/users/{id}"),
                    None,
                )
                .await;
                if matches!(&alone, Exchange::Answered(200, _)) {
                    continue;
                }
                self.fail(format!(
                    "user.create audit row for {id}, which is not listed (GET: {alone:?}; row {row})"
                ));
            }
        }
    }

    async fn groups(&self, m: &mut Model) {
        let stored: HashMap<String, (String, BTreeSet<String>)> =
            scim_all(self.port, self.scim, "Groups")
                .await
                .iter()
                .map(|g| {
                    let members = g["members"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|m| str_of(&m["value"]))
                        .collect();
                    (str_of(&g["id"]), (str_of(&g["displayName"]), members))
                })
                .collect();
        for (id, tracked) in m.groups.iter_mut() {
            match stored.get(id) {
                None => self.fail(format!("group {id} was acknowledged but is not stored")),
                Some((_, members)) => {
                    if let Err(e) = tracked.settle(members.clone()) {
                        self.fail(format!("group {id} members: {e}"));
                    }
                }
            }
        }
        for (id, (name, members)) in &stored {
            if !m.groups.contains_key(id) {
                if m.lost_creates.contains(&("group".into(), name.clone())) {
                    m.groups
                        .insert(id.clone(), Tracked::new(3, members.clone()));
                } else {
                    self.fail(format!("group {id} ({name}) exists but nobody created it"));
                }
            }
            if !self.audit.has(id, "group.create") {
                self.fail(format!(
                    "group {id} ({name}) exists without a group.create audit row"
                ));
            }
        }
        for row in self.audit.with_action("group.create") {
            let id = str_of(&row["target"]["id"]);
            if !stored.contains_key(&id) {
                self.fail(format!(
                    "group.create audit row for {id}, which is not stored"
                ));
            }
        }
    }

    async fn credentials(&self, m: &mut Model) {
        let listed = get_ok(self.port, self.admin, "/admin/v1/credentials").await;
        let ids: BTreeSet<String> = listed["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| str_of(&c["id"]))
            .collect();
        for c in m.credentials.iter_mut() {
            let works = match request(self.port, &c.secret, "GET", "/admin/v1/settings", None).await
            {
                Exchange::Answered(200, _) => true,
                Exchange::Answered(401, _) => false,
                other => panic!("GET /admin/v1/settings with credential {}: {other:?}", c.id),
            };
            if let Err(e) = c.revoked.settle(!works) {
                self.fail(format!("credential {} revoked: {e}", c.id));
            }
            if ids.contains(&c.id) != works {
                self.fail(format!(
                    "credential {}: listed {}, authenticates {works}",
                    c.id,
                    ids.contains(&c.id)
                ));
            }
            if !works && !c.audit_checked {
                c.audit_checked = true;
                if !self.audit.has(&c.id, "credential.revoke") {
                    self.fail(format!(
                        "credential {} is revoked without a credential.revoke audit row",
                        c.id
                    ));
                }
            }
            if works && self.audit.has(&c.id, "credential.revoke") {
                self.fail(format!(
                    "credential.revoke audit row for {}, which still authenticates",
                    c.id
                ));
            }
        }
    }

    async fn settings(&self, m: &mut Model) {
        let stored = get_ok(self.port, self.admin, "/admin/v1/settings").await;
        let start = stored["agentIdStart"].as_i64().unwrap_or(-1);
        let dialling = stored["directToAgentDialling"].as_bool().unwrap_or(false);
        let tracked = m
            .settings
            .get_or_insert_with(|| Tracked::new(0, (1000, false)));
        if let Err(e) = tracked.settle((start, dialling)) {
            self.fail(format!(
                "settings (agentIdStart, directToAgentDialling): {e}"
            ));
        }
        let rows: Vec<&Value> = self.audit.with_action("settings.update").collect();
        let recorded = |v: i64| {
            rows.iter()
                .any(|r| r["changes"]["agentIdStart"]["after"] == v)
        };
        for v in std::mem::take(&mut m.settings_unaudited) {
            if !recorded(v) {
                self.fail(format!(
                    "acknowledged settings PATCH agentIdStart={v} has no settings.update audit row"
                ));
            }
        }
        for (field, value, default) in [
            ("agentIdStart", json!(start), json!(1000)),
            ("directToAgentDialling", json!(dialling), json!(false)),
        ] {
            let last = rows
                .iter()
                .find_map(|r| r["changes"].get(field).map(|c| c["after"].clone()))
                .unwrap_or(default);
            if last != value {
                self.fail(format!(
                    "settings {field} is {value} but the newest settings.update audit row says {last}"
                ));
            }
        }
    }
}

fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

// ---- The test ----------------------------------------------------------------------------

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_keeps_every_acknowledged_write_and_its_audit_row() {
    let rounds = env_number("CRASH_ROUNDS").unwrap_or(6) as usize;
    let seed = env_number("CRASH_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    println!("CRASH_SEED={seed} CRASH_ROUNDS={rounds}");
    let mut rng = Rng::new(seed);
    let (url, _db_dir) = fresh_database_url().await;
    let logs = tempfile::tempdir().expect("log dir");
    let (mut server, secrets) = start(&url, logs.path(), 0).await;
    let [scim, admin] = <[String; 2]>::try_from(secrets).expect("the first serve's two secrets");
    let shared: Shared = Arc::default();
    let failures: Failures = Arc::default();

    for round in 1..=rounds {
        let began = Instant::now();
        // Credentials to revoke, minted by the CLI while the server runs.
        let minted: Vec<(String, String)> = (0..TOKENS_PER_ROUND)
            .map(|i| {
                let name = format!("crash-{round}-{i}");
                let secret = cli(
                    &url,
                    &[
                        "token", "create", "--tenant", "default", "--user", "admin", "--name",
                        &name,
                    ],
                );
                (name, secret)
            })
            .collect();
        let listed = get_ok(server.port, &admin, "/admin/v1/credentials").await;
        for (name, secret) in minted {
            let id = listed["items"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| c["name"] == name.as_str())
                .map(|c| str_of(&c["id"]))
                .expect("minted credential listed");
            model(&shared).credentials.push(Credential {
                id,
                secret,
                revoked: Tracked::new(4, false),
                audit_checked: false,
            });
        }
        {
            let mut m = model(&shared);
            (m.acked, m.lost, m.refused) = (0, 0, 0);
        }

        let tasks: Vec<_> = (0..5)
            .map(|slot| {
                let client = Client {
                    port: server.port,
                    scim: scim.clone(),
                    admin: admin.clone(),
                    round,
                    slot,
                    rng: Rng::new(seed ^ ((round as u64) << 32) ^ slot as u64),
                    model: shared.clone(),
                    failures: failures.clone(),
                };
                tokio::spawn(client.run(slot))
            })
            .collect();
        let kill_after = Duration::from_millis(50 + rng.below(351) as u64);
        tokio::time::sleep(kill_after).await;
        server.kill();
        for task in tasks {
            tokio::time::timeout(Duration::from_secs(30), task)
                .await
                .expect("client task ends once the server is gone")
                .expect("client task");
        }

        drop(server);
        let (restarted, _) = start(&url, logs.path(), round).await;
        server = restarted;
        let verifier = Verifier {
            port: server.port,
            scim: &scim,
            admin: &admin,
            round,
            failures: &failures,
            audit: Audit::load(server.port, &admin).await,
        };
        // The tasks are done: take the model out to verify it.
        let mut m = std::mem::take(&mut *model(&shared));
        verifier.catalogs(&mut m).await;
        verifier.users(&mut m).await;
        verifier.groups(&mut m).await;
        verifier.credentials(&mut m).await;
        verifier.settings(&mut m).await;
        println!(
            "round {round}: killed after {} ms; {} writes acknowledged, {} lost, {} refused; \
             {} audit rows; {:.1} s",
            kill_after.as_millis(),
            m.acked,
            m.lost,
            m.refused,
            verifier.audit.rows.len(),
            began.elapsed().as_secs_f64()
        );
        *model(&shared) = m;
    }
    server.kill();

    let failures = failures.lock().unwrap_or_else(|p| p.into_inner());
    assert!(
        failures.is_empty(),
        "CRASH_SEED={seed}: {} failure(s):\n{}",
        failures.len(),
        failures
            .iter()
            .map(|(message, round)| format!("  round {round}: {message}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
