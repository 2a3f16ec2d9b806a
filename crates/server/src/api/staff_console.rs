//! What the staff console offers a signed-in staff member: each section
//! only when the policy gateway would allow its kind of access to that
//! principal. The console asks here instead of guessing from the role, so
//! it never offers an action the policy refuses (and a refused attempt
//! never lands in a user's access log for nothing). The questions are
//! hypothetical (a placeholder user of the staff member's region, a case
//! assigned to them, a data request): nothing is read and nothing is
//! ledgered.

use serde::Serialize;
use sovereel_custody::{
    AccessContext, CaseContext, GatedAction, OpaqueId, RequestContext, Resource, act,
};
use sovereel_model::{DataClass, UserId};
use utoipa::ToSchema;

use crate::api::staff::StaffUser;
use crate::error::{ApiError, ApiJson, ApiResult};

/// The sections of the console this staff member may use.
#[derive(Serialize, ToSchema)]
pub struct Capabilities {
    /// Look up an account's status (support).
    pub account_status: bool,
    /// Read a user's data under their data request (operators).
    pub data_requests: bool,
    /// Work the moderation queue: cases, appeals, interventions (moderators).
    pub cases: bool,
    /// Platform aggregates (k-anonymity ≥ 50).
    pub aggregates: bool,
    /// See, approve and activate the region's algorithm releases.
    pub approve_releases: bool,
    /// Sign release manifests (the platform).
    pub publish_releases: bool,
}

#[derive(Serialize, ToSchema)]
pub struct StaffMe {
    pub handle: String,
    pub role: String,
    /// `platform` or `custodian`.
    pub org: String,
    pub region: String,
    pub may: Capabilities,
}

fn may<A: GatedAction>(
    staff: &StaffUser,
    action: A,
    resource: &Resource,
    context: &AccessContext,
) -> ApiResult<bool> {
    Ok(staff
        .plane
        .gateway
        .authorize(&staff.principal()?, action, resource, context)
        .is_ok())
}

/// The signed-in staff member, and what the policy lets them do.
#[utoipa::path(get, path = "/v1/staff/me", operation_id = "staff_me", tag = "staff", responses((status = 200, body = StaffMe), (status = 401, body = crate::error::ProblemBody)))]
pub async fn me(staff: StaffUser) -> ApiResult<ApiJson<StaffMe>> {
    let region = staff.plane.id.clone();
    let someone = UserId::generate(&region);
    let theirs = Resource::protected(&someone);
    let placeholder = OpaqueId::parse("capability-check").map_err(ApiError::internal)?;
    let me_id = OpaqueId::parse(&staff.id).map_err(ApiError::internal)?;
    let case = AccessContext::case(CaseContext {
        case_id: placeholder.clone(),
        open: true,
        assignee: me_id,
        subject: someone.clone(),
    });
    let request = AccessContext::data_request(RequestContext {
        request_id: placeholder,
        subject: someone.clone(),
    });
    let status = Resource::of_class(DataClass::Protected, region.clone(), Some(someone));
    let aggregate = Resource::of_class(DataClass::Aggregate, region.clone(), None);
    let release = Resource::release_manifest(region.clone());
    let none = AccessContext::none();
    let capabilities = Capabilities {
        account_status: may(&staff, act::ReadAccountStatus, &status, &none)?,
        data_requests: may(&staff, act::RunDataRequest, &theirs, &request)?,
        cases: may(&staff, act::ReadCaseItem, &theirs, &case)?,
        aggregates: may(
            &staff,
            act::ReadAggregate,
            &aggregate,
            &AccessContext::k_anonymity(50),
        )?,
        approve_releases: may(&staff, act::ApproveRelease, &release, &none)?,
        publish_releases: may(&staff, act::PublishRelease, &release, &none)?,
    };
    Ok(ApiJson(StaffMe {
        handle: staff.handle.clone(),
        role: staff.role.as_str().to_string(),
        org: if staff.platform {
            "platform".into()
        } else {
            "custodian".into()
        },
        region: region.to_string(),
        may: capabilities,
    }))
}
