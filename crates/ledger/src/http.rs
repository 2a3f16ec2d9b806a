//! The log's HTTP face (c2sp.org/tlog-tiles and tlog-witness) for one
//! region: `/checkpoint`, `/tile/...`, `/vkey` and, when the region runs a
//! witness, `POST /add-checkpoint` and `POST /key-transfer` (a log's key
//! moving to a new custodian). The server nests it at `/log/<region>`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::log::Log;
use crate::tiles::TileRef;
use crate::witness::{Witness, WitnessError};

/// Tiles never change once written (partial tiles carry their width in the
/// name), so caches may keep them for a year.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// The checkpoint moves; the spec asks not to cache it beyond a few seconds.
const CHECKPOINT_CACHE: &str = "public, max-age=2";

#[derive(Clone)]
struct AppState {
    log: Option<Log>,
    witness: Option<Arc<Witness>>,
}

/// Routes for one region: the region's log (if given) and the region's
/// witness endpoint (if given).
pub fn router(log: Option<Log>, witness: Option<Arc<Witness>>) -> Router {
    let mut r = Router::new();
    if log.is_some() {
        r = r
            .route("/checkpoint", get(checkpoint))
            .route("/tile/{*path}", get(tile))
            .route("/vkey", get(vkey));
    }
    if witness.is_some() {
        r = r
            .route(
                "/add-checkpoint",
                post(add_checkpoint).layer(DefaultBodyLimit::max(2 << 20)),
            )
            .route(
                "/key-transfer",
                post(key_transfer).layer(DefaultBodyLimit::max(256 << 10)),
            );
    }
    r.with_state(AppState { log, witness })
}

fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

async fn checkpoint(State(s): State<AppState>) -> Response {
    let Some(log) = s.log else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let cp = log.checkpoint();
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static(CHECKPOINT_CACHE),
            ),
        ],
        cp.note.clone(),
    )
        .into_response()
}

async fn vkey(State(s): State<AppState>) -> Response {
    match s.log {
        Some(log) => text(StatusCode::OK, format!("{}\n", log.vkey())),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn tile(State(s): State<AppState>, Path(path): Path<String>) -> Response {
    let Some(log) = s.log else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let full = format!("tile/{path}");
    // Only canonical tile names reach storage: no traversal, no aliases.
    if TileRef::parse(&full).is_err() {
        return text(StatusCode::NOT_FOUND, "no such tile\n".into());
    }
    match log.read_object(&full).await {
        Ok(Some(b)) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/octet-stream"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE)),
            ],
            b,
        )
            .into_response(),
        Ok(None) => text(StatusCode::NOT_FOUND, "no such tile\n".into()),
        Err(e) => {
            tracing::error!("reading {full}: {e}");
            text(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage unavailable\n".into(),
            )
        }
    }
}

async fn add_checkpoint(State(s): State<AppState>, body: Bytes) -> Response {
    let Some(w) = s.witness else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match w.add_checkpoint(&body).await {
        Ok(lines) => text(StatusCode::OK, lines),
        Err(WitnessError::Conflict(size)) => (
            StatusCode::CONFLICT,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/x.tlog.size"),
            )],
            format!("{size}\n"),
        )
            .into_response(),
        Err(e) => {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
            text(status, format!("{e}\n"))
        }
    }
}

async fn key_transfer(State(s): State<AppState>, body: Bytes) -> Response {
    let Some(w) = s.witness else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match w.accept_key_transfer(&body).await {
        Ok(()) => text(StatusCode::OK, "accepted\n".into()),
        Err(WitnessError::Conflict(size)) => (
            StatusCode::CONFLICT,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/x.tlog.size"),
            )],
            format!("{size}\n"),
        )
            .into_response(),
        Err(e) => {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
            text(status, format!("{e}\n"))
        }
    }
}
