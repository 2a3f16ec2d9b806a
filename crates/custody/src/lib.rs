//! Custody: the mechanisms behind "the custodian holds the keys, and nobody
//! else reads protected data" (DESIGN.md, "The policy gateway", "Keys and
//! crypto-shredding" and "Data classes").
//!
//! * [`gateway`]: the Cedar-backed policy gateway and its unforgeable
//!   [`Authorized`] token, with the [`AccessRecord`]s the ledger needs.
//! * [`keyring`]: a region's key-encryption key and per-user data keys,
//!   rotation, hand-over, crypto-shredding and wind-down.
//! * [`pkcs11`]: a KEK held in a PKCS#11 token (an HSM), never extractable.
//! * [`field`]: protected personal fields sealed with the user's data key.
//! * [`media`]: private media sealed in chunks, readable by Range.
//! * [`shred`]: deletion batches, and what a backup may hold.
//! * [`egress`]: the class check on everything leaving a region.
//! * [`mod@scan`]: the raw-bytes canary scan behind `sovereel custody scan`.
//!
//! The crate does no networking and knows nothing of HTTP; the server wires
//! it into region planes.

pub mod egress;
pub mod field;
pub mod gateway;
pub mod keyring;
pub mod media;
pub mod pkcs11;
pub mod scan;
pub mod shred;

pub use egress::{EgressField, EgressGateway, EgressReceipt, EgressRefused};
pub use field::is_sealed_field;
pub use gateway::{
    AccessContext, AccessDecision, AccessRecord, Action, Authorized, CaseContext, Denied,
    GatedAction, InvalidPrincipal, OpaqueId, PolicyError, PolicyGateway, Principal, RequestContext,
    Resource, ResourceClass, StaffOrg, StaffRole, act,
};
pub use keyring::{
    DestructionReceipt, FileKek, KeyEncryptionKey, KeyError, Keyring, RewrapBatch, RewrapCursor,
    RewrapReport, UserKey, UsesDataKey, WrappedKey,
};
pub use media::{DecryptingReader, MediaCryptoError};
pub use pkcs11::{PinSource, Pkcs11Config, Pkcs11Kek};
pub use scan::{
    Canary, CanaryRule, Finding, Matcher, ScanArea, ScanReport, StreamScan, Violation, scan,
};
pub use shred::{ShredReport, shred_users};
