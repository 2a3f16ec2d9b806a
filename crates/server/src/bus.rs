//! NATS JetStream between region services.
//!
//! One stream per cluster holds two kinds of message, each with the
//! message id `<origin>.<seq>` (the outbox's own sequence), so JetStream
//! drops a duplicate publish and the target's `(origin, seq)` check drops
//! a duplicate delivery:
//!
//! * `<stream>.region.<target>`: an outbox change bound for one region
//!   (counters of non-public videos, comments on them). The origin marks
//!   the change applied only once the stream acknowledged it, so it is
//!   durable before the origin forgets it; the target consumes it with its
//!   own durable consumer and acknowledges only after applying it. A
//!   target that is down delays its changes and loses none.
//! * `<stream>.catalog`: a notice that the public catalog changed, so every
//!   region's engine learns of new, relabelled and removed videos.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull, stream};
use futures::StreamExt;
use sovereel_store::Change;

use crate::config::ClusterConfig;
use crate::state::App;

#[derive(Clone)]
pub struct Bus {
    js: jetstream::Context,
    stream: String,
}

impl Bus {
    pub async fn connect(c: &ClusterConfig) -> anyhow::Result<Bus> {
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(3))
            .connect(&c.nats)
            .await
            .map_err(|e| anyhow::anyhow!("NATS at {}: {e}", c.nats))?;
        let js = jetstream::new(client);
        js.get_or_create_stream(stream::Config {
            name: c.stream.clone(),
            subjects: vec![format!("{}.>", c.stream)],
            storage: stream::StorageType::File,
            duplicate_window: Duration::from_secs(600),
            ..Default::default()
        })
        .await
        .map_err(|e| anyhow::anyhow!("JetStream stream {} at {}: {e}", c.stream, c.nats))?;
        Ok(Bus {
            js,
            stream: c.stream.clone(),
        })
    }

    async fn publish(
        &self,
        subject: String,
        origin: &str,
        seq: i64,
        change: &Change,
    ) -> anyhow::Result<()> {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", format!("{origin}.{seq}").as_str());
        headers.insert("Sovereel-Origin", origin);
        headers.insert("Sovereel-Seq", seq.to_string().as_str());
        let body = serde_json::to_vec(change)?;
        self.js
            .publish_with_headers(subject, headers, body.into())
            .await?
            .await?;
        Ok(())
    }

    /// Publishes a change bound for region `target`; returns once durable.
    pub async fn publish_region(
        &self,
        target: &str,
        origin: &str,
        seq: i64,
        change: &Change,
    ) -> anyhow::Result<()> {
        self.publish(
            format!("{}.region.{target}", self.stream),
            origin,
            seq,
            change,
        )
        .await
    }

    /// Tells every region that the catalog changed.
    pub async fn publish_catalog(
        &self,
        origin: &str,
        seq: i64,
        change: &Change,
    ) -> anyhow::Result<()> {
        if !matches!(
            change,
            Change::PublishVideo { .. }
                | Change::SetLabels { .. }
                | Change::UnpublishVideo { .. }
                | Change::WithdrawVideo { .. }
        ) {
            return Ok(());
        }
        self.publish(format!("{}.catalog", self.stream), origin, seq, change)
            .await
    }

    async fn consumer(
        &self,
        name: &str,
        subject: String,
    ) -> anyhow::Result<jetstream::consumer::Consumer<pull::Config>> {
        let s = self.js.get_stream(&self.stream).await?;
        Ok(s.get_or_create_consumer(
            name,
            pull::Config {
                durable_name: Some(name.to_string()),
                filter_subject: subject,
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ack_wait: Duration::from_secs(30),
                ..Default::default()
            },
        )
        .await?)
    }
}

fn header(m: &async_nats::Message, name: &str) -> Option<String> {
    m.headers
        .as_ref()
        .and_then(|h| h.get(name))
        .map(|v| v.as_str().to_string())
}

/// Applies, for ever, the changes bound for the region served here and the
/// catalog notices; reconnects after any failure.
pub async fn consume(app: Arc<App>, region: String) {
    let Some(bus) = app.bus.clone() else { return };
    let region_loop = {
        let app = app.clone();
        let bus = bus.clone();
        let region = region.clone();
        async move {
            loop {
                if let Err(e) = consume_region(&app, &bus, &region).await {
                    tracing::warn!(error = %e, "region change consumer failed; retrying");
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    let catalog_loop = async move {
        loop {
            if let Err(e) = consume_catalog(&app, &bus, &region).await {
                tracing::warn!(error = %e, "catalog notice consumer failed; retrying");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    };
    tokio::join!(region_loop, catalog_loop);
}

async fn consume_region(app: &App, bus: &Bus, region: &str) -> anyhow::Result<()> {
    let plane = app
        .local(region)
        .ok_or_else(|| anyhow::anyhow!("region {region} is not served here"))?
        .clone();
    let consumer = bus
        .consumer(
            &format!("region-{region}"),
            format!("{}.region.{region}", bus.stream),
        )
        .await?;
    let mut messages = consumer.messages().await?;
    while let Some(m) = messages.next().await {
        let m = m.map_err(|e| anyhow::anyhow!("{e}"))?;
        let (Some(origin), Some(seq)) = (header(&m, "Sovereel-Origin"), header(&m, "Sovereel-Seq"))
        else {
            tracing::error!("a region change without its origin; dropped");
            let _ = m.ack().await;
            continue;
        };
        let seq: i64 = seq.parse().unwrap_or(-1);
        match serde_json::from_slice::<Change>(&m.payload) {
            Ok(change) => {
                plane.store.apply_change(&origin, seq, &change).await?;
            }
            Err(e) => {
                tracing::error!(%origin, seq, error = %e, "an unreadable region change; dropped")
            }
        }
        m.ack().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(())
}

async fn consume_catalog(app: &App, bus: &Bus, region: &str) -> anyhow::Result<()> {
    let consumer = bus
        .consumer(
            &format!("engine-{region}"),
            format!("{}.catalog", bus.stream),
        )
        .await?;
    let mut messages = consumer.messages().await?;
    while let Some(m) = messages.next().await {
        let m = m.map_err(|e| anyhow::anyhow!("{e}"))?;
        if header(&m, "Sovereel-Origin").as_deref() != Some(region)
            && let Ok(change) = serde_json::from_slice::<Change>(&m.payload)
        {
            app.tell_engines(&change).await;
        }
        m.ack().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(())
}
