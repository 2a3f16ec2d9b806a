//! The recommendation engine as each region runs it. Every region has its
//! own engine, which learns only from the events of users homed there and
//! ranks the global public catalog. It runs only a release that the
//! platform signed and the region's custodian approved (both steps are
//! `release` entries in the region's ledger). Model state snapshots to the
//! region's directory and is restored at start, so learning resumes.
//!
//! Embedded mode holds the platform's release key in
//! `<data_dir>/platform/` and each custodian's approval key in the region's
//! keyring; at first start the platform signs the default release and each
//! custodian approves it.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ed25519_dalek::SigningKey;
use sovereel_ledger::entry::{Principal, Release, ReleaseStage};
use sovereel_ledger::keys::load_or_create_secret;
use sovereel_ledger::{Entry, EntryBody, NoteSigner};
use sovereel_recs::release::{ReleaseTrust, approve_release, manifest_sha256, sign_release};
use sovereel_recs::{Engine, EngineConfig, Manifest, VideoMeta, Visibility};
use sovereel_store::CatalogVideo;

use crate::config::Config;
use crate::transparency::RegionLedger;

pub const DEFAULT_RELEASE: &str = "default-1";

/// One region's engine, its release keys and where it keeps its state.
pub struct RegionEngine {
    pub engine: Mutex<Engine>,
    pub platform_vkey: String,
    pub custodian_vkey: String,
    dir: PathBuf,
}

fn platform_signer(config: &Config) -> anyhow::Result<NoteSigner> {
    let dir = config.data_dir.join("platform");
    std::fs::create_dir_all(&dir)?;
    let seed = load_or_create_secret(&dir.join("release-signing.key"))?;
    Ok(NoteSigner::new(
        "sovereel.localhost/releases",
        SigningKey::from_bytes(&seed),
    )?)
}

fn custodian_signer(config: &Config, region: &str) -> anyhow::Result<NoteSigner> {
    let dir = crate::transparency::keyring_dir(config, region);
    std::fs::create_dir_all(&dir)?;
    let seed = load_or_create_secret(&dir.join("release-approval.key"))?;
    Ok(NoteSigner::new(
        &format!("sovereel.localhost/custodian/{region}"),
        SigningKey::from_bytes(&seed),
    )?)
}

pub fn video_meta(v: &CatalogVideo) -> VideoMeta {
    VideoMeta {
        id: v.id.clone(),
        author: v.author_id.clone(),
        hashtags: v.hashtags.clone(),
        created_at_ms: v.created_at,
        duration_ms: v.duration_ms.unwrap_or(0),
        visibility: Visibility::Public,
        labels: v.labels.clone(),
        deleted: false,
    }
}

impl RegionEngine {
    /// Opens a region's engine: its approved releases, the active one, and
    /// the last snapshot of its model.
    pub async fn open(
        config: &Config,
        region: &str,
        ledger: &RegionLedger,
    ) -> anyhow::Result<RegionEngine> {
        let dir = config.data_dir.join("regions").join(region).join("recs");
        std::fs::create_dir_all(dir.join("releases"))?;
        let platform = platform_signer(config)?;
        let custodian = custodian_signer(config, region)?;
        let trust = ReleaseTrust {
            platform: platform.verifier(),
            custodian: custodian.verifier(),
        };
        let default_note = dir.join("releases").join(format!("{DEFAULT_RELEASE}.note"));
        if !default_note.exists() {
            // First start: the platform proposes its default release and the
            // custodian approves it; both steps go to the region's ledger
            // before the release can run.
            let manifest = Manifest::default_with_id(DEFAULT_RELEASE);
            let signed = sign_release(&manifest, &platform)?;
            let digest = manifest_sha256(&manifest)?;
            ledger
                .log
                .append_entry(&Entry::now(EntryBody::Release(Release {
                    release_id: manifest.id.clone(),
                    stage: ReleaseStage::Proposed,
                    manifest_sha256: digest.clone(),
                    signer: Principal::PlatformStaff {
                        role: "release".into(),
                        staff_id: platform.name().into(),
                    },
                    signature: None,
                })))
                .await?;
            let approved = approve_release(&signed, &platform.verifier(), &custodian)?;
            ledger
                .log
                .append_entry(&Entry::now(EntryBody::Release(Release {
                    release_id: manifest.id.clone(),
                    stage: ReleaseStage::Approved,
                    manifest_sha256: digest,
                    signer: Principal::CustodianStaff {
                        region: region.into(),
                        role: "release-approver".into(),
                        staff_id: custodian.name().into(),
                    },
                    signature: None,
                })))
                .await?;
            write_atomic(&default_note, &approved)?;
        }
        let active =
            std::fs::read_to_string(dir.join("active")).unwrap_or_else(|_| DEFAULT_RELEASE.into());
        let note = std::fs::read(dir.join("releases").join(format!("{}.note", active.trim())))
            .or_else(|_| std::fs::read(&default_note))?;
        let mut engine = match Engine::new(EngineConfig::new(region), trust.clone(), &note) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(region, error = %e, "the active release is refused; running the default release");
                Engine::new(
                    EngineConfig::new(region),
                    trust,
                    &std::fs::read(&default_note)?,
                )?
            }
        };
        for entry in std::fs::read_dir(dir.join("releases"))? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "note")
                && let Err(e) = engine.install_release(&std::fs::read(&path)?)
            {
                tracing::warn!(region, file = %path.display(), error = %e, "refusing a stored release");
            }
        }
        if let Ok(bytes) = std::fs::read(dir.join("model.snapshot")) {
            match engine.restore(&bytes) {
                Ok(()) => tracing::info!(region, "recommendation model restored from its snapshot"),
                Err(e) => {
                    tracing::warn!(region, error = %e, "model snapshot unreadable; starting fresh")
                }
            }
        }
        Ok(RegionEngine {
            engine: Mutex::new(engine),
            platform_vkey: platform.verifier().vkey(),
            custodian_vkey: custodian.verifier().vkey(),
            dir,
        })
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, Engine> {
        self.engine.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Saves the model state (write to a temporary file, fsync, rename).
    pub fn snapshot(&self) -> anyhow::Result<()> {
        let bytes = self.lock().snapshot()?;
        write_atomic(&self.dir.join("model.snapshot"), &bytes)
    }

    pub fn active_release(&self) -> String {
        self.lock().release_id().to_string()
    }

    /// Switches to the release named in `<region>/recs/active` when it
    /// changed: the operator's way to activate an approved release at run
    /// time (`sovereel release activate`). A release that does not verify is
    /// refused, logged, and the running one stays.
    pub async fn follow_activation(&self, region: &str, ledger: &RegionLedger) {
        let Ok(wanted) = std::fs::read_to_string(self.dir.join("active")) else {
            return;
        };
        let wanted = wanted.trim().to_string();
        if wanted.is_empty() || wanted == self.active_release() {
            return;
        }
        let path = self.dir.join("releases").join(format!("{wanted}.note"));
        let switched = match std::fs::read(&path) {
            Ok(note) => self.lock().install_and_activate(&note).map(|id| (id, note)),
            Err(e) => Err(sovereel_recs::ReleaseError::Malformed(format!(
                "{}: {e}",
                path.display()
            ))),
        };
        match switched {
            Ok((id, note)) => {
                let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&note));
                let entry = Entry::now(EntryBody::Release(Release {
                    release_id: id.clone(),
                    stage: ReleaseStage::Approved,
                    manifest_sha256: digest,
                    signer: Principal::CustodianStaff {
                        region: region.into(),
                        role: "release-approver".into(),
                        staff_id: self.custodian_vkey.clone(),
                    },
                    signature: None,
                }));
                if let Err(e) = ledger.log.append_entry(&entry).await {
                    tracing::error!(region, error = %e, "recording the release activation in the ledger failed");
                }
                tracing::info!(region, release = %id, "activated release");
            }
            Err(e) => {
                tracing::error!(region, wanted = %wanted, error = %e, "refused release; the previous one keeps running");
                // Point `active` back at what runs, so the refusal is visible.
                let _ = write_atomic(&self.dir.join("active"), self.active_release().as_bytes());
            }
        }
    }
}

/// `sovereel release activate`: places an approved release note in a
/// region's directory and marks it active; a running server switches to it
/// within seconds, a stopped one at start. The note is verified first
/// against the region's trust (platform and custodian keys).
pub fn stage_activation(config: &Config, region: &str, note: &[u8]) -> anyhow::Result<String> {
    if !config.regions.iter().any(|r| r.id == region) {
        anyhow::bail!("no region `{region}` in the configuration");
    }
    let trust = ReleaseTrust {
        platform: platform_signer(config)?.verifier(),
        custodian: custodian_signer(config, region)?.verifier(),
    };
    let manifest = sovereel_recs::release::verify_release(note, &trust)?;
    let dir = config.data_dir.join("regions").join(region).join("recs");
    std::fs::create_dir_all(dir.join("releases"))?;
    write_atomic(
        &dir.join("releases").join(format!("{}.note", manifest.id)),
        note,
    )?;
    write_atomic(&dir.join("active"), manifest.id.as_bytes())?;
    Ok(manifest.id)
}

/// Platform step, for platform staff: signs a manifest with the platform's
/// release key and records the proposal in every region's ledger.
pub async fn sign_as_platform(
    config: &Config,
    manifest: &Manifest,
    ledgers: &[&RegionLedger],
    staff_id: &str,
) -> anyhow::Result<Vec<u8>> {
    let platform = platform_signer(config)?;
    let note = sign_release(manifest, &platform)?;
    let digest = manifest_sha256(manifest)?;
    for ledger in ledgers {
        ledger
            .log
            .append_entry(&Entry::now(EntryBody::Release(Release {
                release_id: manifest.id.clone(),
                stage: ReleaseStage::Proposed,
                manifest_sha256: digest.clone(),
                signer: Principal::PlatformStaff {
                    role: "operator".into(),
                    staff_id: staff_id.into(),
                },
                signature: None,
            })))
            .await?;
    }
    Ok(note)
}

/// Custodian step, for the region's operator: checks the platform
/// signature, cosigns with the region's approval key, records the approval
/// and stores the note so the region can activate it.
pub async fn approve_as_custodian(
    config: &Config,
    region: &str,
    note: &[u8],
    ledger: &RegionLedger,
    staff_id: &str,
) -> anyhow::Result<String> {
    let platform = platform_signer(config)?;
    let custodian = custodian_signer(config, region)?;
    let approved = approve_release(note, &platform.verifier(), &custodian)?;
    let manifest = sovereel_recs::release::verify_release(
        &approved,
        &ReleaseTrust {
            platform: platform.verifier(),
            custodian: custodian.verifier(),
        },
    )?;
    ledger
        .log
        .append_entry(&Entry::now(EntryBody::Release(Release {
            release_id: manifest.id.clone(),
            stage: ReleaseStage::Approved,
            manifest_sha256: manifest_sha256(&manifest)?,
            signer: Principal::CustodianStaff {
                region: region.into(),
                role: "operator".into(),
                staff_id: staff_id.into(),
            },
            signature: None,
        })))
        .await?;
    let dir = config
        .data_dir
        .join("regions")
        .join(region)
        .join("recs")
        .join("releases");
    std::fs::create_dir_all(&dir)?;
    write_atomic(&dir.join(format!("{}.note", manifest.id)), &approved)?;
    Ok(String::from_utf8_lossy(&approved).to_string())
}

/// The verifier keys a region trusts for releases: (platform, custodian).
pub fn release_vkeys(config: &Config, region: &str) -> anyhow::Result<(String, String)> {
    Ok((
        platform_signer(config)?.verifier().vkey(),
        custodian_signer(config, region)?.verifier().vkey(),
    ))
}

fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}
