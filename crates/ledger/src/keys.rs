//! A region's ledger keys, kept in the region's keyring directory: the log
//! signing key (named after the log origin), the witness cosigning key (a
//! distinct key, as tlog-cosignature requires), and the secret that derives
//! subject pseudonyms. Generated at first start, files mode 0600.

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
    /// Signs the region log's checkpoints; its name is the log origin.
    pub log: NoteSigner,
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
    let log = load_or_create_secret(&keyring_dir.join(format!("ledger-{region}-log.key")))?;
    let witness = load_or_create_secret(&keyring_dir.join(format!("ledger-{region}-witness.key")))?;
    let pseudo =
        load_or_create_secret(&keyring_dir.join(format!("ledger-{region}-pseudonym.key")))?;
    Ok(RegionKeys {
        log: NoteSigner::new(origin, SigningKey::from_bytes(&log))?,
        witness: CosignatureSigner::new(witness_name, SigningKey::from_bytes(&witness))?,
        pseudonyms: PseudonymKey::from_bytes(pseudo),
    })
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
}
