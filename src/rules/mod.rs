//! The rule catalogue. One file per rule, named after its stable id; [`ALL`] is the registry.
//!
//! A rule's doc comment is its documentation: `rolewarden explain ID` prints it, the README's
//! rule table is checked against it, and its `## Fix` section becomes every finding's
//! `remediation`. A meta-test fails when a rule lacks a section or a sample event.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::finding::Severity;
pub use crate::sweep::SweepContext;

mod context;
mod reach;
pub use context::{Context, DecodeFailure, PassedRole, SlrTarget};

/// When the engine runs a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// On the events in [`RuleMeta::events`].
    Listed,
    /// On every event a service profile lists as passing a role (`profiles.passes`).
    Passes,
    /// On every watched event.
    AnyWatched,
    /// On the account sweep's [`crate::sweep::AccountState`], not on events.
    Sweep,
    /// Never on an event; the engine raises it itself.
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
            .skip_while(|l| l.trim() != format!("## {heading}"));
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

/// A rule: metadata and a pure check, over one event or over the account sweep's state.
pub trait Rule: Sync {
    fn meta(&self) -> &'static RuleMeta;
    /// Event rules (every trigger but `Sweep`).
    fn check(&self, _cx: &Context<'_>, _out: &mut Vec<Draft>) {}
    /// Sweep rules (`Trigger::Sweep`).
    fn sweep(&self, _cx: &SweepContext<'_>, _out: &mut Vec<Draft>) {}
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
pub static ALL: &[&dyn Rule] = &[
    &pr001::PassRoleOnAnyRole,
    &pr002::PassRoleWithoutServiceCondition,
    &pr003::LexPassRoleWithoutAssociatedResource,
    &pr004::BroadPassRolePolicyAttached,
    &pr005::UnapprovedRolePassed,
    &pr006::PassedRoleOverPrivileged,
    &pr007::PassRoleRefused,
    &tr001::ServiceTrustSharedWithBroaderPrincipal,
    &tr002::ServiceTrustWithoutSourceGuard,
    &tr003::TrustOpenedOutsideAccount,
    &sl001::ServiceLinkedRolePermissionsModified,
    &sl002::ServiceLinkedRoleTrustModified,
    &sl003::ServiceLinkedRoleSettingsModified,
    &sl004::ServiceLinkedRoleDescriptionChanged,
    &sl005::ServiceLinkedRoleDeleted,
    &sl006::ServiceLinkedRoleLookAlike,
    &sl007::ServiceLinkedRoleCreated,
    &sl008::ServiceLinkedRoleDrifted,
    &sl009::ServiceLinkedRoleDeleteRoleAttempt,
    &or001::OrphanedServiceRole,
    &or002::ServiceLinkedRoleWithoutDependents,
    &or003::ApprovedRoleDeleted,
    &or004::ApprovedRoleMissing,
    &lx001::LexTagConditionUnsupported,
    &lx002::LexResourcePolicyOpen,
    &lx003::LexResourcePolicyChanged,
    &cn001::ConnectInstanceWithoutServiceLinkedRole,
    &rw000::UndecodableEvent,
    &rw001::ExpiredException,
    &rw002::SweepIncomplete,
];

/// A rule by id, case-insensitive.
pub fn by_id(id: &str) -> Option<&'static dyn Rule> {
    ALL.iter()
        .copied()
        .find(|r| r.meta().id.eq_ignore_ascii_case(id.trim()))
}
