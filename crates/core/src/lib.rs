//! rolewarden's core: evaluates CloudTrail management events about IAM, Amazon Lex and Amazon
//! Connect against a policy baseline and reports findings.
//!
//! Pure and synchronous, with no AWS SDK and no async runtime (the compiler keeps it so: this
//! crate does not depend on them). It reads what it is handed (bytes, readers, files named by
//! the caller) and asks the live account only through [`account::AccountView`]. The layers, each
//! using only those before it: [`finding`], [`arn`], [`decode`] -> [`policy`] -> [`baseline`] ->
//! [`account`] -> [`state`] -> [`rules`] -> [`engine`] -> [`lifecycle`] -> [`pipeline`], [`check`],
//! [`pattern`], [`report`], [`log_events`], [`asff`], [`ocsf`], [`load`]; [`synth`] (synthetic log files for benchmarks and
//! memory tests) stands apart.

pub mod account;
pub mod arn;
pub mod asff;
pub mod baseline;
pub mod check;
pub mod decode;
pub mod engine;
pub mod finding;
pub mod lifecycle;
pub mod load;
pub mod log_events;
pub mod ocsf;
pub mod pattern;
pub mod pipeline;
pub mod policy;
pub mod report;
pub mod rules;
pub mod state;
pub mod synth;

pub use baseline::Baseline;
pub use engine::{Engine, Evaluation};
pub use finding::{Finding, Resolution, Severity, Status};
