//! Sign-up, sessions and the caller's own profile.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sovereel_model::{
    AccountState, Birthdate, CountryCode, DisplayName, Email, Handle, Password, UserId,
};
use sovereel_store::{Change, OutboxItem, ProfilePatch, Target, UserRecord};
use utoipa::ToSchema;

use crate::auth::{self, AuthUser};
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult, Kind};
use crate::state::App;
use crate::views::{RegionView, UserView};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupBody {
    pub handle: String,
    pub password: String,
    pub email: String,
    /// ISO 3166-1 alpha-2; decides the home region.
    pub country: String,
    /// `YYYY-MM-DD`; the user must be 13 or older.
    pub birthdate: String,
    pub display_name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SignupAnswer {
    pub user: UserView,
    pub region: RegionView,
}

fn upsert_profile(u: &UserRecord, region: &str) -> OutboxItem {
    OutboxItem::new(
        Target::Catalog,
        Change::UpsertProfile {
            user_id: u.id.clone(),
            handle: u.handle.clone(),
            display_name: u.display_name.clone(),
            bio: u.bio.clone(),
            private: u.private,
            region: region.to_string(),
            created_at: u.created_at,
        },
    )
}

/// Sign up. The home region follows from the country and never changes.
#[utoipa::path(post, path = "/v1/accounts", tag = "accounts", request_body = SignupBody,
    responses((status = 201, body = SignupAnswer), (status = 409, body = crate::error::ProblemBody), (status = 422, body = crate::error::ProblemBody)))]
pub async fn signup(
    State(app): State<Arc<App>>,
    ApiJson(body): ApiJson<SignupBody>,
) -> ApiResult<Response> {
    let handle = Handle::parse(&body.handle)?;
    let password = Password::parse(&body.password)?;
    let email = Email::parse(&body.email)?;
    let country = CountryCode::parse(&body.country)?;
    let birthdate = Birthdate::parse(&body.birthdate)?;
    let display_name = match &body.display_name {
        Some(d) => DisplayName::parse(d)?.as_str().to_string(),
        None => handle.as_str().to_string(),
    };
    let age = birthdate.age();
    if age < 13 {
        return Err(ApiError::new(
            Kind::AgeRequirement,
            "you must be at least 13 years old to sign up",
        ));
    }
    // The home is the country's region, unless that region closed (then
    // its successor) or takes no writes now (refused, with the grounds).
    let home_id = crate::lifecycle::signup_home(&app, country.as_str())?;
    // An account is made by its home region's own service; an edge sends
    // the sign-up there.
    let home = match app.local(&home_id) {
        Some(h) => h.clone(),
        None => return Err(ApiError::region_unavailable(&home_id)),
    };
    let home_config = app
        .region_config(&home_id)
        .ok_or_else(|| ApiError::internal("home region missing from the configuration"))?;
    let id = UserId::generate(&home.id);
    let pw = password.expose().to_string();
    let password_hash = tokio::task::spawn_blocking(move || auth::hash_password(&pw))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let now = sovereel_model::now_millis();
    // The user's data key is made first: protected fields are stored sealed
    // with it, and it lives in the region's keyring, not in the database.
    let sealed = crate::custody::seal_new_identity(
        &home,
        &id,
        email.as_str(),
        &birthdate.to_iso(),
        country.as_str(),
    )
    .await?;
    let user = UserRecord {
        id: id.to_string(),
        handle: handle.as_str().to_string(),
        display_name,
        bio: String::new(),
        // Under-16 accounts start private.
        private: age < 16,
        email: sealed.email,
        birthdate: sealed.birthdate,
        country: sealed.country,
        password_hash,
        non_profiled: false,
        state: AccountState::Active,
        delete_after: None,
        created_at: now,
    };
    // The handle is reserved in the global directory first, so two regions
    // can never hand out the same handle; the reservation is released if the
    // home region refuses the account.
    if let Err(e) = app
        .catalog
        .reserve_handle(&user.handle, &user.id, home.id.as_str(), now)
        .await
    {
        let _ = home.keyring.destroy_user_key(&id);
        return Err(e.into());
    }
    if let Err(e) = home
        .store
        .create_user(&user, &[upsert_profile(&user, home.id.as_str())])
        .await
    {
        let _ = app.catalog.release_handle(&user.handle, &user.id).await;
        let _ = home.keyring.destroy_user_key(&id);
        return Err(e.into());
    }
    app.relay(&home).await.map_err(ApiError::internal)?;
    let profile = app
        .catalog
        .profile(&user.id)
        .await?
        .ok_or_else(|| ApiError::internal("profile missing after sign-up"))?;
    let answer = SignupAnswer {
        user: UserView::from_profile(&profile, None),
        region: RegionView {
            id: home.id.to_string(),
            name: home_config.name.clone(),
            custodian: home.lifecycle.custodian(),
        },
    };
    Ok((StatusCode::CREATED, ApiJson(answer)).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    pub handle: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct LoginAnswer {
    pub token: String,
    pub user: UserView,
}

/// Log in: answers a token and sets the session cookie.
#[utoipa::path(post, path = "/v1/sessions", tag = "accounts", request_body = LoginBody,
    responses((status = 200, body = LoginAnswer), (status = 401, body = crate::error::ProblemBody), (status = 429, body = crate::error::ProblemBody)))]
pub async fn login(
    State(app): State<Arc<App>>,
    ApiJson(body): ApiJson<LoginBody>,
) -> ApiResult<Response> {
    let bad = || ApiError::new(Kind::BadCredentials, "wrong handle or password");
    let handle = Handle::parse(&body.handle).map_err(|_| bad())?;
    // Limited and slowed down per handle as given, existing or not, so the
    // answers never tell whether it exists (`limits.rs`).
    let key = handle.as_str().to_ascii_lowercase();
    app.limits.login_gate(&key)?;
    let found = match app.catalog.resolve_handle(handle.as_str()).await? {
        Some((_, region)) => match app.local(&region) {
            Some(home) => home
                .store
                .user_by_handle(handle.as_str())
                .await?
                .map(|u| (u, home.clone())),
            None => None,
        },
        None => None,
    };
    let hash = found
        .as_ref()
        .map(|(u, _)| u.password_hash.clone())
        .unwrap_or(auth::decoy_hash().await?);
    let pw = body.password.clone();
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&pw, &hash))
        .await
        .map_err(ApiError::internal)?;
    let Some((user, home)) = found.filter(|_| ok) else {
        app.limits.login_failed(&key);
        return Err(bad());
    };
    app.limits.login_succeeded(&key);
    if user.state == AccountState::Deleting {
        // A login during the grace period cancels the deletion.
        let show = OutboxItem::new(
            Target::Catalog,
            Change::SetProfileHidden {
                user_id: user.id.clone(),
                hidden: false,
            },
        );
        home.store.cancel_deletion(&user.id, &[show]).await?;
        app.relay(&home).await.map_err(ApiError::internal)?;
    }
    let token = auth::new_token(home.id.as_str());
    let now = sovereel_model::now_millis();
    let ttl = app.config.limits.session_days * 86_400;
    home.store
        .create_session(
            &auth::token_hash(&token),
            &user.id,
            now,
            now + ttl as i64 * 1000,
        )
        .await?;
    let profile = app
        .catalog
        .profile(&user.id)
        .await?
        .ok_or_else(|| ApiError::internal("profile missing"))?;
    let cookie = auth::session_cookie(&token, ttl);
    Ok((
        axum::response::AppendHeaders([
            (header::SET_COOKIE, cookie),
            (header::SET_COOKIE, auth::hint_cookie(ttl)),
        ]),
        ApiJson(LoginAnswer {
            token,
            user: UserView::from_profile(&profile, None),
        }),
    )
        .into_response())
}

/// Log out: the session token stops working at once.
#[utoipa::path(delete, path = "/v1/sessions/current", tag = "accounts", responses((status = 204), (status = 401, body = crate::error::ProblemBody)))]
pub async fn logout(user: AuthUser) -> ApiResult<Response> {
    user.home.store.delete_session(&user.token_hash).await?;
    Ok((StatusCode::NO_CONTENT, auth::signed_out_cookies()).into_response())
}

#[derive(Serialize, ToSchema)]
pub struct MeView {
    pub handle: String,
    pub display_name: String,
    pub bio: String,
    pub private: bool,
    pub counts: crate::views::UserCounts,
    pub email: String,
    pub birthdate: String,
    pub country: String,
    pub non_profiled: bool,
    pub region: RegionView,
    pub created_at: String,
}

async fn me_view(app: &App, user: &AuthUser) -> ApiResult<MeView> {
    let rec = user
        .home
        .store
        .user(user.id.as_str())
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    let profile = app
        .catalog
        .profile(&rec.id)
        .await?
        .ok_or_else(|| ApiError::internal("profile missing"))?;
    let key = crate::custody::own_key(
        &app.gateway,
        &user.home,
        &user.id,
        crate::custody::ReadProtected,
    )
    .await?;
    let open = |field: &str, v: &str| {
        key.decrypt_field(field, v)
            .map(|z| z.to_string())
            .map_err(ApiError::internal)
    };
    Ok(MeView {
        handle: profile.handle.clone(),
        display_name: profile.display_name.clone(),
        bio: profile.bio.clone(),
        private: profile.private,
        counts: UserView::from_profile(&profile, None).counts,
        email: open("users.email", &rec.email)?,
        birthdate: open("users.birthdate", &rec.birthdate)?,
        country: open("users.country", &rec.country)?,
        non_profiled: rec.non_profiled,
        region: RegionView {
            id: user.home.id.to_string(),
            name: app
                .region_config(user.home.id.as_str())
                .map(|r| r.name.clone())
                .unwrap_or_default(),
            custodian: app
                .region_config(user.home.id.as_str())
                .map(|r| r.custodian.clone())
                .unwrap_or_default(),
        },
        created_at: sovereel_model::rfc3339(rec.created_at),
    })
}

/// The caller's own profile, with the protected fields only they may see.
#[utoipa::path(get, path = "/v1/me", tag = "accounts", responses((status = 200, body = MeView), (status = 401, body = crate::error::ProblemBody)))]
pub async fn me(State(app): State<Arc<App>>, user: AuthUser) -> ApiResult<ApiJson<MeView>> {
    Ok(ApiJson(me_view(&app, &user).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MePatch {
    pub display_name: Option<String>,
    pub bio: Option<String>,
    pub private: Option<bool>,
    pub non_profiled: Option<bool>,
}

/// Edit the profile and settings.
#[utoipa::path(patch, path = "/v1/me", tag = "accounts", request_body = MePatch, responses((status = 200, body = MeView), (status = 422, body = crate::error::ProblemBody)))]
pub async fn update_me(
    State(app): State<Arc<App>>,
    user: AuthUser,
    ApiJson(body): ApiJson<MePatch>,
) -> ApiResult<ApiJson<MeView>> {
    let display_name = body
        .display_name
        .as_deref()
        .map(DisplayName::parse)
        .transpose()?
        .map(|d| d.as_str().to_string());
    let bio = match body.bio {
        Some(b) if b.chars().count() > 160 => {
            return Err(ApiError::new(
                Kind::InvalidField,
                "bio: must be at most 160 characters",
            ));
        }
        Some(b) if b.chars().any(|c| c.is_control() && c != '\n') => {
            return Err(ApiError::new(
                Kind::InvalidField,
                "bio: must not contain control characters",
            ));
        }
        other => other.map(|b| b.trim().to_string()),
    };
    let patch = ProfilePatch {
        display_name,
        bio,
        private: body.private,
        non_profiled: body.non_profiled,
    };
    let current = user
        .home
        .store
        .user(user.id.as_str())
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    let next = UserRecord {
        display_name: patch
            .display_name
            .clone()
            .unwrap_or(current.display_name.clone()),
        bio: patch.bio.clone().unwrap_or(current.bio.clone()),
        private: patch.private.unwrap_or(current.private),
        ..current
    };
    user.home
        .store
        .update_profile(
            user.id.as_str(),
            &patch,
            &[upsert_profile(&next, user.home.id.as_str())],
        )
        .await?;
    app.relay(&user.home).await.map_err(ApiError::internal)?;
    Ok(ApiJson(me_view(&app, &user).await?))
}

#[derive(Serialize, ToSchema)]
pub struct HandleList {
    pub items: Vec<UserView>,
}

/// Pending follow requests to the caller's (private) account.
#[utoipa::path(get, path = "/v1/me/follow-requests", tag = "social", responses((status = 200, body = HandleList)))]
pub async fn follow_requests(
    State(app): State<Arc<App>>,
    user: AuthUser,
) -> ApiResult<ApiJson<HandleList>> {
    // Requests are stored at each follower's home; every plane is asked.
    let mut ids = vec![];
    for plane in app.planes() {
        ids.extend(plane.pending_requests(user.id.as_str(), 200).await?);
    }
    let profiles = app.catalog.profiles(&ids).await?;
    Ok(ApiJson(HandleList {
        items: profiles
            .iter()
            .map(|p| UserView::from_profile(p, None))
            .collect(),
    }))
}

/// Settles a pending request to `user` from `handle` (the request is
/// stored at the follower's home, which carries it out), or not found.
async fn settle_request(
    app: &App,
    user: &AuthUser,
    handle: &str,
    decision: crate::plane::FollowDecision,
) -> ApiResult<StatusCode> {
    let (follower, home) = crate::api::social::resolve_user(app, handle).await?;
    if !home
        .settle_follow(&follower, user.id.as_str(), decision)
        .await?
    {
        return Err(ApiError::not_found("follow request"));
    }
    app.relay_region(home.id().as_str())
        .await
        .map_err(ApiError::internal)?;
    // The request leaves the owner's inbox; an approval tells the follower.
    use sovereel_model::InboxKind;
    let mut tell = vec![crate::api::notifications::retraction(
        user.id.as_str(),
        InboxKind::FollowRequest,
        &follower,
        None,
    )];
    if decision == crate::plane::FollowDecision::Approve {
        let actor = crate::api::notifications::Actor::of(app, user).await?;
        tell.extend(crate::api::notifications::notification(
            &follower,
            InboxKind::FollowApproved,
            &actor,
            None,
            None,
            sovereel_model::now_millis(),
        ));
    }
    crate::api::notifications::send(app, &user.home, &tell).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Approve a follow request.
#[utoipa::path(put, path = "/v1/me/follow-requests/{handle}", tag = "social", params(crate::api::HandlePath), responses((status = 204), (status = 404, body = crate::error::ProblemBody)))]
pub async fn approve_request(
    State(app): State<Arc<App>>,
    user: AuthUser,
    ApiPath(handle): ApiPath<String>,
) -> ApiResult<StatusCode> {
    settle_request(&app, &user, &handle, crate::plane::FollowDecision::Approve).await
}

/// Decline a follow request.
#[utoipa::path(delete, path = "/v1/me/follow-requests/{handle}", tag = "social", params(crate::api::HandlePath), responses((status = 204), (status = 404, body = crate::error::ProblemBody)))]
pub async fn decline_request(
    State(app): State<Arc<App>>,
    user: AuthUser,
    ApiPath(handle): ApiPath<String>,
) -> ApiResult<StatusCode> {
    settle_request(&app, &user, &handle, crate::plane::FollowDecision::Decline).await
}

/// "Reset my For You": the home engine forgets everything it learned about
/// the caller. Their history stays theirs (export, delete); only the
/// recommendation state is dropped.
#[utoipa::path(post, path = "/v1/me/for-you/reset", tag = "feeds", responses((status = 204), (status = 401, body = crate::error::ProblemBody)))]
pub async fn reset_for_you(user: AuthUser) -> ApiResult<StatusCode> {
    user.home.recs.lock().forget_user(user.id.as_str());
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct DeletionScheduled {
    /// When the account's data key is destroyed and its data deleted (RFC 3339).
    pub delete_after: String,
    pub grace_period_secs: u64,
}

/// Delete my account: it is hidden at once and every session ends; after the
/// grace period its data key is destroyed (crypto-shredding) and its data
/// deleted. Logging in during the grace period cancels the deletion.
#[utoipa::path(delete, path = "/v1/me", tag = "accounts", responses((status = 202, body = DeletionScheduled), (status = 401, body = crate::error::ProblemBody)))]
pub async fn delete_me(State(app): State<Arc<App>>, user: AuthUser) -> ApiResult<Response> {
    let _grant = crate::custody::own(
        &app.gateway,
        &user.home,
        &user.id,
        crate::custody::WriteProtected,
    )
    .await?;
    // The request is on the user's region's log before it takes effect: an
    // erasure request, as the transparency report counts data requests.
    user.home
        .ledger
        .log
        .append_entry(&sovereel_ledger::Entry::now(
            sovereel_ledger::EntryBody::DataRequest(sovereel_ledger::entry::DataRequest {
                request_id: format!("del-{}", sovereel_model::random_hex(12)),
                request_kind: "deletion".into(),
                subject: user.home.ledger.pseudonym(user.id.as_str()),
                status: "received".into(),
                operator: None,
            }),
        ))
        .await
        .map_err(ApiError::unrecorded)?;
    let grace = app.config.limits.deletion_grace_secs;
    let at = sovereel_model::now_millis() + grace as i64 * 1000;
    let hide = OutboxItem::new(
        Target::Catalog,
        Change::SetProfileHidden {
            user_id: user.id.to_string(),
            hidden: true,
        },
    );
    user.home
        .store
        .schedule_deletion(user.id.as_str(), at, &[hide])
        .await?;
    app.relay(&user.home).await.map_err(ApiError::internal)?;
    if grace == 0 {
        crate::deletion::run_due(&app).await;
    }
    let body = DeletionScheduled {
        delete_after: sovereel_model::rfc3339(at),
        grace_period_secs: grace,
    };
    Ok((
        StatusCode::ACCEPTED,
        auth::signed_out_cookies(),
        ApiJson(body),
    )
        .into_response())
}

/// Request an export of everything stored about me. The job's progress is
/// in its state; the archive is downloadable by me only, until it expires.
#[utoipa::path(post, path = "/v1/me/exports", tag = "privacy", responses((status = 202, body = crate::export::ExportJob), (status = 401, body = crate::error::ProblemBody), (status = 409, body = crate::error::ProblemBody), (status = 429, body = crate::error::ProblemBody)))]
pub async fn create_export(State(app): State<Arc<App>>, user: AuthUser) -> ApiResult<Response> {
    let _grant = crate::custody::own(
        &app.gateway,
        &user.home,
        &user.id,
        crate::custody::ReadProtected,
    )
    .await?;
    let job = crate::export::start(app.clone(), user.home.clone(), user.id.clone())?;
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, format!("/v1/me/exports/{}", job.id))],
        ApiJson(job),
    )
        .into_response())
}

fn my_export(app: &App, user: &AuthUser, id: &str) -> ApiResult<crate::export::ExportJob> {
    match app.exports.get(id) {
        Some(j) if j.owner == user.id.as_str() => Ok(j),
        _ => Err(ApiError::not_found("export")),
    }
}

/// An export's state and progress.
#[utoipa::path(get, path = "/v1/me/exports/{id}", tag = "privacy", params(crate::api::ExportIdPath), responses((status = 200, body = crate::export::ExportJob), (status = 404, body = crate::error::ProblemBody)))]
pub async fn get_export(
    State(app): State<Arc<App>>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<ApiJson<crate::export::ExportJob>> {
    Ok(ApiJson(my_export(&app, &user, &id)?))
}

/// Download a ready export (a tar archive).
#[utoipa::path(get, path = "/v1/me/exports/{id}/download", tag = "privacy", params(crate::api::ExportIdPath), responses((status = 200, content_type = "application/x-tar"), (status = 404, body = crate::error::ProblemBody)))]
pub async fn download_export(
    State(app): State<Arc<App>>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let job = my_export(&app, &user, &id)?;
    let path = match (job.state.as_str(), job.path) {
        ("ready", Some(p)) => p,
        ("expired", _) => {
            return Err(ApiError::new(
                Kind::NotFound,
                "this export has expired; request a new one",
            ));
        }
        _ => {
            return Err(ApiError::new(
                Kind::Conflict,
                "this export is not ready yet",
            ));
        }
    };
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|_| ApiError::not_found("export"))?;
    let len = file.metadata().await.map_err(ApiError::internal)?.len();
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(file));
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-tar".to_string()),
            (header::CONTENT_LENGTH, len.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"sovereel-export-{id}.tar\""),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        body,
    )
        .into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    /// 8 to 128 characters.
    pub new_password: String,
}

/// Change the password. The current one is asked again; every other
/// session of the account ends, and this one stays.
#[utoipa::path(put, path = "/v1/me/password", tag = "accounts", request_body = PasswordChange,
    responses((status = 204), (status = 401, body = crate::error::ProblemBody), (status = 403, body = crate::error::ProblemBody), (status = 422, body = crate::error::ProblemBody)))]
pub async fn change_password(
    State(app): State<Arc<App>>,
    user: AuthUser,
    ApiJson(body): ApiJson<PasswordChange>,
) -> ApiResult<StatusCode> {
    let new = Password::parse(&body.new_password)
        .map_err(|e| ApiError::new(Kind::InvalidField, format!("new_password: {}", e.message)))?;
    if body.new_password == body.current_password {
        return Err(ApiError::new(
            Kind::InvalidField,
            "new_password: must differ from the current password",
        ));
    }
    let _grant = crate::custody::own(
        &app.gateway,
        &user.home,
        &user.id,
        crate::custody::WriteProtected,
    )
    .await?;
    let rec = user
        .home
        .store
        .user(user.id.as_str())
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    let (given, hash) = (body.current_password, rec.password_hash);
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&given, &hash))
        .await
        .map_err(ApiError::internal)?;
    if !ok {
        return Err(ApiError::new(
            Kind::Forbidden,
            "current_password: that is not your current password",
        ));
    }
    let pw = new.expose().to_string();
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&pw))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    user.home
        .store
        .set_password(user.id.as_str(), &hash, &user.token_hash)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
