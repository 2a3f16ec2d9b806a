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
}

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
    pub(crate) fn insert(&self, job: ExportJob) {
        self.jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(job.id.clone(), job);
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
