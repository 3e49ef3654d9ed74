//! Every finding the samples produce, in OCSF, through an independent implementation of the
//! schema: py-ocsf-models' DetectionFinding (tests/ocsf/check.py), which must accept each one
//! and keep every field. Needs the test venv's Python (`ROLEWARDEN_TEST_PYTHON`); the last two
//! also moto_server, for the findings log group the CLI's sink and the Lambda write OCSF to.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rolewarden::finding::{Resolution, Status};
use rolewarden::log_events::{render, FindingsFormat, MAX_EVENT_BYTES};
use rolewarden::state::AccountState;
use rolewarden::Finding;
use serde_json::Value;

use crate::common::{evaluate_file, rolewarden, root, test_engine, text};

/// What the checker said: its exit status and its report.
fn check(lines: &str) -> (bool, String) {
    let python = std::env::var("ROLEWARDEN_TEST_PYTHON").unwrap_or_else(|_| {
        panic!("ROLEWARDEN_TEST_PYTHON is not set: run through scripts/test.sh")
    });
    let mut child = Command::new(python)
        .arg(root().join("tests/ocsf/check.py"))
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lines.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.success(), text(&out.stderr))
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

/// Every event sample's findings, every sweep fixture's, an unreadable input's, and the
/// lifecycle's forms (open, resolved) and a truncated one.
fn every_kind_of_finding() -> Vec<Finding> {
    let engine = test_engine();
    let mut findings: Vec<Finding> = json_files(&root().join("events"))
        .iter()
        .flat_map(|path| evaluate_file(&engine, path))
        .collect();
    let now = "2026-06-01T00:00:00Z".parse().unwrap();
    for path in json_files(&root().join("tests/fixtures/sweep")) {
        let state: AccountState =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        findings.extend(engine.sweep(&state, now).findings);
    }
    let bad = tempfile::tempdir().unwrap();
    let bad_file = bad.path().join("bad.json");
    std::fs::write(&bad_file, "{not json\n").unwrap();
    findings.extend(evaluate_file(&engine, &bad_file));

    let first = findings.first().unwrap().clone();
    let mut open = first.clone();
    open.status = Some(Status::Open);
    open.first_seen = Some("2024-05-01T00:00:00Z".into());
    let mut resolved = open.clone();
    resolved.status = Some(Status::Resolved);
    resolved.resolution = Some(Resolution {
        at: "2026-06-01T00:00:00Z".into(),
        reason: "not reported by the sweep of 2026-06-01T00:00:00Z".into(),
    });
    let mut huge = first;
    huge.evidence
        .insert("excess".into(), Value::String("x".repeat(400 * 1024)));
    findings.extend([open, resolved, huge]);
    findings
}

#[test]
#[ignore = "needs the test venv's Python: run by scripts/test.sh"]
fn every_finding_of_the_samples_is_a_valid_ocsf_detection_finding_with_nothing_dropped() {
    let findings = every_kind_of_finding();
    let rules: std::collections::BTreeSet<&str> =
        findings.iter().map(|f| f.rule_id.as_str()).collect();
    for kind in ["PR005", "OR001", "RW000"] {
        assert!(rules.contains(kind), "no {kind} among {rules:?}");
    }
    let mut lines = String::new();
    let mut truncated = 0;
    for f in &findings {
        let line = render(f, FindingsFormat::Ocsf, 1_780_272_000_000, MAX_EVENT_BYTES).unwrap();
        truncated += usize::from(line.contains(r#""truncated":true"#));
        lines.push_str(&line);
        lines.push('\n');
    }
    assert_eq!(
        truncated, 1,
        "the oversize finding is shrunk, the others whole"
    );
    let (ok, report) = check(&lines);
    assert!(ok, "{report}");
    assert!(
        report.contains(&format!("{} findings checked, 0 problems", findings.len())),
        "{report}"
    );
}

#[test]
#[ignore = "needs the test venv's Python: run by scripts/test.sh"]
fn the_cli_writes_the_same_findings_in_ocsf() {
    let ocsf = rolewarden(&["evaluate", "--format", "ocsf", "events/"]);
    let json = rolewarden(&["evaluate", "--format", "json", "events/"]);
    let ids = |out: &std::process::Output, pointer: &str| -> Vec<String> {
        text(&out.stdout)
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                v.pointer(pointer).unwrap().as_str().unwrap().to_owned()
            })
            .collect()
    };
    let uids = ids(&ocsf, "/finding_info/uid");
    assert!(!uids.is_empty());
    assert_eq!(uids, ids(&json, "/id"));
    let (ok, report) = check(&text(&ocsf.stdout));
    assert!(ok, "{report}");
}

#[test]
#[ignore = "needs the test venv's Python: run by scripts/test.sh"]
fn the_checker_fails_on_a_dropped_field_and_an_invalid_value() {
    let engine = test_engine();
    let sample = root().join("events/pr005-fires-lexv1-putbotalias-unapproved-role.json");
    let finding = evaluate_file(&engine, &sample).remove(0);
    let line = render(&finding, FindingsFormat::Ocsf, 0, MAX_EVENT_BYTES).unwrap();
    let mut unknown: Value = serde_json::from_str(&line).unwrap();
    unknown["actor"] = serde_json::json!({"user": {"uid": "arn:aws:iam::111122223333:user/x"}});
    let (ok, report) = check(&format!("{unknown}\n"));
    assert!(!ok && report.contains("$.actor: dropped"), "{report}");
    let mut invalid: Value = serde_json::from_str(&line).unwrap();
    invalid["severity_id"] = 7.into();
    let (ok, report) = check(&format!("{invalid}\n"));
    assert!(!ok && report.contains("severity_id"), "{report}");
}

/// The log group's messages as JSON Lines.
async fn log_group_lines(config: &aws_config::SdkConfig, group: &str) -> String {
    let mut lines = crate::common::aws::read_log_group(config, group)
        .await
        .join("\n");
    lines.push('\n');
    lines
}

fn ids(lines: &str, pointer: &str) -> Vec<String> {
    lines
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v.pointer(pointer).unwrap().as_str().unwrap().to_owned()
        })
        .collect()
}

#[tokio::test]
#[ignore = "needs moto_server: run by scripts/test.sh"]
async fn the_cli_sink_writes_ocsf_when_findings_format_says_so() {
    let config = crate::common::aws::config().await;
    let group = format!("/rolewarden/{}", crate::common::aws::unique("ocsf-cli"));
    let out = Command::new(env!("CARGO_BIN_EXE_rolewarden"))
        .args(["evaluate", "--format", "json", "--sink", "cloudwatch"])
        .args(["--log-group", &group, "events/"])
        .env("FINDINGS_FORMAT", "ocsf")
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    let stored = log_group_lines(&config, &group).await;
    let mut printed_ids = ids(&printed, "/id");
    let mut stored_ids = ids(&stored, "/finding_info/uid");
    // The log group returns them by timestamp, all equal: compare as sets of ids.
    printed_ids.sort();
    stored_ids.sort();
    assert!(!printed_ids.is_empty());
    assert_eq!(stored_ids, printed_ids);
    let (ok, report) = check(&stored);
    assert!(ok, "{report}");
}

#[tokio::test]
#[ignore = "needs moto_server: run by scripts/test.sh"]
async fn the_lambda_writes_ocsf_to_its_log_group_with_findings_format_ocsf() {
    use rolewarden::lambda::{App, Invocation, Settings, SinkKind};
    let config = crate::common::aws::config().await;
    let group = format!("/rolewarden/{}", crate::common::aws::unique("ocsf-lambda"));
    let settings = Settings {
        sinks: vec![SinkKind::CloudWatch],
        log_group: group.clone(),
        ..Settings::from_env(
            &|k| (k == "FINDINGS_FORMAT").then(|| "ocsf".to_owned()),
            None,
        )
        .unwrap()
    };
    let app = App::new(
        rolewarden::Engine::new(rolewarden::Baseline::embedded().unwrap()),
        &config,
        &settings,
    );
    let event =
        std::fs::read(root().join("events/pr005-fires-lexv1-putbotalias-unapproved-role.json"))
            .unwrap();
    let answer = app.handle(&event, &Invocation::default()).await.unwrap();
    assert!(!answer.findings.is_empty());
    let stored = log_group_lines(&config, &group).await;
    assert_eq!(ids(&stored, "/finding_info/uid"), answer.findings);
    assert!(stored.lines().all(|l| l.contains(r#""class_uid":2004"#)));
    let (ok, report) = check(&stored);
    assert!(ok, "{report}");
}
