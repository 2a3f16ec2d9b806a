//! sovereel-ledger
