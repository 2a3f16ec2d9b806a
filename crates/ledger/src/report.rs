//! The transparency report: what a region's log says about moderation,
//! staff access, data requests, egress and releases over a period, computed
//! from the log's entries alone. The platform serves it
//! (`GET /v1/transparency/report`) and an auditor recomputes it with
//! `sovereel audit report`, after verifying the log; the two must agree,
//! because they run this code over the same signed entries.
//!
//! A report covers one contiguous index range of the log: from the first
//! entry stamped at or after `from` to the last one stamped before `to`
//! (entries are stamped when appended, so the stamps rise with the index;
//! a report counts every entry of its range, so anyone can recompute it
//! from the range alone). Every figure names that range.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::entry::{Decision, Entry, EntryBody, Principal};
use crate::storage::TileSource;
use crate::tiles::{TILE_WIDTH, TileKind, decode_bundle, tile_in_tree};

/// The period a report covers; open ends cover the whole log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Period {
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
}

/// Log indexes `[start, end)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexRange {
    pub start: u64,
    pub end: u64,
}

/// One figure and the index range of the log it was computed from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    pub value: u64,
    pub range: IndexRange,
}

/// Counts by name, each a figure.
pub type Breakdown = BTreeMap<String, Figure>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionFigures {
    pub total: Figure,
    /// `label`, `restrict`, `remove`, `dismiss`, `demote`, `promote`.
    pub by_action: Breakdown,
    /// Report categories; a decision counts once under each of its categories.
    pub by_category: Breakdown,
    /// `terms` or `law`.
    pub by_ground: Breakdown,
    /// `automated` or `manual`.
    pub by_automation: Breakdown,
    /// Median seconds from a case's opening to its decision, when any.
    pub median_seconds_to_decision: Option<Figure>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppealFigures {
    pub received: Figure,
    pub decided: Figure,
    pub upheld: Figure,
    pub reversed: Figure,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionReport {
    /// The log's origin (its name in checkpoints).
    pub origin: String,
    /// The size of the log the report was computed over.
    pub tree_size: u64,
    /// The period asked for (RFC 3339), when bounded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// The entries the report covers.
    pub range: IndexRange,
    pub reports: Figure,
    pub decisions: DecisionFigures,
    pub appeals: AppealFigures,
    /// Editorial interventions (promote, demote, restrict taken without a
    /// report), by action. They are decisions too, but not about reports,
    /// so they count here and not in `decisions` or its median.
    #[serde(default)]
    pub interventions: Breakdown,
    /// Staff accesses to protected data allowed, by `<org>:<role>`.
    pub staff_accesses: Breakdown,
    /// Staff accesses refused, by `<org>:<role>`.
    pub staff_denials: Breakdown,
    /// Users' data requests (exports, deletions) received: one per request.
    pub data_requests: Figure,
    /// Batches that left the region through the egress gateway.
    pub egress_batches: Figure,
    /// Algorithm release steps (proposals and approvals).
    pub releases: Figure,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot read the log: {0}")]
    Fetch(String),
    #[error("entry {0} of the log cannot be read: {1}")]
    Entry(u64, String),
}

/// Reads entries `[0, size)` of a log, a bundle at a time, handing each to `f`.
pub async fn for_each_entry(
    src: &dyn TileSource,
    size: u64,
    mut f: impl FnMut(u64, &Bytes),
) -> Result<(), ReportError> {
    let tiles = size.div_ceil(TILE_WIDTH);
    for n in 0..tiles {
        let t = tile_in_tree(TileKind::Entries, n, size)
            .ok_or_else(|| ReportError::Fetch("tile arithmetic".into()))?;
        let bytes = src
            .fetch(&t.path())
            .await
            .map_err(|e| ReportError::Fetch(format!("{}: {e}", t.path())))?
            .ok_or_else(|| ReportError::Fetch(format!("{} is missing", t.path())))?;
        let entries = decode_bundle(&t, &bytes)
            .map_err(|e| ReportError::Fetch(format!("{}: {e}", t.path())))?;
        for (i, e) in entries.iter().enumerate() {
            f(n * TILE_WIDTH + i as u64, e);
        }
    }
    Ok(())
}

/// Computes a region's report over the first `size` entries of its log.
pub async fn compute(
    src: &dyn TileSource,
    origin: &str,
    size: u64,
    period: Period,
) -> Result<RegionReport, ReportError> {
    let mut entries: Vec<(u64, Entry)> = vec![];
    let mut bad: Option<(u64, String)> = None;
    for_each_entry(src, size, |i, bytes| match Entry::parse(bytes) {
        Ok(e) => entries.push((i, e)),
        // Entries this version does not know (a newer kind) are not
        // counted, but a malformed one makes the report fail: its figures
        // would silently miss it.
        Err(crate::entry::EntryError::Json(err)) if is_unknown_kind(bytes) => {
            let _ = err;
        }
        Err(err) => {
            if bad.is_none() {
                bad = Some((i, err.to_string()));
            }
        }
    })
    .await?;
    if let Some((i, why)) = bad {
        return Err(ReportError::Entry(i, why));
    }
    Ok(tally(origin, size, period, &entries))
}

/// A well-formed entry of a kind this version does not parse.
fn is_unknown_kind(bytes: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Head {
        v: u32,
        kind: String,
    }
    serde_json::from_slice::<Head>(bytes)
        .map(|h| {
            h.v == crate::entry::ENTRY_VERSION
                && !matches!(
                    h.kind.as_str(),
                    "region_config"
                        | "access"
                        | "egress"
                        | "release"
                        | "policy_change"
                        | "moderation"
                        | "key_destroyed"
                        | "data_request"
                )
        })
        .unwrap_or(false)
}

/// A period bound: RFC 3339 (`2026-03-01T00:00:00Z`) or a date
/// (`2026-03-01`, midnight UTC).
pub fn parse_when(s: &str) -> Result<OffsetDateTime, String> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(t);
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, &fmt)
        .map(|d| d.midnight().assume_utc())
        .map_err(|_| format!("`{s}` is neither an RFC 3339 time nor a date (YYYY-MM-DD)"))
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The figures of `entries` (index order) in `period`.
pub fn tally(origin: &str, size: u64, period: Period, entries: &[(u64, Entry)]) -> RegionReport {
    let start = entries
        .iter()
        .find(|(_, e)| period.from.is_none_or(|f| e.at >= f))
        .map(|(i, _)| *i)
        .unwrap_or(size);
    let end = entries
        .iter()
        .rev()
        .find(|(_, e)| period.to.is_none_or(|t| e.at < t))
        .map(|(i, _)| i + 1)
        .unwrap_or(start)
        .max(start);
    let range = IndexRange { start, end };
    let fig = |value: u64| Figure { value, range };
    let count = |m: &mut BTreeMap<String, u64>, k: &str| *m.entry(k.to_string()).or_default() += 1;

    let (mut reports, mut decisions) = (0u64, 0u64);
    let (mut by_action, mut by_category, mut by_ground, mut by_automation) = (
        BTreeMap::new(),
        BTreeMap::new(),
        BTreeMap::new(),
        BTreeMap::new(),
    );
    let mut waits: Vec<u64> = vec![];
    let mut appealed: std::collections::BTreeSet<String> = Default::default();
    let (mut appeal_decided, mut upheld, mut reversed) = (0u64, 0u64, 0u64);
    let (mut accesses, mut denials) = (BTreeMap::new(), BTreeMap::new());
    let (mut data_requests, mut egress, mut releases) = (0u64, 0u64, 0u64);
    let mut interventions = BTreeMap::new();
    for (_, e) in entries.iter().filter(|(i, _)| *i >= start && *i < end) {
        match &e.body {
            EntryBody::Moderation(m) => match m.step.as_str() {
                "report" => reports += 1,
                "decision" => {
                    decisions += 1;
                    count(&mut by_action, &m.action);
                    for c in &m.categories {
                        count(&mut by_category, c);
                    }
                    count(
                        &mut by_ground,
                        if m.ground.is_empty() {
                            "unstated"
                        } else {
                            &m.ground
                        },
                    );
                    count(
                        &mut by_automation,
                        if m.automated { "automated" } else { "manual" },
                    );
                    if let Some(opened) = m.case_opened_at.as_deref().and_then(|s| {
                        OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                            .ok()
                    }) {
                        waits.push((e.at - opened).whole_seconds().max(0) as u64);
                    }
                }
                "intervention" => count(&mut interventions, &m.action),
                // One appeal per decision, however often it was recorded.
                "appeal" => {
                    appealed.insert(m.appeal_of.clone().unwrap_or_else(|| m.case_id.clone()));
                }
                "appeal_decision" => {
                    appeal_decided += 1;
                    match m.action.as_str() {
                        "uphold" => upheld += 1,
                        "reverse" => reversed += 1,
                        _ => {}
                    }
                }
                _ => {}
            },
            EntryBody::Access(a) => {
                let role = match &a.principal {
                    Principal::CustodianStaff { role, .. } => Some(format!("custodian:{role}")),
                    Principal::PlatformStaff { role, .. } => Some(format!("platform:{role}")),
                    _ => None,
                };
                if let Some(role) = role {
                    match a.decision {
                        Decision::Allow => count(&mut accesses, &role),
                        Decision::Deny => count(&mut denials, &role),
                    }
                }
            }
            // One per request: its `received` step (an export also logs
            // `completed`).
            EntryBody::DataRequest(r) if r.status == "received" => data_requests += 1,
            EntryBody::Egress(_) => egress += 1,
            EntryBody::Release(_) => releases += 1,
            _ => {}
        }
    }
    let figures = |m: BTreeMap<String, u64>| -> Breakdown {
        m.into_iter()
            .map(|(k, v)| (k, Figure { value: v, range }))
            .collect()
    };
    waits.sort_unstable();
    let median = (!waits.is_empty()).then(|| {
        let n = waits.len();
        let m = if n % 2 == 1 {
            waits[n / 2]
        } else {
            (waits[n / 2 - 1] + waits[n / 2]) / 2
        };
        fig(m)
    });
    RegionReport {
        origin: origin.to_string(),
        tree_size: size,
        from: period.from.map(rfc3339),
        to: period.to.map(rfc3339),
        range,
        reports: fig(reports),
        decisions: DecisionFigures {
            total: fig(decisions),
            by_action: figures(by_action),
            by_category: figures(by_category),
            by_ground: figures(by_ground),
            by_automation: figures(by_automation),
            median_seconds_to_decision: median,
        },
        appeals: AppealFigures {
            received: fig(appealed.len() as u64),
            decided: fig(appeal_decided),
            upheld: fig(upheld),
            reversed: fig(reversed),
        },
        interventions: figures(interventions),
        staff_accesses: figures(accesses),
        staff_denials: figures(denials),
        data_requests: fig(data_requests),
        egress_batches: fig(egress),
        releases: fig(releases),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{Access, DataClass, Moderation};

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000 + secs).unwrap()
    }

    fn moderation(step: &str, action: &str, opened: Option<i64>) -> EntryBody {
        EntryBody::Moderation(Moderation {
            step: step.into(),
            case_id: "au_c".into(),
            action: action.into(),
            content_id: "au_v".into(),
            target_kind: Some("video".into()),
            subject: None,
            moderator: Principal::System {
                component: "t".into(),
            },
            categories: vec!["spam".into()],
            ground: "terms".into(),
            reference: None,
            facts: "f".into(),
            automated: false,
            redress: String::new(),
            territorial_scope: None,
            label: None,
            note: None,
            decision_id: None,
            appeal_of: Some("au_d".into()),
            case_opened_at: opened.map(|s| rfc3339(at(s))),
        })
    }

    fn entry(secs: i64, body: EntryBody) -> Entry {
        Entry {
            v: 1,
            at: at(secs),
            body,
        }
    }

    #[test]
    fn figures_count_the_range_of_the_period_and_name_it() {
        let staff = |decision| {
            EntryBody::Access(Access {
                principal: Principal::CustodianStaff {
                    region: "au".into(),
                    role: "moderator".into(),
                    staff_id: "s".into(),
                },
                action: "ReadCaseItem".into(),
                resource_class: DataClass::Protected,
                subject: None,
                purpose: None,
                case_id: None,
                decision,
                policy_id: None,
            })
        };
        let entries: Vec<(u64, Entry)> = [
            entry(0, moderation("report", "report", Some(0))),
            entry(10, moderation("report", "report", Some(0))),
            entry(20, staff(Decision::Allow)),
            entry(30, moderation("decision", "label", Some(0))),
            entry(40, staff(Decision::Deny)),
            entry(50, moderation("decision", "remove", Some(10))),
            entry(60, moderation("appeal", "appeal", None)),
            entry(61, moderation("appeal", "appeal", None)),
            entry(70, moderation("appeal_decision", "reverse", None)),
            entry(500, moderation("decision", "dismiss", Some(400))),
        ]
        .into_iter()
        .enumerate()
        .map(|(i, e)| (i as u64, e))
        .collect();
        let all = tally("o", 10, Period::default(), &entries);
        assert_eq!(all.range, IndexRange { start: 0, end: 10 });
        assert_eq!(all.decisions.total.value, 3);
        assert_eq!(all.decisions.by_category["spam"].value, 3);
        assert_eq!(all.appeals.received.value, 1, "one appeal per decision");
        assert_eq!(all.appeals.reversed.value, 1);
        assert_eq!(all.staff_accesses["custodian:moderator"].value, 1);
        assert_eq!(all.staff_denials["custodian:moderator"].value, 1);
        // Waits 30, 40, 100: the median is 40.
        assert_eq!(all.decisions.median_seconds_to_decision.unwrap().value, 40);

        let part = tally(
            "o",
            10,
            Period {
                from: Some(at(10)),
                to: Some(at(60)),
            },
            &entries,
        );
        assert_eq!(part.range, IndexRange { start: 1, end: 6 });
        assert_eq!(part.reports.value, 1);
        assert_eq!(part.decisions.by_action["label"].value, 1);
        assert_eq!(part.decisions.by_action["remove"].range, part.range);
        assert!(!part.decisions.by_action.contains_key("dismiss"));
        assert_eq!(part.appeals.received.value, 0);

        let none = tally(
            "o",
            10,
            Period {
                from: Some(at(1000)),
                to: None,
            },
            &entries,
        );
        assert_eq!(none.range, IndexRange { start: 10, end: 10 });
        assert_eq!(none.decisions.total.value, 0);
        assert!(none.decisions.median_seconds_to_decision.is_none());
    }
}
