//! ARNs rolewarden builds from an event (a role, policy, user or group named without its ARN;
//! a bot from the baseline's resource templates) take the partition of the event's region.

use rolewarden_core::account::Snapshot;
use rolewarden_core::pipeline::{evaluate_reader, Output, Pipeline};
use rolewarden_core::Finding;
use serde_json::Value;

use crate::common::{root, test_engine};

/// The findings of a sample moved to `region`, after `edit` (which removes what would carry
/// the ARN ready-made).
fn findings_in(sample: &str, region: &str, edit: impl Fn(&mut Value)) -> Vec<Finding> {
    let text = std::fs::read_to_string(root().join("events").join(sample)).unwrap();
    let mut event: Value = serde_json::from_str(&text).unwrap();
    if event.get("detail").is_some() {
        event["region"] = region.into();
        event = event["detail"].take();
    }
    event["awsRegion"] = region.into();
    edit(&mut event);
    let engine = test_engine();
    let mut findings = Vec::new();
    evaluate_reader(
        &mut Pipeline::new(&engine),
        event.to_string().as_bytes(),
        sample,
        &mut |_| Snapshot::default(),
        &mut |out| {
            if let Output::Finding(f) = out {
                findings.push(*f);
            }
        },
    )
    .unwrap();
    findings
}

fn resource_of(findings: &[Finding], rule: &str) -> String {
    let finding = findings.iter().find(|f| f.rule_id == rule).unwrap();
    finding.resource.clone().unwrap()
}

#[test]
fn built_arns_take_the_partition_of_the_region() {
    for (region, partition) in [
        ("cn-north-1", "aws-cn"),
        ("us-gov-west-1", "aws-us-gov"),
        ("us-east-1", "aws"),
    ] {
        let iam = format!("arn:{partition}:iam::111122223333:");
        // A role named by `roleName` only.
        let findings = findings_in("sl003-fires-tag-lexv2-slr.json", region, |_| {});
        assert_eq!(
            resource_of(&findings, "SL003"),
            format!("{iam}role/AWSServiceRoleForLexV2Bots_ABC123XYZ")
        );
        // A group named by `groupName`.
        let findings = findings_in(
            "pr004-fires-attach-group-iamfullaccess.json",
            region,
            |_| {},
        );
        assert_eq!(
            resource_of(&findings, "PR004"),
            format!("{iam}group/helpdesk")
        );
        // A new policy, when the response does not carry its ARN.
        let findings = findings_in("pr001-fires-iam-wildcard-action.json", region, |e| {
            e["responseElements"] = Value::Null;
        });
        assert_eq!(
            resource_of(&findings, "PR001"),
            format!("{iam}policy/iam-admin-helpdesk")
        );
        // A bot, from the baseline's resource template.
        let findings = findings_in(
            "pr005-fires-lexv2-createbot-unapproved-role.json",
            region,
            |_| {},
        );
        let pr005 = findings.iter().find(|f| f.rule_id == "PR005").unwrap();
        assert_eq!(
            pr005.evidence["associated_resource"],
            format!("arn:{partition}:lex:{region}:111122223333:bot/TFJM3ZCZ7E")
        );
    }
}
