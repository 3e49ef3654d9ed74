//! Evaluating a 1,000,000-record CloudTrail log file keeps peak RSS under 100 MB: the `Records`
//! array is streamed, never held. Slow in a debug build, so it is `#[ignore]`d and run by
//! scripts/test.sh with the other ignored tests (`cargo test --test suite -- --ignored memory::`).

use std::process::Command;

#[test]
#[ignore = "writes a 1,000,000-record file; run by scripts/test.sh"]
fn one_million_records_in_bounded_memory() {
    const RECORDS: usize = 1_000_000;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("CloudTrail_1M.json.gz");
    let texts: Vec<String> = std::fs::read_dir(crate::common::root().join("events"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    let records = rolewarden::synth::records_from_samples(texts.iter().map(String::as_str));
    let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    rolewarden::synth::write_log_file(gz, &records, RECORDS).unwrap();

    let out = Command::new(env!("CARGO_BIN_EXE_rolewarden"))
        .args(["evaluate", "--format", "json"])
        .arg(&path)
        .stdout(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!("{RECORDS} events from 1 inputs")),
        "{stderr}"
    );
    let peak_mb: u64 = stderr
        .split("peak memory ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no peak memory in: {stderr}"));
    println!("1,000,000 records: peak memory {peak_mb} MB; {stderr}");
    assert!(peak_mb < 100, "peak memory {peak_mb} MB: {stderr}");
}
