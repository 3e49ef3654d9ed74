//! `rolewarden sweep`: live accounts read and judged by the sweep rules: the credentials' own
//! account, or several (`--accounts`, `--organization`) through their reader role.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures_util::stream::{self, StreamExt as _};
use indicatif::{ProgressBar, ProgressStyle};
use rolewarden::aws::blocking::Blocking;
use rolewarden::aws::gather::{regions, SweepOptions, SweepStats};
use rolewarden::aws::organization::{organization_accounts, organizations_client};
use rolewarden::state::{AccountState, Scope};
use rolewarden::{Engine, Finding};

use crate::args::SweepArgs;
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
    let accounts = live.accounts(
        rolewarden::aws::cache::DEFAULT_TTL,
        engine.baseline(),
        args.assume.role(),
    );
    let regions = if args.regions.is_empty() {
        regions(engine.baseline(), accounts.home_region(), [])
    } else {
        args.regions.clone()
    };
    // `None`: the credentials' own account, as the trigger does not name one.
    let targets: Vec<Option<String>> = if args.organization {
        let client = organizations_client(live.config(), live.calls());
        live.block_on(organization_accounts(&client))
            .context("--organization")?
            .into_iter()
            .map(Some)
            .collect()
    } else if args.accounts.is_empty() {
        vec![None]
    } else {
        args.accounts.iter().cloned().map(Some).collect()
    };
    let several = targets.len() > 1;
    let options = |account: Option<String>| SweepOptions {
        scope: Scope::Full,
        regions: regions.clone(),
        deadline: args
            .time_budget
            .map(|s| Instant::now() + Duration::from_secs(s)),
        concurrency: if several {
            rolewarden::aws::gather::DEFAULT_CONCURRENCY
        } else {
            args.concurrency
        },
        account,
    };
    console.err(&format!(
        "rolewarden: sweeping {} (regions: {})",
        match &targets[..] {
            [None] => "the account".to_owned(),
            [Some(one)] => format!("account {one}"),
            many => format!("{} accounts, {} at a time", many.len(), args.concurrency),
        },
        regions.join(", ")
    ));
    let progress = (several && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
        let bar = ProgressBar::new(targets.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} accounts {elapsed} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    });
    let own_account_only = matches!(&targets[..], [None]);
    // In the accounts' order, whichever finishes first.
    let swept: Vec<(AccountState, SweepStats)> = live.block_on(
        stream::iter(targets)
            .map(|account| {
                let options = options(account);
                let accounts = &accounts;
                let engine = &engine;
                let progress = &progress;
                async move {
                    let result = accounts.sweep(engine.baseline(), &options).await;
                    if let Some(bar) = progress {
                        bar.inc(1);
                    }
                    result
                }
            })
            .buffered(if several { args.concurrency } else { 1 })
            .collect(),
    );
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }

    let mut reported: Vec<Finding> = Vec::new();
    let mut observed = rolewarden::lifecycle::Observed::default();
    // A sweep of the credentials' own account that lists no role names no account; the
    // lifecycle needs one to resolve what that sweep no longer reports.
    let home = match &args.state.state {
        Some(_) if own_account_only => live.home_account().ok(),
        _ => None,
    };
    let mut incomplete = 0;
    let mut suppressed = 0;
    let mut lines = Vec::new();
    for (state, stats) in &swept {
        let evaluation = engine.sweep(state, now);
        observed.sweeps.push(rolewarden::lifecycle::SweepRun::new(
            state,
            &evaluation,
            home.as_deref(),
            engine.baseline(),
        ));
        let kept: Vec<Finding> = evaluation
            .findings
            .into_iter()
            .filter(|f| args.report.min_severity.is_none_or(|min| f.severity >= min))
            .collect();
        if stats.gaps > 0 {
            incomplete += 1;
        }
        suppressed += evaluation.suppressed;
        lines.push(account_line(
            state,
            stats,
            kept.len(),
            evaluation.suppressed,
        ));
        reported.extend(kept);
    }
    let worst = reported.iter().map(|f| f.severity).max();
    let table = args.state.state.as_deref().map(|t| live.state_table(t));
    let plan = match &table {
        Some(table) => {
            let plan = crate::state::plan(&live, table, reported, &observed)?;
            reported = plan.written();
            Some(plan)
        }
        None => None,
    };
    output::write_report(console, args.report.format, &reported);
    let mut sink_failed = false;
    if let Some(mut sink) = args.sink.open(&live) {
        for finding in &reported {
            sink.push(&live, finding.clone());
        }
        sink_failed = !output::finish_sink(console, sink, &live);
    }
    if let (Some(table), Some(plan)) = (&table, &plan) {
        sink_failed =
            !output::finish_state(console, &live, table, plan, sink_failed) || sink_failed;
    }
    for line in &lines {
        console.err(line);
    }
    if several {
        console.err(&format!(
            "rolewarden: {} accounts swept, {incomplete} incomplete; {} findings ({suppressed} suppressed by exceptions); API calls: {}; {:.2?}",
            swept.len(),
            reported.len(),
            output::api_calls(&live),
            started.elapsed()
        ));
    } else {
        console.err(&format!(
            "rolewarden: API calls: {}; {:.2?}",
            output::api_calls(&live),
            started.elapsed()
        ));
    }
    Ok(output::exit_code(
        sink_failed,
        incomplete > 0,
        worst,
        args.report.fail_on,
    ))
}

/// One account's summary line.
fn account_line(
    state: &AccountState,
    stats: &SweepStats,
    findings: usize,
    suppressed: usize,
) -> String {
    let account = state
        .account
        .clone()
        .or_else(|| state.account_from_roles())
        .unwrap_or_else(|| "(own account)".to_owned());
    let mut line = format!(
        "rolewarden: sweep {account}: {} roles in {} ListRoles pages, {} candidates, {} service-linked roles, {} listings, {} gaps; {findings} findings ({suppressed} suppressed by exceptions); {:.2?}",
        stats.roles_listed,
        stats.list_pages,
        stats.candidates,
        stats.service_linked_roles,
        stats.listings,
        stats.gaps,
        Duration::from_millis(stats.elapsed_ms),
    );
    if let [gap] = &state.gaps[..] {
        if stats.roles_listed == 0 && gap.what == "iam:ListRoles" {
            line.push_str(&format!(" (not read: {})", gap.reason));
        }
    }
    line
}
