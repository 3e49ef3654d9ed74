//! What a rule may ask of the live account, behind one seam.
//!
//! The engine is synchronous and does no I/O. Before evaluating, a caller asks
//! [`crate::Engine::needs`] which roles and policies an event needs, fetches them however it
//! likes (the Lambda uses aws-sdk-iam), and hands the answers in as a [`Snapshot`]. Without
//! enrichment, [`NoAccountView`] answers `Unavailable` and rules that depend on the account say
//! so instead of guessing.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use crate::policy::PolicyDocument;
use serde::{Deserialize, Serialize};

/// The answer to one lookup.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup<T> {
    Found(T),
    /// The account says it does not exist (`NoSuchEntity`).
    Missing,
    /// Could not be had; the reason (`AccessDenied`, `throttled`, `enrichment off`).
    Unavailable(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct NamedPolicy {
    pub name: String,
    pub document: PolicyDocument<'static>,
}

/// A role as IAM describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleFacts {
    pub arn: String,
    pub name: String,
    pub path: String,
    pub create_date: Option<DateTime<Utc>>,
    pub last_used: Option<DateTime<Utc>>,
    pub trust_policy: Option<PolicyDocument<'static>>,
    pub inline_policies: Vec<NamedPolicy>,
    /// Attached managed policies; `name` is the policy ARN.
    pub attached_policies: Vec<NamedPolicy>,
}

/// The AWS Organization the account belongs to, as Organizations describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    /// `o-...`.
    pub id: String,
    /// Every account of the organization, when the reader may list them (the management
    /// account or a delegated administrator); `None` otherwise.
    pub accounts: Option<BTreeSet<String>>,
}

impl Organization {
    /// Whether `account` is known to be one of the organization's.
    pub fn has_account(&self, account: &str) -> bool {
        self.accounts.as_ref().is_some_and(|a| a.contains(account))
    }
}

/// Live facts a rule may consult.
pub trait AccountView {
    /// A role by name.
    fn role(&self, name: &str) -> Lookup<RoleFacts>;
    /// The default version of a managed policy by ARN.
    fn managed_policy(&self, arn: &str) -> Lookup<PolicyDocument<'static>>;
    /// A profile's dependent resources (bots, instances) across the swept regions.
    fn dependents(&self, profile: &str) -> Lookup<Vec<Dependent>>;
    /// The organization the account belongs to (TR003: its accounts and id are not outside).
    fn organization(&self) -> Lookup<Organization> {
        Lookup::Unavailable(ENRICHMENT_OFF.into())
    }
}

/// What an event needs fetched before it can be fully evaluated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    pub roles: BTreeSet<String>,
    pub managed_policies: BTreeSet<String>,
    /// Profile names whose dependents must be listed (SL005).
    pub dependents: BTreeSet<String>,
    /// The event's account: enrichment reads one account, so an event from another is judged
    /// from the event alone; also names listed resources.
    pub account: Option<String>,
    /// The account's organization (TR003, for a trust policy that names other accounts or
    /// organizations).
    pub organization: bool,
}

impl Needs {
    pub fn is_empty(&self) -> bool {
        self.roles.is_empty()
            && self.managed_policies.is_empty()
            && self.dependents.is_empty()
            && !self.organization
    }
}

/// The view used when enrichment is off.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAccountView;

pub const ENRICHMENT_OFF: &str = "enrichment off (run with --enrich or in the Lambda)";

impl AccountView for NoAccountView {
    fn role(&self, _name: &str) -> Lookup<RoleFacts> {
        Lookup::Unavailable(ENRICHMENT_OFF.into())
    }
    fn managed_policy(&self, _arn: &str) -> Lookup<PolicyDocument<'static>> {
        Lookup::Unavailable(ENRICHMENT_OFF.into())
    }
    fn dependents(&self, _profile: &str) -> Lookup<Vec<Dependent>> {
        Lookup::Unavailable(ENRICHMENT_OFF.into())
    }
}

/// Answers fetched in advance.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub roles: HashMap<String, Lookup<RoleFacts>>,
    pub managed_policies: HashMap<String, Lookup<PolicyDocument<'static>>>,
    pub dependents: HashMap<String, Lookup<Vec<Dependent>>>,
    pub organization: Option<Lookup<Organization>>,
    /// Why anything not in the maps is unavailable; `None`: "was not fetched".
    pub absent: Option<String>,
}

impl Snapshot {
    /// A view that answers every lookup with `Unavailable(reason)`.
    pub fn unavailable(reason: impl Into<String>) -> Self {
        Snapshot {
            absent: Some(reason.into()),
            ..Default::default()
        }
    }

    fn absent<T>(&self, what: String) -> Lookup<T> {
        Lookup::Unavailable(self.absent.clone().unwrap_or(what))
    }
}

impl AccountView for Snapshot {
    fn role(&self, name: &str) -> Lookup<RoleFacts> {
        self.roles
            .get(name)
            .cloned()
            .unwrap_or_else(|| self.absent(format!("role `{name}` was not fetched")))
    }
    fn managed_policy(&self, arn: &str) -> Lookup<PolicyDocument<'static>> {
        self.managed_policies
            .get(arn)
            .cloned()
            .unwrap_or_else(|| self.absent(format!("policy `{arn}` was not fetched")))
    }
    fn dependents(&self, profile: &str) -> Lookup<Vec<Dependent>> {
        self.dependents
            .get(profile)
            .cloned()
            .unwrap_or_else(|| self.absent(format!("dependents of `{profile}` were not listed")))
    }
    fn organization(&self) -> Lookup<Organization> {
        self.organization
            .clone()
            .unwrap_or_else(|| self.absent("the organization was not read".to_owned()))
    }
}

/// A resource that keeps a service's service-linked roles in use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependent {
    pub arn: String,
    #[serde(default)]
    pub name: String,
    /// The role the resource names (a Connect instance's `ServiceRole`); `None` when it names
    /// none, or the listing does not say.
    #[serde(default)]
    pub role: Option<String>,
}
