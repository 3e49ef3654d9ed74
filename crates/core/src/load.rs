//! Where a baseline comes from, read and validated the same way by the CLI and the Lambda.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use thiserror::Error;

use crate::baseline::{Baseline, BaselineError, DEFAULT_TOML};

/// A baseline's origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BaselineSource {
    /// The default compiled into the binary (`rolewarden baseline show`).
    Embedded,
    File(PathBuf),
}

impl BaselineSource {
    /// A file when one is given, else the embedded default.
    pub fn from_path(path: Option<&Path>) -> Self {
        path.map_or(BaselineSource::Embedded, |p| {
            BaselineSource::File(p.to_path_buf())
        })
    }

    /// Reads and validates the baseline; `today` decides which exceptions have expired.
    pub fn load(&self, today: NaiveDate) -> Result<Baseline, LoadError> {
        match self {
            BaselineSource::Embedded => {
                Ok(Baseline::parse(DEFAULT_TOML, "embedded default", today)?)
            }
            BaselineSource::File(path) => {
                let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
                    path: path.clone(),
                    source,
                })?;
                let name = path.display().to_string();
                let text = crate::baseline::text_of(&bytes, &name)?;
                Ok(Baseline::parse(text, &name, today)?)
            }
        }
    }
}

/// A baseline that cannot be used: unreadable, or invalid (every problem, with its line).
#[derive(Debug, Error)]
pub enum LoadError {
    #[error("cannot read baseline `{}`: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Invalid(#[from] BaselineError),
}
