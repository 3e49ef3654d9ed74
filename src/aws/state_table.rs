//! Finding state in DynamoDB ([`crate::lifecycle::Store`]): one item per finding, keyed by
//! `account` (partition) and `id` (sort). The sparse global secondary index [`OPEN_INDEX`] on
//! `open_key` holds only the records a later run can resolve, so a sweep reads its account's
//! open sweep findings and a policy write the open findings about that policy, and nothing
//! else. Reads: `BatchGetItem` (100 keys a call) and `Query`; writes: `BatchWriteItem` (25 a
//! call). Keys a call leaves unprocessed are sent again, a few times, then are an error.

use std::collections::{BTreeSet, HashMap};

use aws_config::SdkConfig;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::error::{AwsError, ErrorKind};
use super::rest_json::{Call, NoRegion, Request, DYNAMODB, DYNAMODB_TARGET};
use super::{CallCounter, Lazy};
use crate::finding::{Finding, Status};
use crate::lifecycle::{Record, Store};
use crate::log_events::{render, EncodeError, FindingsFormat, MAX_EVENT_BYTES};

/// The index of open records (its partition key is `open_key`).
pub const OPEN_INDEX: &str = "open";
/// The most keys `BatchGetItem` takes in one call.
const GET_BATCH: usize = 100;
/// The most items `BatchWriteItem` takes in one call.
const WRITE_BATCH: usize = 25;
/// Calls a batch may take when DynamoDB leaves part of it unprocessed (throttling).
const BATCH_ATTEMPTS: usize = 5;

const GET: &str = "dynamodb:BatchGetItem";
const QUERY: &str = "dynamodb:Query";
const WRITE: &str = "dynamodb:BatchWriteItem";

#[derive(Debug, Error)]
pub enum StateError {
    #[error("finding state in table `{table}`: {source}")]
    Call {
        table: String,
        #[source]
        source: Box<AwsError>,
    },
    #[error("finding state in table `{table}`: {what}")]
    Item { table: String, what: String },
}

/// `--state dynamodb:TABLE`, `STATE_TABLE`.
pub struct StateTable {
    /// Built at the first call; without a region every call fails, naming it.
    calls: Lazy<Result<TableCalls, NoRegion>>,
    table: String,
}

/// The three operations (awsJson1.0 through [`super::rest_json`]: the generated
/// aws-sdk-dynamodb crate cost 37 s of release CPU and 28 s of the test build's for them).
struct TableCalls {
    get: Call<BatchGetAnswer>,
    query: Call<QueryAnswer>,
    write: Call<BatchWriteAnswer>,
}

/// An attribute as DynamoDB's JSON writes it (`{"S": "text"}`). Every attribute rolewarden
/// writes is a string; one of another type (a column of the user's own) is kept as it came
/// and never read as text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AttributeValue {
    S(String),
    #[serde(untagged)]
    Other(serde_json::Value),
}

impl AttributeValue {
    /// The text of a string attribute, as the SDK's `as_s` gives it.
    pub fn as_s(&self) -> Option<&String> {
        match self {
            AttributeValue::S(text) => Some(text),
            AttributeValue::Other(_) => None,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct BatchGet<'a> {
    request_items: HashMap<&'a str, KeysAndAttributes>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeysAndAttributes {
    keys: Vec<Item>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    consistent_read: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BatchGetAnswer {
    #[serde(default)]
    responses: HashMap<String, Vec<Item>>,
    #[serde(default)]
    unprocessed_keys: HashMap<String, KeysAndAttributes>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Query<'a> {
    table_name: &'a str,
    index_name: &'a str,
    key_condition_expression: &'a str,
    expression_attribute_values: Item,
    #[serde(skip_serializing_if = "Option::is_none")]
    exclusive_start_key: Option<Item>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct QueryAnswer {
    #[serde(default)]
    items: Vec<Item>,
    #[serde(default)]
    last_evaluated_key: Option<Item>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct BatchWrite<'a> {
    request_items: HashMap<&'a str, Vec<WriteRequest>>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WriteRequest {
    put_request: PutRequest,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutRequest {
    item: Item,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BatchWriteAnswer {
    #[serde(default)]
    unprocessed_items: HashMap<String, Vec<WriteRequest>>,
}

impl StateTable {
    pub fn new(config: &SdkConfig, calls: &CallCounter, table: &str) -> Self {
        let (config, counter) = (config.clone(), calls.clone());
        StateTable {
            calls: super::lazy(move || {
                Ok(TableCalls {
                    get: Call::new(&config, DYNAMODB, "BatchGetItem", &counter)?,
                    query: Call::new(&config, DYNAMODB, "Query", &counter)?,
                    write: Call::new(&config, DYNAMODB, "BatchWriteItem", &counter)?,
                })
            }),
            table: table.to_owned(),
        }
    }

    /// The calls, or the error every call of `operation` fails with when there is no region.
    fn calls(&self, operation: &'static str) -> Result<&TableCalls, StateError> {
        match &**self.calls {
            Ok(calls) => Ok(calls),
            Err(e) => {
                Err(self.call_error(AwsError::new(operation, ErrorKind::NotSent(e.to_string()))))
            }
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn call_error(&self, source: AwsError) -> StateError {
        StateError::Call {
            table: self.table.clone(),
            source: Box::new(source),
        }
    }

    fn item_error(&self, what: impl Into<String>) -> StateError {
        StateError::Item {
            table: self.table.clone(),
            what: what.into(),
        }
    }
}

type Item = HashMap<String, AttributeValue>;

fn text(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn key(account: &str, id: &str) -> Item {
    HashMap::from([
        ("account".to_owned(), text(account)),
        ("id".to_owned(), text(id)),
    ])
}

/// The item of a record. The finding is stored as the sinks write it, its evidence shrunk to a
/// CloudWatch log event's 256 KB when larger, so an item stays under DynamoDB's 400 KB.
pub fn to_item(record: &Record) -> Result<Item, EncodeError> {
    let mut item = key(&record.account, &record.id);
    item.insert("rule".into(), text(&record.rule));
    item.insert("status".into(), text(record.status.as_str()));
    item.insert("first_seen".into(), text(&record.first_seen));
    item.insert("last_seen".into(), text(&record.last_seen));
    item.insert(
        "finding".into(),
        AttributeValue::S(render(
            &record.finding,
            FindingsFormat::Json,
            0,
            MAX_EVENT_BYTES,
        )?),
    );
    for (name, value) in [
        ("resource", &record.resource),
        ("last_sweep", &record.last_sweep),
        ("policy_key", &record.policy_key),
        ("open_key", &record.open_key()),
    ] {
        if let Some(value) = value {
            item.insert(name.into(), text(value));
        }
    }
    Ok(item)
}

/// The record of an item; what is wrong with it, if it is not one.
pub fn from_item(item: &Item) -> Result<Record, String> {
    let get = |name: &str| item.get(name).and_then(AttributeValue::as_s).cloned();
    let need = |name: &str| get(name).ok_or_else(|| format!("an item without `{name}`"));
    let account = need("account")?;
    let id = need("id")?;
    let status: Status = need("status")?
        .parse()
        .map_err(|e| format!("item {account}/{id}: {e}"))?;
    let finding: Finding = serde_json::from_str(&need("finding")?)
        .map_err(|e| format!("item {account}/{id}: its finding cannot be read: {e}"))?;
    Ok(Record {
        rule: need("rule")?,
        resource: get("resource"),
        status,
        first_seen: need("first_seen")?,
        last_seen: need("last_seen")?,
        last_sweep: get("last_sweep"),
        policy_key: get("policy_key"),
        finding,
        account,
        id,
    })
}

impl Store for StateTable {
    type Error = StateError;

    async fn records(&self, ids: &BTreeSet<(String, String)>) -> Result<Vec<Record>, StateError> {
        let calls = self.calls(GET)?;
        let mut records = Vec::new();
        let ids: Vec<&(String, String)> = ids.iter().collect();
        for chunk in ids.chunks(GET_BATCH) {
            let mut pending = Some(KeysAndAttributes {
                keys: chunk.iter().map(|(a, i)| key(a, i)).collect(),
                consistent_read: Some(true),
            });
            let mut attempts = 0;
            while let Some(request) = pending.take() {
                attempts += 1;
                if attempts > BATCH_ATTEMPTS {
                    return Err(self.item_error(format!(
                        "{GET}: keys still unprocessed after {BATCH_ATTEMPTS} calls"
                    )));
                }
                let body = BatchGet {
                    request_items: HashMap::from([(self.table.as_str(), request)]),
                };
                let mut answer = calls
                    .get
                    .send(Request::aws_json(DYNAMODB_TARGET, "BatchGetItem", &body))
                    .await
                    .map_err(|e| self.call_error(AwsError::from_sdk(GET, &e)))?;
                for item in answer.responses.get(&self.table).into_iter().flatten() {
                    records.push(from_item(item).map_err(|e| self.item_error(e))?);
                }
                // Sent again strongly consistent, whether or not the answer repeats it.
                pending = answer
                    .unprocessed_keys
                    .remove(&self.table)
                    .filter(|k| !k.keys.is_empty())
                    .map(|k| KeysAndAttributes {
                        consistent_read: Some(true),
                        ..k
                    });
            }
        }
        Ok(records)
    }

    async fn open(&self, open_key: &str) -> Result<Vec<Record>, StateError> {
        let calls = self.calls(QUERY)?;
        let mut records = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let body = Query {
                table_name: &self.table,
                index_name: OPEN_INDEX,
                key_condition_expression: "open_key = :k",
                expression_attribute_values: HashMap::from([(":k".to_owned(), text(open_key))]),
                exclusive_start_key: start.take(),
            };
            let answer = calls
                .query
                .send(Request::aws_json(DYNAMODB_TARGET, "Query", &body))
                .await
                .map_err(|e| self.call_error(AwsError::from_sdk(QUERY, &e)))?;
            for item in &answer.items {
                records.push(from_item(item).map_err(|e| self.item_error(e))?);
            }
            match answer.last_evaluated_key {
                Some(next) if !next.is_empty() => start = Some(next),
                _ => return Ok(records),
            }
        }
    }

    async fn put(&self, records: &[Record]) -> Result<(), StateError> {
        let calls = self.calls(WRITE)?;
        for chunk in records.chunks(WRITE_BATCH) {
            let mut requests = Vec::with_capacity(chunk.len());
            for record in chunk {
                let item = to_item(record).map_err(|e| self.item_error(e.to_string()))?;
                requests.push(WriteRequest {
                    put_request: PutRequest { item },
                });
            }
            let mut attempts = 0;
            while !requests.is_empty() {
                attempts += 1;
                if attempts > BATCH_ATTEMPTS {
                    return Err(self.item_error(format!(
                        "{WRITE}: {} items still unprocessed after {BATCH_ATTEMPTS} calls",
                        requests.len()
                    )));
                }
                let body = BatchWrite {
                    request_items: HashMap::from([(
                        self.table.as_str(),
                        std::mem::take(&mut requests),
                    )]),
                };
                let mut answer = calls
                    .write
                    .send(Request::aws_json(DYNAMODB_TARGET, "BatchWriteItem", &body))
                    .await
                    .map_err(|e| self.call_error(AwsError::from_sdk(WRITE, &e)))?;
                requests = answer
                    .unprocessed_items
                    .remove(&self.table)
                    .unwrap_or_default();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_dynamodb_json_and_other_types_are_kept_unread() {
        assert_eq!(
            serde_json::to_value(key("111122223333", "abc")).ok(),
            Some(serde_json::json!({"account": {"S": "111122223333"}, "id": {"S": "abc"}}))
        );
        let text = r#"{"id":{"S":"abc"},"n":{"N":"5"},"m":{"M":{"a":{"S":"x"}}},"s":{"S":5}}"#;
        let item: Item = serde_json::from_str(text).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(item["id"].as_s().map(String::as_str), Some("abc"));
        for name in ["n", "m", "s"] {
            assert_eq!(item[name].as_s(), None, "{name}");
        }
        // Sent back (an unprocessed key, a start key) as it came.
        assert_eq!(
            serde_json::to_value(&item).ok(),
            serde_json::from_str::<serde_json::Value>(text).ok()
        );
    }

    #[test]
    fn an_item_reads_back_as_its_record() {
        let finding: Finding = serde_json::from_value(serde_json::json!({
            "id": "abc", "rule_id": "PR001", "rule_name": "x", "severity": "high",
            "message": "m", "account": "111122223333", "region": null, "resource": "r",
            "actor": null, "event": {"id": null, "name": null, "source": null, "time": null,
            "error_code": null}, "evidence": {}, "remediation": "", "status": "new",
            "first_seen": "2026-06-01T00:00:00Z"
        }))
        .unwrap_or_else(|e| unreachable!("{e}"));
        let record = Record {
            account: "111122223333".into(),
            id: "abc".into(),
            rule: "PR001".into(),
            resource: Some("r".into()),
            status: Status::New,
            first_seen: "2026-06-01T00:00:00Z".into(),
            last_seen: "2026-06-01T00:00:00Z".into(),
            last_sweep: None,
            policy_key: Some("role:a:b".into()),
            finding,
        };
        let item = to_item(&record).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(
            item.get("open_key")
                .and_then(AttributeValue::as_s)
                .map(String::as_str),
            Some("policy#111122223333#role:a:b")
        );
        assert!(!item.contains_key("last_sweep"));
        assert_eq!(from_item(&item), Ok(record.clone()));
        // Evidence too large for an item is stored shrunk, as the log group has it.
        let mut huge = record.clone();
        huge.finding.evidence.insert(
            "document".into(),
            serde_json::Value::from("x".repeat(600_000)),
        );
        let item = to_item(&huge).unwrap_or_else(|e| unreachable!("{e}"));
        let stored = item
            .get("finding")
            .and_then(AttributeValue::as_s)
            .map_or(0, String::len);
        assert!(stored <= MAX_EVENT_BYTES, "{stored}");
        assert!(from_item(&item).is_ok_and(|r| r.finding.truncated));
        let mut broken = to_item(&record).unwrap_or_else(|e| unreachable!("{e}"));
        broken.insert("status".into(), text("closed"));
        assert!(from_item(&broken).is_err_and(|e| e.contains("closed")));
    }
}
