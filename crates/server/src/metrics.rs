//! Prometheus metrics in the text exposition format. Kept in the app state,
//! not in a global registry, so several servers can run in one test process.
//!
//! Label sets are bounded by construction: `method` is one of the standard
//! methods or `OTHER`, `route` is a route template of the router (or
//! `unmatched`), never a path a client wrote.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    total: u64,
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    pub outbox_applied: AtomicU64,
    pub uploads: AtomicU64,
    pub processing_failed: AtomicU64,
}

/// The `method` label: a standard method, or `OTHER` for anything else.
pub fn method_label(m: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "OTHER",
    }
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((method.to_string(), route.to_string(), status))
                .or_default() += 1;
        }
        if let Ok(mut l) = self.latency.lock() {
            let h = l.entry(route.to_string()).or_default();
            for (i, b) in BUCKETS.iter().enumerate() {
                if seconds <= *b {
                    h.counts[i] += 1;
                }
            }
            h.sum += seconds;
            h.total += 1;
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        out.push_str("# HELP sovereel_http_requests_total HTTP requests by method, route and status.\n# TYPE sovereel_http_requests_total counter\n");
        if let Ok(m) = self.requests.lock() {
            for ((method, route, status), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "sovereel_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}",
                    esc(method),
                    esc(route)
                );
            }
        }
        out.push_str("# HELP sovereel_http_request_duration_seconds Request latency by route.\n# TYPE sovereel_http_request_duration_seconds histogram\n");
        if let Ok(l) = self.latency.lock() {
            for (route, h) in l.iter() {
                for (i, b) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "sovereel_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{b}\"}} {}",
                        esc(route),
                        h.counts[i]
                    );
                }
                let _ = writeln!(
                    out,
                    "sovereel_http_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}",
                    esc(route),
                    h.total
                );
                let _ = writeln!(
                    out,
                    "sovereel_http_request_duration_seconds_sum{{route=\"{}\"}} {}",
                    esc(route),
                    h.sum
                );
                let _ = writeln!(
                    out,
                    "sovereel_http_request_duration_seconds_count{{route=\"{}\"}} {}",
                    esc(route),
                    h.total
                );
            }
        }
        let load = |a: &AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# TYPE sovereel_outbox_applied_total counter\nsovereel_outbox_applied_total {}",
            load(&self.outbox_applied)
        );
        let _ = writeln!(
            out,
            "# TYPE sovereel_uploads_total counter\nsovereel_uploads_total {}",
            load(&self.uploads)
        );
        let _ = writeln!(
            out,
            "# TYPE sovereel_processing_failed_total counter\nsovereel_processing_failed_total {}",
            load(&self.processing_failed)
        );
        out
    }
}
