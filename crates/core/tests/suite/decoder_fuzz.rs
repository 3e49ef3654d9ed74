//! Differential fuzzing of the decoder: inputs built from the samples in `events/` (log files,
//! arrays, JSON Lines, concatenated documents; compact or pretty, gzip or not), damaged the ways
//! real inputs are (bad escapes, repeated keys, invalid UTF-8, raw line breaks in strings, deep
//! nesting, type changes, values that are not records, cut lines, truncated files), are decoded
//! in memory and in chunks of a few bytes, so that every record boundary gets cut. Both must give
//! the same items, positions and error wording, every record that is valid on its own must be
//! read, at its own position, and each damage may cost only the record it is in.
//!
//! `ROLEWARDEN_FUZZ_CASES=200000 cargo test -p rolewarden-core --release --test suite decoder_fuzz`
//! runs a long campaign.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::OnceLock;

use proptest::prelude::*;
use rolewarden_core::decode::{read_items_selecting, read_slice_selecting, Item, Options, Select};
use serde_json::{json, Value};

/// The sample records and their EventBridge envelopes, without their ids.
fn samples() -> &'static [(Value, Value)] {
    static SAMPLES: OnceLock<Vec<(Value, Value)>> = OnceLock::new();
    SAMPLES.get_or_init(|| {
        let mut paths: Vec<_> = std::fs::read_dir(crate::common::root().join("events"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        paths.sort();
        paths
            .iter()
            .filter_map(|p| {
                let value: Value = serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()?;
                let envelope = value.get("detail").is_some().then(|| value.clone())?;
                let record = envelope.get("detail")?.clone();
                record
                    .get("eventName")
                    .is_some()
                    .then_some((record, envelope))
            })
            .collect()
    })
}

/// How a record is damaged.
#[derive(Debug, Clone)]
enum Damage {
    /// `\q` in a string.
    BadEscape,
    /// `eventName` twice.
    DuplicateKey,
    /// Bytes that are not UTF-8 in `userAgent`.
    InvalidUtf8,
    /// A raw line break inside a string.
    RawLineBreak,
    /// An extra field nested this deep.
    Deep(usize),
    /// Scalars of the wrong types: still a record.
    TypeChange,
    /// Not an object at all.
    NotAnObject(&'static str),
}

impl Damage {
    /// Whether the record is still readable.
    fn benign(&self) -> bool {
        match self {
            Damage::TypeChange => true,
            // Under the limit of 128 levels, with the record's own and an envelope's.
            Damage::Deep(depth) => *depth < 100,
            _ => false,
        }
    }

    /// The member that replaces the marker member, or the value that replaces the record.
    fn snippet(&self) -> Vec<u8> {
        match self {
            Damage::BadEscape => br#""note":"a\qb""#.to_vec(),
            Damage::DuplicateKey => br#""eventName":"Repeated""#.to_vec(),
            Damage::InvalidUtf8 => b"\"userAgent\":\"aws-cli/\xff\xfe\"".to_vec(),
            Damage::RawLineBreak => b"\"note\":\"first\nsecond\"".to_vec(),
            Damage::Deep(depth) => {
                let mut s = b"\"deep\":".to_vec();
                s.extend(std::iter::repeat_n(b'[', *depth));
                s.extend(std::iter::repeat_n(b']', *depth));
                s
            }
            Damage::TypeChange => Vec::new(),
            Damage::NotAnObject(text) => text.as_bytes().to_vec(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    LogFile,
    LogFilePretty,
    Array,
    ArrayOfEnvelopesPretty,
    JsonLines,
    JsonLinesOfEnvelopes,
    /// Pretty-printed envelopes one after another, as `cat *.json` makes them.
    Concatenated,
}

#[derive(Debug, Clone)]
struct Case {
    layout: Layout,
    records: Vec<(usize, Option<Damage>)>,
    crlf: bool,
    bom: bool,
    gzip: bool,
    /// Cut the whole input at this fraction of its length.
    truncate: Option<f64>,
    /// JSON Lines only: cut this line (by record) at this fraction of its length.
    cut_line: Option<(usize, f64)>,
    small_chunk: usize,
    other_chunk: usize,
}

/// What a case should give, record by record.
struct Expected {
    bytes: Vec<u8>,
    /// For each record: its id, whether it must be read, its expected line and index.
    records: Vec<(String, bool, u64, Option<u64>)>,
    /// How many records are damaged or cut (each may cost up to two errors: a raw line break
    /// splits a JSON line in two).
    damaged: usize,
    truncated: bool,
}

const MEMBER: &[u8] = b"\"MUTKEY\":\"MUTVAL\"";
const MEMBER_PRETTY: &[u8] = b"\"MUTKEY\": \"MUTVAL\"";
const WHOLE: &[u8] = b"\"MUTRECORD\"";

fn replace(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    match haystack.windows(needle.len()).position(|w| w == needle) {
        Some(at) => [&haystack[..at], with, &haystack[at + needle.len()..]].concat(),
        None => haystack.to_vec(),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn line_at(bytes: &[u8], offset: usize) -> u64 {
    1 + bytes[..offset].iter().filter(|&&b| b == b'\n').count() as u64
}

fn build(case: &Case) -> Expected {
    let samples = samples();
    let envelopes = matches!(
        case.layout,
        Layout::ArrayOfEnvelopesPretty | Layout::JsonLinesOfEnvelopes | Layout::Concatenated
    );
    let ids: Vec<String> = (0..case.records.len())
        .map(|i| format!("fuzz-{i:04}"))
        .collect();
    // Each value with its markers; damage is spliced in after serialising.
    let values: Vec<Value> = case
        .records
        .iter()
        .zip(&ids)
        .map(|((pick, damage), id)| {
            let (record, envelope) = &samples[pick % samples.len()];
            let mut record = record.clone();
            record["eventID"] = json!(id);
            match damage {
                Some(Damage::TypeChange) => {
                    record["eventTime"] = json!(1_625_211_991.692);
                    record["recipientAccountId"] = json!(123_456_789_012u64);
                    record["responseElements"] = json!("None");
                }
                Some(Damage::NotAnObject(_)) => record = json!("MUTRECORD"),
                Some(_) => record["MUTKEY"] = json!("MUTVAL"),
                None => {}
            }
            if envelopes {
                let mut envelope = envelope.clone();
                envelope["detail"] = record;
                envelope
            } else {
                record
            }
        })
        .collect();
    // Markers come in record order: each damage replaces the first one left of its kind.
    let splice = |mut text: Vec<u8>, records: &[(usize, Option<Damage>)]| {
        for (_, damage) in records {
            let Some(damage) = damage else { continue };
            let with = damage.snippet();
            text = match damage {
                Damage::TypeChange => text,
                Damage::NotAnObject(_) => replace(&text, WHOLE, &with),
                _ if find(&text, MEMBER).is_some() => replace(&text, MEMBER, &with),
                _ => replace(&text, MEMBER_PRETTY, &with),
            };
        }
        text
    };
    let newline: &[u8] = if case.crlf { b"\r\n" } else { b"\n" };
    let pretty = |v: &Value| {
        let text = serde_json::to_string_pretty(v).unwrap().into_bytes();
        if case.crlf {
            String::from_utf8(text)
                .unwrap()
                .replace('\n', "\r\n")
                .into_bytes()
        } else {
            text
        }
    };
    // Where each record's top-level value starts (for the line records are reported on).
    let mut starts = Vec::new();
    let mut bytes = Vec::new();
    match case.layout {
        Layout::LogFile => {
            bytes = splice(
                serde_json::to_vec(&json!({"Records": values})).unwrap(),
                &case.records,
            )
        }
        Layout::LogFilePretty => bytes = splice(pretty(&json!({"Records": values})), &case.records),
        Layout::Array => bytes = splice(serde_json::to_vec(&values).unwrap(), &case.records),
        Layout::ArrayOfEnvelopesPretty => {
            bytes = splice(pretty(&Value::Array(values.clone())), &case.records)
        }
        Layout::JsonLines | Layout::JsonLinesOfEnvelopes | Layout::Concatenated => {
            for (i, v) in values.iter().enumerate() {
                let own = &case.records[i..=i];
                let mut text = if case.layout == Layout::Concatenated {
                    splice(pretty(v), own)
                } else {
                    splice(serde_json::to_vec(v).unwrap(), own)
                };
                // A line cut to `[` would open an array of the lines after it, as a pretty
                // array does: only records' lines are cut.
                let object = !matches!(case.records[i].1, Some(Damage::NotAnObject(_)));
                if let Some((line, cut)) = case.cut_line {
                    if line % values.len() == i && case.layout != Layout::Concatenated && object {
                        let keep = 1 + ((text.len() - 2) as f64 * cut) as usize;
                        text.truncate(keep);
                    }
                }
                starts.push(bytes.len());
                bytes.extend(text);
                bytes.extend(newline);
            }
        }
    }
    let cut_record = case
        .cut_line
        .filter(|_| {
            matches!(
                case.layout,
                Layout::JsonLines | Layout::JsonLinesOfEnvelopes
            )
        })
        .map(|(line, _)| line % values.len())
        .filter(|&i| !matches!(case.records[i].1, Some(Damage::NotAnObject(_))));
    let mut end = bytes.len();
    if let Some(fraction) = case.truncate {
        end = ((bytes.len() as f64) * fraction) as usize;
        bytes.truncate(end);
    }
    let indexed = matches!(
        case.layout,
        Layout::LogFile | Layout::LogFilePretty | Layout::Array | Layout::ArrayOfEnvelopesPretty
    );
    let mut damaged = 0;
    let records = case
        .records
        .iter()
        .enumerate()
        .map(|(i, (_, damage))| {
            let id = &ids[i];
            // Read only if whole: its id and the end of its record are before the cut.
            let located = find(&bytes, format!("\"{id}\"").as_bytes());
            let whole = located.is_some_and(|at| {
                let rest = &bytes[at..];
                // The record's end: the next record's id, or the end of the input's text.
                let next = ids
                    .get(i + 1)
                    .and_then(|next| find(rest, format!("\"{next}\"").as_bytes()));
                next.is_some() || end == bytes.len() && case.truncate.is_none()
            });
            let cut = cut_record == Some(i);
            let readable = damage.as_ref().is_none_or(Damage::benign);
            if !readable || cut {
                damaged += 1;
            }
            let line = if indexed {
                1
            } else {
                starts
                    .get(i)
                    .map_or(1, |&s| line_at(&bytes, s.min(bytes.len())))
            };
            let index = indexed.then_some(i as u64);
            (id.clone(), readable && whole && !cut, line, index)
        })
        .collect();
    if case.bom {
        bytes.splice(0..0, *b"\xEF\xBB\xBF");
    }
    Expected {
        bytes,
        records,
        damaged,
        truncated: case.truncate.is_some(),
    }
}

fn describe(item: &Item) -> String {
    format!("{item:?}")
}

fn decode(bytes: &[u8], chunk: Option<usize>) -> Vec<Item> {
    decode_selecting(bytes, chunk, None)
}

fn decode_selecting(bytes: &[u8], chunk: Option<usize>, select: Option<Select<'_>>) -> Vec<Item> {
    let mut items = Vec::new();
    match chunk {
        None => read_slice_selecting(bytes, &Options::default(), select, &mut |i| items.push(i))
            .unwrap(),
        Some(chunk_bytes) => {
            let options = Options {
                chunk_bytes,
                ..Options::default()
            };
            read_items_selecting(bytes, &options, select, &mut |i| items.push(i)).unwrap();
        }
    }
    items
}

/// What a pipeline reads whole when reading selectively: here about half the samples, by name.
fn selected(_source: &str, name: &str) -> bool {
    name.len().is_multiple_of(2)
}

/// An item as a selective read must give it: whole, or for a record `selected` turns down,
/// only what is read of it (its source, name and id), where it is.
fn as_selected(item: &Item) -> String {
    match item {
        Item::Record {
            record,
            envelope,
            position,
        } if !selected(
            record.event_source.as_deref().unwrap_or_default(),
            record.event_name.as_deref().unwrap_or_default(),
        ) =>
        {
            format!(
                "skimmed {:?} {:?} {:?} {envelope:?} {position:?}",
                record.event_source, record.event_name, record.event_id
            )
        }
        other => describe(other),
    }
}

fn check(case: &Case) -> Result<(), TestCaseError> {
    let expected = build(case);
    let bytes = &expected.bytes;
    let in_memory = decode(bytes, None);
    let want: Vec<String> = in_memory.iter().map(describe).collect();
    for chunk in [case.small_chunk, case.other_chunk, 256 * 1024] {
        let got: Vec<String> = decode(bytes, Some(chunk)).iter().map(describe).collect();
        prop_assert_eq!(&got, &want, "chunks of {} bytes", chunk);
    }
    if case.gzip {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(bytes).unwrap();
        let gz = gz.finish().unwrap();
        let got: Vec<String> = decode(&gz, None).iter().map(describe).collect();
        prop_assert_eq!(&got, &want, "gzip");
    }
    // Reading selectively skims what is turned down and changes nothing else, bad input
    // included, in memory as in chunks.
    let want_selected: Vec<String> = in_memory.iter().map(as_selected).collect();
    for chunk in [None, Some(case.small_chunk), Some(case.other_chunk)] {
        let got: Vec<String> = decode_selecting(bytes, chunk, Some(&selected))
            .iter()
            .map(as_selected)
            .collect();
        prop_assert_eq!(
            &got,
            &want_selected,
            "selective, chunks of {:?} bytes",
            chunk
        );
    }

    // Every record valid on its own is read, once, where it is.
    let mut read: BTreeMap<String, (u64, Option<u64>)> = BTreeMap::new();
    let mut unreadable = Vec::new();
    for item in &in_memory {
        match item {
            Item::Record {
                record, position, ..
            } => {
                let id = record.event_id.clone().unwrap_or_default();
                prop_assert!(
                    read.insert(id.clone(), (position.line, position.index))
                        .is_none(),
                    "{} read twice",
                    id
                );
            }
            Item::Unreadable { reason, position } => {
                unreadable.push(format!("{position}: {reason}"));
            }
            Item::OtherEvent { .. } => prop_assert!(false, "no other events were written"),
        }
    }
    for (id, must, line, index) in &expected.records {
        match read.get(id) {
            Some(at) => prop_assert_eq!(*at, (*line, *index), "{} at the wrong place", id),
            None => prop_assert!(!must, "{} was not read; unreadable: {:?}", id, unreadable),
        }
    }
    // Each damage costs at most its own record, reported at most twice (a raw line break in a
    // JSON line splits it in two), and a truncated input one more report.
    let allowed = 2 * expected.damaged + usize::from(expected.truncated);
    prop_assert!(
        unreadable.len() <= allowed,
        "{} reports for {} damaged records: {:?}",
        unreadable.len(),
        expected.damaged,
        unreadable
    );
    if expected.damaged > 0 && !expected.truncated {
        prop_assert!(!unreadable.is_empty(), "damage not reported");
    }
    Ok(())
}

fn damage() -> impl Strategy<Value = Option<Damage>> {
    prop_oneof![
        6 => Just(None),
        1 => Just(Some(Damage::BadEscape)),
        1 => Just(Some(Damage::DuplicateKey)),
        1 => Just(Some(Damage::InvalidUtf8)),
        1 => Just(Some(Damage::RawLineBreak)),
        1 => prop::sample::select(vec![3usize, 60, 200, 1000]).prop_map(|d| Some(Damage::Deep(d))),
        1 => Just(Some(Damage::TypeChange)),
        1 => prop::sample::select(vec!["42", "[1,2]", "\"text\"", "null"])
            .prop_map(|t| Some(Damage::NotAnObject(t))),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::sample::select(vec![
            Layout::LogFile,
            Layout::LogFilePretty,
            Layout::Array,
            Layout::ArrayOfEnvelopesPretty,
            Layout::JsonLines,
            Layout::JsonLinesOfEnvelopes,
            Layout::Concatenated,
        ]),
        prop::collection::vec((0..1000usize, damage()), 1..5),
        (any::<bool>(), any::<bool>(), prop::bool::weighted(0.2)),
        prop::option::weighted(0.2, 0.0..1.0f64),
        prop::option::weighted(0.2, (0..10usize, 0.0..1.0f64)),
        (1..4usize, 4..200usize),
    )
        .prop_map(
            |(
                layout,
                records,
                (crlf, bom, gzip),
                truncate,
                cut_line,
                (small_chunk, other_chunk),
            )| Case {
                layout,
                records,
                crlf,
                bom,
                gzip,
                truncate,
                cut_line,
                small_chunk,
                other_chunk,
            },
        )
}

fn cases() -> u32 {
    std::env::var("ROLEWARDEN_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2000)
}

/// A fixed seed keeps CI deterministic; `PROPTEST_RNG_SEED=random` (or another number) with
/// `ROLEWARDEN_FUZZ_CASES` runs a wider campaign. What such campaigns found is kept below as
/// cases of its own.
fn seed() -> proptest::test_runner::RngSeed {
    use proptest::test_runner::RngSeed;
    match std::env::var("PROPTEST_RNG_SEED").ok().as_deref() {
        Some("random") => RngSeed::Random,
        Some(n) => n.parse().map_or(RngSeed::Fixed(20261127), RngSeed::Fixed),
        None => RngSeed::Fixed(20261127),
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        rng_seed: seed(),
        ..ProptestConfig::default()
    })]

    #[test]
    fn in_memory_and_chunked_agree_and_damage_stays_local(case in case()) {
        check(&case)?;
    }
}

/// The generator must produce what it says: damage that is reported, records that are read.
#[test]
fn the_generator_damages_what_it_says() {
    let base = Case {
        layout: Layout::LogFilePretty,
        records: vec![(0, None), (1, Some(Damage::BadEscape)), (2, None)],
        crlf: false,
        bom: false,
        gzip: false,
        truncate: None,
        cut_line: None,
        small_chunk: 1,
        other_chunk: 7,
    };
    let expected = build(&base);
    assert!(find(&expected.bytes, br#""a\qb""#).is_some());
    assert_eq!(expected.damaged, 1);
    let musts: Vec<bool> = expected.records.iter().map(|r| r.1).collect();
    assert_eq!(musts, [true, false, true]);
    check(&base).unwrap();
    let items = decode(&expected.bytes, None);
    assert_eq!(items.len(), 3, "{items:?}");
    assert!(
        matches!(&items[1], Item::Unreadable { reason, .. } if reason.contains("invalid escape"))
    );

    for damage in [
        Damage::DuplicateKey,
        Damage::InvalidUtf8,
        Damage::RawLineBreak,
        Damage::Deep(200),
        Damage::NotAnObject("42"),
    ] {
        for layout in [Layout::LogFile, Layout::JsonLines, Layout::Concatenated] {
            let case = Case {
                layout,
                records: vec![(3, None), (4, Some(damage.clone())), (5, None)],
                ..base.clone()
            };
            check(&case).unwrap();
            let items = decode(&build(&case).bytes, None);
            let records = items
                .iter()
                .filter(|i| matches!(i, Item::Record { .. }))
                .count();
            assert_eq!(records, 2, "{damage:?} in {layout:?}: {items:?}");
        }
    }
}

/// Found by a random campaign: a JSON Lines file whose first line is cut to its `{`, followed by
/// a line that is a bare string, ran on into the next record's line, and lost that record.
#[test]
fn a_first_line_cut_to_its_brace_before_a_bare_string_costs_only_those_lines() {
    let case = Case {
        layout: Layout::JsonLines,
        records: vec![
            (110, None),
            (0, Some(Damage::NotAnObject("\"text\""))),
            (0, None),
            (1, None),
        ],
        crlf: false,
        bom: false,
        gzip: false,
        truncate: None,
        cut_line: Some((0, 0.0)),
        small_chunk: 1,
        other_chunk: 4,
    };
    let expected = build(&case);
    assert!(expected.bytes.starts_with(b"{\n\"text\"\n{"));
    check(&case).unwrap();
    let got: Vec<String> = decode(&expected.bytes, None)
        .iter()
        .map(|item| match item {
            Item::Record {
                record, position, ..
            } => format!("{}@{position}", record.event_id.as_deref().unwrap_or("?")),
            Item::Unreadable { reason, position } => format!("{position}: {reason}"),
            Item::OtherEvent { .. } => "other".into(),
        })
        .collect();
    assert_eq!(
        got,
        [
            // The cut line, named by its own line, not the next one's.
            "line 1: not valid JSON: EOF while parsing an object (column 1)",
            "line 2: expected an object, found the string `text`",
            "fuzz-0002@line 3",
            "fuzz-0003@line 4",
        ]
    );
    // Cut after a member instead, and with CRLF line ends: the same.
    for crlf in [false, true] {
        for cut in [0.3, 0.5, 0.9] {
            let case = Case {
                crlf,
                cut_line: Some((0, cut)),
                ..case.clone()
            };
            check(&case).unwrap();
            let items = decode(&build(&case).bytes, None);
            let records = items
                .iter()
                .filter(|i| matches!(i, Item::Record { .. }))
                .count();
            assert_eq!(records, 2, "cut at {cut}, crlf {crlf}: {items:?}");
        }
    }
}

/// Found by a random campaign: a line cut inside a value nested past the depth limit, followed
/// by a line that is not a record, ran on to the end of the input.
#[test]
fn a_deep_line_cut_short_costs_only_itself() {
    let case = Case {
        layout: Layout::JsonLines,
        records: vec![
            (0, Some(Damage::Deep(1000))),
            (0, Some(Damage::NotAnObject("42"))),
            (0, None),
            (0, None),
        ],
        crlf: false,
        bom: false,
        gzip: false,
        truncate: None,
        cut_line: Some((4, 0.3263176472500053)),
        small_chunk: 1,
        other_chunk: 4,
    };
    check(&case).unwrap();
    let items = decode(&build(&case).bytes, None);
    let records = items
        .iter()
        .filter(|i| matches!(i, Item::Record { .. }))
        .count();
    assert_eq!(records, 2, "{items:?}");
}

/// Damage after `eventSource` and `eventName`, where a selective read has already decided to
/// skim the record, is reported exactly as a whole read reports it (wording, line, column), in
/// memory and in chunks. The generator above damages a record's first member, before its names.
#[test]
fn damage_after_the_names_is_reported_alike_skimmed_or_whole() {
    let members: [&[u8]; 9] = [
        b"\"userAgent\":\"a\xffb\"",
        b"\"requestParameters\":{\"k\":\"\xff\"}",
        br#""awsRegion":"\ud800""#,
        br#""awsRegion":1e400"#,
        b"\"userAgent\":\"a\tb\"",
        b"\"errorMessage\":\"a\nb\"",
        br#""awsRegion":"x","awsRegion":"y""#,
        br#""note":"a\qb""#,
        br#""responseElements":{"a":[1,}"#,
    ];
    // `GetObject` has an odd length: `selected` turns it down, so it is skimmed.
    assert!(!selected("s3.amazonaws.com", "GetObject"));
    for member in members {
        let mut bytes = br#"{"Records":[{"eventVersion":"1.08","userIdentity":{"type":"Root"},"eventSource":"s3.amazonaws.com","eventName":"GetObject","#.to_vec();
        bytes.extend_from_slice(member);
        bytes.extend_from_slice(
            br#","eventID":"x"},{"eventSource":"s3.amazonaws.com","eventName":"GetObject","eventID":"y"}]}"#,
        );
        let whole: Vec<String> = decode(&bytes, None).iter().map(as_selected).collect();
        let text = String::from_utf8_lossy(member);
        assert!(
            whole.iter().any(|item| item.starts_with("Unreadable")),
            "{text}: {whole:?}"
        );
        for chunk in [None, Some(1), Some(7), Some(50)] {
            let skimmed: Vec<String> = decode_selecting(&bytes, chunk, Some(&selected))
                .iter()
                .map(as_selected)
                .collect();
            assert_eq!(skimmed, whole, "{text} in chunks of {chunk:?}");
        }
    }
}
