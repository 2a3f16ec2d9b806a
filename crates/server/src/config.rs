//! Configuration: a TOML file, overridden by `SOVEREEL_*` environment
//! variables (`SOVEREEL_LISTEN`, `SOVEREEL_DATA_DIR`, and any key as
//! `SOVEREEL_<SECTION>__<KEY>`). With nothing configured the platform runs
//! four regions in one process on SQLite under `./sovereel-data`.
//!
//! Validation happens here, once, so that a bad configuration stops start-up
//! with a message naming the problem instead of failing later.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use sovereel_model::{CountryCode, RegionId};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: String,
    /// Directory holding every embedded database, media file and key.
    pub data_dir: PathBuf,
    /// Storage URL of the public catalog (default: SQLite in the data dir).
    pub catalog: Option<String>,
    pub limits: Limits,
    /// Transcode uploads with ffmpeg when it is on the PATH. With `false`,
    /// browser-playable uploads are served as uploaded even where ffmpeg exists.
    #[serde(default = "yes")]
    pub transcode: bool,
    /// A directory with `schema.cedarschema` and `default.cedar` replacing the
    /// built-in policy set. It is validated strictly at start-up.
    #[serde(default)]
    pub policies: Option<PathBuf>,
    pub regions: Vec<RegionConfig>,
    /// The split deployment: how region services and edges reach each
    /// other (written by `sovereel cluster init`). Absent in the embedded
    /// default.
    #[serde(default)]
    pub cluster: Option<ClusterConfig>,
}

/// What every role of a split deployment may know: where each region's
/// service answers, its public keys, the cluster's certificate authority
/// and NATS. Secrets (TLS keys, region keys) stay in each role's own
/// directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// NATS JetStream, which carries region-bound outbox changes and
    /// catalog notices between region services.
    pub nats: String,
    /// The JetStream stream (and subject prefix) of this cluster.
    pub stream: String,
    /// The cluster's certificate authority (PEM), relative to this file's
    /// directory or absolute.
    pub ca: PathBuf,
    /// This role's certificate and key (PEM), relative to the data dir.
    #[serde(default = "default_tls_cert")]
    pub tls_cert: PathBuf,
    #[serde(default = "default_tls_key")]
    pub tls_key: PathBuf,
    /// The directory `ca` is relative to (set when loading).
    #[serde(default, skip_serializing)]
    pub base_dir: PathBuf,
    /// Each region's service.
    pub regions: BTreeMap<String, ClusterRegion>,
    /// The roles behind each client certificate: SHA-256 of the DER → role
    /// (`edge`, `region:<id>`).
    pub peers: BTreeMap<String, String>,
}

fn default_tls_cert() -> PathBuf {
    PathBuf::from("tls/cert.pem")
}
fn default_tls_key() -> PathBuf {
    PathBuf::from("tls/key.pem")
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterRegion {
    /// `https://host:port` of the region's plane service.
    pub url: String,
    /// The region's log verifier key (`<origin>+<id>+<key>`).
    pub log_vkey: String,
    /// The region's witness verifier key.
    pub witness_vkey: String,
}

impl ClusterConfig {
    pub fn ca_path(&self) -> PathBuf {
        if self.ca.is_absolute() {
            self.ca.clone()
        } else {
            self.base_dir.join(&self.ca)
        }
    }
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest accepted upload, in bytes.
    pub max_upload_bytes: u64,
    /// Longest accepted video, in seconds.
    pub max_duration_secs: u64,
    /// How long a session lasts, in days.
    pub session_days: u64,
    /// Largest JSON request body, in bytes.
    pub max_json_bytes: usize,
    /// Grace period between `DELETE /v1/me` and crypto-shredding, in seconds.
    pub deletion_grace_secs: u64,
    /// How long a data export can be downloaded, in seconds.
    pub export_ttl_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_upload_bytes: 200 * 1024 * 1024,
            max_duration_secs: 180,
            session_days: 30,
            max_json_bytes: 64 * 1024,
            deletion_grace_secs: 30 * 86_400,
            export_ttl_secs: 7 * 86_400,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionConfig {
    pub id: String,
    pub name: String,
    pub custodian: String,
    /// ISO 3166-1 alpha-2 codes. The region listed with `default = true`
    /// also takes every country no region lists.
    #[serde(default)]
    pub countries: Vec<String>,
    #[serde(default)]
    pub default: bool,
    /// `sqlite:<path>` (relative to the data dir) or `postgres://…`.
    pub storage: Option<String>,
    /// `file:<path>` (relative to the data dir), a plain path, or `s3://bucket/prefix`.
    pub media: Option<String>,
    /// `s3://bucket/prefix` for a transparency log in object storage;
    /// default: files under `<data_dir>/regions/<id>/ledger`.
    #[serde(default)]
    pub ledger: Option<String>,
    /// `postgres://…`: the lock backend that compare-and-swaps the
    /// checkpoint of a log in S3 (needed unless the S3 service honours
    /// conditional writes; Garage does not).
    #[serde(default)]
    pub ledger_lock: Option<String>,
    /// The origin line of the region's transparency log checkpoints (and
    /// the name of its signing key). Default `sovereel.localhost/log/<id>`.
    #[serde(default)]
    pub log_origin: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        let region = |id: &str, name: &str, custodian: &str, countries: &[&str], default: bool| {
            RegionConfig {
                id: id.into(),
                name: name.into(),
                custodian: custodian.into(),
                countries: countries.iter().map(|c| c.to_string()).collect(),
                default,
                storage: None,
                media: None,
                ledger: None,
                ledger_lock: None,
                log_origin: None,
            }
        };
        Self {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./sovereel-data"),
            catalog: None,
            limits: Limits::default(),
            transcode: true,
            policies: None,
            cluster: None,
            regions: vec![
                region(
                    "us",
                    "United States",
                    "Lone Star Data Trust",
                    &["US", "PR", "GU", "VI", "AS", "MP", "UM"],
                    false,
                ),
                region(
                    "au",
                    "Australia",
                    "Southern Cross Custody",
                    &["AU", "CX", "CC", "NF", "HM"],
                    false,
                ),
                region(
                    "nz",
                    "New Zealand",
                    "Aotearoa Data Trust",
                    &["NZ", "CK", "NU", "TK"],
                    false,
                ),
                region(
                    "global",
                    "Global",
                    "Sovereel Platform (global custodian)",
                    &[],
                    true,
                ),
            ],
        }
    }
}

/// A configuration problem, named precisely.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Loads defaults, then the TOML file (if any), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(f) = file {
            if !f.exists() {
                return Err(ConfigError(format!(
                    "config file {} does not exist",
                    f.display()
                )));
            }
            fig = fig.merge(Toml::file(f));
        }
        fig = fig.merge(
            // Only the configuration's own keys: other SOVEREEL_* variables
            // (SOVEREEL_LOG, SOVEREEL_STAFF_PASSWORD, test settings) belong
            // to other parts of the program.
            Env::prefixed("SOVEREEL_")
                .filter(|k| {
                    let top = k
                        .as_str()
                        .split("__")
                        .next()
                        .unwrap_or_default()
                        .to_ascii_lowercase();
                    [
                        "listen",
                        "data_dir",
                        "catalog",
                        "limits",
                        "transcode",
                        "policies",
                        "cluster",
                    ]
                    .contains(&top.as_str())
                })
                .split("__")
                .map(|k| k.as_str().to_ascii_lowercase().into()),
        );
        let mut cfg: Config = fig.extract().map_err(|e| ConfigError(e.to_string()))?;
        if let (Some(c), Some(f)) = (cfg.cluster.as_mut(), file) {
            c.base_dir = f.parent().map(Path::to_path_buf).unwrap_or_default();
        }
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks every rule a running platform relies on.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.regions.is_empty() {
            return Err(ConfigError("at least one region must be configured".into()));
        }
        let mut ids = BTreeMap::new();
        let mut owner: BTreeMap<&str, &str> = BTreeMap::new();
        for r in &self.regions {
            RegionId::parse(&r.id)
                .map_err(|e| ConfigError(format!("region `{}`: {}", r.id, e.message)))?;
            if ids.insert(r.id.as_str(), ()).is_some() {
                return Err(ConfigError(format!("region `{}` is defined twice", r.id)));
            }
            if r.custodian.trim().is_empty() || r.name.trim().is_empty() {
                return Err(ConfigError(format!(
                    "region `{}` needs a name and a custodian",
                    r.id
                )));
            }
            for c in &r.countries {
                let code = CountryCode::parse(c).map_err(|_| {
                    ConfigError(format!(
                        "region `{}`: `{c}` is not an ISO 3166-1 alpha-2 country code",
                        r.id
                    ))
                })?;
                if let Some(prev) = owner.insert(code.as_str(), r.id.as_str()) {
                    return Err(ConfigError(format!(
                        "country {} is in two regions: `{prev}` and `{}`",
                        code, r.id
                    )));
                }
            }
            let storage = self.region_storage(r);
            sovereel_store::Backend::of_url(&storage)
                .map_err(|e| ConfigError(format!("region `{}` storage: {e}", r.id)))?;
            let media = self.region_media(r);
            if !(media.starts_with("file:")
                || media.starts_with("s3://")
                || media.starts_with('/')
                || media.starts_with('.'))
            {
                let scheme = media.split(':').next().unwrap_or("");
                return Err(ConfigError(format!(
                    "region `{}` media: unknown scheme `{scheme}:` (expected file: or s3://)",
                    r.id
                )));
            }
            if let Some(l) = &r.ledger
                && !l
                    .strip_prefix("s3://")
                    .is_some_and(|b| !b.is_empty() && !b.starts_with('/'))
            {
                return Err(ConfigError(format!(
                    "region `{}` ledger: expected s3://bucket/prefix (leave it out for local files), got `{l}`",
                    r.id
                )));
            }
            match (&r.ledger, &r.ledger_lock) {
                (_, Some(l))
                    if !(l.starts_with("postgres://") || l.starts_with("postgresql://")) =>
                {
                    return Err(ConfigError(format!(
                        "region `{}` ledger_lock: expected a postgres:// URL",
                        r.id
                    )));
                }
                (None, Some(_)) => {
                    return Err(ConfigError(format!(
                        "region `{}` ledger_lock is set but the ledger is in local files (set ledger = \"s3://…\")",
                        r.id
                    )));
                }
                _ => {}
            }
        }
        let defaults = self.regions.iter().filter(|r| r.default).count();
        if defaults != 1 {
            return Err(ConfigError(format!(
                "exactly one region must be `default = true` (to take unlisted countries); found {defaults}"
            )));
        }
        sovereel_store::Backend::of_url(&self.catalog_storage())
            .map_err(|e| ConfigError(format!("catalog storage: {e}")))?;
        if self.limits.max_upload_bytes < 1024 || self.limits.max_duration_secs == 0 {
            return Err(ConfigError(
                "limits: max_upload_bytes must be ≥ 1024 and max_duration_secs ≥ 1".into(),
            ));
        }
        Ok(())
    }

    fn resolve(&self, url: &str, scheme: &str) -> String {
        match url.strip_prefix(scheme) {
            Some(rest) if !rest.starts_with("//") && !rest.starts_with('/') => {
                format!("{scheme}//{}", self.data_dir.join(rest).display())
            }
            _ => url.to_string(),
        }
    }

    pub fn region_storage(&self, r: &RegionConfig) -> String {
        match &r.storage {
            Some(s) => self.resolve(s, "sqlite:"),
            None => format!(
                "sqlite://{}",
                self.data_dir
                    .join("regions")
                    .join(&r.id)
                    .join("store.db")
                    .display()
            ),
        }
    }

    pub fn region_media(&self, r: &RegionConfig) -> String {
        match &r.media {
            Some(s) if s.starts_with("file:") => self.resolve(s, "file:"),
            Some(s) if !s.contains("://") && !s.starts_with('/') => {
                self.data_dir.join(s).display().to_string()
            }
            Some(s) => s.clone(),
            None => self
                .data_dir
                .join("regions")
                .join(&r.id)
                .join("media")
                .display()
                .to_string(),
        }
    }

    pub fn catalog_storage(&self) -> String {
        match &self.catalog {
            Some(s) => self.resolve(s, "sqlite:"),
            None => format!(
                "sqlite://{}",
                self.data_dir.join("catalog").join("catalog.db").display()
            ),
        }
    }
}

/// The commented example `sovereel config example` prints.
pub const EXAMPLE: &str = r#"# Sovereel configuration. Every key is optional: with no file at all the
# platform runs four regions in one process on SQLite under ./sovereel-data.
# Any key can be overridden from the environment as SOVEREEL_<KEY> (top level)
# or SOVEREEL_<SECTION>__<KEY>, e.g. SOVEREEL_LIMITS__MAX_UPLOAD_BYTES=1000000.

# Address to listen on (SOVEREEL_LISTEN).
listen = "127.0.0.1:8080"
# Where embedded databases, media and keys live (SOVEREEL_DATA_DIR).
data_dir = "./sovereel-data"
# The global public catalog: public profiles, public videos, counters.
# catalog = "postgres://sovereel@db.example.internal/sovereel_catalog"

# Transcode uploads with ffmpeg when it is on the PATH (false: serve
# browser-playable uploads as uploaded).
transcode = true
# A directory holding schema.cedarschema and default.cedar to replace the
# built-in Cedar policy set (validated strictly at start-up).
# policies = "./policies"

[limits]
max_upload_bytes = 209715200   # 200 MB
max_duration_secs = 180        # 3 minutes
session_days = 30
max_json_bytes = 65536
deletion_grace_secs = 2592000  # 30 days between DELETE /v1/me and crypto-shredding
export_ttl_secs = 604800       # exports can be downloaded for 7 days

# One [[regions]] table per jurisdiction. Every country belongs to exactly
# one region; the region with default = true takes every unlisted country.
# storage: "sqlite:<path relative to data_dir>" or "postgres://…"
# media:   "file:<path relative to data_dir>", an absolute path, or "s3://bucket/prefix"
#          (S3 credentials come from the usual AWS_* environment variables).
# ledger:  "s3://bucket/prefix" for the transparency log in object storage
#          (default: files under data_dir), with ledger_lock = "postgres://…",
#          where its checkpoint is compare-and-swapped.

[[regions]]
id = "us"
name = "United States"
custodian = "Lone Star Data Trust"
countries = ["US", "PR", "GU", "VI", "AS", "MP", "UM"]
# storage = "postgres://sovereel@us-db.example.internal/sovereel_us"
# media = "s3://sovereel-us-media/videos"
# ledger = "s3://sovereel-us-ledger/log"
# ledger_lock = "postgres://sovereel@us-db.example.internal/sovereel_us"

[[regions]]
id = "au"
name = "Australia"
custodian = "Southern Cross Custody"
countries = ["AU", "CX", "CC", "NF", "HM"]

[[regions]]
id = "nz"
name = "New Zealand"
custodian = "Aotearoa Data Trust"
countries = ["NZ", "CK", "NU", "TK"]

[[regions]]
id = "global"
name = "Global"
custodian = "Sovereel Platform (global custodian)"
default = true
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_example_parses() {
        Config::default().validate().unwrap();
        let cfg: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::string(EXAMPLE))
            .extract()
            .unwrap();
        cfg.validate().unwrap();
        assert_eq!(cfg.regions.len(), 4);
    }

    #[test]
    fn a_country_in_two_regions_is_named() {
        let mut cfg = Config::default();
        cfg.regions[1].countries.push("US".into());
        let e = cfg.validate().unwrap_err().to_string();
        assert!(e.contains("country US is in two regions"), "{e}");
    }

    #[test]
    fn unknown_storage_scheme_is_named() {
        let mut cfg = Config::default();
        cfg.regions[0].storage = Some("mysql://x/y".into());
        let e = cfg.validate().unwrap_err().to_string();
        assert!(
            e.contains("region `us` storage") && e.contains("mysql"),
            "{e}"
        );
        let mut cfg = Config::default();
        cfg.regions[2].media = Some("ftp://x".into());
        assert!(cfg.validate().unwrap_err().to_string().contains("`ftp:`"));
    }
}
