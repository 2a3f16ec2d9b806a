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
    ShareConfirmationRequired,
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
        Kind::ShareConfirmationRequired,
    ];

    pub fn status(self) -> StatusCode {
        use Kind::*;
        match self {
            MalformedJson => StatusCode::BAD_REQUEST,
            InvalidField | AgeRequirement | InvalidVideo => StatusCode::UNPROCESSABLE_ENTITY,
            HandleTaken | Conflict | ShareConfirmationRequired => StatusCode::CONFLICT,
            Unauthorized | BadCredentials => StatusCode::UNAUTHORIZED,
            Forbidden | CommentsClosed | Blocked => StatusCode::FORBIDDEN,
            NotFound => StatusCode::NOT_FOUND,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            UnsupportedMedia => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            RangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
            Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Unavailable | RegionUnavailable => StatusCode::SERVICE_UNAVAILABLE,
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
            ShareConfirmationRequired => "share-confirmation-required",
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
            ShareConfirmationRequired => "This video is labelled: share it anyway?",
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
            ShareConfirmationRequired => {
                "A moderator labelled this video (unverified, misleading, graphic or sensitive content); `detail` names the label. Show it to the viewer and ask whether to share anyway. To share, repeat the request with the body `{\"confirm\": true}`."
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
    /// 503 with `Retry-After`: a region's service does not answer.
    pub fn region_unavailable(region: &str) -> Self {
        ApiError::new(
            Kind::RegionUnavailable,
            format!("region `{region}` is temporarily unavailable; try again shortly"),
        )
        .with_header(header::RETRY_AFTER, "5".into())
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
            JsonRejection::BytesRejection(_) => {
                ApiError::new(Kind::PayloadTooLarge, "the JSON body is too large")
            }
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
