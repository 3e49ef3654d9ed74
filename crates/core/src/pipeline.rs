//! The one evaluation pipeline every entry point drives (the CLI over files and S3 objects, the
//! Lambda over a payload, a queue message or an S3 object): count the item, skip what no rule
//! watches, ask what the event needs from the account, evaluate, apply exceptions, turn
//! unreadable input into RW000.
//!
//! Fetching account facts is the caller's part, between [`Pipeline::admit`] and
//! [`Pipeline::evaluate`], because the Lambda fetches asynchronously and the core has no
//! runtime; [`Pipeline::enrichment`] decides whether to fetch at all, so every caller applies
//! the same rule to events from another account. [`evaluate_reader`] is the synchronous loop for
//! callers that fetch synchronously (or not at all).

use std::collections::BTreeMap;
use std::io::{self, Read};

use crate::account::{AccountView, Needs, Snapshot};
use crate::decode::{read_items_selecting, Envelope, Event, Item, Options, Position};
use crate::engine::{Engine, Evaluation, Watched};
use crate::finding::{Finding, Severity};
use crate::lifecycle::{policy_write, resolves_unwatched, Observed};

/// Counts for a run's summary line or an invocation's answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub inputs: usize,
    /// CloudTrail records and other EventBridge events read (watched or not).
    pub events: u64,
    /// Records no rule consumes, and EventBridge events that are not CloudTrail calls.
    pub ignored: u64,
    pub unreadable: u64,
    pub suppressed: u64,
    pub findings: BTreeMap<Severity, u64>,
}

impl Summary {
    pub fn total_findings(&self) -> u64 {
        self.findings.values().sum()
    }

    /// Adds another worker's counts.
    pub fn add(&mut self, other: &Summary) {
        self.inputs += other.inputs;
        self.events += other.events;
        self.ignored += other.ignored;
        self.unreadable += other.unreadable;
        self.suppressed += other.suppressed;
        for (severity, n) in &other.findings {
            *self.findings.entry(*severity).or_default() += n;
        }
    }

    fn count(&mut self, findings: &[Finding]) {
        for finding in findings {
            *self.findings.entry(finding.severity).or_default() += 1;
        }
    }
}

/// What an item turned out to be.
#[derive(Debug)]
pub enum Admitted {
    /// A CloudTrail call some rule watches: fetch what `needs` asks (see
    /// [`Pipeline::enrichment`]), then [`Pipeline::evaluate`] it.
    Watched { event: Box<Event>, needs: Needs },
    /// A CloudTrail call no rule watches; counted as ignored.
    Unwatched { id: Option<String> },
    /// An EventBridge event that is not a CloudTrail call (the schedule, for instance). Counted
    /// as read; the caller decides whether it means something and counts it as ignored if not
    /// ([`Pipeline::ignore`]).
    Other { envelope: Box<Envelope> },
    /// Input that is not an event: reported, with its RW000 finding when that rule is enabled.
    Unreadable {
        position: Position,
        reason: String,
        finding: Option<Box<Finding>>,
    },
    /// More of an unreadable input already reported on the same line: nothing to report.
    Repeated,
}

/// Whether and how to read the account for an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enrichment {
    /// The event needs nothing from the account: evaluate with an empty [`Snapshot`].
    NotNeeded,
    /// Read the account for these needs.
    Fetch,
    /// The account cannot be read for this event: evaluate with
    /// [`Snapshot::unavailable`] of this reason.
    Unavailable(String),
}

/// One run's pipeline state: the engine, the account enrichment reads, the counts. A clone is
/// one more worker of the same run (the CLI reads S3 objects side by side); its counts are
/// [`Summary::add`]ed back.
#[derive(Clone)]
pub struct Pipeline<'e> {
    engine: &'e Engine,
    /// The account enrichment reads (the function's own, the credentials' own); `None`: any.
    home: Option<String>,
    /// Whether enrichment is on at all.
    enrich: bool,
    /// The line of the last unreadable input, by origin: after a value it could not use, a
    /// decoder may read the rest of the same broken text as another value on the same line
    /// (a fragment such as `"Records": [{` is a string, then a stray `:`), and one broken input
    /// is one message and one RW000.
    last_unreadable: Option<(String, u64)>,
    /// Decoding limits for [`evaluate_reader`] (record size, depth).
    decoding: Options,
    /// Policy writes seen, when finding state is kept ([`Pipeline::tracking`]).
    observed: Option<Observed>,
    pub summary: Summary,
}

impl<'e> Pipeline<'e> {
    /// A pipeline without enrichment: events are judged from what they carry.
    pub fn new(engine: &'e Engine) -> Self {
        Pipeline {
            engine,
            home: None,
            enrich: false,
            last_unreadable: None,
            decoding: Options::default(),
            observed: None,
            summary: Summary::default(),
        }
    }

    /// Enrichment reads `home` (when known): an event from another account is judged from the
    /// event alone, never against a same-named role of the wrong account.
    pub fn enriching(mut self, home: Option<String>) -> Self {
        self.enrich = true;
        self.home = home;
        self
    }

    /// Other decoding limits than the defaults (`--max-record-bytes`).
    pub fn decoding(mut self, options: Options) -> Self {
        self.decoding = options;
        self
    }

    /// Keeps what can resolve stored findings (policy writes and deletes, deletes included
    /// though no rule watches them), for finding state ([`crate::lifecycle`]).
    pub fn tracking(mut self) -> Self {
        self.observed = Some(Observed::default());
        self
    }

    /// What was observed for the lifecycle; empty unless [`Pipeline::tracking`].
    pub fn take_observed(&mut self) -> Observed {
        self.observed
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    pub fn engine(&self) -> &'e Engine {
        self.engine
    }

    /// Which records [`Pipeline::admit`] needs whole; the decoder skims the others.
    pub fn selector(&self) -> Selector {
        Selector {
            watched: self.engine.watched().clone(),
            observing: self.observed.is_some(),
        }
    }

    /// Counts an item and says what it is. `origin` names the input in RW000 findings.
    pub fn admit(&mut self, item: Item, origin: &str) -> Admitted {
        match item {
            Item::Record {
                mut record,
                envelope,
                ..
            } => {
                self.summary.events += 1;
                let source = record.event_source.as_deref().unwrap_or_default();
                let name = record.event_name.as_deref().unwrap_or_default();
                if !self.engine.is_watched(source, name) {
                    self.summary.ignored += 1;
                    if let Some(observed) = self
                        .observed
                        .as_mut()
                        .filter(|_| resolves_unwatched(source, name))
                    {
                        let event = Event::new(*record, envelope);
                        observed.writes.extend(policy_write(&event, &[]));
                        return Admitted::Unwatched {
                            id: event.into_id(),
                        };
                    }
                    // Most records of a log file end here: their id is moved, not copied (the
                    // rule of `Event::id`, without building the event).
                    let id = record
                        .event_id
                        .take()
                        .or_else(|| envelope.and_then(|e| e.id));
                    return Admitted::Unwatched { id };
                }
                let event = Event::new(*record, envelope);
                // Asking every triggered rule what it needs parses the event once more, for
                // nothing when no account is read (a log archive without --enrich).
                let needs = if self.enrich {
                    self.engine.needs(&event)
                } else {
                    Needs {
                        account: event.account().map(str::to_owned),
                        ..Needs::default()
                    }
                };
                Admitted::Watched {
                    event: Box::new(event),
                    needs,
                }
            }
            Item::OtherEvent { envelope, .. } => {
                self.summary.events += 1;
                Admitted::Other {
                    envelope: Box::new(envelope),
                }
            }
            Item::Unreadable { reason, position } => {
                let here = Some((origin.to_owned(), position.line));
                if self.last_unreadable == here {
                    return Admitted::Repeated;
                }
                self.last_unreadable = here;
                self.summary.unreadable += 1;
                let finding = self.engine.unreadable(origin, position, &reason);
                self.summary.count(finding.as_slice());
                Admitted::Unreadable {
                    position,
                    reason,
                    finding: finding.map(Box::new),
                }
            }
        }
    }

    /// Counts an [`Admitted::Other`] event that meant nothing to the caller.
    pub fn ignore(&mut self) {
        self.summary.ignored += 1;
    }

    /// Whether to read the account for an event with these needs.
    pub fn enrichment(&self, needs: &Needs) -> Enrichment {
        if needs.is_empty() || !self.enrich {
            return Enrichment::NotNeeded;
        }
        match self.foreign(needs.account.as_deref()) {
            Some(reason) => Enrichment::Unavailable(reason),
            None => Enrichment::Fetch,
        }
    }

    /// Why the account enrichment reads is not the account of an event from `account`, if it
    /// is not. Unknown on either side: nothing is foreign.
    pub fn foreign(&self, account: Option<&str>) -> Option<String> {
        match (self.home.as_deref(), account) {
            (Some(home), Some(other)) if home != other => Some(format!(
                "the event is from account {other}; enrichment reads account {home} only"
            )),
            _ => None,
        }
    }

    /// Evaluates a watched event against what was read of the account, and counts it.
    pub fn evaluate(&mut self, event: &Event, view: &dyn AccountView) -> Evaluation {
        let evaluation = self.engine.evaluate(event, view);
        if let Some(observed) = self.observed.as_mut() {
            observed
                .writes
                .extend(policy_write(event, &evaluation.findings));
        }
        self.summary.suppressed += evaluation.suppressed as u64;
        self.summary.count(&evaluation.findings);
        evaluation
    }

    /// Counts what a sweep produced.
    pub fn count_sweep(&mut self, evaluation: &Evaluation) {
        self.summary.suppressed += evaluation.suppressed as u64;
        self.summary.count(&evaluation.findings);
    }
}

/// Which records [`Pipeline::admit`] reads more of than their `eventID`: the watched ones, and
/// with finding state the unwatched policy writes that resolve findings. Handed to
/// [`crate::decode::read_items_selecting`], which skims the others. Owned, for a decoder that
/// runs on a thread of its own.
#[derive(Debug, Clone)]
pub struct Selector {
    watched: Watched,
    observing: bool,
}

impl Selector {
    pub fn reads_whole(&self, source: &str, name: &str) -> bool {
        self.watched.contains(source, name) || (self.observing && resolves_unwatched(source, name))
    }
}

/// What [`evaluate_reader`] hands its caller, in input order.
#[derive(Debug)]
pub enum Output {
    Finding(Box<Finding>),
    /// Input that is not an event; its RW000 finding (if enabled) follows.
    Unreadable {
        origin: String,
        position: Position,
        reason: String,
    },
}

/// Evaluates every item of `reader` through `pipeline`, synchronously. `fetch` reads the
/// account when [`Pipeline::enrichment`] says so. Fails only when the input cannot be read at
/// all.
pub fn evaluate_reader<R: Read>(
    pipeline: &mut Pipeline<'_>,
    reader: R,
    origin: &str,
    fetch: &mut dyn FnMut(&Needs) -> Snapshot,
    emit: &mut dyn FnMut(Output),
) -> io::Result<()> {
    pipeline.summary.inputs += 1;
    let options = pipeline.decoding;
    let selector = pipeline.selector();
    read_items_selecting(
        reader,
        &options,
        Some(&|source, name| selector.reads_whole(source, name)),
        &mut |item| match pipeline.admit(item, origin) {
            Admitted::Watched { event, needs } => {
                let snapshot = match pipeline.enrichment(&needs) {
                    Enrichment::NotNeeded => Snapshot::default(),
                    Enrichment::Unavailable(reason) => Snapshot::unavailable(reason),
                    Enrichment::Fetch => fetch(&needs),
                };
                for finding in pipeline.evaluate(&event, &snapshot).findings {
                    emit(Output::Finding(Box::new(finding)));
                }
            }
            Admitted::Unwatched { .. } | Admitted::Repeated => {}
            Admitted::Other { .. } => pipeline.ignore(),
            Admitted::Unreadable {
                position,
                reason,
                finding,
            } => emit_unreadable(origin, position, reason, finding, emit),
        },
    )
}

/// An input that could not be opened at all (a file, an S3 object): counted as an input and
/// reported as [`report_unreadable`] reports it.
pub fn unopened_input(
    pipeline: &mut Pipeline<'_>,
    origin: &str,
    reason: String,
    emit: &mut dyn FnMut(Output),
) {
    pipeline.summary.inputs += 1;
    report_unreadable(pipeline, origin, reason, emit);
}

/// What cannot be read of an input (the error [`evaluate_reader`] returned, or why it could not
/// be opened): an [`Output::Unreadable`] and its RW000 finding, as a bad record inside it gives.
pub fn report_unreadable(
    pipeline: &mut Pipeline<'_>,
    origin: &str,
    reason: String,
    emit: &mut dyn FnMut(Output),
) {
    let item = Item::Unreadable {
        reason,
        position: Position::default(),
    };
    if let Admitted::Unreadable {
        position,
        reason,
        finding,
    } = pipeline.admit(item, origin)
    {
        emit_unreadable(origin, position, reason, finding, emit);
    }
}

fn emit_unreadable(
    origin: &str,
    position: Position,
    reason: String,
    finding: Option<Box<Finding>>,
    emit: &mut dyn FnMut(Output),
) {
    emit(Output::Unreadable {
        origin: origin.to_owned(),
        position,
        reason,
    });
    if let Some(finding) = finding {
        emit(Output::Finding(finding));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Baseline;

    #[test]
    fn only_the_home_account_is_enriched() {
        let engine = Engine::new(Baseline::embedded().unwrap());
        let pipeline = Pipeline::new(&engine).enriching(Some("111122223333".into()));
        let needs = |account: &str| Needs {
            account: Some(account.to_owned()),
            roles: ["r".to_owned()].into(),
            ..Needs::default()
        };
        assert_eq!(
            pipeline.enrichment(&needs("111122223333")),
            Enrichment::Fetch
        );
        let Enrichment::Unavailable(why) = pipeline.enrichment(&needs("444455556666")) else {
            unreachable!("another account is not enriched");
        };
        assert!(
            why.contains("444455556666") && why.contains("111122223333"),
            "{why}"
        );
        // Nothing needed: nothing fetched, whatever the account.
        let nothing = Needs {
            account: Some("444455556666".into()),
            ..Needs::default()
        };
        assert_eq!(pipeline.enrichment(&nothing), Enrichment::NotNeeded);
        // Without enrichment nothing is fetched.
        assert_eq!(
            Pipeline::new(&engine).enrichment(&needs("111122223333")),
            Enrichment::NotNeeded
        );
        // An unknown home (an emulator gives no function ARN): every account is read.
        let anywhere = Pipeline::new(&engine).enriching(None);
        assert_eq!(
            anywhere.enrichment(&needs("444455556666")),
            Enrichment::Fetch
        );
    }
}
