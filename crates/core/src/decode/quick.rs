//! The quick read: a record (skimmed or whole) or an EventBridge event carrying one, in one
//! pass of our own.
//!
//! In a real trail almost every record is an event no rule watches, and reading one through
//! serde costs three times what skimming its bytes does: every top-level key is parsed and
//! matched, every string of a kept field is checked, the raw parts are captured. A record read
//! whole (a watched one, an event given alone, the Lambda's EventBridge event) pays the same
//! layers, and its `requestParameters` were scanned once for the capture and again for their
//! value. Here a record is read in one pass when it is plainly well formed: keys without
//! escapes, known text fields that are plain strings or `null`, JSON that this pass accepts only
//! where serde_json accepts it too (strings, escapes, numbers, literals, nesting), no control
//! byte and valid UTF-8 anywhere; a record read whole has its parameters parsed on the way
//! ([`parts::plain_prefix`]). Anything else (an escaped key, a number where text was expected,
//! a repeated field, damage of any kind) is left to the serde read, which reports it exactly
//! as before. So this path never decides an error and never accepts what the serde read would
//! reject; its records equal the serde read's field for field (the tests below hold it to that
//! at every byte of damaged records, in each reading).

use super::classify::is_cloudtrail;
use super::frame::plain_stop;
use super::parts;
use super::record::{Envelope, Field, Parameters, Record, Select};

/// Nesting this pass follows before it leaves the record to serde: it recurses once per level,
/// and no CloudTrail record comes near this.
const MAX_NESTING: u32 = 64;

/// How a record is read by this pass, as [`super::record::RecordVisitor`] with the same
/// `select` and `bare` reads it; `max_depth` as framing counts it (the record itself is 1).
#[derive(Clone, Copy)]
pub(super) struct Reading<'s> {
    /// A record this turns down keeps only `eventSource`, `eventName` and `eventID`; `None`:
    /// every record is read whole.
    pub select: Option<Select<'s>>,
    /// Only a plainly bare record: none of the classifier's keys, a name kept.
    pub bare: bool,
    pub max_depth: u32,
}

/// The record at the start of `bytes`, when it is plainly well formed: the record as the
/// serde read gives it and how many bytes it took. `None`: read it with serde.
pub(super) fn record(bytes: &[u8], reading: Reading<'_>) -> Option<(Box<Record>, usize)> {
    let mut scan = Scan {
        bytes,
        at: 0,
        nesting: reading.max_depth.min(MAX_NESTING),
        high: false,
    };
    if scan.nesting == 0 {
        return None;
    }
    scan.eat(b'{')?;
    scan.blank();
    if scan.peek()? == b'}' {
        // Nothing to decide on: the serde read takes it whole.
        return None;
    }
    // Each known field's text (a string's content) or raw JSON, borrowed until the record is
    // known to be well formed; `None` for `null` or absent.
    let mut kept: [Option<&[u8]>; FIELDS] = [None; FIELDS];
    let mut seen = 0u16;
    let both = Field::EventSource.bit() | Field::EventName.bit();
    // Whether the record is read whole, once known: then `requestParameters` is parsed on the
    // way (see `Parameters`), which the scan alone would only check.
    let mut whole = reading.select.is_none();
    let mut decided = whole;
    let mut parameters = None;
    // The names as the selection was given them (`None`: `null`), for a record it turns down.
    let mut names = (None, None);
    loop {
        let field = Field::of_bytes(scan.plain_string()?);
        if reading.bare && field == Field::Classifier {
            return None;
        }
        scan.blank();
        scan.eat(b':')?;
        scan.blank();
        if !field.is_unknown() {
            if seen & field.bit() != 0 {
                return None;
            }
            seen |= field.bit();
        }
        if field.is_unknown() {
            scan.value(1)?;
        } else if field.is_raw() {
            let start = scan.at;
            let parsed = match (whole, field) {
                // The part nests one level below the record, at most as deep as the scan.
                // Not at a blank this pass does not take (a tab, a line break): `parts` would
                // take it into the part's text, which serde_json's capture starts after.
                (true, Field::RequestParameters)
                    if !matches!(scan.peek(), Some(b'\t' | b'\n' | b'\r')) =>
                {
                    let max_depth = scan.nesting.saturating_sub(1) as usize;
                    parts::plain_prefix(bytes.get(start..)?, max_depth)
                }
                _ => None,
            };
            match parsed {
                Some((value, used)) => {
                    scan.at = start + used;
                    parameters = Some(value);
                }
                None => scan.value(1)?,
            }
            let raw = bytes.get(start..scan.at)?;
            *kept.get_mut(field as usize)? = (raw != b"null").then_some(raw);
        } else {
            // Any text field: a plain string or `null` only, here (its UTF-8 is checked when
            // it is converted: the names at once, for the selection).
            *kept.get_mut(field as usize)? = scan.text()?;
            if let (Some(select), false, true) = (reading.select, decided, seen & both == both) {
                let name = |field: Field| -> Option<Option<&str>> {
                    let text = kept.get(field as usize).copied().flatten();
                    text.map(std::str::from_utf8).transpose().ok()
                };
                let (source, name) = (name(Field::EventSource)?, name(Field::EventName)?);
                whole = select(source.unwrap_or_default(), name.unwrap_or_default());
                decided = true;
                names = (source, name);
            }
        }
        scan.blank();
        match scan.next()? {
            b',' => scan.blank(),
            b'}' => break,
            _ => return None,
        }
    }
    // Every string this pass scanned was checked for control bytes and bytes past ASCII on the
    // way, and outside strings it takes nothing but ASCII, so only a record with such a byte is
    // read again (for UTF-8). Parameters parsed by `parts` were checked by it as serde_json
    // checks them: no control byte in a string, each string's UTF-8, blanks between tokens.
    if scan.high && std::str::from_utf8(bytes.get(..scan.at)?).is_err() {
        return None;
    }
    let text = |field: Field| -> Option<Option<&str>> {
        kept.get(field as usize)?
            .map(std::str::from_utf8)
            .transpose()
            .ok()
    };
    if !decided {
        // A record without both names is read whole by serde, whatever it is.
        return None;
    }
    if !whole {
        let owned = |text: Option<&str>| text.map(str::to_owned);
        let (source, name) = names;
        if reading.bare && source.is_none() && name.is_none() {
            return None;
        }
        let id = text(Field::EventId)?;
        let record = Record::skimmed(owned(source), owned(name), owned(id));
        return Some((Box::new(record), scan.at));
    }
    if reading.bare && text(Field::EventSource)?.is_none() && text(Field::EventName)?.is_none() {
        return None;
    }
    let mut record = Box::<Record>::default();
    for field in Field::KNOWN {
        let Some(value) = text(field)? else {
            continue;
        };
        match field.text(&mut record) {
            Some(slot) => *slot = Some(value.to_owned()),
            None => match field {
                Field::UserIdentity => record.user_identity = Some(value.into()),
                Field::RequestParameters => {
                    record.request_parameters = Some(match parameters.take() {
                        Some(parsed) => Parameters::parsed(value.into(), parsed),
                        None => Parameters::new(value.into()),
                    })
                }
                Field::ResponseElements => record.response_elements = Some(value.into()),
                _ => {}
            },
        }
    }
    Some((record, scan.at))
}

/// An EventBridge event carrying a CloudTrail record at the start of `bytes`, when it is
/// plainly one and plainly well formed, as the one-pass serde read (`classify::leading_event`)
/// reads it: its envelope (each field a plain string or `null`, once), its `detail` read as
/// [`record`] reads a record whole, a CloudTrail detail type, no record's name or log file's
/// `Records` at the top. `None`: read it with serde.
pub(super) fn event(bytes: &[u8], max_depth: u32) -> Option<(Envelope, Box<Record>, usize)> {
    let mut scan = Scan {
        bytes,
        at: 0,
        nesting: max_depth.min(MAX_NESTING),
        high: false,
    };
    scan.eat(b'{')?;
    scan.blank();
    let mut envelope = Envelope::default();
    let mut record = None;
    let mut seen = 0u8;
    loop {
        let key = scan.plain_string()?;
        scan.blank();
        scan.eat(b':')?;
        scan.blank();
        let field = match key {
            b"id" => Some((1, &mut envelope.id)),
            b"detail-type" => Some((2, &mut envelope.detail_type)),
            b"source" => Some((4, &mut envelope.source)),
            b"account" => Some((8, &mut envelope.account)),
            b"region" => Some((16, &mut envelope.region)),
            b"time" => Some((32, &mut envelope.time)),
            b"detail" => {
                // As the serde read: another kind of event is left before its detail is read.
                let other = seen & 2 != 0 && !is_cloudtrail(&envelope);
                if record.is_some() || other || scan.peek()? != b'{' {
                    return None;
                }
                let reading = Reading {
                    select: None,
                    bare: false,
                    // The detail is the envelope's level 2.
                    max_depth: scan.nesting.checked_sub(1)?,
                };
                let (read, used) = self::record(bytes.get(scan.at..)?, reading)?;
                record = Some(read);
                scan.at += used;
                None
            }
            b"Records" | b"eventName" | b"eventSource" => return None,
            _ => {
                scan.value(1)?;
                None
            }
        };
        if let Some((bit, slot)) = field {
            if seen & bit != 0 {
                return None;
            }
            seen |= bit;
            *slot = scan
                .text()?
                .map(|t| std::str::from_utf8(t).map(str::to_owned))
                .transpose()
                .ok()?;
        }
        scan.blank();
        match scan.next()? {
            b',' => scan.blank(),
            b'}' => break,
            _ => return None,
        }
    }
    if !plain_text(bytes.get(..scan.at)?) || !is_cloudtrail(&envelope) {
        return None;
    }
    Some((envelope, record?, scan.at))
}

/// How many known fields there are: [`Field`]'s variants before `Other`.
const FIELDS: usize = Field::Other as usize;

/// No control byte (serde_json rejects one inside a string; outside one, this pass takes only
/// spaces) and valid UTF-8 (which serde_json checks in kept text and raw parts).
fn plain_text(bytes: &[u8]) -> bool {
    // One pass for both: chunks folded without an early exit, so that the compiler vectorises
    // the test; only a record with a byte past ASCII is read again, for UTF-8.
    let mut ascii = true;
    for chunk in bytes.chunks(64) {
        let (control, high) = chunk.iter().fold((false, false), |(control, high), &b| {
            (control | (b < 0x20), high | (b >= 0x80))
        });
        if control {
            return false;
        }
        ascii &= !high;
    }
    ascii || std::str::from_utf8(bytes).is_ok()
}

struct Scan<'b> {
    bytes: &'b [u8],
    at: usize,
    /// The deepest level followed; the record is level 1.
    nesting: u32,
    /// Whether a string held a byte past ASCII (its UTF-8 is checked with the whole record's).
    high: bool,
}

impl<'b> Scan<'b> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.at += 1;
        Some(b)
    }

    fn eat(&mut self, want: u8) -> Option<()> {
        (self.next()? == want).then_some(())
    }

    /// Spaces only: a tab or a line break is a control byte, which leaves the record to serde.
    fn blank(&mut self) {
        while self.peek() == Some(b' ') {
            self.at += 1;
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at.checked_add(word.len())?;
        (self.bytes.get(self.at..end)? == word).then(|| self.at = end)
    }

    /// A text field's value as this pass reads one: a plain string (its content) or `null`.
    fn text(&mut self) -> Option<Option<&'b [u8]>> {
        match self.peek()? {
            b'"' => self.plain_string().map(Some),
            b'n' => self.literal(b"null").map(|()| None),
            _ => None,
        }
    }

    /// A string without escapes; its content.
    fn plain_string(&mut self) -> Option<&'b [u8]> {
        self.eat(b'"')?;
        let start = self.at;
        let end = self.stop()?;
        match self.next()? {
            b'"' => self.bytes.get(start..end),
            _ => None,
        }
    }

    /// A string, escapes checked as serde_json checks them in a string it skips.
    fn string(&mut self) -> Option<()> {
        self.eat(b'"')?;
        loop {
            self.stop()?;
            match self.next()? {
                b'"' => return Some(()),
                _ => self.escape()?,
            }
        }
    }

    /// Inside a string: on to the next `"` or `\` (where it stops, returned), past bytes
    /// beyond ASCII (noted); `None` at a control byte, which serde_json rejects in a string.
    // Called for every string: kept inlined into its callers whatever else uses the search
    // (without the hint, a third user of `first_hit` made this a call: 6.6% more instructions
    // on the realistic trail).
    #[inline]
    fn stop(&mut self) -> Option<usize> {
        loop {
            let rest = self.bytes.get(self.at..)?;
            self.at += plain_stop(rest)?;
            match self.peek()? {
                b'"' | b'\\' => return Some(self.at),
                b if b >= 0x80 => {
                    self.high = true;
                    self.at += 1;
                }
                _ => return None,
            }
        }
    }

    /// After a backslash: an escape as serde_json checks one in a string it skips.
    fn escape(&mut self) -> Option<()> {
        match self.next()? {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Some(()),
            b'u' => {
                for _ in 0..4 {
                    if !self.next()?.is_ascii_hexdigit() {
                        return None;
                    }
                }
                Some(())
            }
            _ => None,
        }
    }

    /// Any JSON value, at nesting `depth`.
    fn value(&mut self, depth: u32) -> Option<()> {
        match self.peek()? {
            b'"' => self.string(),
            b'{' => self.container(depth, b'}', true),
            b'[' => self.container(depth, b']', false),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    /// An object (`keyed`) or an array at level `depth + 1`, from its opening bracket to
    /// `close`.
    fn container(&mut self, depth: u32, close: u8, keyed: bool) -> Option<()> {
        if depth >= self.nesting {
            return None;
        }
        self.at += 1;
        self.blank();
        if self.peek()? == close {
            self.at += 1;
            return Some(());
        }
        loop {
            if keyed {
                self.string()?;
                self.blank();
                self.eat(b':')?;
                self.blank();
            }
            self.value(depth + 1)?;
            self.blank();
            match self.next()? {
                b',' => self.blank(),
                b if b == close => return Some(()),
                _ => return None,
            }
        }
    }

    /// A number as JSON writes one: `-`, then `0` or digits not starting with `0`, then an
    /// optional fraction and exponent, each with at least one digit.
    fn number(&mut self) -> Option<()> {
        if self.peek()? == b'-' {
            self.at += 1;
        }
        match self.next()? {
            b'0' => {
                if self.peek().is_some_and(|b| b.is_ascii_digit()) {
                    return None;
                }
            }
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            self.some_digits()?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            self.some_digits()?;
        }
        Some(())
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
    }

    fn some_digits(&mut self) -> Option<()> {
        if !self.peek()?.is_ascii_digit() {
            return None;
        }
        self.digits();
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::classify::{leading_bare, leading_event, leading_record};

    /// Records as CloudTrail writes them, none of them watched: nested parts, numbers,
    /// booleans, escapes and non-ASCII text in values, an unknown field, `null`s.
    const RECORDS: [&str; 4] = [
        r#"{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROA:i-0ab","arn":"arn:aws:sts::111122223333:assumed-role/app/i-0ab","accountId":"111122223333","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111122223333:role/app"},"attributes":{"creationDate":"2024-05-06T13:00:00Z","mfaAuthenticated":"false"},"ec2RoleDelivery":"2.0"}},"eventTime":"2024-05-06T13:36:08Z","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","awsRegion":"eu-west-2","sourceIPAddress":"203.0.113.10","userAgent":"aws-cli/2.15.0 Python/3.11","requestParameters":{"instancesSet":{"items":[{"imageId":"ami-0abc","minCount":1,"maxCount":-2}]},"blockDeviceMapping":{"items":[{"deviceName":"/dev/xvda","ebs":{"volumeSize":8.5e1,"deleteOnTermination":true,"iops":0}}]},"tagSpecificationSet":{"items":[{"tags":[{"key":"Name","value":"caf\u00e9 \"prod\" \\ x"}]}]},"monitoring":{"enabled":false},"userData":null},"responseElements":null,"requestID":"5f2c","eventID":"0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","clientProvidedHostHeader":"ec2.eu-west-2.amazonaws.com"}}"#,
        r#"{"eventVersion":"1.08","eventTime":"2024-05-06T13:36:09Z","eventSource":"s3.amazonaws.com","eventName":"GetBucketAcl","awsRegion":"us-east-1","errorCode":null,"requestParameters":{"bucketName":"logs-ü","Host":"logs.s3.amazonaws.com","acl":""},"additionalEventData":{"bytesTransferredIn":0,"x-amz-id-2":"a/b+c="},"eventID":"e-2","eventType":"AwsApiCall","resources":[],"recipientAccountId":"111122223333"}"#,
        r#"{ "eventSource" : "kms.amazonaws.com" , "eventName" : "Decrypt" , "eventID" : "e-3" , "requestParameters" : { "encryptionContext" : { } , "keys" : [ ] } }"#,
        // The id before the names, a name that is `null`, nesting, an escape in a nested key.
        r#"{"eventID":"e-4","eventVersion":"1.08","eventSource":null,"eventName":"Describe","x":[[[-0.5E-3,{"k\n":[]}]]]}"#,
    ];

    fn select(_source: &str, name: &str) -> bool {
        name == "PutRolePolicy"
    }

    fn turned_down(bytes: &[u8]) -> Option<(Box<Record>, usize)> {
        record(bytes, reading(Some(&select), false))
    }

    fn reading(select: Option<Select<'_>>, bare: bool) -> Reading<'_> {
        Reading {
            select,
            bare,
            max_depth: 128,
        }
    }

    /// The readings: turning down what `select` does not watch, whole, and bare.
    fn readings() -> [Reading<'static>; 3] {
        [
            reading(Some(&select), false),
            reading(None, false),
            reading(None, true),
        ]
    }

    /// The quick read may decline anything, but what it reads must be what serde reads.
    fn agrees_with(bytes: &[u8], reading: Reading<'_>) -> bool {
        let Some((quick, used)) = record(bytes, reading) else {
            return false;
        };
        let serde = match reading.bare {
            true => leading_bare(bytes),
            false => leading_record(bytes, reading.select),
        };
        assert_eq!(
            serde.map(|(r, n)| (format!("{r:?}"), n)),
            Some((format!("{quick:?}"), used)),
            "{}",
            String::from_utf8_lossy(bytes)
        );
        // The parameters parsed on the way are what serde_json reads their text as (not
        // `parse_part`, which may use the same reader).
        if let Some(mut parameters) = quick.request_parameters.clone() {
            let text = parameters.text().to_owned();
            let serde = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
            assert_eq!(parameters.take_value(), serde, "{text}");
        }
        true
    }

    fn agrees_all(bytes: &[u8]) -> bool {
        readings()
            .into_iter()
            .all(|reading| agrees_with(bytes, reading))
    }

    #[test]
    fn a_plain_record_is_read_quickly_and_as_serde_reads_it() {
        for record in RECORDS {
            assert!(agrees_all(record.as_bytes()), "{record}");
            // What follows the record (the next one, the end of `Records`) is not taken.
            assert!(agrees_all(format!("{record},\n{record}]}}").as_bytes()));
        }
        let (quick, _) = turned_down(RECORDS[0].as_bytes()).unwrap();
        assert_eq!(quick.event_name.as_deref(), Some("RunInstances"));
        assert_eq!(quick.event_source.as_deref(), Some("ec2.amazonaws.com"));
        assert!(quick.event_version.is_none());
        assert_eq!(
            quick.event_id.as_deref(),
            Some("0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0")
        );
        assert!(quick.aws_region.is_none() && quick.request_parameters.is_none());
        // Read whole: every field, the raw parts as their text.
        let (whole, _) = record(RECORDS[0].as_bytes(), reading(None, true)).unwrap();
        assert_eq!(whole.aws_region.as_deref(), Some("eu-west-2"));
        let parameters = whole.request_parameters.unwrap();
        assert!(parameters.text().starts_with(r#"{"instancesSet""#));
        // A float in it: left to serde_json by the parameters' own pass, parsed later.
        assert!(!parameters.is_parsed());
        let (plain, _) = record(RECORDS[2].as_bytes(), reading(None, false)).unwrap();
        assert!(plain.request_parameters.unwrap().is_parsed());
        assert!(whole
            .user_identity
            .unwrap()
            .ends_with(r#""ec2RoleDelivery":"2.0"}}"#));
        assert!(whole.response_elements.is_none());
        // A watched record under a selection is read whole too.
        let watched = RECORDS[1].replace("GetBucketAcl", "PutRolePolicy");
        let (whole, _) = turned_down(watched.as_bytes()).unwrap();
        assert_eq!(whole.event_type.as_deref(), Some("AwsApiCall"));
        assert!(agrees_all(watched.as_bytes()));
        // Text past ASCII, read in one pass too: in a key, in the names given to the selection,
        // in the id a turned-down record keeps, in a value it skims.
        let accented =
            r#"{"eventSource":"s.amazonaws.com","eventName":"Décrire","é":"ü","eventID":"ü-1"}"#;
        assert!(agrees_all(accented.as_bytes()));
        let (quick, _) = turned_down(accented.as_bytes()).unwrap();
        assert_eq!(quick.event_name.as_deref(), Some("Décrire"));
        assert_eq!(quick.event_id.as_deref(), Some("ü-1"));
    }

    #[test]
    fn what_is_unusual_is_left_to_serde() {
        let escaped_key = RECORDS[1].replace(r#""eventID""#, r#""event\u0049D""#);
        let escaped_text = RECORDS[1].replace("2024-05-06T13:36:09Z", r#"2024\/05"#);
        let number_as_text = RECORDS[1].replace(r#""eventType":"AwsApiCall""#, r#""eventType":7"#);
        let repeated = RECORDS[1].replace(r#""eventType""#, r#""eventType":"x","eventType""#);
        let tab = RECORDS[2].replace(" , ", "\t, ");
        for bytes in [
            escaped_key,
            escaped_text,
            number_as_text,
            repeated,
            tab,
            "{}".to_owned(),
        ] {
            for reading in readings() {
                assert!(record(bytes.as_bytes(), reading).is_none(), "{bytes}");
            }
        }
        // Without both names nothing is decided: left to serde under a selection, read whole
        // without one.
        let nameless = RECORDS[1].replace(r#""eventName":"GetBucketAcl","#, "");
        assert!(turned_down(nameless.as_bytes()).is_none());
        assert!(agrees_with(nameless.as_bytes(), reading(None, false)));
        assert!(agrees_with(nameless.as_bytes(), reading(None, true)));
        // A bare read takes no key the classifier decides on, and no record whose names are
        // both missing or `null`.
        let detail = RECORDS[1].replace(r#""eventType""#, r#""detail":{},"eventType""#);
        let unnamed = RECORDS[3].replace(r#""eventName":"Describe""#, r#""eventName":null"#);
        for bytes in [detail, unnamed] {
            assert!(
                record(bytes.as_bytes(), reading(None, true)).is_none(),
                "{bytes}"
            );
            assert!(
                agrees_with(bytes.as_bytes(), reading(None, false)),
                "{bytes}"
            );
        }
        // A bad byte in an unknown field: serde skips it unchecked and reads the record; this
        // pass checks every byte, and leaves it to serde.
        let mut bad_utf8 = RECORDS[1].as_bytes().to_vec();
        let at = RECORDS[1].find("a/b+c=").unwrap();
        bad_utf8[at] = 0xff;
        for reading in readings() {
            assert!(record(&bad_utf8, reading).is_none());
        }
        assert!(leading_record(&bad_utf8, Some(&select)).is_some());
    }

    /// The sample record inside an EventBridge event, as EventBridge writes one.
    fn event_text() -> String {
        format!(
            r#"{{"version":"0","id":"6f8c","detail-type":"AWS API Call via CloudTrail","source":"aws.iam","account":"111122223333","time":"2024-05-06T13:36:08Z","region":"us-east-1","resources":[],"detail":{}}}"#,
            RECORDS[0]
        )
    }

    fn event_agrees(bytes: &[u8]) -> bool {
        let Some((envelope, record, used)) = event(bytes, 128) else {
            return false;
        };
        let serde = leading_event(bytes);
        assert_eq!(
            serde.map(|(e, r, n)| format!("{e:?} {r:?} {n}")),
            Some(format!("{envelope:?} {record:?} {used}")),
            "{}",
            String::from_utf8_lossy(bytes)
        );
        true
    }

    #[test]
    fn a_plain_event_is_read_quickly_and_as_serde_reads_it() {
        let text = event_text();
        assert!(event_agrees(text.as_bytes()));
        let (envelope, record, _) = event(text.as_bytes(), 128).unwrap();
        assert_eq!(envelope.source.as_deref(), Some("aws.iam"));
        assert_eq!(record.event_name.as_deref(), Some("RunInstances"));
        // Left to serde: another detail type (before or after the detail), a key twice, a
        // record's name at the top, a detail that is no object, too deep for the limit.
        for other in [
            text.replace("AWS API Call via CloudTrail", "Object Created"),
            text.replace(r#""detail-type":"AWS API Call via CloudTrail","#, "")
                .replace(
                    r#""resources":[],"#,
                    r#""resources":[],"detail-type":"Scheduled Event","#,
                ),
            text.replace(r#""region""#, r#""region":"x","region""#),
            text.replace(r#""resources""#, r#""eventName":"x","resources""#),
            text.replace(r#""detail":{"#, r#""detail":[],"x":{"#),
        ] {
            assert!(event(other.as_bytes(), 128).is_none(), "{other}");
        }
        // The detail nests one level deeper than the record alone: over the limit, left
        // (serde's read does not know the limit; framing then reports it).
        let depth = (1..20)
            .find(|&max_depth| {
                let alone = Reading {
                    max_depth,
                    ..reading(None, false)
                };
                super::record(RECORDS[0].as_bytes(), alone).is_some()
            })
            .unwrap();
        assert!(depth > 3, "{depth}");
        assert!(event(text.as_bytes(), depth).is_none());
        assert!(event(text.as_bytes(), depth + 1).is_some());
        assert!(leading_event(text.as_bytes()).is_some());
    }

    /// `bytes` damaged at `at`: the byte replaced by each byte that matters to JSON, removed,
    /// doubled, or cut there.
    fn damaged_at(bytes: &[u8], at: usize) -> Vec<Vec<u8>> {
        const BYTES: &[u8] = b"\"\\{}[],: \t\n0-.eE+u9nx\x01\x7f\xc3\xff";
        let mut cases: Vec<Vec<u8>> = BYTES
            .iter()
            .map(|&b| {
                let mut damaged = bytes.to_vec();
                damaged[at] = b;
                damaged
            })
            .collect();
        let mut removed = bytes.to_vec();
        removed.remove(at);
        let mut doubled = bytes.to_vec();
        doubled.insert(at, bytes[at]);
        cases.extend([removed, doubled, bytes[..at].to_vec()]);
        cases
    }

    /// As for records: every byte of the event damaged; whatever the quick read takes, the
    /// serde read takes the same.
    #[test]
    fn damage_at_any_byte_never_makes_the_quick_event_read_differ_from_serde() {
        let text = event_text();
        let event = text.as_bytes();
        let mut accepted = 0;
        for at in 0..event.len() {
            let cases = damaged_at(event, at);
            accepted += cases.iter().filter(|case| event_agrees(case)).count();
        }
        assert!(accepted > 1000, "{accepted}");
    }

    /// Every byte of each record replaced by bytes that matter to JSON, removed, or doubled:
    /// whatever the quick read accepts, serde reads the same, in each reading.
    #[test]
    fn damage_at_any_byte_never_makes_the_quick_read_differ_from_serde() {
        let mut accepted = [0; 3];
        for record in RECORDS {
            let record = record.as_bytes();
            for at in 0..record.len() {
                let cases = damaged_at(record, at);
                for (n, reading) in readings().into_iter().enumerate() {
                    accepted[n] += cases.iter().filter(|c| agrees_with(c, reading)).count();
                }
            }
        }
        // Damage inside text that changes nothing JSON cares about is still read quickly.
        assert!(accepted.iter().all(|&n| n > 1000), "{accepted:?}");
    }
}
