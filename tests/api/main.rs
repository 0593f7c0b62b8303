//! Integration tests: the real router on a fresh database with the real migrations, driven
//! in-process. With `ROLLCALL_TEST_DATABASE_URL` set (a PostgreSQL server URL), every test
//! gets its own fresh PostgreSQL database instead of a SQLite file.

mod harness;

mod admin;
mod brake;
mod bulk;
mod cli;
mod concurrency;
mod console;
mod crash;
mod differential;
mod discovery;
mod domain;
mod edge;
mod events;
mod explain;
mod fuzz;
mod groups;
mod idp;
mod idp_fixes;
mod import;
mod limits;
mod logging;
mod operator;
mod pagination;
mod provisioning_log;
mod rng;
mod startup;
mod upload;
mod users;
mod write_path;
