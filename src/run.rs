//! Evaluating a stream of input: decode, skip what is not watched, evaluate, count.

use std::collections::BTreeMap;
use std::io::{self, Read};

use crate::account::{AccountView, Needs, Snapshot};
use crate::decode::{read_items_with, Event, Item, Options, Position};
use crate::engine::Engine;
use crate::finding::{Finding, Severity};

/// What came out of the input, in order.
#[derive(Debug)]
pub enum Output {
    Finding(Box<Finding>),
    /// Input that is not an event; an RW000 finding follows it.
    Unreadable {
        origin: String,
        position: Position,
        reason: String,
    },
}

/// Counts for the summary line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub inputs: usize,
    /// CloudTrail records read (watched or not).
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
}

/// How rules learn about the live account while a stream is evaluated.
pub enum Accounts<'a> {
    /// One view for every event: [`crate::account::NoAccountView`], or a fixed snapshot.
    Fixed(&'a dyn AccountView),
    /// Fetched per event, only for events that need something ([`Engine::needs`]); the CLI's
    /// `--enrich` blocks on the IAM reader here.
    Fetch(&'a mut dyn FnMut(&Needs) -> Snapshot),
}

/// Evaluates every item of `reader`. `accounts` answers account questions; `emit` receives
/// output. Fails only when the input cannot be read at all.
pub fn evaluate_reader<R: Read>(
    engine: &Engine,
    reader: R,
    origin: &str,
    accounts: &mut Accounts<'_>,
    summary: &mut Summary,
    emit: &mut dyn FnMut(Output),
) -> io::Result<()> {
    let options = Options::default();
    evaluate_reader_with(engine, reader, origin, &options, accounts, summary, emit)
}

/// [`evaluate_reader`] with other decoding limits.
pub fn evaluate_reader_with<R: Read>(
    engine: &Engine,
    reader: R,
    origin: &str,
    options: &Options,
    accounts: &mut Accounts<'_>,
    summary: &mut Summary,
    emit: &mut dyn FnMut(Output),
) -> io::Result<()> {
    summary.inputs += 1;
    read_items_with(reader, options, &mut |item| match item {
        Item::Record {
            record, envelope, ..
        } => {
            summary.events += 1;
            let source = record.event_source.as_deref().unwrap_or_default();
            let name = record.event_name.as_deref().unwrap_or_default();
            if !engine.is_watched(source, name) {
                summary.ignored += 1;
                return;
            }
            let event = Event::new(*record, envelope);
            let evaluation = match accounts {
                Accounts::Fixed(view) => engine.evaluate(&event, *view),
                Accounts::Fetch(fetch) => {
                    let needs = engine.needs(&event);
                    let snapshot = if needs.is_empty() {
                        Snapshot::default()
                    } else {
                        fetch(&needs)
                    };
                    engine.evaluate(&event, &snapshot)
                }
            };
            summary.suppressed += evaluation.suppressed as u64;
            for finding in evaluation.findings {
                *summary.findings.entry(finding.severity).or_default() += 1;
                emit(Output::Finding(Box::new(finding)));
            }
        }
        Item::OtherEvent { .. } => {
            summary.events += 1;
            summary.ignored += 1;
        }
        Item::Unreadable { reason, position } => {
            summary.unreadable += 1;
            emit(Output::Unreadable {
                origin: origin.to_owned(),
                position,
                reason: reason.clone(),
            });
            if let Some(finding) = engine.unreadable(origin, position, &reason) {
                *summary.findings.entry(finding.severity).or_default() += 1;
                emit(Output::Finding(Box::new(finding)));
            }
        }
    })
}
