//! The split deployment: one service per region, run by its custodian, and
//! stateless edges in front.
//!
//! `sovereel cluster init` writes `cluster.toml` (what every role may know:
//! region ids, plane URLs, public keys, the certificate authority, NATS),
//! one directory per role with that role's secrets (its TLS key; for a
//! region also its keyring and log keys, made there and nowhere else), and
//! `roles.tsv` (each role's exact start command).
//!
//! The wire is mutual TLS (rustls). Every role holds a certificate signed
//! by the cluster's own CA, and `cluster.toml` pins which certificate is
//! which role (by the SHA-256 of its DER), so a region service knows
//! whether it is talking to an edge or to another region without parsing
//! names, and a certificate that the file does not list is refused. Mutual
//! TLS rather than signed requests because the edge forwards users'
//! session tokens: the hop needs confidentiality as well as authentication,
//! and TLS gives both with a well-kept library.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

use crate::config::{ClusterConfig, ClusterRegion, Config};

/// The role behind the client certificate of a request (set by the TLS
/// listener; absent on plain HTTP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer(pub String);

impl Peer {
    /// The region this peer serves, when it is a region service.
    pub fn region(&self) -> Option<&str> {
        self.0.strip_prefix("region:")
    }
    pub fn is_edge(&self) -> bool {
        self.0 == "edge"
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))
}

/// A client that presents this role's certificate and trusts only the
/// cluster's CA.
pub fn client(
    config: &Config,
    c: &ClusterConfig,
    timeout: Duration,
) -> anyhow::Result<reqwest::Client> {
    let mut pem = read(&config.data_dir.join(&c.tls_cert))?;
    pem.extend(read(&config.data_dir.join(&c.tls_key))?);
    let identity = reqwest::Identity::from_pem(&pem)
        .map_err(|e| anyhow::anyhow!("this role's TLS identity: {e}"))?;
    let ca = reqwest::Certificate::from_pem(&read(&c.ca_path())?)
        .map_err(|e| anyhow::anyhow!("the cluster CA: {e}"))?;
    let mut b = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca)
        .identity(identity)
        .connect_timeout(Duration::from_secs(2))
        // Let go of an idle connection before the service would close it
        // (its header-read timeout also ends idle keep-alives), so a
        // request is never sent on a connection being closed.
        .pool_idle_timeout(Duration::from_secs(
            (config.limits.header_read_timeout_secs / 2).clamp(1, 30),
        ))
        // HTTP/1.1 with a keep-alive pool: concurrent requests spread over
        // several connections, and so over the service's cores; one HTTP/2
        // connection would funnel every stream through one connection task.
        .http1_only()
        .redirect(reqwest::redirect::Policy::none());
    if !timeout.is_zero() {
        b = b.timeout(timeout);
    }
    Ok(b.build()?)
}

/// The TLS configuration of a region service: its certificate, and client
/// certificates required, signed by the cluster CA.
pub fn server_tls(config: &Config, c: &ClusterConfig) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(&read(&config.data_dir.join(&c.tls_cert))?)
            .collect::<Result<_, _>>()
            .map_err(|e| anyhow::anyhow!("this role's certificate: {e}"))?;
    let key = PrivateKeyDer::from_pem_slice(&read(&config.data_dir.join(&c.tls_key))?)
        .map_err(|e| anyhow::anyhow!("this role's TLS key: {e}"))?;
    let mut roots = rustls::RootCertStore::empty();
    for ca in CertificateDer::pem_slice_iter(&read(&c.ca_path())?) {
        roots.add(ca.map_err(|e| anyhow::anyhow!("the cluster CA: {e}"))?)?;
    }
    let verifier =
        rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()?;
    let mut sc = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)?;
    sc.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(sc))
}

pub fn fingerprint(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}

/// Serves `router` over mutual TLS until `shutdown`; each request carries
/// the [`Peer`] its client certificate names.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    peers: Arc<BTreeMap<String, String>>,
    router: Router,
    timeouts: crate::connections::Timeouts,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    // The same connection limits as the public listener (header-read and
    // idle timeouts; the handshake gets the header-read time).
    let tls = crate::connections::Tls {
        acceptor: tokio_rustls::TlsAcceptor::from(tls),
        peers,
    };
    crate::connections::serve(listener, router, timeouts, Some(tls), shutdown).await
}

/// What `cluster init` is asked for.
pub struct InitOptions {
    pub out: PathBuf,
    pub regions: Vec<String>,
    pub postgres: Option<String>,
    pub nats: String,
    pub host: String,
    pub base_port: u16,
    pub name: String,
    pub binary: PathBuf,
}

struct Issued {
    cert_pem: String,
    key_pem: String,
    fingerprint: String,
}

fn issue(
    role: &str,
    host: &str,
    ca: &rcgen::Certificate,
    ca_key: &rcgen::KeyPair,
) -> anyhow::Result<Issued> {
    let mut p = rcgen::CertificateParams::new(vec!["localhost".to_string()])?;
    if let Ok(ip) = host.parse::<IpAddr>() {
        p.subject_alt_names.push(rcgen::SanType::IpAddress(ip));
    } else {
        p.subject_alt_names
            .push(rcgen::SanType::DnsName(host.to_string().try_into()?));
    }
    p.subject_alt_names
        .push(rcgen::SanType::IpAddress("127.0.0.1".parse()?));
    p.distinguished_name
        .push(rcgen::DnType::CommonName, role.to_string());
    p.extended_key_usages = vec![
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let key = rcgen::KeyPair::generate()?;
    let cert = p.signed_by(&key, ca, ca_key)?;
    Ok(Issued {
        fingerprint: fingerprint(cert.der()),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

fn write_secret(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d)?;
    }
    std::fs::write(path, data)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// The database of one part of a cluster on the given PostgreSQL server.
fn database_url(base: &str, db: &str) -> String {
    let (head, _) = match base.rsplit_once('/') {
        Some((h, tail)) if h.contains("://") && !h.ends_with('/') => (h.to_string(), tail),
        _ => (base.trim_end_matches('/').to_string(), ""),
    };
    format!("{head}/{db}")
}

/// Writes a cluster: `cluster.toml`, each role's secrets, `roles.tsv`.
pub async fn init(o: &InitOptions) -> anyhow::Result<()> {
    if o.out.join("cluster.toml").exists() {
        anyhow::bail!(
            "{} already holds a cluster; choose another directory",
            o.out.display()
        );
    }
    std::fs::create_dir_all(&o.out)?;
    let mut config = Config::default();
    if !o.regions.is_empty() {
        for r in &o.regions {
            if !config.regions.iter().any(|c| &c.id == r) {
                anyhow::bail!("--regions: no region `{r}` in the default configuration");
            }
        }
        config.regions.retain(|r| o.regions.contains(&r.id));
        if !config.regions.iter().any(|r| r.default) {
            anyhow::bail!("--regions must include the default region (`global`)");
        }
    }
    let db_name = |part: &str| format!("{}_{part}", o.name);
    if let Some(pg) = &o.postgres {
        use sqlx::Connection;
        let mut admin = sqlx::PgConnection::connect(pg)
            .await
            .map_err(|e| anyhow::anyhow!("--postgres {pg}: {e}"))?;
        let mut parts: Vec<String> = config.regions.iter().map(|r| r.id.clone()).collect();
        parts.push("catalog".into());
        for part in parts {
            sqlx::query(&format!("CREATE DATABASE \"{}\"", db_name(&part)))
                .execute(&mut admin)
                .await
                .map_err(|e| anyhow::anyhow!("creating database {}: {e}", db_name(&part)))?;
        }
        config.catalog = Some(database_url(pg, &db_name("catalog")));
        for r in &mut config.regions {
            r.storage = Some(database_url(pg, &db_name(&r.id)));
        }
    } else {
        // SQLite per region, each in its own region's directory; the
        // public catalog in a directory of its own that every role of a
        // single-machine trial shares.
        config.catalog = Some(format!(
            "sqlite://{}",
            o.out.join("catalog").join("catalog.db").display()
        ));
        std::fs::create_dir_all(o.out.join("catalog"))?;
    }

    let ca_key = rcgen::KeyPair::generate()?;
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(
        rcgen::DnType::CommonName,
        format!("Sovereel cluster {} CA", o.name),
    );
    let ca = ca_params.self_signed(&ca_key)?;
    std::fs::write(o.out.join("ca.pem"), ca.pem())?;

    let mut peers = BTreeMap::new();
    let mut regions = BTreeMap::new();
    let mut roles = vec![];
    for (i, r) in config.regions.iter().enumerate() {
        let role = format!("region:{}", r.id);
        let dir = o.out.join(format!("region-{}", r.id));
        let issued = issue(&role, &o.host, &ca, &ca_key)?;
        write_secret(&dir.join("tls/cert.pem"), issued.cert_pem.as_bytes())?;
        write_secret(&dir.join("tls/key.pem"), issued.key_pem.as_bytes())?;
        peers.insert(issued.fingerprint, role.clone());
        // The region's keys are made here, in its own directory, and only
        // their public halves go into the shared file.
        let mut rc = config.clone();
        rc.data_dir = dir.clone();
        let keys = sovereel_ledger::load_or_create_region_keys(
            &crate::transparency::keyring_dir(&rc, &r.id),
            &r.id,
            &crate::transparency::log_origin(r),
            &crate::transparency::witness_name(r),
        )?;
        sovereel_custody::Keyring::open_embedded(
            sovereel_model::RegionId::parse(&r.id)?,
            &crate::transparency::keyring_dir(&rc, &r.id),
        )?;
        let port = o.base_port + 1 + i as u16;
        regions.insert(
            r.id.clone(),
            ClusterRegion {
                url: format!("https://{}:{port}", o.host),
                log_vkey: keys.log.verifier().vkey(),
                witness_vkey: keys.witness.verifier().vkey(),
            },
        );
        roles.push((role.clone(), dir, format!("{}:{port}", o.host)));
    }
    let edge_dir = o.out.join("edge");
    let issued = issue("edge", &o.host, &ca, &ca_key)?;
    write_secret(&edge_dir.join("tls/cert.pem"), issued.cert_pem.as_bytes())?;
    write_secret(&edge_dir.join("tls/key.pem"), issued.key_pem.as_bytes())?;
    peers.insert(issued.fingerprint, "edge".into());
    roles.push((
        "edge".into(),
        edge_dir,
        format!("{}:{}", o.host, o.base_port),
    ));

    config.cluster = Some(ClusterConfig {
        nats: o.nats.clone(),
        stream: format!("SOVEREEL_{}", o.name.to_ascii_uppercase()),
        ca: PathBuf::from("ca.pem"),
        tls_cert: PathBuf::from("tls/cert.pem"),
        tls_key: PathBuf::from("tls/key.pem"),
        base_dir: PathBuf::new(),
        regions,
        peers,
    });
    let toml = toml::to_string_pretty(&config)?;
    std::fs::write(
        o.out.join("cluster.toml"),
        format!(
            "# A Sovereel cluster, written by `sovereel cluster init`: what every role may\n\
             # know. Each role's secrets are in its own directory beside this file.\n\
             # `listen` and `data_dir` are given per role on the command line (roles.tsv).\n{toml}"
        ),
    )?;
    let config_path = o.out.join("cluster.toml");
    let mut tsv = String::new();
    for (role, dir, listen) in &roles {
        tsv.push_str(&format!(
            "{role}\t{} serve --config {} --role {role} --data-dir {} --listen {listen}\n",
            o.binary.display(),
            config_path.display(),
            dir.display(),
        ));
    }
    std::fs::write(o.out.join("roles.tsv"), tsv)?;
    Ok(())
}

/// Removes what `cluster init` made outside its directory: the databases
/// and the JetStream stream.
pub async fn destroy(config: &Config, postgres_admin: Option<&str>) -> anyhow::Result<()> {
    if let Some(c) = &config.cluster
        && let Ok(client) = async_nats::connect(&c.nats).await
    {
        let js = async_nats::jetstream::new(client);
        let _ = js.delete_stream(&c.stream).await;
    }
    if let Some(admin) = postgres_admin {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(admin).await?;
        let mut urls: Vec<String> = config
            .regions
            .iter()
            .filter_map(|r| r.storage.clone())
            .collect();
        urls.extend(config.catalog.clone());
        for url in urls.iter().filter(|u| u.starts_with("postgres")) {
            if let Some(db) = url.rsplit('/').next() {
                let db = db.split('?').next().unwrap_or(db);
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"))
                    .execute(&mut conn)
                    .await;
            }
        }
    }
    Ok(())
}
