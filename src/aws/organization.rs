//! The organization sweep's plan: which accounts (an explicit list, or the organization's
//! ACTIVE accounts from `organizations:ListAccounts`), and one message per account on the sweep
//! queue, which the same function consumes, one account per message, across Lambda's own
//! concurrency (the queue's `MaximumConcurrency`).
//!
//! A message is an EventBridge-shaped envelope (`source` `rolewarden`, `detail-type`
//! `Account Sweep`), so it reads the same in a log, in the dead-letter queue and in a test.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::error::AwsError;
use super::{CallCounter, Lazy};
use aws_config::SdkConfig;

/// `source` of a sweep request.
pub const SWEEP_SOURCE: &str = "rolewarden";
/// `detail-type` of a sweep request.
pub const SWEEP_DETAIL_TYPE: &str = "Account Sweep";
/// Entries per `SendMessageBatch`: SQS's maximum.
const BATCH: usize = 10;

/// One account to sweep: what a message on the sweep queue says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepRequest {
    pub account: String,
    /// Regions to list Lex bots and Connect instances in.
    pub regions: Vec<String>,
    /// When the schedule planned the sweep (RFC 3339).
    pub time: String,
}

#[derive(Serialize)]
struct Envelope {
    version: String,
    source: String,
    #[serde(rename = "detail-type")]
    detail_type: String,
    account: String,
    time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    region: Option<String>,
    detail: Detail,
}

#[derive(Serialize, Deserialize, Default)]
struct Detail {
    #[serde(default)]
    regions: Vec<String>,
}

impl SweepRequest {
    /// The message body.
    pub fn to_body(&self, region: Option<&str>) -> String {
        let envelope = Envelope {
            version: "0".into(),
            source: SWEEP_SOURCE.into(),
            detail_type: SWEEP_DETAIL_TYPE.into(),
            account: self.account.clone(),
            time: self.time.clone(),
            region: region.map(str::to_owned),
            detail: Detail {
                regions: self.regions.clone(),
            },
        };
        serde_json::to_string(&envelope).unwrap_or_default()
    }

    /// A sweep request, if `body` is one (its `source` and `detail-type` say so); anything
    /// else is for the evaluation pipeline.
    pub fn parse(body: &str) -> Option<Result<SweepRequest, String>> {
        // Every field optional: one parse tells a request from anything else, and a request
        // that lacks a field from one that is whole.
        #[derive(Deserialize)]
        struct Loose {
            source: Option<String>,
            #[serde(rename = "detail-type")]
            detail_type: Option<String>,
            account: Option<String>,
            time: Option<String>,
            #[serde(default)]
            detail: Detail,
        }
        let loose: Loose = serde_json::from_str(body).ok()?;
        if loose.source.as_deref() != Some(SWEEP_SOURCE)
            || loose.detail_type.as_deref() != Some(SWEEP_DETAIL_TYPE)
        {
            return None;
        }
        Some(match (loose.account, loose.time) {
            (None, _) => Err("sweep request: no `account`".into()),
            (Some(account), _) if !is_account_id(&account) => Err(format!(
                "sweep request: `account` is not a 12-digit account id: `{account}`"
            )),
            (Some(_), None) => Err("sweep request: no `time`".into()),
            (Some(account), Some(time)) => Ok(SweepRequest {
                account,
                regions: loose.detail.regions,
                time,
            }),
        })
    }
}

/// Twelve digits.
pub fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// Account ids from a comma-separated list (`SWEEP_ACCOUNTS`, `--accounts`), or the first one
/// that is not an id.
pub fn parse_accounts(text: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if !is_account_id(part) {
            return Err(format!("`{part}` is not a 12-digit account id"));
        }
        if !out.iter().any(|a| a == part) {
            out.push(part.to_owned());
        }
    }
    Ok(out)
}

/// Why the plan could not be sent.
#[derive(Debug, Error)]
pub enum PlanError {
    #[error("cannot list the organization's accounts: {0}")]
    List(AwsError),
    #[error("sweep requests for {} accounts not queued ({}), {sent} queued before: {reason}", accounts.len(), accounts.join(", "))]
    Queue {
        accounts: Vec<String>,
        sent: usize,
        reason: String,
    },
}

/// The organization's accounts and the sweep queue.
pub struct Planner {
    organizations: Lazy<aws_sdk_organizations::Client>,
    sqs: Lazy<aws_sdk_sqs::Client>,
    queue_url: String,
}

impl Planner {
    pub fn new(config: &SdkConfig, calls: &CallCounter, queue_url: &str) -> Self {
        Planner {
            organizations: organizations_client(config, calls),
            sqs: counted_client!(aws_sdk_sqs, config, calls),
            queue_url: queue_url.to_owned(),
        }
    }

    /// The organization's ACTIVE accounts, sorted (the central account must be the management
    /// account or a delegated administrator to list them).
    pub async fn organization_accounts(&self) -> Result<Vec<String>, PlanError> {
        organization_accounts(&self.organizations).await
    }

    /// One message per request, 10 per call; an entry SQS refuses is an error naming its
    /// account.
    pub async fn enqueue(
        &self,
        requests: &[SweepRequest],
        region: Option<&str>,
    ) -> Result<usize, PlanError> {
        let mut sent = 0;
        for chunk in requests.chunks(BATCH) {
            let mut call = self.sqs.send_message_batch().queue_url(&self.queue_url);
            for (i, request) in chunk.iter().enumerate() {
                let entry = aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(request.to_body(region))
                    .build()
                    .map_err(|e| PlanError::Queue {
                        accounts: vec![request.account.clone()],
                        sent,
                        reason: e.to_string(),
                    })?;
                call = call.entries(entry);
            }
            let answer = call.send().await.map_err(|e| PlanError::Queue {
                accounts: chunk.iter().map(|r| r.account.clone()).collect(),
                sent,
                reason: AwsError::from_sdk("sqs:SendMessageBatch", &e).to_string(),
            })?;
            if !answer.failed.is_empty() {
                let accounts = answer
                    .failed
                    .iter()
                    .filter_map(|f| f.id.parse::<usize>().ok())
                    .filter_map(|i| chunk.get(i).map(|r| r.account.clone()))
                    .collect();
                let reason = answer
                    .failed
                    .iter()
                    .map(|f| format!("{}: {}", f.code, f.message.as_deref().unwrap_or("")))
                    .collect::<Vec<_>>()
                    .join("; ");
                return Err(PlanError::Queue {
                    accounts,
                    sent: sent + answer.successful.len(),
                    reason,
                });
            }
            sent += answer.successful.len();
        }
        Ok(sent)
    }
}

/// The organization's ACTIVE accounts, sorted.
pub async fn organization_accounts(
    client: &aws_sdk_organizations::Client,
) -> Result<Vec<String>, PlanError> {
    use aws_sdk_organizations::types::AccountStatus;
    let mut pages = client.list_accounts().into_paginator().send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page
            .map_err(|e| PlanError::List(AwsError::from_sdk("organizations:ListAccounts", &e)))?;
        for account in page.accounts.unwrap_or_default() {
            if account.status != Some(AccountStatus::Active) {
                continue;
            }
            if let Some(id) = account.id.filter(|id| is_account_id(id)) {
                out.push(id);
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// A client for `organizations:ListAccounts` (the CLI's `--organization`).
pub fn organizations_client(
    config: &SdkConfig,
    calls: &CallCounter,
) -> Lazy<aws_sdk_organizations::Client> {
    counted_client!(aws_sdk_organizations, config, calls)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_reads_back_as_itself() {
        let request = SweepRequest {
            account: "444455556666".into(),
            regions: vec!["us-east-1".into(), "eu-west-2".into()],
            time: "2026-11-27T00:00:00Z".into(),
        };
        let body = request.to_body(Some("us-east-1"));
        assert_eq!(SweepRequest::parse(&body), Some(Ok(request)));
    }

    #[test]
    fn other_bodies_are_not_requests_and_bad_requests_say_why() {
        assert_eq!(SweepRequest::parse(r#"{"eventName":"CreateBot"}"#), None);
        assert_eq!(SweepRequest::parse("not json"), None);
        let bad = r#"{"version":"0","source":"rolewarden","detail-type":"Account Sweep","account":"12","time":"t","detail":{}}"#;
        let Some(Err(why)) = SweepRequest::parse(bad) else {
            panic!("a request with a bad account is a request that says why");
        };
        assert!(why.contains("`12`"), "{why}");
    }

    #[test]
    fn account_lists_are_checked_and_deduplicated() {
        assert_eq!(
            parse_accounts(" 111122223333,444455556666,111122223333,"),
            Ok(vec!["111122223333".to_owned(), "444455556666".to_owned()])
        );
        assert!(parse_accounts("111122223333,abc")
            .unwrap_err()
            .contains("`abc`"));
    }
}
