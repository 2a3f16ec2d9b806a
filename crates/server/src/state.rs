//! The running platform as this process sees it: the regions it serves
//! itself ([`LocalPlane`]s), a [`RegionPlane`] for every configured region
//! (local or remote), the public catalog, and the relay that carries outbox
//! changes between them.
//!
//! The embedded default serves every region here, so every plane is local
//! and the relay applies changes in-process. A region service
//! (`--role region:<id>`) serves one region; the others are remote planes,
//! and region-bound changes travel over NATS JetStream (`bus.rs`).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use sovereel_media::{MediaProcessor, MediaStore, ProcessConfig};
use sovereel_model::RegionId;
use sovereel_store::{CatalogStore, Target};

use crate::config::{Config, RegionConfig};
use crate::metrics::Metrics;
use crate::plane::{LocalPlane, RegionPlane};

/// How this process takes part in the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// Every region in one process (the embedded default).
    AllInOne,
    /// One region's plane service, run by its custodian.
    Region(String),
}

pub struct App {
    pub config: Config,
    /// The regions this process serves itself.
    locals: BTreeMap<String, Arc<LocalPlane>>,
    /// Every configured region, local or remote.
    planes: BTreeMap<String, Arc<dyn RegionPlane>>,
    pub catalog: Arc<dyn CatalogStore>,
    country_region: HashMap<String, String>,
    default_region: String,
    pub processor: MediaProcessor,
    /// The Cedar policy gateway every protected read or write passes.
    pub gateway: Arc<sovereel_custody::PolicyGateway>,
    /// Data export jobs.
    pub exports: crate::export_jobs::Exports,
    /// The class check on everything that leaves a region.
    pub egress: sovereel_custody::EgressGateway,
    pub metrics: Metrics,
    /// Rate limits and log-in delays (`limits.rs`).
    pub limits: Arc<crate::limits::RateLimits>,
    /// Where uploads wait for processing; kept across restarts.
    pub incoming_dir: PathBuf,
    pub tmp_dir: PathBuf,
    /// Carries region-bound outbox changes between region services.
    pub(crate) bus: Option<crate::bus::Bus>,
    /// Other regions' block lists, kept for a moment (`access.rs`).
    pub(crate) remote_blockers: crate::access::RemoteBlockers,
}

/// A storage URL fit for an error message: the server and database named,
/// any password left out (`postgres://user:secret@host/db` →
/// `postgres://user@host/db`).
fn without_secret(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}@{host}")
        }
        None => url.to_string(),
    }
}

impl App {
    /// Opens every configured region in this process.
    pub async fn open(config: Config) -> anyhow::Result<Arc<App>> {
        Self::open_as(config, Role::AllInOne).await
    }

    pub async fn open_as(config: Config, role: Role) -> anyhow::Result<Arc<App>> {
        config.validate()?;
        std::fs::create_dir_all(&config.data_dir)?;
        let served: Vec<&RegionConfig> = match &role {
            Role::AllInOne => config.regions.iter().collect(),
            Role::Region(id) => {
                let r = config.regions.iter().find(|r| &r.id == id).ok_or_else(|| {
                    anyhow::anyhow!("role region:{id}: no such region in the configuration")
                })?;
                vec![r]
            }
        };
        // The lease comes before the log and the keyring: neither opens
        // before this process is known to be the region's only writer.
        // (Opening the store first only creates and migrates its database,
        // which is idempotent, so the advisory lock has a database to live in.)
        let mut leases = BTreeMap::new();
        let mut stores = BTreeMap::new();
        for r in &served {
            let url = config.region_storage(r);
            let store = sovereel_store::open_region(&url).await.map_err(|e| {
                anyhow::anyhow!("opening region `{}` at {}: {e}", r.id, without_secret(&url))
            })?;
            let lease = crate::lease::Lease::take(
                &r.id,
                &config.data_dir.join("regions").join(&r.id),
                &config.region_storage(r),
            )
            .await?;
            leases.insert(r.id.clone(), lease);
            stores.insert(r.id.clone(), store);
        }
        let catalog_url = config.catalog_storage();
        let catalog = sovereel_store::open_catalog(&catalog_url)
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "opening the catalog at {}: {e}",
                    without_secret(&catalog_url)
                )
            })?;
        // An invalid policy set stops start-up with the validator's message.
        let gateway = Arc::new(
            match &config.policies {
                Some(dir) => sovereel_custody::PolicyGateway::from_dir(dir),
                None => sovereel_custody::PolicyGateway::with_default_policies(),
            }
            .map_err(|e| anyhow::anyhow!("policy set: {e}"))?,
        );
        let served_ids: Vec<String> = served.iter().map(|r| r.id.clone()).collect();
        let mut ledgers =
            crate::transparency::open_served(&config, &served_ids, gateway.policy_set_sha256())
                .await?;
        let mut locals = BTreeMap::new();
        for r in &served {
            let store = stores.remove(&r.id).expect("a store per served region");
            // An unreachable bucket or refused credentials stop start-up
            // with the endpoint named, not the first upload.
            let media = MediaStore::open(&config.region_media(r))
                .await
                .map_err(|e| anyhow::anyhow!("region `{}` media: {e}", r.id))?;
            let ledger = ledgers.remove(&r.id).expect("a ledger per served region");
            let recs =
                Arc::new(crate::recommend::RegionEngine::open(&config, &r.id, &ledger).await?);
            let keyring = sovereel_custody::Keyring::open_embedded(
                RegionId::parse(&r.id)?,
                &crate::transparency::keyring_dir(&config, &r.id),
            )
            .map_err(|e| anyhow::anyhow!("region `{}` keyring: {e}", r.id))?;
            let lifecycle = Arc::new(
                crate::lifecycle::Lifecycle::load(&ledger.log, &r.id, &r.custodian)
                    .await
                    .map_err(|e| anyhow::anyhow!("region `{}` lifecycle: {e}", r.id))?,
            );
            let plane = LocalPlane {
                id: RegionId::parse(&r.id)?,
                lifecycle,
                store,
                media,
                ledger,
                keyring,
                recs,
                gateway: gateway.clone(),
                relay_lock: tokio::sync::Mutex::new(()),
                _lease: leases.remove(&r.id).expect("a lease per served region"),
            };
            locals.insert(r.id.clone(), Arc::new(plane));
        }
        let mut planes: BTreeMap<String, Arc<dyn RegionPlane>> = BTreeMap::new();
        let mut country_region = HashMap::new();
        let mut default_region = String::new();
        for r in &config.regions {
            for c in &r.countries {
                country_region.insert(c.to_ascii_uppercase(), r.id.clone());
            }
            if r.default {
                default_region = r.id.clone();
            }
            match locals.get(&r.id) {
                Some(l) => {
                    planes.insert(r.id.clone(), l.clone() as Arc<dyn RegionPlane>);
                }
                None => {
                    let remote = crate::plane::RemotePlane::new(&config, &r.id)?;
                    planes.insert(r.id.clone(), Arc::new(remote) as Arc<dyn RegionPlane>);
                }
            }
        }
        let bus = match (&role, &config.cluster) {
            (Role::Region(_), Some(c)) => Some(crate::bus::Bus::connect(c).await?),
            (Role::Region(id), None) => anyhow::bail!(
                "role region:{id} needs a [cluster] section (see `sovereel cluster init`)"
            ),
            (Role::AllInOne, _) => None,
        };
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
        let limits = crate::limits::RateLimits::new(&config.limits.rates);
        Ok(Arc::new(App {
            config,
            locals,
            planes,
            catalog,
            country_region,
            default_region,
            processor,
            gateway,
            egress: sovereel_custody::EgressGateway::new(),
            exports: Default::default(),
            metrics: Metrics::default(),
            limits,
            incoming_dir,
            tmp_dir,
            bus,
            remote_blockers: Default::default(),
        }))
    }

    /// A region this process serves itself.
    pub fn local(&self, id: &str) -> Option<&Arc<LocalPlane>> {
        self.locals.get(id)
    }

    /// Every region this process serves itself.
    pub fn locals(&self) -> impl Iterator<Item = &Arc<LocalPlane>> {
        self.locals.values()
    }

    /// Any configured region, local or remote.
    pub fn plane(&self, id: &str) -> Option<&Arc<dyn RegionPlane>> {
        self.planes.get(id)
    }

    /// Every configured region, local or remote.
    pub fn planes(&self) -> impl Iterator<Item = &Arc<dyn RegionPlane>> {
        self.planes.values()
    }

    /// The configuration of a region (known to every role).
    pub fn region_config(&self, id: &str) -> Option<&RegionConfig> {
        self.config.regions.iter().find(|r| r.id == id)
    }

    /// The home region of a country: the one listing it, else the default.
    pub fn home_of_country(&self, code: &str) -> &str {
        self.country_region
            .get(code)
            .unwrap_or(&self.default_region)
    }

    /// Relays the outbox of a region served here; a remote region relays
    /// its own.
    pub async fn relay_region(&self, id: &str) -> anyhow::Result<()> {
        match self.locals.get(id) {
            Some(plane) => self.relay(plane).await,
            None => Ok(()),
        }
    }

    /// Applies every pending outbox change of `plane` to its target, in
    /// order. Safe to call concurrently and repeatedly: targets apply each
    /// `(origin, seq)` once.
    pub async fn relay(&self, plane: &LocalPlane) -> anyhow::Result<()> {
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
            let mut crossing: BTreeMap<String, (Vec<u8>, Vec<sovereel_custody::EgressReceipt>)> =
                Default::default();
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
            let origin = plane.id.as_str();
            for p in allowed {
                match &p.target {
                    Target::Catalog => {
                        let fresh = self.catalog.apply_change(origin, p.seq, &p.change).await?;
                        if fresh {
                            self.tell_engines(&p.change).await;
                            if let Some(bus) = &self.bus {
                                bus.publish_catalog(origin, p.seq, &p.change).await?;
                            }
                        }
                    }
                    Target::Region(r) => {
                        if let Some(target) = self.locals.get(r) {
                            target.store.apply_change(origin, p.seq, &p.change).await?;
                        } else if let Some(bus) = &self.bus {
                            // Durable in the stream once acknowledged; the
                            // target applies it when it is up.
                            bus.publish_region(r, origin, p.seq, &p.change).await?;
                        } else if let Some(target) = self.planes.get(r) {
                            target
                                .apply_changes(origin, &[(p.seq, p.change.clone())])
                                .await?;
                        } else {
                            tracing::error!(target_region = %r, seq = p.seq, "outbox change for an unknown region; dropped");
                        }
                    }
                }
                self.metrics
                    .outbox_applied
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                done.push(p.seq);
            }
            plane.store.mark_applied(&done).await?;
        }
    }

    /// Keeps the engines of the regions served here in step with the
    /// public catalog.
    pub(crate) async fn tell_engines(&self, change: &sovereel_store::Change) {
        match change {
            sovereel_store::Change::PublishVideo { id, .. }
            | sovereel_store::Change::SetLabels { video_id: id, .. } => {
                if let Ok(Some(v)) = self.catalog.video(id).await {
                    let meta = crate::recommend::video_meta(&v);
                    for plane in self.locals.values() {
                        if let Err(e) = plane.recs.lock().upsert_video(&meta) {
                            tracing::warn!(video = %id, error = %e, "engine refused a catalog video");
                        }
                    }
                }
            }
            sovereel_store::Change::UnpublishVideo { id, .. }
            | sovereel_store::Change::WithdrawVideo { id, .. } => {
                for plane in self.locals.values() {
                    plane.recs.lock().remove_video(id);
                }
            }
            _ => {}
        }
    }

    /// Loads the whole public catalog into every local engine (at start).
    pub async fn load_engines(&self) -> anyhow::Result<usize> {
        let mut cursor: Option<sovereel_store::Cursor> = None;
        let mut n = 0;
        loop {
            let page = self.catalog.fresh_videos(cursor.as_ref(), 2000).await?;
            for v in &page {
                let meta = crate::recommend::video_meta(v);
                for plane in self.locals.values() {
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

    /// Snapshots every local region's model.
    pub fn snapshot_engines(&self) {
        for plane in self.locals.values() {
            if let Err(e) = plane.recs.snapshot() {
                tracing::warn!(region = %plane.id, error = %e, "model snapshot failed");
            }
        }
    }

    /// Relays every local region's outbox; used at start-up and periodically.
    pub async fn relay_all(&self) {
        for plane in self.locals.values() {
            if let Err(e) = self.relay(plane).await {
                tracing::warn!(region = %plane.id, error = %e, "outbox relay failed; will retry");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn storage_urls_in_errors_name_the_server_but_not_the_password() {
        assert_eq!(
            super::without_secret("postgres://sov:hunter2@db.internal:5432/sov_us"),
            "postgres://sov@db.internal:5432/sov_us"
        );
        assert_eq!(
            super::without_secret("postgres://db.internal/sov_us"),
            "postgres://db.internal/sov_us"
        );
        assert_eq!(
            super::without_secret("sqlite:///data/us.db"),
            "sqlite:///data/us.db"
        );
    }
}
