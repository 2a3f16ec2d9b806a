//! The egress check: the one place a batch passes before leaving its
//! region (catalog replication, aggregate exports, answers to another
//! region). Each field's class comes from the data-class registry; only
//! public, aggregate and interop may cross. A protected or unclassified
//! field refuses the whole batch: it is an error, logged and counted, never
//! a silent drop, because a silent drop would hide the bug that put it there.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use sha2::{Digest, Sha256};
use sovereel_model::classes::{DataClass, Db, class_of, may_cross_regions};

/// One field of an outgoing batch.
#[derive(Debug, Clone, Copy)]
pub struct EgressField<'a> {
    /// Which database's schema names the column (the catalog's for
    /// replication, the region's for answers about region rows).
    pub db: Db,
    pub table: &'a str,
    pub column: &'a str,
    pub value: &'a [u8],
}

/// What the `egress` ledger entry needs for a batch that was let through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EgressReceipt {
    /// Hex SHA-256 of the batch (see [`EgressGateway::check`]).
    pub batch_sha256: String,
    /// The classes in the batch, each once, in a fixed order.
    pub classes: Vec<DataClass>,
    pub destination: String,
    /// Number of fields.
    pub items: u64,
}

/// Why a batch may not leave. Names the column, never the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EgressRefused {
    #[error("egress refused: {table}.{column} is protected data and may not leave the region")]
    Protected { table: String, column: String },
    #[error("egress refused: {table}.{column} has no data class")]
    Unclassified { table: String, column: String },
}

/// The egress check of one region, with its refusal counter for metrics.
#[derive(Debug, Default)]
pub struct EgressGateway {
    refused: AtomicU64,
    passed: AtomicU64,
}

impl EgressGateway {
    pub fn new() -> EgressGateway {
        EgressGateway::default()
    }

    /// Batches refused so far (the `egress_refused_total` metric).
    pub fn refused_total(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Batches let through so far.
    pub fn passed_total(&self) -> u64 {
        self.passed.load(Ordering::Relaxed)
    }

    /// Checks every field, and hashes the batch canonically: for each
    /// field, in order, `db`, `table`, `column` and `value`, each prefixed
    /// with its length as u64 big-endian, so no two batches share an
    /// encoding.
    pub fn check(
        &self,
        destination: &str,
        fields: &[EgressField<'_>],
    ) -> Result<EgressReceipt, EgressRefused> {
        let classes = self.classify(destination, fields)?;
        let mut hash = Sha256::new();
        for f in fields {
            for part in [
                db_name(f.db).as_bytes(),
                f.table.as_bytes(),
                f.column.as_bytes(),
                f.value,
            ] {
                hash.update((part.len() as u64).to_be_bytes());
                hash.update(part);
            }
        }
        Ok(self.receipt(destination, hex::encode(hash.finalize()), classes, fields))
    }

    /// Like [`check`](Self::check), but the hash is of `payload`, the exact
    /// bytes sent (for example the JSON of an outbox change), so a receiver
    /// can match the ledger entry against what it got.
    pub fn check_payload(
        &self,
        destination: &str,
        fields: &[EgressField<'_>],
        payload: &[u8],
    ) -> Result<EgressReceipt, EgressRefused> {
        let classes = self.classify(destination, fields)?;
        let sha = hex::encode(Sha256::digest(payload));
        Ok(self.receipt(destination, sha, classes, fields))
    }

    fn classify(
        &self,
        destination: &str,
        fields: &[EgressField<'_>],
    ) -> Result<Vec<DataClass>, EgressRefused> {
        let mut classes = Vec::new();
        for f in fields {
            let refusal = match class_of(f.db, f.table, f.column) {
                Some(class) if may_cross_regions(class) => {
                    if !classes.contains(&class) {
                        classes.push(class);
                    }
                    continue;
                }
                Some(_) => EgressRefused::Protected {
                    table: f.table.to_string(),
                    column: f.column.to_string(),
                },
                None => EgressRefused::Unclassified {
                    table: f.table.to_string(),
                    column: f.column.to_string(),
                },
            };
            self.refused.fetch_add(1, Ordering::Relaxed);
            tracing::error!(
                destination,
                field = %format!("{}.{}", f.table, f.column),
                "egress refused: {refusal}"
            );
            return Err(refusal);
        }
        classes.sort_by_key(|c| class_order(*c));
        Ok(classes)
    }

    fn receipt(
        &self,
        destination: &str,
        batch_sha256: String,
        classes: Vec<DataClass>,
        fields: &[EgressField<'_>],
    ) -> EgressReceipt {
        self.passed.fetch_add(1, Ordering::Relaxed);
        EgressReceipt {
            batch_sha256,
            classes,
            destination: destination.to_string(),
            items: fields.len() as u64,
        }
    }
}

fn db_name(db: Db) -> &'static str {
    match db {
        Db::Region => "region",
        Db::Catalog => "catalog",
    }
}

fn class_order(c: DataClass) -> u8 {
    match c {
        DataClass::Protected => 0,
        DataClass::Public => 1,
        DataClass::Aggregate => 2,
        DataClass::Interop => 3,
    }
}
