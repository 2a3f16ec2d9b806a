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

/// Loads (creating at first start) every region's ledger keys.
pub fn load_keys(config: &Config) -> anyhow::Result<BTreeMap<String, RegionKeys>> {
    let mut out = BTreeMap::new();
    for r in &config.regions {
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

/// Opens every region's witness and log, and records the configuration.
pub async fn open_all(
    config: &Config,
    policy_set_sha256: &str,
) -> anyhow::Result<BTreeMap<String, Arc<RegionLedger>>> {
    let keys = load_keys(config)?;
    let log_verifiers: BTreeMap<String, NoteVerifier> = keys
        .iter()
        .map(|(r, k)| (r.clone(), k.log.verifier()))
        .collect();
    let mut witnesses = BTreeMap::new();
    for r in &config.regions {
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
    let mut out = BTreeMap::new();
    for r in &config.regions {
        let mut lc = LogConfig::new(&log_origin(r));
        lc.witness_timeout = Duration::from_secs(2);
        lc.witnesses = witnesses
            .iter()
            .filter(|(id, _)| **id != r.id)
            .map(|(_, w)| Arc::new(InProcessWitness::new(w.clone())) as Arc<dyn WitnessClient>)
            .collect();
        let dir = config.data_dir.join("regions").join(&r.id);
        let storage = LogStorage::local(&dir.join("ledger"))?;
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
            .map(|o| keys[&o.id].witness.verifier().vkey())
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
    let entry = ConfigEntry {
        region: r.id.clone(),
        custodian: r.custodian.clone(),
        countries,
        log_vkey: ledger.vkey(),
        verifier_keys: witness_keys,
        policy_set_sha256: policy_set_sha256.to_string(),
        status: "active".into(),
    };
    ledger.log.ensure_region_config(&entry).await?;
    Ok(())
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
