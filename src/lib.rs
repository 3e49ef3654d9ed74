//! rolewarden: the core engine ([`rolewarden_core`], re-exported here) with its AWS side: the
//! account reader and sweep gatherer, the CloudWatch Logs writer and the typed error of every
//! call ([`aws`]), the choice of finding sink ([`sink`]) and the Lambda function ([`lambda`]).
//! The two binaries are `src/bin/bootstrap.rs` (the Lambda's `main`) and `src/bin/rolewarden/`
//! (the command line, whose modules belong to the binary, not to this library).
//!
//! The dependency direction is core -> [`aws`] -> [`sink`] -> [`lambda`] -> `bootstrap`; the
//! command line uses the core, [`aws`] and [`sink`]. The core crate cannot reach back (it has no
//! dependency on this one).

pub use rolewarden_core::{
    account, arn, asff, baseline, check, decode, engine, finding, lifecycle, load, log_events,
    ocsf, pattern, pipeline, policy, report, rules, state, synth, Baseline, Engine, Evaluation,
    Finding, Resolution, Severity, Status,
};

pub mod aws;
pub mod lambda;
pub mod sink;
