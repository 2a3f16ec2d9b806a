//! The edge: the public HTTP API and the web client, with no region inside.
//!
//! An edge holds no keys and no protected data at rest. It serves the web
//! client itself and forwards every API request, whole and streamed, to
//! one region's plane service over the cluster's mutual TLS: the caller's
//! home (named by the session token's prefix), the home named by the body
//! for a sign-up (the country) or a log-in (the handle, looked up in the
//! public directory), the home of the content for anonymous reads of a
//! video, and the default region for other anonymous reads (another region
//! if that one does not answer). The region checks the session itself, so
//! an edge cannot act for a user without the user's token. Edges share
//! nothing, so any number run behind a load balancer.
//!
//! `/plane/…` is never forwarded: plane calls are for region services.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::cluster::Peer;
use crate::config::Config;
use crate::error::{ApiError, Kind};

/// Region services accept requests only from the cluster's own roles.
pub async fn require_peer(req: Request, next: Next) -> Response {
    if req.extensions().get::<Peer>().is_none() {
        return ApiError::new(
            Kind::Forbidden,
            "this service answers the cluster's own roles only",
        )
        .into_response();
    }
    next.run(req).await
}

struct EdgeState {
    config: Config,
    client: reqwest::Client,
    regions: BTreeMap<String, String>,
    country_region: HashMap<String, String>,
    default_region: String,
    /// handle → home region (interop data from the public directory).
    directory: Mutex<HashMap<String, String>>,
}

pub struct Edge {
    listener: tokio::net::TcpListener,
    router: Router,
    timeouts: crate::connections::Timeouts,
}

const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
];

impl Edge {
    pub async fn build(config: Config) -> anyhow::Result<Edge> {
        let c = config.cluster.as_ref().ok_or_else(|| {
            anyhow::anyhow!("role edge needs a [cluster] section (see `sovereel cluster init`)")
        })?;
        let client = crate::cluster::client(&config, c, Duration::ZERO)?;
        let mut country_region = HashMap::new();
        let mut default_region = String::new();
        for r in &config.regions {
            for country in &r.countries {
                country_region.insert(country.to_ascii_uppercase(), r.id.clone());
            }
            if r.default {
                default_region = r.id.clone();
            }
        }
        let regions = c
            .regions
            .iter()
            .map(|(id, r)| (id.clone(), r.url.trim_end_matches('/').to_string()))
            .collect();
        let listener = tokio::net::TcpListener::bind(&config.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
        let timeouts = crate::connections::Timeouts::of(&config.limits);
        // The browser-facing checks happen here, where the browser's own
        // Host is known; the per-address limits here and again in the
        // region, the per-account ones in the region only (`limits.rs`).
        let security = Arc::new(crate::security::Security::new(&config));
        let limits = crate::limits::RateLimits::new(&config.limits.rates);
        let state = Arc::new(EdgeState {
            config,
            client,
            regions,
            country_region,
            default_region,
            directory: Mutex::new(HashMap::new()),
        });
        let router = Router::new()
            .route("/healthz", axum::routing::get(healthz))
            .fallback(forward)
            .with_state(state)
            .layer(axum::middleware::from_fn_with_state(
                limits,
                crate::limits::enforce_at_edge,
            ))
            .layer(axum::middleware::from_fn_with_state(
                security,
                crate::security::layer,
            ));
        Ok(Edge {
            listener,
            router,
            timeouts,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener")
    }

    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        crate::connections::serve(self.listener, self.router, self.timeouts, None, shutdown).await
    }
}

async fn healthz() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"status":"ok","role":"edge"}"#,
    )
        .into_response()
}

/// The session token of a request (user or staff), if any.
fn token(headers: &HeaderMap) -> Option<String> {
    if let Some(t) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(t.trim().to_string());
    }
    for v in headers.get_all(header::COOKIE) {
        let Ok(s) = v.to_str() else { continue };
        for pair in s.split(';') {
            if let Some((k, val)) = pair.trim().split_once('=')
                && (k == crate::auth::COOKIE || k == "sovereel_staff")
                && !val.is_empty()
            {
                return Some(val.to_string());
            }
        }
    }
    None
}

fn region_of_token(t: &str) -> Option<&str> {
    let t = t.strip_prefix("staff.").unwrap_or(t);
    t.split_once('.').map(|(r, _)| r)
}

#[derive(serde::Deserialize)]
struct RoutingFields {
    country: Option<String>,
    handle: Option<String>,
    region: Option<String>,
}

async fn forward(
    State(edge): State<Arc<EdgeState>>,
    axum::Extension(client): axum::Extension<crate::security::ClientInfo>,
    req: Request,
) -> Response {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    if path.starts_with("/plane/") {
        return ApiError::new(Kind::NotFound, "no such endpoint").into_response();
    }
    let is_api = path.starts_with("/v1/")
        || path.starts_with("/log/")
        || path.starts_with("/problems/")
        || path == "/openapi.json"
        || path == "/metrics";
    if !is_api {
        if method == Method::GET {
            return crate::web::serve(req.uri().clone()).await;
        }
        return ApiError::new(Kind::NotFound, "no such endpoint").into_response();
    }
    if method == Method::GET && path == "/v1/transparency" {
        return transparency(&edge).await;
    }
    if method == Method::GET && path == "/v1/transparency/report" {
        return transparency_report(&edge, req.uri().query().unwrap_or_default()).await;
    }
    let (parts, body) = req.into_parts();
    // The body decides the home for a sign-up and for log-ins.
    let routed_by_body = method == Method::POST
        && matches!(
            path.as_str(),
            "/v1/accounts" | "/v1/sessions" | "/v1/staff/sessions"
        );
    let (body, target) = if routed_by_body {
        let limit = edge.config.limits.max_json_bytes;
        let bytes = match axum::body::to_bytes(body, limit).await {
            Ok(b) => b,
            Err(_) => {
                return ApiError::new(
                    Kind::PayloadTooLarge,
                    format!("the body is over {limit} bytes"),
                )
                .into_response();
            }
        };
        let fields: Option<RoutingFields> = serde_json::from_slice(&bytes).ok();
        let target = match (path.as_str(), fields) {
            (
                "/v1/accounts",
                Some(RoutingFields {
                    country: Some(c), ..
                }),
            ) => edge
                .country_region
                .get(&c.to_ascii_uppercase())
                .cloned()
                .unwrap_or_else(|| edge.default_region.clone()),
            (
                "/v1/sessions",
                Some(RoutingFields {
                    handle: Some(h), ..
                }),
            ) => lookup_handle(&edge, &h)
                .await
                .unwrap_or_else(|| edge.default_region.clone()),
            (
                "/v1/staff/sessions",
                Some(RoutingFields {
                    region: Some(r), ..
                }),
            ) if edge.regions.contains_key(&r) => r,
            // Malformed: any region answers the precise problem.
            _ => edge.default_region.clone(),
        };
        (Body::from(bytes), vec![target])
    } else {
        (body, targets(&edge, &parts.headers, &path))
    };
    let mut last_down = None;
    let can_retry = method == Method::GET || method == Method::HEAD;
    let mut body = Some(body);
    for region in &targets_or_default(&edge, target) {
        let Some(url) = edge.regions.get(region) else {
            continue;
        };
        let Some(b) = body.take() else { break };
        match send(&edge, url, &parts, b, client).await {
            Ok(r) => return r,
            Err(()) => {
                last_down = Some(region.clone());
                if !can_retry {
                    break;
                }
                body = Some(Body::empty());
            }
        }
    }
    ApiError::region_unavailable(last_down.as_deref().unwrap_or("unknown")).into_response()
}

fn targets_or_default(edge: &EdgeState, t: Vec<String>) -> Vec<String> {
    if t.is_empty() {
        vec![edge.default_region.clone()]
    } else {
        t
    }
}

/// The regions that may answer a request, in order of preference: the
/// one that must, or for anonymous public reads, every region.
fn targets(edge: &EdgeState, headers: &HeaderMap, path: &str) -> Vec<String> {
    if let Some(rest) = path.strip_prefix("/log/") {
        let r = rest.split('/').next().unwrap_or_default();
        return vec![r.to_string()];
    }
    if let Some(t) = token(headers)
        && let Some(r) = region_of_token(&t)
    {
        return vec![r.to_string()];
    }
    // An anonymous read of a video goes to the video's home first.
    let mut out = vec![];
    if let Some(rest) = path.strip_prefix("/v1/videos/") {
        let id = rest.split('/').next().unwrap_or_default();
        let home = crate::access::home_of(id);
        if edge.regions.contains_key(home) {
            out.push(home.to_string());
        }
    }
    if !out.contains(&edge.default_region) {
        out.push(edge.default_region.clone());
    }
    for r in edge.regions.keys() {
        if !out.contains(r) {
            out.push(r.clone());
        }
    }
    out
}

/// Every region's transparency summary: each region service reports its
/// own log, so the edge asks them all and lists the answers together (a
/// region that does not answer is left out, and named as unavailable).
async fn transparency(edge: &EdgeState) -> Response {
    let asks = edge.regions.iter().map(|(id, url)| async move {
        let r = edge
            .client
            .get(format!("{url}/v1/transparency"))
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        let v = match r {
            Ok(r) if r.status().is_success() => r.json::<serde_json::Value>().await.ok(),
            _ => None,
        };
        (id.clone(), v)
    });
    let mut regions = vec![];
    let mut unavailable = vec![];
    for (id, v) in futures::future::join_all(asks).await {
        match v.as_ref().and_then(|v| v["regions"].as_array()) {
            Some(list) => regions.extend(list.iter().cloned()),
            None => unavailable.push(id),
        }
    }
    let body = serde_json::json!({"regions": regions, "unavailable": unavailable});
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// The transparency report: each region computes its own from its own log.
/// With `region=` the edge asks that region; without, every region (each
/// with its own `region=`), and lists the answers together. A region's
/// refusal of the query (a malformed period) is answered as it is.
async fn transparency_report(edge: &EdgeState, query: &str) -> Response {
    let named = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("region="))
        .map(str::to_string);
    let asked: Vec<(String, String)> = match &named {
        Some(r) => match edge.regions.get(r) {
            Some(url) => vec![(r.clone(), format!("{url}/v1/transparency/report?{query}"))],
            None => {
                return ApiError::new(Kind::NotFound, "no such region here").into_response();
            }
        },
        None => edge
            .regions
            .iter()
            .map(|(id, url)| {
                let sep = if query.is_empty() { "" } else { "&" };
                (
                    id.clone(),
                    format!("{url}/v1/transparency/report?region={id}{sep}{query}"),
                )
            })
            .collect(),
    };
    let asks = asked.into_iter().map(|(id, url)| async move {
        let r = edge
            .client
            .get(url)
            .timeout(Duration::from_secs(60))
            .send()
            .await;
        match r {
            Ok(r) => {
                let status = r.status().as_u16();
                let body = r.bytes().await.unwrap_or_default();
                (id, Some((status, body)))
            }
            Err(_) => (id, None),
        }
    });
    let mut regions = vec![];
    let mut unavailable = vec![];
    for (id, answer) in futures::future::join_all(asks).await {
        match answer {
            Some((200, body)) => {
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                regions.extend(v["regions"].as_array().cloned().unwrap_or_default());
            }
            // A refused query is the same refusal from every region.
            Some((status, body)) if (400..500).contains(&status) => {
                return (
                    StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
                    [(header::CONTENT_TYPE, "application/problem+json")],
                    body,
                )
                    .into_response();
            }
            _ => unavailable.push(id),
        }
    }
    if named.is_some() && regions.is_empty() {
        return ApiError::region_unavailable(named.as_deref().unwrap_or_default()).into_response();
    }
    let body = serde_json::json!({"regions": regions, "unavailable": unavailable});
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// The home of a handle, from the public directory (any region answers).
async fn lookup_handle(edge: &EdgeState, handle: &str) -> Option<String> {
    let key = handle.trim().trim_start_matches('@').to_ascii_lowercase();
    if let Some(r) = edge
        .directory
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&key)
    {
        return Some(r.clone());
    }
    let mut order: Vec<&String> = vec![&edge.default_region];
    order.extend(edge.regions.keys().filter(|r| **r != edge.default_region));
    for r in order {
        let url = &edge.regions[r];
        let resp = edge
            .client
            .get(format!("{url}/plane/v1/directory/{key}"))
            .timeout(Duration::from_secs(3))
            .send()
            .await;
        match resp {
            Ok(resp) if resp.status().is_success() => {
                #[derive(serde::Deserialize)]
                struct D {
                    region: String,
                }
                let d: D = resp.json().await.ok()?;
                edge.directory
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(key, d.region.clone());
                return Some(d.region);
            }
            Ok(_) => return None,
            Err(_) => continue,
        }
    }
    None
}

/// Forwards one request to a region's service; `Err` when the service
/// does not answer at all.
async fn send(
    edge: &EdgeState,
    base: &str,
    parts: &axum::http::request::Parts,
    body: Body,
    client: crate::security::ClientInfo,
) -> Result<Response, ()> {
    let pq = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let mut rb = edge
        .client
        .request(parts.method.clone(), format!("{base}{pq}"));
    for (name, value) in &parts.headers {
        if !HOP_BY_HOP.contains(&name.as_str())
            && name.as_str() != "x-forwarded-for"
            && !name.as_str().starts_with("x-sovereel-client-")
        {
            rb = rb.header(name, value);
        }
    }
    // The region believes these from an edge's certificate only.
    rb = rb
        .header("x-forwarded-for", client.addr.to_string())
        .header(crate::security::CLIENT_ADDR_HEADER, client.addr.to_string())
        .header(
            crate::security::CLIENT_PROTO_HEADER,
            if client.https { "https" } else { "http" },
        );
    let stream = body.into_data_stream();
    let resp = rb
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .map_err(|e| {
            tracing::warn!(region = base, error = %e, "region service did not answer");
        })?;
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut out = Response::builder().status(status);
    for (name, value) in resp.headers() {
        if HOP_BY_HOP.contains(&name.as_str()) && name != header::CONTENT_LENGTH {
            continue;
        }
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            out = out.header(n, v);
        }
    }
    Ok(out
        .body(Body::from_stream(resp.bytes_stream()))
        .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response()))
}
