//! The table of data export jobs a region service keeps in memory: a leaf
//! that knows nothing of the running platform, so the platform can own one
//! (`App::exports`) while `export.rs` runs the jobs.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExportJob {
    pub id: String,
    /// `queued`, `running`, `ready`, `failed` or `expired`.
    pub state: String,
    /// 0 to 100.
    pub progress: u8,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub size_bytes: Option<u64>,
    pub download_url: Option<String>,
    pub error: Option<String>,
    #[serde(skip)]
    pub owner: String,
    #[serde(skip)]
    pub path: Option<PathBuf>,
    #[serde(skip)]
    pub expires_ms: Option<i64>,
    #[serde(skip)]
    pub created_ms: i64,
}

/// Why a new export was not started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// One of the owner's exports is queued or running.
    InProgress { id: String },
    /// The owner asked for `per_day` exports in the last 24 hours; the
    /// oldest of them leaves the window in `retry_after_ms`.
    DailyLimit { per_day: u32, retry_after_ms: i64 },
}

const DAY_MS: i64 = 86_400_000;

#[derive(Default)]
pub struct Exports {
    jobs: Mutex<HashMap<String, ExportJob>>,
}

impl Exports {
    pub fn get(&self, id: &str) -> Option<ExportJob> {
        self.jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }
    pub(crate) fn update(&self, id: &str, f: impl FnOnce(&mut ExportJob)) {
        if let Some(j) = self
            .jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(id)
        {
            f(j);
        }
    }
    /// Adds `job` unless its owner has an export queued or running, or
    /// (with `per_day`) has asked for that many in the last 24 hours. The
    /// check and the insert happen under one lock, so concurrent requests
    /// cannot both pass.
    pub(crate) fn admit(&self, job: ExportJob, per_day: Option<u32>) -> Result<(), Refusal> {
        let mut jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        let mine: Vec<&ExportJob> = jobs.values().filter(|j| j.owner == job.owner).collect();
        if let Some(j) = mine
            .iter()
            .find(|j| j.state == "queued" || j.state == "running")
        {
            return Err(Refusal::InProgress { id: j.id.clone() });
        }
        if let Some(per_day) = per_day {
            let mut recent: Vec<i64> = mine
                .iter()
                .map(|j| j.created_ms)
                .filter(|t| *t > job.created_ms - DAY_MS)
                .collect();
            if recent.len() >= per_day as usize {
                recent.sort_unstable();
                // The request that makes room is the one `per_day` back.
                let frees = recent[recent.len() - per_day as usize] + DAY_MS;
                return Err(Refusal::DailyLimit {
                    per_day,
                    retry_after_ms: (frees - job.created_ms).max(1000),
                });
            }
        }
        jobs.insert(job.id.clone(), job);
        Ok(())
    }
    /// Deletes expired archives.
    pub fn expire(&self) {
        let now = sovereel_model::now_millis();
        let mut jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        for j in jobs.values_mut() {
            if j.state == "ready" && j.expires_ms.is_some_and(|e| e <= now) {
                if let Some(p) = j.path.take() {
                    let _ = std::fs::remove_file(p);
                }
                j.state = "expired".into();
                j.download_url = None;
            }
        }
    }
}
