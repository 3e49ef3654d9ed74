//! Synthetic CloudTrail log files for benchmarks and memory tests: the sample records repeated
//! with fresh event ids, written as one `{"Records": [...]}` document the way CloudTrail
//! delivers them to S3.

use std::io::{self, Write};

use serde_json::Value;

/// The CloudTrail records inside EventBridge sample events (their `detail`), or the values
/// themselves when they are raw records.
pub fn records_from_samples<'a>(samples: impl IntoIterator<Item = &'a str>) -> Vec<Value> {
    samples
        .into_iter()
        .filter_map(|text| serde_json::from_str::<Value>(text).ok())
        .map(|v| v.get("detail").cloned().unwrap_or(v))
        .filter(Value::is_object)
        .collect()
}

/// Writes a log file of `count` records cycling through `records`, each with a unique `eventID`.
pub fn write_log_file<W: Write>(out: W, records: &[Value], count: usize) -> io::Result<()> {
    const MARK: &str = "\u{1}EVENT-ID\u{1}";
    // Serialise each template once around a marker, then only splice ids in.
    let templates: Vec<(String, String)> = records
        .iter()
        .filter_map(|r| {
            let mut r = r.clone();
            r.as_object_mut()?
                .insert("eventID".into(), Value::String(MARK.into()));
            let text = serde_json::to_string(&r).ok()?;
            let marker = serde_json::to_string(MARK).ok()?;
            let (head, tail) = text.split_once(&marker)?;
            Some((head.to_owned(), tail.to_owned()))
        })
        .collect();
    let mut out = io::BufWriter::with_capacity(1 << 20, out);
    out.write_all(b"{\"Records\":[")?;
    for i in 0..count {
        let Some((head, tail)) = templates.get(i % templates.len().max(1)) else {
            break;
        };
        if i > 0 {
            out.write_all(b",")?;
        }
        write!(out, "{head}\"{i:08x}-0000-4000-8000-000000000000\"{tail}")?;
    }
    out.write_all(b"]}\n")?;
    out.flush()
}
