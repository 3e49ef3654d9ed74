//! Decoding what arrives: bytes to records ([`stream`]), records to evaluated events ([`Event`]).
//!
//! Bytes to records in layers: [`sniff`] (gzip, byte-order mark), [`frame`] (each record's
//! bytes, limits), [`classify`] (a record's bytes to an item), [`position`] (lines and columns),
//! and the two strategies in [`stream`] that drive them.

mod classify;
mod frame;
pub mod lenient;
mod parts;
mod position;
mod quick;
pub mod record;
mod sniff;
pub mod stream;

pub use record::{Envelope, Identity, Parameters, Record, Select};
pub use stream::{
    read_items, read_items_selecting, read_items_with, read_slice, read_slice_selecting,
    read_slice_with, Item, Options, Position,
};

use serde_json::Value;

/// A record chosen for evaluation, with its free-form parts parsed once.
#[derive(Debug, Clone)]
pub struct Event {
    pub record: Record,
    pub envelope: Option<Envelope>,
    pub identity: Identity,
    /// `requestParameters`; `Value::Null` when absent or `null`.
    pub params: Value,
    /// `responseElements`, parsed on first use: few rules read it.
    response: std::cell::OnceCell<Value>,
}

impl Event {
    pub fn new(mut record: Record, envelope: Option<Envelope>) -> Self {
        let identity = Identity::from_raw(record.user_identity.as_deref());
        let params = record
            .request_parameters
            .as_mut()
            .map_or(Value::Null, record::Parameters::take_value);
        Event {
            record,
            envelope,
            identity,
            params,
            response: std::cell::OnceCell::new(),
        }
    }

    /// `responseElements`; `Value::Null` when absent or `null`. May be a string (`"None"`).
    pub fn response(&self) -> &Value {
        self.response
            .get_or_init(|| record::parse_part(self.record.response_elements.as_deref()))
    }

    /// `eventID`, else the EventBridge event id.
    pub fn id(&self) -> Option<&str> {
        self.record
            .event_id
            .as_deref()
            .or(self.envelope.as_ref().and_then(|e| e.id.as_deref()))
    }

    /// [`Event::id`], moved out of the event.
    pub fn into_id(self) -> Option<String> {
        self.record
            .event_id
            .or_else(|| self.envelope.and_then(|e| e.id))
    }

    pub fn name(&self) -> &str {
        self.record.event_name.as_deref().unwrap_or_default()
    }

    pub fn source(&self) -> &str {
        self.record.event_source.as_deref().unwrap_or_default()
    }

    pub fn region(&self) -> Option<&str> {
        self.record
            .aws_region
            .as_deref()
            .or(self.envelope.as_ref().and_then(|e| e.region.as_deref()))
    }

    /// The account the event happened in.
    pub fn account(&self) -> Option<&str> {
        self.record
            .recipient_account_id
            .as_deref()
            .or(self.envelope.as_ref().and_then(|e| e.account.as_deref()))
            .or(self.identity.account_id.as_deref())
    }

    pub fn time(&self) -> Option<&str> {
        self.record
            .event_time
            .as_deref()
            .or(self.envelope.as_ref().and_then(|e| e.time.as_deref()))
    }

    /// The call was refused or failed (`errorCode` set).
    pub fn error_code(&self) -> Option<&str> {
        self.record.error_code.as_deref().filter(|c| !c.is_empty())
    }

    pub fn failed(&self) -> bool {
        self.error_code().is_some()
    }

    /// A request parameter by dotted path (`conversationLogs.iamRoleArn`). Keys are looked up as
    /// written, then case-insensitively, because Connect writes PascalCase where IAM writes
    /// camelCase.
    pub fn param(&self, path: &str) -> Option<&Value> {
        lookup(&self.params, path)
    }

    /// A request parameter as text, URL-decoded when it holds an encoded ARN (Connect's
    /// `InstanceId`).
    pub fn param_text(&self, path: &str) -> Option<String> {
        self.param(path)
            .and_then(lenient::text_of)
            .map(|t| url_decoded(&t))
            .filter(|t| !t.is_empty())
    }

    pub fn response_text(&self, path: &str) -> Option<String> {
        lookup(self.response(), path)
            .and_then(lenient::text_of)
            .map(|t| url_decoded(&t))
            .filter(|t| !t.is_empty())
    }
}

/// Looks up a dotted path in a JSON value, exact key first, then ignoring ASCII case.
pub fn lookup<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(root, |value, key| {
        let map = value.as_object()?;
        map.get(key).or_else(|| {
            map.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        })
    })
}

/// `arn%3Aaws%3Aconnect...` as `arn:aws:connect...`; other text unchanged.
pub fn url_decoded(text: &str) -> String {
    if text.contains("%3A") || text.contains("%3a") || text.contains("%2F") {
        percent_encoding::percent_decode_str(text)
            .decode_utf8_lossy()
            .into_owned()
    } else {
        text.to_owned()
    }
}

/// The names of event files: what the CLI reads from a folder and from an S3 prefix, and what
/// the function takes as a trail log file.
pub const EVENT_FILE_EXTENSIONS: [&str; 4] = [".json", ".jsonl", ".ndjson", ".gz"];

/// Whether `name` (a path or an S3 key) ends in one of [`EVENT_FILE_EXTENSIONS`], in any case.
pub fn is_event_file(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    EVENT_FILE_EXTENSIONS.iter().any(|ext| name.ends_with(ext))
}

#[cfg(test)]
mod tests {
    #[test]
    fn event_files_are_named_alike_on_disk_and_in_s3() {
        for name in [
            "a.json",
            "a.JSON",
            "x/y.json.gz",
            "l.jsonl",
            "l.ndjson",
            "t.GZ",
        ] {
            assert!(super::is_event_file(name), "{name}");
        }
        for name in ["a.csv", "digest.json.gz.sig", "README", "a.json.bak"] {
            assert!(!super::is_event_file(name), "{name}");
        }
    }
}
