//! Framing: finds the byte range of each record, without parsing it and without recursion.
//!
//! The framer is a resumable state machine over a window of the input. It knows the few
//! containers records live in (a top-level array, a log file's `Records` array, the log file
//! object around it) and, inside a record, only whether it is in a string and how deep it is.
//! That is enough to delimit a record however broken it is inside, so a bad record is exactly
//! its own frame and the next one starts where it ends. The limits are checked here, before a
//! byte of the record is parsed: a record over the size limit is not kept in memory, and
//! nesting is counted, never recursed into.
//!
//! Three rules decide what is a record when the input is damaged:
//! - JSON Lines: once a top-level value has started and ended on one line, followed by a line
//!   break, every line is one frame, until a line holding only `{` or `[` opens a
//!   pretty-printed document again.
//! - A cut line: a frame that meets a line break on its first line, followed (after blank
//!   lines) by `{` or `[` at the start of a line, was cut there (a truncated JSON line); that
//!   line starts afresh. Pretty-printers never put an opening bracket at the start of a line
//!   right after the first line of a value. The same holds on any line of a frame known to be
//!   broken (a raw line break inside a string).
//! - A frame that the input ends inside (a truncated file) is the last thing of that input.

use super::classify::{json_error, leading_record, leading_value, unreadable};
use super::position::{Lines, Place, Position};
use super::quick;
use super::record::Select;
use super::stream::Item;

/// The limits checked while framing, and which records are read whole.
#[derive(Clone, Copy)]
pub(crate) struct Limits<'s> {
    pub max_record_bytes: u64,
    pub max_depth: u32,
    pub select: Option<Select<'s>>,
    /// Whether a valid record may be read where it starts instead of framed first (off only
    /// in tests, which compare the two; carried into the lines of JSON Lines).
    pub reads_in_place: bool,
}

/// What a frame holds, for the classifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// A top-level value, or an element of a top-level array: an event, a record, a log file.
    Value,
    /// An element of a `Records` array.
    Record,
    /// The value of another key of a log file: only checked to be JSON.
    Extra,
    /// A whole JSON Lines line.
    Line,
}

/// A frame to classify: the bytes `start..end` of the input.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame {
    pub start: u64,
    pub end: u64,
    pub role: Role,
    pub index: Option<u64>,
    /// Where its first byte is.
    pub place: Place,
    /// The line of the top-level value it belongs to, which records are reported on.
    pub top_line: u64,
    /// `false` when the input or the line ended before the frame did.
    pub complete: bool,
}

pub(crate) enum Step {
    Frame(Frame),
    /// Something wrong found by framing alone: a limit, the structure around the records.
    Item(Item),
    /// The window is used up: call again with more input (or with `eof`).
    NeedMore,
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Right after `[`.
    First,
    /// After an element: `,` or `]`.
    Comma,
    /// After `,`.
    Element,
    /// After an error: skipping to something that fits.
    Resync,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Member {
    CommaOrClose,
    Key,
    /// Inside a key that starts at this offset.
    InKey {
        start: u64,
        escaped: bool,
    },
    Colon {
        records: bool,
    },
    Value {
        records: bool,
    },
    Resync,
}

#[derive(Debug, Clone, Copy)]
enum Container {
    /// A top-level array (`records: false`) or a `Records` array.
    Array {
        records: bool,
        index: u64,
        expect: Expect,
    },
    /// A log file object, from its `Records` key on.
    LogFile { expect: Member },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An object, an array or a string: ends where its depth returns to 0.
    Nested,
    /// A number, a literal or garbage: ends before a delimiter.
    Scalar,
    /// A JSON Lines line: ends before the line break.
    Line,
}

/// Looking for `"Records": [` among the keys of a top-level object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Watch {
    Off,
    Key,
    InKey(u64),
    Colon,
    Array,
}

#[derive(Debug, Clone, Copy)]
struct Open {
    start: u64,
    role: Role,
    index: Option<u64>,
    place: Place,
    kind: Kind,
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// No line break seen yet (the cut-line rule applies).
    first_line: bool,
    /// Its first line break, when the line after it is not indented, as a pretty-printer
    /// would have indented it: the frame may be a cut line that ran on into the next ones.
    unindented_break: Option<u64>,
    /// A raw line break was seen inside a string, which JSON never has: the frame is broken,
    /// and the cut-line rule applies on every line.
    broken: bool,
    /// Already reported over a limit: scanned to its end, but not kept nor classified.
    skipping: bool,
    /// A top-level object, which may turn out to be a log file.
    watches: bool,
    watch: Watch,
}

pub(crate) struct Framer<'s> {
    limits: Limits<'s>,
    lines: Lines,
    /// The next byte to look at.
    pos: u64,
    /// Whether JSON Lines may be detected (not inside one line).
    detect_lines: bool,
    json_lines: bool,
    /// After a top-level value that fit on its line: looking for that line's end.
    check_line_end: bool,
    /// Skipping stray bytes between top-level values, reported already.
    top_resync: bool,
    /// The last top-level value started as a string.
    after_string: bool,
    /// A top-level string followed by `:`, a key without its object: the input is a fragment
    /// (the middle of a pasted file), reported once, until a frame is read whole.
    fragment: bool,
    stack: Vec<Container>,
    open: Option<Open>,
    top_line: u64,
    /// Top-level values started so far.
    pub top_values: u64,
    ended: bool,
}

enum Scan {
    /// The frame ends before this offset.
    Ended(u64),
    /// Cut at the line break at this offset.
    Cut(u64),
    /// The frame is a log file: its `Records` array opens at this offset.
    LogFile(u64),
    /// Over the depth limit at this offset.
    TooDeep(u64),
    /// The window ended inside the frame.
    Exhausted,
}

/// The bytes that matter outside strings, unless a log file is being looked for.
const STRUCTURAL: ByteSet = ByteSet::of(b"\"{}[]\n");
/// The bytes that end a run inside a string when line breaks matter.
const IN_STRING_OR_LINE: ByteSet = ByteSet::of(b"\"\\\n");

/// A set of bytes, tested with one load instead of a chain of comparisons.
struct ByteSet([bool; 256]);

impl ByteSet {
    #[allow(
        clippy::indexing_slicing,
        reason = "const context; a byte indexes 256 entries"
    )]
    const fn of(bytes: &[u8]) -> Self {
        let mut set = [false; 256];
        let mut i = 0;
        while i < bytes.len() {
            set[bytes[i] as usize] = true;
            i += 1;
        }
        ByteSet(set)
    }

    fn contains(&self, b: u8) -> bool {
        self.0.get(usize::from(b)).copied().unwrap_or(false)
    }
}

/// The first quote or backslash in `rest` (or line break, with `lines`).
fn string_stop(rest: &[u8], lines: bool) -> Option<usize> {
    if !lines {
        return quote_or_backslash(rest);
    }
    // Most keys and values are short: a plain loop finds their end before a vector search
    // would have started.
    const SHORT: usize = 32;
    let head = rest.get(..SHORT).unwrap_or(rest);
    if let Some(n) = head.iter().position(|&b| IN_STRING_OR_LINE.contains(b)) {
        return Some(n);
    }
    let tail = rest.get(SHORT..)?;
    memchr::memchr3(b'"', b'\\', b'\n', tail).map(|n| n + SHORT)
}

/// The first `"` or `\` in `rest`, eight bytes at a time (see [`special_bytes`]): most strings
/// end within a few words, before a vector search would have started.
pub(super) fn quote_or_backslash(rest: &[u8]) -> Option<usize> {
    first_hit(
        rest,
        |word| special_bytes(word, false),
        |b| b == b'"' || b == b'\\',
    )
}

/// The first `"`, `\`, control byte or byte beyond ASCII in `rest`, eight bytes at a time: where
/// a string that is plainly JSON (and plainly UTF-8) ends, or needs a closer look.
pub(super) fn plain_stop(rest: &[u8]) -> Option<usize> {
    const HIGH: u64 = (u64::MAX / 255) << 7;
    first_hit(
        rest,
        |word| special_bytes(word, true) | (word & HIGH),
        |b| b == b'"' || b == b'\\' || !(0x20..0x80).contains(&b),
    )
}

/// The first byte of `rest` that `hit` takes: `hits` marks them in each word of eight (the
/// lowest mark exact), `hit` judges the bytes after the last whole word.
pub(super) fn first_hit(
    rest: &[u8],
    hits: impl Fn(u64) -> u64,
    hit: impl Fn(u8) -> bool,
) -> Option<usize> {
    let mut words = rest.chunks_exact(8);
    let mut offset = 0;
    for word in words.by_ref() {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        let marks = hits(u64::from_le_bytes(bytes));
        if marks != 0 {
            return Some(offset + marks.trailing_zeros() as usize / 8);
        }
        offset += 8;
    }
    words
        .remainder()
        .iter()
        .position(|&b| hit(b))
        .map(|n| offset + n)
}

/// The high bit set in each byte of `word` (read little-endian) that is `"` or `\`, and with
/// `controls` each byte below 0x20: the zero-byte test of the word XORed with each byte sought,
/// and the less-than test. The first hit (the lowest bit) is exact; a borrow can mark a byte
/// above a hit, which is all a search for the first needs.
pub(super) fn special_bytes(word: u64, controls: bool) -> u64 {
    const ONES: u64 = u64::MAX / 255;
    const HIGH: u64 = ONES << 7;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let hits = zero(word ^ (ONES * u64::from(b'"'))) | zero(word ^ (ONES * u64::from(b'\\')));
    match controls {
        true => hits | (word.wrapping_sub(ONES * 0x20) & !word & HIGH),
        false => hits,
    }
}

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn is_delimiter(b: u8) -> bool {
    is_blank(b) || matches!(b, b'{' | b'}' | b'[' | b']' | b',' | b':' | b'"')
}

impl<'s> Framer<'s> {
    /// A framer for an input whose first byte is at `line`, 0-based `column`.
    pub fn new(limits: Limits<'s>, detect_lines: bool, line: u64, column: u64) -> Self {
        Framer {
            limits,
            lines: Lines::new(line, column),
            pos: 0,
            detect_lines,
            json_lines: false,
            check_line_end: false,
            top_resync: false,
            after_string: false,
            fragment: false,
            stack: Vec::with_capacity(4),
            open: None,
            top_line: line,
            top_values: 0,
            ended: false,
        }
    }

    /// The first offset still needed: bytes before it may be dropped from the window. Counts
    /// their lines first.
    pub fn release(&mut self, window: &[u8], base: u64) -> u64 {
        let mut keep = self.pos;
        if let Some(open) = &self.open {
            if !open.skipping {
                keep = open.start;
            }
        }
        if let Some(Container::LogFile {
            expect: Member::InKey { start, .. },
        }) = self.stack.last()
        {
            keep = keep.min(*start);
        }
        self.lines.at(window, base, keep);
        keep
    }

    /// The next step over `window`, which holds the input from offset `base` (at most up to
    /// the first offset not yet released); `eof` when nothing follows the window.
    pub fn next(&mut self, window: &[u8], base: u64, eof: bool) -> Step {
        loop {
            if self.ended {
                return Step::End;
            }
            if let Some(open) = self.open {
                match self.scan(open, window, base, eof) {
                    Some(step) => return step,
                    None => continue,
                }
            }
            let i = self.pos.saturating_sub(base) as usize;
            let Some(&b) = window.get(i) else {
                if !eof {
                    return Step::NeedMore;
                }
                self.ended = true;
                return match self.stack.last() {
                    Some(_) if self.fragment => Step::End,
                    Some(container) => {
                        let what = match container {
                            Container::Array { .. } => "a list",
                            Container::LogFile { .. } => "an object",
                        };
                        let place = self.lines.at(window, base, self.pos);
                        Step::Item(json_error(
                            &format!("EOF while parsing {what}"),
                            place.line,
                            place.column.saturating_sub(1),
                            None,
                        ))
                    }
                    None => Step::End,
                };
            };
            if let Some(step) = self.structure(b, window, base) {
                return step;
            }
        }
    }

    /// One byte outside any frame.
    fn structure(&mut self, b: u8, window: &[u8], base: u64) -> Option<Step> {
        let at = self.pos;
        let Some(container) = self.stack.last_mut() else {
            return self.top(b, window, base);
        };
        match container {
            Container::Array { expect, .. } => match (*expect, b) {
                (_, b' ' | b'\t' | b'\n' | b'\r') => self.pos += 1,
                (Expect::Element, b']') => {
                    self.pos += 1;
                    self.stack.pop();
                    self.after_value(window, base);
                    return Some(self.error_at("trailing comma", at, window, base));
                }
                (_, b']') => {
                    self.pos += 1;
                    self.stack.pop();
                    self.after_value(window, base);
                }
                (Expect::Comma | Expect::Resync, b',') => {
                    *expect = Expect::Element;
                    self.pos += 1;
                }
                (Expect::Resync, b'{' | b'[') => return self.open_element(b, window, base),
                (Expect::Resync, _) => self.pos += 1,
                (Expect::First | Expect::Element, b',' | b'}' | b':') => {
                    *expect = Expect::Resync;
                    self.pos += 1;
                    return Some(self.error_at("expected value", at, window, base));
                }
                (Expect::First | Expect::Element, _) => return self.open_element(b, window, base),
                (Expect::Comma, b'{' | b'[') => {
                    // A missing comma: report it, and read what follows as the next element.
                    *expect = Expect::Element;
                    return Some(self.error_at("expected `,` or `]`", at, window, base));
                }
                (Expect::Comma, _) => {
                    *expect = Expect::Resync;
                    self.pos += 1;
                    return Some(self.error_at("expected `,` or `]`", at, window, base));
                }
            },
            Container::LogFile { expect } => match (*expect, b) {
                (Member::InKey { start, escaped }, _) => {
                    self.pos = self.key_end(start, escaped, window, base);
                }
                (_, b' ' | b'\t' | b'\n' | b'\r') => self.pos += 1,
                (Member::CommaOrClose | Member::Resync, b'}') => {
                    self.pos += 1;
                    self.stack.pop();
                    self.after_value(window, base);
                }
                (Member::CommaOrClose | Member::Resync, b',') => {
                    *expect = Member::Key;
                    self.pos += 1;
                }
                (Member::Resync, _) => self.pos += 1,
                (Member::CommaOrClose, _) => {
                    *expect = Member::Resync;
                    self.pos += 1;
                    return Some(self.error_at("expected `,` or `}`", at, window, base));
                }
                (Member::Key, b'"') => {
                    *expect = Member::InKey {
                        start: at,
                        escaped: false,
                    };
                    self.pos += 1;
                }
                (Member::Key, b'}') => {
                    self.pos += 1;
                    self.stack.pop();
                    self.after_value(window, base);
                    return Some(self.error_at("trailing comma", at, window, base));
                }
                (Member::Key, _) => {
                    *expect = Member::Resync;
                    self.pos += 1;
                    return Some(self.error_at("key must be a string", at, window, base));
                }
                (Member::Colon { records }, b':') => {
                    *expect = Member::Value { records };
                    self.pos += 1;
                }
                (Member::Colon { .. }, _) => {
                    *expect = Member::Resync;
                    self.pos += 1;
                    return Some(self.error_at("expected `:`", at, window, base));
                }
                (Member::Value { records: true }, b'[') => {
                    *expect = Member::CommaOrClose;
                    self.pos += 1;
                    self.stack.push(Container::Array {
                        records: true,
                        index: 0,
                        expect: Expect::First,
                    });
                }
                (Member::Value { .. }, b',' | b'}' | b']' | b':') => {
                    *expect = Member::Resync;
                    self.pos += 1;
                    return Some(self.error_at("expected value", at, window, base));
                }
                (Member::Value { .. }, _) => {
                    *expect = Member::CommaOrClose;
                    return self.open_frame(b, Role::Extra, None, window, base);
                }
            },
        }
        None
    }

    /// The next element of the array on top of the stack starts with `b`.
    fn open_element(&mut self, b: u8, window: &[u8], base: u64) -> Option<Step> {
        let Some(Container::Array {
            records,
            index,
            expect,
        }) = self.stack.last_mut()
        else {
            return None;
        };
        let element = *index;
        *index += 1;
        *expect = Expect::Comma;
        let role = if *records { Role::Record } else { Role::Value };
        if b == b'{' {
            if let Some(step) = self.in_place(role, Some(element), window, base) {
                return Some(step);
            }
        }
        self.open_frame(b, role, Some(element), window, base)
    }

    /// `window` from `self.pos`, cut one byte past the record size limit: a record over the
    /// limit must not be parsed whole, and one byte more is enough to tell.
    fn rest_within_limit<'w>(&self, window: &'w [u8], base: u64) -> Option<&'w [u8]> {
        let rest = window.get(self.pos.saturating_sub(base) as usize..)?;
        let most = usize::try_from(self.limits.max_record_bytes.saturating_add(1)).ok();
        Some(most.and_then(|n| rest.get(..n)).unwrap_or(rest))
    }

    /// A record read where it starts, when it is valid and framing could not have told it
    /// otherwise: a read and a vectorised check instead of a scan to frame it and a parse. An
    /// element of `Records` (`role` [`Role::Record`]) is read as a record under the selection;
    /// an object given alone or in a top-level array only when classifying its frame would read
    /// it at once as a record (a bare record, or an EventBridge event carrying one): most inputs
    /// are one event, and scanning it to frame it cost as much as reading it (a 2 KB policy
    /// escaped in a string stops the scan at every quote).
    fn in_place(
        &mut self,
        role: Role,
        index: Option<u64>,
        window: &[u8],
        base: u64,
    ) -> Option<Step> {
        if !self.limits.reads_in_place {
            return None;
        }
        let rest = self.rest_within_limit(window, base)?;
        let max_depth = self.limits.max_depth;
        let element = role == Role::Record;
        let reading = quick::Reading {
            select: if element { self.limits.select } else { None },
            bare: !element,
            max_depth,
        };
        // A record the quick read takes has no line break (no control byte at all) and nests
        // no deeper than `max_depth`: framing would take it as it is. `framed_alike` is the
        // conservative test for the serde read, which does not know the nesting (it counts
        // every bracket, those in strings too); a record it turns away is framed, then read
        // the same way.
        let quick = match quick::record(rest, reading) {
            Some((record, len)) => Some((record, None, len)),
            // The Lambda's input: an EventBridge event.
            None if !element => quick::event(rest, max_depth)
                .map(|(envelope, record, len)| (record, Some(envelope), len)),
            None => None,
        };
        let (record, envelope, len) = match quick {
            Some(read) => read,
            // A pretty-printed record (a line break, or a lone `\r`, before its first key) would
            // be read whole by serde and then most likely refused for its line breaks: framed
            // at once, which gives the same items.
            None if opens_a_line(rest) => return None,
            None => {
                let read = match element {
                    true => leading_record(rest, self.limits.select)
                        .map(|(record, len)| (record, None, len)),
                    false => leading_value(rest),
                }?;
                if !framed_alike(rest.get(..read.2)?, max_depth) {
                    return None;
                }
                read
            }
        };
        if len as u64 > self.limits.max_record_bytes {
            return None;
        }
        self.pos += len as u64;
        self.after_value(window, base);
        self.fragment = false;
        Some(Step::Item(Item::Record {
            record,
            envelope,
            position: Position {
                line: self.top_line,
                index,
            },
        }))
    }

    /// Scans a log file's key from `self.pos`; returns where scanning stopped.
    fn key_end(&mut self, start: u64, mut escaped: bool, window: &[u8], base: u64) -> u64 {
        let from = self.pos.saturating_sub(base) as usize;
        let rest = window.get(from..).unwrap_or_default();
        let mut i = 0;
        while let Some(&b) = rest.get(i) {
            i += 1;
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                let key = window
                    .get(start.saturating_sub(base) as usize..from + i)
                    .unwrap_or_default();
                if let Some(Container::LogFile { expect }) = self.stack.last_mut() {
                    *expect = Member::Colon {
                        records: key == b"\"Records\"",
                    };
                }
                return self.pos + i as u64;
            }
        }
        if let Some(Container::LogFile { expect }) = self.stack.last_mut() {
            *expect = Member::InKey { start, escaped };
        }
        self.pos + i as u64
    }

    /// One byte between top-level values.
    fn top(&mut self, b: u8, window: &[u8], base: u64) -> Option<Step> {
        if self.check_line_end {
            match b {
                b' ' | b'\t' | b'\r' => {
                    self.pos += 1;
                    return None;
                }
                b'\n' => {
                    self.json_lines = true;
                    self.check_line_end = false;
                    self.pos += 1;
                    return None;
                }
                _ => self.check_line_end = false,
            }
        }
        if is_blank(b) {
            self.pos += 1;
            return None;
        }
        if self.top_resync {
            if matches!(b, b'{' | b'[') {
                self.top_resync = false;
            } else {
                self.pos += 1;
                return None;
            }
        }
        self.top_values += 1;
        self.top_line = self.lines.at(window, base, self.pos).line;
        let after_string = std::mem::replace(&mut self.after_string, b == b'"');
        if self.json_lines {
            return self.open_frame(b, Role::Line, None, window, base);
        }
        match b {
            b'[' => {
                self.pos += 1;
                self.stack.push(Container::Array {
                    records: false,
                    index: 0,
                    expect: Expect::First,
                });
                None
            }
            b'}' | b']' | b',' | b':' => {
                let at = self.pos;
                self.pos += 1;
                self.top_resync = true;
                self.fragment |= b == b':' && after_string;
                Some(self.error_at("expected value", at, window, base))
            }
            b'{' => match self.in_place(Role::Value, None, window, base) {
                Some(step) => Some(step),
                None => self.open_frame(b, Role::Value, None, window, base),
            },
            _ => self.open_frame(b, Role::Value, None, window, base),
        }
    }

    fn open_frame(
        &mut self,
        b: u8,
        role: Role,
        index: Option<u64>,
        window: &[u8],
        base: u64,
    ) -> Option<Step> {
        let start = self.pos;
        let place = self.lines.at(window, base, start);
        let (kind, depth, in_string) = match (role, b) {
            (Role::Line, _) => (Kind::Line, 0, false),
            (_, b'{' | b'[') => (Kind::Nested, 1, false),
            (_, b'"') => (Kind::Nested, 0, true),
            _ => (Kind::Scalar, 0, false),
        };
        self.open = Some(Open {
            start,
            role,
            index,
            place,
            kind,
            depth,
            in_string,
            escaped: false,
            first_line: true,
            unindented_break: None,
            broken: false,
            skipping: false,
            watches: role == Role::Value && b == b'{',
            watch: if role == Role::Value && b == b'{' {
                Watch::Key
            } else {
                Watch::Off
            },
        });
        if kind != Kind::Line {
            self.pos += 1;
        }
        None
    }

    /// Goes on scanning the open frame; a step when there is something to hand out.
    fn scan(&mut self, mut open: Open, window: &[u8], base: u64, eof: bool) -> Option<Step> {
        let scanned = match open.kind {
            Kind::Nested => self.scan_nested(&mut open, window, base, eof),
            Kind::Scalar => self.scan_until(window, base, |rest| {
                rest.iter().position(|&b| is_delimiter(b))
            }),
            Kind::Line => self.scan_until(window, base, |rest| memchr::memchr(b'\n', rest)),
        };
        let (end, complete) = match scanned {
            Scan::Exhausted if !eof => {
                let end = base + window.len() as u64;
                if !open.skipping && end - open.start > self.limits.max_record_bytes {
                    open.skipping = true;
                    self.open = Some(open);
                    return Some(Step::Item(self.too_large(&open)));
                }
                self.open = Some(open);
                return Some(Step::NeedMore);
            }
            Scan::Exhausted => match self.cut_in_hindsight(&open, window, base) {
                Some(at) => {
                    // As a cut line found at the time: it ends with its line break, and the
                    // lines after it are read again.
                    self.stack.clear();
                    self.json_lines = self.detect_lines;
                    (at + 1, false)
                }
                None => {
                    // Only objects, arrays and strings can be cut off: the rest end with the
                    // input.
                    let complete = open.kind != Kind::Nested;
                    self.ended = !complete;
                    (base + window.len() as u64, complete)
                }
            },
            Scan::Ended(end)
                if open.kind == Kind::Line && opens_a_document(open.start, end, window, base) =>
            {
                // A line holding only `{` or `[` opens a pretty-printed document, as `cat` of
                // event files puts after a one-line one: framed as a document from here.
                self.json_lines = false;
                self.top_values -= 1;
                self.open = None;
                self.pos = open.start;
                return None;
            }
            Scan::Ended(end) => (end, true),
            Scan::Cut(at) => {
                // The line was cut, and what was open around the frame with it. The frame ends
                // with the line break, as it would at the end of the input.
                self.stack.clear();
                self.json_lines = self.detect_lines;
                (at + 1, false)
            }
            Scan::LogFile(at) => {
                self.open = None;
                self.pos = at + 1;
                self.stack.push(Container::LogFile {
                    expect: Member::CommaOrClose,
                });
                self.stack.push(Container::Array {
                    records: true,
                    index: 0,
                    expect: Expect::First,
                });
                return None;
            }
            Scan::TooDeep(at) => {
                open.skipping = true;
                // Reported already and read no further: a line that opens an object or an array
                // is a better place to resume than the end of the input (a deep line cut short
                // runs on into the next records otherwise).
                open.broken = true;
                self.open = Some(open);
                let item = if at - open.start > self.limits.max_record_bytes {
                    self.too_large(&open)
                } else {
                    unreadable(
                        format!("nested deeper than {}", self.limits.max_depth),
                        open.place.line,
                        open.index,
                    )
                };
                return Some(Step::Item(item));
            }
        };
        self.open = None;
        self.pos = end;
        if self.stack.is_empty() {
            self.after_value(window, base);
        }
        if open.skipping {
            return None;
        }
        if complete {
            self.fragment = false;
        } else if self.fragment && self.ended {
            // The end of a fragment already reported where it starts.
            return None;
        }
        if end - open.start > self.limits.max_record_bytes {
            return Some(Step::Item(self.too_large(&open)));
        }
        Some(Step::Frame(Frame {
            start: open.start,
            end,
            role: open.role,
            index: open.index,
            place: open.place,
            top_line: self.top_line,
            complete,
        }))
    }

    /// Scans up to the first byte `find` finds (not included).
    fn scan_until(
        &mut self,
        window: &[u8],
        base: u64,
        find: impl Fn(&[u8]) -> Option<usize>,
    ) -> Scan {
        let from = self.pos.saturating_sub(base) as usize;
        let rest = window.get(from..).unwrap_or_default();
        match find(rest) {
            Some(n) => Scan::Ended(self.pos + n as u64),
            None => {
                self.pos += rest.len() as u64;
                Scan::Exhausted
            }
        }
    }

    /// The scan of an object, an array or a string, from `self.pos`; leaves `self.pos` where
    /// scanning stopped.
    fn scan_nested(&mut self, open: &mut Open, window: &[u8], base: u64, eof: bool) -> Scan {
        let mut i = self.pos.saturating_sub(base) as usize;
        let (scan, stop) = loop {
            if open.in_string {
                if open.escaped {
                    let Some(&escaped) = window.get(i) else {
                        break (Scan::Exhausted, i);
                    };
                    open.escaped = false;
                    // `\` then a line break is no escape: a line cut after a backslash.
                    if escaped == b'\n' {
                        open.broken = true;
                    } else {
                        i += 1;
                    }
                }
                let rest = window.get(i..).unwrap_or_default();
                let Some(n) = string_stop(rest, open.first_line || open.broken) else {
                    break (Scan::Exhausted, window.len());
                };
                i += n;
                match window.get(i) {
                    Some(b'\\') => {
                        open.escaped = true;
                        i += 1;
                    }
                    Some(b'"') => {
                        i += 1;
                        open.in_string = false;
                        if open.depth == 0 {
                            break (Scan::Ended(base + i as u64), i);
                        }
                        if let Watch::InKey(start) = open.watch {
                            let key = window
                                .get(start.saturating_sub(base) as usize..i)
                                .unwrap_or_default();
                            open.watch = if key == b"\"Records\"" {
                                Watch::Colon
                            } else {
                                Watch::Off
                            };
                        }
                    }
                    _ => match line_break(open, window, base, i, eof) {
                        Some(scan) => break (scan, i),
                        None => {
                            open.broken = true;
                            i += 1;
                        }
                    },
                }
                continue;
            }
            if !(open.watches && open.depth == 1) {
                // Most bytes outside strings are punctuation and numbers that change nothing.
                i += window
                    .get(i..)
                    .unwrap_or_default()
                    .iter()
                    .position(|&b| STRUCTURAL.contains(b))
                    .unwrap_or(window.len().saturating_sub(i));
            }
            let Some(&b) = window.get(i) else {
                break (Scan::Exhausted, i);
            };
            i += 1;
            let top = open.depth == 1 && open.watch != Watch::Off;
            match b {
                b'"' => {
                    open.in_string = true;
                    if top {
                        open.watch = match open.watch {
                            Watch::Key => Watch::InKey(base + i as u64 - 1),
                            _ => Watch::Off,
                        };
                    }
                }
                b'{' | b'[' => {
                    if top && open.watch == Watch::Array && b == b'[' {
                        break (Scan::LogFile(base + i as u64 - 1), i);
                    }
                    if top {
                        open.watch = Watch::Off;
                    }
                    open.depth += 1;
                    if open.depth > self.limits.max_depth && !open.skipping {
                        break (Scan::TooDeep(base + i as u64 - 1), i);
                    }
                }
                b'}' | b']' => {
                    open.depth = open.depth.saturating_sub(1);
                    if open.depth == 0 {
                        break (Scan::Ended(base + i as u64), i);
                    }
                }
                b',' => {
                    if open.depth == 1 && open.watches {
                        open.watch = Watch::Key;
                    }
                }
                b':' => {
                    if top {
                        open.watch = match open.watch {
                            Watch::Colon => Watch::Array,
                            _ => Watch::Off,
                        };
                    }
                }
                b'\n' => {
                    if let Some(scan) = line_break(open, window, base, i - 1, eof) {
                        break (scan, i - 1);
                    }
                }
                b' ' | b'\t' | b'\r' => {}
                _ => {
                    if top {
                        open.watch = Watch::Off;
                    }
                }
            }
        };
        self.pos = base + stop.min(window.len()) as u64;
        scan
    }

    /// After a top-level value or container ends at `self.pos`: one that started and ended on
    /// one line may be the first of JSON Lines.
    fn after_value(&mut self, window: &[u8], base: u64) {
        if self.stack.is_empty() && self.detect_lines && !self.json_lines {
            self.check_line_end = self.lines.at(window, base, self.pos).line == self.top_line;
        }
    }

    /// Where a frame that the input ends inside was cut, when it was a cut line after all: it
    /// went on from its first line onto an unindented one, and a later line opens an object or
    /// an array, as the next record of JSON Lines does. (A truncated pretty-printed document
    /// has indented lines; one over the size limit is not kept to be read again.)
    fn cut_in_hindsight(&self, open: &Open, window: &[u8], base: u64) -> Option<u64> {
        let at = open.unindented_break?;
        let end = base + window.len() as u64;
        if open.kind != Kind::Nested
            || open.skipping
            || end - open.start > self.limits.max_record_bytes
        {
            return None;
        }
        let after = window.get((at + 1).saturating_sub(base) as usize..)?;
        memchr::memchr_iter(b'\n', after)
            .any(|n| {
                let next = after.get(n + 1..).unwrap_or_default();
                matches!(next.iter().find(|&&b| b != b'\r'), Some(b'{' | b'['))
            })
            .then_some(at)
    }

    fn too_large(&self, open: &Open) -> Item {
        let max = self.limits.max_record_bytes;
        let limit = if max.is_multiple_of(1 << 20) {
            format!("{} MB", max >> 20)
        } else {
            format!("{max} bytes")
        };
        unreadable(
            format!("record too large: over {limit}"),
            open.place.line,
            open.index,
        )
    }

    fn error_at(&mut self, message: &str, at: u64, window: &[u8], base: u64) -> Step {
        let place = self.lines.at(window, base, at);
        Step::Item(json_error(message, place.line, place.column, None))
    }
}

/// Whether framing delimits valid JSON `bytes` as one frame, as parsing does: no line break for
/// the cut-line rule to act on, and too few brackets to nest past `max_depth` (serde_json's own
/// limit does not cover the values a record skips).
fn framed_alike(bytes: &[u8], max_depth: u32) -> bool {
    // One vectorised pass finds line breaks and opening brackets together: a record holds a
    // few dozen brackets in a kilobyte or more, and counting them byte by byte after a first
    // pass for line breaks cost about a fifth of decoding a log file (391,000 against 481,000
    // records a second, same run).
    let mut opens = 0usize;
    for at in memchr::memchr3_iter(b'\n', b'{', b'[', bytes) {
        if bytes.get(at) == Some(&b'\n') {
            return false;
        }
        opens += 1;
        if opens > max_depth as usize {
            return false;
        }
    }
    true
}

/// Whether the object `bytes` starts with goes on to a new line after its `{`.
fn opens_a_line(bytes: &[u8]) -> bool {
    let after = bytes.get(1..).unwrap_or_default();
    let next = after.iter().find(|&&b| b != b' ' && b != b'\t');
    matches!(next, Some(b'\n' | b'\r'))
}

fn opens_a_document(start: u64, end: u64, window: &[u8], base: u64) -> bool {
    let line = window
        .get(start.saturating_sub(base) as usize..end.saturating_sub(base) as usize)
        .unwrap_or_default();
    matches!(line.trim_ascii(), b"{" | b"[")
}

/// A line break at `window[i]` inside a frame: the cut-line rule. `None` to go on past it.
fn line_break(open: &mut Open, window: &[u8], base: u64, i: usize, eof: bool) -> Option<Scan> {
    if !open.first_line && !open.broken {
        return None;
    }
    // Only the `\r` of this line end is skipped, so that each byte is looked at once however
    // many line breaks follow.
    let next = window
        .get(i + 1..)
        .unwrap_or_default()
        .iter()
        .find(|&&b| b != b'\r');
    match next {
        Some(b'{' | b'[') => Some(Scan::Cut(base + i as u64)),
        // A blank line: the line break that ends it decides.
        Some(b'\n') => None,
        // Cannot tell yet: look again with more input.
        None if !eof => Some(Scan::Exhausted),
        _ => {
            if open.first_line && !matches!(next, Some(b' ' | b'\t')) {
                open.unindented_break = Some(base + i as u64);
            }
            open.first_line = false;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing, reason = "tests")]

    use super::*;

    const LIMITS: Limits<'static> = Limits {
        select: None,
        max_record_bytes: 64,
        max_depth: 4,
        reads_in_place: true,
    };

    /// The word-at-a-time searches find what a byte-by-byte one finds: every byte value at
    /// every offset of plain text of every length up to 23 bytes (two whole words and the rest
    /// past them), with a second hit after it.
    #[test]
    fn word_searches_find_the_first_byte_sought() {
        let quote = |b: u8| b == b'"' || b == b'\\';
        let plain = |b: u8| quote(b) || !(0x20..0x80).contains(&b);
        for len in 0..24 {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut text = vec![b'a'; len];
                    text[at] = b;
                    // A hit right after must not hide the first.
                    if at + 1 < len {
                        text[at + 1] = 0;
                    }
                    for (search, sought) in [
                        (
                            quote_or_backslash as fn(&[u8]) -> Option<usize>,
                            &quote as &dyn Fn(u8) -> bool,
                        ),
                        (plain_stop, &plain),
                    ] {
                        let expected = text.iter().position(|&c| sought(c));
                        assert_eq!(search(&text), expected, "{text:?}");
                    }
                }
            }
        }
    }

    /// Frames as `role#index:bytes` (`!` marks a cut-off one), framing errors as `error: ...`,
    /// valid one-line records read in place as `Record#index read`.
    fn frames(input: &str) -> Vec<String> {
        frames_with(LIMITS, input)
    }

    fn frames_with(limits: Limits<'_>, input: &str) -> Vec<String> {
        let bytes = input.as_bytes();
        let mut framer = Framer::new(limits, true, 1, 0);
        let mut out = Vec::new();
        loop {
            match framer.next(bytes, 0, true) {
                Step::Frame(f) => out.push(format!(
                    "{:?}{}:{}{}",
                    f.role,
                    f.index.map(|i| format!("#{i}")).unwrap_or_default(),
                    &input[f.start as usize..f.end as usize],
                    if f.complete { "" } else { "!" }
                )),
                Step::Item(Item::Unreadable { reason, position }) => {
                    out.push(format!("error@{position}: {reason}"))
                }
                Step::Item(Item::Record { position, .. }) => out.push(format!(
                    "Record#{} read",
                    position.index.unwrap_or_default()
                )),
                Step::Item(other) => out.push(format!("{other:?}")),
                Step::NeedMore | Step::End => return out,
            }
        }
    }

    #[test]
    fn a_log_file_is_read_element_by_element_whatever_comes_before_records() {
        assert_eq!(
            frames(r#"{"Digest":{"a":1},"Records":[{"x":"]"},2],"y":[3]}"#),
            ["Record#0 read", "Record#1:2", "Extra:[3]"]
        );
        // `Records` as a value, or not followed by an array: one object.
        assert_eq!(
            frames(r#"{"a":"Records","Records":{}}"#),
            [r#"Value:{"a":"Records","Records":{}}"#]
        );
    }

    #[test]
    fn broken_records_are_their_own_frames() {
        assert_eq!(
            frames(r#"[{"a":"\"}"},{"b":[1}},7 8,]"#),
            [
                r#"Value#0:{"a":"\"}"}"#,
                r#"Value#1:{"b":[1}}"#,
                "Value#2:7",
                "error@line 1: not valid JSON: expected `,` or `]` (column 26)",
                "error@line 1: not valid JSON: trailing comma (column 28)",
            ]
        );
    }

    #[test]
    fn a_cut_line_ends_its_frame_and_what_is_around_it() {
        assert_eq!(
            frames("{\"Records\":[{\"a\":\"x\n\n{\"b\":1}\n{\"c\":2}\n"),
            [
                "Record#0:{\"a\":\"x\n\n!",
                "Line:{\"b\":1}",
                "Line:{\"c\":2}"
            ]
        );
        // Pretty-printed: an indented line or a key goes on.
        assert_eq!(
            frames("{\n  \"a\": {\n\"b\": 1}}"),
            ["Value:{\n  \"a\": {\n\"b\": 1}}"]
        );
    }

    #[test]
    fn records_are_read_in_place_only_where_framing_agrees() {
        assert_eq!(
            frames("{\"Records\":[{\"a\":[1],\"b\":[2]},{\"\\u0063\":[1],\"d\":[2],\"e\":[3],\"f\":[4]},{\"g\":\n1},{\"h\":[[[[]]]]},{\"c\":[1],\"d\":[2],\"e\":[3],\"f\":[4]}]}"),
            [
                "Record#0 read",
                // Left by the quick read (an escaped key), and more brackets than the depth
                // limit for serde's read, or a line break: framed first.
                r#"Record#1:{"\u0063":[1],"d":[2],"e":[3],"f":[4]}"#,
                "Record#2:{\"g\":\n1}",
                "error@line 2, record 3: nested deeper than 4",
                // The quick read follows the nesting: read in place.
                "Record#4 read",
            ]
        );
    }

    #[test]
    fn a_record_turned_down_is_read_quickly_only_as_deep_as_framing_allows() {
        let turned_down = |_: &str, _: &str| false;
        let selective = Limits {
            select: Some(&turned_down),
            ..LIMITS
        };
        // Nested 4 deep (the limit), then 5.
        let input = concat!(
            r#"{"Records":[{"eventSource":"s","eventName":"n","a":{"b":{"c":[]}}},"#,
            r#"{"eventSource":"s","eventName":"n","a":{"b":{"c":[[]]}}}]}"#
        );
        let want = [
            "Record#0 read",
            "error@line 1, record 1: nested deeper than 4",
        ];
        assert_eq!(frames(input), want);
        assert_eq!(frames_with(selective, input), want);
        // The first record is taken by the quick read, the second is not.
        let (first, second) = input
            .trim_start_matches(r#"{"Records":["#)
            .split_once("},{")
            .unwrap();
        let first = format!("{first}}}");
        let second = format!("{{{second}");
        let quick = |text: &str, max_depth| {
            let reading = quick::Reading {
                select: Some(&turned_down),
                bare: false,
                max_depth,
            };
            quick::record(text.as_bytes(), reading).is_some()
        };
        assert!(quick(&first, 4));
        assert!(!quick(&second, 4));
        assert!(quick(&second, 5));
        // Its own nesting is bounded too, whatever the limit.
        let deep = format!(
            r#"{{"eventSource":"s","eventName":"n","a":{}{}}}"#,
            "[".repeat(64),
            "]".repeat(64)
        );
        assert!(!quick(&deep, 128));
        let within = deep.replacen('[', "", 1).replacen(']', "", 1);
        assert!(quick(&within, 128));
        let shallow = Limits {
            max_depth: 1,
            ..selective
        };
        assert_eq!(
            frames_with(
                shallow,
                r#"{"Records":[{"eventSource":"s","eventName":"n","a":{}}]}"#
            ),
            ["error@line 1, record 0: nested deeper than 1"]
        );
    }

    #[test]
    fn a_cut_line_that_ran_on_is_cut_in_hindsight() {
        // A line cut to its `{`, then a line that is not a record: the lines after them are
        // read again once the input ends inside the frame.
        assert_eq!(
            frames("{\n\"text\"\n{\"b\":1}\n{\"c\":2}\n"),
            [
                "Value:{\n!",
                "Line:\"text\"",
                "Line:{\"b\":1}",
                "Line:{\"c\":2}"
            ]
        );
        // A truncated document with indented lines, or with no line that opens a record, is
        // one frame.
        assert_eq!(
            frames("{\n  \"a\": 1,\n{\"b\":1}\n"),
            ["Value:{\n  \"a\": 1,\n{\"b\":1}\n!"]
        );
        assert_eq!(
            frames("{\n\"a\": 1,\n\"b\": 2\n"),
            ["Value:{\n\"a\": 1,\n\"b\": 2\n!"]
        );
    }

    #[test]
    fn a_fragment_is_reported_where_it_starts_only() {
        // A key without its object (the middle of a pasted file): its end is not another report.
        assert_eq!(
            frames("\"Records\": [{\"a\": 1,\n\"b\": 2\n"),
            [
                "Value:\"Records\"",
                "error@line 1: not valid JSON: expected value (column 10)"
            ]
        );
        assert_eq!(
            frames("\"Records\": [\n\n"),
            [
                "Value:\"Records\"",
                "error@line 1: not valid JSON: expected value (column 10)"
            ]
        );
        // Anything read whole ends the fragment; a string that is a value is none.
        assert_eq!(
            frames("\"Records\": [{\"a\": 1},\n{\"b\": 2\n"),
            [
                "Value:\"Records\"",
                "error@line 1: not valid JSON: expected value (column 10)",
                "Value#0:{\"a\": 1}",
                "Value#1:{\"b\": 2\n!",
            ]
        );
        assert_eq!(
            frames("\"text\" {\"b\": 2\n"),
            ["Value:\"text\"", "Value:{\"b\": 2\n!"]
        );
    }

    #[test]
    fn json_lines_until_a_pretty_document() {
        assert_eq!(
            frames("{\"a\":1}\n{\"b\":\n{\n  \"c\": 2\n}\n{\"d\":3}\n"),
            [
                "Value:{\"a\":1}",
                "Line:{\"b\":",
                "Value:{\n  \"c\": 2\n}",
                "Value:{\"d\":3}",
            ]
        );
    }

    #[test]
    fn limits_cost_the_record_alone() {
        assert_eq!(
            frames(r#"[[[[[[1]]]]]] {"a":[[[[]]]]} {"b":1}"#),
            [
                "error@line 1, record 0: nested deeper than 4",
                "error@line 1: nested deeper than 4",
                r#"Value:{"b":1}"#,
            ]
        );
        // Blank lines after it are looked at once each (a run of them once cost its length
        // squared).
        let blank = format!("{{\"a\":[[[[[[\n{}{{\"b\":1}}\n", "\n".repeat(200_000));
        assert_eq!(
            frames(&blank),
            ["error@line 1: nested deeper than 4", "Line:{\"b\":1}"]
        );
        // A deep line cut short, then JSON Lines: the next record line ends it.
        assert_eq!(
            frames("{\"a\":[[[[[[\n42\n{\"b\":1}\n{\"c\":2}\n"),
            [
                "error@line 1: nested deeper than 4",
                "Line:{\"b\":1}",
                "Line:{\"c\":2}"
            ]
        );
        let long = format!("{{\"Records\":[{{\"a\":\"{}\"}},{{}}]}}", "x".repeat(100));
        assert_eq!(
            frames(&long),
            [
                "error@line 1, record 0: record too large: over 64 bytes",
                "Record#1 read"
            ]
        );
    }
}
