//! Checkpoints: the body parser is canonical (a parsed body prints back to
//! the same bytes), and a signed checkpoint note is verified against the
//! log key and a witness cosigner without panicking, whatever it holds.
#![no_main]

#[path = "../keys.rs"]
mod keys;

use libfuzzer_sys::fuzz_target;
use sovereel_ledger::{Checkpoint, SignedCheckpoint};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(cp) = Checkpoint::parse(text)
    {
        assert_eq!(cp.to_text(), text, "checkpoint bodies are canonical");
        assert_eq!(Checkpoint::parse(&cp.to_text()), Ok(cp));
    }
    let (log, witness) = keys::verifiers();
    for witnesses in [&[][..], std::slice::from_ref(&witness)] {
        if let Ok(signed) = SignedCheckpoint::verify(data, &log, witnesses) {
            assert_eq!(signed.checkpoint.origin, log.name());
            let again = SignedCheckpoint::verify(&signed.to_bytes(), &log, witnesses)
                .expect("a verified checkpoint re-encodes to one that verifies");
            assert_eq!(again.checkpoint, signed.checkpoint);
        }
    }
});
