//! Every input shape decodes to the same events: envelope, raw record, log file, arrays, JSON
//! Lines, gzip; a bad line costs one record, not the file.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests"
)]

mod common;

use std::io::Write;

use rolewarden::decode::{read_slice, Item};

fn names(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    read_slice(bytes, &mut |item| {
        out.push(match item {
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
        })
    })
    .unwrap();
    out
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
