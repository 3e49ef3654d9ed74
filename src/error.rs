//! Library error types. Messages are lowercase, without a final period, with user input in
//! backticks, so they read well after a `file: ` prefix.

use std::path::PathBuf;

use thiserror::Error;

/// Why a policy document could not be decoded.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum PolicyError {
    #[error("policy document is not JSON: {reason}")]
    NotJson { reason: String },
    #[error("policy document is {found}, expected a JSON object or a string holding one")]
    WrongType { found: &'static str },
    #[error("policy document has no `Statement`")]
    MissingStatement,
    #[error("policy `Statement` is {found}, expected an object or an array")]
    BadStatement { found: &'static str },
    #[error("the call succeeded but the event carries no policy document")]
    MissingDocument,
}

/// A baseline that cannot be used. Carries every problem found, not just the first.
#[derive(Debug, Error)]
#[error("invalid baseline `{source_name}`:\n{}", render(.diagnostics))]
pub struct BaselineError {
    pub source_name: String,
    pub diagnostics: Vec<crate::baseline::Diagnostic>,
}

fn render(diagnostics: &[crate::baseline::Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(|d| format!("  {d}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Input that could not be opened or read (as opposed to a record that could not be decoded,
/// which is reported as an unreadable item and evaluation goes on).
#[derive(Debug, Error)]
pub enum InputError {
    #[error("cannot read `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
