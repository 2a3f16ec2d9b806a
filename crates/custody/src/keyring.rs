//! A region's keyring: one key-encryption key (KEK) and, per user, a
//! data-encryption key (DEK) wrapped by it.
//!
//! The keyring lives in its own directory, apart from the region's database,
//! so that a copy of the database alone never holds a usable key. Layout of
//! the embedded keyring (`Keyring::open_embedded(dir)`):
//!
//! ```text
//! <dir>/kek/CURRENT            id of the KEK that wraps new DEKs
//! <dir>/kek/<kek id>.kek       32 random bytes, mode 0600
//! <dir>/deks/<xy>/<user>.dek   one small JSON file per user: the DEK wrapped
//!                              by the KEK (XChaCha20-Poly1305), bound to the
//!                              region, the user and the key id
//! ```
//!
//! A KMS or HSM replaces `FileKek` behind [`KeyEncryptionKey`]; the DEK files
//! stay the same ([`crate::pkcs11::Pkcs11Kek`] keeps the KEK in a PKCS#11
//! token). Destroying a DEK overwrites its file with zeros, fsyncs,
//! unlinks it and fsyncs the directory (see [`crate::shred`] for what that
//! does and does not reach, and why a KEK rotation follows each deletion
//! batch). Rotating the KEK re-wraps every DEK and never touches data.

use std::collections::HashMap;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sovereel_model::ids::{RegionId, UserId};
use zeroize::Zeroizing;

use crate::gateway::{Authorized, GatedAction, ResourceClass, act};

/// Length of every key in this crate (KEKs and DEKs), in bytes.
pub const KEY_LEN: usize = 32;
const XNONCE_LEN: usize = 24;

/// Errors of the keyring and of encryption with its keys. Messages never
/// contain key material or plaintext.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("keyring i/o error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("key file {0} is readable by group or others (it must be mode 0600)")]
    Permissions(PathBuf),
    #[error("keyring file {path} is corrupt: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    /// No key for this user: never created, or destroyed (crypto-shredded).
    #[error("no data key for this user (never created or destroyed)")]
    NoUserKey,
    #[error("this user already has a data key")]
    UserKeyExists,
    /// The user's home region is not this keyring's region.
    #[error("this user's home is another region; their key cannot live here")]
    WrongRegion,
    /// The KEK that wrapped a DEK is gone (rotated away, handed over, destroyed).
    #[error("key-encryption key {0} is not available")]
    UnknownKek(String),
    #[error("key-encryption key {0} is the current one and cannot be retired")]
    RetireCurrent(String),
    #[error("the key-encryption key has been destroyed")]
    KekDestroyed,
    /// Authentication failed: wrong key, or tampered or truncated bytes.
    #[error("decryption failed: wrong key or tampered data")]
    Decrypt,
    #[error("malformed ciphertext: {0}")]
    Malformed(&'static str),
    #[error("the grant does not cover this user's protected data")]
    GrantMismatch,
    /// The access must be in the ledger before any data is touched.
    #[error("the access has not been recorded in the ledger yet")]
    NotLedgered,
    /// The hardware security module (a PKCS#11 token) refused or failed:
    /// module missing, token not found, PIN refused, a call failed. Never
    /// holds the PIN.
    #[error("hardware security module: {0}")]
    Hsm(String),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// 32 secret bytes, wiped from memory when dropped.
pub type SecretKey = Zeroizing<[u8; KEY_LEN]>;

fn random_key() -> SecretKey {
    let mut k = Zeroizing::new([0u8; KEY_LEN]);
    getrandom::getrandom(k.as_mut()).expect("the operating system's random source failed");
    k
}

pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).expect("the operating system's random source failed");
    b
}

fn random_id(prefix: &str) -> String {
    format!("{prefix}{}", hex::encode(random_bytes::<8>()))
}

/// A DEK as stored: wrapped by the KEK `kek_id`.
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedKey {
    pub kek_id: String,
    /// Nonce followed by ciphertext and tag, as the KEK produced them.
    pub bytes: Vec<u8>,
}

impl fmt::Debug for WrappedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WrappedKey")
            .field("kek_id", &self.kek_id)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// The region's key-encryption key: a file when embedded, a KMS or HSM
/// when deployed. It may hold several keys during a rotation: it wraps
/// with the current one and unwraps with any it still holds.
pub trait KeyEncryptionKey: Send + Sync {
    /// Id of the key that wraps new DEKs.
    fn id(&self) -> Result<String, KeyError>;
    /// Ids of every key still held (the current one and any not yet retired).
    fn key_ids(&self) -> Result<Vec<String>, KeyError>;
    /// Wraps a DEK with the current key; `aad` binds it to its owner.
    fn wrap(&self, dek: &[u8; KEY_LEN], aad: &[u8]) -> Result<WrappedKey, KeyError>;
    /// Unwraps with the key named in `wrapped`.
    fn unwrap(&self, wrapped: &WrappedKey, aad: &[u8]) -> Result<SecretKey, KeyError>;
    /// Makes a fresh key current; the previous ones still unwrap until retired.
    fn rotate(&self) -> Result<String, KeyError>;
    /// Destroys a non-current key.
    fn retire(&self, kek_id: &str) -> Result<(), KeyError>;
    /// Destroys every key (region wind-down, or the old custodian's key at
    /// hand-over). Nothing wrapped by it can be unwrapped afterwards.
    fn destroy_all(&self) -> Result<(), KeyError>;
}

/// The embedded KEK: 32-byte files with mode 0600 in a directory of its own.
pub struct FileKek {
    dir: PathBuf,
    state: RwLock<KekState>,
}

struct KekState {
    current: Option<String>,
    keys: HashMap<String, SecretKey>,
}

impl fmt::Debug for FileKek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileKek").field("dir", &self.dir).finish()
    }
}

const CURRENT: &str = "CURRENT";
/// Written before a KEK is destroyed for good (a wind-down, or the old
/// custodian's KEK after a hand-over): a directory holding it never makes
/// a key again, and any key file a crash left behind is shredded on open.
const DESTROYED: &str = "DESTROYED";

impl FileKek {
    /// Opens the KEK directory, creating it and a first key when empty
    /// (first start of a region).
    pub fn open_or_create(dir: &Path) -> Result<FileKek, KeyError> {
        create_private_dir(dir)?;
        if dir.join(DESTROYED).exists() {
            // Destroyed for good: finish shredding what a crash left, and
            // hold no key (wrapping fails with `KekDestroyed`).
            let kek = FileKek {
                dir: dir.to_path_buf(),
                state: RwLock::new(KekState {
                    current: None,
                    keys: HashMap::new(),
                }),
            };
            kek.shred_remaining()?;
            return Ok(kek);
        }
        let current_path = dir.join(CURRENT);
        let mut keys = HashMap::new();
        for entry in fs::read_dir(dir).map_err(io_err(dir))? {
            let path = entry.map_err(io_err(dir))?.path();
            let Some(id) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".kek"))
            else {
                continue;
            };
            keys.insert(id.to_string(), read_key_file(&path)?);
        }
        let current = match fs::read_to_string(&current_path) {
            Ok(s) => Some(s.trim().to_string()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_err(&current_path)(e)),
        };
        let kek = FileKek {
            dir: dir.to_path_buf(),
            state: RwLock::new(KekState {
                current: current.clone(),
                keys,
            }),
        };
        match current {
            Some(id) if !kek.state.read().unwrap().keys.contains_key(&id) => {
                return Err(KeyError::Corrupt {
                    path: current_path,
                    reason: format!("names key {id}, which has no key file"),
                });
            }
            Some(_) => {}
            None => {
                kek.rotate()?;
            }
        }
        Ok(kek)
    }

    fn key_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.kek"))
    }

    /// Shreds every key file in the directory and removes `CURRENT`.
    fn shred_remaining(&self) -> Result<(), KeyError> {
        remove_file_durably(&self.dir.join(CURRENT))?;
        for entry in fs::read_dir(&self.dir).map_err(io_err(&self.dir))? {
            let path = entry.map_err(io_err(&self.dir))?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.ends_with(".kek") || name.ends_with(".tmp") {
                shred_file(&path)?;
            }
        }
        Ok(())
    }
}

fn kek_cipher(key: &SecretKey) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(key.as_ref().into())
}

impl KeyEncryptionKey for FileKek {
    fn id(&self) -> Result<String, KeyError> {
        self.state
            .read()
            .unwrap()
            .current
            .clone()
            .ok_or(KeyError::KekDestroyed)
    }

    fn key_ids(&self) -> Result<Vec<String>, KeyError> {
        let state = self.state.read().unwrap();
        let mut ids: Vec<String> = state.keys.keys().cloned().collect();
        ids.sort();
        Ok(ids)
    }

    fn wrap(&self, dek: &[u8; KEY_LEN], aad: &[u8]) -> Result<WrappedKey, KeyError> {
        let state = self.state.read().unwrap();
        let id = state.current.clone().ok_or(KeyError::KekDestroyed)?;
        let key = state.keys.get(&id).ok_or(KeyError::KekDestroyed)?;
        let nonce = random_bytes::<XNONCE_LEN>();
        let sealed = kek_cipher(key)
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: dek, aad })
            .map_err(|_| KeyError::Malformed("wrap failed"))?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(WrappedKey { kek_id: id, bytes })
    }

    fn unwrap(&self, wrapped: &WrappedKey, aad: &[u8]) -> Result<SecretKey, KeyError> {
        let state = self.state.read().unwrap();
        let key = state
            .keys
            .get(&wrapped.kek_id)
            .ok_or_else(|| KeyError::UnknownKek(wrapped.kek_id.clone()))?;
        if wrapped.bytes.len() != XNONCE_LEN + KEY_LEN + 16 {
            return Err(KeyError::Malformed("wrapped key has the wrong length"));
        }
        let (nonce, sealed) = wrapped.bytes.split_at(XNONCE_LEN);
        let plain = Zeroizing::new(
            kek_cipher(key)
                .decrypt(XNonce::from_slice(nonce), Payload { msg: sealed, aad })
                .map_err(|_| KeyError::Decrypt)?,
        );
        let mut out = Zeroizing::new([0u8; KEY_LEN]);
        out.copy_from_slice(&plain);
        Ok(out)
    }

    fn rotate(&self) -> Result<String, KeyError> {
        let mut state = self.state.write().unwrap();
        let id = random_id("k");
        let key = random_key();
        // The key file is durable before CURRENT names it, so CURRENT never
        // points at a key that a crash could lose.
        write_file_atomically(&self.key_path(&id), key.as_ref())?;
        write_file_atomically(&self.dir.join(CURRENT), id.as_bytes())?;
        state.keys.insert(id.clone(), key);
        state.current = Some(id.clone());
        Ok(id)
    }

    fn retire(&self, kek_id: &str) -> Result<(), KeyError> {
        let mut state = self.state.write().unwrap();
        if state.current.as_deref() == Some(kek_id) {
            return Err(KeyError::RetireCurrent(kek_id.to_string()));
        }
        shred_file(&self.key_path(kek_id))?;
        state.keys.remove(kek_id);
        Ok(())
    }

    fn destroy_all(&self) -> Result<(), KeyError> {
        let mut state = self.state.write().unwrap();
        // The tombstone first: a crash part-way leaves a directory that
        // refuses to make a key and shreds what is left when it is opened,
        // rather than one that looks intact or starts afresh.
        write_file_atomically(&self.dir.join(DESTROYED), now_rfc3339().as_bytes())?;
        state.current = None;
        state.keys.clear();
        self.shred_remaining()
    }
}

fn read_key_file(path: &Path) -> Result<SecretKey, KeyError> {
    let mut file = File::open(path).map_err(io_err(path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file.metadata().map_err(io_err(path))?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(KeyError::Permissions(path.to_path_buf()));
        }
    }
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    let mut extra = [0u8; 1];
    file.read_exact(key.as_mut())
        .map_err(|_| KeyError::Corrupt {
            path: path.to_path_buf(),
            reason: "a key file holds exactly 32 bytes".into(),
        })?;
    if file.read(&mut extra).map_err(io_err(path))? != 0 {
        return Err(KeyError::Corrupt {
            path: path.to_path_buf(),
            reason: "a key file holds exactly 32 bytes".into(),
        });
    }
    Ok(key)
}

/// A user's data key, unwrapped, for as long as a request needs it. Only the
/// keyring hands these out, against an [`Authorized`] grant.
pub struct UserKey {
    pub(crate) user: UserId,
    pub(crate) key_id: String,
    pub(crate) key: SecretKey,
}

impl fmt::Debug for UserKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserKey")
            .field("user", &self.user.as_str())
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl UserKey {
    pub fn user(&self) -> &UserId {
        &self.user
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }
}

/// Actions whose grants may unwrap the subject's data key: reading or
/// writing the protected data itself. Support's account-status grants and
/// releases' event reads cannot decrypt anything.
pub trait UsesDataKey: GatedAction {}
impl UsesDataKey for act::ReadProtected {}
impl UsesDataKey for act::WriteProtected {}
impl UsesDataKey for act::ReadCaseItem {}
impl UsesDataKey for act::ActOnCase {}
impl UsesDataKey for act::RunDataRequest {}

/// The DEK file's content.
#[derive(Serialize, Deserialize)]
struct DekFile {
    v: u32,
    user: String,
    key_id: String,
    kek_id: String,
    /// Base64 of nonce ‖ ciphertext ‖ tag.
    wrapped: String,
    created_at: String,
}

/// A key destroyed: what the ledger's `key_destroyed` entry needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DestructionReceipt {
    pub region: RegionId,
    /// `None` for a region key (KEK).
    pub user: Option<UserId>,
    /// `dek` or `kek`.
    pub key_class: &'static str,
    pub key_id: String,
    /// RFC 3339, UTC.
    pub destroyed_at: String,
    /// Hex SHA-256 of the wrapped key as it was stored: a commitment to the
    /// exact bytes destroyed, which anyone holding an old copy can check,
    /// and which reveals nothing about the key.
    pub fingerprint: String,
}

/// Where a batched re-wrap goes on from: the last key file it visited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewrapCursor {
    pub shard: String,
    pub file: String,
}

/// What one batch of a re-wrap did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewrapBatch {
    pub rewrapped: usize,
    /// Where the next batch starts; `None` when the walk is complete.
    pub next: Option<RewrapCursor>,
}

/// What a KEK rotation or hand-over did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RewrapReport {
    pub new_kek_id: String,
    pub retired_kek_ids: Vec<String>,
    pub rewrapped: usize,
}

/// A region's keyring.
pub struct Keyring {
    region: RegionId,
    deks: PathBuf,
    kek: RwLock<Arc<dyn KeyEncryptionKey>>,
    /// DEK file writes (create, destroy, re-wrap) hold it exclusively and
    /// reads shared, so a read never sees a file half overwritten by a
    /// destruction in progress.
    files: RwLock<()>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("region", &self.region)
            .field("deks", &self.deks)
            .finish_non_exhaustive()
    }
}

impl Keyring {
    /// The embedded keyring: a [`FileKek`] in `<dir>/kek` and DEKs in
    /// `<dir>/deks`. `dir` must not be inside the database directory.
    pub fn open_embedded(region: RegionId, dir: &Path) -> Result<Keyring, KeyError> {
        let kek = FileKek::open_or_create(&dir.join("kek"))?;
        Keyring::open(region, &dir.join("deks"), Arc::new(kek))
    }

    /// A keyring whose DEK files live in `deks_dir`, wrapped by `kek`.
    /// Finishes a KEK rotation that a crash interrupted.
    pub fn open(
        region: RegionId,
        deks_dir: &Path,
        kek: Arc<dyn KeyEncryptionKey>,
    ) -> Result<Keyring, KeyError> {
        create_private_dir(deks_dir)?;
        let keyring = Keyring {
            region,
            deks: deks_dir.to_path_buf(),
            kek: RwLock::new(kek),
            files: RwLock::new(()),
        };
        if keyring.kek().key_ids()?.len() > 1 {
            keyring.finish_rotation()?;
        }
        Ok(keyring)
    }

    pub fn region(&self) -> &RegionId {
        &self.region
    }

    fn kek(&self) -> Arc<dyn KeyEncryptionKey> {
        self.kek.read().unwrap().clone()
    }

    fn dek_path(&self, user: &UserId) -> PathBuf {
        // Shard by the id's last two characters (random) so no directory
        // grows to millions of entries.
        let id = user.as_str();
        let shard = &id[id.len().saturating_sub(2)..];
        self.deks.join(shard).join(format!("{id}.dek"))
    }

    fn aad(&self, user: &str, key_id: &str) -> Vec<u8> {
        format!("sovereel-dek-v1\0{}\0{user}\0{key_id}", self.region).into_bytes()
    }

    /// Creates the user's data key (at sign-up). Fails if one exists, so a
    /// key is never silently replaced.
    pub fn create_user_key(&self, user: &UserId) -> Result<String, KeyError> {
        if user.region() != self.region {
            // Residency: a user's key lives only in their home region.
            return Err(KeyError::WrongRegion);
        }
        let _w = self.files.write().unwrap();
        let path = self.dek_path(user);
        if path.exists() {
            return Err(KeyError::UserKeyExists);
        }
        let key_id = random_id("d");
        let dek = random_key();
        let wrapped = self.kek().wrap(&dek, &self.aad(user.as_str(), &key_id))?;
        self.write_dek(
            &path,
            user.as_str(),
            &key_id,
            &wrapped,
            &now_rfc3339(),
            true,
        )?;
        Ok(key_id)
    }

    /// Whether the user has a data key.
    pub fn has_user_key(&self, user: &UserId) -> bool {
        self.dek_path(user).exists()
    }

    /// Unwraps the data key of the user a grant covers. Only grants for
    /// actions on that user's protected data qualify, and only once their
    /// ledger record (if any) has been appended.
    ///
    /// This is the only way to a data key, so code that skips the gateway
    /// cannot decrypt anything:
    ///
    /// ```
    /// # use sovereel_custody::{Authorized, Keyring, act};
    /// fn owner_reads(k: &Keyring, g: &Authorized<act::ReadProtected>) {
    ///     let _ = k.user_key(g);
    /// }
    /// ```
    ///
    /// A support grant (account status) does not unwrap keys:
    ///
    /// ```compile_fail
    /// # use sovereel_custody::{Authorized, Keyring, act};
    /// fn support_reads(k: &Keyring, g: &Authorized<act::ReadAccountStatus>) {
    ///     let _ = k.user_key(g);
    /// }
    /// ```
    ///
    /// and there is no way around the grant:
    ///
    /// ```compile_fail
    /// # use sovereel_custody::Keyring;
    /// # use sovereel_model::ids::UserId;
    /// fn bypass(k: &Keyring, user: &UserId) {
    ///     let _ = k.unwrap_user_key(user);
    /// }
    /// ```
    pub fn user_key<A: UsesDataKey>(&self, grant: &Authorized<A>) -> Result<UserKey, KeyError> {
        let resource = grant.resource();
        let user = match &resource.owner {
            Some(owner)
                if resource.class == ResourceClass::Protected
                    && resource.region == self.region
                    && owner.region() == self.region =>
            {
                owner
            }
            _ => return Err(KeyError::GrantMismatch),
        };
        if !grant.is_cleared() {
            return Err(KeyError::NotLedgered);
        }
        self.unwrap_user_key(user)
    }

    pub(crate) fn unwrap_user_key(&self, user: &UserId) -> Result<UserKey, KeyError> {
        let _r = self.files.read().unwrap();
        let path = self.dek_path(user);
        let file = match read_dek(&path)? {
            Some(f) => f,
            None => return Err(KeyError::NoUserKey),
        };
        if file.user != user.as_str() {
            return Err(KeyError::Corrupt {
                path,
                reason: "names another user".into(),
            });
        }
        let wrapped = WrappedKey {
            kek_id: file.kek_id.clone(),
            bytes: B64.decode(&file.wrapped).map_err(|_| KeyError::Corrupt {
                path: path.clone(),
                reason: "wrapped key is not base64".into(),
            })?,
        };
        let key = self
            .kek()
            .unwrap(&wrapped, &self.aad(user.as_str(), &file.key_id))?;
        Ok(UserKey {
            user: user.clone(),
            key_id: file.key_id,
            key,
        })
    }

    /// Crypto-shredding: destroys the user's data key. Every field and
    /// media object encrypted with it becomes noise. Idempotent only in
    /// effect: a second call answers [`KeyError::NoUserKey`].
    pub fn destroy_user_key(&self, user: &UserId) -> Result<DestructionReceipt, KeyError> {
        let _w = self.files.write().unwrap();
        let path = self.dek_path(user);
        let Some(file) = read_dek(&path)? else {
            return Err(KeyError::NoUserKey);
        };
        let wrapped = B64.decode(&file.wrapped).unwrap_or_default();
        shred_file(&path)?;
        Ok(DestructionReceipt {
            region: self.region.clone(),
            user: Some(user.clone()),
            key_class: "dek",
            key_id: file.key_id,
            destroyed_at: now_rfc3339(),
            fingerprint: hex::encode(Sha256::digest(&wrapped)),
        })
    }

    /// Rotates the KEK: a new KEK wraps every DEK, then the old KEK is
    /// destroyed. Data encrypted with the DEKs is untouched. Run it after
    /// each batch of deletions, so a wrapped DEK surviving in a backup or a
    /// freed disk block can no longer be unwrapped.
    pub fn rotate_kek(&self) -> Result<RewrapReport, KeyError> {
        self.kek().rotate()?;
        self.finish_rotation()
    }

    /// The id of the KEK that wraps new data keys.
    pub fn current_kek_id(&self) -> Result<String, KeyError> {
        self.kek().id()
    }

    /// Ids of every KEK the keyring still holds: one, except during a
    /// rotation or hand-over, when the old one still unwraps.
    pub fn kek_ids(&self) -> Result<Vec<String>, KeyError> {
        self.kek().key_ids()
    }

    /// First step of a rotation done in batches (a hand-over to a new
    /// custodian): a fresh KEK becomes current, so every key created from
    /// now on is wrapped under it, while the old one still unwraps the
    /// others. A crash from here on is finished at the next
    /// [`Keyring::open`], which re-wraps the rest and retires the old KEK:
    /// two KEKs never outlive a restart.
    pub fn begin_rotation(&self) -> Result<String, KeyError> {
        let _w = self.files.write().unwrap();
        self.kek().rotate()
    }

    /// Re-wraps, under the current KEK, up to `limit` data keys that are
    /// still under another one, walking the key files in a fixed order
    /// from `after`. Each batch holds the key files' lock only for its own
    /// files, so the region keeps serving, and ends with its directories
    /// fsynced. Answers what it did and where to go on from; `next` is
    /// `None` once the walk reached the end.
    pub fn rewrap_batch(
        &self,
        after: Option<&RewrapCursor>,
        limit: usize,
    ) -> Result<RewrapBatch, KeyError> {
        let _w = self.files.write().unwrap();
        let kek = self.kek();
        let current = kek.id()?;
        let mut rewrapped = 0;
        let mut visited = 0;
        let mut last: Option<RewrapCursor> = None;
        let mut dirs = std::collections::BTreeSet::new();
        let mut shards: Vec<PathBuf> = fs::read_dir(&self.deks)
            .map_err(io_err(&self.deks))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        shards.sort();
        'walk: for shard in shards {
            let shard_name = shard
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            if after.is_some_and(|c| shard_name < c.shard) {
                continue;
            }
            let mut files: Vec<String> = fs::read_dir(&shard)
                .map_err(io_err(&shard))?
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .filter(|n| n.ends_with(".dek"))
                .collect();
            files.sort();
            for name in files {
                if after.is_some_and(|c| shard_name == c.shard && name <= c.file) {
                    continue;
                }
                if visited == limit {
                    break 'walk;
                }
                visited += 1;
                let path = shard.join(&name);
                last = Some(RewrapCursor {
                    shard: shard_name.clone(),
                    file: name,
                });
                if self.rewrap_file(&*kek, &*kek, &current, &path)? {
                    rewrapped += 1;
                    dirs.insert(shard.clone());
                }
            }
        }
        for dir in dirs {
            sync_dir(&dir)?;
        }
        Ok(RewrapBatch {
            rewrapped,
            next: if visited == limit { last } else { None },
        })
    }

    /// Last step of a batched rotation: re-wraps any key still under an
    /// old KEK (none, after a full walk), then destroys every old KEK.
    pub fn finish_rewrap(&self) -> Result<RewrapReport, KeyError> {
        self.finish_rotation()
    }

    /// The fingerprint the user's `key_destroyed` receipt will carry (the
    /// SHA-256 of the wrapped key as stored), read before it is destroyed
    /// so the receipt can be recorded first. `None` when there is no key.
    pub fn key_fingerprint(&self, user: &UserId) -> Result<Option<String>, KeyError> {
        let _r = self.files.read().unwrap();
        Ok(read_dek(&self.dek_path(user))?
            .map(|f| hex::encode(Sha256::digest(B64.decode(&f.wrapped).unwrap_or_default()))))
    }

    /// Destroys the KEK for good (the last step of destroying a region's
    /// keys): its directory keeps a tombstone and never makes another.
    pub fn destroy_kek(&self) -> Result<Vec<DestructionReceipt>, KeyError> {
        let kek = self.kek();
        let ids = kek.key_ids()?;
        kek.destroy_all()?;
        Ok(ids
            .into_iter()
            .map(|id| DestructionReceipt {
                region: self.region.clone(),
                user: None,
                key_class: "kek",
                fingerprint: hex::encode(Sha256::digest(id.as_bytes())),
                key_id: id,
                destroyed_at: now_rfc3339(),
            })
            .collect())
    }

    /// Re-wraps every DEK not yet under the current KEK, then retires every
    /// other KEK. Safe to repeat: each DEK file names its KEK.
    fn finish_rotation(&self) -> Result<RewrapReport, KeyError> {
        let _w = self.files.write().unwrap();
        let kek = self.kek();
        let current = kek.id()?;
        let rewrapped = self.rewrap_all(&*kek, &*kek, &current)?;
        let mut retired = Vec::new();
        for id in kek.key_ids()? {
            if id != current {
                kek.retire(&id)?;
                retired.push(id);
            }
        }
        Ok(RewrapReport {
            new_kek_id: current,
            retired_kek_ids: retired,
            rewrapped,
        })
    }

    /// Hand-over to a new custodian: every DEK is re-wrapped under the new
    /// custodian's KEK, which then replaces the old one, and the old KEK is
    /// destroyed. Data is untouched. If it fails part-way, the old KEK is
    /// still intact and calling it again with the same new KEK resumes.
    pub fn hand_over(&self, new_kek: Arc<dyn KeyEncryptionKey>) -> Result<RewrapReport, KeyError> {
        let _w = self.files.write().unwrap();
        let old = self.kek();
        let new_id = new_kek.id()?;
        if Arc::ptr_eq(&old, &new_kek) || old.key_ids()?.contains(&new_id) {
            // Handing over to the KEK in force would destroy it at the end.
            return Err(KeyError::RetireCurrent(new_id));
        }
        let rewrapped = self.rewrap_all(&*old, &*new_kek, &new_id)?;
        let retired = old.key_ids()?;
        *self.kek.write().unwrap() = new_kek;
        old.destroy_all()?;
        Ok(RewrapReport {
            new_kek_id: new_id,
            retired_kek_ids: retired,
            rewrapped,
        })
    }

    /// Wind-down: destroys every DEK and then the KEK. Returns a receipt per
    /// key, the KEK's last.
    pub fn destroy_all(&self) -> Result<Vec<DestructionReceipt>, KeyError> {
        let users: Vec<String> = self.dek_files()?.into_iter().map(|(u, _)| u).collect();
        let mut receipts = Vec::with_capacity(users.len() + 1);
        for user in users {
            let user = UserId::parse(&user).map_err(|_| KeyError::Corrupt {
                path: self.deks.clone(),
                reason: format!("{user:?} is not a user id"),
            })?;
            receipts.push(self.destroy_user_key(&user)?);
        }
        receipts.extend(self.destroy_kek()?);
        Ok(receipts)
    }

    /// Every DEK file: (user id, path).
    fn dek_files(&self) -> Result<Vec<(String, PathBuf)>, KeyError> {
        let mut out = Vec::new();
        for shard in fs::read_dir(&self.deks).map_err(io_err(&self.deks))? {
            let shard = shard.map_err(io_err(&self.deks))?.path();
            if !shard.is_dir() {
                continue;
            }
            for entry in fs::read_dir(&shard).map_err(io_err(&shard))? {
                let path = entry.map_err(io_err(&shard))?.path();
                let user = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.strip_suffix(".dek"));
                if let Some(user) = user {
                    out.push((user.to_string(), path.clone()));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Re-wraps, under `to`, every DEK whose KEK is not `to_id`.
    fn rewrap_all(
        &self,
        from: &dyn KeyEncryptionKey,
        to: &dyn KeyEncryptionKey,
        to_id: &str,
    ) -> Result<usize, KeyError> {
        let mut count = 0;
        let mut dirs = std::collections::BTreeSet::new();
        for (_, path) in self.dek_files()? {
            if self.rewrap_file(from, to, to_id, &path)? {
                if let Some(dir) = path.parent() {
                    dirs.insert(dir.to_path_buf());
                }
                count += 1;
            }
        }
        for dir in dirs {
            sync_dir(&dir)?;
        }
        Ok(count)
    }

    /// Re-wraps one DEK file under `to` unless it is under `to_id` already.
    /// Answers whether it wrote. The caller holds the files lock and
    /// fsyncs the directory.
    fn rewrap_file(
        &self,
        from: &dyn KeyEncryptionKey,
        to: &dyn KeyEncryptionKey,
        to_id: &str,
        path: &Path,
    ) -> Result<bool, KeyError> {
        let Some(file) = read_dek(path)? else {
            return Ok(false);
        };
        if file.kek_id == to_id {
            return Ok(false);
        }
        let aad = self.aad(&file.user, &file.key_id);
        let wrapped = WrappedKey {
            kek_id: file.kek_id.clone(),
            bytes: B64.decode(&file.wrapped).map_err(|_| KeyError::Corrupt {
                path: path.to_path_buf(),
                reason: "wrapped key is not base64".into(),
            })?,
        };
        let dek = from.unwrap(&wrapped, &aad)?;
        let rewrapped = to.wrap(&dek, &aad)?;
        // Each file is fsynced before its rename; the renames are made
        // durable by one fsync per shard directory, before the caller
        // retires the old KEK (which until then still opens any file whose
        // rename a crash undid).
        self.write_dek(
            path,
            &file.user,
            &file.key_id,
            &rewrapped,
            &file.created_at,
            false,
        )?;
        Ok(true)
    }

    fn write_dek(
        &self,
        path: &Path,
        user: &str,
        key_id: &str,
        wrapped: &WrappedKey,
        created_at: &str,
        sync_parent: bool,
    ) -> Result<(), KeyError> {
        if let Some(parent) = path.parent() {
            create_private_dir(parent)?;
        }
        let file = DekFile {
            v: 1,
            user: user.to_string(),
            key_id: key_id.to_string(),
            kek_id: wrapped.kek_id.clone(),
            wrapped: B64.encode(&wrapped.bytes),
            created_at: created_at.to_string(),
        };
        let json = serde_json::to_vec(&file).expect("a DEK file always serialises");
        replace_file(path, &json, sync_parent)
    }
}

fn read_dek(path: &Path) -> Result<Option<DekFile>, KeyError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(path)(e)),
    };
    let file: DekFile = serde_json::from_slice(&bytes).map_err(|e| KeyError::Corrupt {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    if file.v != 1 {
        return Err(KeyError::Corrupt {
            path: path.to_path_buf(),
            reason: format!("unsupported version {}", file.v),
        });
    }
    Ok(Some(file))
}

pub(crate) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("the current time formats as RFC 3339")
}

fn create_private_dir(dir: &Path) -> Result<(), KeyError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(io_err(dir))
}

fn sync_dir(dir: &Path) -> Result<(), KeyError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

/// Writes a whole file so that it is either the old or the new content
/// after a crash: temporary file (mode 0600), fsync, rename, fsync of the
/// directory.
pub(crate) fn write_file_atomically(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    replace_file(path, bytes, true)
}

/// [`write_file_atomically`], leaving the directory fsync to the caller
/// when `sync_parent` is false (a batch syncs each directory once).
fn replace_file(path: &Path, bytes: &[u8], sync_parent: bool) -> Result<(), KeyError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("key")
    ));
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(io_err(&tmp))?;
    file.write_all(bytes).map_err(io_err(&tmp))?;
    file.sync_all().map_err(io_err(&tmp))?;
    drop(file);
    fs::rename(&tmp, path).map_err(io_err(path))?;
    if sync_parent {
        sync_dir(dir)?;
    }
    Ok(())
}

/// Overwrites a file's bytes with zeros in place, fsyncs, unlinks it and
/// fsyncs the directory. On a file system that rewrites in place (ext4,
/// XFS) the old bytes are gone from the block; see `shred` for the rest.
pub(crate) fn shred_file(path: &Path) -> Result<(), KeyError> {
    let mut file = match OpenOptions::new().write(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err(path)(e)),
    };
    let len = file.metadata().map_err(io_err(path))?.len() as usize;
    file.write_all(&vec![0u8; len]).map_err(io_err(path))?;
    file.sync_all().map_err(io_err(path))?;
    drop(file);
    remove_file_durably(path)
}

fn remove_file_durably(path: &Path) -> Result<(), KeyError> {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err(path)(e)),
    }
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}
