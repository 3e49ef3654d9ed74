//! Framing: turns bytes into records, whatever shape the bytes have.
//!
//! Accepted, per input: an EventBridge event, a raw CloudTrail record, a CloudTrail log file
//! (`{"Records": [...]}`), a JSON array of any of these, and JSON Lines (or simply concatenated
//! values) of any of these; plain or gzip-compressed. The `Records` array is streamed element by
//! element, so a log file of any size is evaluated in bounded memory.
//!
//! A value that is not valid JSON is reported as [`Item::Unreadable`] with its line, and reading
//! resumes at the next line that starts a new top-level object, so one bad line of a JSON Lines
//! file costs one record, not the file.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read};

use serde::de::{
    Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde_json::value::RawValue;

use super::lenient;
use super::record::{Envelope, Record};

pub const CLOUDTRAIL_DETAIL_TYPE: &str = "AWS API Call via CloudTrail";

/// Where in its input an item was found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Position {
    /// 1-based line where the top-level value starts.
    pub line: u64,
    /// 0-based index inside a `Records` array or a top-level array.
    pub index: Option<u64>,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}", self.line)?;
        if let Some(i) = self.index {
            write!(f, ", record {i}")?;
        }
        Ok(())
    }
}

#[derive(Debug)]
pub enum Item {
    /// A CloudTrail record, with its EventBridge envelope when it came in one.
    Record {
        record: Box<Record>,
        envelope: Option<Envelope>,
        position: Position,
    },
    /// An EventBridge event of another kind (a `Scheduled Event`, an S3 notification...).
    OtherEvent {
        envelope: Envelope,
        position: Position,
    },
    /// Something that could not be read as an event.
    Unreadable { reason: String, position: Position },
}

/// Inputs up to this size are read into memory and parsed from a slice, several times faster
/// than parsing from a reader; larger ones (log archives) are streamed in bounded memory.
const IN_MEMORY_LIMIT: u64 = 8 * 1024 * 1024;

/// Reads every item from `reader` and hands it to `on_item`. Fails only when the bytes cannot be
/// read at all (an I/O error, a corrupt gzip stream); bad JSON is reported through `on_item`.
pub fn read_items<R: Read>(reader: R, on_item: &mut dyn FnMut(Item)) -> io::Result<()> {
    let mut buffered = BufReader::with_capacity(64 * 1024, reader);
    let gzip = buffered.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    if gzip {
        let decoder = flate2::bufread::MultiGzDecoder::new(buffered);
        read_decoded(decoder, on_item)
    } else {
        read_decoded(buffered, on_item)
    }
}

fn read_decoded<R: Read>(mut reader: R, on_item: &mut dyn FnMut(Item)) -> io::Result<()> {
    // Read in chunks: `take(limit).read_to_end` may reserve the whole limit up front.
    let mut head = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let mut at_end = false;
    while head.len() as u64 <= IN_MEMORY_LIMIT {
        match reader.read(&mut chunk) {
            Ok(0) => {
                at_end = true;
                break;
            }
            Ok(n) => head.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    if at_end {
        read_buffer(&head, on_item);
        return Ok(());
    }
    let rest = io::Cursor::new(head).chain(reader);
    read_plain(BufReader::with_capacity(64 * 1024, rest), on_item)
}

/// Items from a byte slice (tests, benchmarks, the Lambda payload).
pub fn read_slice(bytes: &[u8], on_item: &mut dyn FnMut(Item)) -> io::Result<()> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return read_items(bytes, on_item);
    }
    read_buffer(bytes, on_item);
    Ok(())
}

fn newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

/// The in-memory twin of [`read_plain`]: the same framing rules, parsed from a slice.
fn read_buffer(bytes: &[u8], on_item: &mut dyn FnMut(Item)) {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut offset = 0usize;
    let mut line = 1u64;
    loop {
        let rest = bytes.get(offset..).unwrap_or_default();
        let blank = rest.iter().take_while(|b| b.is_ascii_whitespace()).count();
        line += newlines(rest.get(..blank).unwrap_or_default());
        offset += blank;
        let rest = bytes.get(offset..).unwrap_or_default();
        if rest.is_empty() {
            return;
        }
        let start = line;
        let mut values = serde_json::Deserializer::from_slice(rest).into_iter::<&RawValue>();
        match values.next() {
            None => return,
            Some(Ok(raw)) => {
                let used = values.byte_offset();
                if let Err(e) = classify_in_memory(raw, start, &mut *on_item) {
                    on_item(Item::Unreadable {
                        reason: format!("not a CloudTrail record: {e}"),
                        position: Position {
                            line: start,
                            index: None,
                        },
                    });
                }
                let value_bytes = rest.get(..used).unwrap_or_default();
                line += newlines(value_bytes);
                offset += used;
                // One value on one line, then a line break: JSON Lines from here on, so a
                // truncated line cannot swallow the next one.
                let after = bytes.get(offset..).unwrap_or_default();
                let line_end = after
                    .iter()
                    .take_while(|&&b| b == b' ' || b == b'\t' || b == b'\r')
                    .count();
                if newlines(value_bytes) == 0 && after.get(line_end).is_none_or(|&b| b == b'\n') {
                    read_buffer_lines(after, line, on_item);
                    return;
                }
            }
            Some(Err(e)) => {
                let error_line = start + (e.line() as u64).saturating_sub(1);
                on_item(Item::Unreadable {
                    reason: syntax_error(&e),
                    position: Position {
                        line: error_line,
                        index: None,
                    },
                });
                // Resume at the next line after the error that starts a new object.
                let mut pos = offset;
                let mut current = start;
                while current < error_line {
                    match bytes
                        .get(pos..)
                        .and_then(|r| r.iter().position(|&b| b == b'\n'))
                    {
                        Some(nl) => {
                            pos += nl + 1;
                            current += 1;
                        }
                        None => return,
                    }
                }
                loop {
                    match bytes
                        .get(pos..)
                        .and_then(|r| r.iter().position(|&b| b == b'\n'))
                    {
                        Some(nl) => {
                            pos += nl + 1;
                            current += 1;
                            if matches!(bytes.get(pos), Some(b'{') | Some(b'[')) {
                                break;
                            }
                        }
                        None => return,
                    }
                }
                offset = pos;
                line = current;
            }
        }
    }
}

/// JSON Lines in memory: every non-blank line is one value.
fn read_buffer_lines(bytes: &[u8], first_line: u64, on_item: &mut dyn FnMut(Item)) {
    for (i, raw_line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = first_line + i as u64;
        let text = raw_line.trim_ascii();
        if text.is_empty() {
            continue;
        }
        parse_line(text, line, on_item);
    }
}

fn parse_line(text: &[u8], line: u64, on_item: &mut dyn FnMut(Item)) {
    let result = serde_json::from_slice::<&RawValue>(text)
        .and_then(|raw| classify_in_memory(raw, line, &mut *on_item));
    if let Err(e) = result {
        on_item(Item::Unreadable {
            reason: syntax_error(&e),
            position: Position { line, index: None },
        });
    }
}

fn read_plain<R: BufRead>(reader: R, on_item: &mut dyn FnMut(Item)) -> io::Result<()> {
    let mut input = Tracked {
        inner: reader,
        line: 1,
    };
    loop {
        if !input.skip_whitespace()? {
            return Ok(());
        }
        let start = input.line;
        let mut de = serde_json::Deserializer::from_reader(&mut input);
        let seed = TopSeed {
            on_item: &mut *on_item,
            line: start,
        };
        match seed.deserialize(&mut de) {
            Ok(()) => {
                drop(de);
                // A value that began and ended on one line, followed by a line break: JSON
                // Lines. Parse line by line from here, so a truncated line cannot swallow the
                // next one.
                if input.line == start && input.at_line_end()? {
                    return read_lines(input, on_item);
                }
            }
            Err(e) if e.is_io() => return Err(io::Error::other(e)),
            Err(e) => {
                let line = start + (e.line() as u64).saturating_sub(1);
                on_item(Item::Unreadable {
                    reason: syntax_error(&e),
                    position: Position { line, index: None },
                });
                drop(de);
                input.skip_to_next_object()?;
            }
        }
    }
}

/// JSON Lines: every non-blank line is one value.
fn read_lines<R: BufRead>(mut input: Tracked<R>, on_item: &mut dyn FnMut(Item)) -> io::Result<()> {
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let line = input.line;
        if input.inner.read_until(b'\n', &mut buf)? == 0 {
            return Ok(());
        }
        input.line += 1;
        let text = buf.trim_ascii();
        if !text.is_empty() {
            parse_line(text, line, on_item);
        }
    }
}

/// The top-level fields that decide what an object is; everything else is skimmed.
#[derive(serde::Deserialize)]
struct Frame<'a> {
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

/// An EventBridge event: its CloudTrail record, or `OtherEvent` for other detail types.
fn envelope_item(envelope: Envelope, detail: &str, position: Position) -> Item {
    let is_cloudtrail = envelope
        .detail_type
        .as_deref()
        .is_some_and(|t| t == CLOUDTRAIL_DETAIL_TYPE || t.ends_with("via CloudTrail"));
    if !is_cloudtrail {
        return Item::OtherEvent { envelope, position };
    }
    match serde_json::from_str::<RecordOrNot>(detail) {
        Ok(RecordOrNot(Some(record))) => Item::Record {
            record: Box::new(record),
            envelope: Some(envelope),
            position,
        },
        Ok(RecordOrNot(None)) => Item::Unreadable {
            reason: "`detail` is not an object".into(),
            position,
        },
        Err(e) => Item::Unreadable {
            reason: format!("`detail` is not a CloudTrail record: {e}"),
            position,
        },
    }
}

/// Classifies one top-level value held in memory: one skim of its top-level keys, then one
/// parse of the record (or a stream over `Records`). Odd shapes go through [`TopSeed`].
fn classify_in_memory(
    raw: &RawValue,
    line: u64,
    on_item: &mut dyn FnMut(Item),
) -> Result<(), serde_json::Error> {
    let position = Position { line, index: None };
    let frame = match raw.get().as_bytes().first() {
        Some(b'{') => serde_json::from_str::<Frame<'_>>(raw.get()).ok(),
        _ => None,
    };
    let Some(frame) = frame else {
        return TopSeed { on_item, line }
            .deserialize(&mut serde_json::Deserializer::from_str(raw.get()));
    };
    if let Some(records) = frame.records {
        return RecordsSeed { on_item, line }
            .deserialize(&mut serde_json::Deserializer::from_str(records.get()));
    }
    let is_envelope =
        frame.detail.is_some() && (frame.detail_type.is_some() || frame.source.is_some());
    if is_envelope {
        let envelope = Envelope {
            id: frame.id,
            detail_type: frame.detail_type,
            source: frame.source,
            account: frame.account,
            region: frame.region,
            time: frame.time,
        };
        let detail = frame.detail.map_or("null", RawValue::get);
        on_item(envelope_item(envelope, detail, position));
        return Ok(());
    }
    if frame.event_name.is_none() && frame.event_source.is_none() {
        on_item(Item::Unreadable {
            reason: "object is neither a CloudTrail record (no `eventName`), an EventBridge event nor a log file (no `Records`)".into(),
            position,
        });
        return Ok(());
    }
    on_item(match serde_json::from_str::<Record>(raw.get()) {
        Ok(record) => Item::Record {
            record: Box::new(record),
            envelope: None,
            position,
        },
        Err(e) => Item::Unreadable {
            reason: format!("not a CloudTrail record: {e}"),
            position,
        },
    });
    Ok(())
}

/// serde_json's message with its relative position replaced by the column: the caller reports
/// the absolute line.
fn syntax_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let message = text
        .rsplit_once(" at line ")
        .map_or(text.as_str(), |(m, _)| m);
    format!("not valid JSON: {message} (column {})", e.column())
}

/// A reader that counts the lines it hands out, so errors can name absolute line numbers.
struct Tracked<R> {
    inner: R,
    line: u64,
}

impl<R: BufRead> Tracked<R> {
    /// Skips whitespace (and a UTF-8 byte-order mark); `false` at end of input.
    fn skip_whitespace(&mut self) -> io::Result<bool> {
        loop {
            let buf = self.inner.fill_buf()?;
            if buf.is_empty() {
                return Ok(false);
            }
            let bom = if buf.starts_with(&[0xEF, 0xBB, 0xBF]) {
                3
            } else {
                0
            };
            let rest = buf.get(bom..).unwrap_or_default();
            let blank = rest.iter().take_while(|b| b.is_ascii_whitespace()).count();
            let newlines = rest
                .get(..blank)
                .unwrap_or_default()
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64;
            let done = blank < rest.len();
            self.line += newlines;
            self.inner.consume(bom + blank);
            if done {
                return Ok(true);
            }
        }
    }

    /// Whether only blanks remain before the next line break (or the end).
    fn at_line_end(&mut self) -> io::Result<bool> {
        loop {
            let buf = self.inner.fill_buf()?;
            let Some(&b) = buf.first() else {
                return Ok(true);
            };
            match b {
                b'\n' => return Ok(true),
                b' ' | b'\t' | b'\r' => self.inner.consume(1),
                _ => return Ok(false),
            }
        }
    }

    /// After a syntax error: drops the rest of the line, then every line that does not start
    /// with `{` (the inside of a broken pretty-printed document).
    fn skip_to_next_object(&mut self) -> io::Result<()> {
        let mut at_line_start = false;
        loop {
            let buf = self.inner.fill_buf()?;
            if buf.is_empty() {
                return Ok(());
            }
            let mut used = 0;
            for &b in buf {
                if at_line_start && (b == b'{' || b == b'[') {
                    self.inner.consume(used);
                    return Ok(());
                }
                used += 1;
                at_line_start = b == b'\n';
                if at_line_start {
                    self.line += 1;
                }
            }
            self.inner.consume(used);
        }
    }
}

impl<R: BufRead> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.line += buf
            .get(..n)
            .unwrap_or_default()
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        Ok(n)
    }
}

/// One top-level value: envelope, record, log file, or an array of those.
struct TopSeed<'a> {
    on_item: &'a mut dyn FnMut(Item),
    line: u64,
}

impl<'de> DeserializeSeed<'de> for TopSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a CloudTrail record, an EventBridge event or a CloudTrail log file")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0u64;
        while let Some(()) = seq.next_element_seed(ElementSeed {
            on_item: &mut *self.on_item,
            position: Position {
                line: self.line,
                index: Some(index),
            },
        })? {
            index += 1;
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let position = Position {
            line: self.line,
            index: None,
        };
        let mut fields: Vec<(String, Box<RawValue>)> = Vec::new();
        let mut saw_records = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "Records" {
                saw_records = true;
                map.next_value_seed(RecordsSeed {
                    on_item: &mut *self.on_item,
                    line: self.line,
                })?;
            } else if saw_records {
                map.next_value::<IgnoredAny>()?;
            } else {
                fields.push((key, map.next_value::<Box<RawValue>>()?));
            }
        }
        if !saw_records {
            (self.on_item)(classify_object(fields, position));
        }
        Ok(())
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<(), E> {
        self.unreadable(format!("expected an object, found the string `{v}`"))
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        self.unreadable("expected an object, found a boolean".into())
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        self.unreadable("expected an object, found a number".into())
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        self.unreadable("expected an object, found a number".into())
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        self.unreadable("expected an object, found a number".into())
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.unreadable("expected an object, found null".into())
    }
}

impl TopSeed<'_> {
    fn unreadable<E>(self, reason: String) -> Result<(), E> {
        (self.on_item)(Item::Unreadable {
            reason,
            position: Position {
                line: self.line,
                index: None,
            },
        });
        Ok(())
    }
}

/// An element of a top-level array: anything a top-level value may be, with its index.
struct ElementSeed<'a> {
    on_item: &'a mut dyn FnMut(Item),
    position: Position,
}

impl<'de> DeserializeSeed<'de> for ElementSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let position = self.position;
        let value = Box::<RawValue>::deserialize(d)?;
        let on_item = self.on_item;
        let mut tag = |item: Item| on_item(with_index(item, position.index));
        let result = TopSeed {
            on_item: &mut tag,
            line: position.line,
        }
        .deserialize(&mut serde_json::Deserializer::from_str(value.get()));
        if let Err(e) = result {
            on_item(Item::Unreadable {
                reason: syntax_error(&e),
                position,
            });
        }
        Ok(())
    }
}

/// An element of a `Records` array.
struct RecordsSeed<'a> {
    on_item: &'a mut dyn FnMut(Item),
    line: u64,
}

impl<'de> DeserializeSeed<'de> for RecordsSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RecordsSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of CloudTrail records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0u64;
        loop {
            let position = Position {
                line: self.line,
                index: Some(index),
            };
            match seq.next_element_seed(RecordSeed)? {
                None => return Ok(()),
                Some(Some(record)) => (self.on_item)(Item::Record {
                    record: Box::new(record),
                    envelope: None,
                    position,
                }),
                Some(None) => (self.on_item)(Item::Unreadable {
                    reason: "`Records` element is not an object".into(),
                    position,
                }),
            }
            index += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        self.not_an_array()
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
        self.not_an_array()
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        self.not_an_array()
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        self.not_an_array()
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        self.not_an_array()
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        self.not_an_array()
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.not_an_array()
    }
}

impl RecordsSeed<'_> {
    fn not_an_array<E>(self) -> Result<(), E> {
        (self.on_item)(Item::Unreadable {
            reason: "`Records` is not an array".into(),
            position: Position {
                line: self.line,
                index: None,
            },
        });
        Ok(())
    }
}

/// A record straight from the stream; `None` for an element that is not an object.
struct RecordSeed;

impl<'de> DeserializeSeed<'de> for RecordSeed {
    type Value = Option<Record>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RecordSeed {
    type Value = Option<Record>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a CloudTrail record")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Record::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Some)
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

/// Decides what a small top-level object is, from its already-split fields.
fn classify_object(fields: Vec<(String, Box<RawValue>)>, position: Position) -> Item {
    let detail = fields.iter().position(|(k, _)| k == "detail");
    let looks_like_envelope = detail.is_some()
        && fields
            .iter()
            .any(|(k, _)| k == "detail-type" || k == "source");
    if looks_like_envelope {
        let text = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .and_then(|(_, v)| raw_text(v))
        };
        let envelope = Envelope {
            id: text("id"),
            detail_type: text("detail-type"),
            source: text("source"),
            account: text("account"),
            region: text("region"),
            time: text("time"),
        };
        let detail = detail
            .and_then(|i| fields.get(i))
            .map_or("null", |(_, v)| v.get());
        return envelope_item(envelope, detail, position);
    }
    // A raw record: put its fields back together and read them as one.
    let mut json = String::from("{");
    for (i, (key, value)) in fields.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        json.push_str(&serde_json::Value::String(key.clone()).to_string());
        json.push(':');
        json.push_str(value.get());
    }
    json.push('}');
    match serde_json::from_str::<Record>(&json) {
        Ok(record) if record.event_name.is_some() || record.event_source.is_some() => {
            Item::Record {
                record: Box::new(record),
                envelope: None,
                position,
            }
        }
        Ok(_) => Item::Unreadable {
            reason: "object is neither a CloudTrail record (no `eventName`), an EventBridge event nor a log file (no `Records`)".into(),
            position,
        },
        Err(e) => Item::Unreadable {
            reason: format!("not a CloudTrail record: {e}"),
            position,
        },
    }
}

fn with_index(item: Item, index: Option<u64>) -> Item {
    match item {
        Item::Record {
            record,
            envelope,
            position,
        } => Item::Record {
            record,
            envelope,
            position: Position { index, ..position },
        },
        Item::OtherEvent { envelope, position } => Item::OtherEvent {
            envelope,
            position: Position { index, ..position },
        },
        Item::Unreadable { reason, position } => Item::Unreadable {
            reason,
            position: Position { index, ..position },
        },
    }
}

/// A record, or `None` when the JSON is not an object.
struct RecordOrNot(Option<Record>);

impl<'de> Deserialize<'de> for RecordOrNot {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        RecordSeed.deserialize(d).map(RecordOrNot)
    }
}

fn raw_text(raw: &RawValue) -> Option<String> {
    let mut de = serde_json::Deserializer::from_str(raw.get());
    lenient::string(&mut de).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn describe(item: Item) -> String {
        match item {
            Item::Record {
                record, position, ..
            } => {
                format!("{}@{position}", record.event_name.unwrap_or_default())
            }
            Item::OtherEvent { position, .. } => format!("other@{position}"),
            Item::Unreadable { reason, position } => format!("unreadable@{position}: {reason}"),
        }
    }

    /// The streaming path (archives over 8 MB) and the in-memory path agree on every shape.
    #[test]
    fn streaming_and_in_memory_paths_agree() {
        let record = r#"{"eventSource":"iam.amazonaws.com","eventName":"DeleteRole"}"#;
        let pretty =
            "{\n  \"eventSource\": \"iam.amazonaws.com\",\n  \"eventName\": \"TagRole\"\n}";
        let inputs = [
            format!("{record}\n{{\"eventName\": \n{record}\n\n{record}\n"),
            format!("{pretty}\n{pretty}\n"),
            format!("{{\"Records\":[{record},{record},7]}}"),
            format!("[{record},{pretty}]"),
            format!("{pretty}\n{{\"broken\": [\n  1,\n{pretty}\n"),
            "42".to_string(),
            "   ".to_string(),
        ];
        for input in inputs {
            let mut streamed = Vec::new();
            read_plain(BufReader::new(input.as_bytes()), &mut |i| {
                streamed.push(describe(i))
            })
            .unwrap();
            let mut in_memory = Vec::new();
            read_buffer(input.as_bytes(), &mut |i| in_memory.push(describe(i)));
            assert_eq!(streamed, in_memory, "input:\n{input}");
        }
    }
}
