//! C2SP signed notes and verifier keys, as a witness or an auditor receives
//! them from the network: parsing never panics, a parsed note re-encodes to
//! one that parses the same, and verification against known keys (the
//! log's and a witness's) never panics either.
#![no_main]

#[path = "../keys.rs"]
mod keys;

use libfuzzer_sys::fuzz_target;
use sovereel_ledger::NoteVerifier;
use sovereel_ledger::note::{Note, NoteSignature};

fuzz_target!(|data: &[u8]| {
    if let Ok(note) = Note::parse(data) {
        let again = Note::parse(&note.to_bytes()).expect("a parsed note re-encodes to a note");
        assert_eq!(again, note);
        let (log, witness) = keys::verifiers();
        if let Ok(verified) = note.verify(&[log.clone(), witness.clone()]) {
            assert!(!verified.is_empty());
            for v in &verified {
                assert!(
                    (v.name == log.name() && v.id == log.key_id())
                        || (v.name == witness.name() && v.id == witness.key_id())
                );
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(v) = NoteVerifier::parse(text) {
            assert_eq!(NoteVerifier::parse(&v.vkey()), Ok(v));
        }
        for line in text.lines() {
            if let Ok(sig) = NoteSignature::parse_line(line) {
                let l = sig.line();
                assert_eq!(NoteSignature::parse_line(l.trim_end_matches('\n')), Ok(sig));
            }
        }
    }
});
