//! What a command prints besides its findings, and how it ends: the report, the summary line,
//! the sink's outcome, the exit status.

use std::process::ExitCode;

use rolewarden::aws::blocking::{Blocking, BufferedWriter};
use rolewarden::log_events::FindingsFormat;
use rolewarden::pipeline::Summary;
use rolewarden::{report, Finding, Severity};

use crate::args::Format;
use crate::console::Console;

/// Findings on standard output, as a grouped report or JSON Lines.
pub fn write_report(console: &mut Console, format: Format, findings: &[Finding]) {
    match format {
        Format::Text => console.out(&report::render_text(findings)),
        Format::Json | Format::Ocsf => {
            for finding in findings {
                write_line(console, format, finding);
            }
        }
    }
}

/// One finding as a JSON line, in rolewarden's form or OCSF's (text is not a line form: JSON).
pub fn write_line(console: &mut Console, format: Format, finding: &Finding) {
    let form = match format {
        Format::Ocsf => FindingsFormat::Ocsf,
        Format::Json | Format::Text => FindingsFormat::Json,
    };
    match form.encode(finding, chrono::Utc::now().timestamp_millis()) {
        Ok(line) => console.out_line(&line),
        Err(e) => console.failed(std::io::Error::other(e)),
    }
}

/// Writes what the sink still holds and says how it went; `false` when it failed.
pub fn finish_sink(console: &mut Console, sink: BufferedWriter, live: &Blocking) -> bool {
    let target = sink.describe();
    match sink.finish(live) {
        Ok(n) => {
            console.err(&format!("rolewarden: {n} findings written to {target}"));
            true
        }
        Err((n, e)) if n > 0 => {
            console.err(&format!(
                "rolewarden: error: {e}; {n} findings of earlier batches were written"
            ));
            false
        }
        Err((_, e)) => {
            console.err(&format!("rolewarden: error: {e}"));
            false
        }
    }
}

/// Stores the state of what was written, unless the sink failed (the next run then sees the
/// same findings as `new` again); `false` when storing failed.
pub fn finish_state(
    console: &mut Console,
    live: &Blocking,
    table: &rolewarden::aws::state_table::StateTable,
    plan: &rolewarden::lifecycle::Plan,
    sink_failed: bool,
) -> bool {
    if sink_failed {
        console.err("rolewarden: finding state not stored, as the findings were not all written");
        return true;
    }
    match crate::state::commit(live, table, plan) {
        Ok(()) => {
            console.err(&format!(
                "rolewarden: finding state: {} new, {} open, {} resolved (table `{}`)",
                plan.findings
                    .iter()
                    .filter(|f| f.status == Some(rolewarden::finding::Status::New))
                    .count(),
                plan.findings
                    .iter()
                    .filter(|f| f.status == Some(rolewarden::finding::Status::Open))
                    .count(),
                plan.resolved.len(),
                table.table()
            ));
            true
        }
        Err(e) => {
            console.err(&format!("rolewarden: error: {e}"));
            false
        }
    }
}

/// `IAM:GetRole 3, CloudWatch Logs:PutLogEvents 1`, or `none`.
pub fn api_calls(live: &Blocking) -> String {
    let calls: Vec<String> = live
        .calls()
        .snapshot()
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    if calls.is_empty() {
        "none".to_owned()
    } else {
        calls.join(", ")
    }
}

/// 3: findings not written; 2: input or account partly unreadable; 1: `--fail-on` reached.
pub fn exit_code(
    sink_failed: bool,
    incomplete: bool,
    worst: Option<Severity>,
    fail_on: Option<Severity>,
) -> ExitCode {
    if sink_failed {
        ExitCode::from(3)
    } else if incomplete {
        ExitCode::from(2)
    } else if fail_on.is_some_and(|threshold| worst.is_some_and(|w| w >= threshold)) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// What `evaluate` could not read, for its summary line.
#[derive(Debug, Default)]
pub struct Unread {
    /// Files in folders that are not event files by name.
    pub skipped: usize,
    /// Entries in folders left out for another reason (not regular files, or read already).
    pub noted: usize,
    /// Inputs that could not be opened or read at all.
    pub failures: usize,
}

/// `evaluate`'s last line on stderr.
pub fn summary_line(s: &Summary, unread: &Unread, elapsed: std::time::Duration) -> String {
    let by_severity: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .filter_map(|sev| s.findings.get(sev).map(|n| format!("{n} {sev}")))
        .collect();
    let findings = if by_severity.is_empty() {
        "no findings".to_owned()
    } else {
        format!("findings: {}", by_severity.join(", "))
    };
    let mut line = format!(
        "rolewarden: {} events from {} inputs ({} ignored, not watched), {} unreadable; {findings}; {} suppressed by exceptions; {:.2?}",
        s.events, s.inputs, s.ignored, s.unreadable, s.suppressed, elapsed
    );
    if let Some(peak) = peak_rss_bytes() {
        line.push_str(&format!("; peak memory {} MB", peak / (1024 * 1024)));
    }
    if unread.skipped > 0 {
        line.push_str(&format!(
            "; {} files in folders skipped (not .json/.jsonl/.ndjson/.gz)",
            unread.skipped
        ));
    }
    if unread.noted > 0 {
        line.push_str(&format!(
            "; {} entries in folders skipped (not regular files, or read already)",
            unread.noted
        ));
    }
    if unread.failures > 0 {
        line.push_str(&format!("; {} inputs could not be read", unread.failures));
    }
    line
}

/// Peak resident memory of this process in bytes (Linux `VmHWM`); `None` elsewhere.
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
