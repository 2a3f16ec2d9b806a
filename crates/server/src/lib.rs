//! The Sovereel server as a library: [`Server::build`] opens every region
//! and the catalog from a [`Config`], binds the listener and returns the
//! bound address; [`Server::run`] serves until shutdown. The `sovereel`
//! binary and the integration tests both start it this way.
//!
//! A request's path: the session token names the caller's home region
//! (`auth.rs`); handlers (`api/`) decide visibility in one place
//! (`access.rs`), write to the home region's store with the outbox changes
//! that follow, and the relay (`state.rs`) applies those to the catalog or
//! other regions before the answer.

pub mod access;
pub mod api;
pub mod auth;
pub mod bus;
pub mod cluster;
pub mod config;
pub mod custody;
pub mod deletion;
pub mod edge;
pub mod egress;
pub mod error;
pub mod export;
pub mod export_jobs;
pub mod lease;
pub mod metrics;
pub mod moderation;
pub mod plane;
pub mod processing;
pub mod recommend;
pub mod state;
pub mod transparency;
pub mod views;
pub mod web;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub use config::Config;
use error::{ApiError, Kind};
pub use state::App;

pub use state::Role;

pub struct Server {
    pub app: Arc<App>,
    role: Role,
    listener: tokio::net::TcpListener,
    router: Router,
}

impl Server {
    /// Opens the platform and binds `config.listen` (use port 0 for any).
    pub async fn build(config: Config) -> anyhow::Result<Server> {
        Self::build_as(config, Role::AllInOne).await
    }

    /// The same for a role: every region (the embedded default), or one
    /// region's plane service.
    pub async fn build_as(config: Config, role: Role) -> anyhow::Result<Server> {
        let listen = config.listen.clone();
        let app = App::open_as(config, role.clone()).await?;
        let listener = tokio::net::TcpListener::bind(&listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
        // Finish what a previous run left: outbox changes and uploads.
        app.relay_all().await;
        // Decisions interrupted between their claim and their finish.
        moderation::settle_pending(&app).await;
        let videos = app.load_engines().await?;
        tracing::info!(videos, "recommendation engines loaded the public catalog");
        processing::resume(&app).await;
        let mut router = router(app.clone());
        if let Role::Region(_) = &role {
            router = router
                .merge(plane::service::routes().with_state(app.clone()))
                .layer(axum::middleware::from_fn(edge::require_peer));
        }
        Ok(Server {
            app,
            role,
            listener,
            router,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener")
    }

    /// Serves until `shutdown` resolves.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let app = self.app.clone();
        // Every 2 s: relay outboxes (catching up after any failure); every
        // 30 s: snapshot the recommendation models.
        let relay = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(2));
            let mut n: u64 = 0;
            loop {
                tick.tick().await;
                app.relay_all().await;
                for plane in app.locals() {
                    plane
                        .recs
                        .follow_activation(plane.id.as_str(), &plane.ledger)
                        .await;
                }
                n += 1;
                if n.is_multiple_of(15) {
                    let app = app.clone();
                    let _ = tokio::task::spawn_blocking(move || app.snapshot_engines()).await;
                }
            }
        });
        let consumer = match &self.role {
            Role::Region(id) => Some(tokio::spawn(bus::consume(self.app.clone(), id.clone()))),
            Role::AllInOne => None,
        };
        let res = match (&self.role, &self.app.config.cluster) {
            (Role::Region(_), Some(c)) => {
                let tls = cluster::server_tls(&self.app.config, c)?;
                cluster::serve_tls(
                    self.listener,
                    tls,
                    Arc::new(c.peers.clone()),
                    self.router,
                    shutdown,
                )
                .await
            }
            _ => axum::serve(self.listener, self.router)
                .with_graceful_shutdown(shutdown)
                .await
                .map_err(Into::into),
        };
        relay.abort();
        if let Some(c) = consumer {
            c.abort();
        }
        let app = self.app.clone();
        let _ = tokio::task::spawn_blocking(move || app.snapshot_engines()).await;
        res
    }
}

pub fn router(app: Arc<App>) -> Router {
    let (api, doc) = api::routes(&app);
    let doc_json = doc.to_pretty_json().unwrap_or_default();
    let api = api
        .route(
            "/openapi.json",
            get(move || async move {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    doc_json.clone(),
                )
            }),
        )
        .route("/problems/{slug}", get(api::meta::problem_page));
    // Each local region's log at /log/<region>/: tiles, checkpoint, vkey,
    // and the region's witness endpoint (add-checkpoint).
    let api = app.locals().fold(api, |r, plane| {
        r.nest_service(
            &format!("/log/{}", plane.id),
            sovereel_ledger::http::router(
                Some(plane.ledger.log.clone()),
                Some(plane.ledger.witness.clone()),
            ),
        )
    });
    api.fallback(fallback)
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                Kind::MethodNotAllowed,
                "this path does not accept this method",
            )
        })
        .layer(axum::middleware::from_fn_with_state(app.clone(), observe))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            ApiError::new(Kind::Internal, "the server could not complete the request")
                .into_response()
        }))
        .with_state(app)
}

/// API paths that match nothing are problems; everything else is the web app.
async fn fallback(method: Method, uri: axum::http::Uri) -> Response {
    let p = uri.path();
    if p.starts_with("/v1/")
        || p == "/v1"
        || p.starts_with("/log/")
        || p.starts_with("/problems/")
        || method != Method::GET
    {
        return ApiError::new(Kind::NotFound, "no such endpoint").into_response();
    }
    web::serve(uri).await
}

/// Per request: a request id (kept from `x-request-id` when sane), the
/// problem's `instance`, a metrics sample and a log line without secrets.
async fn observe(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        .map(str::to_string)
        .unwrap_or_else(|| {
            let mut b = [0u8; 12];
            getrandom::getrandom(&mut b).unwrap_or_default();
            hex::encode(b)
        });
    let mut resp = next.run(req).await;
    let status = resp.status();
    if resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == b"application/problem+json")
    {
        let (parts, body) = resp.into_parts();
        let bytes = axum::body::to_bytes(body, 64 * 1024)
            .await
            .unwrap_or_default();
        let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        v["instance"] = serde_json::Value::String(format!("urn:sovereel:request:{id}"));
        resp = Response::from_parts(parts, Body::from(v.to_string()));
        resp.headers_mut().remove(header::CONTENT_LENGTH);
    }
    if let Ok(h) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", h);
    }
    let secs = start.elapsed().as_secs_f64();
    app.metrics
        .observe(method.as_str(), &route, status.as_u16(), secs);
    tracing::info!(request_id = %id, %method, route = %route, status = status.as_u16(), ms = secs * 1000.0, "request");
    resp
}
