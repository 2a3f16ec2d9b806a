//! Crypto-shredding: deleting a user by destroying their data key, so every
//! copy of their encrypted fields and media, wherever it went, becomes noise.
//!
//! What destruction reaches, and what a backup may hold:
//!
//! * The user's DEK file is overwritten with zeros, fsynced, unlinked, and
//!   its directory fsynced. On file systems that rewrite in place (ext4,
//!   XFS) the wrapped key's block is overwritten; on copy-on-write file
//!   systems, snapshots, or flash that remaps blocks, the old bytes of the
//!   *wrapped* DEK may survive in free space.
//! * That is why [`shred_users`] rotates the KEK after destroying a batch
//!   of DEKs: the surviving DEKs are re-wrapped under a new KEK and the old
//!   KEK is destroyed, so any old copy of a wrapped DEK (free space, a
//!   backup, a snapshot) no longer has a key that can unwrap it.
//! * **A backup may hold** the region database and its WAL (protected
//!   personal fields only as ciphertext), the media store (private media
//!   only as ciphertext), the ledger, and the keyring's `deks/` directory
//!   (wrapped DEKs only). **A backup must never hold the KEK** (`kek/`
//!   directory, or the KMS key): it stays with the custodian, outside
//!   backups. With that rule, a backup taken before a deletion cannot
//!   restore the deleted user's data once the following KEK rotation has
//!   run. Restoring a backup of `deks/` after a rotation yields DEK files
//!   naming a destroyed KEK, which fail to unwrap (tested).
//! * Plaintext protected data that is not encrypted by design (the private
//!   caption, watch history, likes) is deleted as rows by the store; the
//!   custody scan with [`crate::scan::CanaryRule::Erased`] checks the
//!   database and WAL files for leftovers.

use sovereel_model::ids::UserId;

use crate::keyring::{DestructionReceipt, KeyError, Keyring, RewrapReport};

/// The outcome of a deletion batch: a receipt per destroyed DEK (one
/// `key_destroyed` ledger entry each) and the KEK rotation that followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShredReport {
    pub receipts: Vec<DestructionReceipt>,
    /// Users that had no key (already shredded, or never had one).
    pub missing: Vec<UserId>,
    pub rotation: RewrapReport,
}

/// Destroys the data keys of `users`, then rotates the KEK so that no old
/// copy of their wrapped keys can be unwrapped. Stops at the first I/O
/// error: keys destroyed so far stay destroyed, and their receipts are lost
/// only if the caller drops the error; rerunning is safe.
pub fn shred_users(keyring: &Keyring, users: &[UserId]) -> Result<ShredReport, KeyError> {
    let mut receipts = Vec::with_capacity(users.len());
    let mut missing = Vec::new();
    for user in users {
        match keyring.destroy_user_key(user) {
            Ok(r) => receipts.push(r),
            Err(KeyError::NoUserKey) => missing.push(user.clone()),
            Err(e) => return Err(e),
        }
    }
    let rotation = keyring.rotate_kek()?;
    Ok(ShredReport {
        receipts,
        missing,
        rotation,
    })
}
