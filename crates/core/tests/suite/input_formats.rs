//! Every input shape decodes to the same events: envelope, raw record, log file, arrays, JSON
//! Lines, gzip; a bad line costs one record, not the file.

use std::io::Write;

use rolewarden_core::decode::{read_items, read_slice, Item};

fn names(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    read_slice(bytes, &mut |item| out.push(name(item))).unwrap();
    out
}

/// Through a reader, as a file is read: inputs over 8 MB are streamed.
fn streamed_names(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    read_items(bytes, &mut |item| out.push(name(item))).unwrap();
    out
}

fn name(item: Item) -> String {
    match item {
        Item::Record {
            record, position, ..
        } => format!(
            "{}@{}{}",
            record.event_name.unwrap_or_default(),
            position.line,
            position.index.map(|i| format!("#{i}")).unwrap_or_default()
        ),
        Item::OtherEvent { envelope, .. } => {
            format!("other:{}", envelope.detail_type.unwrap_or_default())
        }
        Item::Unreadable { position, reason } => {
            format!("unreadable@{}:{reason}", position.line)
        }
    }
}

const RECORD: &str = r#"{"eventSource":"iam.amazonaws.com","eventName":"DeleteRole","requestParameters":{"roleName":"x"}}"#;

#[test]
fn envelope_record_and_log_file() {
    let envelope = format!(
        r#"{{"detail-type":"AWS API Call via CloudTrail","source":"aws.iam","detail":{RECORD}}}"#
    );
    assert_eq!(names(envelope.as_bytes()), ["DeleteRole@1"]);
    assert_eq!(names(RECORD.as_bytes()), ["DeleteRole@1"]);
    let log = format!(r#"{{"Records":[{RECORD},{RECORD},42]}}"#);
    assert_eq!(
        names(log.as_bytes()),
        [
            "DeleteRole@1#0",
            "DeleteRole@1#1",
            "unreadable@1:`Records` element is not an object"
        ]
    );
    let array = format!("[{RECORD},{envelope}]");
    assert_eq!(
        names(array.as_bytes()),
        ["DeleteRole@1#0", "DeleteRole@1#1"]
    );
}

#[test]
fn json_lines_resume_after_a_bad_line() {
    let text = format!("{RECORD}\n{{\"eventName\": \n{RECORD}\n\n{RECORD}\n");
    let got = names(text.as_bytes());
    assert_eq!(got.len(), 4, "{got:?}");
    assert_eq!(got[0], "DeleteRole@1");
    assert!(
        got[1].starts_with("unreadable@2:not valid JSON: EOF while parsing"),
        "{got:?}"
    );
    assert_eq!(got[2], "DeleteRole@3");
    assert_eq!(got[3], "DeleteRole@5");
}

/// A JSON Lines line with something after its object is one syntax error: the object is not
/// evaluated (neither path may report it and then the error too), and the next line still is.
#[test]
fn a_line_with_trailing_text_is_one_error() {
    let text = format!("{RECORD}\n{RECORD} x\n{RECORD}\n");
    let got = names(text.as_bytes());
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[0], "DeleteRole@1");
    assert!(
        got[1].starts_with("unreadable@2:not valid JSON: trailing characters"),
        "{got:?}"
    );
    assert_eq!(got[2], "DeleteRole@3");
    assert_eq!(streamed_names(text.as_bytes()), got);
}

#[test]
fn pretty_printed_documents_and_line_numbers() {
    let pretty =
        serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(RECORD).unwrap())
            .unwrap();
    let text = format!("{pretty}\n{pretty}\n");
    let lines = pretty.lines().count() as u64;
    assert_eq!(
        names(text.as_bytes()),
        [
            "DeleteRole@1".to_string(),
            format!("DeleteRole@{}", lines + 1)
        ]
    );
}

#[test]
fn gzip_and_byte_order_mark() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    write!(gz, "{{\"Records\":[{RECORD}]}}").unwrap();
    let bytes = gz.finish().unwrap();
    assert_eq!(names(&bytes), ["DeleteRole@1#0"]);
    let bom = [b"\xEF\xBB\xBF".as_slice(), RECORD.as_bytes()].concat();
    assert_eq!(names(&bom), ["DeleteRole@1"]);
}

#[test]
fn other_events_and_odd_values() {
    let scheduled = r#"{"detail-type":"Scheduled Event","source":"aws.events","detail":{}}"#;
    assert_eq!(names(scheduled.as_bytes()), ["other:Scheduled Event"]);
    assert_eq!(
        names(b"42"),
        ["unreadable@1:expected an object, found a number"]
    );
    assert!(names(br#"{"foo":1}"#)[0].starts_with("unreadable@1:object is neither"));
    // Wrong scalar types are read as text, not rejected.
    let odd = r#"{"eventSource":"iam.amazonaws.com","eventName":"DeleteRole","recipientAccountId":123456789,"readOnly":"False","eventTime":1625211991.692}"#;
    assert_eq!(names(odd.as_bytes()), ["DeleteRole@1"]);
    assert!(names(b"").is_empty());
    assert!(names(b"  \n\n ").is_empty());
}

#[test]
fn corrupt_gzip_is_an_io_error() {
    let result = read_slice(&[0x1f, 0x8b, 0, 1, 2, 3], &mut |_| {});
    assert!(result.is_err());
}

/// A log file over the in-memory limit (8 MB) is streamed element by element: every record
/// comes out with its index, plain or gzip, and a broken record costs that record alone.
#[test]
fn large_log_files_stream_every_record() {
    let texts: Vec<String> = std::fs::read_dir(crate::common::root().join("events"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    let records = rolewarden_core::synth::records_from_samples(texts.iter().map(String::as_str));
    let mut bytes = Vec::new();
    rolewarden_core::synth::write_log_file(&mut bytes, &records, 7000).unwrap();
    assert!(bytes.len() > 9 << 20, "{} bytes", bytes.len());
    let doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let expected: Vec<String> = doc["Records"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, r)| format!("{}@1#{i}", r["eventName"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(streamed_names(&bytes), expected);

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&bytes).unwrap();
    assert_eq!(names(&gz.finish().unwrap()), expected);

    let text = String::from_utf8(bytes).unwrap();
    let id = format!("\"{:08x}-0000-4000-8000-000000000000\"", 3500);
    let broken = text.replacen(&id, &format!("{id} \"oops\""), 1);
    let got = streamed_names(broken.as_bytes());
    assert_eq!(got.len(), expected.len());
    for (i, (got, want)) in got.iter().zip(&expected).enumerate() {
        if i == 3500 {
            assert!(
                got.starts_with("unreadable@1:not valid JSON: expected `,` or `}`"),
                "{got}"
            );
        } else {
            assert_eq!(got, want);
        }
    }

    // Cut off inside a record: the records before it, then where the file ends.
    let got = streamed_names(&text.as_bytes()[..text.len() - 500]);
    let last = got.len() - 1;
    assert_eq!(got[..last], expected[..last]);
    assert!(
        got[last].starts_with("unreadable@1:not valid JSON: EOF while parsing"),
        "{}",
        got[last]
    );
}
