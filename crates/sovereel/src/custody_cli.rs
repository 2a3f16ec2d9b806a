//! `sovereel custody …`: the operator's checks on a deployment, run against
//! what is stored rather than through the application.
//!
//! `scan` reads every region's database directly and checks that each
//! user's protected personal fields are sealed (ciphertext, not plaintext).
//! It then takes, as canaries, what only the user's home may hold (their
//! sealed field values and the captions of their non-public videos), and
//! looks for them, with one matcher, in the raw bytes of:
//! * every file under the data directory (databases with their WAL, media,
//!   keyring, ledger; the shared catalog and pending uploads), and the
//!   SQLite databases and media directories configured outside it;
//! * every row of every PostgreSQL region database (and of a PostgreSQL
//!   catalog), each column's values read as text (`bytea` as its bytes);
//! * every object of every bucket a region keeps its media or its log in,
//!   listed and read in full, streamed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use futures::TryStreamExt;
use sovereel_custody::{Canary, CanaryRule, Finding, Matcher, ScanArea, scan};
use sovereel_media::{ListedObject, MediaStore, StoreError};
use sovereel_model::RegionId;
use sovereel_server::Config;
use sovereel_server::config::RegionConfig;
use sqlx::{Connection, Row};

/// Objects of a bucket read at once. Many, because a scan of small objects
/// is bound by latency: Garage 2.5 answers a GET on a reused keep-alive
/// connection about 40 ms late (2.5 ms on a new connection, curl alike),
/// the mark of Nagle's algorithm meeting delayed ACKs.
const OBJECTS_IN_FLIGHT: usize = 32;

pub async fn scan_command(cfg: &Config) -> anyhow::Result<bool> {
    let started = Instant::now();
    let regions: Vec<(RegionId, &RegionConfig)> = cfg
        .regions
        .iter()
        .map(|r| Ok((RegionId::parse(&r.id)?, r)))
        .collect::<anyhow::Result<_>>()?;

    // The canaries, read from each region's own database.
    let mut canaries = vec![];
    let mut plaintext = vec![];
    let mut databases: Vec<(Option<RegionId>, String)> = vec![];
    for (home, r) in &regions {
        let url = cfg.region_storage(r);
        let Some(mut db) = RegionDb::open(&url).await? else {
            continue;
        };
        db.read_canaries(home, &mut canaries, &mut plaintext)
            .await
            .with_context(|| format!("reading region {home}'s database"))?;
        if matches!(db, RegionDb::Postgres(_)) {
            databases.push((Some(home.clone()), url));
        }
    }
    let catalog = cfg.catalog_storage();
    if is_postgres(&catalog) {
        databases.push((None, catalog));
    }

    // Files.
    let areas = file_areas(cfg, &regions);
    let file_canaries = canaries.clone();
    let files = tokio::task::spawn_blocking(move || scan(&areas, &file_canaries)).await??;
    println!(
        "custody scan: {} files, {} bytes read under {}",
        files.files,
        files.bytes,
        cfg.data_dir.display()
    );
    let mut findings = files.findings;
    let matcher = Matcher::new(&canaries);

    // PostgreSQL databases, row by row.
    for (found_in, url) in &databases {
        let (read, found) = scan_postgres(url, &matcher, found_in.as_ref()).await?;
        println!(
            "{}: {} tables, {} rows, {} bytes read in {}",
            owner_name(found_in.as_ref(), "catalog"),
            read.tables,
            read.rows,
            read.bytes,
            without_secret(url)
        );
        findings.extend(found);
    }

    // Object storage, object by object.
    for (bucket, places) in buckets(cfg, &regions) {
        let (read, found) = scan_bucket(&bucket, &places, &matcher).await?;
        for (owner, tally) in &read {
            println!(
                "{}: {} objects, {} bytes read in s3://{bucket}",
                owner_name(owner.as_ref(), "shared (outside every region's prefix)"),
                tally.objects,
                tally.bytes
            );
        }
        findings.extend(found);
    }

    for p in &plaintext {
        println!("FINDING {p}");
    }
    for f in &findings {
        println!(
            "FINDING {:?}: protected data of a user homed in {} found in {} ({} at byte {})",
            f.violation,
            f.home,
            f.found_in
                .as_ref()
                .map(|r| r.to_string())
                .unwrap_or_else(|| "the shared catalog".into()),
            f.location,
            f.offset
        );
    }
    println!(
        "custody scan took {:.2} s for {} canaries",
        started.elapsed().as_secs_f64(),
        matcher.canaries().len()
    );
    let clean = plaintext.is_empty() && findings.is_empty();
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

fn owner_name(region: Option<&RegionId>, otherwise: &str) -> String {
    match region {
        Some(r) => format!("region {r}"),
        None => otherwise.to_string(),
    }
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// A database URL fit to print: the server and database, never a password.
fn without_secret(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_password(None);
            u.set_query(None);
            u.to_string()
        }
        Err(_) => "a database URL that does not parse".into(),
    }
}

/// The path of a `sqlite:` storage URL.
fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    Some(rest.split('?').next().unwrap_or(rest))
}

/// A region's database, opened to read its canaries.
enum RegionDb {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

const USERS: &str = "SELECT id, email, birthdate, country FROM users";
const PRIVATE_CAPTIONS: &str = "SELECT caption FROM videos WHERE visibility <> 'public'";

impl RegionDb {
    /// `None` for a SQLite database not created yet (nothing to scan).
    async fn open(url: &str) -> anyhow::Result<Option<RegionDb>> {
        if let Some(path) = sqlite_path(url) {
            if !Path::new(path).exists() {
                return Ok(None);
            }
            let c = sqlx::SqliteConnection::connect(&format!("sqlite://{path}?mode=ro")).await?;
            return Ok(Some(RegionDb::Sqlite(c)));
        }
        if is_postgres(url) {
            return Ok(Some(RegionDb::Postgres(connect_postgres(url).await?)));
        }
        anyhow::bail!("unknown storage URL scheme in {}", without_secret(url))
    }

    /// Appends the region's canaries, and a line for every protected field
    /// found in plaintext.
    async fn read_canaries(
        &mut self,
        home: &RegionId,
        canaries: &mut Vec<Canary>,
        plaintext: &mut Vec<String>,
    ) -> anyhow::Result<()> {
        type User = (String, String, String, String);
        let (users, captions): (Vec<User>, Vec<(String,)>) = match self {
            RegionDb::Sqlite(c) => (
                sqlx::query_as(USERS).fetch_all(&mut *c).await?,
                sqlx::query_as(PRIVATE_CAPTIONS).fetch_all(&mut *c).await?,
            ),
            RegionDb::Postgres(c) => (
                sqlx::query_as(USERS).fetch_all(&mut *c).await?,
                sqlx::query_as(PRIVATE_CAPTIONS).fetch_all(&mut *c).await?,
            ),
        };
        for (id, email, birthdate, country) in users {
            for (col, v) in [
                ("email", email),
                ("birthdate", birthdate),
                ("country", country),
            ] {
                if sovereel_custody::is_sealed_field(&v) {
                    canaries.push(Canary {
                        home: home.clone(),
                        text: v,
                        rule: CanaryRule::HomeOnly,
                    });
                } else {
                    plaintext.push(format!(
                        "region {home}: users.{col} of user {id} is stored in plaintext"
                    ));
                }
            }
        }
        for (caption,) in captions {
            if caption.chars().count() >= 12 {
                canaries.push(Canary {
                    home: home.clone(),
                    text: caption,
                    rule: CanaryRule::HomeOnly,
                });
            }
        }
        Ok(())
    }
}

/// A read-only session: the scan never writes.
async fn connect_postgres(url: &str) -> anyhow::Result<sqlx::PgConnection> {
    let mut c = sqlx::PgConnection::connect(url)
        .await
        .with_context(|| format!("cannot connect to {}", without_secret(url)))?;
    sqlx::query("SET default_transaction_read_only = on")
        .execute(&mut c)
        .await?;
    Ok(c)
}

/// The files of each region and of the shared area: the embedded layout
/// under the data directory, plus a region's SQLite database (with its WAL
/// and journal) and local media directory where configured elsewhere.
fn file_areas(cfg: &Config, regions: &[(RegionId, &RegionConfig)]) -> Vec<ScanArea> {
    let ids: Vec<RegionId> = regions.iter().map(|(id, _)| id.clone()).collect();
    let mut areas = ScanArea::embedded(&cfg.data_dir, &ids);
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let covered: Vec<PathBuf> = areas
        .iter()
        .flat_map(|a| a.roots.iter().map(|r| absolute(r)))
        .collect();
    for (area, (_, r)) in areas.iter_mut().zip(regions) {
        let mut extra = vec![];
        if let Some(db) = sqlite_path(&cfg.region_storage(r)) {
            for suffix in ["", "-wal", "-journal", "-shm"] {
                extra.push(PathBuf::from(format!("{db}{suffix}")));
            }
        }
        let media = cfg.region_media(r);
        if !media.contains("://") {
            extra.push(PathBuf::from(media));
        } else if let Some(dir) = media.strip_prefix("file://") {
            extra.push(PathBuf::from(dir));
        }
        for p in extra {
            let abs = absolute(&p);
            if !covered.iter().any(|root| abs.starts_with(root)) {
                area.roots.push(p);
            }
        }
    }
    areas
}

#[derive(Default)]
struct DbRead {
    tables: u64,
    rows: u64,
    bytes: u64,
}

/// Every value of every column of every table, fed column by column to
/// the matcher (values separated by a NUL byte, so no sighting spans two).
async fn scan_postgres(
    url: &str,
    matcher: &Matcher,
    found_in: Option<&RegionId>,
) -> anyhow::Result<(DbRead, Vec<Finding>)> {
    let mut c = connect_postgres(url).await?;
    let columns: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT c.table_schema::text, c.table_name::text, c.column_name::text, c.data_type::text \
         FROM information_schema.columns c \
         JOIN information_schema.tables t \
           ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
         WHERE t.table_type = 'BASE TABLE' \
           AND c.table_schema NOT IN ('pg_catalog', 'information_schema') \
         ORDER BY 1, 2, c.ordinal_position",
    )
    .fetch_all(&mut c)
    .await?;
    let mut tables: BTreeMap<(String, String), Vec<(String, bool)>> = BTreeMap::new();
    for (schema, table, column, ty) in columns {
        tables
            .entry((schema, table))
            .or_default()
            .push((column, ty == "bytea"));
    }
    let quote = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
    let db = without_secret(url);
    let mut read = DbRead::default();
    let mut findings = vec![];
    for ((schema, table), columns) in &tables {
        let select: Vec<String> = columns
            .iter()
            .map(|(name, bytea)| {
                if *bytea {
                    quote(name)
                } else {
                    format!("{}::text", quote(name))
                }
            })
            .collect();
        let sql = format!(
            "SELECT {} FROM {}.{}",
            select.join(", "),
            quote(schema),
            quote(table)
        );
        let mut streams: Vec<_> = columns.iter().map(|_| matcher.stream()).collect();
        let mut rows = sqlx::query(&sql).fetch(&mut c);
        while let Some(row) = rows.try_next().await? {
            for (i, (_, bytea)) in columns.iter().enumerate() {
                if *bytea {
                    if let Some(v) = row.try_get::<Option<Vec<u8>>, _>(i)? {
                        streams[i].feed(&v);
                        read.bytes += v.len() as u64;
                    }
                } else if let Some(v) = row.try_get::<Option<String>, _>(i)? {
                    streams[i].feed(v.as_bytes());
                    read.bytes += v.len() as u64;
                }
                streams[i].feed(&[0]);
            }
            read.rows += 1;
        }
        drop(rows);
        read.tables += 1;
        for (stream, (column, _)) in streams.iter().zip(columns) {
            let at = format!("{db} table {schema}.{table} column {column}");
            findings.extend(stream.findings(found_in, &at));
        }
    }
    Ok((read, findings))
}

/// Where a region keeps something in a bucket.
struct Placed {
    region: RegionId,
    /// The key prefix (no slashes around it; empty for the whole bucket).
    prefix: String,
}

/// The buckets regions keep media (`media = "s3://…"`) or logs
/// (`ledger = "s3://…"`) in, each with what is placed in it.
fn buckets(cfg: &Config, regions: &[(RegionId, &RegionConfig)]) -> BTreeMap<String, Vec<Placed>> {
    let mut out: BTreeMap<String, Vec<Placed>> = BTreeMap::new();
    for (id, r) in regions {
        let media = cfg.region_media(r);
        for url in [Some(media.as_str()), r.ledger.as_deref()]
            .into_iter()
            .flatten()
        {
            let Some(rest) = url.strip_prefix("s3://") else {
                continue;
            };
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            out.entry(bucket.to_string()).or_default().push(Placed {
                region: id.clone(),
                prefix: prefix.trim_matches('/').to_string(),
            });
        }
    }
    out
}

/// The region an object of a bucket belongs to: the one whose configured
/// prefix holds its key (the longest, if several); for a key under no
/// prefix, the bucket's only region. `None` when regions share it: then
/// nothing protected may be there at all.
fn owner(places: &[Placed], key: &str) -> Option<RegionId> {
    let holds = |p: &Placed| {
        p.prefix.is_empty()
            || key
                .strip_prefix(p.prefix.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
    };
    let longest = places
        .iter()
        .filter(|p| holds(p))
        .map(|p| p.prefix.len())
        .max();
    let mut candidates = places
        .iter()
        .filter(|p| longest.is_none_or(|n| holds(p) && p.prefix.len() == n))
        .map(|p| &p.region);
    let first = candidates.next()?;
    candidates.all(|r| r == first).then(|| first.clone())
}

#[derive(Default)]
struct Tally {
    objects: u64,
    bytes: u64,
}

/// Lists every object of `bucket` and reads each in full, a few at a time,
/// feeding its bytes to the matcher as they arrive.
async fn scan_bucket(
    bucket: &str,
    places: &[Placed],
    matcher: &Matcher,
) -> anyhow::Result<(BTreeMap<Option<RegionId>, Tally>, Vec<Finding>)> {
    let store = MediaStore::from_url(&format!("s3://{bucket}"))?;
    store.check().await?;
    let store = &store;
    let mut scans = store
        .list()
        .map_err(|e| anyhow::Error::new(e).context(format!("listing s3://{bucket}")))
        .map_ok(|object: ListedObject| async move {
            let owner = owner(places, &object.key);
            let location = format!("s3://{bucket}/{}", object.key);
            let mut body = match store.get_listed(&object).await {
                Ok(body) => body,
                // Deleted between the listing and the read.
                Err(StoreError::NotFound { .. }) => return Ok(None),
                Err(e) => return Err(anyhow::Error::new(e).context(format!("reading {location}"))),
            };
            let mut stream = matcher.stream();
            while let Some(chunk) = body
                .try_next()
                .await
                .with_context(|| format!("reading {location}"))?
            {
                stream.feed(&chunk);
            }
            let findings = stream.findings(owner.as_ref(), &location);
            Ok(Some((owner, stream.bytes(), findings)))
        })
        .try_buffer_unordered(OBJECTS_IN_FLIGHT);
    let mut read: BTreeMap<Option<RegionId>, Tally> = BTreeMap::new();
    // Every region placed here is reported, with zero objects if need be.
    for p in places {
        read.entry(Some(p.region.clone())).or_default();
    }
    let mut findings = vec![];
    while let Some(done) = scans.try_next().await? {
        let Some((owner, bytes, found)) = done else {
            continue;
        };
        let tally = read.entry(owner).or_default();
        tally.objects += 1;
        tally.bytes += bytes;
        findings.extend(found);
    }
    findings.sort_by(|a, b| a.location.cmp(&b.location));
    Ok((read, findings))
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
        // `custodian:<name>`: a named custodian's staff (a hand-over's
        // incoming custodian), acting for the region while it holds it.
        o if o == "custodian" || o.starts_with("custodian:") => region
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
        Err(_) => (sovereel_model::random_hex(18), true),
    };
    let id = format!("staff-{}", sovereel_model::random_hex(12));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn placed(region: &str, prefix: &str) -> Placed {
        Placed {
            region: RegionId::parse(region).unwrap(),
            prefix: prefix.into(),
        }
    }

    fn owner_of(places: &[Placed], key: &str) -> Option<String> {
        owner(places, key).map(|r| r.to_string())
    }

    #[test]
    fn an_object_belongs_to_the_region_whose_prefix_holds_it() {
        let one = [placed("us", "media"), placed("us", "log")];
        assert_eq!(owner_of(&one, "media/v/1").as_deref(), Some("us"));
        // Outside every prefix of a bucket only us uses: still us's.
        assert_eq!(owner_of(&one, "stray").as_deref(), Some("us"));
        let shared = [placed("us", "us/media"), placed("au", "au/media")];
        assert_eq!(owner_of(&shared, "au/media/v/1").as_deref(), Some("au"));
        // A prefix is a whole segment: "us/mediax" is not under "us/media".
        assert_eq!(owner_of(&shared, "us/mediax/1"), None);
        assert_eq!(owner_of(&shared, "elsewhere"), None);
        // The longest prefix wins; regions on one prefix own nothing alone.
        let nested = [placed("us", ""), placed("au", "au")];
        assert_eq!(owner_of(&nested, "au/x").as_deref(), Some("au"));
        assert_eq!(owner_of(&nested, "x").as_deref(), Some("us"));
        let same = [placed("us", "media"), placed("au", "media")];
        assert_eq!(owner_of(&same, "media/x"), None);
    }

    #[test]
    fn database_urls_print_without_their_password() {
        assert_eq!(
            without_secret("postgres://u:hunter2@db.internal:5432/sovereel_us?sslmode=require"),
            "postgres://u@db.internal:5432/sovereel_us"
        );
    }
}
