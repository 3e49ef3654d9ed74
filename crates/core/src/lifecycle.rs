//! A finding's lifecycle when finding state is kept (issue 16): `new` the first time its id is
//! written, `open` each time after, `resolved` once its cause is gone. Pure: the caller reads the
//! stored [`Record`]s [`Observed::lookup`] names, hands them to [`decide`], writes the
//! [`Plan`]'s findings and resolved records to its sinks, and only then stores the plan's
//! records, so a failed sink write (retried) does not turn a `new` into an `open`.
//!
//! Two things resolve a finding:
//! - a full sweep of its account ([`SweepRun`]) that no longer reports a finding an earlier
//!   sweep made, and read everything that finding depends on: a listing that failed looks
//!   exactly like an empty one, so a gap (RW002) keeps open what it could hide ([`Unread`]).
//! - a later policy write ([`PolicyWrite`]) that replaces or deletes the policy a policy-write
//!   finding (PR001-PR003, LX001) was about, and no longer fires its rule.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::baseline::Baseline;
use crate::decode::Event;
use crate::engine::Evaluation;
use crate::finding::{Finding, Resolution, Status};
use crate::state::{AccountState, Scope};

/// The partition of findings that name no account (RW000 of unreadable input): a key cannot be
/// empty.
pub const NO_ACCOUNT: &str = "-";

/// The rules whose findings are about one policy document, and so are resolved by a later
/// write of the same policy.
pub const POLICY_RULES: [&str; 4] = ["PR001", "PR002", "PR003", "LX001"];

/// What is stored of one finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub account: String,
    pub id: String,
    pub rule: String,
    pub resource: Option<String>,
    pub status: Status,
    /// RFC 3339, like the other times.
    pub first_seen: String,
    pub last_seen: String,
    /// When a sweep last reported it: set on sweep findings only.
    pub last_sweep: Option<String>,
    /// The policy a policy-write finding is about ([`PolicyWrite::key`]).
    pub policy_key: Option<String>,
    /// The finding as last written, re-emitted as the `resolved` record.
    pub finding: Finding,
}

impl Record {
    /// The key under which a run looks this record up while it can still be resolved
    /// ([`sweep_key`] or [`policy_lookup_key`]); `None` once resolved, or when nothing can
    /// resolve it. Stores index it (a sparse index holds only what is open).
    pub fn open_key(&self) -> Option<String> {
        if self.status == Status::Resolved {
            return None;
        }
        if self.last_sweep.is_some() {
            return Some(sweep_key(&self.account));
        }
        self.policy_key
            .as_deref()
            .map(|key| policy_lookup_key(&self.account, key))
    }
}

/// The open key of an account's open sweep findings.
pub fn sweep_key(account: &str) -> String {
    format!("sweep#{account}")
}

/// The open key of the open findings about one policy.
pub fn policy_lookup_key(account: &str, policy: &str) -> String {
    format!("policy#{account}#{policy}")
}

/// The account a finding is stored under.
pub fn account_of(finding: &Finding) -> &str {
    finding
        .account
        .as_deref()
        .filter(|a| !a.is_empty())
        .unwrap_or(NO_ACCOUNT)
}

/// What a policy write does to the policy it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteEffect {
    /// The policy's (default) document is now the event's.
    Replaces,
    /// The policy is gone.
    Deletes,
    /// A document that is not (yet) in force: a non-default managed policy version. Its
    /// findings are about the policy, but it resolves nothing.
    Adds,
}

/// One successful call that writes or deletes a permissions policy.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyWrite {
    pub account: String,
    /// `role:NAME:POLICY`, `user:NAME:POLICY`, `group:NAME:POLICY` (inline), or
    /// `managed:PATHNAME` (a managed policy, by its ARN's path and name).
    pub key: String,
    pub effect: WriteEffect,
    pub event_name: String,
    pub event_id: Option<String>,
    pub event_time: Option<String>,
    /// The policy rules the event fired, and the ids of those findings.
    pub fired: BTreeMap<String, Vec<String>>,
}

/// The policy write `event` is, with the policy-rule findings it produced; `None` for any other
/// event, and for a call that failed (it changed nothing).
pub fn policy_write(event: &Event, findings: &[Finding]) -> Option<PolicyWrite> {
    if event.failed() || event.source() != "iam.amazonaws.com" {
        return None;
    }
    let name = event.name();
    let inline = |kind: &str, param: &str| {
        Some(format!(
            "{kind}:{}:{}",
            event.param_text(param)?,
            event.param_text("policyName")?
        ))
    };
    let (key, effect) = match name {
        "PutRolePolicy" => (inline("role", "roleName")?, WriteEffect::Replaces),
        "PutUserPolicy" => (inline("user", "userName")?, WriteEffect::Replaces),
        "PutGroupPolicy" => (inline("group", "groupName")?, WriteEffect::Replaces),
        "DeleteRolePolicy" => (inline("role", "roleName")?, WriteEffect::Deletes),
        "DeleteUserPolicy" => (inline("user", "userName")?, WriteEffect::Deletes),
        "DeleteGroupPolicy" => (inline("group", "groupName")?, WriteEffect::Deletes),
        "CreatePolicy" => {
            let path_name = event
                .response_text("policy.arn")
                .and_then(|arn| managed_path_name(&arn))
                .or_else(|| {
                    let path = event.param_text("path").unwrap_or_else(|| "/".into());
                    Some(format!("{path}{}", event.param_text("policyName")?))
                })?;
            (format!("managed:{path_name}"), WriteEffect::Replaces)
        }
        "CreatePolicyVersion" => {
            let path_name = managed_path_name(&event.param_text("policyArn")?)?;
            let default = match event.param("setAsDefault") {
                Some(Value::Bool(b)) => *b,
                Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
                _ => false,
            };
            let effect = if default {
                WriteEffect::Replaces
            } else {
                WriteEffect::Adds
            };
            (format!("managed:{path_name}"), effect)
        }
        "DeletePolicy" => (
            format!(
                "managed:{}",
                managed_path_name(&event.param_text("policyArn")?)?
            ),
            WriteEffect::Deletes,
        ),
        _ => return None,
    };
    let mut fired: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for finding in findings
        .iter()
        .filter(|f| POLICY_RULES.contains(&f.rule_id.as_str()))
    {
        fired
            .entry(finding.rule_id.clone())
            .or_default()
            .push(finding.id.clone());
    }
    Some(PolicyWrite {
        account: event.account().unwrap_or(NO_ACCOUNT).to_owned(),
        key,
        effect,
        event_name: name.to_owned(),
        event_id: event.id().map(str::to_owned),
        event_time: event.time().map(str::to_owned),
        fired,
    })
}

/// The events no rule watches that may still resolve findings (policy deletes), by CloudTrail
/// `eventSource`: a pipeline that keeps state looks at them, and the EventBridge patterns route
/// them, so a deletion reaches the Lambda as a rewrite does.
pub const RESOLVING_UNWATCHED: [(&str, &str); 4] = [
    ("iam.amazonaws.com", "DeleteRolePolicy"),
    ("iam.amazonaws.com", "DeleteUserPolicy"),
    ("iam.amazonaws.com", "DeleteGroupPolicy"),
    ("iam.amazonaws.com", "DeletePolicy"),
];

/// Whether an event no rule watches may still resolve findings (a policy delete), so a
/// pipeline that keeps state looks at it.
pub fn resolves_unwatched(source: &str, name: &str) -> bool {
    RESOLVING_UNWATCHED.contains(&(source, name))
}

/// `/path/name` of a managed policy ARN (`arn:aws:iam::111122223333:policy/path/name`).
fn managed_path_name(arn: &str) -> Option<String> {
    let rest = crate::arn::field(arn, 5)?.strip_prefix("policy")?;
    rest.starts_with('/').then(|| rest.to_owned())
}

/// One sweep of one account, as resolution sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepRun {
    pub account: String,
    /// Full scope and a known account: an absence in it is a real absence, for what it read.
    pub complete: bool,
    /// What it could not read: the findings that may depend on it stay open.
    pub unread: Unread,
    /// The ids of the findings the sweep reported.
    pub reported: BTreeSet<String>,
}

/// What a sweep could not read (its gaps, reported as RW002), as resolution needs it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Unread {
    /// A gap no one profile owns (the role listing, a role's details or trust policy): any
    /// sweep finding may depend on it, so none is resolved.
    pub everything: bool,
    /// The titles (`Amazon Lex V2`) and service principals (`lexv2.amazonaws.com`) of the
    /// profiles whose dependents could not be listed somewhere.
    pub titles: BTreeSet<String>,
    pub principals: BTreeSet<String>,
}

impl Unread {
    fn new(state: &AccountState, baseline: &Baseline) -> Self {
        let mut unread = Unread::default();
        for gap in &state.gaps {
            let profile = gap
                .profile
                .as_deref()
                .and_then(|name| baseline.profiles.iter().find(|p| p.name == name));
            match profile {
                Some(profile) => {
                    unread.titles.insert(profile.title.clone());
                    unread.principals.extend(profile.principals.iter().cloned());
                }
                None => unread.everything = true,
            }
        }
        unread
    }

    /// Whether `finding` may depend on what was not read. A finding names the service it is
    /// about (`service`: OR002, SL008) or the principals its role trusts (`service_principals`:
    /// OR001); one that names neither depends, for all we know, on every listing. RW002, the
    /// report of an earlier gap, depends on nothing: read this time, that gap is gone.
    pub fn blocks(&self, finding: &Finding) -> bool {
        if self.everything {
            return true;
        }
        if self.titles.is_empty() && self.principals.is_empty() {
            return false;
        }
        if finding.rule_id == "RW002" {
            return false;
        }
        match (
            finding.evidence.get("service"),
            finding.evidence.get("service_principals"),
        ) {
            (Some(Value::String(title)), _) => self.titles.contains(title),
            (_, Some(Value::Array(principals))) => principals.iter().any(|p| {
                p.get("value")
                    .or(Some(p))
                    .and_then(Value::as_str)
                    .is_some_and(|p| self.principals.contains(p))
            }),
            _ => true,
        }
    }
}

impl SweepRun {
    /// What a sweep read (`state`) and reported (`evaluation`), judged with the `baseline`'s
    /// profiles. `home`: the account the caller knows it read, when the state does not say (an
    /// account with no role left names itself nowhere); without an account nothing is resolved.
    pub fn new(
        state: &AccountState,
        evaluation: &Evaluation,
        home: Option<&str>,
        baseline: &Baseline,
    ) -> Self {
        let account = state
            .account
            .clone()
            .or_else(|| state.account_from_roles())
            .or_else(|| evaluation.findings.iter().find_map(|f| f.account.clone()))
            .or_else(|| home.map(str::to_owned))
            .unwrap_or_else(|| NO_ACCOUNT.to_owned());
        let unread = Unread::new(state, baseline);
        SweepRun {
            complete: state.scope == Scope::Full && !unread.everything && account != NO_ACCOUNT,
            unread,
            account,
            reported: evaluation.findings.iter().map(|f| f.id.clone()).collect(),
        }
    }
}

/// What a run saw that can resolve stored findings, in the order it saw it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    pub writes: Vec<PolicyWrite>,
    pub sweeps: Vec<SweepRun>,
}

/// What a run must read of the store before [`decide`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lookup {
    /// `(account, finding id)` of every finding at hand, each once.
    pub ids: BTreeSet<(String, String)>,
    /// The open keys ([`Record::open_key`]) whose records the run may resolve.
    pub open_keys: BTreeSet<String>,
}

impl Observed {
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty() && self.sweeps.is_empty()
    }

    /// The records to read for these findings and what was observed.
    pub fn lookup(&self, findings: &[Finding]) -> Lookup {
        let ids = findings
            .iter()
            .map(|f| (account_of(f).to_owned(), f.id.clone()))
            .collect();
        let open_keys = self
            .writes
            .iter()
            .filter(|w| w.effect != WriteEffect::Adds)
            .map(|w| policy_lookup_key(&w.account, &w.key))
            .chain(
                self.sweeps
                    .iter()
                    .filter(|s| s.complete)
                    .map(|s| sweep_key(&s.account)),
            )
            .collect();
        Lookup { ids, open_keys }
    }
}

/// What to write, then store.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// The findings at hand, in order, with `status` and `first_seen` set.
    pub findings: Vec<Finding>,
    /// The `resolved` records to write after them.
    pub resolved: Vec<Finding>,
    /// Every record to store once the sinks took the above.
    pub records: Vec<Record>,
}

impl Plan {
    /// Everything the sinks get: the findings, then the resolved records.
    pub fn written(&self) -> Vec<Finding> {
        self.findings
            .iter()
            .chain(&self.resolved)
            .cloned()
            .collect()
    }
}

/// Decides statuses and resolutions. `known` are the stored records of the findings' ids,
/// `open` those of [`Lookup::open_keys`] (either may hold both); `now` is RFC 3339.
pub fn decide(
    findings: Vec<Finding>,
    known: &[Record],
    open: &[Record],
    observed: &Observed,
    now: &str,
) -> Plan {
    let stored: BTreeMap<(&str, &str), &Record> = known
        .iter()
        .chain(open)
        .map(|r| ((r.account.as_str(), r.id.as_str()), r))
        .collect();
    // The policy each policy-rule finding of this run is about, and the write that made it.
    let mut made_by: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, write) in observed.writes.iter().enumerate() {
        for id in write.fired.values().flatten() {
            made_by.entry(id.as_str()).or_insert(i);
        }
    }
    let swept: BTreeSet<&str> = observed
        .sweeps
        .iter()
        .flat_map(|s| s.reported.iter().map(String::as_str))
        .collect();

    let mut plan = Plan::default();
    // The record each (account, id) ends with, in first-seen order.
    let mut records: BTreeMap<(String, String), Record> = BTreeMap::new();
    let mut order: Vec<(String, String)> = Vec::new();
    // This run's policy findings, resolvable by a later write of the same run.
    let mut fresh: Vec<(usize, (String, String))> = Vec::new();

    for mut finding in findings {
        let account = account_of(&finding).to_owned();
        let key = (account.clone(), finding.id.clone());
        let before = records.get(&key).or_else(|| {
            stored
                .get(&(account.as_str(), finding.id.as_str()))
                .copied()
        });
        let (status, first_seen) = match before {
            Some(r) if r.status != Status::Resolved => (Status::Open, r.first_seen.clone()),
            // Never seen, or back after it was resolved: a problem to look at again.
            _ => (Status::New, now.to_owned()),
        };
        finding.status = Some(status);
        finding.first_seen = Some(first_seen.clone());
        finding.resolution = None;
        let write = made_by.get(finding.id.as_str()).copied();
        let policy_key = write
            .and_then(|i| observed.writes.get(i))
            .map(|w| w.key.clone())
            .or_else(|| before.and_then(|r| r.policy_key.clone()));
        let last_sweep = if swept.contains(finding.id.as_str()) {
            Some(now.to_owned())
        } else {
            before.and_then(|r| r.last_sweep.clone())
        };
        if let Some(i) = write {
            fresh.push((i, key.clone()));
        }
        let record = Record {
            account,
            id: finding.id.clone(),
            rule: finding.rule_id.clone(),
            resource: finding.resource.clone(),
            status,
            first_seen,
            last_seen: now.to_owned(),
            last_sweep,
            policy_key,
            finding: finding.clone(),
        };
        if records.insert(key.clone(), record).is_none() {
            order.push(key);
        }
        plan.findings.push(finding);
    }

    // Stored open records this run can resolve.
    let mut candidates: Vec<(Option<usize>, &Record)> = Vec::new();
    let mut considered: BTreeSet<(&str, &str)> = BTreeSet::new();
    for record in open.iter().chain(known) {
        let key = (record.account.as_str(), record.id.as_str());
        if record.status == Status::Resolved
            || !considered.insert(key)
            || records.contains_key(&(record.account.clone(), record.id.clone()))
        {
            continue;
        }
        candidates.push((None, record));
    }
    let mut resolutions: Vec<((String, String), Record, String)> = Vec::new();
    for (after, record) in candidates {
        if let Some(reason) = resolution(record, after, observed) {
            let key = (record.account.clone(), record.id.clone());
            resolutions.push((key, record.clone(), reason));
        }
    }
    // A write later in this run that fixes a policy an earlier write of the run broke.
    for (i, key) in fresh {
        let Some(record) = records.get(&key) else {
            continue;
        };
        if let Some(reason) = resolution(record, Some(i), observed) {
            resolutions.push((key, record.clone(), reason));
        }
    }
    for (key, mut record, reason) in resolutions {
        record.status = Status::Resolved;
        record.finding.status = Some(Status::Resolved);
        record.finding.first_seen = Some(record.first_seen.clone());
        record.finding.resolution = Some(Resolution {
            at: now.to_owned(),
            reason,
        });
        plan.resolved.push(record.finding.clone());
        if records.insert(key.clone(), record).is_none() {
            order.push(key);
        }
    }
    plan.records = order
        .into_iter()
        .filter_map(|key| records.remove(&key))
        .collect();
    plan
}

/// Why `record` is resolved by what was observed, if it is. `after`: only writes after this one
/// count (the record was made by it in this run).
fn resolution(record: &Record, after: Option<usize>, observed: &Observed) -> Option<String> {
    if record.last_sweep.is_some() {
        let sweep = observed
            .sweeps
            .iter()
            // The last complete sweep of the account decides: it read the account last.
            .rev()
            .find(|s| s.complete && s.account == record.account)?;
        return (!sweep.reported.contains(&record.id) && !sweep.unread.blocks(&record.finding))
            .then(|| {
                format!(
                    "a complete sweep of account {} no longer reports it",
                    record.account
                )
            });
    }
    let policy = record.policy_key.as_deref()?;
    if !POLICY_RULES.contains(&record.rule.as_str()) {
        return None;
    }
    let stored_time = record.finding.event.time.as_deref();
    // The last write of the policy decides: a fix followed by the same bad document again is
    // not a fix.
    let last = observed
        .writes
        .iter()
        .enumerate()
        .filter(|(i, w)| {
            after.is_none_or(|a| *i > a)
                && w.account == record.account
                && w.key == policy
                && w.effect != WriteEffect::Adds
                // A delayed delivery of an older write says nothing about a newer finding
                // (CloudTrail times are RFC 3339 in UTC: they sort as text).
                && match (w.event_time.as_deref(), stored_time) {
                    (Some(write), Some(stored)) => write >= stored,
                    _ => true,
                }
        })
        .map(|(_, w)| w)
        .next_back()?;
    if last.fired.contains_key(&record.rule) {
        return None;
    }
    let event = match &last.event_id {
        Some(id) => format!("{} (event {id})", last.event_name),
        None => last.event_name.clone(),
    };
    Some(match last.effect {
        WriteEffect::Deletes => format!("{event} deleted the policy"),
        _ => format!(
            "{event} replaced the policy with a document that no longer fires {}",
            record.rule
        ),
    })
}

/// Where records are kept between runs (DynamoDB on the AWS side). Async without a runtime of
/// its own: the caller's runtime drives it.
#[allow(
    async_fn_in_trait,
    reason = "implemented by concrete types and awaited on the caller's runtime: no Send bound is wanted"
)]
pub trait Store {
    type Error: std::error::Error;
    /// The stored records of these `(account, finding id)` pairs (missing ones are absent).
    async fn records(&self, ids: &BTreeSet<(String, String)>) -> Result<Vec<Record>, Self::Error>;
    /// The records stored under this open key ([`Record::open_key`]).
    async fn open(&self, key: &str) -> Result<Vec<Record>, Self::Error>;
    /// Stores the records, replacing those of the same key.
    async fn put(&self, records: &[Record]) -> Result<(), Self::Error>;
}

/// Reads what `findings` and `observed` need from `store` and decides ([`decide`]). The caller
/// writes the plan to its sinks, then [`Store::put`]s its records.
pub async fn prepare<S: Store>(
    store: &S,
    findings: Vec<Finding>,
    observed: &Observed,
    now: &str,
) -> Result<Plan, S::Error> {
    let lookup = observed.lookup(&findings);
    let known = if lookup.ids.is_empty() {
        Vec::new()
    } else {
        store.records(&lookup.ids).await?
    };
    let mut open = Vec::new();
    for key in &lookup.open_keys {
        open.extend(store.open(key).await?);
    }
    Ok(decide(findings, &known, &open, observed, now))
}
