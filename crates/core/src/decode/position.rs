//! Where things are in an input: the public [`Position`] of an item, and the line counter the
//! framer keeps as it goes.

use std::fmt;

/// Where in its input an item was found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Position {
    /// 1-based line: where the top-level value starts for an item that was read, where the
    /// problem is for one that was not.
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

/// A line and a 1-based column, as serde_json counts them (in bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Place {
    pub line: u64,
    pub column: u64,
}

/// Counts line breaks up to an offset, lazily and only forward, so that every byte is counted
/// once however the input is buffered. Offsets are absolute in the decoded input.
#[derive(Debug, Clone)]
pub(crate) struct Lines {
    /// The line of the byte at `counted`.
    line: u64,
    /// Offset of the first byte of that line; negative when the input starts inside a line
    /// (a JSON Lines line handed over without its indentation).
    line_start: i64,
    /// Every break before this offset is counted.
    counted: u64,
}

impl Lines {
    /// Counting from offset 0, which is on `line` at 0-based `column`.
    pub fn new(line: u64, column: u64) -> Self {
        Lines {
            line,
            line_start: -(column as i64),
            counted: 0,
        }
    }

    /// The place of `offset`. `window` holds the input from `base`, and must reach from the last
    /// counted offset to `offset`: callers ask in increasing order, before releasing bytes.
    pub fn at(&mut self, window: &[u8], base: u64, offset: u64) -> Place {
        if offset > self.counted {
            let from = self.counted.saturating_sub(base) as usize;
            let to = offset.saturating_sub(base) as usize;
            let bytes = window.get(from..to).unwrap_or_default();
            let breaks = memchr::memchr_iter(b'\n', bytes).count() as u64;
            if breaks > 0 {
                let last = memchr::memrchr(b'\n', bytes).unwrap_or_default();
                self.line += breaks;
                self.line_start = (base + from as u64 + last as u64 + 1) as i64;
            }
            self.counted = offset;
        }
        Place {
            line: self.line,
            column: (offset as i64 - self.line_start) as u64 + 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_each_break_once_whatever_the_windows() {
        let text = b"ab\ncd\n\nefg\nh";
        let mut whole = Lines::new(1, 0);
        let mut parts = Lines::new(1, 0);
        for offset in 0..=text.len() as u64 {
            let expected = whole.clone().at(text, 0, offset);
            // A window that starts at the last counted offset, as the chunked reader keeps.
            let base = offset.saturating_sub(1).min(parts.counted);
            let got = parts.at(&text[base as usize..], base, offset);
            assert_eq!(got, expected, "offset {offset}");
            whole.at(text, 0, offset);
        }
        assert_eq!(
            Lines::new(1, 0).at(text, 0, 7),
            Place { line: 4, column: 1 }
        );
        assert_eq!(
            Lines::new(1, 0).at(text, 0, 9),
            Place { line: 4, column: 3 }
        );
        assert_eq!(
            Lines::new(7, 4).at(b"xy", 0, 1),
            Place { line: 7, column: 6 }
        );
    }
}
