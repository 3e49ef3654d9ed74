//! The rule catalogue. One file per rule, named after its stable id; [`ALL`] is the registry.
//!
//! A rule's doc comment is its documentation: `rolewarden explain ID` prints it, the README's
//! rule table is checked against it, and its `## Fix` section becomes every finding's
//! `remediation`. A meta-test fails when a rule lacks a section or a sample event.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use serde::Serialize;
use serde_json::Value;

use crate::account::Needs;
use crate::baseline::{Baseline, BaselineError, DEFAULT_TOML};
use crate::finding::Severity;

mod context;
mod reach;
mod sweep_context;
pub use context::{Context, DecodeFailure, PassedRole, SlrTarget};
pub use sweep_context::SweepContext;

/// When the engine runs a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// On the events in [`RuleMeta::events`].
    Listed,
    /// On every event a service profile lists as passing a role (`profiles.passes`).
    Passes,
    /// On every watched event.
    AnyWatched,
    /// On the account sweep's [`crate::state::AccountState`], not on events ([`Rule::Sweep`]).
    Sweep,
    /// Never on an event; the engine raises it itself ([`Rule::Engine`]).
    Engine,
}

/// A rule's fixed description.
#[derive(Debug)]
pub struct RuleMeta {
    /// Stable id, never reused (`PR001`).
    pub id: &'static str,
    /// The bad pattern, in CamelCase (`PassRoleOnAnyRole`).
    pub name: &'static str,
    pub severity: Severity,
    /// One line for the catalogue table.
    pub summary: &'static str,
    /// The doc comment: What it does / Why it matters / Example / Fix.
    pub doc: &'static str,
    pub trigger: Trigger,
    /// `(eventSource, eventName)` pairs the rule consumes when `trigger` is `Listed`.
    pub events: &'static [(&'static str, &'static str)],
}

impl RuleMeta {
    /// The doc comment without rustdoc's leading space.
    pub fn doc_text(&self) -> String {
        self.doc
            .lines()
            .map(|l| l.strip_prefix(' ').unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n")
            .trim()
            .to_owned()
    }

    /// One `## Heading` section of the doc, trimmed; `None` when absent.
    pub fn section(&self, heading: &str) -> Option<String> {
        let text = self.doc_text();
        let mut lines = text
            .lines()
            .skip_while(|l| l.trim().strip_prefix("## ") != Some(heading));
        lines.next()?;
        let body: Vec<&str> = lines.take_while(|l| !l.starts_with("## ")).collect();
        let body = body.join("\n").trim().to_owned();
        (!body.is_empty()).then_some(body)
    }

    /// The remediation sentence(s) findings carry: the `## Fix` section on one line.
    pub fn remediation(&self) -> String {
        self.section("Fix")
            .map(|fix| fix.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    }
}

/// A rule's fixed description; `declare_rule!` implements it from the rule's declaration.
pub trait Described {
    fn meta(&self) -> &'static RuleMeta;
}

/// A rule over one CloudTrail event: pure, given the event, the baseline and what was read of
/// the account.
pub trait EventRule: Described + Sync {
    /// What the rule will ask of the live account for this event (roles, policies, dependents),
    /// so the caller fetches exactly that before [`EventRule::check`]. Most rules need nothing.
    fn needs(&self, _cx: &Context<'_>, _needs: &mut Needs) {}
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Draft>);
}

/// A rule over what a sweep read of the account.
pub trait SweepRule: Described + Sync {
    fn check(&self, cx: &SweepContext<'_>, out: &mut Vec<Draft>);
}

/// A registered rule, by the input it judges: the type says where it runs, so a sweep rule
/// cannot carry an event check that would never be called.
#[derive(Clone, Copy)]
pub enum Rule {
    Event(&'static dyn EventRule),
    Sweep(&'static dyn SweepRule),
    /// Raised by the engine itself (RW001): metadata only.
    Engine(&'static RuleMeta),
}

impl Rule {
    pub fn meta(&self) -> &'static RuleMeta {
        match self {
            Rule::Event(rule) => rule.meta(),
            Rule::Sweep(rule) => rule.meta(),
            Rule::Engine(meta) => meta,
        }
    }
}

/// What a rule reports; the engine turns it into a [`crate::Finding`].
#[derive(Debug, Clone, Default)]
pub struct Draft {
    /// Overrides the rule's default severity for this finding (e.g. refused vs succeeded).
    pub severity: Option<Severity>,
    pub message: String,
    pub resource: Option<String>,
    pub evidence: BTreeMap<String, Value>,
    pub enrichment: Option<String>,
    /// The region the finding is about, for sweep findings (an event finding takes the
    /// event's).
    pub region: Option<String>,
}

impl Draft {
    pub fn new(message: impl Into<String>) -> Self {
        Draft {
            message: message.into(),
            ..Default::default()
        }
    }

    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = Some(severity);
        self
    }

    pub fn evidence(mut self, key: &str, value: impl Serialize) -> Self {
        if let Ok(value) = serde_json::to_value(value) {
            if !value.is_null() {
                self.evidence.insert(key.to_owned(), value);
            }
        }
        self
    }

    pub fn enrichment(mut self, note: impl Into<String>) -> Self {
        self.enrichment = Some(note.into());
        self
    }

    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }
}

/// Declares a rule struct whose doc comment is also its runtime documentation.
macro_rules! declare_rule {
    (
        $(#[doc = $doc:literal])*
        pub struct $name:ident {
            id: $id:literal,
            severity: $sev:ident,
            summary: $summary:literal,
            trigger: $trigger:ident,
            events: $events:expr $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        pub struct $name;

        impl $name {
            pub const META: $crate::rules::RuleMeta = $crate::rules::RuleMeta {
                id: $id,
                name: stringify!($name),
                severity: $crate::finding::Severity::$sev,
                summary: $summary,
                doc: concat!($($doc, "\n"),*),
                trigger: $crate::rules::Trigger::$trigger,
                events: $events,
            };
        }

        impl $crate::rules::Described for $name {
            fn meta(&self) -> &'static $crate::rules::RuleMeta {
                &Self::META
            }
        }
    };
}

/// IAM's eventSource, used by most rules.
pub(crate) const IAM: &str = "iam.amazonaws.com";

/// The eventSource of Amazon Lex, V1 and V2 model building alike.
pub(crate) const LEX: &str = "lex.amazonaws.com";

/// The calls that write a permissions policy (`requestParameters.policyDocument`).
pub(crate) const POLICY_WRITES: &[(&str, &str)] = &[
    (IAM, "CreatePolicy"),
    (IAM, "CreatePolicyVersion"),
    (IAM, "PutRolePolicy"),
    (IAM, "PutUserPolicy"),
    (IAM, "PutGroupPolicy"),
];

pub mod cn001;
pub mod lx001;
pub mod lx002;
pub mod lx003;
pub mod or001;
pub mod or002;
pub mod or003;
pub mod or004;
pub mod pr001;
pub mod pr002;
pub mod pr003;
pub mod pr004;
pub mod pr005;
pub mod pr006;
pub mod pr007;
pub mod rw000;
pub mod rw001;
pub mod rw002;
pub mod sl001;
pub mod sl002;
pub mod sl003;
pub mod sl004;
pub mod sl005;
pub mod sl006;
pub mod sl007;
pub mod sl008;
pub mod sl009;
pub mod tr001;
pub mod tr002;
pub mod tr003;

/// Every rule, in catalogue order.
pub static ALL: &[Rule] = &[
    Rule::Event(&pr001::PassRoleOnAnyRole),
    Rule::Event(&pr002::PassRoleWithoutServiceCondition),
    Rule::Event(&pr003::LexPassRoleWithoutAssociatedResource),
    Rule::Event(&pr004::BroadPassRolePolicyAttached),
    Rule::Event(&pr005::UnapprovedRolePassed),
    Rule::Event(&pr006::PassedRoleOverPrivileged),
    Rule::Event(&pr007::PassRoleRefused),
    Rule::Event(&tr001::ServiceTrustSharedWithBroaderPrincipal),
    Rule::Event(&tr002::ServiceTrustWithoutSourceGuard),
    Rule::Event(&tr003::TrustOpenedOutsideAccount),
    Rule::Event(&sl001::ServiceLinkedRolePermissionsModified),
    Rule::Event(&sl002::ServiceLinkedRoleTrustModified),
    Rule::Event(&sl003::ServiceLinkedRoleSettingsModified),
    Rule::Event(&sl004::ServiceLinkedRoleDescriptionChanged),
    Rule::Event(&sl005::ServiceLinkedRoleDeleted),
    Rule::Event(&sl006::ServiceLinkedRoleLookAlike),
    Rule::Event(&sl007::ServiceLinkedRoleCreated),
    Rule::Sweep(&sl008::ServiceLinkedRoleDrifted),
    Rule::Event(&sl009::ServiceLinkedRoleDeleteRoleAttempt),
    Rule::Sweep(&or001::OrphanedServiceRole),
    Rule::Sweep(&or002::ServiceLinkedRoleWithoutDependents),
    Rule::Event(&or003::ApprovedRoleDeleted),
    Rule::Sweep(&or004::ApprovedRoleMissing),
    Rule::Event(&lx001::LexTagConditionUnsupported),
    Rule::Event(&lx002::LexResourcePolicyOpen),
    Rule::Event(&lx003::LexResourcePolicyChanged),
    Rule::Sweep(&cn001::ConnectInstanceWithoutServiceLinkedRole),
    Rule::Event(&rw000::UndecodableEvent),
    Rule::Engine(&rw001::ExpiredException::META),
    Rule::Sweep(&rw002::SweepIncomplete),
];

/// A rule by id, case-insensitive.
pub fn by_id(id: &str) -> Option<Rule> {
    ALL.iter()
        .copied()
        .find(|r| r.meta().id.eq_ignore_ascii_case(id.trim()))
}

/// Baseline validation needs the catalogue's ids; the catalogue sits above the baseline, so
/// the entry points that know both live here.
impl Baseline {
    /// Parses and validates a baseline file against this catalogue. `today` decides which
    /// exceptions have expired.
    pub fn parse(text: &str, source_name: &str, today: NaiveDate) -> Result<Self, BaselineError> {
        Self::validate(text, source_name, today, &|id| by_id(id).is_some())
    }

    /// The embedded default, as of today.
    pub fn embedded() -> Result<Self, BaselineError> {
        Self::parse(
            DEFAULT_TOML,
            "embedded default",
            chrono::Utc::now().date_naive(),
        )
    }
}
