//! Sovereel's transparency ledger.
//!
//! One append-only log per region, in public formats so that standard tools
//! can check it: an RFC 9162 Merkle tree, C2SP signed notes and checkpoints,
//! tlog-tiles for reading, and tlog-witness cosignatures from the other
//! regions' custodians. This crate stands alone (no other Sovereel crate), so
//! an auditor can build and run it by itself.

pub mod audit;
pub mod checkpoint;
pub mod entry;
pub mod http;
pub mod keys;
pub mod lock;
pub mod log;
pub mod merkle;
pub mod note;
pub mod proof;
pub mod report;
pub mod storage;
pub mod tiles;
pub mod witness;

pub use checkpoint::{Checkpoint, SignedCheckpoint};
pub use entry::{Entry, EntryBody, Pseudonym, PseudonymKey};
pub use keys::{RegionKeys, load_or_create_region_keys};
pub use lock::{CheckpointLock, PostgresLock, StorageLock};
pub use log::{Log, LogConfig, LogError, PublishedCheckpoint, Receipt};
pub use note::{CosignatureSigner, Note, NoteSigner, NoteVerifier};
pub use proof::InclusionProof;
pub use storage::LogStorage;
pub use witness::{HttpWitness, InProcessWitness, Witness, WitnessClient};
