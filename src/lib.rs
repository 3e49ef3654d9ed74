//! rolewarden: evaluates CloudTrail management events about IAM, Amazon Lex and Amazon Connect
//! against a policy baseline and reports findings.
//!
//! The library does no I/O of its own beyond reading what it is given: decoding
//! ([`decode`]), policy analysis ([`policy`]), the baseline ([`baseline`]), the rule catalogue
//! ([`rules`]) and the engine ([`Engine`]). Live account facts come in through
//! [`account::AccountView`].

pub mod account;
pub mod aws;
pub mod baseline;
pub mod check;
pub mod decode;
pub mod engine;
pub mod error;
pub mod finding;
pub mod lambda;
pub mod pattern;
pub mod policy;
pub mod report;
pub mod rules;
pub mod run;
pub mod sink;
pub mod sweep;
pub mod synth;
pub mod walk;

pub use baseline::Baseline;
pub use engine::{Engine, Evaluation};
pub use finding::{Finding, Severity};
