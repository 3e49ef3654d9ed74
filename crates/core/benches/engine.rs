//! Speed of the engine (numbers in the README's performance section).
//!
//! - `typical_event`: one `PutRolePolicy` with a 2 KB policy, decoded and evaluated.
//! - `log_file`: a CloudTrail log file of 200,000 records built from `events/` (unique ids),
//!   evaluated single-threaded, next to serde_json merely skimming the same bytes
//!   (`IgnoredAny`) from a reader, as the engine reads; the ratio of the two is printed at the end,
//!   with a second one against skimming a single in-memory slice (`from_slice`), a harder bar,
//!   and a third for decoding alone (no rules) against the same reader skim.
//!
//! `cargo bench --bench engine -- --test` runs each once on a small file (CI does this).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "benchmark"
)]

use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion, Throughput};
use rolewarden_core::pipeline::{evaluate_reader, Output, Pipeline};
use rolewarden_core::{Baseline, Engine};
use serde::de::IgnoredAny;

fn engine() -> Engine {
    Engine::new(Baseline::embedded().unwrap())
}

fn quick() -> bool {
    std::env::args().any(|a| a == "--test")
}

fn samples() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

fn log_file(count: usize) -> Vec<u8> {
    let texts = samples();
    let records = rolewarden_core::synth::records_from_samples(texts.iter().map(String::as_str));
    let mut bytes = Vec::new();
    rolewarden_core::synth::write_log_file(&mut bytes, &records, count).unwrap();
    bytes
}

/// A `PutRolePolicy` whose policy document is about 2 KB.
fn typical_event() -> Vec<u8> {
    let statements: Vec<serde_json::Value> = (0..15)
        .map(|i| {
            serde_json::json!({
                "Sid": format!("Statement{i}"),
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "logs:PutLogEvents"],
                "Resource": format!("arn:aws:s3:::bucket-{i}/*"),
            })
        })
        .collect();
    let policy = serde_json::json!({"Version": "2012-10-17", "Statement": statements}).to_string();
    assert!((1900..2300).contains(&policy.len()), "{}", policy.len());
    serde_json::json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::111122223333:assumed-role/Admin/alice",
            "accountId": "111122223333",
            "sessionContext": {"sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::111122223333:role/Admin"}}},
        "eventTime": "2024-05-06T13:36:08Z", "eventSource": "iam.amazonaws.com", "eventName": "PutRolePolicy",
        "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.10", "userAgent": "aws-cli/2.15.0",
        "requestParameters": {"roleName": "app", "policyName": "app-access", "policyDocument": policy},
        "responseElements": null, "eventID": "0da5d156-993c-49cc-af11-6316aef5b872",
        "eventType": "AwsApiCall", "recipientAccountId": "111122223333"
    })
    .to_string()
    .into_bytes()
}

fn evaluate_all(engine: &Engine, bytes: &[u8]) -> u64 {
    let mut pipeline = Pipeline::new(engine);
    let mut findings = 0u64;
    evaluate_reader(
        &mut pipeline,
        bytes,
        "bench",
        &mut |_| unreachable!("no enrichment"),
        &mut |o| {
            if let Output::Finding(_) = o {
                findings += 1;
            }
        },
    )
    .unwrap();
    pipeline.summary.events + findings
}

fn skim(bytes: &[u8]) {
    let _: IgnoredAny = serde_json::from_reader(bytes).unwrap();
}

fn bench_typical(c: &mut Criterion) {
    let engine = engine();
    let event = typical_event();
    c.bench_function("typical_event/put_role_policy_2kb", |b| {
        b.iter(|| evaluate_all(&engine, std::hint::black_box(&event)))
    });
}

fn bench_log_file(c: &mut Criterion) {
    // Building the file and the ratio below run outside criterion's filter: skip them when the
    // filter names only other benchmarks (`cargo bench --bench engine -- typical`).
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if !filters.is_empty()
        && !filters
            .iter()
            .any(|f| "log_file".contains(f.as_str()) || f.contains("log_file"))
    {
        return;
    }
    let count = if quick() { 2_000 } else { 200_000 };
    let engine = engine();
    let bytes = log_file(count);
    let mut group = c.benchmark_group("log_file");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(count as u64));
    group.bench_function(format!("evaluate_{count}_records"), |b| {
        b.iter(|| evaluate_all(&engine, &bytes))
    });
    group.bench_function(format!("serde_skim_{count}_records"), |b| {
        b.iter(|| skim(&bytes))
    });
    group.finish();

    // The ratio, measured in this same run: best of five of each, in the time this thread was
    // on a CPU where Linux tells it, so that other work on a shared machine weighs less.
    let best = |f: &dyn Fn()| {
        (0..5)
            .map(|_| {
                let (t, cpu) = (Instant::now(), thread_cpu());
                f();
                match (cpu, thread_cpu()) {
                    (Some(before), Some(after)) => after.saturating_sub(before),
                    _ => t.elapsed(),
                }
            })
            .min()
            .unwrap()
    };
    let ours = best(&|| {
        evaluate_all(&engine, &bytes);
    });
    let theirs = best(&|| skim(&bytes));
    // serde_json's fastest skim, from one slice: a harder bar than the reader it is compared with
    // above, printed so that the ratio is never read as flattering.
    let slice = best(&|| {
        let _: IgnoredAny = serde_json::from_slice(&bytes).unwrap();
    });
    // Decoding alone (every record read, nothing evaluated), so that a change to the decoder is
    // not hidden by the rules' share of the time.
    let decoded = best(&|| {
        let mut records = 0u64;
        rolewarden_core::decode::read_items(&bytes[..], &mut |item| {
            if let rolewarden_core::decode::Item::Record { .. } = item {
                records += 1;
            }
        })
        .unwrap();
        assert_eq!(records, count as u64);
    });
    println!(
        "log_file: {count} records, {:.1} MB: rolewarden {:.0} events/s, serde skim {:.0} records/s, ratio {:.2}; skim from one slice {:.0} records/s, ratio {:.2}; decoding alone {:.0} records/s, ratio {:.2}",
        bytes.len() as f64 / 1e6,
        count as f64 / ours.as_secs_f64(),
        count as f64 / theirs.as_secs_f64(),
        theirs.as_secs_f64() / ours.as_secs_f64(),
        count as f64 / slice.as_secs_f64(),
        slice.as_secs_f64() / ours.as_secs_f64(),
        count as f64 / decoded.as_secs_f64(),
        theirs.as_secs_f64() / decoded.as_secs_f64(),
    );
}

/// Time this thread has run on a CPU (Linux: the first field of `/proc/thread-self/schedstat`).
fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

criterion_group!(benches, bench_typical, bench_log_file);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
