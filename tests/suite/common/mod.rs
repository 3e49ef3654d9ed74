//! What the test modules share: the repository root and the local AWS API server.

pub mod aws;

use std::path::PathBuf;

/// The repository root (events/, tests/fixtures/).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
