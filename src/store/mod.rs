//! Storage over sea-orm: SQLite (embedded default) and PostgreSQL, the same migrations and
//! queries on both. Uniqueness comes from unique indexes; `sql_err` turns their violations
//! into the domain's uniqueness error.

pub mod audit;
pub mod brake;
pub mod catalog;
pub mod console;
pub mod credentials;
pub mod entity;
pub mod events;
pub mod filter;
pub mod groups;
pub mod provisioning_log;
pub mod tenants;
pub mod users;

use std::time::Duration;

use migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr, SqlErr};

use crate::domain::{Error, Result};

/// Opens the database with the default acquire timeout.
pub async fn connect(url: &str) -> Result<DatabaseConnection> {
    connect_with(url, DEFAULT_ACQUIRE_TIMEOUT).await
}

/// How long a request waits for a pool connection (and a new connection to open) by default.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens the database: SQLite in WAL mode with a busy timeout and foreign keys on, or
/// PostgreSQL. Connections are opened, and handed out, within `acquire_timeout`; past it
/// the caller gets `Unavailable`.
pub async fn connect_with(url: &str, acquire_timeout: Duration) -> Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_string());
    options
        .sqlx_logging(false)
        .connect_timeout(acquire_timeout)
        .acquire_timeout(acquire_timeout);
    if url.starts_with("sqlite:") {
        options.max_connections(8).min_connections(1);
        options.map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                // LIKE must respect case so case-exact attributes compare exactly.
                .pragma("case_sensitive_like", "ON")
        });
    } else {
        options.max_connections(16).min_connections(1);
    }
    Database::connect(options)
        .await
        .map_err(|e| Error::Unavailable(e.to_string()))
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<()> {
    Migrator::up(db, None)
        .await
        .map_err(|e| Error::Internal(format!("migration failed: {e}")))
}

/// Maps a database error: a unique violation becomes `Uniqueness` of the field `what`,
/// SQLite's "busy" and PostgreSQL's deadlocks a retryable conflict, everything else
/// `Internal`.
pub fn sql_err(err: DbErr, what: &str) -> Error {
    unique_err(err, what, format!("{what} is already in use"))
}

/// `sql_err` with the field and the detail of a unique violation given.
pub fn unique_err(err: DbErr, field: &str, detail: String) -> Error {
    if let Some(SqlErr::UniqueConstraintViolation(_)) = err.sql_err() {
        return Error::Uniqueness {
            field: field.to_string(),
            detail,
        };
    }
    match failure(&err) {
        Some(Failure::Retry) => Error::VersionConflict,
        Some(Failure::Nul) => {
            Error::invalid_input("text must not contain the NUL character (U+0000)")
        }
        Some(Failure::Unavailable) => Error::Unavailable(err.to_string()),
        None => Error::Internal(err.to_string()),
    }
}

/// A database failure the write layer treats as something other than an internal error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// SQLite busy or locked (primary codes 5 and 6), PostgreSQL deadlock (40P01) or
    /// serialization failure (40001): the transaction was rolled back; run the attempt again.
    Retry,
    /// PostgreSQL refused U+0000 in text (22021); the HTTP surface refuses it first, this
    /// keeps any other path from answering 500.
    Nul,
    /// No connection could be had or kept: the pool timed out, the server refused or dropped
    /// the connection, or is shutting down (PostgreSQL classes 08 and 57P).
    Unavailable,
}

/// Classifies a database error by its code, as each backend reports it.
fn failure(err: &DbErr) -> Option<Failure> {
    use sea_orm::RuntimeErr;
    use sea_orm::sqlx;
    let e = match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => return Some(Failure::Unavailable),
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => e,
        _ => return None,
    };
    let db = match e.as_ref() {
        sqlx::Error::Database(db) => db,
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => return Some(Failure::Unavailable),
        _ => return None,
    };
    let code = db.code()?;
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        let primary = code.parse::<i32>().ok()? & 0xff;
        return matches!(primary, 5 | 6).then_some(Failure::Retry);
    }
    match code.as_ref() {
        "40P01" | "40001" => Some(Failure::Retry),
        "22021" => Some(Failure::Nul),
        c if c.starts_with("08") || c.starts_with("57P") => Some(Failure::Unavailable),
        _ => None,
    }
}

/// Serialises the writes of one tenant that decide tenant-wide rules (the last
/// administrator, catalog usage): a no-op update of the tenant's row takes its row lock on
/// PostgreSQL and the write lock on SQLite, held until the transaction ends.
pub async fn lock_tenant(txn: &impl sea_orm::ConnectionTrait, tenant_id: &str) -> Result<()> {
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let result = entity::tenants::Entity::update_many()
        .col_expr(
            entity::tenants::Column::SettingsVersion,
            Expr::col(entity::tenants::Column::SettingsVersion),
        )
        .filter(entity::tenants::Column::Id.eq(tenant_id))
        .exec(txn)
        .await
        .map_err(|e| sql_err(e, "tenant"))?;
    if result.rows_affected == 0 {
        return Err(Error::NotFound(format!("tenant {tenant_id}")));
    }
    Ok(())
}

/// The most bind parameters one statement built from input carries: well under SQLite's
/// 32,766 and PostgreSQL's 65,535, leaving room for the statement's few fixed parameters
/// (tenant, group id). Statements whose parameters grow with a request's size run in chunks
/// of this many, inside the caller's transaction.
pub const MAX_BINDS: usize = 10_000;

/// How many rows of `columns` parameters each (or ids, with `columns` 1) fit in one
/// statement.
pub fn chunk_len(columns: usize) -> usize {
    (MAX_BINDS / columns.max(1)).max(1)
}

/// How many rows of entity `E` fit in one multi-row insert: every column counted, so the
/// bound holds whichever columns the rows set.
pub fn rows_per_insert<E: sea_orm::EntityTrait>() -> usize {
    use sea_orm::Iterable;
    chunk_len(E::Column::iter().count())
}

/// The current time in microseconds since the epoch.
pub fn now_us() -> i64 {
    let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    i64::try_from(nanos / 1000).unwrap_or(i64::MAX)
}

/// A new resource id.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
