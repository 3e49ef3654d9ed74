//! Star-heavy documents: the judgement of a hand-made policy (an event or a file a user scans)
//! stays bounded by the work it does, not by the number of tests, and what it leaves out it
//! says, on the safe side.

use std::time::Instant;

use rolewarden_core::check::check_policy;
use rolewarden_core::policy::{pass_role_grants, PolicyDocument};
use rolewarden_core::{Baseline, Engine};
use serde_json::{json, Value};

/// `*a*a*a...` of `len` characters, made distinct by a short prefix.
fn star_heavy(i: usize, len: usize) -> String {
    let head = format!("{i}");
    let body: String = "*a".repeat(len.saturating_sub(head.len()) / 2 + 1);
    format!("{head}{body}").chars().take(len).collect()
}

/// An Allow on `Resource` values of `resources` star-heavy role patterns and a `*`, tied by
/// `StringLike` `iam:AssociatedResourceARN` to `associated` star-heavy Lex resources, and a Deny
/// with the same values, all of `len` characters.
fn pathological(resources: usize, associated: usize, len: usize) -> Value {
    let roles: Vec<String> = (0..resources)
        .map(|i| format!("arn:aws:iam::*:role/{}", star_heavy(i, len)))
        .collect();
    let arns: Vec<String> = (0..associated)
        .map(|i| format!("arn:aws:lex:*:*:{}", star_heavy(i, len)))
        .collect();
    let mut allow_resources = roles.clone();
    allow_resources.push("*".into());
    json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": allow_resources,
         "Condition": {"StringLike": {"iam:AssociatedResourceARN": arns.clone()}}},
        {"Effect": "Deny", "Action": "iam:PassRole", "Resource": roles,
         "Condition": {"ArnLike": {"iam:AssociatedResourceARN": arns}}},
    ]})
}

fn engine() -> Engine {
    Engine::new(Baseline::embedded().unwrap())
}

/// Judges `doc` once through `check-policy`, printing how long it took, and returns the rules
/// that fired with the grant notes of their findings.
fn judge(label: &str, doc: &Value) -> Vec<(String, String)> {
    let text = doc.to_string();
    let engine = engine();
    let start = Instant::now();
    let (_, findings) = check_policy(&engine, &text, "pathological").unwrap();
    println!(
        "{label}: {} bytes judged in {:?}",
        text.len(),
        start.elapsed()
    );
    findings
        .iter()
        .map(|f| (f.rule_id.clone(), f.evidence["grant"]["notes"].to_string()))
        .collect()
}

#[test]
fn star_heavy_values_of_an_iam_sized_document_are_cut_short_and_said() {
    // IAM's 10,240 characters hold some 60 values of 120 characters.
    let doc = pathological(30, 30, 120);
    let fired = judge("iam-sized", &doc);
    assert!(fired.iter().any(|(rule, _)| rule == "PR003"), "{fired:?}");
    assert!(
        fired
            .iter()
            .all(|(rule, _)| rule != "PR001" && rule != "PR002"),
        "{fired:?}"
    );
}

#[test]
fn star_heavy_values_of_a_hand_made_document_are_cut_short_and_said() {
    let doc = pathological(300, 300, 120);
    let fired = judge("hand-made", &doc);
    let pr003: Vec<&String> = fired
        .iter()
        .filter(|(rule, _)| rule == "PR003")
        .map(|(_, notes)| notes)
        .collect();
    assert!(!pr003.is_empty(), "{fired:?}");
    assert!(
        pr003.iter().all(|n| n.contains("too many values")),
        "{pr003:?}"
    );
    // Both bounds bite here, and each note says what it left out.
    assert!(
        pr003
            .iter()
            .all(|n| n.contains("the budget ran out") && n.contains("were left out")),
        "{pr003:?}"
    );
}

#[test]
fn the_grants_of_a_star_heavy_document_keep_the_fresh_probes() {
    let document = pathological(300, 300, 120);
    let doc = PolicyDocument::from_value(&document).unwrap();
    let start = Instant::now();
    let grants = pass_role_grants(&doc);
    println!("grants only: {:?}", start.elapsed());
    assert_eq!(grants.len(), 1, "{grants:?}");
    assert!(grants[0].reach.every_role, "{:?}", grants[0].reach);
    assert!(!grants[0].reach.any_service);
}
