//! The organization sweep's plan: which accounts (an explicit list, or the organization's
//! ACTIVE accounts from `organizations:ListAccounts`), and one message per account on the sweep
//! queue, which the same function consumes, one account per message, across Lambda's own
//! concurrency (the queue's `MaximumConcurrency`).
//!
//! A message is an EventBridge-shaped envelope (`source` `rolewarden`, `detail-type`
//! `Account Sweep`), so it reads the same in a log, in the dead-letter queue and in a test.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::error::{AwsError, ErrorKind};
use super::rest_json::{
    self, Call, NoRegion, Request, ORGANIZATIONS, ORGANIZATIONS_TARGET, SQS, SQS_TARGET,
};
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
    organizations: OrganizationsClient,
    sqs: Lazy<Result<Call<SendMessageBatchAnswer>, NoRegion>>,
    queue_url: String,
}

/// Organizations' two calls (awsJson1.1 through [`super::rest_json`]: the generated
/// aws-sdk-organizations crate cost 35 s of release CPU and 26 s of the test build's for them),
/// built at the first call; without a region every call fails, naming it.
pub type OrganizationsClient = Lazy<Result<OrganizationCalls, NoRegion>>;

pub struct OrganizationCalls {
    describe: Call<DescribeOrganizationAnswer>,
    list: Call<ListAccountsPage>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeOrganizationAnswer {
    #[serde(default)]
    organization: Option<OrganizationId>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct OrganizationId {
    #[serde(default)]
    id: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListAccounts<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<&'a str>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListAccountsPage {
    #[serde(default, deserialize_with = "rest_json::list")]
    accounts: Vec<Account>,
    #[serde(default)]
    next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Account {
    #[serde(default)]
    id: Option<String>,
    /// `ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`, `CLOSED`: what `Status` said until
    /// Organizations retired it (September 2026; its own documentation names `State` instead).
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

impl Account {
    fn is_active(&self) -> bool {
        self.state.as_deref().or(self.status.as_deref()) == Some("ACTIVE")
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SendMessageBatch<'a> {
    queue_url: &'a str,
    entries: Vec<BatchEntry>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct BatchEntry {
    id: String,
    message_body: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SendMessageBatchAnswer {
    #[serde(default, deserialize_with = "rest_json::list")]
    successful: Vec<serde_json::Value>,
    #[serde(default, deserialize_with = "rest_json::list")]
    failed: Vec<BatchFailure>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BatchFailure {
    id: String,
    code: String,
    #[serde(default)]
    message: Option<String>,
}

const SEND: &str = "sqs:SendMessageBatch";
const LIST: &str = "organizations:ListAccounts";
const DESCRIBE: &str = "organizations:DescribeOrganization";

impl Planner {
    pub fn new(config: &SdkConfig, calls: &CallCounter, queue_url: &str) -> Self {
        let (sqs_config, counter) = (config.clone(), calls.clone());
        Planner {
            organizations: organizations_client(config, calls),
            sqs: super::lazy(move || Call::new(&sqs_config, SQS, "SendMessageBatch", &counter)),
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
            let accounts = || chunk.iter().map(|r| r.account.clone()).collect();
            let send = match &**self.sqs {
                Ok(send) => send,
                Err(e) => {
                    return Err(PlanError::Queue {
                        accounts: accounts(),
                        sent,
                        reason: AwsError::new(SEND, ErrorKind::NotSent(e.to_string())).to_string(),
                    })
                }
            };
            let body = SendMessageBatch {
                queue_url: &self.queue_url,
                entries: chunk
                    .iter()
                    .enumerate()
                    .map(|(i, request)| BatchEntry {
                        id: i.to_string(),
                        message_body: request.to_body(region),
                    })
                    .collect(),
            };
            let answer = send
                .send(Request::aws_json(SQS_TARGET, "SendMessageBatch", &body))
                .await
                .map_err(|e| PlanError::Queue {
                    accounts: accounts(),
                    sent,
                    reason: AwsError::from_sdk(SEND, &e).to_string(),
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

/// The calls, or the error `operation` fails with when there is no region.
fn calls<'a>(
    client: &'a OrganizationsClient,
    operation: &'static str,
) -> Result<&'a OrganizationCalls, AwsError> {
    match &***client {
        Ok(calls) => Ok(calls),
        Err(e) => Err(AwsError::new(operation, ErrorKind::NotSent(e.to_string()))),
    }
}

/// The organization's ACTIVE accounts, sorted.
pub async fn organization_accounts(client: &OrganizationsClient) -> Result<Vec<String>, PlanError> {
    let list = &calls(client, LIST).map_err(PlanError::List)?.list;
    let accounts = list
        .list(
            |token| {
                Request::aws_json(
                    ORGANIZATIONS_TARGET,
                    "ListAccounts",
                    &ListAccounts { next_token: token },
                )
            },
            |page, accounts| {
                accounts.extend(page.accounts);
                page.next_token
            },
        )
        .await
        .map_err(|e| PlanError::List(AwsError::from_sdk(LIST, &e)))?;
    let mut out: Vec<String> = accounts
        .into_iter()
        .filter(Account::is_active)
        .filter_map(|a| a.id.filter(|id| is_account_id(id)))
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

/// The id of the credentials' organization (`DescribeOrganization`); `None` when the answer
/// names none.
pub async fn organization_id(client: &OrganizationsClient) -> Result<Option<String>, AwsError> {
    calls(client, DESCRIBE)?
        .describe
        .send(Request::aws_json(
            ORGANIZATIONS_TARGET,
            "DescribeOrganization",
            &serde_json::json!({}),
        ))
        .await
        .map(|answer| answer.organization.and_then(|o| o.id))
        .map_err(|e| AwsError::from_sdk(DESCRIBE, &e))
}

/// The client for `organizations:DescribeOrganization` and `ListAccounts` (the CLI's
/// `--organization`, the planner, the account view).
pub fn organizations_client(config: &SdkConfig, calls: &CallCounter) -> OrganizationsClient {
    let (config, counter) = (config.clone(), calls.clone());
    super::lazy(move || {
        Ok(OrganizationCalls {
            describe: Call::new(&config, ORGANIZATIONS, "DescribeOrganization", &counter)?,
            list: Call::new(&config, ORGANIZATIONS, "ListAccounts", &counter)?,
        })
    })
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
    fn an_account_is_active_by_its_state_or_else_its_retired_status() {
        let read = |text: &str| serde_json::from_str::<Account>(text).map(|a| a.is_active());
        assert!(matches!(read(r#"{"Id":"1","State":"ACTIVE"}"#), Ok(true)));
        assert!(matches!(read(r#"{"Id":"1","Status":"ACTIVE"}"#), Ok(true)));
        assert!(matches!(
            read(r#"{"Id":"1","State":"SUSPENDED","Status":"ACTIVE"}"#),
            Ok(false)
        ));
        assert!(matches!(
            read(r#"{"Id":"1","State":"PENDING_CLOSURE"}"#),
            Ok(false)
        ));
        assert!(matches!(read(r#"{"Id":"1"}"#), Ok(false)));
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
