//! Classification: one frame's bytes to items (a record, another event, or a positioned error).
//!
//! A frame is parsed on its own, from a slice, so whatever is wrong with it is reported at its
//! own line and column and costs nothing else.

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::frame::{Frame, Limits, Role};
use super::lenient;
use super::position::Place;
use super::record::{Envelope, Record, RecordVisitor, Select};
use super::stream::{frame_slice, Item, Position};

pub const CLOUDTRAIL_DETAIL_TYPE: &str = "AWS API Call via CloudTrail";

/// Hands the items of one frame, whose bytes are `bytes`, to `on_item`.
pub(crate) fn classify(
    frame: &Frame,
    bytes: &[u8],
    limits: Limits<'_>,
    on_item: &mut dyn FnMut(Item),
) {
    let at = Located {
        bytes,
        place: frame.place,
        index: frame.index,
    };
    if !frame.complete {
        on_item(at.cut_off());
        return;
    }
    match frame.role {
        Role::Line => line(&at, limits, on_item),
        Role::Record => on_item(record(&at, frame.top_line, limits.select)),
        Role::Extra => {
            if let Err(e) = serde_json::from_slice::<IgnoredAny>(bytes) {
                on_item(at.error(&e, "not valid JSON"));
            }
        }
        Role::Value => value(&at, frame.top_line, limits, on_item),
    }
}

/// A JSON Lines line: what the same bytes give as a whole input, unless they hold more than one
/// value, which makes the line one error (`{...} x` is not a record followed by an error).
fn line(at: &Located<'_>, limits: Limits<'_>, on_item: &mut dyn FnMut(Item)) {
    let mut items = Vec::new();
    let values = frame_slice(
        at.bytes,
        limits,
        at.place.line,
        at.place.column.saturating_sub(1),
        &mut |item| items.push(item),
    );
    if values > 1 {
        match serde_json::from_slice::<IgnoredAny>(at.bytes) {
            Err(e) => on_item(at.error(&e, "not valid JSON")),
            Ok(_) => on_item(json_error(
                "trailing characters",
                at.place.line,
                at.place.column,
                None,
            )),
        }
        return;
    }
    items.into_iter().for_each(on_item);
}

/// A `Records` element at the start of `bytes`, read in place when it is a valid record: the
/// record and how many bytes it took. Anything else is left to framing, which delimits it.
pub(crate) fn leading_record(
    bytes: &[u8],
    select: Option<Select<'_>>,
) -> Option<(Box<Record>, usize)> {
    leading_read(
        bytes,
        RecordOrNot {
            select,
            bare: false,
        },
    )
}

/// A plainly bare record at the start of `bytes`, as [`value`] reads one at once.
pub(crate) fn leading_bare(bytes: &[u8]) -> Option<(Box<Record>, usize)> {
    leading_read(
        bytes,
        RecordOrNot {
            select: None,
            bare: true,
        },
    )
}

fn leading_read(bytes: &[u8], seed: RecordOrNot<'_>) -> Option<(Box<Record>, usize)> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let record = seed.deserialize(&mut de).ok()??;
    // A stream starts where the record ended.
    Some((record, de.into_iter::<IgnoredAny>().byte_offset()))
}

/// An element of `Records`.
fn record(at: &Located<'_>, top_line: u64, select: Option<Select<'_>>) -> Item {
    match parse_record(at.bytes, select) {
        Ok(Some(record)) => Item::Record {
            record,
            envelope: None,
            position: Position {
                line: top_line,
                index: at.index,
            },
        },
        Ok(None) => at.unreadable("`Records` element is not an object".into()),
        Err(e) => at.error(&e, "not a CloudTrail record"),
    }
}

/// The top-level fields that decide what an object is; everything else is skimmed.
#[derive(serde::Deserialize)]
struct Skim<'a> {
    #[serde(borrow, default, rename = "Records")]
    records: Option<&'a RawValue>,
    #[serde(borrow, default)]
    detail: Option<&'a RawValue>,
    #[serde(default, rename = "detail-type", deserialize_with = "lenient::string")]
    detail_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    source: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    account: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    region: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    time: Option<String>,
    #[serde(default, rename = "eventName")]
    event_name: Option<IgnoredAny>,
    #[serde(default, rename = "eventSource")]
    event_source: Option<IgnoredAny>,
}

/// A top-level value, or an element of a top-level array.
fn value(at: &Located<'_>, top_line: u64, limits: Limits<'_>, on_item: &mut dyn FnMut(Item)) {
    let position = Position {
        line: top_line,
        index: at.index,
    };
    if at.bytes.first() != Some(&b'{') {
        on_item(
            match serde_json::from_slice::<serde_json::Value>(at.bytes) {
                Ok(value) => {
                    at.unreadable(format!("expected an object, found {}", kind_of(&value)))
                }
                Err(e) => at.error(&e, "not valid JSON"),
            },
        );
        return;
    }
    // Most objects given alone are bare records (an event file, a record per line): read as
    // one at once. An object with a key the skim below decides on, or anything wrong, takes the
    // skim's way, which gives it the item and the error it always had; what the skim accepts
    // as a record it then reads with this same visitor, without `bare`.
    if let Ok(Some(record)) = read_record(
        at.bytes,
        RecordOrNot {
            select: None,
            bare: true,
        },
    ) {
        on_item(Item::Record {
            record,
            envelope: None,
            position,
        });
        return;
    }
    // An EventBridge event (the Lambda's input): read at once with its record, for the same
    // reason and on the same terms.
    if let Some((envelope, record)) = cloudtrail_event(at.bytes) {
        on_item(Item::Record {
            record,
            envelope: Some(envelope),
            position,
        });
        return;
    }
    let skim = match serde_json::from_slice::<Skim<'_>>(at.bytes) {
        Ok(skim) => skim,
        Err(e) => {
            on_item(at.error(&e, "not a CloudTrail record"));
            return;
        }
    };
    if let Some(records) = skim.records {
        // The framer reads log files element by element; this is one it could not tell by its
        // bytes (an escaped key), small enough to be a frame.
        let records_at = at.inner(records.get());
        match serde_json::from_str::<Vec<&RawValue>>(records.get()) {
            Ok(elements) => {
                for (i, element) in elements.into_iter().enumerate() {
                    let element_at = Located {
                        index: Some(i as u64),
                        ..records_at.inner(element.get())
                    };
                    on_item(record(&element_at, top_line, limits.select));
                }
            }
            Err(_) if !records.get().starts_with('[') => {
                on_item(at.unreadable("`Records` is not an array".into()));
            }
            Err(e) => on_item(records_at.error(&e, "not a CloudTrail record")),
        }
        return;
    }
    let is_envelope =
        skim.detail.is_some() && (skim.detail_type.is_some() || skim.source.is_some());
    if is_envelope {
        let envelope = Envelope {
            id: skim.id,
            detail_type: skim.detail_type,
            source: skim.source,
            account: skim.account,
            region: skim.region,
            time: skim.time,
        };
        let detail = skim.detail.map_or("null", RawValue::get);
        on_item(envelope_item(envelope, &at.inner(detail), position));
        return;
    }
    if skim.event_name.is_none() && skim.event_source.is_none() {
        on_item(at.unreadable("object is neither a CloudTrail record (no `eventName`), an EventBridge event nor a log file (no `Records`)".into()));
        return;
    }
    on_item(match parse_record(at.bytes, None) {
        Ok(Some(record)) => Item::Record {
            record,
            envelope: None,
            position,
        },
        // Not reached: the bytes start with `{`.
        Ok(None) => at.unreadable("not an object".into()),
        Err(e) => at.error(&e, "not a CloudTrail record"),
    });
}

/// An EventBridge event that is plainly one carrying a CloudTrail record, read in one pass:
/// the envelope's fields as the skim reads them, `detail` as a record. `None` for anything else
/// (a key read twice, a log file's `Records`, a name at the top, no detail type and source, a
/// `detail` that is no record, another detail type, any error): `classify` then takes it the
/// skim's way, which gives it the item and the error it always had.
fn cloudtrail_event(bytes: &[u8]) -> Option<(Envelope, Box<Record>)> {
    let (envelope, record, len) = leading_event(bytes)?;
    // Only JSON's whitespace after it, as `Deserializer::end` requires.
    let rest = bytes.get(len..)?;
    rest.iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .then_some((envelope, record))
}

/// [`cloudtrail_event`] of the object at the start of `bytes`, and how many bytes it took.
pub(crate) fn leading_event(bytes: &[u8]) -> Option<(Envelope, Box<Record>, usize)> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let (envelope, record) = de.deserialize_map(EventOnce).ok()?;
    let len = de.into_iter::<IgnoredAny>().byte_offset();
    // The skim captures `detail` as a RawValue, which serde_json checks as UTF-8 whole; the
    // record visitor skips unknown fields unchecked. Checked here so that both reject the same.
    std::str::from_utf8(bytes.get(..len)?).ok()?;
    // A detail type is what the skim's envelope test also asks for (or a source) and more.
    is_cloudtrail(&envelope).then_some((envelope, record, len))
}

/// An object at the start of `bytes` that [`value`] reads at once as a record (a bare record,
/// or an EventBridge event carrying one), its envelope, and how many bytes it took. `None` for
/// anything else: framing delimits it, and `value` reads it as it always has.
pub(crate) fn leading_value(bytes: &[u8]) -> Option<(Box<Record>, Option<Envelope>, usize)> {
    if let Some((record, len)) = leading_bare(bytes) {
        return Some((record, None, len));
    }
    let (envelope, record, len) = leading_event(bytes)?;
    Some((record, Some(envelope), len))
}

/// See [`cloudtrail_event`]: fails wherever the reading would depend on the skim's rules.
struct EventOnce;

impl<'de> Visitor<'de> for EventOnce {
    type Value = (Envelope, Box<Record>);

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an EventBridge event")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        use serde::de::Error;
        struct Text(Option<String>);
        impl<'de> serde::Deserialize<'de> for Text {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                lenient::string(d).map(Text)
            }
        }
        let not_plain = || A::Error::custom("not plainly a CloudTrail event");
        let mut envelope = Envelope::default();
        let mut record = None;
        let mut seen = 0u8;
        // An escaped key cannot be borrowed: an error, so the skim's way reads it.
        while let Some(key) = map.next_key::<&'de str>()? {
            let (bit, slot) = match key {
                "id" => (1, &mut envelope.id),
                "detail-type" => (2, &mut envelope.detail_type),
                "source" => (4, &mut envelope.source),
                "account" => (8, &mut envelope.account),
                "region" => (16, &mut envelope.region),
                "time" => (32, &mut envelope.time),
                "detail" => {
                    // EventBridge writes the detail type first: another kind of event is left
                    // to the skim's way before its detail is read as a record for nothing.
                    let other = seen & 2 != 0 && !is_cloudtrail(&envelope);
                    if record.is_some() || other {
                        return Err(not_plain());
                    }
                    let seed = RecordOrNot {
                        select: None,
                        bare: false,
                    };
                    record = Some(map.next_value_seed(seed)?.ok_or_else(not_plain)?);
                    continue;
                }
                "Records" | "eventName" | "eventSource" => return Err(not_plain()),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            if seen & bit != 0 {
                return Err(not_plain());
            }
            seen |= bit;
            *slot = map.next_value::<Text>()?.0;
        }
        Ok((envelope, record.ok_or_else(not_plain)?))
    }
}

pub(super) fn is_cloudtrail(envelope: &Envelope) -> bool {
    envelope
        .detail_type
        .as_deref()
        .is_some_and(|t| t == CLOUDTRAIL_DETAIL_TYPE || t.ends_with("via CloudTrail"))
}

/// An EventBridge event: its CloudTrail record, or `OtherEvent` for other detail types.
fn envelope_item(envelope: Envelope, detail: &Located<'_>, position: Position) -> Item {
    if !is_cloudtrail(&envelope) {
        return Item::OtherEvent { envelope, position };
    }
    match parse_record(detail.bytes, None) {
        Ok(Some(record)) => Item::Record {
            record,
            envelope: Some(envelope),
            position,
        },
        Ok(None) => detail.unreadable("`detail` is not an object".into()),
        Err(e) => detail.error(&e, "`detail` is not a CloudTrail record"),
    }
}

fn kind_of(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Null => "null".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Number(_) => "a number".into(),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
        Value::String(s) => {
            const SHOWN: usize = 40;
            match s.char_indices().nth(SHOWN) {
                Some((cut, _)) => format!("the string `{}...`", s.get(..cut).unwrap_or_default()),
                None => format!("the string `{s}`"),
            }
        }
    }
}

/// Bytes with the place of their first byte, for errors at absolute positions.
struct Located<'a> {
    bytes: &'a [u8],
    place: Place,
    index: Option<u64>,
}

impl<'a> Located<'a> {
    /// A part of these bytes (a `detail`, a `Records` element), borrowed from them.
    fn inner(&self, part: &'a str) -> Located<'a> {
        let offset = (part.as_ptr() as usize)
            .checked_sub(self.bytes.as_ptr() as usize)
            .filter(|&o| o <= self.bytes.len())
            .unwrap_or(0);
        let before = self.bytes.get(..offset).unwrap_or_default();
        let place = match memchr::memrchr(b'\n', before) {
            None => Place {
                line: self.place.line,
                column: self.place.column + offset as u64,
            },
            Some(last) => Place {
                line: self.place.line + memchr::memchr_iter(b'\n', before).count() as u64,
                column: (offset - last) as u64,
            },
        };
        Located {
            bytes: part.as_bytes(),
            place,
            index: self.index,
        }
    }

    /// serde_json's error, at the absolute place it names.
    fn error(&self, e: &serde_json::Error, what: &str) -> Item {
        let (line, column) = match e.line() {
            0 => (self.place.line, self.place.column),
            1 => (self.place.line, self.place.column + e.column() as u64 - 1),
            n => (self.place.line + n as u64 - 1, e.column() as u64),
        };
        let what = match e.classify() {
            serde_json::error::Category::Data => what,
            _ => "not valid JSON",
        };
        let text = e.to_string();
        let message = text
            .rsplit_once(" at line ")
            .map_or(text.as_str(), |(m, _)| m);
        unreadable(
            format!("{what}: {message} (column {column})"),
            line,
            self.index,
        )
    }

    /// A frame cut off by the end of the input or of its line: serde_json's first error in it
    /// (where the bytes go wrong, or where they end).
    fn cut_off(&self) -> Item {
        // Up to the line break after its last byte, so that the blank lines after a cut-off
        // record do not move the error.
        let content = self
            .bytes
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .map_or(0, |i| i + 1);
        let rest = self.bytes.get(content..).unwrap_or_default();
        let end = memchr::memchr(b'\n', rest).map_or(self.bytes.len(), |n| content + n + 1);
        match serde_json::from_slice::<IgnoredAny>(self.bytes.get(..end).unwrap_or_default()) {
            // Cut outside a string: where its content ends, not on the line after it, which
            // holds the next record.
            Err(e) if e.classify() == serde_json::error::Category::Eof => {
                let content = self.bytes.get(..content).unwrap_or_default();
                let e = serde_json::from_slice::<IgnoredAny>(content)
                    .err()
                    .unwrap_or(e);
                self.error(&e, "not valid JSON")
            }
            Err(e) => self.error(&e, "not valid JSON"),
            Ok(_) => json_error(
                "EOF while parsing a value",
                self.place.line,
                self.place.column,
                self.index,
            ),
        }
    }

    fn unreadable(&self, reason: String) -> Item {
        unreadable(reason, self.place.line, self.index)
    }
}

pub(crate) fn unreadable(reason: String, line: u64, index: Option<u64>) -> Item {
    Item::Unreadable {
        reason,
        position: Position { line, index },
    }
}

/// Worded like serde_json's own errors, for the ones framing finds itself.
pub(crate) fn json_error(message: &str, line: u64, column: u64, index: Option<u64>) -> Item {
    unreadable(
        format!("not valid JSON: {message} (column {column})"),
        line,
        index,
    )
}

/// A record, or `None` when the JSON is not an object; a record `select` turns down is skimmed.
#[derive(Clone, Copy)]
struct RecordOrNot<'s> {
    select: Option<Select<'s>>,
    /// See [`RecordVisitor::bare`].
    bare: bool,
}

impl<'de> DeserializeSeed<'de> for RecordOrNot<'_> {
    type Value = Option<Box<Record>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// One record from the whole of `bytes`.
fn parse_record(
    bytes: &[u8],
    select: Option<Select<'_>>,
) -> serde_json::Result<Option<Box<Record>>> {
    read_record(
        bytes,
        RecordOrNot {
            select,
            bare: false,
        },
    )
}

fn read_record(bytes: &[u8], seed: RecordOrNot<'_>) -> serde_json::Result<Option<Box<Record>>> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let record = seed.deserialize(&mut de)?;
    de.end()?;
    Ok(record)
}

impl<'de> Visitor<'de> for RecordOrNot<'_> {
    type Value = Option<Box<Record>>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a CloudTrail record")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        RecordVisitor {
            select: self.select,
            bare: self.bare,
        }
        .visit_map(map)
        .map(Some)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Variants of a compact object: each of `keys` added at either end with a value of each
    /// type (so read twice where the object has it), cut short, a byte that is not UTF-8.
    fn damaged(object: &str, keys: &[&str], out: &mut Vec<Vec<u8>>) {
        let body = object.strip_prefix('{').unwrap();
        let end = object.len() - 1;
        for key in keys {
            for value in ["\"x\"", "[]", "{}", "7", "null"] {
                out.push(format!("{{\"{key}\":{value},{body}").into_bytes());
                out.push(format!("{},\"{key}\":{value}}}", &object[..end]).into_bytes());
            }
        }
        out.push(object.as_bytes()[..object.len() / 2].to_vec());
        let mut bad = object.as_bytes().to_vec();
        if let Some(at) = object.find("us-east-1") {
            bad[at] = 0xff;
        }
        out.push(bad);
    }

    /// Bare records of every sample, and of each a set of variants: with each key the skim
    /// decides on (plain and escaped), without its names, with a name twice or of another type,
    /// cut short, with bytes that are not UTF-8.
    fn objects() -> Vec<Vec<u8>> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events");
        let mut records = Vec::new();
        for entry in std::fs::read_dir(root).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            let value: serde_json::Value = serde_json::from_str(&text).unwrap();
            records.push(value.get("detail").cloned().unwrap_or(value).to_string());
        }
        assert!(records.len() > 50, "{}", records.len());
        let mut out = Vec::new();
        for record in records {
            damaged(
                &record,
                &[
                    "Records",
                    "detail",
                    "detail-type",
                    "source",
                    "id",
                    "account",
                    "region",
                    "time",
                    "\\u0052ecords",
                    "d\\u0065tail",
                    "\\u0073ource",
                    "t\\u0069me",
                    "Detail",
                    "eventName",
                    "eventSource",
                    "eventID",
                ],
                &mut out,
            );
            out.push(
                record
                    .replace("\"eventName\"", "\"eventNam\"")
                    .replace("\"eventSource\"", "\"eventSourc\"")
                    .into_bytes(),
            );
            // Both names `null` (the skim counts them as absent), or of another type.
            for value in ["null", "7", "[]"] {
                out.push(
                    record
                        .replace("\"eventName\":", &format!("\"eventName\":{value},\"x\":"))
                        .replace(
                            "\"eventSource\":",
                            &format!("\"eventSource\":{value},\"y\":"),
                        )
                        .into_bytes(),
                );
            }
            out.push(record.into_bytes());
        }
        out
    }

    /// The fast path's claim: what it reads as a bare record, the skim's way reads as the same
    /// bare record (so it gives the same item), and it leaves everything else to that way.
    #[test]
    fn a_bare_read_takes_only_what_the_skim_reads_as_the_same_record() {
        let (mut taken, mut left) = (0, 0);
        for bytes in objects() {
            let bare = read_record(
                &bytes,
                RecordOrNot {
                    select: None,
                    bare: true,
                },
            );
            let Ok(Some(record)) = bare else {
                left += 1;
                continue;
            };
            taken += 1;
            let text = String::from_utf8_lossy(&bytes);
            let skim = serde_json::from_slice::<Skim<'_>>(&bytes).expect(&text);
            assert!(skim.records.is_none() && skim.detail.is_none(), "{text}");
            assert!(
                skim.event_name.is_some() || skim.event_source.is_some(),
                "{text}"
            );
            let whole = parse_record(&bytes, None).expect(&text).expect(&text);
            assert_eq!(format!("{record:?}"), format!("{whole:?}"), "{text}");
        }
        // Both ways are exercised: the records themselves and most variants taken, every
        // variant with a key the skim decides on left.
        assert!(taken > 500 && left > 1000, "{taken} taken, {left} left");
    }

    /// Items as the decoder gives them for `bytes` in memory under `limits` (which say
    /// whether records may be read in place or are all framed first), and how many records the
    /// top-level framer read in place.
    fn items(bytes: &[u8], limits: Limits<'_>) -> (Vec<String>, usize) {
        use super::super::frame::{Framer, Step};
        let mut framer = Framer::new(limits, true, 1, 0);
        let (mut out, mut read) = (Vec::new(), 0);
        loop {
            match framer.next(bytes, 0, true) {
                Step::Frame(frame) => {
                    let framed = &bytes[frame.start as usize..frame.end as usize];
                    classify(&frame, framed, limits, &mut |item| {
                        out.push(format!("{item:?}"))
                    });
                }
                Step::Item(item) => {
                    read += usize::from(matches!(item, Item::Record { .. }));
                    out.push(format!("{item:?}"));
                }
                Step::NeedMore | Step::End => return (out, read),
            }
        }
    }

    /// Reading a record where it starts (a top-level object, an element of a top-level array
    /// or of a log file's `Records`, a line of JSON Lines) gives exactly the items that framing
    /// it and then classifying its frame gives: on every sample record and event and their
    /// variants, alone, in arrays, in a log file, one per line, followed by more, pretty-printed,
    /// and with limits they cross.
    #[test]
    fn a_record_read_in_place_is_the_item_its_frame_gives() {
        let mut inputs = objects();
        inputs.extend(events());
        let mut cases = 0;
        // Records the top-level framer read in place: given alone or first of the input (every
        // shape but the array and the log file), as elements of an array, as elements of
        // `Records`. (The lines of JSON Lines after the first are read in place by the framer of
        // their line, not counted here; the comparison covers them.)
        let mut read = [0; 3];
        for bytes in inputs {
            let text = String::from_utf8_lossy(&bytes);
            let mut shapes = vec![
                bytes.clone(),
                [&bytes[..], b"\n"].concat(),
                [&bytes[..], b" x"].concat(),
                [&bytes[..], b"\n", &bytes[..]].concat(),
                [&b"["[..], &bytes[..], b",", &bytes[..], b"]"].concat(),
                [&b"{\"Records\":["[..], &bytes[..], b",", &bytes[..], b"]}"].concat(),
            ];
            // Pretty-printed, where it is JSON: framed across lines, never read in place.
            if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) {
                shapes.push(serde_json::to_vec_pretty(&value).unwrap());
            }
            for (shape_index, shape) in shapes.iter().enumerate() {
                for (max_record_bytes, max_depth) in [(1 << 20, 128), (600, 128), (1 << 20, 3)] {
                    let limits = Limits {
                        select: None,
                        max_record_bytes,
                        max_depth,
                        reads_in_place: false,
                    };
                    let (framed, none) = items(shape, limits);
                    assert_eq!(none, 0, "{text}");
                    let limits = Limits {
                        reads_in_place: true,
                        ..limits
                    };
                    let (in_place, n) = items(shape, limits);
                    assert_eq!(in_place, framed, "{text}");
                    cases += 1;
                    match shape_index {
                        4 => read[1] += n,
                        5 => read[2] += n,
                        _ => read[0] += n,
                    }
                }
            }
        }
        // Each read in place is exercised (most variants are damaged, or over a limit).
        assert!(
            read.iter().all(|&n| n > 5_000),
            "{read:?} records read in place (alone, in arrays, in Records) in {cases} cases"
        );
    }

    /// The sample events as EventBridge delivers them, and variants: detail type and source
    /// missing, `null`, of another type or another kind of event; `detail` `null`, not an object,
    /// empty or damaged; a key twice or escaped; a log file's or a record's key at the top; cut
    /// short.
    fn events() -> Vec<Vec<u8>> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events");
        let mut out = Vec::new();
        for entry in std::fs::read_dir(root).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            let value: serde_json::Value = serde_json::from_str(&text).unwrap();
            if value.get("detail").is_none() {
                continue;
            }
            let compact = value.to_string();
            let with = |key: &str, v: Option<serde_json::Value>| {
                let mut event = value.clone();
                let map = event.as_object_mut().unwrap();
                match v {
                    Some(v) => map.insert(key.into(), v),
                    None => map.remove(key),
                };
                event.to_string().into_bytes()
            };
            use serde_json::json;
            for key in ["detail-type", "source"] {
                for v in [
                    None,
                    Some(json!(null)),
                    Some(json!(7)),
                    Some(json!("Other Event")),
                ] {
                    out.push(with(key, v));
                }
            }
            let mut neither = value.clone();
            neither.as_object_mut().unwrap().remove("detail-type");
            neither.as_object_mut().unwrap().remove("source");
            out.push(neither.to_string().into_bytes());
            for v in [
                json!(null),
                json!([]),
                json!("x"),
                json!({}),
                json!({"eventName": 7}),
            ] {
                out.push(with("detail", Some(v)));
            }
            out.push(with("detail", None));
            damaged(
                &compact,
                &[
                    "id",
                    "detail",
                    "detail-type",
                    "source",
                    "time",
                    "Records",
                    "eventName",
                    "eventSource",
                    "\\u0064etail",
                    "\\u0069d",
                    "version",
                ],
                &mut out,
            );
            let detail = value["detail"].to_string();
            let twice = detail.replacen("\"eventName\":", "\"eventName\":\"A\",\"eventName\":", 1);
            out.push(compact.replacen(&detail, &twice, 1).into_bytes());
            // Not UTF-8 where the record visitor skips (an unknown field, an array given for a
            // text field) but the skim's RawValue of `detail` checks.
            let array = compact.replacen(
                "\"eventVersion\":\"",
                "\"eventVersion\":[\"X\"],\"v\":\"",
                1,
            );
            for (text, key) in [
                (&compact, "\"requestID\":\""),
                (&array, "\"eventVersion\":[\""),
            ] {
                if let Some(at) = text.find(key) {
                    let mut bytes = text.clone().into_bytes();
                    bytes[at + key.len()] = 0xff;
                    out.push(bytes);
                }
            }
            out.push(text.into_bytes());
            out.push(compact.into_bytes());
        }
        out
    }

    /// The one-pass read of an event takes only what the skim's way reads as the same envelope
    /// and the same record.
    #[test]
    fn an_event_read_at_once_is_what_the_skim_reads() {
        let (mut taken, mut left) = (0, 0);
        for bytes in events() {
            let Some((envelope, record)) = cloudtrail_event(&bytes) else {
                left += 1;
                continue;
            };
            taken += 1;
            let text = String::from_utf8_lossy(&bytes);
            let skim = serde_json::from_slice::<Skim<'_>>(&bytes).expect(&text);
            assert!(skim.records.is_none(), "{text}");
            assert!(
                skim.detail_type.is_some() || skim.source.is_some(),
                "{text}"
            );
            let skimmed = Envelope {
                id: skim.id,
                detail_type: skim.detail_type,
                source: skim.source,
                account: skim.account,
                region: skim.region,
                time: skim.time,
            };
            assert_eq!(envelope, skimmed, "{text}");
            assert!(is_cloudtrail(&skimmed), "{text}");
            let detail = skim.detail.expect(&text);
            let whole = parse_record(detail.get().as_bytes(), None)
                .expect(&text)
                .expect(&text);
            assert_eq!(format!("{record:?}"), format!("{whole:?}"), "{text}");
        }
        assert!(taken > 500 && left > 2000, "{taken} taken, {left} left");
    }

    /// The skim's keys, as serde's derive names them, are the keys a bare read stops at (its
    /// names aside) and the ones the one-pass event read handles or leaves: a key added to the
    /// skim and not there would let those reads take what the skim classifies otherwise.
    #[test]
    fn the_skims_keys_are_the_ones_the_one_pass_reads_know() {
        struct Fields;
        impl<'de> Deserializer<'de> for Fields {
            type Error = serde::de::value::Error;
            fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
                Err(serde::de::Error::custom("not a struct"))
            }
            fn deserialize_struct<V: Visitor<'de>>(
                self,
                _: &'static str,
                fields: &'static [&'static str],
                _: V,
            ) -> Result<V::Value, Self::Error> {
                Err(serde::de::Error::custom(fields.join(",")))
            }
            serde::forward_to_deserialize_any! {
                bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
                byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
                identifier ignored_any
            }
        }
        let Err(fields) = <Skim<'_> as serde::Deserialize>::deserialize(Fields) else {
            panic!("the skim read no struct");
        };
        let fields = fields.to_string();
        let fields: Vec<&str> = fields.split(',').collect();
        assert_eq!(fields.len(), 10, "{fields:?}");
        for field in fields {
            let kind = super::super::record::Field::of(field);
            match field {
                "eventName" | "eventSource" => assert!(!kind.is_unknown(), "{field}"),
                _ => assert_eq!(kind, super::super::record::Field::Classifier, "{field}"),
            }
            // The one-pass event read keeps the envelope's other keys and leaves the rest
            // (`Records`, the names) to the skim.
            if field == "detail" || field == "detail-type" {
                continue;
            }
            let text = format!(
                r#"{{"detail-type":"AWS API Call via CloudTrail","detail":{{}},"{field}":"x"}}"#
            );
            let taken = cloudtrail_event(text.as_bytes()).is_some();
            let envelope = ["id", "detail-type", "source", "account", "region", "time"];
            assert_eq!(taken, envelope.contains(&field), "{field}");
        }
    }

    #[test]
    fn what_the_skim_decides_on_is_not_read_as_a_bare_record() {
        for text in [
            r#"{"version":"0","id":"1","detail-type":"x","detail":{"eventName":"A"}}"#,
            r#"{"Records":[{"eventName":"A"}]}"#,
            r#"{"eventName":"A","source":"aws.iam"}"#,
            r#"{"awsRegion":"us-east-1"}"#,
            r#"{"eventName":null,"eventSource":null,"awsRegion":"us-east-1"}"#,
        ] {
            let bare = read_record(
                text.as_bytes(),
                RecordOrNot {
                    select: None,
                    bare: true,
                },
            );
            assert!(bare.is_err(), "{text}");
        }
    }
}
