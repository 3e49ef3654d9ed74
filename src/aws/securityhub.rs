//! Findings to AWS Security Hub: `BatchImportFindings` in ASFF ([`crate::asff`]), 100 a call,
//! under the caller account's default product. A finding Security Hub refuses (`FailedFindings`)
//! is an error naming it, like a failed call: the Lambda answers `Retryable` and nothing is
//! reported written that was not. A re-import of the same finding id updates it.

use aws_config::SdkConfig;
use aws_sdk_securityhub::types::{
    AwsSecurityFinding, Compliance, ComplianceStatus, FindingProviderFields,
    FindingProviderSeverity, Partition, Recommendation, RecordState, Remediation, Resource,
    Severity, SeverityLabel, Workflow, WorkflowStatus,
};
use aws_sdk_securityhub::Client;
use thiserror::Error;
use tokio::sync::OnceCell;

use super::error::AwsError;
use super::CallCounter;
use crate::asff::{to_asff, AsffFinding, Importer, MAX_FINDINGS_PER_CALL};
use crate::finding::Finding;

const IMPORT: &str = "securityhub:BatchImportFindings";
const WHO: &str = "sts:GetCallerIdentity";
/// Refused findings named in an error message; the count says how many more.
const NAMED: usize = 10;

/// Why findings did not all reach Security Hub.
#[derive(Debug, Error)]
pub enum ImportError {
    #[error("cannot import findings into Security Hub: {0}")]
    Account(#[source] Box<AwsError>),
    #[error("cannot import findings into Security Hub: no region is configured (AWS_REGION)")]
    NoRegion,
    #[error("cannot import {unwritten} findings into Security Hub ({written} imported before, {refused_before} refused before): {reason}")]
    Call {
        unwritten: usize,
        written: usize,
        /// Findings earlier calls of the same write had refused (counted in `unwritten`).
        refused_before: usize,
        #[source]
        reason: Box<AwsError>,
    },
    #[error("Security Hub refused {} of {total} findings: {}", refused.len(), name_refused(refused))]
    Refused {
        total: usize,
        /// Id, error code and message of each refused finding.
        refused: Vec<Refused>,
    },
}

/// One finding `BatchImportFindings` did not take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub id: String,
    pub code: String,
    pub message: String,
}

impl ImportError {
    /// The ids of the findings refused one by one (empty for a failed call).
    pub fn refused_ids(&self) -> Vec<&str> {
        match self {
            ImportError::Refused { refused, .. } => refused.iter().map(|r| r.id.as_str()).collect(),
            _ => Vec::new(),
        }
    }
}

fn name_refused(refused: &[Refused]) -> String {
    let mut named: Vec<String> = refused
        .iter()
        .take(NAMED)
        .map(|r| format!("{} ({}: {})", r.id, r.code, r.message))
        .collect();
    if refused.len() > NAMED {
        named.push(format!("and {} more", refused.len() - NAMED));
    }
    named.join(", ")
}

pub struct SecurityHubWriter {
    client: Client,
    sts: aws_sdk_sts::Client,
    region: Option<String>,
    /// The caller's account, asked once: Security Hub takes default-product findings only with
    /// the caller's account as `AwsAccountId`.
    importer: OnceCell<Importer>,
}

impl SecurityHubWriter {
    pub fn new(config: &SdkConfig, calls: &CallCounter) -> Self {
        let conf = aws_sdk_securityhub::config::Builder::from(config)
            .interceptor(calls.clone())
            .build();
        let sts = aws_sdk_sts::config::Builder::from(config)
            .interceptor(calls.clone())
            .build();
        SecurityHubWriter {
            client: Client::from_conf(conf),
            sts: aws_sdk_sts::Client::from_conf(sts),
            region: config.region().map(|r| r.as_ref().to_owned()),
            importer: OnceCell::new(),
        }
    }

    /// The account and region findings are imported into (asks STS the first time).
    pub async fn importer(&self) -> Result<&Importer, ImportError> {
        let region = self.region.clone().ok_or(ImportError::NoRegion)?;
        self.importer
            .get_or_try_init(|| async {
                let who = self
                    .sts
                    .get_caller_identity()
                    .send()
                    .await
                    .map_err(|e| ImportError::Account(Box::new(AwsError::from_sdk(WHO, &e))))?;
                let account = who.account().map(str::to_owned).ok_or_else(|| {
                    ImportError::Account(Box::new(AwsError::unusable(
                        WHO,
                        "the answer names no account",
                    )))
                })?;
                Ok(Importer { account, region })
            })
            .await
    }

    /// Imports the findings, stamped with the time of writing.
    pub async fn write(&self, findings: &[Finding]) -> Result<(), ImportError> {
        if findings.is_empty() {
            return Ok(());
        }
        let importer = self.importer().await?;
        let now = chrono::Utc::now();
        let asff: Vec<AsffFinding> = findings.iter().map(|f| to_asff(f, importer, now)).collect();
        self.import(&asff).await
    }

    /// Imports findings already in ASFF, 100 a call; stops at the first call that fails.
    /// Refused findings of every call are gathered and reported together.
    pub async fn import(&self, findings: &[AsffFinding]) -> Result<(), ImportError> {
        let mut written = 0;
        let mut refused = Vec::new();
        for chunk in findings.chunks(MAX_FINDINGS_PER_CALL) {
            let batch: Vec<AwsSecurityFinding> = chunk.iter().map(to_sdk).collect();
            let answer = self
                .client
                .batch_import_findings()
                .set_findings(Some(batch))
                .send()
                .await
                .map_err(|e| ImportError::Call {
                    unwritten: findings.len().saturating_sub(written),
                    written,
                    refused_before: refused.len(),
                    reason: Box::new(AwsError::from_sdk(IMPORT, &e)),
                })?;
            let failed = answer.failed_findings();
            refused.extend(failed.iter().map(|f| Refused {
                id: f.id().unwrap_or_default().to_owned(),
                code: f.error_code().unwrap_or_default().to_owned(),
                message: f.error_message().unwrap_or_default().to_owned(),
            }));
            written += chunk.len().saturating_sub(failed.len());
        }
        if refused.is_empty() {
            Ok(())
        } else {
            Err(ImportError::Refused {
                total: findings.len(),
                refused,
            })
        }
    }
}

/// The SDK's form of an ASFF finding (the same fields; enums by their wire names).
pub fn to_sdk(a: &AsffFinding) -> AwsSecurityFinding {
    let resources = a
        .resources
        .iter()
        .map(|r| {
            Resource::builder()
                .r#type(&r.kind)
                .id(&r.id)
                .partition(Partition::from(r.partition.as_str()))
                .region(&r.region)
                .build()
        })
        .collect();
    AwsSecurityFinding::builder()
        .schema_version(&a.schema_version)
        .id(&a.id)
        .product_arn(&a.product_arn)
        .product_name(&a.product_name)
        .company_name(&a.company_name)
        .generator_id(&a.generator_id)
        .aws_account_id(&a.aws_account_id)
        .region(&a.region)
        .set_types(Some(a.types.clone()))
        .created_at(&a.created_at)
        .updated_at(&a.updated_at)
        .first_observed_at(&a.first_observed_at)
        .last_observed_at(&a.last_observed_at)
        .severity(
            Severity::builder()
                .label(SeverityLabel::from(a.severity.label.as_str()))
                .original(&a.severity.original)
                .build(),
        )
        .finding_provider_fields(
            FindingProviderFields::builder()
                .severity(
                    FindingProviderSeverity::builder()
                        .label(SeverityLabel::from(
                            a.finding_provider_fields.severity.label.as_str(),
                        ))
                        .original(&a.finding_provider_fields.severity.original)
                        .build(),
                )
                .set_types(Some(a.finding_provider_fields.types.clone()))
                .build(),
        )
        .title(&a.title)
        .description(&a.description)
        .remediation(
            Remediation::builder()
                .recommendation(
                    Recommendation::builder()
                        .text(&a.remediation.recommendation.text)
                        .build(),
                )
                .build(),
        )
        .set_product_fields(Some(a.product_fields.clone().into_iter().collect()))
        .set_resources(Some(resources))
        .compliance(
            Compliance::builder()
                .status(ComplianceStatus::from(a.compliance.status.as_str()))
                .build(),
        )
        .set_workflow(a.workflow.as_ref().map(|w| {
            Workflow::builder()
                .status(WorkflowStatus::from(w.status.as_str()))
                .build()
        }))
        .record_state(RecordState::from(a.record_state.as_str()))
        .build()
}

/// Our ASFF form of what Security Hub holds (`GetFindings`): the inverse of [`to_sdk`] over the
/// fields the mapping sets, so a test can compare what was stored with what was meant.
pub fn from_sdk(f: &AwsSecurityFinding) -> AsffFinding {
    let text = |s: Option<&str>| s.unwrap_or_default().to_owned();
    AsffFinding {
        schema_version: text(f.schema_version()),
        id: text(f.id()),
        product_arn: text(f.product_arn()),
        product_name: text(f.product_name()),
        company_name: text(f.company_name()),
        generator_id: text(f.generator_id()),
        aws_account_id: text(f.aws_account_id()),
        region: text(f.region()),
        types: f.types().to_vec(),
        created_at: text(f.created_at()),
        updated_at: text(f.updated_at()),
        first_observed_at: text(f.first_observed_at()),
        last_observed_at: text(f.last_observed_at()),
        severity: crate::asff::AsffSeverity {
            label: text(f.severity().and_then(|s| s.label()).map(|l| l.as_str())),
            original: text(f.severity().and_then(|s| s.original())),
        },
        finding_provider_fields: crate::asff::FindingProviderFields {
            severity: crate::asff::AsffSeverity {
                label: text(
                    f.finding_provider_fields()
                        .and_then(|p| p.severity())
                        .and_then(|s| s.label())
                        .map(|l| l.as_str()),
                ),
                original: text(
                    f.finding_provider_fields()
                        .and_then(|p| p.severity())
                        .and_then(|s| s.original()),
                ),
            },
            types: f
                .finding_provider_fields()
                .map(|p| p.types().to_vec())
                .unwrap_or_default(),
        },
        title: text(f.title()),
        description: text(f.description()),
        remediation: crate::asff::Remediation {
            recommendation: crate::asff::Recommendation {
                text: text(
                    f.remediation()
                        .and_then(|r| r.recommendation())
                        .and_then(|r| r.text()),
                ),
            },
        },
        product_fields: f
            .product_fields()
            .map(|p| p.clone().into_iter().collect())
            .unwrap_or_default(),
        resources: f
            .resources()
            .iter()
            .map(|r| crate::asff::Resource {
                kind: text(r.r#type()),
                id: text(r.id()),
                partition: text(r.partition().map(|p| p.as_str())),
                region: text(r.region()),
            })
            .collect(),
        compliance: crate::asff::Compliance {
            status: text(f.compliance().and_then(|c| c.status()).map(|s| s.as_str())),
        },
        workflow: f.workflow().map(|w| crate::asff::Workflow {
            status: text(w.status().map(|s| s.as_str())),
        }),
        record_state: text(f.record_state().map(|s| s.as_str())),
    }
}
