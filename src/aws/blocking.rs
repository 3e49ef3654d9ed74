//! The AWS side for a synchronous caller: the CLI evaluates files on the calling thread and
//! blocks on one current-thread runtime for each IAM read or CloudWatch Logs write.

use std::future::Future;
use std::time::Duration;

use aws_config::SdkConfig;

use super::accounts::{Accounts, ReaderRole};
use super::error::AwsError;
use super::CallCounter;
use crate::finding::Finding;
use crate::log_events::{FindingsFormat, MAX_BATCH_EVENTS};
use crate::sink::{Sink, SinkError, SinkKind};

pub struct Blocking {
    runtime: tokio::runtime::Runtime,
    config: SdkConfig,
    calls: CallCounter,
}

impl Blocking {
    /// Loads the SDK configuration as [`super::load_config`] does (credentials from the
    /// environment, else the default chain: profile, web identity, container, instance role;
    /// `AWS_ENDPOINT_URL` points it elsewhere).
    pub fn new() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let config = runtime.block_on(super::load_config());
        Ok(Blocking {
            runtime,
            config,
            calls: CallCounter::default(),
        })
    }

    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Every account the credentials can read: their own, and the others through `role`.
    pub fn accounts(
        &self,
        ttl: Duration,
        baseline: &crate::baseline::Baseline,
        role: Option<ReaderRole>,
    ) -> Accounts {
        Accounts::new(&self.config, &self.calls, ttl, baseline, None, role)
    }

    pub fn config(&self) -> &SdkConfig {
        &self.config
    }

    pub fn calls(&self) -> &CallCounter {
        &self.calls
    }

    /// The account the credentials belong to (`sts:GetCallerIdentity`, which needs no
    /// permission).
    pub fn home_account(&self) -> Result<String, AwsError> {
        let sts = counted_client!(aws_sdk_sts, &self.config, &self.calls);
        self.block_on(super::caller_account(&sts))
    }

    /// Finding state in a DynamoDB table (`--state dynamodb:TABLE`).
    pub fn state_table(&self, table: &str) -> super::state_table::StateTable {
        super::state_table::StateTable::new(&self.config, &self.calls, table)
    }

    /// The sink `kinds` name (the Lambda's own `FINDINGS_SINK` targets), buffered.
    pub fn sink(&self, kinds: &[SinkKind], group: &str, format: FindingsFormat) -> BufferedWriter {
        BufferedWriter {
            sink: Sink::build(kinds, &self.config, &self.calls, group, format),
            pending: Vec::new(),
            written: 0,
            error: None,
        }
    }
}

/// Findings collected up to one full batch, then written; memory stays bounded on archives.
/// After a failed write nothing more is sent: the first error is kept and reported.
pub struct BufferedWriter {
    sink: Sink,
    pending: Vec<Finding>,
    written: u64,
    error: Option<SinkError>,
}

impl BufferedWriter {
    pub fn push(&mut self, blocking: &Blocking, finding: Finding) {
        if self.error.is_some() {
            return;
        }
        self.pending.push(finding);
        if self.pending.len() >= MAX_BATCH_EVENTS {
            self.flush(blocking);
        }
    }

    fn flush(&mut self, blocking: &Blocking) {
        if self.error.is_some() || self.pending.is_empty() {
            return;
        }
        match blocking.block_on(self.sink.write(&self.pending)) {
            Ok(()) => self.written += self.pending.len() as u64,
            Err(e) => self.error = Some(e),
        }
        self.pending.clear();
    }

    /// Writes what is left; the number written, or the first failure.
    pub fn finish(mut self, blocking: &Blocking) -> Result<u64, (u64, SinkError)> {
        self.flush(blocking);
        match self.error {
            None => Ok(self.written),
            Some(e) => Err((self.written, e)),
        }
    }

    /// Where the findings go (`cloudwatch:GROUP,securityhub`).
    pub fn describe(&self) -> String {
        self.sink.describe()
    }
}
