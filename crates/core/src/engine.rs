//! The engine: picks the rules an event triggers, runs them, and turns their drafts into
//! findings with severity overrides and baseline exceptions applied.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use chrono::NaiveDate;

use crate::account::{AccountView, Needs};
use crate::baseline::Baseline;
use crate::decode::{Event, Position};
use crate::finding::{EventRef, Finding};
use crate::rules::{
    self, Context, Draft, EventRule, Rule, RuleMeta, SweepContext, SweepRule, Trigger,
};
use crate::state::AccountState;

/// `event.name` of every sweep finding.
pub const SWEEP_EVENT_NAME: &str = "AccountSweep";

/// The result of evaluating one event.
#[derive(Debug, Default)]
pub struct Evaluation {
    pub findings: Vec<Finding>,
    /// Findings an unexpired baseline exception accepted.
    pub suppressed: usize,
}

/// eventSource (lowercase) to the event names some enabled rule consumes. Shared, so that a
/// decoder on a thread of its own can tell which records to read whole. A list, not a map: it
/// holds a handful of sources, and every record of a log file is looked up twice (by the
/// decoder, then the pipeline), most of them for a source that is not there, which a few
/// length-first comparisons tell sooner than hashing the name.
#[derive(Debug, Clone, Default)]
pub struct Watched(Arc<Vec<(String, HashSet<String>)>>);

impl Watched {
    /// From `(eventSource, eventName)` pairs in any case: one entry per source, in lowercase
    /// (so that a lookup finds all its names), sorted (so that the order a lookup walks does not
    /// change from one process to the next).
    fn of(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut map: BTreeMap<String, HashSet<String>> = BTreeMap::new();
        for (source, name) in pairs {
            map.entry(source.to_ascii_lowercase())
                .or_default()
                .insert(name);
        }
        Watched(Arc::new(map.into_iter().collect()))
    }

    /// Whether any enabled rule consumes this event (`eventSource` in any case).
    pub fn contains(&self, source: &str, name: &str) -> bool {
        self.0
            .iter()
            .find(|(watched, _)| watched.eq_ignore_ascii_case(source))
            .is_some_and(|(_, names)| names.contains(name))
    }
}

pub struct Engine {
    baseline: Baseline,
    /// The enabled rules, by the input they judge.
    event_rules: Vec<&'static dyn EventRule>,
    sweep_rules: Vec<&'static dyn SweepRule>,
    watched: Watched,
    /// Each rule's `## Fix` section, rendered once.
    remediations: HashMap<&'static str, String>,
    pass_events: HashSet<(String, String)>,
    today: Option<NaiveDate>,
}

impl Engine {
    pub fn new(baseline: Baseline) -> Self {
        let rules: Vec<Rule> = rules::ALL
            .iter()
            .copied()
            .filter(|r| baseline.is_enabled(r.meta().id))
            .collect();
        let event_rules: Vec<&'static dyn EventRule> = rules
            .iter()
            .filter_map(|r| match r {
                Rule::Event(rule) => Some(*rule),
                _ => None,
            })
            .collect();
        let sweep_rules: Vec<&'static dyn SweepRule> = rules
            .iter()
            .filter_map(|r| match r {
                Rule::Sweep(rule) => Some(*rule),
                _ => None,
            })
            .collect();
        let pass_events: HashSet<(String, String)> = baseline
            .profiles
            .iter()
            .flat_map(|p| {
                p.passes
                    .iter()
                    .map(|s| (p.event_source.to_ascii_lowercase(), s.event.clone()))
            })
            .collect();
        let mut pairs: Vec<(String, String)> = Vec::new();
        for rule in &event_rules {
            let meta = rule.meta();
            match meta.trigger {
                Trigger::Listed => pairs.extend(
                    meta.events
                        .iter()
                        .map(|(s, n)| ((*s).to_owned(), (*n).to_owned())),
                ),
                Trigger::Passes => pairs.extend(pass_events.iter().cloned()),
                Trigger::AnyWatched | Trigger::Engine | Trigger::Sweep => {}
            }
        }
        // Delete events of a profile's dependents trigger a re-check of that profile.
        if !sweep_rules.is_empty() {
            for profile in &baseline.profiles {
                if let Some(spec) = &profile.dependents {
                    let source = &profile.event_source;
                    pairs.extend(spec.deleted_by.iter().map(|n| (source.clone(), n.clone())));
                }
            }
        }
        let remediations = rules::ALL
            .iter()
            .map(|r| (r.meta().id, r.meta().remediation()))
            .collect();
        Engine {
            baseline,
            event_rules,
            sweep_rules,
            watched: Watched::of(pairs),
            remediations,
            pass_events,
            today: None,
        }
    }

    /// Fixes the date exceptions expire against (tests, reproducible replays).
    pub fn with_today(mut self, today: NaiveDate) -> Self {
        self.today = Some(today);
        self
    }

    pub fn baseline(&self) -> &Baseline {
        &self.baseline
    }

    fn today(&self) -> NaiveDate {
        self.today
            .unwrap_or_else(|| chrono::Utc::now().date_naive())
    }

    /// Whether any enabled rule consumes this event.
    pub fn is_watched(&self, source: &str, name: &str) -> bool {
        self.watched.contains(source, name)
    }

    pub fn watched(&self) -> &Watched {
        &self.watched
    }

    /// Every `(eventSource, eventName)` the enabled rules consume, sorted: the EventBridge
    /// pattern is generated from this.
    pub fn watched_events(&self) -> BTreeSet<(String, String)> {
        self.watched
            .0
            .iter()
            .flat_map(|(s, names)| names.iter().map(|n| (s.clone(), n.clone())))
            .collect()
    }

    fn is_pass_event(&self, event: &Event) -> bool {
        self.pass_events
            .contains(&(event.source().to_ascii_lowercase(), event.name().to_owned()))
    }

    /// What the event needs from the live account, as its rules declare it
    /// ([`EventRule::needs`]); empty for most events, so they cost no API call. A refused call
    /// granted and passed nothing, so it needs nothing either.
    pub fn needs(&self, event: &Event) -> Needs {
        let mut needs = Needs {
            account: event.account().map(str::to_owned),
            ..Needs::default()
        };
        if !self.is_watched(event.source(), event.name()) || event.failed() {
            return needs;
        }
        let view = crate::account::NoAccountView;
        let cx = Context::new(event, &self.baseline, &view);
        for rule in self.rules_for(event) {
            rule.needs(&cx, &mut needs);
        }
        needs
    }

    /// The enabled event rules this event triggers.
    fn rules_for<'s>(
        &'s self,
        event: &'s Event,
    ) -> impl Iterator<Item = &'static dyn EventRule> + 's {
        let is_pass = self.is_pass_event(event);
        self.event_rules.iter().copied().filter(move |rule| {
            let meta = rule.meta();
            match meta.trigger {
                // In any case, as `Watched` matches it.
                Trigger::Listed => meta
                    .events
                    .iter()
                    .any(|(s, n)| s.eq_ignore_ascii_case(event.source()) && *n == event.name()),
                Trigger::Passes => is_pass,
                Trigger::AnyWatched => true,
                Trigger::Engine | Trigger::Sweep => false,
            }
        })
    }

    /// Evaluates one event. Unwatched events give no findings.
    pub fn evaluate(&self, event: &Event, view: &dyn AccountView) -> Evaluation {
        let mut result = Evaluation::default();
        if !self.is_watched(event.source(), event.name()) {
            return result;
        }
        let cx = Context::new(event, &self.baseline, view);
        for rule in self.rules_for(event) {
            let meta = rule.meta();
            let mut drafts = Vec::new();
            rule.check(&cx, &mut drafts);
            for draft in drafts {
                let finding = self.finding(meta, draft, Some(event));
                self.admit(finding, Some(event), &mut result);
            }
        }
        result
    }

    /// The profiles a delete event asks to re-check (`profiles.dependents.deleted_by`); empty
    /// for every other event, and when no sweep rule is enabled.
    pub fn rechecks(&self, event: &Event) -> Vec<&crate::baseline::Profile> {
        if self.sweep_rules.is_empty() {
            return Vec::new();
        }
        self.baseline
            .profiles
            .iter()
            .filter(|p| {
                p.event_source.eq_ignore_ascii_case(event.source())
                    && p.dependents.as_ref().is_some_and(|d| {
                        d.deleted_by.iter().any(|n| n == event.name())
                            && d.when_present.iter().all(|k| event.param(k).is_some())
                            && d.when_absent.iter().all(|k| event.param(k).is_none())
                    })
            })
            .collect()
    }

    /// Runs the sweep rules over what a sweep read of the account. Sweep findings carry no
    /// event id (`event.name` is `AccountSweep`), so the same account state gives the same ids
    /// whatever triggered the sweep and whenever it ran.
    pub fn sweep(&self, state: &AccountState, now: chrono::DateTime<chrono::Utc>) -> Evaluation {
        let mut result = Evaluation::default();
        let cx = SweepContext::new(state, &self.baseline, now);
        let account = state.account.clone().or_else(|| state.account_from_roles());
        let event = EventRef {
            id: None,
            name: Some(SWEEP_EVENT_NAME.to_owned()),
            source: Some("rolewarden".to_owned()),
            time: Some(now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            error_code: None,
        };
        for rule in &self.sweep_rules {
            let meta = rule.meta();
            let mut drafts = Vec::new();
            rule.check(&cx, &mut drafts);
            for draft in drafts {
                let mut finding = self.finding(meta, draft, None);
                finding.account = account.clone();
                finding.event = event.clone();
                finding.id = finding.compute_id();
                self.admit(finding, None, &mut result);
            }
        }
        result
    }

    /// An RW000 finding for input that could not be read as an event at all.
    pub fn unreadable(&self, origin: &str, position: Position, reason: &str) -> Option<Finding> {
        let meta = rules::rw000::UndecodableEvent::META;
        if !self.baseline.is_enabled(meta.id) {
            return None;
        }
        let draft = Draft::new(format!("{origin}: {position}: unreadable input: {reason}"))
            .resource(origin.to_owned())
            .evidence("origin", origin)
            .evidence("line", position.line)
            .evidence("record_index", position.index)
            .evidence("reason", reason);
        Some(self.finding(&meta, draft, None))
    }

    /// Applies exceptions: an unexpired one suppresses, an expired one adds RW001.
    fn admit(&self, finding: Finding, event: Option<&Event>, result: &mut Evaluation) {
        let today = self.today();
        let exception = self.baseline.exceptions.iter().find(|e| {
            e.covers(
                &finding.rule_id,
                finding.resource.as_deref(),
                finding.actor.as_deref(),
            )
        });
        match exception {
            Some(e) if !e.expired(today) => result.suppressed += 1,
            Some(e) => {
                let rw001 = &rules::rw001::ExpiredException::META;
                let expired = self
                    .baseline
                    .is_enabled(rw001.id)
                    .then(|| self.finding(rw001, rules::rw001::draft(e, &finding), event));
                result.findings.push(finding);
                result.findings.extend(expired);
            }
            None => result.findings.push(finding),
        }
    }

    fn finding(&self, meta: &RuleMeta, draft: Draft, event: Option<&Event>) -> Finding {
        let severity = self
            .baseline
            .severity
            .get(meta.id)
            .copied()
            .or(draft.severity)
            .unwrap_or(meta.severity);
        let mut finding = Finding {
            id: String::new(),
            rule_id: meta.id.to_owned(),
            rule_name: meta.name.to_owned(),
            severity,
            message: draft.message,
            account: event.and_then(|e| e.account()).map(str::to_owned),
            region: event
                .and_then(|e| e.region())
                .map(str::to_owned)
                .or(draft.region),
            resource: draft.resource.filter(|r| !r.is_empty()),
            actor: event.and_then(|e| e.identity.actor()).map(str::to_owned),
            event: event.map_or_else(EventRef::default, |e| EventRef {
                id: e.id().map(str::to_owned),
                name: Some(e.name().to_owned()).filter(|n| !n.is_empty()),
                source: Some(e.source().to_owned()).filter(|s| !s.is_empty()),
                time: e.time().map(str::to_owned),
                error_code: e.error_code().map(str::to_owned),
            }),
            evidence: draft.evidence,
            remediation: self.remediations.get(meta.id).cloned().unwrap_or_default(),
            enrichment: draft.enrichment,
            truncated: false,
            status: None,
            first_seen: None,
            resolution: None,
        };
        finding.id = finding.compute_id();
        finding
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watched_source_is_matched_in_any_ascii_case_and_only_with_a_watched_name() {
        let engine = Engine::new(Baseline::embedded().unwrap());
        assert!(engine.is_watched("iam.amazonaws.com", "PutRolePolicy"));
        assert!(engine.is_watched("IAM.AmazonAWS.com", "PutRolePolicy"));
        // Names are matched exactly, as CloudTrail writes them.
        assert!(!engine.is_watched("iam.amazonaws.com", "putrolepolicy"));
        assert!(!engine.is_watched("ec2.amazonaws.com", "PutRolePolicy"));
        assert!(!engine.is_watched("", ""));
    }

    #[test]
    fn a_source_given_in_two_cases_is_one_entry_with_all_its_names() {
        let pair = |s: &str, n: &str| (s.to_owned(), n.to_owned());
        let watched = Watched::of([
            pair("lex.amazonaws.com", "DeleteBot"),
            pair("IAM.amazonaws.com", "PutRolePolicy"),
            pair("iam.amazonaws.com", "DeleteRole"),
        ]);
        let sources: Vec<&str> = watched.0.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(sources, ["iam.amazonaws.com", "lex.amazonaws.com"]);
        assert!(watched.contains("iam.amazonaws.com", "PutRolePolicy"));
        assert!(watched.contains("Iam.amazonaws.com", "DeleteRole"));
        assert!(!watched.contains("iam.amazonaws.com", "DeleteBot"));
    }
}
