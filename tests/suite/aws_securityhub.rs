//! The Security Hub sink against moto's Security Hub, each test on a server of its own (whether
//! the hub is enabled is the account's state). tests/moto/server.py applies AWS's two import
//! rules moto leaves out: no import into an account without Security Hub, and no default-product
//! finding for another account.

use std::process::Output;

use aws_config::SdkConfig;
use rolewarden::asff::{to_asff, AsffFinding, Importer};
use rolewarden::aws::rest_json::{Call, Request, SECURITY_HUB};
use rolewarden::aws::securityhub::{ImportError, SecurityHubWriter};
use rolewarden::aws::CallCounter;
use rolewarden::lambda::{App, HandlerError, Invocation, Settings, SinkKind};
use rolewarden::{Baseline, Engine, Finding, Status};

use crate::common::aws::{self, OwnServer};

/// The account tests/suite/common/aws.rs pins an own server to.
const ACCOUNT: &str = "111122223333";

pub(crate) async fn enable(config: &SdkConfig) {
    Call::<serde_json::Value>::new(
        config,
        SECURITY_HUB,
        "EnableSecurityHub",
        &CallCounter::default(),
    )
    .unwrap()
    .send(Request::post("/accounts", &serde_json::json!({})))
    .await
    .unwrap();
}

/// `GetFindings`' answer: the findings as Security Hub holds them, read as ASFF.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Findings {
    findings: Vec<AsffFinding>,
    next_token: Option<String>,
}

/// `GetFindings`' request for the page after `next_token`.
#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct FindingsAfter<'a> {
    max_results: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<&'a str>,
}

/// Everything Security Hub holds, in our ASFF form, by id.
pub(crate) async fn stored(config: &SdkConfig) -> Vec<AsffFinding> {
    let get = Call::<Findings>::new(config, SECURITY_HUB, "GetFindings", &CallCounter::default())
        .unwrap();
    let request = |next_token: Option<&str>| {
        let page = FindingsAfter {
            max_results: 100,
            next_token,
        };
        Request::post("/findings", &page)
    };
    let mut all = get
        .list(request, |page, out| {
            out.extend(page.findings);
            page.next_token
        })
        .await
        .unwrap();
    all.sort_by(|a, b| a.id.cmp(&b.id));
    all
}

fn rolewarden(url: &str, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_rolewarden"))
        .args(args)
        .current_dir(crate::common::root())
        .env("AWS_ENDPOINT_URL", url)
        .output()
        .unwrap()
}

/// The findings of the sample events, as the engine reports them (the CLI, offline).
pub(crate) fn sample_findings() -> Vec<Finding> {
    let out = crate::common::evaluate_samples();
    crate::common::text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub(crate) fn importer() -> Importer {
    Importer {
        account: ACCOUNT.into(),
        region: "us-east-1".into(),
    }
}

#[tokio::test]
#[ignore = "needs moto_server: run by scripts/test.sh"]
async fn security_hub_holds_what_the_engine_produced_field_for_field() {
    let server = OwnServer::start();
    let config = aws::config_for(&server.url).await;
    enable(&config).await;
    let findings = sample_findings();
    assert!(findings.len() > 40, "{}", findings.len());
    let now = chrono::Utc::now();
    let mut meant: Vec<AsffFinding> = findings
        .iter()
        .map(|f| to_asff(f, &importer(), now))
        .collect();
    meant.sort_by(|a, b| a.id.cmp(&b.id));
    meant.dedup_by(|a, b| a.id == b.id);
    let calls = CallCounter::default();
    let writer = SecurityHubWriter::new(&config, &calls);
    writer.import(&meant).await.unwrap();
    assert_eq!(stored(&config).await, meant);
    // 100 a call.
    assert_eq!(
        calls.snapshot()["SecurityHub:BatchImportFindings"],
        meant.len().div_ceil(100) as u64
    );
}

#[tokio::test]
#[ignore = "needs moto_server: run by scripts/test.sh"]
async fn a_reimport_updates_and_a_resolved_finding_is_archived() {
    let server = OwnServer::start();
    let config = aws::config_for(&server.url).await;
    enable(&config).await;
    let calls = CallCounter::default();
    let writer = SecurityHubWriter::new(&config, &calls);
    let mut findings: Vec<Finding> = sample_findings().into_iter().take(3).collect();
    writer.write(&findings).await.unwrap();
    // The importer is the caller's account, asked of STS once.
    assert_eq!(calls.snapshot()["STS:GetCallerIdentity"], 1);
    findings[0].status = Some(Status::Resolved);
    findings[0].resolution = Some(rolewarden::Resolution {
        at: "2026-11-28T03:00:00Z".into(),
        reason: "not reported by the sweep".into(),
    });
    writer.write(&findings).await.unwrap();
    assert_eq!(calls.snapshot()["STS:GetCallerIdentity"], 1);
    let held = stored(&config).await;
    assert_eq!(held.len(), 3, "a re-import adds nothing");
    let resolved = held.iter().find(|a| a.id == findings[0].id).unwrap();
    assert_eq!(resolved.record_state, "ARCHIVED");
    assert_eq!(resolved.workflow.as_ref().unwrap().status, "RESOLVED");
    assert_eq!(resolved.compliance.status, "PASSED");
    assert!(held
        .iter()
        .filter(|a| a.id != findings[0].id)
        .all(|a| a.record_state == "ACTIVE" && a.compliance.status == "FAILED"));
}

#[tokio::test]
#[ignore = "needs moto_server: run by scripts/test.sh"]
async fn refused_findings_are_an_error_naming_them() {
    let server = OwnServer::start();
    let config = aws::config_for(&server.url).await;
    enable(&config).await;
    let writer = SecurityHubWriter::new(&config, &CallCounter::default());
    let findings = sample_findings();
    let now = chrono::Utc::now();
    let other = Importer {
        account: "999988887777".into(),
        region: "us-east-1".into(),
    };
    let own = importer();
    // Two of five carry another account: Security Hub takes three and refuses those two.
    let batch: Vec<AsffFinding> = findings
        .iter()
        .take(5)
        .enumerate()
        .map(|(i, f)| to_asff(f, if i < 2 { &other } else { &own }, now))
        .collect();
    let e = writer.import(&batch).await.unwrap_err();
    assert!(matches!(e, ImportError::Refused { total: 5, .. }), "{e}");
    assert_eq!(
        e.refused_ids(),
        vec![batch[0].id.as_str(), batch[1].id.as_str()]
    );
    let text = e.to_string();
    assert!(
        text.starts_with("Security Hub refused 2 of 5 findings: "),
        "{text}"
    );
    assert!(text.contains("AccessDeniedException"), "{text}");
    assert_eq!(stored(&config).await.len(), 3);
}

#[tokio::test]
#[ignore = "needs moto_server: run by scripts/test.sh"]
async fn the_lambda_fails_retryable_until_security_hub_takes_its_findings() {
    let server = OwnServer::start();
    let config = aws::config_for(&server.url).await;
    let group = "/rolewarden/securityhub";
    let settings = Settings {
        sinks: vec![SinkKind::CloudWatch, SinkKind::SecurityHub],
        log_group: group.to_owned(),
        ..Settings::from_env(&|_| None, None).unwrap()
    };
    let app = App::new(
        Engine::new(Baseline::embedded().unwrap()),
        &config,
        &settings,
    );
    let event = std::fs::read(
        crate::common::root().join("events/sl001-fires-attach-policy-to-lex-slr.json"),
    )
    .unwrap();
    // Security Hub is not enabled in the account: the whole call is refused.
    let e = app
        .handle(&event, &Invocation::default())
        .await
        .unwrap_err();
    assert!(matches!(e, HandlerError::Sink(_)), "{e}");
    assert_eq!(e.error_type(), "Retryable");
    assert!(e.to_string().contains("InvalidAccessException"), "{e}");
    enable(&config).await;
    let ok = app.handle(&event, &Invocation::default()).await.unwrap();
    assert_eq!(ok.findings.len(), 1);
    assert_eq!(ok.sink, format!("cloudwatch:{group},securityhub"));
    let held = stored(&config).await;
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].id, ok.findings[0]);
    assert_eq!(held[0].generator_id, "SL001");
    assert_eq!(held[0].aws_account_id, ACCOUNT);
}

#[tokio::test]
#[ignore = "needs moto_server: run by scripts/test.sh"]
async fn the_cli_imports_into_security_hub() {
    let server = OwnServer::start();
    let config = aws::config_for(&server.url).await;
    let args = [
        "evaluate",
        "--format",
        "json",
        "--sink",
        "securityhub",
        "--baseline",
        "tests/fixtures/test-baseline.toml",
        "--as-of",
        "2026-06-01",
        "events/",
    ];
    let refused = rolewarden(&server.url, &args);
    assert_eq!(
        refused.status.code(),
        Some(3),
        "findings not written: exit 3"
    );
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("not subscribed to AWS Security Hub"), "{err}");
    enable(&config).await;
    let out = rolewarden(&server.url, &args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let printed: Vec<Finding> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        err.contains(&format!(
            "{} findings written to securityhub",
            printed.len()
        )),
        "{err}"
    );
    let held = stored(&config).await;
    let mut ids: Vec<&str> = printed.iter().map(|f| f.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(held.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ids);
}

#[tokio::test]
#[ignore = "needs moto_server: run by scripts/test.sh"]
async fn a_sweep_finding_is_new_then_open_then_archived_once_fixed() {
    // One orphaned role in the account, finding state in DynamoDB, both sinks.
    let (_server, config, iam, table) = crate::aws_lifecycle::orphaned_account().await;
    enable(&config).await;
    let settings = Settings {
        sinks: vec![SinkKind::CloudWatch, SinkKind::SecurityHub],
        log_group: aws::unique("/rolewarden/hub-lifecycle"),
        state_table: Some(table),
        ..Settings::from_env(&|_| None, None).unwrap()
    };
    let app = App::new(
        Engine::new(Baseline::embedded().unwrap()),
        &config,
        &settings,
    );
    let sweep = || async {
        app.handle(&crate::aws_lifecycle::schedule(), &Invocation::default())
            .await
            .unwrap()
    };
    let first = sweep().await;
    assert_eq!(first.findings.len(), 1, "{first:?}");
    let held = stored(&config).await;
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].id, first.findings[0]);
    assert_eq!(held[0].generator_id, "OR001");
    assert_eq!(held[0].product_fields["rolewarden/Status"], "new");
    assert_eq!(held[0].record_state, "ACTIVE");

    sweep().await;
    let held = stored(&config).await;
    assert_eq!(held.len(), 1, "the second sweep updates the same finding");
    assert_eq!(held[0].product_fields["rolewarden/Status"], "open");

    iam.delete_role()
        .role_name("lex-bot-role-unused")
        .send()
        .await
        .unwrap();
    let fixed = sweep().await;
    assert_eq!(fixed.resolved, first.findings, "{fixed:?}");
    let held = stored(&config).await;
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].record_state, "ARCHIVED");
    assert_eq!(held[0].compliance.status, "PASSED");
    assert_eq!(held[0].workflow.as_ref().unwrap().status, "RESOLVED");
    assert_eq!(held[0].product_fields["rolewarden/Status"], "resolved");
    assert!(held[0].product_fields["rolewarden/Resolution"].contains("complete sweep"));
}
