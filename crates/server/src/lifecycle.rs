//! A jurisdiction's lifecycle (DESIGN.md, "Jurisdiction lifecycle"): a
//! region can be suspended under a legal order, handed to a new custodian,
//! or wound down. Each operation is carried out by the region's own
//! service, and each step is on the region's ledger before it takes effect.
//!
//! # Two parties
//!
//! An operation needs two parties: a **platform operator** and an operator
//! of the **region's custodian**. One proposes, the other approves; a
//! proposal cannot be approved by its proposer, nor by anyone on the
//! proposer's side. The one exception: a suspension ordered by law may be
//! made by the custodian alone, naming the order. Anyone else (support,
//! moderators, other regions' custodians, the outgoing custodian after a
//! hand-over) is refused.
//!
//! # Where the state lives
//!
//! In the region's log, nowhere else. Every step is a `lifecycle` entry
//! (`proposed`, `approved`, `scheduled`, `done`, `cancelled`), a hand-over
//! also ends in a `custody_transfer` entry and a wind-down in
//! `region_closed`. At start the region reads these entries back in order
//! and arrives at the same state ([`Lifecycle::load`]), so a restart, or an
//! auditor replaying the log, sees exactly what the region enforces. A step
//! that was approved but not finished when the process died is finished at
//! the next start ([`resume`]).
//!
//! # What each state allows
//!
//! * `active`: everything.
//! * `suspended`: read-only. Every write of a user or staff member homed
//!   here answers 503 `/problems/region-suspended` with the grounds, from
//!   one check in front of every handler ([`guard`]); reading, logging in
//!   and out, exports and deletion requests keep working, and so do the
//!   lifecycle endpoints themselves (to resume).
//! * `winding_down`: read-only the same way, until the deadline
//!   (`/problems/region-closing`); users can still export.
//! * `closed`: nothing is left to read or write; sign-ups from the
//!   region's countries go to its configured successor or are refused
//!   (`/problems/region-closed`).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sovereel_ledger::entry::{Lifecycle as LifecycleEntry, Principal as LedgerPrincipal};
use sovereel_ledger::{Entry, EntryBody, Log};
use utoipa::ToSchema;

use crate::error::{ApiError, Kind};
use crate::plane::LocalPlane;
use crate::state::App;

/// The lifecycle state of a region, as `GET /v1/regions` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RegionState {
    Active,
    Suspended,
    WindingDown,
    Closed,
}

impl RegionState {
    pub fn as_str(self) -> &'static str {
        match self {
            RegionState::Active => "active",
            RegionState::Suspended => "suspended",
            RegionState::WindingDown => "winding_down",
            RegionState::Closed => "closed",
        }
    }
}

/// A lifecycle operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    Suspend,
    Resume,
    #[serde(alias = "handover")]
    HandOver,
    WindDown,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Suspend => "suspend",
            Operation::Resume => "resume",
            Operation::HandOver => "hand_over",
            Operation::WindDown => "wind_down",
        }
    }

    fn parse(s: &str) -> Option<Operation> {
        Some(match s {
            "suspend" => Operation::Suspend,
            "resume" => Operation::Resume,
            "hand_over" => Operation::HandOver,
            "wind_down" => Operation::WindDown,
            _ => return None,
        })
    }
}

/// The two sides of every operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    /// An operator of the platform company.
    Platform,
    /// An operator of the region's custodian in force.
    Custodian,
}

/// Who took a step: a party and the staff member's opaque id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Actor {
    pub party: Party,
    pub staff_id: String,
}

impl Actor {
    fn principal(&self, region: &str) -> LedgerPrincipal {
        match self.party {
            Party::Platform => LedgerPrincipal::PlatformStaff {
                role: "operator".into(),
                staff_id: self.staff_id.clone(),
            },
            Party::Custodian => LedgerPrincipal::CustodianStaff {
                region: region.to_string(),
                role: "operator".into(),
                staff_id: self.staff_id.clone(),
            },
        }
    }

    fn of(p: &LedgerPrincipal) -> Option<Actor> {
        match p {
            LedgerPrincipal::PlatformStaff { staff_id, .. } => Some(Actor {
                party: Party::Platform,
                staff_id: staff_id.clone(),
            }),
            LedgerPrincipal::CustodianStaff { staff_id, .. } => Some(Actor {
                party: Party::Custodian,
                staff_id: staff_id.clone(),
            }),
            _ => None,
        }
    }
}

/// The principal of the steps the region takes by itself (execution).
fn system() -> LedgerPrincipal {
    LedgerPrincipal::System {
        component: "lifecycle".into(),
    }
}

/// Where a proposal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OpState {
    Proposed,
    /// Approved and being carried out (a hand-over re-wrapping keys).
    Running,
    /// Approved; takes effect at `effective_at` (a wind-down's deadline).
    Scheduled,
    Done,
    /// Superseded before it took effect (a resume cancels a wind-down).
    Cancelled,
}

/// One lifecycle operation, as staff consoles list it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OpView {
    pub id: String,
    pub operation: Operation,
    pub state: OpState,
    pub grounds: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_order: Option<String>,
    /// The incoming custodian of a hand-over.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custodian: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice_days: Option<u32>,
    pub proposed_by: Actor,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<Actor>,
    pub proposed_at: String,
    /// When a scheduled operation takes effect.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective_at: Option<String>,
}

/// What users of the region are told (until notifications carry it too):
/// shown by `GET /v1/regions/{id}` and as a banner in the web client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Notice {
    /// `suspended`, `winding_down`, `handed_over` or `closed`.
    pub kind: String,
    pub text: String,
    pub since: String,
}

/// A region's lifecycle state as the public sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RegionStatus {
    pub state: RegionState,
    pub state_since: String,
    /// Why the region is suspended or winding down.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grounds: Option<String>,
    /// The deadline of a wind-down.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wind_down_at: Option<String>,
    /// The custodian in force (after a hand-over, the new one).
    pub custodian: String,
    /// The incoming custodian while a hand-over is being carried out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handing_over_to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<Notice>,
}

struct Op {
    view: OpView,
}

struct Inner {
    state: RegionState,
    since_ms: i64,
    grounds: Option<String>,
    wind_down_at_ms: Option<i64>,
    /// The custodian in force: the configured one, until a hand-over is
    /// approved (its staff lose access from that moment, not at the end).
    custodian: String,
    /// A hand-over approved and not yet finished.
    handing_over: Option<String>,
    ops: BTreeMap<String, Op>,
    notice: Option<Notice>,
}

/// One region's lifecycle: its state and its operations.
pub struct Lifecycle {
    region: String,
    /// The custodian named in the configuration, whose staff accounts
    /// predate any hand-over (org `custodian`).
    configured_custodian: String,
    inner: RwLock<Inner>,
    /// Proposals and approvals are decided one at a time.
    decide: tokio::sync::Mutex<()>,
    /// A hand-over or a wind-down is carried out by one task at a time.
    pub(crate) execute: tokio::sync::Mutex<()>,
}

/// An entry's time in milliseconds.
fn ms_of(entry: &Entry) -> i64 {
    (entry.at.unix_timestamp_nanos() / 1_000_000) as i64
}

const DAY_MS: i64 = 86_400_000;

/// Hand-overs wait for the log key's move (the ledger's side of it).
const HAND_OVER_READY: bool = false;

async fn hand_over(_app: &Arc<App>, _plane: &Arc<LocalPlane>, _op: &str) -> anyhow::Result<()> {
    anyhow::bail!("hand-overs are not available yet")
}

/// The kinds of entry the lifecycle is rebuilt from.
const KINDS: &[&str] = &["lifecycle", "custody_transfer", "region_closed"];

impl Lifecycle {
    fn new(region: &str, configured_custodian: &str) -> Lifecycle {
        Lifecycle {
            region: region.to_string(),
            configured_custodian: configured_custodian.to_string(),
            inner: RwLock::new(Inner {
                state: RegionState::Active,
                since_ms: 0,
                grounds: None,
                wind_down_at_ms: None,
                custodian: configured_custodian.to_string(),
                handing_over: None,
                ops: BTreeMap::new(),
                notice: None,
            }),
            decide: tokio::sync::Mutex::new(()),
            execute: tokio::sync::Mutex::new(()),
        }
    }

    /// Rebuilds the region's lifecycle from its log: every `lifecycle`,
    /// `custody_transfer` and `region_closed` entry, in log order.
    pub async fn load(
        log: &Log,
        region: &str,
        configured_custodian: &str,
    ) -> anyhow::Result<Lifecycle> {
        let lc = Lifecycle::new(region, configured_custodian);
        let mut indices: Vec<u64> = KINDS
            .iter()
            .flat_map(|k| log.entries_by_kind(k, None, usize::MAX))
            .collect();
        indices.sort_unstable();
        for i in indices {
            let bytes = log.entry(i).await?;
            let entry = Entry::parse(&bytes)?;
            lc.apply(&entry);
        }
        if lc.inner().since_ms == 0 {
            lc.write().since_ms = log
                .region_config()
                .map(|_| 0)
                .unwrap_or_else(sovereel_model::now_millis);
        }
        Ok(lc)
    }

    fn inner(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies one entry to the state: the same function at start (replay)
    /// and at run time (after the entry was appended), so both agree.
    fn apply(&self, entry: &Entry) {
        let at = ms_of(entry);
        let mut s = self.write();
        match &entry.body {
            EntryBody::Lifecycle(l) => {
                let Some(operation) = Operation::parse(&l.operation) else {
                    return;
                };
                match l.step.as_str() {
                    "proposed" => {
                        let Some(by) = Actor::of(&l.by) else { return };
                        s.ops.insert(
                            l.op_id.clone(),
                            Op {
                                view: OpView {
                                    id: l.op_id.clone(),
                                    operation,
                                    state: OpState::Proposed,
                                    grounds: l.grounds.clone().unwrap_or_default(),
                                    legal_order: l.legal_order.clone(),
                                    custodian: l.custodian.clone(),
                                    notice_days: l.notice_days,
                                    proposed_by: by,
                                    approved_by: None,
                                    proposed_at: sovereel_model::rfc3339(at),
                                    effective_at: None,
                                },
                            },
                        );
                    }
                    "approved" => {
                        let custodian = match s.ops.get_mut(&l.op_id) {
                            Some(op) => {
                                op.view.approved_by = Actor::of(&l.by);
                                op.view.state = OpState::Running;
                                op.view.custodian.clone()
                            }
                            None => return,
                        };
                        if operation == Operation::HandOver
                            && let Some(c) = custodian
                        {
                            // From this instant the outgoing custodian's
                            // staff no longer act for the region.
                            s.custodian = c;
                            s.handing_over = Some(l.op_id.clone());
                        }
                    }
                    "scheduled" => {
                        // The deadline counts from this entry, so a replay
                        // arrives at the same instant.
                        let (grounds, deadline) = match s.ops.get_mut(&l.op_id) {
                            Some(op) => {
                                let at = at + i64::from(op.view.notice_days.unwrap_or(0)) * DAY_MS;
                                op.view.state = OpState::Scheduled;
                                op.view.effective_at = Some(sovereel_model::rfc3339(at));
                                (op.view.grounds.clone(), at)
                            }
                            None => return,
                        };
                        s.state = RegionState::WindingDown;
                        s.since_ms = at;
                        s.grounds = Some(grounds.clone());
                        s.wind_down_at_ms = Some(deadline);
                        s.notice = Some(Notice {
                            kind: "winding_down".into(),
                            text: format!(
                                "This region closes on {}: {grounds}. Download your data before then; afterwards it is destroyed.",
                                sovereel_model::rfc3339(deadline)
                            ),
                            since: sovereel_model::rfc3339(at),
                        });
                    }
                    "done" => {
                        let (grounds, incoming) = match s.ops.get_mut(&l.op_id) {
                            Some(op) => {
                                op.view.state = OpState::Done;
                                (op.view.grounds.clone(), op.view.custodian.clone())
                            }
                            None => return,
                        };
                        match operation {
                            Operation::Suspend => {
                                s.state = RegionState::Suspended;
                                s.since_ms = at;
                                s.grounds = Some(grounds.clone());
                                s.notice = Some(Notice {
                                    kind: "suspended".into(),
                                    text: format!(
                                        "This region is suspended: {grounds}. You can still watch, log in and download your data, but nothing new can be posted."
                                    ),
                                    since: sovereel_model::rfc3339(at),
                                });
                            }
                            Operation::Resume => {
                                s.state = RegionState::Active;
                                s.since_ms = at;
                                s.grounds = None;
                                s.wind_down_at_ms = None;
                                s.notice = None;
                            }
                            Operation::HandOver => {
                                s.handing_over = None;
                                if let Some(c) = incoming {
                                    s.notice = Some(Notice {
                                        kind: "handed_over".into(),
                                        text: format!("Your data is now held by {c}."),
                                        since: sovereel_model::rfc3339(at),
                                    });
                                    s.custodian = c;
                                }
                            }
                            Operation::WindDown => {
                                s.state = RegionState::Closed;
                                s.since_ms = at;
                                s.notice = Some(Notice {
                                    kind: "closed".into(),
                                    text: format!("This region has closed: {grounds}."),
                                    since: sovereel_model::rfc3339(at),
                                });
                            }
                        }
                    }
                    "cancelled" => {
                        if let Some(op) = s.ops.get_mut(&l.op_id) {
                            op.view.state = OpState::Cancelled;
                        }
                    }
                    _ => {}
                }
            }
            EntryBody::RegionClosed(_) => {
                s.state = RegionState::Closed;
                s.since_ms = at;
            }
            _ => {}
        }
    }

    /// The public state.
    pub fn status(&self) -> RegionStatus {
        let s = self.inner();
        let incoming = s
            .handing_over
            .as_ref()
            .and_then(|id| s.ops.get(id))
            .and_then(|op| op.view.custodian.clone());
        RegionStatus {
            state: s.state,
            state_since: sovereel_model::rfc3339(s.since_ms),
            grounds: s.grounds.clone(),
            wind_down_at: s.wind_down_at_ms.map(sovereel_model::rfc3339),
            custodian: s.custodian.clone(),
            handing_over_to: incoming,
            notice: s.notice.clone(),
        }
    }

    pub fn state(&self) -> RegionState {
        self.inner().state
    }

    /// The custodian in force.
    pub fn custodian(&self) -> String {
        self.inner().custodian.clone()
    }

    /// Every operation, newest first.
    pub fn ops(&self) -> Vec<OpView> {
        let mut v: Vec<OpView> = self.inner().ops.values().map(|o| o.view.clone()).collect();
        v.sort_by(|a, b| b.proposed_at.cmp(&a.proposed_at).then(b.id.cmp(&a.id)));
        v
    }

    pub fn op(&self, id: &str) -> Option<OpView> {
        self.inner().ops.get(id).map(|o| o.view.clone())
    }

    /// The org a staff account of the custodian in force carries:
    /// `custodian` for the configured custodian's staff (accounts made
    /// before any hand-over), `custodian:<name>` for a later custodian's.
    pub fn staff_org(&self) -> String {
        let c = self.custodian();
        if c == self.configured_custodian {
            "custodian".into()
        } else {
            format!("custodian:{c}")
        }
    }

    /// Whether a staff account of this region with `org` acts for it now:
    /// platform staff always (within their own policies), a custodian's
    /// staff only while their custodian is the one in force.
    pub fn staff_may_act(&self, org: &str) -> bool {
        if org == "platform" {
            return true;
        }
        let custodian = self.custodian();
        match org.strip_prefix("custodian:") {
            Some(name) => name == custodian,
            None => org == "custodian" && custodian == self.configured_custodian,
        }
    }

    /// Why a write by someone homed here is refused now, if it is.
    pub fn write_refusal(&self) -> Option<ApiError> {
        let s = self.inner();
        match s.state {
            RegionState::Active => None,
            RegionState::Suspended => Some(ApiError::new(
                Kind::RegionSuspended,
                format!(
                    "region `{}` is suspended since {}: {}. Reading, logging in and exporting your data still work.",
                    self.region,
                    sovereel_model::rfc3339(s.since_ms),
                    s.grounds.as_deref().unwrap_or("no grounds recorded")
                ),
            )),
            RegionState::WindingDown => Some(ApiError::new(
                Kind::RegionClosing,
                format!(
                    "region `{}` is winding down and closes on {}: {}. Export your data before then.",
                    self.region,
                    s.wind_down_at_ms
                        .map(sovereel_model::rfc3339)
                        .unwrap_or_else(|| "its deadline".into()),
                    s.grounds.as_deref().unwrap_or("no grounds recorded")
                ),
            )),
            RegionState::Closed => Some(ApiError::new(
                Kind::RegionClosed,
                format!("region `{}` has closed", self.region),
            )),
        }
    }
}

/// A proposal as staff send it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Proposal {
    pub operation: Operation,
    /// Why: public, on the ledger and in `GET /v1/regions/{id}`.
    pub grounds: String,
    /// The incoming custodian of a hand-over.
    pub custodian: Option<IncomingCustodian>,
    /// Days of notice before a wind-down takes effect (0 to 365).
    pub notice_days: Option<u32>,
    /// The reference of the legal order behind a suspension the custodian
    /// makes alone (it then takes effect at once, with no approval).
    pub legal_order: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncomingCustodian {
    pub name: String,
}

/// Text an operator gives (grounds, a name, an order's reference): 1 to
/// `max` characters, no control characters, trimmed.
fn clean_text(field: &str, s: &str, max: usize) -> Result<String, ApiError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(ApiError::new(
            Kind::InvalidField,
            format!("`{field}` must not be empty"),
        ));
    }
    if t.chars().count() > max {
        return Err(ApiError::new(
            Kind::InvalidField,
            format!("`{field}` is at most {max} characters"),
        ));
    }
    if t.chars().any(|c| c.is_control()) {
        return Err(ApiError::new(
            Kind::InvalidField,
            format!("`{field}` must not contain control characters"),
        ));
    }
    Ok(t.to_string())
}

/// Whether `operation` may start from `state` (checked at proposal and
/// again at approval, since the state may have moved in between).
fn allowed_from(
    operation: Operation,
    state: RegionState,
    handing_over: bool,
) -> Result<(), ApiError> {
    let ok = match operation {
        Operation::Suspend => state == RegionState::Active,
        Operation::Resume => matches!(state, RegionState::Suspended | RegionState::WindingDown),
        Operation::HandOver => {
            matches!(state, RegionState::Active | RegionState::Suspended) && !handing_over
        }
        Operation::WindDown => matches!(state, RegionState::Active | RegionState::Suspended),
    };
    if ok {
        return Ok(());
    }
    let why = if handing_over && operation == Operation::HandOver {
        "a hand-over is already being carried out".to_string()
    } else {
        format!(
            "a region that is {} cannot be asked to {}",
            state.as_str(),
            operation.as_str().replace('_', " ")
        )
    };
    Err(ApiError::new(Kind::Conflict, why))
}

impl Lifecycle {
    /// Appends a step to the ledger, then applies it: nothing takes effect
    /// that the log does not say.
    async fn record(&self, plane: &LocalPlane, step: LifecycleEntry) -> Result<(), ApiError> {
        let entry = Entry::now(EntryBody::Lifecycle(step));
        plane
            .ledger
            .log
            .append_entry(&entry)
            .await
            .map_err(ApiError::unrecorded)?;
        self.apply(&entry);
        self.record_config(plane).await;
        Ok(())
    }

    /// The region's `region_config` entry follows its state and custodian.
    async fn record_config(&self, plane: &LocalPlane) {
        let Some(mut c) = plane.ledger.log.region_config() else {
            return;
        };
        let status = self.status();
        c.custodian = status.custodian;
        c.status = status.state.as_str().to_string();
        c.log_vkey = plane.ledger.log.vkey();
        if let Err(e) = plane.ledger.log.ensure_region_config(&c).await {
            tracing::warn!(region = %plane.id, error = %e, "recording the region configuration");
        }
    }

    fn step(&self, op: &OpView, step: &str, by: LedgerPrincipal) -> LifecycleEntry {
        LifecycleEntry {
            op_id: op.id.clone(),
            operation: op.operation.as_str().into(),
            step: step.into(),
            by,
            grounds: None,
            legal_order: None,
            custodian: op.custodian.clone(),
            notice_days: None,
            effective_at: None,
        }
    }

    /// A party proposes an operation. A suspension the custodian makes
    /// alone under a legal order takes effect at once.
    pub async fn propose(
        &self,
        app: &Arc<App>,
        plane: &Arc<LocalPlane>,
        actor: &Actor,
        p: &Proposal,
    ) -> Result<OpView, ApiError> {
        let grounds = clean_text("grounds", &p.grounds, 2000)?;
        let custodian = match (p.operation, &p.custodian) {
            (Operation::HandOver, Some(c)) => {
                let name = clean_text("custodian.name", &c.name, 100)?;
                if name == self.custodian() {
                    return Err(ApiError::new(
                        Kind::InvalidField,
                        "`custodian.name` is already the region's custodian",
                    ));
                }
                Some(name)
            }
            (Operation::HandOver, None) => {
                return Err(ApiError::new(
                    Kind::InvalidField,
                    "a hand-over names the incoming custodian: `custodian: {name}`",
                ));
            }
            (_, Some(_)) => {
                return Err(ApiError::new(
                    Kind::InvalidField,
                    "`custodian` belongs to a hand-over only",
                ));
            }
            (_, None) => None,
        };
        let notice_days = match (p.operation, p.notice_days) {
            (Operation::WindDown, Some(d)) if d <= 365 => Some(d),
            (Operation::WindDown, Some(_)) => {
                return Err(ApiError::new(
                    Kind::InvalidField,
                    "`notice_days` is 0 to 365",
                ));
            }
            (Operation::WindDown, None) => {
                return Err(ApiError::new(
                    Kind::InvalidField,
                    "a wind-down gives `notice_days` (0 to 365)",
                ));
            }
            (_, Some(_)) => {
                return Err(ApiError::new(
                    Kind::InvalidField,
                    "`notice_days` belongs to a wind-down only",
                ));
            }
            (_, None) => None,
        };
        let legal_order = match (&p.legal_order, p.operation, actor.party) {
            (None, _, _) => None,
            (Some(o), Operation::Suspend, Party::Custodian) => {
                Some(clean_text("legal_order", o, 200)?)
            }
            (Some(_), _, _) => {
                return Err(ApiError::new(
                    Kind::InvalidField,
                    "`legal_order` is for a suspension the custodian makes alone",
                ));
            }
        };
        let _d = self.decide.lock().await;
        {
            let s = self.inner();
            allowed_from(p.operation, s.state, s.handing_over.is_some())?;
        }
        let op_id = format!("lc_{}", sovereel_model::random_hex(10));
        self.record(
            plane,
            LifecycleEntry {
                op_id: op_id.clone(),
                operation: p.operation.as_str().into(),
                step: "proposed".into(),
                by: actor.principal(&self.region),
                grounds: Some(grounds),
                legal_order: legal_order.clone(),
                custodian,
                notice_days,
                effective_at: None,
            },
        )
        .await?;
        let op = self
            .op(&op_id)
            .ok_or_else(|| ApiError::internal("proposal vanished"))?;
        if legal_order.is_some() {
            // Ordered by law: the custodian alone, at once.
            self.carry_out(app, plane, &op, actor.principal(&self.region))
                .await?;
            return self
                .op(&op_id)
                .ok_or_else(|| ApiError::internal("proposal vanished"));
        }
        Ok(op)
    }

    /// The other party approves. Answers the operation as it then stands:
    /// `done`, `scheduled` (a wind-down with notice) or `running` (a
    /// hand-over still re-wrapping keys; it finishes by itself).
    pub async fn approve(
        &self,
        app: &Arc<App>,
        plane: &Arc<LocalPlane>,
        actor: &Actor,
        op_id: &str,
    ) -> Result<OpView, ApiError> {
        let _d = self.decide.lock().await;
        let op = self
            .op(op_id)
            .ok_or_else(|| ApiError::not_found("lifecycle operation"))?;
        if op.state != OpState::Proposed {
            return Err(ApiError::new(
                Kind::Conflict,
                format!(
                    "this operation is {} and cannot be approved",
                    serde_json::to_value(op.state)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                ),
            ));
        }
        if op.proposed_by.staff_id == actor.staff_id {
            return Err(ApiError::new(
                Kind::Forbidden,
                "you proposed this operation; the other party must approve it",
            ));
        }
        if op.proposed_by.party == actor.party {
            return Err(ApiError::new(
                Kind::Forbidden,
                "this was proposed by your side; the other party must approve it",
            ));
        }
        {
            let s = self.inner();
            allowed_from(op.operation, s.state, s.handing_over.is_some())?;
        }
        self.carry_out(app, plane, &op, actor.principal(&self.region))
            .await?;
        self.op(op_id)
            .ok_or_else(|| ApiError::internal("operation vanished"))
    }

    /// Records the approval and carries the operation out.
    async fn carry_out(
        &self,
        app: &Arc<App>,
        plane: &Arc<LocalPlane>,
        op: &OpView,
        by: LedgerPrincipal,
    ) -> Result<(), ApiError> {
        self.record(plane, self.step(op, "approved", by)).await?;
        match op.operation {
            Operation::Suspend => self.record(plane, self.step(op, "done", system())).await,
            Operation::Resume => {
                // A resume cancels a wind-down still in its notice period.
                let scheduled: Vec<OpView> = self
                    .ops()
                    .into_iter()
                    .filter(|o| o.operation == Operation::WindDown && o.state == OpState::Scheduled)
                    .collect();
                for w in scheduled {
                    self.record(plane, self.step(&w, "cancelled", system()))
                        .await?;
                }
                self.record(plane, self.step(op, "done", system())).await
            }
            Operation::WindDown => {
                let days = op.notice_days.unwrap_or(0);
                // For readers of the log; the state counts from the entry's
                // own time (whole seconds, as entries are stamped).
                let now = sovereel_model::now_millis() / 1000 * 1000;
                let mut step = self.step(op, "scheduled", system());
                step.notice_days = Some(days);
                step.effective_at = Some(sovereel_model::rfc3339(now + i64::from(days) * DAY_MS));
                self.record(plane, step).await?;
                if days == 0 {
                    // No notice: carried out now, in the request.
                    wind_down(app, plane, &op.id)
                        .await
                        .map_err(ApiError::internal)?;
                }
                Ok(())
            }
            Operation::HandOver if !HAND_OVER_READY => Err(ApiError::new(
                Kind::Conflict,
                "hand-overs are not available yet",
            )),
            Operation::HandOver => {
                // The outgoing custodian's staff lose access with the
                // approval (the custodian in force changed); the keys and
                // the log move in the background, resumably. The answer
                // waits a little, so a small region answers `done`.
                let (app, plane, id) = (app.clone(), plane.clone(), op.id.clone());
                let task = tokio::spawn(async move { hand_over(&app, &plane, &id).await });
                match tokio::time::timeout(std::time::Duration::from_secs(20), task).await {
                    Ok(Ok(Ok(()))) | Err(_) => Ok(()),
                    Ok(Ok(Err(e))) => Err(ApiError::internal(e)),
                    Ok(Err(e)) => Err(ApiError::internal(e)),
                }
            }
        }
    }
}

/// Finishes, at start, what a previous run of this region left under way:
/// a hand-over approved but not done, a wind-down past its deadline.
pub async fn resume(app: &Arc<App>) {
    for plane in app.locals() {
        let running = plane
            .lifecycle
            .ops()
            .into_iter()
            .find(|o| o.operation == Operation::HandOver && o.state == OpState::Running);
        if let Some(op) = running {
            let (app, plane) = (app.clone(), plane.clone());
            tokio::spawn(async move {
                if let Err(e) = hand_over(&app, &plane, &op.id).await {
                    tracing::error!(region = %plane.id, error = %e, "resuming a hand-over failed; it is retried at the next start");
                }
            });
        }
    }
    tick(app).await;
}

/// Carries out every wind-down whose deadline has passed (called every
/// few seconds by the server).
pub async fn tick(app: &Arc<App>) {
    let now = sovereel_model::now_millis();
    for plane in app.locals() {
        let due = {
            let s = plane.lifecycle.inner();
            (s.state == RegionState::WindingDown && s.wind_down_at_ms.is_some_and(|t| t <= now))
                .then(|| {
                    s.ops
                        .values()
                        .find(|o| {
                            o.view.operation == Operation::WindDown
                                && o.view.state == OpState::Scheduled
                        })
                        .map(|o| o.view.id.clone())
                })
                .flatten()
        };
        // One at a time: a wind-down under way holds the lock.
        if let Some(id) = due
            && plane.lifecycle.execute.try_lock().is_ok()
        {
            let (app, plane) = (app.clone(), plane.clone());
            tokio::spawn(async move {
                if let Err(e) = wind_down(&app, &plane, &id).await {
                    tracing::error!(region = %plane.id, error = %e, "wind-down failed; retrying");
                }
            });
        }
    }
}

async fn append_all(plane: &LocalPlane, entries: Vec<Entry>) -> anyhow::Result<()> {
    // Appended together, so the sequencer batches them.
    let appends = entries.iter().map(|e| plane.ledger.log.append_entry(e));
    futures::future::try_join_all(appends).await?;
    Ok(())
}

fn key_destroyed(
    plane: &LocalPlane,
    class: &str,
    fingerprint: String,
    user: Option<&str>,
    reason: &str,
) -> Entry {
    Entry::now(EntryBody::KeyDestroyed(
        sovereel_ledger::entry::KeyDestroyed {
            key_class: class.into(),
            key_fingerprint: fingerprint,
            subject: user.map(|u| plane.ledger.pseudonym(u)),
            reason: reason.into(),
        },
    ))
}

/// Carries out a wind-down at its deadline.
///
/// # Why the steps happen in this order
///
/// Every step can be interrupted by a crash and is repeated by the next
/// run (at start, or at the next tick) until `region_closed` is written;
/// none undoes an earlier one.
///
/// 1. **Data keys, receipt first.** For each batch of users, their
///    `key_destroyed` receipts are appended, then their keys destroyed.
///    From a key's destruction on, nothing sealed with it opens, whatever
///    later step a crash interrupts. A crash between the receipts and the
///    destruction repeats that batch's receipts; none is ever missing.
/// 2. **The KEK.** Destroyed after the last data key (its directory keeps
///    a tombstone and never makes another key), with any key file no user
///    row named, each with its receipt.
/// 3. **Rows and media.** Each user's rows are purged with the outbox
///    change that removes their public content from the catalog, which the
///    relay applies before the next user; their media objects and exports
///    are deleted; then the databases are compacted (freed pages zeroed,
///    the WAL truncated).
/// 4. **The engine** forgets them.
/// 5. **The log closes**: the operation's `done`, the last `region_config`
///    (status `closed`), and `region_closed` as the very last entry,
///    cosigned by the witnesses like every checkpoint.
pub async fn wind_down(app: &Arc<App>, plane: &Arc<LocalPlane>, op_id: &str) -> anyhow::Result<()> {
    let lc = plane.lifecycle.clone();
    let _x = lc.execute.lock().await;
    if lc.state() == RegionState::Closed {
        return Ok(());
    }
    let op = lc
        .op(op_id)
        .ok_or_else(|| anyhow::anyhow!("no wind-down {op_id}"))?;
    const REASON: &str = "region wound down";
    let mut keys_destroyed = 0u64;
    // 1. Data keys, receipt first.
    let mut after: Option<String> = None;
    loop {
        let ids = plane.store.user_ids(after.as_deref(), 500).await?;
        let Some(last) = ids.last().cloned() else {
            break;
        };
        let mut receipts = vec![];
        let mut users = vec![];
        for id in &ids {
            let user = sovereel_model::UserId::parse(id)?;
            if let Some(fp) = plane.keyring.key_fingerprint(&user)? {
                receipts.push(key_destroyed(plane, "dek", fp, Some(id), REASON));
                users.push(user);
            }
        }
        append_all(plane, receipts).await?;
        for user in users {
            match plane.keyring.destroy_user_key(&user) {
                Ok(_) => keys_destroyed += 1,
                Err(sovereel_custody::KeyError::NoUserKey) => {}
                Err(e) => return Err(e.into()),
            }
        }
        after = Some(last);
    }
    // 2. The KEK, and any key no user row named.
    let rest = plane.keyring.destroy_all()?;
    keys_destroyed += rest.len() as u64;
    append_all(
        plane,
        rest.iter()
            .map(|r| {
                key_destroyed(
                    plane,
                    r.key_class,
                    r.fingerprint.clone(),
                    r.user.as_ref().map(|u| u.as_str()),
                    REASON,
                )
            })
            .collect(),
    )
    .await?;
    // 3. Rows, public content, media, exports.
    let mut accounts = 0u64;
    loop {
        let ids = plane.store.user_ids(None, 200).await?;
        if ids.is_empty() {
            break;
        }
        for id in ids {
            let handle = plane
                .store
                .user(&id)
                .await?
                .map(|u| u.handle)
                .unwrap_or_default();
            let out = vec![sovereel_store::OutboxItem::new(
                sovereel_store::Target::Catalog,
                sovereel_store::Change::PurgeUser {
                    user_id: id.clone(),
                    handle,
                },
            )];
            let media = plane.store.purge_user(&id, &out).await?;
            app.relay(plane).await?;
            for key in media {
                if let Err(e) = plane.media.delete(&key).await {
                    tracing::warn!(error = %e, "deleting a wound-down region's media");
                }
            }
            let user = sovereel_model::UserId::parse(&id)?;
            let _ = tokio::fs::remove_dir_all(crate::export::exports_dir(app, plane, &user)).await;
            // 4. The engine forgets them.
            plane.recs.lock().forget_user(&id);
            accounts += 1;
        }
    }
    let exports = app
        .config
        .data_dir
        .join("regions")
        .join(plane.id.as_str())
        .join("exports");
    let _ = tokio::fs::remove_dir_all(&exports).await;
    plane.store.compact().await?;
    app.catalog.compact().await?;
    if let Err(e) = plane.recs.snapshot() {
        tracing::warn!(region = %plane.id, error = %e, "model snapshot after wind-down");
    }
    // 5. The log closes.
    lc.record(plane, lc.step(&op, "done", system()))
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.detail))?;
    let closed = Entry::now(EntryBody::RegionClosed(
        sovereel_ledger::entry::RegionClosed {
            region: plane.id.to_string(),
            custodian: lc.custodian(),
            op_id: op.id.clone(),
            grounds: op.grounds.clone(),
            accounts_purged: accounts,
            keys_destroyed,
        },
    ));
    plane.ledger.log.append_entry(&closed).await?;
    lc.apply(&closed);
    tracing::info!(region = %plane.id, accounts, keys_destroyed, "region wound down; its log is closed");
    Ok(())
}

/// The region a caller is homed at, from their session token's prefix
/// (`us.<random>` for a user, `staff.us.<random>` for staff), and whether
/// they are staff. The token itself is checked later, by the handler.
fn caller_home(req: &Request) -> Option<(String, bool)> {
    let (parts, ()) = Request::from_parts(req_parts_clone(req), ()).into_parts();
    let token = crate::auth::request_token(&parts).or_else(|| {
        // The staff cookie has its own name.
        parts
            .headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|s| s.split(';'))
            .filter_map(|p| p.trim().split_once('='))
            .find(|(k, v)| *k == crate::api::staff::COOKIE && !v.is_empty())
            .map(|(_, v)| v.to_string())
    })?;
    match token.strip_prefix("staff.") {
        Some(rest) => rest.split_once('.').map(|(r, _)| (r.to_string(), true)),
        None => token.split_once('.').map(|(r, _)| (r.to_string(), false)),
    }
}

/// The request's head without its body (headers are what the token needs).
fn req_parts_clone(req: &Request) -> axum::http::request::Parts {
    let mut b = Request::builder()
        .method(req.method().clone())
        .uri(req.uri().clone());
    if let Some(h) = b.headers_mut() {
        *h = req.headers().clone();
    }
    b.body(()).expect("a request head").into_parts().0
}

/// Writes that stay open while a region is read-only: getting in and out,
/// taking one's data away, the inbox, and the lifecycle itself.
fn open_while_read_only(method: &Method, path: &str) -> bool {
    let seg: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    matches!(
        (method, seg.as_slice()),
        (&Method::POST, ["v1", "sessions"])
            | (&Method::DELETE, ["v1", "sessions", "current"])
            | (&Method::POST, ["v1", "me", "exports"])
            | (&Method::DELETE, ["v1", "me"])
            | (&Method::POST, ["v1", "me", "notifications", "read"])
            | (&Method::POST, ["v1", "staff", "sessions"])
            | (&Method::DELETE, ["v1", "staff", "sessions", "current"])
            | (&Method::POST, ["v1", "staff", "regions", _, "lifecycle"])
            | (
                &Method::POST,
                ["v1", "staff", "regions", _, "lifecycle", _, "approve"]
            )
            | (&Method::POST, ["v1", "staff", "regions", _, "exports"])
    )
}

/// The one check on the write path: a write (any method but GET, HEAD and
/// OPTIONS) by a caller homed in a region that is not active is refused
/// before any handler runs, naming the grounds. Sign-ups carry no token;
/// their home follows from the country ([`signup_home`]).
pub async fn guard(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let read = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if read || !req.uri().path().starts_with("/v1/") {
        return next.run(req).await;
    }
    if open_while_read_only(req.method(), req.uri().path()) {
        return next.run(req).await;
    }
    if let Some((home, _staff)) = caller_home(&req)
        && let Some(plane) = app.local(&home)
        && let Some(refusal) = plane.lifecycle.write_refusal()
    {
        return refusal.into_response();
    }
    next.run(req).await
}

/// The home region of a new account from `country`: the region listing
/// it, unless that region no longer takes sign-ups. A suspended or
/// winding-down region refuses them (read-only); a closed one sends them
/// to its configured `successor`, or refuses them saying so.
pub fn signup_home(app: &App, country: &str) -> Result<String, ApiError> {
    let mut home = app.home_of_country(country).to_string();
    // Successors can chain (a closed region's successor closed too); the
    // bound stops a misconfigured cycle.
    for _ in 0..app.config.regions.len() {
        let Some(plane) = app.local(&home) else {
            return Ok(home);
        };
        match plane.lifecycle.state() {
            RegionState::Active => return Ok(home),
            RegionState::Closed => {
                let successor = app.region_config(&home).and_then(|r| r.successor.clone());
                match successor {
                    Some(next) => home = next,
                    None => {
                        return Err(ApiError::new(
                            Kind::RegionClosed,
                            format!(
                                "the region that holds the data of users from {country} (`{home}`) has closed, and no other region takes its sign-ups"
                            ),
                        ));
                    }
                }
            }
            _ => {
                return Err(plane
                    .lifecycle
                    .write_refusal()
                    .unwrap_or_else(|| ApiError::internal("no refusal")));
            }
        }
    }
    Err(ApiError::new(
        Kind::RegionClosed,
        format!("no open region takes sign-ups from {country}"),
    ))
}

/// What starting an export answers: the job, or (where exports are
/// limited) why none was started.
trait Admitted {
    fn admitted(self) -> Result<(), ApiError>;
}

impl Admitted for crate::export::ExportJob {
    fn admitted(self) -> Result<(), ApiError> {
        Ok(())
    }
}

impl Admitted for Result<crate::export::ExportJob, ApiError> {
    fn admitted(self) -> Result<(), ApiError> {
        self.map(|_| ())
    }
}

/// Starts an export for every user of the region at once (an operator's
/// step while the region is suspended or winding down). Answers how many
/// were started and how many already had one under way.
pub async fn export_everyone(
    app: &Arc<App>,
    plane: &Arc<LocalPlane>,
) -> Result<(u64, u64), ApiError> {
    let mut started = 0;
    let mut under_way = 0;
    let mut after: Option<String> = None;
    loop {
        let ids = plane.store.user_ids(after.as_deref(), 500).await?;
        let Some(last) = ids.last().cloned() else {
            break;
        };
        for id in ids {
            let user = sovereel_model::UserId::parse(&id).map_err(ApiError::internal)?;
            match crate::export::start(app.clone(), plane.clone(), user).admitted() {
                Ok(()) => started += 1,
                Err(e) if e.kind.slug() == "export-in-progress" => under_way += 1,
                Err(e) => return Err(e),
            }
        }
        after = Some(last);
    }
    Ok((started, under_way))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_regions_keep_log_in_exports_and_their_own_lifecycle_open() {
        for (m, p) in [
            (Method::POST, "/v1/sessions"),
            (Method::POST, "/v1/me/exports"),
            (Method::POST, "/v1/staff/regions/us/lifecycle"),
            (Method::POST, "/v1/staff/regions/us/lifecycle/lc_1/approve"),
        ] {
            assert!(open_while_read_only(&m, p), "{m} {p}");
        }
        for (m, p) in [
            (Method::POST, "/v1/videos"),
            (Method::PUT, "/v1/videos/us_x/like"),
            (Method::POST, "/v1/videos/us_x/comments"),
            (Method::PATCH, "/v1/me"),
            (Method::POST, "/v1/events"),
            (
                Method::POST,
                "/v1/staff/regions/us/lifecycle/lc_1/approve/x",
            ),
        ] {
            assert!(!open_while_read_only(&m, p), "{m} {p}");
        }
    }

    #[test]
    fn operations_start_only_from_the_states_that_allow_them() {
        use Operation::*;
        use RegionState::*;
        assert!(allowed_from(Suspend, Active, false).is_ok());
        assert!(allowed_from(Suspend, Suspended, false).is_err());
        assert!(allowed_from(Resume, Active, false).is_err());
        assert!(allowed_from(Resume, WindingDown, false).is_ok());
        assert!(allowed_from(HandOver, Suspended, false).is_ok());
        assert!(allowed_from(HandOver, Active, true).is_err());
        for op in [Suspend, Resume, HandOver, WindDown] {
            assert!(allowed_from(op, Closed, false).is_err());
        }
    }

    #[test]
    fn staff_of_the_custodian_in_force_act_and_no_one_else() {
        let lc = Lifecycle::new("us", "First Trust");
        assert!(lc.staff_may_act("custodian"));
        assert!(lc.staff_may_act("platform"));
        assert!(!lc.staff_may_act("custodian:Next Trust"));
        lc.write().custodian = "Next Trust".into();
        assert!(!lc.staff_may_act("custodian"));
        assert!(lc.staff_may_act("custodian:Next Trust"));
        assert!(!lc.staff_may_act("custodian:First Trust"));
        assert!(!lc.staff_may_act("anything"));
        assert_eq!(lc.staff_org(), "custodian:Next Trust");
    }
}
