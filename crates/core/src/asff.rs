//! A finding in the AWS Security Finding Format (ASFF), as `securityhub:BatchImportFindings`
//! takes it. Pure: the Security Hub sink (`src/aws/securityhub.rs`) turns this into the SDK's
//! type and sends it; keeping the mapping here lets it be tested, snapshotted and shown in the
//! README without the SDK.
//!
//! Security Hub takes a finding under the default product only from the account the finding
//! names (`AwsAccountId` must be the caller's), so [`Importer`] is the account that imports;
//! when the finding is about another account of the organization, that account is in the
//! resource's ARN and in `ProductFields` (`rolewarden/Account`). Our id is the ASFF `Id`, so a
//! re-import of the same finding updates it instead of adding a second one.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::arn::{self, partition};
use crate::finding::{Finding, Severity, Status};

/// ASFF's schema version, the only one Security Hub takes.
pub const SCHEMA_VERSION: &str = "2018-10-08";
/// `BatchImportFindings` takes at most this many findings a call.
pub const MAX_FINDINGS_PER_CALL: usize = 100;
// Security Hub's field limits (BatchImportFindings rejects a finding over them): the mapping
// cuts text to fit instead of losing the finding.
const MAX_TITLE: usize = 256;
const MAX_DESCRIPTION: usize = 1024;
const MAX_RECOMMENDATION: usize = 512;
const MAX_PRODUCT_FIELDS: usize = 50;
const MAX_PRODUCT_FIELD_KEY: usize = 128;
const MAX_PRODUCT_FIELD_VALUE: usize = 2048;

/// The account and region findings are imported into: the caller's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Importer {
    pub account: String,
    pub region: String,
}

impl Importer {
    /// The account's default product (`product/<account>/default`): what custom findings are
    /// imported under without a partner integration.
    pub fn product_arn(&self) -> String {
        format!(
            "arn:{}:securityhub:{}:{}:product/{}/default",
            partition(&self.region),
            self.region,
            self.account,
            self.account
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffFinding {
    pub schema_version: String,
    pub id: String,
    pub product_arn: String,
    pub product_name: String,
    pub company_name: String,
    /// The rule id: Security Hub groups findings of one check by it.
    pub generator_id: String,
    pub aws_account_id: String,
    pub region: String,
    pub types: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
    pub first_observed_at: String,
    pub last_observed_at: String,
    pub severity: AsffSeverity,
    /// Severity and types again, where a provider is to keep them: Security Hub lets a
    /// provider's re-import change these, and leaves the top-level ones to the team's triage.
    pub finding_provider_fields: FindingProviderFields,
    pub title: String,
    pub description: String,
    pub remediation: Remediation,
    pub product_fields: BTreeMap<String, String>,
    pub resources: Vec<Resource>,
    pub compliance: Compliance,
    /// Set on resolved findings only: a provider cannot change the workflow of a finding it
    /// imported before (Security Hub ignores it), but Security Hub itself moves NEW or NOTIFIED
    /// to RESOLVED when the record state becomes ARCHIVED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<Workflow>,
    pub record_state: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffSeverity {
    /// INFORMATIONAL, LOW, MEDIUM, HIGH or CRITICAL.
    pub label: String,
    /// Ours: info, low, medium, high or critical.
    pub original: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FindingProviderFields {
    pub severity: AsffSeverity,
    pub types: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Remediation {
    pub recommendation: Recommendation,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Recommendation {
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Resource {
    /// `AwsIamRole`, `AwsIamPolicy`, `AwsIamUser`, `AwsIamGroup`, `AwsAccount` or `Other`.
    #[serde(rename = "Type")]
    pub kind: String,
    pub id: String,
    pub partition: String,
    pub region: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Compliance {
    /// FAILED while the finding stands, PASSED once resolved.
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Workflow {
    pub status: String,
}

/// The ASFF form of `finding`, imported by `importer` at `now`.
pub fn to_asff(finding: &Finding, importer: &Importer, now: DateTime<Utc>) -> AsffFinding {
    let now = now.to_rfc3339_opts(SecondsFormat::Millis, true);
    let region = finding
        .region
        .clone()
        .unwrap_or_else(|| importer.region.clone());
    let observed = finding.event.time.clone().unwrap_or_else(|| now.clone());
    // First seen by the state is when it was first written, which for a replayed log file is
    // after the event: the earlier of the two is when it was first observed. (RFC 3339 in UTC
    // compares as text.)
    let first_observed = match &finding.first_seen {
        Some(first) if first.as_str() < observed.as_str() => first.clone(),
        _ => observed.clone(),
    };
    let resolved = finding.status == Some(Status::Resolved);
    let severity = AsffSeverity {
        label: label(finding.severity).into(),
        original: finding.severity.as_str().into(),
    };
    let types = vec![format!(
        "Software and Configuration Checks/AWS Security Best Practices/{} {}",
        finding.rule_id, finding.rule_name
    )];
    let (product_fields, cut) = product_fields(finding);
    let mut product_fields = product_fields;
    if cut || finding.truncated {
        product_fields.insert("rolewarden/Truncated".into(), "true".into());
    }
    AsffFinding {
        schema_version: SCHEMA_VERSION.into(),
        id: finding.id.clone(),
        product_arn: importer.product_arn(),
        product_name: "rolewarden".into(),
        company_name: "rolewarden".into(),
        generator_id: finding.rule_id.clone(),
        aws_account_id: importer.account.clone(),
        // Security Hub sets the finding's region to the one it was imported in; the region the
        // finding is about is its resource's.
        region: importer.region.clone(),
        types: types.clone(),
        created_at: first_observed.clone(),
        updated_at: now,
        first_observed_at: first_observed,
        last_observed_at: observed,
        finding_provider_fields: FindingProviderFields {
            severity: severity.clone(),
            types,
        },
        severity,
        title: cut_to(
            &format!("{} {}", finding.rule_id, finding.rule_name),
            MAX_TITLE,
        ),
        description: cut_to(&finding.message, MAX_DESCRIPTION),
        remediation: Remediation {
            recommendation: Recommendation {
                text: cut_to(&finding.remediation, MAX_RECOMMENDATION),
            },
        },
        product_fields,
        resources: vec![resource(finding, &region, importer)],
        compliance: Compliance {
            status: if resolved { "PASSED" } else { "FAILED" }.into(),
        },
        workflow: resolved.then(|| Workflow {
            status: "RESOLVED".into(),
        }),
        record_state: if resolved { "ARCHIVED" } else { "ACTIVE" }.into(),
    }
}

/// Security Hub's label for a severity.
pub fn label(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "INFORMATIONAL",
        Severity::Low => "LOW",
        Severity::Medium => "MEDIUM",
        Severity::High => "HIGH",
        Severity::Critical => "CRITICAL",
    }
}

/// What ASFF has no field for, as `rolewarden/...` product fields: the finding's own account,
/// the event, the actor, the lifecycle, and each piece of evidence as compact JSON. Returns
/// whether anything had to be cut to Security Hub's limits.
fn product_fields(finding: &Finding) -> (BTreeMap<String, String>, bool) {
    let mut fields = BTreeMap::new();
    let mut cut = false;
    let mut put = |key: String, value: &str, fields: &mut BTreeMap<String, String>| {
        if fields.len() >= MAX_PRODUCT_FIELDS - 1 {
            // One slot stays free for `rolewarden/Truncated`.
            cut = true;
            return;
        }
        let fitted = cut_to(value, MAX_PRODUCT_FIELD_VALUE);
        let fitted_key = cut_to(&key, MAX_PRODUCT_FIELD_KEY);
        cut |= fitted != value || fitted_key != key;
        // Two long keys cut to the same prefix: the second is left out (and said), never
        // written over the first.
        if fields.contains_key(&fitted_key) {
            cut = true;
            return;
        }
        fields.insert(fitted_key, fitted);
    };
    let plain = [
        ("RuleId", Some(finding.rule_id.as_str())),
        ("Account", finding.account.as_deref()),
        ("Actor", finding.actor.as_deref()),
        ("EventId", finding.event.id.as_deref()),
        ("EventName", finding.event.name.as_deref()),
        ("EventSource", finding.event.source.as_deref()),
        ("EventTime", finding.event.time.as_deref()),
        ("ErrorCode", finding.event.error_code.as_deref()),
        ("Enrichment", finding.enrichment.as_deref()),
        ("Status", finding.status.map(Status::as_str)),
    ];
    for (key, value) in plain {
        if let Some(value) = value {
            put(format!("rolewarden/{key}"), value, &mut fields);
        }
    }
    if let Some(resolution) = &finding.resolution {
        put("rolewarden/ResolvedAt".into(), &resolution.at, &mut fields);
        put(
            "rolewarden/Resolution".into(),
            &resolution.reason,
            &mut fields,
        );
    }
    for (key, value) in &finding.evidence {
        let text = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        put(format!("rolewarden/evidence/{key}"), &text, &mut fields);
    }
    (fields, cut)
}

/// The finding's resource, typed as Security Hub knows IAM resources; the account itself when
/// the finding names no resource.
fn resource(finding: &Finding, region: &str, importer: &Importer) -> Resource {
    let account = finding
        .account
        .as_deref()
        .unwrap_or(importer.account.as_str());
    let Some(id) = finding.resource.as_deref() else {
        return Resource {
            kind: "AwsAccount".into(),
            id: format!("AWS::::Account:{account}"),
            partition: partition(region).into(),
            region: region.into(),
        };
    };
    let kind = match arn::service_and_kind(id) {
        Some(("iam", "role")) => "AwsIamRole",
        Some(("iam", "policy")) => "AwsIamPolicy",
        Some(("iam", "user")) => "AwsIamUser",
        Some(("iam", "group")) => "AwsIamGroup",
        _ => "Other",
    };
    Resource {
        kind: kind.into(),
        id: cut_to(id, MAX_PRODUCT_FIELD_VALUE),
        partition: arn::field(id, 1).unwrap_or(partition(region)).into(),
        region: region.into(),
    }
}

/// `text` cut to `max` characters, the last one an ellipsis when anything was cut.
fn cut_to(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]
mod tests {
    use super::*;
    use crate::finding::{EventRef, Resolution};

    fn importer() -> Importer {
        Importer {
            account: "111122223333".into(),
            region: "us-east-1".into(),
        }
    }

    fn finding() -> Finding {
        let mut f = Finding {
            id: "0123456789abcdef0123456789abcdef".into(),
            rule_id: "PR001".into(),
            rule_name: "PassRoleWildcardResource".into(),
            severity: Severity::High,
            message: "policy `lex-pass` on role `builder` grants iam:PassRole on every role".into(),
            account: Some("222233334444".into()),
            region: Some("eu-west-2".into()),
            resource: Some("arn:aws:iam::222233334444:role/builder".into()),
            actor: Some("arn:aws:iam::222233334444:role/Admin".into()),
            event: EventRef {
                id: Some("e-1".into()),
                name: Some("PutRolePolicy".into()),
                source: Some("iam.amazonaws.com".into()),
                time: Some("2026-11-01T10:00:00Z".into()),
                error_code: None,
            },
            evidence: BTreeMap::new(),
            remediation: "name the roles".into(),
            enrichment: None,
            truncated: false,
            status: None,
            first_seen: None,
            resolution: None,
        };
        f.evidence.insert("policy_name".into(), "lex-pass".into());
        f.evidence
            .insert("statements".into(), serde_json::json!([{"sid": "A"}]));
        f
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-28T03:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_finding_maps_to_the_importers_default_product() {
        let a = to_asff(&finding(), &importer(), now());
        assert_eq!(
            a.product_arn,
            "arn:aws:securityhub:us-east-1:111122223333:product/111122223333/default"
        );
        assert_eq!(a.aws_account_id, "111122223333");
        // The import region at the top, the finding's own on its resource.
        assert_eq!(a.region, "us-east-1");
        assert_eq!(a.product_fields["rolewarden/Account"], "222233334444");
        assert_eq!(a.generator_id, "PR001");
        assert_eq!(a.severity.label, "HIGH");
        assert_eq!(a.resources[0].kind, "AwsIamRole");
        assert_eq!(a.resources[0].region, "eu-west-2");
        assert_eq!(a.record_state, "ACTIVE");
        assert_eq!(a.compliance.status, "FAILED");
        assert!(a.workflow.is_none());
        assert_eq!(
            a.product_fields["rolewarden/evidence/policy_name"],
            "lex-pass"
        );
        assert_eq!(
            a.product_fields["rolewarden/evidence/statements"],
            r#"[{"sid":"A"}]"#
        );
        assert_eq!(a.updated_at, "2026-11-28T03:00:00.000Z");
        assert_eq!(a.first_observed_at, "2026-11-01T10:00:00Z");
    }

    #[test]
    fn a_resolved_finding_is_archived_and_passed() {
        let mut f = finding();
        f.status = Some(Status::Resolved);
        f.first_seen = Some("2026-10-01T00:00:00Z".into());
        f.resolution = Some(Resolution {
            at: "2026-11-28T03:00:00Z".into(),
            reason: "policy replaced".into(),
        });
        let a = to_asff(&f, &importer(), now());
        assert_eq!(a.record_state, "ARCHIVED");
        assert_eq!(a.compliance.status, "PASSED");
        assert_eq!(a.workflow.unwrap().status, "RESOLVED");
        assert_eq!(a.created_at, "2026-10-01T00:00:00Z");
        // A replayed event first written after it happened: first observed is the event's time.
        f.first_seen = Some("2026-11-27T00:00:00Z".into());
        let replayed = to_asff(&f, &importer(), now());
        assert_eq!(replayed.first_observed_at, "2026-11-01T10:00:00Z");
        assert!(replayed.first_observed_at <= replayed.last_observed_at);
        assert_eq!(a.product_fields["rolewarden/Resolution"], "policy replaced");
    }

    #[test]
    fn resources_are_typed_from_their_arn() {
        let kind = |resource: Option<&str>| {
            let mut f = finding();
            f.resource = resource.map(str::to_owned);
            to_asff(&f, &importer(), now()).resources[0].clone()
        };
        assert_eq!(kind(Some("arn:aws:iam::1:policy/p")).kind, "AwsIamPolicy");
        assert_eq!(kind(Some("arn:aws:iam::1:user/u")).kind, "AwsIamUser");
        assert_eq!(kind(Some("arn:aws-cn:iam::1:group/g")).partition, "aws-cn");
        assert_eq!(kind(Some("arn:aws:lex:eu-west-2:1:bot/B")).kind, "Other");
        let account = kind(None);
        assert_eq!(account.kind, "AwsAccount");
        assert_eq!(account.id, "AWS::::Account:222233334444");
    }

    #[test]
    fn text_is_cut_to_security_hubs_limits_and_says_so() {
        let mut f = finding();
        f.message = "m".repeat(5000);
        f.evidence
            .insert("big".into(), Value::String("x".repeat(10_000)));
        for i in 0..80 {
            f.evidence.insert(format!("k{i:02}"), Value::from(i));
        }
        let a = to_asff(&f, &importer(), now());
        // A value one character over the limit is cut by two (the ellipsis): still said.
        let mut near = finding();
        near.evidence
            .insert("near".into(), Value::String("y".repeat(2049)));
        let n = to_asff(&near, &importer(), now());
        assert_eq!(n.product_fields["rolewarden/Truncated"], "true");
        assert_eq!(a.description.chars().count(), MAX_DESCRIPTION);
        assert!(a.description.ends_with('…'));
        assert_eq!(a.product_fields.len(), MAX_PRODUCT_FIELDS);
        assert_eq!(a.product_fields["rolewarden/Truncated"], "true");
        assert!(a
            .product_fields
            .values()
            .all(|v| v.chars().count() <= MAX_PRODUCT_FIELD_VALUE));
    }
}
