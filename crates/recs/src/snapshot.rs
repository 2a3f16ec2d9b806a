//! Model state to bytes and back, so a restart resumes learning rather than
//! starting over. The format is a magic, a version and a postcard body; a
//! restored snapshot is checked for internal consistency before it replaces
//! the running state, because a corrupt snapshot must fail loudly, never panic
//! later in a rank.

use crate::catalog::{Catalog, SavedCatalog};
use crate::engine::{EngineConfig, EngineCore, SavedUsers};
use crate::error::SnapshotError;
use crate::ids::KeyTable;
use crate::model::Model;
use crate::release::manifest::Manifest;
use serde::{Deserialize, Serialize};

const MAGIC: &[u8; 8] = b"SVRECS\0\x01";
const VERSION: u32 = 1;

/// Borrowed twin of [`Saved`] (same field order, same encoding), so taking a
/// snapshot does not copy the model.
#[derive(Serialize)]
struct SavedRef<'a> {
    config: &'a EngineConfig,
    catalog: crate::catalog::SavedCatalogRef<'a>,
    model: &'a Model,
    users: SavedUsersRef<'a>,
    events_learned: u64,
    events_rejected: u64,
}

#[derive(Serialize)]
struct SavedUsersRef<'a> {
    keys: crate::ids::SavedKeys<&'a str>,
    states: &'a [Option<crate::user::UserState>],
}

#[derive(Deserialize)]
struct Saved {
    config: EngineConfig,
    catalog: SavedCatalog,
    model: Model,
    users: SavedUsers,
    events_learned: u64,
    events_rejected: u64,
}

pub fn encode(core: &EngineCore) -> Result<Vec<u8>, SnapshotError> {
    let saved = SavedRef {
        config: &core.config,
        catalog: core.catalog.to_saved(),
        model: &core.model,
        users: SavedUsersRef {
            keys: core.users.to_saved(),
            states: &core.user_states,
        },
        events_learned: core.events_learned,
        events_rejected: core.events_rejected,
    };
    // Two passes, counting first, so the buffer is allocated once at its exact
    // size: at a million videos a growing buffer (and a copy behind a header)
    // would double the snapshot's transient memory, which set the peak RSS.
    let enc = |e: postcard::Error| SnapshotError::Encode(e.to_string());
    let size = postcard::to_extend(&saved, ByteCount(0)).map_err(enc)?.0;
    let mut out = Vec::with_capacity(size + 12);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    postcard::to_extend(&saved, out).map_err(enc)
}

struct ByteCount(usize);

impl Extend<u8> for ByteCount {
    fn extend<I: IntoIterator<Item = u8>>(&mut self, bytes: I) {
        self.0 += bytes.into_iter().count();
    }
}

pub fn decode(bytes: &[u8]) -> Result<EngineCore, SnapshotError> {
    if bytes.len() < 12 || &bytes[..8] != MAGIC {
        return Err(SnapshotError::BadMagic);
    }
    let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    if version != VERSION {
        return Err(SnapshotError::UnsupportedVersion(version));
    }
    let saved: Saved =
        postcard::from_bytes(&bytes[12..]).map_err(|e| SnapshotError::Corrupt(e.to_string()))?;
    let corrupt = SnapshotError::Corrupt;
    let catalog = Catalog::from_saved(saved.catalog).map_err(corrupt)?;
    let users = KeyTable::from_saved(saved.users.keys).map_err(corrupt)?;
    let mut states = saved.users.states;
    if states.len() > users.capacity() {
        return Err(SnapshotError::Corrupt("more user states than users".into()));
    }
    states.resize_with(users.capacity(), || None);
    let videos = catalog.rows.len();
    saved.model.check(videos).map_err(corrupt)?;
    for (slot, s) in states.iter().enumerate() {
        let Some(s) = s else { continue };
        if users.key(slot as u32).is_none() {
            return Err(SnapshotError::Corrupt(format!(
                "state for a free user slot {slot}"
            )));
        }
        let v_ok = |v: u32| (v as usize) < videos;
        let bad_video = s.history.iter().any(|e| !v_ok(e.video))
            || s.seen.keys().any(|&v| !v_ok(v))
            || s.pending
                .iter()
                .any(|p| !v_ok(p.video) || p.features.iter().any(|x| !x.is_finite()))
            || s.not_interested_videos.iter().any(|&v| !v_ok(v));
        let bad_ref = s
            .tag_affinity
            .iter()
            .any(|t| t.0 as usize >= catalog.tags.capacity())
            || s.author_affinity
                .iter()
                .any(|a| a.0 as usize >= catalog.authors.capacity())
            || s.not_interested_authors
                .iter()
                .any(|&a| a as usize >= catalog.authors.capacity())
            || s.tag_aversion
                .iter()
                .any(|t| t.0 as usize >= catalog.tags.capacity())
            || s.author_aversion
                .iter()
                .any(|a| a.0 as usize >= catalog.authors.capacity());
        if bad_video || bad_ref {
            return Err(SnapshotError::Corrupt(format!(
                "user state {slot} references unknown ids"
            )));
        }
    }
    let dim = saved.config.embedding_dim;
    let m = &saved.model;
    if dim > crate::model::MAX_DIM
        || m.video_emb.dim != dim
        || m.user_emb.dim != dim
        || m.tag_emb.dim != dim
    {
        return Err(SnapshotError::Corrupt(
            "embedding dimension mismatch".into(),
        ));
    }
    Ok(EngineCore {
        config: saved.config,
        catalog,
        model: saved.model,
        users,
        user_states: states,
        release: Manifest::default_with_id("restoring"),
        events_learned: saved.events_learned,
        events_rejected: saved.events_rejected,
        history_buf: Vec::new(),
    })
}
