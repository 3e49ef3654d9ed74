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

pub use engine::{evaluate_file, root, sample_account, test_engine};

/// Runs the `rolewarden` binary from the repository root, as a user would.
pub fn rolewarden(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_rolewarden"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

/// `rolewarden evaluate --format json` over `events/` with the test baseline, on a fixed day:
/// the findings the samples give, as JSON lines.
pub fn evaluate_samples() -> std::process::Output {
    rolewarden(&[
        "evaluate",
        "--format",
        "json",
        "--baseline",
        "tests/fixtures/test-baseline.toml",
        "--as-of",
        "2026-06-01",
        "events/",
    ])
}

/// Output bytes as text, for messages and assertions.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
