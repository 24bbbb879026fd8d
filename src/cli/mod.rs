//! The `rrn` command line: argument definitions and one handler per command.
//!
//! Handlers parse and load at the edge, call the pure library, and write their output to the
//! writer they are given as they go; they return only how they ended, and `main` maps a
//! [`CliError`] to an exit status in one place.

mod calendar;
mod case;
mod check;
mod demo;
mod dev;
mod error;
mod export;
mod impact;
mod output;
mod package_files;
mod plan;
mod report;
mod run;
mod status;
mod table;
mod timeline;
mod user;
mod web;

use std::path::PathBuf;

use anyhow::Context as _;
use chrono::NaiveDate;
use clap::{Parser, Subcommand, ValueEnum};

use crate::config::Config;
use crate::domain::agency::AgencyId;
use crate::domain::calendar::Division;
use crate::domain::case::CaseRef;
use crate::service::moment::At;

pub use error::CliError;
use error::usage;
pub use output::Stdout;
use output::{print, print_json};

/// `rrn --version`: the version and the commit it was built from (build.rs; `unknown` outside a
/// git checkout).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("RRN_GIT_COMMIT"),
    ")"
);

/// Keeps child-safeguarding Rapid Reviews on their working-day clock.
///
/// Reads cases, evaluates each against the Rapid Review timeline in working days (England and
/// Wales bank holidays by default) and tells the people who must act.
#[derive(Debug, Parser)]
#[command(name = "rrn", version = VERSION, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// Config file [default search: $RRN_CONFIG, /etc/rapid-review-notifier/rrn.toml,
    /// ./config/rrn.toml, then built-in defaults]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// The database to use, overriding the config and $RRN_DATABASE__URL (sqlite://PATH or
    /// postgres://USER@HOST/DB)
    #[arg(long, global = true, value_name = "URL")]
    pub database: Option<String>,

    /// Run as root against a database another user owns, or in the service's state folder
    /// before it exists, on purpose (refused otherwise: root-owned files stop the service)
    #[arg(
        long,
        global = true,
        env = "RRN_ALLOW_ROOT",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub allow_root: bool,

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
    /// Record and inspect Rapid Review cases
    Case(CaseArgs),
    /// Show what a run would send now, or preview a case's emails day by day; writes nothing
    Plan(PlanArgs),
    /// The daemon: evaluate on the schedule and when cases change, and deliver (--once: one
    /// evaluation and delivery pass, then exit)
    Run(RunArgs),
    /// The service at a glance: last and next run, leader, emails, overdue milestones
    Status(StatusArgs),
    /// The emails queued for delivery
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// The compliance report of a period: Rapid Reviews submitted on time, and per milestone and
    /// agency what fell due, was done on time or late, or is overdue
    Report(ReportArgs),
    /// Run a sample case day by day into a maildir and show who was emailed and why
    Demo {
        /// Where to put the demo's database and maildir [default: a new temporary folder]
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Send one test message through the configured transport and print the server's reply
    SendTest {
        /// Where to send it
        address: String,
    },
    /// Validate the config and the timeline, and warn about what will need attention
    CheckConfig(CheckConfigArgs),
    /// Create the database or bring it up to date (also done by every command that opens it)
    Migrate,
    /// Copy the SQLite database, consistently, into a new file (safe while the daemon runs)
    Backup {
        /// The new file
        file: PathBuf,
    },
    /// The web workspace's accounts (the first admin is added here)
    User(UserArgs),
    /// Serve the web workspace, where the business team runs its cases from a browser
    Web(WebArgs),
    /// Copy every case of the configured database into another, empty one (moving from SQLite
    /// to PostgreSQL): the JSON export imported there
    MigrateStore {
        /// The database to copy into (postgres://USER@HOST/DB or sqlite://PATH); it must hold no
        /// cases
        #[arg(long, value_name = "URL")]
        to: String,
        /// Who is acting, for the audit log [default: the OS user]
        #[arg(long, value_name = "NAME")]
        actor: Option<String>,
    },
    /// Tools for developers: seeding a database for measurements, the package's man pages
    #[command(subcommand, hide = true)]
    Dev(DevCommand),
}

#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Fill the database with synthetic open cases (references SEED-…), for measuring
    Seed {
        /// How many cases
        #[arg(long, default_value_t = 1000)]
        cases: usize,
        /// Seed of the pseudo-random choices, so a run can be repeated
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The cases are dated relative to this day (aware in the 90 days before it)
        #[command(flatten)]
        at: AtArg,
    },
    /// Queue sample emails (to the business team) for measuring delivery
    Enqueue {
        /// How many emails
        #[arg(long, default_value_t = 1000)]
        emails: usize,
    },
    /// Write the man pages and shell completions the Debian package installs (deploy/build-deb)
    PackageFiles {
        /// The folder to write man/ and completions/ into
        dir: PathBuf,
    },
}

#[derive(Debug, clap::Args)]
pub struct UserArgs {
    /// Who is acting, for the audit log [default: the OS user]
    #[arg(long, global = true, value_name = "NAME")]
    pub actor: Option<String>,
    #[command(subcommand)]
    pub command: UserCommand,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add an account; without --password-file the password is asked for twice
    Add {
        email: String,
        /// The person's name, as colleagues know it
        #[arg(long)]
        name: String,
        /// viewer (sees everything, changes nothing), caseworker (runs cases) or admin
        #[arg(long, value_parser = parse_role)]
        role: crate::domain::account::Role,
        /// A file whose first line is the password
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
    /// Every account, its role and last sign-in
    List {
        /// Output: a table for people, or JSON for scripts
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Stop an account signing in, and end its sessions at once
    Disable { email: String },
    /// Let a disabled account sign in again, with the password it had
    Enable { email: String },
    /// Give an account a new password (and enable it), ending its sessions
    ResetPassword {
        email: String,
        /// A file whose first line is the password
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
    /// Change an account's role
    Role {
        email: String,
        #[arg(value_parser = parse_role)]
        role: crate::domain::account::Role,
    },
}

fn parse_role(s: &str) -> Result<crate::domain::account::Role, String> {
    s.parse()
        .map_err(|_| format!("`{s}` is not a role: use viewer, caseworker or admin"))
}

#[derive(Debug, clap::Args)]
pub struct WebArgs {
    /// Where to listen [default: [web] listen, or 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,
    /// Serve a throwaway database with sample cases, and print a one-off sign-in
    #[arg(long)]
    pub demo: bool,
}

#[derive(Debug, clap::Args)]
pub struct CaseArgs {
    /// Who is acting, for the audit log [default: the OS user]
    #[arg(long, global = true, value_name = "NAME")]
    pub actor: Option<String>,
    #[command(flatten)]
    pub at: AtArg,
    #[command(flatten)]
    pub rehearse: RehearseArg,
    /// Output: a table for people, or JSON for scripts
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    #[command(subcommand)]
    pub command: CaseCommand,
}

#[derive(Debug, Subcommand)]
pub enum CaseCommand {
    /// Open a case: the reference links to the partnership's own case system (no names)
    Open {
        reference: CaseRef,
        /// The day the local authority became aware of the incident (YYYY-MM-DD)
        #[arg(long, value_parser = parse_date)]
        aware: NaiveDate,
        /// Working day 0, when the notification has already gone to Ofsted (YYYY-MM-DD)
        #[arg(long, value_parser = parse_date)]
        day0: Option<NaiveDate>,
        /// An involved agency (repeat for each), as in the config's [[agency]] ids
        #[arg(long = "agency", value_name = "ID", required = true, value_parser = parse_agency)]
        agencies: Vec<AgencyId>,
        /// The Rapid Review proposed a local child safeguarding practice review
        #[arg(long)]
        local_review: bool,
    },
    /// Add or remove involved agencies
    Agencies {
        reference: CaseRef,
        #[arg(long, value_name = "ID", value_parser = parse_agency)]
        add: Vec<AgencyId>,
        #[arg(long, value_name = "ID", value_parser = parse_agency)]
        remove: Vec<AgencyId>,
    },
    /// Record a milestone as done
    Complete {
        reference: CaseRef,
        /// A milestone id from the timeline (see `rrn timeline`)
        milestone: String,
        /// The agency, for per-agency milestones such as agency_summary
        #[arg(long, value_name = "ID", value_parser = parse_agency)]
        agency: Option<AgencyId>,
        /// The day it was done (YYYY-MM-DD) [default: today]
        #[arg(long, value_parser = parse_date)]
        on: Option<NaiveDate>,
        /// A short note for the record (never details about the child)
        #[arg(long)]
        note: Option<String>,
    },
    /// Undo a completion recorded by mistake
    Uncomplete {
        reference: CaseRef,
        milestone: String,
        #[arg(long, value_name = "ID", value_parser = parse_agency)]
        agency: Option<AgencyId>,
    },
    /// Close a case; nothing more is sent for it
    Close {
        reference: CaseRef,
        #[arg(long)]
        reason: String,
    },
    /// Reopen a closed case
    Reopen { reference: CaseRef },
    /// Record whether the Rapid Review proposed a local child safeguarding practice review
    LocalReview {
        reference: CaseRef,
        /// yes or no
        #[arg(value_parser = parse_yes_no)]
        proposed: YesNo,
    },
    /// One line per case: its next milestone and date, and its worst status (overdue first)
    List {
        #[arg(long, value_enum, default_value_t = StatusArg::Open)]
        status: StatusArg,
    },
    /// A case's evaluated timeline, completions and audit trail
    Show { reference: CaseRef },
    /// Open cases from a CSV file with the header reference,aware,day0,agencies, or restore a
    /// JSON export (FILE.json) into an empty database; all or nothing
    Import { file: PathBuf },
    /// Cases as CSV, the spreadsheet view (reference,aware,day0,agencies, then status columns);
    /// with --format json every fact of every case, the export `rrn case import` restores
    Export {
        #[arg(long, value_enum, default_value_t = StatusArg::All)]
        status: StatusArg,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    Open,
    Closed,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YesNo(pub bool);

/// An agency id as typed: `Police` is `police` (the config's ids are lower case).
fn parse_agency(s: &str) -> Result<AgencyId, String> {
    AgencyId::parse(&s.trim().to_ascii_lowercase()).map_err(|e| e.to_string())
}

/// A division as typed: `Scotland` is `scotland`.
fn parse_division(s: &str) -> Result<Division, String> {
    s.trim()
        .to_ascii_lowercase()
        .parse()
        .map_err(|e: crate::domain::calendar::UnknownDivision| e.to_string())
}

/// `yes`/`no` (or `true`/`false`) in any case: `Yes` and `NO` too.
fn parse_yes_no(s: &str) -> Result<YesNo, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "yes" | "true" => Ok(YesNo(true)),
        "no" | "false" => Ok(YesNo(false)),
        _ => Err(format!("`{s}` is not yes or no")),
    }
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
        /// Install nothing: show every due date of the open cases the file would move
        #[arg(long)]
        dry_run: bool,
        /// The form of --dry-run's output
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        #[command(flatten)]
        at: AtArg,
    },
}

#[derive(Debug, clap::Args)]
pub struct DivisionArg {
    /// Bank-holiday division: england-and-wales, scotland or northern-ireland [default: the
    /// config's]
    #[arg(long, value_name = "DIVISION", value_parser = parse_division)]
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
    #[arg(long = "agency", value_name = "ID", value_parser = parse_agency)]
    pub agencies: Vec<crate::domain::agency::AgencyId>,
    /// The Rapid Review proposed a local child safeguarding practice review
    #[arg(long)]
    pub local_review: bool,
    #[command(flatten)]
    pub at: AtArg,
    /// Output: a table for people, or JSON for scripts
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub at: AtArg,
    /// Preview from this day (with --to and --case)
    #[arg(long, value_parser = parse_date, requires_all = ["to", "case"])]
    pub from: Option<NaiveDate>,
    /// Preview up to this day
    #[arg(long, value_parser = parse_date, requires_all = ["from", "case"])]
    pub to: Option<NaiveDate>,
    /// The case to preview
    #[arg(long, value_name = "REF", requires_all = ["from", "to"])]
    pub case: Option<CaseRef>,
    /// Output: a table for people, or JSON for scripts
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// One evaluation run, then exit (for a systemd timer, cron, or tests)
    #[arg(long)]
    pub once: bool,
    #[command(flatten)]
    pub at: AtArg,
    #[command(flatten)]
    pub rehearse: RehearseArg,
    /// Accept the clock as right although it is more than a week past the run the schedule
    /// wanted next (the service was down that long): this run plans as of now, and the daemon
    /// goes on from there
    #[arg(long, requires = "once")]
    pub confirm_clock: bool,
    /// Output: a table for people, or JSON for scripts
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub at: AtArg,
    /// Output: a table for people, or JSON for scripts
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The period's first day (YYYY-MM-DD), with --to [default: the last complete
    /// April-to-March year before today]
    #[arg(long, value_parser = parse_date, requires = "to")]
    pub from: Option<NaiveDate>,
    /// The period's last day (YYYY-MM-DD), with --from
    #[arg(long, value_parser = parse_date, requires = "from")]
    pub to: Option<NaiveDate>,
    #[command(flatten)]
    pub at: AtArg,
    /// Output: a table for people, JSON or CSV for scripts and spreadsheets, or one
    /// self-contained HTML page with charts
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
    /// Write the report to this file (replaced whole) instead of the standard output
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The milestone whose completion is an LCSPR's publication [default: the timeline's last
    /// `only_if = "local_review"` milestone, if any]
    #[arg(long, value_name = "ID")]
    pub lcspr_milestone: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Table,
    Json,
    Csv,
    Html,
}

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Queued emails, newest first
    List(OutboxArgs),
    /// Queue a failed email again (after fixing its address, say)
    Retry {
        /// The outbox row, as `rrn outbox list` shows it
        id: i64,
    },
    /// Take an email out of the queue for good: it is never sent (one that cannot be, say)
    Cancel {
        /// The outbox row, as `rrn outbox list` shows it
        id: i64,
        /// Who is acting, for the audit log [default: the OS user]
        #[arg(long, value_name = "NAME")]
        actor: Option<String>,
    },
}

#[derive(Debug, clap::Args)]
pub struct OutboxArgs {
    #[arg(long, value_enum)]
    pub status: Option<OutboxStatusArg>,
    /// Output: a table for people, or JSON for scripts
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutboxStatusArg {
    Pending,
    InFlight,
    Sent,
    Failed,
    Cancelled,
}

#[derive(Debug, clap::Args)]
pub struct CheckConfigArgs {
    #[command(flatten)]
    pub at: AtArg,
    /// Show every due date of the open cases that this configuration would move compared with
    /// the rules the last run planned with (or those of --against), before it takes effect
    #[arg(long)]
    pub impact: bool,
    /// Compare with this configuration instead (the file as it was before the edit)
    #[arg(long, value_name = "OLD_CONFIG", requires = "impact")]
    pub against: Option<PathBuf>,
    /// The form of --impact's output
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct AtArg {
    /// Evaluate as if it were this time: a date (09:00 that day in the partnership's timezone)
    /// or a date-time [default: now]
    #[arg(long, global = true, value_name = "DATE")]
    pub at: Option<At>,
}

#[derive(Debug, clap::Args)]
pub struct RehearseArg {
    /// Allow an --at after today, on a throwaway copy of the database only (training, tests):
    /// a change or run dated ahead uses up the notifications of the days in between
    #[arg(long, global = true)]
    pub rehearse: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

fn parse_date(s: &str) -> Result<NaiveDate, String> {
    crate::domain::calendar::parse_date(s).map_err(|e| e.to_string())
}

fn load_config(cli_config: Option<&std::path::Path>) -> Result<Config, CliError> {
    Ok(Config::load(cli_config)?)
}

/// What most commands load: the config, its timeline and calendar, and the moment they act at
/// (`--at`, or now).
struct Loaded {
    config: Config,
    timeline: crate::domain::timeline::Timeline,
    calendar: crate::domain::calendar::Calendar,
    at: chrono::DateTime<chrono_tz::Tz>,
}

fn load(cli_config: Option<&std::path::Path>, at: Option<At>) -> Result<Loaded, CliError> {
    let config = load_config(cli_config)?;
    let timeline = config.load_timeline()?;
    let feed = config.holiday_feed()?;
    let calendar = config.calendar(&feed, None);
    let at = crate::service::moment::now_or(at, config.partnership.timezone)?;
    Ok(Loaded {
        config,
        timeline,
        calendar,
        at,
    })
}

impl Loaded {
    /// The civil date the command acts on, in the partnership's timezone.
    fn today(&self) -> NaiveDate {
        self.at.date_naive()
    }

    /// Refuses an `--at` on a later day than the clock's for a command that writes.
    fn refuse_ahead(&self, rehearse: &RehearseArg) -> Result<(), CliError> {
        let real = crate::service::moment::now(self.config.partnership.timezone);
        Ok(crate::service::moment::refuse_ahead(
            self.at,
            real,
            rehearse.rehearse,
        )?)
    }

    fn planner(&self) -> crate::domain::plan::Planner<'_> {
        crate::domain::plan::Planner {
            timeline: &self.timeline,
            calendar: &self.calendar,
            contacts: &self.config.contacts,
            agencies: &self.config.agencies,
        }
    }
}

/// Runs one command, writing its output to `out`; an error is what `main` reports, with its
/// exit status.
///
/// One current-thread runtime serves every command that needs one: the handlers block on it
/// in turn, and it is dropped when the command ends.
pub fn run(cli: Cli, out: &mut dyn std::io::Write) -> Result<(), CliError> {
    if let Some(url) = cli.database {
        crate::config::override_database(url);
    }
    crate::store::guard_root(crate::store::RootGuard {
        allowed: cli.allow_root,
        service_folder: Some(PathBuf::from(crate::config::SERVICE_STATE_DIR)),
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let (rt, config) = (&runtime, cli.config.as_deref());
    let result = match cli.command {
        Command::Calendar(command) => calendar::run(rt, config, command, out),
        Command::Timeline(args) => timeline::run(config, args, out),
        Command::CheckConfig(args) => check::run(rt, config, args, out),
        Command::Case(args) => case::run(rt, config, args, out),
        Command::Migrate => case::migrate(rt, config, out),
        Command::Backup { file } => case::backup(rt, config, &file, out),
        Command::MigrateStore { to, actor } => {
            export::migrate_store(rt, config, &to, actor.as_deref(), out)
        }
        Command::Plan(args) => plan::run(rt, config, args, out),
        Command::Status(args) => status::run(rt, config, args, out),
        Command::Report(args) => report::run(rt, config, args, out),
        Command::Run(args) => run::run(rt, config, args, out),
        Command::Outbox(OutboxCommand::List(args)) => run::outbox(rt, config, args, out),
        Command::Outbox(OutboxCommand::Retry { id }) => run::retry(rt, config, id, out),
        Command::Outbox(OutboxCommand::Cancel { id, actor }) => {
            run::cancel(rt, config, id, actor.as_deref(), out)
        }
        Command::SendTest { address } => run::send_test(rt, config, &address, out),
        Command::Demo { dir } => demo::run(rt, config, dir, out),
        Command::User(args) => user::run(rt, config, args, out),
        Command::Web(args) => web::run(rt, config, args, out),
        Command::Dev(DevCommand::Seed { cases, seed, at }) => {
            dev::seed(rt, config, cases, seed, at.at, out)
        }
        Command::Dev(DevCommand::Enqueue { emails }) => dev::enqueue(rt, config, emails, out),
        Command::Dev(DevCommand::PackageFiles { dir }) => package_files::write(&dir, out),
    };
    // Nothing left behind (a connection closing, a blocking task) may hold up the exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    result.map_err(name_the_waiter)
}

/// A lock timeout said with the command that waited (`rrn case complete waited 30 s …`): the
/// store knows how long, the edge what for.
fn name_the_waiter(error: CliError) -> CliError {
    use crate::store::StoreError::Locked;
    // The wrappers that are `transparent` hide the store's error from `chain()`: ask them.
    let locked = |e: &anyhow::Error| {
        e.chain().any(|cause| {
            matches!(cause.downcast_ref(), Some(Locked(_)))
                || matches!(
                    cause.downcast_ref(),
                    Some(crate::casework::CaseworkError::Store(Locked(_)))
                )
                || matches!(
                    cause.downcast_ref(),
                    Some(crate::service::delivery::DeliveryError::Store(Locked(_)))
                )
                || matches!(
                    cause.downcast_ref(),
                    Some(crate::store::LeadError::Store(Locked(_)))
                )
        })
    };
    let waiter = || {
        use clap::CommandFactory as _;
        let mut words = vec!["rrn".to_owned()];
        let matches = Cli::command()
            .try_get_matches_from(std::env::args_os())
            .ok();
        let mut current = matches.as_ref();
        while let Some((name, sub)) = current.and_then(|m| m.subcommand()) {
            words.push(name.to_owned());
            current = Some(sub);
        }
        format!("`{}` could not finish", words.join(" "))
    };
    match error {
        CliError::Usage(e) if locked(&e) => CliError::Usage(e.context(waiter())),
        CliError::Failed(e) if locked(&e) => CliError::Failed(e.context(waiter())),
        other => other,
    }
}
