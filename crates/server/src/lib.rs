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
pub mod connections;
pub mod custody;
pub mod deletion;
pub mod edge;
pub mod egress;
pub mod error;
pub mod export;
pub mod export_jobs;
pub mod lease;
pub mod lifecycle;
pub mod limits;
pub mod metrics;
pub mod moderation;
pub mod plane;
pub mod processing;
pub mod recommend;
pub mod security;
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
    /// `/metrics` alone, when `[http] metrics_listen` is set.
    metrics_listener: Option<tokio::net::TcpListener>,
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
        let metrics_listener = match &app.config.http.metrics_listen {
            Some(m) => Some(
                tokio::net::TcpListener::bind(m)
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot listen for metrics on {m}: {e}"))?,
            ),
            None => None,
        };
        // Finish what a previous run left: outbox changes and uploads.
        app.relay_all().await;
        // Decisions interrupted between their claim and their finish.
        moderation::settle_pending(&app).await;
        let videos = app.load_engines().await?;
        tracing::info!(videos, "recommendation engines loaded the public catalog");
        processing::resume(&app).await;
        lifecycle::resume(&app).await;
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
            metrics_listener,
            router,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener")
    }

    /// Where `/metrics` is served when it has its own address.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .map(|l| l.local_addr().expect("bound listener"))
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
                lifecycle::tick(&app).await;
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
        let timeouts = connections::Timeouts::of(&self.app.config.limits);
        // One shutdown for the API listener and the metrics listener.
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });
        let stopped = move || {
            let mut rx = stop_rx.clone();
            async move {
                let _ = rx.wait_for(|s| *s).await;
            }
        };
        let metrics = self.metrics_listener.map(|l| {
            let router = Router::new()
                .route("/metrics", get(api::meta::metrics))
                .with_state(self.app.clone());
            tokio::spawn(connections::serve(l, router, timeouts, None, stopped()))
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
                    timeouts,
                    stopped(),
                )
                .await
            }
            _ => connections::serve(self.listener, self.router, timeouts, None, stopped()).await,
        };
        if let Some(m) = metrics {
            let _ = m.await;
        }
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
    // Every body is bounded, whatever the route reads it with: uploads by
    // their limit, everything else by the JSON limit of its extractor.
    let body_limit = app.config.limits.max_upload_bytes as usize + 1024 * 1024;
    let security = Arc::new(security::Security::new(&app.config));
    api.fallback(fallback)
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                Kind::MethodNotAllowed,
                "this path does not accept this method",
            )
        })
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            limits::enforce,
        ))
        // A region that is not active takes no writes from those homed there.
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            lifecycle::guard,
        ))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(body_limit))
        .layer(axum::middleware::from_fn_with_state(
            security,
            security::layer,
        ))
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
    // Metrics and the log name standard methods; any other is `OTHER`, so
    // junk methods add neither series nor bytes.
    let method = metrics::method_label(req.method());
    let path = req.uri().path().to_string();
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
    let mut resp = if path == "/metrics" && app.config.http.metrics_listen.is_some() {
        ApiError::new(Kind::NotFound, "metrics are served on their own address").into_response()
    } else {
        next.run(req).await
    };
    if !path.starts_with("/plane/") {
        resp = as_problem(resp).await;
    }
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
    app.metrics.observe(method, &route, status.as_u16(), secs);
    tracing::info!(request_id = %id, %method, route = %route, status = status.as_u16(), ms = secs * 1000.0, "request");
    resp
}

/// An error the framework answered by itself (a rejection in plain text,
/// or an empty body: a multipart body without a boundary, a 405 of a nested
/// router, a body over its limit) becomes a problem with the same status
/// where a kind has it, keeping its other headers (`Allow`, …). Answers
/// with another type of their own (the witness protocol's
/// `text/x.tlog.size`) are left as they are.
async fn as_problem(resp: Response) -> Response {
    let status = resp.status();
    let ct = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let plain = ct.is_none_or(|t| t.starts_with("text/plain"));
    if status.as_u16() < 400 || !plain {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text: String = String::from_utf8_lossy(&bytes)
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let kind = ApiError::kind_of_status(status);
    let detail = if text.is_empty() {
        kind.title().to_string()
    } else {
        text
    };
    let mut out = ApiError::new(kind, detail).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE
            && name != header::CONTENT_LENGTH
            && !out.headers().contains_key(name)
        {
            out.headers_mut().append(name.clone(), value.clone());
        }
    }
    out
}
