//! Speed of the engine (numbers in the README's performance section).
//!
//! - `typical_event`: one `PutRolePolicy` with a 2 KB policy, decoded and evaluated, next to
//!   serde_json skimming the same bytes (a gauge of the machine's speed at the time).
//! - `log_file`: a CloudTrail log file of 200,000 records built from `events/` (unique ids),
//!   evaluated single-threaded, next to serde_json merely skimming the same bytes
//!   (`IgnoredAny`) from a reader, as the engine reads; the ratio of the two is printed at the end,
//!   with a second one against skimming a single in-memory slice (`from_slice`), a harder bar,
//!   and a third for decoding alone (no rules) against the same reader skim.
//!
//! - `trail`: a realistic trail (98% unwatched EC2, S3, STS, KMS... records, 2% watched ones,
//!   see `support/trail.rs`), next to serde_json skimming the same bytes from one slice
//!   (`from_slice::<IgnoredAny>`); the ratio is printed for a delivered-size file (parsed in
//!   memory) and a large one (streamed).
//! - `trail_gz`: the same trail as a `.json.gz` file, evaluated, next to decompressing it alone
//!   (flate2's configured backend, and miniz_oxide called directly, for comparison).
//!
//! The printed ratios and rates are the best of five timings in thread CPU time (wall time where
//! Linux does not say), each the mean of repeats over at least 200 ms (see `best`), so that
//! other work on a shared machine weighs less; criterion's own figures are wall time.
//!
//! `cargo bench --bench engine -- --test` runs each once on a small file (CI does this).

// The realistic trail's `RunInstances` record is one deep `json!` literal.
#![recursion_limit = "256"]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "benchmark"
)]

use std::time::{Duration, Instant};

use std::io::{Read, Write};

use criterion::{criterion_group, Criterion, Throughput};
use rolewarden_core::pipeline::{evaluate_reader, Output, Pipeline};
use rolewarden_core::{Baseline, Engine};
use serde::de::IgnoredAny;

#[path = "support/trail.rs"]
mod trail;

fn engine() -> Engine {
    Engine::new(Baseline::embedded().unwrap())
}

fn quick() -> bool {
    static QUICK: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *QUICK.get_or_init(|| std::env::args().any(|a| a == "--test"))
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
    if !selected("typical") {
        return;
    }
    // The target is a time, and this machine's speed drifts from hour to hour: serde_json
    // skimming the same bytes, timed beside it, says how fast the machine was at the time.
    let ours = best(5, &mut || {
        evaluate_all(&engine, std::hint::black_box(&event));
    });
    let theirs = best(5, &mut || slice_skim(std::hint::black_box(&event)));
    println!(
        "typical_event: {} bytes: rolewarden {:.2} us, serde_json from_slice::<IgnoredAny> {:.2} us (the machine's speed at the time), ratio {:.3}",
        event.len(),
        ours.as_secs_f64() * 1e6,
        theirs.as_secs_f64() * 1e6,
        theirs.as_secs_f64() / ours.as_secs_f64(),
    );
}

/// Whether criterion's filter (`cargo bench --bench engine -- typical`) selects the group
/// `name`: building its files and printing its ratios run outside criterion, so they are skipped
/// when the filter names only other benchmarks.
fn selected(name: &str) -> bool {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    // Criterion's filter matches ids (`trail_gz/gunzip_...`) by substring.
    filters.is_empty()
        || filters
            .iter()
            .any(|f| name.contains(f.as_str()) || f == name || f.starts_with(&format!("{name}/")))
}

/// The fastest of `runs` timings of `f`, in the time this thread was on a CPU where Linux tells
/// it (wall time elsewhere), so that other work on a shared machine weighs less in the ratios.
/// Linux adds to a thread's CPU time at scheduler ticks (4 ms here), so a run of a few ticks
/// reads as a whole number of them: a 7.7 MB file read in 8 or 12 ms, and skimmed in 4, gave
/// ratios of 0.50 or 0.33 from one run of the same binary to the next. Each timing therefore
/// repeats `f` for at least [`MIN_TIMING`] and divides.
fn best(runs: usize, f: &mut dyn FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let (t, cpu) = (Instant::now(), thread_cpu());
            let mut repeats = 0u32;
            loop {
                f();
                repeats += 1;
                if quick() || t.elapsed() >= MIN_TIMING {
                    break;
                }
            }
            let spent = match (cpu, thread_cpu()) {
                (Some(before), Some(after)) if after > before => after - before,
                // A run shorter than one tick (the `--test` sizes) may read as zero.
                _ => t.elapsed(),
            };
            spent / repeats
        })
        .min()
        .unwrap()
}

/// At least 50 ticks of 4 ms in each timing of [`best`].
const MIN_TIMING: Duration = Duration::from_millis(200);

fn bench_log_file(c: &mut Criterion) {
    if !selected("log_file") {
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

    // The ratios, measured in this same run: best of five of each (thread CPU time, see `best`).
    let ours = best(5, &mut || {
        evaluate_all(&engine, &bytes);
    });
    let theirs = best(5, &mut || skim(&bytes));
    // serde_json's fastest skim, from one slice: a harder bar than the reader it is compared with
    // above, printed so that the ratio is never read as flattering.
    let slice = best(5, &mut || slice_skim(&bytes));
    // Decoding alone (every record read, nothing evaluated), so that a change to the decoder is
    // not hidden by the rules' share of the time.
    let decoded = best(5, &mut || {
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

/// The watched records of `events/` (the samples the rules fire or stay quiet on).
fn watched_records(engine: &Engine) -> Vec<serde_json::Value> {
    let texts = samples();
    rolewarden_core::synth::records_from_samples(texts.iter().map(String::as_str))
        .into_iter()
        .filter(|r| {
            let field = |k: &str| r.get(k).and_then(serde_json::Value::as_str);
            matches!((field("eventSource"), field("eventName")), (Some(s), Some(n)) if engine.is_watched(s, n))
        })
        .collect()
}

/// A realistic trail of `count` records: 2% watched, 98% unwatched.
fn trail_file(engine: &Engine, count: usize) -> Vec<u8> {
    let records = trail::records(&watched_records(engine));
    assert!(records.iter().enumerate().all(|(i, r)| {
        let field = |k: &str| r.get(k).and_then(serde_json::Value::as_str).unwrap();
        engine.is_watched(field("eventSource"), field("eventName"))
            == (i % trail::WATCHED_EVERY == 0)
    }));
    let mut bytes = Vec::new();
    rolewarden_core::synth::write_log_file(&mut bytes, &records, count).unwrap();
    bytes
}

fn slice_skim(bytes: &[u8]) {
    let _: IgnoredAny = serde_json::from_slice(bytes).unwrap();
}

fn bench_trail(c: &mut Criterion) {
    if !selected("trail") {
        return;
    }
    let engine = engine();
    // One delivered file is usually a few MB (parsed in memory, under 8 MB); an archive or a busy
    // account's concatenated hour is streamed.
    let (small, large) = if quick() {
        (500, 2_000)
    } else {
        (5_000, 100_000)
    };
    let files: Vec<(usize, Vec<u8>)> = [small, large]
        .into_iter()
        .map(|n| (n, trail_file(&engine, n)))
        .collect();
    let (_, bytes) = &files[1];
    let mut group = c.benchmark_group("trail");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(15));
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function(format!("evaluate_{large}_records"), |b| {
        b.iter(|| evaluate_all(&engine, bytes))
    });
    group.bench_function(format!("serde_slice_skim_{large}_records"), |b| {
        b.iter(|| slice_skim(bytes))
    });
    group.finish();

    for (count, bytes) in &files {
        let ours = best(5, &mut || {
            evaluate_all(&engine, bytes);
        });
        let theirs = best(5, &mut || slice_skim(bytes));
        println!(
            "trail: {count} records ({} watched), {:.1} MB: rolewarden {:.0} MB/s, serde_json from_slice::<IgnoredAny> {:.0} MB/s, ratio {:.2}",
            count.div_ceil(trail::WATCHED_EVERY),
            bytes.len() as f64 / 1e6,
            bytes.len() as f64 / 1e6 / ours.as_secs_f64(),
            bytes.len() as f64 / 1e6 / theirs.as_secs_f64(),
            theirs.as_secs_f64() / ours.as_secs_f64(),
        );
    }
}

/// Decompresses a `.json.gz` file as the engine does (same decoder, same input buffer, reads of
/// the engine's 256 KB), keeping nothing.
fn gunzip(gz: &[u8]) -> u64 {
    let mut decoder =
        flate2::bufread::MultiGzDecoder::new(std::io::BufReader::with_capacity(64 * 1024, gz));
    let mut out = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        match decoder.read(&mut out).unwrap() {
            0 => return total,
            n => total += n as u64,
        }
    }
}

/// The same with miniz_oxide called directly (flate2's default backend), so both backends are
/// timed in one run whichever one flate2 is built with. Single-member files with a plain
/// 10-byte header (what `GzEncoder` writes) only.
fn gunzip_miniz(gz: &[u8]) -> u64 {
    use miniz_oxide::inflate::stream::{inflate, InflateState};
    use miniz_oxide::{DataFormat, MZFlush, MZStatus};
    let mut state = InflateState::new_boxed(DataFormat::Raw);
    let mut input = &gz[10..gz.len() - 8];
    let mut out = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        let r = inflate(&mut state, input, &mut out, MZFlush::None);
        input = &input[r.bytes_consumed..];
        total += r.bytes_written as u64;
        match r.status {
            Ok(MZStatus::StreamEnd) => return total,
            Ok(_) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
}

fn bench_trail_gz(c: &mut Criterion) {
    if !selected("trail_gz") {
        return;
    }
    let engine = engine();
    let count = if quick() { 2_000 } else { 100_000 };
    let json = trail_file(&engine, count);
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&json).unwrap();
    let gz = encoder.finish().unwrap();
    assert_eq!(gunzip(&gz), json.len() as u64);
    assert_eq!(gunzip_miniz(&gz), json.len() as u64);
    let mut plain = Vec::new();
    flate2::read::MultiGzDecoder::new(&gz[..])
        .read_to_end(&mut plain)
        .unwrap();
    assert_eq!(plain, json);
    drop(plain);

    let mut group = c.benchmark_group("trail_gz");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(15));
    group.throughput(Throughput::Bytes(gz.len() as u64));
    group.bench_function(format!("evaluate_{count}_records_gz"), |b| {
        b.iter(|| evaluate_all(&engine, &gz))
    });
    group.bench_function(format!("gunzip_{count}_records"), |b| {
        b.iter(|| gunzip(&gz))
    });
    group.finish();

    let ours = best(5, &mut || {
        evaluate_all(&engine, &gz);
    });
    let alone = best(5, &mut || {
        gunzip(&gz);
    });
    let miniz = best(5, &mut || {
        gunzip_miniz(&gz);
    });
    let mbps = |d: Duration, n: usize| n as f64 / 1e6 / d.as_secs_f64();
    println!(
        "trail_gz: {count} records, {:.1} MB gzip ({:.1} MB JSON), evaluated {:.1} MB/s gzip ({:.0} MB/s JSON), decompressed alone {:.1} MB/s gzip, ratio {:.2}; miniz_oxide alone {:.1} MB/s gzip ({:.2}x the flate2 backend's time)",
        gz.len() as f64 / 1e6,
        json.len() as f64 / 1e6,
        mbps(ours, gz.len()),
        mbps(ours, json.len()),
        mbps(alone, gz.len()),
        alone.as_secs_f64() / ours.as_secs_f64(),
        mbps(miniz, gz.len()),
        miniz.as_secs_f64() / alone.as_secs_f64(),
    );
}

/// Time this thread has run on a CPU (Linux: the first field of `/proc/thread-self/schedstat`).
fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

criterion_group!(
    benches,
    bench_typical,
    bench_log_file,
    bench_trail,
    bench_trail_gz
);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
