//! What the test modules share: the repository root, the engine and sample account the core's
//! tests use, the local AWS API server, and a bare HTTP server for what it cannot do.

pub mod aws;
pub mod bare;

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

/// A finding sink for the function under test: keeps what it takes, or refuses every write of
/// findings while `refuse` is set (a write of none always succeeds). Clones share what was
/// taken.
#[derive(Clone, Default)]
pub struct TestSink {
    pub refuse: bool,
    pub taken: std::sync::Arc<std::sync::Mutex<Vec<rolewarden::Finding>>>,
}

impl TestSink {
    pub fn refusing() -> Self {
        TestSink {
            refuse: true,
            ..TestSink::default()
        }
    }

    /// What it took so far.
    pub fn taken(&self) -> Vec<rolewarden::Finding> {
        self.taken.lock().unwrap().clone()
    }
}

impl rolewarden::lambda::FindingSink for TestSink {
    async fn write(
        &mut self,
        findings: &[rolewarden::Finding],
    ) -> Result<(), rolewarden::sink::SinkError> {
        if findings.is_empty() {
            return Ok(());
        }
        if self.refuse {
            return Err(rolewarden::sink::SinkError::Stdout(std::io::Error::other(
                "refused",
            )));
        }
        self.taken.lock().unwrap().extend_from_slice(findings);
        Ok(())
    }

    fn describe(&self) -> String {
        if self.refuse { "refusing" } else { "keeping" }.to_owned()
    }
}
