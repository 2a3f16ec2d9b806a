//! The policy set in force. Until the Cedar policy gateway is wired in, the
//! platform's access rules are the code in `access.rs`; its statement here is
//! what the ledger's `region_config` entries commit to.

pub const POLICY_SET_TEXT: &str = "sovereel-access-rules-v1: owners read and write their own data; \
public content is readable by everyone; followers-only content by approved followers; \
private content by its owner only; blocks hide both ways; no staff access to protected data.";
