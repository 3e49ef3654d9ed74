//! `rolewarden evaluate s3://BUCKET/PREFIX/`: a CloudTrail bucket as one more input of the one
//! pipeline. Each object's body is streamed into [`evaluate_reader`] as a local file is; several
//! objects are read at once, each by a worker with its own clone of the run's pipeline, and
//! their findings are handed on in key order, so the output does not depend on which finished
//! first. An object that cannot be read (AccessDenied, a corrupt gzip) is an RW000 naming its
//! key, and the run goes on.

use std::collections::BTreeMap;
use std::io::{self, IsTerminal, Read};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use chrono::NaiveDate;
use rolewarden::account::{Needs, Snapshot};
use rolewarden::aws::blocking::Blocking;
use rolewarden::aws::s3::{next_chunk, Body, Location, Object, Selection, TrailReader};
use rolewarden::pipeline::{evaluate_reader, report_unreadable, unopened_input, Output, Pipeline};

use crate::args::TrailArgs;
use crate::console::Console;
use crate::output::Unread;

pub fn selection(args: &TrailArgs) -> Selection {
    Selection {
        accounts: args.accounts.iter().cloned().collect(),
        regions: args.regions.iter().cloned().collect(),
        since: args.since,
        until: args.until,
    }
}

pub struct Trail<'l> {
    pub live: &'l Blocking,
    pub selection: Selection,
    pub concurrency: usize,
    pub today: NaiveDate,
}

impl Trail<'_> {
    /// Evaluates every selected object of `urls` through clones of `pipeline` (whose counts
    /// it gets back), handing outputs to `emit` in key order.
    pub fn evaluate(
        &self,
        urls: &[String],
        pipeline: &mut Pipeline<'_>,
        fetch: &(dyn Fn(&Needs) -> Snapshot + Sync),
        emit: &mut dyn FnMut(Output, &mut Console),
        console: &mut Console,
        unread: &mut Unread,
    ) {
        let reader = TrailReader::new(self.live.config(), self.live.calls());
        for url in urls {
            let Some(location) = Location::parse(url) else {
                console.err(&format!(
                    "rolewarden: {url}: not an s3://BUCKET/PREFIX location"
                ));
                unread.failures += 1;
                continue;
            };
            let started = Instant::now();
            let objects =
                match self
                    .live
                    .block_on(reader.objects(&location, &self.selection, self.today))
                {
                    Ok(objects) => objects,
                    Err(e) => {
                        console.err(&format!("rolewarden: {url}: cannot list: {e}"));
                        unread.failures += 1;
                        continue;
                    }
                };
            let bytes = AtomicU64::new(0);
            self.objects(
                &reader,
                &location,
                &objects,
                pipeline,
                fetch,
                &bytes,
                &mut |o| emit(o, console),
            );
            let bytes = bytes.into_inner();
            let secs = started.elapsed().as_secs_f64();
            console.err(&format!(
                "rolewarden: {url}: {} objects, {bytes} bytes read in {secs:.2} s ({:.1} MB/s)",
                objects.len(),
                bytes as f64 / 1e6 / secs.max(1e-9),
            ));
        }
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "one location's run: its parts are the caller's"
    )]
    fn objects(
        &self,
        reader: &TrailReader,
        location: &Location,
        objects: &[Object],
        pipeline: &mut Pipeline<'_>,
        fetch: &(dyn Fn(&Needs) -> Snapshot + Sync),
        bytes: &AtomicU64,
        emit: &mut dyn FnMut(Output),
    ) {
        let progress = progress_bar(objects);
        let next = AtomicUsize::new(0);
        let template = pipeline.clone();
        let (sent, received) = mpsc::channel::<(usize, Vec<Output>)>();
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..self.concurrency.clamp(1, objects.len().max(1)))
                .map(|_| {
                    let sent = sent.clone();
                    let mut worker = template.clone();
                    worker.summary = Default::default();
                    let progress = progress.as_ref();
                    let next = &next;
                    scope.spawn(move || {
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some(object) = objects.get(i) else {
                                break;
                            };
                            let outputs = self.object(
                                reader,
                                &location.bucket,
                                object,
                                &mut worker,
                                fetch,
                                bytes,
                                progress,
                            );
                            if sent.send((i, outputs)).is_err() {
                                break;
                            }
                        }
                        worker.summary
                    })
                })
                .collect();
            drop(sent);
            // Outputs in key order: an object's wait until those before it are out.
            let mut waiting = BTreeMap::new();
            let mut due = 0;
            for (i, outputs) in received {
                waiting.insert(i, outputs);
                while let Some(outputs) = waiting.remove(&due) {
                    outputs.into_iter().for_each(&mut *emit);
                    due += 1;
                    if let Some(bar) = &progress {
                        bar.set_message(format!("{due}/{} objects", objects.len()));
                    }
                }
            }
            for worker in workers {
                if let Ok(summary) = worker.join() {
                    pipeline.summary.add(&summary);
                }
            }
        });
        if let Some(bar) = progress {
            bar.finish_and_clear();
        }
    }

    /// One object through the pipeline; its outputs, in order.
    #[allow(
        clippy::too_many_arguments,
        reason = "one object's run: its parts are the caller's"
    )]
    fn object(
        &self,
        reader: &TrailReader,
        bucket: &str,
        object: &Object,
        pipeline: &mut Pipeline<'_>,
        fetch: &(dyn Fn(&Needs) -> Snapshot + Sync),
        bytes: &AtomicU64,
        progress: Option<&indicatif::ProgressBar>,
    ) -> Vec<Output> {
        let origin = format!("s3://{bucket}/{}", object.key);
        let mut outputs = Vec::new();
        let mut emit = |o| outputs.push(o);
        match self.live.block_on(reader.open(bucket, &object.key)) {
            Ok(stream) => {
                let body = Counted {
                    inner: Body::new(stream, |s| self.live.block_on(next_chunk(s))),
                    bytes,
                    progress,
                };
                let read = evaluate_reader(
                    pipeline,
                    body,
                    &origin,
                    &mut |needs| fetch(needs),
                    &mut emit,
                );
                if let Err(e) = read {
                    let reason = format!("cannot read the object: {e}");
                    report_unreadable(pipeline, &origin, reason, &mut emit);
                }
            }
            Err(e) => unopened_input(pipeline, &origin, e.to_string(), &mut emit),
        }
        outputs
    }
}

/// A body that counts its bytes (the run's MB/s) and moves the progress bar.
struct Counted<'a, R> {
    inner: R,
    bytes: &'a AtomicU64,
    progress: Option<&'a indicatif::ProgressBar>,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        if let Some(bar) = self.progress {
            bar.inc(n as u64);
        }
        Ok(n)
    }
}

/// Objects and bytes, on a terminal.
fn progress_bar(objects: &[Object]) -> Option<indicatif::ProgressBar> {
    io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(objects.iter().map(|o| o.size).sum());
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_message(format!("0/{} objects", objects.len()));
        bar
    })
}
