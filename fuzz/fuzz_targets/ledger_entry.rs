//! Ledger entries as an auditor or a user's client reads them out of entry
//! bundles: hostile JSON gives an error, and an entry that parses
//! re-encodes to one that parses the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sovereel_ledger::Entry;

fuzz_target!(|data: &[u8]| {
    if let Ok(entry) = Entry::parse(data) {
        let _ = entry.body.kind();
        let _ = entry.body.subject();
        let _ = entry.is_custody_anomaly();
        if let Ok(bytes) = entry.to_bytes() {
            let again = Entry::parse(&bytes).expect("an encoded entry parses");
            assert_eq!(again.to_bytes().unwrap(), bytes);
        }
    }
});
