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
    /// How the HTTP listener meets the outside: TLS in front, trusted
    /// proxies, a separate metrics address.
    #[serde(default)]
    pub http: HttpConfig,
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
    /// How lifecycle operations (hand-over, wind-down) are carried out.
    #[serde(default)]
    pub lifecycle: LifecycleConfig,
}

/// `[lifecycle]`: the pace of a hand-over's key re-wrap.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LifecycleConfig {
    /// Data keys re-wrapped per batch during a hand-over (each batch holds
    /// the key files' lock for its own files only).
    pub rewrap_batch: usize,
    /// A pause between re-wrap batches, in milliseconds, to bound the I/O
    /// a hand-over takes from a region that keeps serving.
    pub rewrap_pause_ms: u64,
}

impl Default for LifecycleConfig {
    fn default() -> Self {
        LifecycleConfig {
            rewrap_batch: 500,
            rewrap_pause_ms: 0,
        }
    }
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
    /// Longest accepted request target (path and query), in bytes.
    pub max_uri_bytes: usize,
    /// Seconds a client has to send a request's headers, counted from when
    /// the connection is ready for the next request (so it also closes idle
    /// HTTP/1.1 keep-alive connections).
    pub header_read_timeout_secs: u64,
    /// Seconds a connection may stay open with no request in flight.
    pub idle_timeout_secs: u64,
    /// Request rate limits (`limits.rs`).
    pub rates: Rates,
}

/// A rate limit: at most `count` requests per `per`, refilled evenly (a
/// burst of `count` is allowed, then one every `per / count`), or off.
/// Written `"<count>/<window>"`, e.g. `"20/h"`, `"3/2s"`, `"10/min"`, or
/// `"off"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Rate(pub Option<(u32, std::time::Duration)>);

impl Rate {
    pub fn parse(s: &str) -> Result<Rate, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("off") {
            return Ok(Rate(None));
        }
        let bad = || {
            format!(
                "`{s}` is not a rate (write \"<count>/<window>\", e.g. \"20/h\", \"3/2s\", or \"off\")"
            )
        };
        let (count, window) = s.split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        let window = window.trim();
        let digits = window.len()
            - window
                .trim_start_matches(|c: char| c.is_ascii_digit())
                .len();
        let n: u64 = if digits == 0 {
            1
        } else {
            window[..digits].parse().map_err(|_| bad())?
        };
        let unit = match &window[digits..] {
            "s" => 1,
            "min" | "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return Err(bad()),
        };
        if count == 0 || n == 0 {
            return Err(format!(
                "`{s}`: count and window must be at least 1 (or write \"off\")"
            ));
        }
        Ok(Rate(Some((
            count,
            std::time::Duration::from_secs(n * unit),
        ))))
    }
}

impl TryFrom<String> for Rate {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Rate::parse(&s)
    }
}

impl From<Rate> for String {
    fn from(r: Rate) -> String {
        match r.0 {
            None => "off".into(),
            Some((n, per)) => {
                let s = per.as_secs();
                match s {
                    86_400 => format!("{n}/d"),
                    3600 => format!("{n}/h"),
                    60 => format!("{n}/min"),
                    _ if s % 86_400 == 0 => format!("{n}/{}d", s / 86_400),
                    _ if s % 3600 == 0 => format!("{n}/{}h", s / 3600),
                    _ => format!("{n}/{s}s"),
                }
            }
        }
    }
}

fn rate(s: &str) -> Rate {
    Rate::parse(s).expect("built-in rates parse")
}

/// `[limits.rates]`: per client address and per account. Past a limit the
/// answer is 429 `/problems/rate-limited` with `Retry-After`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rates {
    /// `false` switches every rate limit off (load tests, benchmarks); the
    /// server logs a warning at start-up then.
    pub enabled: bool,
    pub signup_per_address: Rate,
    pub login_per_address: Rate,
    /// Log-in attempts per handle (whether or not it exists).
    pub login_per_account: Rate,
    /// Failed log-ins for one handle before each further attempt waits.
    pub login_free_failures: u32,
    /// The first wait after them, in seconds; it doubles with each
    /// further failure, up to `login_max_delay_secs`.
    pub login_base_delay_secs: u64,
    pub login_max_delay_secs: u64,
    /// A handle's failures are forgotten after this long without one.
    pub login_failure_memory_secs: u64,
    pub upload_per_account: Rate,
    pub upload_per_address: Rate,
    pub comment_per_account: Rate,
    pub comment_per_address: Rate,
    pub report_per_account: Rate,
    pub report_per_address: Rate,
    pub export_per_address: Rate,
    /// Data exports one account may request per 24 hours (one at a time).
    pub exports_per_day: u32,
    pub events_per_account: Rate,
    pub events_per_address: Rate,
    /// Likes, shares, follows, blocks and follow-request answers.
    pub social_per_account: Rate,
    pub social_per_address: Rate,
}

impl Default for Rates {
    fn default() -> Self {
        Self {
            enabled: true,
            signup_per_address: rate("20/h"),
            login_per_address: rate("60/min"),
            login_per_account: rate("20/min"),
            login_free_failures: 5,
            login_base_delay_secs: 1,
            login_max_delay_secs: 900,
            login_failure_memory_secs: 3600,
            upload_per_account: rate("30/h"),
            upload_per_address: rate("60/h"),
            comment_per_account: rate("20/min"),
            comment_per_address: rate("60/min"),
            report_per_account: rate("20/h"),
            report_per_address: rate("60/h"),
            export_per_address: rate("10/h"),
            exports_per_day: 5,
            events_per_account: rate("120/min"),
            events_per_address: rate("600/min"),
            social_per_account: rate("120/min"),
            social_per_address: rate("600/min"),
        }
    }
}

/// `[http]`: what sits in front of the listener.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Clients reach this server over HTTPS (TLS ends at a proxy in front):
    /// session cookies get `Secure`.
    pub behind_tls: bool,
    /// Proxies (IP addresses or CIDR ranges) whose `X-Forwarded-For` and
    /// `X-Forwarded-Proto` are believed. Empty: the peer address is the
    /// client's.
    pub trusted_proxies: Vec<String>,
    /// The site's public origin (`https://video.example`). When set, a
    /// cookie-authenticated unsafe request must come from exactly this
    /// origin; otherwise from the host the request was sent to.
    pub public_origin: Option<String>,
    /// Serve `/metrics` on this address only (and not on `listen`).
    pub metrics_listen: Option<String>,
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
            max_uri_bytes: 8 * 1024,
            header_read_timeout_secs: 10,
            idle_timeout_secs: 60,
            rates: Rates::default(),
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
    /// Once this region is wound down, sign-ups from its countries go to
    /// this region instead; without one they are refused.
    #[serde(default)]
    pub successor: Option<String>,
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
                successor: None,
            }
        };
        Self {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./sovereel-data"),
            catalog: None,
            limits: Limits::default(),
            http: HttpConfig::default(),
            transcode: true,
            policies: None,
            cluster: None,
            lifecycle: LifecycleConfig::default(),
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
                        "http",
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
        for r in &self.regions {
            if let Some(s) = &r.successor
                && (s == &r.id || !self.regions.iter().any(|o| &o.id == s))
            {
                return Err(ConfigError(format!(
                    "region `{}` successor: `{s}` is not another configured region",
                    r.id
                )));
            }
        }
        if self.lifecycle.rewrap_batch == 0 {
            return Err(ConfigError("lifecycle: rewrap_batch must be ≥ 1".into()));
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
        if self.limits.header_read_timeout_secs == 0 || self.limits.idle_timeout_secs == 0 {
            return Err(ConfigError(
                "limits: header_read_timeout_secs and idle_timeout_secs must be ≥ 1".into(),
            ));
        }
        if self.limits.max_uri_bytes < 256 {
            return Err(ConfigError("limits: max_uri_bytes must be ≥ 256".into()));
        }
        for p in &self.http.trusted_proxies {
            crate::security::parse_net(p).ok_or_else(|| {
                ConfigError(format!(
                    "http.trusted_proxies: `{p}` is not an IP address or CIDR range"
                ))
            })?;
        }
        if let Some(o) = &self.http.public_origin
            && crate::security::authority_of(o).is_none()
        {
            return Err(ConfigError(format!(
                "http.public_origin: `{o}` is not an origin like https://video.example"
            )));
        }
        Ok(())
    }

    /// The data dir as an absolute path (a relative one is taken from the
    /// working directory), so that the URLs and paths made from it are
    /// unambiguous: `--data-dir demo-data` gives `sqlite:///…/demo-data/…`.
    fn base(&self) -> PathBuf {
        std::path::absolute(&self.data_dir).unwrap_or_else(|_| self.data_dir.clone())
    }

    fn resolve(&self, url: &str, scheme: &str) -> String {
        match url.strip_prefix(scheme) {
            Some(rest) if !rest.starts_with("//") && !rest.starts_with('/') => {
                format!("{scheme}//{}", self.base().join(rest).display())
            }
            _ => url.to_string(),
        }
    }

    pub fn region_storage(&self, r: &RegionConfig) -> String {
        match &r.storage {
            Some(s) => self.resolve(s, "sqlite:"),
            None => format!(
                "sqlite://{}",
                self.base()
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
                self.base().join(s).display().to_string()
            }
            Some(s) => s.clone(),
            None => self
                .base()
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
                self.base().join("catalog").join("catalog.db").display()
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
max_uri_bytes = 8192           # longest path and query (414 past it)
header_read_timeout_secs = 10  # to send a request's headers (also ends idle keep-alives)
idle_timeout_secs = 60         # a connection with no request in flight is closed

# Rate limits, per client address and per account: "<count>/<window>"
# (a burst of <count>, refilled evenly over <window>: s, min, h, d, e.g.
# "3/2s"), or "off". Past one: 429 /problems/rate-limited with Retry-After.
[limits.rates]
enabled = true                 # false switches every limit off (warned at start-up)
signup_per_address = "20/h"
login_per_address = "60/min"
login_per_account = "20/min"   # per handle, known or not
login_free_failures = 5        # then each attempt waits 1 s, 2 s, 4 s, …
login_base_delay_secs = 1
login_max_delay_secs = 900     # … up to this (never a permanent lock-out);
login_failure_memory_secs = 3600  # failures are forgotten after this long
upload_per_account = "30/h"
upload_per_address = "60/h"
comment_per_account = "20/min"
comment_per_address = "60/min"
report_per_account = "20/h"
report_per_address = "60/h"
export_per_address = "10/h"
exports_per_day = 5            # per account, and one at a time
events_per_account = "120/min"
events_per_address = "600/min"
social_per_account = "120/min" # likes, shares, follows, blocks
social_per_address = "600/min"

[http]
behind_tls = false             # true: clients use HTTPS via a proxy; cookies get Secure
trusted_proxies = []           # e.g. ["10.0.0.0/8"]: believe their X-Forwarded-For/-Proto
# public_origin = "https://video.example"  # cookie-authenticated writes must come from it
# metrics_listen = "127.0.0.1:9100"        # /metrics only there

# Hand-overs re-wrap every data key under the incoming custodian's KEK in
# batches; a pause between batches bounds the I/O taken from a live region.
[lifecycle]
rewrap_batch = 500
rewrap_pause_ms = 0

# One [[regions]] table per jurisdiction. Every country belongs to exactly
# one region; the region with default = true takes every unlisted country.
# storage: "sqlite:<path relative to data_dir>" or "postgres://…"
# media:   "file:<path relative to data_dir>", an absolute path, or "s3://bucket/prefix"
#          (S3 credentials come from the usual AWS_* environment variables).
# ledger:  "s3://bucket/prefix" for the transparency log in object storage
#          (default: files under data_dir), with ledger_lock = "postgres://…",
#          where its checkpoint is compare-and-swapped.
# successor: once the region is wound down, sign-ups from its countries go
#          to this region (without one they are refused, 410 /problems/region-closed).

[[regions]]
id = "us"
name = "United States"
custodian = "Lone Star Data Trust"
countries = ["US", "PR", "GU", "VI", "AS", "MP", "UM"]
# storage = "postgres://sovereel@us-db.example.internal/sovereel_us"
# media = "s3://sovereel-us-media/videos"
# ledger = "s3://sovereel-us-ledger/log"
# ledger_lock = "postgres://sovereel@us-db.example.internal/sovereel_us"
# successor = "global"

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
    fn rates_parse_and_print() {
        assert_eq!(Rate::parse("20/h").unwrap().0.unwrap().0, 20);
        assert_eq!(
            Rate::parse("3/2s").unwrap().0.unwrap().1,
            std::time::Duration::from_secs(2)
        );
        assert_eq!(Rate::parse("off").unwrap().0, None);
        for bad in ["", "20", "0/h", "5/0s", "5/fortnight", "x/h"] {
            assert!(Rate::parse(bad).is_err(), "{bad}");
        }
        for s in ["20/h", "3/2s", "10/min", "5/d", "off", "7/3h"] {
            assert_eq!(String::from(Rate::parse(s).unwrap()), s);
        }
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
