//! [`CliError`]: how a command failed, by what the user can do about it, and the conversions
//! from the library's errors that let a handler say `?`.
//!
//! Each library error has one meaning here: a refused input is [`CliError::Usage`] (exit status
//! 2), anything else [`CliError::Failed`] (exit status 1). A file the config names (rrn.toml,
//! the timeline, the bank holidays, the templates) that is refused is a refused input wherever
//! it is loaded; one that cannot be read is a failure. An error that is a refusal only when
//! the input was the user's (a date outside the calendar's range: from `rrn calendar workday`,
//! but not from the demo's own dates) converts to `Failed`, and the handler that took the input
//! says `.map_err(usage)` where it does.

use crate::casework::CaseworkError;
use crate::config::ConfigError;
use crate::domain::calendar::{FeedError, OutOfRange};
use crate::domain::timeline::TimelineError;
use crate::mail::MailError;
use crate::service::ServiceError;
use crate::service::moment::AtError;
use crate::store::{LeadError, StoreError};

/// A failed command, by what the user can do about it.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The input was refused: fix the arguments or the file given (exit status 2).
    #[error("{0:#}")]
    Usage(anyhow::Error),
    /// Anything else: an unreadable config, I/O, database (exit status 1).
    #[error("{0:#}")]
    Failed(anyhow::Error),
    /// The command did its work and wrote its output, but some of the work failed for good
    /// (`run --once`: emails a server refused permanently), so that a timer or cron wrapper
    /// notices (exit status 3). It holds why.
    #[error("{0}")]
    Finished(String),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Failed(_) => 1,
            CliError::Finished(_) => 3,
        }
    }
}

/// The input was refused (exit status 2).
pub(super) fn usage(error: impl Into<anyhow::Error>) -> CliError {
    CliError::Usage(error.into())
}

/// A config that was refused is an input file refused (status 2); one that cannot be read is
/// a failure (status 1). For an error that may carry a [`ConfigError`] or a [`ServiceError`]
/// (a timeline, a template) inside (the daemon's).
pub(super) fn config_error(error: impl Into<anyhow::Error>) -> CliError {
    let error = error.into();
    let refused = error
        .downcast_ref::<ConfigError>()
        .map(ConfigError::refused)
        .or_else(|| {
            error
                .downcast_ref::<ServiceError>()
                .map(ServiceError::refused)
        })
        .unwrap_or(false);
    if refused {
        CliError::Usage(error)
    } else {
        CliError::Failed(error)
    }
}

impl From<anyhow::Error> for CliError {
    fn from(error: anyhow::Error) -> Self {
        CliError::Failed(error)
    }
}

/// Errors of what the config names (the file itself, the timeline, the bank holidays, the
/// templates, what the service is built of): a file refused is the user's input (status 2),
/// one that cannot be read a failure (status 1).
macro_rules! refused_or_failed {
    ($($error:ty),* $(,)?) => {
        $(
            impl From<$error> for CliError {
                fn from(error: $error) -> Self {
                    if error.refused() {
                        CliError::Usage(error.into())
                    } else {
                        CliError::Failed(error.into())
                    }
                }
            }
        )*
    };
}

refused_or_failed!(
    ConfigError,
    TimelineError,
    FeedError,
    MailError,
    ServiceError
);

impl From<CaseworkError> for CliError {
    fn from(error: CaseworkError) -> Self {
        match error {
            CaseworkError::Refused(_)
            | CaseworkError::RefusedRows(_)
            | CaseworkError::RefusedFile(_) => CliError::Usage(error.into()),
            CaseworkError::Store(_) => CliError::Failed(error.into()),
        }
    }
}

/// `--at` malformed, in a clock change's gap, or ahead of the clock: always the user's input.
impl From<AtError> for CliError {
    fn from(error: AtError) -> Self {
        CliError::Usage(error.into())
    }
}

/// Errors that are never the user's input as such: exit status 1.
macro_rules! failed_from {
    ($($error:ty),* $(,)?) => {
        $(
            impl From<$error> for CliError {
                fn from(error: $error) -> Self {
                    CliError::Failed(error.into())
                }
            }
        )*
    };
}

failed_from!(
    StoreError, LeadError,
    // A refusal where the date was the user's: see the module's documentation.
    OutOfRange,
);
