//! What the benchmarks share: a fresh database to measure on.

use rollcall::store;
use sea_orm::{ConnectionTrait, DatabaseConnection};

/// A fresh, empty database: a SQLite file in a temp dir, or (`postgres`) a new database on
/// the server `ROLLCALL_BENCH_DATABASE_URL` names. Keep the temp dir alive while measuring.
pub async fn fresh(kind: &str, label: &str) -> (DatabaseConnection, Option<tempfile::TempDir>) {
    if kind == "postgres" {
        let server = std::env::var("ROLLCALL_BENCH_DATABASE_URL").unwrap_or_default();
        let admin = store::connect(&server).await.expect("connect");
        let name = format!("rollcall_bench_{label}_{}", uuid::Uuid::new_v4().simple());
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create db");
        let base = server.rsplit_once('/').map(|(b, _)| b).unwrap_or(&server);
        (
            store::connect(&format!("{base}/{name}"))
                .await
                .expect("connect"),
            None,
        )
    } else {
        let dir = tempfile::tempdir().expect("tmp");
        let url = format!("sqlite://{}/bench.db?mode=rwc", dir.path().display());
        (store::connect(&url).await.expect("open"), Some(dir))
    }
}
