//! Small `.gz` files that expand to one 1 GB string, or to 1,000,000 nested `[`: each ends with
//! one RW000 and exit status 2, and peak RSS stays under 100 MB, because records are limited in
//! size and depth while they are framed, before they are held or parsed. Slow in a debug build,
//! so `#[ignore]`d like tests/memory.rs and run as
//! `cargo test --workspace --test suite -- --ignored memory_bombs`.

use std::io::Write;
use std::path::Path;
use std::process::Command;

/// Writes `head`, `count` times `fill`, then `tail`, gzip-compressed.
fn bomb(path: &Path, head: &[u8], fill: &[u8], count: usize, tail: &[u8]) {
    let file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::best());
    gz.write_all(head).unwrap();
    for _ in 0..count {
        gz.write_all(fill).unwrap();
    }
    gz.write_all(tail).unwrap();
    gz.finish().unwrap().flush().unwrap();
}

/// Runs `rolewarden evaluate` on `path`; returns stderr and the peak memory it reports.
fn evaluate(path: &Path) -> (String, u64) {
    let out = Command::new(env!("CARGO_BIN_EXE_rolewarden"))
        .args(["evaluate", "--format", "json"])
        .arg(path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.matches("\"RW000\"").count(), 1, "{stdout}");
    assert!(stderr.contains(", 1 unreadable;"), "{stderr}");
    let peak_mb: u64 = stderr
        .split("peak memory ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no peak memory in: {stderr}"));
    (stderr, peak_mb)
}

#[test]
#[ignore = "expands 1 GB; run in release by scripts/test.sh"]
fn a_one_gigabyte_string_is_one_error_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("string-bomb.json.gz");
    let mb = vec![b'a'; 1 << 20];
    bomb(
        &path,
        br#"{"Records":[{"eventSource":"iam.amazonaws.com","eventName":"DeleteRole","userAgent":""#,
        &mb,
        1024,
        br#""},{"eventSource":"iam.amazonaws.com","eventName":"TagRole"}]}"#,
    );
    let compressed = std::fs::metadata(&path).unwrap().len();
    assert!(compressed < 2 << 20, "{compressed} bytes");
    let (stderr, peak_mb) = evaluate(&path);
    println!("1 GB string ({compressed} bytes gzip): peak memory {peak_mb} MB; {stderr}");
    assert!(
        stderr.contains("line 1, record 0: unreadable: record too large: over 64 MB"),
        "{stderr}"
    );
    // The record after it is still read.
    assert!(stderr.contains("1 events from 1 inputs"), "{stderr}");
    assert!(peak_mb < 100, "peak memory {peak_mb} MB: {stderr}");
}

#[test]
#[ignore = "expands 1,000,000 brackets; run in release by scripts/test.sh"]
fn a_million_nested_brackets_are_one_error_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("depth-bomb.json.gz");
    bomb(&path, b"", &[b'['; 1000], 1000, b"");
    let compressed = std::fs::metadata(&path).unwrap().len();
    let (stderr, peak_mb) = evaluate(&path);
    println!("1,000,000 `[` ({compressed} bytes gzip): peak memory {peak_mb} MB; {stderr}");
    assert!(
        stderr.contains("line 1, record 0: unreadable: nested deeper than 128"),
        "{stderr}"
    );
    assert!(peak_mb < 100, "peak memory {peak_mb} MB: {stderr}");
}
