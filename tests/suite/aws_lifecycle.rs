//! The finding lifecycle (issue 16) against moto's DynamoDB, IAM and CloudWatch Logs: the
//! Lambda's `App` and the CLI's `--state dynamodb:TABLE` read and store finding state in a real
//! table (the template's keys and open index), and the log group shows `new`, `open` and
//! `resolved` records. `#[ignore]`d; run with moto like the other AWS tests.

use std::process::Command;
use std::time::Instant;

use crate::aws_sweep::create_role;
use crate::common::aws::{self, read_log_group, unique, OwnServer};
use crate::common::TestSink;
use aws_config::SdkConfig;
use rolewarden::aws::accounts::Accounts;
use rolewarden::aws::state_table::{StateTable, OPEN_INDEX};
use rolewarden::aws::CallCounter;
use rolewarden::finding::Status;
use rolewarden::lambda::{App, Invocation, Settings, SinkKind};
use rolewarden::{Baseline, Engine};
use serde_json::Value;

/// The table as template.yaml declares it.
pub(crate) async fn create_table(config: &SdkConfig) -> String {
    use rolewarden::aws::rest_json::{Call, Request, DYNAMODB, DYNAMODB_TARGET};
    let name = unique("rolewarden-state");
    let key = |n: &str, t: &str| serde_json::json!({"AttributeName": n, "KeyType": t});
    let attributes = ["account", "id", "open_key"]
        .map(|n| serde_json::json!({"AttributeName": n, "AttributeType": "S"}));
    let body = serde_json::json!({
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": attributes,
        "KeySchema": [key("account", "HASH"), key("id", "RANGE")],
        "GlobalSecondaryIndexes": [{
            "IndexName": OPEN_INDEX,
            "KeySchema": [key("open_key", "HASH"), key("id", "RANGE")],
            "Projection": {"ProjectionType": "ALL"},
        }],
    });
    Call::<Value>::new(config, DYNAMODB, "CreateTable", &CallCounter::default())
        .unwrap()
        .send(Request::aws_json(DYNAMODB_TARGET, "CreateTable", &body))
        .await
        .unwrap();
    name
}

/// The real function writing to `group`, keeping state in `table`.
fn app(config: &SdkConfig, group: &str, table: &str) -> App {
    let settings = Settings {
        sinks: vec![SinkKind::CloudWatch],
        log_group: group.to_owned(),
        state_table: Some(table.to_owned()),
        ..Settings::from_env(&|_| None, None).unwrap()
    };
    App::new(
        Engine::new(Baseline::embedded().unwrap()),
        config,
        &settings,
    )
}

async fn log(config: &SdkConfig, group: &str) -> Vec<Value> {
    read_log_group(config, group)
        .await
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `(rule, status)` of the records from index `from` on.
fn statuses(records: &[Value], from: usize) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = records[from..]
        .iter()
        .map(|r| {
            (
                r["rule_id"].as_str().unwrap().to_owned(),
                r["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

fn pair(rule: &str, status: &str) -> (String, String) {
    (rule.to_owned(), status.to_owned())
}

/// A fresh account with one orphaned role (OR001: trusts Lex V2, created 400 days ago, never
/// used), and an empty state table.
pub(crate) async fn orphaned_account() -> (OwnServer, SdkConfig, aws_sdk_iam::Client, String) {
    let server = OwnServer::start();
    let config = aws::config_for(&server.url).await;
    let iam = aws_sdk_iam::Client::new(&config);
    server.set_clock_days(-400);
    create_role(
        &iam,
        "lex-bot-role-unused",
        "/service-role/",
        "lexv2.amazonaws.com",
    )
    .await;
    server.set_clock_days(0);
    let table = create_table(&config).await;
    (server, config, iam, table)
}

pub(crate) fn schedule() -> Vec<u8> {
    std::fs::read(crate::common::root().join("events/sweep-scheduled-event.json")).unwrap()
}

#[tokio::test]
#[ignore = "needs moto_server: run by scripts/test.sh"]
async fn sweeps_open_then_resolve_the_fixed_account_and_an_incomplete_one_resolves_nothing() {
    let (_server, config, iam, table) = orphaned_account().await;
    let group = unique("/rolewarden/lifecycle");
    let app = app(&config, &group, &table);

    let first = app
        .handle(&schedule(), &Invocation::default())
        .await
        .unwrap();
    assert_eq!(first.status, "swept");
    assert_eq!(first.sweep.as_ref().unwrap().stats.gaps, 0, "{first:?}");
    let records = log(&config, &group).await;
    assert_eq!(statuses(&records, 0), [pair("OR001", "new")]);
    let or001 = records[0]["id"].as_str().unwrap().to_owned();
    let first_seen = records[0]["first_seen"].clone();
    // The state is read in one BatchGetItem and one Query, and stored in one BatchWriteItem.
    assert_eq!(
        first.api_calls["DynamoDB:BatchGetItem"], 1,
        "{:?}",
        first.api_calls
    );
    assert_eq!(first.api_calls["DynamoDB:Query"], 1);
    assert_eq!(first.api_calls["DynamoDB:BatchWriteItem"], 1);

    let second = app
        .handle(&schedule(), &Invocation::default())
        .await
        .unwrap();
    assert_eq!(second.findings, std::slice::from_ref(&or001));
    let records = log(&config, &group).await;
    assert_eq!(statuses(&records, 1), [pair("OR001", "open")]);
    assert_eq!(records[1]["first_seen"], first_seen);

    // The orphan is deleted, but a sweep out of time reads nothing: RW002, nothing resolved.
    iam.delete_role()
        .role_name("lex-bot-role-unused")
        .send()
        .await
        .unwrap();
    let out_of_time = Invocation {
        deadline: Some(Instant::now()),
        ..Invocation::default()
    };
    let partial = app.handle(&schedule(), &out_of_time).await.unwrap();
    assert!(
        partial.sweep.as_ref().unwrap().stats.gaps > 0,
        "{partial:?}"
    );
    assert!(partial.resolved.is_empty(), "{partial:?}");
    let records = log(&config, &group).await;
    assert_eq!(statuses(&records, 2), [pair("RW002", "new")]);

    // A complete sweep: the orphan and the gap are gone, both resolved.
    let clean = app
        .handle(&schedule(), &Invocation::default())
        .await
        .unwrap();
    assert!(clean.findings.is_empty(), "{clean:?}");
    assert_eq!(clean.resolved.len(), 2, "{clean:?}");
    assert!(clean.resolved.contains(&or001));
    let records = log(&config, &group).await;
    assert_eq!(
        statuses(&records, 3),
        [pair("OR001", "resolved"), pair("RW002", "resolved")]
    );
    let resolved = records[3..]
        .iter()
        .find(|r| r["id"] == or001.as_str())
        .unwrap();
    assert_eq!(resolved["first_seen"], first_seen);
    assert!(resolved["resolution"]["reason"]
        .as_str()
        .unwrap()
        .contains("complete sweep"));

    // Nothing left open: the next sweep writes nothing at all.
    let quiet = app
        .handle(&schedule(), &Invocation::default())
        .await
        .unwrap();
    assert!(
        quiet.findings.is_empty() && quiet.resolved.is_empty(),
        "{quiet:?}"
    );
    assert_eq!(log(&config, &group).await.len(), 5);
}

/// PR001's sample as a `PutRolePolicy` of `pass-any-role` on `deploy-bot`, PassRole on `*`,
/// or (`fixed`) a later event writing the same policy scoped to Lambda.
fn policy_event(fixed: bool) -> Vec<u8> {
    let path = crate::common::root().join("events/pr001-fires-passrole-on-star.json");
    let mut event: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let detail = &mut event["detail"];
    detail["eventName"] = Value::from("PutRolePolicy");
    let params = detail["requestParameters"].as_object_mut().unwrap();
    params.remove("userName");
    params.insert("roleName".into(), Value::from("deploy-bot"));
    if fixed {
        params.insert(
            "policyDocument".into(),
            Value::from(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"*","Condition":{"StringEquals":{"iam:PassedToService":"lambda.amazonaws.com"}}}]}"#),
        );
        detail["eventID"] = Value::from("5a1c0d3e-0000-4000-8000-00000000f1x0");
        detail["eventTime"] = Value::from("2024-05-06T09:10:00Z");
        event["id"] = Value::from("fixing-event");
    }
    serde_json::to_vec(&event).unwrap()
}

#[tokio::test]
#[ignore = "needs moto_server: run by scripts/test.sh"]
async fn an_event_then_its_redelivery_then_its_fix() {
    let server = OwnServer::start();
    let config = aws::config_for(&server.url).await;
    let table = create_table(&config).await;
    let group = unique("/rolewarden/lifecycle");
    let app = app(&config, &group, &table);

    let bad = app
        .handle(&policy_event(false), &Invocation::default())
        .await
        .unwrap();
    assert!(!bad.findings.is_empty(), "{bad:?}");
    let records = log(&config, &group).await;
    let written = records.len();
    assert!(records.iter().all(|r| r["status"] == "new"), "{records:?}");
    assert!(records.iter().any(|r| r["rule_id"] == "PR001"));

    // Lambda delivers the same event again: the same ids, open.
    let again = app
        .handle(&policy_event(false), &Invocation::default())
        .await
        .unwrap();
    assert_eq!(again.findings, bad.findings);
    assert!(again.resolved.is_empty());
    let records = log(&config, &group).await;
    assert_eq!(records.len(), 2 * written);
    assert!(records[written..].iter().all(|r| r["status"] == "open"));

    // The same role and policy name, written again without PassRole on everything.
    let fix = app
        .handle(&policy_event(true), &Invocation::default())
        .await
        .unwrap();
    assert!(
        fix.findings.iter().all(|id| !bad.findings.contains(id)),
        "{fix:?}"
    );
    let records = log(&config, &group).await;
    let resolved: Vec<&Value> = records
        .iter()
        .filter(|r| r["status"] == "resolved")
        .collect();
    let policy_rules: Vec<&Value> = records[..written]
        .iter()
        .filter(|r| r["rule_id"].as_str().unwrap().starts_with("PR"))
        .collect();
    assert!(!policy_rules.is_empty());
    assert_eq!(resolved.len(), policy_rules.len(), "{records:?}");
    for record in resolved {
        assert!(bad
            .findings
            .contains(&record["id"].as_str().unwrap().to_owned()));
        let reason = record["resolution"]["reason"].as_str().unwrap();
        assert!(
            reason.contains("PutRolePolicy") && reason.contains("no longer fires"),
            "{reason}"
        );
    }
    assert_eq!(fix.resolved.len(), policy_rules.len());

    // The fix delivered again resolves nothing more.
    let refix = app
        .handle(&policy_event(true), &Invocation::default())
        .await
        .unwrap();
    assert!(refix.resolved.is_empty(), "{refix:?}");
}

fn flaky_app(config: &SdkConfig, table: &str, refuse: bool) -> (App<Accounts, TestSink>, TestSink) {
    let calls = CallCounter::default();
    let engine = Engine::new(Baseline::embedded().unwrap());
    let accounts = Accounts::new(
        config,
        &calls,
        std::time::Duration::from_secs(60),
        engine.baseline(),
        None,
        None,
    );
    let sink = TestSink {
        refuse,
        ..TestSink::default()
    };
    let app = App::with_parts(engine, accounts, sink.clone(), calls.clone())
        .with_state(StateTable::new(config, &calls, table));
    (app, sink)
}

#[tokio::test]
#[ignore = "needs moto_server: run by scripts/test.sh"]
async fn a_failed_sink_write_leaves_new_findings_new() {
    let server = OwnServer::start();
    let config = aws::config_for(&server.url).await;
    let table = create_table(&config).await;
    let (refusing, _) = flaky_app(&config, &table, true);
    let err = refusing
        .handle(&policy_event(false), &Invocation::default())
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Retryable");
    // Lambda retries: the findings are still new, as nothing was stored.
    let (working, sink) = flaky_app(&config, &table, false);
    let retried = working
        .handle(&policy_event(false), &Invocation::default())
        .await
        .unwrap();
    assert!(!retried.findings.is_empty());
    let taken = sink.taken();
    assert_eq!(taken.len(), retried.findings.len());
    assert!(
        taken.iter().all(|f| f.status == Some(Status::New)),
        "{taken:?}"
    );
    // And now they are stored.
    let store = StateTable::new(&config, &CallCounter::default(), &table);
    let ids = taken
        .iter()
        .map(|f| (f.account.clone().unwrap(), f.id.clone()))
        .collect();
    let stored = rolewarden::lifecycle::Store::records(&store, &ids)
        .await
        .unwrap();
    assert_eq!(stored.len(), taken.len());
}

fn rolewarden(server: &OwnServer, args: &[&str], stdin: Option<&[u8]>) -> (Vec<Value>, String) {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_rolewarden"))
        .args(args)
        .env("AWS_ENDPOINT_URL", &server.url)
        .current_dir(crate::common::root())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or_default()).unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let records = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}\n{stderr}")))
        .collect();
    (records, stderr)
}

#[tokio::test]
#[ignore = "needs moto_server: run by scripts/test.sh"]
async fn the_cli_keeps_state_for_sweep_and_evaluate() {
    let (server, _, iam, table) = orphaned_account().await;
    let state = format!("dynamodb:{table}");
    let sweep = [
        "sweep",
        "--format",
        "json",
        "--regions",
        "us-east-1",
        "--state",
        &state,
    ];
    let status = |records: &[Value]| statuses(records, 0);

    let (first, _) = rolewarden(&server, &sweep, None);
    assert_eq!(status(&first), [pair("OR001", "new")]);
    let (second, stderr) = rolewarden(&server, &sweep, None);
    assert_eq!(status(&second), [pair("OR001", "open")], "{stderr}");
    assert!(stderr.contains("0 new, 1 open, 0 resolved"), "{stderr}");
    iam.delete_role()
        .role_name("lex-bot-role-unused")
        .send()
        .await
        .unwrap();
    let (third, stderr) = rolewarden(&server, &sweep, None);
    assert_eq!(status(&third), [pair("OR001", "resolved")], "{stderr}");

    // Without --state nothing is remembered and no status is written.
    let evaluate = ["evaluate", "--format", "json", "-"];
    let (plain, _) = rolewarden(&server, &evaluate, Some(&policy_event(false)));
    assert!(!plain.is_empty() && plain.iter().all(|r| r.get("status").is_none()));

    let evaluate = ["evaluate", "--format", "json", "--state", &state, "-"];
    let (bad, _) = rolewarden(&server, &evaluate, Some(&policy_event(false)));
    assert!(
        !bad.is_empty() && bad.iter().all(|r| r["status"] == "new"),
        "{bad:?}"
    );
    let (fixed, stderr) = rolewarden(&server, &evaluate, Some(&policy_event(true)));
    let resolved: Vec<&Value> = fixed.iter().filter(|r| r["status"] == "resolved").collect();
    assert!(
        resolved.iter().any(|r| r["rule_id"] == "PR001"),
        "{fixed:?}\n{stderr}"
    );
}
