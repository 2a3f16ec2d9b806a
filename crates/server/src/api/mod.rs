//! The HTTP API: every route, and the OpenAPI document generated from them.

pub mod accounts;
pub mod decisions;
pub mod drafts;
pub mod edit;
pub mod feeds;
pub mod filters;
pub mod follows;
pub mod lifecycle;
pub mod meta;
pub mod moderation;
pub mod notifications;
pub mod search;
pub mod social;
pub mod staff;
pub mod staff_console;
pub mod transparency;
pub mod transparency_report;
pub mod videos;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::App;

pub mod openapi;
pub use openapi::{CaseIdPath, ExportIdPath, HandlePath, RegionPath, TagPath, VideoIdPath};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sovereel API",
        description = "A short-video platform on the trusted-custodian model. Errors are RFC 9457 problem+json; see /problems/{slug}."
    ),
    paths(
        meta::problem_page,
        openapi::openapi_json,
        openapi::log_checkpoint,
        openapi::log_vkey,
        openapi::log_tile,
        openapi::log_entries_tile,
        openapi::log_add_checkpoint
    )
)]
struct ApiDoc;

/// Every API route, with the OpenAPI document they describe.
pub fn routes(app: &Arc<App>) -> (axum::Router<Arc<App>>, utoipa::openapi::OpenApi) {
    let upload_limit = app.config.limits.max_upload_bytes as usize + 1024 * 1024;
    let json_limit = app.config.limits.max_json_bytes;
    let upload = OpenApiRouter::new()
        .routes(routes!(videos::upload))
        .layer(DefaultBodyLimit::max(upload_limit));
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(meta::healthz))
        .routes(routes!(meta::metrics))
        .routes(routes!(lifecycle::regions))
        .routes(routes!(lifecycle::region))
        .routes(routes!(lifecycle::operations, lifecycle::propose))
        .routes(routes!(lifecycle::approve))
        .routes(routes!(lifecycle::export_everyone))
        .routes(routes!(meta::countries))
        .routes(routes!(meta::server))
        .routes(routes!(accounts::signup))
        .routes(routes!(accounts::login))
        .routes(routes!(accounts::logout))
        .routes(routes!(
            accounts::me,
            accounts::update_me,
            accounts::delete_me
        ))
        .routes(routes!(accounts::follow_requests))
        .routes(routes!(accounts::create_export))
        .routes(routes!(accounts::get_export))
        .routes(routes!(accounts::download_export))
        .routes(routes!(
            accounts::approve_request,
            accounts::decline_request
        ))
        .routes(routes!(videos::get, videos::delete, edit::edit))
        .routes(routes!(drafts::list))
        .routes(routes!(drafts::publish))
        .routes(routes!(follows::followers))
        .routes(routes!(follows::following))
        .routes(routes!(filters::get, filters::put))
        .routes(routes!(filters::put_topic, filters::delete_topic))
        .routes(routes!(videos::stream))
        .routes(routes!(videos::poster))
        .routes(routes!(videos::like, videos::unlike))
        .routes(routes!(videos::comments, videos::post_comment))
        .routes(routes!(videos::share))
        .routes(routes!(videos::why))
        .routes(routes!(accounts::reset_for_you))
        .routes(routes!(social::profile))
        .routes(routes!(social::user_videos))
        .routes(routes!(social::follow, social::unfollow))
        .routes(routes!(social::block, social::unblock))
        .routes(routes!(feeds::for_you))
        .routes(routes!(feeds::following))
        .routes(routes!(feeds::events))
        .routes(routes!(search::search))
        .routes(routes!(search::hashtag))
        .routes(routes!(transparency::access_log))
        .routes(routes!(staff::login))
        .routes(routes!(staff::logout))
        .routes(routes!(staff::account_status))
        .routes(routes!(staff::protected_profile))
        .routes(routes!(staff::aggregates))
        .routes(routes!(staff::releases, staff::activate_release))
        .routes(routes!(staff::sign_release))
        .routes(routes!(moderation::report))
        .routes(routes!(moderation::cases))
        .routes(routes!(moderation::assign))
        .routes(routes!(moderation::item))
        .routes(routes!(moderation::act_on_case))
        .routes(routes!(moderation::stream))
        .routes(routes!(moderation::poster))
        .routes(routes!(moderation::intervene))
        .routes(routes!(moderation::delete_comment))
        .routes(routes!(decisions::my_decisions))
        .routes(routes!(decisions::appeal))
        .routes(routes!(transparency_report::report))
        .routes(routes!(staff_console::me))
        .routes(routes!(staff::approve_release))
        .routes(routes!(transparency::transparency))
        .routes(routes!(notifications::list))
        .routes(routes!(notifications::unread))
        .routes(routes!(notifications::read))
        .routes(routes!(notifications::post_notice))
        .routes(routes!(accounts::change_password))
        .routes(routes!(social::my_likes))
        .layer(DefaultBodyLimit::max(json_limit))
        .merge(upload)
        .split_for_parts();
    (router, openapi::finish(doc, &app.config))
}
