//! What the test modules share: the repository root, the engine and sample account the core's
//! tests use, and the local AWS API server.

pub mod aws;

/// The core suite's helpers, shared rather than copied.
#[allow(
    dead_code,
    reason = "this suite uses a part of the core suite's helpers"
)]
#[path = "../../../crates/core/tests/suite/common.rs"]
mod engine;

pub use engine::{root, sample_account, test_engine};
