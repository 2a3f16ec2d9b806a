//! Data export: everything stored about a user, as a tar archive of JSON by
//! data class, their media, and their ledger entries with inclusion proofs.
//!
//! An export is a data request carried out by the region custodian's export
//! operator (an automated `Staff(custodian:<region>, operator)` principal):
//! it reads the user's protected data only under the request's id, through
//! the policy gateway, so the access is in the user's access log — and the
//! request itself is a `data_request` entry (received, then completed).
//! The archive lives in the home region's directory, is downloadable by the
//! owner only, and is deleted when it expires.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use sovereel_custody::{AccessContext, OpaqueId, Principal, RequestContext, Resource, StaffRole};
use sovereel_ledger::entry::{DataRequest, Principal as LedgerPrincipal};
use sovereel_ledger::{Entry, EntryBody};
use sovereel_model::{Db, UserId, classes::class_of};

use crate::plane::LocalPlane;
use crate::state::App;

pub const OPERATOR_ID: &str = "export-operator";

pub use crate::export_jobs::{ExportJob, Exports};

/// Where a user's archives are kept (deleted with the account).
pub fn exports_dir(app: &App, plane: &LocalPlane, user: &UserId) -> PathBuf {
    app.config
        .data_dir
        .join("regions")
        .join(plane.id.as_str())
        .join("exports")
        .join(user.as_str())
}

/// Starts an export for `user`; answers the job, or why none was started
/// (one is already under way, or the daily limit is reached: each export
/// costs a full read of the account and entries in the public log).
pub fn start(
    app: Arc<App>,
    plane: Arc<LocalPlane>,
    user: UserId,
) -> Result<ExportJob, crate::error::ApiError> {
    use crate::error::{ApiError, Kind};
    let id = format!("{}_{}", plane.id, hex::encode(random16()));
    let now = sovereel_model::now_millis();
    let job = ExportJob {
        id: id.clone(),
        state: "queued".into(),
        progress: 0,
        created_at: sovereel_model::rfc3339(now),
        expires_at: None,
        size_bytes: None,
        download_url: None,
        error: None,
        owner: user.to_string(),
        path: None,
        expires_ms: None,
        created_ms: now,
    };
    let rates = &app.config.limits.rates;
    // 0: no daily limit.
    let per_day = (rates.enabled && app.limits.enabled() && rates.exports_per_day > 0)
        .then_some(rates.exports_per_day);
    match app.exports.admit(job.clone(), per_day) {
        Ok(()) => {}
        Err(crate::export_jobs::Refusal::InProgress { id }) => {
            return Err(ApiError::new(
                Kind::ExportInProgress,
                format!("export {id} is still being made; wait for it to finish"),
            )
            .with_header(axum::http::header::LOCATION, format!("/v1/me/exports/{id}")));
        }
        Err(crate::export_jobs::Refusal::DailyLimit {
            per_day,
            retry_after_ms,
        }) => {
            let wait = std::time::Duration::from_millis(retry_after_ms as u64);
            return Err(ApiError::rate_limited(
                wait,
                format!(
                    "at most {per_day} exports per 24 hours; try again in {} s",
                    wait.as_secs().max(1)
                ),
            ));
        }
    }
    tokio::spawn(async move {
        if let Err(e) = run(&app, &plane, &user, &id).await {
            tracing::error!(error = %e, "export failed");
            app.exports.update(&id, |j| {
                j.state = "failed".into();
                j.error = Some("the export could not be built; try again".into());
            });
        }
    });
    Ok(job)
}

fn random16() -> [u8; 16] {
    let mut b = [0u8; 16];
    getrandom::getrandom(&mut b).expect("random source");
    b
}

async fn data_request_entry(
    plane: &LocalPlane,
    request_id: &str,
    user: &UserId,
    status: &str,
) -> anyhow::Result<()> {
    plane
        .ledger
        .log
        .append_entry(&Entry::now(EntryBody::DataRequest(DataRequest {
            request_id: request_id.into(),
            request_kind: "export".into(),
            subject: plane.ledger.pseudonym(user.as_str()),
            status: status.into(),
            operator: Some(LedgerPrincipal::CustodianStaff {
                region: plane.id.to_string(),
                role: "operator".into(),
                staff_id: OPERATOR_ID.into(),
            }),
        })))
        .await?;
    Ok(())
}

async fn run(app: &App, plane: &LocalPlane, user: &UserId, id: &str) -> anyhow::Result<()> {
    let progress = |p: u8| {
        app.exports.update(id, |j| {
            j.state = "running".into();
            j.progress = p;
        })
    };
    progress(1);
    data_request_entry(plane, id, user, "received").await?;
    // The operator reads the user's protected data only under this request.
    let principal = Principal::custodian_staff(
        OpaqueId::parse(OPERATOR_ID)?,
        plane.id.clone(),
        StaffRole::Operator,
    );
    let context = AccessContext::data_request(RequestContext {
        request_id: OpaqueId::parse(id)?,
        subject: user.clone(),
    })
    .with_purpose("data export requested by the user");
    let grant = crate::custody::authorize(
        &app.gateway,
        plane,
        &principal,
        sovereel_custody::act::RunDataRequest,
        &Resource::protected(user),
        &context,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{}", e.detail))?;
    let key = Arc::new(
        crate::custody::key_for(plane, &grant, user)
            .map_err(|e| anyhow::anyhow!("{}", e.detail))?,
    );
    progress(10);

    // Rows by data class: every column is declared once with its class.
    let rows = plane.store.export_user(user.as_str()).await?;
    let mut by_class: BTreeMap<String, BTreeMap<String, Vec<Value>>> = BTreeMap::new();
    let mut videos: Vec<(String, Option<String>, Option<String>, bool)> = vec![];
    for row in &rows {
        let mut per_class: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
        for (col, val) in &row.values {
            let class = class_of(Db::Region, &row.table, col)
                .map(|c| format!("{c:?}").to_lowercase())
                .unwrap_or_else(|| "unclassified".into());
            let value = match val {
                Some(v) if sovereel_custody::is_sealed_field(v) => {
                    match key.decrypt_field(&format!("{}.{col}", row.table), v) {
                        Ok(p) => Value::String(p.to_string()),
                        Err(_) => Value::Null,
                    }
                }
                Some(v) => Value::String(v.clone()),
                None => Value::Null,
            };
            per_class
                .entry(class)
                .or_default()
                .insert(col.clone(), value);
        }
        for (class, obj) in per_class {
            by_class
                .entry(class)
                .or_default()
                .entry(row.table.clone())
                .or_default()
                .push(Value::Object(obj));
        }
        if row.table == "videos" {
            let get = |c: &str| {
                row.values
                    .iter()
                    .find(|(k, _)| k == c)
                    .and_then(|(_, v)| v.clone())
            };
            if let Some(vid) = get("id") {
                videos.push((
                    vid,
                    get("media_key"),
                    get("poster_key"),
                    get("visibility").as_deref() != Some("public"),
                ));
            }
        }
    }
    progress(30);
    let profile = app.catalog.profile(user.as_str()).await?;
    let ledger_items = plane
        .ledger
        .log
        .entries_for_subject(&plane.ledger.pseudonym(user.as_str()))
        .await?;
    let ledger = json!({
        "region": plane.id.to_string(),
        "vkey": plane.ledger.vkey(),
        "note": "Each item is an entry about you in your region's transparency log, with an RFC 9162 inclusion proof against the signed checkpoint it names.",
        "entries": ledger_items,
    });
    progress(40);

    let dir = exports_dir(app, plane, user);
    tokio::fs::create_dir_all(&dir).await?;
    let work = tempfile::Builder::new()
        .prefix("export-")
        .tempdir_in(&dir)?;
    let mut files: Vec<(String, PathBuf)> = vec![];
    let write_json = |name: &str, v: &Value| -> anyhow::Result<(String, PathBuf)> {
        let p = work.path().join(name.replace('/', "_"));
        std::fs::write(&p, serde_json::to_vec_pretty(v)?)?;
        Ok((name.to_string(), p))
    };
    files.push(write_json("README.json", &json!({
        "what": "Everything Sovereel stores about you, grouped by data class.",
        "classes": {
            "protected": "held only in your home region, sealed with your data key where marked",
            "public": "your public profile and content, in the global public catalog",
            "aggregate": "counters",
            "interop": "the ids other regions need to reach your public content"
        },
        "request_id": id,
        "home_region": plane.id.to_string(),
    }))?);
    for (class, tables) in &by_class {
        files.push(write_json(
            &format!("{class}.json"),
            &serde_json::to_value(tables)?,
        )?);
    }
    files.push(write_json(
        "catalog-profile.json",
        &serde_json::to_value(&profile)?,
    )?);
    files.push(write_json("ledger.json", &ledger)?);
    // Media, opened with the user's key where sealed.
    let total = videos.len().max(1);
    for (n, (vid, media_key, poster_key, sealed)) in videos.iter().enumerate() {
        for (object, sealed_as, name) in [
            (media_key, vid.clone(), format!("media/{vid}.video")),
            (
                poster_key,
                format!("{vid}/poster"),
                format!("media/{vid}.poster.jpg"),
            ),
        ] {
            let Some(object) = object else { continue };
            let path = work.path().join(name.replace('/', "_"));
            let pb = if *sealed {
                let reader = sovereel_custody::DecryptingReader::new(
                    plane.media.clone(),
                    key.clone(),
                    &sealed_as,
                );
                sovereel_media::open_playback(&reader, object, None).await
            } else {
                sovereel_media::open_playback(&plane.media, object, None).await
            };
            let Ok(pb) = pb else { continue };
            let mut f = tokio::fs::File::create(&path).await?;
            let mut body = pb.body;
            use futures::TryStreamExt;
            use tokio::io::AsyncWriteExt;
            while let Some(chunk) = body.try_next().await.map_err(|e| anyhow::anyhow!("{e}"))? {
                f.write_all(&chunk).await?;
            }
            f.flush().await?;
            files.push((name, path));
        }
        progress((40 + 50 * (n + 1) / total) as u8);
    }
    let archive = dir.join(format!("{id}.tar"));
    let archive2 = archive.clone();
    let size = tokio::task::spawn_blocking(move || -> anyhow::Result<u64> {
        let f = std::fs::File::create(&archive2)?;
        let mut tar = tar::Builder::new(f);
        for (name, path) in &files {
            tar.append_path_with_name(path, format!("sovereel-export/{name}"))?;
        }
        let f = tar.into_inner()?;
        f.sync_all()?;
        Ok(f.metadata()?.len())
    })
    .await??;
    drop(work);
    data_request_entry(plane, id, user, "completed").await?;
    let expires = sovereel_model::now_millis() + app.config.limits.export_ttl_secs as i64 * 1000;
    app.exports.update(id, |j| {
        j.state = "ready".into();
        j.progress = 100;
        j.size_bytes = Some(size);
        j.path = Some(archive);
        j.expires_ms = Some(expires);
        j.expires_at = Some(sovereel_model::rfc3339(expires));
        j.download_url = Some(format!("/v1/me/exports/{}/download", j.id));
    });
    Ok(())
}
