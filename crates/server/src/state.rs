//! The running platform: one [`RegionPlane`] per configured region, the
//! public catalog, and the relay that carries outbox changes between them.
//!
//! A region is reached only through its plane. In the embedded deployment
//! every plane lives in this process; the plane is the seam where a remote
//! plane (a region run by its custodian on its own machines) slots in.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use sovereel_media::{MediaProcessor, MediaStore, ProcessConfig};
use sovereel_model::RegionId;
use sovereel_store::{CatalogStore, RegionStore, Target};

use crate::config::Config;
use crate::metrics::Metrics;

/// One jurisdiction's data plane.
pub struct RegionPlane {
    pub id: RegionId,
    pub name: String,
    pub custodian: String,
    pub countries: Vec<String>,
    pub default: bool,
    pub store: Arc<dyn RegionStore>,
    pub media: MediaStore,
    /// The region's transparency log, witness and keys.
    pub ledger: Arc<crate::transparency::RegionLedger>,
    /// The region's keyring: its key-encryption key and users' data keys.
    pub keyring: sovereel_custody::Keyring,
    /// The region's recommendation engine (its own events only).
    pub recs: Arc<crate::recommend::RegionEngine>,
    /// Serialises outbox draining, so changes apply in order.
    relay_lock: tokio::sync::Mutex<()>,
}

pub struct App {
    pub config: Config,
    pub regions: BTreeMap<String, Arc<RegionPlane>>,
    pub catalog: Arc<dyn CatalogStore>,
    country_region: HashMap<String, String>,
    default_region: String,
    pub processor: MediaProcessor,
    /// The Cedar policy gateway every protected read or write passes.
    pub gateway: sovereel_custody::PolicyGateway,
    /// Data export jobs.
    pub exports: crate::export::Exports,
    /// The class check on everything that leaves a region.
    pub egress: sovereel_custody::EgressGateway,
    pub metrics: Metrics,
    /// Where uploads wait for processing; kept across restarts.
    pub incoming_dir: PathBuf,
    pub tmp_dir: PathBuf,
    /// An argon2 hash of nothing in particular, verified against when a
    /// login names an unknown handle, so both paths cost the same.
    pub decoy_hash: String,
}

impl App {
    pub async fn open(config: Config) -> anyhow::Result<Arc<App>> {
        config.validate()?;
        std::fs::create_dir_all(&config.data_dir)?;
        let catalog = sovereel_store::open_catalog(&config.catalog_storage())
            .await
            .map_err(|e| anyhow::anyhow!("opening the catalog: {e}"))?;
        // An invalid policy set stops start-up with the validator's message.
        let gateway = match &config.policies {
            Some(dir) => sovereel_custody::PolicyGateway::from_dir(dir),
            None => sovereel_custody::PolicyGateway::with_default_policies(),
        }
        .map_err(|e| anyhow::anyhow!("policy set: {e}"))?;
        let mut ledgers =
            crate::transparency::open_all(&config, gateway.policy_set_sha256()).await?;
        let mut regions = BTreeMap::new();
        let mut country_region = HashMap::new();
        let mut default_region = String::new();
        for r in &config.regions {
            let store = sovereel_store::open_region(&config.region_storage(r))
                .await
                .map_err(|e| anyhow::anyhow!("opening region `{}`: {e}", r.id))?;
            let media = MediaStore::from_url(&config.region_media(r))
                .map_err(|e| anyhow::anyhow!("region `{}` media: {e}", r.id))?;
            for c in &r.countries {
                country_region.insert(c.to_ascii_uppercase(), r.id.clone());
            }
            if r.default {
                default_region = r.id.clone();
            }
            let ledger = ledgers.remove(&r.id).expect("a ledger per region");
            let recs =
                Arc::new(crate::recommend::RegionEngine::open(&config, &r.id, &ledger).await?);
            let keyring = sovereel_custody::Keyring::open_embedded(
                RegionId::parse(&r.id)?,
                &crate::transparency::keyring_dir(&config, &r.id),
            )
            .map_err(|e| anyhow::anyhow!("region `{}` keyring: {e}", r.id))?;
            let plane = RegionPlane {
                id: RegionId::parse(&r.id)?,
                name: r.name.clone(),
                custodian: r.custodian.clone(),
                countries: r.countries.clone(),
                default: r.default,
                store,
                media,
                ledger,
                keyring,
                recs,
                relay_lock: tokio::sync::Mutex::new(()),
            };
            regions.insert(r.id.clone(), Arc::new(plane));
        }
        let incoming_dir = config.data_dir.join("incoming");
        let tmp_dir = config.data_dir.join("tmp");
        std::fs::create_dir_all(&incoming_dir)?;
        std::fs::create_dir_all(&tmp_dir)?;
        let pc = ProcessConfig {
            max_duration: std::time::Duration::from_secs(config.limits.max_duration_secs),
            ..ProcessConfig::default()
        };
        let processor = if config.transcode {
            MediaProcessor::detect(pc)
        } else {
            MediaProcessor::with_tools(None, pc)
        };
        let decoy_hash =
            tokio::task::spawn_blocking(|| crate::auth::hash_password("decoy-password-not-used"))
                .await??;
        Ok(Arc::new(App {
            config,
            regions,
            catalog,
            country_region,
            default_region,
            processor,
            gateway,
            egress: sovereel_custody::EgressGateway::new(),
            exports: Default::default(),
            metrics: Metrics::default(),
            incoming_dir,
            tmp_dir,
            decoy_hash,
        }))
    }

    pub fn region(&self, id: &str) -> Option<&Arc<RegionPlane>> {
        self.regions.get(id)
    }

    /// The home region of a country: the one listing it, else the default.
    pub fn home_of_country(&self, code: &str) -> &Arc<RegionPlane> {
        let id = self
            .country_region
            .get(code)
            .unwrap_or(&self.default_region);
        &self.regions[id]
    }

    /// Applies every pending outbox change of `plane` to its target, in
    /// order. Safe to call concurrently and repeatedly: targets apply each
    /// `(origin, seq)` once.
    pub async fn relay(&self, plane: &RegionPlane) -> anyhow::Result<()> {
        let _guard = plane.relay_lock.lock().await;
        loop {
            let pending = plane.store.pending_changes(256).await?;
            if pending.is_empty() {
                return Ok(());
            }
            let mut done = Vec::with_capacity(pending.len());
            // Everything that leaves the region passes the egress check
            // first; the batch is recorded in the region's ledger (its
            // SHA-256 over the exact payloads) before it is applied.
            let mut crossing: std::collections::BTreeMap<
                String,
                (Vec<u8>, Vec<sovereel_custody::EgressReceipt>),
            > = Default::default();
            let mut allowed = Vec::with_capacity(pending.len());
            for p in pending {
                let destination = match &p.target {
                    Target::Catalog => Some("catalog".to_string()),
                    Target::Region(r) if r != plane.id.as_str() => Some(format!("region:{r}")),
                    Target::Region(_) => None,
                };
                if let Some(dest) = destination {
                    let payload = serde_json::to_vec(&p.change)?;
                    let db = if matches!(p.target, Target::Catalog) {
                        sovereel_model::Db::Catalog
                    } else {
                        sovereel_model::Db::Region
                    };
                    let fields = crate::egress::fields(&p.change, db);
                    match self.egress.check_payload(&dest, &fields, &payload) {
                        Ok(receipt) => {
                            let e = crossing.entry(dest).or_default();
                            e.0.extend_from_slice(&payload);
                            e.1.push(receipt);
                        }
                        Err(refused) => {
                            // Refused, logged and counted; never applied.
                            tracing::error!(region = %plane.id, seq = p.seq, error = %refused, "egress refused");
                            done.push(p.seq);
                            continue;
                        }
                    }
                }
                allowed.push(p);
            }
            for (dest, (bytes, receipts)) in crossing {
                let mut classes: Vec<sovereel_ledger::entry::DataClass> = vec![];
                for r in &receipts {
                    for c in &r.classes {
                        let c = crate::egress::ledger_class(*c);
                        if !classes.contains(&c) {
                            classes.push(c);
                        }
                    }
                }
                let entry = sovereel_ledger::Entry::now(sovereel_ledger::EntryBody::Egress(
                    sovereel_ledger::entry::Egress {
                        batch_sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)),
                        classes,
                        destination: dest,
                        items: receipts.iter().map(|r| r.items).sum(),
                    },
                ));
                plane.ledger.log.append_entry(&entry).await?;
            }
            for p in allowed {
                let origin = plane.id.as_str();
                match &p.target {
                    Target::Catalog => {
                        let fresh = self.catalog.apply_change(origin, p.seq, &p.change).await?;
                        if fresh {
                            self.tell_engines(&p.change).await;
                        }
                        fresh
                    }
                    Target::Region(r) => match self.regions.get(r) {
                        Some(target) => target.store.apply_change(origin, p.seq, &p.change).await?,
                        None => {
                            tracing::error!(target_region = %r, seq = p.seq, "outbox change for an unknown region; dropped");
                            false
                        }
                    },
                };
                self.metrics
                    .outbox_applied
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                done.push(p.seq);
            }
            plane.store.mark_applied(&done).await?;
        }
    }

    /// Keeps every region's engine in step with the public catalog.
    async fn tell_engines(&self, change: &sovereel_store::Change) {
        match change {
            sovereel_store::Change::PublishVideo { id, .. }
            | sovereel_store::Change::SetLabels { video_id: id, .. } => {
                if let Ok(Some(v)) = self.catalog.video(id).await {
                    let meta = crate::recommend::video_meta(&v);
                    for plane in self.regions.values() {
                        if let Err(e) = plane.recs.lock().upsert_video(&meta) {
                            tracing::warn!(video = %id, error = %e, "engine refused a catalog video");
                        }
                    }
                }
            }
            sovereel_store::Change::UnpublishVideo { id, .. } => {
                for plane in self.regions.values() {
                    plane.recs.lock().remove_video(id);
                }
            }
            _ => {}
        }
    }

    /// Loads the whole public catalog into every region's engine (at start).
    pub async fn load_engines(&self) -> anyhow::Result<usize> {
        let mut cursor: Option<sovereel_store::Cursor> = None;
        let mut n = 0;
        loop {
            let page = self.catalog.fresh_videos(cursor.as_ref(), 2000).await?;
            for v in &page {
                let meta = crate::recommend::video_meta(v);
                for plane in self.regions.values() {
                    let _ = plane.recs.lock().upsert_video(&meta);
                }
            }
            n += page.len();
            match page.last() {
                Some(v) if page.len() == 2000 => {
                    cursor = Some(sovereel_store::Cursor {
                        key: v.created_at as f64,
                        id: v.id.clone(),
                    })
                }
                _ => return Ok(n),
            }
        }
    }

    /// Snapshots every region's model.
    pub fn snapshot_engines(&self) {
        for plane in self.regions.values() {
            if let Err(e) = plane.recs.snapshot() {
                tracing::warn!(region = %plane.id, error = %e, "model snapshot failed");
            }
        }
    }

    /// Relays every region's outbox; used at start-up and periodically.
    pub async fn relay_all(&self) {
        for plane in self.regions.values() {
            if let Err(e) = self.relay(plane).await {
                tracing::warn!(region = %plane.id, error = %e, "outbox relay failed; will retry");
            }
        }
    }
}
