//! rolewarden: the core engine ([`rolewarden_core`], re-exported here) with its AWS side: the
//! account reader and sweep gatherer ([`aws`]), the finding writers ([`sink`]), the Lambda
//! function ([`lambda`]) and the command line ([`cli`]).
//!
//! The dependency direction is core -> aws -> sink -> lambda, cli -> the two binaries; the core
//! crate cannot reach back (it has no dependency on this one).

pub use rolewarden_core::{
    account, arn, baseline, check, decode, engine, finding, load, log_events, pattern, pipeline,
    policy, report, rules, state, synth, Baseline, Engine, Evaluation, Finding, Severity,
};

pub mod aws;
pub mod lambda;
pub mod sink;
