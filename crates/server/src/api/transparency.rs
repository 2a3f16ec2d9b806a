//! Transparency for users and outsiders: each user's access log with
//! inclusion proofs, and a summary of every region's log.

use std::sync::Arc;

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::state::App;

#[derive(Serialize, ToSchema)]
pub struct AccessLogItem {
    /// Index of the entry in the region's log.
    pub index: u64,
    /// The entry, parsed.
    #[schema(value_type = Object)]
    pub entry: serde_json::Value,
    /// The exact entry bytes (the Merkle leaf's data), base64.
    pub leaf_b64: String,
    /// The audit path, base64 hashes from the leaf up.
    pub proof: Vec<String>,
    pub tree_size: u64,
}

#[derive(Serialize, ToSchema)]
pub struct AccessLog {
    pub region: String,
    /// The signed checkpoint note every proof leads to.
    pub checkpoint: String,
    /// The log's verifier key, to check the checkpoint signature.
    pub vkey: String,
    pub items: Vec<AccessLogItem>,
}

/// Every ledger entry about the caller (matched by their pseudonym), with an
/// inclusion proof against the current checkpoint, so the client can verify
/// it without trusting the server.
#[utoipa::path(get, path = "/v1/me/access-log", tag = "transparency", responses((status = 200, body = AccessLog), (status = 401, body = crate::error::ProblemBody)))]
pub async fn access_log(user: AuthUser) -> ApiResult<ApiJson<AccessLog>> {
    use base64::Engine;
    let ledger = &user.home.ledger;
    let subject = ledger.pseudonym(user.id.as_str());
    // Proofs are made one by one against the checkpoint current at the
    // time; if a new checkpoint lands in between, ask again so that every
    // proof leads to the one checkpoint answered.
    let mut proofs = vec![];
    for _ in 0..5 {
        proofs = ledger
            .log
            .entries_for_subject(&subject)
            .await
            .map_err(ApiError::internal)?;
        if proofs.windows(2).all(|w| w[0].tree_size == w[1].tree_size) {
            break;
        }
    }
    let note = match proofs.last() {
        Some(p) => p.checkpoint.clone(),
        None => String::from_utf8_lossy(&ledger.log.checkpoint().note).to_string(),
    };
    let mut items = Vec::with_capacity(proofs.len());
    for p in proofs {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&p.entry)
            .map_err(ApiError::internal)?;
        let entry = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        items.push(AccessLogItem {
            index: p.index,
            entry,
            leaf_b64: p.entry,
            proof: p.proof,
            tree_size: p.tree_size,
        });
    }
    Ok(ApiJson(AccessLog {
        region: user.home.id.to_string(),
        checkpoint: note,
        vkey: ledger.vkey(),
        items,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct ReleaseSummary {
    pub id: String,
    pub approvals: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RegionTransparency {
    pub id: String,
    pub name: String,
    pub custodian: String,
    pub countries: Vec<String>,
    /// The latest published checkpoint (signed note text).
    pub checkpoint: String,
    pub tree_size: u64,
    /// The log's verifier key.
    pub vkey: String,
    /// The verifier key of this region's witness, which cosigns the other regions' logs.
    pub witness_vkey: String,
    /// Witnesses whose cosignatures the checkpoint carries.
    pub witnesses: Vec<String>,
    /// Where the log's tiles are served.
    pub log_url: String,
    pub release: ReleaseSummary,
}

#[derive(Serialize, ToSchema)]
pub struct Transparency {
    pub regions: Vec<RegionTransparency>,
}

/// Each region's custodian, latest checkpoint, witnesses and algorithm release.
#[utoipa::path(get, path = "/v1/transparency", tag = "transparency", responses((status = 200, body = Transparency)))]
pub async fn transparency(State(app): State<Arc<App>>) -> ApiJson<Transparency> {
    let witness_keys = crate::transparency::witness_verifiers(&app);
    let regions = app
        .locals()
        .filter_map(|p| Some((p, app.region_config(p.id.as_str())?)))
        .map(|(p, rc)| {
            let cp = p.ledger.log.checkpoint();
            RegionTransparency {
                id: p.id.to_string(),
                name: rc.name.clone(),
                custodian: rc.custodian.clone(),
                countries: rc.countries.clone(),
                checkpoint: String::from_utf8_lossy(&cp.note).to_string(),
                tree_size: cp.checkpoint.size,
                vkey: p.ledger.vkey(),
                witness_vkey: p.ledger.witness_vkey(),
                witnesses: crate::transparency::cosigners(&cp.note, &witness_keys),
                log_url: format!("/log/{}/", p.id),
                release: ReleaseSummary {
                    id: p.recs.active_release(),
                    approvals: vec![p.recs.custodian_vkey.clone()],
                },
            }
        })
        .collect();
    ApiJson(Transparency { regions })
}
