//! Our own tolerant CloudTrail record and EventBridge envelope.
//!
//! Only what a rule or a finding needs is kept, every field is optional, scalars of the wrong type
//! are read as text, and the free-form parts (`userIdentity`, `requestParameters`,
//! `responseElements`) stay raw JSON until an evaluated event needs them: in a log archive most
//! records are not watched and should cost no more than a skim.

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::lenient;

#[derive(Debug, Clone, Default)]
pub struct Record {
    pub event_version: Option<String>,
    /// The raw JSON of `userIdentity` (checked as JSON when the record was read), as are
    /// `requestParameters` and `responseElements`; `None` when absent or `null`.
    pub user_identity: Option<Box<str>>,
    pub event_time: Option<String>,
    pub event_source: Option<String>,
    pub event_name: Option<String>,
    pub aws_region: Option<String>,
    pub source_ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub request_parameters: Option<Parameters>,
    pub response_elements: Option<Box<str>>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub event_id: Option<String>,
    pub event_type: Option<String>,
    pub recipient_account_id: Option<String>,
}

/// `requestParameters` as raw JSON (checked as JSON when the record was read), and its value
/// when the reader parsed it on the way (the quick read does: a policy document escaped in it
/// is then scanned once, not twice).
#[derive(Clone)]
pub struct Parameters {
    text: Box<str>,
    value: Option<Value>,
}

impl Parameters {
    pub fn new(text: Box<str>) -> Self {
        Parameters { text, value: None }
    }

    /// `text` with `value`, which must be what [`parse_part`] reads from it.
    pub(super) fn parsed(text: Box<str>, value: Value) -> Self {
        Parameters {
            text,
            value: Some(value),
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    #[cfg(test)]
    pub(super) fn is_parsed(&self) -> bool {
        self.value.is_some()
    }

    /// The value, as [`parse_part`] reads the text: moved out when the reader parsed it.
    pub fn take_value(&mut self) -> Value {
        self.value
            .take()
            .unwrap_or_else(|| parse_part(Some(&self.text)))
    }
}

/// The text only: the value is a function of it.
impl std::fmt::Debug for Parameters {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.debug_tuple("Parameters").field(&self.text).finish()
    }
}

impl Record {
    /// All a skimmed record holds, whichever read skimmed it.
    pub(super) fn skimmed(
        source: Option<String>,
        name: Option<String>,
        id: Option<String>,
    ) -> Self {
        Record {
            event_source: source,
            event_name: name,
            event_id: id,
            ..Record::default()
        }
    }

    /// Drops every field a skimmed record does not hold.
    fn keep_only_names(&mut self) {
        *self = Record::skimmed(
            self.event_source.take(),
            self.event_name.take(),
            self.event_id.take(),
        );
    }
}

/// Which records are read whole, by `(eventSource, eventName)`. In a real trail almost every
/// record is an event nothing watches (EC2, S3, STS, KMS...): such a record is checked as JSON
/// like any other, but only its `eventSource`, `eventName` and `eventID` are kept.
pub type Select<'s> = &'s dyn Fn(&str, &str) -> bool;

impl<'de> Deserialize<'de> for Record {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(RecordVisitor {
            select: None,
            bare: false,
        })
        .map(|r| *r)
    }
}

/// Reads a record's fields from a JSON object, skimming those of a record `select` turns down.
/// Every field is optional, scalars of the wrong type are read as text ([`lenient::string`]),
/// unknown fields are skipped and a repeated field is an error, as serde's derive does.
pub(crate) struct RecordVisitor<'s> {
    pub select: Option<Select<'s>>,
    /// Read only an object that is plainly a bare record: fail at the first key the classifier
    /// decides on, and at the end when neither `eventSource` nor `eventName` was kept, so that
    /// `classify` takes anything else its longer way (and gives it the item and error it did).
    pub bare: bool,
}

/// Why a [`RecordVisitor`] with `bare` stopped; never reported (the caller reads again).
const NOT_BARE: &str = "not plainly a bare record";

/// The fields a record is read for, by their CloudTrail names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    EventVersion,
    UserIdentity,
    EventTime,
    EventSource,
    EventName,
    AwsRegion,
    SourceIpAddress,
    UserAgent,
    RequestParameters,
    ResponseElements,
    ErrorCode,
    ErrorMessage,
    EventId,
    EventType,
    RecipientAccountId,
    /// A key no record field has.
    Other,
    /// A key that tells the classifier the object is something else (a log file's `Records`,
    /// an EventBridge event's `detail`, `source`...): to a record, an unknown key like `Other`.
    Classifier,
}

impl Field {
    /// Every record field, in declaration order (`Field::KNOWN[f as usize] == f`).
    pub(super) const KNOWN: [Field; 15] = [
        Field::EventVersion,
        Field::UserIdentity,
        Field::EventTime,
        Field::EventSource,
        Field::EventName,
        Field::AwsRegion,
        Field::SourceIpAddress,
        Field::UserAgent,
        Field::RequestParameters,
        Field::ResponseElements,
        Field::ErrorCode,
        Field::ErrorMessage,
        Field::EventId,
        Field::EventType,
        Field::RecipientAccountId,
    ];

    /// A `match` on the key, not a search of a table: every key of every record of a log file
    /// comes through here.
    pub(super) fn of(key: &str) -> Field {
        Field::of_bytes(key.as_bytes())
    }

    /// [`Field::of`] of a key's bytes, for a reader that has not checked them as UTF-8 (no
    /// field name matches bytes that are not).
    pub(super) fn of_bytes(key: &[u8]) -> Field {
        match key {
            b"eventVersion" => Field::EventVersion,
            b"userIdentity" => Field::UserIdentity,
            b"eventTime" => Field::EventTime,
            b"eventSource" => Field::EventSource,
            b"eventName" => Field::EventName,
            b"awsRegion" => Field::AwsRegion,
            b"sourceIPAddress" => Field::SourceIpAddress,
            b"userAgent" => Field::UserAgent,
            b"requestParameters" => Field::RequestParameters,
            b"responseElements" => Field::ResponseElements,
            b"errorCode" => Field::ErrorCode,
            b"errorMessage" => Field::ErrorMessage,
            b"eventID" => Field::EventId,
            b"eventType" => Field::EventType,
            b"recipientAccountId" => Field::RecipientAccountId,
            // `classify::Skim`'s keys, besides the two names.
            b"Records" | b"detail" | b"detail-type" | b"source" | b"id" | b"account"
            | b"region" | b"time" => Field::Classifier,
            _ => Field::Other,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Field::EventVersion => "eventVersion",
            Field::UserIdentity => "userIdentity",
            Field::EventTime => "eventTime",
            Field::EventSource => "eventSource",
            Field::EventName => "eventName",
            Field::AwsRegion => "awsRegion",
            Field::SourceIpAddress => "sourceIPAddress",
            Field::UserAgent => "userAgent",
            Field::RequestParameters => "requestParameters",
            Field::ResponseElements => "responseElements",
            Field::ErrorCode => "errorCode",
            Field::ErrorMessage => "errorMessage",
            Field::EventId => "eventID",
            Field::EventType => "eventType",
            Field::RecipientAccountId => "recipientAccountId",
            Field::Other | Field::Classifier => "",
        }
    }

    /// A key that is no record field, skipped when a record is read.
    pub(super) fn is_unknown(self) -> bool {
        matches!(self, Field::Other | Field::Classifier)
    }

    /// The field's bit in a set of fields seen; none for an unknown key.
    pub(super) fn bit(self) -> u16 {
        if self.is_unknown() {
            0
        } else {
            1 << (self as u16)
        }
    }

    /// Kept as raw JSON, not as text.
    pub(super) fn is_raw(self) -> bool {
        matches!(
            self,
            Field::UserIdentity | Field::RequestParameters | Field::ResponseElements
        )
    }

    /// Where a text field is kept in `record`; `None` for the raw parts and unknown fields.
    pub(super) fn text(self, record: &mut Record) -> Option<&mut Option<String>> {
        Some(match self {
            Field::EventVersion => &mut record.event_version,
            Field::EventTime => &mut record.event_time,
            Field::EventSource => &mut record.event_source,
            Field::EventName => &mut record.event_name,
            Field::AwsRegion => &mut record.aws_region,
            Field::SourceIpAddress => &mut record.source_ip_address,
            Field::UserAgent => &mut record.user_agent,
            Field::ErrorCode => &mut record.error_code,
            Field::ErrorMessage => &mut record.error_message,
            Field::EventId => &mut record.event_id,
            Field::EventType => &mut record.event_type,
            Field::RecipientAccountId => &mut record.recipient_account_id,
            Field::UserIdentity
            | Field::RequestParameters
            | Field::ResponseElements
            | Field::Other
            | Field::Classifier => return None,
        })
    }
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_identifier(FieldVisitor)
    }
}

struct FieldVisitor;

impl Visitor<'_> for FieldVisitor {
    type Value = Field;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E: de::Error>(self, key: &str) -> Result<Field, E> {
        Ok(Field::of(key))
    }
    fn visit_bytes<E: de::Error>(self, key: &[u8]) -> Result<Field, E> {
        Ok(Field::of_bytes(key))
    }
}

/// A text field of a skimmed record: checked by [`lenient::check`], not kept.
struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        lenient::check(d).map(|()| Checked)
    }
}

/// Reads one field's value into a record: text ([`lenient::string`]) or raw JSON.
struct FieldSeed<'r> {
    record: &'r mut Record,
    field: Field,
}

impl<'de> DeserializeSeed<'de> for FieldSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let r = self.record;
        match self.field {
            Field::UserIdentity => r.user_identity = raw_text(d)?,
            Field::RequestParameters => r.request_parameters = raw_text(d)?.map(Parameters::new),
            Field::ResponseElements => r.response_elements = raw_text(d)?,
            field => match field.text(r) {
                Some(text) => *text = lenient::string(d)?,
                None => {
                    IgnoredAny::deserialize(d)?;
                }
            },
        }
        Ok(())
    }
}

/// A raw JSON part as its text (a `RawValue` cannot be made from text known to be JSON
/// without parsing it again, which the quick read would then pay).
fn raw_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Box<str>>, D::Error> {
    Ok(Option::<Box<RawValue>>::deserialize(d)?.map(Box::<str>::from))
}

/// The raw JSON parts read before `eventSource` and `eventName` (CloudTrail writes
/// `userIdentity` first), borrowed from the input until the selection decides: copied into the
/// record if it is read whole, never if it is skimmed. Text fields are read as they come: a raw
/// part is checked as JSON the same way borrowed or copied, text would not be (a string that is
/// not UTF-8 would be reported at another column).
#[derive(Default)]
struct Early<'de> {
    user_identity: Option<&'de RawValue>,
    request_parameters: Option<&'de RawValue>,
    response_elements: Option<&'de RawValue>,
}

impl<'de> Early<'de> {
    fn keep(&mut self, field: Field, raw: Option<&'de RawValue>) {
        match field {
            Field::UserIdentity => self.user_identity = raw,
            Field::RequestParameters => self.request_parameters = raw,
            Field::ResponseElements => self.response_elements = raw,
            _ => {}
        }
    }

    /// Copies what was borrowed: already checked as JSON, so not parsed again.
    fn into_record(self, record: &mut Record) {
        let text = |raw: Option<&RawValue>| raw.map(|r| Box::<str>::from(r.get()));
        record.user_identity = text(self.user_identity);
        record.request_parameters = text(self.request_parameters).map(Parameters::new);
        record.response_elements = text(self.response_elements);
    }
}

/// Boxed from the start: a record is about 350 bytes, and a log file's records are handed on
/// through several layers (serde's, the framer's, the item) that would each move it.
impl<'de> Visitor<'de> for RecordVisitor<'_> {
    type Value = Box<Record>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a CloudTrail record")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Box<Record>, A::Error> {
        let mut record = Box::<Record>::default();
        let mut seen = 0u16;
        let both = Field::EventSource.bit() | Field::EventName.bit();
        // Only a selective read borrows (it always reads from a slice); without a selection the
        // record is read from any deserializer.
        let mut early = self.select.map(|_| Early::default());
        let mut skim = false;
        while let Some(field) = map.next_key::<Field>()? {
            if field == Field::Classifier && self.bare {
                return Err(de::Error::custom(NOT_BARE));
            }
            if field.is_unknown() {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            if seen & field.bit() != 0 {
                return Err(de::Error::duplicate_field(field.name()));
            }
            seen |= field.bit();
            let raw = field.is_raw();
            if skim && field != Field::EventId {
                // Not kept, but checked as a whole read checks it: the same parse of a text
                // field, the same raw capture of a JSON part (only unknown fields are skipped,
                // as always).
                if raw {
                    map.next_value::<Option<&'de RawValue>>()?;
                } else {
                    map.next_value::<Checked>()?;
                }
            } else if let (Some(early), true) = (early.as_mut(), raw) {
                early.keep(field, map.next_value::<Option<&'de RawValue>>()?);
            } else {
                map.next_value_seed(FieldSeed {
                    record: &mut record,
                    field,
                })?;
            }
            if let (Some(select), true) = (self.select, early.is_some() && seen & both == both) {
                let source = record.event_source.as_deref().unwrap_or_default();
                let name = record.event_name.as_deref().unwrap_or_default();
                skim = !select(source, name);
                let early = early.take();
                if skim {
                    // What a skimmed record holds does not depend on the order of its fields.
                    record.keep_only_names();
                } else if let Some(early) = early {
                    early.into_record(&mut record);
                }
            }
        }
        // The skim counts a name only when it is there and not `null`; text of any other type
        // is kept, so a name kept here is one the skim counts.
        if self.bare && record.event_source.is_none() && record.event_name.is_none() {
            return Err(de::Error::custom(NOT_BARE));
        }
        // A record without `eventSource` or `eventName`: nothing decided, read whole.
        if let Some(early) = early {
            early.into_record(&mut record);
        }
        Ok(record)
    }
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
    pub fn from_raw(raw: Option<&str>) -> Self {
        // Typed first (the common case, no Value tree); a shape it rejects, such as a
        // `sessionContext` that is a string, falls back to reading what can be read.
        let typed = raw.map(serde_json::from_str::<RawIdentity>);
        let parsed = match typed {
            None => return Self::default(),
            Some(Ok(identity)) => identity,
            Some(Err(_)) => {
                let value = raw
                    .and_then(|r| serde_json::from_str::<Value>(r).ok())
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

/// Parses a raw JSON part into a value; `Value::Null` for a missing part, JSON `null`, or text
/// that is not JSON.
pub fn parse_part(raw: Option<&str>) -> Value {
    raw.and_then(super::parts::value).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUN_INSTANCES: &str = r#"{"eventVersion":"1.08","userIdentity":{"type":"Root"},"eventSource":"ec2.amazonaws.com","eventName":"RunInstances","awsRegion":"us-east-1","requestParameters":{"instanceType":"t3.micro"},"eventID":"e-1","recipientAccountId":"111122223333"}"#;

    fn read(json: &str, select: Option<Select<'_>>) -> serde_json::Result<Box<Record>> {
        serde_json::Deserializer::from_str(json).deserialize_map(RecordVisitor {
            select,
            bare: false,
        })
    }

    #[test]
    fn a_record_turned_down_keeps_its_source_name_and_id_only() {
        let skimmed = read(RUN_INSTANCES, Some(&|_, _| false)).unwrap();
        assert_eq!(skimmed.event_id.as_deref(), Some("e-1"));
        assert_eq!(skimmed.event_name.as_deref(), Some("RunInstances"));
        assert_eq!(skimmed.event_source.as_deref(), Some("ec2.amazonaws.com"));
        // Read before the name, and dropped with the rest.
        assert!(skimmed.event_version.is_none());
        assert!(skimmed.user_identity.is_none());
        assert!(skimmed.aws_region.is_none());
        assert!(skimmed.request_parameters.is_none());
        assert!(skimmed.recipient_account_id.is_none());

        let whole = read(
            RUN_INSTANCES,
            Some(&|source, name| source == "ec2.amazonaws.com" && name == "RunInstances"),
        )
        .unwrap();
        assert_eq!(whole.aws_region.as_deref(), Some("us-east-1"));
        assert_eq!(&*whole.user_identity.unwrap(), r#"{"type":"Root"}"#);
        assert_eq!(whole.event_version.as_deref(), Some("1.08"));
        assert!(whole.request_parameters.is_some());
        assert_eq!(whole.recipient_account_id.as_deref(), Some("111122223333"));
    }

    #[test]
    fn a_skimmed_record_is_still_checked_as_json_and_for_repeated_fields() {
        let repeated = RUN_INSTANCES.replace(r#""awsRegion""#, r#""awsRegion":"x","awsRegion""#);
        let err = read(&repeated, Some(&|_, _| false)).unwrap_err();
        assert!(
            err.to_string().contains("duplicate field `awsRegion`"),
            "{err}"
        );
        let broken = RUN_INSTANCES.replace("t3.micro\"", "t3.micro\" tru");
        assert!(read(&broken, Some(&|_, _| false)).is_err());
        assert!(read(&broken, None).is_err());
    }

    #[test]
    fn a_record_read_whole_is_the_same_with_or_without_a_selection() {
        let debug = |json: &str, select: Option<Select<'_>>| format!("{:?}", read(json, select));
        assert_eq!(
            debug(RUN_INSTANCES, Some(&|_, _| true)),
            debug(RUN_INSTANCES, None)
        );
        // Without a name nothing is decided: read whole.
        let nameless = RUN_INSTANCES.replace(r#""eventName":"RunInstances","#, "");
        assert_eq!(
            debug(&nameless, Some(&|_, _| false)),
            debug(&nameless, None)
        );
        assert!(debug(&nameless, None).contains("Root"));
    }

    #[test]
    fn each_field_is_known_by_its_own_name() {
        // Every variant before `Other` is in the list, each at its own index.
        assert_eq!(Field::KNOWN.len(), Field::Other as usize);
        for (i, field) in Field::KNOWN.into_iter().enumerate() {
            assert_eq!(field as usize, i);
            assert_eq!(Field::of(field.name()), field);
        }
        assert_eq!(Field::of("eventid"), Field::Other);
    }

    #[test]
    fn scalars_of_any_type_are_text_and_unknown_fields_are_skipped() {
        let record = read(
            r#"{"eventName":7,"eventSource":true,"extra":{"eventName":"x"},"eventTime":null}"#,
            None,
        )
        .unwrap();
        assert_eq!(record.event_name.as_deref(), Some("7"));
        assert_eq!(record.event_source.as_deref(), Some("true"));
        assert!(record.event_time.is_none());
    }
}
