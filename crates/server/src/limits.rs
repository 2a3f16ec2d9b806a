//! Rate limits, per client address and per account (`[limits.rates]`).
//!
//! Each limited action (sign-up, log-in, upload, comment, report, export,
//! events, and the social writes: likes, shares, follows, blocks) has a
//! keyed GCRA limiter (`governor`) per client address and one per account:
//! a burst of `count`, refilled evenly over the window. Past either, the
//! answer is 429 `/problems/rate-limited` with `Retry-After`, before the
//! handler runs, so nothing is stored.
//!
//! Log-ins are keyed per handle as given (whether or not it exists, so the
//! answer never tells), and failed log-ins slow that handle down: after
//! `login_free_failures` failures each further attempt must wait
//! `login_base_delay_secs`, then twice that, and so on up to
//! `login_max_delay_secs`, and the count is forgotten
//! after a success or `login_failure_memory_secs` without a failure. The
//! owner is delayed, never locked out.
//!
//! Where the state lives: in the process that handles the request. In the
//! split deployment every API request runs in the caller's home region
//! service (an edge only forwards), so the per-account limits and the
//! log-in delays are kept there, once per account, however many edges
//! there are. Each edge also applies the per-address limits (to stop a
//! flood before it costs a forwarded request), and the region applies them
//! again with the address the edge passed on, so several edges cannot
//! multiply an address's allowance for one region. IPv6 addresses count per
//! /64, the block one subscriber usually holds.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::config::{Rate, Rates};
use crate::error::ApiError;
use crate::security::ClientInfo;
use crate::state::App;

/// What a request does, for its rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Signup,
    Login,
    Upload,
    Comment,
    Report,
    Export,
    Events,
    Social,
}

impl Action {
    /// The limited action of a request, from its method and path.
    pub fn of(method: &Method, path: &str) -> Option<Action> {
        let seg: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let write = matches!(*method, Method::PUT | Method::DELETE);
        match (method, seg.as_slice()) {
            (&Method::POST, ["v1", "accounts"]) => Some(Action::Signup),
            (&Method::POST, ["v1", "sessions"] | ["v1", "staff", "sessions"]) => {
                Some(Action::Login)
            }
            (&Method::POST, ["v1", "videos"]) => Some(Action::Upload),
            (&Method::POST, ["v1", "videos", _, "comments"]) => Some(Action::Comment),
            (&Method::POST, ["v1", "reports"]) => Some(Action::Report),
            (&Method::POST, ["v1", "me", "exports"]) => Some(Action::Export),
            (&Method::POST, ["v1", "events"]) => Some(Action::Events),
            (&Method::POST, ["v1", "videos", _, "shares"]) => Some(Action::Social),
            (_, ["v1", "videos", _, "like"]) if write => Some(Action::Social),
            (_, ["v1", "users", _, "follow" | "block"]) if write => Some(Action::Social),
            (_, ["v1", "me", "follow-requests", _]) if write => Some(Action::Social),
            _ => None,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Action::Signup => "sign-ups",
            Action::Login => "log-in attempts",
            Action::Upload => "uploads",
            Action::Comment => "comments",
            Action::Report => "reports",
            Action::Export => "export requests",
            Action::Events => "event batches",
            Action::Social => "likes, shares and follows",
        }
    }
}

/// An address as a limiter key: IPv4 whole, IPv6 by its /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct AddrKey(u128);

impl From<IpAddr> for AddrKey {
    /// IPv4 (and IPv4-mapped IPv6) as `::ffff:a.b.c.d`, whose low 64 bits
    /// are never zero; IPv6 with its low 64 bits cleared. So the two kinds
    /// never share a key.
    fn from(ip: IpAddr) -> Self {
        let v4 = |v4: std::net::Ipv4Addr| AddrKey((0xffff_u128 << 32) | u128::from(u32::from(v4)));
        match ip {
            IpAddr::V4(a) => v4(a),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(a) => v4(a),
                None => AddrKey(u128::from(v6) & !((1u128 << 64) - 1)),
            },
        }
    }
}

fn limiter<K: Clone + Hash + Eq>(rate: Rate) -> Option<DefaultKeyedRateLimiter<K>> {
    let (count, per) = rate.0?;
    let count = NonZeroU32::new(count)?;
    let quota = Quota::with_period(per / count.get())?.allow_burst(count);
    Some(DefaultKeyedRateLimiter::keyed(quota))
}

struct Pair {
    account: Option<DefaultKeyedRateLimiter<String>>,
    address: Option<DefaultKeyedRateLimiter<AddrKey>>,
}

struct Failures {
    count: u32,
    last: Instant,
    wait_until: Option<Instant>,
}

/// Entries of the log-in failure table above which old ones are dropped.
const MAX_FAILURE_ENTRIES: usize = 100_000;

pub struct RateLimits {
    enabled: AtomicBool,
    pairs: HashMap<Action, Pair>,
    free_failures: u32,
    base_delay: Duration,
    max_delay: Duration,
    failure_memory: Duration,
    failures: Mutex<HashMap<String, Failures>>,
    clock: DefaultClock,
}

impl RateLimits {
    pub fn new(cfg: &Rates) -> Arc<RateLimits> {
        if !cfg.enabled {
            tracing::warn!(
                "rate limits are OFF ([limits.rates] enabled = false): sign-ups, log-ins, uploads, comments, reports, exports, events and social writes are unlimited"
            );
        }
        let pair = |account: Option<Rate>, address: Rate| Pair {
            account: account.and_then(limiter),
            address: limiter(address),
        };
        let pairs = HashMap::from([
            (Action::Signup, pair(None, cfg.signup_per_address)),
            (
                Action::Login,
                pair(Some(cfg.login_per_account), cfg.login_per_address),
            ),
            (
                Action::Upload,
                pair(Some(cfg.upload_per_account), cfg.upload_per_address),
            ),
            (
                Action::Comment,
                pair(Some(cfg.comment_per_account), cfg.comment_per_address),
            ),
            (
                Action::Report,
                pair(Some(cfg.report_per_account), cfg.report_per_address),
            ),
            (Action::Export, pair(None, cfg.export_per_address)),
            (
                Action::Events,
                pair(Some(cfg.events_per_account), cfg.events_per_address),
            ),
            (
                Action::Social,
                pair(Some(cfg.social_per_account), cfg.social_per_address),
            ),
        ]);
        let limits = Arc::new(RateLimits {
            enabled: AtomicBool::new(cfg.enabled),
            pairs,
            free_failures: cfg.login_free_failures,
            base_delay: Duration::from_secs(cfg.login_base_delay_secs.max(1)),
            max_delay: Duration::from_secs(cfg.login_max_delay_secs.max(1)),
            failure_memory: Duration::from_secs(cfg.login_failure_memory_secs.max(1)),
            failures: Mutex::new(HashMap::new()),
            clock: DefaultClock::default(),
        });
        spawn_housekeeping(Arc::downgrade(&limits));
        limits
    }

    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// Switches every limit off or on at run time (the demo seeds itself
    /// with them off, then serves with them on).
    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed);
    }

    fn refuse(&self, action: Action, whose: &str, wait: Duration) -> ApiError {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        ApiError::rate_limited(
            wait,
            format!(
                "too many {} {whose}; try again in {} s",
                action.noun(),
                secs.max(1)
            ),
        )
    }

    /// The per-address limit of `action`.
    pub fn check_address(&self, action: Action, addr: IpAddr) -> Result<(), ApiError> {
        if !self.enabled() {
            return Ok(());
        }
        let Some(l) = self.pairs.get(&action).and_then(|p| p.address.as_ref()) else {
            return Ok(());
        };
        l.check_key(&AddrKey::from(addr)).map_err(|n| {
            self.refuse(
                action,
                "from your network address",
                n.wait_time_from(self.clock.now()),
            )
        })
    }

    /// Whether `action` has a per-account limit the middleware applies
    /// (log-ins are limited per handle by the log-in itself).
    fn has_account_limit(&self, action: Action) -> bool {
        action != Action::Login && self.pairs.get(&action).is_some_and(|p| p.account.is_some())
    }

    /// The per-account limit of `action`; `account` is a user id (or, for
    /// log-ins, the handle).
    pub fn check_account(&self, action: Action, account: &str) -> Result<(), ApiError> {
        if !self.enabled() {
            return Ok(());
        }
        let Some(l) = self.pairs.get(&action).and_then(|p| p.account.as_ref()) else {
            return Ok(());
        };
        l.check_key(&account.to_string()).map_err(|n| {
            let whose = if action == Action::Login {
                "for this handle"
            } else {
                "for your account"
            };
            self.refuse(action, whose, n.wait_time_from(self.clock.now()))
        })
    }

    /// Before a log-in for `handle` checks the password: the handle's rate,
    /// and the wait its recent failures impose.
    pub fn login_gate(&self, handle: &str) -> Result<(), ApiError> {
        if !self.enabled() {
            return Ok(());
        }
        self.check_account(Action::Login, handle)?;
        let now = Instant::now();
        let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = f.get(handle) {
            if now.duration_since(e.last) >= self.failure_memory {
                f.remove(handle);
            } else if let Some(until) = e.wait_until
                && until > now
            {
                return Err(self.refuse(
                    Action::Login,
                    "after failed log-ins for this handle",
                    until - now,
                ));
            }
        }
        Ok(())
    }

    /// A log-in for `handle` failed: past the free failures, the next
    /// attempt waits twice as long as the last (up to the maximum).
    pub fn login_failed(&self, handle: &str) {
        if !self.enabled() {
            return;
        }
        let now = Instant::now();
        let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if f.len() >= MAX_FAILURE_ENTRIES && !f.contains_key(handle) {
            let memory = self.failure_memory;
            f.retain(|_, e| now.duration_since(e.last) < memory);
            if f.len() >= MAX_FAILURE_ENTRIES {
                // Entries that impose no wait yet are the cheapest to lose.
                let free = self.free_failures;
                f.retain(|_, e| e.count >= free);
            }
        }
        let e = f.entry(handle.to_string()).or_insert(Failures {
            count: 0,
            last: now,
            wait_until: None,
        });
        if now.duration_since(e.last) >= self.failure_memory {
            e.count = 0;
        }
        e.count = e.count.saturating_add(1);
        e.last = now;
        if e.count >= self.free_failures.max(1) {
            let doublings = (e.count - self.free_failures.max(1)).min(30);
            let delay = self
                .base_delay
                .saturating_mul(1u32 << doublings)
                .min(self.max_delay);
            e.wait_until = Some(now + delay);
        }
    }

    /// A log-in for `handle` succeeded: its failures are forgotten.
    pub fn login_succeeded(&self, handle: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(handle);
    }

    /// Drops limiter state that has refilled completely, and forgotten
    /// failures, so memory follows the active clients only.
    pub fn housekeeping(&self) {
        for p in self.pairs.values() {
            if let Some(l) = &p.account {
                l.retain_recent();
                l.shrink_to_fit();
            }
            if let Some(l) = &p.address {
                l.retain_recent();
                l.shrink_to_fit();
            }
        }
        let now = Instant::now();
        let memory = self.failure_memory;
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, e| now.duration_since(e.last) < memory);
    }
}

fn spawn_housekeeping(limits: Weak<RateLimits>) {
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        return;
    };
    rt.spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        tick.tick().await;
        loop {
            tick.tick().await;
            match limits.upgrade() {
                Some(l) => l.housekeeping(),
                None => return,
            }
        }
    });
}

/// The region's middleware: per-address and per-account limits before the
/// handler. It resolves the session of limited requests, and leaves the
/// user in the request for the handler's extractor.
pub async fn enforce(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let limits = &app.limits;
    if !limits.enabled() {
        return next.run(req).await;
    }
    let Some(action) = Action::of(req.method(), req.uri().path()) else {
        return next.run(req).await;
    };
    if let Some(c) = req.extensions().get::<ClientInfo>()
        && let Err(e) = limits.check_address(action, c.addr)
    {
        return e.into_response();
    }
    if !limits.has_account_limit(action) {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    // A token that does not resolve is left to the handler to refuse.
    if let Ok(Some(user)) = crate::auth::resolve(&app, &parts).await {
        if let Err(e) = limits.check_account(action, user.id.as_str()) {
            return e.into_response();
        }
        parts.extensions.insert(user);
    }
    next.run(Request::from_parts(parts, body)).await
}

/// The edge's middleware: the per-address limits (the region applies the
/// per-account ones).
pub async fn enforce_at_edge(
    State(limits): State<Arc<RateLimits>>,
    req: Request,
    next: Next,
) -> Response {
    if let Some(action) = Action::of(req.method(), req.uri().path())
        && let Some(c) = req.extensions().get::<ClientInfo>()
        && let Err(e) = limits.check_address(action, c.addr)
    {
        return e.into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_follow_method_and_path() {
        let of = |m: Method, p: &str| Action::of(&m, p);
        assert_eq!(of(Method::POST, "/v1/accounts"), Some(Action::Signup));
        assert_eq!(of(Method::GET, "/v1/accounts"), None);
        assert_eq!(of(Method::POST, "/v1/staff/sessions"), Some(Action::Login));
        assert_eq!(
            of(Method::POST, "/v1/videos/us_x/comments"),
            Some(Action::Comment)
        );
        assert_eq!(of(Method::GET, "/v1/videos/us_x/comments"), None);
        assert_eq!(
            of(Method::PUT, "/v1/videos/us_x/like"),
            Some(Action::Social)
        );
        assert_eq!(
            of(Method::DELETE, "/v1/users/bo/follow"),
            Some(Action::Social)
        );
        assert_eq!(of(Method::POST, "/v1/events"), Some(Action::Events));
        assert_eq!(of(Method::GET, "/v1/videos/us_x"), None);
    }

    #[tokio::test]
    async fn failures_slow_a_handle_down_and_a_success_forgets_them() {
        let cfg = Rates {
            login_free_failures: 2,
            login_max_delay_secs: 4,
            ..Rates::default()
        };
        let l = RateLimits::new(&cfg);
        l.login_failed("bo");
        assert!(l.login_gate("bo").is_ok(), "one failure is free");
        l.login_failed("bo");
        let e = l.login_gate("bo").unwrap_err();
        assert_eq!(e.kind, crate::error::Kind::RateLimited);
        assert!(l.login_gate("someone_else").is_ok());
        for _ in 0..40 {
            l.login_failed("bo");
        }
        let wait = {
            let f = l.failures.lock().unwrap();
            f["bo"].wait_until.unwrap() - Instant::now()
        };
        assert!(wait <= Duration::from_secs(4), "capped at the maximum");
        l.login_succeeded("bo");
        assert!(l.login_gate("bo").is_ok());
    }

    #[test]
    fn ipv6_counts_per_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(AddrKey::from(a), AddrKey::from(b));
        assert_ne!(AddrKey::from(a), AddrKey::from(c));
        assert_ne!(
            AddrKey::from("0.0.0.1".parse::<IpAddr>().unwrap()),
            AddrKey::from("::1".parse::<IpAddr>().unwrap())
        );
        assert_ne!(
            AddrKey::from("0.0.0.0".parse::<IpAddr>().unwrap()),
            AddrKey::from("::".parse::<IpAddr>().unwrap())
        );
        assert_eq!(
            AddrKey::from("192.0.2.7".parse::<IpAddr>().unwrap()),
            AddrKey::from("::ffff:192.0.2.7".parse::<IpAddr>().unwrap()),
            "an IPv4-mapped address is the IPv4 client"
        );
    }
}
