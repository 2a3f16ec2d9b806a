//! Sovereel's transparency ledger.
//!
//! One append-only log per region, in public formats so that standard tools
//! can check it: an RFC 9162 Merkle tree, C2SP signed notes and checkpoints,
//! tlog-tiles for reading, and tlog-witness cosignatures from the other
//! regions' custodians. This crate stands alone (no other Sovereel crate), so
//! an auditor can build and run it by itself.

pub mod checkpoint;
pub mod entry;
pub mod merkle;
pub mod note;
pub mod tiles;
