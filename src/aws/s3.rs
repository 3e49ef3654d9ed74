//! CloudTrail log files in S3 (issue 17): which keys of a trail bucket to read, selected by the
//! layout CloudTrail delivers to (`[prefix/]AWSLogs/[o-org/]<account>/CloudTrail/<region>/YYYY/
//! MM/DD/<file>.json.gz`) so that days, accounts and regions outside the filters are never
//! listed; and one object's body as a [`Read`]er, streamed chunk by chunk, so the one decoder
//! reads it as it reads a local file (gzip included) without the object ever being held whole.

use std::collections::BTreeSet;
use std::io::{self, Read};

use aws_config::SdkConfig;
use aws_sdk_s3::primitives::ByteStream;
use chrono::NaiveDate;

use super::error::{About, AwsError};
use super::{CallCounter, Lazy};

/// An `s3://bucket/key-or-prefix` location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub bucket: String,
    /// A key (one object) or a prefix (empty: the whole bucket).
    pub key: String,
}

impl Location {
    /// `None` when `text` is not an `s3://` URL with a bucket.
    pub fn parse(text: &str) -> Option<Location> {
        let rest = text.strip_prefix("s3://")?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        (!bucket.is_empty()).then(|| Location {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        })
    }

    /// A single object rather than a prefix: a name CloudTrail (or a user) gives a log file.
    pub fn is_object(&self) -> bool {
        is_log_key(&self.key)
    }
}

/// A key CloudTrail writes a log file under (digests and Insights live under other folders):
/// named as the event files the CLI reads from a folder.
pub fn is_log_key(key: &str) -> bool {
    crate::decode::is_event_file(key)
}

/// Which objects of the layout to read. Empty lists: all.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub accounts: BTreeSet<String>,
    pub regions: BTreeSet<String>,
    /// First day read (UTC, the day in the key).
    pub since: Option<NaiveDate>,
    /// Last day read, included.
    pub until: Option<NaiveDate>,
}

impl Selection {
    fn day_wanted(&self, day: NaiveDate) -> bool {
        self.since.is_none_or(|s| day >= s) && self.until.is_none_or(|u| day <= u)
    }

    /// Whether a listed key passes the filters its layout lets us apply (a key outside the
    /// layout passes: a prefix of plain files is read whole).
    fn wants_key(&self, key: &str) -> bool {
        let Some(parts) = layout_parts(key) else {
            return true;
        };
        parts
            .account
            .is_none_or(|a| self.accounts.is_empty() || self.accounts.contains(a))
            && parts
                .region
                .is_none_or(|r| self.regions.is_empty() || self.regions.contains(r))
            && parts.day.is_none_or(|d| self.day_wanted(d))
    }
}

/// The parts of a key under `AWSLogs/`, as far as the key goes.
#[derive(Debug, Default, PartialEq, Eq)]
struct Parts<'k> {
    /// Segments after `AWSLogs/` that are complete (followed by `/`).
    depth: usize,
    org: bool,
    account: Option<&'k str>,
    region: Option<&'k str>,
    day: Option<NaiveDate>,
}

fn layout_parts(key: &str) -> Option<Parts<'_>> {
    let (_, after) = key.split_once("AWSLogs/")?;
    let mut segments: Vec<&str> = after.split('/').collect();
    // The last piece is not a complete folder (a file name, or "" after a final slash).
    segments.pop();
    let mut parts = Parts {
        depth: segments.len(),
        ..Parts::default()
    };
    let mut rest = segments.as_slice();
    if let Some((first, tail)) = rest.split_first() {
        if first.starts_with("o-") {
            parts.org = true;
            rest = tail;
        }
    }
    parts.account = rest.first().copied();
    parts.region = rest.get(2).copied();
    if let (Some(y), Some(m), Some(d)) = (rest.get(3), rest.get(4), rest.get(5)) {
        parts.day = match (y.parse(), m.parse(), d.parse()) {
            (Ok(y), Ok(m), Ok(d)) => NaiveDate::from_ymd_opt(y, m, d),
            _ => None,
        };
    }
    Some(parts)
}

/// One object to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub key: String,
    pub size: u64,
}

/// The S3 reads of `evaluate s3://...`, the trail notifications and Batch Operations.
#[derive(Clone)]
pub struct TrailReader {
    client: Lazy<aws_sdk_s3::Client>,
}

impl TrailReader {
    pub fn new(config: &SdkConfig, calls: &CallCounter) -> Self {
        // Path-style addressing when an endpoint is set (a local server has no bucket DNS).
        let path_style =
            config.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
        TrailReader {
            client: counted_client!(aws_sdk_s3, config, calls, |builder| builder
                .force_path_style(path_style)),
        }
    }

    /// The objects `location` names under `selection`, in key order. A single object is not
    /// listed (its size is then unknown: 0).
    pub async fn objects(
        &self,
        location: &Location,
        selection: &Selection,
        today: NaiveDate,
    ) -> Result<Vec<Object>, AwsError> {
        if location.is_object() {
            return Ok(vec![Object {
                key: location.key.clone(),
                size: 0,
            }]);
        }
        let mut prefix = location.key.clone();
        if !prefix.is_empty() && !prefix.ends_with('/') {
            prefix.push('/');
        }
        let mut prefixes = Vec::new();
        self.expand(&location.bucket, prefix, selection, today, &mut prefixes)
            .await?;
        let mut objects = Vec::new();
        for prefix in prefixes {
            for object in self.list(&location.bucket, &prefix, None).await?.0 {
                if is_log_key(&object.key) && selection.wants_key(&object.key) {
                    objects.push(object);
                }
            }
        }
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        objects.dedup_by(|a, b| a.key == b.key);
        Ok(objects)
    }

    /// The prefixes to list whole, walking the layout down from `prefix`: the levels a filter
    /// names are written out rather than listed; days are never listed.
    async fn expand(
        &self,
        bucket: &str,
        prefix: String,
        selection: &Selection,
        today: NaiveDate,
        out: &mut Vec<String>,
    ) -> Result<(), AwsError> {
        // Iterative: a stack of prefixes still to place in the layout.
        let mut todo = vec![prefix];
        while let Some(prefix) = todo.pop() {
            let Some(parts) = layout_parts(&prefix) else {
                // Above `AWSLogs/`: descend only into it when it is there.
                let children = self.list(bucket, &prefix, Some("/")).await?.1;
                let logs = format!("{prefix}AWSLogs/");
                if children.contains(&logs) {
                    todo.push(logs);
                } else {
                    out.push(prefix);
                }
                continue;
            };
            let level = parts.depth - usize::from(parts.org);
            match level {
                // `AWSLogs/` or `AWSLogs/o-.../`: organizations or accounts.
                0 if !parts.org && parts.depth == 0 => {
                    let children = self.list(bucket, &prefix, Some("/")).await?.1;
                    for child in children.into_iter().rev() {
                        let name = segment(&child, &prefix);
                        if name.starts_with("o-") || self.account_wanted(selection, name) {
                            todo.push(child);
                        }
                    }
                }
                0 => {
                    if selection.accounts.is_empty() {
                        let children = self.list(bucket, &prefix, Some("/")).await?.1;
                        for child in children.into_iter().rev() {
                            if self.account_wanted(selection, segment(&child, &prefix)) {
                                todo.push(child);
                            }
                        }
                    } else {
                        for account in selection.accounts.iter().rev() {
                            todo.push(format!("{prefix}{account}/"));
                        }
                    }
                }
                // `<account>/`: CloudTrail's folder (not its digests, not Insights).
                1 => todo.push(format!("{prefix}CloudTrail/")),
                // `CloudTrail/`: the regions.
                2 => {
                    if selection.regions.is_empty() {
                        let children = self.list(bucket, &prefix, Some("/")).await?.1;
                        todo.extend(children.into_iter().rev());
                    } else {
                        for region in selection.regions.iter().rev() {
                            todo.push(format!("{prefix}{region}/"));
                        }
                    }
                }
                // `<region>/`: with a start date, each day of the range is one prefix.
                3 => match selection.since {
                    Some(since) => {
                        let until = selection.until.unwrap_or(today);
                        let mut day = since;
                        while day <= until {
                            out.push(format!("{prefix}{}/", day.format("%Y/%m/%d")));
                            match day.succ_opt() {
                                Some(next) => day = next,
                                None => break,
                            }
                        }
                    }
                    None => out.push(prefix),
                },
                // Inside the dates, or deeper: list it all, filter the keys.
                _ => out.push(prefix),
            }
        }
        Ok(())
    }

    fn account_wanted(&self, selection: &Selection, name: &str) -> bool {
        super::organization::is_account_id(name)
            && (selection.accounts.is_empty() || selection.accounts.contains(name))
    }

    /// One prefix's objects (no delimiter) or folders (with one), every page.
    async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: Option<&str>,
    ) -> Result<(Vec<Object>, Vec<String>), AwsError> {
        const OPERATION: &str = "s3:ListObjectsV2";
        let mut objects = Vec::new();
        let mut folders = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_delimiter(delimiter.map(str::to_owned))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                AwsError::from_sdk(OPERATION, &e)
                    .about(About::Object(format!("s3://{bucket}/{prefix}")))
            })?;
            for object in page.contents() {
                if let Some(key) = object.key() {
                    objects.push(Object {
                        key: key.to_owned(),
                        size: object
                            .size()
                            .and_then(|s| u64::try_from(s).ok())
                            .unwrap_or(0),
                    });
                }
            }
            folders.extend(
                page.common_prefixes()
                    .iter()
                    .filter_map(|p| p.prefix().map(str::to_owned)),
            );
        }
        Ok((objects, folders))
    }

    /// Starts reading one object: its body, to be read through [`Body`].
    pub async fn open(&self, bucket: &str, key: &str) -> Result<ByteStream, AwsError> {
        const OPERATION: &str = "s3:GetObject";
        self.client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map(|o| o.body)
            .map_err(|e| {
                AwsError::from_sdk(OPERATION, &e)
                    .about(About::Object(format!("s3://{bucket}/{key}")))
            })
    }
}

/// The last segment of a folder `child` listed under `parent`, without its slash.
fn segment<'c>(child: &'c str, parent: &str) -> &'c str {
    child
        .strip_prefix(parent)
        .unwrap_or(child)
        .trim_end_matches('/')
}

/// An object's body as a synchronous reader for the one decoder: each `read` waits for the next
/// chunk through `next` (the CLI blocks on its runtime, [`ChunkReader`] on a channel), so only
/// the chunk in hand is in memory.
pub struct Body<N: FnMut(&mut ByteStream) -> Option<io::Result<bytes::Bytes>>> {
    stream: ByteStream,
    next: N,
    chunk: bytes::Bytes,
}

impl<N: FnMut(&mut ByteStream) -> Option<io::Result<bytes::Bytes>>> Body<N> {
    /// `next` waits for the stream's next chunk (`None` at the end).
    pub fn new(stream: ByteStream, next: N) -> Self {
        Body {
            stream,
            next,
            chunk: bytes::Bytes::new(),
        }
    }
}

impl<N: FnMut(&mut ByteStream) -> Option<io::Result<bytes::Bytes>>> Read for Body<N> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            match (self.next)(&mut self.stream) {
                None => return Ok(0),
                Some(chunk) => self.chunk = chunk?,
            }
        }
        copy_out(&mut self.chunk, buf)
    }
}

/// Chunks handed over a bounded channel as a synchronous reader: the Lambda reads the body on
/// its runtime and decodes on a thread of its own.
pub struct ChunkReader {
    chunks: tokio::sync::mpsc::Receiver<io::Result<bytes::Bytes>>,
    chunk: bytes::Bytes,
}

impl ChunkReader {
    pub fn new(chunks: tokio::sync::mpsc::Receiver<io::Result<bytes::Bytes>>) -> Self {
        ChunkReader {
            chunks,
            chunk: bytes::Bytes::new(),
        }
    }
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            match self.chunks.blocking_recv() {
                None => return Ok(0),
                Some(chunk) => self.chunk = chunk?,
            }
        }
        copy_out(&mut self.chunk, buf)
    }
}

fn copy_out(chunk: &mut bytes::Bytes, buf: &mut [u8]) -> io::Result<usize> {
    let n = buf.len().min(chunk.len());
    let head = chunk.split_to(n);
    buf.get_mut(..n)
        .ok_or_else(|| io::Error::other("short buffer"))?
        .copy_from_slice(&head);
    Ok(n)
}

/// The next chunk of a body, as [`Body`] wants it.
pub async fn next_chunk(stream: &mut ByteStream) -> Option<io::Result<bytes::Bytes>> {
    stream
        .next()
        .await
        .map(|r| r.map_err(|e| io::Error::other(format!("s3:GetObject body: {e}"))))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

    use super::*;

    #[test]
    fn urls_and_layout() {
        let l = Location::parse("s3://trail/AWSLogs/").unwrap();
        assert_eq!((l.bucket.as_str(), l.key.as_str()), ("trail", "AWSLogs/"));
        assert!(!l.is_object());
        assert!(Location::parse("s3://trail/a/b.json.gz")
            .unwrap()
            .is_object());
        assert_eq!(Location::parse("s3://trail").unwrap().key, "");
        assert!(Location::parse("s3:///x").is_none());
        assert!(Location::parse("/tmp/x").is_none());

        let key = "AWSLogs/o-abc/111122223333/CloudTrail/eu-west-1/2026/11/02/f.json.gz";
        let p = layout_parts(key).unwrap();
        assert!(p.org);
        assert_eq!(p.account, Some("111122223333"));
        assert_eq!(p.region, Some("eu-west-1"));
        assert_eq!(p.day, NaiveDate::from_ymd_opt(2026, 11, 2));
        let mut s = Selection {
            since: NaiveDate::from_ymd_opt(2026, 11, 3),
            ..Selection::default()
        };
        assert!(!s.wants_key(key));
        s.since = None;
        s.regions.insert("us-east-1".into());
        assert!(!s.wants_key(key));
        s.regions.clear();
        assert!(s.wants_key(key));
        assert!(s.wants_key("plain/file.json"));
    }

    #[test]
    fn a_body_reads_across_chunks() {
        let chunks = std::cell::RefCell::new(vec![
            bytes::Bytes::from_static(b"lo"),
            bytes::Bytes::new(),
            bytes::Bytes::from_static(b"hel"),
        ]);
        let mut body = Body::new(ByteStream::from_static(b""), |_: &mut ByteStream| {
            chunks.borrow_mut().pop().map(Ok)
        });
        let mut out = String::new();
        body.read_to_string(&mut out).unwrap();
        assert_eq!(out, "hello");
    }
}
