//! A region's ledger keys, kept in the region's keyring directory: the log
//! signing key (named after the log origin), the witness cosigning key (a
//! distinct key, as tlog-cosignature requires), and the secret that derives
//! subject pseudonyms. Generated at first start, files mode 0600.
//!
//! A log's key can move to a new custodian (a hand-over). The first key is
//! `ledger-<region>-log.key`; each successor is `ledger-<region>-log.<n>.key`
//! with `n` counting up. Which of them signs is the log's own business: it
//! follows its chain of `custody_transfer` entries (`log.rs`). Once the log
//! has moved past a key, that key's file is shredded ([`shred_log_key`]),
//! so the outgoing custodian can sign nothing more for the log.

use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use ed25519_dalek::SigningKey;
use rand::RngCore;

use crate::entry::PseudonymKey;
use crate::note::{CosignatureSigner, NoteError, NoteSigner};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("key file {0} is malformed (expected 64 hex digits)")]
    Malformed(String),
    #[error("key file {0} is readable by group or others; refusing it (chmod 600)")]
    TooOpen(String),
    #[error("invalid key name: {0}")]
    Name(#[from] NoteError),
}

/// A region's ledger keys.
#[derive(Debug, Clone)]
pub struct RegionKeys {
    /// The oldest log key still held: the one a witness that never saw a
    /// transfer knows. Its name is the log origin.
    pub log: NoteSigner,
    /// Newer log keys (successors made for a hand-over), oldest first. The
    /// log signs with whichever its chain of custody transfers names.
    pub later_logs: Vec<NoteSigner>,
    /// Cosigns other regions' checkpoints as this region's witness.
    pub witness: CosignatureSigner,
    /// Derives subject pseudonyms for this region's entries.
    pub pseudonyms: PseudonymKey,
}

/// Loads the keys of `region` from `keyring_dir`, creating any missing file
/// with a fresh random secret. `origin` names the log key and `witness_name`
/// the cosigner key (e.g. `sovereel.example/log/us`, `sovereel.example/witness/us`).
pub fn load_or_create_region_keys(
    keyring_dir: &Path,
    region: &str,
    origin: &str,
    witness_name: &str,
) -> Result<RegionKeys, KeyError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| KeyError::Io { path, source }
    };
    std::fs::create_dir_all(keyring_dir).map_err(io(keyring_dir))?;
    let mut logs = log_key_files(keyring_dir, region)?;
    if logs.is_empty() {
        // First start: the log's first key. (Never after a hand-over
        // shredded it: its successor is there then.)
        let path = keyring_dir.join(format!("ledger-{region}-log.key"));
        load_or_create_secret(&path)?;
        logs.push((0, path));
    }
    let mut signers = Vec::with_capacity(logs.len());
    for (_, path) in &logs {
        let secret = load_or_create_secret(path)?;
        signers.push(NoteSigner::new(origin, SigningKey::from_bytes(&secret))?);
    }
    let log = signers.remove(0);
    let witness = load_or_create_secret(&keyring_dir.join(format!("ledger-{region}-witness.key")))?;
    let pseudo =
        load_or_create_secret(&keyring_dir.join(format!("ledger-{region}-pseudonym.key")))?;
    Ok(RegionKeys {
        log,
        later_logs: signers,
        witness: CosignatureSigner::new(witness_name, SigningKey::from_bytes(&witness))?,
        pseudonyms: PseudonymKey::from_bytes(pseudo),
    })
}

/// The log key files of `region` in `dir`, by generation (0 is the first key).
fn log_key_files(dir: &Path, region: &str) -> Result<Vec<(u64, std::path::PathBuf)>, KeyError> {
    let first = format!("ledger-{region}-log.key");
    let prefix = format!("ledger-{region}-log.");
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|source| KeyError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let generation = if name == first {
            Some(0)
        } else {
            name.strip_prefix(&prefix)
                .and_then(|r| r.strip_suffix(".key"))
                .and_then(|n| n.parse::<u64>().ok())
                .filter(|n| *n > 0)
        };
        if let Some(g) = generation {
            out.push((g, e.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// The log key that takes over at a hand-over: the newest one held if the
/// log does not sign with it yet (a hand-over that a crash interrupted
/// made it already), else a fresh one, durable before it is returned.
pub fn successor_log_key(
    keyring_dir: &Path,
    region: &str,
    origin: &str,
    in_force: &str,
) -> Result<NoteSigner, KeyError> {
    let files = log_key_files(keyring_dir, region)?;
    if let Some((generation, path)) = files.last() {
        let secret = load_or_create_secret(path)?;
        let newest = NoteSigner::new(origin, SigningKey::from_bytes(&secret))?;
        let older_in_force = files[..files.len() - 1].iter().any(|(_, p)| {
            load_or_create_secret(p)
                .ok()
                .and_then(|s| NoteSigner::new(origin, SigningKey::from_bytes(&s)).ok())
                .is_some_and(|k| k.verifier().vkey() == in_force)
        });
        if newest.verifier().vkey() != in_force && older_in_force {
            return Ok(newest);
        }
        let path = keyring_dir.join(format!("ledger-{region}-log.{}.key", generation + 1));
        let secret = load_or_create_secret(&path)?;
        return Ok(NoteSigner::new(origin, SigningKey::from_bytes(&secret))?);
    }
    let path = keyring_dir.join(format!("ledger-{region}-log.1.key"));
    let secret = load_or_create_secret(&path)?;
    Ok(NoteSigner::new(origin, SigningKey::from_bytes(&secret))?)
}

/// Shreds every log key file of `region` but the one whose verifier key is
/// `keep` (after the log moved to it): zeros over the bytes, fsync, unlink,
/// fsync of the directory. Answers the verifier keys shredded.
pub fn shred_log_key(
    keyring_dir: &Path,
    region: &str,
    origin: &str,
    keep: &str,
) -> Result<Vec<String>, KeyError> {
    let mut gone = Vec::new();
    let files = log_key_files(keyring_dir, region)?;
    if !files.iter().any(|(_, p)| {
        load_or_create_secret(p)
            .ok()
            .and_then(|s| NoteSigner::new(origin, SigningKey::from_bytes(&s)).ok())
            .is_some_and(|k| k.verifier().vkey() == keep)
    }) {
        // Never shred the last key the log can sign with.
        return Ok(gone);
    }
    for (_, path) in files {
        let secret = load_or_create_secret(&path)?;
        let key = NoteSigner::new(origin, SigningKey::from_bytes(&secret))?;
        let vkey = key.verifier().vkey();
        if vkey == keep {
            continue;
        }
        let err = |source| KeyError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(err)?;
        let len = f.metadata().map_err(err)?.len() as usize;
        f.write_all(&vec![0u8; len]).map_err(err)?;
        f.sync_all().map_err(err)?;
        drop(f);
        std::fs::remove_file(&path).map_err(err)?;
        std::fs::File::open(keyring_dir)
            .and_then(|d| d.sync_all())
            .map_err(err)?;
        gone.push(vkey);
    }
    Ok(gone)
}

/// Reads a 32-byte secret stored as hex, or creates it. Creation uses
/// `create_new` so two processes starting at once cannot both write.
pub fn load_or_create_secret(path: &Path) -> Result<[u8; 32], KeyError> {
    let err = |source| KeyError::Io {
        path: path.display().to_string(),
        source,
    };
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(mut f) => {
            let mut secret = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut secret);
            f.write_all(format!("{}\n", hex::encode(secret)).as_bytes())
                .map_err(err)?;
            f.sync_all().map_err(err)?;
            if let Some(dir) = path.parent() {
                std::fs::File::open(dir)
                    .and_then(|d| d.sync_all())
                    .map_err(err)?;
            }
            Ok(secret)
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            let mut f = std::fs::File::open(path).map_err(err)?;
            let mode = f.metadata().map_err(err)?.permissions().mode();
            if mode & 0o077 != 0 {
                return Err(KeyError::TooOpen(path.display().to_string()));
            }
            let mut s = String::new();
            f.read_to_string(&mut s).map_err(err)?;
            let v = hex::decode(s.trim())
                .map_err(|_| KeyError::Malformed(path.display().to_string()))?;
            v.try_into()
                .map_err(|_| KeyError::Malformed(path.display().to_string()))
        }
        Err(e) => Err(err(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_created_private_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let a =
            load_or_create_region_keys(dir.path(), "us", "log.example/us", "witness.example/us")
                .unwrap();
        let b =
            load_or_create_region_keys(dir.path(), "us", "log.example/us", "witness.example/us")
                .unwrap();
        assert_eq!(a.log.verifier(), b.log.verifier());
        assert_ne!(
            a.log.verifier().vkey().split('+').nth(2),
            a.witness.verifier().vkey().split('+').nth(2)
        );
        let mode = std::fs::metadata(dir.path().join("ledger-us-log.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::set_permissions(
            dir.path().join("ledger-us-log.key"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        assert!(matches!(
            load_or_create_region_keys(dir.path(), "us", "log.example/us", "witness.example/us"),
            Err(KeyError::TooOpen(_))
        ));
    }

    #[test]
    fn a_successor_log_key_is_made_once_and_the_old_one_shredded_for_good() {
        let dir = tempfile::tempdir().unwrap();
        let (o, w) = ("log.example/us", "witness.example/us");
        let first = load_or_create_region_keys(dir.path(), "us", o, w).unwrap();
        let old = first.log.verifier().vkey();
        let next = successor_log_key(dir.path(), "us", o, &old).unwrap();
        assert_ne!(next.verifier().vkey(), old);
        // A hand-over that a crash interrupted gets the same key again.
        let again = successor_log_key(dir.path(), "us", o, &old).unwrap();
        assert_eq!(again.verifier(), next.verifier());
        let keys = load_or_create_region_keys(dir.path(), "us", o, w).unwrap();
        assert_eq!(keys.log.verifier().vkey(), old, "the oldest key first");
        assert_eq!(keys.later_logs.len(), 1);
        let old_bytes = std::fs::read(dir.path().join("ledger-us-log.key")).unwrap();
        // Nothing is shredded unless the key kept is held.
        assert!(
            shred_log_key(dir.path(), "us", o, "log.example/us+00000000+AAAA")
                .unwrap()
                .is_empty()
        );
        let gone = shred_log_key(dir.path(), "us", o, &next.verifier().vkey()).unwrap();
        assert_eq!(gone, vec![old.clone()]);
        for f in std::fs::read_dir(dir.path()).unwrap() {
            let b = std::fs::read(f.unwrap().path()).unwrap();
            assert!(!b.windows(old_bytes.len()).any(|w| w == old_bytes));
        }
        // The next start does not make a new first key over the hole.
        let keys = load_or_create_region_keys(dir.path(), "us", o, w).unwrap();
        assert_eq!(keys.log.verifier(), next.verifier());
        assert!(keys.later_logs.is_empty());
        assert!(!dir.path().join("ledger-us-log.key").exists());
        // A second hand-over makes generation 2.
        let third = successor_log_key(dir.path(), "us", o, &next.verifier().vkey()).unwrap();
        assert_ne!(third.verifier(), next.verifier());
        assert!(dir.path().join("ledger-us-log.2.key").exists());
    }
}
