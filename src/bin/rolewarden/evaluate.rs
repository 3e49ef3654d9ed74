//! `rolewarden evaluate`: files, folders and standard input through the evaluation pipeline,
//! optionally enriched from the live account and written to a sink.

use std::fs::File;
use std::io::{self, IsTerminal, Read};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use rolewarden::account::{Needs, Snapshot};
use rolewarden::aws::blocking::{Blocking, BufferedWriter};
use rolewarden::pipeline::{evaluate_reader, Output, Pipeline};
use rolewarden::{report, Engine, Finding, Severity};

use crate::args::{EvaluateArgs, Format};
use crate::console::Console;
use crate::output::{self, Unread};

/// Inputs larger than this in total get a progress bar (on a terminal).
const PROGRESS_BYTES: u64 = 32 * 1024 * 1024;

pub fn run(args: EvaluateArgs, console: &mut Console) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let today = args
        .report
        .as_of
        .unwrap_or_else(|| chrono::Utc::now().date_naive());
    let engine = Engine::new(crate::load_baseline(
        args.report.baseline.as_deref(),
        today,
        console,
    )?)
    .with_today(today);

    let (inputs, skipped, notes) = crate::inputs::expand(&args.paths)?;
    for note in &notes {
        console.err(&format!("rolewarden: {note}"));
    }
    let progress = progress_bar(&inputs);

    // --assume-role is only about enrichment: it turns it on.
    let enrich = args.enrich || args.assume.assume_role.is_some();
    let live = if enrich || !args.sink.sink.is_empty() || args.state.state.is_some() {
        Some(Blocking::new().context("cannot start the AWS client runtime")?)
    } else {
        None
    };
    let reader = match (&live, enrich) {
        (Some(live), true) => Some(live.accounts(
            rolewarden::aws::cache::DEFAULT_TTL,
            engine.baseline(),
            args.assume.role(),
        )),
        _ => None,
    };
    let mut pipeline = Pipeline::new(&engine).decoding(rolewarden::decode::Options {
        max_record_bytes: args.max_record_bytes,
        ..Default::default()
    });
    // With state, findings are held until the end: their status needs the table first.
    let table = match (&live, &args.state.state) {
        (Some(live), Some(table)) => {
            pipeline = pipeline.tracking();
            Some(live.state_table(table))
        }
        _ => None,
    };
    if let (Some(live), Some(accounts)) = (&live, &reader) {
        // Enrichment reads the credentials' own account; an event from another account (an
        // organization trail) is judged from the event alone rather than against look-alike
        // names, unless a reader role lets it be read from its own account.
        let home = match live.home_account() {
            Ok(account) => Some(account),
            Err(e) => {
                console.err(&format!("rolewarden: warning: cannot tell which account --enrich reads ({e}); events from every account are enriched from it"));
                None
            }
        };
        if let Some(home) = &home {
            accounts.set_home(home);
        }
        pipeline = pipeline.enriching(if accounts.role().is_some() {
            None
        } else {
            home
        });
    }
    let mut fetch = |needs: &Needs| match (&live, &reader) {
        (Some(live), Some(reader)) => live.block_on(reader.snapshot(needs, engine.baseline())),
        _ => Snapshot::default(),
    };
    // `evaluate s3://...` needs the AWS side even without --enrich or --sink.
    let mut trail_live: Option<Blocking> = None;
    let mut sink = live.as_ref().and_then(|live| args.sink.open(live));

    let mut out = Report {
        format: args.report.format,
        min_severity: args.report.min_severity,
        worst: None,
        kept: Vec::new(),
        held: table.as_ref().map(|_| Vec::new()),
        sink: sink.as_mut(),
        live: live.as_ref(),
    };
    let mut unread = Unread {
        skipped,
        noted: notes.len(),
        ..Unread::default()
    };
    let (trails, inputs): (Vec<_>, Vec<_>) = inputs.into_iter().partition(|input| {
        input
            .as_deref()
            .and_then(|p| p.to_str())
            .is_some_and(|p| p.starts_with("s3://"))
    });
    for input in &inputs {
        if console.is_broken() {
            break;
        }
        let origin = input
            .as_deref()
            .map_or_else(|| "<stdin>".to_owned(), |p| p.display().to_string());
        let reader: Box<dyn Read> = match input {
            None => Box::new(io::stdin().lock()),
            Some(path) => match File::open(path) {
                Ok(f) => match &progress {
                    Some(bar) => Box::new(bar.wrap_read(f)),
                    None => Box::new(f),
                },
                Err(e) => {
                    console.err(&format!("rolewarden: {origin}: cannot open: {e}"));
                    unread.failures += 1;
                    continue;
                }
            },
        };
        if let Some(bar) = &progress {
            bar.set_message(origin.clone());
        }
        let mut emit = |output: Output| out.output(output, console, progress.as_ref());
        if let Err(e) = evaluate_reader(&mut pipeline, reader, &origin, &mut fetch, &mut emit) {
            console.err(&format!("rolewarden: {origin}: read error: {e}"));
            unread.failures += 1;
        }
    }
    if !trails.is_empty() {
        let live = match &live {
            Some(live) => live,
            None => {
                trail_live.insert(Blocking::new().context("cannot start the AWS client runtime")?)
            }
        };
        let urls: Vec<String> = trails
            .iter()
            .filter_map(|p| p.as_deref().map(|p| p.display().to_string()))
            .collect();
        let fetch = |needs: &Needs| match &reader {
            Some(reader) => live.block_on(reader.snapshot(needs, engine.baseline())),
            None => Snapshot::default(),
        };
        let trail = crate::trail::Trail {
            live,
            selection: crate::trail::selection(&args.trail),
            concurrency: args.trail.concurrency,
            today: chrono::Utc::now().date_naive(),
        };
        trail.evaluate(
            &urls,
            &mut pipeline,
            &fetch,
            &mut |output, console| out.output(output, console, None),
            console,
            &mut unread,
        );
    }
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    let plan = match (&live, &table, out.held.take()) {
        (Some(live), Some(table), Some(held)) => {
            let plan = crate::state::plan(live, table, held, &pipeline.take_observed())?;
            for finding in plan.written() {
                out.write(finding, console);
            }
            Some(plan)
        }
        _ => None,
    };
    let Report { worst, kept, .. } = out;
    if let Format::Text = args.report.format {
        console.out(&report::render_text(&kept));
    }
    let live = live.or(trail_live);
    let mut sink_failed = match (sink, &live) {
        (Some(sink), Some(live)) => !output::finish_sink(console, sink, live),
        _ => false,
    };
    if let (Some(live), Some(table), Some(plan)) = (&live, &table, &plan) {
        let stored = output::finish_state(console, live, table, plan, sink_failed);
        sink_failed = sink_failed || !stored;
    }
    if let Some(live) = &live {
        console.err(&format!(
            "rolewarden: AWS API calls: {}",
            output::api_calls(live)
        ));
    }
    console.err(&output::summary_line(
        &pipeline.summary,
        &unread,
        started.elapsed(),
    ));
    Ok(output::exit_code(
        sink_failed,
        pipeline.summary.unreadable > 0 || unread.failures > 0,
        worst,
        args.report.fail_on,
    ))
}

/// Where findings go: the report or JSON Lines on standard output, and the sink.
struct Report<'a> {
    format: Format,
    min_severity: Option<Severity>,
    worst: Option<Severity>,
    kept: Vec<Finding>,
    /// With finding state: what is reported, held until the table gives each its status.
    held: Option<Vec<Finding>>,
    sink: Option<&'a mut BufferedWriter>,
    live: Option<&'a Blocking>,
}

impl Report<'_> {
    fn output(
        &mut self,
        output: Output,
        console: &mut Console,
        progress: Option<&indicatif::ProgressBar>,
    ) {
        match output {
            Output::Unreadable {
                origin,
                position,
                reason,
            } => {
                let line = format!("rolewarden: {origin}: {position}: unreadable: {reason}");
                match progress {
                    Some(bar) => bar.println(line),
                    None => console.err(&line),
                }
            }
            Output::Finding(finding) => {
                self.worst = self.worst.max(Some(finding.severity));
                if self.min_severity.is_some_and(|min| finding.severity < min) {
                    return;
                }
                match &mut self.held {
                    Some(held) => held.push(*finding),
                    None => self.write(*finding, console),
                }
            }
        }
    }

    /// A reported finding to the sink and standard output.
    fn write(&mut self, finding: Finding, console: &mut Console) {
        if let (Some(sink), Some(live)) = (&mut self.sink, self.live) {
            sink.push(live, finding.clone());
        }
        match self.format {
            Format::Json | Format::Ocsf => output::write_line(console, self.format, &finding),
            Format::Text => self.kept.push(finding),
        }
    }
}

/// A progress bar of bytes read, on a terminal, for large inputs.
fn progress_bar(inputs: &[Option<std::path::PathBuf>]) -> Option<indicatif::ProgressBar> {
    let total_bytes: u64 = inputs
        .iter()
        .filter_map(|p| p.as_deref())
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    (io::stderr().is_terminal() && total_bytes > PROGRESS_BYTES).then(|| {
        let bar = indicatif::ProgressBar::new(total_bytes);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    })
}
