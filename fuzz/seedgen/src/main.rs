//! Writes the seed corpus of the fuzz targets: a few tiny, valid or nearly
//! valid inputs per target, so the fuzzers start past the first checks
//! (magic numbers, signatures by known keys) instead of having to guess
//! them. Run by `scripts/fuzz --seeds`; the output is committed, so a run
//! must write the same bytes every time (fixed keys, fixed timestamps).
//!
//! Usage: `sovereel-fuzz-seedgen [DIR]` (default: `fuzz/seeds`).

#[path = "../../keys.rs"]
mod keys;

use std::path::{Path, PathBuf};

use sovereel_ledger::merkle::MemoryTree;
use sovereel_ledger::tiles::{Edge, TileKind, encode_bundle};
use sovereel_ledger::{Checkpoint, Entry, InclusionProof, Note};

fn main() -> std::io::Result<()> {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../seeds"));
    let mut seeds = Seeds { dir, written: 0 };
    media(&mut seeds)?;
    text(&mut seeds)?;
    ledger(&mut seeds)?;
    println!(
        "wrote {} seeds under {}",
        seeds.written,
        seeds.dir.display()
    );
    Ok(())
}

struct Seeds {
    dir: PathBuf,
    written: usize,
}

impl Seeds {
    fn put(&mut self, target: &str, name: &str, bytes: impl AsRef<[u8]>) -> std::io::Result<()> {
        let d = self.dir.join(target);
        std::fs::create_dir_all(&d)?;
        std::fs::write(d.join(name), bytes)?;
        self.written += 1;
        Ok(())
    }
}

/// An ISO BMFF box.
fn mp4_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut v = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    v.extend_from_slice(kind);
    v.extend_from_slice(body);
    v
}

/// A version-0 full-box body: version and flags, then `rest`.
fn full(rest: &[u8]) -> Vec<u8> {
    [&[0u8; 4][..], rest].concat()
}

/// The smallest MP4 the native parser accepts: ftyp, a moov with mvhd and
/// one 64×48 H.264 video track of 2 s, and an empty mdat.
fn tiny_mp4(with_metadata: bool) -> Vec<u8> {
    let ftyp = mp4_box(b"ftyp", b"isom\0\0\0\0isomavc1");
    let mut mvhd = vec![0u8; 96];
    mvhd[12..16].copy_from_slice(&1000u32.to_be_bytes());
    mvhd[16..20].copy_from_slice(&2000u32.to_be_bytes());
    let mut tkhd = vec![0u8; 84];
    tkhd[40..44].copy_from_slice(&0x10000u32.to_be_bytes());
    tkhd[56..60].copy_from_slice(&0x10000u32.to_be_bytes());
    tkhd[76..80].copy_from_slice(&(64u32 << 16).to_be_bytes());
    tkhd[80..84].copy_from_slice(&(48u32 << 16).to_be_bytes());
    let hdlr = full(b"\0\0\0\0vide\0\0\0\0\0\0\0\0\0\0\0\0\0");
    let stsd = full(&[&1u32.to_be_bytes()[..], &mp4_box(b"avc1", &[0u8; 8])].concat());
    let stbl = mp4_box(b"stbl", &mp4_box(b"stsd", &stsd));
    let minf = mp4_box(b"minf", &stbl);
    let mut mdhd = vec![0u8; 24];
    mdhd[12..16].copy_from_slice(&1000u32.to_be_bytes());
    mdhd[16..20].copy_from_slice(&2000u32.to_be_bytes());
    let mdia = mp4_box(
        b"mdia",
        &[mp4_box(b"mdhd", &mdhd), mp4_box(b"hdlr", &hdlr), minf].concat(),
    );
    let mut trak = [mp4_box(b"tkhd", &tkhd), mdia].concat();
    if with_metadata {
        trak.extend(mp4_box(b"udta", &mp4_box(b"\xa9xyz", b"+01.0+002.0/")));
    }
    let moov = mp4_box(
        b"moov",
        &[mp4_box(b"mvhd", &mvhd), mp4_box(b"trak", &trak)].concat(),
    );
    [ftyp, moov, mp4_box(b"mdat", &[0u8; 16])].concat()
}

/// A Matroska element with a one-byte size.
fn el(id: &[u8], body: &[u8]) -> Vec<u8> {
    assert!(body.len() < 127);
    [id, &[0x80 | body.len() as u8], body].concat()
}

/// A WebM with a Duration (2.5 s) and one VP9 track, or, live, as
/// MediaRecorder writes it: unknown sizes and no Duration.
fn tiny_webm(live: bool) -> Vec<u8> {
    let mut f = el(&[0x1A, 0x45, 0xDF, 0xA3], &el(&[0x42, 0x82], b"webm"));
    let video = [el(&[0xB0], &[0x40]), el(&[0xBA], &[0x30])].concat();
    let entry = [
        el(&[0x83], &[1]),
        el(&[0x86], b"V_VP9"),
        el(&[0xE0], &video),
    ]
    .concat();
    let tracks = el(&[0x16, 0x54, 0xAE, 0x6B], &el(&[0xAE], &entry));
    let unknown = [0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
    if live {
        f.extend([0x18, 0x53, 0x80, 0x67]);
        f.extend(unknown);
        f.extend(el(
            &[0x15, 0x49, 0xA9, 0x66],
            &el(&[0x2A, 0xD7, 0xB1], &[0x0F, 0x42, 0x40]),
        ));
        f.extend(tracks);
        f.extend([0x1F, 0x43, 0xB6, 0x75]);
        f.extend(unknown);
        f.extend(el(&[0xE7], &[0]));
        for ts in [0i16, 40, 80] {
            let block = [&[0x81][..], &ts.to_be_bytes(), &[0x80, 0xAA, 0xAA]].concat();
            f.extend(el(&[0xA3], &block));
        }
    } else {
        let info = [
            el(&[0x2A, 0xD7, 0xB1], &[0x0F, 0x42, 0x40]),
            el(&[0x44, 0x89], &2500f32.to_be_bytes()),
        ]
        .concat();
        let segment = [el(&[0x15, 0x49, 0xA9, 0x66], &info), tracks].concat();
        f.extend(el(&[0x18, 0x53, 0x80, 0x67], &segment));
    }
    f
}

fn media(s: &mut Seeds) -> std::io::Result<()> {
    let mp4 = tiny_mp4(false);
    let webm = tiny_webm(false);
    s.put("media_sniff", "mp4", &mp4[..64])?;
    s.put(
        "media_sniff",
        "quicktime",
        mp4_box(b"ftyp", b"qt  \0\0\0\0qt  "),
    )?;
    s.put(
        "media_sniff",
        "heic",
        mp4_box(b"ftyp", b"heic\0\0\0\0mif1heic"),
    )?;
    s.put("media_sniff", "webm", &webm[..webm.len().min(48)])?;
    s.put("media_sniff", "jpeg", b"\xFF\xD8\xFF\xE0\0\x10JFIF\0")?;
    s.put("media_sniff", "png", b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR")?;
    s.put("media_sniff", "webp", b"RIFF\x24\0\0\0WEBPVP8 ")?;
    s.put("media_mp4", "tiny", &mp4)?;
    s.put("media_mp4", "with-location", tiny_mp4(true))?;
    s.put("media_mp4", "cut", &mp4[..mp4.len() - 9])?;
    s.put("media_webm", "tiny", &webm)?;
    s.put("media_webm", "live", tiny_webm(true))?;
    s.put("media_webm", "cut", &webm[..webm.len() - 3])?;
    // parse_range: 8 bytes of size (little-endian), then the header.
    let sized = |size: u64, h: &str| [&size.to_le_bytes()[..], h.as_bytes()].concat();
    s.put("media_range", "first-last", sized(1000, "bytes=0-99"))?;
    s.put("media_range", "open", sized(1000, "bytes=500-"))?;
    s.put("media_range", "suffix", sized(1000, "bytes=-200"))?;
    s.put("media_range", "several", sized(1000, "bytes=0-1, 5-9"))?;
    s.put("media_range", "unsatisfiable", sized(0, "Bytes = 10-20"))?;
    Ok(())
}

fn text(s: &mut Seeds) -> std::io::Result<()> {
    s.put("upload_meta", "full", r##"{"caption":"Pasta night #Cooking with @chef.ana.","visibility":"followers","comments":"nobody"}"##)?;
    s.put("upload_meta", "empty", "{}")?;
    s.put(
        "upload_meta",
        "unknown-field",
        r#"{"caption":"x","title":"y"}"#,
    )?;
    s.put(
        "upload_meta",
        "unicode",
        r##"{"caption":"#İstanbul #ĳssel \u00e9t\u00e9 @ÉMILE"}"##,
    )?;
    s.put("store_cursor", "score", "0.5~vid_01HZX")?;
    s.put("store_cursor", "time", "1733100000000~c_abc123")?;
    s.put("store_cursor", "exponent", "-1e-7~a")?;
    s.put("store_cursor", "target", "region:us")?;
    s.put("model_names", "handle", "@Alice_US")?;
    s.put("model_names", "trailing", "alice_us.")?;
    s.put("model_names", "confusable", "a1ice.u5__")?;
    s.put("model_names", "display", "José Müller")?;
    s.put("model_names", "bidi", "\u{202E}gnp.exe")?;
    s.put("model_names", "marks", "Nguye\u{302}\u{303}n")?;
    s.put("model_names", "caption", "hi #Tag_1 @bob. #ß")?;
    Ok(())
}

fn ledger(s: &mut Seeds) -> std::io::Result<()> {
    let log = keys::log_signer();
    let witness = keys::witness_signer();
    let subject = "ab".repeat(32);
    let entries: Vec<Vec<u8>> = [
        format!(r#"{{"v":1,"at":"2026-12-01T00:00:00Z","kind":"key_destroyed","key_class":"dek","key_fingerprint":"{}","subject":"{subject}","reason":"account deleted"}}"#, "cd".repeat(32)),
        format!(r#"{{"v":1,"at":"2026-12-01T00:00:01Z","kind":"access","principal":{{"type":"custodian_staff","region":"us","role":"support","staff_id":"st_1"}},"action":"read_email","resource_class":"protected","subject":"{subject}","purpose":"support","decision":"allow","policy_id":"p1"}}"#),
        format!(r#"{{"v":1,"at":"2026-12-01T00:00:02Z","kind":"egress","batch_sha256":"{}","classes":["public","aggregate"],"destination":"catalog","items":3}}"#, "ef".repeat(32)),
        format!(r#"{{"v":1,"at":"2026-12-01T00:00:03Z","kind":"data_request","request_id":"dr_1","request_kind":"export","subject":"{subject}","status":"received","operator":{{"type":"system","component":"exports"}}}}"#),
        r#"{"v":1,"at":"2026-12-01T00:00:04Z","kind":"moderation","case_id":"case_1","action":"label","content_id":"vid_1","moderator":{"type":"platform_staff","role":"moderator","staff_id":"st_2"},"ground":"spam","facts":"reported","automated":false,"redress":"appeal"}"#.to_string(),
    ]
    .iter()
    .map(|json| {
        let e = Entry::parse(json.as_bytes()).expect("seed entries are valid");
        e.to_bytes().expect("small")
    })
    .collect();
    for (i, e) in entries.iter().enumerate() {
        s.put("ledger_entry", &format!("entry-{i}"), e)?;
    }
    let mut tree = MemoryTree::new();
    for e in &entries {
        tree.push(e);
    }
    let cp = Checkpoint::new(keys::LOG_ORIGIN, tree.size(), tree.root());
    let text = cp.to_text();
    let mut note = Note::new(&text).expect("checkpoint text is a note");
    note.add_signature(log.sign(&text));
    let signed_by_log = note.to_bytes();
    note.add_signature(witness.cosign(&text, 1_733_000_000));
    let cosigned = note.to_bytes();

    s.put("ledger_note", "signed", &signed_by_log)?;
    s.put("ledger_note", "cosigned", &cosigned)?;
    s.put("ledger_note", "vkey", log.verifier().vkey())?;
    s.put("ledger_note", "witness-vkey", witness.verifier().vkey())?;
    s.put("ledger_checkpoint", "body", &text)?;
    s.put("ledger_checkpoint", "signed", &signed_by_log)?;
    s.put("ledger_checkpoint", "cosigned", &cosigned)?;
    let mut extended = cp.clone();
    extended.extensions.push("extension line".into());
    s.put("ledger_checkpoint", "extension", extended.to_text())?;

    let index = 3u64;
    let path = tree.inclusion_proof(index, tree.size()).expect("in range");
    let proof = InclusionProof::new(
        index,
        &entries[index as usize],
        &path,
        &cosigned,
        tree.size(),
    );
    s.put(
        "ledger_proof",
        "inclusion",
        serde_json::to_vec_pretty(&proof)?,
    )?;
    let raw = |a: u64, b: u64, hashes: &[[u8; 32]]| {
        let mut v = a.to_le_bytes().to_vec();
        v[0] &= !1;
        v.extend_from_slice(&b.to_le_bytes());
        for h in hashes {
            v.extend_from_slice(h);
        }
        v
    };
    let leaf = sovereel_ledger::merkle::leaf_hash(&entries[index as usize]);
    s.put(
        "ledger_proof",
        "raw-inclusion",
        raw(index, 5, &[&[leaf][..], &path].concat()),
    )?;
    let consistency = tree.consistency_proof(2, 5).expect("2 <= 5");
    let old = tree.root_at(2).expect("2 <= 5");
    s.put(
        "ledger_proof",
        "raw-consistency",
        raw(2, 5, &[&[old][..], &consistency].concat()),
    )?;

    let bundle = encode_bundle(&entries).expect("small entries");
    s.put(
        "ledger_tiles",
        "entries",
        [&b"tile/entries/000.p/5\n"[..], &bundle].concat(),
    )?;
    let hashes: Vec<u8> = (0..5).flat_map(|i| tree.leaf(i).expect("leaf")).collect();
    s.put(
        "ledger_tiles",
        "hashes",
        [&b"tile/0/000.p/5\n"[..], &hashes].concat(),
    )?;
    s.put("ledger_tiles", "deep", "tile/2/x001/x234/067.p/7\n")?;
    s.put("ledger_tiles", "full", "tile/entries/x999/999\n")?;

    // ledger_edge: size, then each partial tile (entry bundles after a
    // length byte counting 4-byte units, so pad the bundle to one).
    let mut edge = [&5u64.to_le_bytes()[..]].concat();
    for t in Edge::partial_tiles(5) {
        match t.kind {
            TileKind::Hash(_) => edge.extend_from_slice(&hashes),
            TileKind::Entries => {
                edge.push(bundle.len().div_ceil(4) as u8);
                edge.extend_from_slice(&bundle);
                edge.resize(edge.len() + (4 - bundle.len() % 4) % 4, 0);
            }
        }
    }
    edge.extend_from_slice(b"appended entries");
    s.put("ledger_edge", "five", &edge)?;
    s.put("ledger_edge", "empty", 0u64.to_le_bytes())?;

    s.put(
        "ledger_entry",
        "old-version",
        br#"{"v":0,"at":"2026-12-01T00:00:00Z","kind":"egress"}"#,
    )?;
    Ok(())
}
