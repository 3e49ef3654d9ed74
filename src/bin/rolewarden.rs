//! The rolewarden command line: argument parsing and output only; the work is in the library.

use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context as _};
use clap::{Parser, Subcommand, ValueEnum};
use rolewarden::account::NoAccountView;
use rolewarden::aws::blocking::Blocking;
use rolewarden::run::{evaluate_reader_with, Accounts, Output, Summary};
use rolewarden::{report, rules, Baseline, Engine, Finding, Severity};

/// Evaluates CloudTrail events about IAM, Amazon Lex and Amazon Connect against a baseline:
/// unapproved iam:PassRole, edited service-linked roles, risky trust policies.
#[derive(Parser)]
#[command(name = "rolewarden", version, about, long_about = None)]
#[command(
    after_help = "Examples:\n  rolewarden evaluate events/\n  rolewarden evaluate --format json --min-severity high trail/*.json.gz\n  aws cloudtrail lookup-events --output json | jq -c '.Events[].CloudTrailEvent | fromjson' | rolewarden evaluate -\n  rolewarden evaluate --enrich --sink cloudwatch --log-group /rolewarden/findings trail/\n  rolewarden sweep --regions us-east-1,eu-west-2 --fail-on high\n  rolewarden check-policy policy.json trust-policy.json\n  rolewarden explain PR001"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate event files, folders (recursively) or standard input (`-`).
    ///
    /// Accepts EventBridge events, raw CloudTrail records, CloudTrail log files
    /// ({"Records": [...]}, plain or .json.gz) and JSON Lines of any of them. Unreadable input
    /// is reported with its file and line, the rest is still evaluated, and the exit status
    /// is 2 at the end.
    Evaluate(EvaluateArgs),
    /// Sweep the live account for orphaned roles and drifted service-linked roles.
    ///
    /// Lists every role (ListRoles carries the trust policies), reads RoleLastUsed for roles
    /// that trust Lex or Connect (GetRole), the policies of their service-linked roles, and
    /// the bots and instances in each region; then runs OR001, OR002, OR004, SL008 and CN001.
    /// What cannot be read is reported (RW002), never skipped silently. Uses the default AWS
    /// credential chain; needs iam:ListRoles, iam:GetRole, iam:ListRolePolicies,
    /// iam:ListAttachedRolePolicies, lex:ListBots, lex:GetBots, connect:ListInstances.
    Sweep(SweepArgs),
    /// List the rule catalogue.
    Rules {
        /// Print a Markdown table (as in the README).
        #[arg(long)]
        markdown: bool,
    },
    /// Print a rule's documentation: what it detects, why it matters, an example, the fix.
    Explain {
        /// Rule id, e.g. PR001.
        id: String,
    },
    /// Check IAM policy documents (JSON files) with the same rules as the events that write them.
    ///
    /// A document with a `Principal` is a trust policy (judged as CreateRole: TR001, TR002);
    /// any other is a permissions policy (judged as CreatePolicy: PR001-PR003, LX001). Plain,
    /// pretty or URL-encoded JSON. Exit status 1 when a finding reaches --fail-on, 2 when a
    /// file is not a policy document.
    CheckPolicy(CheckPolicyArgs),
    /// Print the EventBridge event patterns that route every event the rules consume.
    ///
    /// One pattern per source (aws.iam, aws.lex, aws.connect), generated from the rule
    /// catalogue and the baseline's profiles. Failed calls match too: a refused attempt is
    /// evidence. template.yaml and forwarder.yaml embed this output; a test keeps them equal.
    EventPattern {
        /// Print only the pattern for this EventBridge source, e.g. `aws.iam`.
        #[arg(long, value_name = "SOURCE")]
        source: Option<String>,
        /// Baseline file (TOML): disabled rules and extra profiles change the patterns.
        #[arg(long, value_name = "FILE")]
        baseline: Option<PathBuf>,
    },
    /// Show or check a baseline.
    Baseline {
        #[command(subcommand)]
        command: BaselineCommand,
    },
}

#[derive(Subcommand)]
enum BaselineCommand {
    /// Print the embedded default baseline (a starting point for your own).
    Show,
    /// Validate a baseline file: every error and warning, with line numbers.
    Check {
        /// The TOML file to check.
        file: PathBuf,
    },
}

#[derive(clap::Args)]
struct EvaluateArgs {
    /// Files, folders or `-` for standard input. Folders are read recursively for .json,
    /// .jsonl, .ndjson and .gz files.
    #[arg(default_value = "-")]
    paths: Vec<PathBuf>,
    /// Output format: a readable report grouped by severity, or JSON Lines (one finding per line).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Baseline file (TOML). Default: the embedded baseline (`rolewarden baseline show`).
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Print only findings at or above this severity.
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    min_severity: Option<Severity>,
    /// Exit with status 1 when a finding reaches this severity.
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    fail_on: Option<Severity>,
    /// Judge exception expiry as of this date (YYYY-MM-DD) instead of today.
    #[arg(long, value_name = "DATE")]
    as_of: Option<chrono::NaiveDate>,
    /// Read passed roles and attached policies from the live account (PR004 for customer
    /// managed policies, PR006; SL005 lists bots and instances), with the default AWS
    /// credential chain. Only events of that account are enriched. Needs iam:GetRole,
    /// iam:ListRolePolicies, iam:GetRolePolicy, iam:ListAttachedRolePolicies, iam:GetPolicy,
    /// iam:GetPolicyVersion, lex:ListBots, lex:GetBots, connect:ListInstances.
    #[arg(long)]
    enrich: bool,
    /// Also write each reported finding to this sink: `cloudwatch` puts one log event per
    /// finding into --log-group (created when missing), as the Lambda does.
    #[arg(long, value_enum, value_name = "SINK")]
    sink: Option<SinkArg>,
    /// The log group for --sink cloudwatch.
    #[arg(long, value_name = "NAME", env = "FINDINGS_LOG_GROUP", default_value = rolewarden::aws::logs::DEFAULT_LOG_GROUP)]
    log_group: String,
    /// A record (or JSON Lines line) larger than this many bytes is reported unreadable
    /// (RW000) without being held in memory; peak memory follows this limit.
    #[arg(long, value_name = "BYTES", default_value_t = rolewarden::decode::stream::DEFAULT_MAX_RECORD_BYTES)]
    max_record_bytes: u64,
}

#[derive(Clone, Copy, ValueEnum)]
enum SinkArg {
    Cloudwatch,
}

#[derive(clap::Args)]
struct SweepArgs {
    /// Regions to list Lex bots and Connect instances in (comma-separated). Default: the
    /// baseline's `regions`, else the SDK's region (AWS_REGION, the profile).
    #[arg(long, value_delimiter = ',', value_name = "REGION,...")]
    regions: Vec<String>,
    /// Output format: a readable report, or JSON Lines (one finding per line).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Baseline file (TOML). Default: the embedded baseline.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Print only findings at or above this severity.
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    min_severity: Option<Severity>,
    /// Exit with status 1 when a finding reaches this severity.
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    fail_on: Option<Severity>,
    /// Stop starting new calls after this many seconds and report how far the sweep got.
    #[arg(long, value_name = "SECONDS")]
    time_budget: Option<u64>,
    /// API calls in flight at once.
    #[arg(long, value_name = "N", default_value_t = rolewarden::aws::sweep::DEFAULT_CONCURRENCY)]
    concurrency: usize,
    /// Judge role ages and exception expiry as of this date (YYYY-MM-DD, midnight UTC).
    #[arg(long, value_name = "DATE")]
    as_of: Option<chrono::NaiveDate>,
    /// Also write each reported finding to this sink (see `evaluate --sink`).
    #[arg(long, value_enum, value_name = "SINK")]
    sink: Option<SinkArg>,
    /// The log group for --sink cloudwatch.
    #[arg(long, value_name = "NAME", env = "FINDINGS_LOG_GROUP", default_value = rolewarden::aws::logs::DEFAULT_LOG_GROUP)]
    log_group: String,
}

#[derive(clap::Args)]
struct CheckPolicyArgs {
    /// Policy documents, one per file.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Output format: a readable report, or JSON Lines (one finding per line).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Baseline file (TOML). Default: the embedded baseline.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Exit with status 1 when a finding reaches this severity (default: anything above info).
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity, default_value = "low")]
    fail_on: Severity,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse::<Severity>().map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rolewarden: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Evaluate(args) => evaluate(args),
        Command::Rules { markdown } => {
            print!(
                "{}",
                if markdown {
                    report::rules_markdown()
                } else {
                    report::rules_text()
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain { id } => {
            let Some(rule) = rules::by_id(&id) else {
                bail!("unknown rule `{id}` (see `rolewarden rules`)");
            };
            let m = rule.meta();
            println!(
                "{} {} (default severity: {})\n\n{}",
                m.id,
                m.name,
                m.severity,
                m.doc_text()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::CheckPolicy(args) => check_policy(args),
        Command::Sweep(args) => sweep(args),
        Command::EventPattern { source, baseline } => {
            let baseline = load_baseline(baseline.as_deref(), chrono::Utc::now().date_naive())?;
            let patterns = rolewarden::pattern::event_patterns(&Engine::new(baseline));
            let output = match source {
                None => serde_json::to_string_pretty(&patterns)?,
                Some(source) => match patterns.get(&source) {
                    Some(pattern) => serde_json::to_string_pretty(pattern)?,
                    None => bail!(
                        "no rule consumes events from `{source}` (sources: {})",
                        patterns.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                },
            };
            println!("{output}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Baseline {
            command: BaselineCommand::Show,
        } => {
            print!("{}", rolewarden::baseline::DEFAULT_TOML);
            Ok(ExitCode::SUCCESS)
        }
        Command::Baseline {
            command: BaselineCommand::Check { file },
        } => {
            let baseline = load_baseline(Some(&file), chrono::Utc::now().date_naive())?;
            for warning in &baseline.warnings {
                eprintln!("{}: {warning}", file.display());
            }
            println!(
                "{}: ok ({} profiles, {} approved passes, {} exceptions, {} warnings)",
                file.display(),
                baseline.profiles.len(),
                baseline.approved_passes.len(),
                baseline.exceptions.len(),
                baseline.warnings.len()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn load_baseline(path: Option<&Path>, today: chrono::NaiveDate) -> anyhow::Result<Baseline> {
    match path {
        None => Ok(Baseline::parse(
            rolewarden::baseline::DEFAULT_TOML,
            "embedded default",
            today,
        )?),
        Some(path) => {
            let bytes = std::fs::read(path)
                .with_context(|| format!("cannot read baseline `{}`", path.display()))?;
            Ok(Baseline::parse_bytes(
                &bytes,
                &path.display().to_string(),
                today,
            )?)
        }
    }
}

fn evaluate(args: EvaluateArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let today = args
        .as_of
        .unwrap_or_else(|| chrono::Utc::now().date_naive());
    let baseline = load_baseline(args.baseline.as_deref(), today)?;
    for warning in &baseline.warnings {
        eprintln!("rolewarden: baseline {}: {warning}", baseline.source_name);
    }
    let engine = Engine::new(baseline).with_today(today);

    let (inputs, skipped, notes) = expand(&args.paths)?;
    for note in &notes {
        eprintln!("rolewarden: {note}");
    }
    let decoding = rolewarden::decode::Options {
        max_record_bytes: args.max_record_bytes,
        ..Default::default()
    };
    let total_bytes: u64 = inputs
        .iter()
        .filter_map(|p| p.as_deref())
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let progress = (io::stderr().is_terminal() && total_bytes > 32 * 1024 * 1024).then(|| {
        let bar = indicatif::ProgressBar::new(total_bytes);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });

    let live = if args.enrich || args.sink.is_some() {
        Some(Blocking::new().context("cannot start the AWS client runtime")?)
    } else {
        None
    };
    let iam = match (&live, args.enrich) {
        (Some(live), true) => {
            Some(live.reader(rolewarden::aws::cache::DEFAULT_TTL, engine.baseline()))
        }
        _ => None,
    };
    // Enrichment reads the credentials' own account; an event from another account (an
    // organization trail) is judged from the event alone rather than against look-alike names.
    let home = match (&live, &iam) {
        (Some(live), Some(_)) => match live.home_account() {
            Ok(account) => Some(account),
            Err(e) => {
                eprintln!("rolewarden: warning: cannot tell which account --enrich reads ({e}); events from every account are enriched from it");
                None
            }
        },
        _ => None,
    };
    let mut fetch = |needs: &rolewarden::account::Needs| match (&live, &iam) {
        (Some(live), Some(iam)) => match (&home, &needs.account) {
            (Some(home), Some(other)) if home != other => {
                rolewarden::account::Snapshot::unavailable(format!(
                    "the event is from account {other}; --enrich reads account {home} only"
                ))
            }
            _ => live.block_on(iam.snapshot(needs, engine.baseline())),
        },
        _ => rolewarden::account::Snapshot::default(),
    };
    let mut accounts = if iam.is_some() {
        Accounts::Fetch(&mut fetch)
    } else {
        Accounts::Fixed(&NoAccountView)
    };
    let mut sink = match (&live, args.sink) {
        (Some(live), Some(SinkArg::Cloudwatch)) => Some(live.cloudwatch(&args.log_group)),
        _ => None,
    };

    let mut summary = Summary::default();
    let mut kept: Vec<Finding> = Vec::new();
    let mut worst: Option<Severity> = None;
    let mut write_error: Option<io::Error> = None;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut input_failures = 0usize;

    for input in &inputs {
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
                    eprintln!("rolewarden: {origin}: cannot open: {e}");
                    input_failures += 1;
                    continue;
                }
            },
        };
        if let Some(bar) = &progress {
            bar.set_message(origin.clone());
        }
        let mut emit = |output: Output| match output {
            Output::Unreadable {
                origin,
                position,
                reason,
            } => {
                let line = format!("rolewarden: {origin}: {position}: unreadable: {reason}");
                match &progress {
                    Some(bar) => bar.println(line),
                    None => eprintln!("{line}"),
                }
            }
            Output::Finding(finding) => {
                worst = worst.max(Some(finding.severity));
                if args.min_severity.is_some_and(|min| finding.severity < min) {
                    return;
                }
                if let (Some(sink), Some(live)) = (&mut sink, &live) {
                    sink.push(live, (*finding).clone());
                }
                match args.format {
                    Format::Json => {
                        let written = serde_json::to_writer(&mut out, &finding)
                            .map_err(io::Error::from)
                            .and_then(|()| out.write_all(b"\n"));
                        if let Err(e) = written {
                            write_error.get_or_insert(e);
                        }
                    }
                    Format::Text => kept.push(*finding),
                }
            }
        };
        if let Err(e) = evaluate_reader_with(
            &engine,
            reader,
            &origin,
            &decoding,
            &mut accounts,
            &mut summary,
            &mut emit,
        ) {
            eprintln!("rolewarden: {origin}: read error: {e}");
            input_failures += 1;
        }
    }
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    if let Format::Text = args.format {
        if let Err(e) = out.write_all(report::render_text(&kept).as_bytes()) {
            write_error.get_or_insert(e);
        }
    }
    if let Err(e) = out.flush() {
        write_error.get_or_insert(e);
    }
    if let Some(e) = write_error {
        bail!("cannot write findings: {e}");
    }
    let sink_failed = match (sink, &live) {
        (Some(sink), Some(live)) => !finish_sink(sink, live),
        _ => false,
    };
    if let Some(live) = &live {
        eprintln!("rolewarden: AWS API calls: {}", api_calls(live));
    }

    eprintln!(
        "{}",
        summary_line(
            &summary,
            skipped,
            notes.len(),
            input_failures,
            started.elapsed()
        )
    );
    Ok(exit_code(
        sink_failed,
        summary.unreadable > 0 || input_failures > 0,
        worst,
        args.fail_on,
    ))
}

fn sweep(args: SweepArgs) -> anyhow::Result<ExitCode> {
    use rolewarden::aws::sweep::{regions, SweepOptions, Sweeper};
    let started = Instant::now();
    let now = match args.as_of {
        Some(day) => day.and_time(chrono::NaiveTime::MIN).and_utc(),
        None => chrono::Utc::now(),
    };
    let baseline = load_baseline(args.baseline.as_deref(), now.date_naive())?;
    for warning in &baseline.warnings {
        eprintln!("rolewarden: baseline {}: {warning}", baseline.source_name);
    }
    let engine = Engine::new(baseline).with_today(now.date_naive());
    let live = Blocking::new().context("cannot start the AWS client runtime")?;
    let sweeper = Sweeper::new(live.config(), live.calls());
    let regions = if args.regions.is_empty() {
        regions(engine.baseline(), sweeper.home_region(), [])
    } else {
        args.regions.clone()
    };
    let options = SweepOptions {
        scope: rolewarden::sweep::Scope::Full,
        regions: regions.clone(),
        deadline: args
            .time_budget
            .map(|s| Instant::now() + std::time::Duration::from_secs(s)),
        concurrency: args.concurrency,
        account: None,
    };
    eprintln!(
        "rolewarden: sweeping the account (regions: {})",
        regions.join(", ")
    );
    let (state, stats) = live.block_on(sweeper.gather(engine.baseline(), &options));
    let evaluation = engine.sweep(&state, now);
    let worst = evaluation.findings.iter().map(|f| f.severity).max();
    let reported: Vec<Finding> = evaluation
        .findings
        .into_iter()
        .filter(|f| args.min_severity.is_none_or(|min| f.severity >= min))
        .collect();
    write_report(args.format, &reported)?;
    let mut sink_failed = false;
    if let Some(SinkArg::Cloudwatch) = args.sink {
        let mut sink = live.cloudwatch(&args.log_group);
        for finding in &reported {
            sink.push(&live, finding.clone());
        }
        sink_failed = !finish_sink(sink, &live);
    }
    eprintln!(
        "rolewarden: sweep: {} roles in {} ListRoles pages, {} candidates, {} service-linked roles, {} listings, {} gaps; {} findings ({} suppressed by exceptions); API calls: {}; {:.2?}",
        stats.roles_listed,
        stats.list_pages,
        stats.candidates,
        stats.service_linked_roles,
        stats.listings,
        stats.gaps,
        reported.len(),
        evaluation.suppressed,
        api_calls(&live),
        started.elapsed()
    );
    Ok(exit_code(sink_failed, stats.gaps > 0, worst, args.fail_on))
}

fn check_policy(args: CheckPolicyArgs) -> anyhow::Result<ExitCode> {
    let today = chrono::Utc::now().date_naive();
    let engine = Engine::new(load_baseline(args.baseline.as_deref(), today)?).with_today(today);
    let mut findings: Vec<Finding> = Vec::new();
    let mut unreadable = 0usize;
    for file in &args.files {
        let name = file.file_stem().map_or_else(
            || file.display().to_string(),
            |s| s.to_string_lossy().into_owned(),
        );
        let checked = std::fs::read_to_string(file)
            .map_err(|e| e.to_string())
            .and_then(|text| {
                rolewarden::check::check_policy(&engine, &text, &name).map_err(|e| e.to_string())
            });
        match checked {
            Ok((kind, found)) => {
                eprintln!(
                    "{}: {}: {} findings",
                    file.display(),
                    kind.as_str(),
                    found.len()
                );
                findings.extend(found);
            }
            Err(reason) => {
                eprintln!("rolewarden: {}: {reason}", file.display());
                unreadable += 1;
            }
        }
    }
    write_report(args.format, &findings)?;
    let worst = findings.iter().map(|f| f.severity).max();
    Ok(exit_code(false, unreadable > 0, worst, Some(args.fail_on)))
}

/// The findings on standard output, as a grouped report or JSON Lines.
fn write_report(format: Format, findings: &[Finding]) -> anyhow::Result<()> {
    let mut out = io::BufWriter::new(io::stdout().lock());
    match format {
        Format::Text => out.write_all(report::render_text(findings).as_bytes())?,
        Format::Json => {
            for finding in findings {
                serde_json::to_writer(&mut out, finding)?;
                out.write_all(b"\n")?;
            }
        }
    }
    out.flush().context("cannot write findings")
}

/// Writes what the sink still holds and says how it went; `false` when it failed.
fn finish_sink(sink: rolewarden::aws::blocking::BufferedWriter, live: &Blocking) -> bool {
    let group = sink.group().to_owned();
    match sink.finish(live) {
        Ok(n) => {
            eprintln!("rolewarden: {n} findings written to log group `{group}`");
            true
        }
        Err((n, e)) if n > 0 => {
            eprintln!("rolewarden: error: {e}; {n} findings of earlier batches were written");
            false
        }
        Err((_, e)) => {
            eprintln!("rolewarden: error: {e}");
            false
        }
    }
}

/// `IAM:GetRole 3, CloudWatch Logs:PutLogEvents 1`, or `none`.
fn api_calls(live: &Blocking) -> String {
    let calls: Vec<String> = live
        .calls()
        .snapshot()
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    if calls.is_empty() {
        "none".to_owned()
    } else {
        calls.join(", ")
    }
}

/// 3: findings not written; 2: input or account partly unreadable; 1: `--fail-on` reached.
fn exit_code(
    sink_failed: bool,
    incomplete: bool,
    worst: Option<Severity>,
    fail_on: Option<Severity>,
) -> ExitCode {
    if sink_failed {
        ExitCode::from(3)
    } else if incomplete {
        ExitCode::from(2)
    } else if fail_on.is_some_and(|threshold| worst.is_some_and(|w| w >= threshold)) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn summary_line(
    s: &Summary,
    skipped: usize,
    noted: usize,
    failures: usize,
    elapsed: std::time::Duration,
) -> String {
    let by_severity: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .filter_map(|sev| s.findings.get(sev).map(|n| format!("{n} {sev}")))
        .collect();
    let findings = if by_severity.is_empty() {
        "no findings".to_owned()
    } else {
        format!("findings: {}", by_severity.join(", "))
    };
    let mut line = format!(
        "rolewarden: {} events from {} inputs ({} ignored, not watched), {} unreadable; {findings}; {} suppressed by exceptions; {:.2?}",
        s.events, s.inputs, s.ignored, s.unreadable, s.suppressed, elapsed
    );
    if let Some(peak) = rolewarden::synth::peak_rss_bytes() {
        line.push_str(&format!("; peak memory {} MB", peak / (1024 * 1024)));
    }
    if skipped > 0 {
        line.push_str(&format!(
            "; {skipped} files in folders skipped (not .json/.jsonl/.ndjson/.gz)"
        ));
    }
    if noted > 0 {
        line.push_str(&format!(
            "; {noted} entries in folders skipped (not regular files, or read already)"
        ));
    }
    if failures > 0 {
        line.push_str(&format!("; {failures} inputs could not be read"));
    }
    line
}

/// Paths to inputs (`None` is standard input), folders expanded recursively in name order; with
/// the count of other files in folders and a note for each entry left out for another reason.
fn expand(paths: &[PathBuf]) -> anyhow::Result<(Vec<Option<PathBuf>>, usize, Vec<String>)> {
    let mut out = Vec::new();
    let mut walker = rolewarden::walk::Walker::default();
    for path in paths {
        if path.as_os_str() == "-" {
            out.push(None);
        } else if path.is_dir() {
            walker
                .folder(path)
                .with_context(|| format!("cannot read folder `{}`", path.display()))?;
            out.extend(walker.walk.files.drain(..).map(Some));
        } else {
            out.push(Some(path.clone()));
        }
    }
    Ok((out, walker.walk.other_files, walker.walk.notes))
}
