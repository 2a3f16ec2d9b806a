//! `sovereel custody …`: the operator's checks on a data directory, run
//! against the files themselves rather than through the application.
//!
//! `scan` reads every region's database directly and checks that each
//! user's protected personal fields are sealed (ciphertext, not plaintext).
//! It then takes, as canaries, what only the user's home may hold (their
//! sealed field values and the captions of their non-public videos), and
//! scans the raw bytes of every other region's files (databases with their
//! WAL, media, keyring, ledger) and of the shared catalog for them.

use sovereel_custody::{Canary, CanaryRule, ScanArea, scan};
use sovereel_model::RegionId;
use sovereel_server::Config;
use sqlx::{Connection, Row};

pub async fn scan_command(cfg: &Config) -> anyhow::Result<bool> {
    let mut canaries = vec![];
    let mut plaintext = vec![];
    let mut skipped = vec![];
    for r in &cfg.regions {
        let url = cfg.region_storage(r);
        if !url.starts_with("sqlite:") {
            skipped.push(r.id.clone());
            continue;
        }
        let path = url
            .trim_start_matches("sqlite://")
            .trim_start_matches("sqlite:");
        if !std::path::Path::new(path).exists() {
            continue;
        }
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{path}?mode=ro")).await?;
        let home = RegionId::parse(&r.id)?;
        for row in sqlx::query("SELECT id, email, birthdate, country FROM users")
            .fetch_all(&mut c)
            .await?
        {
            let id: String = row.get("id");
            for col in ["email", "birthdate", "country"] {
                let v: String = row.get(col);
                if sovereel_custody::is_sealed_field(&v) {
                    canaries.push(Canary {
                        home: home.clone(),
                        text: v,
                        rule: CanaryRule::HomeOnly,
                    });
                } else {
                    plaintext.push(format!(
                        "region {}: users.{col} of user {id} is stored in plaintext",
                        r.id
                    ));
                }
            }
        }
        for row in sqlx::query("SELECT caption FROM videos WHERE visibility <> 'public'")
            .fetch_all(&mut c)
            .await?
        {
            let caption: String = row.get("caption");
            if caption.chars().count() >= 12 {
                canaries.push(Canary {
                    home: home.clone(),
                    text: caption,
                    rule: CanaryRule::HomeOnly,
                });
            }
        }
    }
    let regions: Vec<RegionId> = cfg
        .regions
        .iter()
        .filter_map(|r| RegionId::parse(&r.id).ok())
        .collect();
    let areas = ScanArea::embedded(&cfg.data_dir, &regions);
    let report = tokio::task::spawn_blocking(move || scan(&areas, &canaries)).await??;
    println!(
        "custody scan: {} files, {} bytes read",
        report.files, report.bytes
    );
    for p in &plaintext {
        println!("FINDING {p}");
    }
    for f in &report.findings {
        println!(
            "FINDING {:?}: protected data of a user homed in {} found in {} ({} at byte {})",
            f.violation,
            f.home,
            f.found_in
                .as_ref()
                .map(|r| r.to_string())
                .unwrap_or_else(|| "the shared catalog".into()),
            f.path.display(),
            f.offset
        );
    }
    if !skipped.is_empty() {
        println!(
            "note: regions on PostgreSQL ({}) were checked through their media and keyring files only",
            skipped.join(", ")
        );
    }
    let clean = plaintext.is_empty() && report.is_clean();
    println!(
        "{}",
        if clean {
            "OK: no protected datum outside its home region, none in plaintext where ciphertext is expected"
        } else {
            "FAILED"
        }
    );
    Ok(clean)
}

/// `sovereel keys rotate --region R`: a new key-encryption key; every data
/// key is re-wrapped under it, no data is re-encrypted.
pub fn rotate(cfg: &Config, region: &str) -> anyhow::Result<String> {
    let id = RegionId::parse(region)?;
    if !cfg.regions.iter().any(|r| r.id == region) {
        anyhow::bail!("no region `{region}` in the configuration");
    }
    let keyring = sovereel_custody::Keyring::open_embedded(
        id,
        &sovereel_server::transparency::keyring_dir(cfg, region),
    )?;
    let report = keyring.rotate_kek()?;
    Ok(format!("{report:?}"))
}

/// `sovereel staff create`.
pub async fn create_staff(
    cfg: &Config,
    handle: &str,
    role: &str,
    org: &str,
    region: Option<&str>,
) -> anyhow::Result<String> {
    sovereel_custody::StaffRole::parse(role)
        .map_err(|_| anyhow::anyhow!("role must be operator, moderator or support"))?;
    let handle = sovereel_model::Handle::parse(handle).map_err(|e| anyhow::anyhow!("{e}"))?;
    let region = match org {
        "platform" => cfg
            .regions
            .iter()
            .find(|r| r.default)
            .map(|r| r.id.clone())
            .ok_or_else(|| anyhow::anyhow!("no default region"))?,
        "custodian" => region
            .ok_or_else(|| anyhow::anyhow!("custodian staff need --region"))?
            .to_string(),
        _ => anyhow::bail!("org must be custodian or platform"),
    };
    let r = cfg
        .regions
        .iter()
        .find(|r| r.id == region)
        .ok_or_else(|| anyhow::anyhow!("no region `{region}` in the configuration"))?;
    let store = sovereel_store::open_region(&cfg.region_storage(r)).await?;
    let (password, generated) = match std::env::var("SOVEREEL_STAFF_PASSWORD") {
        Ok(p) if p.chars().count() >= 12 => (p, false),
        Ok(_) => anyhow::bail!("SOVEREEL_STAFF_PASSWORD must be at least 12 characters"),
        Err(_) => {
            let mut b = [0u8; 18];
            getrandom::getrandom(&mut b)?;
            (b.iter().map(|x| format!("{x:02x}")).collect(), true)
        }
    };
    let mut idb = [0u8; 12];
    getrandom::getrandom(&mut idb)?;
    let id = format!(
        "staff-{}",
        idb.iter().map(|x| format!("{x:02x}")).collect::<String>()
    );
    let hash = sovereel_server::auth::hash_password(&password)?;
    store
        .create_staff(&sovereel_store::StaffRecord {
            id: id.clone(),
            handle: handle.as_str().into(),
            org: org.into(),
            role: role.into(),
            password_hash: hash,
            created_at: sovereel_model::now_millis(),
        })
        .await?;
    let mut out = format!(
        "created {org} staff {} ({role}) in region {region}, id {id}",
        handle.as_str()
    );
    if generated {
        out.push_str(&format!("\npassword (shown once): {password}"));
    }
    Ok(out)
}
