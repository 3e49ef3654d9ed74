//! Every IAM write on a service-linked role is seen: the EventBridge patterns are built from the
//! events the catalogue watches, and a write naming a role that no SL rule consumes would reach
//! nothing. These tests walk that list and send each role write, with only the parameters IAM
//! requires, at a profiled service-linked role, succeeded and refused.

use rolewarden_core::baseline::DEFAULT_TOML;
use rolewarden_core::pipeline::{evaluate_reader, Output, Pipeline};
use rolewarden_core::rules::{self, Trigger};
use rolewarden_core::{Baseline, Engine, Finding};
use serde_json::{json, Value};

const IAM: &str = "iam.amazonaws.com";

/// IAM's write actions that name a role (IAM API reference, "Actions": every one with a
/// `RoleName` parameter, and the two service-linked role calls), each with the request
/// parameters IAM requires besides `RoleName`.
fn role_writes() -> Vec<(&'static str, Value)> {
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lexv2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    vec![
        (
            "AddRoleToInstanceProfile",
            json!({"instanceProfileName": "web"}),
        ),
        (
            "AttachRolePolicy",
            json!({"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
        ),
        (
            "CreateRole",
            json!({"assumeRolePolicyDocument": trust, "path": "/aws-service-role/lexv2.amazonaws.com/"}),
        ),
        ("CreateServiceLinkedRole", json!({})),
        ("DeleteRole", json!({})),
        ("DeleteRolePermissionsBoundary", json!({})),
        ("DeleteRolePolicy", json!({"policyName": "extra"})),
        ("DeleteServiceLinkedRole", json!({})),
        (
            "DetachRolePolicy",
            json!({"policyArn": "arn:aws:iam::aws:policy/aws-service-role/AmazonLexV2BotPolicy"}),
        ),
        (
            "PutRolePermissionsBoundary",
            json!({"permissionsBoundary": "arn:aws:iam::aws:policy/PowerUserAccess"}),
        ),
        (
            "PutRolePolicy",
            json!({"policyName": "extra", "policyDocument": policy}),
        ),
        (
            "RemoveRoleFromInstanceProfile",
            json!({"instanceProfileName": "web"}),
        ),
        (
            "TagRole",
            json!({"tags": [{"key": "team", "value": "ops"}]}),
        ),
        ("UntagRole", json!({"tagKeys": ["team"]})),
        ("UpdateAssumeRolePolicy", json!({"policyDocument": trust})),
        ("UpdateRole", json!({})),
        ("UpdateRoleDescription", json!({"description": "changed"})),
    ]
}

fn default_engine() -> Engine {
    let baseline =
        Baseline::parse(DEFAULT_TOML, "embedded default", crate::common::today()).unwrap();
    Engine::new(baseline).with_today(crate::common::today())
}

/// One CloudTrail record of `name` on role `role` (or, for `CreateServiceLinkedRole`, for the
/// service `service`), refused with `error` when given.
fn record(name: &str, params: &Value, role: &str, service: &str, error: Option<&str>) -> Value {
    let mut params = params.clone();
    if name == "CreateServiceLinkedRole" {
        params["aWSServiceName"] = json!(service);
    } else {
        params["roleName"] = json!(role);
    }
    let mut record = json!({
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "AssumedRole",
            "arn": "arn:aws:sts::111122223333:assumed-role/Admin/jdoe",
            "accountId": "111122223333",
            "sessionContext": {"sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::111122223333:role/Admin"}}
        },
        "eventTime": "2024-05-07T09:20:04Z",
        "eventSource": IAM,
        "eventName": name,
        "awsRegion": "us-east-1",
        "requestParameters": params,
        "responseElements": null,
        "eventID": format!("{name}-{role}-{}", error.unwrap_or("ok")),
        "recipientAccountId": "111122223333"
    });
    if let Some(code) = error {
        record["errorCode"] = json!(code);
        record["errorMessage"] = json!("Cannot perform the operation on the protected role");
    }
    record
}

fn findings(engine: &Engine, record: &Value) -> Vec<Finding> {
    let bytes = serde_json::to_vec(record).unwrap();
    let mut out = Vec::new();
    evaluate_reader(
        &mut Pipeline::new(engine),
        bytes.as_slice(),
        "synthetic",
        &mut |_| unreachable!("no enrichment"),
        &mut |o| {
            if let Output::Finding(f) = o {
                out.push(*f);
            }
        },
    )
    .unwrap();
    out
}

fn sl_rules_listing(name: &str) -> Vec<&'static str> {
    rules::ALL
        .iter()
        .map(|r| r.meta())
        .filter(|m| m.id.starts_with("SL") && m.trigger == Trigger::Listed)
        .filter(|m| m.events.iter().any(|(s, n)| *s == IAM && *n == name))
        .map(|m| m.id)
        .collect()
}

#[test]
fn every_watched_iam_write_naming_a_role_has_an_sl_rule() {
    let engine = default_engine();
    let known: Vec<&str> = role_writes().iter().map(|(n, _)| *n).collect();
    let mut problems = Vec::new();
    let watched: Vec<String> = engine
        .watched_events()
        .into_iter()
        .filter(|(source, _)| source == IAM)
        .map(|(_, name)| name)
        .collect();
    for name in &watched {
        // A watched IAM event about roles that this list does not know is a gap in the test.
        if name.contains("Role") && !known.contains(&name.as_str()) {
            problems.push(format!(
                "`{name}` is watched and names a role, but is not in role_writes(): add it"
            ));
        }
    }
    for name in &known {
        if !watched.iter().any(|w| w == name) {
            problems.push(format!(
                "`{name}` writes a role but is not in the EventBridge patterns"
            ));
        }
        if sl_rules_listing(name).is_empty() {
            problems.push(format!("`{name}` writes a role but no SL rule lists it"));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn every_role_write_on_a_profiled_slr_gets_an_sl_finding_succeeded_or_refused() {
    let engine = default_engine();
    let targets = [
        ("AWSServiceRoleForLexBots", "lex.amazonaws.com"),
        ("AWSServiceRoleForLexV2Bots_TEST", "lexv2.amazonaws.com"),
        (
            "AWSServiceRoleForLexV2Channels_TEST",
            "channels.lexv2.amazonaws.com",
        ),
        (
            "AWSServiceRoleForAmazonConnect_TEST",
            "connect.amazonaws.com",
        ),
    ];
    let mut missing = Vec::new();
    for (name, params) in role_writes() {
        for (role, service) in targets {
            for error in [None, Some("UnmodifiableEntity"), Some("AccessDenied")] {
                let found = findings(&engine, &record(name, &params, role, service, error));
                let sl: Vec<&str> = found
                    .iter()
                    .map(|f| f.rule_id.as_str())
                    .filter(|id| id.starts_with("SL"))
                    .collect();
                if sl.is_empty() {
                    missing.push(format!(
                        "{name} on `{role}` ({}): no SL finding, got {:?}",
                        error.unwrap_or("succeeded"),
                        found.iter().map(|f| &f.rule_id).collect::<Vec<_>>()
                    ));
                }
            }
        }
    }
    assert!(missing.is_empty(), "\n{}", missing.join("\n"));
}

#[test]
fn the_same_writes_on_an_ordinary_role_give_no_sl_finding() {
    let engine = default_engine();
    for (name, params) in role_writes() {
        for error in [None, Some("AccessDenied")] {
            let found = findings(
                &engine,
                &record(
                    name,
                    &params,
                    "app-role",
                    "elasticloadbalancing.amazonaws.com",
                    error,
                ),
            );
            let sl: Vec<&String> = found
                .iter()
                .map(|f| &f.rule_id)
                .filter(|id| id.starts_with("SL"))
                .collect();
            assert!(sl.is_empty(), "{name}: {sl:?}");
        }
    }
}
