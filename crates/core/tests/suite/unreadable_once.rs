//! One unreadable input gives one message and one RW000, however the framer splits its remains,
//! and a succeeded watched write without parameters is an RW000 whatever its name.

use rolewarden_core::pipeline::{evaluate_reader, Output, Pipeline, Summary};
use rolewarden_core::Finding;
use serde_json::json;

/// Every unreadable report (line, reason) and every finding for `input`.
fn run(input: &str) -> (Vec<(u64, String)>, Vec<Finding>, Summary) {
    let engine = crate::common::test_engine();
    let mut unreadable = Vec::new();
    let mut findings = Vec::new();
    let mut pipeline = Pipeline::new(&engine);
    evaluate_reader(
        &mut pipeline,
        input.as_bytes(),
        "fragment.json",
        &mut |_| unreachable!("no enrichment"),
        &mut |o| match o {
            Output::Unreadable {
                position, reason, ..
            } => unreadable.push((position.line, reason)),
            Output::Finding(f) => findings.push(*f),
        },
    )
    .unwrap();
    (unreadable, findings, pipeline.summary)
}

#[test]
fn a_broken_fragment_is_one_message_and_one_rw000() {
    // The middle of a pasted log file: a string, then a stray `:` on the same line, and the
    // end of the input inside what follows, on the same line or lines later.
    let fragments = [
        "\"Records\": [{\"eventName\": \"PutRolePolicy\"",
        "\"Records\": [{\"eventName\": \"PutRolePolicy\",\n  \"awsRegion\": \"us-east-1\"\n",
        "\"userAgent\": \"aws-cli\",\n\"requestParameters\": {\"roleName\":\n\"app\"\n",
        "\"Records\": [\n\n",
        "{\"a\": 1} garbage\n",
        "{\"a\": 1}}\n",
    ];
    for fragment in fragments {
        let (unreadable, findings, summary) = run(fragment);
        assert_eq!(unreadable.len(), 1, "{fragment:?}: {unreadable:?}");
        let rw000: Vec<&Finding> = findings.iter().filter(|f| f.rule_id == "RW000").collect();
        assert_eq!(rw000.len(), 1, "{fragment:?}: {findings:?}");
        assert_eq!(summary.unreadable, 1, "{fragment:?}");
        assert_eq!(rw000[0].evidence["line"], json!(unreadable[0].0));
    }
}

#[test]
fn separate_broken_lines_are_still_reported_each() {
    let input = "\"Records\": [{\n{\"a\": 1}\nnot json\n";
    let (unreadable, findings, _) = run(input);
    let lines: Vec<u64> = unreadable.iter().map(|(l, _)| *l).collect();
    assert_eq!(lines, [1, 2, 3], "{unreadable:?}");
    assert_eq!(findings.iter().filter(|f| f.rule_id == "RW000").count(), 3);
}

fn record(source: &str, name: &str, params: serde_json::Value, error: Option<&str>) -> String {
    let mut r = json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/tester", "accountId": "111122223333"},
        "eventTime": "2024-05-07T09:20:04Z",
        "eventSource": source,
        "eventName": name,
        "awsRegion": "us-east-1",
        "requestParameters": params,
        "responseElements": null,
        "eventID": format!("{name}-1"),
        "recipientAccountId": "111122223333"
    });
    if let Some(code) = error {
        r["errorCode"] = json!(code);
    }
    r.to_string()
}

#[test]
fn every_succeeded_watched_write_without_parameters_is_one_rw000() {
    let engine = crate::common::test_engine();
    let watched = engine.watched_events();
    assert!(watched.iter().any(|(_, n)| n == "CreateServiceLinkedRole"));
    assert!(watched
        .iter()
        .any(|(_, n)| n == "CreateResourcePolicyStatement"));
    for (source, name) in &watched {
        for params in [json!(null), json!({})] {
            let (_, findings, _) = run(&record(source, name, params.clone(), None));
            let rw000: Vec<&String> = findings
                .iter()
                .filter(|f| f.rule_id == "RW000")
                .map(|f| &f.message)
                .collect();
            assert_eq!(rw000.len(), 1, "{name} with {params}: {rw000:?}");
            // Refused, a call often carries no parameters: nothing to report.
            let (_, refused, _) = run(&record(source, name, params.clone(), Some("AccessDenied")));
            assert!(
                refused.iter().all(|f| f.rule_id != "RW000"),
                "{name} refused: {refused:?}"
            );
        }
    }
}
