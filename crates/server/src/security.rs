//! Browser safety, and who the client is.
//!
//! Every answer carries a strict Content-Security-Policy (no inline script,
//! no framing), `nosniff` and a same-origin Referrer-Policy. Session cookies
//! get `Secure` when the client reached us over HTTPS. A request that
//! changes something and is authenticated by a cookie alone must come from
//! our own origin: a cookie travels with requests another site makes the
//! browser send, a bearer token does not, so only cookie requests are
//! checked (cross-site request forgery).
//!
//! The client's address is the peer's, unless the peer is a configured
//! proxy (then its `X-Forwarded-For`) or the cluster's own edge over mutual
//! TLS (then the `x-sovereel-client-*` headers the edge sets; nobody else
//! can set them, because only an edge's certificate makes a `Peer` edge).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;

use crate::cluster::Peer;
use crate::config::Config;
use crate::error::{ApiError, Kind};

/// The client's address, and whether it reached the site over HTTPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientInfo {
    pub addr: IpAddr,
    pub https: bool,
}

/// Set by an edge on every request it forwards to a region service.
pub const CLIENT_ADDR_HEADER: &str = "x-sovereel-client-addr";
pub const CLIENT_PROTO_HEADER: &str = "x-sovereel-client-proto";

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// An IP address or CIDR range (`10.0.0.0/8`, `::1`).
pub fn parse_net(s: &str) -> Option<IpNet> {
    let s = s.trim();
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
}

/// `scheme://host[:port]` of an origin or URL, lower-case, without the
/// scheme's default port; `None` for anything else (including `null`).
pub fn authority_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.trim().split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let auth = rest.split(['/', '?', '#']).next()?.to_ascii_lowercase();
    if auth.is_empty() || auth.contains('@') {
        return None;
    }
    let auth = strip_default_port(&auth, &scheme);
    Some(format!("{scheme}://{auth}"))
}

fn strip_default_port(auth: &str, scheme: &str) -> String {
    let default = if scheme == "https" { ":443" } else { ":80" };
    auth.strip_suffix(default).unwrap_or(auth).to_string()
}

/// The host part of `scheme://host[:port]`, for comparing with `Host`.
fn host_part(origin: &str) -> &str {
    origin.split_once("://").map(|(_, a)| a).unwrap_or(origin)
}

pub struct Security {
    trusted: Vec<IpNet>,
    behind_tls: bool,
    public_origin: Option<String>,
    max_uri_bytes: usize,
}

impl Security {
    pub fn new(config: &Config) -> Security {
        Security {
            trusted: config
                .http
                .trusted_proxies
                .iter()
                .filter_map(|p| parse_net(p))
                .collect(),
            behind_tls: config.http.behind_tls,
            public_origin: config.http.public_origin.as_deref().and_then(authority_of),
            max_uri_bytes: config.limits.max_uri_bytes,
        }
    }

    fn trusted(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|n| n.contains(&ip))
    }

    /// Who sent `req` (see the module header for whom we believe).
    pub fn client(&self, req: &Request, from_edge: bool) -> ClientInfo {
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let h = req.headers();
        let (addr, https) = if from_edge {
            let addr = header_str(h, CLIENT_ADDR_HEADER)
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(peer);
            (
                addr,
                header_str(h, CLIENT_PROTO_HEADER).is_some_and(|v| v == "https"),
            )
        } else if self.trusted(peer) {
            // The right-most address that is not one of our proxies is the
            // first one a proxy of ours saw; anything left of it the client
            // may have written itself.
            let mut addr = peer;
            let chain: Vec<IpAddr> = h
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|a| a.trim().parse().ok())
                .collect();
            for a in chain.into_iter().rev() {
                addr = a;
                if !self.trusted(a) {
                    break;
                }
            }
            let proto = h
                .get_all("x-forwarded-proto")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .next_back()
                .map(|p| p.trim().eq_ignore_ascii_case("https"))
                .unwrap_or(false);
            (addr, proto)
        } else {
            (peer, false)
        };
        ClientInfo {
            addr: canonical(addr),
            https: https || self.behind_tls,
        }
    }

    /// Refuses a cookie-authenticated unsafe request from another origin.
    fn check_origin(&self, req: &Request, client: &ClientInfo) -> Result<(), ApiError> {
        let unsafe_method = !matches!(
            *req.method(),
            Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
        );
        if !unsafe_method || !cookie_authenticated(req.headers()) {
            return Ok(());
        }
        let h = req.headers();
        let claimed = match header_str(h, "origin") {
            Some(o) => Some(o),
            None => header_str(h, "referer"),
        };
        let Some(claimed) = claimed else {
            // Browsers name the origin of every cross-origin unsafe request;
            // a request without either header is not a browser's.
            return Ok(());
        };
        let refuse = |why: &str| {
            Err(ApiError::new(
                Kind::CrossOrigin,
                format!(
                    "a cookie-authenticated {} from {why} is refused",
                    req.method()
                ),
            ))
        };
        let Some(theirs) = authority_of(claimed) else {
            return refuse("an opaque or unknown origin");
        };
        let same = match &self.public_origin {
            Some(ours) => *ours == theirs,
            None => {
                let scheme = if client.https { "https" } else { "http" };
                let host = header_str(h, "host")
                    .map(str::to_string)
                    .or_else(|| req.uri().authority().map(|a| a.to_string()))
                    .map(|a| strip_default_port(&a.to_ascii_lowercase(), scheme));
                let theirs_host = host_part(&theirs);
                // Behind a TLS proxy we may not know the scheme the
                // browser used: compare the host and port it named.
                host.as_deref().is_some_and(|ours| {
                    ours == theirs_host
                        || strip_default_port(ours, "https") == theirs_host
                        || strip_default_port(ours, "http") == theirs_host
                })
            }
        };
        if same {
            Ok(())
        } else {
            refuse("another origin")
        }
    }
}

fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// IPv4-mapped IPv6 addresses are the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// A session cookie and no bearer token: the cookie authenticates it.
fn cookie_authenticated(h: &HeaderMap) -> bool {
    let bearer = header_str(h, "authorization").is_some_and(|v| v.starts_with("Bearer "));
    if bearer {
        return false;
    }
    h.get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|p| p.trim().split_once('='))
        .any(|(k, v)| (k == crate::auth::COOKIE || k == crate::api::staff::COOKIE) && !v.is_empty())
}

/// The middleware: refuses over-long URIs and cross-origin cookie writes,
/// records the [`ClientInfo`], and adds the browser-safety headers.
pub async fn layer(State(sec): State<Arc<Security>>, mut req: Request, next: Next) -> Response {
    let from_edge = req.extensions().get::<Peer>().is_some_and(Peer::is_edge);
    let client = sec.client(&req, from_edge);
    let uri_len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    let refused = if uri_len > sec.max_uri_bytes {
        Some(ApiError::new(
            Kind::UriTooLong,
            format!(
                "the request target is over {} bytes; send long data in a body",
                sec.max_uri_bytes
            ),
        ))
    } else if from_edge {
        // The edge checked the origin, against the host the browser used.
        None
    } else {
        sec.check_origin(&req, &client).err()
    };
    let mut resp = match refused {
        Some(e) => e.into_response(),
        None => {
            req.extensions_mut().insert(client);
            next.run(req).await
        }
    };
    harden(&mut resp, client.https);
    resp
}

/// The browser-safety headers, and `Secure` on cookies over HTTPS.
pub fn harden(resp: &mut Response, https: bool) {
    let h = resp.headers_mut();
    for (name, value) in [
        ("content-security-policy", CONTENT_SECURITY_POLICY),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "same-origin"),
    ] {
        if !h.contains_key(name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    }
    if https {
        let cookies: Vec<HeaderValue> = h.get_all(header::SET_COOKIE).iter().cloned().collect();
        if !cookies.is_empty() {
            h.remove(header::SET_COOKIE);
            for c in cookies {
                let secure = c.to_str().is_ok_and(|s| {
                    s.split(';')
                        .any(|a| a.trim().eq_ignore_ascii_case("secure"))
                });
                let v = if secure {
                    c
                } else {
                    let mut b = c.as_bytes().to_vec();
                    b.extend_from_slice(b"; Secure");
                    HeaderValue::from_bytes(&b).unwrap_or(c)
                };
                h.append(header::SET_COOKIE, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_compare_by_scheme_host_and_port() {
        assert_eq!(
            authority_of("https://Video.Example:443/x").as_deref(),
            Some("https://video.example")
        );
        assert_eq!(
            authority_of("http://127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(authority_of("null"), None);
        assert_eq!(authority_of("javascript://x"), None);
        assert_eq!(authority_of("https://user@evil.example"), None);
    }

    #[test]
    fn proxies_parse_as_addresses_or_ranges() {
        assert!(
            parse_net("10.0.0.0/8")
                .unwrap()
                .contains(&"10.2.3.4".parse::<IpAddr>().unwrap())
        );
        assert!(
            parse_net("::1")
                .unwrap()
                .contains(&"::1".parse::<IpAddr>().unwrap())
        );
        assert!(parse_net("ten").is_none());
    }
}
