//! The write layer: every change to the directory — SCIM, the admin API, CSV import, the CLI
//! — goes through one function here per mutation. Each takes the tenant, the actor and the
//! input, and in order:
//!
//! 1. authorises it (the actor's permissions; what an identity provider may reach);
//! 2. validates it against the tenant's catalogs and settings;
//! 3. writes it in one transaction with a version compare-and-swap, together with its audit
//!    row and the checks that must see the committed state of other writers (catalog entries
//!    still present, the tenant keeping an administrator);
//! 4. retries the whole attempt on a version conflict or a busy SQLite, with one policy
//!    ([`retry`]).
//!
//! ```text
//! request → http (axum: extract, authenticate, render)
//!         → scim (RFC semantics, pure)      ┐
//!         → write (authorise, validate,     ├→ domain (contact-centre rules, pure)
//!                  CAS + audit in one txn)  ┘        ↑
//!         → store (sea-orm: rows, queries) ──────────┘
//! ```
//!
//! Handlers only translate between HTTP and these functions.
//!
//! **Dry runs.** A write run inside [`dry_run`] does all of the above — authorisation,
//! validation, the writes themselves so unique indexes and in-transaction checks answer as
//! they would — and then rolls its transaction back instead of committing. Its answer is the
//! real run's answer; nothing is stored, audited or visible to anyone else.

pub mod brake;
pub mod catalogs;
pub mod credentials;
pub mod groups;
pub mod guard;
pub mod oidc;
pub mod receivers;
pub mod settings;
pub mod tenants;
pub mod users;

use std::future::Future;
use std::time::Duration;

use sea_orm::{DatabaseConnection, DatabaseTransaction, TransactionTrait};

use crate::domain::{Error, Result};
use crate::store::sql_err;

/// How many attempts a write makes before answering a conflict.
const ATTEMPTS: u64 = 40;

/// The retry policy of every write: after a version conflict (another writer changed the
/// resource meanwhile, or SQLite was busy) the attempt runs again after a growing, jittered
/// pause, up to a bound; then the conflict is answered.
#[derive(Debug, Default)]
pub struct Attempts {
    round: u64,
}

impl Attempts {
    /// Pauses before the next attempt; false when the attempts are used up.
    pub async fn pause(&mut self) -> bool {
        if self.round + 1 >= ATTEMPTS {
            return false;
        }
        let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0] % 10);
        tokio::time::sleep(Duration::from_millis(2 + self.round * 2 + jitter)).await;
        self.round += 1;
        true
    }
}

/// Runs `attempt` again while it fails with a version conflict, by the [`Attempts`] policy.
pub async fn retry<T, F, Fut>(mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut attempts = Attempts::default();
    loop {
        match attempt().await {
            Err(Error::VersionConflict) if attempts.pause().await => {}
            other => return other,
        }
    }
}

/// Begins a transaction.
pub async fn begin(db: &DatabaseConnection) -> Result<DatabaseTransaction> {
    db.begin().await.map_err(|e| sql_err(e, "transaction"))
}

tokio::task_local! {
    static DRY_RUN: bool;
}

/// Runs `writes` as a dry run: every transaction they commit is rolled back instead.
pub async fn dry_run<F: Future>(writes: F) -> F::Output {
    DRY_RUN.scope(true, writes).await
}

/// Whether the current task runs its writes as a dry run.
pub fn is_dry_run() -> bool {
    DRY_RUN.try_with(|dry| *dry).unwrap_or(false)
}

/// Commits a transaction — or, in a [`dry_run`], rolls it back after everything in it
/// succeeded.
pub async fn commit(txn: DatabaseTransaction) -> Result<()> {
    if is_dry_run() {
        return txn.rollback().await.map_err(|e| sql_err(e, "transaction"));
    }
    txn.commit().await.map_err(|e| sql_err(e, "transaction"))
}
