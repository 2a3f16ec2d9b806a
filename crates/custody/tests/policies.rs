//! Loading policies: the shipped files validate, and a broken file stops
//! start-up with Cedar's own message.

use std::path::PathBuf;

use sovereel_custody::gateway::{DEFAULT_POLICIES, DEFAULT_SCHEMA};
use sovereel_custody::{PolicyError, PolicyGateway};

fn repo_policies() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policies")
}

const PERMIT_OWN: &str = r#"
@id("own")
permit (principal is Sovereel::User, action == Sovereel::Action::"ReadProtected", resource is Sovereel::Data)
when { resource has owner && resource.owner == principal };
"#;

#[test]
fn the_shipped_directory_loads_and_matches_the_embedded_copy() {
    let from_dir = PolicyGateway::from_dir(&repo_policies()).unwrap();
    let embedded = PolicyGateway::with_default_policies().unwrap();
    assert_eq!(from_dir.policy_set_sha256(), embedded.policy_set_sha256());
    assert_eq!(from_dir.policy_set_sha256().len(), 64);
}

#[test]
fn a_minimal_valid_policy_loads() {
    PolicyGateway::from_sources(DEFAULT_SCHEMA, PERMIT_OWN).unwrap();
}

#[test]
fn a_type_error_is_refused_with_the_validators_message() {
    let bad = PERMIT_OWN.replace("resource has owner", "resource.clas == \"x\"");
    match PolicyGateway::from_sources(DEFAULT_SCHEMA, &bad) {
        Err(PolicyError::Validation(msg)) => assert!(msg.contains("clas"), "{msg}"),
        other => panic!("expected a validation error, got {other:?}"),
    }
    // Comparing a string attribute with a number is a type error in strict mode.
    let bad = PERMIT_OWN.replace("resource has owner", "resource.region == 3");
    assert!(matches!(
        PolicyGateway::from_sources(DEFAULT_SCHEMA, &bad),
        Err(PolicyError::Validation(_))
    ));
    // An action the schema does not know.
    let bad = PERMIT_OWN.replace("ReadProtected", "ReadEverything");
    assert!(matches!(
        PolicyGateway::from_sources(DEFAULT_SCHEMA, &bad),
        Err(PolicyError::Validation(_))
    ));
}

#[test]
fn a_syntax_error_is_refused() {
    let bad = PERMIT_OWN.replace("when {", "when (");
    match PolicyGateway::from_sources(DEFAULT_SCHEMA, &bad) {
        Err(e @ PolicyError::Syntax(_)) => assert!(e.to_string().contains("syntax"), "{e}"),
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

#[test]
fn policies_without_a_unique_id_are_refused() {
    let bad = PERMIT_OWN.replace("@id(\"own\")", "");
    assert!(matches!(
        PolicyGateway::from_sources(DEFAULT_SCHEMA, &bad),
        Err(PolicyError::PolicyId(_))
    ));
    let twice = format!("{PERMIT_OWN}\n{PERMIT_OWN}");
    assert!(matches!(
        PolicyGateway::from_sources(DEFAULT_SCHEMA, &twice),
        Err(PolicyError::PolicyId(_))
    ));
}

#[test]
fn a_broken_schema_or_a_missing_file_is_refused() {
    let bad = DEFAULT_SCHEMA.replace("entity Auditor;", "entity Auditor = {");
    assert!(matches!(
        PolicyGateway::from_sources(&bad, DEFAULT_POLICIES),
        Err(PolicyError::Schema(_))
    ));
    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(
        PolicyGateway::from_dir(empty.path()),
        Err(PolicyError::Io { .. })
    ));
}

#[test]
fn a_policy_file_on_disk_with_a_type_error_stops_loading() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("schema.cedarschema"), DEFAULT_SCHEMA).unwrap();
    let bad = DEFAULT_POLICIES.replace("principal.org == \"platform\"", "principal.org == 1");
    assert_ne!(bad, DEFAULT_POLICIES);
    std::fs::write(dir.path().join("default.cedar"), bad).unwrap();
    let err = PolicyGateway::from_dir(dir.path()).unwrap_err();
    assert!(matches!(err, PolicyError::Validation(_)), "{err}");
}

#[test]
fn policies_on_an_action_group_apply_to_its_members() {
    use sovereel_custody::{AccessContext, Principal, Resource, act};
    use sovereel_model::ids::{RegionId, UserId};
    // The gateway evaluates per action only the policies whose scope can
    // match; a group it does not know must not be pruned away.
    let schema = DEFAULT_SCHEMA
        .replace(
            "  action ReadProtected,",
            "  action Everything;\n  action ReadProtected,",
        )
        .replace(
            "PublishRelease, ApproveRelease\n    appliesTo",
            "PublishRelease, ApproveRelease in [Everything]\n    appliesTo",
        );
    assert_ne!(schema, DEFAULT_SCHEMA);
    let policy = r#"@id("group")
        permit (principal is Sovereel::User, action in Sovereel::Action::"Everything", resource is Sovereel::Data)
        when { resource.class == "ledger" };"#;
    let gw = PolicyGateway::from_sources(&schema, policy).unwrap();
    let us = RegionId::parse("us").unwrap();
    let user = Principal::user(UserId::generate(&us));
    let ledger = Resource::ledger(us);
    let grant = gw
        .authorize(&user, act::PublishRelease, &ledger, &AccessContext::none())
        .unwrap();
    assert_eq!(grant.policy_id(), "group");
}

#[test]
fn a_schema_that_does_not_describe_the_gateways_requests_is_refused() {
    // A required attribute the gateway never sends: refused at load rather
    // than failing (or, for a forbid, being skipped) at request time.
    let schema = DEFAULT_SCHEMA.replace(
        "entity User = { region: String };",
        "entity User = { region: String, age: Long };",
    );
    assert_ne!(schema, DEFAULT_SCHEMA);
    match PolicyGateway::from_sources(&schema, DEFAULT_POLICIES) {
        Err(PolicyError::Schema(msg)) => assert!(msg.contains("age"), "{msg}"),
        other => panic!("expected a schema error, got {other:?}"),
    }
}

#[test]
fn a_policy_that_fails_to_evaluate_denies_even_if_it_is_a_forbid() {
    use sovereel_custody::{AccessContext, Principal, Resource, act};
    use sovereel_model::ids::{RegionId, UserId};
    // Cedar skips an erroring policy; for a forbid that would mean allow.
    let policies = r#"
        @id("logs") permit (principal, action == Sovereel::Action::"ReadLog", resource is Sovereel::Data);
        @id("overflow") forbid (principal, action, resource)
        when { context has k_anonymity && context.k_anonymity * 9223372036854775807 > 0 };
    "#;
    let gw = PolicyGateway::from_sources(DEFAULT_SCHEMA, policies).unwrap();
    let us = RegionId::parse("us").unwrap();
    let user = Principal::user(UserId::generate(&us));
    let ledger = Resource::ledger(us);
    let grant = gw
        .authorize(&user, act::ReadLog, &ledger, &AccessContext::none())
        .unwrap();
    assert_eq!(grant.policy_id(), "logs");
    let denied = gw
        .authorize(&user, act::ReadLog, &ledger, &AccessContext::k_anonymity(2))
        .unwrap_err();
    assert_eq!(denied.policy_id, "evaluation-error");
}
