//! The config's loading, overrides and refusals.
use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn built_in_defaults_are_england_and_wales_in_london() {
    let config = Config::load_from(None, &[]).unwrap();
    assert_eq!(config.partnership.division, Division::EnglandAndWales);
    assert_eq!(config.partnership.timezone, chrono_tz::Europe::London);
    assert_eq!(config.partnership.statutory_limit_working_days, 15);
}

#[test]
fn environment_overrides_the_file_and_types_its_values() {
    let config = Config::load_from(
        None,
        &env(&[
            ("RRN_DATABASE__URL", "postgres://127.0.0.1/test"),
            ("RRN_PARTNERSHIP__STATUTORY_LIMIT_WORKING_DAYS", "16"),
            ("RRN_PARTNERSHIP__NAME", "2026"),
            ("RRN_CONFIG", "ignored-here"),
            ("RRN_TEST_POSTGRES_URL", "ignored: no double underscore"),
        ]),
    )
    .unwrap();
    assert_eq!(
        config.database.url.as_deref(),
        Some("postgres://127.0.0.1/test")
    );
    assert_eq!(config.partnership.statutory_limit_working_days, 16);
    assert_eq!(config.partnership.name.as_str(), "2026");
}

#[test]
fn a_bad_override_names_the_variable() {
    let err = Config::load_from(None, &env(&[("RRN_PARTNERSHIP__DIVISION", "wales")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("RRN_PARTNERSHIP__DIVISION"), "{err}");
    let err = Config::load_from(None, &env(&[("RRN_NOSUCH__KEY", "1")]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("RRN_NOSUCH__KEY") && err.contains("nosuch"),
        "{err}"
    );
}

#[test]
fn closure_spans_expand_to_each_day() {
    let text = "[partnership]\nclosure_days = [\"2026-12-29..2026-12-31\", \"2027-04-06\"]\n";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rrn.toml");
    std::fs::write(&path, text).unwrap();
    let config = Config::load_from(Some(&path), &[]).unwrap();
    let days: Vec<NaiveDate> = config
        .partnership
        .closure_days
        .iter()
        .flat_map(|c| c.dates())
        .collect();
    assert_eq!(days.len(), 4);
}

fn load_text(text: &str, overrides: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rrn.toml");
    std::fs::write(&path, text).unwrap();
    Config::load_from(Some(&path), &env(overrides))
}

#[test]
fn plain_text_smtp_is_only_for_a_relay_on_this_machine_and_a_login_over_it_is_asked_for() {
    let remote = "[mail]\ntransport = \"smtp\"\n\n[smtp]\nhost = \"smtp.partnership.example\"\ntls = \"none\"\n";
    let err = load_text(remote, &[]).unwrap_err();
    assert!(err.refused());
    let err = err.to_string();
    assert!(err.contains("rrn.toml:6:7"), "{err}");
    assert!(
        err.contains("tls") && err.contains("smtp.partnership.example") && err.contains("starttls"),
        "{err}"
    );
    // The same from the environment: still refused, and said of the variable that set it,
    // not of a line of a document the person never wrote (#11).
    let err = load_text(
        "",
        &[("RRN_SMTP__HOST", "10.0.0.25"), ("RRN_SMTP__TLS", "none")],
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("environment variable RRN_SMTP__TLS: [smtp] tls = \"none\"")
            && err.contains("10.0.0.25"),
        "{err}"
    );
    // A value the file set, refused because of an override, is at the file's own line.
    let err = load_text(
        "# partnership settings\n\n[smtp]\nhost = \"127.0.0.1\"\ntls = \"none\"\nusername = \"rrn\"\n",
        &[("RRN_SMTP__PORT", "2525")],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("rrn.toml:6:12: [smtp] username"), "{err}");

    for host in ["localhost", "127.0.0.1", "::1", "127.0.0.2"] {
        let config = load_text(&format!("[smtp]\nhost = \"{host}\"\ntls = \"none\"\n"), &[]);
        assert!(config.is_ok(), "{host}: {config:?}");
    }
    let login = "[smtp]\nhost = \"127.0.0.1\"\ntls = \"none\"\nusername = \"rrn\"\n";
    let err = load_text(login, &[]).unwrap_err().to_string();
    assert!(err.contains("rrn.toml:4:12"), "{err}");
    assert!(
        err.contains("clear text") && err.contains("allow_plaintext_auth = true"),
        "{err}"
    );
    let allowed = format!("{login}allow_plaintext_auth = true\n");
    assert!(load_text(&allowed, &[]).unwrap().smtp.allow_plaintext_auth);
    // TLS protects the login: nothing to allow.
    let tls = "[smtp]\nhost = \"smtp.partnership.example\"\nusername = \"rrn\"\n";
    assert!(load_text(tls, &[]).is_ok());
}

#[test]
fn an_unknown_key_is_located_by_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rrn.toml");
    std::fs::write(
        &path,
        "[partnership]\nname = \"x\"\ndivison = \"scotland\"\n",
    )
    .unwrap();
    let err = Config::load_from(Some(&path), &[]).unwrap_err().to_string();
    assert!(err.contains("rrn.toml:3:1"), "{err}");
    assert!(err.contains("divison"), "{err}");
}

#[test]
fn a_relative_sqlite_path_is_relative_to_the_config_folder() {
    let base = Path::new("/etc/rapid-review-notifier");
    for (url, resolved) in [
        (
            "sqlite://rrn.db",
            "sqlite:///etc/rapid-review-notifier/rrn.db",
        ),
        (
            "sqlite:state/rrn.db?mode=rwc",
            "sqlite:///etc/rapid-review-notifier/state/rrn.db?mode=rwc",
        ),
        (
            "sqlite:///var/lib/rrn/rrn.db",
            "sqlite:///var/lib/rrn/rrn.db",
        ),
        ("sqlite::memory:", "sqlite::memory:"),
        ("postgres://rrn@db/rrn", "postgres://rrn@db/rrn"),
    ] {
        assert_eq!(super::resolve_sqlite_url(url, base), resolved, "{url}");
    }
}

#[test]
fn a_relative_sqlite_path_without_a_config_file_is_refused_as_ambiguous() {
    let env = |url: &str| vec![("RRN_DATABASE__URL".to_owned(), url.to_owned())];
    let err = Config::load_from(None, &env("sqlite://rrn.db"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("RRN_DATABASE__URL") && err.contains("`rrn.db` is relative"),
        "{err}"
    );
    assert!(err.contains("give an absolute path"), "{err}");
    // Absolute paths, memory and PostgreSQL are not ambiguous.
    for url in [
        "sqlite:///var/lib/rrn/rrn.db",
        "sqlite::memory:",
        "postgres://rrn@db/rrn",
    ] {
        assert!(Config::load_from(None, &env(url)).is_ok(), "{url}");
    }
}

#[test]
fn a_password_in_a_database_url_is_never_shown() {
    assert_eq!(
        super::shown_url("postgres://rrn:s3cret@db.example/rrn?sslmode=require"),
        "postgres://rrn:***@db.example/rrn?sslmode=require"
    );
    assert_eq!(
        super::shown_url("postgres://rrn@db/rrn"),
        "postgres://rrn@db/rrn"
    );
    assert_eq!(
        super::shown_url("sqlite:///var/lib/rrn.db"),
        "sqlite:///var/lib/rrn.db"
    );
}

#[test]
fn the_sending_window_is_parsed_at_load_and_a_bad_one_is_refused_at_its_key() {
    let config = load_text("[mail]\nwindow_start = \"07:30\"\n", &[]).unwrap();
    assert_eq!(
        config.sending_window().0,
        chrono::NaiveTime::from_hms_opt(7, 30, 0).unwrap()
    );
    let bad = load_text("[mail]\nwindow_start = \"8am\"\n", &[])
        .unwrap_err()
        .to_string();
    assert!(
        bad.contains(":2:") && bad.contains("`8am` is not a time"),
        "{bad}"
    );
    let backwards = load_text(
        "[mail]\nwindow_start = \"18:00\"\nwindow_end = \"08:00\"\n",
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(
        backwards.contains("is not after window_start 18:00"),
        "{backwards}"
    );
}

/// Issue 12: a value of the wrong type is refused at its place, in words.
#[test]
fn a_value_of_the_wrong_type_is_refused_in_words_at_its_place() {
    let refused = |toml: &str| {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rrn.toml");
        std::fs::write(&file, toml).unwrap();
        Config::load_from(Some(&file), &[]).unwrap_err().to_string()
    };
    let said = refused("[schedule]\npoll_seconds = \"10\"\n");
    assert!(
        said.contains(":2:16: poll_seconds: a number of seconds, e.g. 10, not the text \"10\""),
        "{said}"
    );
    let said = refused("[partnership]\nstatutory_limit_working_days = -3\n");
    assert!(
        said.contains(
            ":2:32: statutory_limit_working_days: a whole number, e.g. 10, not the number -3"
        ),
        "{said}"
    );
    let said = refused("[mail]\ntransport = \"smpt\"\n");
    assert!(
        said.contains(
            ":2:13: transport: \"smpt\" is not one of the choices: write \"maildir\" or \"smtp\""
        ),
        "{said}"
    );
    let said = refused("[csv]\ndate_format = \"MM/DD/YYYY\"\n");
    assert!(
        said.contains("write \"DD/MM/YYYY\", \"dd/mm/yyyy\", \"ISO\", \"YYYY-MM-DD\", \"iso\" or \"yyyy-mm-dd\""),
        "{said}"
    );
    let said = refused("[partnership]\ntimezone = \"Europe/Londn\"\n");
    assert!(
        said.contains(":2:12: timezone: \"Europe/Londn\" is not a timezone: write its IANA name"),
        "{said}"
    );
    let said = refused("[web]\nlisten = \"localhost:80\"\n");
    assert!(
        said.contains(":2:10: listen: \"localhost:80\" is not an address and port"),
        "{said}"
    );
    let said = refused("[mail]\nheartbeat = \"yes\"\n");
    assert!(
        said.contains("heartbeat: true or false (without quotes), not the text \"yes\""),
        "{said}"
    );
}

#[test]
fn settings_under_which_mail_reaches_no_one_are_refused_with_where_they_are() {
    let admin = "[contacts]\nadmin = { name = \"IT\", email = \"it@council.example\" }\n";
    // SMTP with no relay named would quietly try localhost.
    let err = load_text(&format!("[mail]\ntransport = \"smtp\"\n\n{admin}"), &[]).unwrap_err();
    assert!(err.refused());
    let err = err.to_string();
    assert!(
        err.contains("rrn.toml:2:13") && err.contains("[smtp] host"),
        "{err}"
    );
    // SMTP with no one to tell of a failed email.
    let err = load_text(
        "[mail]\ntransport = \"smtp\"\n\n[smtp]\nhost = \"smtp.council.example\"\n",
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("[contacts] admin"), "{err}");
    let smtp = format!(
        "[mail]\ntransport = \"smtp\"\n\n[smtp]\nhost = \"smtp.council.example\"\n\n{admin}"
    );
    assert!(load_text(&smtp, &[]).is_ok());

    // An address whose domain has no dot is a slip, unless the relay delivers such names.
    let local = "[contacts]\ncsc_manager = { name = \"CSC\", email = \"csc-manager@council\" }\n";
    let err = load_text(local, &[]).unwrap_err().to_string();
    assert!(
        err.contains("rrn.toml:2:39")
            && err.contains("csc-manager@council")
            && err.contains("allow_local_domains"),
        "{err}"
    );
    let allowed = format!("[mail]\nallow_local_domains = true\n\n{local}");
    assert!(load_text(&allowed, &[]).is_ok());
}

/// Issue 12: a cron pattern rrn cannot read is refused at the pattern itself, in our words,
/// never croner's.
#[test]
fn a_schedule_rrn_cannot_read_is_refused_at_the_pattern_in_our_words() {
    let err = load_text(
        "[partnership]\nname = \"P\"\n\n[schedule]\nruns = [\"0 8 * * Mon-Fri\", \"0 61 * * *\"]\n",
        &[],
    )
    .unwrap_err();
    assert!(err.refused());
    let err = err.to_string();
    assert!(
        err.contains(
            "rrn.toml:5:28: [schedule] runs: `0 61 * * *` is not a schedule rrn understands: \
             it has hour 61, and an hour is 0 to 23; write five fields `minute hour day month \
             weekday`, e.g. \"0 8 * * Mon-Fri\""
        ),
        "{err}"
    );
    let err = load_text("[schedule]\nruns = [\"0 0 8 * * Mon-Fri\"]\n", &[])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("rrn.toml:2:9:") && err.contains("no seconds field"),
        "{err}"
    );
    assert!(!err.to_lowercase().contains("pattern must"), "{err}");
}

/// Issue 12: a sending window that is not a time, or that ends before it starts, is refused at
/// the value.
#[test]
fn a_sending_window_that_ends_before_it_starts_is_refused_at_window_end() {
    let err = load_text(
        "[mail]\nwindow_start = \"18:00\"\nwindow_end = \"08:00\"\n",
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("rrn.toml:3:14: [mail] window_end 08:00 is not after window_start 18:00"),
        "{err}"
    );
    let err = load_text("[mail]\nwindow_start = \"19:00\"\n", &[])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("rrn.toml:2:16: [mail] window_end 18:00 is not after window_start 19:00"),
        "{err}"
    );
    let err = load_text("[mail]\nwindow_end = \"6pm\"\n", &[])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("rrn.toml:2:14") && err.contains("`6pm` is not a time: use HH:MM"),
        "{err}"
    );
}

/// A number of seconds of 0 would spin or never wait: refused at its key.
#[test]
fn a_number_of_seconds_of_zero_is_refused_at_its_key() {
    let err = load_text("[service]\nlease_seconds = 0\n", &[])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("rrn.toml:2:17: [service] lease_seconds is 0"),
        "{err}"
    );
}

/// Issue 12: a division is read without regard to case, in the file and in a variable, and a
/// wrong one is refused naming the three there are.
#[test]
fn a_division_is_read_in_any_case_and_a_wrong_one_names_the_three() {
    for spelling in [
        "england-and-wales",
        "England-and-Wales",
        "ENGLAND-AND-WALES",
    ] {
        let config = load_text(&format!("[partnership]\ndivision = \"{spelling}\"\n"), &[])
            .unwrap_or_else(|e| panic!("{spelling}: {e}"));
        assert_eq!(config.partnership.division, Division::EnglandAndWales);
    }
    let config = load_text(
        "[partnership]\ndivision = \"scotland\"\n",
        &[("RRN_PARTNERSHIP__DIVISION", "Northern-Ireland")],
    )
    .unwrap();
    assert_eq!(config.partnership.division, Division::NorthernIreland);

    let err = load_text("[partnership]\ndivision = \"Wales\"\n", &[])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "rrn.toml:2:12: unknown division `Wales`: write england-and-wales, scotland or \
             northern-ireland"
        ),
        "{err}"
    );
    let err = load_text("", &[("RRN_PARTNERSHIP__DIVISION", "WALES")])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("RRN_PARTNERSHIP__DIVISION")
            && err.contains("england-and-wales, scotland or northern-ireland"),
        "{err}"
    );
}

/// A schedule or window a variable sets is refused naming the variable.
#[test]
fn a_schedule_or_window_from_a_variable_is_refused_naming_the_variable() {
    let err = load_text("", &[("RRN_SCHEDULE__RUNS", "[\"0 8 * * Mon-Fry\"]")])
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(
            "environment variable RRN_SCHEDULE__RUNS: [schedule] runs: `0 8 * * Mon-Fry`"
        ) && err.contains("its weekday `Fry` is not one"),
        "{err}"
    );
    let err = load_text("", &[("RRN_MAIL__WINDOW_END", "07:00")])
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("environment variable RRN_MAIL__WINDOW_END: [mail] window_end 07:00"),
        "{err}"
    );
}

/// `[mail] from` is checked at its key when the config is loaded, not when the first email is
/// made (where the mail library's "Invalid input" said nothing of where or why).
#[test]
fn a_sender_that_is_not_an_address_is_refused_at_its_key() {
    for from in [
        "rrn@partnership.example",
        "Rapid Review Notifier <rrn@partnership.example>",
        "\\\"Rapid Review, Notifier\\\" <rrn@partnership.example>",
    ] {
        let config = load_text(&format!("[mail]\nfrom = \"{from}\"\n"), &[]);
        assert!(config.is_ok(), "{from}: {config:?}");
    }
    let err = load_text(
        "[mail]\nfrom = \"Rapid Review <rrn@partnership.example\"\n",
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains(
            "rrn.toml:2:8: [mail] from `Rapid Review <rrn@partnership.example` is not a \
             sender: its `<` has no closing `>`"
        ),
        "{err}"
    );
}

/// A variable's value of the wrong kind is put in the same words as the file's.
#[test]
fn a_variable_of_the_wrong_kind_is_refused_in_words() {
    let err = load_text("", &[("RRN_PARTNERSHIP__TIMEZONE", "Europe/Londn")])
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "environment variable RRN_PARTNERSHIP__TIMEZONE: timezone: \"Europe/Londn\" is not a \
         timezone: write its IANA name, e.g. \"Europe/London\""
    );
    let err = load_text("", &[("RRN_SCHEDULE__POLL_SECONDS", "-1")])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("poll_seconds: a number of seconds, e.g. 10, not the number -1"),
        "{err}"
    );
}
