//! The finding lifecycle ([`rolewarden_core::lifecycle`]) on real events and sweep fixtures:
//! `new` then `open`, a redelivered event, a fixing write or delete, a late older write, a
//! complete and an incomplete sweep. Events go through the one pipeline, tracking.

use chrono::{DateTime, Utc};
use rolewarden_core::lifecycle::{decide, Observed, Plan, Record, SweepRun};
use rolewarden_core::pipeline::{evaluate_reader, Output, Pipeline};
use rolewarden_core::state::{AccountState, Gap};
use rolewarden_core::{Engine, Finding, Status};
use serde_json::Value;

use crate::common::{root, test_engine};

const T1: &str = "2026-06-01T00:00:00Z";
const T2: &str = "2026-06-02T00:00:00Z";
const T3: &str = "2026-06-03T00:00:00Z";

/// PR001's sample: `PutUserPolicy` of `pass-any-role` on `deploy-bot`, PassRole on `*`.
fn bad_write() -> Value {
    let path = root().join("events/pr001-fires-passrole-on-star.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The same policy written again later (another event) with `document`.
fn rewrite(name: &str, id: &str, time: &str, document: Option<&str>) -> Value {
    let mut event = bad_write();
    event["id"] = Value::from(format!("eb-{id}"));
    event["detail"]["eventName"] = Value::from(name);
    event["detail"]["eventID"] = Value::from(id);
    event["detail"]["eventTime"] = Value::from(time);
    match document {
        Some(doc) => event["detail"]["requestParameters"]["policyDocument"] = Value::from(doc),
        None => {
            let params = event["detail"]["requestParameters"]
                .as_object_mut()
                .unwrap();
            params.remove("policyDocument");
        }
    }
    event
}

const SCOPED: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"*","Condition":{"StringEquals":{"iam:PassedToService":"lambda.amazonaws.com"}}}]}"#;
const STILL_BAD: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Other","Effect":"Allow","Action":"iam:PassRole","Resource":"*"}]}"#;

/// The events through a tracking pipeline: their findings and what can resolve.
fn run(engine: &Engine, events: &[Value]) -> (Vec<Finding>, Observed) {
    let mut pipeline = Pipeline::new(engine).tracking();
    let mut findings = Vec::new();
    for event in events {
        let text = serde_json::to_vec(event).unwrap();
        evaluate_reader(
            &mut pipeline,
            text.as_slice(),
            "test",
            &mut |_| unreachable!("no enrichment"),
            &mut |out| {
                if let Output::Finding(f) = out {
                    findings.push(*f);
                }
            },
        )
        .unwrap();
    }
    (findings, pipeline.take_observed())
}

/// One run against `store` (every record so far, as a store would answer the lookups), which
/// it then updates as a store would.
fn step(store: &mut Vec<Record>, findings: Vec<Finding>, observed: &Observed, now: &str) -> Plan {
    let lookup = observed.lookup(&findings);
    let known: Vec<Record> = store
        .iter()
        .filter(|r| lookup.ids.contains(&(r.account.clone(), r.id.clone())))
        .cloned()
        .collect();
    let open: Vec<Record> = store
        .iter()
        .filter(|r| r.open_key().is_some_and(|k| lookup.open_keys.contains(&k)))
        .cloned()
        .collect();
    let plan = decide(findings, &known, &open, observed, now);
    for record in &plan.records {
        store.retain(|r| (&r.account, &r.id) != (&record.account, &record.id));
        store.push(record.clone());
    }
    plan
}

fn statuses(findings: &[Finding]) -> Vec<(&str, Status)> {
    findings
        .iter()
        .map(|f| (f.rule_id.as_str(), f.status.unwrap()))
        .collect()
}

#[test]
fn first_write_is_new_and_a_redelivery_is_open() {
    let engine = test_engine();
    let mut store = Vec::new();
    let (findings, observed) = run(&engine, &[bad_write()]);
    assert!(findings.iter().any(|f| f.rule_id == "PR001"));
    let first = step(&mut store, findings, &observed, T1);
    assert!(first.findings.iter().all(|f| f.status == Some(Status::New)
        && f.first_seen.as_deref() == Some(T1)
        && f.resolution.is_none()));
    assert!(first.resolved.is_empty());
    let pr001 = store.iter().find(|r| r.rule == "PR001").unwrap();
    assert_eq!(
        pr001.policy_key.as_deref(),
        Some("user:deploy-bot:pass-any-role")
    );
    assert_eq!(pr001.last_sweep, None);

    // Lambda delivers the same event again: same ids, open, first seen unchanged.
    let (findings, observed) = run(&engine, &[bad_write()]);
    let again = step(&mut store, findings, &observed, T2);
    assert_eq!(again.findings.len(), first.findings.len());
    assert!(again
        .findings
        .iter()
        .all(|f| f.status == Some(Status::Open) && f.first_seen.as_deref() == Some(T1)));
    assert!(again.resolved.is_empty(), "{:?}", again.resolved);
    assert!(store.iter().all(|r| r.last_seen == T2));
}

#[test]
fn a_fixing_write_resolves_and_a_redelivered_fix_does_nothing_more() {
    let engine = test_engine();
    let mut store = Vec::new();
    let (findings, observed) = run(&engine, &[bad_write()]);
    let first = step(&mut store, findings, &observed, T1);
    let bad_ids: Vec<String> = first
        .findings
        .iter()
        .filter(|f| f.rule_id.starts_with("PR"))
        .map(|f| f.id.clone())
        .collect();
    assert!(!bad_ids.is_empty());

    let fix = rewrite(
        "PutUserPolicy",
        "fix-1",
        "2024-05-06T09:00:00Z",
        Some(SCOPED),
    );
    let (findings, observed) = run(&engine, std::slice::from_ref(&fix));
    assert!(
        findings.iter().all(|f| !f.rule_id.starts_with("PR")),
        "the fix must not fire: {findings:?}"
    );
    let fixed = step(&mut store, findings, &observed, T2);
    let mut resolved: Vec<String> = fixed.resolved.iter().map(|f| f.id.clone()).collect();
    resolved.sort();
    let mut expected = bad_ids.clone();
    expected.sort();
    assert_eq!(resolved, expected);
    for record in &fixed.resolved {
        assert_eq!(record.status, Some(Status::Resolved));
        assert_eq!(record.first_seen.as_deref(), Some(T1));
        let resolution = record.resolution.as_ref().unwrap();
        assert_eq!(resolution.at, T2);
        assert!(
            resolution.reason.contains("PutUserPolicy (event fix-1)")
                && resolution.reason.contains(&record.rule_id),
            "{}",
            resolution.reason
        );
    }
    assert!(store
        .iter()
        .filter(|r| bad_ids.contains(&r.id))
        .all(|r| r.status == Status::Resolved && r.open_key().is_none()));

    let (findings, observed) = run(&engine, &[fix]);
    assert!(step(&mut store, findings, &observed, T3)
        .resolved
        .is_empty());
}

#[test]
fn a_delete_resolves_though_no_rule_watches_it() {
    let engine = test_engine();
    let mut store = Vec::new();
    let (findings, observed) = run(&engine, &[bad_write()]);
    step(&mut store, findings, &observed, T1);
    let delete = rewrite("DeleteUserPolicy", "del-1", "2024-05-06T09:00:00Z", None);
    let (findings, observed) = run(&engine, &[delete]);
    assert!(findings.is_empty());
    let plan = step(&mut store, findings, &observed, T2);
    assert!(!plan.resolved.is_empty());
    assert!(plan.resolved.iter().all(|f| f
        .resolution
        .as_ref()
        .unwrap()
        .reason
        .contains("deleted the policy")));
}

/// In a log file the decoder skims the records no rule watches ([`Pipeline::selector`]); a
/// tracking pipeline still reads the deletes that resolve findings whole.
#[test]
fn a_delete_in_a_log_file_among_skimmed_records_resolves_too() {
    let engine = test_engine();
    let mut store = Vec::new();
    let (findings, observed) = run(&engine, &[bad_write()]);
    step(&mut store, findings, &observed, T1);
    let delete = rewrite("DeleteUserPolicy", "del-1", "2024-05-06T09:00:00Z", None);
    let mut unwatched = delete["detail"].clone();
    unwatched["eventSource"] = Value::from("ec2.amazonaws.com");
    unwatched["eventName"] = Value::from("RunInstances");
    unwatched["eventID"] = Value::from("run-1");
    let file = serde_json::json!({ "Records": [unwatched, delete["detail"], unwatched] });
    let (findings, observed) = run(&engine, &[file]);
    assert!(findings.is_empty());
    let plan = step(&mut store, findings, &observed, T2);
    assert_eq!(plan.resolved.len(), 1, "{plan:?}");

    // Without finding state the same delete is skimmed like the others: nothing to resolve.
    let mut plain = Pipeline::new(&engine);
    let text = serde_json::to_vec(&serde_json::json!({ "Records": [delete["detail"]] })).unwrap();
    evaluate_reader(
        &mut plain,
        text.as_slice(),
        "test",
        &mut |_| unreachable!(),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!((plain.summary.events, plain.summary.ignored), (1, 1));
    assert!(!plain
        .selector()
        .reads_whole("iam.amazonaws.com", "DeleteUserPolicy"));
    assert!(Pipeline::new(&engine)
        .tracking()
        .selector()
        .reads_whole("iam.amazonaws.com", "DeleteUserPolicy"));
}

#[test]
fn what_does_not_fix_resolves_nothing() {
    let engine = test_engine();
    let cases = [
        // Still PassRole on `*`: the rule fires again.
        rewrite(
            "PutUserPolicy",
            "same",
            "2024-05-06T09:00:00Z",
            Some(STILL_BAD),
        ),
        // A fix written before the finding's event, delivered late.
        rewrite(
            "PutUserPolicy",
            "older",
            "2024-05-06T08:00:00Z",
            Some(SCOPED),
        ),
        // Another policy of the same user.
        {
            let mut other = rewrite(
                "PutUserPolicy",
                "other",
                "2024-05-06T09:00:00Z",
                Some(SCOPED),
            );
            other["detail"]["requestParameters"]["policyName"] = Value::from("another");
            other
        },
        // A refused call changed nothing.
        {
            let mut refused = rewrite(
                "PutUserPolicy",
                "denied",
                "2024-05-06T09:00:00Z",
                Some(SCOPED),
            );
            refused["detail"]["errorCode"] = Value::from("AccessDenied");
            refused
        },
    ];
    for case in cases {
        let mut store = Vec::new();
        let (findings, observed) = run(&engine, &[bad_write()]);
        step(&mut store, findings, &observed, T1);
        let (findings, observed) = run(&engine, std::slice::from_ref(&case));
        let plan = step(&mut store, findings, &observed, T2);
        assert!(
            plan.resolved.is_empty(),
            "{}: {:?}",
            case["detail"]["eventID"],
            plan.resolved
        );
    }
}

#[test]
fn a_fix_later_in_the_same_payload_resolves_its_finding() {
    let engine = test_engine();
    let mut store = Vec::new();
    let fix = rewrite(
        "PutUserPolicy",
        "fix-1",
        "2024-05-06T09:00:00Z",
        Some(SCOPED),
    );
    let (findings, observed) = run(&engine, &[bad_write(), fix]);
    let plan = step(&mut store, findings, &observed, T1);
    let new: Vec<&str> = plan
        .findings
        .iter()
        .filter(|f| f.rule_id == "PR001")
        .map(|f| f.id.as_str())
        .collect();
    assert_eq!(new.len(), 1);
    assert!(plan.resolved.iter().any(|f| f.id == new[0]));
    assert!(store
        .iter()
        .any(|r| r.id == new[0] && r.status == Status::Resolved));
}

fn state(name: &str) -> AccountState {
    let path = root().join("tests/fixtures/sweep").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn sweep(engine: &Engine, state: &AccountState) -> (Vec<Finding>, Observed) {
    let at: DateTime<Utc> = "2026-06-01T00:00:00Z".parse().unwrap();
    let evaluation = engine.sweep(state, at);
    let observed = Observed {
        sweeps: vec![SweepRun::new(state, &evaluation, None, engine.baseline())],
        ..Observed::default()
    };
    (evaluation.findings, observed)
}

#[test]
fn sweeps_open_then_resolve_what_they_read_in_full() {
    let engine = test_engine();
    let mut store = Vec::new();
    let orphaned = state("or001-fires-never-used-old.json");
    let (findings, observed) = sweep(&engine, &orphaned);
    let first = step(&mut store, findings, &observed, T1);
    assert_eq!(statuses(&first.findings), [("OR001", Status::New)]);
    assert_eq!(store[0].last_sweep.as_deref(), Some(T1));

    let (findings, observed) = sweep(&engine, &orphaned);
    let second = step(&mut store, findings, &observed, T2);
    assert_eq!(statuses(&second.findings), [("OR001", Status::Open)]);
    assert!(second.resolved.is_empty());

    // The orphan (a role trusting Amazon Connect) is deleted, but the sweep could not list
    // Connect instances: what that listing could hide stays open.
    let mut fixed = orphaned.clone();
    fixed
        .roles
        .retain(|r| r.name != "connect-contact-lens-export");
    let gap = |what: &str, profile: Option<&str>| Gap {
        what: what.into(),
        reason: "AccessDenied".into(),
        profile: profile.map(str::to_owned),
    };
    let mut connect_unread = fixed.clone();
    connect_unread
        .gaps
        .push(gap("connect-instances in us-east-1", Some("connect")));
    let (findings, observed) = sweep(&engine, &connect_unread);
    let partial = step(&mut store, findings, &observed, T2);
    assert_eq!(statuses(&partial.findings), [("RW002", Status::New)]);
    assert!(partial.resolved.is_empty(), "{:?}", partial.resolved);

    // A gap no one profile owns (the role listing) keeps everything open too.
    let mut roles_unread = fixed.clone();
    roles_unread.gaps.push(gap("iam:ListRoles", None));
    let (findings, observed) = sweep(&engine, &roles_unread);
    let unlisted = step(&mut store, findings, &observed, T2);
    assert!(unlisted.resolved.is_empty(), "{:?}", unlisted.resolved);

    // Lex bots unread, Connect read: the Connect orphan is resolved, and so is the earlier
    // gap, read this time; the Lex gap is the one left.
    let mut lex_unread = fixed.clone();
    lex_unread
        .gaps
        .push(gap("lex-v2-bots in us-east-1", Some("lex-v2")));
    let (findings, observed) = sweep(&engine, &lex_unread);
    let lex_only = step(&mut store, findings, &observed, T2);
    assert_eq!(statuses(&lex_only.findings), [("RW002", Status::New)]);
    let mut resolved = statuses(&lex_only.resolved);
    resolved.sort_by_key(|(rule, _)| *rule);
    assert_eq!(
        resolved,
        [
            ("OR001", Status::Resolved),
            ("RW002", Status::Resolved),
            ("RW002", Status::Resolved)
        ]
    );
    let or001 = lex_only
        .resolved
        .iter()
        .find(|f| f.rule_id == "OR001")
        .unwrap();
    assert_eq!(or001.first_seen.as_deref(), Some(T1));
    assert!(or001
        .resolution
        .as_ref()
        .unwrap()
        .reason
        .contains("complete sweep of account 111122223333"));

    // A complete sweep: the last gap is gone too.
    let (findings, observed) = sweep(&engine, &fixed);
    let clean = step(&mut store, findings, &observed, T3);
    assert!(clean.findings.is_empty());
    assert_eq!(statuses(&clean.resolved), [("RW002", Status::Resolved)]);
    assert!(store.iter().all(|r| r.status == Status::Resolved));

    // The orphan comes back: a problem to look at again.
    let (findings, observed) = sweep(&engine, &orphaned);
    let back = step(&mut store, findings, &observed, T3);
    assert_eq!(statuses(&back.findings), [("OR001", Status::New)]);
}

#[test]
fn a_profile_recheck_resolves_nothing() {
    let engine = test_engine();
    let mut store = Vec::new();
    let orphaned = state("or001-fires-never-used-old.json");
    let (findings, observed) = sweep(&engine, &orphaned);
    step(&mut store, findings, &observed, T1);
    let mut recheck = orphaned.clone();
    recheck.roles.clear();
    recheck.scope = rolewarden_core::state::Scope::Profiles(["lexv2".to_owned()].into());
    let (findings, observed) = sweep(&engine, &recheck);
    assert!(step(&mut store, findings, &observed, T2)
        .resolved
        .is_empty());
}
