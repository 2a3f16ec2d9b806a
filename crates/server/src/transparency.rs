//! The transparency ledger as the platform runs it: one log per region,
//! signed by the region's key, witnessed (cosigned) in-process by every other
//! region's witness, served at `/log/<region>/…` in the C2SP tlog-tiles
//! layout. A region's log opens with a `region_config` entry and records
//! every later change of the region's configuration.
//!
//! Keys live in `<data_dir>/keyring/<region>/` (mode 0600 files), apart from
//! the region's database; the log and the witness state live under
//! `<data_dir>/regions/<region>/`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sovereel_ledger::entry::RegionConfig as ConfigEntry;
use sovereel_ledger::{
    InProcessWitness, Log, LogConfig, LogStorage, NoteVerifier, RegionKeys, Witness, WitnessClient,
    load_or_create_region_keys,
};

use crate::config::{Config, RegionConfig};

/// One region's ledger: its log, its witness (for the other regions' logs)
/// and its keys.
pub struct RegionLedger {
    pub log: Log,
    pub witness: Arc<Witness>,
    pub keys: RegionKeys,
}

impl RegionLedger {
    /// The log's verifier key, one line (`<origin>+<id>+<key>`).
    pub fn vkey(&self) -> String {
        self.log.vkey()
    }

    pub fn witness_vkey(&self) -> String {
        self.keys.witness.verifier().vkey()
    }

    /// The pseudonym under which this region's entries name `user_id`.
    pub fn pseudonym(&self, user_id: &str) -> sovereel_ledger::Pseudonym {
        self.keys.pseudonyms.pseudonym(user_id)
    }
}

pub fn keyring_dir(config: &Config, region: &str) -> PathBuf {
    config.data_dir.join("keyring").join(region)
}

pub fn log_origin(r: &RegionConfig) -> String {
    r.log_origin
        .clone()
        .unwrap_or_else(|| format!("sovereel.localhost/log/{}", r.id))
}

pub fn witness_name(r: &RegionConfig) -> String {
    format!("{}/witness", log_origin(r))
}

/// Loads (creating at first start) the ledger keys of the given regions.
pub fn load_keys(
    config: &Config,
    regions: &[String],
) -> anyhow::Result<BTreeMap<String, RegionKeys>> {
    let mut out = BTreeMap::new();
    for r in config.regions.iter().filter(|r| regions.contains(&r.id)) {
        let keys = load_or_create_region_keys(
            &keyring_dir(config, &r.id),
            &r.id,
            &log_origin(r),
            &witness_name(r),
        )
        .map_err(|e| anyhow::anyhow!("region `{}` ledger keys: {e}", r.id))?;
        out.insert(r.id.clone(), keys);
    }
    Ok(out)
}

/// The public keys of a region this process does not serve, from the
/// cluster file.
fn remote_vkeys(config: &Config, region: &str) -> anyhow::Result<(NoteVerifier, NoteVerifier)> {
    let c = config
        .cluster
        .as_ref()
        .and_then(|c| c.regions.get(region))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "region `{region}` is not served here and the cluster file does not list it"
            )
        })?;
    let log = NoteVerifier::parse(&c.log_vkey)
        .map_err(|e| anyhow::anyhow!("region `{region}` log key in the cluster file: {e}"))?;
    let witness = NoteVerifier::parse(&c.witness_vkey)
        .map_err(|e| anyhow::anyhow!("region `{region}` witness key in the cluster file: {e}"))?;
    Ok((log, witness))
}

/// Opens the witness and log of every region served here, and records the
/// configuration. Each log is cosigned by every other region's witness: in
/// this process when that region is served here, over the cluster's mutual
/// TLS otherwise.
pub async fn open_served(
    config: &Config,
    served: &[String],
    policy_set_sha256: &str,
) -> anyhow::Result<BTreeMap<String, Arc<RegionLedger>>> {
    let keys = load_keys(config, served)?;
    let mut log_verifiers: BTreeMap<String, NoteVerifier> = BTreeMap::new();
    let mut witness_verifiers: BTreeMap<String, NoteVerifier> = BTreeMap::new();
    for r in &config.regions {
        match keys.get(&r.id) {
            Some(k) => {
                log_verifiers.insert(r.id.clone(), k.log.verifier());
                witness_verifiers.insert(r.id.clone(), k.witness.verifier());
            }
            None => {
                let (log, witness) = remote_vkeys(config, &r.id)?;
                log_verifiers.insert(r.id.clone(), log);
                witness_verifiers.insert(r.id.clone(), witness);
            }
        }
    }
    let mut witnesses = BTreeMap::new();
    for r in config.regions.iter().filter(|r| keys.contains_key(&r.id)) {
        let others: Vec<NoteVerifier> = log_verifiers
            .iter()
            .filter(|(id, _)| **id != r.id)
            .map(|(_, v)| v.clone())
            .collect();
        let storage =
            LogStorage::local(&config.data_dir.join("regions").join(&r.id).join("witness"))?;
        let w = Witness::open(keys[&r.id].witness.clone(), others, storage)
            .await
            .map_err(|e| anyhow::anyhow!("region `{}` witness: {e}", r.id))?;
        witnesses.insert(r.id.clone(), Arc::new(w));
    }
    let client = match &config.cluster {
        Some(c) => Some(crate::cluster::client(config, c, Duration::from_secs(2))?),
        None => None,
    };
    let mut out = BTreeMap::new();
    for r in config.regions.iter().filter(|r| keys.contains_key(&r.id)) {
        let mut lc = LogConfig::new(&log_origin(r));
        lc.witness_timeout = Duration::from_secs(2);
        for other in config.regions.iter().filter(|o| o.id != r.id) {
            let w: Arc<dyn WitnessClient> =
                match (witnesses.get(&other.id), &config.cluster, &client) {
                    (Some(w), _, _) => Arc::new(InProcessWitness::new(w.clone())),
                    (None, Some(c), Some(client)) => {
                        let url = &c.regions[&other.id].url;
                        Arc::new(sovereel_ledger::HttpWitness::with_client(
                            &format!("{}/log/{}", url.trim_end_matches('/'), other.id),
                            witness_verifiers[&other.id].clone(),
                            client.clone(),
                        ))
                    }
                    _ => continue,
                };
            lc.witnesses.push(w);
        }
        let dir = config.data_dir.join("regions").join(&r.id);
        let storage = match &r.ledger {
            // In object storage: checked now, so that a wrong endpoint, key
            // or bucket stops the start-up with a message naming it.
            Some(url) => {
                let s = LogStorage::from_url(url)
                    .map_err(|e| anyhow::anyhow!("region `{}` ledger: {e}", r.id))?;
                s.check()
                    .await
                    .map_err(|e| anyhow::anyhow!("region `{}` ledger: {e}", r.id))?;
                s
            }
            None => LogStorage::local(&dir.join("ledger"))?,
        };
        if let Some(url) = &r.ledger_lock {
            let lock = sovereel_ledger::PostgresLock::connect(url, &log_origin(r))
                .await
                .map_err(|e| anyhow::anyhow!("region `{}` ledger lock: {e}", r.id))?;
            lc.lock = Some(Arc::new(lock));
        }
        let log = Log::open(storage, keys[&r.id].log.clone(), lc)
            .await
            .map_err(|e| anyhow::anyhow!("region `{}` ledger: {e}", r.id))?;
        let ledger = Arc::new(RegionLedger {
            log,
            witness: witnesses[&r.id].clone(),
            keys: keys[&r.id].clone(),
        });
        let witness_keys: Vec<String> = config
            .regions
            .iter()
            .filter(|o| o.id != r.id)
            .map(|o| witness_verifiers[&o.id].vkey())
            .collect();
        record_config(&ledger, r, witness_keys, policy_set_sha256).await?;
        out.insert(r.id.clone(), ledger);
    }
    Ok(out)
}

/// Records the region's configuration: the genesis entry of a new log,
/// and a new entry whenever it differs from the last one recorded.
async fn record_config(
    ledger: &RegionLedger,
    r: &RegionConfig,
    witness_keys: Vec<String>,
    policy_set_sha256: &str,
) -> anyhow::Result<()> {
    let mut countries = r.countries.clone();
    countries.sort();
    // The custodian and status are the lifecycle's (a hand-over or a
    // suspension outlives the configuration file); a closed log stays closed.
    let lifecycle = crate::lifecycle::Lifecycle::load(&ledger.log, &r.id, &r.custodian).await?;
    if lifecycle.state() == crate::lifecycle::RegionState::Closed {
        return Ok(());
    }
    let entry = ConfigEntry {
        region: r.id.clone(),
        custodian: lifecycle.custodian(),
        countries,
        log_vkey: ledger.vkey(),
        verifier_keys: witness_keys,
        policy_set_sha256: policy_set_sha256.to_string(),
        status: lifecycle.state().as_str().into(),
    };
    ledger.log.ensure_region_config(&entry).await?;
    Ok(())
}

/// Every region's witness key: of the regions served here from their
/// keys, of the others from the cluster file.
pub fn witness_verifiers(app: &crate::App) -> Vec<NoteVerifier> {
    app.config
        .regions
        .iter()
        .filter_map(|r| match app.local(&r.id) {
            Some(p) => Some(p.ledger.keys.witness.verifier()),
            None => remote_vkeys(&app.config, &r.id).ok().map(|(_, w)| w),
        })
        .collect()
}

/// Names of the witnesses whose cosignatures a published checkpoint carries.
pub fn cosigners(note: &[u8], witnesses: &[NoteVerifier]) -> Vec<String> {
    match sovereel_ledger::Note::parse(note) {
        Ok(n) => n
            .signatures
            .iter()
            .filter_map(|s| {
                witnesses
                    .iter()
                    .find(|w| w.name() == s.name)
                    .map(|w| w.name().to_string())
            })
            .collect(),
        Err(_) => vec![],
    }
}
