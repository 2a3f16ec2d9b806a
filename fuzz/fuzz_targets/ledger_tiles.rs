//! Tile paths, hash tiles and entry bundles, as the log's HTTP front and an
//! auditor see them. The input is a path, a newline, then the tile's bytes.
//! Paths are canonical (one name per tile); a decoded bundle re-encodes to
//! the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sovereel_ledger::tiles::{
    TileKind, TileRef, decode_bundle, encode_bundle, encode_index, tile_hashes, tile_in_tree,
};

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    let (path, body) = (&data[..split], data.get(split + 1..).unwrap_or(&[]));
    let Ok(path) = std::str::from_utf8(path) else {
        return;
    };
    let Ok(tile) = TileRef::parse(path) else {
        return;
    };
    assert_eq!(tile.path(), path);
    assert!((1..=256).contains(&tile.width));
    assert!(encode_index(tile.index).len() <= path.len());
    match tile.kind {
        TileKind::Hash(_) => {
            if let Ok(hashes) = tile_hashes(&tile, body) {
                assert_eq!(hashes.len(), tile.width as usize);
                assert_eq!(hashes.concat(), body);
            }
        }
        TileKind::Entries => {
            if let Ok(entries) = decode_bundle(&tile, body) {
                assert_eq!(entries.len(), tile.width as usize);
                assert_eq!(encode_bundle(&entries).unwrap(), body);
            }
        }
    }
    // Where such a tile sits in trees of nearby sizes.
    let size = tile
        .index
        .saturating_mul(256)
        .saturating_add(u64::from(tile.width));
    if let Some(t) = tile_in_tree(tile.kind, tile.index, size) {
        assert!(t.width >= 1);
    }
});
