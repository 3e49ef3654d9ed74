//! Our own tolerant CloudTrail record and EventBridge envelope.
//!
//! Only what a rule or a finding needs is kept, every field is optional, scalars of the wrong type
//! are read as text, and the free-form parts (`userIdentity`, `requestParameters`,
//! `responseElements`) stay raw JSON until an evaluated event needs them: in a log archive most
//! records are not watched and should cost no more than a skim.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::lenient;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    #[serde(default, deserialize_with = "lenient::string")]
    pub event_version: Option<String>,
    #[serde(default)]
    pub user_identity: Option<Box<RawValue>>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub event_time: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub event_source: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub event_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub aws_region: Option<String>,
    #[serde(
        default,
        rename = "sourceIPAddress",
        deserialize_with = "lenient::string"
    )]
    pub source_ip_address: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub user_agent: Option<String>,
    #[serde(default)]
    pub request_parameters: Option<Box<RawValue>>,
    #[serde(default)]
    pub response_elements: Option<Box<RawValue>>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub error_code: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub error_message: Option<String>,
    #[serde(default, rename = "eventID", deserialize_with = "lenient::string")]
    pub event_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub event_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub recipient_account_id: Option<String>,
}

/// The EventBridge fields around a CloudTrail record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    pub id: Option<String>,
    pub detail_type: Option<String>,
    pub source: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub time: Option<String>,
}

/// The caller, read from `userIdentity`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    pub kind: Option<String>,
    pub arn: Option<String>,
    pub account_id: Option<String>,
    /// `sessionContext.sessionIssuer.arn`: the role behind an assumed-role session. Console
    /// sessions of IAM users carry `"sessionIssuer": {}`, so this is often absent.
    pub issuer_arn: Option<String>,
    pub invoked_by: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawIdentity {
    #[serde(default, rename = "type", deserialize_with = "lenient::string")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    arn: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    account_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    invoked_by: Option<String>,
    #[serde(default)]
    session_context: Option<RawSessionContext>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawSessionContext {
    #[serde(default)]
    session_issuer: Option<RawIssuer>,
}

#[derive(Deserialize, Default)]
struct RawIssuer {
    #[serde(default, deserialize_with = "lenient::string")]
    arn: Option<String>,
}

impl Identity {
    pub fn from_raw(raw: Option<&RawValue>) -> Self {
        // Typed first (the common case, no Value tree); a shape it rejects, such as a
        // `sessionContext` that is a string, falls back to reading what can be read.
        let typed = raw.map(|r| serde_json::from_str::<RawIdentity>(r.get()));
        let parsed = match typed {
            None => return Self::default(),
            Some(Ok(identity)) => identity,
            Some(Err(_)) => {
                let value = raw
                    .and_then(|r| serde_json::from_str::<Value>(r.get()).ok())
                    .unwrap_or(Value::Null);
                let text = |v: Option<&Value>| v.and_then(lenient::text_of);
                RawIdentity {
                    kind: text(value.get("type")),
                    arn: text(value.get("arn")),
                    account_id: text(value.get("accountId")),
                    invoked_by: text(value.get("invokedBy")),
                    session_context: Some(RawSessionContext {
                        session_issuer: Some(RawIssuer {
                            arn: text(value.pointer("/sessionContext/sessionIssuer/arn")),
                        }),
                    }),
                }
            }
        };
        let non_empty = |s: Option<String>| s.filter(|s| !s.is_empty());
        Identity {
            kind: non_empty(parsed.kind),
            arn: non_empty(parsed.arn),
            account_id: non_empty(parsed.account_id),
            issuer_arn: non_empty(
                parsed
                    .session_context
                    .and_then(|c| c.session_issuer)
                    .and_then(|i| i.arn),
            ),
            invoked_by: non_empty(parsed.invoked_by),
        }
    }

    /// Who a finding is about: the session issuer when there is one (so an exception for a role
    /// covers all its sessions), else the caller's own ARN.
    pub fn actor(&self) -> Option<&str> {
        self.issuer_arn.as_deref().or(self.arn.as_deref())
    }
}

/// Parses a raw JSON part into a value; `None` for a missing part or JSON `null`.
pub fn parse_part(raw: Option<&RawValue>) -> Value {
    raw.and_then(|r| serde_json::from_str(r.get()).ok())
        .unwrap_or(Value::Null)
}
