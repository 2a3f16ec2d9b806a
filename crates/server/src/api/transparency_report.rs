//! The transparency report: per region, decisions by action, category,
//! ground and automation; appeals and reversals; median time to decision;
//! staff accesses by role; data requests; egress batches; releases. It is
//! computed from the region's signed log by the ledger crate's own code,
//! the code `sovereel audit report` runs over the same log, so an auditor
//! who holds only the log and its key gets the same figures. Each figure
//! names the index range of the log it was computed from.

use std::sync::Arc;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use sovereel_ledger::report::{Period, compute, parse_when};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ApiJson, ApiQuery, ApiResult, Kind};
use crate::state::App;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// One region's report (default: every region served here).
    pub region: Option<String>,
    /// Start of the period: RFC 3339 or YYYY-MM-DD (UTC).
    pub from: Option<String>,
    /// End of the period, exclusive: RFC 3339 or YYYY-MM-DD (UTC).
    pub to: Option<String>,
    /// Compute over the log's first `size` entries (to compare with an
    /// earlier report); default: the current checkpoint's size.
    #[param(minimum = 0)]
    pub size: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct RegionReportView {
    pub region: String,
    pub name: String,
    pub custodian: String,
    /// The log's verifier key: `sovereel audit report --log <log_url> --vkey <vkey>`
    /// recomputes this report.
    pub vkey: String,
    pub log_url: String,
    /// The figures, each with the log index range it counts.
    #[schema(value_type = Object)]
    pub report: serde_json::Value,
}

#[derive(Serialize, ToSchema)]
pub struct TransparencyReport {
    pub regions: Vec<RegionReportView>,
}

/// The regional transparency report, recomputable from each region's log.
#[utoipa::path(get, path = "/v1/transparency/report", tag = "transparency", operation_id = "transparency_report", params(ReportQuery),
    responses((status = 200, body = TransparencyReport), (status = 404, body = crate::error::ProblemBody), (status = 422, body = crate::error::ProblemBody)))]
pub async fn report(
    State(app): State<Arc<App>>,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<ApiJson<TransparencyReport>> {
    let when = |v: &Option<String>, name: &str| {
        v.as_deref()
            .map(|s| {
                parse_when(s).map_err(|e| ApiError::new(Kind::InvalidField, format!("{name}: {e}")))
            })
            .transpose()
    };
    let period = Period {
        from: when(&q.from, "from")?,
        to: when(&q.to, "to")?,
    };
    if let (Some(f), Some(t)) = (period.from, period.to)
        && f > t
    {
        return Err(ApiError::new(
            Kind::InvalidField,
            "to: must not be before from",
        ));
    }
    let planes: Vec<_> = match &q.region {
        Some(r) => vec![
            app.local(r)
                .ok_or_else(|| ApiError::not_found("region served here"))?
                .clone(),
        ],
        None => app.locals().cloned().collect(),
    };
    let mut regions = vec![];
    for p in planes {
        let cp = p.ledger.log.checkpoint();
        let size = match q.size {
            Some(n) if n > cp.checkpoint.size => {
                return Err(ApiError::new(
                    Kind::InvalidField,
                    format!(
                        "size: the log of {} has {} entries",
                        p.id, cp.checkpoint.size
                    ),
                ));
            }
            Some(n) => n,
            None => cp.checkpoint.size,
        };
        let r = compute(p.ledger.log.storage(), &cp.checkpoint.origin, size, period)
            .await
            .map_err(ApiError::internal)?;
        let rc = app.region_config(p.id.as_str());
        regions.push(RegionReportView {
            region: p.id.to_string(),
            name: rc.map(|r| r.name.clone()).unwrap_or_default(),
            custodian: rc.map(|r| r.custodian.clone()).unwrap_or_default(),
            vkey: p.ledger.vkey(),
            log_url: format!("/log/{}/", p.id),
            report: serde_json::to_value(&r).map_err(ApiError::internal)?,
        });
    }
    Ok(ApiJson(TransparencyReport { regions }))
}
