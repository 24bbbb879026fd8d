//! The `rrn` command line: argument definitions and one handler per command.
//!
//! Handlers parse and load at the edge, call the pure library, and return their output as text;
//! `main` prints it and maps [`CliError`] to an exit status in one place.

mod calendar;
mod check;
mod timeline;

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Parser, Subcommand, ValueEnum};

use crate::calendar::Division;
use crate::config::Config;
use crate::moment::At;

/// Keeps child-safeguarding Rapid Reviews on their working-day clock.
///
/// Reads cases, evaluates each against the Rapid Review timeline in working days (England and
/// Wales bank holidays by default) and tells the people who must act.
#[derive(Debug, Parser)]
#[command(name = "rrn", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// Config file [default search: $RRN_CONFIG, /etc/rapid-review-notifier/rrn.toml,
    /// ./config/rrn.toml, then built-in defaults]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Working-day arithmetic and the bank-holiday data behind it
    #[command(subcommand)]
    Calendar(CalendarCommand),
    /// Evaluate a hypothetical case against the timeline, without a database
    Timeline(TimelineArgs),
    /// Validate the config and the timeline, and warn about what will need attention
    CheckConfig(CheckConfigArgs),
}

#[derive(Debug, Subcommand)]
pub enum CalendarCommand {
    /// Print working day N after DATE (the N-th working day strictly after it; 0 is DATE itself;
    /// negative counts back)
    Workday {
        /// Start date, YYYY-MM-DD; it may be a weekend or holiday
        #[arg(value_parser = parse_date)]
        date: NaiveDate,
        /// Working days to count
        #[arg(allow_negative_numbers = true)]
        n: i32,
        #[command(flatten)]
        division: DivisionArg,
    },
    /// Print the number of working days d with A < d <= B (negative when B is before A)
    Between {
        #[arg(value_parser = parse_date)]
        a: NaiveDate,
        #[arg(value_parser = parse_date)]
        b: NaiveDate,
        #[command(flatten)]
        division: DivisionArg,
    },
    /// List the bank holidays (and local closure days) of YEAR as `YYYY-MM-DD<TAB>title`
    Holidays {
        /// A year from 1900 to 2200; years beyond the bank-holiday file come from the rules
        #[arg(value_parser = clap::value_parser!(i32).range(1900..=2200))]
        year: i32,
        #[command(flatten)]
        division: DivisionArg,
    },
    /// Validate a GOV.UK bank-holidays.json file and install it as the configured feed
    Import {
        /// The downloaded file (https://www.gov.uk/bank-holidays.json)
        file: PathBuf,
    },
}

#[derive(Debug, clap::Args)]
pub struct DivisionArg {
    /// Bank-holiday division: england-and-wales, scotland or northern-ireland [default: the
    /// config's]
    #[arg(long, value_name = "DIVISION")]
    pub division: Option<Division>,
}

#[derive(Debug, clap::Args)]
pub struct TimelineArgs {
    /// The day the local authority became aware of the incident (YYYY-MM-DD)
    #[arg(long, value_parser = parse_date)]
    pub aware: Option<NaiveDate>,
    /// Working day 0: the day the notification went to Ofsted (YYYY-MM-DD)
    #[arg(long, value_parser = parse_date)]
    pub day0: Option<NaiveDate>,
    /// An involved agency (repeat for each); per-agency milestones get a row each
    #[arg(long = "agency", value_name = "ID")]
    pub agencies: Vec<crate::agency::AgencyId>,
    /// The Rapid Review proposed a local child safeguarding practice review
    #[arg(long)]
    pub local_review: bool,
    #[command(flatten)]
    pub at: AtArg,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct CheckConfigArgs {
    #[command(flatten)]
    pub at: AtArg,
}

#[derive(Debug, clap::Args)]
pub struct AtArg {
    /// Evaluate as if it were this time: a date (09:00 that day in the partnership's timezone)
    /// or a date-time [default: now]
    #[arg(long, value_name = "DATE")]
    pub at: Option<At>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| format!("`{s}` is not a date: use YYYY-MM-DD, for example 2026-12-21"))
}

/// A failed command, by what the user can do about it.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The input was refused: fix the arguments or the file given (exit status 2).
    #[error("{0:#}")]
    Usage(anyhow::Error),
    /// Anything else: config, I/O, database (exit status 1).
    #[error("{0:#}")]
    Failed(anyhow::Error),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Failed(_) => 1,
        }
    }
}

impl From<anyhow::Error> for CliError {
    fn from(error: anyhow::Error) -> Self {
        CliError::Failed(error)
    }
}

fn usage(error: impl Into<anyhow::Error>) -> CliError {
    CliError::Usage(error.into())
}

fn load_config(cli_config: Option<&std::path::Path>) -> Result<Config, CliError> {
    Config::load(cli_config).map_err(|e| CliError::Failed(e.into()))
}

/// Runs one command and returns what it prints on stdout.
pub fn run(cli: Cli) -> Result<String, CliError> {
    match cli.command {
        Command::Calendar(command) => calendar::run(cli.config.as_deref(), command),
        Command::Timeline(args) => timeline::run(cli.config.as_deref(), args),
        Command::CheckConfig(args) => check::run(cli.config.as_deref(), args),
    }
}
