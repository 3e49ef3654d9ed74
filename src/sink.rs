//! Where findings go: the function's own log (stdout), a CloudWatch Logs group, AWS Security
//! Hub, or several of them (`FINDINGS_SINK=cloudwatch,securityhub`). Rendering and batching are
//! pure and live in the core ([`crate::log_events`], [`crate::asff`]), the writers on the AWS
//! side ([`crate::aws::logs`], [`crate::aws::securityhub`]); this module writes to each target
//! in turn and writes standard output itself. A write that fails is an error the caller must
//! surface (the Lambda answers `Retryable`), never a silent drop. A retry writes to every target
//! again: delivery is at least once, and each finding keeps its id, so a log reader can drop the
//! repeat and Security Hub updates the finding it already has.

use std::io::Write;

use thiserror::Error;

use aws_config::SdkConfig;

use crate::aws::logs::{instance_id, CloudWatchWriter, WriteError};
use crate::aws::securityhub::{ImportError, SecurityHubWriter};
use crate::aws::CallCounter;
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
    #[error(transparent)]
    SecurityHub(#[from] ImportError),
}

/// A kind of target, as `FINDINGS_SINK` and `--sink` name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkKind {
    CloudWatch,
    Stdout,
    SecurityHub,
}

impl SinkKind {
    pub fn name(self) -> &'static str {
        match self {
            SinkKind::CloudWatch => "cloudwatch",
            SinkKind::Stdout => "stdout",
            SinkKind::SecurityHub => "securityhub",
        }
    }
}

/// `cloudwatch,securityhub`: comma-separated kinds, each once, in the order written.
pub fn parse_kinds(text: &str) -> Result<Vec<SinkKind>, String> {
    let mut kinds = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let kind = [
            SinkKind::CloudWatch,
            SinkKind::Stdout,
            SinkKind::SecurityHub,
        ]
        .into_iter()
        .find(|k| k.name().eq_ignore_ascii_case(part))
        .ok_or_else(|| {
            format!(
                "expected `cloudwatch`, `stdout` or `securityhub` (comma-separated), not `{part}`"
            )
        })?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    if kinds.is_empty() {
        return Err("names no sink".into());
    }
    Ok(kinds)
}

/// One place findings are written to.
pub enum Target {
    /// JSON Lines on standard output: the function's own log group, no extra resource.
    Stdout(FindingsFormat),
    CloudWatch(CloudWatchWriter),
    SecurityHub(SecurityHubWriter),
}

impl Target {
    async fn write(&mut self, findings: &[Finding]) -> Result<(), SinkError> {
        match self {
            Target::Stdout(format) => {
                let now_ms = chrono::Utc::now().timestamp_millis();
                let mut out = std::io::stdout().lock();
                for finding in findings {
                    let line = render(finding, *format, now_ms, MAX_EVENT_BYTES)?;
                    out.write_all(line.as_bytes()).map_err(SinkError::Stdout)?;
                    out.write_all(b"\n").map_err(SinkError::Stdout)?;
                }
                out.flush().map_err(SinkError::Stdout)
            }
            Target::CloudWatch(writer) => Ok(writer.write(findings).await?),
            Target::SecurityHub(writer) => Ok(writer.write(findings).await?),
        }
    }

    fn describe(&self) -> String {
        match self {
            Target::Stdout(_) => "stdout".into(),
            Target::CloudWatch(writer) => format!("cloudwatch:{}", writer.group()),
            Target::SecurityHub(_) => "securityhub".into(),
        }
    }
}

/// The sink the Lambda and `rolewarden evaluate --sink` write findings to: its targets, in
/// order.
pub struct Sink {
    targets: Vec<Target>,
}

impl Sink {
    pub fn new(targets: Vec<Target>) -> Self {
        Sink { targets }
    }

    pub fn stdout(format: FindingsFormat) -> Self {
        Sink::new(vec![Target::Stdout(format)])
    }

    /// The targets `kinds` name, their AWS clients built from `config` and counted by `calls`;
    /// `group` and `format` are the log targets'.
    pub fn build(
        kinds: &[SinkKind],
        config: &SdkConfig,
        calls: &CallCounter,
        group: &str,
        format: FindingsFormat,
    ) -> Self {
        let targets = kinds
            .iter()
            .map(|kind| match kind {
                SinkKind::Stdout => Target::Stdout(format),
                SinkKind::CloudWatch => Target::CloudWatch(
                    CloudWatchWriter::new(config, calls, group, &instance_id()).with_format(format),
                ),
                SinkKind::SecurityHub => Target::SecurityHub(SecurityHubWriter::new(config, calls)),
            })
            .collect();
        Sink::new(targets)
    }

    /// Writes every finding to every target, or fails at the first target that fails; never
    /// writes a part and reports success.
    pub async fn write(&mut self, findings: &[Finding]) -> Result<(), SinkError> {
        if findings.is_empty() {
            return Ok(());
        }
        for target in &mut self.targets {
            target.write(findings).await?;
        }
        Ok(())
    }

    /// Where findings go, for summaries: `stdout`, `cloudwatch:GROUP`, `securityhub`, joined
    /// by commas.
    pub fn describe(&self) -> String {
        let names: Vec<String> = self.targets.iter().map(Target::describe).collect();
        names.join(",")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn sinks_are_named_once_each_in_order() {
        assert_eq!(
            parse_kinds("CloudWatch, securityhub,cloudwatch").unwrap(),
            vec![SinkKind::CloudWatch, SinkKind::SecurityHub]
        );
        assert_eq!(parse_kinds("stdout").unwrap(), vec![SinkKind::Stdout]);
        let e = parse_kinds("cloudwatch,s3").unwrap_err();
        assert!(e.contains("not `s3`"), "{e}");
        assert_eq!(parse_kinds(" , ").unwrap_err(), "names no sink");
    }
}
