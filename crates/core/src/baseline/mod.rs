//! The baseline: service profiles, approved passes, exceptions and rule settings.
//!
//! Validation is separate from evaluation: [`Baseline::parse`] checks a file once, collects every
//! semantic problem with its line, and either returns a [`Baseline`] the engine can trust or a
//! [`BaselineError`] listing all of them. A bad baseline is never replaced by a silent default.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::finding::Severity;
use crate::policy::wildcard;
use thiserror::Error;

/// The embedded default baseline, built-in profiles included.
pub const DEFAULT_TOML: &str = include_str!("default.toml");

/// A baseline file's bytes as text; bytes that are not UTF-8 are an error naming the line, the
/// text before the bad byte and its place in the line (TOML files are UTF-8).
pub fn text_of<'a>(bytes: &'a [u8], source_name: &str) -> Result<&'a str, BaselineError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let valid = bytes.get(..e.valid_up_to()).unwrap_or_default();
        let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let before = String::from_utf8_lossy(valid.get(line_start..).unwrap_or_default());
        BaselineError {
            source_name: source_name.to_owned(),
            diagnostics: vec![Diagnostic {
                level: Level::Error,
                line: Some(1 + valid.iter().filter(|&&b| b == b'\n').count()),
                key: before.trim_start().chars().take(40).collect(),
                message: format!(
                    "not valid UTF-8 (byte {} of the line); save the file as UTF-8",
                    valid.len() - line_start + 1
                ),
            }],
        }
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
}

/// One problem found in a baseline file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub level: Level,
    pub line: Option<usize>,
    /// The key it is about, e.g. `exceptions[2].expires`.
    pub key: String,
    pub message: String,
}

/// A baseline that cannot be used. Carries every problem found, not just the first.
#[derive(Debug, Error)]
#[error("invalid baseline `{source_name}`:\n{}", render(.diagnostics))]
pub struct BaselineError {
    pub source_name: String,
    pub diagnostics: Vec<Diagnostic>,
}

fn render(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(|d| format!("  {d}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.level {
            Level::Error => "error",
            Level::Warning => "warning",
        };
        write!(f, "{level}: ")?;
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        if !self.key.is_empty() {
            write!(f, "`{}`: ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

/// What a service is, as far as the rules need to know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    pub title: String,
    pub principals: Vec<String>,
    #[serde(default)]
    pub slr_names: Vec<String>,
    #[serde(default)]
    pub event_source: String,
    #[serde(default)]
    pub passes: Vec<PassSpec>,
    #[serde(default)]
    pub role_permissions: Vec<PermissionSpec>,
    #[serde(default)]
    pub tag_conditions_unsupported: Vec<String>,
    /// The resources that keep the service's service-linked roles in use (OR002, CN001, SL005)
    /// and the events that delete them (each triggers a re-check of the profile).
    #[serde(default)]
    pub dependents: Option<DependentsSpec>,
    /// The service itself writes inline policies into its service-linked roles (Amazon Connect
    /// adds one when a bucket, stream or bot is associated with an instance), so SL008 does not
    /// count them as tampering.
    #[serde(default)]
    pub slr_inline_policies_by_service: bool,
    /// The day AWS ended support for the service (`YYYY-MM-DD`). Past it, none of its resources
    /// can exist: its service-linked roles are left over (OR002), and its `dependents` are not
    /// listed unless `list_retired` names the profile.
    #[serde(default)]
    pub end_of_support: Option<String>,
}

/// How the account sweep finds a service's dependent resources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DependentsSpec {
    pub kind: DependentKind,
    /// Event names (of the profile's `event_source`) that delete a dependent resource.
    #[serde(default)]
    pub deleted_by: Vec<String>,
    /// Request parameters such an event must carry, or lack, to be this profile's: Lex V1 and
    /// V2 share `DeleteBot`; V2 names the bot by `botId`, V1 by `name`.
    #[serde(default)]
    pub when_present: Vec<String>,
    #[serde(default)]
    pub when_absent: Vec<String>,
}

/// The listings rolewarden knows how to make. Each names the SDK call the sweep uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DependentKind {
    /// Lex V2 `ListBots`: any bot keeps the service's SLRs in use.
    LexV2Bots,
    /// Lex V1 `GetBots`: any bot keeps the service's SLRs in use.
    LexV1Bots,
    /// Connect `ListInstances`: an instance keeps the SLR named as its `ServiceRole` in use.
    ConnectInstances,
}

impl DependentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DependentKind::LexV2Bots => "lex-v2-bots",
            DependentKind::LexV1Bots => "lex-v1-bots",
            DependentKind::ConnectInstances => "connect-instances",
        }
    }

    /// Each resource names the one service-linked role it uses (rather than any resource
    /// keeping every SLR of the service in use).
    pub fn names_its_role(self) -> bool {
        matches!(self, DependentKind::ConnectInstances)
    }
}

/// An event that hands a role to the service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PassSpec {
    pub event: String,
    /// Dotted path of the role ARN in `requestParameters`.
    pub role: String,
    #[serde(default)]
    pub when_present: Vec<String>,
    #[serde(default)]
    pub when_absent: Vec<String>,
    /// Template of the associated resource ARN.
    #[serde(default)]
    pub resource: Option<String>,
}

/// Actions (with resources) a role passed to the service may hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionSpec {
    pub actions: Vec<String>,
    pub resources: Vec<String>,
}

impl Profile {
    pub fn trusts_principal(&self, principal: &str) -> bool {
        self.principals
            .iter()
            .any(|p| p.eq_ignore_ascii_case(principal.trim()))
    }

    /// A service-linked role of this service: one of its names, under `/aws-service-role/`.
    pub fn owns_slr(&self, role_name: &str, path: &str) -> bool {
        path.starts_with("/aws-service-role/") && self.owns_slr_name(role_name)
    }

    /// The end of support, when it is on or before `today`; `None` for a service still served
    /// (or a date that does not parse, which validation has already refused).
    pub fn retired_on(&self, today: NaiveDate) -> Option<NaiveDate> {
        self.end_of_support
            .as_deref()
            .and_then(|d| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok())
            .filter(|day| *day <= today)
    }

    /// Whether a role name is one of this service's service-linked role names.
    pub fn owns_slr_name(&self, role_name: &str) -> bool {
        self.slr_names
            .iter()
            .any(|pattern| wildcard::matches(pattern, role_name, true))
    }
}

/// A role approved for passing to a service.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Approval {
    pub role: String,
    pub service: String,
    pub associated_resource: Option<String>,
    pub principal: Option<String>,
    pub line: Option<usize>,
}

/// An accepted finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exception {
    pub rule: String,
    pub resource: Option<String>,
    pub actor: Option<String>,
    pub owner: String,
    pub reason: String,
    pub expires: Option<NaiveDate>,
    pub line: Option<usize>,
}

impl Exception {
    /// The exception covers a finding's resource and actor (absent patterns match anything).
    pub fn covers(&self, rule_id: &str, resource: Option<&str>, actor: Option<&str>) -> bool {
        let fits = |pattern: &Option<String>, value: Option<&str>| match pattern {
            None => true,
            Some(p) => value.is_some_and(|v| wildcard::matches(p, v, false)),
        };
        self.rule.eq_ignore_ascii_case(rule_id)
            && fits(&self.resource, resource)
            && fits(&self.actor, actor)
    }

    pub fn expired(&self, today: NaiveDate) -> bool {
        self.expires.is_some_and(|day| day < today)
    }
}

/// A validated baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct Baseline {
    /// Where it came from (`embedded default` or a path), for messages.
    pub source_name: String,
    pub orphan_after_days: u32,
    pub regions: Vec<String>,
    pub approve_service_linked_roles: bool,
    pub broad_managed_policies: Vec<String>,
    /// Profiles past their end of support whose dependents are listed all the same.
    pub list_retired: Vec<String>,
    /// Accounts, besides the role's own, that trust policies may let assume a role (TR003).
    pub trusted_accounts: Vec<String>,
    pub disabled: BTreeSet<String>,
    pub severity: BTreeMap<String, Severity>,
    pub profiles: Vec<Profile>,
    pub approved_passes: Vec<Approval>,
    pub exceptions: Vec<Exception>,
    /// Warnings found while validating (an expired exception, an unused profile...).
    pub warnings: Vec<Diagnostic>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBaseline {
    orphan_after_days: Option<Spanned<i64>>,
    regions: Option<Vec<String>>,
    approve_service_linked_roles: Option<bool>,
    broad_managed_policies: Option<Vec<String>>,
    list_retired: Option<Vec<Spanned<String>>>,
    trusted_accounts: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    rules: Option<RawRules>,
    #[serde(default)]
    profiles: Vec<Spanned<Profile>>,
    #[serde(default)]
    approved_passes: Vec<Spanned<RawApproval>>,
    #[serde(default)]
    exceptions: Vec<Spanned<RawException>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRules {
    #[serde(default)]
    disabled: Vec<Spanned<String>>,
    #[serde(default)]
    severity: BTreeMap<String, Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApproval {
    role: Option<String>,
    service: Option<String>,
    associated_resource: Option<String>,
    principal: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawException {
    rule: Option<Spanned<String>>,
    resource: Option<String>,
    actor: Option<String>,
    owner: Option<String>,
    reason: Option<String>,
    expires: Option<Spanned<toml::Value>>,
}

impl Baseline {
    /// Parses and validates a baseline file. `today` decides which exceptions have expired;
    /// `known_rule` says whether a rule id exists (the catalogue lives above this module, so it
    /// is handed in: `Baseline::parse` in `rules` does that). Built-in profiles are kept unless
    /// the file defines a profile of the same name.
    pub fn validate(
        text: &str,
        source_name: &str,
        today: NaiveDate,
        known_rule: &dyn Fn(&str) -> bool,
    ) -> Result<Self, BaselineError> {
        let fail = |diagnostics| BaselineError {
            source_name: source_name.to_owned(),
            diagnostics,
        };
        let raw: RawBaseline = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|span| line_of(text, span.start));
            fail(vec![Diagnostic {
                level: Level::Error,
                line,
                key: e
                    .span()
                    .and_then(|s| text.get(s))
                    .map(|s| s.chars().take(40).collect())
                    .unwrap_or_default(),
                message: e.message().trim().to_owned(),
            }])
        })?;
        let defaults = if text == DEFAULT_TOML {
            Defaults::default()
        } else {
            toml::from_str::<RawBaseline>(DEFAULT_TOML)
                .map(|d| Defaults {
                    profiles: d.profiles.into_iter().map(Spanned::into_inner).collect(),
                    broad_managed_policies: d.broad_managed_policies.unwrap_or_default(),
                })
                .unwrap_or_default()
        };
        let mut v = Validator {
            known_rule,
            text,
            diagnostics: Vec::new(),
        };
        let baseline = v.check(raw, defaults, source_name, today);
        let (errors, warnings): (Vec<_>, Vec<_>) = v
            .diagnostics
            .into_iter()
            .partition(|d| d.level == Level::Error);
        if errors.is_empty() {
            Ok(Baseline {
                warnings,
                ..baseline
            })
        } else {
            Err(fail(errors.into_iter().chain(warnings).collect()))
        }
    }

    pub fn is_enabled(&self, rule_id: &str) -> bool {
        !self.disabled.contains(rule_id)
    }

    /// The profile that owns a service principal.
    pub fn profile_for_principal(&self, principal: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.trusts_principal(principal))
    }

    /// The profile whose service-linked role names include `role_name`.
    pub fn profile_for_slr(&self, role_name: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.owns_slr_name(role_name))
    }
}

/// Every AWS service-linked role is named `AWSServiceRoleFor...`.
pub fn looks_like_slr(role_name: &str) -> bool {
    role_name
        .get(..17)
        .is_some_and(|head| head.eq_ignore_ascii_case("AWSServiceRoleFor"))
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(0, |head| head.bytes().filter(|&b| b == b'\n').count())
        + 1
}

/// What a user file inherits from the embedded default when it leaves a key out.
#[derive(Default)]
struct Defaults {
    profiles: Vec<Profile>,
    broad_managed_policies: Vec<String>,
}

struct Validator<'a> {
    known_rule: &'a dyn Fn(&str) -> bool,
    text: &'a str,
    diagnostics: Vec<Diagnostic>,
}

impl Validator<'_> {
    fn push(&mut self, level: Level, offset: Option<usize>, key: String, message: String) {
        let line = offset.map(|o| line_of(self.text, o));
        self.diagnostics.push(Diagnostic {
            level,
            line,
            key,
            message,
        });
    }

    fn error(&mut self, offset: Option<usize>, key: String, message: impl Into<String>) {
        self.push(Level::Error, offset, key, message.into());
    }

    fn check_rule_id(&mut self, id: &str, offset: Option<usize>, key: String) -> bool {
        if (self.known_rule)(id) {
            true
        } else {
            self.error(
                offset,
                key,
                format!("unknown rule `{id}` (see `rolewarden rules`)"),
            );
            false
        }
    }

    /// Checks `list_retired` and drops the `dependents` of every profile past its end of
    /// support that it does not name: listing resources that can no longer exist only fails
    /// (RW002) on every sweep.
    fn retirements(
        &mut self,
        asked: Option<Vec<Spanned<String>>>,
        profiles: &mut [Profile],
        today: NaiveDate,
    ) -> Vec<String> {
        let mut listed = Vec::new();
        for (i, name) in asked.unwrap_or_default().into_iter().enumerate() {
            let at = Some(name.span().start);
            let name = name.into_inner();
            match profiles.iter().find(|p| p.name == name) {
                None => self.error(
                    at,
                    format!("list_retired[{i}]"),
                    format!("`{name}` is not a profile"),
                ),
                Some(p) if p.end_of_support.is_none() => self.push(
                    Level::Warning,
                    at,
                    format!("list_retired[{i}]"),
                    format!("profile `{name}` has no `end_of_support`: it is listed anyway"),
                ),
                Some(_) => {}
            }
            listed.push(name);
        }
        for profile in profiles.iter_mut() {
            if profile.retired_on(today).is_some() && !listed.contains(&profile.name) {
                profile.dependents = None;
            }
        }
        listed
    }

    fn check(
        &mut self,
        raw: RawBaseline,
        defaults: Defaults,
        source_name: &str,
        today: NaiveDate,
    ) -> Baseline {
        let orphan_after_days = match raw.orphan_after_days {
            None => 90,
            Some(days) => {
                let start = days.span().start;
                match u32::try_from(*days.get_ref()) {
                    Ok(d) if d > 0 => d,
                    _ => {
                        self.error(
                            Some(start),
                            "orphan_after_days".into(),
                            "must be a positive number of days",
                        );
                        90
                    }
                }
            }
        };

        let rules = raw.rules.unwrap_or_default();
        let mut disabled = BTreeSet::new();
        for (i, id) in rules.disabled.iter().enumerate() {
            let key = format!("rules.disabled[{i}]");
            if self.check_rule_id(id.get_ref(), Some(id.span().start), key) {
                disabled.insert(id.get_ref().to_ascii_uppercase());
            }
        }
        let mut severity = BTreeMap::new();
        for (id, level) in &rules.severity {
            let key = format!("rules.severity.{id}");
            let at = Some(level.span().start);
            if !self.check_rule_id(id, at, key.clone()) {
                continue;
            }
            match level.get_ref().parse::<Severity>() {
                Ok(s) => {
                    severity.insert(id.to_ascii_uppercase(), s);
                }
                Err(e) => self.error(at, key, e.to_string()),
            }
        }

        let mut profiles = defaults.profiles;
        for (i, spanned) in raw.profiles.into_iter().enumerate() {
            let at = Some(spanned.span().start);
            let profile = spanned.into_inner();
            let key = format!("profiles[{i}]");
            if profile.principals.is_empty() {
                self.error(
                    at,
                    format!("{key}.principals"),
                    "a profile needs at least one service principal",
                );
            }
            for (j, pass) in profile.passes.iter().enumerate() {
                if pass.role.trim().is_empty() {
                    self.error(
                        at,
                        format!("{key}.passes[{j}].role"),
                        "empty parameter path",
                    );
                }
                if profile.event_source.is_empty() {
                    self.error(
                        at,
                        format!("{key}.event_source"),
                        "a profile with `passes` needs the CloudTrail `event_source` of its API",
                    );
                }
            }
            let deleted_by = profile
                .dependents
                .as_ref()
                .is_some_and(|d| !d.deleted_by.is_empty());
            if deleted_by && profile.event_source.trim().is_empty() {
                self.error(
                    at,
                    format!("{key}.event_source"),
                    "a profile with `dependents.deleted_by` needs the CloudTrail `event_source` of those events",
                );
            }
            if let Some(day) = &profile.end_of_support {
                if NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d").is_err() {
                    self.error(
                        at,
                        format!("{key}.end_of_support"),
                        format!("`{day}` is not a date (YYYY-MM-DD)"),
                    );
                }
            }
            match profiles.iter_mut().find(|p| p.name == profile.name) {
                Some(existing) => *existing = profile,
                None => profiles.push(profile),
            }
        }

        let list_retired = self.retirements(raw.list_retired, &mut profiles, today);

        let mut trusted_accounts = Vec::new();
        for (i, account) in raw
            .trusted_accounts
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let at = Some(account.span().start);
            let account = account.into_inner();
            let id = account.trim();
            if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) {
                trusted_accounts.push(id.to_owned());
            } else {
                self.error(
                    at,
                    format!("trusted_accounts[{i}]"),
                    format!("`{account}` is not an account id (12 digits)"),
                );
            }
        }

        let mut approved_passes = Vec::new();
        for (i, spanned) in raw.approved_passes.into_iter().enumerate() {
            let at = Some(spanned.span().start);
            let line = at.map(|o| line_of(self.text, o));
            let a = spanned.into_inner();
            let key = format!("approved_passes[{i}]");
            let (Some(role), Some(service)) = (a.role, a.service) else {
                self.error(at, key, "an approved pass needs `role` and `service`");
                continue;
            };
            if !profiles.iter().any(|p| p.trusts_principal(&service)) {
                let known: Vec<&str> = profiles
                    .iter()
                    .flat_map(|p| p.principals.iter().map(String::as_str))
                    .collect();
                self.error(
                    at,
                    format!("{key}.service"),
                    format!(
                        "`{service}` is not a principal of any profile (known: {})",
                        known.join(", ")
                    ),
                );
            }
            if !role.starts_with("arn:") && role != "*" {
                self.error(
                    at,
                    format!("{key}.role"),
                    format!("`{role}` is not a role ARN pattern (arn:aws:iam::ACCOUNT:role/NAME)"),
                );
            }
            approved_passes.push(Approval {
                role,
                service,
                associated_resource: a.associated_resource,
                principal: a.principal,
                line,
            });
        }

        let mut exceptions = Vec::new();
        for (i, spanned) in raw.exceptions.into_iter().enumerate() {
            let at = Some(spanned.span().start);
            let line = at.map(|o| line_of(self.text, o));
            let e = spanned.into_inner();
            let key = format!("exceptions[{i}]");
            let rule = match e.rule {
                Some(rule) => {
                    let ok = self.check_rule_id(
                        rule.get_ref(),
                        Some(rule.span().start),
                        format!("{key}.rule"),
                    );
                    ok.then(|| rule.into_inner().to_ascii_uppercase())
                }
                None => {
                    self.error(
                        at,
                        format!("{key}.rule"),
                        "missing: which rule does it accept?",
                    );
                    None
                }
            };
            if e.resource.is_none() && e.actor.is_none() {
                self.error(
                    at,
                    key.clone(),
                    "needs `resource` or `actor`: an exception for every finding of a rule is `rules.disabled`",
                );
            }
            for (field, value) in [("owner", &e.owner), ("reason", &e.reason)] {
                if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
                    self.error(
                        at,
                        format!("{key}.{field}"),
                        "missing: every exception needs an owner and a reason",
                    );
                }
            }
            let expires = match e.expires {
                None => None,
                Some(raw_date) => {
                    let at_date = Some(raw_date.span().start);
                    let text = match raw_date.get_ref() {
                        toml::Value::Datetime(d) => d.to_string(),
                        toml::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    match NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
                        Ok(day) => {
                            if day < today {
                                self.push(
                                    Level::Warning,
                                    at_date,
                                    format!("{key}.expires"),
                                    format!("expired on {day}: it no longer suppresses findings and is reported as RW001"),
                                );
                            }
                            Some(day)
                        }
                        Err(_) => {
                            self.error(
                                at_date,
                                format!("{key}.expires"),
                                format!("`{text}` is not a date (YYYY-MM-DD)"),
                            );
                            None
                        }
                    }
                }
            };
            if let Some(rule) = rule {
                exceptions.push(Exception {
                    rule,
                    resource: e.resource,
                    actor: e.actor,
                    owner: e.owner.unwrap_or_default(),
                    reason: e.reason.unwrap_or_default(),
                    expires,
                    line,
                });
            }
        }

        Baseline {
            source_name: source_name.to_owned(),
            orphan_after_days,
            regions: raw.regions.unwrap_or_default(),
            approve_service_linked_roles: raw.approve_service_linked_roles.unwrap_or(true),
            broad_managed_policies: raw
                .broad_managed_policies
                .unwrap_or(defaults.broad_managed_policies),
            list_retired,
            trusted_accounts,
            disabled,
            severity,
            profiles,
            approved_passes,
            exceptions,
            warnings: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()
    }

    #[test]
    fn embedded_default_is_valid() {
        let b = Baseline::parse(DEFAULT_TOML, "embedded default", today()).unwrap();
        assert_eq!(b.orphan_after_days, 90);
        let names: Vec<_> = b.profiles.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["lex-v1", "lex-v2", "connect"]);
        assert!(b.warnings.is_empty());
    }

    #[test]
    fn user_file_extends_builtin_profiles() {
        let text = r#"
[[profiles]]
name = "kendra"
title = "Amazon Kendra"
principals = ["kendra.amazonaws.com"]
"#;
        let b = Baseline::parse(text, "user.toml", today()).unwrap();
        assert_eq!(b.profiles.len(), 4);
        assert!(b.profile_for_principal("kendra.amazonaws.com").is_some());
        assert!(b
            .profile_for_slr("AWSServiceRoleForLexV2Bots_ABC")
            .is_some());
    }

    #[test]
    fn every_error_is_collected_with_its_line() {
        let text = r#"orphan_after_days = -3

[rules]
disabled = ["PR999"]

[rules.severity]
PR001 = "urgent"

[[approved_passes]]
role = "lex-logs"
service = "lambda.amazonaws.com"

[[exceptions]]
rule = "SL004"
owner = ""
expires = "next week"
"#;
        let err = Baseline::parse(text, "bad.toml", today()).unwrap_err();
        let lines: Vec<String> = err.diagnostics.iter().map(ToString::to_string).collect();
        let all = lines.join("\n");
        assert!(all.contains("line 1: `orphan_after_days`"), "{all}");
        assert!(
            all.contains("line 4: `rules.disabled[0]`: unknown rule `PR999`"),
            "{all}"
        );
        assert!(
            all.contains("line 7: `rules.severity.PR001`: unknown severity `urgent`"),
            "{all}"
        );
        assert!(all.contains("`approved_passes[0].service`"), "{all}");
        assert!(all.contains("`approved_passes[0].role`"), "{all}");
        assert!(
            all.contains("`exceptions[0]`: needs `resource` or `actor`"),
            "{all}"
        );
        assert!(all.contains("`exceptions[0].owner`"), "{all}");
        assert!(
            all.contains("line 16: `exceptions[0].expires`: `next week` is not a date"),
            "{all}"
        );
        assert_eq!(err.diagnostics.len(), 9, "{all}");
    }

    #[test]
    fn delete_events_need_an_event_source() {
        let text = r#"
[[profiles]]
name = "lex-v2"
title = "Amazon Lex V2"
principals = ["lexv2.amazonaws.com"]

[profiles.dependents]
kind = "lex-v2-bots"
deleted_by = ["DeleteBot"]
"#;
        let err = Baseline::parse(text, "t.toml", today()).unwrap_err();
        let all: Vec<String> = err.diagnostics.iter().map(ToString::to_string).collect();
        assert_eq!(
            all,
            ["error: line 2: `profiles[0].event_source`: a profile with `dependents.deleted_by` needs the CloudTrail `event_source` of those events"]
        );
        let with_source = text.replace(
            "principals = [\"lexv2.amazonaws.com\"]",
            "principals = [\"lexv2.amazonaws.com\"]\nevent_source = \"lex.amazonaws.com\"",
        );
        assert!(Baseline::parse(&with_source, "t.toml", today()).is_ok());
    }

    #[test]
    fn a_retired_service_is_not_listed_unless_asked() {
        let b = Baseline::parse(DEFAULT_TOML, "embedded default", today()).unwrap();
        let v1 = b.profiles.iter().find(|p| p.name == "lex-v1").unwrap();
        assert_eq!(v1.retired_on(today()), NaiveDate::from_ymd_opt(2025, 9, 15));
        assert_eq!(v1.dependents, None);
        assert!(b
            .profiles
            .iter()
            .all(|p| p.name == "lex-v1" || p.dependents.is_some()));
        // Before the end of support, the default still lists Lex V1 bots.
        let before = NaiveDate::from_ymd_opt(2025, 9, 1).unwrap();
        let b = Baseline::parse(DEFAULT_TOML, "embedded default", before).unwrap();
        let v1 = b.profiles.iter().find(|p| p.name == "lex-v1").unwrap();
        assert_eq!(v1.retired_on(before), None);
        assert!(v1.dependents.is_some());
        // A baseline that asks for the listing keeps it.
        let b = Baseline::parse("list_retired = [\"lex-v1\"]\n", "t.toml", today()).unwrap();
        let v1 = b.profiles.iter().find(|p| p.name == "lex-v1").unwrap();
        assert_eq!(
            v1.dependents.as_ref().map(|d| d.kind),
            Some(DependentKind::LexV1Bots)
        );
        assert_eq!(b.list_retired, ["lex-v1"]);
        assert!(b.warnings.is_empty(), "{:?}", b.warnings);
    }

    #[test]
    fn list_retired_and_end_of_support_are_validated() {
        let err = Baseline::parse(
            "list_retired = [\"lex-v3\"]\n\n[[profiles]]\nname = \"kendra\"\ntitle = \"Amazon Kendra\"\nprincipals = [\"kendra.amazonaws.com\"]\nend_of_support = \"soon\"\n",
            "t.toml",
            today(),
        )
        .unwrap_err();
        let all: Vec<String> = err.diagnostics.iter().map(ToString::to_string).collect();
        assert_eq!(
            all,
            [
                "error: line 3: `profiles[0].end_of_support`: `soon` is not a date (YYYY-MM-DD)",
                "error: line 1: `list_retired[0]`: `lex-v3` is not a profile",
            ]
        );
        let b = Baseline::parse("list_retired = [\"connect\"]\n", "t.toml", today()).unwrap();
        assert_eq!(b.warnings.len(), 1, "{:?}", b.warnings);
        assert!(b.warnings[0].message.contains("no `end_of_support`"));
    }

    #[test]
    fn trusted_accounts_are_account_ids() {
        let b = Baseline::parse(
            "trusted_accounts = [\"444455556666\", \" 777788889999 \"]\n",
            "t.toml",
            today(),
        )
        .unwrap();
        assert_eq!(b.trusted_accounts, ["444455556666", "777788889999"]);
        let err = Baseline::parse(
            "trusted_accounts = [\"444455556666\", \"arn:aws:iam::1:root\", \"*\"]\n",
            "t.toml",
            today(),
        )
        .unwrap_err();
        let all: Vec<String> = err.diagnostics.iter().map(ToString::to_string).collect();
        assert_eq!(
            all,
            [
                "error: line 1: `trusted_accounts[1]`: `arn:aws:iam::1:root` is not an account id (12 digits)",
                "error: line 1: `trusted_accounts[2]`: `*` is not an account id (12 digits)",
            ]
        );
    }

    #[test]
    fn syntax_and_unknown_keys_name_the_line() {
        let err = Baseline::parse("orphan_after_dayz = 3\n", "t.toml", today()).unwrap_err();
        let d = &err.diagnostics[0];
        assert_eq!(d.line, Some(1));
        assert!(d.message.contains("orphan_after_dayz"), "{}", d.message);
    }

    #[test]
    fn expired_exception_is_a_warning() {
        let text = r#"
[[exceptions]]
rule = "PR002"
resource = "arn:aws:iam::1:role/x"
owner = "me"
reason = "because"
expires = 2026-01-01
"#;
        let b = Baseline::parse(text, "t.toml", today()).unwrap();
        assert_eq!(b.warnings.len(), 1);
        assert_eq!(b.warnings[0].line, Some(7));
        assert!(b.exceptions[0].expired(today()));
    }
}
