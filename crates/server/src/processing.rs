//! Background processing of uploads: transcode (or accept as uploaded when
//! ffmpeg is absent), store the media in the region's object store, then
//! mark the video ready and publish it to the catalog if it is public.
//!
//! The upload waits in `<data_dir>/incoming/<video id>` until processing
//! finishes, so a restart resumes every video still `processing`. Transcodes
//! share a few slots fairly between uploaders (`sovereel_media::FairQueue`):
//! each uploader holds at most one at a time and has at most eight videos
//! waiting (more fail at once, saying why).

use std::sync::Arc;

use sovereel_media::Delivery;
use sovereel_model::{VideoState, Visibility};
use sovereel_store::{Change, OutboxItem, ProcessingOutcome, Target, VideoRecord};

use crate::plane::LocalPlane;
use crate::state::App;

pub fn spawn(app: Arc<App>, plane: Arc<LocalPlane>, video_id: String) {
    tokio::spawn(async move {
        if let Err(e) = run(&app, &plane, &video_id).await {
            tracing::error!(video = %video_id, error = %e, "processing failed");
        }
    });
}

/// Resumes every video left `processing` by a previous run.
pub async fn resume(app: &Arc<App>) {
    for plane in app.locals() {
        match plane.store.processing_videos().await {
            Ok(list) => {
                for v in list {
                    spawn(app.clone(), plane.clone(), v.id);
                }
            }
            Err(e) => tracing::warn!(region = %plane.id, error = %e, "listing videos to resume"),
        }
    }
}

fn publish(v: &VideoRecord, o: &ProcessingOutcome) -> OutboxItem {
    OutboxItem::new(
        Target::Catalog,
        Change::PublishVideo {
            id: v.id.clone(),
            author_id: v.author_id.clone(),
            caption: v.caption.clone(),
            hashtags: v.hashtags.clone(),
            mentions: v.mentions.clone(),
            comments_policy: v.comments_policy,
            duration_ms: o.duration_ms,
            width: o.width,
            height: o.height,
            created_at: v.created_at,
        },
    )
}

async fn run(app: &App, plane: &LocalPlane, id: &str) -> anyhow::Result<()> {
    let Some(video) = plane.store.video(id).await? else {
        return Ok(());
    };
    let incoming = app.incoming_dir.join(id);
    let client_poster = incoming.with_extension("poster.jpg");
    let outcome = if incoming.exists() {
        let work = tempfile::Builder::new()
            .prefix("process-")
            .tempdir_in(&app.tmp_dir)?;
        // The transcode waits in the processor's fair queue under the
        // author's share, so one uploader's slow videos cannot hold up
        // everyone else's.
        match app
            .processor
            .process_for(&video.author_id, &incoming, work.path())
            .await
        {
            Ok(p) => {
                let ext = if p.content_type == "video/webm" {
                    "webm"
                } else {
                    "mp4"
                };
                let media_key = format!("videos/{id}/video.{ext}");
                // Followers-only and private media is sealed with the
                // author's data key in 64 KiB chunks (Range still works);
                // public media is public content and stored as it is.
                let sealing = if video.visibility == Visibility::Public {
                    None
                } else {
                    let author = sovereel_model::UserId::parse(&video.author_id)?;
                    let key = crate::custody::own_key(
                        &app.gateway,
                        plane,
                        &author,
                        crate::custody::WriteProtected,
                    )
                    .await
                    .map_err(|e| anyhow::anyhow!("author's data key: {}", e.detail))?;
                    Some(std::sync::Arc::new(key))
                };
                match &sealing {
                    Some(key) => {
                        key.store_encrypted_media(&plane.media, &media_key, id, &p.video)
                            .await?;
                    }
                    None => {
                        plane.media.put_file(&media_key, &p.video).await?;
                    }
                }
                let poster_key = format!("videos/{id}/poster.jpg");
                let poster = match (&p.poster, client_poster.exists()) {
                    (Some(path), _) => Some(path.clone()),
                    (None, true) => Some(client_poster.clone()),
                    _ => None,
                };
                let poster_key = match poster {
                    Some(path) => {
                        match &sealing {
                            Some(key) => {
                                key.store_encrypted_media(
                                    &plane.media,
                                    &poster_key,
                                    &format!("{id}/poster"),
                                    &path,
                                )
                                .await?;
                            }
                            None => {
                                plane.media.put_file(&poster_key, &path).await?;
                            }
                        }
                        Some(poster_key)
                    }
                    None => None,
                };
                ProcessingOutcome {
                    state: VideoState::Ready,
                    state_reason: (p.delivery == Delivery::AsUploaded)
                        .then(|| "served as uploaded: this server has no ffmpeg, so the video was not transcoded".to_string()),
                    duration_ms: Some(p.info.duration_ms as i64),
                    width: Some(p.info.width as i32),
                    height: Some(p.info.height as i32),
                    media_key: Some(media_key),
                    poster_key,
                    content_type: Some(p.content_type.to_string()),
                    transcoded: p.delivery == Delivery::Transcoded,
                }
            }
            Err(e) => failed(app, e.to_string()),
        }
    } else {
        failed(
            app,
            "the upload was lost before processing finished; upload it again".into(),
        )
    };
    // A draft reaches the catalog when its owner publishes it.
    let out = if outcome.state == VideoState::Ready
        && video.visibility == Visibility::Public
        && !video.draft
    {
        // Those the caption mentions learn of it once it is public.
        let mut out = vec![publish(&video, &outcome)];
        // A restricted, demoted or promoted account's new videos carry its
        // standing from the start, as its older ones do.
        let account = crate::moderation::account_standing(plane, &video.author_id)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.detail))?;
        let labels = crate::moderation::Standing::default().catalog_labels(&account);
        if !labels.is_empty() {
            out.push(OutboxItem::new(
                Target::Catalog,
                Change::SetLabels {
                    video_id: video.id.clone(),
                    labels,
                    note: None,
                },
            ));
        }
        out.extend(crate::api::notifications::caption_mentions(app, plane, &video).await?);
        out
    } else {
        vec![]
    };
    plane.store.finish_processing(id, &outcome, &out).await?;
    app.relay(plane).await?;
    let _ = tokio::fs::remove_file(&incoming).await;
    let _ = tokio::fs::remove_file(&client_poster).await;
    Ok(())
}

fn failed(app: &App, reason: String) -> ProcessingOutcome {
    app.metrics
        .processing_failed
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    ProcessingOutcome {
        state: VideoState::Failed,
        state_reason: Some(reason),
        duration_ms: None,
        width: None,
        height: None,
        media_key: None,
        poster_key: None,
        content_type: None,
        transcoded: false,
    }
}
