//! The `rolewarden` binary as a user runs it: exit codes, output formats, messages.

use std::process::Command;

use crate::common::{evaluate_samples, rolewarden, text};

#[test]
fn evaluate_the_samples_as_json_lines() {
    let out = evaluate_samples();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let findings: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(findings.len() > 40, "{}", findings.len());
    for f in &findings {
        for key in [
            "id",
            "rule_id",
            "rule_name",
            "severity",
            "message",
            "account",
            "region",
            "resource",
            "actor",
            "event",
            "evidence",
            "remediation",
        ] {
            assert!(f.get(key).is_some(), "missing {key} in {f}");
        }
    }
    let stderr = text(&out.stderr);
    // Every sample is one event; the unwatched ones and the schedule are ignored.
    let names: Vec<String> = std::fs::read_dir(crate::common::root().join("events"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    let ignored = names
        .iter()
        .filter(|n| n.starts_with("unwatched-") || n.starts_with("sweep-"))
        .count();
    let expected = format!(
        "{n} events from {n} inputs ({ignored} ignored, not watched), 0 unreadable",
        n = names.len()
    );
    assert!(stderr.contains(&expected), "{expected}: {stderr}");
}

#[test]
fn fail_on_and_min_severity() {
    let out = rolewarden(&[
        "evaluate",
        "--fail-on",
        "critical",
        "events/sl001-fires-attach-policy-to-lex-slr.json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("CRITICAL (1)"),
        "{}",
        text(&out.stdout)
    );
    let out = rolewarden(&[
        "evaluate",
        "--fail-on",
        "critical",
        "events/sl004-fires-update-description-lexv2-slr.json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let out = rolewarden(&[
        "evaluate",
        "--min-severity",
        "high",
        "events/sl004-fires-update-description-lexv2-slr.json",
    ]);
    assert!(
        text(&out.stdout).contains("No findings."),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn unreadable_input_is_named_and_the_rest_still_evaluated() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"eventName\": \n").unwrap();
    let out = rolewarden(&[
        "evaluate",
        bad.to_str().unwrap(),
        "events/sl006-fires-lookalike-lex-slr-no-path.json",
        dir.path().join("missing.json").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        // The record is cut after its last byte on line 1 (the blank rest of the file is not
        // where it stops).
        stderr.contains(
            "bad.json: line 1: unreadable: not valid JSON: EOF while parsing a value (column 13)"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("missing.json: cannot open"), "{stderr}");
    assert!(text(&out.stdout).contains("SL006"), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("RW000"), "{}", text(&out.stdout));
}

#[test]
fn standard_input() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_rolewarden"))
        .args(["evaluate", "--format", "json", "-"])
        .current_dir(crate::common::root())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let sample = std::fs::read(
        crate::common::root().join("events/sl006-fires-lookalike-lex-slr-no-path.json"),
    )
    .unwrap();
    child.stdin.take().unwrap().write_all(&sample).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("\"rule_id\":\"SL006\""));
}

#[test]
fn rules_explain_and_baseline() {
    let out = rolewarden(&["rules"]);
    assert!(
        text(&out.stdout).contains("PR001  high"),
        "{}",
        text(&out.stdout)
    );
    let out = rolewarden(&["explain", "pr005"]);
    let doc = text(&out.stdout);
    for section in [
        "## What it does",
        "## Why it matters",
        "## Example",
        "## Fix",
    ] {
        assert!(doc.contains(section), "{doc}");
    }
    let out = rolewarden(&["explain", "PR999"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown rule `PR999`"));
    let out = rolewarden(&["baseline", "show"]);
    assert_eq!(text(&out.stdout), rolewarden::baseline::DEFAULT_TOML);

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[rules]\ndisabled = [\"XX1\"]\n\n[[exceptions]]\nrule = \"PR001\"\n",
    )
    .unwrap();
    let out = rolewarden(&["baseline", "check", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("line 2: `rules.disabled[0]`: unknown rule `XX1`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`exceptions[0]`: needs `resource` or `actor`"),
        "{stderr}"
    );
    let out = rolewarden(&["baseline", "check", "tests/fixtures/test-baseline.toml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("expired on 2026-01-31"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn exceptions_suppress_until_they_expire() {
    let dir = tempfile::tempdir().unwrap();
    let baseline = dir.path().join("b.toml");
    std::fs::write(
        &baseline,
        "[[exceptions]]\nrule = \"SL006\"\nactor = \"arn:aws:iam::111122223333:*\"\nowner = \"me\"\nreason = \"test\"\nexpires = 2026-03-01\n",
    )
    .unwrap();
    let sample = "events/sl006-fires-lookalike-lex-slr-no-path.json";
    let before = rolewarden(&[
        "evaluate",
        "--format",
        "json",
        "--as-of",
        "2026-02-01",
        "--baseline",
        baseline.to_str().unwrap(),
        sample,
    ]);
    assert_eq!(text(&before.stdout), "");
    assert!(
        text(&before.stderr).contains("1 suppressed by exceptions"),
        "{}",
        text(&before.stderr)
    );
    let after = rolewarden(&[
        "evaluate",
        "--format",
        "json",
        "--as-of",
        "2026-04-01",
        "--baseline",
        baseline.to_str().unwrap(),
        sample,
    ]);
    let rules: Vec<String> = text(&after.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["rule_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(rules, ["SL006", "RW001"]);
}

#[test]
fn a_user_profile_teaches_a_new_service_without_code() {
    let dir = tempfile::tempdir().unwrap();
    let baseline = dir.path().join("kendra.toml");
    std::fs::write(
        &baseline,
        r#"
[[approved_passes]]
role = "arn:aws:iam::111122223333:role/service-role/kendra-index"
service = "kendra.amazonaws.com"

[[profiles]]
name = "kendra"
title = "Amazon Kendra"
principals = ["kendra.amazonaws.com"]
event_source = "kendra.amazonaws.com"
[[profiles.passes]]
event = "CreateIndex"
role = "roleArn"
resource = "arn:aws:kendra:{region}:{account}:index/{response.id}"
"#,
    )
    .unwrap();
    let event = |role: &str| {
        format!(
            r#"{{"eventSource":"kendra.amazonaws.com","eventName":"CreateIndex","awsRegion":"us-east-1","recipientAccountId":"111122223333","eventID":"e-{role}","requestParameters":{{"name":"docs","roleArn":"arn:aws:iam::111122223333:role/service-role/{role}"}},"responseElements":{{"id":"idx-1"}}}}"#
        )
    };
    let events = dir.path().join("kendra.jsonl");
    std::fs::write(
        &events,
        format!("{}\n{}\n", event("kendra-index"), event("Admin")),
    )
    .unwrap();
    let out = rolewarden(&[
        "evaluate",
        "--format",
        "json",
        "--baseline",
        baseline.to_str().unwrap(),
        events.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let findings: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0]["rule_id"], "PR005");
    assert_eq!(
        findings[0]["resource"],
        "arn:aws:iam::111122223333:role/service-role/Admin"
    );
    assert_eq!(
        findings[0]["evidence"]["associated_resource"],
        "arn:aws:kendra:us-east-1:111122223333:index/idx-1"
    );
}

#[test]
fn check_policy_judges_permissions_and_trust_documents() {
    let dir = tempfile::tempdir().unwrap();
    let broad = dir.path().join("deployer.json");
    std::fs::write(
        &broad,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"*"}]}"#,
    )
    .unwrap();
    let trust = dir.path().join("bot-trust.json");
    // URL-encoded, as IAM's read APIs return it.
    std::fs::write(
        &trust,
        "%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22lexv2.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D",
    )
    .unwrap();
    let scoped = dir.path().join("reader.json");
    std::fs::write(
        &scoped,
        r#"{"Statement":{"Effect":"Allow","Action":"iam:GetRole","Resource":"*"}}"#,
    )
    .unwrap();
    let path = |p: &std::path::Path| p.to_str().unwrap().to_owned();

    let out = rolewarden(&[
        "check-policy",
        "--format",
        "json",
        &path(&broad),
        &path(&trust),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let rules: Vec<String> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["rule_id"].to_string())
        .collect();
    assert_eq!(rules, ["\"PR001\"", "\"TR002\""]);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("deployer.json: permissions policy: 1 findings"),
        "{stderr}"
    );
    assert!(
        stderr.contains("bot-trust.json: trust policy: 1 findings"),
        "{stderr}"
    );

    // TR002 is low: a higher threshold passes it; a clean policy passes anyway.
    let out = rolewarden(&["check-policy", "--fail-on", "medium", &path(&trust)]);
    assert_eq!(out.status.code(), Some(0));
    let out = rolewarden(&["check-policy", &path(&scoped)]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("No findings."));

    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "[1, 2]").unwrap();
    let out = rolewarden(&["check-policy", &path(&garbage), &path(&scoped)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr)
            .contains("garbage.json: policy document is an array, expected a JSON object"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn event_pattern_prints_one_pattern_per_source() {
    let out = rolewarden(&["event-pattern"]);
    assert_eq!(out.status.code(), Some(0));
    let all: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sources: Vec<&String> = all.as_object().unwrap().keys().collect();
    assert_eq!(sources, ["aws.connect", "aws.iam", "aws.lex"]);
    let out = rolewarden(&["event-pattern", "--source", "aws.connect"]);
    let connect: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        connect["detail"]["eventName"],
        serde_json::json!(["DeleteInstance"])
    );
    assert_eq!(connect, all["aws.connect"]);
    let out = rolewarden(&["event-pattern", "--source", "aws.s3"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains(
            "no rule consumes events from `aws.s3` (sources: aws.connect, aws.iam, aws.lex)"
        ),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn findings_that_cannot_be_written_exit_3_and_say_how_many() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // Nothing listens there any more: every CloudWatch Logs call is refused at once.
    let out = Command::new(env!("CARGO_BIN_EXE_rolewarden"))
        .args([
            "evaluate",
            "--format",
            "json",
            "--sink",
            "cloudwatch",
            "--log-group",
            "/rolewarden/unreachable",
            "events/sl001-fires-attach-policy-to-lex-slr.json",
        ])
        .current_dir(crate::common::root())
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_MAX_ATTEMPTS", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("cannot write 1 findings to log group `/rolewarden/unreachable`"),
        "{stderr}"
    );
    assert!(stderr.contains("(0 written before)"), "{stderr}");
    assert!(stderr.contains("cannot reach the AWS API"), "{stderr}");
    // The finding itself still reached standard output.
    assert!(text(&out.stdout).contains("\"rule_id\":\"SL001\""));
}
