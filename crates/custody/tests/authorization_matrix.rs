//! The authorization matrix: every principal × action × resource class ×
//! relation (own data, someone else's in the principal's region, someone
//! else's in a foreign region) × context, against the shipped policies.
//!
//! The expected answer is written out below from the rules of DESIGN.md and
//! issue 5, independently of the Cedar text, so a policy edit that changes
//! any cell fails here. Allowed access to someone else's protected data must
//! come with an allow record, and every staff denial with a deny record.

use sovereel_custody::{
    AccessContext, AccessDecision, AccessRecord, Action, CaseContext, Denied, OpaqueId,
    PolicyGateway, Principal, RequestContext, Resource, ResourceClass, StaffRole, act,
};
use sovereel_model::ids::{RegionId, UserId};

fn region(s: &str) -> RegionId {
    RegionId::parse(s).unwrap()
}

fn id(s: &str) -> OpaqueId {
    OpaqueId::parse(s).unwrap()
}

/// Calls the typed gateway entry point for a runtime action.
fn check(
    gw: &PolicyGateway,
    p: &Principal,
    a: Action,
    r: &Resource,
    c: &AccessContext,
) -> Result<Option<AccessRecord>, Denied> {
    macro_rules! dispatch {
        ($($name:ident),*) => {
            match a {
                $( Action::$name => gw.authorize(p, act::$name, r, c).map(|g| {
                    assert_eq!(g.action(), a);
                    assert!(g.covers(r));
                    g.record().cloned()
                }), )*
            }
        };
    }
    dispatch!(
        ReadProtected,
        WriteProtected,
        ReadAccountStatus,
        ReadCaseItem,
        ActOnCase,
        RunDataRequest,
        ReadEvents,
        ReadPublic,
        ReadAggregate,
        ReadLog,
        PublishRelease,
        ApproveRelease
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relation {
    /// The principal's own data (users only).
    Own,
    /// Another user's data in the principal's region (`us`).
    Other,
    /// Another user's data in a foreign region (`au`).
    Foreign,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    None,
    /// Open case about the resource's owner, assigned to the principal.
    CaseMine,
    CaseClosed,
    CaseOtherAssignee,
    CaseOtherSubject,
    /// A data request by the resource's owner.
    Request,
    RequestOtherUser,
    K49,
    K50,
    SharedByOwner,
}

const CTXS: &[Ctx] = &[
    Ctx::None,
    Ctx::CaseMine,
    Ctx::CaseClosed,
    Ctx::CaseOtherAssignee,
    Ctx::CaseOtherSubject,
    Ctx::Request,
    Ctx::RequestOtherUser,
    Ctx::K49,
    Ctx::K50,
    Ctx::SharedByOwner,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    User,
    Platform(StaffRole),
    Custodian(StaffRole),
    Auditor,
    Release,
}

struct World {
    me: UserId,
    neighbour: UserId,
    foreigner: UserId,
    bystander: UserId,
}

fn principal(w: &World, who: Who) -> Principal {
    match who {
        Who::User => Principal::user(w.me.clone()),
        Who::Platform(role) => Principal::platform_staff(id("plat-1"), role),
        Who::Custodian(role) => Principal::custodian_staff(id("cust-1"), region("us"), role),
        Who::Auditor => Principal::auditor(id("audit-1")),
        Who::Release => Principal::release(region("us"), id("r42")),
    }
}

fn resource(w: &World, class: ResourceClass, rel: Relation) -> Resource {
    let owner = match rel {
        Relation::Own => &w.me,
        Relation::Other => &w.neighbour,
        Relation::Foreign => &w.foreigner,
    };
    match class {
        ResourceClass::Ledger => Resource::ledger(owner.region()),
        ResourceClass::Release => Resource::release_manifest(owner.region()),
        _ => Resource {
            class,
            region: owner.region(),
            owner: Some(owner.clone()),
        },
    }
}

fn context(w: &World, ctx: Ctx, r: &Resource) -> AccessContext {
    let subject = r.owner.clone().unwrap_or_else(|| w.neighbour.clone());
    let case = |open: bool, assignee: &str, subject: &UserId| {
        AccessContext::case(CaseContext {
            case_id: id("case-7"),
            open,
            assignee: id(assignee),
            subject: subject.clone(),
        })
    };
    let request = |subject: &UserId| {
        AccessContext::data_request(RequestContext {
            request_id: id("req-9"),
            subject: subject.clone(),
        })
    };
    match ctx {
        Ctx::None => AccessContext::none(),
        Ctx::CaseMine => case(true, "cust-1", &subject),
        Ctx::CaseClosed => case(false, "cust-1", &subject),
        Ctx::CaseOtherAssignee => case(true, "cust-2", &subject),
        Ctx::CaseOtherSubject => case(true, "cust-1", &w.bystander),
        Ctx::Request => request(&subject),
        Ctx::RequestOtherUser => request(&w.bystander),
        Ctx::K49 => AccessContext::k_anonymity(49),
        Ctx::K50 => AccessContext::k_anonymity(50),
        Ctx::SharedByOwner => AccessContext::shared_by_owner(),
    }
}

/// The rules, restated from the design without looking at the Cedar text.
fn expected(who: Who, a: Action, class: ResourceClass, rel: Relation, ctx: Ctx) -> bool {
    use Action::*;
    use ResourceClass as C;
    let in_region = rel != Relation::Foreign;
    let readable_by_all_but_auditors = matches!((a, class), (ReadPublic, C::Public | C::Interop));
    let log = matches!((a, class), (ReadLog, C::Ledger));
    let k_ok = ctx == Ctx::K50;
    match who {
        Who::User => {
            log || readable_by_all_but_auditors
                || matches!((a, class), (ReadAggregate, C::Aggregate))
                || (class == C::Protected
                    && rel == Relation::Own
                    && matches!(a, ReadProtected | WriteProtected | ReadAccountStatus))
                || (class == C::Protected && a == ReadProtected && ctx == Ctx::SharedByOwner)
        }
        Who::Platform(role) => {
            log || readable_by_all_but_auditors
                || (a == ReadAggregate && class == C::Aggregate && k_ok)
                || (a == PublishRelease && class == C::Release && role == StaffRole::Operator)
        }
        Who::Custodian(role) => {
            log || readable_by_all_but_auditors
                || (a == ReadAggregate && class == C::Aggregate && k_ok)
                || match role {
                    StaffRole::Support => {
                        a == ReadAccountStatus && class == C::Protected && in_region
                    }
                    StaffRole::Moderator => {
                        matches!(a, ReadCaseItem | ActOnCase)
                            && matches!(class, C::Protected | C::Public)
                            && in_region
                            && ctx == Ctx::CaseMine
                    }
                    StaffRole::Operator => {
                        (a == RunDataRequest
                            && class == C::Protected
                            && in_region
                            && ctx == Ctx::Request)
                            || (a == ApproveRelease && class == C::Release && in_region)
                    }
                }
        }
        Who::Auditor => log,
        Who::Release => {
            log || readable_by_all_but_auditors
                || (a == ReadAggregate && class == C::Aggregate)
                || (a == ReadEvents && class == C::Protected && in_region)
        }
    }
}

fn world() -> World {
    let us = region("us");
    World {
        me: UserId::generate(&us),
        neighbour: UserId::generate(&us),
        foreigner: UserId::generate(&region("au")),
        bystander: UserId::generate(&us),
    }
}

fn all_principals() -> Vec<Who> {
    let mut v = vec![Who::User, Who::Auditor, Who::Release];
    for &role in StaffRole::ALL {
        v.push(Who::Platform(role));
        v.push(Who::Custodian(role));
    }
    v
}

#[test]
fn every_cell_of_the_matrix() {
    let gw = PolicyGateway::with_default_policies().expect("the shipped policies validate");
    let w = world();
    let mut cells = 0;
    let mut allowed = 0;
    let mut recorded = 0;
    for who in all_principals() {
        let p = principal(&w, who);
        let relations: &[Relation] = if who == Who::User {
            &[Relation::Own, Relation::Other, Relation::Foreign]
        } else {
            &[Relation::Other, Relation::Foreign]
        };
        for &a in Action::ALL {
            for &class in ResourceClass::ALL {
                for &rel in relations {
                    for &ctx in CTXS {
                        let r = resource(&w, class, rel);
                        let c = context(&w, ctx, &r);
                        let want = expected(who, a, class, rel, ctx);
                        let cell = format!("{who:?} {a} {class:?} {rel:?} {ctx:?}");
                        cells += 1;
                        match check(&gw, &p, a, &r, &c) {
                            Ok(record) => {
                                assert!(want, "allowed but should be denied: {cell}");
                                allowed += 1;
                                let someone_elses =
                                    class == ResourceClass::Protected && rel != Relation::Own;
                                match record {
                                    Some(rec) => {
                                        assert!(someone_elses, "unexpected record: {cell}");
                                        recorded += 1;
                                        assert_eq!(rec.decision, AccessDecision::Allow, "{cell}");
                                        assert_eq!(rec.principal, p, "{cell}");
                                        assert_eq!(rec.action, a, "{cell}");
                                        assert_eq!(rec.subject, r.owner, "{cell}");
                                        assert_eq!(rec.resource_class, class, "{cell}");
                                        assert_ne!(rec.policy_id, "default-deny", "{cell}");
                                        if matches!(ctx, Ctx::CaseMine) {
                                            assert_eq!(rec.case_id.as_deref(), Some("case-7"));
                                        }
                                        if ctx == Ctx::Request {
                                            assert_eq!(rec.request_id.as_deref(), Some("req-9"));
                                            assert!(rec.purpose.unwrap().contains("req-9"));
                                        }
                                    }
                                    None => assert!(
                                        !someone_elses,
                                        "allowed access to someone else's protected data \
                                         without a ledger record: {cell}"
                                    ),
                                }
                            }
                            Err(denied) => {
                                assert!(!want, "denied but should be allowed: {cell}");
                                assert_eq!(denied.action, a);
                                let msg = denied.to_string();
                                assert!(!msg.contains(w.neighbour.as_str()), "{msg}");
                                match (&denied.record, who) {
                                    (Some(rec), Who::Platform(_) | Who::Custodian(_)) => {
                                        assert_eq!(rec.decision, AccessDecision::Deny, "{cell}");
                                        assert_eq!(rec.principal, p, "{cell}");
                                        assert_eq!(rec.policy_id, denied.policy_id, "{cell}");
                                    }
                                    (None, Who::Platform(_) | Who::Custodian(_)) => {
                                        panic!("staff denial without a ledger record: {cell}")
                                    }
                                    (Some(_), _) => panic!("non-staff denial recorded: {cell}"),
                                    (None, _) => {}
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    // The matrix is not vacuous: both answers and records occur.
    assert!(cells > 7000, "{cells}");
    assert!(allowed > 100 && allowed < cells / 2, "{allowed} of {cells}");
    assert!(recorded > 10, "{recorded}");
}

#[test]
fn platform_staff_are_denied_on_every_protected_cell() {
    let gw = PolicyGateway::with_default_policies().unwrap();
    let w = world();
    let global = UserId::generate(&region("global"));
    for &role in StaffRole::ALL {
        let p = principal(&w, Who::Platform(role));
        for owner in [&w.me, &w.foreigner, &global] {
            let r = Resource::protected(owner);
            for &a in Action::ALL {
                for &ctx in CTXS {
                    // Even a context that would let a custodian in.
                    let mut c = context(&w, ctx, &r);
                    if let Some(case) = &mut c.case {
                        case.assignee = id("plat-1");
                    }
                    let denied = check(&gw, &p, a, &r, &c).expect_err("platform staff denied");
                    assert!(denied.record.is_some(), "staff denials are ledgered");
                }
            }
        }
    }
}

#[test]
fn denials_name_the_forbidding_policy() {
    let gw = PolicyGateway::with_default_policies().unwrap();
    let w = world();
    let p = principal(&w, Who::Platform(StaffRole::Operator));
    let denied = gw
        .authorize(
            &p,
            act::ReadProtected,
            &Resource::protected(&w.me),
            &AccessContext::none(),
        )
        .unwrap_err();
    assert_eq!(denied.policy_id, "platform-never-protected");
    let denied = gw
        .authorize(
            &Principal::user(w.me.clone()),
            act::ReadProtected,
            &Resource::protected(&w.neighbour),
            &AccessContext::none(),
        )
        .unwrap_err();
    assert_eq!(denied.policy_id, "default-deny");
    assert!(denied.record.is_none());
}

#[test]
fn a_moderator_of_another_region_gets_nothing_even_with_a_case() {
    let gw = PolicyGateway::with_default_policies().unwrap();
    let w = world();
    let p = Principal::custodian_staff(id("cust-1"), region("au"), StaffRole::Moderator);
    let r = Resource::protected(&w.neighbour);
    let c = context(&w, Ctx::CaseMine, &r);
    let denied = gw.authorize(&p, act::ReadCaseItem, &r, &c).unwrap_err();
    assert_eq!(denied.policy_id, "custodian-region-bound");
}
