//! Rebuilding the right edge of a tree from its partial tiles, as an
//! auditor replaying a remote log does: a size (8 bytes) followed by the
//! tiles' bytes, cut into one piece per partial tile at the length each
//! should have. A rebuilt edge can compute a root and grow.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use sovereel_ledger::tiles::{Edge, TileKind};

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let (size, mut rest) = data.split_at(8);
    let size = u64::from_le_bytes(size.try_into().unwrap());
    // Mostly small trees, sometimes huge ones.
    let size = if data[0] & 0x80 == 0 {
        size % 70_000
    } else {
        size
    };
    let wanted = Edge::partial_tiles(size);
    let mut pieces = std::collections::HashMap::new();
    for t in &wanted {
        let want = match t.kind {
            TileKind::Hash(_) => t.width as usize * 32,
            // Entry bundles have no fixed length: a length byte says how many.
            TileKind::Entries => {
                let (n, r) = rest
                    .split_first()
                    .map(|(n, r)| (*n as usize * 4, r))
                    .unwrap_or((0, rest));
                rest = r;
                n
            }
        };
        let n = want.min(rest.len());
        pieces.insert(*t, Bytes::copy_from_slice(&rest[..n]));
        rest = &rest[n..];
    }
    if let Ok(mut edge) = Edge::from_parts(size, |t| pieces.get(t).cloned()) {
        assert_eq!(edge.size(), size);
        let _ = edge.root();
        let mut out = Vec::new();
        let more: Vec<Bytes> = rest
            .chunks(7)
            .take(300)
            .map(Bytes::copy_from_slice)
            .collect();
        if edge.append(&more, &mut out).is_ok() {
            assert_eq!(Some(edge.size()), size.checked_add(more.len() as u64));
            let _ = edge.root();
        }
    }
});
