//! The custody scan: reads every file of every region (databases with their
//! WAL and journal files, media, keyring, ledger) as raw bytes and looks for
//! canary strings, so residency and encryption are checked on what is
//! actually stored, not on what the application says it stored.
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
//! One [`Matcher`] looks for every canary at once (an Aho-Corasick
//! automaton, so the cost is one pass over the bytes whatever the number of
//! canaries). Anything that yields bytes in order is scanned the same way
//! through a [`StreamScan`]: the files under a [`ScanArea`] ([`scan`]), and
//! whatever the caller reads itself, such as the objects of a bucket or the
//! rows of a database (`sovereel custody scan` does both).
//!
//! Public data (bios, public captions) legitimately appears in the catalog
//! and is not a canary. `sovereel custody scan` wraps this module and exits
//! non-zero when the report has findings.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use aho_corasick::AhoCorasick;
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

impl Violation {
    /// Whether a sighting of `canary` in an area of `found_in` (`None`: the
    /// shared catalog) breaks its rule, and how.
    pub fn of(canary: &Canary, found_in: Option<&RegionId>) -> Option<Violation> {
        let at_home = found_in == Some(&canary.home);
        match canary.rule {
            CanaryRule::Erased => Some(Violation::NotErased),
            CanaryRule::Encrypted => Some(if at_home {
                Violation::Plaintext
            } else {
                Violation::OutsideHome
            }),
            CanaryRule::HomeOnly => (!at_home).then_some(Violation::OutsideHome),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub canary: String,
    pub home: RegionId,
    /// Region of the file; `None` for the shared catalog.
    pub found_in: Option<RegionId>,
    /// The file, for a sighting in a file; empty for anything else.
    pub path: PathBuf,
    /// Where, for people: the file's path, or what the caller named the
    /// stream (`s3://bucket/key` of an object, a database column).
    pub location: String,
    /// Byte offset of the first sighting in the file (or stream).
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

/// Read size of files.
const BUF: usize = 1 << 20;

/// Every canary, ready to be looked for in any number of byte streams.
#[derive(Debug, Clone)]
pub struct Matcher {
    /// The canaries with a non-empty text, in the automaton's pattern order.
    canaries: Vec<Canary>,
    /// `None` when there is no canary: nothing can be found.
    automaton: Option<AhoCorasick>,
    /// Longest canary minus one: the bytes a stream carries over from one
    /// chunk to the next so that a sighting across the boundary is seen.
    overlap: usize,
}

impl Matcher {
    pub fn new(canaries: &[Canary]) -> Matcher {
        let canaries: Vec<Canary> = canaries
            .iter()
            .filter(|c| !c.text.is_empty())
            .cloned()
            .collect();
        let automaton = (!canaries.is_empty()).then(|| {
            // Standard semantics report every canary, overlapping ones
            // included; the texts are plain strings, so building cannot fail.
            AhoCorasick::new(canaries.iter().map(|c| c.text.as_bytes()))
                .expect("an automaton of the canary strings")
        });
        let overlap = canaries
            .iter()
            .map(|c| c.text.len())
            .max()
            .unwrap_or(1)
            .saturating_sub(1);
        Matcher {
            canaries,
            automaton,
            overlap,
        }
    }

    /// The canaries looked for (those with a non-empty text).
    pub fn canaries(&self) -> &[Canary] {
        &self.canaries
    }

    /// A scan of one stream of bytes, fed in order with [`StreamScan::feed`].
    pub fn stream(&self) -> StreamScan<'_> {
        StreamScan {
            matcher: self,
            first: vec![None; self.canaries.len()],
            tail: Vec::with_capacity(self.overlap),
            joint: Vec::with_capacity(2 * self.overlap),
            read: 0,
        }
    }

    /// Scans every file under every area.
    pub fn scan_areas(&self, areas: &[ScanArea]) -> io::Result<ScanReport> {
        let mut report = ScanReport::default();
        let mut buf = vec![0u8; BUF];
        for area in areas {
            let mut files = Vec::new();
            for root in &area.roots {
                walk(root, &mut files)?;
            }
            for path in files {
                let Some(stream) = self.scan_file(&path, &mut buf)? else {
                    continue;
                };
                report.files += 1;
                report.bytes += stream.bytes();
                let location = path.display().to_string();
                let mut findings = stream.findings(area.region.as_ref(), &location);
                for f in &mut findings {
                    f.path = path.clone();
                }
                report.findings.extend(findings);
            }
        }
        Ok(report)
    }

    /// The file at `path`, read through; `None` if it vanished.
    fn scan_file(&self, path: &Path, buf: &mut [u8]) -> io::Result<Option<StreamScan<'_>>> {
        let mut file = match File::open(path) {
            Ok(f) => f,
            // Removed between listing and reading (a WAL checkpointed away).
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut stream = self.stream();
        loop {
            let n = match file.read(buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            stream.feed(&buf[..n]);
        }
        Ok(Some(stream))
    }
}

/// The scan of one stream: the first sighting of each canary so far.
///
/// Chunks may split a canary anywhere; the last `longest canary - 1` bytes
/// of the stream are kept, and each new chunk's head is searched joined to
/// them, so only sightings that cross the boundary are looked for there and
/// no chunk is copied whole.
pub struct StreamScan<'m> {
    matcher: &'m Matcher,
    /// Per canary, the stream offset of its first sighting.
    first: Vec<Option<u64>>,
    /// The stream's last (at most `overlap`) bytes.
    tail: Vec<u8>,
    /// Scratch: `tail` followed by the head of the next chunk.
    joint: Vec<u8>,
    /// Bytes fed so far.
    read: u64,
}

impl StreamScan<'_> {
    /// Feeds the next bytes of the stream.
    pub fn feed(&mut self, chunk: &[u8]) {
        let Some(automaton) = &self.matcher.automaton else {
            self.read += chunk.len() as u64;
            return;
        };
        if chunk.is_empty() {
            return;
        }
        let overlap = self.matcher.overlap;
        if !self.tail.is_empty() {
            // Sightings that start in the tail and end in this chunk (those
            // wholly inside either were or will be seen on their own).
            self.joint.clear();
            self.joint.extend_from_slice(&self.tail);
            self.joint
                .extend_from_slice(&chunk[..overlap.min(chunk.len())]);
            let split = self.tail.len();
            let base = self.read - split as u64;
            for m in automaton.find_overlapping_iter(&self.joint) {
                if m.start() < split && m.end() > split {
                    let slot = &mut self.first[m.pattern().as_usize()];
                    let at = base + m.start() as u64;
                    if slot.is_none() {
                        *slot = Some(at);
                    }
                }
            }
        }
        for m in automaton.find_overlapping_iter(chunk) {
            let slot = &mut self.first[m.pattern().as_usize()];
            if slot.is_none() {
                *slot = Some(self.read + m.start() as u64);
            }
        }
        self.read += chunk.len() as u64;
        if chunk.len() >= overlap {
            self.tail.clear();
            self.tail.extend_from_slice(&chunk[chunk.len() - overlap..]);
        } else {
            self.tail.extend_from_slice(chunk);
            let excess = self.tail.len().saturating_sub(overlap);
            self.tail.drain(..excess);
        }
    }

    /// Bytes fed so far.
    pub fn bytes(&self) -> u64 {
        self.read
    }

    /// The findings of this stream, read in an area of `found_in` (`None`:
    /// shared, no region's) and named `location` in them.
    pub fn findings(&self, found_in: Option<&RegionId>, location: &str) -> Vec<Finding> {
        self.first
            .iter()
            .enumerate()
            .filter_map(|(i, first)| {
                let offset = (*first)?;
                let canary = &self.matcher.canaries[i];
                let violation = Violation::of(canary, found_in)?;
                Some(Finding {
                    canary: canary.text.clone(),
                    home: canary.home.clone(),
                    found_in: found_in.cloned(),
                    path: PathBuf::new(),
                    location: location.to_string(),
                    offset,
                    violation,
                })
            })
            .collect()
    }
}

/// Scans every file under every area for every canary.
pub fn scan(areas: &[ScanArea], canaries: &[Canary]) -> io::Result<ScanReport> {
    Matcher::new(canaries).scan_areas(areas)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn canary(text: &str) -> Canary {
        Canary {
            home: RegionId::parse("us").unwrap(),
            text: text.into(),
            rule: CanaryRule::Erased,
        }
    }

    fn first_sightings(m: &Matcher, chunks: &[&[u8]]) -> Vec<(String, u64)> {
        let mut s = m.stream();
        for c in chunks {
            s.feed(c);
        }
        let mut v: Vec<(String, u64)> = s
            .findings(None, "t")
            .into_iter()
            .map(|f| (f.canary, f.offset))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn sightings_split_anywhere_are_found_at_their_first_offset() {
        let m = Matcher::new(&[canary("abcdef"), canary("cde"), canary("zz")]);
        let text = b"..abcdef..abcdef..zz";
        let whole = first_sightings(&m, &[text]);
        assert_eq!(
            whole,
            [("abcdef".into(), 2), ("cde".into(), 4), ("zz".into(), 18)]
        );
        // Every split into one-, two- and three-byte pieces agrees.
        for size in 1..=3 {
            let pieces: Vec<&[u8]> = text.chunks(size).collect();
            assert_eq!(first_sightings(&m, &pieces), whole, "pieces of {size}");
        }
        for at in 0..text.len() {
            let (a, b) = text.split_at(at);
            assert_eq!(first_sightings(&m, &[a, &[], b]), whole, "split at {at}");
        }
    }

    #[test]
    fn no_canaries_find_nothing_and_still_count_bytes() {
        let m = Matcher::new(&[canary("")]);
        let mut s = m.stream();
        s.feed(b"anything");
        assert_eq!(s.bytes(), 8);
        assert!(s.findings(None, "t").is_empty());
    }
}
