//! What the generated OpenAPI document cannot learn from the handlers'
//! annotations alone.
//!
//! * The path parameters, one type per meaning (a video id is not a case
//!   id), so every `{name}` in a path is declared once, the same way.
//! * Errors: every error is an RFC 9457 problem, served as
//!   `application/problem+json`. `finish` makes each documented error
//!   status say so, with the one `Problem` schema, and gives each operation
//!   a `default` problem for the statuses it does not list (401 without a
//!   session, 429 past a rate limit, 503 while a region is down, …).
//! * Routes served outside the API router: `/openapi.json` (the server's
//!   router) and each region's transparency log under `/log/{region}/`
//!   (the ledger crate, which stands alone and answers in the C2SP formats:
//!   plain-text notes and binary tiles; its plain-text errors reach
//!   clients as problems, or as they are from the ledger alone). They are described
//!   here so a client or a fuzzer sees the whole surface; the OpenAPI test
//!   fetches each of them from a running server as documented.

use serde::Deserialize;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr};
use utoipa::{IntoParams, PartialSchema};

use crate::config::Config;

/// The content type of every error the API answers.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// `{id}` of a video.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct VideoIdPath {
    /// A video id: its home region, `_`, and 26 random characters
    /// (for example `us_0h6k3jz9q1m4v7c2x8b5n0r3t`).
    pub id: String,
}

/// `{id}` of an export.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ExportIdPath {
    /// An export job's id, as `POST /v1/me/exports` answered it.
    pub id: String,
}

/// `{id}` of a moderation case.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CaseIdPath {
    /// A moderation case's id, as the case queue lists it.
    pub id: String,
}

/// `{handle}` of a user.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct HandlePath {
    /// A user's handle, without the `@`.
    pub handle: String,
}

/// `{tag}` of a hashtag.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TagPath {
    /// A hashtag, without the `#`.
    pub tag: String,
}

/// `{region}`: one of the regions this server knows (`finish` lists them).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RegionPath {
    /// A region id, such as `us`.
    pub region: String,
}

/// A tile's coordinates in the log's Merkle tree (c2sp.org/tlog-tiles).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // read by the OpenAPI derive only: the ledger parses the path itself
pub struct TilePath {
    /// The tile's level, 0 to 63.
    #[param(pattern = "^[0-9]{1,2}$")]
    pub level: String,
    /// The tile's index in groups of three digits, each but the last
    /// prefixed with `x` (`000`, or `x001/234` past a million tiles); a
    /// partial tile of width W adds `.p/W`. The single-group form is the
    /// one this parameter's pattern describes.
    #[param(pattern = "^[0-9]{3}$")]
    pub index: String,
}

/// An entry bundle's index (c2sp.org/tlog-tiles), as for a tile.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // read by the OpenAPI derive only
pub struct EntriesPath {
    /// The bundle's index in groups of three digits (see the tile index).
    #[param(pattern = "^[0-9]{3}$")]
    pub index: String,
}

// Documentation of routes served outside the API router (see the module
// header). The functions are never called: their annotations describe the
// real routes, and the OpenAPI test requests each of them.

/// This document: the OpenAPI 3.1 description of the API.
#[utoipa::path(get, path = "/openapi.json", tag = "service", operation_id = "openapi",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object)))]
#[allow(dead_code)]
pub fn openapi_json() {}

/// The region's latest checkpoint: a signed note (c2sp.org/tlog-checkpoint)
/// naming the log's size and root hash, cosigned by the witnesses.
#[utoipa::path(get, path = "/log/{region}/checkpoint", tag = "transparency", operation_id = "log_checkpoint", params(RegionPath),
    responses((status = 200, description = "The signed checkpoint", content_type = "text/plain", body = String),
        (status = 404, description = "No log of that region here", content_type = "application/problem+json", body = crate::error::ProblemBody)))]
#[allow(dead_code)]
pub fn log_checkpoint() {}

/// The log's verifier key (a C2SP note verifier key), to pin.
#[utoipa::path(get, path = "/log/{region}/vkey", tag = "transparency", operation_id = "log_vkey", params(RegionPath),
    responses((status = 200, description = "The verifier key, one line", content_type = "text/plain", body = String),
        (status = 404, description = "No log of that region here", content_type = "application/problem+json", body = crate::error::ProblemBody)))]
#[allow(dead_code)]
pub fn log_vkey() {}

/// A hash tile of the log's Merkle tree. Tiles never change once
/// written (a partial tile names its width), so they may be cached for good.
#[utoipa::path(get, path = "/log/{region}/tile/{level}/{index}", tag = "transparency", operation_id = "log_tile", params(RegionPath, TilePath),
    responses((status = 200, description = "The tile: up to 256 hashes of 32 bytes", content_type = "application/octet-stream"),
        (status = 404, description = "No such tile (plain text), or no log of that region here (a problem)",
            content((String = "text/plain"), (crate::error::ProblemBody = "application/problem+json"))),
        (status = 503, description = "The log's storage did not answer", content_type = "text/plain", body = String)))]
#[allow(dead_code)]
pub fn log_tile() {}

/// A bundle of the log's entries (c2sp.org/tlog-tiles, `tile/entries/N`).
#[utoipa::path(get, path = "/log/{region}/tile/entries/{index}", tag = "transparency", operation_id = "log_entries", params(RegionPath, EntriesPath),
    responses((status = 200, description = "Up to 256 entries, each prefixed with its big-endian 16-bit length", content_type = "application/octet-stream"),
        (status = 404, description = "No such bundle (plain text), or no log of that region here (a problem)",
            content((String = "text/plain"), (crate::error::ProblemBody = "application/problem+json"))),
        (status = 503, description = "The log's storage did not answer", content_type = "text/plain", body = String)))]
#[allow(dead_code)]
pub fn log_entries_tile() {}

/// The region's witness (c2sp.org/tlog-witness): given another log's
/// checkpoint and a consistency proof from the size it last cosigned, it
/// answers its cosignature lines.
#[utoipa::path(post, path = "/log/{region}/add-checkpoint", tag = "transparency", operation_id = "witness_add_checkpoint", params(RegionPath),
    request_body(content = String, content_type = "text/plain", description = "`old N`, the consistency proof lines, an empty line, and the checkpoint"),
    responses((status = 200, description = "The witness's cosignature lines", content_type = "text/plain", body = String),
        (status = 400, description = "The request is not a well-formed add-checkpoint", content_type = "text/plain", body = String),
        (status = 403, description = "The checkpoint's signature is not the log's", content_type = "text/plain", body = String),
        (status = 404, description = "A log this witness does not know (plain text), or no witness of that region here (a problem)",
            content((String = "text/plain"), (crate::error::ProblemBody = "application/problem+json"))),
        (status = 409, description = "The old size is not the size last cosigned (answered as text/x.tlog.size), or the log forked (plain text)",
            content((String = "text/x.tlog.size"), (String = "text/plain"))),
        (status = 413, description = "The body is larger than 2 MiB", content_type = "application/problem+json", body = crate::error::ProblemBody),
        (status = 422, description = "The consistency proof does not verify", content_type = "text/plain", body = String),
        (status = 503, description = "The witness's state could not be stored", content_type = "text/plain", body = String)))]
#[allow(dead_code)]
pub fn log_add_checkpoint() {}

/// Finish the generated document: the problem responses, the regions this
/// server knows, and the two ways to send a session.
pub fn finish(mut doc: OpenApi, config: &Config) -> OpenApi {
    let components = doc.components.get_or_insert_with(Default::default);
    components.schemas.remove("ProblemBody");
    components
        .schemas
        .insert("Problem".into(), crate::error::ProblemBody::schema());
    components.security_schemes.insert(
        "bearer".into(),
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "The token a log-in answered (`POST /v1/sessions` or `POST /v1/staff/sessions`)",
                ))
                .build(),
        ),
    );
    components.security_schemes.insert(
        "cookie".into(),
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            "sovereel_session",
            "The session cookie a log-in sets (browsers)",
        ))),
    );
    let problem = || {
        let mut c = Content::new(Some(Ref::from_schema_name("Problem")));
        c.example = None;
        c
    };
    let regions: Vec<String> = config.regions.iter().map(|r| r.id.clone()).collect();
    let slugs: Vec<String> = crate::error::Kind::ALL
        .iter()
        .map(|k| k.slug().to_string())
        .collect();
    for item in doc.paths.paths.values_mut() {
        for op in operations(item) {
            for p in op.parameters.iter_mut().flatten() {
                let values = match p.name.as_str() {
                    "region" => &regions,
                    "slug" => &slugs,
                    _ => continue,
                };
                if p.parameter_in == ParameterIn::Path {
                    p.schema = Some(RefOr::T(Schema::Object(
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .enum_values(Some(values.clone()))
                            .build(),
                    )));
                }
            }
            for (status, resp) in op.responses.responses.iter_mut() {
                let RefOr::T(resp) = resp else { continue };
                let error = status.parse::<u16>().is_ok_and(|s| s >= 400);
                if !error || resp.content.contains_key(PROBLEM_JSON) {
                    continue;
                }
                // The ledger answers its errors in plain text, as C2SP says;
                // the server serves them as problems, so a client may see
                // either.
                resp.content.shift_remove("application/json");
                resp.content.insert(PROBLEM_JSON.into(), problem());
            }
            op.responses
                .responses
                .entry("default".into())
                .or_insert_with(|| RefOr::T(default_problem(problem())));
            rename_problem_refs(op);
        }
    }
    doc
}

fn default_problem(content: Content) -> Response {
    ResponseBuilder::new()
        .description(
            "Any other error, as an RFC 9457 problem; its `type` names a page under /problems/",
        )
        .content(PROBLEM_JSON, content)
        .build()
}

/// The annotations name the error body by its Rust type; the document names
/// it `Problem`.
fn rename_problem_refs(op: &mut Operation) {
    for resp in op.responses.responses.values_mut() {
        let RefOr::T(resp) = resp else { continue };
        for content in resp.content.values_mut() {
            if let Some(RefOr::Ref(r)) = &content.schema
                && r.ref_location.ends_with("/ProblemBody")
            {
                content.schema = Some(RefOr::Ref(Ref::from_schema_name("Problem")));
            }
        }
    }
}

fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
        &mut item.head,
        &mut item.options,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}
