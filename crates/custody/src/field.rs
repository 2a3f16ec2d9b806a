//! Encryption of protected personal fields (email, birthdate, IPs) with the
//! user's data key, so the region database holds only ciphertext and
//! crypto-shredding the key erases the field everywhere it was copied.
//!
//! Format, one ASCII string fit for a TEXT column:
//!
//! ```text
//! sf1.<key id>.<base64url nonce (24 bytes)>.<base64url ciphertext ‖ tag>
//! ```
//!
//! XChaCha20-Poly1305 with a random 192-bit nonce, so one key can seal any
//! number of fields without nonce bookkeeping. The associated data binds the
//! ciphertext to the user, the field (`table.column`) and the key id: a
//! ciphertext copied into another user's row or another column fails to
//! decrypt instead of showing the wrong datum.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use crate::keyring::{KeyError, UserKey, random_bytes};

const VERSION: &str = "sf1";
const NONCE_LEN: usize = 24;

/// Does this stored value look like a sealed field? (For the custody scan
/// and for migrations that encrypt old plaintext rows.)
pub fn is_sealed_field(value: &str) -> bool {
    let mut parts = value.split('.');
    parts.next() == Some(VERSION)
        && parts.next().is_some_and(|k| !k.is_empty())
        && parts.next().is_some_and(|n| !n.is_empty())
        && parts.next().is_some_and(|c| !c.is_empty())
        && parts.next().is_none()
}

fn aad(key: &UserKey, field: &str) -> Vec<u8> {
    format!(
        "sovereel-field-v1\0{}\0{field}\0{}",
        key.user.as_str(),
        key.key_id
    )
    .into_bytes()
}

impl UserKey {
    /// Seals `plaintext` as the value of `field` (`table.column`) of this
    /// key's user.
    pub fn encrypt_field(&self, field: &str, plaintext: &str) -> String {
        let nonce = random_bytes::<NONCE_LEN>();
        let sealed = XChaCha20Poly1305::new(self.key.as_ref().into())
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: &aad(self, field),
                },
            )
            .expect("XChaCha20-Poly1305 encrypts any message that fits in memory");
        format!(
            "{VERSION}.{}.{}.{}",
            self.key_id,
            B64URL.encode(nonce),
            B64URL.encode(sealed)
        )
    }

    /// Opens a value sealed by [`UserKey::encrypt_field`] for the same user
    /// and field. The plaintext is wiped from memory when dropped.
    pub fn decrypt_field(&self, field: &str, sealed: &str) -> Result<Zeroizing<String>, KeyError> {
        let mut parts = sealed.split('.');
        let (Some(VERSION), Some(key_id), Some(nonce), Some(ct), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(KeyError::Malformed("not a sealed field (sf1)"));
        };
        if key_id != self.key_id {
            // Sealed under a key this user no longer has (or another user's).
            return Err(KeyError::Decrypt);
        }
        let nonce = B64URL
            .decode(nonce)
            .map_err(|_| KeyError::Malformed("nonce is not base64url"))?;
        if nonce.len() != NONCE_LEN {
            return Err(KeyError::Malformed("nonce has the wrong length"));
        }
        let ct = B64URL
            .decode(ct)
            .map_err(|_| KeyError::Malformed("ciphertext is not base64url"))?;
        let plain = Zeroizing::new(
            XChaCha20Poly1305::new(self.key.as_ref().into())
                .decrypt(
                    XNonce::from_slice(&nonce),
                    Payload {
                        msg: &ct,
                        aad: &aad(self, field),
                    },
                )
                .map_err(|_| KeyError::Decrypt)?,
        );
        let text = std::str::from_utf8(&plain).map_err(|_| KeyError::Decrypt)?;
        Ok(Zeroizing::new(text.to_string()))
    }
}
