//! RFC 9457 problem details. Every error the API returns is one of the
//! [`Problem`] kinds below; its `type` is a stable URI served by the
//! platform itself (`/problems/<slug>`), so clients and tests may branch on
//! it. Messages never echo stored data of another user or region.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Every kind of problem, with its status, slug, title and explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    MalformedJson,
    InvalidField,
    AgeRequirement,
    HandleTaken,
    Unauthorized,
    BadCredentials,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    PayloadTooLarge,
    UnsupportedMedia,
    InvalidVideo,
    RangeNotSatisfiable,
    Conflict,
    CommentsClosed,
    Blocked,
    Internal,
    Unavailable,
    RegionUnavailable,
    RateLimited,
    CrossOrigin,
    UriTooLong,
    BadRequest,
    ExportInProgress,
    ShareConfirmationRequired,
    RegionSuspended,
    RegionClosing,
    RegionClosed,
}

impl Kind {
    pub const ALL: &'static [Kind] = &[
        Kind::MalformedJson,
        Kind::InvalidField,
        Kind::AgeRequirement,
        Kind::HandleTaken,
        Kind::Unauthorized,
        Kind::BadCredentials,
        Kind::Forbidden,
        Kind::NotFound,
        Kind::MethodNotAllowed,
        Kind::PayloadTooLarge,
        Kind::UnsupportedMedia,
        Kind::InvalidVideo,
        Kind::RangeNotSatisfiable,
        Kind::Conflict,
        Kind::CommentsClosed,
        Kind::Blocked,
        Kind::Internal,
        Kind::Unavailable,
        Kind::RegionUnavailable,
        Kind::RateLimited,
        Kind::CrossOrigin,
        Kind::UriTooLong,
        Kind::BadRequest,
        Kind::ExportInProgress,
        Kind::ShareConfirmationRequired,
        Kind::RegionSuspended,
        Kind::RegionClosing,
        Kind::RegionClosed,
    ];

    pub fn status(self) -> StatusCode {
        use Kind::*;
        match self {
            MalformedJson | BadRequest => StatusCode::BAD_REQUEST,
            InvalidField | AgeRequirement | InvalidVideo => StatusCode::UNPROCESSABLE_ENTITY,
            HandleTaken | Conflict | ExportInProgress | ShareConfirmationRequired => {
                StatusCode::CONFLICT
            }
            Unauthorized | BadCredentials => StatusCode::UNAUTHORIZED,
            Forbidden | CommentsClosed | Blocked | CrossOrigin => StatusCode::FORBIDDEN,
            NotFound => StatusCode::NOT_FOUND,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            UnsupportedMedia => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            RangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
            Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Unavailable | RegionUnavailable | RegionSuspended | RegionClosing => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            RegionClosed => StatusCode::GONE,
            RateLimited => StatusCode::TOO_MANY_REQUESTS,
            UriTooLong => StatusCode::URI_TOO_LONG,
        }
    }

    pub fn slug(self) -> &'static str {
        use Kind::*;
        match self {
            MalformedJson => "malformed-json",
            InvalidField => "invalid-field",
            AgeRequirement => "age-requirement",
            HandleTaken => "handle-taken",
            Unauthorized => "unauthorized",
            BadCredentials => "bad-credentials",
            Forbidden => "forbidden",
            NotFound => "not-found",
            MethodNotAllowed => "method-not-allowed",
            PayloadTooLarge => "payload-too-large",
            UnsupportedMedia => "unsupported-media",
            InvalidVideo => "invalid-video",
            RangeNotSatisfiable => "range-not-satisfiable",
            Conflict => "conflict",
            CommentsClosed => "comments-closed",
            Blocked => "blocked",
            Internal => "internal",
            Unavailable => "unavailable",
            RegionUnavailable => "region-unavailable",
            RateLimited => "rate-limited",
            CrossOrigin => "cross-origin",
            UriTooLong => "uri-too-long",
            BadRequest => "bad-request",
            ExportInProgress => "export-in-progress",
            ShareConfirmationRequired => "share-confirmation-required",
            RegionSuspended => "region-suspended",
            RegionClosing => "region-closing",
            RegionClosed => "region-closed",
        }
    }

    pub fn title(self) -> &'static str {
        use Kind::*;
        match self {
            MalformedJson => "The request body is not valid JSON",
            InvalidField => "A field is missing or invalid",
            AgeRequirement => "You must be at least 13 to use Sovereel",
            HandleTaken => "That handle is taken",
            Unauthorized => "You need to log in",
            BadCredentials => "Wrong handle or password",
            Forbidden => "You may not do that",
            NotFound => "Not found",
            MethodNotAllowed => "Method not allowed",
            PayloadTooLarge => "The upload is too large",
            UnsupportedMedia => "Unsupported media",
            InvalidVideo => "The video cannot be used",
            RangeNotSatisfiable => "The requested range is not satisfiable",
            Conflict => "Conflict",
            CommentsClosed => "Comments are closed for you on this video",
            Blocked => "Blocked",
            Internal => "Something went wrong on our side",
            Unavailable => "Temporarily unavailable",
            RegionUnavailable => "A region is temporarily unavailable",
            RateLimited => "Too many requests",
            CrossOrigin => "Refused: the request came from another site",
            UriTooLong => "The request URI is too long",
            BadRequest => "The request is malformed",
            ExportInProgress => "An export is already being made",
            ShareConfirmationRequired => "This video is labelled: share it anyway?",
            RegionSuspended => "Your region is suspended: it is read-only",
            RegionClosing => "Your region is closing: it is read-only until it closes",
            RegionClosed => "This region has closed",
        }
    }

    pub fn explanation(self) -> &'static str {
        use Kind::*;
        match self {
            MalformedJson => {
                "The body could not be parsed as JSON, or its Content-Type is not application/json. Send a JSON object."
            }
            InvalidField => {
                "A required field is missing, has the wrong type, or breaks a rule (for example a handle with spaces). `detail` names the field and the rule."
            }
            AgeRequirement => {
                "Accounts require an age of 13 or more, computed from the birthdate at sign-up. Accounts under 16 start private."
            }
            HandleTaken => "Handles are unique across every region. Choose another.",
            Unauthorized => {
                "The request needs a session: log in with POST /v1/sessions and send the cookie or an `Authorization: Bearer` token. Expired or logged-out tokens are refused."
            }
            BadCredentials => "The handle or the password is wrong. The answer does not say which.",
            Forbidden => "You are logged in, but this action is not allowed for you.",
            NotFound => {
                "Nothing exists here that you may see. Private content of others is reported as not found, so its existence is not revealed."
            }
            MethodNotAllowed => "This path does not accept this HTTP method.",
            PayloadTooLarge => "The body is larger than the configured limit.",
            UnsupportedMedia => {
                "Uploads must be MP4, MOV or WebM video, recognised from the content itself, not the file name."
            }
            InvalidVideo => {
                "The file looks like a video but cannot be used: it is truncated, unreadable, too long, or not playable in a browser."
            }
            RangeNotSatisfiable => {
                "The Range header asks for bytes past the end of the file. The Content-Range header gives the size."
            }
            Conflict => "The request conflicts with the current state.",
            CommentsClosed => "The creator limited who can comment on this video.",
            Blocked => "One of you has blocked the other.",
            Internal => "An unexpected error happened. It was logged with the request id.",
            Unavailable => "A dependency is temporarily unavailable. Try again shortly.",
            RegionUnavailable => {
                "The data plane of the region this request needs (your home region, or the home of the content) does not answer right now. Other regions keep working. Retry after the number of seconds in `Retry-After`; nothing you sent was stored."
            }
            RateLimited => {
                "You (your account, or your network address) sent more of these requests than the limit allows in a while: sign-ups, log-ins, uploads, comments, reports, exports, events, or likes, shares and follows. Retry after the number of seconds in `Retry-After`; nothing you sent was stored. Repeated wrong passwords for one handle make each further log-in for that handle wait longer (up to a configured maximum, never for good), whether or not the handle exists."
            }
            CrossOrigin => {
                "A request that changes something (POST, PUT, PATCH, DELETE) was authenticated by the session cookie but sent from a page of another origin (its Origin or Referer names another site). It was refused, to protect you from cross-site request forgery. Use the site itself, or send an `Authorization: Bearer` token."
            }
            UriTooLong => {
                "The path and query of the request are longer than the server accepts. Send long data in a request body instead."
            }
            BadRequest => {
                "The request could not be understood: a malformed header, a multipart body without a boundary, or another syntax error. `detail` says what."
            }
            ExportInProgress => {
                "An export of your data is already queued or running. Wait for it to finish (GET its URL for its progress) before asking for another."
            }
            ShareConfirmationRequired => {
                "A moderator labelled this video (unverified, misleading, graphic or sensitive content); `detail` names the label. Show it to the viewer and ask whether to share anyway. To share, repeat the request with the body `{\"confirm\": true}`."
            }
            RegionSuspended => {
                "The region that holds your data was suspended (for example under a legal order), by its custodian alone or by the platform and the custodian together; `detail` gives the grounds, which are also in `GET /v1/regions/{id}` and on the region's public ledger. While it is suspended nothing new can be written: you can still read, log in and out, and export your data (POST /v1/me/exports). Nothing you sent was stored. When the region resumes, everything works again."
            }
            RegionClosing => {
                "The region that holds your data is being wound down: after its notice period every key is destroyed and its data deleted. Until then it is read-only, and you can export your data (POST /v1/me/exports); `detail` gives the deadline and the grounds. Nothing you sent was stored."
            }
            RegionClosed => {
                "The region was wound down: its keys were destroyed and its data purged, and its log closed with a `region_closed` entry. Sign-ups from its countries go to the region the configuration names as its successor; when there is none, they are refused, as this one was."
            }
        }
    }

    pub fn from_slug(slug: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.slug() == slug)
    }
}

/// An error answered as `application/problem+json`.
#[derive(Debug)]
pub struct ApiError {
    pub kind: Kind,
    pub detail: String,
    /// Extra headers, e.g. `Content-Range` on a 416.
    pub headers: Vec<(header::HeaderName, String)>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ProblemBody {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub instance: String,
}

impl ApiError {
    pub fn new(kind: Kind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            headers: vec![],
        }
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(Kind::NotFound, format!("no {what} here that you may see"))
    }
    pub fn invalid(e: sovereel_model::InvalidValue) -> Self {
        Self::new(Kind::InvalidField, e.to_string())
    }
    pub fn unauthorized() -> Self {
        Self::new(Kind::Unauthorized, "log in to do this")
    }
    pub fn internal(e: impl std::fmt::Display) -> Self {
        // The cause goes to the log, keyed by the request id; the client
        // sees only that something failed.
        tracing::error!(error = %e, "internal error");
        Self::new(Kind::Internal, "the server could not complete the request")
    }
    pub fn with_header(mut self, name: header::HeaderName, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
}

impl From<sovereel_store::StoreError> for ApiError {
    fn from(e: sovereel_store::StoreError) -> Self {
        match e {
            sovereel_store::StoreError::NotFound => ApiError::not_found("such thing"),
            sovereel_store::StoreError::Conflict("handle") => {
                ApiError::new(Kind::HandleTaken, "that handle is already used")
            }
            sovereel_store::StoreError::Conflict(what) => {
                ApiError::new(Kind::Conflict, format!("{what} already exists"))
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<crate::plane::PlaneError> for ApiError {
    fn from(e: crate::plane::PlaneError) -> Self {
        use crate::plane::PlaneError;
        match e {
            PlaneError::Unavailable { region } => ApiError::region_unavailable(&region),
            PlaneError::Store(s) => s.into(),
            other => ApiError::internal(other),
        }
    }
}

impl ApiError {
    /// 503: the region's ledger did not record a step, so the step was not
    /// taken (nothing takes effect that the log does not say).
    pub fn unrecorded(e: sovereel_ledger::LogError) -> Self {
        tracing::error!(error = %e, "a step could not be recorded in the ledger");
        ApiError::new(
            Kind::Unavailable,
            "the region's ledger did not record the step, so it was not taken; try again",
        )
    }

    /// 503 with `Retry-After`: a region's service does not answer.
    pub fn region_unavailable(region: &str) -> Self {
        ApiError::new(
            Kind::RegionUnavailable,
            format!("region `{region}` is temporarily unavailable; try again shortly"),
        )
        .with_header(header::RETRY_AFTER, "5".into())
    }
}

impl ApiError {
    /// 429 with `Retry-After` (whole seconds, at least 1).
    pub fn rate_limited(retry_after: std::time::Duration, detail: impl Into<String>) -> Self {
        let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        ApiError::new(Kind::RateLimited, detail)
            .with_header(header::RETRY_AFTER, secs.max(1).to_string())
    }

    /// The problem kind that stands for a bare HTTP status (used for the
    /// framework's own rejections, which carry no problem of their own).
    pub fn kind_of_status(status: StatusCode) -> Kind {
        match status.as_u16() {
            401 => Kind::Unauthorized,
            403 => Kind::Forbidden,
            404 => Kind::NotFound,
            405 => Kind::MethodNotAllowed,
            409 => Kind::Conflict,
            413 => Kind::PayloadTooLarge,
            414 => Kind::UriTooLong,
            415 => Kind::UnsupportedMedia,
            416 => Kind::RangeNotSatisfiable,
            422 => Kind::InvalidField,
            429 => Kind::RateLimited,
            503 => Kind::Unavailable,
            500..=599 => Kind::Internal,
            _ => Kind::BadRequest,
        }
    }
}

impl From<sovereel_model::InvalidValue> for ApiError {
    fn from(e: sovereel_model::InvalidValue) -> Self {
        ApiError::invalid(e)
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::JsonDataError(e) => {
                // serde's message names the field and the problem ("missing
                // field `email`"); keep only the part before the location.
                let msg = std::error::Error::source(&e)
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| e.body_text());
                let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
                ApiError::new(Kind::InvalidField, msg)
            }
            JsonRejection::JsonSyntaxError(_) => {
                ApiError::new(Kind::MalformedJson, "the body is not valid JSON")
            }
            JsonRejection::MissingJsonContentType(_) => {
                ApiError::new(Kind::MalformedJson, "send Content-Type: application/json")
            }
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::new(Kind::PayloadTooLarge, "the JSON body is too large")
            }
            JsonRejection::BytesRejection(_) => ApiError::new(
                Kind::BadRequest,
                "the body could not be read (the client stopped sending it?)",
            ),
            other => ApiError::new(Kind::MalformedJson, other.body_text()),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(_: PathRejection) -> Self {
        ApiError::new(Kind::NotFound, "no such resource")
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::new(Kind::InvalidField, format!("query: {}", r.body_text()))
    }
}

impl From<axum::extract::multipart::MultipartError> for ApiError {
    fn from(e: axum::extract::multipart::MultipartError) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(Kind::PayloadTooLarge, "the upload is larger than the limit")
        } else {
            ApiError::new(
                Kind::InvalidField,
                format!("multipart body: {}", e.body_text()),
            )
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.kind.status();
        let body = ProblemBody {
            type_: format!("/problems/{}", self.kind.slug()),
            title: self.kind.title().to_string(),
            status: status.as_u16(),
            detail: self.detail,
            // Filled by the request-id middleware (see `lib.rs`), which knows
            // the request id; here the problem is still anonymous.
            instance: String::new(),
        };
        let mut resp = (status, serde_json::to_string(&body).unwrap_or_default()).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        for (k, v) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&v) {
                resp.headers_mut().insert(k, v);
            }
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// JSON extractor whose rejections are problem+json.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Path extractor whose rejections are problem+json.
#[derive(Debug, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// Query extractor whose rejections are problem+json.
#[derive(Debug, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);
