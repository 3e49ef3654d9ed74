//! The rolewarden command line. This file parses the arguments and dispatches; each command
//! is a module, every byte printed goes through [`console::Console`], and the work itself is
//! the library's (`rolewarden::pipeline`, `rolewarden::aws`).

mod args;
mod console;
mod evaluate;
mod inputs;
mod output;
mod state;
mod sweep;
mod trail;
mod walk;

use std::path::Path;
use std::process::ExitCode;

use anyhow::bail;
use clap::Parser;
use rolewarden::load::BaselineSource;
use rolewarden::{report, rules, Baseline, Engine, Finding};

use args::{BaselineCommand, CheckPolicyArgs, Cli, Command};
use console::Console;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut console = Console::new();
    let code = match run(cli, &mut console) {
        Ok(code) => code,
        Err(e) => {
            console.err(&format!("rolewarden: error: {e:#}"));
            ExitCode::from(2)
        }
    };
    console.finish(code)
}

fn run(cli: Cli, console: &mut Console) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Evaluate(args) => evaluate::run(args, console),
        Command::Sweep(args) => sweep::run(args, console),
        Command::CheckPolicy(args) => check_policy(args, console),
        Command::Rules { markdown } => {
            console.out(&if markdown {
                report::rules_markdown()
            } else {
                report::rules_text()
            });
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain { id } => {
            let Some(rule) = rules::by_id(&id) else {
                bail!("unknown rule `{id}` (see `rolewarden rules`)");
            };
            let m = rule.meta();
            console.out_line(&format!(
                "{} {} (default severity: {})\n\n{}",
                m.id,
                m.name,
                m.severity,
                m.doc_text()
            ));
            Ok(ExitCode::SUCCESS)
        }
        Command::EventPattern {
            source,
            baseline: path,
        } => {
            let patterns = rolewarden::pattern::event_patterns(&Engine::new(baseline(
                path.as_deref(),
                chrono::Utc::now().date_naive(),
            )?));
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
            console.out_line(&output);
            Ok(ExitCode::SUCCESS)
        }
        Command::Baseline {
            command: BaselineCommand::Show,
        } => {
            console.out(rolewarden::baseline::DEFAULT_TOML);
            Ok(ExitCode::SUCCESS)
        }
        Command::Baseline {
            command: BaselineCommand::Check { file },
        } => {
            let baseline = baseline(Some(&file), chrono::Utc::now().date_naive())?;
            for warning in &baseline.warnings {
                console.err(&format!("{}: {warning}", file.display()));
            }
            console.out_line(&format!(
                "{}: ok ({} profiles, {} approved passes, {} exceptions, {} warnings)",
                file.display(),
                baseline.profiles.len(),
                baseline.approved_passes.len(),
                baseline.exceptions.len(),
                baseline.warnings.len()
            ));
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The baseline `path` names, else the embedded one, validated.
fn baseline(path: Option<&Path>, today: chrono::NaiveDate) -> anyhow::Result<Baseline> {
    Ok(BaselineSource::from_path(path).load(today)?)
}

/// [`baseline`], with its warnings said on stderr (the commands that judge events).
fn load_baseline(
    path: Option<&Path>,
    today: chrono::NaiveDate,
    console: &mut Console,
) -> anyhow::Result<Baseline> {
    let baseline = baseline(path, today)?;
    for warning in &baseline.warnings {
        console.err(&format!(
            "rolewarden: baseline {}: {warning}",
            baseline.source_name
        ));
    }
    Ok(baseline)
}

fn check_policy(args: CheckPolicyArgs, console: &mut Console) -> anyhow::Result<ExitCode> {
    let today = chrono::Utc::now().date_naive();
    let engine = Engine::new(baseline(args.baseline.as_deref(), today)?).with_today(today);
    let mut findings: Vec<Finding> = Vec::new();
    let mut unreadable = 0usize;
    for file in &args.files {
        let name = file.file_stem().map_or_else(
            || file.display().to_string(),
            |s| s.to_string_lossy().into_owned(),
        );
        let checked = std::fs::read_to_string(file)
            .map_err(anyhow::Error::from)
            .and_then(|text| Ok(rolewarden::check::check_policy(&engine, &text, &name)?));
        match checked {
            Ok((kind, found)) => {
                console.err(&format!(
                    "{}: {}: {} findings",
                    file.display(),
                    kind.as_str(),
                    found.len()
                ));
                findings.extend(found);
            }
            Err(reason) => {
                console.err(&format!("rolewarden: {}: {reason}", file.display()));
                unreadable += 1;
            }
        }
    }
    output::write_report(console, args.format, &findings);
    let worst = findings.iter().map(|f| f.severity).max();
    Ok(output::exit_code(
        false,
        unreadable > 0,
        worst,
        Some(args.fail_on),
    ))
}
