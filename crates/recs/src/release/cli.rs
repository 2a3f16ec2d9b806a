//! `sovereel release …`: the platform's and the custodians' release steps as
//! a clap subcommand the binary embeds. Keys are files holding a hex Ed25519
//! seed (mode 0600 is the caller's job); notes and manifests are files, so each
//! step can run on a different machine held by a different party.
//!
//! Activation is not here: it happens inside a running region, through the
//! staff endpoint that calls `Engine::install_release` / `activate_release`.

use crate::error::ReleaseError;
use crate::release::manifest::Manifest;
use crate::release::{
    ReleaseTrust, approve_release, manifest_sha256, sign_release, verify_release,
};
use clap::Subcommand;
use ed25519_dalek::SigningKey;
use sovereel_ledger::note::{NoteSigner, NoteVerifier};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Subcommand)]
pub enum ReleaseCommand {
    /// Writes a manifest with this engine's defaults, to edit before signing.
    Init {
        #[arg(long)]
        id: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Creates a signing key: a seed file plus its C2SP verifier key on stdout.
    Keygen {
        /// Key name, e.g. `releases.example.org` or `custodian.us.example.org`.
        #[arg(long)]
        name: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Platform step: validates a manifest and signs it into a release note.
    Sign {
        #[arg(long)]
        manifest: PathBuf,
        #[arg(long)]
        name: String,
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Custodian step: checks the platform signature, then cosigns.
    Approve {
        #[arg(long)]
        note: PathBuf,
        /// The platform's verifier key (`name+id+key`).
        #[arg(long)]
        platform_vkey: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Checks a note as a region would before running it.
    Verify {
        #[arg(long)]
        note: PathBuf,
        #[arg(long)]
        platform_vkey: String,
        #[arg(long)]
        custodian_vkey: String,
    },
}

fn read(p: &Path) -> Result<Vec<u8>, ReleaseError> {
    std::fs::read(p).map_err(|e| ReleaseError::Malformed(format!("{}: {e}", p.display())))
}

fn write(p: &Path, bytes: &[u8]) -> Result<(), ReleaseError> {
    std::fs::write(p, bytes).map_err(|e| ReleaseError::Malformed(format!("{}: {e}", p.display())))
}

fn signer(name: &str, key: &Path) -> Result<NoteSigner, ReleaseError> {
    let text = String::from_utf8(read(key)?)
        .map_err(|_| ReleaseError::Malformed("key file is not text".into()))?;
    let seed: [u8; 32] = hex::decode(text.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| ReleaseError::Malformed("key file must hold 64 hex digits".into()))?;
    NoteSigner::new(name, SigningKey::from_bytes(&seed))
        .map_err(|e| ReleaseError::Malformed(e.to_string()))
}

fn verifier(vkey: &str) -> Result<NoteVerifier, ReleaseError> {
    NoteVerifier::parse(vkey).map_err(|e| ReleaseError::Malformed(format!("verifier key: {e}")))
}

/// Runs one step and returns what to print.
pub fn run(cmd: &ReleaseCommand) -> Result<String, ReleaseError> {
    match cmd {
        ReleaseCommand::Init { id, out } => {
            let m = Manifest::default_with_id(id);
            m.validate()?;
            let json = serde_json::to_string_pretty(&m)
                .map_err(|e| ReleaseError::InvalidManifest(e.to_string()))?;
            write(out, json.as_bytes())?;
            Ok(format!("wrote manifest {id} to {}", out.display()))
        }
        ReleaseCommand::Keygen { name, out } => {
            let mut seed = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut seed);
            let s = NoteSigner::new(name, SigningKey::from_bytes(&seed))
                .map_err(|e| ReleaseError::Malformed(e.to_string()))?;
            write(out, format!("{}\n", hex::encode(seed)).as_bytes())?;
            Ok(s.verifier().vkey())
        }
        ReleaseCommand::Sign {
            manifest,
            name,
            key,
            out,
        } => {
            let m: Manifest = serde_json::from_slice(&read(manifest)?)
                .map_err(|e| ReleaseError::InvalidManifest(e.to_string()))?;
            let note = sign_release(&m, &signer(name, key)?)?;
            write(out, &note)?;
            Ok(format!(
                "signed release {} (manifest sha256 {})",
                m.id,
                manifest_sha256(&m)?
            ))
        }
        ReleaseCommand::Approve {
            note,
            platform_vkey,
            name,
            key,
            out,
        } => {
            let approved =
                approve_release(&read(note)?, &verifier(platform_vkey)?, &signer(name, key)?)?;
            write(out, &approved)?;
            Ok(format!("approved; wrote {}", out.display()))
        }
        ReleaseCommand::Verify {
            note,
            platform_vkey,
            custodian_vkey,
        } => {
            let trust = ReleaseTrust {
                platform: verifier(platform_vkey)?,
                custodian: verifier(custodian_vkey)?,
            };
            let m = verify_release(&read(note)?, &trust)?;
            Ok(format!(
                "release {} is signed and approved (manifest sha256 {})",
                m.id,
                manifest_sha256(&m)?
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_whole_release_flow_through_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        run(&ReleaseCommand::Init {
            id: "2026-11-28.1".into(),
            out: p("m.json"),
        })
        .unwrap();
        let pv = run(&ReleaseCommand::Keygen {
            name: "releases.test".into(),
            out: p("platform.key"),
        })
        .unwrap();
        let cv = run(&ReleaseCommand::Keygen {
            name: "custodian.us.test".into(),
            out: p("us.key"),
        })
        .unwrap();
        run(&ReleaseCommand::Sign {
            manifest: p("m.json"),
            name: "releases.test".into(),
            key: p("platform.key"),
            out: p("signed.note"),
        })
        .unwrap();
        let verify = |note: &str| {
            run(&ReleaseCommand::Verify {
                note: p(note),
                platform_vkey: pv.clone(),
                custodian_vkey: cv.clone(),
            })
        };
        assert!(matches!(
            verify("signed.note"),
            Err(ReleaseError::NotApproved(_))
        ));
        run(&ReleaseCommand::Approve {
            note: p("signed.note"),
            platform_vkey: pv.clone(),
            name: "custodian.us.test".into(),
            key: p("us.key"),
            out: p("approved.note"),
        })
        .unwrap();
        assert!(verify("approved.note").unwrap().contains("2026-11-28.1"));
        // A custodian key under the wrong name cannot approve as someone else.
        let wrong = run(&ReleaseCommand::Approve {
            note: p("signed.note"),
            platform_vkey: cv.clone(),
            name: "custodian.us.test".into(),
            key: p("us.key"),
            out: p("x.note"),
        });
        assert!(matches!(wrong, Err(ReleaseError::NotSignedByPlatform(_))));
        std::fs::write(p("bad.key"), "zz").unwrap();
        assert!(
            run(&ReleaseCommand::Sign {
                manifest: p("m.json"),
                name: "releases.test".into(),
                key: p("bad.key"),
                out: p("y.note"),
            })
            .is_err()
        );
    }
}
