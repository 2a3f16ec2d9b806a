//! Account deletion by crypto-shredding. `DELETE /v1/me` hides the account
//! at once and schedules the deletion after the grace period; a login in
//! between cancels it. At the deadline, in this order:
//!
//! 1. the user's data key is destroyed (and the region's KEK rotated, so a
//!    copy of the key file taken before cannot unwrap it);
//! 2. their rows and events in the home region are deleted, their public
//!    content leaves the catalog (through the outbox), their media objects
//!    are deleted, and the databases' write-ahead logs are truncated;
//! 3. their state leaves the recommendation model;
//! 4. a `key_destroyed` receipt is appended to the region's ledger.
//!
//! The key goes first: from that instant nothing sealed with it (email,
//! birthdate, country, private media) can be read, even if a later step is
//! interrupted and retried.

use sovereel_ledger::entry::KeyDestroyed;
use sovereel_ledger::{Entry, EntryBody};
use sovereel_model::UserId;
use sovereel_store::{Change, OutboxItem, Target};

use crate::plane::LocalPlane;
use crate::state::App;

/// Carries out every deletion whose deadline has passed.
pub async fn run_due(app: &App) {
    for plane in app.locals() {
        let due = match plane
            .store
            .due_for_deletion(sovereel_model::now_millis(), 100)
            .await
        {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(region = %plane.id, error = %e, "listing due deletions");
                continue;
            }
        };
        for id in due {
            if let Err(e) = shred(app, plane, &id).await {
                tracing::error!(region = %plane.id, error = %e, "account deletion failed; retrying later");
            }
        }
    }
}

async fn shred(app: &App, plane: &LocalPlane, id: &str) -> anyhow::Result<()> {
    let user = UserId::parse(id)?;
    let handle = plane
        .store
        .user(id)
        .await?
        .map(|u| u.handle)
        .unwrap_or_default();
    let receipt = match sovereel_custody::shred_users(&plane.keyring, std::slice::from_ref(&user)) {
        Ok(report) => report.receipts.into_iter().next(),
        Err(e) => return Err(anyhow::anyhow!("destroying the data key: {e}")),
    };
    let out = vec![OutboxItem::new(
        Target::Catalog,
        Change::PurgeUser {
            user_id: id.to_string(),
            handle,
        },
    )];
    let media = plane.store.purge_user(id, &out).await?;
    app.relay(plane).await?;
    for key in media {
        if let Err(e) = plane.media.delete(&key).await {
            tracing::warn!(error = %e, "deleting a deleted account's media");
        }
    }
    let _ = tokio::fs::remove_dir_all(crate::export::exports_dir(app, plane, &user)).await;
    plane.store.compact().await?;
    app.catalog.compact().await?;
    plane.recs.lock().forget_user(id);
    let (key_fingerprint, reason) = match &receipt {
        Some(r) => (r.fingerprint.clone(), "account deleted".to_string()),
        None => (
            String::new(),
            "account deleted (its data key was already gone)".to_string(),
        ),
    };
    plane
        .ledger
        .log
        .append_entry(&Entry::now(EntryBody::KeyDestroyed(KeyDestroyed {
            key_class: "dek".into(),
            key_fingerprint,
            subject: Some(plane.ledger.pseudonym(id)),
            reason,
        })))
        .await?;
    tracing::info!(region = %plane.id, "account deleted and its data key destroyed");
    Ok(())
}
