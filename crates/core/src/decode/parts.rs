//! A record's free-form parts (`requestParameters`, `responseElements`) as a `Value`, read by a
//! pass of our own when the text is plainly simple, by serde_json otherwise.
//!
//! Why: a policy document arrives as JSON escaped inside a JSON string, a quote escaped every
//! few bytes, and serde_json copies each run between two escapes with a call of its own: for a
//! 2 KB `PutRolePolicy` document that was most of the time of the whole `Value` (3.1 of 3.3 µs).
//! This pass unescapes byte by byte into one buffer.
//!
//! It reads only what it is sure serde_json reads the same way, and hands anything else back
//! (`None`), so that serde_json decides: a `\u` escape (surrogates), a number that is not a
//! short integer (floats, `-0`, range), nesting past [`MAX_DEPTH`], a key serde_json treats
//! as a marker (`$serde_json::private::...`), and anything that is not JSON. A property test
//! holds it to serde_json's reading.

use serde_json::{Map, Number, Value};

use super::frame::{first_hit, special_bytes};

/// Deeper values are left to serde_json, whose own limit (128) then decides.
const MAX_DEPTH: usize = 64;

/// A string's buffer is reserved up to this size before its length is known.
const MAX_RESERVE: usize = 4096;

/// Integers of at most this many digits fit in `u64` and `i64`: read as serde_json reads them.
const MAX_DIGITS: usize = 18;

/// `text` as `serde_json::from_str::<Value>` reads it; `None` where that fails.
pub(crate) fn value(text: &str) -> Option<Value> {
    plain(text).or_else(|| serde_json::from_str(text).ok())
}

/// `text` as a `Value` when it is plainly simple JSON (see the module), else `None`.
pub(crate) fn plain(text: &str) -> Option<Value> {
    let (value, used) = plain_prefix(text.as_bytes(), MAX_DEPTH)?;
    let mut reader = Reader {
        bytes: text.as_bytes(),
        at: used,
        max_depth: 0,
    };
    reader.skip_blanks();
    (reader.at == reader.bytes.len()).then_some(value)
}

/// [`plain`] of the value at the start of `bytes`, nested at most `max_depth` (and
/// [`MAX_DEPTH`]) deep, and how many bytes it took (a record's reader hands it the bytes of
/// its part, and goes on after them).
pub(crate) fn plain_prefix(bytes: &[u8], max_depth: usize) -> Option<(Value, usize)> {
    let mut reader = Reader {
        bytes,
        at: 0,
        max_depth: max_depth.min(MAX_DEPTH),
    };
    let value = reader.value(0)?;
    Some((value, reader.at))
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    /// Containers nested deeper are left to serde_json.
    max_depth: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_blanks(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// The next byte after blanks, consumed.
    fn next_token(&mut self) -> Option<u8> {
        self.skip_blanks();
        let b = self.peek()?;
        self.at += 1;
        Some(b)
    }

    fn value(&mut self, depth: usize) -> Option<Value> {
        match self.next_token()? {
            b'{' if depth < self.max_depth => self.object(depth + 1),
            b'[' if depth < self.max_depth => self.array(depth + 1),
            b'"' => self.string().map(Value::String),
            b't' => self.literal(b"rue", Value::Bool(true)),
            b'f' => self.literal(b"alse", Value::Bool(false)),
            b'n' => self.literal(b"ull", Value::Null),
            b'-' => self.integer(true),
            b'0'..=b'9' => {
                self.at -= 1;
                self.integer(false)
            }
            _ => None,
        }
    }

    fn literal(&mut self, rest: &[u8], value: Value) -> Option<Value> {
        let end = self.at.checked_add(rest.len())?;
        (self.bytes.get(self.at..end)? == rest).then(|| {
            self.at = end;
            value
        })
    }

    /// `-?(0|[1-9][0-9]*)` of at most [`MAX_DIGITS`] digits, not followed by a fraction or an
    /// exponent; `-0` is left to serde_json (it reads it as a float).
    fn integer(&mut self, negative: bool) -> Option<Value> {
        let digits = self
            .bytes
            .get(self.at..)?
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let text = self.bytes.get(self.at..self.at + digits)?;
        let leading_zero = text.first() == Some(&b'0') && digits > 1;
        if digits == 0 || digits > MAX_DIGITS || leading_zero {
            return None;
        }
        self.at += digits;
        if matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        let n = text.iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'));
        match (negative, n) {
            (false, n) => Some(Value::Number(Number::from(n))),
            (true, 0) => None,
            (true, n) => Some(Value::Number(Number::from(-i64::try_from(n).ok()?))),
        }
    }

    /// After `"`: the string's text, unescaped.
    fn string(&mut self) -> Option<String> {
        let rest = self.bytes.get(self.at..)?;
        let plain = plain_run(rest);
        match *rest.get(plain)? {
            // No escape (most strings, every key): one copy of the exact size.
            b'"' => {
                let text = std::str::from_utf8(rest.get(..plain)?).ok()?.to_owned();
                self.at += plain + 1;
                return Some(text);
            }
            b'\\' => {}
            // Control bytes are not allowed raw in a JSON string.
            _ => return None,
        }
        // Sized for the rest of the text (a string is no longer than that), and given back
        // below: growing from nothing copied a 2 KB document ten times.
        let mut out = Vec::with_capacity(rest.len().min(MAX_RESERVE));
        out.extend_from_slice(rest.get(..plain)?);
        let mut i = plain;
        loop {
            // Eight plain bytes at a time, and then the plain ones before the first that is not.
            while let Some(word) = rest.get(i..i + 8).and_then(|w| <[u8; 8]>::try_from(w).ok()) {
                let plain = first_special(u64::from_le_bytes(word));
                if plain == 8 {
                    out.extend_from_slice(&word);
                    i += 8;
                    continue;
                }
                // The whole word and then back to its plain bytes: a copy of a length not known
                // here would be a call to `memcpy`, and in an escaped policy document the runs
                // are a few bytes long.
                out.extend_from_slice(&word);
                out.truncate(out.len() - (8 - plain));
                i += plain;
                break;
            }
            let b = *rest.get(i)?;
            i += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    let escaped = *rest.get(i)?;
                    i += 1;
                    out.push(match escaped {
                        b'"' | b'\\' | b'/' => escaped,
                        b'b' => 0x08,
                        b'f' => 0x0c,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        // `\u`, with its surrogates, and bad escapes: serde_json's to judge.
                        _ => return None,
                    });
                }
                0..=0x1f => return None,
                _ => out.push(b),
            }
        }
        self.at += i;
        out.shrink_to_fit();
        // The input is text, and an escape stands for an ASCII byte: still UTF-8, checked anyway.
        String::from_utf8(out).ok()
    }

    /// After `{`.
    fn object(&mut self, depth: usize) -> Option<Value> {
        let mut map = Map::new();
        match self.next_token()? {
            b'}' => return Some(Value::Object(map)),
            b'"' => {}
            _ => return None,
        }
        loop {
            let key = self.string()?;
            // serde_json reads an object whose first key is one of its markers as something
            // else (raw JSON, an arbitrary-precision number).
            if map.is_empty() && key.starts_with("$serde_json::private::") {
                return None;
            }
            if self.next_token()? != b':' {
                return None;
            }
            let value = self.value(depth)?;
            // A repeated key: the last one wins, as in serde_json's own reading.
            map.insert(key, value);
            match self.next_token()? {
                b',' => {
                    if self.next_token()? != b'"' {
                        return None;
                    }
                }
                b'}' => return Some(Value::Object(map)),
                _ => return None,
            }
        }
    }

    /// After `[`.
    fn array(&mut self, depth: usize) -> Option<Value> {
        let mut items = Vec::new();
        self.skip_blanks();
        if self.peek()? == b']' {
            self.at += 1;
            return Some(Value::Array(items));
        }
        loop {
            items.push(self.value(depth)?);
            match self.next_token()? {
                b',' => {}
                b']' => return Some(Value::Array(items)),
                _ => return None,
            }
        }
    }
}

/// How many of the eight bytes of `word` (little-endian) come before the first `"`, `\` or
/// control byte.
fn first_special(word: u64) -> usize {
    special_bytes(word, true).trailing_zeros() as usize / 8
}

/// How many bytes of `rest` come before the first `"`, `\` or control byte (all of them when
/// there is none).
fn plain_run(rest: &[u8]) -> usize {
    first_hit(
        rest,
        |word| special_bytes(word, true),
        |b| b == b'"' || b == b'\\' || b < 0x20,
    )
    .unwrap_or(rest.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn same(text: &str) -> Result<(), TestCaseError> {
        let theirs = serde_json::from_str::<Value>(text).ok();
        if let Some(ours) = plain(text) {
            prop_assert_eq!(Some(&ours), theirs.as_ref(), "{}", text);
        }
        prop_assert_eq!(value(text), theirs);
        Ok(())
    }

    #[test]
    fn the_word_test_finds_the_first_special_byte() {
        for special in [b'"', b'\\', 0, 0x1f, b'\n'] {
            for at in 0..8 {
                let mut word = *b"abc\x7f\xff\xc3 z";
                word[at] = special;
                assert_eq!(first_special(u64::from_le_bytes(word)), at);
                // A later special byte, or one above the first, changes nothing.
                word[7] = b'"';
                assert_eq!(first_special(u64::from_le_bytes(word)), at);
            }
        }
        assert_eq!(
            first_special(u64::from_le_bytes(*b" !#[\x20\x7f\x80\xff")),
            8
        );
    }

    #[test]
    fn common_parameters_are_read_here_and_as_serde_json_reads_them() {
        for text in [
            r#"{"roleName":"app","policyName":"p","policyDocument":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"iam:PassRole\",\"Resource\":\"*\"}]}"}"#,
            r#"{"a":[1,-2,0,true,false,null,{},[]],"b":{"c":"d\/e\\f\n\t\r\b\f"}}"#,
            " { \"k\" : [ 1 , 2 ] , \"k\" : \"last\" } ",
            r#""just text""#,
            "[]",
            "123456789012345678",
            "-123456789012345678",
            r#"{"é":"日本"}"#,
        ] {
            assert!(plain(text).is_some(), "{text}");
            same(text).unwrap();
        }
    }

    #[test]
    fn anything_unusual_is_left_to_serde_json() {
        for text in [
            r#""\u0041""#,
            r#""\ud800""#,
            "1.5",
            "1e3",
            "-0",
            "01",
            "1234567890123456789",
            "18446744073709551616",
            r#"{"$serde_json::private::RawValue":"{}"}"#,
            "\"a\u{1}b\"",
            r#""\q""#,
            "{\"a\":1,}",
            "[1,]",
            "{\"a\" 1}",
            "[1 2]",
            "tru",
            "nul",
            "",
            "{} x",
            "\"open",
            "{\"a\":",
        ] {
            assert!(plain(text).is_none(), "{text}");
            same(text).unwrap();
        }
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(plain(&deep).is_none());
        let shallow = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(plain(&shallow).is_some());
        same(&deep).unwrap();
    }

    /// JSON text built from pieces that exercise each rule, valid or not.
    fn text() -> impl Strategy<Value = String> {
        let atom = prop::sample::select(vec![
            "0",
            "7",
            "-7",
            "-0",
            "01",
            "1.0",
            "2e5",
            "99999999999999999999",
            "true",
            "false",
            "null",
            "tru",
            r#""""#,
            r#""a""#,
            r#""\"""#,
            r#""\\""#,
            r#""\/""#,
            r#""\n\t""#,
            r#""\u00e9""#,
            r#""\ud83d\ude00""#,
            r#""\udc00""#,
            r#""\x""#,
            "\"é\"",
            "\"\u{7}\"",
            r#""{\"Version\":\"2012-10-17\"}""#,
        ])
        .prop_map(str::to_owned);
        atom.prop_recursive(6, 64, 6, |inner| {
            let key = prop::sample::select(vec![
                r#""a""#,
                r#""A""#,
                r#""a\"b""#,
                r#""$serde_json::private::RawValue""#,
                "a",
            ]);
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                prop::collection::vec((key, inner), 0..5).prop_map(|v| {
                    let members: Vec<_> =
                        v.into_iter().map(|(k, v)| format!("{k} : {v}")).collect();
                    format!("{{ {} }}", members.join(" ,"))
                }),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        #[test]
        fn reads_exactly_as_serde_json(text in text(), cut in 0usize..4) {
            same(&text)?;
            // Cut short, and with trailing bytes.
            let end = text.len().saturating_sub(cut);
            if let Some(short) = text.get(..end) {
                same(short)?;
            }
            same(&format!("{text} ]"))?;
        }
    }
}
