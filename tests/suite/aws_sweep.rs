//! The account sweep against a real local AWS API: each test starts a moto_server of its own
//! (an empty account whose IAM clock it can move), seeds it through the SDK, sweeps, and
//! asserts the exact findings. `#[ignore]`d; scripts/test.sh runs them with `-- --ignored`.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::aws::{self, use_role, OwnServer};
use aws_config::SdkConfig;
use rolewarden::aws::gather::{SweepOptions, Sweeper};
use rolewarden::aws::rest_json::{Call, Request, CONNECT, LEX_V2};
use rolewarden::aws::CallCounter;
use rolewarden::lambda::{App, Invocation, Settings, SinkKind};
use rolewarden::state::Scope;
use rolewarden::{Baseline, Engine};
use serde_json::Value;

const ACCOUNT: &str = "111122223333";

pub(crate) fn trust(service: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"{service}"}},"Action":"sts:AssumeRole"}}]}}"#
    )
}

pub(crate) async fn create_role(
    iam: &aws_sdk_iam::Client,
    name: &str,
    path: &str,
    service: &str,
) -> String {
    iam.create_role()
        .role_name(name)
        .path(path)
        .assume_role_policy_document(trust(service))
        .send()
        .await
        .unwrap()
        .role
        .unwrap()
        .arn
}

pub(crate) async fn create_bot(config: &SdkConfig, name: &str, role_arn: &str) -> String {
    let bot = serde_json::json!({
        "botName": name,
        "roleArn": role_arn,
        "dataPrivacy": { "childDirected": false },
        "idleSessionTTLInSeconds": 300,
    });
    let created = Call::<Value>::new(config, LEX_V2, "CreateBot", &CallCounter::default())
        .unwrap()
        .send(Request::put("/bots/", &bot))
        .await
        .unwrap();
    created["botId"].as_str().unwrap().to_owned()
}

pub(crate) async fn delete_bot(config: &SdkConfig, id: &str) {
    Call::<Value>::new(config, LEX_V2, "DeleteBot", &CallCounter::default())
        .unwrap()
        .send(Request::delete(&format!("/bots/{id}/")))
        .await
        .unwrap();
}

pub(crate) async fn create_instance(config: &SdkConfig, alias: &str) {
    let instance = serde_json::json!({
        "IdentityManagementType": "CONNECT_MANAGED",
        "InstanceAlias": alias,
        "InboundCallsEnabled": true,
        "OutboundCallsEnabled": false,
    });
    Call::<serde_json::Value>::new(config, CONNECT, "CreateInstance", &CallCounter::default())
        .unwrap()
        .send(Request::put("/instance", &instance))
        .await
        .unwrap();
}

fn rolewarden(server: &OwnServer, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rolewarden"))
        .args(args)
        .env("AWS_ENDPOINT_URL", &server.url)
        .current_dir(crate::common::root())
        .output()
        .unwrap()
}

/// (rule, last segment of the resource) of every finding.
pub(crate) fn verdicts(findings: &[Value]) -> BTreeSet<(String, String)> {
    findings
        .iter()
        .map(|f| {
            let resource = f["resource"].as_str().unwrap_or_default();
            (
                f["rule_id"].as_str().unwrap().to_owned(),
                resource.rsplit('/').next().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
#[ignore = "needs moto_server: run by scripts/test.sh"]
fn a_sweep_finds_exactly_what_the_account_holds() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = OwnServer::start();
    let config = rt.block_on(aws::config_for(&server.url));
    let iam = aws_sdk_iam::Client::new(&config);
    rt.block_on(async {
        // Ordinary roles trusting Lex or Connect, of various ages and uses.
        server.set_clock_days(-400);
        create_role(&iam, "lex-bot-role-unused", "/service-role/", "lexv2.amazonaws.com").await;
        let used = create_role(&iam, "connect-flow-logs", "/", "connect.amazonaws.com").await;
        create_role(&iam, "app-ec2", "/", "ec2.amazonaws.com").await;
        server.set_clock_days(-200);
        let stale = create_role(&iam, "lex-logs-stale", "/service-role/", "lex.amazonaws.com").await;
        server.set_clock_days(-150);
        use_role(&config, &stale).await;
        server.set_clock_days(-10);
        use_role(&config, &used).await;
        server.set_clock_days(0);
        create_role(&iam, "lex-new-role", "/", "lexv2.amazonaws.com").await;

        // Service-linked roles, named and placed as AWS does.
        let lex = "/aws-service-role/lexv2.amazonaws.com/";
        let support = create_role(&iam, "AWSServiceRoleForLexV2Bots_SUPPORT", lex, "lexv2.amazonaws.com").await;
        create_role(&iam, "AWSServiceRoleForLexV2Bots_DRIFT", lex, "lexv2.amazonaws.com").await;
        // Lex writes inline policies into its bot roles itself (QnAIntent, Bedrock, Kendra):
        // not drift. A customer managed policy attached to it is.
        for role in ["AWSServiceRoleForLexV2Bots_SUPPORT", "AWSServiceRoleForLexV2Bots_DRIFT"] {
            iam.put_role_policy()
                .role_name(role)
                .policy_name("QnAIntentKendraAccess")
                .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kendra:Query","Resource":"*"}]}"#)
                .send()
                .await
                .unwrap();
        }
        let extra = aws::seed_policy(
            &iam,
            "support-bot-extras",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
        )
        .await;
        iam.attach_role_policy()
            .role_name("AWSServiceRoleForLexV2Bots_DRIFT")
            .policy_arn(&extra)
            .send()
            .await
            .unwrap();
        let connect = "/aws-service-role/connect.amazonaws.com/";
        // moto's instances always name this role as their ServiceRole.
        create_role(&iam, "AWSServiceRoleForAmazonConnect", connect, "connect.amazonaws.com").await;
        create_role(&iam, "AWSServiceRoleForAmazonConnect_ORPHAN", connect, "connect.amazonaws.com").await;
        create_role(&iam, "AWSServiceRoleForLexBots", "/aws-service-role/lex.amazonaws.com/", "lex.amazonaws.com").await;

        create_bot(&config, "Support", &support).await;
        create_instance(&config, "support").await;
    });

    let dir = tempfile::tempdir().unwrap();
    let baseline = dir.path().join("rolewarden.toml");
    std::fs::write(
        &baseline,
        format!(
            r#"regions = ["us-east-1"]
# Lex V1 is past its end of support; this account still asks for its bots to be listed.
list_retired = ["lex-v1"]
[[approved_passes]]
role = "arn:aws:iam::{ACCOUNT}:role/service-role/lex-approved-but-gone"
service = "lexv2.amazonaws.com"
[[approved_passes]]
role = "arn:aws:iam::{ACCOUNT}:role/lex-new-role"
service = "lexv2.amazonaws.com"
[[approved_passes]]
role = "arn:aws:iam::999999999999:role/elsewhere"
service = "lexv2.amazonaws.com"
"#
        ),
    )
    .unwrap();
    let args = [
        "sweep",
        "--format",
        "json",
        "--baseline",
        baseline.to_str().unwrap(),
    ];
    let out = rolewarden(&server, &args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let findings: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("OR001", "lex-bot-role-unused"),
        ("OR001", "lex-logs-stale"),
        ("OR002", "AWSServiceRoleForAmazonConnect_ORPHAN"),
        ("OR002", "AWSServiceRoleForLexBots"),
        ("OR004", "lex-approved-but-gone"),
        ("SL008", "AWSServiceRoleForLexV2Bots_DRIFT"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_owned(), b.to_owned()))
    .collect();
    assert_eq!(verdicts(&findings), expected, "{findings:#?}\n{stderr}");
    assert!(
        stderr.contains("10 roles in 1 ListRoles pages, 4 candidates, 5 service-linked roles, 3 listings, 0 gaps"),
        "{stderr}"
    );
    assert!(stderr.contains("IAM:GetRole 4,"), "{stderr}");
    for f in &findings {
        assert_eq!(f["account"], ACCOUNT, "{f}");
        assert_eq!(f["event"]["name"], "AccountSweep", "{f}");
    }

    // The same account state, swept again: the same finding ids (a daily sweep is no new alert).
    let again = rolewarden(&server, &args);
    let ids = |o: &std::process::Output| -> Vec<String> {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    assert_eq!(ids(&out), ids(&again));

    // A Lex V1 bot appears (moto has no Lex V1: the shim answers GetBots): the V1 service-linked
    // role is in use again, and only its OR002 goes.
    server.set_lex_v1_bots(&["OrderFlowers"]);
    let with_v1_bot = rolewarden(&server, &args);
    let findings: Vec<Value> = String::from_utf8_lossy(&with_v1_bot.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut fewer = expected.clone();
    fewer.remove(&("OR002".to_owned(), "AWSServiceRoleForLexBots".to_owned()));
    assert_eq!(verdicts(&findings), fewer);
}

fn app(config: &SdkConfig) -> App {
    let settings = Settings {
        sinks: vec![SinkKind::Stdout],
        ..Settings::from_env(&|_| None, None).unwrap()
    };
    App::new(
        Engine::new(Baseline::embedded().unwrap()),
        config,
        &settings,
    )
}

#[tokio::test]
#[ignore = "needs moto_server: run by scripts/test.sh"]
async fn deleting_the_last_bot_then_its_event_reports_or002() {
    let server = OwnServer::start();
    let config = aws::config_for(&server.url).await;
    let iam = aws_sdk_iam::Client::new(&config);
    let slr = create_role(
        &iam,
        "AWSServiceRoleForLexV2Bots_ONLY",
        "/aws-service-role/lexv2.amazonaws.com/",
        "lexv2.amazonaws.com",
    )
    .await;
    let bot = create_bot(&config, "OnlyBot", &slr).await;
    let app = app(&config);
    let event =
        std::fs::read(crate::common::root().join("events/recheck-lexv2-deletebot.json")).unwrap();

    let before = app.handle(&event, &Invocation::default()).await.unwrap();
    assert_eq!(before.status, "swept");
    assert!(before.findings.is_empty(), "{before:?}");
    let sweep = before.sweep.as_ref().unwrap();
    // A V2 DeleteBot (it names the bot by `botId`) re-checks Lex V2 only.
    assert_eq!(sweep.scope, "lex-v2");
    assert_eq!(sweep.regions, ["us-east-1"]);

    delete_bot(&config, &bot).await;
    let after = app.handle(&event, &Invocation::default()).await.unwrap();
    assert_eq!(after.findings.len(), 1, "{after:?}");
    assert_eq!(
        after.counts.keys().copied().collect::<Vec<_>>(),
        [rolewarden::Severity::Low]
    );
    // A re-check lists the service-linked roles by path, not every role.
    let calls = &after.sweep.as_ref().unwrap().stats.api_calls;
    assert_eq!(calls["IAM:ListRoles"], 1, "{calls:?}");
    assert!(!calls.contains_key("IAM:GetRole"), "{calls:?}");

    // The scheduled sweep sees the same state and gives the same finding id.
    let schedule =
        std::fs::read(crate::common::root().join("events/sweep-scheduled-event.json")).unwrap();
    let full = app.handle(&schedule, &Invocation::default()).await.unwrap();
    assert_eq!(full.status, "swept");
    assert!(full.findings.contains(&after.findings[0]), "{full:?}");
}

#[tokio::test]
#[ignore = "needs moto_server: run by scripts/test.sh"]
async fn sl005_is_high_while_a_bot_still_depends_on_the_deleted_role() {
    let server = OwnServer::start();
    let config = aws::config_for(&server.url).await;
    let iam = aws_sdk_iam::Client::new(&config);
    let slr = create_role(
        &iam,
        "AWSServiceRoleForLexV2Bots_ABC",
        "/aws-service-role/lexv2.amazonaws.com/",
        "lexv2.amazonaws.com",
    )
    .await;
    let bot = create_bot(&config, "StillHere", &slr).await;
    let app = app(&config);
    let event =
        std::fs::read(crate::common::root().join("events/sl005-fires-delete-lexv2-slr.json"))
            .unwrap();
    let with_bot = app.handle(&event, &Invocation::default()).await.unwrap();
    assert_eq!(
        with_bot.counts.keys().copied().collect::<Vec<_>>(),
        [rolewarden::Severity::High],
        "{with_bot:?}"
    );
    assert_eq!(
        with_bot.api_calls.get("Lex Models V2:ListBots"),
        Some(&1),
        "{:?}",
        with_bot.api_calls
    );
    delete_bot(&config, &bot).await;
    let without = app.handle(&event, &Invocation::default()).await.unwrap();
    assert_eq!(
        without.counts.keys().copied().collect::<Vec<_>>(),
        [rolewarden::Severity::Medium],
        "{without:?}"
    );
}

#[tokio::test]
#[ignore = "needs moto_server: run by scripts/test.sh"]
async fn two_thousand_roles_cost_what_the_formula_says() {
    const ROLES: usize = 2_000;
    const CANDIDATES: usize = 40;
    let server = OwnServer::start();
    let config = aws::config_for(&server.url).await;
    let iam = aws_sdk_iam::Client::new(&config);
    let seeded = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..ROLES {
        let iam = iam.clone();
        let service = if i < CANDIDATES {
            "lexv2.amazonaws.com"
        } else {
            "ec2.amazonaws.com"
        };
        tasks.spawn(async move {
            create_role(&iam, &format!("role-{i:04}"), "/", service).await;
        });
        if tasks.len() >= 16 {
            tasks.join_next().await.unwrap().unwrap();
        }
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    create_role(
        &iam,
        "AWSServiceRoleForLexV2Bots_A",
        "/aws-service-role/lexv2.amazonaws.com/",
        "lexv2.amazonaws.com",
    )
    .await;
    create_role(
        &iam,
        "AWSServiceRoleForAmazonConnect_B",
        "/aws-service-role/connect.amazonaws.com/",
        "connect.amazonaws.com",
    )
    .await;
    let seeding = seeded.elapsed();

    let calls = CallCounter::default();
    let sweeper = Sweeper::new(&config, &calls);
    let baseline = Baseline::embedded().unwrap();
    let options = SweepOptions {
        scope: Scope::Full,
        regions: vec!["us-east-1".into()],
        deadline: None,
        concurrency: 8,
        account: None,
    };
    let started = Instant::now();
    let (state, stats) = sweeper.gather(&baseline, &options).await;
    let took = started.elapsed();
    let n = ROLES + 2;
    assert_eq!(stats.roles_listed as usize, n);
    assert!(state.gaps.is_empty(), "{:?}", state.gaps);
    let iam_calls = calls.total_for("IAM");
    // ceil(N/1000) ListRoles pages + C GetRole + 2 per service-linked role.
    let formula = n.div_ceil(1000) + CANDIDATES + 2 * 2;
    assert_eq!(iam_calls as usize, formula, "{:?}", calls.snapshot());
    let listings = calls.total() - iam_calls;
    assert_eq!(
        listings,
        2,
        "one listing per profile and region (Lex V1, past its end of support, is not listed): {:?}",
        calls.snapshot()
    );
    let findings = Engine::new(baseline)
        .sweep(&state, chrono::Utc::now())
        .findings;
    println!(
        "sweep of {n} roles ({CANDIDATES} candidates, 2 service-linked roles, 1 region) against moto: {took:?}, {} API calls ({iam_calls} IAM = {} ListRoles pages + {CANDIDATES} GetRole + 4 policy listings; {listings} Lex/Connect listings); {} findings; seeding took {seeding:?}",
        calls.total(),
        n.div_ceil(1000),
        findings.len()
    );
}

#[tokio::test]
#[ignore = "needs moto_server: run by scripts/test.sh"]
async fn a_sweep_out_of_time_says_how_far_it_got() {
    let server = OwnServer::start();
    let config = aws::config_for(&server.url).await;
    let iam = aws_sdk_iam::Client::new(&config);
    server.set_clock_days(-400);
    create_role(&iam, "lex-old", "/", "lexv2.amazonaws.com").await;
    server.set_clock_days(0);
    let calls = CallCounter::default();
    let options = SweepOptions {
        scope: Scope::Full,
        regions: vec!["us-east-1".into()],
        deadline: Some(Instant::now() - Duration::from_millis(1)),
        concurrency: 8,
        account: None,
    };
    let baseline = Baseline::embedded().unwrap();
    let (state, stats) = Sweeper::new(&config, &calls)
        .gather(&baseline, &options)
        .await;
    assert!(stats.gaps >= 2, "{:?}", state.gaps);
    let findings = Engine::new(baseline)
        .sweep(&state, chrono::Utc::now())
        .findings;
    let rules: Vec<&str> = findings.iter().map(|f| f.rule_id.as_str()).collect();
    // Nothing could be read in time: no verdict on anything, only the gap, naming every part.
    assert_eq!(rules, ["RW002"], "{findings:#?}");
    let rw002 = &findings[0];
    assert!(
        rw002.message.contains("time budget exhausted"),
        "{}",
        rw002.message
    );
    assert_eq!(
        rw002.evidence["unread"],
        serde_json::json!([
            "connect-instances in us-east-1",
            "iam:ListRoles",
            "lex-v2-bots in us-east-1"
        ])
    );
    assert_eq!(
        calls.total(),
        0,
        "no call starts past the deadline: {:?}",
        calls.snapshot()
    );
}
