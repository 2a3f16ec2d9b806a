//! Throw-away databases for tests: a temporary SQLite directory, or a
//! uniquely named PostgreSQL database that is dropped when the guard goes
//! away. The PostgreSQL server comes from `SOVEREEL_TEST_POSTGRES`
//! (default `postgres://postgres@127.0.0.1:5432/postgres`).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::sql::Backend;

pub fn postgres_base() -> String {
    std::env::var("SOVEREEL_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A set of storage URLs valid for one test, cleaned up on drop.
pub struct TestDatabases {
    pub backend: Backend,
    dir: std::path::PathBuf,
    pg_names: Vec<String>,
}

fn unique_suffix() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let r = sovereel_model::random_hex(6);
    format!(
        "{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        r
    )
}

impl TestDatabases {
    pub fn new(backend: Backend) -> Self {
        let dir = std::env::temp_dir().join(format!("sovereel-test-{}", unique_suffix()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self {
            backend,
            dir,
            pg_names: vec![],
        }
    }

    /// The data directory of this test (removed on drop).
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// A fresh storage URL named after `what` (a region id or `catalog`).
    pub fn url(&mut self, what: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!("sqlite://{}/{what}.db", self.dir.display()),
            Backend::Postgres => {
                let name = format!("sovereel_test_{}_{what}", unique_suffix());
                let base = postgres_base();
                let (prefix, _) = base.rsplit_once('/').expect("postgres URL with a database");
                self.pg_names.push(name.clone());
                format!("{prefix}/{name}")
            }
        }
    }
}

impl Drop for TestDatabases {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if self.pg_names.is_empty() {
            return;
        }
        let names = std::mem::take(&mut self.pg_names);
        // Drop runs outside async; a short-lived runtime on its own thread
        // drops the databases whatever state the test's runtime is in.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                use sqlx::Connection;
                if let Ok(mut c) = sqlx::PgConnection::connect(&postgres_base()).await {
                    for n in names {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS \"{n}\" WITH (FORCE)"))
                                .execute(&mut c)
                                .await;
                    }
                }
            })
        })
        .join();
    }
}
