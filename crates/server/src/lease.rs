//! One writer per log and per keyring.
//!
//! A region's log must have exactly one sequencer: two processes signing
//! checkpoints for one origin would fork it, and two processes opening an
//! empty keyring would each make a key-encryption key. So a process that
//! serves a region first takes the region's lease, and holds it for life:
//!
//! 1. an exclusive lock on `<data dir>/regions/<id>/LOCK` (the log, the
//!    witness state and the keyring live beside it), released by the kernel
//!    when the process dies, even by `kill -9`;
//! 2. when the region's store is PostgreSQL, also a session advisory lock
//!    in that database, so two services pointed at one database from two
//!    data directories (two machines) cannot both run the region.
//!
//! A second process fails to start, naming the lease it could not take; it
//! never reaches the point of opening the log.

use std::fs::File;
use std::path::Path;

use sqlx::Connection;

pub struct Lease {
    _file: File,
    _pg: Option<sqlx::PgConnection>,
}

/// The advisory lock key of a region: stable across processes.
fn pg_key(region: &str) -> i64 {
    use sha2::Digest;
    let d = sha2::Sha256::digest(format!("sovereel region lease {region}").as_bytes());
    i64::from_be_bytes(d[..8].try_into().expect("8 bytes"))
}

impl Lease {
    /// Takes region `region`'s lease, or explains who holds it. The
    /// region's database must exist (the store creates it when it opens).
    pub async fn take(region: &str, region_dir: &Path, storage_url: &str) -> anyhow::Result<Lease> {
        std::fs::create_dir_all(region_dir)?;
        let path = region_dir.join("LOCK");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
                "region `{region}` is already served by another process using this data directory \
                 (its lease {} is held); one process per region signs its log",
                path.display()
            ),
            Err(std::fs::TryLockError::Error(e)) => {
                anyhow::bail!("region `{region}`: cannot lock {}: {e}", path.display())
            }
        }
        let pg = if storage_url.starts_with("postgres://")
            || storage_url.starts_with("postgresql://")
        {
            let mut conn = sqlx::PgConnection::connect(storage_url)
                .await
                .map_err(|e| {
                    anyhow::anyhow!("region `{region}`: cannot reach its PostgreSQL database: {e}")
                })?;
            let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                .bind(pg_key(region))
                .fetch_one(&mut conn)
                .await?;
            if !got {
                anyhow::bail!(
                    "region `{region}` is already served by another process on its database \
                     (the region's advisory lock is held); one process per region signs its log"
                );
            }
            Some(conn)
        } else {
            None
        };
        Ok(Lease {
            _file: file,
            _pg: pg,
        })
    }
}
