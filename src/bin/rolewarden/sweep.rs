//! `rolewarden sweep`: the live account read and judged by the sweep rules.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use rolewarden::aws::blocking::Blocking;
use rolewarden::aws::gather::{regions, SweepOptions, Sweeper};
use rolewarden::state::Scope;
use rolewarden::{Engine, Finding};

use crate::args::{SinkArg, SweepArgs};
use crate::console::Console;
use crate::output;

pub fn run(args: SweepArgs, console: &mut Console) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let now = match args.report.as_of {
        Some(day) => day.and_time(chrono::NaiveTime::MIN).and_utc(),
        None => chrono::Utc::now(),
    };
    let baseline =
        crate::load_baseline(args.report.baseline.as_deref(), now.date_naive(), console)?;
    let engine = Engine::new(baseline).with_today(now.date_naive());
    let live = Blocking::new().context("cannot start the AWS client runtime")?;
    let sweeper = Sweeper::new(live.config(), live.calls());
    let regions = if args.regions.is_empty() {
        regions(engine.baseline(), sweeper.home_region(), [])
    } else {
        args.regions.clone()
    };
    let options = SweepOptions {
        scope: Scope::Full,
        regions: regions.clone(),
        deadline: args
            .time_budget
            .map(|s| Instant::now() + Duration::from_secs(s)),
        concurrency: args.concurrency,
        account: None,
    };
    console.err(&format!(
        "rolewarden: sweeping the account (regions: {})",
        regions.join(", ")
    ));
    let (state, stats) = live.block_on(sweeper.gather(engine.baseline(), &options));
    let evaluation = engine.sweep(&state, now);
    let worst = evaluation.findings.iter().map(|f| f.severity).max();
    let reported: Vec<Finding> = evaluation
        .findings
        .into_iter()
        .filter(|f| args.report.min_severity.is_none_or(|min| f.severity >= min))
        .collect();
    output::write_report(console, args.report.format, &reported);
    let mut sink_failed = false;
    if let Some(SinkArg::Cloudwatch) = args.sink.sink {
        let mut sink = live.cloudwatch(&args.sink.log_group);
        for finding in &reported {
            sink.push(&live, finding.clone());
        }
        sink_failed = !output::finish_sink(console, sink, &live);
    }
    console.err(&format!(
        "rolewarden: sweep: {} roles in {} ListRoles pages, {} candidates, {} service-linked roles, {} listings, {} gaps; {} findings ({} suppressed by exceptions); API calls: {}; {:.2?}",
        stats.roles_listed,
        stats.list_pages,
        stats.candidates,
        stats.service_linked_roles,
        stats.listings,
        stats.gaps,
        reported.len(),
        evaluation.suppressed,
        output::api_calls(&live),
        started.elapsed()
    ));
    Ok(output::exit_code(
        sink_failed,
        stats.gaps > 0,
        worst,
        args.report.fail_on,
    ))
}
