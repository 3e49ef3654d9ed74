//! The Lambda function: one invocation is one payload (an EventBridge event, a raw CloudTrail
//! record, a log file's `{"Records": [...]}`, any JSON). Decode, enrich, evaluate, write, answer
//! a small summary. `src/bin/bootstrap.rs` builds an [`App`] once and hands every invocation to
//! [`App::handle`]; tests call it directly.
//!
//! Failures are typed. Writing findings is the only thing that fails an invocation, as
//! `Retryable`, so Lambda retries and the dead-letter queue keeps the event. Input that cannot
//! be decoded is an RW000 finding, not an error: it is never lost and never retried forever.
//! Enrichment that cannot be had is a note on the affected findings, not an error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aws_config::SdkConfig;
use lambda_runtime::Diagnostic;
use serde::Serialize;
use thiserror::Error;
use tokio::sync::Mutex;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::account::Snapshot;
use crate::aws::logs::{instance_id, CloudWatchWriter, DEFAULT_LOG_GROUP};
use crate::aws::reader::AccountReader;
use crate::aws::sweep::{regions, SweepOptions, SweepStats, DEFAULT_CONCURRENCY};
use crate::aws::CallCounter;
use crate::baseline::{Baseline, DEFAULT_TOML};
use crate::decode::{read_slice, Event, Item};
use crate::engine::Engine;
use crate::error::BaselineError;
use crate::finding::{Finding, Severity};
use crate::sink::{Sink, SinkError};
use crate::sweep::Scope;

/// Where the function's settings come from: its environment, read once at init.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `FINDINGS_SINK`: `cloudwatch` (default) or `stdout`.
    pub sink: SinkKind,
    /// `FINDINGS_LOG_GROUP`, default `/rolewarden/findings`.
    pub log_group: String,
    /// `ROLEWARDEN_CACHE_TTL_SECONDS`, default 300.
    pub cache_ttl: std::time::Duration,
    /// `ROLEWARDEN_BASELINE`, else `rolewarden.toml` packaged beside the binary, else embedded.
    pub baseline: BaselineSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkKind {
    CloudWatch,
    Stdout,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BaselineSource {
    File(PathBuf),
    Embedded,
}

/// A setting the function cannot start with.
#[derive(Debug, Error)]
pub enum InitError {
    #[error("{variable}: {message}")]
    Setting {
        variable: &'static str,
        message: String,
    },
    #[error("cannot read baseline `{}`: {source}", path.display())]
    BaselineFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Baseline(#[from] BaselineError),
}

impl Settings {
    /// Reads the settings from `env` (the process environment in the function; a map in tests).
    /// `package_dir` is where a packaged `rolewarden.toml` would be (`LAMBDA_TASK_ROOT`).
    pub fn from_env(
        env: &dyn Fn(&str) -> Option<String>,
        package_dir: Option<&Path>,
    ) -> Result<Self, InitError> {
        let sink = match env("FINDINGS_SINK").as_deref().map(str::trim) {
            None | Some("") => SinkKind::CloudWatch,
            Some(s) if s.eq_ignore_ascii_case("cloudwatch") => SinkKind::CloudWatch,
            Some(s) if s.eq_ignore_ascii_case("stdout") => SinkKind::Stdout,
            Some(other) => {
                return Err(InitError::Setting {
                    variable: "FINDINGS_SINK",
                    message: format!("expected `cloudwatch` or `stdout`, not `{other}`"),
                })
            }
        };
        let log_group = env("FINDINGS_LOG_GROUP")
            .filter(|g| !g.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_LOG_GROUP.to_owned());
        let cache_ttl = match env("ROLEWARDEN_CACHE_TTL_SECONDS") {
            None => crate::aws::cache::DEFAULT_TTL,
            Some(text) => text
                .trim()
                .parse::<u64>()
                .map(std::time::Duration::from_secs)
                .map_err(|_| InitError::Setting {
                    variable: "ROLEWARDEN_CACHE_TTL_SECONDS",
                    message: format!("expected a whole number of seconds, not `{text}`"),
                })?,
        };
        let packaged = package_dir
            .map(|dir| dir.join("rolewarden.toml"))
            .filter(|p| p.is_file());
        let baseline = match (
            env("ROLEWARDEN_BASELINE").filter(|p| !p.trim().is_empty()),
            packaged,
        ) {
            (Some(path), _) => BaselineSource::File(PathBuf::from(path)),
            (None, Some(path)) => BaselineSource::File(path),
            (None, None) => BaselineSource::Embedded,
        };
        Ok(Settings {
            sink,
            log_group,
            cache_ttl,
            baseline,
        })
    }

    /// Loads and validates the baseline; an invalid one is an error naming the key and line.
    pub fn load_baseline(&self) -> Result<Baseline, InitError> {
        let today = chrono::Utc::now().date_naive();
        match &self.baseline {
            BaselineSource::Embedded => {
                Ok(Baseline::parse(DEFAULT_TOML, "embedded default", today)?)
            }
            BaselineSource::File(path) => {
                let bytes = std::fs::read(path).map_err(|source| InitError::BaselineFile {
                    path: path.clone(),
                    source,
                })?;
                Ok(Baseline::parse_bytes(
                    &bytes,
                    &path.display().to_string(),
                    today,
                )?)
            }
        }
    }
}

/// Why an invocation failed. `error_type` is stable: alarms and retry policies key on it.
#[derive(Debug, Error)]
pub enum HandlerError {
    #[error("findings were not written: {0}")]
    Sink(#[from] SinkError),
}

impl HandlerError {
    pub fn error_type(&self) -> &'static str {
        match self {
            HandlerError::Sink(_) => "Retryable",
        }
    }
}

impl From<HandlerError> for Diagnostic {
    fn from(e: HandlerError) -> Self {
        Diagnostic {
            error_type: e.error_type().to_owned(),
            error_message: e.to_string(),
        }
    }
}

/// What an invocation answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Response {
    /// `swept` when the payload ran the account sweep, `evaluated` when a watched event was
    /// evaluated, `ignored` when nothing in the payload is watched.
    pub status: &'static str,
    /// The CloudTrail event id (or EventBridge id) of the first event in the payload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// Events in the payload (a log file carries many).
    pub events: u64,
    pub ignored: u64,
    pub unreadable: u64,
    /// Ids of the findings written, in order.
    pub findings: Vec<String>,
    pub counts: BTreeMap<Severity, u64>,
    pub suppressed: u64,
    /// AWS API calls this invocation made, by `service:Operation`.
    pub api_calls: BTreeMap<String, u64>,
    /// Where the findings went.
    pub sink: String,
    /// The account sweep, when the payload was the schedule or a delete event that re-checks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepSummary>,
}

/// What a sweep in this invocation covered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SweepSummary {
    /// `full`, or the profiles re-checked.
    pub scope: String,
    pub regions: Vec<String>,
    #[serde(flatten)]
    pub stats: SweepStats,
}

/// The invocation's deadline as an `Instant`. Lambda sends wall-clock epoch milliseconds
/// (`Lambda-Runtime-Deadline-Ms`); emulators such as `cargo lambda watch` send the timeout itself
/// (`600000`). A value before 2001 cannot be a wall-clock deadline, so it is read as a duration.
/// `0` means the runtime gave none.
pub fn deadline_instant(deadline_ms: u64) -> Option<Instant> {
    let now_ms = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
    deadline_from(deadline_ms, now_ms, Instant::now())
}

fn deadline_from(deadline_ms: u64, now_ms: u64, now: Instant) -> Option<Instant> {
    const EPOCH_2001_MS: u64 = 978_307_200_000;
    if deadline_ms == 0 {
        return None;
    }
    let left = if deadline_ms < EPOCH_2001_MS {
        deadline_ms
    } else {
        deadline_ms.saturating_sub(now_ms)
    };
    now.checked_add(Duration::from_millis(left))
}

/// The part of the remaining time a sweep leaves for writing its findings.
fn sweep_deadline(deadline: Option<Instant>) -> Option<Instant> {
    deadline.map(|d| {
        let left = d.saturating_duration_since(Instant::now());
        // Writing the findings may need the SDK's retries too (3 attempts, 10 s each at most).
        let margin = (left / 5).clamp(Duration::from_secs(1), Duration::from_secs(30));
        d.checked_sub(margin).unwrap_or(d)
    })
}

/// What the runtime says of one invocation.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    /// When the function times out; a sweep stops early enough to write what it found.
    pub deadline: Option<Instant>,
    /// The function's own account (from its ARN). Enrichment and re-checks read this account
    /// only: an event from another account (forwarded by the organization) is judged from what
    /// it carries.
    pub account: Option<String>,
}

impl Invocation {
    /// From the runtime's context: the deadline (see [`deadline_instant`]) and the account in
    /// the invoked function's ARN (`arn:aws:lambda:REGION:ACCOUNT:function:NAME`).
    pub fn from_context(deadline_ms: u64, invoked_function_arn: &str) -> Self {
        let account = invoked_function_arn
            .strip_prefix("arn:")
            .and_then(|rest| rest.split(':').nth(3))
            .filter(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_owned);
        Invocation {
            deadline: deadline_instant(deadline_ms),
            account,
        }
    }

    /// Why an event from `account` cannot be enriched, if it cannot.
    fn foreign(&self, account: Option<&str>) -> Option<String> {
        match (self.account.as_deref(), account) {
            (Some(home), Some(other)) if home != other => Some(format!(
                "the event is from account {other}; enrichment reads account {home} only"
            )),
            _ => None,
        }
    }
}

/// Everything built once per container.
pub struct App {
    engine: Engine,
    reader: AccountReader,
    sink: Mutex<Sink>,
    calls: CallCounter,
}

impl App {
    pub fn new(engine: Engine, config: &SdkConfig, settings: &Settings) -> Self {
        let calls = CallCounter::default();
        let reader = AccountReader::new(config, &calls, settings.cache_ttl, engine.baseline());
        let sink = match settings.sink {
            SinkKind::Stdout => Sink::Stdout,
            SinkKind::CloudWatch => Sink::CloudWatch(CloudWatchWriter::new(
                config,
                &calls,
                &settings.log_group,
                &instance_id(),
            )),
        };
        App {
            engine,
            reader,
            sink: Mutex::new(sink),
            calls,
        }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn calls(&self) -> &CallCounter {
        &self.calls
    }

    /// One invocation: `payload` is the raw JSON Lambda delivered.
    pub async fn handle(
        &self,
        payload: &[u8],
        invocation: &Invocation,
    ) -> Result<Response, HandlerError> {
        let deadline = invocation.deadline;
        let before = self.calls.snapshot();
        let mut items = Vec::new();
        // Malformed JSON arrives as Item::Unreadable; an error here means bytes that cannot be
        // read at all (a corrupt gzip stream): kept as an RW000 finding too, never dropped.
        if let Err(e) = read_slice(payload, &mut |item| items.push(item)) {
            items.push(Item::Unreadable {
                reason: format!("cannot read the payload: {e}"),
                position: crate::decode::Position::default(),
            });
        }
        let mut response = Response::default();
        let mut findings: Vec<Finding> = Vec::new();
        let mut full_sweep: Option<Option<String>> = None;
        let mut recheck: BTreeSet<String> = BTreeSet::new();
        let mut recheck_regions: BTreeSet<String> = BTreeSet::new();
        let mut recheck_account: Option<String> = None;
        for item in items {
            match item {
                Item::Record {
                    record, envelope, ..
                } => {
                    response.events += 1;
                    if response.event_id.is_none() {
                        response.event_id = record
                            .event_id
                            .clone()
                            .or_else(|| envelope.as_ref().and_then(|e| e.id.clone()));
                    }
                    let source = record.event_source.as_deref().unwrap_or_default();
                    let name = record.event_name.as_deref().unwrap_or_default();
                    if !self.engine.is_watched(source, name) {
                        response.ignored += 1;
                        continue;
                    }
                    let event = Event::new(*record, envelope);
                    let needs = self.engine.needs(&event);
                    let foreign = invocation.foreign(event.account());
                    let snapshot = match &foreign {
                        _ if needs.is_empty() => Snapshot::default(),
                        Some(reason) => Snapshot::unavailable(reason.clone()),
                        None => self.reader.snapshot(&needs, self.engine.baseline()).await,
                    };
                    let evaluation = self.engine.evaluate(&event, &snapshot);
                    response.suppressed += evaluation.suppressed as u64;
                    findings.extend(evaluation.findings);
                    if !event.failed() && foreign.is_none() {
                        let profiles = self.engine.rechecks(&event);
                        if !profiles.is_empty() {
                            recheck.extend(profiles.iter().map(|p| p.name.clone()));
                            recheck_regions.extend(event.region().map(str::to_owned));
                            recheck_account =
                                recheck_account.or(event.account().map(str::to_owned));
                        }
                    }
                }
                Item::OtherEvent { envelope, .. } => {
                    response.events += 1;
                    if response.event_id.is_none() {
                        response.event_id = envelope.id.clone();
                    }
                    if is_schedule(&envelope) {
                        full_sweep = Some(envelope.account.clone());
                    } else {
                        response.ignored += 1;
                    }
                }
                Item::Unreadable { reason, position } => {
                    response.unreadable += 1;
                    tracing::warn!(%position, %reason, "unreadable input");
                    findings.extend(self.engine.unreadable("lambda payload", position, &reason));
                }
            }
        }
        let baseline = self.engine.baseline();
        let home = self.reader.sweeper().home_region();
        let sweep = match full_sweep {
            Some(account) => Some(SweepOptions {
                scope: Scope::Full,
                regions: regions(baseline, home, []),
                deadline: sweep_deadline(deadline),
                concurrency: DEFAULT_CONCURRENCY,
                account,
            }),
            None if !recheck.is_empty() => Some(SweepOptions {
                scope: Scope::Profiles(recheck),
                regions: regions(baseline, home, recheck_regions.iter().map(String::as_str)),
                deadline: sweep_deadline(deadline),
                concurrency: DEFAULT_CONCURRENCY,
                account: recheck_account,
            }),
            None => None,
        };
        if let Some(options) = sweep {
            let (state, stats) = self.reader.sweeper().gather(baseline, &options).await;
            let evaluation = self.engine.sweep(&state, chrono::Utc::now());
            response.suppressed += evaluation.suppressed as u64;
            findings.extend(evaluation.findings);
            response.sweep = Some(SweepSummary {
                scope: match &options.scope {
                    Scope::Full => "full".to_owned(),
                    Scope::Profiles(names) => names.iter().cloned().collect::<Vec<_>>().join(","),
                },
                regions: options.regions,
                stats,
            });
        }
        let mut sink = self.sink.lock().await;
        sink.write(&findings).await?;
        response.sink = sink.describe();
        drop(sink);
        for finding in &findings {
            *response.counts.entry(finding.severity).or_default() += 1;
        }
        response.findings = findings.into_iter().map(|f| f.id).collect();
        response.status = if response.sweep.is_some() {
            "swept"
        } else if response.events > response.ignored || response.unreadable > 0 {
            "evaluated"
        } else {
            "ignored"
        };
        response.api_calls = crate::aws::difference(&before, &self.calls.snapshot());
        Ok(response)
    }
}

/// The EventBridge schedule that runs the full sweep.
fn is_schedule(envelope: &crate::decode::Envelope) -> bool {
    envelope.source.as_deref() == Some("aws.events")
        && envelope.detail_type.as_deref() == Some("Scheduled Event")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn defaults_need_no_environment() {
        let s = Settings::from_env(&env(&[]), None).unwrap();
        assert_eq!(s.sink, SinkKind::CloudWatch);
        assert_eq!(s.log_group, "/rolewarden/findings");
        assert_eq!(s.cache_ttl.as_secs(), 300);
        assert_eq!(s.baseline, BaselineSource::Embedded);
        assert!(s.load_baseline().is_ok());
    }

    #[test]
    fn bad_settings_name_the_variable() {
        let e = Settings::from_env(&env(&[("FINDINGS_SINK", "s3")]), None).unwrap_err();
        assert!(e.to_string().starts_with("FINDINGS_SINK: "), "{e}");
        let e =
            Settings::from_env(&env(&[("ROLEWARDEN_CACHE_TTL_SECONDS", "5m")]), None).unwrap_err();
        assert!(
            e.to_string().contains("ROLEWARDEN_CACHE_TTL_SECONDS"),
            "{e}"
        );
    }

    #[test]
    fn an_invalid_baseline_fails_with_key_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rolewarden.toml");
        std::fs::write(
            &path,
            "orphan_after_days = 90\n[rules]\ndisabled = [\"PR999\"]\n",
        )
        .unwrap();
        // Packaged beside the binary: found without any variable.
        let s = Settings::from_env(&env(&[]), Some(dir.path())).unwrap();
        assert_eq!(s.baseline, BaselineSource::File(path.clone()));
        let e = s.load_baseline().unwrap_err().to_string();
        assert!(e.contains("PR999") && e.contains("line 3"), "{e}");
        // ROLEWARDEN_BASELINE wins over the packaged file.
        let s = Settings::from_env(
            &env(&[("ROLEWARDEN_BASELINE", "/nowhere.toml")]),
            Some(dir.path()),
        )
        .unwrap();
        let e = s.load_baseline().unwrap_err().to_string();
        assert!(e.contains("/nowhere.toml"), "{e}");
    }

    #[test]
    fn deadlines_are_wall_clock_or_a_duration() {
        let now = Instant::now();
        let now_ms = 1_795_416_915_680;
        let wall = deadline_from(now_ms + 30_000, now_ms, now).unwrap();
        assert_eq!(wall.duration_since(now), Duration::from_secs(30));
        let relative = deadline_from(600_000, now_ms, now).unwrap();
        assert_eq!(relative.duration_since(now), Duration::from_secs(600));
        let passed = deadline_from(now_ms - 5, now_ms, now).unwrap();
        assert_eq!(passed, now);
        assert_eq!(deadline_from(0, now_ms, now), None);
        // A bogus header must not panic by overflowing the clock.
        let _ = deadline_from(u64::MAX, 0, now);
    }

    #[test]
    fn the_home_account_comes_from_the_function_arn() {
        let i = Invocation::from_context(0, "arn:aws:lambda:us-east-1:111122223333:function:rw");
        assert_eq!(i.account.as_deref(), Some("111122223333"));
        assert!(i.foreign(Some("111122223333")).is_none());
        let why = i.foreign(Some("444455556666")).unwrap();
        assert!(
            why.contains("444455556666") && why.contains("111122223333"),
            "{why}"
        );
        // cargo lambda's emulator sends no ARN: then nothing is foreign.
        let emulated = Invocation::from_context(0, "function-arn");
        assert!(emulated.account.is_none());
        assert!(emulated.foreign(Some("444455556666")).is_none());
    }

    #[test]
    fn sink_failures_are_retryable() {
        let e = HandlerError::Sink(SinkError::CloudWatch {
            group: "g".into(),
            stream: "s".into(),
            unwritten: 3,
            written: 2,
            reason: "boom".into(),
        });
        let d = Diagnostic::from(e);
        assert_eq!(d.error_type, "Retryable");
        assert_eq!(
            d.error_message,
            "findings were not written: cannot write 3 findings to log group `g`, stream `s` (2 written before): boom"
        );
    }
}
