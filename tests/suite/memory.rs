//! Evaluating a CloudTrail log file keeps peak RSS under 100 MB whatever its size: the `Records`
//! array is streamed, never held. Two files, of 50,000 and 250,000 records (about 75 and 390 MB
//! of JSON, gzipped): both under the bound, and five times the records cost no more memory. Slow
//! in a debug build, so it is `#[ignore]`d and run by scripts/test.sh with the other ignored tests
//! (`cargo test --test suite -- --ignored memory::`).

use std::process::Command;

/// Evaluates a gzipped log file of `records` records built from the samples; its peak RSS in MB.
fn peak_memory_mb(records: usize) -> u64 {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("CloudTrail.json.gz");
    let texts: Vec<String> = std::fs::read_dir(crate::common::root().join("events"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    let samples = rolewarden::synth::records_from_samples(texts.iter().map(String::as_str));
    let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    rolewarden::synth::write_log_file(gz, &samples, records).unwrap();

    let out = Command::new(env!("CARGO_BIN_EXE_rolewarden"))
        .args(["evaluate", "--format", "json"])
        .arg(&path)
        .stdout(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!("{records} events from 1 inputs")),
        "{stderr}"
    );
    let peak_mb: u64 = stderr
        .split("peak memory ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no peak memory in: {stderr}"));
    println!("{records} records: peak memory {peak_mb} MB; {stderr}");
    assert!(peak_mb < 100, "peak memory {peak_mb} MB: {stderr}");
    peak_mb
}

#[test]
#[ignore = "writes log files of 50,000 and 250,000 records; run by scripts/test.sh"]
fn peak_memory_is_bounded_and_does_not_grow_with_the_file() {
    let small = peak_memory_mb(50_000);
    let large = peak_memory_mb(250_000);
    // The records differ (each sample cycles), so a few MB of allocator noise are allowed;
    // holding the file would cost hundreds.
    assert!(
        large <= small + 8,
        "250,000 records peaked at {large} MB against {small} MB for 50,000"
    );
}
