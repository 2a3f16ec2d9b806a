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
        let mut engine = Engine::new(EngineConfig::new(region), trust, &note)?;
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
