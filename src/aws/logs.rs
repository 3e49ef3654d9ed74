//! Findings to CloudWatch Logs: one log event per finding (its JSON), a stream per day and
//! container (`YYYY/MM/DD/<instance-id>`), batches cut to PutLogEvents' limits by
//! [`crate::log_events::batches`]. A missing stream or group is created and the call retried once.
//! Every failure is an error: findings are never reported written when they were not.

use std::collections::HashSet;

use aws_config::SdkConfig;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::error::{error_code, AwsError, ErrorKind};
use super::rest_json::{Call, Failure, NoRegion, Request, CLOUDWATCH_LOGS, LOGS_TARGET};
use super::{CallCounter, Lazy};
use crate::finding::Finding;
use crate::log_events::{
    batches, render, stream_name, EncodeError, FindingsFormat, LogLine, MAX_EVENT_BYTES,
};

/// `FINDINGS_LOG_GROUP` when it is not set.
pub const DEFAULT_LOG_GROUP: &str = "/rolewarden/findings";

const PUT: &str = "logs:PutLogEvents";
const CREATE_STREAM: &str = "logs:CreateLogStream";

/// Why findings were not written to the log group.
#[derive(Debug, Error)]
pub enum WriteError {
    #[error(transparent)]
    Encode(#[from] EncodeError),
    #[error("cannot write {unwritten} findings to log group `{group}`, stream `{stream}` ({written} written before): {reason}")]
    Put {
        group: String,
        stream: String,
        /// Findings not written: the failed batch and every batch after it.
        unwritten: usize,
        written: usize,
        #[source]
        reason: Box<AwsError>,
    },
}

/// The three operations the writer makes (awsJson1.1 through [`super::rest_json`]: the
/// generated aws-sdk-cloudwatchlogs crate cost 61 s of release CPU for them).
struct LogsCalls {
    put: Call<PutLogEventsOutput>,
    create_stream: Call<Empty>,
    create_group: Call<Empty>,
}

/// PutLogEvents' input, as the generated serializer writes it (no sequence token: CloudWatch
/// Logs ignores them since 2023).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PutLogEvents<'a> {
    log_group_name: &'a str,
    log_stream_name: &'a str,
    log_events: Vec<InputLogEvent<'a>>,
}

#[derive(Serialize)]
struct InputLogEvent<'a> {
    timestamp: i64,
    message: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogStream<'a> {
    log_group_name: &'a str,
    log_stream_name: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogGroup<'a> {
    log_group_name: &'a str,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PutLogEventsOutput {
    #[serde(default)]
    rejected_log_events_info: Option<RejectedLogEventsInfo>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RejectedLogEventsInfo {
    too_new_log_event_start_index: Option<i64>,
    too_old_log_event_end_index: Option<i64>,
    expired_log_event_end_index: Option<i64>,
}

/// An answer with nothing to read (CreateLogGroup, CreateLogStream).
#[derive(Debug, Deserialize)]
struct Empty {}

pub struct CloudWatchWriter {
    /// Built at the first write (a Lambda that finds nothing never builds them); without a
    /// region every write fails, naming it.
    calls: Lazy<Result<LogsCalls, NoRegion>>,
    group: String,
    instance: String,
    /// Streams known to exist: a first write to a stream that already exists costs nothing
    /// extra, a missing one costs a CreateLogStream and one retry.
    ready: HashSet<String>,
    format: FindingsFormat,
}

impl CloudWatchWriter {
    pub fn new(config: &SdkConfig, calls: &CallCounter, group: &str, instance: &str) -> Self {
        let (config, counter) = (config.clone(), calls.clone());
        CloudWatchWriter {
            calls: super::lazy(move || {
                Ok(LogsCalls {
                    put: Call::new(&config, CLOUDWATCH_LOGS, "PutLogEvents", &counter)?,
                    create_stream: Call::new(
                        &config,
                        CLOUDWATCH_LOGS,
                        "CreateLogStream",
                        &counter,
                    )?,
                    create_group: Call::new(&config, CLOUDWATCH_LOGS, "CreateLogGroup", &counter)?,
                })
            }),
            group: group.to_owned(),
            instance: instance.to_owned(),
            ready: HashSet::new(),
            format: FindingsFormat::Json,
        }
    }

    /// Writes findings in `format` (JSON by default).
    pub fn with_format(mut self, format: FindingsFormat) -> Self {
        self.format = format;
        self
    }

    pub fn group(&self) -> &str {
        &self.group
    }

    /// Writes the findings in order, stamped with the time of writing.
    pub async fn write(&mut self, findings: &[Finding]) -> Result<(), WriteError> {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let lines = findings
            .iter()
            .map(|f| {
                Ok(LogLine {
                    timestamp_ms: now_ms,
                    message: render(f, self.format, now_ms, MAX_EVENT_BYTES)?,
                })
            })
            .collect::<Result<Vec<_>, EncodeError>>()?;
        let total = lines.len();
        let mut written = 0;
        for batch in batches(lines) {
            let stream = stream_name(batch.day, &self.instance);
            if let Err(reason) = self.put(&stream, &batch.lines).await {
                return Err(WriteError::Put {
                    group: self.group.clone(),
                    stream,
                    unwritten: total - written,
                    written,
                    reason: Box::new(reason),
                });
            }
            written += batch.lines.len();
        }
        Ok(())
    }

    /// One batch into one stream; why, when it was not written.
    async fn put(&mut self, stream: &str, lines: &[LogLine]) -> Result<(), AwsError> {
        let calls = match &**self.calls {
            Ok(calls) => calls,
            Err(e) => return Err(AwsError::new(PUT, ErrorKind::NotSent(e.to_string()))),
        };
        let request = || {
            let log_events = lines
                .iter()
                .map(|l| InputLogEvent {
                    timestamp: l.timestamp_ms,
                    message: &l.message,
                })
                .collect();
            Request::aws_json(
                LOGS_TARGET,
                "PutLogEvents",
                &PutLogEvents {
                    log_group_name: &self.group,
                    log_stream_name: stream,
                    log_events,
                },
            )
        };
        if !self.ready.contains(stream) {
            // Each container writes to streams of its own, so a first write always needs the
            // stream created: do it before the write rather than after a failed one.
            create_stream(calls, &self.group, stream).await?;
            self.ready.insert(stream.to_owned());
        }
        let mut answer = calls.put.send(request()).await;
        if let Err(e) = &answer {
            // The group (or stream) was deleted under a running function: create it again
            // and retry once.
            if error_code(e) == Some("ResourceNotFoundException") {
                create_stream(calls, &self.group, stream).await?;
                answer = calls.put.send(request()).await;
            }
        }
        let out = answer.map_err(|e| AwsError::from_sdk(PUT, &e))?;
        if let Some(rejected) = out.rejected_log_events_info {
            return Err(AwsError::unusable(
                PUT,
                format!(
                    "rejected events (too new from index {:?}, too old up to {:?}, expired up to {:?})",
                    rejected.too_new_log_event_start_index,
                    rejected.too_old_log_event_end_index,
                    rejected.expired_log_event_end_index
                ),
            ));
        }
        Ok(())
    }
}

/// Creates the stream, and the group first when the group is missing too.
async fn create_stream(calls: &LogsCalls, group: &str, stream: &str) -> Result<(), AwsError> {
    let stream = LogStream {
        log_group_name: group,
        log_stream_name: stream,
    };
    let create = || {
        calls
            .create_stream
            .send(Request::aws_json(LOGS_TARGET, "CreateLogStream", &stream))
    };
    match create().await {
        Ok(_) => return Ok(()),
        Err(e) if already_exists(&e) => return Ok(()),
        Err(e) if error_code(&e) == Some("ResourceNotFoundException") => {}
        Err(e) => return Err(AwsError::from_sdk(CREATE_STREAM, &e)),
    }
    let group = LogGroup {
        log_group_name: group,
    };
    match calls
        .create_group
        .send(Request::aws_json(LOGS_TARGET, "CreateLogGroup", &group))
        .await
    {
        Ok(_) => {}
        Err(e) if already_exists(&e) => {}
        Err(e) => return Err(AwsError::from_sdk("logs:CreateLogGroup", &e)),
    }
    match create().await {
        Ok(_) => Ok(()),
        Err(e) if already_exists(&e) => Ok(()),
        Err(e) => Err(AwsError::from_sdk(CREATE_STREAM, &e)),
    }
}

/// A group or stream someone else created first (another container, a deploy) is as good as
/// one this call created.
fn already_exists(e: &Failure) -> bool {
    error_code(e) == Some("ResourceAlreadyExistsException")
}

/// This container's id for stream names: the id Lambda gave the function's own log stream
/// (`2024/05/06/[$LATEST]0123abcd...`), else a digest of the host, process and start time.
pub fn instance_id() -> String {
    if let Ok(stream) = std::env::var("AWS_LAMBDA_LOG_STREAM_NAME") {
        if let Some(id) = stream.rsplit(']').next().filter(|id| !id.is_empty()) {
            return id.to_owned();
        }
    }
    let mut hasher = Sha256::new();
    hasher.update(std::process::id().to_le_bytes());
    hasher.update(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
            .to_le_bytes(),
    );
    if let Ok(host) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        hasher.update(host.trim().as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}
