//! The policy gateway: the one function every read or write of protected
//! data passes, `PolicyGateway::authorize`, backed by Cedar.
//!
//! The schema and the default policy set live in the repository's
//! `policies/` directory and are validated in strict mode when a gateway is
//! built, so a region plane with a broken policy never starts. An allowed
//! decision is an [`Authorized`] token that only this module can make: store
//! methods that touch protected data take one, so code that skips the gateway
//! does not compile. Each decision also says whether it must reach the
//! region's ledger (an [`AccessRecord`]): every allowed access to someone
//! else's protected data and every staff denial.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use cedar_policy::{
    ActionConstraint, Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName,
    EntityUid, PolicyId, PolicySet, Request, RestrictedExpression, Schema, ValidationMode,
    Validator,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sovereel_model::classes::DataClass;
use sovereel_model::ids::{RegionId, UserId};

/// The schema shipped in `policies/`, used when no policy directory is configured.
pub const DEFAULT_SCHEMA: &str = include_str!("../../../policies/schema.cedarschema");
/// The default policy set shipped in `policies/`.
pub const DEFAULT_POLICIES: &str = include_str!("../../../policies/default.cedar");

/// File names inside a policy directory.
pub const SCHEMA_FILE: &str = "schema.cedarschema";
pub const POLICY_FILE: &str = "default.cedar";

/// The policy id reported when no policy permitted a request.
pub const DEFAULT_DENY: &str = "default-deny";
/// The policy id reported when a request did not fit the schema.
pub const INVALID_REQUEST: &str = "invalid-request";
/// The policy id reported when evaluating a policy failed.
pub const EVALUATION_ERROR: &str = "evaluation-error";

/// Requests are built only from the typed values of this module, in shapes
/// that [`PolicyGateway::from_sources`] checks against the schema once at
/// load. Checking each request again costs a few microseconds; debug builds
/// (and so every test, the authorization matrix included) still do it.
const VALIDATE_EACH_REQUEST: bool = cfg!(debug_assertions);

/// Why a schema or policy set cannot be loaded. Start-up stops with it; the
/// message is Cedar's own.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid Cedar schema: {0}")]
    Schema(String),
    #[error("invalid Cedar policy syntax: {0}")]
    Syntax(String),
    #[error("Cedar policy validation failed (strict mode): {0}")]
    Validation(String),
    /// Every policy needs an `@id("…")`: it is what the ledger records.
    #[error("policy {0} has no @id annotation, or shares it with another policy")]
    PolicyId(String),
}

macro_rules! actions {
    ($( $name:ident: $doc:literal; )*) => {
        /// What a principal wants to do. The names are the Cedar action ids.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        pub enum Action {
            $( #[doc = $doc] $name, )*
        }

        impl Action {
            /// Every action, in schema order.
            pub const ALL: &'static [Action] = &[$( Action::$name, )*];

            /// The Cedar action id, also used in ledger entries.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( Action::$name => stringify!($name), )*
                }
            }
        }

        /// One zero-sized type per action, so that an [`Authorized`] token
        /// says in its type which action it allows.
        pub mod act {
            $(
                #[doc = $doc]
                #[derive(Debug, Clone, Copy, Default)]
                pub struct $name;
                impl super::sealed::Sealed for $name {}
                impl super::GatedAction for $name {
                    const ACTION: super::Action = super::Action::$name;
                }
            )*
        }
    };
}

actions! {
    ReadProtected: "Read protected data (email, birthdate, history, private media…).";
    WriteProtected: "Change or delete protected data.";
    ReadAccountStatus: "See whether an account is active, hidden or scheduled for deletion.";
    ReadCaseItem: "Read what a report case needs (moderators).";
    ActOnCase: "Take a moderation action in a case (label, restrict, remove, restore).";
    RunDataRequest: "Carry out a user's data request: export, deletion, correction (operators).";
    ReadEvents: "Read a region's interaction events (releases ranking feeds).";
    ReadPublic: "Read public content and interop ids.";
    ReadAggregate: "Read counters and metrics.";
    ReadLog: "Read ledger entries, checkpoints and proofs.";
    PublishRelease: "Sign an algorithm release (the platform).";
    ApproveRelease: "Approve an algorithm release for a region (its custodian).";
}

mod sealed {
    pub trait Sealed {}
}

/// An action as a type; implemented by the types in [`act`] only.
pub trait GatedAction: sealed::Sealed + Copy {
    const ACTION: Action;
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A staff member's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StaffRole {
    Operator,
    Moderator,
    Support,
}

impl StaffRole {
    pub const ALL: &'static [StaffRole] = &[
        StaffRole::Operator,
        StaffRole::Moderator,
        StaffRole::Support,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StaffRole::Operator => "operator",
            StaffRole::Moderator => "moderator",
            StaffRole::Support => "support",
        }
    }

    pub fn parse(s: &str) -> Result<StaffRole, InvalidPrincipal> {
        match s {
            "operator" => Ok(StaffRole::Operator),
            "moderator" => Ok(StaffRole::Moderator),
            "support" => Ok(StaffRole::Support),
            _ => Err(InvalidPrincipal(
                "a staff role is operator, moderator or support",
            )),
        }
    }
}

/// Who employs a staff member.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "org", content = "region", rename_all = "lowercase")]
pub enum StaffOrg {
    /// The platform company (the app's developer).
    Platform,
    /// The custodian of one region.
    Custodian(RegionId),
}

/// A principal's id that is not well formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid principal: {0}")]
pub struct InvalidPrincipal(&'static str);

/// An opaque id for staff, auditors and releases: 1–64 ASCII letters, digits,
/// `-`, `_` or `.`. Never personal data, since it ends up in the public ledger.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct OpaqueId(String);

impl OpaqueId {
    pub fn parse(s: &str) -> Result<OpaqueId, InvalidPrincipal> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if ok {
            Ok(OpaqueId(s.to_string()))
        } else {
            Err(InvalidPrincipal(
                "an id is 1 to 64 ASCII letters, digits, '-', '_' or '.'",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OpaqueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who asks. Built by the server from an authenticated session (user or
/// staff token), never from request input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Principal {
    /// An end user; the home region is the id's prefix.
    User { user: UserId },
    /// Platform or custodian staff.
    Staff {
        staff_id: OpaqueId,
        #[serde(flatten)]
        org: StaffOrg,
        role: StaffRole,
    },
    /// An independent monitor.
    Auditor { auditor_id: OpaqueId },
    /// The recommendation engine running an approved release in a region.
    Release {
        region: RegionId,
        release_id: OpaqueId,
    },
}

impl Principal {
    pub fn user(user: UserId) -> Principal {
        Principal::User { user }
    }

    pub fn platform_staff(staff_id: OpaqueId, role: StaffRole) -> Principal {
        Principal::Staff {
            staff_id,
            org: StaffOrg::Platform,
            role,
        }
    }

    pub fn custodian_staff(staff_id: OpaqueId, region: RegionId, role: StaffRole) -> Principal {
        Principal::Staff {
            staff_id,
            org: StaffOrg::Custodian(region),
            role,
        }
    }

    pub fn auditor(auditor_id: OpaqueId) -> Principal {
        Principal::Auditor { auditor_id }
    }

    pub fn release(region: RegionId, release_id: OpaqueId) -> Principal {
        Principal::Release { region, release_id }
    }

    pub fn is_staff(&self) -> bool {
        matches!(self, Principal::Staff { .. })
    }

    fn is_user(&self, user: &UserId) -> bool {
        matches!(self, Principal::User { user: u } if u == user)
    }
}

/// What the gateway guards: a class of data, where it lives, and whom it is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ResourceClass {
    Protected,
    Public,
    Aggregate,
    Interop,
    /// Ledger entries, checkpoints and proofs.
    Ledger,
    /// Algorithm release manifests.
    Release,
}

impl ResourceClass {
    pub const ALL: &'static [ResourceClass] = &[
        ResourceClass::Protected,
        ResourceClass::Public,
        ResourceClass::Aggregate,
        ResourceClass::Interop,
        ResourceClass::Ledger,
        ResourceClass::Release,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ResourceClass::Protected => "protected",
            ResourceClass::Public => "public",
            ResourceClass::Aggregate => "aggregate",
            ResourceClass::Interop => "interop",
            ResourceClass::Ledger => "ledger",
            ResourceClass::Release => "release",
        }
    }
}

impl ResourceClass {
    /// The class for the ledger's `access` entry, which knows the four data
    /// classes: ledger entries and release manifests are public artifacts.
    pub fn data_class(self) -> DataClass {
        match self {
            ResourceClass::Protected => DataClass::Protected,
            ResourceClass::Public | ResourceClass::Ledger | ResourceClass::Release => {
                DataClass::Public
            }
            ResourceClass::Aggregate => DataClass::Aggregate,
            ResourceClass::Interop => DataClass::Interop,
        }
    }
}

impl From<DataClass> for ResourceClass {
    fn from(c: DataClass) -> ResourceClass {
        match c {
            DataClass::Protected => ResourceClass::Protected,
            DataClass::Public => ResourceClass::Public,
            DataClass::Aggregate => ResourceClass::Aggregate,
            DataClass::Interop => ResourceClass::Interop,
        }
    }
}

/// The datum a request touches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resource {
    pub class: ResourceClass,
    /// Where the datum lives.
    pub region: RegionId,
    /// The user the datum is about, if any.
    pub owner: Option<UserId>,
}

impl Resource {
    /// Protected data about `owner`, in the owner's home region.
    pub fn protected(owner: &UserId) -> Resource {
        Resource {
            class: ResourceClass::Protected,
            region: owner.region(),
            owner: Some(owner.clone()),
        }
    }

    /// Data of a class from the registry, about `owner` when there is one.
    pub fn of_class(class: DataClass, region: RegionId, owner: Option<UserId>) -> Resource {
        Resource {
            class: class.into(),
            region,
            owner,
        }
    }

    /// A region's ledger (entries, checkpoints, proofs).
    pub fn ledger(region: RegionId) -> Resource {
        Resource {
            class: ResourceClass::Ledger,
            region,
            owner: None,
        }
    }

    /// An algorithm release manifest for a region.
    pub fn release_manifest(region: RegionId) -> Resource {
        Resource {
            class: ResourceClass::Release,
            region,
            owner: None,
        }
    }
}

/// A report case as loaded from the region's store: the gateway trusts the
/// server to have read it there, never from the staff member's request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseContext {
    pub case_id: OpaqueId,
    pub open: bool,
    pub assignee: OpaqueId,
    /// The user the case is about (the reported item's owner).
    pub subject: UserId,
}

/// A user's data request as loaded from the region's store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    pub request_id: OpaqueId,
    pub subject: UserId,
}

/// Facts about a request beyond who, what and which datum.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessContext {
    pub case: Option<CaseContext>,
    pub request: Option<RequestContext>,
    /// Smallest group size behind an aggregate metric.
    pub k_anonymity: Option<u32>,
    /// Why, in a few words, for the ledger ("export", "feed ranking").
    pub purpose: Option<String>,
    /// The owner's visibility settings share the item with this principal
    /// (an approved follower and a followers-only video).
    pub shared_by_owner: bool,
    /// For an appeal case: the moderator whose decision is appealed, who may
    /// not decide the appeal (DSA Art. 20(6)). Sent inside `context.case`.
    pub decided_by: Option<OpaqueId>,
}

impl AccessContext {
    pub fn none() -> AccessContext {
        AccessContext::default()
    }

    pub fn case(case: CaseContext) -> AccessContext {
        AccessContext {
            case: Some(case),
            ..AccessContext::default()
        }
    }

    /// An appeal case, naming the moderator whose decision is appealed.
    pub fn with_decider(mut self, decided_by: OpaqueId) -> AccessContext {
        self.decided_by = Some(decided_by);
        self
    }

    pub fn data_request(request: RequestContext) -> AccessContext {
        AccessContext {
            request: Some(request),
            ..AccessContext::default()
        }
    }

    pub fn k_anonymity(k: u32) -> AccessContext {
        AccessContext {
            k_anonymity: Some(k),
            ..AccessContext::default()
        }
    }

    pub fn shared_by_owner() -> AccessContext {
        AccessContext {
            shared_by_owner: true,
            ..AccessContext::default()
        }
    }

    pub fn with_purpose(mut self, purpose: &str) -> AccessContext {
        self.purpose = Some(purpose.to_string());
        self
    }
}

/// Allow or deny, as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessDecision {
    Allow,
    Deny,
}

/// What the server appends to the region's ledger as an `access` entry,
/// before any data is returned. `subject` is the raw user id: the server
/// turns it into the ledger's pseudonym (HMAC under the region secret), as
/// the ledger never holds user ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessRecord {
    pub principal: Principal,
    pub action: Action,
    pub resource_class: ResourceClass,
    pub region: RegionId,
    pub subject: Option<UserId>,
    pub purpose: Option<String>,
    pub case_id: Option<String>,
    pub request_id: Option<String>,
    pub decision: AccessDecision,
    /// The `@id` of the deciding policy (`default-deny` when none applied).
    pub policy_id: String,
}

/// Proof that the gateway allowed `A` for one principal on one resource.
///
/// The fields are private and there is no public constructor, so the only
/// way to get one is [`PolicyGateway::authorize`]. Code outside the gateway
/// cannot forge one:
///
/// ```compile_fail
/// use sovereel_custody::{Authorized, act};
/// let forged: Authorized<act::ReadProtected> = Authorized { _action: std::marker::PhantomData };
/// ```
#[derive(Debug)]
#[must_use = "a decision that must be ledgered has to reach the ledger before data is returned"]
pub struct Authorized<A: GatedAction> {
    principal: Principal,
    resource: Resource,
    policy_id: String,
    record: Option<AccessRecord>,
    /// Whether `record` reached the ledger (true when there is none).
    ledgered: bool,
    _action: PhantomData<A>,
}

impl<A: GatedAction> Authorized<A> {
    pub fn action(&self) -> Action {
        A::ACTION
    }

    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    pub fn resource(&self) -> &Resource {
        &self.resource
    }

    /// The `@id` of the policy that allowed it.
    pub fn policy_id(&self) -> &str {
        &self.policy_id
    }

    /// The ledger record to append before returning data, when the access
    /// touches someone else's protected data.
    pub fn record(&self) -> Option<&AccessRecord> {
        self.record.as_ref()
    }

    /// Whether the data may be used now: no ledger record was due, or it
    /// was appended through [`Authorized::ledger`]. The keyring refuses to
    /// unwrap a data key for a grant that is not cleared, and store methods
    /// returning protected data should check it too.
    pub fn is_cleared(&self) -> bool {
        self.ledgered
    }

    /// Appends the access record (if one is due) with `append`, typically
    /// the region log's `append_entry`, and clears the grant. If the append
    /// fails the grant is consumed and the error returned: access fails
    /// closed when the ledger cannot record it.
    pub async fn ledger<F, Fut, E>(mut self, append: F) -> Result<Authorized<A>, E>
    where
        F: FnOnce(AccessRecord) -> Fut,
        Fut: std::future::Future<Output = Result<(), E>>,
    {
        if !self.ledgered
            && let Some(record) = self.record.clone()
        {
            append(record).await?;
        }
        self.ledgered = true;
        Ok(self)
    }

    /// Whether this grant covers `resource`: store methods check it so a
    /// grant for one user's data cannot be replayed for another's.
    pub fn covers(&self, resource: &Resource) -> bool {
        &self.resource == resource
    }

    /// Whether this grant covers protected data about `user`.
    pub fn covers_user(&self, user: &UserId) -> bool {
        self.resource.owner.as_ref() == Some(user) && self.resource.region == user.region()
    }
}

/// A refusal. Its message names the action and the data class, never data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("access denied: {action} on {class} data ({policy_id})")]
pub struct Denied {
    pub action: Action,
    pub class: &'static str,
    /// The forbidding policy's `@id`, `default-deny` or `invalid-request`.
    pub policy_id: String,
    /// Set for staff denials, which the ledger records too. Boxed so that
    /// the happy path's `Result` stays small.
    pub record: Option<Box<AccessRecord>>,
}

/// The region's policy gateway: a validated schema and policy set.
pub struct PolicyGateway {
    schema: Schema,
    /// The policy set split by action: entry `a as usize` holds every policy
    /// whose scope can match action `a`. A policy whose action scope
    /// excludes the request's action can never apply, so leaving it out
    /// changes no decision and saves Cedar evaluating it.
    by_action: Vec<PolicySet>,
    authorizer: Authorizer,
    /// Cedar's generated policy ids → our `@id` annotations.
    ids: HashMap<PolicyId, String>,
    actions: Vec<EntityUid>,
    sha256: String,
}

impl fmt::Debug for PolicyGateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicyGateway")
            .field("policy_set_sha256", &self.sha256)
            .field("policies", &self.ids.len())
            .finish()
    }
}

const NAMESPACE: &str = "Sovereel";

/// Entity type names, parsed once: Cedar parses a name with its full
/// grammar, which would otherwise cost more than the decision itself.
struct TypeNames {
    user: EntityTypeName,
    staff: EntityTypeName,
    auditor: EntityTypeName,
    release: EntityTypeName,
    data: EntityTypeName,
    action: EntityTypeName,
}

fn type_names() -> &'static TypeNames {
    static NAMES: std::sync::OnceLock<TypeNames> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        let parse = |name: &str| {
            EntityTypeName::from_str(&format!("{NAMESPACE}::{name}"))
                .expect("entity type names in this module are valid")
        };
        TypeNames {
            user: parse("User"),
            staff: parse("Staff"),
            auditor: parse("Auditor"),
            release: parse("Release"),
            data: parse("Data"),
            action: parse("Action"),
        }
    })
}

fn uid(type_: &str, id: &str) -> EntityUid {
    let names = type_names();
    let name = match type_ {
        "User" => &names.user,
        "Staff" => &names.staff,
        "Auditor" => &names.auditor,
        "Release" => &names.release,
        "Data" => &names.data,
        "Action" => &names.action,
        other => unreachable!("no entity type {other} in the schema"),
    };
    EntityUid::from_type_name_and_id(name.clone(), EntityId::new(id))
}

fn string(s: &str) -> RestrictedExpression {
    RestrictedExpression::new_string(s.to_string())
}

impl PolicyGateway {
    /// The schema and policy set shipped with this crate (`policies/`).
    pub fn with_default_policies() -> Result<PolicyGateway, PolicyError> {
        PolicyGateway::from_sources(DEFAULT_SCHEMA, DEFAULT_POLICIES)
    }

    /// Loads `schema.cedarschema` and `default.cedar` from a directory.
    pub fn from_dir(dir: &Path) -> Result<PolicyGateway, PolicyError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path).map_err(|source| PolicyError::Io { path, source })
        };
        PolicyGateway::from_sources(&read(SCHEMA_FILE)?, &read(POLICY_FILE)?)
    }

    /// Parses and strictly validates a schema and a policy set.
    pub fn from_sources(schema_src: &str, policy_src: &str) -> Result<PolicyGateway, PolicyError> {
        let (schema, _warnings) = Schema::from_cedarschema_str(schema_src)
            .map_err(|e| PolicyError::Schema(cedar_message(&e)))?;
        let policies =
            PolicySet::from_str(policy_src).map_err(|e| PolicyError::Syntax(cedar_message(&e)))?;
        let validation = Validator::new(schema.clone()).validate(&policies, ValidationMode::Strict);
        if !validation.validation_passed() {
            let messages: Vec<String> = validation
                .validation_errors()
                .map(|e| cedar_message(e))
                .collect();
            return Err(PolicyError::Validation(messages.join("; ")));
        }
        let mut ids = HashMap::new();
        let mut seen = HashSet::new();
        for policy in policies.policies() {
            match policy.annotation("id") {
                Some(id) if seen.insert(id.to_string()) => {
                    ids.insert(policy.id().clone(), id.to_string());
                }
                _ => return Err(PolicyError::PolicyId(policy.id().to_string())),
            }
        }
        let actions: Vec<EntityUid> = Action::ALL
            .iter()
            .map(|a| uid("Action", a.as_str()))
            .collect();
        let mut by_action: Vec<PolicySet> = actions.iter().map(|_| PolicySet::new()).collect();
        for policy in policies.policies() {
            // An action the gateway does not know (an action group added to
            // the schema) might contain any action: keep such policies everywhere.
            let may_match =
                |scope: &EntityUid, action: &EntityUid| scope == action || !actions.contains(scope);
            for (set, action) in by_action.iter_mut().zip(&actions) {
                let applies = match policy.action_constraint() {
                    ActionConstraint::Any => true,
                    ActionConstraint::Eq(scope) => may_match(&scope, action),
                    ActionConstraint::In(scopes) => scopes.iter().any(|s| may_match(s, action)),
                };
                if applies {
                    set.add(policy.clone())
                        .map_err(|e| PolicyError::PolicyId(e.to_string()))?;
                }
            }
        }
        let mut hash = Sha256::new();
        hash.update(schema_src.as_bytes());
        hash.update([0u8]);
        hash.update(policy_src.as_bytes());
        let gateway = PolicyGateway {
            schema,
            by_action,
            authorizer: Authorizer::new(),
            ids,
            actions,
            sha256: hex::encode(hash.finalize()),
        };
        gateway.check_request_shapes()?;
        Ok(gateway)
    }

    /// Builds one request of every shape the gateway makes (each principal
    /// kind, resources with and without owner, empty and full contexts) and
    /// validates it against the schema, so a schema that does not describe
    /// them stops start-up instead of failing requests later.
    fn check_request_shapes(&self) -> Result<(), PolicyError> {
        let region = RegionId::parse("us").expect("a valid region id");
        let user = UserId::generate(&region);
        let other = UserId::generate(&region);
        let id = |s: &str| OpaqueId::parse(s).expect("a valid opaque id");
        let principals = [
            Principal::user(user.clone()),
            Principal::platform_staff(id("shape-check"), StaffRole::Operator),
            Principal::custodian_staff(id("shape-check"), region.clone(), StaffRole::Moderator),
            Principal::auditor(id("shape-check")),
            Principal::release(region.clone(), id("shape-check")),
        ];
        let resources = [
            Resource::protected(&user),
            Resource::protected(&other),
            Resource::ledger(region.clone()),
        ];
        let full = AccessContext {
            case: Some(CaseContext {
                case_id: id("shape-check"),
                open: true,
                assignee: id("shape-check"),
                subject: other.clone(),
            }),
            request: Some(RequestContext {
                request_id: id("shape-check"),
                subject: other.clone(),
            }),
            k_anonymity: Some(50),
            purpose: Some("shape check".into()),
            shared_by_owner: true,
            decided_by: Some(id("shape-check")),
        };
        for principal in &principals {
            for resource in &resources {
                for context in [&AccessContext::none(), &full] {
                    for &action in Action::ALL {
                        self.decide(principal, action, resource, context, true)
                            .map_err(|e| {
                                PolicyError::Schema(format!(
                                    "the schema does not describe the gateway's {action} \
                                     requests: {e}"
                                ))
                            })?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Hex SHA-256 over the schema and policy text, for the ledger's
    /// `policy_change` and `region_config` entries.
    pub fn policy_set_sha256(&self) -> &str {
        &self.sha256
    }

    /// The one decision. `Ok` carries the token store methods demand, and
    /// the ledger record when one is due; `Err` says why not, with a record
    /// for staff denials. Any evaluation error denies.
    pub fn authorize<A: GatedAction>(
        &self,
        principal: &Principal,
        _action: A,
        resource: &Resource,
        context: &AccessContext,
    ) -> Result<Authorized<A>, Denied> {
        let action = A::ACTION;
        let (allowed, policy_id) = match self.decide(
            principal,
            action,
            resource,
            context,
            VALIDATE_EACH_REQUEST,
        ) {
            Ok(outcome) => outcome,
            Err(message) => {
                tracing::warn!(%action, error = %message, "gateway request did not fit the schema");
                (false, INVALID_REQUEST.to_string())
            }
        };
        let record = |decision| AccessRecord {
            principal: principal.clone(),
            action,
            resource_class: resource.class,
            region: resource.region.clone(),
            subject: resource.owner.clone(),
            purpose: context.purpose.clone().or_else(|| {
                context
                    .request
                    .as_ref()
                    .map(|r| format!("data request {}", r.request_id))
            }),
            case_id: context.case.as_ref().map(|c| c.case_id.to_string()),
            request_id: context.request.as_ref().map(|r| r.request_id.to_string()),
            decision,
            policy_id: policy_id.clone(),
        };
        if allowed {
            let someone_elses = match &resource.owner {
                Some(owner) => !principal.is_user(owner),
                None => true,
            };
            let record = (resource.class == ResourceClass::Protected && someone_elses)
                .then(|| record(AccessDecision::Allow));
            Ok(Authorized {
                principal: principal.clone(),
                resource: resource.clone(),
                policy_id,
                ledgered: record.is_none(),
                record,
                _action: PhantomData,
            })
        } else {
            let record = principal
                .is_staff()
                .then(|| Box::new(record(AccessDecision::Deny)));
            Err(Denied {
                action,
                class: resource.class.as_str(),
                policy_id,
                record,
            })
        }
    }

    /// Runs Cedar; returns (allowed, deciding policy id). With `validate`,
    /// the request and entities are checked against the schema first.
    fn decide(
        &self,
        principal: &Principal,
        action: Action,
        resource: &Resource,
        context: &AccessContext,
        validate: bool,
    ) -> Result<(bool, String), String> {
        let mut entities = Vec::with_capacity(3);
        let principal_uid = match principal {
            Principal::User { user } => {
                let uid = uid("User", user.as_str());
                entities.push(user_entity(user)?);
                uid
            }
            Principal::Staff {
                staff_id,
                org,
                role,
            } => {
                let uid = uid("Staff", staff_id.as_str());
                let (org, region) = match org {
                    StaffOrg::Platform => ("platform", ""),
                    StaffOrg::Custodian(r) => ("custodian", r.as_str()),
                };
                let attrs = HashMap::from([
                    ("org".to_string(), string(org)),
                    ("region".to_string(), string(region)),
                    ("role".to_string(), string(role.as_str())),
                ]);
                entities.push(
                    Entity::new(uid.clone(), attrs, HashSet::new())
                        .map_err(|e| cedar_message(&e))?,
                );
                uid
            }
            Principal::Auditor { auditor_id } => {
                let uid = uid("Auditor", auditor_id.as_str());
                entities.push(Entity::new_no_attrs(uid.clone(), HashSet::new()));
                uid
            }
            Principal::Release { region, release_id } => {
                // Release ids are unique per region only.
                let uid = uid("Release", &format!("{region}/{release_id}"));
                let attrs = HashMap::from([
                    ("region".to_string(), string(region.as_str())),
                    ("release".to_string(), string(release_id.as_str())),
                ]);
                entities.push(
                    Entity::new(uid.clone(), attrs, HashSet::new())
                        .map_err(|e| cedar_message(&e))?,
                );
                uid
            }
        };
        let resource_uid = uid("Data", "resource");
        let mut attrs = HashMap::from([
            ("class".to_string(), string(resource.class.as_str())),
            ("region".to_string(), string(resource.region.as_str())),
        ]);
        if let Some(owner) = &resource.owner {
            attrs.insert(
                "owner".to_string(),
                RestrictedExpression::new_entity_uid(uid("User", owner.as_str())),
            );
            if !principal.is_user(owner) {
                entities.push(user_entity(owner)?);
            }
        }
        entities.push(
            Entity::new(resource_uid.clone(), attrs, HashSet::new())
                .map_err(|e| cedar_message(&e))?,
        );

        let mut pairs = Vec::with_capacity(4);
        if let Some(case) = &context.case {
            let mut fields = vec![
                ("id".to_string(), string(case.case_id.as_str())),
                (
                    "open".to_string(),
                    RestrictedExpression::new_bool(case.open),
                ),
                (
                    "assignee".to_string(),
                    RestrictedExpression::new_entity_uid(uid("Staff", case.assignee.as_str())),
                ),
                (
                    "subject".to_string(),
                    RestrictedExpression::new_entity_uid(uid("User", case.subject.as_str())),
                ),
            ];
            if let Some(decider) = &context.decided_by {
                fields.push((
                    "decided_by".to_string(),
                    RestrictedExpression::new_entity_uid(uid("Staff", decider.as_str())),
                ));
            }
            let record = RestrictedExpression::new_record(fields).map_err(|e| cedar_message(&e))?;
            pairs.push(("case".to_string(), record));
        }
        if let Some(request) = &context.request {
            let record = RestrictedExpression::new_record([
                ("id".to_string(), string(request.request_id.as_str())),
                (
                    "subject".to_string(),
                    RestrictedExpression::new_entity_uid(uid("User", request.subject.as_str())),
                ),
            ])
            .map_err(|e| cedar_message(&e))?;
            pairs.push(("request".to_string(), record));
        }
        if let Some(k) = context.k_anonymity {
            pairs.push((
                "k_anonymity".to_string(),
                RestrictedExpression::new_long(i64::from(k)),
            ));
        }
        if let Some(purpose) = &context.purpose {
            pairs.push(("purpose".to_string(), string(purpose)));
        }
        if context.shared_by_owner {
            pairs.push((
                "shared_by_owner".to_string(),
                RestrictedExpression::new_bool(true),
            ));
        }
        let context = Context::from_pairs(pairs).map_err(|e| cedar_message(&e))?;

        let action_uid = self.actions[action as usize].clone();
        let request = Request::new(
            principal_uid,
            action_uid,
            resource_uid,
            context,
            validate.then_some(&self.schema),
        )
        .map_err(|e| cedar_message(&e))?;
        let entities = Entities::from_entities(entities, validate.then_some(&self.schema))
            .map_err(|e| cedar_message(&e))?;
        let response =
            self.authorizer
                .is_authorized(&request, &self.by_action[action as usize], &entities);
        // Cedar skips a policy whose evaluation errors. For a forbid that
        // would turn "deny" into "allow", so any error denies outright.
        let mut errored = false;
        for error in response.diagnostics().errors() {
            tracing::warn!(%action, error = %error, "policy evaluation error; denying");
            errored = true;
        }
        if errored {
            return Ok((false, EVALUATION_ERROR.to_string()));
        }
        let allowed = response.decision() == Decision::Allow;
        let mut reasons: Vec<&str> = response
            .diagnostics()
            .reason()
            .filter_map(|id| self.ids.get(id).map(String::as_str))
            .collect();
        reasons.sort_unstable();
        let policy_id = reasons
            .first()
            .map_or(DEFAULT_DENY.to_string(), |s| s.to_string());
        Ok((allowed, policy_id))
    }
}

fn user_entity(user: &UserId) -> Result<Entity, String> {
    let attrs = HashMap::from([("region".to_string(), string(user.region_str()))]);
    Entity::new(uid("User", user.as_str()), attrs, HashSet::new()).map_err(|e| cedar_message(&e))
}

/// Cedar's error with its diagnostic details (source positions and help),
/// which the plain `Display` leaves out.
fn cedar_message(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}
