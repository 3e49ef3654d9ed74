//! Why a policy document could not be decoded. Messages are lowercase, without a final period,
//! with user input in backticks, so they read well after a `file: ` prefix.

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
