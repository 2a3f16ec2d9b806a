//! Property tests: every inclusion and consistency proof verifies for random
//! tree sizes, and every single-bit change to a proof, a root, a leaf, a
//! checkpoint or a signed note is rejected. Plus the known RFC 6962 roots.

use std::sync::OnceLock;

use ed25519_dalek::SigningKey;
use proptest::prelude::*;
use sovereel_ledger::checkpoint::{Checkpoint, SignedCheckpoint};
use sovereel_ledger::merkle::{EMPTY_ROOT, MemoryTree, verify_consistency, verify_inclusion};
use sovereel_ledger::note::{CosignatureSigner, Note, NoteSigner};

const MAX: u64 = 1100;

fn tree() -> &'static MemoryTree {
    static T: OnceLock<MemoryTree> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = MemoryTree::new();
        for i in 0..MAX {
            t.push(&i.to_be_bytes());
        }
        t
    })
}

fn flip(h: &[u8; 32], bit: usize) -> [u8; 32] {
    let mut h = *h;
    h[bit / 8] ^= 1 << (bit % 8);
    h
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn inclusion_proofs_verify_and_bit_flips_fail(size in 1..=MAX, seed in any::<u64>(), bit in 0usize..256) {
        let t = tree();
        let index = seed % size;
        let root = t.root_at(size).unwrap();
        let leaf = t.leaf(index).unwrap();
        let proof = t.inclusion_proof(index, size).unwrap();
        prop_assert!(verify_inclusion(&leaf, index, size, &proof, &root).is_ok());
        prop_assert!(verify_inclusion(&flip(&leaf, bit), index, size, &proof, &root).is_err());
        prop_assert!(verify_inclusion(&leaf, index, size, &proof, &flip(&root, bit)).is_err());
        for i in 0..proof.len() {
            let mut p = proof.clone();
            p[i] = flip(&p[i], bit);
            prop_assert!(verify_inclusion(&leaf, index, size, &p, &root).is_err());
        }
        let mut shorter = proof.clone();
        if shorter.pop().is_some() {
            prop_assert!(verify_inclusion(&leaf, index, size, &shorter, &root).is_err());
        }
    }

    #[test]
    fn consistency_proofs_verify_and_bit_flips_fail(new in 1..=MAX, seed in any::<u64>(), bit in 0usize..256) {
        let t = tree();
        let old = seed % (new + 1);
        let (old_root, new_root) = (t.root_at(old).unwrap(), t.root_at(new).unwrap());
        let proof = t.consistency_proof(old, new).unwrap();
        prop_assert!(verify_consistency(old, new, &old_root, &new_root, &proof).is_ok());
        prop_assert!(verify_consistency(old, new, &flip(&old_root, bit), &new_root, &proof).is_err());
        if old > 0 {
            prop_assert!(verify_consistency(old, new, &old_root, &flip(&new_root, bit), &proof).is_err());
        }
        for i in 0..proof.len() {
            let mut p = proof.clone();
            p[i] = flip(&p[i], bit);
            prop_assert!(verify_consistency(old, new, &old_root, &new_root, &p).is_err());
        }
        if old > 0 && old < new {
            let mut longer = proof.clone();
            longer.push(new_root);
            prop_assert!(verify_consistency(old, new, &old_root, &new_root, &longer).is_err());
        }
    }

    #[test]
    fn any_bit_flip_in_a_cosigned_checkpoint_is_rejected(size in 0..=MAX, pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let log = NoteSigner::new("prop.test/log", SigningKey::from_bytes(&[1; 32])).unwrap();
        let w = CosignatureSigner::new("prop.test/witness", SigningKey::from_bytes(&[2; 32])).unwrap();
        let text = Checkpoint::new(log.name(), size, tree().root_at(size).unwrap()).to_text();
        let mut note = Note::new(&text).unwrap();
        note.add_signature(log.sign(&text));
        note.add_signature(w.cosign(&text, 1_700_000_000));
        let bytes = note.to_bytes();
        prop_assert!(SignedCheckpoint::verify(&bytes, &log.verifier(), &[w.verifier()]).is_ok());
        let mut bad = bytes.clone();
        let i = pos.index(bad.len());
        bad[i] ^= 1 << bit;
        prop_assert!(SignedCheckpoint::verify(&bad, &log.verifier(), &[w.verifier()]).is_err(),
            "flip at byte {} bit {} accepted", i, bit);
    }

    #[test]
    fn hostile_notes_and_checkpoints_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let log = NoteSigner::new("prop.test/log", SigningKey::from_bytes(&[1; 32])).unwrap();
        let _ = SignedCheckpoint::verify(&bytes, &log.verifier(), &[]);
        let _ = sovereel_ledger::witness::AddCheckpoint::parse(&bytes);
        let _ = sovereel_ledger::tiles::TileRef::parse(&String::from_utf8_lossy(&bytes));
        let t = sovereel_ledger::tiles::TileRef { kind: sovereel_ledger::tiles::TileKind::Entries, index: 0, width: 3 };
        let _ = sovereel_ledger::tiles::decode_bundle(&t, &bytes);
        let _ = sovereel_ledger::Entry::parse(&bytes);
        let _ = sovereel_ledger::NoteVerifier::parse(&String::from_utf8_lossy(&bytes));
    }
}

/// The RFC 6962 test vectors used by Certificate Transparency implementations.
#[test]
fn known_rfc6962_roots() {
    let leaves: [&[u8]; 8] = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57",
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
    ];
    let roots = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];
    let mut t = MemoryTree::new();
    assert_eq!(
        hex::encode(t.root()),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(t.root(), EMPTY_ROOT);
    for (leaf, root) in leaves.iter().zip(roots) {
        t.push(leaf);
        assert_eq!(hex::encode(t.root()), root, "size {}", t.size());
    }
}
