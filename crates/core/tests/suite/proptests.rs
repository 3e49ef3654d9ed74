//! Properties: the wildcard matcher agrees with a naive reference, and the policy decoder never
//! panics and gives the same answer for every encoding of the same document.

use proptest::prelude::*;
use rolewarden_core::policy::wildcard::matches;
use rolewarden_core::policy::{pass_role_grants, PolicyDocument};
use serde_json::{json, Value};

/// Exponential but obviously right.
fn reference(p: &[char], t: &[char]) -> bool {
    match (p.first(), t.first()) {
        (None, None) => true,
        (None, Some(_)) => false,
        (Some('*'), _) => reference(&p[1..], t) || (!t.is_empty() && reference(p, &t[1..])),
        (Some(_), None) => false,
        (Some('?'), Some(_)) => reference(&p[1..], &t[1..]),
        (Some(a), Some(b)) => a == b && reference(&p[1..], &t[1..]),
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[a-zA-Z:*/ %{}\"]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("Statement"),
            Just("Effect"),
            Just("Allow"),
            Just("Deny"),
            Just("Action"),
            Just("NotAction"),
            Just("Resource"),
            Just("NotResource"),
            Just("Principal"),
            Just("Condition"),
            Just("iam:PassRole"),
            Just("*"),
            Just("StringEquals"),
            Just("iam:PassedToService"),
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("Statement".to_string()),
                        Just("Effect".to_string()),
                        Just("Action".to_string()),
                        Just("NotAction".to_string()),
                        Just("Resource".to_string()),
                        Just("NotResource".to_string()),
                        Just("Principal".to_string()),
                        Just("Condition".to_string()),
                        Just("Sid".to_string()),
                        "[a-z]{1,5}",
                    ],
                    inner
                ),
                0..5
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn statement() -> impl Strategy<Value = Value> {
    let actions = prop::collection::vec(
        prop_oneof![
            Just("iam:PassRole"),
            Just("iam:Pass*"),
            Just("iam:*"),
            Just("*"),
            Just("s3:GetObject"),
            Just("lex:*")
        ],
        1..3,
    );
    let resources = prop::collection::vec(
        prop_oneof![
            Just("*"),
            Just("arn:aws:iam::111122223333:role/*"),
            Just("arn:aws:iam::111122223333:role/app"),
            Just("arn:aws:s3:::b/*")
        ],
        1..3,
    );
    (
        any::<bool>(),
        any::<bool>(),
        actions,
        resources,
        any::<bool>(),
    )
        .prop_map(|(allow, not_action, a, r, cond)| {
            let mut s = json!({"Effect": if allow {"Allow"} else {"Deny"}, "Resource": r});
            s[if not_action { "NotAction" } else { "Action" }] = json!(a);
            if cond {
                s["Condition"] =
                    json!({"StringEquals": {"iam:PassedToService": "lexv2.amazonaws.com"}});
            }
            s
        })
}

proptest! {
    #[test]
    fn wildcard_agrees_with_reference(p in "[ab*?]{0,8}", t in "[ab]{0,10}") {
        let pc: Vec<char> = p.chars().collect();
        let tc: Vec<char> = t.chars().collect();
        prop_assert_eq!(matches(&p, &t, false), reference(&pc, &tc));
    }

    #[test]
    fn wildcard_case_insensitivity(p in "[aB*?]{0,8}", t in "[Ab]{0,10}") {
        prop_assert_eq!(matches(&p, &t, true), matches(&p.to_lowercase(), &t.to_lowercase(), false));
    }

    #[test]
    fn decoder_never_panics(v in json_value()) {
        if let Ok(doc) = PolicyDocument::from_value(&v) {
            let _ = pass_role_grants(&doc);
            let _ = rolewarden_core::policy::trusted_principals(&doc);
        }
        let text = v.to_string();
        let _ = PolicyDocument::decode_str(&text);
        let encoded = percent_encoding::utf8_percent_encode(&text, percent_encoding::NON_ALPHANUMERIC).to_string();
        let _ = PolicyDocument::decode_str(&encoded);
    }

    #[test]
    fn every_encoding_decodes_alike(statements in prop::collection::vec(statement(), 1..4), single in any::<bool>()) {
        let doc = if single && statements.len() == 1 {
            json!({"Version": "2012-10-17", "Statement": statements[0].clone()})
        } else {
            json!({"Version": "2012-10-17", "Statement": statements})
        };
        let compact = doc.to_string();
        let pretty = serde_json::to_string_pretty(&doc).unwrap();
        let encoded = percent_encoding::utf8_percent_encode(&compact, percent_encoding::NON_ALPHANUMERIC).to_string();
        let from_object = PolicyDocument::from_value(&doc).unwrap();
        for text in [compact, pretty, encoded] {
            let decoded = PolicyDocument::decode_str(&text).unwrap();
            prop_assert_eq!(&decoded, &from_object);
            prop_assert_eq!(pass_role_grants(&decoded), pass_role_grants(&from_object));
        }
    }
}
