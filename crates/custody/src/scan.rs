//! The custody scan: reads every file of every region (databases with their
//! WAL and journal files, media, keyring, ledger) as raw bytes and looks for
//! canary strings, so residency and encryption are checked on what is
//! actually on disk, not on what SQL queries return.
//!
//! A canary is a unique string planted in a user's data, with a rule:
//! * [`CanaryRule::HomeOnly`]: protected data stored in plaintext at home
//!   (a private caption); found in any other area, it is a finding.
//! * [`CanaryRule::Encrypted`]: data stored only as ciphertext (email,
//!   birthdate, IPs, private media bytes); found in plaintext anywhere,
//!   home included, it is a finding.
//! * [`CanaryRule::Erased`]: data of a crypto-shredded user; found anywhere,
//!   it is a finding.
//!
//! Public data (bios, public captions) legitimately appears in the catalog
//! and is not a canary. `sovereel custody scan` wraps [`scan`] and exits
//! non-zero when the report has findings.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use memchr::memmem::Finder;
use serde::Serialize;
use sovereel_model::ids::RegionId;

/// What a canary may and may not be found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CanaryRule {
    HomeOnly,
    Encrypted,
    Erased,
}

/// A planted string and where it belongs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Canary {
    pub home: RegionId,
    pub text: String,
    pub rule: CanaryRule,
}

/// A set of files the scan reads: one region's directories, or a shared
/// area (the public catalog), which belongs to no region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanArea {
    /// The region the files belong to; `None` for the shared catalog.
    pub region: Option<RegionId>,
    /// Files or directories (walked recursively, symlinks not followed):
    /// database files with `-wal`/`-journal`, media, keyring, ledger.
    pub roots: Vec<PathBuf>,
}

impl ScanArea {
    /// The areas of the embedded deployment under `data_dir`: per region,
    /// `regions/<id>/` (database with WAL, media, ledger, witness) and
    /// `keyring/<id>/`; shared, `catalog/` and `incoming/` (uploads not yet
    /// processed, which belong to no region and must hold no private media
    /// once processing is done).
    pub fn embedded(data_dir: &Path, regions: &[RegionId]) -> Vec<ScanArea> {
        let mut areas: Vec<ScanArea> = regions
            .iter()
            .map(|r| ScanArea {
                region: Some(r.clone()),
                roots: vec![
                    data_dir.join("regions").join(r.as_str()),
                    data_dir.join("keyring").join(r.as_str()),
                ],
            })
            .collect();
        areas.push(ScanArea {
            region: None,
            roots: vec![data_dir.join("catalog"), data_dir.join("incoming")],
        });
        areas
    }
}

/// Why a canary sighting is a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Violation {
    /// Protected data outside its home region.
    OutsideHome,
    /// Plaintext where only ciphertext may be.
    Plaintext,
    /// Data of an erased user still on disk.
    NotErased,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub canary: String,
    pub home: RegionId,
    /// Region of the file; `None` for the shared catalog.
    pub found_in: Option<RegionId>,
    pub path: PathBuf,
    /// Byte offset of the first sighting in the file.
    pub offset: u64,
    pub violation: Violation,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScanReport {
    pub files: u64,
    pub bytes: u64,
    pub findings: Vec<Finding>,
}

impl ScanReport {
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }
}

/// Read size; sightings across buffer boundaries are caught by carrying
/// the last `longest canary - 1` bytes over.
const BUF: usize = 1 << 20;

/// Scans every file under every area for every canary.
pub fn scan(areas: &[ScanArea], canaries: &[Canary]) -> io::Result<ScanReport> {
    let finders: Vec<Finder<'_>> = canaries
        .iter()
        .filter(|c| !c.text.is_empty())
        .map(|c| Finder::new(c.text.as_bytes()))
        .collect();
    let canaries: Vec<&Canary> = canaries.iter().filter(|c| !c.text.is_empty()).collect();
    let mut report = ScanReport::default();
    for area in areas {
        let mut files = Vec::new();
        for root in &area.roots {
            walk(root, &mut files)?;
        }
        for path in files {
            let sightings = scan_file(&path, &finders, &mut report.bytes)?;
            report.files += 1;
            for (i, offset) in sightings {
                let canary = canaries[i];
                let at_home = area.region.as_ref() == Some(&canary.home);
                let violation = match canary.rule {
                    CanaryRule::Erased => Some(Violation::NotErased),
                    CanaryRule::Encrypted => Some(if at_home {
                        Violation::Plaintext
                    } else {
                        Violation::OutsideHome
                    }),
                    CanaryRule::HomeOnly => (!at_home).then_some(Violation::OutsideHome),
                };
                if let Some(violation) = violation {
                    report.findings.push(Finding {
                        canary: canary.text.clone(),
                        home: canary.home.clone(),
                        found_in: area.region.clone(),
                        path: path.clone(),
                        offset,
                        violation,
                    });
                }
            }
        }
    }
    Ok(report)
}

fn walk(path: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        // A configured path that does not exist yet (no WAL right now) is
        // nothing to scan, not an error.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if meta.is_file() {
        out.push(path.to_path_buf());
    } else if meta.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
            .map(|e| e.map(|e| e.path()))
            .collect::<io::Result<_>>()?;
        entries.sort();
        for e in entries {
            walk(&e, out)?;
        }
    }
    Ok(())
}

/// (canary index, offset of first sighting) for each canary in the file.
fn scan_file(
    path: &Path,
    finders: &[Finder<'_>],
    bytes: &mut u64,
) -> io::Result<Vec<(usize, u64)>> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        // Removed between listing and reading (a WAL checkpointed away).
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let overlap = finders
        .iter()
        .map(|f| f.needle().len())
        .max()
        .unwrap_or(1)
        .saturating_sub(1);
    let mut found: Vec<Option<u64>> = vec![None; finders.len()];
    let mut buf = vec![0u8; BUF + overlap];
    let mut carried = 0usize;
    // File offset of buf[0].
    let mut base = 0u64;
    loop {
        let n = file.read(&mut buf[carried..])?;
        if n == 0 {
            break;
        }
        *bytes += n as u64;
        let filled = carried + n;
        for (i, finder) in finders.iter().enumerate() {
            if found[i].is_none()
                && let Some(pos) = finder.find(&buf[..filled])
            {
                found[i] = Some(base + pos as u64);
            }
        }
        let keep = overlap.min(filled);
        buf.copy_within(filled - keep..filled, 0);
        base += (filled - keep) as u64;
        carried = keep;
    }
    Ok(found
        .into_iter()
        .enumerate()
        .filter_map(|(i, f)| f.map(|o| (i, o)))
        .collect())
}
