//! `rrn calendar …`: working-day arithmetic and the bank-holiday feed.

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

use anyhow::Context as _;

use super::{CalendarCommand, CliError, load_config, print, usage};
use crate::domain::calendar::{Division, HolidayFeed};

pub(super) fn run(
    runtime: &tokio::runtime::Runtime,
    config: Option<&Path>,
    command: CalendarCommand,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let config = load_config(config)?;
    if let CalendarCommand::Import {
        file,
        dry_run,
        format,
        at,
    } = &command
    {
        if *dry_run {
            let today =
                crate::service::moment::now_or(at.at, config.partnership.timezone)?.date_naive();
            return dry_run_import(runtime, &config, file, today, *format, out);
        }
        return print(out, &import(&config, file)?);
    }
    let feed = config.holiday_feed()?;
    let calendar_for = |division: Option<Division>| config.calendar(&feed, division);
    let text = match command {
        CalendarCommand::Workday { date, n, division } => {
            let date = calendar_for(division.division)
                .add_working_days(date, n)
                .map_err(usage)?;
            format!("{date}\n")
        }
        CalendarCommand::Between { a, b, division } => {
            let count = calendar_for(division.division)
                .between(a, b)
                .map_err(usage)?;
            format!("{count}\n")
        }
        CalendarCommand::Holidays { year, division } => {
            let mut text = String::new();
            for holiday in calendar_for(division.division).holidays(&feed, year) {
                writeln!(text, "{}\t{}", holiday.date, holiday.title).expect("writing to a String");
            }
            text
        }
        CalendarCommand::Import { .. } => unreachable!("handled above"),
    };
    print(out, &text)
}

/// `rrn calendar import FILE --dry-run`: the due dates the file would move, and nothing
/// installed.
fn dry_run_import(
    runtime: &tokio::runtime::Runtime,
    config: &crate::config::Config,
    file: &Path,
    today: chrono::NaiveDate,
    format: super::Format,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let text = HolidayFeed::read(file).map_err(usage)?;
    let new_feed = HolidayFeed::parse(&text, &file.display().to_string()).map_err(usage)?;
    let timeline = config.load_timeline()?;
    let (in_use, new) = (
        config.calendar(&config.holiday_feed()?, None),
        config.calendar(&new_feed, None),
    );
    let rules = |calendar| crate::domain::impact::Rules {
        timeline: &timeline,
        calendar,
    };
    super::impact::show(
        runtime,
        config,
        rules(&in_use),
        rules(&new),
        format!(
            "the bank holidays of {} (nothing installed)",
            file.display()
        ),
        today,
        format,
        out,
    )
}

/// Validates `file` as a feed and, only if it is valid, replaces the configured feed file with it
/// atomically (write beside it, then rename), so a failure leaves the old file in place.
fn import(config: &crate::config::Config, file: &Path) -> Result<String, CliError> {
    let text = HolidayFeed::read(file).map_err(usage)?;
    let feed = HolidayFeed::parse(&text, &file.display().to_string()).map_err(usage)?;
    let target = config.calendar.bank_holidays.as_ref().ok_or_else(|| {
        usage(anyhow::anyhow!(
            "no bank-holidays file is configured to import into: set `[calendar] bank_holidays` \
             in the config (the built-in copy cannot be replaced)"
        ))
    })?;
    let folder = target.parent().unwrap_or(Path::new("."));
    let mut staged = tempfile::NamedTempFile::new_in(folder)
        .with_context(|| format!("creating a temporary file in {}", folder.display()))?;
    // Keep the installed file's permissions (a temporary file starts as 0600, which would lock
    // out a service running as another user); a new file gets the usual 0644.
    let permissions = match std::fs::metadata(target) {
        Ok(metadata) => metadata.permissions(),
        Err(_) => default_permissions(),
    };
    staged
        .write_all(text.as_bytes())
        .and_then(|()| staged.as_file().set_permissions(permissions))
        .and_then(|()| staged.as_file().sync_all())
        .with_context(|| format!("writing a temporary file in {}", folder.display()))?;
    staged
        .persist(target)
        .with_context(|| format!("replacing {}", target.display()))?;

    let mut out = format!("imported {} into {}\n", file.display(), target.display());
    for division in Division::ALL {
        let years = feed.coverage(division);
        writeln!(
            out,
            "{division}: {} events, {}-{}",
            feed.events(division).len(),
            years.start(),
            years.end()
        )
        .expect("writing to a String");
    }
    Ok(out)
}

/// Read for everyone, written by the owner: what a package installs under /etc.
fn default_permissions() -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    std::fs::Permissions::from_mode(0o644)
}
