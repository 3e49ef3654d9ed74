//! The rolewarden package's tests, one binary (the AWS SDK is linked once): the command line,
//! enrichment and the sinks against a local AWS API server (moto), the sweep, the Lambda
//! through the real Runtime API, memory. The AWS, Runtime API and memory tests are
//! `#[ignore]`d; scripts/test.sh runs them with the server up (`-- --ignored`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests"
)]

mod aws;
mod aws_lifecycle;
mod aws_org;
mod aws_rest_json;
mod aws_securityhub;
mod aws_sweep;
mod aws_trail;
mod cli;
mod common;
mod decoder_regressions;
mod invoke_local;
mod lambda_runtime;
mod memory;
mod memory_bombs;
mod ocsf;
