//! Reading inputs: bytes to items, whatever shape the bytes have.
//!
//! Accepted, per input: an EventBridge event, a raw CloudTrail record, a CloudTrail log file
//! (`{"Records": [...]}`), a JSON array of any of these, and JSON Lines (or simply concatenated
//! values) of any of these; plain or gzip-compressed, with or without a byte-order mark.
//!
//! One framer ([`super::frame`]) finds each record's bytes and one classifier
//! ([`super::classify`]) turns them into an item. Two strategies drive them and differ only in
//! how they hold the bytes: [`read_slice`] frames one slice in memory; [`read_items`] reads
//! [`Options::chunk_bytes`] at a time and keeps only the record being framed, so a log file of
//! any size is read in memory bounded by [`Options::max_record_bytes`]. The same bytes give the
//! same items, positions and error wording through either.

use std::io::{self, Read};

use super::classify::classify;
use super::frame::{Framer, Limits, Step};
pub use super::position::Position;
use super::record::{Envelope, Record, Select};
use super::sniff;

pub use super::classify::CLOUDTRAIL_DETAIL_TYPE;

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

/// How inputs are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// A record (or a JSON Lines line) larger than this is reported unreadable without being
    /// held in memory; peak memory follows this limit, not the size of the input.
    pub max_record_bytes: u64,
    /// A record nested deeper than this is reported unreadable.
    pub max_depth: u32,
    /// Bytes asked of a reader at a time (once past the first few reads).
    pub chunk_bytes: usize,
}

/// 64 MB: far above any CloudTrail record (AWS caps a delivered event at 256 KB).
pub const DEFAULT_MAX_RECORD_BYTES: u64 = 64 << 20;

impl Default for Options {
    fn default() -> Self {
        Options {
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            // serde_json's own recursion limit.
            max_depth: 128,
            chunk_bytes: 256 * 1024,
        }
    }
}

impl Options {
    fn limits<'s>(&self, select: Option<Select<'s>>) -> Limits<'s> {
        Limits {
            max_record_bytes: self.max_record_bytes,
            max_depth: self.max_depth,
            select,
            reads_in_place: true,
        }
    }
}

/// Reads every item from `reader` and hands it to `on_item`. Fails only when the bytes cannot be
/// read at all (an I/O error, a corrupt gzip stream); bad JSON is reported through `on_item`.
pub fn read_items<R: Read>(reader: R, on_item: &mut dyn FnMut(Item)) -> io::Result<()> {
    read_items_with(reader, &Options::default(), on_item)
}

pub fn read_items_with<R: Read>(
    reader: R,
    options: &Options,
    on_item: &mut dyn FnMut(Item),
) -> io::Result<()> {
    read_items_selecting(reader, options, None, on_item)
}

/// [`read_items_with`], where the records of a log file that `select` turns down are only
/// checked and counted: their [`Record`] holds only `eventSource`, `eventName` and `eventID`.
/// Every item is the same as without `select` otherwise, bad input included.
pub fn read_items_selecting<R: Read>(
    reader: R,
    options: &Options,
    select: Option<Select<'_>>,
    on_item: &mut dyn FnMut(Item),
) -> io::Result<()> {
    chunked(sniff::decompressed(reader)?, options, select, on_item)
}

/// Items from a byte slice (the Lambda payload, tests, benchmarks).
pub fn read_slice(bytes: &[u8], on_item: &mut dyn FnMut(Item)) -> io::Result<()> {
    read_slice_with(bytes, &Options::default(), on_item)
}

pub fn read_slice_with(
    bytes: &[u8],
    options: &Options,
    on_item: &mut dyn FnMut(Item),
) -> io::Result<()> {
    read_slice_selecting(bytes, options, None, on_item)
}

/// [`read_slice_with`], skimming what `select` turns down as [`read_items_selecting`] does.
pub fn read_slice_selecting(
    bytes: &[u8],
    options: &Options,
    select: Option<Select<'_>>,
    on_item: &mut dyn FnMut(Item),
) -> io::Result<()> {
    if sniff::is_gzip(bytes) {
        return read_items_selecting(bytes, options, select, on_item);
    }
    let bytes = bytes.get(sniff::bom_len(bytes)..).unwrap_or_default();
    in_memory(bytes, options.limits(select), true, 1, 0, on_item);
    Ok(())
}

/// The items of one JSON Lines line, framed as an input of its own that starts on `line` at
/// 0-based `column`. Returns how many top-level values it holds.
pub(crate) fn frame_slice(
    bytes: &[u8],
    limits: Limits<'_>,
    line: u64,
    column: u64,
    on_item: &mut dyn FnMut(Item),
) -> u64 {
    in_memory(bytes, limits, false, line, column, on_item)
}

/// The in-memory strategy: the whole input is the window.
fn in_memory(
    bytes: &[u8],
    limits: Limits<'_>,
    detect_lines: bool,
    line: u64,
    column: u64,
    on_item: &mut dyn FnMut(Item),
) -> u64 {
    let mut framer = Framer::new(limits, detect_lines, line, column);
    loop {
        match framer.next(bytes, 0, true) {
            Step::Frame(frame) => {
                let framed = bytes
                    .get(frame.start as usize..frame.end as usize)
                    .unwrap_or_default();
                classify(&frame, framed, limits, on_item);
            }
            Step::Item(item) => on_item(item),
            Step::NeedMore | Step::End => return framer.top_values,
        }
    }
}

/// The chunked strategy: the window is a buffer that holds the record being framed and what
/// has been read past it.
fn chunked<R: Read>(
    mut reader: R,
    options: &Options,
    select: Option<Select<'_>>,
    on_item: &mut dyn FnMut(Item),
) -> io::Result<()> {
    let limits = options.limits(select);
    let chunk = options.chunk_bytes.max(1);
    // Most inputs are one small event: start small, so that each costs no large allocation.
    let mut want = chunk.min(8 * 1024);
    // `buf[..filled]` is the window; the bytes past it are scratch space kept between reads,
    // so each read writes into memory already zeroed once instead of zeroing a chunk anew.
    let mut buf: Vec<u8> = Vec::new();
    let mut filled = 0usize;
    let mut eof = false;
    while filled < 3 && !eof {
        let n = fill(&mut reader, &mut buf, filled, want)?;
        filled += n;
        eof = n == 0;
    }
    let bom = sniff::bom_len(buf.get(..filled).unwrap_or_default()).min(filled);
    buf.copy_within(bom..filled, 0);
    filled -= bom;
    // Offset of `buf[0]` in the decoded input (after the byte-order mark).
    let mut base = 0u64;
    let mut framer = Framer::new(limits, true, 1, 0);
    loop {
        let window = buf.get(..filled).unwrap_or_default();
        match framer.next(window, base, eof) {
            Step::Frame(frame) => {
                let framed = window
                    .get((frame.start - base) as usize..(frame.end - base) as usize)
                    .unwrap_or_default();
                classify(&frame, framed, limits, on_item);
            }
            Step::Item(item) => on_item(item),
            Step::End => return Ok(()),
            Step::NeedMore => {
                let keep = framer.release(window, base);
                let done = (keep.saturating_sub(base) as usize).min(filled);
                buf.copy_within(done..filled, 0);
                filled -= done;
                base += done as u64;
                // A record that made the buffer grow is framed: give the memory back.
                if buf.len() > 4 * chunk && filled < chunk {
                    buf.truncate(2 * chunk);
                    buf.shrink_to_fit();
                }
                want = want.saturating_mul(2).min(chunk);
                let n = fill(&mut reader, &mut buf, filled, want)?;
                filled += n;
                eof = n == 0;
            }
        }
    }
}

/// Reads up to `want` bytes from `reader` into `buf` at `at` (growing `buf` when it is
/// shorter); returns how many (0 at the end).
fn fill<R: Read>(reader: &mut R, buf: &mut Vec<u8>, at: usize, want: usize) -> io::Result<usize> {
    let end = at.saturating_add(want);
    if buf.len() < end {
        buf.resize(end, 0);
    }
    loop {
        match reader.read(buf.get_mut(at..end).unwrap_or_default()) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}
