//! Framing: turns bytes into records, whatever shape the bytes have.
//!
//! Accepted, per input: an EventBridge event, a raw CloudTrail record, a CloudTrail log file
//! (`{"Records": [...]}`), a JSON array of any of these, and JSON Lines (or simply concatenated
//! values) of any of these; plain or gzip-compressed. The `Records` array is streamed element by
//! element, so a log file of any size is evaluated in bounded memory.
//!
//! Inputs up to [`IN_MEMORY_LIMIT`] are parsed from one slice. Larger inputs that open the way
//! CloudTrail writes its files (`{"Records":[`) go through [`LogFile`], which frames one element
//! at a time in a small buffer and parses it from a slice too; any other large input is parsed
//! from a reader ([`read_plain`]), which is several times slower.
//!
//! A value that is not valid JSON is reported as [`Item::Unreadable`] with its line, and reading
//! resumes at the next line that starts a new top-level object, so one bad line of a JSON Lines
//! file costs one record, not the file. In a large log file, a broken element of `Records` costs
//! that element alone (reported with its index) as long as its brackets balance.

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
pub fn read_items<R: Read>(mut reader: R, on_item: &mut dyn FnMut(Item)) -> io::Result<()> {
    // Sniff the gzip magic from two bytes rather than through a `BufReader`: allocating and
    // freeing a large buffer per input costs more than parsing a typical event.
    let mut magic = [0u8; 2];
    let mut sniffed = 0;
    while let Some(room) = magic.get_mut(sniffed..).filter(|r| !r.is_empty()) {
        match reader.read(room) {
            Ok(0) => break,
            Ok(n) => sniffed += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let prefix = magic.get(..sniffed).unwrap_or_default();
    let whole = prefix.chain(reader);
    if prefix == [0x1f, 0x8b] {
        let decoder =
            flate2::bufread::MultiGzDecoder::new(BufReader::with_capacity(64 * 1024, whole));
        read_decoded(decoder, on_item)
    } else {
        read_decoded(whole, on_item)
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
    read_large(head, reader, on_item)
}

/// An input too large to hold: `head` is its beginning, `reader` the rest.
fn read_large<R: Read>(head: Vec<u8>, reader: R, on_item: &mut dyn FnMut(Item)) -> io::Result<()> {
    if let Some(opening) = log_file_opening(&head) {
        return LogFile::new(head, reader, opening).read(on_item);
    }
    read_plain(resume(head, reader), on_item)
}

/// A buffered reader over what is left of `head`, then `reader`.
fn resume<R: Read>(head: Vec<u8>, reader: R) -> BufReader<io::Chain<io::Cursor<Vec<u8>>, R>> {
    BufReader::with_capacity(64 * 1024, io::Cursor::new(head).chain(reader))
}

/// Bytes asked of the reader at a time once the head is framed. Each refill re-parses the one
/// element cut at the buffer's end, so a chunk should hold a few hundred records.
const CHUNK: usize = 256 * 1024;

const BOM: &[u8] = b"\xEF\xBB\xBF";

fn is_json_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Finds where a broken element ends, by string state and bracket depth alone: the framing that
/// holds for any element whose brackets balance, however broken it is otherwise.
#[derive(Default)]
struct Skipper {
    depth: u64,
    in_string: bool,
    escaped: bool,
    started: bool,
}

/// Where a byte is, relative to the element being skipped.
enum Step {
    Inside,
    /// The element's last byte.
    Last,
    /// The first byte after the element.
    After,
}

impl Skipper {
    fn step(&mut self, b: u8) -> Step {
        if self.in_string {
            if self.escaped {
                self.escaped = false;
            } else if b == b'\\' {
                self.escaped = true;
            } else if b == b'"' {
                self.in_string = false;
                if self.depth == 0 {
                    return Step::Last;
                }
            }
            return Step::Inside;
        }
        let step = match b {
            b'"' => {
                self.in_string = true;
                Step::Inside
            }
            b'{' | b'[' => {
                self.depth += 1;
                Step::Inside
            }
            // Closes what encloses the element: the `Records` array, say.
            b'}' | b']' if self.depth == 0 => Step::After,
            b'}' | b']' => {
                self.depth -= 1;
                if self.depth == 0 {
                    Step::Last
                } else {
                    Step::Inside
                }
            }
            b',' if self.depth == 0 => Step::After,
            _ if self.depth == 0 && self.started && is_json_whitespace(b) => Step::After,
            _ => Step::Inside,
        };
        self.started = true;
        step
    }
}

/// Whether a parse error is at the end of `bytes`, where it may only mean that the value goes on
/// past them: serde_json reports `1.` or `-` at the end of its input as an invalid number, not
/// as the end of the input.
fn at_end_of(bytes: &[u8], e: &serde_json::Error) -> bool {
    let line_start = match e.line().checked_sub(2) {
        None => 0,
        Some(breaks) => bytes
            .iter()
            .enumerate()
            .filter(|&(_, &b)| b == b'\n')
            .nth(breaks)
            .map_or(bytes.len(), |(i, _)| i + 1),
    };
    line_start + e.column() + 1 >= bytes.len()
}

/// Where the `Records` array starts when `head` opens a log file the way CloudTrail writes one:
/// an optional byte-order mark and whitespace, then `{`, `"Records"`, `:` and `[` with optional
/// whitespace between. Returns the offsets of the `{` and of the byte after the `[`.
fn log_file_opening(head: &[u8]) -> Option<LogFileOpening> {
    let skip = |from: usize| {
        from + head
            .get(from..)
            .unwrap_or_default()
            .iter()
            .take_while(|&&b| is_json_whitespace(b))
            .count()
    };
    let token = |from: usize, token: &[u8]| {
        let at = skip(from);
        head.get(at..)?
            .starts_with(token)
            .then_some((at, at + token.len()))
    };
    let bom = if head.starts_with(BOM) { BOM.len() } else { 0 };
    let (brace, after) = token(bom, b"{")?;
    let (_, after) = token(after, b"\"Records\"")?;
    let (_, after) = token(after, b":")?;
    let (_, array) = token(after, b"[")?;
    Some(LogFileOpening { bom, brace, array })
}

#[derive(Debug, Clone, Copy)]
struct LogFileOpening {
    /// Length of the byte-order mark, 0 or 3.
    bom: usize,
    /// Offset of the top-level `{`.
    brace: usize,
    /// Offset just past the `[` of `Records`.
    array: usize,
}

/// A CloudTrail log file (`{"Records": [...]}`) too large to hold, read element by element.
///
/// serde_json reading from an [`io::Read`] goes byte by byte and copies every raw field, several
/// times slower than from a slice. So each element of `Records` is parsed from a slice of `buf`,
/// which holds about one [`CHUNK`] plus the element being read: the framed prefix is dropped at
/// every refill, and only an element larger than a chunk makes the buffer grow. Everything off
/// this happy path (a broken array, keys after `Records`, a second document) is handed to the
/// reader-based path with the absolute line, so the two agree on every input both accept.
struct LogFile<R> {
    reader: R,
    /// `buf[pos..end]` is read but not framed yet; `buf[end..]` is room for the next read.
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    /// The reader has nothing more.
    eof: bool,
    /// Absolute offset (in the decoded input) of `buf[0]`.
    base: u64,
    /// Line of `buf[pos]`, counted from 1.
    line: u64,
    /// Absolute offset of the first byte of that line (after the byte-order mark on line 1),
    /// for the columns of error messages.
    line_start: u64,
    /// Line of the top-level `{`: the line every record of the file is reported on.
    top_line: u64,
}

/// One element of `Records`, parsed.
enum Element {
    /// Boxed here already: the item carries it boxed.
    Record(Box<Record>),
    NotAnObject,
    Broken(serde_json::Error),
}

impl<R: Read> LogFile<R> {
    fn new(head: Vec<u8>, reader: R, opening: LogFileOpening) -> Self {
        let mut file = LogFile {
            reader,
            end: head.len(),
            buf: head,
            pos: opening.bom,
            eof: false,
            base: 0,
            line: 1,
            line_start: opening.bom as u64,
            top_line: 1,
        };
        file.advance(opening.brace.saturating_sub(opening.bom));
        file.top_line = file.line;
        file.advance(opening.array.saturating_sub(opening.brace));
        file
    }

    fn read(mut self, on_item: &mut dyn FnMut(Item)) -> io::Result<()> {
        let mut index = 0u64;
        loop {
            let Some(next) = self.peek()? else {
                let expected = if index == 0 { "a list" } else { "a value" };
                self.report_end(&format!("EOF while parsing {expected}"), on_item);
                return Ok(());
            };
            // Only right after the `[`: after a comma, `]` is caught below.
            if next == b']' {
                self.advance(1);
                break;
            }
            let position = Position {
                line: self.top_line,
                index: Some(index),
            };
            let mut broken = false;
            match self.element()? {
                Element::Record(record) => on_item(Item::Record {
                    record,
                    envelope: None,
                    position,
                }),
                Element::NotAnObject => on_item(Item::Unreadable {
                    reason: "`Records` element is not an object".into(),
                    position,
                }),
                Element::Broken(e) => {
                    let (line, column) = self.here().locate(&e);
                    on_item(Item::Unreadable {
                        reason: syntax_error_at(&e, column),
                        position: Position {
                            line,
                            index: Some(index),
                        },
                    });
                    // Resume at the next element. When the broken element cannot even be
                    // stepped over, what follows it is reported below.
                    broken = self.skip_element()?;
                }
            }
            index += 1;
            match self.peek()? {
                Some(b',') => {
                    self.advance(1);
                    if self.peek()? == Some(b']') {
                        self.report_here("trailing comma", on_item);
                        self.advance(1);
                        break;
                    }
                }
                Some(b']') => {
                    self.advance(1);
                    break;
                }
                Some(_) => {
                    self.report_here("expected `,` or `]`", on_item);
                    return self.recover(on_item);
                }
                // A broken element that ran to the end has been reported already.
                None if broken => return Ok(()),
                None => {
                    self.report_end("EOF while parsing a list", on_item);
                    return Ok(());
                }
            }
        }
        match self.peek()? {
            Some(b'}') => {
                self.advance(1);
                let (start, place) = (self.top_line, self.here());
                let mut input = self.into_tracked();
                match finish_value(&mut input, Ok(()), start, place, on_item)? {
                    Next::Values => read_values(input, on_item),
                    Next::Lines => read_lines(input, on_item),
                }
            }
            Some(b',') => {
                // Other keys after `Records` (none in CloudTrail's files): the deserializer
                // reads the rest of the object, with a `{` standing in for this comma.
                let (start, place) = (self.top_line, self.here());
                self.advance(1);
                let mut input = self.into_tracked();
                let mut de =
                    serde_json::Deserializer::from_reader(b"{".as_slice().chain(&mut input));
                let result = RestOfLogFile {
                    on_item: &mut *on_item,
                    line: start,
                }
                .deserialize(&mut de);
                drop(de);
                match finish_value(&mut input, result, start, place, on_item)? {
                    Next::Values => read_values(input, on_item),
                    Next::Lines => read_lines(input, on_item),
                }
            }
            Some(_) => {
                self.report_here("expected `,` or `}`", on_item);
                self.recover(on_item)
            }
            None => {
                self.report_end("EOF while parsing an object", on_item);
                Ok(())
            }
        }
    }

    /// Parses the element at `pos` from the buffer, reading more while it is cut off. On
    /// success `pos` moves past it; a broken element leaves `pos` at its start.
    fn element(&mut self) -> io::Result<Element> {
        loop {
            let rest = self.buf.get(self.pos..self.end).unwrap_or_default();
            let mut values = serde_json::Deserializer::from_slice(rest).into_iter::<RecordOrNot>();
            let parsed = values.next();
            let used = values.byte_offset();
            // A value that ends exactly at the buffer's end may go on (a number).
            let complete = used < rest.len() || self.eof;
            let pending = rest.len();
            match parsed {
                Some(Ok(RecordOrNot(record))) if complete => {
                    self.advance(used);
                    return Ok(
                        record.map_or(Element::NotAnObject, |r| Element::Record(Box::new(r)))
                    );
                }
                Some(Err(e)) if self.eof || !(e.is_eof() || at_end_of(rest, &e)) => {
                    return Ok(Element::Broken(e))
                }
                // Only whitespace: `peek` saw none, so this is the end of the input.
                None if self.eof => {
                    return Ok(Element::Broken(serde::de::Error::custom(
                        "EOF while parsing a value",
                    )))
                }
                _ => {}
            }
            // Double what is buffered, so that an element of any size is parsed a bounded
            // number of times.
            self.fill(pending.saturating_mul(2).max(CHUNK))?;
        }
    }

    /// Steps over a broken element, without buffering it, so that reading resumes at the next
    /// one. Returns whether it ran to the end of the input.
    fn skip_element(&mut self) -> io::Result<bool> {
        let mut skipper = Skipper::default();
        loop {
            let rest = self.buf.get(self.pos..self.end).unwrap_or_default();
            let mut used = 0;
            let mut done = false;
            for &b in rest {
                match skipper.step(b) {
                    Step::Inside => used += 1,
                    Step::Last => {
                        used += 1;
                        done = true;
                        break;
                    }
                    Step::After => {
                        done = true;
                        break;
                    }
                }
            }
            self.advance(used);
            if done {
                return Ok(false);
            }
            if self.eof {
                return Ok(true);
            }
            self.fill(1)?;
        }
    }

    /// Skips whitespace; the next byte, or `None` at the end of the input.
    fn peek(&mut self) -> io::Result<Option<u8>> {
        loop {
            let rest = self.buf.get(self.pos..self.end).unwrap_or_default();
            let blank = rest.iter().take_while(|&&b| is_json_whitespace(b)).count();
            let next = rest.get(blank).copied();
            self.advance(blank);
            if next.is_some() || self.eof {
                return Ok(next);
            }
            self.fill(1)?;
        }
    }

    /// Moves `pos` over `n` framed bytes, counting their lines.
    fn advance(&mut self, n: usize) {
        let framed = self.buf.get(self.pos..self.pos + n).unwrap_or_default();
        let lines = newlines(framed);
        if lines > 0 {
            self.line += lines;
            if let Some(last) = framed.iter().rposition(|&b| b == b'\n') {
                self.line_start = self.base + (self.pos + last + 1) as u64;
            }
        }
        self.pos += n;
    }

    /// Drops the framed bytes, then reads until `want` unframed bytes are buffered or the input
    /// ends.
    fn fill(&mut self, want: usize) -> io::Result<()> {
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.base += self.pos as u64;
            self.end -= self.pos;
            self.pos = 0;
            // The head was megabytes, and a huge element may have grown the buffer: give the
            // memory back once they are framed.
            let keep = want.max(self.end) + CHUNK;
            if self.buf.len() > 2 * keep {
                self.buf.truncate(keep);
                self.buf.shrink_to_fit();
            }
        }
        while !self.eof && self.end - self.pos < want {
            if self.end == self.buf.len() {
                let room = want.saturating_sub(self.end - self.pos).max(CHUNK);
                self.buf.resize(self.end + room, 0);
            }
            let room = self.buf.get_mut(self.end..).unwrap_or_default();
            match self.reader.read(room) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The position of `pos`, for a deserializer started there.
    fn here(&self) -> ErrorPlace {
        ErrorPlace {
            line: self.line,
            column_shift: (self.base + self.pos as u64).saturating_sub(self.line_start),
        }
    }

    /// Reports a syntax error at the byte at `pos`, placed as serde_json places its own.
    fn report_here(&self, message: &str, on_item: &mut dyn FnMut(Item)) {
        let place = self.here();
        on_item(Item::Unreadable {
            reason: json_error(message, place.column_shift + 1),
            position: Position {
                line: place.line,
                index: None,
            },
        });
    }

    /// Reports the input ending inside the document.
    fn report_end(&self, message: &str, on_item: &mut dyn FnMut(Item)) {
        let place = self.here();
        on_item(Item::Unreadable {
            reason: json_error(message, place.column_shift),
            position: Position {
                line: place.line,
                index: None,
            },
        });
    }

    /// After a structural error at `pos`: what the reader-based path does after any syntax
    /// error, from the same place.
    fn recover(self, on_item: &mut dyn FnMut(Item)) -> io::Result<()> {
        let mut input = self.into_tracked();
        input.skip_to_next_object()?;
        read_values(input, on_item)
    }

    /// The unframed rest of the input, for the reader-based path.
    fn into_tracked(self) -> Tracked<BufReader<io::Chain<io::Cursor<Vec<u8>>, R>>> {
        let LogFile {
            reader,
            mut buf,
            pos,
            end,
            line,
            ..
        } = self;
        buf.truncate(end);
        buf.drain(..pos);
        Tracked {
            inner: resume(buf, reader),
            line,
        }
    }
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
    memchr::memchr_iter(b'\n', bytes).count() as u64
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
        let parsed = match frame_at(rest) {
            Some((frame, text)) => {
                let result = classify_frame(frame, text, start, &mut *on_item);
                report_unclassified(result, start, &mut *on_item);
                Some(Ok(text.len()))
            }
            None => {
                let mut values =
                    serde_json::Deserializer::from_slice(rest).into_iter::<&RawValue>();
                values.next().map(|value| {
                    value.map(|raw| {
                        let result = classify_in_memory(raw, start, &mut *on_item);
                        report_unclassified(result, start, &mut *on_item);
                        values.byte_offset()
                    })
                })
            }
        };
        match parsed {
            None => return,
            Some(Ok(used)) => {
                let value_bytes = rest.get(..used).unwrap_or_default();
                let value_lines = newlines(value_bytes);
                line += value_lines;
                offset += used;
                // One value on one line, then a line break: JSON Lines from here on, so a
                // truncated line cannot swallow the next one.
                let after = bytes.get(offset..).unwrap_or_default();
                let line_end = after
                    .iter()
                    .take_while(|&&b| b == b' ' || b == b'\t' || b == b'\r')
                    .count();
                if value_lines == 0 && after.get(line_end).is_none_or(|&b| b == b'\n') {
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
    // Only an object that fills the line: with anything after it, the line is one syntax error,
    // as on the general path, and nothing of it is evaluated.
    if let Some((frame, object)) = frame_at(text).filter(|(_, object)| object.len() == text.len()) {
        let result = classify_frame(frame, object, line, &mut *on_item);
        report_unclassified(result, line, on_item);
        return;
    }
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
    read_values(
        Tracked {
            inner: reader,
            line: 1,
        },
        on_item,
    )
}

/// Top-level values parsed from a reader, from wherever `input` stands.
fn read_values<R: BufRead>(mut input: Tracked<R>, on_item: &mut dyn FnMut(Item)) -> io::Result<()> {
    loop {
        if !input.skip_whitespace()? {
            return Ok(());
        }
        let start = input.line;
        let mut de = serde_json::Deserializer::from_reader(&mut input);
        let result = TopSeed {
            on_item: &mut *on_item,
            line: start,
        }
        .deserialize(&mut de);
        drop(de);
        let place = ErrorPlace {
            line: start,
            column_shift: 0,
        };
        match finish_value(&mut input, result, start, place, on_item)? {
            Next::Values => {}
            Next::Lines => return read_lines(input, on_item),
        }
    }
}

/// How reading goes on after a top-level value.
enum Next {
    Values,
    Lines,
}

/// Where a deserializer started, so that its relative error positions can be made absolute.
#[derive(Clone, Copy)]
struct ErrorPlace {
    /// The absolute line of its line 1.
    line: u64,
    /// Added to the columns it reports on its line 1.
    column_shift: u64,
}

/// Ends a top-level value that began on line `start` and was parsed from `input`. A syntax error
/// is reported and skipped past; a value that began and ended on one line, followed by a line
/// break, means JSON Lines: parsed line by line from here, so that a truncated line cannot
/// swallow the next one.
fn finish_value<R: BufRead>(
    input: &mut Tracked<R>,
    result: Result<(), serde_json::Error>,
    start: u64,
    place: ErrorPlace,
    on_item: &mut dyn FnMut(Item),
) -> io::Result<Next> {
    match result {
        Ok(()) if input.line == start && input.at_line_end()? => Ok(Next::Lines),
        Ok(()) => Ok(Next::Values),
        Err(e) if e.is_io() => Err(io::Error::other(e)),
        Err(e) => {
            let (line, column) = place.locate(&e);
            on_item(Item::Unreadable {
                reason: syntax_error_at(&e, column),
                position: Position { line, index: None },
            });
            input.skip_to_next_object()?;
            Ok(Next::Values)
        }
    }
}

impl ErrorPlace {
    /// The absolute line and column of a deserializer's error.
    fn locate(self, e: &serde_json::Error) -> (u64, u64) {
        let line = e.line() as u64;
        let column = e.column() as u64;
        if line <= 1 {
            (self.line, column + self.column_shift)
        } else {
            (self.line + line - 1, column)
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
    let frame = match raw.get().as_bytes().first() {
        Some(b'{') => serde_json::from_str::<Frame<'_>>(raw.get()).ok(),
        _ => None,
    };
    let Some(frame) = frame else {
        return TopSeed { on_item, line }
            .deserialize(&mut serde_json::Deserializer::from_str(raw.get()));
    };
    classify_frame(frame, raw.get(), line, on_item)
}

/// The common case in one pass less: an object at the start of `rest` read as its [`Frame`]
/// straight away, instead of first as a raw value, with the text it spans. `None` when this
/// shortcut does not apply (not an object, broken JSON, a frame that does not fit): the general
/// path then reports exactly what is wrong.
fn frame_at(rest: &[u8]) -> Option<(Frame<'_>, &str)> {
    if rest.first() != Some(&b'{') {
        return None;
    }
    let mut values = serde_json::Deserializer::from_slice(rest).into_iter::<Frame<'_>>();
    let frame = values.next()?.ok()?;
    let text = std::str::from_utf8(rest.get(..values.byte_offset())?).ok()?;
    Some((frame, text))
}

/// Reports an object that parsed as JSON but not as what its frame said it was.
fn report_unclassified(
    result: Result<(), serde_json::Error>,
    line: u64,
    on_item: &mut dyn FnMut(Item),
) {
    if let Err(e) = result {
        on_item(Item::Unreadable {
            reason: format!("not a CloudTrail record: {e}"),
            position: Position { line, index: None },
        });
    }
}

/// What an object is, from its frame; `text` is the whole object.
fn classify_frame(
    frame: Frame<'_>,
    text: &str,
    line: u64,
    on_item: &mut dyn FnMut(Item),
) -> Result<(), serde_json::Error> {
    let position = Position { line, index: None };
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
    on_item(match serde_json::from_str::<Record>(text) {
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
    syntax_error_at(e, e.column() as u64)
}

fn syntax_error_at(e: &serde_json::Error, column: u64) -> String {
    let text = e.to_string();
    let message = text
        .rsplit_once(" at line ")
        .map_or(text.as_str(), |(m, _)| m);
    json_error(message, column)
}

/// Worded like serde_json's own errors, for the ones the log file framer finds itself.
fn json_error(message: &str, column: u64) -> String {
    format!("not valid JSON: {message} (column {column})")
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
        while let Some(key) = map.next_key::<String>()? {
            if key == "Records" {
                map.next_value_seed(RecordsSeed {
                    on_item: &mut *self.on_item,
                    line: self.line,
                })?;
                return rest_of_log_file(map, self.on_item, self.line);
            }
            fields.push((key, map.next_value::<Box<RawValue>>()?));
        }
        (self.on_item)(classify_object(fields, position));
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

/// The keys after a log file's `Records`: skimmed, except a repeated `Records`, which is read too.
fn rest_of_log_file<'de, A: MapAccess<'de>>(
    mut map: A,
    on_item: &mut dyn FnMut(Item),
    line: u64,
) -> Result<(), A::Error> {
    while let Some(key) = map.next_key::<String>()? {
        if key == "Records" {
            map.next_value_seed(RecordsSeed {
                on_item: &mut *on_item,
                line,
            })?;
        } else {
            map.next_value::<IgnoredAny>()?;
        }
    }
    Ok(())
}

/// What follows a log file's `Records` array once the framer has read it: the rest of the
/// top-level object, given to the deserializer behind a stand-in `{`.
struct RestOfLogFile<'a> {
    on_item: &'a mut dyn FnMut(Item),
    line: u64,
}

impl<'de> DeserializeSeed<'de> for RestOfLogFile<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RestOfLogFile<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the rest of a CloudTrail log file")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        rest_of_log_file(map, self.on_item, self.line)
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

    /// Every field of every item, so that paths are compared on the records too.
    fn items_of(read: impl FnOnce(&mut dyn FnMut(Item))) -> Vec<String> {
        let mut out = Vec::new();
        read(&mut |item| out.push(format!("{item:?}")));
        out
    }

    fn in_memory(bytes: &[u8]) -> Vec<String> {
        items_of(|on_item| read_buffer(bytes, on_item))
    }

    /// The reader-based path, as large inputs were read before the log file framer.
    fn from_reader(bytes: &[u8]) -> Vec<String> {
        items_of(|on_item| read_plain(BufReader::new(bytes), on_item).unwrap())
    }

    /// A large input's path, with the first `split` bytes already buffered as the head.
    fn large(bytes: &[u8], split: usize) -> Vec<String> {
        let (head, rest) = bytes.split_at(split);
        items_of(|on_item| read_large(head.to_vec(), rest, on_item).unwrap())
    }

    /// The framer's result must not depend on where the buffer is cut: try every cut after the
    /// opening (the head always holds it).
    fn framed(bytes: &[u8]) -> Vec<String> {
        let opening = log_file_opening(bytes).expect("a log file");
        let whole = large(bytes, bytes.len());
        for split in opening.array..bytes.len() {
            assert_eq!(
                large(bytes, split),
                whole,
                "cut at {split}:\n{}",
                String::from_utf8_lossy(bytes)
            );
        }
        whole
    }

    const DELETE: &str = r#"{"eventSource":"iam.amazonaws.com","eventName":"DeleteRole","requestParameters":{"roleName":"x"}}"#;
    const TRICKY: &str = r#"{"eventSource":"iam.amazonaws.com","eventName":"Put]Role}Policy\"","requestParameters":{"policyDocument":"{\"a\":[\"]}\\\\\"}\\\\\",\"\\\\\"]}","n":[-1.5e3,0,1E+2,true,null,{}]},"eventID":"\\\\"}"#;

    #[test]
    fn log_file_framer_agrees_with_both_paths() {
        let pretty = |v: &str| {
            serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(v).unwrap())
                .unwrap()
        };
        let inputs = [
            format!(r#"{{"Records":[{DELETE},{TRICKY},{DELETE}]}}"#),
            format!("{{\"Records\":[{DELETE},{TRICKY}]}}\n"),
            format!(
                "\u{feff}\n  {{ \"Records\" :\n [ {DELETE} ,\n{TRICKY}\n ] }}\n\n{DELETE}\n{DELETE}\n"
            ),
            pretty(&format!(r#"{{"Records":[{DELETE},{TRICKY},[1,"]"],"x",{{}}]}}"#)),
            pretty(&format!(r#"{{"Records":[{TRICKY},{DELETE}]}}"#)).replace('\n', "\r\n"),
            r#"{"Records":[]}"#.to_string(),
            r#"{"Records":[ ]}"#.to_string(),
            r#"{"Records":[1,-2.5e-3,"s",true,null,[{}]]}"#.to_string(),
            format!(r#"{{"Records":[{DELETE}],"Digest":{{"a":[1,"]}}"]}},"Records":[{TRICKY}]}}"#),
            format!("{{\"Records\":[{DELETE}]}} {{\"Records\":[{TRICKY}]}}\n[{DELETE}]"),
            format!("{{\"Records\":[{DELETE}]\n}}\n{DELETE}\n{{\"eventName\":\n{DELETE}\n"),
            format!("{{\"Records\":[{DELETE}]}}\n{DELETE}\n{{\"eventName\":\n{DELETE}\n"),
        ];
        for input in inputs {
            let bytes = input.as_bytes();
            let framed = framed(bytes);
            assert_eq!(framed, in_memory(bytes), "input:\n{input}");
            assert_eq!(framed, from_reader(bytes), "input:\n{input}");
        }
    }

    #[test]
    fn other_shapes_keep_the_reader_path() {
        for input in [
            format!(r#"{{"Digest":1,"Records":[{DELETE}]}}"#),
            format!(r#"{{"Records":{{"a":{DELETE}}}}}"#),
            format!("[{DELETE}]"),
            format!("{DELETE}\n{DELETE}"),
            format!("\u{c}{{\"Records\":[{DELETE}]}}"),
        ] {
            assert!(log_file_opening(input.as_bytes()).is_none(), "{input}");
            assert_eq!(large(input.as_bytes(), 0), from_reader(input.as_bytes()));
        }
    }

    /// A broken element costs that record alone; the framer reports it with its line and index
    /// where the other paths lose the rest of the document.
    #[test]
    fn a_broken_element_costs_one_record() {
        let cases = [
            (r#"{"eventName":tru}"#, "expected ident"),
            ("{\"eventName\":\"a\nb\"}", "control character"),
            (r#"{"eventName":"say "hi""}"#, "expected `,` or `}`"),
            (
                r#"{"eventName":"x","eventName":"y"}"#,
                "duplicate field `eventName`",
            ),
            (r#"{"eventName":"\q"}"#, "invalid escape"),
            (r#"{"a":[1,2}}"#, "expected `,` or `]`"),
            (r#"{"a":01}"#, "invalid number"),
            (r#"{"a":1.}"#, "invalid number"),
        ];
        for (bad, reason) in cases {
            for layout in ["", "\n"] {
                let input =
                    format!("{{\"Records\":[{layout}{DELETE},{layout}{bad},{layout}{TRICKY}]}}");
                let got = framed(input.as_bytes());
                let expected = in_memory(input.replace(bad, "null").as_bytes())
                    .into_iter()
                    .enumerate();
                assert_eq!(got.len(), 3, "{input}: {got:?}");
                for (i, want) in expected {
                    if i == 1 {
                        let line =
                            if layout.is_empty() { 1 } else { 3 } + u64::from(bad.contains('\n'));
                        assert!(
                            got[i].contains(&format!("line: {line}, index: Some(1)"))
                                && got[i].contains(reason),
                            "{input}: {}",
                            got[i]
                        );
                    } else {
                        assert_eq!(got[i], want, "{input}");
                    }
                }
            }
        }
    }

    /// Damage around the elements: the framer reports the same error as the reader-based path,
    /// after the same records, and never reads on past the damage into another element.
    #[test]
    fn a_broken_array_is_reported_like_the_reader_path() {
        for input in [
            format!(r#"{{"Records":[{DELETE} {DELETE}]}}"#),
            format!(r#"{{"Records":[{DELETE}]]}}"#),
            format!(r#"{{"Records":[{DELETE}],"x":tru}}"#),
            format!("{{\"Records\":[{DELETE}],\n\"x\":[1,}}\n{DELETE}"),
            format!("{{\"Records\":[{DELETE}],\"x\":1 {DELETE}\n{{\"Records\":[{TRICKY}]}}"),
            format!("{{\"Records\":[\n{DELETE}\n}}\n{{\"Records\":[{TRICKY}]}}"),
        ] {
            assert_eq!(
                framed(input.as_bytes()),
                from_reader(input.as_bytes()),
                "{input}"
            );
        }
        // An element whose brackets do not balance cannot be stepped over: it is reported, then
        // the rest of the document is skipped as the reader-based path would.
        let input = format!("{{\"Records\":[{DELETE},{{\"a\":[1,2}},{TRICKY}]}}\n{DELETE}");
        let got = framed(input.as_bytes());
        let record = |line: u64, index: &str| {
            in_memory(DELETE.as_bytes())[0].replace(
                "line: 1, index: None",
                &format!("line: {line}, index: {index}"),
            )
        };
        assert_eq!(got.len(), 4, "{got:?}");
        assert_eq!(got[0], record(1, "Some(0)"));
        assert!(
            got[1].contains("expected `,` or `]` (column 120)")
                && got[1].contains("index: Some(1)"),
            "{}",
            got[1]
        );
        assert!(
            got[2].contains("expected `,` or `]`") && got[2].contains("index: None"),
            "{}",
            got[2]
        );
        assert_eq!(got[3], record(2, "None"));

        let input = format!(r#"{{"Records":[{DELETE},]}}"#);
        let got = framed(input.as_bytes());
        assert_eq!(got[0], from_reader(input.as_bytes())[0]);
        assert!(got[1].contains("trailing comma"), "{got:?}");
        assert_eq!(got.len(), 2, "{got:?}");
    }

    /// A file cut anywhere: the records before the cut, then one report with the line where
    /// it ends, worded like the reader-based path's.
    #[test]
    fn a_truncated_file_reports_where_it_ends() {
        let input =
            format!("{{\"Records\":[{DELETE},\n{TRICKY},\n{{\"n\":[1.5e3,-2]}},\n{DELETE}]}}");
        let opening = log_file_opening(input.as_bytes()).unwrap();
        for cut in opening.array..input.len() {
            let bytes = &input.as_bytes()[..cut];
            let got = large(bytes, bytes.len());
            let split = large(bytes, opening.array + (cut - opening.array) / 2);
            assert_eq!(got, split, "cut at {cut}");
            let old = from_reader(bytes);
            let records = old.len() - 1;
            assert_eq!(got.len(), old.len(), "cut at {cut}: {got:?}");
            assert_eq!(got[..records], old[..records], "cut at {cut}");
            // The framer knows which record was cut off.
            let unindexed =
                got[records].replacen(&format!("index: Some({records})"), "index: None", 1);
            assert_eq!(unindexed, old[records], "cut at {cut}");
        }
    }

    #[test]
    fn a_value_cut_at_the_buffer_end_is_read_whole() {
        // serde_json calls `1.` at the end of its input an invalid number, not the end.
        let input = r#"{"Records":[{"eventName":"A","n":1.5},-3.25e-1,{"eventName":"B","n":-1}]}"#;
        for split in log_file_opening(input.as_bytes()).unwrap().array..input.len() {
            assert_eq!(large(input.as_bytes(), split), in_memory(input.as_bytes()));
        }
    }

    fn sample_records() -> Vec<serde_json::Value> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/events");
        let texts: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .collect();
        crate::synth::records_from_samples(texts.iter().map(String::as_str))
    }

    /// A log file just over the in-memory limit, so that `read_items` streams it.
    fn large_log_file(records: &[serde_json::Value]) -> Vec<u8> {
        let mut bytes = Vec::new();
        let mut count = 1000;
        while bytes.len() as u64 <= IN_MEMORY_LIMIT + (CHUNK as u64) {
            bytes.clear();
            crate::synth::write_log_file(&mut bytes, records, count).unwrap();
            count *= 2;
        }
        bytes
    }

    fn streamed(bytes: &[u8]) -> Vec<String> {
        items_of(|on_item| read_items(bytes, on_item).unwrap())
    }

    /// Large files, through the public entry point, against the in-memory parse of the same
    /// bytes: compact, gzip, pretty-printed with CRLF, with tricky strings.
    #[test]
    fn large_log_files_stream_like_they_parse_in_memory() {
        let mut records = sample_records();
        records.push(serde_json::from_str(TRICKY).unwrap());
        records.push(serde_json::json!(42));
        let compact = large_log_file(&records);
        let expected = in_memory(&compact);
        assert!(expected.len() > 5000, "{}", expected.len());
        assert_eq!(streamed(&compact), expected);

        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &compact).unwrap();
        assert_eq!(streamed(&gz.finish().unwrap()), expected);

        let value: serde_json::Value = serde_json::from_slice(&compact).unwrap();
        let crlf = serde_json::to_string_pretty(&value)
            .unwrap()
            .replace('\n', "\r\n")
            .into_bytes();
        assert_eq!(streamed(&crlf), in_memory(&crlf));
        assert_eq!(streamed(&crlf), from_reader(&crlf));
    }

    #[test]
    fn large_log_files_survive_damage() {
        let records = sample_records();
        let compact = large_log_file(&records);
        let text = String::from_utf8(compact).unwrap();
        let expected = in_memory(text.as_bytes());
        // A broken record in the middle, spanning lines.
        let middle = expected.len() / 2;
        let marker = format!("\"{middle:08x}-0000-4000-8000-000000000000\"");
        let broken = text.replacen(&marker, &format!("{marker}, \"x\": [1,\n2}}"), 1);
        let got = streamed(broken.as_bytes());
        assert_eq!(got.len(), expected.len());
        for (i, (got, want)) in got.iter().zip(&expected).enumerate() {
            if i == middle {
                assert!(
                    got.contains(&format!("line: 2, index: Some({i})"))
                        && got.contains("expected `,` or `]` (column 2)"),
                    "{got}"
                );
            } else {
                assert!(got == want, "record {i}: {got}");
            }
        }
        // Truncated in the middle of a record: the records before, then where it ends.
        let cut = &text.as_bytes()[..text.len() - 1000];
        let got = streamed(cut);
        let old = from_reader(cut);
        assert_eq!(got.len(), old.len());
        assert!(got[..got.len() - 1] == old[..old.len() - 1]);
        let last = got.last().unwrap();
        assert!(
            last.contains("EOF while parsing")
                && last.contains(&format!("index: Some({})", got.len() - 1)),
            "{last}"
        );
        // Followed by JSON Lines, with absolute line numbers.
        let lines = format!("{text}{DELETE}\n\n{{\"eventName\": \n{DELETE}\n");
        assert_eq!(streamed(lines.as_bytes()), in_memory(lines.as_bytes()));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn text() -> impl Strategy<Value = String> {
            prop::collection::vec(
                prop_oneof![
                    Just("]".to_string()),
                    Just("}".to_string()),
                    Just("[".to_string()),
                    Just("{".to_string()),
                    Just("\"".to_string()),
                    Just("\\".to_string()),
                    Just("\n".to_string()),
                    Just("é".to_string()),
                    "[a-zA-Z:,/ ]{1,4}",
                ],
                0..6,
            )
            .prop_map(|parts| parts.concat())
        }

        fn value() -> impl Strategy<Value = serde_json::Value> {
            use serde_json::Value;
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i32>().prop_map(Value::from),
                (-1e6f64..1e6).prop_map(Value::from),
                text().prop_map(Value::String),
            ];
            leaf.prop_recursive(3, 24, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    prop::collection::vec((text(), inner), 0..4)
                        .prop_map(|kv| Value::Object(kv.into_iter().collect())),
                ]
            })
        }

        fn element() -> impl Strategy<Value = serde_json::Value> {
            prop_oneof![
                4 => (text(), value(), value()).prop_map(|(name, params, other)| serde_json::json!({
                    "eventSource": "iam.amazonaws.com",
                    "eventName": name,
                    "requestParameters": params,
                    "other": other,
                })),
                1 => value(),
            ]
        }

        /// A log file as text, laid out one of several ways.
        fn log_file() -> impl Strategy<Value = String> {
            (prop::collection::vec(element(), 0..6), 0..4u8).prop_map(|(elements, layout)| {
                let doc = serde_json::json!({ "Records": elements });
                match layout {
                    0 => doc.to_string(),
                    1 => serde_json::to_string_pretty(&doc).unwrap(),
                    2 => serde_json::to_string_pretty(&doc)
                        .unwrap()
                        .replace('\n', "\r\n"),
                    _ => format!("{doc}\n{}\n", serde_json::json!({"Records": [DELETE]})),
                }
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(200))]

            #[test]
            fn framing_agrees_with_the_in_memory_path(text in log_file(), cut in 0.0..1.0f64) {
                let bytes = text.as_bytes();
                let array = log_file_opening(bytes).unwrap().array;
                let split = array + ((bytes.len() - array) as f64 * cut) as usize;
                prop_assert_eq!(large(bytes, split), in_memory(bytes));
            }

            /// Damage anywhere: no panic, no endless loop, and the same items wherever the
            /// buffer happens to be cut.
            #[test]
            fn damage_is_survived(
                text in log_file(),
                at in 0.0..1.0f64,
                with in prop::sample::select(vec!["", "\"", "\\", "{", "}", "[", "]", ",", ":", "\n", "x", "1.", "\u{1}"]),
                cut in 0.0..1.0f64,
            ) {
                let at = (text.len() as f64 * at) as usize;
                let Some(at) = (at..=text.len()).find(|&i| text.is_char_boundary(i)) else {
                    return Ok(());
                };
                let mut damaged = text.clone();
                let next = (at + 1..=text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(at);
                damaged.replace_range(at..next, with);
                let bytes = damaged.as_bytes();
                let Some(opening) = log_file_opening(bytes) else {
                    return Ok(());
                };
                let split = opening.array + ((bytes.len() - opening.array) as f64 * cut) as usize;
                prop_assert_eq!(large(bytes, split), large(bytes, bytes.len()));
            }
        }
    }
}
