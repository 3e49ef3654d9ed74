//! The Lambda function: one invocation is one payload (an EventBridge event, a raw CloudTrail
//! record, a log file's `{"Records": [...]}`, any JSON). Decode, enrich, evaluate, sweep the
//! account when the payload asks (the schedule, a delete event), write, answer a small summary. `src/bin/bootstrap.rs` builds an [`App`] once and hands every invocation to
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

use crate::account::{Needs, Snapshot};
use crate::aws::accounts::{Accounts, ReaderRole};
use crate::aws::gather::{regions, SweepOptions, SweepStats, DEFAULT_CONCURRENCY};
use crate::aws::logs::DEFAULT_LOG_GROUP;
use crate::aws::organization::{parse_accounts, PlanError, Planner, SweepRequest};
use crate::aws::CallCounter;
use crate::baseline::Baseline;
use crate::decode::{read_slice_selecting, Item, Options, Position};
use crate::engine::{Engine, Evaluation};
use crate::finding::{Finding, Severity};
use crate::load::{BaselineSource, LoadError};
use crate::log_events::{FindingsFormat, UnknownFormat};
use crate::pipeline::{Admitted, Enrichment, Pipeline, Summary};
pub use crate::sink::SinkKind;
use crate::sink::{parse_kinds, Sink, SinkError};
// --- finding state (issue 16 lifecycle) ---
use crate::aws::state_table::{StateError, StateTable};
use crate::lifecycle::{prepare, Observed, Store, SweepRun};
// ---
use crate::state::AccountState;
use crate::state::Scope;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};

mod trail;

/// Where the function's settings come from: its environment, read once at init.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `FINDINGS_SINK`: `cloudwatch` (default), `stdout`, `securityhub`, or several,
    /// comma-separated (`cloudwatch,securityhub`), written in that order.
    pub sinks: Vec<SinkKind>,
    /// `FINDINGS_LOG_GROUP`, default `/rolewarden/findings`.
    pub log_group: String,
    /// `ROLEWARDEN_CACHE_TTL_SECONDS`, default 300.
    pub cache_ttl: std::time::Duration,
    /// `ROLEWARDEN_BASELINE`, else `rolewarden.toml` packaged beside the binary, else embedded.
    pub baseline: BaselineSource,
    /// `READER_ROLE_NAME` (and `READER_EXTERNAL_ID`): the role assumed in every other account,
    /// for enrichment and sweeps. Unset: only the function's own account is read.
    pub reader_role: Option<ReaderRole>,
    /// `SWEEP_QUEUE_URL`: when set, the schedule plans the organization sweep (one message per
    /// account on this queue) instead of sweeping the function's own account.
    pub sweep_queue_url: Option<String>,
    /// `SWEEP_ACCOUNTS`: the accounts the plan covers (comma-separated); empty: the
    /// organization's ACTIVE accounts (`organizations:ListAccounts`).
    pub sweep_accounts: Vec<String>,
    /// `FINDINGS_FORMAT`: `json` (default, the README's finding) or `ocsf` (an OCSF Detection
    /// Finding), for every sink.
    pub format: FindingsFormat,
    /// `STATE_TABLE`: the DynamoDB table of finding state; unset: no state, no `status`.
    pub state_table: Option<String>,
}

/// A setting the function cannot start with.
#[derive(Debug, Error)]
pub enum InitError {
    #[error("{variable}: {message}")]
    Setting {
        variable: &'static str,
        message: String,
    },
    #[error(transparent)]
    Baseline(#[from] LoadError),
}

impl Settings {
    /// Reads the settings from `env` (the process environment in the function; a map in tests).
    /// `package_dir` is where a packaged `rolewarden.toml` would be (`LAMBDA_TASK_ROOT`).
    pub fn from_env(
        env: &dyn Fn(&str) -> Option<String>,
        package_dir: Option<&Path>,
    ) -> Result<Self, InitError> {
        let sinks = match env("FINDINGS_SINK").filter(|s| !s.trim().is_empty()) {
            None => vec![SinkKind::CloudWatch],
            Some(text) => parse_kinds(&text).map_err(|message| InitError::Setting {
                variable: "FINDINGS_SINK",
                message,
            })?,
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
        let set = |variable: &str| env(variable).filter(|v| !v.trim().is_empty());
        let reader_role = set("READER_ROLE_NAME").map(|name| ReaderRole {
            name: name.trim().to_owned(),
            external_id: set("READER_EXTERNAL_ID"),
        });
        let sweep_accounts = match set("SWEEP_ACCOUNTS") {
            None => Vec::new(),
            Some(text) => parse_accounts(&text).map_err(|message| InitError::Setting {
                variable: "SWEEP_ACCOUNTS",
                message,
            })?,
        };
        // FINDINGS_FORMAT (issue 16's OCSF output).
        let format = match set("FINDINGS_FORMAT") {
            None => FindingsFormat::Json,
            Some(text) => text
                .parse()
                .map_err(|e: UnknownFormat| InitError::Setting {
                    variable: "FINDINGS_FORMAT",
                    message: e.to_string(),
                })?,
        };
        Ok(Settings {
            format,
            sinks,
            log_group,
            cache_ttl,
            baseline,
            reader_role,
            sweep_queue_url: set("SWEEP_QUEUE_URL"),
            sweep_accounts,
            state_table: set("STATE_TABLE").map(|t| t.trim().to_owned()),
        })
    }

    /// Loads and validates the baseline; an invalid one is an error naming the key and line.
    pub fn load_baseline(&self) -> Result<Baseline, InitError> {
        Ok(self.baseline.load(chrono::Utc::now().date_naive())?)
    }
}

/// Why an invocation failed. `error_type` is stable: alarms and retry policies key on it.
#[derive(Debug, Error)]
pub enum HandlerError {
    #[error("findings were not written: {0}")]
    Sink(#[from] SinkError),
    /// The organization sweep was not planned: no account list, or the queue refused.
    #[error("the organization sweep was not planned: {0}")]
    Plan(#[from] PlanError),
    /// Finding state could not be read (nothing was written) or stored (the findings were).
    #[error("finding state: {0}")]
    State(#[from] StateError),
    /// A new trail log file could not be read for now (throttled, unreachable): read it again.
    #[error("{0}")]
    Object(String),
}

impl HandlerError {
    pub fn error_type(&self) -> &'static str {
        match self {
            HandlerError::Sink(_)
            | HandlerError::Plan(_)
            | HandlerError::State(_)
            | HandlerError::Object(_) => "Retryable",
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
    /// Ids of the `resolved` records written after them, when finding state is kept.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resolved: Vec<String>,
    pub counts: BTreeMap<Severity, u64>,
    pub suppressed: u64,
    /// AWS API calls this invocation made, by `service:Operation`.
    pub api_calls: BTreeMap<String, u64>,
    /// Where the findings went.
    pub sink: String,
    /// The account sweep, when the payload was the schedule or a delete event that re-checks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepSummary>,
    /// The accounts the schedule queued for the organization sweep (`status` `planned`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub planned: Vec<String>,
}

impl Response {
    /// What a run read and wrote: the answer of an evaluated payload or log file, which the
    /// caller marks further when it also swept or planned.
    fn of_run(
        summary: Summary,
        event_id: Option<String>,
        written: Written,
        api_calls: BTreeMap<String, u64>,
    ) -> Self {
        Response {
            status: if summary.events > summary.ignored || summary.unreadable > 0 {
                "evaluated"
            } else {
                "ignored"
            },
            event_id,
            events: summary.events,
            ignored: summary.ignored,
            unreadable: summary.unreadable,
            findings: written.findings.into_iter().map(|f| f.id).collect(),
            resolved: written.resolved.into_iter().map(|f| f.id).collect(),
            counts: summary.findings,
            suppressed: summary.suppressed,
            api_calls,
            sink: written.sink,
            ..Response::default()
        }
    }
}

/// What the function answers: a summary, or for an SQS batch the partial-failure answer
/// Lambda reads (`ReportBatchItemFailures`): the messages to deliver again.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Answer {
    Summary(Box<Response>),
    Batch(SqsBatchResponse),
    /// S3 Batch Operations: a result code per task.
    Tasks(aws_lambda_events::s3::batch_job::S3BatchJobResponse),
}

impl Answer {
    /// For the invocation's log line.
    pub fn status(&self) -> &'static str {
        match self {
            Answer::Summary(r) => r.status,
            Answer::Batch(_) => "batch",
            Answer::Tasks(_) => "tasks",
        }
    }

    /// The first event's id, for a summary.
    pub fn event_id(&self) -> Option<&str> {
        match self {
            Answer::Summary(r) => r.event_id.as_deref(),
            Answer::Batch(_) | Answer::Tasks(_) => None,
        }
    }

    pub fn findings(&self) -> usize {
        match self {
            Answer::Summary(r) => r.findings.len(),
            Answer::Batch(_) | Answer::Tasks(_) => 0,
        }
    }
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
}

/// What the function reads of the account: enrichment and sweeps. The real one is
/// [`Accounts`] (IAM, Lex, Connect, through reader roles); the handler's unit tests use a fixed state.
#[allow(
    async_fn_in_trait,
    reason = "implemented by concrete types and awaited on one current-thread runtime: no Send bound is wanted"
)]
pub trait AccountSource {
    /// Everything `needs` names, read from the account.
    async fn snapshot(&self, needs: &Needs, baseline: &Baseline) -> Snapshot;
    /// A sweep of the account as `options` scope it.
    async fn sweep(
        &self,
        baseline: &Baseline,
        options: &SweepOptions,
    ) -> (AccountState, SweepStats);
    /// The region the function runs in (sweeps list dependents there by default).
    fn home_region(&self) -> Option<String>;
    /// Whether accounts other than the function's own are read (a reader role is set): then
    /// every event is enriched, from its own account.
    fn reads_other_accounts(&self) -> bool {
        false
    }
    /// The function's own account, from the invocation (saves asking STS).
    fn know_home(&self, _account: &str) {}
}

impl AccountSource for Accounts {
    async fn snapshot(&self, needs: &Needs, baseline: &Baseline) -> Snapshot {
        Accounts::snapshot(self, needs, baseline).await
    }
    async fn sweep(
        &self,
        baseline: &Baseline,
        options: &SweepOptions,
    ) -> (AccountState, SweepStats) {
        Accounts::sweep(self, baseline, options).await
    }
    fn home_region(&self) -> Option<String> {
        Accounts::home_region(self)
    }
    fn reads_other_accounts(&self) -> bool {
        self.role().is_some()
    }
    fn know_home(&self, account: &str) {
        self.set_home(account);
    }
}

/// Where the function writes findings: every one, or an error.
#[allow(
    async_fn_in_trait,
    reason = "implemented by concrete types and awaited on one current-thread runtime: no Send bound is wanted"
)]
pub trait FindingSink {
    async fn write(&mut self, findings: &[Finding]) -> Result<(), SinkError>;
    /// Where findings go, for the invocation's answer.
    fn describe(&self) -> String;
}

impl FindingSink for Sink {
    async fn write(&mut self, findings: &[Finding]) -> Result<(), SinkError> {
        Sink::write(self, findings).await
    }
    fn describe(&self) -> String {
        Sink::describe(self)
    }
}

/// What a payload asks to sweep: the schedule asks for everything, a delete event for the
/// profiles whose dependents it deleted.
#[derive(Debug, Default)]
struct SweepPlan {
    /// The schedule ran, with the account its event named.
    full: Option<Option<String>>,
    profiles: BTreeSet<String>,
    regions: BTreeSet<String>,
    account: Option<String>,
}

impl SweepPlan {
    fn options(
        self,
        baseline: &Baseline,
        home_region: Option<String>,
        deadline: Option<Instant>,
    ) -> Option<SweepOptions> {
        let (scope, extra, account) = match self.full {
            Some(account) => (Scope::Full, BTreeSet::new(), account),
            None if !self.profiles.is_empty() => {
                (Scope::Profiles(self.profiles), self.regions, self.account)
            }
            None => return None,
        };
        Some(SweepOptions {
            scope,
            regions: regions(baseline, home_region, extra.iter().map(String::as_str)),
            deadline: sweep_deadline(deadline),
            concurrency: DEFAULT_CONCURRENCY,
            account,
        })
    }
}

/// What evaluating a payload gave, before any sweep.
struct Evaluated {
    summary: Summary,
    findings: Vec<Finding>,
    /// What can resolve stored findings (empty without state).
    observed: Observed,
    plan: SweepPlan,
    event_id: Option<String>,
}

/// The state of one run of items through the pipeline ([`App::step`]).
struct Steps<'e> {
    pipeline: Pipeline<'e>,
    /// Names the input in RW000 findings.
    origin: String,
    findings: Vec<Finding>,
    plan: SweepPlan,
    event_id: Option<String>,
}

impl Steps<'_> {
    fn finish(mut self) -> Evaluated {
        Evaluated {
            observed: self.pipeline.take_observed(),
            summary: self.pipeline.summary,
            findings: self.findings,
            plan: self.plan,
            event_id: self.event_id,
        }
    }
}

/// Everything built once per container.
pub struct App<A = Accounts, S = Sink> {
    engine: Engine,
    accounts: A,
    sink: Mutex<S>,
    calls: CallCounter,
    /// The organization sweep's planner, when `SWEEP_QUEUE_URL` is set.
    planner: Option<Planner>,
    /// `SWEEP_ACCOUNTS`.
    sweep_accounts: Vec<String>,
    /// Reads CloudTrail log files from S3 (trail notifications, Batch Operations).
    trail: Option<crate::aws::s3::TrailReader>,
    /// `STATE_TABLE`: finding state, when kept.
    state: Option<StateTable>,
}

/// What an invocation wrote.
struct Written {
    sink: String,
    findings: Vec<Finding>,
    resolved: Vec<Finding>,
}

impl App {
    /// The real function: IAM, Lex and Connect read through `config`, findings written to the
    /// sink `settings` names.
    pub fn new(engine: Engine, config: &SdkConfig, settings: &Settings) -> Self {
        let calls = CallCounter::default();
        let accounts = Accounts::new(
            config,
            &calls,
            settings.cache_ttl,
            engine.baseline(),
            None,
            settings.reader_role.clone(),
        );
        let planner = settings
            .sweep_queue_url
            .as_deref()
            .map(|url| Planner::new(config, &calls, url));
        let sink = Sink::build(
            &settings.sinks,
            config,
            &calls,
            &settings.log_group,
            settings.format,
        );
        let state = settings
            .state_table
            .as_deref()
            .map(|table| StateTable::new(config, &calls, table));
        let mut app = App::with_parts(engine, accounts, sink, calls);
        app.planner = planner;
        app.sweep_accounts = settings.sweep_accounts.clone();
        app.state = state;
        app.trail = Some(crate::aws::s3::TrailReader::new(config, &app.calls));
        app
    }
}

impl<A: AccountSource, S: FindingSink> App<A, S> {
    /// An app over any account source and sink; `calls` counts their API calls, if any.
    pub fn with_parts(engine: Engine, accounts: A, sink: S, calls: CallCounter) -> Self {
        App {
            engine,
            accounts,
            sink: Mutex::new(sink),
            calls,
            planner: None,
            sweep_accounts: Vec::new(),
            state: None,
            trail: None,
        }
    }

    /// Keeps finding state in `table`: findings carry `status`, resolved records are written.
    pub fn with_state(mut self, table: StateTable) -> Self {
        self.state = Some(table);
        self
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn calls(&self) -> &CallCounter {
        &self.calls
    }

    /// One invocation: `payload` is the raw JSON Lambda delivered. An SQS batch is taken
    /// message by message; anything else is one payload for [`App::handle`].
    pub async fn invoke(
        &self,
        payload: &[u8],
        invocation: &Invocation,
    ) -> Result<Answer, HandlerError> {
        // CloudTrail from S3 (issue 17): Batch Operations tasks and "Object Created" events.
        match trail::s3_input(payload) {
            Some(trail::S3Input::Tasks(job)) => {
                return Ok(Answer::Tasks(self.handle_tasks(job, invocation).await));
            }
            Some(trail::S3Input::Created(object)) => {
                return self
                    .handle_created(object, invocation)
                    .await
                    .map(|r| Answer::Summary(Box::new(r)));
            }
            None => {}
        }
        match sqs_event(payload) {
            Some(batch) => Ok(Answer::Batch(self.handle_batch(batch, invocation).await)),
            None => self
                .handle(payload, invocation)
                .await
                .map(|r| Answer::Summary(Box::new(r))),
        }
    }

    /// An SQS batch: each message is a sweep request (the organization sweep's queue) or a
    /// payload for [`App::handle`]. A message fails, and SQS delivers it again, only when its
    /// findings could not be written; an account that cannot be read is an RW002 finding.
    async fn handle_batch(&self, batch: SqsEvent, invocation: &Invocation) -> SqsBatchResponse {
        let mut answer = SqsBatchResponse::default();
        let total = batch.records.len();
        for (i, message) in batch.records.into_iter().enumerate() {
            let id = message.message_id.unwrap_or_default();
            let body = message.body.unwrap_or_default();
            // Each message gets an equal share of the time left, so a slow account cannot
            // leave the last messages of the batch no time at all.
            let share = Invocation {
                deadline: invocation.deadline.map(|d| {
                    let now = Instant::now();
                    let left = u32::try_from(total - i).unwrap_or(u32::MAX).max(1);
                    now + d.saturating_duration_since(now) / left
                }),
                account: invocation.account.clone(),
            };
            let outcome = match SweepRequest::parse(&body) {
                Some(Ok(request)) => self.sweep_account(request, &share).await,
                Some(Err(reason)) => self.unreadable_message(&id, &reason).await,
                None => self.handle(body.as_bytes(), &share).await,
            };
            match outcome {
                Ok(r) => tracing::info!(
                    message_id = %id,
                    status = r.status,
                    findings = r.findings.len(),
                    "message done"
                ),
                Err(e) => {
                    tracing::error!(message_id = %id, error_type = e.error_type(), "{e}");
                    answer.add_failure(id);
                }
            }
        }
        answer
    }

    /// One account of the organization sweep, read through its reader role.
    async fn sweep_account(
        &self,
        request: SweepRequest,
        invocation: &Invocation,
    ) -> Result<Response, HandlerError> {
        self.learn_home(invocation);
        let before = self.calls.snapshot();
        let regions = if request.regions.is_empty() {
            regions(self.engine.baseline(), self.accounts.home_region(), [])
        } else {
            request.regions
        };
        let options = SweepOptions {
            scope: Scope::Full,
            regions,
            deadline: sweep_deadline(invocation.deadline),
            concurrency: DEFAULT_CONCURRENCY,
            account: Some(request.account),
        };
        let (evaluation, swept, run) = self.sweep(options).await;
        let observed = Observed {
            sweeps: vec![run],
            ..Observed::default()
        };
        let mut counts = BTreeMap::new();
        for finding in &evaluation.findings {
            *counts.entry(finding.severity).or_default() += 1;
        }
        let written = self.write_all(evaluation.findings, &observed).await?;
        let sink = written.sink;
        Ok(Response {
            status: "swept",
            counts,
            suppressed: evaluation.suppressed as u64,
            findings: written.findings.into_iter().map(|f| f.id).collect(),
            resolved: written.resolved.into_iter().map(|f| f.id).collect(),
            api_calls: crate::aws::difference(&before, &self.calls.snapshot()),
            sink,
            sweep: Some(swept),
            ..Response::default()
        })
    }

    /// A message that says it is a sweep request but cannot be one: an RW000 finding.
    async fn unreadable_message(&self, id: &str, reason: &str) -> Result<Response, HandlerError> {
        let origin = format!("sqs message {id}");
        let findings: Vec<Finding> = self
            .engine
            .unreadable(&origin, Position::default(), reason)
            .into_iter()
            .collect();
        let written = self.write_all(findings, &Observed::default()).await?;
        Ok(Response {
            status: "evaluated",
            unreadable: 1,
            findings: written.findings.into_iter().map(|f| f.id).collect(),
            sink: written.sink,
            ..Response::default()
        })
    }

    fn learn_home(&self, invocation: &Invocation) {
        if let Some(account) = invocation.account.as_deref() {
            self.accounts.know_home(account);
        }
    }

    /// The organization sweep's plan: one message per account on the sweep queue.
    async fn plan_sweep(&self, planner: &Planner) -> Result<Vec<String>, HandlerError> {
        let accounts = if self.sweep_accounts.is_empty() {
            planner.organization_accounts().await?
        } else {
            self.sweep_accounts.clone()
        };
        let home_region = self.accounts.home_region();
        let regions = regions(self.engine.baseline(), home_region.clone(), []);
        let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let requests: Vec<SweepRequest> = accounts
            .iter()
            .map(|account| SweepRequest {
                account: account.clone(),
                regions: regions.clone(),
                time: time.clone(),
            })
            .collect();
        planner.enqueue(&requests, home_region.as_deref()).await?;
        Ok(accounts)
    }

    /// One payload: evaluate, sweep (or plan the organization sweep) if the payload asks,
    /// write, answer.
    pub async fn handle(
        &self,
        payload: &[u8],
        invocation: &Invocation,
    ) -> Result<Response, HandlerError> {
        self.learn_home(invocation);
        let before = self.calls.snapshot();
        let Evaluated {
            mut summary,
            mut findings,
            mut observed,
            plan,
            event_id,
        } = self.evaluate(payload, invocation).await;
        let mut planned = Vec::new();
        let sweep = match (&self.planner, plan.full.is_some()) {
            (Some(planner), true) => {
                planned = self.plan_sweep(planner).await?;
                None
            }
            _ => match plan.options(
                self.engine.baseline(),
                self.accounts.home_region(),
                invocation.deadline,
            ) {
                Some(options) => {
                    let (evaluation, swept, run) = self.sweep(options).await;
                    observed.sweeps.push(run);
                    for finding in &evaluation.findings {
                        *summary.findings.entry(finding.severity).or_default() += 1;
                    }
                    summary.suppressed += evaluation.suppressed as u64;
                    findings.extend(evaluation.findings);
                    Some(swept)
                }
                None => None,
            },
        };
        let written = self.write_all(findings, &observed).await?;
        let api_calls = crate::aws::difference(&before, &self.calls.snapshot());
        let mut response = Response::of_run(summary, event_id, written, api_calls);
        if sweep.is_some() {
            response.status = "swept";
        } else if !planned.is_empty() {
            response.status = "planned";
        }
        response.sweep = sweep;
        response.planned = planned;
        Ok(response)
    }

    /// Every item of the payload through the pipeline; enrichment reads the function's own
    /// account only. Collects what the payload asks to sweep.
    async fn evaluate(&self, payload: &[u8], invocation: &Invocation) -> Evaluated {
        let mut items = Vec::new();
        let mut steps = self.start(invocation, "lambda payload".to_owned());
        let selector = steps.pipeline.selector();
        let select = |source: &str, name: &str| selector.reads_whole(source, name);
        // Malformed JSON arrives as Item::Unreadable; an error here means bytes that cannot be
        // read at all (a corrupt gzip stream): kept as an RW000 finding too, never dropped.
        let read = read_slice_selecting(payload, &Options::default(), Some(&select), &mut |item| {
            items.push(item)
        });
        if let Err(e) = read {
            items.push(Item::Unreadable {
                reason: format!("cannot read the payload: {e}"),
                position: Position::default(),
            });
        }
        for item in items {
            self.step(&mut steps, item).await;
        }
        steps.finish()
    }

    /// A run of items through the pipeline (a payload's, an S3 object's).
    fn start(&self, invocation: &Invocation, origin: String) -> Steps<'_> {
        // With a reader role every account is read from its own credentials; without one only
        // the function's own account is, and an event from another is judged from itself.
        let home = if self.accounts.reads_other_accounts() {
            None
        } else {
            invocation.account.clone()
        };
        let mut pipeline = Pipeline::new(&self.engine).enriching(home);
        if self.state.is_some() {
            pipeline = pipeline.tracking();
        }
        Steps {
            pipeline,
            origin,
            findings: Vec::new(),
            plan: SweepPlan::default(),
            event_id: None,
        }
    }

    /// One item through the pipeline: enriched, evaluated, its findings kept.
    async fn step(&self, steps: &mut Steps<'_>, item: Item) {
        let Steps {
            pipeline,
            origin,
            findings,
            plan,
            event_id,
        } = steps;
        match pipeline.admit(item, origin) {
            Admitted::Watched { event, needs } => {
                if event_id.is_none() {
                    *event_id = event.id().map(str::to_owned);
                }
                let enrichment = pipeline.enrichment(&needs);
                let snapshot = match &enrichment {
                    Enrichment::NotNeeded => Snapshot::default(),
                    Enrichment::Unavailable(reason) => Snapshot::unavailable(reason.clone()),
                    Enrichment::Fetch => {
                        self.accounts.snapshot(&needs, self.engine.baseline()).await
                    }
                };
                findings.extend(pipeline.evaluate(&event, &snapshot).findings);
                // Re-checks read the function's own account only, like enrichment.
                if !event.failed() && pipeline.foreign(event.account()).is_none() {
                    let profiles = self.engine.rechecks(&event);
                    if !profiles.is_empty() {
                        plan.profiles
                            .extend(profiles.iter().map(|p| p.name.clone()));
                        plan.regions.extend(event.region().map(str::to_owned));
                        plan.account = plan.account.take().or(event.account().map(str::to_owned));
                    }
                }
            }
            Admitted::Unwatched { id } => {
                if event_id.is_none() {
                    *event_id = id;
                }
            }
            Admitted::Repeated => {}
            Admitted::Other { envelope } => {
                if event_id.is_none() {
                    *event_id = envelope.id.clone();
                }
                if is_schedule(&envelope) {
                    plan.full = Some(envelope.account.clone());
                } else {
                    pipeline.ignore();
                }
            }
            Admitted::Unreadable {
                position,
                reason,
                finding,
            } => {
                tracing::warn!(%origin, %position, %reason, "unreadable input");
                findings.extend(finding.map(|f| *f));
            }
        }
    }

    /// The sweep a payload asked for, judged by the sweep rules.
    async fn sweep(&self, options: SweepOptions) -> (Evaluation, SweepSummary, SweepRun) {
        let (state, stats) = self.accounts.sweep(self.engine.baseline(), &options).await;
        let evaluation = self.engine.sweep(&state, chrono::Utc::now());
        let run = SweepRun::new(
            &state,
            &evaluation,
            options.account.as_deref(),
            self.engine.baseline(),
        );
        let summary = SweepSummary {
            scope: match &options.scope {
                Scope::Full => "full".to_owned(),
                Scope::Profiles(names) => names.iter().cloned().collect::<Vec<_>>().join(","),
            },
            regions: options.regions,
            stats,
        };
        (evaluation, summary, run)
    }

    /// Writes every finding, or fails. With finding state: reads it, writes the findings with
    /// their status and then the resolved records, and stores the state only once the sink
    /// took everything, so a failed write (retried) does not turn a `new` into an `open`.
    async fn write_all(
        &self,
        findings: Vec<Finding>,
        observed: &Observed,
    ) -> Result<Written, HandlerError> {
        let Some(table) = &self.state else {
            let sink = self.write(&findings).await?;
            return Ok(Written {
                sink,
                findings,
                resolved: Vec::new(),
            });
        };
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let plan = prepare(table, findings, observed, &now).await?;
        let sink = self.write(&plan.written()).await?;
        table.put(&plan.records).await?;
        Ok(Written {
            sink,
            findings: plan.findings,
            resolved: plan.resolved,
        })
    }

    /// Writes every finding, or fails the invocation; says where they went.
    async fn write(&self, findings: &[Finding]) -> Result<String, HandlerError> {
        let mut sink = self.sink.lock().await;
        sink.write(findings).await?;
        Ok(sink.describe())
    }
}

/// The payload as an SQS batch, when it is one (every record from `aws:sqs`): a CloudTrail log
/// file is also `{"Records": [...]}`.
fn sqs_event(payload: &[u8]) -> Option<SqsEvent> {
    memchr::memmem::find(payload, b"aws:sqs")?;
    let event: SqsEvent = serde_json::from_slice(payload).ok()?;
    let all_sqs = !event.records.is_empty()
        && event
            .records
            .iter()
            .all(|r| r.event_source.as_deref() == Some("aws:sqs"));
    all_sqs.then_some(event)
}

/// The EventBridge schedule that runs the full sweep.
fn is_schedule(envelope: &crate::decode::Envelope) -> bool {
    envelope.source.as_deref() == Some("aws.events")
        && envelope.detail_type.as_deref() == Some("Scheduled Event")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::logs::WriteError;
    use crate::aws::{AwsError, ErrorKind};

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
        assert_eq!(s.sinks, vec![SinkKind::CloudWatch]);
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
        // cargo lambda's emulator sends no ARN: then no account is foreign.
        let emulated = Invocation::from_context(0, "function-arn");
        assert!(emulated.account.is_none());
    }

    /// An account that answers every lookup from a fixed snapshot and every sweep with a fixed
    /// state, counting what it was asked.
    #[derive(Default)]
    struct FixedAccount {
        snapshot: Snapshot,
        state: AccountState,
        snapshots: std::cell::Cell<u32>,
        sweeps: std::cell::RefCell<Vec<SweepOptions>>,
    }

    impl AccountSource for FixedAccount {
        async fn snapshot(&self, _needs: &Needs, _baseline: &Baseline) -> Snapshot {
            self.snapshots.set(self.snapshots.get() + 1);
            self.snapshot.clone()
        }
        async fn sweep(
            &self,
            _baseline: &Baseline,
            options: &SweepOptions,
        ) -> (AccountState, SweepStats) {
            self.sweeps.borrow_mut().push(options.clone());
            let mut state = self.state.clone();
            state.account = options.account.clone().or(state.account);
            (state, SweepStats::default())
        }
        fn home_region(&self) -> Option<String> {
            Some("us-east-1".into())
        }
    }

    /// A sink that keeps what it is given, or fails (always, or for one account's findings).
    #[derive(Default)]
    struct Kept {
        findings: Vec<Finding>,
        fail: bool,
        fail_for: Option<String>,
    }

    impl FindingSink for Kept {
        async fn write(&mut self, findings: &[Finding]) -> Result<(), SinkError> {
            let refused = self.fail_for.as_deref().is_some_and(|account| {
                findings
                    .iter()
                    .any(|f| f.account.as_deref() == Some(account))
            });
            if self.fail || refused {
                return Err(SinkError::Stdout(std::io::Error::other("disk full")));
            }
            self.findings.extend_from_slice(findings);
            Ok(())
        }
        fn describe(&self) -> String {
            "kept".into()
        }
    }

    fn app(accounts: FixedAccount, sink: Kept) -> App<FixedAccount, Kept> {
        let engine = Engine::new(Baseline::embedded().unwrap());
        App::with_parts(engine, accounts, sink, CallCounter::default())
    }

    fn sample(name: &str) -> Vec<u8> {
        std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("events")
                .join(name),
        )
        .unwrap()
    }

    fn home(account: &str) -> Invocation {
        Invocation {
            deadline: None,
            account: Some(account.into()),
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_watched_event_is_evaluated_enriched_and_written() {
        let app = app(FixedAccount::default(), Kept::default());
        let payload = sample("pr006-fires-lexv2-createbot-overprivileged-role.json");
        let response = app.handle(&payload, &home("111122223333")).await.unwrap();
        assert_eq!(response.status, "evaluated");
        assert_eq!(response.events, 1);
        assert_eq!(
            app.accounts.snapshots.get(),
            1,
            "PR006 reads the passed role"
        );
        let kept = app.sink.lock().await;
        let written: Vec<&str> = kept.findings.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(response.findings, written);
        assert!(
            kept.findings.iter().any(|f| f.rule_id == "PR005"),
            "{written:?}"
        );
        assert_eq!(response.sink, "kept");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn another_accounts_event_is_not_enriched_and_says_why() {
        let app = app(FixedAccount::default(), Kept::default());
        let payload = sample("pr006-fires-lexv2-createbot-overprivileged-role.json");
        app.handle(&payload, &home("999999999999")).await.unwrap();
        assert_eq!(app.accounts.snapshots.get(), 0);
        let kept = app.sink.lock().await;
        let pr005 = kept.findings.iter().find(|f| f.rule_id == "PR005").unwrap();
        assert!(
            pr005
                .enrichment
                .as_deref()
                .is_some_and(|e| e.contains("enrichment reads account 999999999999 only")),
            "{:?}",
            pr005.enrichment
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_schedule_sweeps_and_a_delete_event_rechecks_its_profile() {
        let app = app(FixedAccount::default(), Kept::default());
        let response = app
            .handle(
                &sample("sweep-scheduled-event.json"),
                &Invocation::default(),
            )
            .await
            .unwrap();
        assert_eq!(response.status, "swept");
        assert_eq!(response.sweep.as_ref().unwrap().scope, "full");
        let response = app
            .handle(
                &sample("recheck-lexv2-deletebot.json"),
                &Invocation::default(),
            )
            .await
            .unwrap();
        assert_eq!(response.status, "swept");
        assert_eq!(response.sweep.as_ref().unwrap().scope, "lex-v2");
        let sweeps = app.accounts.sweeps.borrow();
        assert_eq!(sweeps.len(), 2);
        assert_eq!(
            sweeps[1].scope,
            Scope::Profiles(["lex-v2".to_owned()].into())
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn unreadable_input_is_an_rw000_finding_not_an_error() {
        let app = app(FixedAccount::default(), Kept::default());
        let response = app
            .handle(b"{not json", &Invocation::default())
            .await
            .unwrap();
        assert_eq!(response.unreadable, 1);
        assert_eq!(response.status, "evaluated");
        let kept = app.sink.lock().await;
        assert_eq!(kept.findings.len(), 1);
        assert_eq!(kept.findings[0].rule_id, "RW000");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_failed_write_fails_the_invocation() {
        let sink = Kept {
            fail: true,
            ..Kept::default()
        };
        let app = app(FixedAccount::default(), sink);
        let payload = sample("pr005-fires-lexv2-createbot-unapproved-role.json");
        let e = app
            .handle(&payload, &Invocation::default())
            .await
            .unwrap_err();
        assert_eq!(e.error_type(), "Retryable");
    }

    fn message(id: &str, body: &str) -> serde_json::Value {
        serde_json::json!({
            "messageId": id,
            "receiptHandle": "h",
            "body": body,
            "attributes": {},
            "messageAttributes": {},
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:111122223333:rolewarden-sweep",
            "awsRegion": "us-east-1"
        })
    }

    fn request(account: &str) -> String {
        SweepRequest {
            account: account.into(),
            regions: vec!["eu-west-2".into()],
            time: "2026-11-27T00:00:00Z".into(),
        }
        .to_body(Some("us-east-1"))
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_sqs_batch_fails_only_the_messages_whose_findings_were_not_written() {
        // Every swept account has a gap, so every sweep writes one RW002 finding.
        let accounts = FixedAccount {
            state: AccountState {
                gaps: vec![crate::state::Gap {
                    what: "iam:ListRoles".into(),
                    reason: "AccessDenied".into(),
                    profile: None,
                }],
                ..AccountState::default()
            },
            ..FixedAccount::default()
        };
        let sink = Kept {
            fail_for: Some("444455556666".into()),
            ..Kept::default()
        };
        let app = app(accounts, sink);
        let event =
            String::from_utf8(sample("pr005-fires-lexv2-createbot-unapproved-role.json")).unwrap();
        let bad = r#"{"source":"rolewarden","detail-type":"Account Sweep","account":"me","time":"t","detail":{}}"#;
        let batch = serde_json::json!({"Records": [
            message("m-1", &request("111122223333")),
            message("m-2", &request("444455556666")),
            message("m-3", &event),
            message("m-4", bad),
        ]});
        let answer = app
            .invoke(batch.to_string().as_bytes(), &Invocation::default())
            .await
            .unwrap();
        let Answer::Batch(batch) = answer else {
            panic!("an SQS event is answered as a batch: {answer:?}");
        };
        let failed: Vec<&str> = batch
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, ["m-2"]);
        // Each request swept its own account, in the regions the message named.
        {
            let sweeps = app.accounts.sweeps.borrow();
            let swept: Vec<Option<&str>> = sweeps.iter().map(|o| o.account.as_deref()).collect();
            assert_eq!(swept, [Some("111122223333"), Some("444455556666")]);
            assert!(sweeps.iter().all(|o| o.regions == ["eu-west-2"]));
        }
        let kept = app.sink.lock().await;
        let rules: Vec<(&str, Option<&str>)> = kept
            .findings
            .iter()
            .map(|f| (f.rule_id.as_str(), f.account.as_deref()))
            .filter(|(rule, _)| matches!(*rule, "RW002" | "RW000"))
            .collect();
        assert_eq!(rules, [("RW002", Some("111122223333")), ("RW000", None)]);
        // The CloudTrail event in a message went through the pipeline like any payload.
        assert!(kept.findings.iter().any(|f| f.rule_id == "PR005"));
        let rw000 = kept.findings.iter().find(|f| f.rule_id == "RW000").unwrap();
        assert!(rw000.message.contains("`me`"), "{}", rw000.message);
    }

    #[test]
    fn only_an_all_sqs_records_payload_is_a_batch() {
        let log_file = br#"{"Records":[{"eventSource":"iam.amazonaws.com","eventName":"GetRole","userAgent":"aws:sqs"}]}"#;
        assert!(sqs_event(log_file).is_none());
        let batch = serde_json::json!({"Records": [message("m", "{}")]}).to_string();
        assert_eq!(sqs_event(batch.as_bytes()).unwrap().records.len(), 1);
    }

    #[test]
    fn organization_settings_are_read_and_checked() {
        let s = Settings::from_env(
            &env(&[
                ("READER_ROLE_NAME", "RolewardenReader"),
                ("READER_EXTERNAL_ID", "ext"),
                ("SWEEP_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/1/q"),
                ("SWEEP_ACCOUNTS", "111122223333, 444455556666"),
            ]),
            None,
        )
        .unwrap();
        assert_eq!(
            s.reader_role,
            Some(ReaderRole {
                name: "RolewardenReader".into(),
                external_id: Some("ext".into())
            })
        );
        assert_eq!(s.sweep_accounts, ["111122223333", "444455556666"]);
        assert!(s.sweep_queue_url.is_some());
        let e = Settings::from_env(&env(&[("SWEEP_ACCOUNTS", "1111")]), None).unwrap_err();
        assert!(e.to_string().starts_with("SWEEP_ACCOUNTS: "), "{e}");
        // Empty means unset (a template's AWS::NoValue or an empty parameter).
        let s = Settings::from_env(&env(&[("READER_ROLE_NAME", " ")]), None).unwrap();
        assert_eq!(s.reader_role, None);
    }

    // --- finding state (issue 16 lifecycle) ---
    #[test]
    fn the_state_table_is_optional() {
        let none = Settings::from_env(&env(&[("STATE_TABLE", " ")]), None).unwrap();
        assert_eq!(none.state_table, None);
        let some = Settings::from_env(&env(&[("STATE_TABLE", "rw-state ")]), None).unwrap();
        assert_eq!(some.state_table.as_deref(), Some("rw-state"));
    }
    // ---

    #[test]
    fn sink_failures_are_retryable() {
        let e = HandlerError::Sink(SinkError::CloudWatch(WriteError::Put {
            group: "g".into(),
            stream: "s".into(),
            unwritten: 3,
            written: 2,
            reason: Box::new(AwsError::new("logs:PutLogEvents", ErrorKind::TimedOut)),
        }));
        let d = Diagnostic::from(e);
        assert_eq!(d.error_type, "Retryable");
        assert_eq!(
            d.error_message,
            "findings were not written: cannot write 3 findings to log group `g`, stream `s` (2 written before): logs:PutLogEvents: timed out"
        );
    }

    // FINDINGS_FORMAT (issue 16's OCSF output).
    #[test]
    fn the_findings_format_is_json_unless_set_to_ocsf() {
        let json = Settings::from_env(&env(&[]), None).unwrap();
        assert_eq!(json.format, FindingsFormat::Json);
        let ocsf = Settings::from_env(&env(&[("FINDINGS_FORMAT", "ocsf")]), None).unwrap();
        assert_eq!(ocsf.format, FindingsFormat::Ocsf);
        let e = Settings::from_env(&env(&[("FINDINGS_FORMAT", "asff")]), None).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("FINDINGS_FORMAT: unknown findings format `asff`"),
            "{e}"
        );
    }
}
