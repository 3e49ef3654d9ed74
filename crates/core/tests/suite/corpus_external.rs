//! The external corpus, as ruff's ecosystem check runs a linter over other people's code: 334
//! CloudTrail records published by others (`../shared/corpus/external/events/`), each evaluated
//! with the embedded default baseline and no account access, as `rolewarden evaluate` would.
//! Every clear-cut expectation of `expected.json` must hold, and one snapshot lists every
//! finding, so any change in what rolewarden says about real events shows up in review.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rolewarden_core::baseline::DEFAULT_TOML;
use rolewarden_core::pipeline::{evaluate_reader, Output, Pipeline};
use rolewarden_core::{rules, Baseline, Engine, Finding};
use serde::Deserialize;

/// `expected.json`: file name in `events/` -> rule ids that must fire, and ids that must not.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expectation {
    must: Vec<String>,
    must_not: Vec<String>,
}

fn external() -> PathBuf {
    crate::common::corpus_dir().join("external")
}

fn default_engine() -> Engine {
    let baseline =
        Baseline::parse(DEFAULT_TOML, "embedded default", crate::common::today()).unwrap();
    Engine::new(baseline).with_today(crate::common::today())
}

/// Findings of one file, and every unreadable input, each of which must also be an RW000.
fn evaluate(engine: &Engine, path: &Path) -> (Vec<Finding>, usize) {
    let mut findings = Vec::new();
    let mut unreadable = 0;
    evaluate_reader(
        &mut Pipeline::new(engine),
        std::fs::File::open(path).unwrap(),
        &path.file_name().unwrap().to_string_lossy(),
        &mut |_| unreachable!("no enrichment"),
        &mut |out| match out {
            Output::Finding(f) => findings.push(*f),
            Output::Unreadable { .. } => unreadable += 1,
        },
    )
    .unwrap();
    (findings, unreadable)
}

fn files() -> Vec<PathBuf> {
    let dir = external().join("events");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "the shared corpus must sit beside the repo at {}: {e}",
                dir.display()
            )
        })
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

#[test]
fn external_corpus_meets_every_expectation_and_is_snapshotted() {
    let engine = default_engine();
    let expected: BTreeMap<String, Expectation> =
        serde_json::from_str(&std::fs::read_to_string(external().join("expected.json")).unwrap())
            .unwrap();
    let files = files();
    assert_eq!(files.len(), 334, "the corpus has 334 records");
    let names: BTreeSet<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();

    let mut failures = Vec::new();
    for (name, e) in &expected {
        if !names.contains(name) {
            failures.push(format!("{name}: in expected.json but not in events/"));
        }
        for id in e.must.iter().chain(&e.must_not) {
            if rules::by_id(id).is_none() {
                failures.push(format!("{name}: expected.json names unknown rule `{id}`"));
            }
        }
    }

    let mut lines = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let (findings, unreadable) = evaluate(&engine, path);
        let rw000 = findings.iter().filter(|f| f.rule_id == "RW000").count();
        if unreadable > rw000 {
            failures.push(format!(
                "{name}: {unreadable} unreadable input(s) but {rw000} RW000"
            ));
        }
        let fired: BTreeSet<&str> = findings.iter().map(|f| f.rule_id.as_str()).collect();
        if let Some(e) = expected.get(&name) {
            for id in &e.must {
                if !fired.contains(id.as_str()) {
                    failures.push(format!("{name}: {id} must fire, got {fired:?}"));
                }
            }
            for id in &e.must_not {
                if fired.contains(id.as_str()) {
                    let messages: Vec<&str> = findings
                        .iter()
                        .filter(|f| &f.rule_id == id)
                        .map(|f| f.message.as_str())
                        .collect();
                    failures.push(format!("{name}: {id} must not fire: {messages:?}"));
                }
            }
        }
        for f in findings {
            lines.push(format!(
                "{name} {} {} {} {}",
                f.rule_id,
                f.severity,
                f.resource.as_deref().unwrap_or("-"),
                f.id
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    lines.sort();
    insta::assert_snapshot!(lines.join("\n"));
}

/// Stratus Red Team's backdoor-role detonations (`../shared/corpus/records/`, captured for real):
/// a role created for, and a trust policy opened to, the attacker's account.
#[test]
fn stratus_backdoor_roles_are_trust_opened_to_another_account() {
    let engine = default_engine();
    for name in [
        "iam-CreateRole-stratus-1.json",
        "iam-UpdateAssumeRolePolicy-stratus-1.json",
    ] {
        let path = crate::common::corpus_dir().join("records").join(name);
        let (findings, _) = evaluate(&engine, &path);
        let tr003: Vec<&Finding> = findings.iter().filter(|f| f.rule_id == "TR003").collect();
        assert_eq!(tr003.len(), 1, "{name}: {findings:#?}");
        assert_eq!(
            tr003[0].severity,
            rolewarden_core::Severity::Medium,
            "{name}"
        );
        assert_eq!(
            tr003[0].evidence["outside"][0]["reach"]["accounts"],
            serde_json::json!(["193672423079"]),
            "{name}"
        );
    }
}
