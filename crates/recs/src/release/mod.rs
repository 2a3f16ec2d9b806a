//! Algorithm releases: a manifest signed by the platform and approved
//! (cosigned) by the region's custodian, as a C2SP signed note.
//!
//! The note text is a fixed header line followed by the manifest as one line of
//! JSON. A release is installed only if the platform's signature and this
//! region's custodian signature both verify over exactly that text; anything
//! else is refused and the running release stays. Signing and approving are
//! separate steps held by separate parties, which is the point: the platform
//! cannot run a release the custodian has not reviewed, and the custodian
//! cannot alter what the platform signed.

pub mod cli;
pub mod manifest;

use crate::error::ReleaseError;
use manifest::Manifest;
use sovereel_ledger::note::{Note, NoteSigner, NoteVerifier};
use std::collections::BTreeMap;

/// First line of every release note, so a release cannot be confused with a
/// checkpoint or any other note signed by the same keys.
pub const RELEASE_HEADER: &str = "sovereel-release/v1";

/// The keys a region trusts: the platform's release key and its custodian's.
#[derive(Debug, Clone)]
pub struct ReleaseTrust {
    pub platform: NoteVerifier,
    pub custodian: NoteVerifier,
}

impl ReleaseTrust {
    /// From verifier keys in the C2SP `name+id+key` form.
    pub fn from_vkeys(platform: &str, custodian: &str) -> Result<Self, ReleaseError> {
        let p = NoteVerifier::parse(platform)
            .map_err(|e| ReleaseError::Malformed(format!("platform key: {e}")))?;
        let c = NoteVerifier::parse(custodian)
            .map_err(|e| ReleaseError::Malformed(format!("custodian key: {e}")))?;
        Ok(ReleaseTrust {
            platform: p,
            custodian: c,
        })
    }
}

/// The signed text of a release.
pub fn release_text(m: &Manifest) -> Result<String, ReleaseError> {
    m.validate()?;
    let json =
        serde_json::to_string(m).map_err(|e| ReleaseError::InvalidManifest(e.to_string()))?;
    Ok(format!("{RELEASE_HEADER}\n{json}\n"))
}

/// Hex SHA-256 of a release's signed text: what the `release` ledger entries
/// (proposed by the platform, approved by the custodian) record.
pub fn manifest_sha256(m: &Manifest) -> Result<String, ReleaseError> {
    use sha2::{Digest, Sha256};
    Ok(hex::encode(Sha256::digest(release_text(m)?.as_bytes())))
}

/// Platform step: validates and signs a manifest, returning the note.
pub fn sign_release(m: &Manifest, platform: &NoteSigner) -> Result<Vec<u8>, ReleaseError> {
    let text = release_text(m)?;
    let mut note = Note::new(&text).map_err(|e| ReleaseError::Malformed(e.to_string()))?;
    note.add_signature(platform.sign(&text));
    Ok(note.to_bytes())
}

/// Custodian step: checks the platform signature and the manifest, then cosigns.
/// A custodian never approves something the platform did not sign.
pub fn approve_release(
    note: &[u8],
    platform: &NoteVerifier,
    custodian: &NoteSigner,
) -> Result<Vec<u8>, ReleaseError> {
    let mut parsed = Note::parse(note).map_err(|e| ReleaseError::Malformed(e.to_string()))?;
    check_signed_by(&parsed, platform)
        .map_err(|_| ReleaseError::NotSignedByPlatform(platform.name().into()))?;
    parse_text(&parsed.text)?;
    let sig = custodian.sign(&parsed.text);
    parsed.add_signature(sig);
    Ok(parsed.to_bytes())
}

fn check_signed_by(note: &Note, key: &NoteVerifier) -> Result<(), ()> {
    match note.verify(std::slice::from_ref(key)) {
        Ok(sigs)
            if sigs
                .iter()
                .any(|s| s.name == key.name() && s.id == key.key_id()) =>
        {
            Ok(())
        }
        _ => Err(()),
    }
}

fn parse_text(text: &str) -> Result<Manifest, ReleaseError> {
    let body = text
        .strip_prefix(RELEASE_HEADER)
        .and_then(|r| r.strip_prefix('\n'))
        .ok_or_else(|| ReleaseError::Malformed("missing release header".into()))?;
    let json = body.strip_suffix('\n').unwrap_or(body);
    if json.contains('\n') {
        return Err(ReleaseError::Malformed("manifest must be one line".into()));
    }
    let m: Manifest =
        serde_json::from_str(json).map_err(|e| ReleaseError::InvalidManifest(e.to_string()))?;
    m.validate()?;
    Ok(m)
}

/// Verifies a release note against a region's trust and returns its manifest.
pub fn verify_release(note: &[u8], trust: &ReleaseTrust) -> Result<Manifest, ReleaseError> {
    let parsed = Note::parse(note).map_err(|e| ReleaseError::Malformed(e.to_string()))?;
    // Each key is checked on its own so the error names the missing party; a
    // signature by a known key that does not verify fails that check too.
    check_signed_by(&parsed, &trust.platform)
        .map_err(|_| ReleaseError::NotSignedByPlatform(trust.platform.name().into()))?;
    check_signed_by(&parsed, &trust.custodian)
        .map_err(|_| ReleaseError::NotApproved(trust.custodian.name().into()))?;
    parse_text(&parsed.text)
}

/// The releases installed in a region and the one running.
#[derive(Debug, Clone)]
pub struct ReleaseSet {
    trust: ReleaseTrust,
    installed: BTreeMap<String, Manifest>,
    active: Option<String>,
}

impl ReleaseSet {
    pub fn new(trust: ReleaseTrust) -> Self {
        ReleaseSet {
            trust,
            installed: BTreeMap::new(),
            active: None,
        }
    }

    /// Verifies and installs a release, returning its id. Re-installing the same
    /// release is fine; a different manifest under an existing id is refused.
    pub fn install(&mut self, note: &[u8]) -> Result<String, ReleaseError> {
        let m = verify_release(note, &self.trust)?;
        if let Some(old) = self.installed.get(&m.id)
            && *old != m
        {
            return Err(ReleaseError::Conflict(m.id.clone()));
        }
        let id = m.id.clone();
        self.installed.insert(id.clone(), m);
        Ok(id)
    }

    pub fn activate(&mut self, id: &str) -> Result<(), ReleaseError> {
        if !self.installed.contains_key(id) {
            return Err(ReleaseError::UnknownRelease(id.into()));
        }
        self.active = Some(id.into());
        Ok(())
    }

    /// The running manifest. A set is only handed to an engine after one
    /// release has been activated, so this always exists.
    pub fn active(&self) -> &Manifest {
        let id = self.active.as_deref().unwrap_or_default();
        self.installed
            .get(id)
            .or_else(|| self.installed.values().next())
            .unwrap_or(&FALLBACK)
    }

    pub fn ids(&self) -> Vec<String> {
        self.installed.keys().cloned().collect()
    }
}

static FALLBACK: std::sync::LazyLock<Manifest> =
    std::sync::LazyLock::new(|| Manifest::default_with_id("none"));

/// Key material for tests, evaluation and benchmarks: a platform and a
/// custodian key pair generated in memory, and a release signed by both.
pub mod dev_keys {
    use super::*;
    use ed25519_dalek::SigningKey;

    pub struct DevKeys {
        pub platform: NoteSigner,
        pub custodian: NoteSigner,
    }

    impl DevKeys {
        /// Deterministic keys from a seed; never for production use.
        pub fn from_seed(region: &str, seed: u8) -> Result<Self, ReleaseError> {
            let p = SigningKey::from_bytes(&[seed; 32]);
            let c = SigningKey::from_bytes(&[seed.wrapping_add(1); 32]);
            let bad = |e: sovereel_ledger::note::NoteError| ReleaseError::Malformed(e.to_string());
            Ok(DevKeys {
                platform: NoteSigner::new("releases.sovereel.dev", p).map_err(bad)?,
                custodian: NoteSigner::new(&format!("custodian.{region}.sovereel.dev"), c)
                    .map_err(bad)?,
            })
        }

        pub fn trust(&self) -> ReleaseTrust {
            ReleaseTrust {
                platform: self.platform.verifier(),
                custodian: self.custodian.verifier(),
            }
        }

        /// Signs and approves a manifest.
        pub fn release(&self, m: &Manifest) -> Result<Vec<u8>, ReleaseError> {
            let signed = sign_release(m, &self.platform)?;
            approve_release(&signed, &self.platform.verifier(), &self.custodian)
        }
    }
}
