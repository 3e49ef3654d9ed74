//! `--state dynamodb:TABLE`: the lifecycle around a command's findings. The state is read
//! before anything is written and stored only after the sink took everything, as the Lambda
//! does, so a failed run does not turn a `new` into an `open`.

use anyhow::Context as _;
use rolewarden::aws::blocking::Blocking;
use rolewarden::aws::state_table::StateTable;
use rolewarden::lifecycle::{prepare, Observed, Plan, Store as _};
use rolewarden::Finding;

/// Statuses and resolutions for `findings`, from the table.
pub fn plan(
    live: &Blocking,
    table: &StateTable,
    findings: Vec<Finding>,
    observed: &Observed,
) -> anyhow::Result<Plan> {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    live.block_on(prepare(table, findings, observed, &now))
        .context("--state: nothing was written")
}

/// Stores the plan's records; an error message when that failed.
pub fn commit(live: &Blocking, table: &StateTable, plan: &Plan) -> Result<(), String> {
    live.block_on(table.put(&plan.records))
        .map_err(|e| format!("the findings were written, but their state was not stored: {e}"))
}
