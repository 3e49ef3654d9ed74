//! Every sample event in `events/`: a snapshot of its findings, and the catalogue's promise that
//! every rule has a sample that fires it, one that must not, and a complete doc comment.

use std::collections::BTreeSet;

use crate::common::{evaluate_file, root, test_engine};
use rolewarden_core::rules;

#[test]
fn snapshots_of_every_sample() {
    let engine = test_engine();
    insta::glob!("../../../../events", "*.json", |path| {
        let findings = evaluate_file(&engine, path);
        insta::assert_json_snapshot!(findings);
    });
}

fn samples() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("events"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    names
}

#[test]
fn every_rule_has_a_firing_and_a_quiet_sample() {
    let engine = test_engine();
    let names = samples();
    let mut missing = Vec::new();
    // Sweep rules judge an account state, not events: tests/sweep_rules.rs holds their fixtures.
    for rule in rules::ALL
        .iter()
        .filter(|r| r.meta().trigger != rules::Trigger::Sweep)
    {
        let id = rule.meta().id;
        let prefix = id.to_ascii_lowercase();
        for (kind, must_fire) in [("fires", true), ("quiet", false)] {
            let of_kind: Vec<&String> = names
                .iter()
                .filter(|n| n.starts_with(&format!("{prefix}-{kind}-")))
                .collect();
            if of_kind.is_empty() {
                missing.push(format!(
                    "{id}: no `{prefix}-{kind}-*.json` sample in events/"
                ));
            }
            for name in of_kind {
                let findings = evaluate_file(&engine, &root().join("events").join(name));
                let fired = findings.iter().any(|f| f.rule_id == id);
                if fired != must_fire {
                    missing.push(format!(
                        "{name}: expected {id} to {}, got {:?}",
                        if must_fire { "fire" } else { "stay quiet" },
                        findings.iter().map(|f| &f.rule_id).collect::<Vec<_>>()
                    ));
                }
            }
        }
    }
    assert!(missing.is_empty(), "\n{}", missing.join("\n"));
}

#[test]
fn unwatched_samples_produce_nothing() {
    let engine = test_engine();
    for name in samples().iter().filter(|n| n.starts_with("unwatched-")) {
        let findings = evaluate_file(&engine, &root().join("events").join(name));
        assert!(findings.is_empty(), "{name}: {findings:?}");
    }
}

#[test]
fn every_rule_documents_itself() {
    let mut ids = BTreeSet::new();
    for rule in rules::ALL {
        let m = rule.meta();
        assert!(ids.insert(m.id), "duplicate rule id {}", m.id);
        for section in ["What it does", "Why it matters", "Example", "Fix"] {
            assert!(
                m.section(section).is_some(),
                "{} lacks a `## {section}` section",
                m.id
            );
        }
        assert!(!m.remediation().is_empty(), "{}", m.id);
        assert!(
            !m.summary.ends_with('.'),
            "{}: summaries have no final period",
            m.id
        );
        let file = root()
            .join("crates/core/src/rules")
            .join(format!("{}.rs", m.id.to_ascii_lowercase()));
        assert!(file.exists(), "{} must live in {}", m.id, file.display());
    }
}

/// A rule's declared trigger and the kind it is registered as agree: a sweep rule is a
/// `Rule::Sweep`, an engine-raised rule has no check, every other rule is an event rule.
#[test]
fn every_rule_is_registered_as_what_it_declares() {
    use rolewarden_core::rules::{Rule, Trigger};
    for rule in rules::ALL {
        let trigger = rule.meta().trigger;
        let fits = match rule {
            Rule::Event(_) => !matches!(trigger, Trigger::Sweep | Trigger::Engine),
            Rule::Sweep(_) => trigger == Trigger::Sweep,
            Rule::Engine(_) => trigger == Trigger::Engine,
        };
        assert!(fits, "{} declares {trigger:?}", rule.meta().id);
    }
}

#[test]
fn readme_rule_table_matches_the_registry() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let table = rolewarden_core::report::rules_markdown();
    assert!(
        readme.contains(&table),
        "README.md's rule table is out of date; paste the output of `rolewarden rules --markdown`:\n{table}"
    );
}

#[test]
fn findings_are_deterministic() {
    let engine = test_engine();
    for name in samples() {
        let path = root().join("events").join(&name);
        let first = evaluate_file(&engine, &path);
        let second = evaluate_file(&engine, &path);
        assert_eq!(first, second, "{name}");
        for f in &first {
            assert_eq!(f.id, f.compute_id(), "{name}");
        }
    }
}

/// TR003 asks for the organization only when a principal reaches past the account and
/// `trusted_accounts`, or an organization condition guards one; and without it, judges as
/// before: a member account is outside, any organization condition is the account's own.
#[test]
fn tr003_reads_the_organization_only_when_it_can_matter() {
    use rolewarden_core::account::NoAccountView;
    use rolewarden_core::decode::{read_slice, Event, Item};
    let engine = test_engine();
    let event = |name: &str| {
        let bytes = std::fs::read(root().join("events").join(name)).unwrap();
        let mut items = Vec::new();
        read_slice(&bytes, &mut |i| items.push(i)).unwrap();
        match items.remove(0) {
            Item::Record {
                record, envelope, ..
            } => Event::new(*record, envelope),
            other => panic!("{name}: {other:?}"),
        }
    };
    for (name, wanted) in [
        ("tr003-quiet-trust-organization-member-account.json", true),
        ("tr003-fires-principal-org-id-other-organization.json", true),
        ("tr003-quiet-principal-org-id-guarded.json", true),
        ("tr003-fires-create-role-trusting-everyone.json", true),
        // Only a trusted account and the account's own roles: nothing to ask.
        ("tr003-quiet-trusted-account.json", false),
        ("tr001-quiet-lex-trust-service-only.json", false),
    ] {
        assert_eq!(engine.needs(&event(name)).organization, wanted, "{name}");
    }
    let rules = |name: &str| -> Vec<String> {
        engine
            .evaluate(&event(name), &NoAccountView)
            .findings
            .into_iter()
            .map(|f| f.rule_id)
            .collect()
    };
    assert_eq!(
        rules("tr003-quiet-trust-organization-member-account.json"),
        ["TR003"]
    );
    assert!(rules("tr003-fires-principal-org-id-other-organization.json").is_empty());
}
