use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rolewarden_core::account::Dependent;
use rolewarden_core::account::{Lookup, NamedPolicy, Organization, RoleFacts, Snapshot};
use rolewarden_core::pipeline::{evaluate_reader, Output, Pipeline};
use rolewarden_core::policy::PolicyDocument;
use rolewarden_core::{Baseline, Engine, Finding};

/// The repository root (events/, tests/fixtures/): the first folder above the package that
/// holds `events/`, so the root package's tests can use this module too.
pub fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .find(|dir| dir.join("events").is_dir())
        .map_or(manifest.clone(), PathBuf::from)
}

/// The shared corpus (`shared/corpus/`): beside the repository, or beside a directory holding
/// it (a git worktree under `wt/`).
pub fn corpus_dir() -> PathBuf {
    let root = root();
    root.ancestors()
        .skip(1)
        .map(|dir| dir.join("shared/corpus"))
        .find(|dir| dir.is_dir())
        .unwrap_or_else(|| root.join("../shared/corpus"))
}

/// The date tests judge exception expiry by.
pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()
}

pub fn test_engine() -> Engine {
    let path = root().join("tests/fixtures/test-baseline.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let baseline = Baseline::parse(&text, "test-baseline.toml", today()).unwrap();
    Engine::new(baseline).with_today(today())
}

fn role(name: &str, policy: &str) -> RoleFacts {
    RoleFacts {
        arn: format!("arn:aws:iam::111122223333:role/service-role/{name}"),
        name: name.into(),
        path: "/service-role/".into(),
        create_date: None,
        last_used: None,
        trust_policy: None,
        inline_policies: vec![NamedPolicy {
            name: format!("{name}-policy"),
            document: PolicyDocument::decode_str(policy).unwrap().into_owned(),
        }],
        attached_policies: Vec::new(),
    }
}

/// The account the samples assume, as enrichment would see it: the two Lex logging roles
/// of the PR006 samples, and the Lex and Connect resources the SL005 samples look for.
pub fn sample_account() -> Snapshot {
    let mut snapshot = Snapshot::default();
    snapshot.roles.insert(
        "lex-logs-minimal".into(),
        Lookup::Found(role(
            "lex-logs-minimal",
            r#"{"Statement":[{"Effect":"Allow","Action":["logs:CreateLogStream","logs:PutLogEvents"],"Resource":"arn:aws:logs:eu-west-2:111122223333:log-group:lex-logs:*"}]}"#,
        )),
    );
    snapshot.roles.insert(
        "lex-logs-overprivileged".into(),
        Lookup::Found(role(
            "lex-logs-overprivileged",
            r#"{"Statement":[{"Effect":"Allow","Action":["logs:CreateLogStream","logs:PutLogEvents"],"Resource":"arn:aws:logs:eu-west-2:111122223333:log-group:lex-logs:*"},{"Sid":"TooMuch","Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
        )),
    );
    // SL005: a Lex V2 bot is still there; the one Connect instance uses another SLR.
    snapshot.dependents.insert(
        "lex-v2".into(),
        Lookup::Found(vec![Dependent {
            arn: "arn:aws:lex:us-east-1:111122223333:bot/ORDERFLWRS".into(),
            name: "OrderFlowers".into(),
            role: None,
        }]),
    );
    snapshot.dependents.insert(
        "connect".into(),
        Lookup::Found(vec![Dependent {
            arn: "arn:aws:connect:us-east-1:111122223333:instance/7d3c3b1e-6a0f-4a4e-9d51-2f2b8b0c9e11".into(),
            name: "support-center".into(),
            role: Some("arn:aws:iam::111122223333:role/aws-service-role/connect.amazonaws.com/AWSServiceRoleForAmazonConnect_SUPPORT".into()),
        }]),
    );
    // TR003: the organization, with a second account of its own.
    snapshot.organization = Some(Lookup::Found(Organization {
        id: "o-a1b2c3d4e5".into(),
        accounts: Some(["111122223333", "222233334444"].map(String::from).into()),
    }));
    snapshot
}

/// Findings for one file, with unreadable inputs turned into RW000 findings as the CLI does.
pub fn evaluate_file(engine: &Engine, path: &Path) -> Vec<Finding> {
    let file = std::fs::File::open(path).unwrap();
    let mut findings = Vec::new();
    let account = sample_account();
    evaluate_reader(
        &mut Pipeline::new(engine).enriching(None),
        file,
        &path.file_name().unwrap().to_string_lossy(),
        &mut |_| account.clone(),
        &mut |out| {
            if let Output::Finding(f) = out {
                findings.push(*f);
            }
        },
    )
    .unwrap();
    findings
}
