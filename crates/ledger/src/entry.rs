//! Ledger entries: versioned JSON records of what the custodian promised to
//! make checkable. They carry no personal data: the subject of an access is a
//! pseudonym, `HMAC-SHA256(region secret, user id)`, so a user can find the
//! entries about them and nobody else can link entries to a person.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::tiles::MAX_ENTRY_SIZE;

/// The entry format version written by this crate.
pub const ENTRY_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum EntryError {
    #[error("entry is {0} bytes; the limit is 65535")]
    TooLarge(usize),
    #[error("entry is not valid JSON for this version: {0}")]
    Json(#[from] serde_json::Error),
    #[error("unsupported entry version {0}")]
    Version(u32),
}

/// A subject pseudonym: hex of `HMAC-SHA256(region secret, user id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pseudonym(pub [u8; 32]);

impl Serialize for Pseudonym {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for Pseudonym {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let v = hex::decode(&s).map_err(serde::de::Error::custom)?;
        let a: [u8; 32] = v
            .try_into()
            .map_err(|_| serde::de::Error::custom("pseudonym must be 32 bytes"))?;
        Ok(Pseudonym(a))
    }
}

impl std::fmt::Display for Pseudonym {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// The region secret that derives subject pseudonyms.
#[derive(Clone)]
pub struct PseudonymKey([u8; 32]);

impl std::fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PseudonymKey(..)")
    }
}

impl PseudonymKey {
    pub fn from_bytes(secret: [u8; 32]) -> Self {
        PseudonymKey(secret)
    }

    pub fn pseudonym(&self, user_id: &str) -> Pseudonym {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .expect("HMAC accepts keys of any length");
        mac.update(user_id.as_bytes());
        Pseudonym(mac.finalize().into_bytes().into())
    }
}

/// Who acted. Staff are named by opaque staff ids, never by personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Principal {
    /// An end user acting on someone else's data (their own is not logged).
    User {
        pseudonym: Pseudonym,
    },
    /// Platform company staff. They may never touch protected data.
    PlatformStaff {
        role: String,
        staff_id: String,
    },
    /// The region custodian's vetted staff.
    CustodianStaff {
        region: String,
        role: String,
        staff_id: String,
    },
    /// A recommendation release running in a region.
    Release {
        region: String,
        release_id: String,
    },
    Auditor {
        auditor_id: String,
    },
    /// The platform itself (scheduled jobs, replication).
    System {
        component: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataClass {
    Protected,
    Public,
    Aggregate,
    Interop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Allow,
    Deny,
}

/// A policy-gateway decision letting someone other than the owner touch
/// protected data (or a staff denial).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    pub principal: Principal,
    pub action: String,
    pub resource_class: DataClass,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Pseudonym>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_id: Option<String>,
    pub decision: Decision,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_id: Option<String>,
}

/// A batch that left the region through the egress gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Egress {
    /// Hex SHA-256 of the batch as sent.
    pub batch_sha256: String,
    pub classes: Vec<DataClass>,
    pub destination: String,
    pub items: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseStage {
    Proposed,
    Approved,
    Rejected,
    Retired,
}

/// An algorithm release proposed by the platform or approved by a custodian.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub release_id: String,
    pub stage: ReleaseStage,
    /// Hex SHA-256 of the signed release manifest.
    pub manifest_sha256: String,
    pub signer: Principal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyChange {
    pub policy_set_sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_sha256: Option<String>,
    pub changed_by: Principal,
    pub summary: String,
}

/// One step of trust and safety: a report joining a case, a decision with
/// the DSA Article 17 statement of reasons, an appeal (Art. 20), or the
/// decision on an appeal. Entries written before `step` existed are
/// decisions; every field added since is optional, so they still parse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moderation {
    /// `report`, `decision`, `appeal` or `appeal_decision`.
    #[serde(default = "decision_step")]
    pub step: String,
    pub case_id: String,
    /// What was decided (`label`, `restrict`, `remove`, `dismiss`, `demote`,
    /// `promote`, `uphold`, `reverse`); for a report or an appeal, the step.
    pub action: String,
    /// Public content id (video or comment), or the account's id, the step
    /// applies to.
    pub content_id: String,
    /// `video`, `comment` or `account`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Pseudonym>,
    /// Who took the step: a moderator, or the system for a report or an
    /// appeal (whose authors the log does not name).
    pub moderator: Principal,
    /// The report categories the step concerns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// `law` or `terms` for decisions (free text in entries before `step`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ground: String,
    /// The clause of the terms, or the law, relied on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub facts: String,
    #[serde(default)]
    pub automated: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub redress: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub territorial_scope: Option<String>,
    /// A label's type, and the fact-check note beside it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The decision this step records, or (for an appeal and its decision)
    /// the decision appealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appeal_of: Option<String>,
    /// When the case opened (RFC 3339), so time to decision can be computed
    /// from the log alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_opened_at: Option<String>,
}

fn decision_step() -> String {
    "decision".into()
}

/// A data-encryption key destroyed (crypto-shredding), or a region key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyDestroyed {
    /// `dek`, `kek`, or another keyring key class.
    pub key_class: String,
    /// Hex SHA-256 fingerprint of the wrapped key, never the key itself.
    pub key_fingerprint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Pseudonym>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataRequest {
    pub request_id: String,
    /// `export`, `deletion`, `correction`, …
    pub request_kind: String,
    pub subject: Pseudonym,
    /// `received`, `completed`, `rejected`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<Principal>,
}

/// The region's configuration: the first entry of every region log, and
/// again at every change (hand-over, suspension, wind-down, new keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionConfig {
    pub region: String,
    pub custodian: String,
    /// ISO 3166-1 alpha-2 codes.
    pub countries: Vec<String>,
    /// The log's own verifier key.
    pub log_vkey: String,
    /// Other verifier keys in force (witnesses, release signers).
    pub verifier_keys: Vec<String>,
    pub policy_set_sha256: String,
    /// `active`, `suspended`, `wound_down`, …
    pub status: String,
}

/// One step of a jurisdiction lifecycle operation (suspend, resume,
/// hand-over, wind-down): a proposal by one party, the other party's
/// approval, its execution. The region's lifecycle state is what these
/// entries say, read back in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifecycle {
    pub op_id: String,
    /// `suspend`, `resume`, `hand_over` or `wind_down`.
    pub operation: String,
    /// `proposed`, `approved`, `scheduled`, `done`, `refused`, `cancelled`.
    pub step: String,
    /// Who took this step (staff are named by opaque ids).
    pub by: Principal,
    /// The grounds given, public by design.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grounds: Option<String>,
    /// The reference of the legal order behind a suspension the custodian
    /// made alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_order: Option<String>,
    /// The incoming custodian of a hand-over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custodian: Option<String>,
    /// The notice period of a wind-down, in days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice_days: Option<u32>,
    /// When a scheduled step takes effect (RFC 3339): a wind-down's deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_at: Option<String>,
}

/// The log's signing key passes to a new custodian. Signed by the key in
/// force before it, over [`CustodyTransfer::statement`], which commits to
/// the tree of every entry before this one: a verifier who pinned the old
/// key checks the signature, then accepts the new key for checkpoints
/// that include this entry (`audit.rs` follows the chain).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustodyTransfer {
    /// The log origin (the name of both keys).
    pub origin: String,
    pub previous_custodian: String,
    pub custodian: String,
    /// The verifier key in force until this entry.
    pub old_vkey: String,
    /// The verifier key of checkpoints that include this entry.
    pub new_vkey: String,
    /// The number of entries before this one: its own index.
    pub tree_size: u64,
    /// Base64 of the Merkle root of those entries.
    pub tree_root: String,
    /// The old key's signature line over the statement.
    pub signature: String,
}

impl CustodyTransfer {
    /// The exact text the old key signs. Its first line can never start a
    /// checkpoint note (line two of a checkpoint is a bare size), so the
    /// signature cannot be replayed as a checkpoint signature or back.
    pub fn statement(&self) -> String {
        format!(
            "sovereel custody transfer v1\norigin {}\nsize {}\nroot {}\nfrom {}\nto {}\nold {}\nnew {}\n",
            self.origin,
            self.tree_size,
            self.tree_root,
            self.previous_custodian,
            self.custodian,
            self.old_vkey,
            self.new_vkey
        )
    }
}

/// The region's log closes: the last entry of a wound-down region, after
/// every key was destroyed and every row purged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionClosed {
    pub region: String,
    pub custodian: String,
    /// The wind-down operation that closed it.
    pub op_id: String,
    pub grounds: String,
    /// Accounts whose data was purged.
    pub accounts_purged: u64,
    /// Data keys and key-encryption keys destroyed.
    pub keys_destroyed: u64,
}

/// The kind-specific part of an entry.
// A moderation step carries its whole statement of reasons; entries are
// built and parsed one at a time, so the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EntryBody {
    RegionConfig(RegionConfig),
    Access(Access),
    Egress(Egress),
    Release(Release),
    PolicyChange(PolicyChange),
    Moderation(Moderation),
    KeyDestroyed(KeyDestroyed),
    DataRequest(DataRequest),
    Lifecycle(Lifecycle),
    CustodyTransfer(CustodyTransfer),
    RegionClosed(RegionClosed),
}

impl EntryBody {
    pub fn kind(&self) -> &'static str {
        match self {
            EntryBody::RegionConfig(_) => "region_config",
            EntryBody::Access(_) => "access",
            EntryBody::Egress(_) => "egress",
            EntryBody::Release(_) => "release",
            EntryBody::PolicyChange(_) => "policy_change",
            EntryBody::Moderation(_) => "moderation",
            EntryBody::KeyDestroyed(_) => "key_destroyed",
            EntryBody::DataRequest(_) => "data_request",
            EntryBody::Lifecycle(_) => "lifecycle",
            EntryBody::CustodyTransfer(_) => "custody_transfer",
            EntryBody::RegionClosed(_) => "region_closed",
        }
    }

    /// The pseudonym an entry is about, for the per-user index.
    pub fn subject(&self) -> Option<Pseudonym> {
        match self {
            EntryBody::Access(a) => a.subject,
            EntryBody::Moderation(m) => m.subject,
            EntryBody::KeyDestroyed(k) => k.subject,
            EntryBody::DataRequest(d) => Some(d.subject),
            _ => None,
        }
    }
}

/// One ledger entry: `{"v":1,"at":"<RFC 3339>","kind":…,…}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub v: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub at: time::OffsetDateTime,
    #[serde(flatten)]
    pub body: EntryBody,
}

impl Entry {
    /// A current-version entry stamped now.
    pub fn now(body: EntryBody) -> Self {
        let at = time::OffsetDateTime::now_utc();
        // Whole seconds keep the encoding short and stable.
        let at = at.replace_nanosecond(0).unwrap_or(at);
        Entry {
            v: ENTRY_VERSION,
            at,
            body,
        }
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>, EntryError> {
        let b = serde_json::to_vec(self)?;
        if b.len() > MAX_ENTRY_SIZE {
            return Err(EntryError::TooLarge(b.len()));
        }
        Ok(b)
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, EntryError> {
        if bytes.len() > MAX_ENTRY_SIZE {
            return Err(EntryError::TooLarge(bytes.len()));
        }
        let e: Entry = serde_json::from_slice(bytes)?;
        if e.v != ENTRY_VERSION {
            return Err(EntryError::Version(e.v));
        }
        Ok(e)
    }

    /// Whether a monitor should flag this entry: platform staff touching
    /// protected data breaks the custody promise, allowed or not.
    pub fn is_custody_anomaly(&self) -> bool {
        matches!(
            &self.body,
            EntryBody::Access(Access {
                principal: Principal::PlatformStaff { .. },
                resource_class: DataClass::Protected,
                ..
            })
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_flag_platform_staff() {
        let key = PseudonymKey::from_bytes([9; 32]);
        let p = key.pseudonym("user-1");
        assert_eq!(p, key.pseudonym("user-1"));
        assert_ne!(p, key.pseudonym("user-2"));
        let e = Entry::now(EntryBody::Access(Access {
            principal: Principal::PlatformStaff {
                role: "engineer".into(),
                staff_id: "s-17".into(),
            },
            action: "read".into(),
            resource_class: DataClass::Protected,
            subject: Some(p),
            purpose: None,
            case_id: None,
            decision: Decision::Deny,
            policy_id: Some("default-deny".into()),
        }));
        let b = e.to_bytes().unwrap();
        let s = std::str::from_utf8(&b).unwrap();
        assert!(s.contains("\"kind\":\"access\""), "{s}");
        assert!(!s.contains("user-1"));
        let back = Entry::parse(&b).unwrap();
        assert_eq!(back, e);
        assert!(back.is_custody_anomaly());
        assert_eq!(back.body.subject(), Some(p));
    }

    #[test]
    fn lifecycle_entries_round_trip_and_old_entries_still_parse() {
        let staff = Principal::PlatformStaff {
            role: "operator".into(),
            staff_id: "s-1".into(),
        };
        let steps = [
            EntryBody::Lifecycle(Lifecycle {
                op_id: "op-1".into(),
                operation: "suspend".into(),
                step: "proposed".into(),
                by: staff.clone(),
                grounds: Some("court order 17".into()),
                legal_order: None,
                custodian: None,
                notice_days: None,
                effective_at: None,
            }),
            EntryBody::CustodyTransfer(CustodyTransfer {
                origin: "o".into(),
                previous_custodian: "A".into(),
                custodian: "B".into(),
                old_vkey: "o+1+a".into(),
                new_vkey: "o+2+b".into(),
                tree_size: 9,
                tree_root: "AAAA".into(),
                signature: "x".into(),
            }),
            EntryBody::RegionClosed(RegionClosed {
                region: "us".into(),
                custodian: "B".into(),
                op_id: "op-2".into(),
                grounds: "ban".into(),
                accounts_purged: 3,
                keys_destroyed: 4,
            }),
        ];
        for body in steps {
            let kind = body.kind();
            let e = Entry::now(body);
            let b = e.to_bytes().unwrap();
            assert!(
                std::str::from_utf8(&b)
                    .unwrap()
                    .contains(&format!("\"kind\":\"{kind}\"")),
                "{kind}"
            );
            assert_eq!(Entry::parse(&b).unwrap(), e);
            assert_eq!(e.body.subject(), None);
        }
        // An entry written before these kinds existed parses unchanged.
        let old = br#"{"v":1,"at":"2026-01-01T00:00:00Z","kind":"egress","batch_sha256":"00","classes":["public"],"destination":"catalog","items":1}"#;
        assert_eq!(Entry::parse(old).unwrap().body.kind(), "egress");
    }

    #[test]
    fn a_transfer_statement_cannot_pass_for_a_checkpoint() {
        let t = CustodyTransfer {
            origin: "sovereel.localhost/log/us".into(),
            previous_custodian: "A".into(),
            custodian: "B".into(),
            old_vkey: "o+1+a".into(),
            new_vkey: "o+2+b".into(),
            tree_size: 9,
            tree_root: "AAAA".into(),
            signature: String::new(),
        };
        assert!(crate::checkpoint::Checkpoint::parse(&t.statement()).is_err());
    }

    #[test]
    fn moderation_entries_from_before_steps_still_parse_as_decisions() {
        let old = br#"{"v":1,"at":"2026-01-01T00:00:00Z","kind":"moderation","case_id":"au_c","action":"label","content_id":"au_v","moderator":{"type":"custodian_staff","region":"au","role":"moderator","staff_id":"s1"},"ground":"Terms 4","facts":"f","automated":false,"redress":"appeal"}"#;
        let e = Entry::parse(old).unwrap();
        let EntryBody::Moderation(m) = &e.body else {
            panic!("{e:?}")
        };
        assert_eq!(m.step, "decision");
        assert_eq!(m.ground, "Terms 4");
        assert!(m.categories.is_empty() && m.case_opened_at.is_none());
        let back = Entry::parse(&e.to_bytes().unwrap()).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn oversized_or_garbage_entries_are_errors() {
        assert!(Entry::parse(b"{").is_err());
        assert!(
            Entry::parse(b"{\"v\":2,\"at\":\"2026-01-01T00:00:00Z\",\"kind\":\"egress\"}").is_err()
        );
        assert!(Entry::parse(&vec![b' '; 70_000]).is_err());
        let e = Entry::now(EntryBody::PolicyChange(PolicyChange {
            policy_set_sha256: "00".into(),
            previous_sha256: None,
            changed_by: Principal::System {
                component: "x".into(),
            },
            summary: "x".repeat(70_000),
        }));
        assert!(matches!(e.to_bytes(), Err(EntryError::TooLarge(_))));
    }
}
