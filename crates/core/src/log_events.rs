//! Findings as CloudWatch Logs events, within the service's limits: a finding rendered to fit
//! one log event (shrunk, never dropped) and lines cut into PutLogEvents batches. Pure: the
//! calls themselves are the AWS side's (`rolewarden::aws::logs`).

use chrono::{DateTime, NaiveDate};
use serde_json::Value;
use thiserror::Error;

use crate::finding::Finding;
use crate::ocsf::DetectionFinding;

/// PutLogEvents: at most this many events per call.
pub const MAX_BATCH_EVENTS: usize = 10_000;
/// PutLogEvents: at most this many bytes per call, counting each message's UTF-8 size plus
/// [`EVENT_OVERHEAD`].
pub const MAX_BATCH_BYTES: usize = 1_048_576;
/// What CloudWatch Logs adds to each event's size when it counts a batch.
pub const EVENT_OVERHEAD: usize = 26;
/// The largest log event rolewarden writes, overhead included. AWS now accepts 1 MB events in
/// most places; 256 KB is the limit every account and region has always honoured, and a
/// finding that large is already unreadable in a console.
pub const MAX_EVENT_BYTES: usize = 256 * 1024;
/// No batch may span more than 24 hours.
pub const MAX_BATCH_SPAN_MS: i64 = 24 * 60 * 60 * 1000;

/// A finding ready to be a log event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Milliseconds since the epoch.
    pub timestamp_ms: i64,
    pub message: String,
}

impl LogLine {
    /// The size CloudWatch Logs counts for it in a batch.
    pub fn cost(&self) -> usize {
        self.message.len() + EVENT_OVERHEAD
    }
}

/// One PutLogEvents call's worth of lines, all in one UTC day (one stream a day).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub day: NaiveDate,
    pub lines: Vec<LogLine>,
}

/// A finding that cannot be rendered as JSON.
#[derive(Debug, Error)]
#[error("cannot encode finding `{id}` as JSON: {source}")]
pub struct EncodeError {
    pub id: String,
    #[source]
    pub source: serde_json::Error,
}

/// The form findings are written in: rolewarden's own JSON (the README's contract) or an OCSF
/// Detection Finding ([`crate::ocsf`]). `FINDINGS_FORMAT` in the Lambda.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FindingsFormat {
    #[default]
    Json,
    Ocsf,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown findings format `{0}` (expected json or ocsf)")]
pub struct UnknownFormat(pub String);

impl std::str::FromStr for FindingsFormat {
    type Err = UnknownFormat;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            t if t.eq_ignore_ascii_case("json") => Ok(FindingsFormat::Json),
            t if t.eq_ignore_ascii_case("ocsf") => Ok(FindingsFormat::Ocsf),
            _ => Err(UnknownFormat(s.to_owned())),
        }
    }
}

impl FindingsFormat {
    /// One finding as one JSON line, unshrunk. `observed_ms` (the time of writing) is OCSF's
    /// `time` when the finding carries no event time.
    pub fn encode(self, finding: &Finding, observed_ms: i64) -> Result<String, EncodeError> {
        let encoded = match self {
            FindingsFormat::Json => serde_json::to_string(finding),
            FindingsFormat::Ocsf => {
                serde_json::to_string(&DetectionFinding::new(finding, observed_ms))
            }
        };
        encoded.map_err(|source| EncodeError {
            id: finding.id.clone(),
            source,
        })
    }
}

/// The finding as one JSON line in `format` whose size, plus [`EVENT_OVERHEAD`], is at most
/// `limit`. An oversize finding keeps every field; its largest `evidence` values are replaced
/// by a prefix and their size, and `truncated` is set, so the finding is shrunk, never
/// dropped. Both formats carry the evidence whole, so shrinking the finding shrinks either.
pub fn render(
    finding: &Finding,
    format: FindingsFormat,
    observed_ms: i64,
    limit: usize,
) -> Result<String, EncodeError> {
    let encode = |f: &Finding| format.encode(f, observed_ms);
    let budget = limit.saturating_sub(EVENT_OVERHEAD);
    let text = encode(finding)?;
    if text.len() <= budget {
        return Ok(text);
    }
    let mut shrunk = finding.clone();
    shrunk.truncated = true;
    let mut text = encode(&shrunk)?;
    // Largest evidence value first, until it fits.
    while text.len() > budget {
        let largest = shrunk
            .evidence
            .iter()
            .filter(|(_, v)| !is_stub(v))
            .map(|(k, v)| (k.clone(), v.to_string()))
            .max_by_key(|(_, json)| json.len());
        let Some((key, json)) = largest else {
            break;
        };
        shrunk.evidence.insert(key, stub(&json));
        text = encode(&shrunk)?;
    }
    // Still too large: the free-text fields themselves are enormous (a hostile event). OCSF
    // writes the message twice (`message` and `finding_info.desc`), hence the smaller share.
    if text.len() > budget {
        let keep = budget / 16;
        for field in [
            &mut shrunk.message,
            &mut shrunk.remediation,
            shrunk.resource.get_or_insert_with(String::new),
            shrunk.actor.get_or_insert_with(String::new),
        ] {
            cut(field, keep);
        }
        shrunk.evidence.clear();
        text = encode(&shrunk)?;
    }
    Ok(text)
}

const STUB_PREFIX_CHARS: usize = 1024;

fn stub(json: &str) -> Value {
    let prefix: String = json.chars().take(STUB_PREFIX_CHARS).collect();
    serde_json::json!({"truncated_bytes": json.len(), "prefix": prefix})
}

fn is_stub(value: &Value) -> bool {
    value.get("truncated_bytes").is_some() && value.get("prefix").is_some()
}

fn cut(text: &mut String, max_bytes: usize) {
    if text.len() > max_bytes {
        let mut end = max_bytes;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str("...");
    }
}

/// Cuts lines into PutLogEvents batches: sorted by timestamp (stably, so equal timestamps keep
/// their order), each within the count, byte and 24-hour limits and inside one UTC day.
pub fn batches(mut lines: Vec<LogLine>) -> Vec<Batch> {
    lines.sort_by_key(|l| l.timestamp_ms);
    let mut out: Vec<Batch> = Vec::new();
    let mut bytes = 0usize;
    let mut first_ms = 0i64;
    for line in lines {
        let day = day_of(line.timestamp_ms);
        let fits = out.last().is_some_and(|b| {
            b.day == day
                && b.lines.len() < MAX_BATCH_EVENTS
                && bytes + line.cost() <= MAX_BATCH_BYTES
                && line.timestamp_ms - first_ms <= MAX_BATCH_SPAN_MS
        });
        if !fits {
            out.push(Batch {
                day,
                lines: Vec::new(),
            });
            bytes = 0;
            first_ms = line.timestamp_ms;
        }
        bytes += line.cost();
        if let Some(batch) = out.last_mut() {
            batch.lines.push(line);
        }
    }
    out
}

fn day_of(timestamp_ms: i64) -> NaiveDate {
    DateTime::from_timestamp_millis(timestamp_ms)
        .unwrap_or_default()
        .date_naive()
}

/// `YYYY/MM/DD/<instance>`: one stream per day and container.
pub fn stream_name(day: NaiveDate, instance: &str) -> String {
    format!("{}/{instance}", day.format("%Y/%m/%d"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{EventRef, Severity};

    fn finding(evidence_bytes: usize) -> Finding {
        let mut f = Finding {
            id: "abc".into(),
            rule_id: "PR006".into(),
            rule_name: "PassedRoleOverPrivileged".into(),
            severity: Severity::Medium,
            message: "role `x` holds more".into(),
            account: Some("111122223333".into()),
            region: Some("us-east-1".into()),
            resource: Some("arn:aws:iam::111122223333:role/x".into()),
            actor: None,
            event: EventRef::default(),
            evidence: Default::default(),
            remediation: "reduce it".into(),
            enrichment: None,
            truncated: false,
            status: None,
            first_seen: None,
            resolution: None,
        };
        f.evidence
            .insert("passed_role".into(), Value::String("arn:x".into()));
        f.evidence
            .insert("excess".into(), Value::String("a".repeat(evidence_bytes)));
        f
    }

    #[test]
    fn a_small_finding_is_written_whole() {
        let f = finding(100);
        let text = render(&f, FindingsFormat::Json, 0, MAX_EVENT_BYTES).unwrap();
        let back: Finding = serde_json::from_str(&text).unwrap();
        assert_eq!(back, f);
        assert!(!text.contains("truncated"));
    }

    #[test]
    fn an_oversize_finding_is_shrunk_and_marked_not_dropped() {
        let f = finding(300 * 1024);
        let text = render(&f, FindingsFormat::Json, 0, MAX_EVENT_BYTES).unwrap();
        assert!(
            text.len() + EVENT_OVERHEAD <= MAX_EVENT_BYTES,
            "{}",
            text.len()
        );
        let back: Finding = serde_json::from_str(&text).unwrap();
        assert!(back.truncated);
        assert_eq!(back.id, f.id);
        assert_eq!(back.evidence["passed_role"], "arn:x");
        assert_eq!(back.evidence["excess"]["truncated_bytes"], 300 * 1024 + 2);
    }

    #[test]
    fn enormous_free_text_is_cut_too() {
        let mut f = finding(10);
        f.message = "m".repeat(400 * 1024);
        let text = render(&f, FindingsFormat::Json, 0, MAX_EVENT_BYTES).unwrap();
        assert!(text.len() + EVENT_OVERHEAD <= MAX_EVENT_BYTES);
        let back: Finding = serde_json::from_str(&text).unwrap();
        assert!(back.truncated && back.message.ends_with("..."));
    }

    #[test]
    fn an_oversize_finding_fits_in_ocsf_too() {
        for f in [finding(300 * 1024), {
            let mut f = finding(10);
            f.message = "m".repeat(400 * 1024);
            f
        }] {
            let text = render(&f, FindingsFormat::Ocsf, 7, MAX_EVENT_BYTES).unwrap();
            assert!(
                text.len() + EVENT_OVERHEAD <= MAX_EVENT_BYTES,
                "{}",
                text.len()
            );
            let back: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(back["class_uid"], 2004);
            assert_eq!(back["finding_info"]["uid"], "abc");
            assert_eq!(back["unmapped"]["truncated"], true);
        }
        let text = render(
            &finding(300 * 1024),
            FindingsFormat::Ocsf,
            7,
            MAX_EVENT_BYTES,
        )
        .unwrap();
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["evidences"][0]["data"]["passed_role"], "arn:x");
        assert_eq!(
            back["evidences"][0]["data"]["excess"]["truncated_bytes"],
            300 * 1024 + 2
        );
    }

    #[test]
    fn formats_read_from_settings() {
        assert_eq!(
            "OCSF ".parse::<FindingsFormat>().unwrap(),
            FindingsFormat::Ocsf
        );
        assert_eq!(
            "json".parse::<FindingsFormat>().unwrap(),
            FindingsFormat::Json
        );
        assert!("asff".parse::<FindingsFormat>().is_err());
    }

    fn lines(n: usize, size: usize, start_ms: i64, step_ms: i64) -> Vec<LogLine> {
        (0..n)
            .map(|i| LogLine {
                timestamp_ms: start_ms + i as i64 * step_ms,
                message: format!("{i:08}{}", "x".repeat(size.saturating_sub(8))),
            })
            .collect()
    }

    const NOON: i64 = 1_717_243_200_000; // 2024-06-01T12:00:00Z

    #[test]
    fn batches_respect_the_event_count() {
        let out = batches(lines(25_000, 10, NOON, 0));
        let sizes: Vec<usize> = out.iter().map(|b| b.lines.len()).collect();
        assert_eq!(sizes, [10_000, 10_000, 5_000]);
        let order: Vec<&str> = out
            .iter()
            .flat_map(|b| b.lines.iter().map(|l| l.message.get(..8).unwrap()))
            .collect();
        let expected: Vec<String> = (0..25_000).map(|i| format!("{i:08}")).collect();
        assert_eq!(order, expected);
    }

    #[test]
    fn batches_respect_the_byte_limit() {
        let out = batches(lines(100, 100_000, NOON, 0));
        for b in &out {
            let bytes: usize = b.lines.iter().map(LogLine::cost).sum();
            assert!(bytes <= MAX_BATCH_BYTES, "{bytes}");
        }
        assert_eq!(out.iter().map(|b| b.lines.len()).sum::<usize>(), 100);
        assert_eq!(out[0].lines.len(), 10); // 10 x 100,026 fits, 11 does not
    }

    #[test]
    fn batches_are_sorted_and_never_span_a_day_or_24_hours() {
        let mut input = lines(13, 10, NOON, 3 * 60 * 60 * 1000); // every 3 h for 36 h
        input.reverse();
        let out = batches(input);
        for b in &out {
            let first = b.lines.first().unwrap().timestamp_ms;
            let last = b.lines.last().unwrap().timestamp_ms;
            assert!(last - first <= MAX_BATCH_SPAN_MS);
            assert!(b
                .lines
                .windows(2)
                .all(|w| w[0].timestamp_ms <= w[1].timestamp_ms));
            assert!(b.lines.iter().all(|l| day_of(l.timestamp_ms) == b.day));
        }
        assert_eq!(
            out.iter().map(|b| b.day.to_string()).collect::<Vec<_>>(),
            ["2024-06-01", "2024-06-02", "2024-06-03"]
        );
    }

    #[test]
    fn stream_names_are_per_day_and_container() {
        let day = NaiveDate::from_ymd_opt(2024, 6, 1).unwrap();
        assert_eq!(stream_name(day, "abc123"), "2024/06/01/abc123");
    }
}
