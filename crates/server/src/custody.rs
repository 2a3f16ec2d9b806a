//! Custody as the platform runs it: every read or write of protected data
//! passes the Cedar policy gateway; data keys come from the region's keyring
//! only with a grant; a grant that lets someone other than the owner touch
//! protected data (and every staff denial) is appended to the region's
//! ledger before any data is returned, and fails closed when the ledger
//! cannot append; everything leaving a region passes the egress check.

use sovereel_custody::{
    AccessContext, AccessDecision, AccessRecord, Authorized, Denied, PolicyGateway,
    Principal as CustodyPrincipal, Resource, StaffOrg, UserKey, UsesDataKey, act,
};
use sovereel_ledger::entry::{
    Access, DataClass as LedgerClass, Decision, Principal as LedgerPrincipal,
};
use sovereel_ledger::{Entry, EntryBody};
use sovereel_model::{DataClass, UserId};

use crate::error::{ApiError, ApiResult, Kind};
use crate::plane::LocalPlane;

fn ledger_class(c: DataClass) -> LedgerClass {
    match c {
        DataClass::Protected => LedgerClass::Protected,
        DataClass::Public => LedgerClass::Public,
        DataClass::Aggregate => LedgerClass::Aggregate,
        DataClass::Interop => LedgerClass::Interop,
    }
}

/// The ledger's form of a principal: users as pseudonyms, never ids.
fn ledger_principal(plane: &LocalPlane, p: &CustodyPrincipal) -> LedgerPrincipal {
    match p {
        CustodyPrincipal::User { user } => LedgerPrincipal::User {
            pseudonym: plane.ledger.pseudonym(user.as_str()),
        },
        CustodyPrincipal::Staff {
            staff_id,
            org: StaffOrg::Platform,
            role,
        } => LedgerPrincipal::PlatformStaff {
            role: role.as_str().into(),
            staff_id: staff_id.as_str().into(),
        },
        CustodyPrincipal::Staff {
            staff_id,
            org: StaffOrg::Custodian(region),
            role,
        } => LedgerPrincipal::CustodianStaff {
            region: region.to_string(),
            role: role.as_str().into(),
            staff_id: staff_id.as_str().into(),
        },
        CustodyPrincipal::Auditor { auditor_id } => LedgerPrincipal::Auditor {
            auditor_id: auditor_id.as_str().into(),
        },
        CustodyPrincipal::Release { region, release_id } => LedgerPrincipal::Release {
            region: region.to_string(),
            release_id: release_id.as_str().into(),
        },
    }
}

/// The `access` entry of a gateway decision.
pub fn access_entry(plane: &LocalPlane, r: &AccessRecord) -> Entry {
    Entry::now(EntryBody::Access(Access {
        principal: ledger_principal(plane, &r.principal),
        action: r.action.as_str().into(),
        resource_class: ledger_class(r.resource_class.data_class()),
        subject: r
            .subject
            .as_ref()
            .map(|u| plane.ledger.pseudonym(u.as_str())),
        purpose: r
            .purpose
            .clone()
            .or_else(|| r.request_id.as_ref().map(|id| format!("data request {id}"))),
        case_id: r.case_id.clone(),
        decision: match r.decision {
            AccessDecision::Allow => Decision::Allow,
            AccessDecision::Deny => Decision::Deny,
        },
        policy_id: Some(r.policy_id.clone()),
    }))
}

/// Asks the gateway, ledgers what must be ledgered (denials by staff too),
/// and answers a cleared grant. A refused access is not found for users
/// (existence is not revealed) and forbidden for staff.
pub async fn authorize<A: sovereel_custody::GatedAction>(
    gateway: &PolicyGateway,
    plane: &LocalPlane,
    principal: &CustodyPrincipal,
    action: A,
    resource: &Resource,
    context: &AccessContext,
) -> ApiResult<Authorized<A>> {
    match gateway.authorize(principal, action, resource, context) {
        Ok(grant) => grant
            .ledger(|record| async move { plane.ledger.log.append_entry(&access_entry(plane, &record)).await.map(drop) })
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "the ledger cannot record an access; refusing it");
                ApiError::new(Kind::Unavailable, "the access could not be recorded in the transparency ledger, so it was refused")
            }),
        Err(denied) => Err(denial(plane, principal, denied).await),
    }
}

async fn denial(plane: &LocalPlane, principal: &CustodyPrincipal, denied: Denied) -> ApiError {
    if let Some(record) = &denied.record
        && let Err(e) = plane
            .ledger
            .log
            .append_entry(&access_entry(plane, record))
            .await
    {
        tracing::error!(error = %e, "recording a staff denial in the ledger failed");
    }
    if principal.is_staff() {
        ApiError::new(Kind::Forbidden, "the policy does not allow this access")
    } else {
        ApiError::not_found("such thing")
    }
}

/// A new account's identity fields, sealed under the data key made for it.
pub struct SealedIdentity {
    pub email: String,
    pub birthdate: String,
    pub country: String,
}

/// Makes `user`'s data key in the home region's keyring and seals the
/// account's identity fields under it, as sign-up stores them (and
/// `sovereel seed`, so seeded accounts are accounts like any other).
/// Fails if the user already has a key, so a key is never replaced.
pub async fn seal_new_identity(
    plane: &LocalPlane,
    user: &UserId,
    email: &str,
    birthdate_iso: &str,
    country: &str,
) -> ApiResult<SealedIdentity> {
    plane
        .keyring
        .create_user_key(user)
        .map_err(ApiError::internal)?;
    let key = own_key(&plane.gateway, plane, user, WriteProtected).await?;
    Ok(SealedIdentity {
        email: key.encrypt_field("users.email", email),
        birthdate: key.encrypt_field("users.birthdate", birthdate_iso),
        country: key.encrypt_field("users.country", country),
    })
}

/// The data key of `user`, for the user acting on their own data.
pub async fn own_key<A: UsesDataKey>(
    gateway: &PolicyGateway,
    plane: &LocalPlane,
    user: &UserId,
    action: A,
) -> ApiResult<UserKey> {
    let grant = authorize(
        gateway,
        plane,
        &CustodyPrincipal::user(user.clone()),
        action,
        &Resource::protected(user),
        &AccessContext::none(),
    )
    .await?;
    plane
        .keyring
        .user_key(&grant)
        .map_err(|e| key_error(e, user))
}

/// The data key of `owner` for a grant already obtained.
pub fn key_for<A: UsesDataKey>(
    plane: &LocalPlane,
    grant: &Authorized<A>,
    owner: &UserId,
) -> ApiResult<UserKey> {
    plane
        .keyring
        .user_key(grant)
        .map_err(|e| key_error(e, owner))
}

fn key_error(e: sovereel_custody::KeyError, _user: &UserId) -> ApiError {
    match e {
        sovereel_custody::KeyError::NoUserKey => {
            ApiError::new(Kind::NotFound, "this account's data key no longer exists")
        }
        other => ApiError::internal(other),
    }
}

/// Checks that a user may read their own protected data (the gateway
/// decides even for owners: deny is the default).
pub async fn own<A: sovereel_custody::GatedAction>(
    gateway: &PolicyGateway,
    plane: &LocalPlane,
    user: &UserId,
    action: A,
) -> ApiResult<Authorized<A>> {
    authorize(
        gateway,
        plane,
        &CustodyPrincipal::user(user.clone()),
        action,
        &Resource::protected(user),
        &AccessContext::none(),
    )
    .await
}

pub use act::{ReadProtected, RunDataRequest, WriteProtected};
