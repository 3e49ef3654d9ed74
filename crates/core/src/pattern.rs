//! EventBridge event patterns, generated from what the enabled rules consume, so the list of
//! event names lives in one place: the rule catalogue and the baseline's profiles. The SAM
//! templates embed the output of `rolewarden event-pattern`, and a test fails when they drift.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::engine::Engine;
use crate::lifecycle::RESOLVING_UNWATCHED;

/// The `detail-type` EventBridge gives CloudTrail management events.
pub const CLOUDTRAIL_DETAIL_TYPE: &str = "AWS API Call via CloudTrail";

/// The EventBridge `source` of a CloudTrail `eventSource`: `iam.amazonaws.com` is `aws.iam`.
pub fn eventbridge_source(event_source: &str) -> String {
    let service = event_source
        .strip_suffix(".amazonaws.com")
        .unwrap_or(event_source);
    format!("aws.{service}")
}

/// One pattern per EventBridge source, keyed by that source (`aws.connect`, `aws.iam`,
/// `aws.lex`), event names sorted. Failed calls match too: nothing filters on `errorCode`,
/// because a refused attempt is evidence.
pub fn event_patterns(engine: &Engine) -> BTreeMap<String, Value> {
    let mut by_source: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    // Policy deletes resolve policy findings when finding state is kept (the lifecycle): they
    // reach the function too, and without state it counts them ignored.
    let resolving = RESOLVING_UNWATCHED
        .iter()
        .map(|(source, name)| ((*source).to_owned(), (*name).to_owned()));
    let mut events = engine.watched_events();
    events.extend(resolving);
    for (event_source, name) in events {
        by_source
            .entry(eventbridge_source(&event_source))
            .or_insert_with(|| (event_source.clone(), Vec::new()))
            .1
            .push(name);
    }
    by_source
        .into_iter()
        .map(|(source, (event_source, names))| {
            let pattern = json!({
                "source": [source],
                "detail-type": [CLOUDTRAIL_DETAIL_TYPE],
                "detail": {
                    "eventSource": [event_source],
                    "eventName": names,
                }
            });
            (source, pattern)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Baseline;

    #[test]
    fn sources_follow_the_cloudtrail_event_source() {
        assert_eq!(eventbridge_source("iam.amazonaws.com"), "aws.iam");
        assert_eq!(eventbridge_source("lex.amazonaws.com"), "aws.lex");
        assert_eq!(eventbridge_source("odd"), "aws.odd");
    }

    #[test]
    fn patterns_cover_every_watched_event_and_no_error_filter() {
        let engine = Engine::new(Baseline::embedded().unwrap());
        let patterns = event_patterns(&engine);
        // Connect and the Lex deletes: the sweep rules re-check a profile after its delete events.
        assert_eq!(
            patterns.keys().map(String::as_str).collect::<Vec<_>>(),
            ["aws.connect", "aws.iam", "aws.lex"]
        );
        let iam = &patterns["aws.iam"];
        let names = iam["detail"]["eventName"].as_array().unwrap();
        assert!(names.iter().any(|n| n == "PutRolePolicy"));
        assert!(names.iter().any(|n| n == "DeleteServiceLinkedRole"));
        // No rule watches them; they resolve policy findings (the lifecycle).
        for deletion in ["DeleteUserPolicy", "DeleteGroupPolicy", "DeletePolicy"] {
            assert!(names.iter().any(|n| n == deletion), "{deletion}");
        }
        let lex = &patterns["aws.lex"]["detail"]["eventName"];
        assert_eq!(
            lex,
            &json!([
                "CreateBot",
                "CreateResourcePolicy",
                "CreateResourcePolicyStatement",
                "DeleteBot",
                "DeleteBotAlias",
                "DeleteResourcePolicy",
                "DeleteResourcePolicyStatement",
                "PutBotAlias",
                "UpdateBot",
                "UpdateResourcePolicy"
            ])
        );
        let connect = &patterns["aws.connect"]["detail"]["eventName"];
        assert_eq!(connect, &json!(["DeleteInstance"]));
        assert!(iam["detail"].get("errorCode").is_none());
        let total: usize = patterns
            .values()
            .map(|p| p["detail"]["eventName"].as_array().unwrap().len())
            .sum();
        // Every watched event, and the three deletes no rule watches (DeleteRolePolicy is).
        assert_eq!(total, engine.watched_events().len() + 3);
    }
}
