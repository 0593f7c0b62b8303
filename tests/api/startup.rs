//! Starting the binary as an operator would, and getting it wrong: each mistake is one line
//! on stderr that says what to do, within seconds, with the documented exit code; and the log
//! formats (JSON lines; no colour codes when stderr is not a terminal).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn rollcall(args: &[&str]) -> (Option<i32>, String, Duration) {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(args)
        .env_remove("ROLLCALL_DATABASE_URL")
        .env("RUST_LOG", "error")
        .output()
        .expect("run rollcall");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        started.elapsed(),
    )
}

/// Asserts one short line on stderr containing every one of `parts`, and no "internal
/// error" or password.
#[track_caller]
fn assert_one_line(stderr: &str, parts: &[&str]) {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    for part in parts {
        assert!(lines[0].contains(part), "{part:?} missing from {stderr}");
    }
    assert!(!stderr.contains("internal error"), "{stderr}");
    assert!(!stderr.contains("s3cret"), "{stderr}");
}

#[test]
fn a_sqlite_file_without_mode_rwc_says_to_add_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite://{}/missing.db", dir.path().display());
    let (code, stderr, _) = rollcall(&["--database-url", &url, "migrate"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_one_line(&stderr, &["does not exist", "?mode=rwc"]);
    assert!(!dir.path().join("missing.db").exists());
}

#[test]
fn an_unsupported_url_is_named_without_its_password() {
    let (code, stderr, _) = rollcall(&[
        "--database-url",
        "mysql://root:s3cret@localhost/rollcall",
        "migrate",
    ]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_one_line(
        &stderr,
        &["unsupported database URL", "postgres://", "sqlite://"],
    );
}

#[test]
fn an_unreachable_postgresql_fails_within_seconds() {
    // Nothing listens on port 1 of loopback: connection refused.
    let (code, stderr, elapsed) = rollcall(&[
        "--database-url",
        "postgres://rollcall:s3cret@127.0.0.1:1/rollcall",
        "--db-acquire-timeout",
        "2",
        "serve",
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert_one_line(
        &stderr,
        &[
            "cannot open the database",
            "127.0.0.1:1",
            "check that it is running",
        ],
    );
    assert!(elapsed < Duration::from_secs(8), "{elapsed:?}");
}

#[test]
fn a_port_in_use_is_said_plainly() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = taken.local_addr().expect("address").to_string();
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite://{}/r.db?mode=rwc", dir.path().display());
    let (code, stderr, elapsed) =
        rollcall(&["--database-url", &url, "serve", "--listen", &address]);
    assert_eq!(code, Some(2), "{stderr}");
    assert_one_line(&stderr, &["cannot listen on", &address, "another process"]);
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

#[test]
fn a_bad_public_url_is_refused_before_serving() {
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite://{}/r.db?mode=rwc", dir.path().display());
    let (code, stderr, _) = rollcall(&[
        "--database-url",
        &url,
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--public-url",
        "scim.example.com",
    ]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_one_line(&stderr, &["--public-url", "https://"]);
}

/// Starts `serve` on a free port with `extra` flags and returns the stderr lines up to and
/// including the one announcing where it serves.
fn first_log_lines(extra: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite://{}/r.db?mode=rwc", dir.path().display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(["--database-url", &url])
        .args(extra)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start rollcall");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = Vec::new();
    for line in BufReader::new(stderr).lines() {
        let line = line.expect("a line");
        let done = line.contains("serving SCIM");
        lines.push(line);
        if done || lines.len() > 50 {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    lines
}

#[test]
fn logs_are_json_lines_on_request_and_plain_text_when_not_a_terminal() {
    let json = first_log_lines(&["--log-format", "json"]);
    assert!(
        json.last().is_some_and(|l| l.contains("serving SCIM")),
        "{json:?}"
    );
    for line in &json {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(value["timestamp"].is_string(), "{line}");
        assert!(value["level"].is_string(), "{line}");
        assert!(value["message"].is_string(), "{line}");
    }
    let text = first_log_lines(&[]);
    assert!(
        text.last().is_some_and(|l| l.contains("serving SCIM")),
        "{text:?}"
    );
    for line in &text {
        assert!(!line.contains('\u{1b}'), "ANSI escape in {line:?}");
    }
}

#[test]
fn every_command_and_flag_has_help_text() {
    use clap::CommandFactory;
    fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
        let path = format!("{path} {}", command.get_name());
        if command.get_about().is_none() && command.get_long_about().is_none() {
            missing.push(path.clone());
        }
        for arg in command.get_arguments() {
            let id = arg.get_id().as_str();
            if id == "help" || id == "version" {
                continue;
            }
            if arg.get_help().is_none() && arg.get_long_help().is_none() {
                missing.push(format!("{path} --{id}"));
            }
        }
        for sub in command.get_subcommands() {
            if sub.get_name() != "help" {
                walk(sub, &path, missing);
            }
        }
    }
    let mut missing = Vec::new();
    walk(&rollcall::cli::Cli::command(), "", &mut missing);
    assert!(missing.is_empty(), "without help text: {missing:?}");
}
