//! "Ledgered before any data is returned": a grant that carries an access
//! record unlocks no data key until the record reached the ledger, and a
//! failing ledger leaves the access refused.

use std::sync::Mutex;

use sovereel_custody::{
    AccessContext, AccessDecision, AccessRecord, CaseContext, KeyError, Keyring, OpaqueId,
    PolicyGateway, Principal, Resource, StaffRole, act,
};
use sovereel_model::ids::{RegionId, UserId};

#[test]
fn a_moderator_reads_a_case_field_only_after_the_ledger_append() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let gw = PolicyGateway::with_default_policies().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let us = RegionId::parse("us").unwrap();
    let keyring = Keyring::open_embedded(us.clone(), dir.path()).unwrap();
    let alice = UserId::generate(&us);
    keyring.create_user_key(&alice).unwrap();
    let own = gw
        .authorize(
            &Principal::user(alice.clone()),
            act::WriteProtected,
            &Resource::protected(&alice),
            &AccessContext::none(),
        )
        .unwrap();
    assert!(
        own.is_cleared(),
        "the owner's own access needs no ledger entry"
    );
    let sealed = keyring
        .user_key(&own)
        .unwrap()
        .encrypt_field("users.email", "alice@example.org");

    let moderator = Principal::custodian_staff(
        OpaqueId::parse("mod-1").unwrap(),
        us.clone(),
        StaffRole::Moderator,
    );
    let case = AccessContext::case(CaseContext {
        case_id: OpaqueId::parse("case-1").unwrap(),
        open: true,
        assignee: OpaqueId::parse("mod-1").unwrap(),
        subject: alice.clone(),
    })
    .with_purpose("report review");
    let authorize = || {
        gw.authorize(
            &moderator,
            act::ReadCaseItem,
            &Resource::protected(&alice),
            &case,
        )
        .unwrap()
    };

    let grant = authorize();
    assert!(!grant.is_cleared());
    assert!(matches!(
        keyring.user_key(&grant),
        Err(KeyError::NotLedgered)
    ));

    // The ledger is down: the access fails closed.
    let failed = rt.block_on(grant.ledger(|_| async { Err::<(), _>("ledger unavailable") }));
    assert_eq!(failed.unwrap_err(), "ledger unavailable");

    let appended: Mutex<Vec<AccessRecord>> = Mutex::new(Vec::new());
    let grant = rt
        .block_on(authorize().ledger(|record| async {
            appended.lock().unwrap().push(record);
            Ok::<(), ()>(())
        }))
        .unwrap();
    assert!(grant.is_cleared());
    let key = keyring.user_key(&grant).unwrap();
    assert_eq!(
        key.decrypt_field("users.email", &sealed).unwrap().as_str(),
        "alice@example.org"
    );
    let appended = appended.into_inner().unwrap();
    assert_eq!(appended.len(), 1);
    let record = &appended[0];
    assert_eq!(record.principal, moderator);
    assert_eq!(record.subject.as_ref(), Some(&alice));
    assert_eq!(record.case_id.as_deref(), Some("case-1"));
    assert_eq!(record.purpose.as_deref(), Some("report review"));
    assert_eq!(record.decision, AccessDecision::Allow);
    assert_eq!(record.policy_id, "moderator-case");
    assert_eq!(
        record.resource_class.data_class(),
        sovereel_model::classes::DataClass::Protected
    );
    let json = serde_json::to_value(record).unwrap();
    assert_eq!(json["principal"]["type"], "staff");
    assert_eq!(json["principal"]["org"], "custodian");
    assert_eq!(json["principal"]["region"], "us");
    assert_eq!(json["principal"]["role"], "moderator");
    assert_eq!(json["action"], "ReadCaseItem");
    assert_eq!(json["decision"], "allow");

    // Closing the case ends the access.
    let closed = AccessContext::case(CaseContext {
        open: false,
        ..case.case.clone().unwrap()
    });
    let denied = gw
        .authorize(
            &moderator,
            act::ReadCaseItem,
            &Resource::protected(&alice),
            &closed,
        )
        .unwrap_err();
    assert_eq!(denied.record.unwrap().decision, AccessDecision::Deny);
}
