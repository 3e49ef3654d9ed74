//! Findings to AWS Security Hub: `BatchImportFindings` in ASFF ([`crate::asff`]), 100 a call,
//! under the caller account's default product. A finding Security Hub refuses (`FailedFindings`)
//! is an error naming it, like a failed call: the Lambda answers `Retryable` and nothing is
//! reported written that was not. A re-import of the same finding id updates it.

use aws_config::SdkConfig;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio::sync::OnceCell;

use super::error::AwsError;
use super::rest_json::{self, Call, Request};
use super::{CallCounter, Lazy};
use crate::asff::{to_asff, AsffFinding, Importer, MAX_FINDINGS_PER_CALL};
use crate::finding::Finding;

const IMPORT: &str = "securityhub:BatchImportFindings";
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

/// `BatchImportFindings`' request: findings in ASFF, which is also its wire form.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Import<'a> {
    findings: &'a [AsffFinding],
}

/// `BatchImportFindings`' answer: which findings it did not take.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Imported {
    #[serde(default, deserialize_with = "rest_json::list")]
    failed_findings: Vec<FailedFinding>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct FailedFinding {
    id: Option<String>,
    error_code: Option<String>,
    error_message: Option<String>,
}

pub struct SecurityHubWriter {
    /// The import call and the region it imports into; `None` without a region: every write
    /// then fails with [`ImportError::NoRegion`].
    target: Option<(Call<Imported>, String)>,
    sts: Lazy<aws_sdk_sts::Client>,
    /// The caller's account, asked once: Security Hub takes default-product findings only with
    /// the caller's account as `AwsAccountId`.
    importer: OnceCell<Importer>,
}

impl SecurityHubWriter {
    pub fn new(config: &SdkConfig, calls: &CallCounter) -> Self {
        let target = config.region().map(|region| {
            let import = Call::in_region(
                config,
                region.clone(),
                rest_json::SECURITY_HUB,
                "BatchImportFindings",
                calls,
            );
            (import, region.as_ref().to_owned())
        });
        SecurityHubWriter {
            target,
            sts: counted_client!(aws_sdk_sts, config, calls),
            importer: OnceCell::new(),
        }
    }

    /// The account and region findings are imported into (asks STS the first time).
    pub async fn importer(&self) -> Result<&Importer, ImportError> {
        let (_, region) = self.target.as_ref().ok_or(ImportError::NoRegion)?;
        self.importer
            .get_or_try_init(|| async {
                let account = super::caller_account(&self.sts)
                    .await
                    .map_err(|e| ImportError::Account(Box::new(e)))?;
                Ok(Importer {
                    account,
                    region: region.clone(),
                })
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
        let (import, _) = self.target.as_ref().ok_or(ImportError::NoRegion)?;
        for chunk in findings.chunks(MAX_FINDINGS_PER_CALL) {
            let failed = |reason: AwsError| ImportError::Call {
                unwritten: findings.len().saturating_sub(written),
                written,
                refused_before: refused.len(),
                reason: Box::new(reason),
            };
            let answer = import
                .send(Request::post(
                    "/findings/import",
                    &Import { findings: chunk },
                ))
                .await
                .map_err(|e| failed(AwsError::from_sdk(IMPORT, &e)))?;
            let count = answer.failed_findings.len();
            refused.extend(answer.failed_findings.into_iter().map(|f| Refused {
                id: f.id.unwrap_or_default(),
                code: f.error_code.unwrap_or_default(),
                message: f.error_message.unwrap_or_default(),
            }));
            written += chunk.len().saturating_sub(count);
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
