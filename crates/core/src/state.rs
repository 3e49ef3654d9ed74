//! What an account sweep read of the account ([`AccountState`]): the sweep rules' input. Events alone cannot tell that a role is
//! orphaned, because the evidence is an absence; the sweep reads the account on a schedule and
//! after the delete events that create orphans. Gathering the state is the AWS side's
//! job (`rolewarden::aws::gather`); the rules (OR001, OR002, OR004, SL008, CN001, RW002) are in [`crate::rules`] like every
//! other rule, and the engine runs them through [`crate::Engine::sweep`].
//!
//! Findings must be deterministic: the same account state gives the same finding ids, so a
//! daily sweep does not raise new alerts every day. Evidence therefore holds dates and names,
//! never "days since" counts or the time of the sweep.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use crate::account::Dependent;
use crate::baseline::{Baseline, DependentKind};
use crate::policy::{trusted_principals, PolicyDocument, TrustedPrincipal};

/// One role as the sweep read it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SweptRole {
    pub arn: String,
    pub name: String,
    #[serde(default = "root_path")]
    pub path: String,
    #[serde(default)]
    pub create_date: Option<DateTime<Utc>>,
    /// `RoleLastUsed.LastUsedDate`: only `GetRole` has it, so it is read for candidates only
    /// (`detailed`); `None` there means never used (in the tracking period).
    #[serde(default)]
    pub last_used: Option<DateTime<Utc>>,
    /// `GetRole` was called for this role (it is a candidate of some sweep rule).
    #[serde(default)]
    pub detailed: bool,
    /// The trust policy (`ListRoles` carries it, URL-encoded).
    #[serde(default, deserialize_with = "policy_document")]
    pub trust_policy: Option<PolicyDocument<'static>>,
    /// Inline policy names; read for profiled service-linked roles only.
    #[serde(default)]
    pub inline_policies: Option<Vec<String>>,
    /// Attached managed policy ARNs; read for profiled service-linked roles only.
    #[serde(default)]
    pub attached_policies: Option<Vec<String>>,
}

fn root_path() -> String {
    "/".into()
}

fn policy_document<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<PolicyDocument<'static>>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(d)?;
    value
        .map(|v| PolicyDocument::from_value_owned(&v).map_err(serde::de::Error::custom))
        .transpose()
}

impl SweptRole {
    pub fn trusted(&self) -> Vec<TrustedPrincipal> {
        self.trust_policy
            .as_ref()
            .map(trusted_principals)
            .unwrap_or_default()
    }

    /// The profiled service principals its trust policy lets assume it.
    pub fn profiled_services(&self, baseline: &Baseline) -> Vec<TrustedPrincipal> {
        self.trusted()
            .into_iter()
            .filter(|p| {
                p.kind == crate::policy::PrincipalKind::Service
                    && baseline.profile_for_principal(&p.value).is_some()
            })
            .collect()
    }

    /// Its trust policy lets a profiled service assume it: an OR001 candidate (unless it is a
    /// service-linked role).
    pub fn trusts_profiled_service(&self, baseline: &Baseline) -> bool {
        !self.profiled_services(baseline).is_empty()
    }

    /// A profiled service-linked role: a profile's name under `/aws-service-role/`.
    pub fn is_profiled_slr(&self, baseline: &Baseline) -> bool {
        baseline
            .profiles
            .iter()
            .any(|p| p.owns_slr(&self.name, &self.path))
    }
}

/// One listing of a profile's dependents in one region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    /// The profile's `name`.
    pub profile: String,
    pub kind: DependentKind,
    pub region: String,
    pub resources: Vec<Dependent>,
}

/// Something the sweep could not read; the rules that needed it stay silent, and RW002 reports
/// the gap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    /// What was not read: `iam:ListRoles`, `lex-v2-bots in eu-west-2`, `iam:GetRole lex-logs`.
    pub what: String,
    pub reason: String,
    /// The profile whose listing this was, when it was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

/// How much of the account a sweep covers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Every role, every profile (the schedule, `rolewarden sweep`).
    #[default]
    Full,
    /// The service-linked roles and dependents of these profiles, after a delete event.
    Profiles(BTreeSet<String>),
}

impl Scope {
    /// Whether the sweep covers this profile.
    pub fn covers(&self, profile: &str) -> bool {
        match self {
            Scope::Full => true,
            Scope::Profiles(names) => names.contains(profile),
        }
    }
}

/// What a sweep read of the account.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct AccountState {
    /// The account id (from the scheduled event, or the listed roles' ARNs).
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub scope: Scope,
    /// Every role listed: all of them in a full sweep, the profiles' service-linked roles in a
    /// re-check.
    #[serde(default)]
    pub roles: Vec<SweptRole>,
    /// The regions whose dependents were listed.
    #[serde(default)]
    pub regions: Vec<String>,
    #[serde(default)]
    pub listings: Vec<Listing>,
    #[serde(default)]
    pub gaps: Vec<Gap>,
}

impl AccountState {
    /// The account id from the roles' ARNs when no event named it.
    pub fn account_from_roles(&self) -> Option<String> {
        self.roles
            .iter()
            .find_map(|r| r.arn.split(':').nth(4).map(str::to_owned))
            .filter(|a| !a.is_empty())
    }
}

/// Whether a service-linked role is still in use by the given dependents: for services whose
/// resources name their role (Connect's `ServiceRole`), one of them must name it; for the others
/// (Lex), any resource of the service keeps its roles in use. Shared by OR002 and SL005.
pub fn slr_in_use<'d>(
    kind: DependentKind,
    slr_arn: &str,
    dependents: impl IntoIterator<Item = &'d Dependent>,
) -> bool {
    let name = last_segment(slr_arn);
    let mut dependents = dependents.into_iter();
    if kind.names_its_role() {
        dependents.any(|d| d.role.as_deref().is_some_and(|r| last_segment(r) == name))
    } else {
        dependents.next().is_some()
    }
}

fn last_segment(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}
