//! A uniquely named PostgreSQL database for one test (the ledger's lock
//! backend), dropped afterwards. The server comes from
//! `SOVEREEL_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/postgres`).
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::Connection;

pub struct TestDatabase {
    pub url: String,
    name: String,
    base: String,
}

fn base_url() -> String {
    std::env::var("SOVEREEL_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

impl TestDatabase {
    pub async fn create(what: &str) -> TestDatabase {
        static N: AtomicU64 = AtomicU64::new(0);
        let base = base_url();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "sovereel_ledger_{what}_{}_{}_{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let mut c = sqlx::PgConnection::connect(&base)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {base} (SOVEREEL_TEST_POSTGRES): {e}"));
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut c)
            .await
            .unwrap();
        let (prefix, _) = base.rsplit_once('/').expect("a URL with a database");
        TestDatabase {
            url: format!("{prefix}/{name}"),
            name,
            base,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (base, name) = (self.base.clone(), self.name.clone());
        // Outside any runtime: a short-lived one on its own thread.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                if let Ok(mut c) = sqlx::PgConnection::connect(&base).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut c)
                        .await;
                }
            });
        })
        .join();
    }
}
