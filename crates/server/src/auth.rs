//! Passwords and sessions. Passwords are hashed with argon2id. A session
//! token is `<home region>.<32 random bytes, base64url>`: the prefix routes
//! the request to the user's home plane without a lookup, and only the
//! token's SHA-256 is stored there. Tokens arrive as the `sovereel_session`
//! cookie (browser) or `Authorization: Bearer` (API clients), and are never
//! logged.

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine;
use sha2::{Digest, Sha256};
use sovereel_model::UserId;

use crate::error::{ApiError, Kind};
use crate::plane::LocalPlane;
use crate::state::App;

pub const COOKIE: &str = "sovereel_session";

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))?
        .to_string())
}

/// An argon2 hash of nothing in particular, verified against when a login
/// names an unknown handle, so both paths cost the same. Made once, on
/// first use.
pub async fn decoy_hash() -> Result<String, ApiError> {
    static DECOY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DECOY
        .get_or_try_init(|| async {
            tokio::task::spawn_blocking(|| hash_password("decoy-password-not-used"))
                .await
                .map_err(ApiError::internal)?
                .map_err(ApiError::internal)
        })
        .await
        .cloned()
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A fresh session token for a user homed in `region`.
pub fn new_token(region: &str) -> String {
    let mut b = [0u8; 32];
    getrandom::getrandom(&mut b).expect("the operating system's random source failed");
    format!(
        "{region}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
    )
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn session_cookie(token: &str, max_age_secs: u64) -> String {
    format!("{COOKIE}={token}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age_secs}")
}

pub fn clear_cookie() -> String {
    format!("{COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0")
}

/// A cookie the web client can read (no `HttpOnly`), set beside the session
/// cookie and cleared with it. It holds no secret, only "a session cookie
/// was set here", so a signed-out page load need not ask `/v1/me` and get
/// a 401 to learn that nobody is signed in.
pub const HINT_COOKIE: &str = "sovereel_signed_in";

pub fn hint_cookie(max_age_secs: u64) -> String {
    format!("{HINT_COOKIE}=1; SameSite=Lax; Path=/; Max-Age={max_age_secs}")
}

pub fn clear_hint_cookie() -> String {
    format!("{HINT_COOKIE}=; SameSite=Lax; Path=/; Max-Age=0")
}

/// The `Set-Cookie` headers that end a browser's session.
pub fn signed_out_cookies() -> axum::response::AppendHeaders<[(header::HeaderName, String); 2]> {
    axum::response::AppendHeaders([
        (header::SET_COOKIE, clear_cookie()),
        (header::SET_COOKIE, clear_hint_cookie()),
    ])
}

/// The token a request carries, if any.
pub fn request_token(parts: &Parts) -> Option<String> {
    if let Some(v) = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        && let Some(t) = v.strip_prefix("Bearer ")
    {
        return Some(t.trim().to_string());
    }
    for v in parts.headers.get_all(header::COOKIE) {
        let Ok(s) = v.to_str() else { continue };
        for pair in s.split(';') {
            if let Some((k, val)) = pair.trim().split_once('=')
                && k == COOKIE
                && !val.is_empty()
            {
                return Some(val.to_string());
            }
        }
    }
    None
}

/// A logged-in user, resolved at their home plane.
#[derive(Clone)]
pub struct AuthUser {
    pub id: UserId,
    pub home: Arc<LocalPlane>,
    pub token_hash: String,
    /// Who blocked or was blocked by this user, asked of every region at
    /// most once per request (`access::block_set`).
    pub(crate) blocks: Arc<tokio::sync::OnceCell<crate::access::BlockSet>>,
}

/// Resolves the request's session. `Ok(None)` when no token was sent;
/// an unknown, expired or malformed token is `Unauthorized`.
pub async fn resolve(app: &App, parts: &Parts) -> Result<Option<AuthUser>, ApiError> {
    let Some(token) = request_token(parts) else {
        return Ok(None);
    };
    let invalid = || {
        ApiError::new(
            Kind::Unauthorized,
            "the session is invalid or has expired; log in again",
        )
    };
    let (region, _) = token.split_once('.').ok_or_else(invalid)?;
    // Sessions are kept at the user's home; a region serves only its own.
    let home = app.local(region).ok_or_else(invalid)?.clone();
    let hash = token_hash(&token);
    let user = home
        .store
        .session_user(&hash, sovereel_model::now_millis())
        .await?;
    let user = user.ok_or_else(invalid)?;
    let id = UserId::parse(&user).map_err(|_| invalid())?;
    Ok(Some(AuthUser {
        id,
        home,
        token_hash: hash,
        blocks: Default::default(),
    }))
}

impl FromRequestParts<Arc<App>> for AuthUser {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<App>,
    ) -> Result<Self, Self::Rejection> {
        // Already resolved by the rate-limit middleware (`limits.rs`).
        if let Some(u) = parts.extensions.get::<AuthUser>() {
            return Ok(u.clone());
        }
        resolve(app, parts)
            .await?
            .ok_or_else(ApiError::unauthorized)
    }
}

/// The viewer, when there is one: anonymous requests are allowed, but a
/// token that does not resolve is still refused rather than ignored.
pub struct Viewer(pub Option<AuthUser>);

impl FromRequestParts<Arc<App>> for Viewer {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<App>,
    ) -> Result<Self, Self::Rejection> {
        if let Some(u) = parts.extensions.get::<AuthUser>() {
            return Ok(Viewer(Some(u.clone())));
        }
        Ok(Viewer(resolve(app, parts).await?))
    }
}
