//! A key-encryption key held in a PKCS#11 token (a hardware security
//! module, or SoftHSM in tests): "the custodian holds the key" as a key
//! that never leaves the custodian's hardware.
//!
//! * The KEK is an AES-256 secret key generated **inside** the token, as a
//!   token object that is private, sensitive and not extractable: no call,
//!   by this program or anyone holding the PIN, reads its value or wraps
//!   it out of the token.
//! * Data keys are wrapped and unwrapped **in the token**, with
//!   `CKM_AES_GCM` (`C_Encrypt` / `C_Decrypt`): a fresh random 96-bit IV per
//!   wrap, a 128-bit tag, and the same associated data the file KEK binds
//!   (region, user, data-key id), so a wrapped key moved to another user's
//!   file does not unwrap. `CKM_AES_KEY_WRAP` (RFC 3394) was the other
//!   candidate; it has no associated data, and `C_UnwrapKey` would make
//!   each data key a token object that had to be extractable for the
//!   server to use it, which is the opposite of what the token is for.
//!   The stored form is `iv ‖ ciphertext ‖ tag` (60 bytes).
//! * Each KEK of a keyring shares one `CKA_LABEL` (the configured key
//!   label); its `CKA_ID` is the KEK id. Ids carry a sequence number, and
//!   the highest is current: generating a key is atomic in the token, so a
//!   rotation switches the current key in one step and a crash never
//!   leaves the keyring pointing at a key that does not exist.
//! * Destroying the KEK destroys the token objects. A data object with the
//!   same label is written first as a tombstone: a crash part-way leaves a
//!   label that refuses to make a key again and finishes the destruction
//!   when opened, like the file KEK's `DESTROYED` file.
//!
//! The PIN is read from a file (mode 0600) or an environment variable when
//! the keyring opens, kept in a zeroizing secret string, and never appears
//! in a message, a log line or a `Debug` output.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use zeroize::Zeroizing;

use crate::keyring::{KEY_LEN, KeyEncryptionKey, KeyError, SecretKey, WrappedKey, random_bytes};

const IV_LEN: usize = 12;
const TAG_BITS: u64 = 128;
const WRAPPED_LEN: usize = IV_LEN + KEY_LEN + 16;
/// `CKA_APPLICATION` of the tombstone data object.
const TOMBSTONE_APP: &[u8] = b"sovereel-kek-destroyed";
/// Prefix of this backend's KEK ids (`h` + 8-digit sequence + 8 hex).
const ID_PREFIX: char = 'h';

/// Where the token's user PIN comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum PinSource {
    /// A file holding the PIN (trailing newline ignored), mode 0600.
    File(PathBuf),
    /// The name of an environment variable holding the PIN.
    Env(String),
}

impl fmt::Debug for PinSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Where the PIN is, never the PIN.
        match self {
            PinSource::File(p) => f.debug_tuple("File").field(p).finish(),
            PinSource::Env(v) => f.debug_tuple("Env").field(v).finish(),
        }
    }
}

impl PinSource {
    fn read(&self) -> Result<AuthPin, KeyError> {
        let pin = match self {
            PinSource::File(path) => {
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let meta = std::fs::metadata(path).map_err(|source| KeyError::Io {
                        path: path.clone(),
                        source,
                    })?;
                    if meta.permissions().mode() & 0o077 != 0 {
                        return Err(KeyError::Permissions(path.clone()));
                    }
                }
                Zeroizing::new(
                    std::fs::read_to_string(path).map_err(|source| KeyError::Io {
                        path: path.clone(),
                        source,
                    })?,
                )
            }
            PinSource::Env(var) => Zeroizing::new(std::env::var(var).map_err(|_| {
                KeyError::Hsm(format!("the PIN variable {var} is not set (or not UTF-8)"))
            })?),
        };
        let trimmed = pin.trim_end_matches(['\r', '\n']);
        if trimmed.is_empty() {
            return Err(KeyError::Hsm(format!("the PIN from {self:?} is empty")));
        }
        Ok(AuthPin::from(trimmed))
    }
}

/// How to reach the token holding a region's KEK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pkcs11Config {
    /// The PKCS#11 module (shared library) of the HSM's vendor, e.g.
    /// `/usr/lib/softhsm/libsofthsm2.so`.
    pub module: PathBuf,
    /// The label of the token (`CKA_LABEL` of the token info) to use.
    pub token_label: String,
    /// The label the KEK's keys carry in the token; several keyrings can
    /// share a token under different labels.
    pub key_label: String,
    pub pin: PinSource,
}

/// Modules are loaded and initialised once per process (`C_Initialize` may
/// not be called twice); every KEK on the same module shares the context.
fn contexts() -> &'static Mutex<HashMap<PathBuf, Pkcs11>> {
    static CONTEXTS: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    CONTEXTS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The process's initialised context for a PKCS#11 module, loading it on
/// first use. Other code of the process that talks to the same module
/// (an operator's tool, a test) must go through here too.
pub fn module_context(module: &Path) -> Result<Pkcs11, KeyError> {
    let mut map = contexts().lock().unwrap();
    if let Some(ctx) = map.get(module) {
        return Ok(ctx.clone());
    }
    if !module.exists() {
        return Err(KeyError::Hsm(format!(
            "PKCS#11 module {} does not exist",
            module.display()
        )));
    }
    let ctx = Pkcs11::new(module).map_err(|e| {
        KeyError::Hsm(format!(
            "cannot load PKCS#11 module {}: {e}",
            module.display()
        ))
    })?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(hsm("C_Initialize", e)),
    }
    map.insert(module.to_path_buf(), ctx.clone());
    Ok(ctx)
}

/// The slot whose token carries `label`.
pub fn find_token(ctx: &Pkcs11, label: &str) -> Result<Slot, KeyError> {
    let slots = ctx
        .get_slots_with_initialized_token()
        .map_err(|e| hsm("C_GetSlotList", e))?;
    let mut found = None;
    for slot in slots {
        let info = ctx
            .get_token_info(slot)
            .map_err(|e| hsm("C_GetTokenInfo", e))?;
        if info.label().trim_end() == label {
            if found.is_some() {
                return Err(KeyError::Hsm(format!(
                    "two tokens are labelled {label:?}; token labels must be unique"
                )));
            }
            found = Some(slot);
        }
    }
    found.ok_or_else(|| KeyError::Hsm(format!("no initialised token is labelled {label:?}")))
}

fn hsm(call: &str, e: CkError) -> KeyError {
    // cryptoki's messages name the function and the return value; no PIN
    // or key byte is ever part of them.
    KeyError::Hsm(format!("{call}: {e}"))
}

struct Inner {
    session: Session,
    /// KEK id → object handle, for every key the token holds under the label.
    keys: HashMap<String, ObjectHandle>,
    destroyed: bool,
}

/// A KEK held in a PKCS#11 token. See the module documentation.
pub struct Pkcs11Kek {
    token_label: String,
    key_label: String,
    inner: Mutex<Inner>,
}

impl fmt::Debug for Pkcs11Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Kek")
            .field("token", &self.token_label)
            .field("key_label", &self.key_label)
            .finish_non_exhaustive()
    }
}

impl Pkcs11Kek {
    /// Opens the KEK under `config.key_label` in the token, logging in
    /// with the PIN, and generates its first key inside the token when
    /// there is none yet (first start). A label whose KEK was destroyed
    /// holds no key and never makes one: wrapping answers
    /// [`KeyError::KekDestroyed`].
    pub fn open_or_create(config: &Pkcs11Config) -> Result<Pkcs11Kek, KeyError> {
        if config.key_label.is_empty() {
            return Err(KeyError::Hsm("the key label must not be empty".into()));
        }
        let pin = config.pin.read()?;
        let ctx = module_context(&config.module)?;
        let slot = find_token(&ctx, &config.token_label)?;
        let session = ctx
            .open_rw_session(slot)
            .map_err(|e| hsm("C_OpenSession", e))?;
        match session.login(UserType::User, Some(&pin)) {
            // Another keyring of this process already logged in to the
            // token: the login is per application and token.
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(CkError::Pkcs11(RvError::PinIncorrect, _)) => {
                return Err(KeyError::Hsm(format!(
                    "the token {:?} refused the PIN",
                    config.token_label
                )));
            }
            Err(e) => return Err(hsm("C_Login", e)),
        }
        drop(pin);
        let kek = Pkcs11Kek {
            token_label: config.token_label.clone(),
            key_label: config.key_label.clone(),
            inner: Mutex::new(Inner {
                session,
                keys: HashMap::new(),
                destroyed: false,
            }),
        };
        {
            let mut inner = kek.inner.lock().unwrap();
            kek.load(&mut inner)?;
            if inner.destroyed {
                // Finish what a crash during destruction left.
                kek.destroy_keys(&mut inner)?;
            } else if inner.keys.is_empty() {
                kek.generate(&mut inner)?;
            }
        }
        Ok(kek)
    }

    /// Reads the token's keys and tombstone under the label.
    fn load(&self, inner: &mut Inner) -> Result<(), KeyError> {
        let label = Attribute::Label(self.key_label.as_bytes().to_vec());
        let tombstones = inner
            .session
            .find_objects(&[
                Attribute::Class(ObjectClass::DATA),
                Attribute::Token(true),
                label.clone(),
                Attribute::Application(TOMBSTONE_APP.to_vec()),
            ])
            .map_err(|e| hsm("C_FindObjects", e))?;
        inner.destroyed = !tombstones.is_empty();
        let handles = inner
            .session
            .find_objects(&[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::AES),
                Attribute::Token(true),
                label,
            ])
            .map_err(|e| hsm("C_FindObjects", e))?;
        inner.keys.clear();
        for handle in handles {
            let attrs = inner
                .session
                .get_attributes(handle, &[AttributeType::Id])
                .map_err(|e| hsm("C_GetAttributeValue", e))?;
            let id = attrs.iter().find_map(|a| match a {
                Attribute::Id(id) => String::from_utf8(id.clone()).ok(),
                _ => None,
            });
            match id {
                Some(id) if parse_seq(&id).is_some() => {
                    if inner.keys.insert(id.clone(), handle).is_some() {
                        return Err(KeyError::Hsm(format!(
                            "two keys labelled {:?} carry the id {id}",
                            self.key_label
                        )));
                    }
                }
                _ => {
                    return Err(KeyError::Hsm(format!(
                        "a key labelled {:?} in the token has no KEK id of this program",
                        self.key_label
                    )));
                }
            }
        }
        Ok(())
    }

    fn current(inner: &Inner) -> Option<(&String, ObjectHandle)> {
        inner
            .keys
            .iter()
            .max_by_key(|(id, _)| parse_seq(id))
            .map(|(id, h)| (id, *h))
    }

    /// Generates a new AES-256 key inside the token; with the highest
    /// sequence number, it is current from the moment it exists.
    fn generate(&self, inner: &mut Inner) -> Result<String, KeyError> {
        if inner.destroyed {
            return Err(KeyError::KekDestroyed);
        }
        let seq = inner.keys.keys().filter_map(|id| parse_seq(id)).max();
        let seq = seq.map_or(1, |s| s + 1);
        let id = format!("{ID_PREFIX}{seq:08}{}", hex::encode(random_bytes::<4>()));
        let template = [
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::ValueLen((KEY_LEN as u64).into()),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Modifiable(false),
            Attribute::Encrypt(true),
            Attribute::Decrypt(true),
            Attribute::Wrap(false),
            Attribute::Unwrap(false),
            Attribute::Sign(false),
            Attribute::Verify(false),
            Attribute::Derive(false),
            Attribute::Label(self.key_label.as_bytes().to_vec()),
            Attribute::Id(id.as_bytes().to_vec()),
        ];
        let handle = inner
            .session
            .generate_key(&Mechanism::AesKeyGen, &template)
            .map_err(|e| hsm("C_GenerateKey", e))?;
        inner.keys.insert(id.clone(), handle);
        Ok(id)
    }

    fn destroy_keys(&self, inner: &mut Inner) -> Result<(), KeyError> {
        let keys: Vec<(String, ObjectHandle)> = inner.keys.drain().collect();
        for (_, handle) in keys {
            inner
                .session
                .destroy_object(handle)
                .map_err(|e| hsm("C_DestroyObject", e))?;
        }
        Ok(())
    }
}

fn parse_seq(id: &str) -> Option<u64> {
    let rest = id.strip_prefix(ID_PREFIX)?;
    if rest.len() != 16 || !rest.is_char_boundary(8) {
        return None;
    }
    let (seq, random) = rest.split_at(8);
    hex::decode(random).ok()?;
    seq.parse().ok()
}

impl KeyEncryptionKey for Pkcs11Kek {
    fn id(&self) -> Result<String, KeyError> {
        let inner = self.inner.lock().unwrap();
        Pkcs11Kek::current(&inner)
            .map(|(id, _)| id.clone())
            .ok_or(KeyError::KekDestroyed)
    }

    fn key_ids(&self) -> Result<Vec<String>, KeyError> {
        let inner = self.inner.lock().unwrap();
        let mut ids: Vec<String> = inner.keys.keys().cloned().collect();
        ids.sort();
        Ok(ids)
    }

    fn wrap(&self, dek: &[u8; KEY_LEN], aad: &[u8]) -> Result<WrappedKey, KeyError> {
        let inner = self.inner.lock().unwrap();
        let (id, handle) = Pkcs11Kek::current(&inner).ok_or(KeyError::KekDestroyed)?;
        let mut iv = random_bytes::<IV_LEN>();
        let params =
            GcmParams::new(&mut iv, aad, TAG_BITS.into()).map_err(|e| hsm("CK_GCM_PARAMS", e))?;
        let sealed = inner
            .session
            .encrypt(&Mechanism::AesGcm(params), handle, dek)
            .map_err(|e| hsm("C_Encrypt", e))?;
        if sealed.len() != KEY_LEN + 16 {
            return Err(KeyError::Hsm(format!(
                "the token's AES-GCM answered {} bytes for a 32-byte key",
                sealed.len()
            )));
        }
        let mut bytes = iv.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(WrappedKey {
            kek_id: id.clone(),
            bytes,
        })
    }

    fn unwrap(&self, wrapped: &WrappedKey, aad: &[u8]) -> Result<SecretKey, KeyError> {
        let inner = self.inner.lock().unwrap();
        let handle = *inner
            .keys
            .get(&wrapped.kek_id)
            .ok_or_else(|| KeyError::UnknownKek(wrapped.kek_id.clone()))?;
        if wrapped.bytes.len() != WRAPPED_LEN {
            return Err(KeyError::Malformed("wrapped key has the wrong length"));
        }
        let (iv, sealed) = wrapped.bytes.split_at(IV_LEN);
        let mut iv = iv.to_vec();
        let params =
            GcmParams::new(&mut iv, aad, TAG_BITS.into()).map_err(|e| hsm("CK_GCM_PARAMS", e))?;
        let plain = inner
            .session
            .decrypt(&Mechanism::AesGcm(params), handle, sealed)
            .map(Zeroizing::new)
            .map_err(|e| match e {
                // A wrong tag: tampered bytes, or another user's binding.
                // SoftHSM answers a failed GCM tag check with
                // CKR_GENERAL_ERROR, so that counts as one too (noted, in
                // case it was the device failing).
                CkError::Pkcs11(RvError::EncryptedDataInvalid, _)
                | CkError::Pkcs11(RvError::EncryptedDataLenRange, _) => KeyError::Decrypt,
                CkError::Pkcs11(rv @ (RvError::GeneralError | RvError::FunctionFailed), _) => {
                    tracing::warn!(token = %self.token_label, rv = ?rv, "C_Decrypt of a wrapped data key failed");
                    KeyError::Decrypt
                }
                e => hsm("C_Decrypt", e),
            })?;
        if plain.len() != KEY_LEN {
            return Err(KeyError::Decrypt);
        }
        let mut out = Zeroizing::new([0u8; KEY_LEN]);
        out.copy_from_slice(&plain);
        Ok(out)
    }

    fn rotate(&self) -> Result<String, KeyError> {
        let mut inner = self.inner.lock().unwrap();
        self.generate(&mut inner)
    }

    fn retire(&self, kek_id: &str) -> Result<(), KeyError> {
        let mut inner = self.inner.lock().unwrap();
        if Pkcs11Kek::current(&inner).is_some_and(|(id, _)| id == kek_id) {
            return Err(KeyError::RetireCurrent(kek_id.to_string()));
        }
        if let Some(handle) = inner.keys.remove(kek_id) {
            inner
                .session
                .destroy_object(handle)
                .map_err(|e| hsm("C_DestroyObject", e))?;
        }
        Ok(())
    }

    fn destroy_all(&self) -> Result<(), KeyError> {
        let mut inner = self.inner.lock().unwrap();
        if !inner.destroyed {
            // The tombstone first (see the module documentation).
            inner
                .session
                .create_object(&[
                    Attribute::Class(ObjectClass::DATA),
                    Attribute::Token(true),
                    Attribute::Private(true),
                    Attribute::Label(self.key_label.as_bytes().to_vec()),
                    Attribute::Application(TOMBSTONE_APP.to_vec()),
                    Attribute::Value(crate::keyring::now_rfc3339().into_bytes()),
                ])
                .map_err(|e| hsm("C_CreateObject", e))?;
            inner.destroyed = true;
        }
        self.destroy_keys(&mut inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_order_by_sequence() {
        assert_eq!(parse_seq("h00000001deadbeef"), Some(1));
        assert_eq!(parse_seq("h00000012deadbeef"), Some(12));
        for bad in [
            "k00000001deadbeef",
            "h0000001deadbeef",
            "h00000001deadbeeg",
            "h",
        ] {
            assert_eq!(parse_seq(bad), None, "{bad}");
        }
    }

    #[test]
    fn pin_sources_print_no_pin() {
        let s = format!("{:?}", PinSource::Env("HSM_PIN".into()));
        assert_eq!(s, "Env(\"HSM_PIN\")");
    }

    #[test]
    fn a_pin_file_readable_by_others_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pin");
        std::fs::write(&path, "1234\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                PinSource::File(path.clone()).read(),
                Err(KeyError::Permissions(_))
            ));
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        use secrecy::ExposeSecret;
        assert_eq!(
            PinSource::File(path).read().unwrap().expose_secret(),
            "1234"
        );
    }
}
