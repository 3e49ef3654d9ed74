//! Enrichment and the CloudWatch Logs sink against a real local AWS API (moto_server, started by
//! scripts/test.sh). `#[ignore]`d so a plain `cargo test` needs no server; scripts/test.sh runs
//! them with `-- --ignored`.

use std::collections::BTreeMap;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::common::aws::{self, seed_policy, unique};
use rolewarden::account::{Lookup, Needs};
use rolewarden::aws::logs::CloudWatchWriter;
use rolewarden::aws::reader::AccountReader;
use rolewarden::aws::CallCounter;
use rolewarden::finding::{EventRef, Severity};
use rolewarden::lambda::{App, Invocation, Settings, SinkKind};
use rolewarden::log_events::{batches, render, FindingsFormat, LogLine, MAX_EVENT_BYTES};
use rolewarden::{Baseline, Engine, Finding};
use serde_json::Value;

fn rolewarden(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rolewarden"));
    cmd.args(args).current_dir(crate::common::root());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn of_rule<'a>(findings: &'a [Value], rule: &str) -> Vec<&'a Value> {
    findings.iter().filter(|f| f["rule_id"] == rule).collect()
}

#[tokio::test]
#[ignore = "needs moto_server: run by scripts/test.sh"]
async fn pr006_follows_what_the_account_holds() {
    let config = aws::config().await;
    let extra = aws::seed_sample_roles(&aws_sdk_iam::Client::new(&config)).await;
    let out = rolewarden(
        &[
            "evaluate",
            "--enrich",
            "--format",
            "json",
            "--baseline",
            "tests/fixtures/test-baseline.toml",
            "events/pr006-fires-lexv2-createbot-overprivileged-role.json",
            "events/pr006-quiet-lexv2-createbot-minimal-role.json",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let findings = json_lines(&out);
    let pr006 = of_rule(&findings, "PR006");
    assert_eq!(pr006.len(), 1, "{findings:#?}");
    let f = pr006[0];
    assert_eq!(
        f["resource"],
        "arn:aws:iam::111122223333:role/service-role/lex-logs-overprivileged"
    );
    assert_eq!(f["enrichment"], "role policies read from the account");
    let excess = f["evidence"]["excess"].as_array().unwrap();
    let policies: Vec<&str> = excess
        .iter()
        .map(|e| e["policy"].as_str().unwrap())
        .collect();
    assert!(policies.contains(&"TooMuch"), "{excess:?}");
    // Attached policies are named by their ARN.
    assert!(policies.contains(&extra.as_str()), "{excess:?}");
    assert!(excess
        .iter()
        .any(|e| e["actions"] == serde_json::json!(["s3:*"])));
    // The minimal role holds only what the profile allows.
    assert!(!findings.iter().any(|f| f["resource"]
        .as_str()
        .unwrap_or("")
        .ends_with("lex-logs-minimal")));
    assert!(
        stderr(&out).contains("IAM:GetRole 2"),
        "one GetRole per passed role: {}",
        stderr(&out)
    );
}

#[test]
#[ignore = "needs moto_server: run by scripts/test.sh"]
fn unavailable_enrichment_is_noted_and_nothing_is_dropped() {
    aws::endpoint();
    let dead = format!("http://127.0.0.1:{}", aws::free_port());
    let out = rolewarden(
        &[
            "evaluate",
            "--enrich",
            "--format",
            "json",
            "events/pr006-fires-lexv2-createbot-overprivileged-role.json",
        ],
        &[("AWS_ENDPOINT_URL", &dead), ("AWS_MAX_ATTEMPTS", "1")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let findings = json_lines(&out);
    let pr005 = of_rule(&findings, "PR005");
    assert_eq!(pr005.len(), 1, "{findings:#?}");
    let note = pr005[0]["enrichment"].as_str().unwrap();
    assert!(
        note.starts_with(
            "unavailable (iam:GetRole `lex-logs-overprivileged`: cannot reach the AWS API"
        ),
        "{note}"
    );
    assert!(of_rule(&findings, "PR006").is_empty());
}

fn attach_event(policy_arn: &str) -> String {
    let text = std::fs::read_to_string(
        crate::common::root().join("events/pr004-fires-attach-role-admin.json"),
    )
    .unwrap();
    let mut event: Value = serde_json::from_str(&text).unwrap();
    event["detail"]["requestParameters"]["policyArn"] = Value::String(policy_arn.to_owned());
    event["detail"]["eventID"] = Value::String(unique("event"));
    event.to_string()
}

#[tokio::test]
#[ignore = "needs moto_server: run by scripts/test.sh"]
async fn pr004_reads_customer_managed_policies() {
    let iam = aws_sdk_iam::Client::new(&aws::config().await);
    let broad = seed_policy(
        &iam,
        &unique("pass-anything"),
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:Pass*","Resource":"*"}]}"#,
    )
    .await;
    let narrow = seed_policy(
        &iam,
        &unique("pass-lex-logs"),
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::123456789012:role/lex-logs","Condition":{"StringEquals":{"iam:PassedToService":"lexv2.amazonaws.com"}}}]}"#,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (broad_file, narrow_file) = (
        dir.path().join("broad.json"),
        dir.path().join("narrow.json"),
    );
    std::fs::write(&broad_file, attach_event(&broad)).unwrap();
    std::fs::write(&narrow_file, attach_event(&narrow)).unwrap();
    let out = rolewarden(
        &[
            "evaluate",
            "--enrich",
            "--format",
            "json",
            broad_file.to_str().unwrap(),
            narrow_file.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let findings = json_lines(&out);
    let pr004 = of_rule(&findings, "PR004");
    assert_eq!(pr004.len(), 1, "{findings:#?}");
    assert_eq!(pr004[0]["evidence"]["policy_arn"], broad.as_str());
    assert_eq!(pr004[0]["enrichment"], "policy read from the account");
    assert_eq!(pr004[0]["evidence"]["grant"]["matched_action"], "iam:Pass*");
}

#[tokio::test]
#[ignore = "needs moto_server: run by scripts/test.sh"]
async fn the_cache_spares_repeated_calls_within_the_ttl() {
    let config = aws::config().await;
    let iam = aws_sdk_iam::Client::new(&config);
    aws::seed_sample_roles(&iam).await;
    let needs = Needs {
        roles: ["lex-logs-overprivileged".to_owned(), unique("no-such-role")]
            .into_iter()
            .collect(),
        ..Default::default()
    };
    let baseline = Baseline::embedded().unwrap();
    let calls = CallCounter::default();
    let cached = AccountReader::new(&config, &calls, Duration::from_secs(300), &baseline);
    let first = cached.snapshot(&needs, &baseline).await;
    let cold = calls.total_for("IAM");
    // GetRole x2 (one missing), ListRolePolicies, GetRolePolicy x2, ListAttachedRolePolicies,
    // GetPolicy, GetPolicyVersion.
    assert_eq!(cold, 8, "{:?}", calls.snapshot());
    let second = cached.snapshot(&needs, &baseline).await;
    assert_eq!(calls.total_for("IAM"), cold, "a warm cache makes no call");
    assert_eq!(first.roles, second.roles);
    assert!(first.roles.values().any(|l| matches!(l, Lookup::Missing)));

    let uncached_calls = CallCounter::default();
    let uncached = AccountReader::new(&config, &uncached_calls, Duration::ZERO, &baseline);
    uncached.snapshot(&needs, &baseline).await;
    uncached.snapshot(&needs, &baseline).await;
    assert_eq!(uncached_calls.total_for("IAM"), 2 * cold);
}

#[tokio::test]
#[ignore = "needs moto_server: run by scripts/test.sh"]
async fn findings_land_in_the_log_group_field_for_field() {
    let config = aws::config().await;
    let group = format!("/rolewarden/{}", unique("cli"));
    let out = rolewarden(
        &[
            "evaluate",
            "--format",
            "json",
            "--sink",
            "cloudwatch",
            "--log-group",
            &group,
            "--baseline",
            "tests/fixtures/test-baseline.toml",
            "--as-of",
            "2026-06-01",
            "events/",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let printed = json_lines(&out);
    assert!(printed.len() > 40);
    assert!(
        stderr(&out).contains(&format!(
            "{} findings written to cloudwatch:{group}",
            printed.len()
        )),
        "{}",
        stderr(&out)
    );
    let stored: Vec<Value> = aws::read_log_group(&config, &group)
        .await
        .iter()
        .map(|m| serde_json::from_str(m).unwrap())
        .collect();
    assert_eq!(stored, printed);
}

fn synthetic(i: usize, evidence_bytes: usize) -> Finding {
    let mut f = Finding {
        id: format!("{i:08}"),
        rule_id: "PR006".into(),
        rule_name: "PassedRoleOverPrivileged".into(),
        severity: Severity::Medium,
        message: format!("finding {i}"),
        account: Some("123456789012".into()),
        region: Some("us-east-1".into()),
        resource: Some(format!("arn:aws:iam::123456789012:role/r{i}")),
        actor: None,
        event: EventRef::default(),
        evidence: BTreeMap::new(),
        remediation: "reduce it".into(),
        enrichment: None,
        truncated: false,
        status: None,
        first_seen: None,
        resolution: None,
    };
    f.evidence
        .insert("blob".into(), Value::String("x".repeat(evidence_bytes)));
    f
}

#[tokio::test]
#[ignore = "needs moto_server: run by scripts/test.sh"]
async fn twenty_five_thousand_findings_arrive_complete_and_in_order() {
    let config = aws::config().await;
    let group = format!("/rolewarden/{}", unique("bulk"));
    let calls = CallCounter::default();
    let mut writer = CloudWatchWriter::new(&config, &calls, &group, "bulk");
    let findings: Vec<Finding> = (0..25_000).map(|i| synthetic(i, 20)).collect();
    writer.write(&findings).await.unwrap();
    // ~400 bytes a finding: the 1 MB limit, not the 10,000-event one, cuts these batches.
    let lines: Vec<LogLine> = findings
        .iter()
        .map(|f| LogLine {
            timestamp_ms: 0,
            message: render(f, FindingsFormat::Json, 0, MAX_EVENT_BYTES).unwrap(),
        })
        .collect();
    let expected = batches(lines).len() as u64;
    let puts = calls.snapshot()["CloudWatch Logs:PutLogEvents"];
    assert!(expected >= 3, "{expected}");
    assert_eq!(puts, expected, "{:?}", calls.snapshot());
    let stored = aws::read_log_group(&config, &group).await;
    assert_eq!(stored.len(), 25_000);
    for (i, message) in stored.iter().enumerate() {
        let f: Finding = serde_json::from_str(message).unwrap();
        assert_eq!(f.id, format!("{i:08}"), "out of order at {i}");
    }
}

#[tokio::test]
#[ignore = "needs moto_server: run by scripts/test.sh"]
async fn an_oversize_finding_arrives_truncated_and_marked() {
    let config = aws::config().await;
    let group = format!("/rolewarden/{}", unique("big"));
    let mut writer = CloudWatchWriter::new(&config, &CallCounter::default(), &group, "big");
    writer
        .write(&[synthetic(1, 300 * 1024), synthetic(2, 10)])
        .await
        .unwrap();
    let stored = aws::read_log_group(&config, &group).await;
    assert_eq!(stored.len(), 2);
    assert!(stored[0].len() + 26 <= 256 * 1024, "{}", stored[0].len());
    let big: Finding = serde_json::from_str(&stored[0]).unwrap();
    assert!(big.truncated);
    assert_eq!(big.id, "00000001");
    assert_eq!(big.evidence["blob"]["truncated_bytes"], 300 * 1024 + 2);
    let small: Finding = serde_json::from_str(&stored[1]).unwrap();
    assert!(!small.truncated);
    assert_eq!(small, synthetic(2, 10));
}

#[tokio::test]
#[ignore = "needs moto_server: run by scripts/test.sh"]
async fn a_deleted_log_group_is_recreated() {
    let config = aws::config().await;
    let group = format!("/rolewarden/{}", unique("deleted"));
    let calls = CallCounter::default();
    let mut writer = CloudWatchWriter::new(&config, &calls, &group, "c1");
    writer.write(&[synthetic(1, 10)]).await.unwrap();
    aws::json_call(
        &config,
        aws::LOGS,
        "DeleteLogGroup",
        serde_json::json!({ "logGroupName": group }),
    )
    .await;
    writer.write(&[synthetic(2, 10)]).await.unwrap();
    let stored = aws::read_log_group(&config, &group).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(
        serde_json::from_str::<Finding>(&stored[0]).unwrap().id,
        "00000002"
    );
    assert_eq!(calls.snapshot()["CloudWatch Logs:CreateLogGroup"], 2);
}

pub(crate) fn app(config: &aws_config::SdkConfig, group: &str) -> App {
    let settings = Settings {
        sinks: vec![SinkKind::CloudWatch],
        log_group: group.to_owned(),
        ..Settings::from_env(&|_| None, None).unwrap()
    };
    App::new(
        Engine::new(Baseline::embedded().unwrap()),
        config,
        &settings,
    )
}

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(crate::common::root().join("events").join(name)).unwrap()
}

#[tokio::test]
#[ignore = "needs moto_server: run by scripts/test.sh"]
async fn a_stopped_server_fails_the_invocation_as_retryable() {
    let mut server = aws::OwnServer::start();
    let config = aws::config_for(&server.url).await;
    let app = app(&config, "/rolewarden/stopped");
    let event = sample("sl001-fires-attach-policy-to-lex-slr.json");
    let ok = app.handle(&event, &Invocation::default()).await.unwrap();
    assert_eq!(ok.findings.len(), 1);
    server.stop();
    let err = app
        .handle(&event, &Invocation::default())
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Retryable");
    let message = err.to_string();
    assert!(
        message.contains("/rolewarden/stopped") && message.contains("logs:PutLogEvents"),
        "{message}"
    );
    // An event with nothing to write does not fail: nothing was lost.
    let quiet = app
        .handle(
            &sample("sl001-quiet-attach-readonly-to-ordinary-role.json"),
            &Invocation::default(),
        )
        .await
        .unwrap();
    assert!(quiet.findings.is_empty());
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

#[tokio::test]
#[ignore = "needs moto_server: run by scripts/test.sh"]
async fn warm_invocations_repeat_no_iam_call() {
    let config = aws::config().await;
    aws::seed_sample_roles(&aws_sdk_iam::Client::new(&config)).await;
    let app = app(&config, &format!("/rolewarden/{}", unique("warm")));
    let enriched = sample("pr006-fires-lexv2-createbot-overprivileged-role.json");
    let plain = sample("sl002-fires-update-trust-lexv2-channels-slr.json");

    let iam_calls = |r: &rolewarden::lambda::Response| -> u64 {
        r.api_calls
            .iter()
            .filter(|(k, _)| k.starts_with("IAM:"))
            .map(|(_, n)| n)
            .sum()
    };
    let cold = app.handle(&enriched, &Invocation::default()).await.unwrap();
    let warm = app.handle(&enriched, &Invocation::default()).await.unwrap();
    let none = app.handle(&plain, &Invocation::default()).await.unwrap();
    assert_eq!(iam_calls(&cold), 7, "{:?}", cold.api_calls);
    assert_eq!(iam_calls(&warm), 0, "{:?}", warm.api_calls);
    assert_eq!(iam_calls(&none), 0, "{:?}", none.api_calls);
    assert_eq!(cold.findings, warm.findings);
    assert_eq!(cold.counts.get(&Severity::Medium), Some(&1), "PR006");
    assert!(!none.findings.is_empty());

    let mut times = Vec::new();
    for _ in 0..200 {
        let started = Instant::now();
        let r = app.handle(&enriched, &Invocation::default()).await.unwrap();
        times.push(started.elapsed());
        assert_eq!(iam_calls(&r), 0);
    }
    times.sort();
    println!(
        "warm invoke with enrichment (moto on 127.0.0.1, 200 runs): median {:?}, p99 {:?}; IAM calls per event: cold cache {}, warm cache {}, event needing none {}",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        iam_calls(&cold),
        iam_calls(&warm),
        iam_calls(&none)
    );
}

#[tokio::test]
#[ignore = "needs moto_server: run by scripts/test.sh"]
async fn events_from_another_account_are_judged_from_the_event_alone() {
    let config = aws::config().await;
    let group = format!("/rolewarden/{}", unique("foreign"));
    let app = app(&config, &group);
    let central = Invocation {
        account: Some("999999999999".into()),
        ..Default::default()
    };
    let r = app
        .handle(
            &sample("pr006-fires-lexv2-createbot-overprivileged-role.json"),
            &central,
        )
        .await
        .unwrap();
    assert!(
        !r.api_calls.keys().any(|k| k.starts_with("IAM:")),
        "{:?}",
        r.api_calls
    );
    assert_eq!(r.findings.len(), 1, "PR005 only: {r:?}");
    let stored = aws::read_log_group(&config, &group).await;
    let pr005: Finding = serde_json::from_str(&stored[0]).unwrap();
    assert_eq!(pr005.rule_id, "PR005");
    assert_eq!(
        pr005.enrichment.as_deref(),
        Some("unavailable (the event is from account 111122223333; enrichment reads account 999999999999 only)")
    );
    // A delete event from another account re-checks nothing: the sweep reads this account.
    let delete = app
        .handle(&sample("recheck-lexv2-deletebot.json"), &central)
        .await
        .unwrap();
    assert_eq!(delete.status, "evaluated");
    assert!(delete.sweep.is_none());
}

#[tokio::test]
#[ignore = "needs moto_server: run by scripts/test.sh"]
async fn enrich_reads_only_its_own_account() {
    let config = aws::config().await;
    aws::seed_sample_roles(&aws_sdk_iam::Client::new(&config)).await;
    let text = std::fs::read_to_string(
        crate::common::root().join("events/pr006-fires-lexv2-createbot-overprivileged-role.json"),
    )
    .unwrap()
    .replace("111122223333", "444455556666");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("member-account.json");
    std::fs::write(&file, text).unwrap();
    let out = rolewarden(
        &[
            "evaluate",
            "--enrich",
            "--format",
            "json",
            file.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let findings = json_lines(&out);
    let pr005 = of_rule(&findings, "PR005");
    assert_eq!(pr005.len(), 1, "{findings:#?}");
    assert_eq!(
        pr005[0]["enrichment"],
        "unavailable (the event is from account 444455556666; enrichment reads account 111122223333 only)"
    );
    assert!(of_rule(&findings, "PR006").is_empty());
    assert!(!stderr(&out).contains("IAM:GetRole"), "{}", stderr(&out));
}
