//! Where findings go: the function's own log (stdout) or a CloudWatch Logs group. Rendering
//! and batching are pure and live in the core ([`crate::log_events`]), the CloudWatch Logs
//! writer on the AWS side ([`crate::aws::logs`]); this module chooses between the two and
//! writes standard output itself. A write that fails is an error the caller must surface (the
//! Lambda answers `Retryable`), never a silent drop.

use std::io::Write;

use thiserror::Error;

use crate::aws::logs::{CloudWatchWriter, WriteError};
use crate::finding::Finding;
use crate::log_events::{render, EncodeError, FindingsFormat, MAX_EVENT_BYTES};

#[derive(Debug, Error)]
pub enum SinkError {
    #[error(transparent)]
    Encode(#[from] EncodeError),
    #[error("cannot write findings to standard output: {0}")]
    Stdout(#[source] std::io::Error),
    #[error(transparent)]
    CloudWatch(#[from] WriteError),
}

/// The sink the Lambda and `rolewarden evaluate --sink` write findings to.
pub enum Sink {
    /// JSON Lines on standard output: the function's own log group, no extra resource.
    Stdout(FindingsFormat),
    CloudWatch(CloudWatchWriter),
}

impl Sink {
    /// Writes every finding, or fails; never writes a part and reports success.
    pub async fn write(&mut self, findings: &[Finding]) -> Result<(), SinkError> {
        if findings.is_empty() {
            return Ok(());
        }
        match self {
            Sink::Stdout(format) => {
                let now_ms = chrono::Utc::now().timestamp_millis();
                let mut out = std::io::stdout().lock();
                for finding in findings {
                    let line = render(finding, *format, now_ms, MAX_EVENT_BYTES)?;
                    out.write_all(line.as_bytes()).map_err(SinkError::Stdout)?;
                    out.write_all(b"\n").map_err(SinkError::Stdout)?;
                }
                out.flush().map_err(SinkError::Stdout)
            }
            Sink::CloudWatch(writer) => Ok(writer.write(findings).await?),
        }
    }

    /// Where findings go, for summaries: `stdout` or `cloudwatch:GROUP`.
    pub fn describe(&self) -> String {
        match self {
            Sink::Stdout(_) => "stdout".into(),
            Sink::CloudWatch(writer) => format!("cloudwatch:{}", writer.group()),
        }
    }
}
