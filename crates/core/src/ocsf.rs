//! A finding as an OCSF Detection Finding (class 2004, schema 1.5.0, the version
//! `py-ocsf-models` 0.10.0 implements and the tests validate against). Pure: the mapping is
//! documented field by field in the README, and nothing of the finding is dropped: what OCSF has
//! no attribute for goes to `unmapped`.

use std::collections::BTreeMap;

use chrono::DateTime;
use serde::Serialize;
use serde_json::Value;

use crate::arn;
use crate::finding::{Finding, Resolution, Severity, Status};

/// The OCSF schema version the findings follow.
pub const OCSF_VERSION: &str = "1.5.0";
const CLASS_UID: u32 = 2004;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DetectionFinding<'a> {
    pub activity_id: u8,
    pub activity_name: &'static str,
    pub category_uid: u8,
    pub category_name: &'static str,
    pub class_uid: u32,
    pub class_name: &'static str,
    pub type_uid: u32,
    pub type_name: String,
    pub severity_id: u8,
    pub severity: &'static str,
    pub status_id: u8,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_detail: Option<&'a str>,
    /// Epoch milliseconds: the event's time, else the time of writing.
    pub time: i64,
    pub message: &'a str,
    pub metadata: Metadata<'a>,
    pub finding_info: FindingInfo<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloud: Option<Cloud<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Resource<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api: Option<Api<'a>>,
    pub remediation: Remediation<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidences: Vec<Evidence<'a>>,
    #[serde(skip_serializing_if = "Unmapped::is_empty")]
    pub unmapped: Unmapped<'a>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metadata<'a> {
    /// The OCSF schema version.
    pub version: &'static str,
    pub product: Product,
    /// The CloudTrail event's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<&'a str>,
    /// The event's time as the event wrote it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_time: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Product {
    pub name: &'static str,
    pub vendor_name: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingInfo<'a> {
    pub uid: &'a str,
    pub title: &'a str,
    pub desc: &'a str,
    pub types: Vec<&'a str>,
    pub analytic: Analytic<'a>,
    pub created_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_seen_time: Option<i64>,
    pub last_seen_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modified_time: Option<i64>,
}

/// The rule: OCSF 1.5's `finding_info.analytic` of type Rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analytic<'a> {
    pub uid: &'a str,
    pub name: &'a str,
    pub type_id: u8,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cloud<'a> {
    pub provider: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<Account<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Account<'a> {
    pub uid: &'a str,
    /// OCSF requires a name; an account id is the only name a finding knows.
    pub name: &'a str,
    pub type_id: u8,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resource<'a> {
    pub uid: &'a str,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloud_partition: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Api<'a> {
    pub operation: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<Service<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<Response<'a>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Service<'a> {
    pub name: &'a str,
    /// py-ocsf-models requires `uid` and `version`: the event source is the service's id, and
    /// CloudTrail names no service version.
    pub uid: &'a str,
    pub version: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Response<'a> {
    pub error: &'a str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Remediation<'a> {
    pub desc: &'a str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence<'a> {
    pub name: &'static str,
    pub data: &'a BTreeMap<String, Value>,
}

/// What OCSF 1.5's Detection Finding has no attribute for.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Unmapped<'a> {
    /// In the shape of OCSF's `actor` object, which Detection Finding does not carry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<Actor<'a>>,
    /// The event's source and error code when it names no operation (no `api` to hold them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_source: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enrichment: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<&'a Resolution>,
}

impl Unmapped<'_> {
    fn is_empty(&self) -> bool {
        *self == Unmapped::default()
    }
}

/// A role ARN is the session issuer of an assumed-role caller; any other ARN is the caller.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Actor<'a> {
    Session { issuer: &'a str },
    User { uid: &'a str },
}

impl<'a> DetectionFinding<'a> {
    /// The finding in OCSF. `observed_ms` (the time of writing) stands in for the event's time
    /// when the finding has none (unreadable input) or it is not RFC 3339.
    pub fn new(f: &'a Finding, observed_ms: i64) -> Self {
        let event_ms = f.event.time.as_deref().and_then(epoch_ms);
        let time = event_ms.unwrap_or(observed_ms);
        let (activity_id, activity_name) = activity(f.status);
        let (status_id, status) = status(f.status);
        let (severity_id, severity) = severity(f.severity);
        let first_seen_time = f.first_seen.as_deref().and_then(epoch_ms);
        let modified_time = f.resolution.as_ref().and_then(|r| epoch_ms(&r.at));
        let partition = f.resource.as_deref().and_then(arn_partition);
        let api = f.event.name.as_deref().map(|operation| Api {
            operation,
            service: f.event.source.as_deref().map(|source| Service {
                name: source,
                uid: source,
                version: "",
            }),
            response: f
                .event
                .error_code
                .as_deref()
                .map(|error| Response { error }),
        });
        let orphan_event = api.is_none();
        DetectionFinding {
            activity_id,
            activity_name,
            category_uid: 2,
            category_name: "Findings",
            class_uid: CLASS_UID,
            class_name: "Detection Finding",
            type_uid: CLASS_UID * 100 + u32::from(activity_id),
            type_name: format!("Detection Finding: {activity_name}"),
            severity_id,
            severity,
            status_id,
            status,
            status_detail: f.resolution.as_ref().map(|r| r.reason.as_str()),
            time,
            message: &f.message,
            metadata: Metadata {
                version: OCSF_VERSION,
                product: Product {
                    name: "rolewarden",
                    vendor_name: "rolewarden",
                    version: env!("CARGO_PKG_VERSION"),
                },
                uid: f.event.id.as_deref(),
                original_time: f.event.time.as_deref(),
            },
            finding_info: FindingInfo {
                uid: &f.id,
                title: &f.rule_name,
                desc: &f.message,
                types: vec![f.rule_id.as_str()],
                analytic: Analytic {
                    uid: &f.rule_id,
                    name: &f.rule_name,
                    type_id: 1,
                    kind: "Rule",
                },
                created_time: first_seen_time.unwrap_or(time),
                first_seen_time,
                last_seen_time: time,
                modified_time,
            },
            cloud: (f.account.is_some() || f.region.is_some()).then(|| Cloud {
                provider: "AWS",
                account: f.account.as_deref().map(|uid| Account {
                    uid,
                    name: uid,
                    type_id: 10,
                    kind: "AWS Account",
                }),
                region: f.region.as_deref(),
            }),
            resources: f
                .resource
                .as_deref()
                .map(|uid| Resource {
                    uid,
                    kind: resource_type(uid),
                    cloud_partition: partition,
                    region: arn_region(uid),
                })
                .into_iter()
                .collect(),
            api,
            remediation: Remediation {
                desc: &f.remediation,
            },
            evidences: if f.evidence.is_empty() {
                Vec::new()
            } else {
                vec![Evidence {
                    name: "rolewarden evidence",
                    data: &f.evidence,
                }]
            },
            unmapped: Unmapped {
                actor: f.actor.as_deref().map(actor),
                event_source: f.event.source.as_deref().filter(|_| orphan_event),
                error_code: f.event.error_code.as_deref().filter(|_| orphan_event),
                enrichment: f.enrichment.as_deref(),
                truncated: f.truncated,
                resolution: f.resolution.as_ref(),
            },
        }
    }
}

/// New (or no state kept) is a created finding; open is still present, an update; resolved
/// closes it.
fn activity(status: Option<Status>) -> (u8, &'static str) {
    match status {
        None | Some(Status::New) => (1, "Create"),
        Some(Status::Open) => (2, "Update"),
        Some(Status::Resolved) => (3, "Close"),
    }
}

/// OCSF's finding status: `open` ("still present") is closest to In Progress.
fn status(status: Option<Status>) -> (u8, &'static str) {
    match status {
        None | Some(Status::New) => (1, "New"),
        Some(Status::Open) => (2, "In Progress"),
        Some(Status::Resolved) => (4, "Resolved"),
    }
}

fn severity(severity: Severity) -> (u8, &'static str) {
    match severity {
        Severity::Info => (1, "Informational"),
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
        Severity::Critical => (5, "Critical"),
    }
}

fn epoch_ms(rfc3339: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(rfc3339)
        .ok()
        .map(|t| t.timestamp_millis())
}

fn actor(arn: &str) -> Actor<'_> {
    if arn_resource(arn).is_some_and(|r| r.starts_with("role/")) {
        Actor::Session { issuer: arn }
    } else {
        Actor::User { uid: arn }
    }
}

fn arn_partition(arn: &str) -> Option<&str> {
    arn::field(arn, 1)
}

/// None for global resources (IAM).
fn arn_region(arn: &str) -> Option<&str> {
    arn::field(arn, 3)
}

fn arn_resource(arn: &str) -> Option<&str> {
    arn::field(arn, 5)
}

/// The CloudFormation-style type of an ARN rolewarden reports on; none for anything else (the
/// file of an unreadable input).
fn resource_type(arn: &str) -> Option<&'static str> {
    Some(match arn::service_and_kind(arn)? {
        ("iam", "role") => "AWS::IAM::Role",
        ("iam", "policy") => "AWS::IAM::Policy",
        ("iam", "user") => "AWS::IAM::User",
        ("iam", "group") => "AWS::IAM::Group",
        ("lex", "bot") => "AWS::Lex::Bot",
        ("lex", "bot-alias") => "AWS::Lex::BotAlias",
        ("connect", "instance") => "AWS::Connect::Instance",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::EventRef;

    fn finding() -> Finding {
        let mut f = Finding {
            id: "d50be796d2fd9629f4bf7dfb1105f408".into(),
            rule_id: "PR005".into(),
            rule_name: "UnapprovedRolePassed".into(),
            severity: Severity::High,
            message: "PutBotAlias passed role `lex-logs-legacy`".into(),
            account: Some("111122223333".into()),
            region: Some("us-east-1".into()),
            resource: Some("arn:aws:iam::111122223333:role/lex-logs-legacy".into()),
            actor: Some("arn:aws:iam::111122223333:user/maria.garcia".into()),
            event: EventRef {
                id: Some("bbd96a3a-71ae-451f-9b5f-e326e8eea7e7".into()),
                name: Some("PutBotAlias".into()),
                source: Some("lex.amazonaws.com".into()),
                time: Some("2024-05-06T18:31:52Z".into()),
                error_code: Some("AccessDenied".into()),
            },
            evidence: BTreeMap::new(),
            remediation: "Point the bot at an approved role".into(),
            enrichment: Some("unavailable (enrichment off)".into()),
            truncated: false,
            status: None,
            first_seen: None,
            resolution: None,
        };
        f.evidence
            .insert("parameter".into(), "conversationLogs.iamRoleArn".into());
        f
    }

    fn json(f: &Finding) -> Value {
        serde_json::to_value(DetectionFinding::new(f, 0)).unwrap()
    }

    #[test]
    fn the_class_severity_and_time_follow_the_finding() {
        let v = json(&finding());
        assert_eq!(v["class_uid"], 2004);
        assert_eq!(v["category_uid"], 2);
        assert_eq!(v["type_uid"], 200401);
        assert_eq!(v["severity_id"], 4);
        assert_eq!(v["status_id"], 1);
        assert_eq!(v["time"], 1_715_020_312_000_i64);
        assert_eq!(v["metadata"]["version"], "1.5.0");
        assert_eq!(v["finding_info"]["analytic"]["uid"], "PR005");
        assert_eq!(v["api"]["response"]["error"], "AccessDenied");
        assert_eq!(v["resources"][0]["type"], "AWS::IAM::Role");
        assert_eq!(v["resources"][0]["cloud_partition"], "aws");
        assert!(v["resources"][0].get("region").is_none(), "IAM is global");
        assert_eq!(
            v["unmapped"]["actor"]["user"]["uid"],
            "arn:aws:iam::111122223333:user/maria.garcia"
        );
        assert_eq!(
            v["evidences"][0]["data"]["parameter"],
            "conversationLogs.iamRoleArn"
        );
    }

    #[test]
    fn the_lifecycle_maps_to_activity_and_status() {
        let mut f = finding();
        f.status = Some(Status::Open);
        f.first_seen = Some("2024-05-01T00:00:00Z".into());
        let v = json(&f);
        assert_eq!(
            (v["activity_id"].clone(), v["status_id"].clone()),
            (2.into(), 2.into())
        );
        assert_eq!(v["type_uid"], 200402);
        assert_eq!(v["finding_info"]["first_seen_time"], 1_714_521_600_000_i64);
        assert_eq!(v["finding_info"]["created_time"], 1_714_521_600_000_i64);
        f.status = Some(Status::Resolved);
        f.resolution = Some(Resolution {
            at: "2024-05-07T00:00:00Z".into(),
            reason: "not reported by the sweep".into(),
        });
        let v = json(&f);
        assert_eq!(
            (v["activity_id"].clone(), v["status_id"].clone()),
            (3.into(), 4.into())
        );
        assert_eq!(v["status_detail"], "not reported by the sweep");
        assert_eq!(v["finding_info"]["modified_time"], 1_715_040_000_000_i64);
        assert_eq!(v["unmapped"]["resolution"]["at"], "2024-05-07T00:00:00Z");
    }

    #[test]
    fn a_finding_without_an_event_keeps_what_it_has() {
        let mut f = finding();
        f.event = EventRef {
            error_code: Some("Throttling".into()),
            ..EventRef::default()
        };
        f.resource = Some("events/bad.json".into());
        f.actor = Some("arn:aws:iam::111122223333:role/Admin".into());
        let v = serde_json::to_value(DetectionFinding::new(&f, 42)).unwrap();
        assert_eq!(v["time"], 42);
        assert!(v.get("api").is_none());
        assert_eq!(v["unmapped"]["error_code"], "Throttling");
        assert_eq!(v["resources"][0]["uid"], "events/bad.json");
        assert!(v["resources"][0].get("type").is_none());
        assert_eq!(
            v["unmapped"]["actor"]["session"]["issuer"],
            "arn:aws:iam::111122223333:role/Admin"
        );
    }
}
