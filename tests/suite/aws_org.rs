//! The organization (issue 15) against one moto_server playing a whole AWS Organization: a
//! central account (moto's default, 123456789012) and three members created with
//! `organizations:CreateAccount`, each seeded with its own roles, service-linked roles, bots
//! and instances; reader roles in two of them. No account is pinned: credentials from
//! `AssumeRole` act in the role's account, and AssumeRole into a missing role is AccessDenied
//! (tests/moto/server.py). The Lambda runs through the real Runtime API (cargo lambda).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_sts::config::Credentials;
use serde_json::{json, Value};

use crate::aws_sweep::{create_bot, create_instance, create_role, verdicts};
use crate::common::aws::{self, seed_role, seed_sample_roles, unique, OwnServer};
use crate::lambda_runtime::{bootstrap, invoke, start_runtime_api, Running};
use rolewarden::aws::accounts::{Accounts, ReaderRole};
use rolewarden::aws::gather::{regions, SweepOptions, DEFAULT_CONCURRENCY};
use rolewarden::aws::CallCounter;
use rolewarden::state::Scope;
use rolewarden::{Baseline, Engine};

const CENTRAL: &str = "123456789012";
const READER: &str = "RolewardenReader";
const CONNECT_SLR_PATH: &str = "/aws-service-role/connect.amazonaws.com/";
const LEX_SLR_PATH: &str = "/aws-service-role/lexv2.amazonaws.com/";

/// The organization as seeded: the members, and what each must show.
struct Organization {
    server: OwnServer,
    central: SdkConfig,
    /// With a reader role: an orphaned Connect service-linked role (OR002), and a Connect
    /// instance that keeps the other one in use.
    first: String,
    /// With a reader role (asking for an external id): the Lex logging roles of the PR006
    /// samples, a bot, and a Lex V2 service-linked role with a policy attached (SL008).
    second: String,
    /// Without a reader role: its orphaned service-linked role must not be reported.
    third: String,
}

fn reader_trust(external_id: Option<&str>) -> String {
    let mut condition = json!({"StringEquals": {"aws:PrincipalOrgID": "o-rolewarden"}});
    if let Some(id) = external_id {
        condition["StringEquals"]["sts:ExternalId"] = json!(id);
    }
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{CENTRAL}:role/rolewarden-function")},
            "Action": "sts:AssumeRole",
            "Condition": condition
        }]
    })
    .to_string()
}

/// The SDK configuration of `account`, through the role Organizations creates in it.
async fn admin_of(central: &SdkConfig, _url: &str, account: &str) -> SdkConfig {
    let c = aws_sdk_sts::Client::new(central)
        .assume_role()
        .role_arn(format!(
            "arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
        ))
        .role_session_name("seed")
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    central
        .to_builder()
        .credentials_provider(aws_sdk_sts::config::SharedCredentialsProvider::new(
            Credentials::new(
                c.access_key_id,
                c.secret_access_key,
                Some(c.session_token),
                None,
                "seed",
            ),
        ))
        .build()
}

async fn organization() -> Organization {
    let server = OwnServer::start_organization();
    let central = aws::config_for(&server.url).await;
    aws::json_call(
        &central,
        aws::ORGANIZATIONS,
        "CreateOrganization",
        json!({"FeatureSet": "ALL"}),
    )
    .await;
    let mut members = Vec::new();
    for name in ["first", "second", "third"] {
        members.push(aws::create_account(&central, name).await);
    }
    let [first, second, third] = <[String; 3]>::try_from(members).unwrap();

    let one = admin_of(&central, &server.url, &first).await;
    let iam = aws_sdk_iam::Client::new(&one);
    seed_role(&iam, READER, "/", &reader_trust(None), &[], &[]).await;
    create_role(
        &iam,
        "AWSServiceRoleForAmazonConnect",
        CONNECT_SLR_PATH,
        "connect.amazonaws.com",
    )
    .await;
    create_role(
        &iam,
        "AWSServiceRoleForAmazonConnect_FIRST",
        CONNECT_SLR_PATH,
        "connect.amazonaws.com",
    )
    .await;
    create_instance(&one, "first-support").await;

    let two = admin_of(&central, &server.url, &second).await;
    let iam = aws_sdk_iam::Client::new(&two);
    seed_role(&iam, READER, "/", &reader_trust(Some("rw-ext")), &[], &[]).await;
    let extra = seed_sample_roles(&iam).await;
    let used = create_role(
        &iam,
        "AWSServiceRoleForLexV2Bots_USED",
        LEX_SLR_PATH,
        "lexv2.amazonaws.com",
    )
    .await;
    create_role(
        &iam,
        "AWSServiceRoleForLexV2Bots_SECOND",
        LEX_SLR_PATH,
        "lexv2.amazonaws.com",
    )
    .await;
    // A customer managed policy attached to a service-linked role: drift (SL008).
    iam.attach_role_policy()
        .role_name("AWSServiceRoleForLexV2Bots_SECOND")
        .policy_arn(&extra)
        .send()
        .await
        .unwrap();
    create_bot(&two, "SecondBot", &used).await;

    let three = admin_of(&central, &server.url, &third).await;
    let iam = aws_sdk_iam::Client::new(&three);
    create_role(
        &iam,
        "AWSServiceRoleForAmazonConnect_THIRD",
        CONNECT_SLR_PATH,
        "connect.amazonaws.com",
    )
    .await;

    // The central account holds a role of the same name as the second member's, with nothing
    // but logs: judging the member's event against it would find nothing.
    let iam = aws_sdk_iam::Client::new(&central);
    seed_role(
        &iam,
        "lex-logs-overprivileged",
        "/service-role/",
        &crate::aws_sweep::trust("lexv2.amazonaws.com"),
        &[("logs", r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:PutLogEvents","Resource":"*"}]}"#)],
        &[],
    )
    .await;
    Organization {
        server,
        central,
        first,
        second,
        third,
    }
}

fn role() -> ReaderRole {
    ReaderRole {
        name: READER.into(),
        external_id: Some("rw-ext".into()),
    }
}

/// What the engine finds in `account`, read in-process through the same reader role: the
/// ids every other path must give.
async fn expected_ids(org: &Organization, account: &str) -> BTreeSet<String> {
    let engine = Engine::new(Baseline::embedded().unwrap());
    let accounts = Accounts::new(
        &org.central,
        &CallCounter::default(),
        Duration::from_secs(300),
        engine.baseline(),
        Some(CENTRAL.into()),
        Some(role()),
    );
    let options = SweepOptions {
        scope: Scope::Full,
        regions: regions(engine.baseline(), accounts.home_region(), []),
        deadline: None,
        concurrency: DEFAULT_CONCURRENCY,
        account: Some(account.to_owned()),
    };
    let (state, _) = accounts.sweep(engine.baseline(), &options).await;
    engine
        .sweep(&state, chrono::Utc::now())
        .findings
        .into_iter()
        .map(|f| f.id)
        .collect()
}

/// Findings by account, as written to a log group.
fn by_account(lines: &[String]) -> BTreeMap<String, Vec<Value>> {
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for line in lines {
        let finding: Value = serde_json::from_str(line).unwrap();
        let account = finding["account"].as_str().unwrap_or("none").to_owned();
        out.entry(account).or_default().push(finding);
    }
    out
}

/// One account's findings, or a failure that shows what was written.
fn of<'a>(written: &'a BTreeMap<String, Vec<Value>>, account: &str) -> &'a [Value] {
    written
        .get(account)
        .unwrap_or_else(|| panic!("no finding for account {account}: {written:#?}"))
}

fn ids(findings: &[Value]) -> BTreeSet<String> {
    findings
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect()
}

/// An SQS event as Lambda delivers it, from messages received off the queue.
fn sqs_event(messages: &[Value]) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            json!({
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": format!("arn:aws:sqs:us-east-1:{CENTRAL}:rolewarden-sweep"),
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    json!({ "Records": records })
}

/// Every message on the queue (SQS's JSON: `MessageId`, `ReceiptHandle`, `Body`, `MD5OfBody`).
async fn receive_all(sqs: &SdkConfig, url: &str) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let answer = aws::json_call(
            sqs,
            aws::SQS,
            "ReceiveMessage",
            json!({"QueueUrl": url, "MaxNumberOfMessages": 10, "VisibilityTimeout": 600}),
        )
        .await;
        let page = answer["Messages"].as_array().cloned().unwrap_or_default();
        if page.is_empty() {
            return out;
        }
        out.extend(page);
    }
}

/// A sample of `events/` moved to other accounts (each `(from, to)` id replaced), written to
/// `dir` under its own name.
fn sample_in(dir: &Path, name: &str, accounts: &[(&str, &str)]) -> std::path::PathBuf {
    let mut text =
        std::fs::read_to_string(crate::common::root().join("events").join(name)).unwrap();
    for (from, to) in accounts {
        text = text.replace(from, to);
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Each account's findings have the ids an in-process sweep of it gives.
fn assert_swept_alike(
    rt: &tokio::runtime::Runtime,
    org: &Organization,
    found: &BTreeMap<String, Vec<Value>>,
    accounts: &[&String],
) {
    for account in accounts {
        assert_eq!(
            ids(of(found, account)),
            rt.block_on(expected_ids(org, account)),
            "{account}"
        );
    }
}

fn write_json(dir: &Path, name: &str, value: &Value) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec(value).unwrap()).unwrap();
    path
}

/// A bootstrap process polling the Runtime API at `lambda_env`, with `extra` settings.
fn function(
    lambda_env: &[(String, String)],
    url: &str,
    extra: &[(&str, &str)],
    log: &Path,
) -> Running {
    Running(
        Command::new(bootstrap())
            .envs(lambda_env.iter().cloned())
            .env("AWS_ENDPOINT_URL", url)
            .env("AWS_MAX_ATTEMPTS", "1")
            .env("READER_ROLE_NAME", READER)
            .env("READER_EXTERNAL_ID", "rw-ext")
            .envs(extra.iter().copied())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap(),
    )
}

fn answer(out: &std::process::Output, log: &Path) -> Value {
    assert!(
        out.status.success(),
        "{}\n{}\nbootstrap log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(log).unwrap_or_default()
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
#[ignore = "needs cargo-lambda, the bootstrap and moto_server: run by scripts/test.sh"]
fn the_schedule_plans_and_the_queue_sweeps_every_account_of_the_organization() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let org = rt.block_on(organization());
    let url = org.server.url.clone();
    let sqs = &org.central;
    let queue = rt.block_on(aws::json_call(
        sqs,
        aws::SQS,
        "CreateQueue",
        json!({"QueueName": unique("sweep")}),
    ))["QueueUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    let group = format!("/rolewarden/{}", unique("org"));
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("bootstrap.log");

    let port = aws::free_port();
    let (_watch, lambda_env) = start_runtime_api(port);
    let name = lambda_env
        .iter()
        .find(|(k, _)| k == "AWS_LAMBDA_FUNCTION_NAME")
        .map_or("_".to_owned(), |(_, v)| v.clone());
    let running = function(
        &lambda_env,
        &url,
        &[("FINDINGS_LOG_GROUP", &group), ("SWEEP_QUEUE_URL", &queue)],
        &log,
    );

    // The schedule plans: one message per ACTIVE account, listed by Organizations.
    let schedule = crate::common::root().join("events/sweep-scheduled-event.json");
    let planned = answer(&invoke(port, &name, &schedule), &log);
    assert_eq!(planned["status"], "planned", "{planned}");
    let mut every = vec![
        CENTRAL.to_owned(),
        org.first.clone(),
        org.second.clone(),
        org.third.clone(),
    ];
    every.sort();
    assert_eq!(planned["planned"], json!(every));
    let messages = rt.block_on(receive_all(sqs, &queue));
    let mut queued: Vec<String> = messages
        .iter()
        .map(|m| {
            let body: Value = serde_json::from_str(m["Body"].as_str().unwrap()).unwrap();
            assert_eq!(body["detail-type"], "Account Sweep");
            assert!(body["detail"]["regions"]
                .as_array()
                .is_some_and(|r| !r.is_empty()));
            body["account"].as_str().unwrap().to_owned()
        })
        .collect();
    queued.sort();
    assert_eq!(queued, every);

    // The queue's messages, delivered as one SQS batch: every message succeeds, the member
    // without a reader role included.
    let batch = write_json(dir.path(), "batch.json", &sqs_event(&messages));
    let answered = answer(&invoke(port, &name, &batch), &log);
    assert_eq!(answered, json!({"batchItemFailures": []}));
    let written = by_account(&rt.block_on(aws::read_log_group(&org.central, &group)));
    let first = of(&written, &org.first);
    let second = of(&written, &org.second);
    let third = of(&written, &org.third);
    assert!(!written.contains_key(CENTRAL), "{:?}", written.get(CENTRAL));
    assert_eq!(
        verdicts(first),
        BTreeSet::from([(
            "OR002".to_owned(),
            "AWSServiceRoleForAmazonConnect_FIRST".to_owned()
        )])
    );
    assert_eq!(
        verdicts(second),
        BTreeSet::from([(
            "SL008".to_owned(),
            "AWSServiceRoleForLexV2Bots_SECOND".to_owned()
        )])
    );
    // The third member's own orphaned role stays unreported: it could not be read.
    assert_eq!(third.len(), 1, "{third:?}");
    assert_eq!(third[0]["rule_id"], "RW002");
    let message = third[0]["message"].as_str().unwrap();
    assert!(
        message.contains("sts:AssumeRole")
            && message.contains(&format!("arn:aws:iam::{}:role/{READER}", org.third))
            && message.contains("AccessDenied"),
        "{message}"
    );
    // The same ids as a sweep of the same accounts in this process.
    assert_swept_alike(&rt, &org, &written, &[&org.first, &org.second, &org.third]);

    // A member's event is judged against that member's role (s3:* inline, dynamodb:* attached),
    // not the central account's role of the same name (logs only).
    let event = sample_in(
        dir.path(),
        "pr006-fires-lexv2-createbot-overprivileged-role.json",
        &[("111122223333", &org.second)],
    );
    let evaluated = answer(&invoke(port, &name, &event), &log);
    assert_eq!(evaluated["status"], "evaluated", "{evaluated}");
    let written = by_account(&rt.block_on(aws::read_log_group(&org.central, &group)));
    let pr006: Vec<&Value> = of(&written, &org.second)
        .iter()
        .filter(|f| f["rule_id"] == "PR006")
        .collect();
    assert_eq!(pr006.len(), 1, "{:?}", of(&written, &org.second));
    let text = pr006[0].to_string();
    assert!(
        text.contains("s3:*") && text.contains("dynamodb:*"),
        "{text}"
    );
    assert!(
        pr006[0]["enrichment"].is_null() || !text.contains("unavailable"),
        "{text}"
    );
    // TR003 reads the organization (DescribeOrganization, ListAccounts): a member's role
    // trusting another member account is not outside; trusting another organization is.
    for (sample, event_id) in [
        (
            "tr003-quiet-trust-organization-member-account.json",
            "5a9b2c7e-3d41-4f8a-b6e2-9c1d0e4f7a28",
        ),
        (
            "tr003-fires-principal-org-id-other-organization.json",
            "c0e5d1a2-7b3f-4e61-9a2d-5f8e1b7c3d41",
        ),
    ] {
        let event = sample_in(
            dir.path(),
            sample,
            &[("222233334444", &org.first), ("111122223333", &org.second)],
        );
        answer(&invoke(port, &name, &event), &log);
        let written = by_account(&rt.block_on(aws::read_log_group(&org.central, &group)));
        let tr003: Vec<&Value> = of(&written, &org.second)
            .iter()
            .filter(|f| f["rule_id"] == "TR003" && f["event"]["id"] == event_id)
            .collect();
        if sample.contains("quiet") {
            assert!(tr003.is_empty(), "{tr003:?}");
        } else {
            assert_eq!(tr003.len(), 1, "{tr003:?}");
            let note = tr003[0]["enrichment"].as_str().unwrap_or_default();
            assert!(note.starts_with("organization `o-"), "{note}");
            assert!(tr003[0]["message"]
                .as_str()
                .unwrap()
                .contains("o-zz99887766"));
        }
    }

    // A member's DeleteInstance re-checks that member's Connect service-linked roles, through
    // its reader role: the orphan gets the id the queue's full sweep gave it.
    let event = sample_in(
        dir.path(),
        "recheck-connect-deleteinstance.json",
        &[("111122223333", &org.first)],
    );
    let rechecked = answer(&invoke(port, &name, &event), &log);
    assert_eq!(rechecked["status"], "swept", "{rechecked}");
    assert_eq!(rechecked["sweep"]["scope"], "connect", "{rechecked}");
    let orphan = ids(first);
    let again: BTreeSet<String> = rechecked["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_owned())
        .filter(|id| orphan.contains(id))
        .collect();
    assert_eq!(again, orphan, "{rechecked}");
    drop(running);

    // With the logs endpoint failing, only the message whose findings could not be written
    // comes back; the central account (no findings) succeeds.
    let failing = function(
        &lambda_env,
        &url,
        &[
            ("FINDINGS_LOG_GROUP", &group),
            ("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", "http://127.0.0.1:9"),
        ],
        &log,
    );
    let pair: Vec<Value> = messages
        .iter()
        .filter(|m| {
            let body = m["Body"].as_str().unwrap();
            body.contains(CENTRAL) || body.contains(&org.first)
        })
        .cloned()
        .collect();
    assert_eq!(pair.len(), 2);
    let batch = write_json(dir.path(), "failing.json", &sqs_event(&pair));
    let answered = answer(&invoke(port, &name, &batch), &log);
    let first_id = pair
        .iter()
        .find(|m| m["Body"].as_str().unwrap().contains(&org.first))
        .and_then(|m| m["MessageId"].as_str().map(str::to_owned))
        .unwrap();
    assert_eq!(
        answered,
        json!({"batchItemFailures": [{"itemIdentifier": first_id}]})
    );
    drop(failing);
}

fn rolewarden(url: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rolewarden"))
        .args(args)
        .env("AWS_ENDPOINT_URL", url)
        .current_dir(crate::common::root())
        .output()
        .unwrap()
}

fn json_lines(bytes: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
#[ignore = "needs moto_server: run by scripts/test.sh"]
fn the_cli_sweeps_listed_accounts_and_the_organization_through_their_reader_roles() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let org = rt.block_on(organization());
    let url = &org.server.url;

    let accounts = format!("{},{}", org.first, org.third);
    let out = rolewarden(
        url,
        &[
            "sweep",
            "--accounts",
            &accounts,
            "--assume-role",
            READER,
            "--external-id",
            "rw-ext",
            "--format",
            "json",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The third account could not be read: exit 2, and its line says why.
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("sweep {}:", org.first)),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("sweep {}:", org.third)) && stderr.contains("AccessDenied"),
        "{stderr}"
    );
    let findings = json_lines(&out.stdout);
    let found = by_account(&findings.iter().map(Value::to_string).collect::<Vec<_>>());
    assert_swept_alike(&rt, &org, &found, &[&org.first, &org.third]);
    assert_eq!(found.len(), 2, "{found:?}");

    // --organization: every ACTIVE account, in account order; the same ids.
    let out = rolewarden(
        url,
        &[
            "sweep",
            "--organization",
            "--assume-role",
            READER,
            "--external-id",
            "rw-ext",
            "--concurrency",
            "3",
            "--format",
            "json",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let findings = json_lines(&out.stdout);
    let order: Vec<&str> = findings
        .iter()
        .map(|f| f["account"].as_str().unwrap())
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "findings come in account order");
    let found = by_account(&findings.iter().map(Value::to_string).collect::<Vec<_>>());
    assert_swept_alike(&rt, &org, &found, &[&org.first, &org.second, &org.third]);

    // evaluate --assume-role: the member's event against the member's role.
    let dir = tempfile::tempdir().unwrap();
    let event = sample_in(
        dir.path(),
        "pr006-fires-lexv2-createbot-overprivileged-role.json",
        &[("111122223333", &org.second)],
    );
    let path = event.to_str().unwrap();
    let out = rolewarden(
        url,
        &[
            "evaluate",
            "--assume-role",
            READER,
            "--external-id",
            "rw-ext",
            "--format",
            "json",
            path,
        ],
    );
    let findings = json_lines(&out.stdout);
    let pr006: Vec<&Value> = findings
        .iter()
        .filter(|f| f["rule_id"] == "PR006")
        .collect();
    assert_eq!(pr006.len(), 1, "{findings:?}");
    assert!(pr006[0].to_string().contains("s3:*"));
    // Without the external id the role cannot be assumed: the event is judged from itself,
    // and the finding says why.
    let out = rolewarden(
        url,
        &[
            "evaluate",
            "--assume-role",
            READER,
            "--format",
            "json",
            path,
        ],
    );
    let findings = json_lines(&out.stdout);
    assert!(
        findings.iter().all(|f| f["rule_id"] != "PR006"),
        "{findings:?}"
    );
    let noted = findings
        .iter()
        .filter_map(|f| f["enrichment"].as_str())
        .find(|e| e.contains("sts:AssumeRole"))
        .unwrap_or_else(|| panic!("no finding says why: {findings:?}"));
    assert!(noted.contains("AccessDenied"), "{noted}");
}

/// Issue 15's scale figures: 50 member accounts swept through their reader roles against the
/// local server, one at a time and ten at a time. Prints wall time and calls (the README's
/// Performance section); asserts only that each account cost what the call formula says.
#[test]
#[ignore = "needs moto_server: run by scripts/test.sh"]
fn fifty_accounts_cost_the_formula_plus_one_assume_role_each() {
    use futures_util::stream::{self, StreamExt as _};
    const MEMBERS: usize = 50;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = OwnServer::start_organization();
    let central = rt.block_on(aws::config_for(&server.url));
    let seeding = std::time::Instant::now();
    let members: Vec<String> = rt.block_on(async {
        aws::json_call(
            &central,
            aws::ORGANIZATIONS,
            "CreateOrganization",
            json!({}),
        )
        .await;
        let mut members = Vec::new();
        for i in 0..MEMBERS {
            let id = aws::create_account(&central, &format!("member-{i}")).await;
            let admin = admin_of(&central, &server.url, &id).await;
            let iam = aws_sdk_iam::Client::new(&admin);
            seed_role(&iam, READER, "/", &reader_trust(None), &[], &[]).await;
            // Two candidates (roles a profiled service may assume: GetRole each), one
            // service-linked role (its two policy listings), one role nobody profiles.
            create_role(&iam, "lex-logs-a", "/service-role/", "lexv2.amazonaws.com").await;
            create_role(&iam, "connect-flows", "/", "connect.amazonaws.com").await;
            create_role(
                &iam,
                "AWSServiceRoleForAmazonConnect",
                CONNECT_SLR_PATH,
                "connect.amazonaws.com",
            )
            .await;
            create_role(&iam, "app-ec2", "/", "ec2.amazonaws.com").await;
            members.push(id);
        }
        members
    });
    println!("seeded {MEMBERS} accounts in {:.2?}", seeding.elapsed());
    let engine = Engine::new(Baseline::embedded().unwrap());
    for at_once in [1, 10] {
        let calls = CallCounter::default();
        let accounts = Accounts::new(
            &central,
            &calls,
            Duration::from_secs(300),
            engine.baseline(),
            Some(CENTRAL.into()),
            Some(ReaderRole {
                name: READER.into(),
                external_id: None,
            }),
        );
        let regions = regions(engine.baseline(), accounts.home_region(), []);
        let started = std::time::Instant::now();
        let swept: Vec<_> = rt.block_on(
            stream::iter(members.iter())
                .map(|account| {
                    let options = SweepOptions {
                        scope: Scope::Full,
                        regions: regions.clone(),
                        deadline: None,
                        concurrency: DEFAULT_CONCURRENCY,
                        account: Some(account.clone()),
                    };
                    let accounts = &accounts;
                    let engine = &engine;
                    async move { accounts.sweep(engine.baseline(), &options).await }
                })
                .buffered(at_once)
                .collect(),
        );
        let elapsed = started.elapsed();
        for (state, stats) in &swept {
            assert!(state.gaps.is_empty(), "{:?}", state.gaps);
            let formula = stats.list_pages
                + stats.candidates
                + 2 * stats.service_linked_roles
                + stats.listings;
            let made: u64 = stats.api_calls.values().sum();
            assert_eq!(made, formula, "{:?}", stats.api_calls);
        }
        let total = calls.total();
        assert_eq!(calls.snapshot()["STS:AssumeRole"], MEMBERS as u64);
        let per_account = total as f64 / MEMBERS as f64;
        println!(
            "organization sweep: {MEMBERS} accounts, {at_once} at a time: {elapsed:.2?} ({:.1} ms per account), {total} API calls ({per_account:.1} per account: {:?})",
            elapsed.as_secs_f64() * 1000.0 / MEMBERS as f64,
            calls.snapshot()
        );
    }
}
