//! CloudTrail log files from S3 (issue 17), as two more kinds of invocation: the trail bucket's
//! EventBridge "Object Created" events (each new log file, minutes after its events), and S3
//! Batch Operations tasks (a backfill: one task per log file of a manifest, answered with a
//! result code each). Each object's body is streamed into the one decoder on a thread of its
//! own while its items go through [`App::step`] here, as a payload's do.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::s3::batch_job::{S3BatchJobEvent, S3BatchJobResponse, S3BatchJobResult};
use aws_sdk_s3::primitives::ByteStream;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::{AccountSource, App, FindingSink, HandlerError, Invocation, Response};
use crate::aws::s3::{is_log_key, next_chunk, ChunkReader};
use crate::decode::{read_items_selecting, Item, Options, Position};

/// An S3 invocation.
pub(super) enum S3Input {
    Tasks(S3BatchJobEvent),
    Created(Created),
}

/// The `detail` of S3's EventBridge "Object Created" event, as far as it is read.
#[derive(Debug, Deserialize, Serialize)]
pub(super) struct CreatedDetail {
    bucket: Named,
    object: Key,
}

#[derive(Debug, Deserialize, Serialize)]
struct Named {
    name: String,
}

#[derive(Debug, Deserialize, Serialize)]
struct Key {
    key: String,
}

pub(super) type Created = EventBridgeEvent<CreatedDetail>;

/// The payload as a Batch Operations invocation or an "Object Created" event, when it is one.
pub(super) fn s3_input(payload: &[u8]) -> Option<S3Input> {
    if memchr::memmem::find(payload, b"invocationSchemaVersion").is_some() {
        let job: S3BatchJobEvent = serde_json::from_slice(payload).ok()?;
        return Some(S3Input::Tasks(job));
    }
    memchr::memmem::find(payload, b"Object Created")?;
    let event: Created = serde_json::from_slice(payload).ok()?;
    (event.source == "aws.s3" && event.detail_type == "Object Created")
        .then_some(S3Input::Created(event))
}

/// How reading one object ended.
pub(super) enum Outcome {
    /// Read, evaluated, findings written.
    Done(Box<Response>),
    /// Worth trying again: throttled, unreachable, or the findings were not written.
    Temporary(String),
    /// Trying again cannot help: not a log file, missing, denied, corrupt; for the last three
    /// an RW000 naming the key was written, and this is what was.
    Permanent(String, Option<Box<Response>>),
}

/// What the decoding thread hands over.
enum Decoded {
    Item(Item),
    Failed(String),
}

/// Why an object's body was not read to its end.
enum Unread {
    /// Reading failed for a reason of this moment, not of the object (the transfer broke, the
    /// decoder thread could not start): worth trying again.
    Temporary(String),
    /// The bytes arrived but cannot be read (a corrupt gzip stream): reported as RW000.
    Content(String),
}

/// Chunks of a body in flight to the decoder, and items from it: enough to keep both busy.
const CHUNKS_IN_FLIGHT: usize = 4;
const ITEMS_IN_FLIGHT: usize = 64;

impl<A: AccountSource, S: FindingSink> App<A, S> {
    /// Reads log files through `reader` ([`App::new`] sets one; tests with other parts do).
    pub fn reading_s3(mut self, reader: crate::aws::s3::TrailReader) -> Self {
        self.trail = Some(reader);
        self
    }

    /// Batch Operations: every task read in turn, each answered `Succeeded`,
    /// `TemporaryFailure` (Batch Operations retries it) or `PermanentFailure`.
    pub(super) async fn handle_tasks(
        &self,
        job: S3BatchJobEvent,
        invocation: &Invocation,
    ) -> S3BatchJobResponse {
        let mut results = Vec::new();
        for task in &job.tasks {
            // Schema 2.0 names the bucket; 1.0 gives its ARN.
            let bucket = task
                .other
                .get("s3Bucket")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
                .or_else(|| {
                    task.s3_bucket_arn
                        .as_deref()
                        .map(|arn| arn.rsplit(':').next().unwrap_or(arn).to_owned())
                })
                .unwrap_or_default();
            // Keys come URL-encoded, as the manifest holds them.
            let key = task.s3_key.as_deref().unwrap_or_default();
            let key = percent_encoding::percent_decode_str(key).decode_utf8_lossy();
            let (code, text) = match self.read_object(&bucket, &key, invocation).await {
                Outcome::Done(r) => (
                    "Succeeded",
                    format!(
                        "{} events, {} findings, {} unreadable",
                        r.events,
                        r.findings.len(),
                        r.unreadable
                    ),
                ),
                Outcome::Temporary(why) => ("TemporaryFailure", why),
                Outcome::Permanent(why, _) => ("PermanentFailure", why),
            };
            tracing::info!(task = ?task.task_id, %bucket, key = %key, code, "task done");
            let mut result = S3BatchJobResult::default();
            result.task_id = task.task_id.clone();
            result.result_code = Some(code.to_owned());
            result.result_string = Some(text);
            results.push(result);
        }
        let mut answer = S3BatchJobResponse::default();
        answer.invocation_schema_version = job.invocation_schema_version;
        answer.invocation_id = job.invocation_id;
        answer.treat_missing_keys_as = Some("PermanentFailure".to_owned());
        answer.results = results;
        answer
    }

    /// A new log file in the trail bucket. Failing for now fails the invocation (`Retryable`:
    /// Lambda retries, then the dead-letter queue keeps it); an object that can never be read
    /// is an RW000 finding and a success.
    pub(super) async fn handle_created(
        &self,
        event: Created,
        invocation: &Invocation,
    ) -> Result<Response, HandlerError> {
        let bucket = event.detail.bucket.name;
        let key = event.detail.object.key;
        match self.read_object(&bucket, &key, invocation).await {
            Outcome::Done(response) => Ok(*response),
            Outcome::Temporary(why) => Err(HandlerError::Object(why)),
            // The RW000 naming the key was written (the answer says so), or, for a key that is
            // not a log file, there was nothing to read.
            Outcome::Permanent(why, written) => {
                tracing::warn!(%bucket, %key, "{why}");
                Ok(written.map_or_else(
                    || Response {
                        status: "ignored",
                        event_id: event.id,
                        ..Response::default()
                    },
                    |r| *r,
                ))
            }
        }
    }

    /// One log file: streamed, decoded, evaluated, its findings written.
    pub(super) async fn read_object(
        &self,
        bucket: &str,
        key: &str,
        invocation: &Invocation,
    ) -> Outcome {
        let origin = format!("s3://{bucket}/{key}");
        if !is_log_key(key) {
            return Outcome::Permanent(format!("not a CloudTrail log file: {origin}"), None);
        }
        let Some(trail) = &self.trail else {
            return Outcome::Permanent("this function reads no S3".to_owned(), None);
        };
        self.learn_home(invocation);
        let before = self.calls.snapshot();
        let mut steps = self.start(invocation, origin);
        let failed = match trail.open(bucket, key).await {
            Ok(stream) => match self.decode(stream, &mut steps).await {
                Ok(()) => None,
                // Nothing is written: the retry reads the whole object again.
                Err(Unread::Temporary(reason)) => return Outcome::Temporary(reason),
                Err(Unread::Content(reason)) => Some(reason),
            },
            // Throttling, a 5xx or no answer: Batch Operations (or Lambda) should try again.
            Err(e) if e.is_retryable() => return Outcome::Temporary(e.to_string()),
            Err(e) => Some(e.to_string()),
        };
        if let Some(reason) = &failed {
            let item = Item::Unreadable {
                reason: reason.clone(),
                position: Position::default(),
            };
            self.step(&mut steps, item).await;
        }
        // A log file replays history: its delete events do not re-check today's account.
        let evaluated = steps.finish();
        let written = match self
            .write_all(evaluated.findings, &evaluated.observed)
            .await
        {
            Ok(written) => written,
            Err(e) => return Outcome::Temporary(e.to_string()),
        };
        let api_calls = crate::aws::difference(&before, &self.calls.snapshot());
        let response = Box::new(Response::of_run(
            evaluated.summary,
            evaluated.event_id,
            written,
            api_calls,
        ));
        match failed {
            Some(reason) => Outcome::Permanent(reason, Some(response)),
            None => Outcome::Done(response),
        }
    }

    /// The body through the decoder on a thread of its own (it reads synchronously), its items
    /// through [`App::step`] here; both sides hold a few chunks or items at most. Fails when
    /// the bytes cannot be read: the transfer broke (a reset, a read timeout) or the content is
    /// not readable (a corrupt gzip).
    async fn decode(
        &self,
        mut stream: ByteStream,
        steps: &mut super::Steps<'_>,
    ) -> Result<(), Unread> {
        let (chunks, chunk_rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
        let (items, mut item_rx) = mpsc::channel(ITEMS_IN_FLIGHT);
        let selector = steps.pipeline.selector();
        std::thread::Builder::new()
            .name("rolewarden-decode".to_owned())
            .spawn(move || {
                let options = Options::default();
                let select = |source: &str, name: &str| selector.reads_whole(source, name);
                let reader = ChunkReader::new(chunk_rx);
                let read = read_items_selecting(reader, &options, Some(&select), &mut |item| {
                    let _ = items.blocking_send(Decoded::Item(item));
                });
                if let Err(e) = read {
                    let _ = items.blocking_send(Decoded::Failed(format!("cannot read: {e}")));
                }
            })
            .map_err(|e| Unread::Temporary(format!("cannot start the decoder: {e}")))?;
        let pump = async move {
            while let Some(chunk) = next_chunk(&mut stream).await {
                let broke = chunk.as_ref().err().map(ToString::to_string);
                if chunks.send(chunk).await.is_err() || broke.is_some() {
                    return broke;
                }
            }
            None
        };
        let consume = async {
            let mut failed = None;
            while let Some(decoded) = item_rx.recv().await {
                match decoded {
                    Decoded::Item(item) => self.step(steps, item).await,
                    Decoded::Failed(reason) => failed = Some(reason),
                }
            }
            failed
        };
        match futures_util::future::join(pump, consume).await {
            (Some(broke), _) => Err(Unread::Temporary(broke)),
            (None, Some(reason)) => Err(Unread::Content(reason)),
            (None, None) => Ok(()),
        }
    }
}
