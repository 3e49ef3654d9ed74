//! Every real CloudTrail sample in `../shared/corpus/` decodes without a panic; the malformed
//! ones are reported as unreadable with their line, never silently dropped.

use std::path::PathBuf;

use rolewarden_core::account::NoAccountView;
use rolewarden_core::decode::{read_items, Event, Item};
use rolewarden_core::pipeline::{evaluate_reader, Output, Pipeline};

fn corpus(kind: &str) -> Vec<PathBuf> {
    let dir = crate::common::corpus_dir().join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "the shared corpus must sit beside the repo at {}: {e}",
                dir.display()
            )
        })
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} is empty", dir.display());
    files
}

fn items(path: &PathBuf) -> Vec<Item> {
    let mut out = Vec::new();
    read_items(std::fs::File::open(path).unwrap(), &mut |i| out.push(i)).unwrap();
    out
}

#[test]
fn records_and_envelopes_decode_to_events() {
    let engine = crate::common::test_engine();
    for path in corpus("records").into_iter().chain(corpus("envelopes")) {
        let items = items(&path);
        assert_eq!(items.len(), 1, "{}", path.display());
        match items.into_iter().next().unwrap() {
            Item::Record {
                record, envelope, ..
            } => {
                let event = Event::new(*record, envelope);
                assert!(!event.name().is_empty(), "{}", path.display());
                assert!(!event.source().is_empty(), "{}", path.display());
                // Evaluating must not panic either, watched or not.
                let _ = engine.evaluate(&event, &NoAccountView);
            }
            other => panic!("{}: {other:?}", path.display()),
        }
    }
}

#[test]
fn quirks_are_read() {
    let dir = crate::common::corpus_dir().join("records");
    let read = |name: &str| match items(&dir.join(name)).pop().unwrap() {
        Item::Record {
            record, envelope, ..
        } => Event::new(*record, envelope),
        other => panic!("{name}: {other:?}"),
    };
    // Console session: `"sessionIssuer": {}` gives no issuer, the user ARN is the actor.
    let e = read("lex-CreateBot-awsspotlight-1.json");
    assert_eq!(e.identity.issuer_arn, None);
    assert_eq!(
        e.identity.actor(),
        Some("arn:aws:iam::999999999999:user/test001@test.com")
    );
    // Lex V2 epoch-float dates stay readable.
    assert_eq!(
        e.response_text("creationDateTime").as_deref(),
        Some("1625211991.692")
    );
    // Connect: PascalCase with a URL-encoded ARN.
    let e = read("connect-DeleteInstance-awsspotlight-1.json");
    assert_eq!(
        e.param_text("InstanceId").as_deref(),
        Some("arn:aws:connect:ap-northeast-1:999999999999:instance/14c561e5-5dbf-4048-8c16-779db493a66a")
    );
    // `requestParameters: null` with an error code and message.
    let e = read("iam-CreateServiceLinkedRole-panther-1.json");
    assert!(e.params.is_null());
    assert_eq!(e.error_code(), Some("AccessDenied"));
    // Assumed role: the issuer role is the actor, not the session ARN.
    let e = read("iam-AttachRolePolicy-panther-1.json");
    assert_eq!(
        e.identity.actor(),
        Some("arn:aws:iam::123456789012:role/example-role")
    );
    // Invented region names pass through.
    let e = read("iam-UpdateAssumeRolePolicy-stratus-1.json");
    assert_eq!(e.region(), Some("ca-isob-northsouth-1r"));
}

#[test]
fn malformed_samples_are_reported_with_their_line() {
    let engine = crate::common::test_engine();
    for path in corpus("malformed") {
        let mut unreadable = Vec::new();
        let mut rw000 = 0;
        let origin = path.file_name().unwrap().to_string_lossy().into_owned();
        evaluate_reader(
            &mut Pipeline::new(&engine),
            std::fs::File::open(&path).unwrap(),
            &origin,
            &mut |_| unreachable!("no enrichment"),
            &mut |o| match o {
                Output::Unreadable {
                    origin,
                    position,
                    reason,
                } => unreadable.push((origin, position, reason)),
                Output::Finding(f) => {
                    assert_eq!(f.rule_id, "RW000");
                    assert_eq!(f.resource.as_deref(), Some(origin.as_str()));
                    rw000 += 1;
                }
            },
        )
        .unwrap();
        assert!(!unreadable.is_empty(), "{origin} was not reported");
        assert_eq!(
            rw000,
            unreadable.len(),
            "{origin}: every unreadable input is also a finding"
        );
        assert!(
            unreadable
                .iter()
                .all(|(o, p, _)| *o == origin && p.line > 1),
            "{origin}: {unreadable:?}"
        );
    }
}
