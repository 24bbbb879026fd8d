//! When the daemon evaluates: cron patterns read in the partnership's timezone. Pure: the
//! caller passes the instants.
//!
//! Every occurrence is computed afresh in the named zone (croner + chrono-tz), so 08:00 London
//! is 08:00 UTC in winter and 07:00 UTC in summer. The daemon's tick (tokio-cron-scheduler, in
//! UTC, where nothing shifts) only asks [`Schedule::latest_between`] whether an occurrence fell
//! since the previous tick; tokio-cron-scheduler's own `*_tz` jobs freeze the offset at
//! creation and would run an hour late after the March change.
//!
//! A pattern croner refuses is explained in our words ([`ScheduleError`]): which field holds
//! what, and what that field takes; croner's own message never reaches a person.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::str::FromStr;

use croner::Cron;

/// The evaluation schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    patterns: Vec<(String, Cron)>,
    timezone: Tz,
}

/// A pattern of `[schedule] runs` that is not a schedule rrn understands: which one (by its
/// place in the list, for the caret) and what is wrong with it, in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "[schedule] runs: `{pattern}` is not a schedule rrn understands: {problem}; write five \
     fields `minute hour day month weekday`, e.g. \"0 8 * * Mon-Fri\" (08:00 Monday to Friday)"
)]
pub struct ScheduleError {
    /// The pattern's place in `runs`, from 0.
    pub index: usize,
    pub pattern: String,
    /// What is wrong, in words: "it has minute 61, and a minute is 0 to 59".
    pub problem: String,
}

impl Schedule {
    /// Five-field cron patterns (minute hour day-of-month month day-of-week), Vixie semantics.
    pub fn new(patterns: &[String], timezone: Tz) -> Result<Self, ScheduleError> {
        let patterns = patterns
            .iter()
            .enumerate()
            .map(|(index, pattern)| {
                let refused = |problem: String| ScheduleError {
                    index,
                    pattern: pattern.clone(),
                    problem,
                };
                let fields: Vec<&str> = pattern.split_whitespace().collect();
                if fields.len() != 5 {
                    return Err(refused(field_count(&fields)));
                }
                match Cron::from_str(pattern) {
                    Ok(cron) => Ok((pattern.clone(), cron)),
                    Err(_) => Err(refused(diagnose(&fields).unwrap_or_else(|| {
                        "one of its fields is not written as cron writes it".to_owned()
                    }))),
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { patterns, timezone })
    }

    pub fn timezone(&self) -> Tz {
        self.timezone
    }

    /// The first occurrence strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = after.with_timezone(&self.timezone);
        self.patterns
            .iter()
            .filter_map(|(_, cron)| cron.find_next_occurrence(&local, false).ok())
            .map(|at| at.with_timezone(&Utc))
            .min()
    }

    /// The last occurrence in `(after, upto]`, if any: a tick at `upto` that follows one at
    /// `after` runs once for it, however many occurrences it spans.
    pub fn latest_between(
        &self,
        after: DateTime<Utc>,
        upto: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let local = upto.with_timezone(&self.timezone);
        self.patterns
            .iter()
            .filter_map(|(_, cron)| cron.find_previous_occurrence(&local, true).ok())
            .map(|at| at.with_timezone(&Utc))
            .filter(|at| *at > after)
            .max()
    }
}

/// "it is empty", "it has 6 fields, and the first looks like seconds, which rrn does not take".
fn field_count(fields: &[&str]) -> String {
    match fields.len() {
        0 => "it is empty".to_owned(),
        1 if fields[0].starts_with('@') => format!(
            "`{}` is a shorthand rrn does not take; write the five fields it stands for",
            fields[0]
        ),
        6 => "it has 6 fields: rrn takes no seconds field (nor a year)".to_owned(),
        1 => "it has 1 field".to_owned(),
        n => format!("it has {n} fields"),
    }
}

/// One of the five fields: its name in words, its range and the names it takes.
struct Field {
    name: &'static str,
    plural: &'static str,
    min: u32,
    max: u32,
    /// Names standing for values, from `min`: `Jan` is 1, `Sun` is 0.
    names: &'static [&'static str],
    /// What the field takes, in words.
    takes: &'static str,
}

const FIELDS: [Field; 5] = [
    Field {
        name: "minute",
        plural: "minutes",
        min: 0,
        max: 59,
        names: &[],
        takes: "a minute is 0 to 59",
    },
    Field {
        name: "hour",
        plural: "hours",
        min: 0,
        max: 23,
        names: &[],
        takes: "an hour is 0 to 23",
    },
    Field {
        name: "day of the month",
        plural: "days of the month",
        min: 1,
        max: 31,
        names: &[],
        takes: "a day of the month is 1 to 31",
    },
    Field {
        name: "month",
        plural: "months",
        min: 1,
        max: 12,
        names: &[
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ],
        takes: "a month is 1 to 12 or Jan to Dec",
    },
    Field {
        name: "weekday",
        plural: "weekdays",
        min: 0,
        max: 7,
        names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
        takes: "a weekday is 0 to 7 (0 and 7 are Sunday) or Mon to Sun",
    },
];

/// What is wrong with a five-field pattern croner refused, in words; `None` when it is nothing
/// these checks know (croner's special characters, say), and the caller says it generally.
fn diagnose(fields: &[&str]) -> Option<String> {
    FIELDS
        .iter()
        .zip(fields)
        .find_map(|(field, text)| diagnose_field(field, text))
}

/// `L`, `W`, `#` and `?` (the last day, the nearest weekday, the third Friday, any): croner's
/// own extensions, left to it.
fn croner_extension(field: &Field, part: &str) -> bool {
    let upper = part.to_ascii_uppercase();
    part.contains(['#', '?'])
        || (field.names.is_empty() && upper.contains(['L', 'W']))
        || (field.name == "weekday"
            && upper
                .strip_suffix('L')
                .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit())))
}

fn diagnose_field(field: &Field, text: &str) -> Option<String> {
    for part in text.split(',') {
        if part.is_empty() {
            return Some(format!(
                "its {} `{text}` has an empty item in its list: write values between the \
                 commas, e.g. 8,13",
                field.name
            ));
        }
        if croner_extension(field, part) {
            continue;
        }
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => (range, Some(step)),
            None => (part, None),
        };
        if let Some(step) = step {
            match step.parse::<u32>() {
                Ok(0) => {
                    return Some(format!(
                        "its {} `{text}` steps by 0: write every 2nd as */2",
                        field.name
                    ));
                }
                Ok(_) => {}
                Err(_) => {
                    return Some(format!(
                        "its {} `{text}` steps by `{step}`, which is not a whole number",
                        field.name
                    ));
                }
            }
        }
        if range == "*" {
            continue;
        }
        let (first, last) = match range.split_once('-') {
            Some((first, last)) => (first, Some(last)),
            None => (range, None),
        };
        let value = |token: &str| -> Result<u32, String> {
            if let Ok(n) = token.parse::<u32>() {
                return if (field.min..=field.max).contains(&n) {
                    Ok(n)
                } else {
                    Err(format!("it has {} {n}, and {}", field.name, field.takes))
                };
            }
            let lower = token.to_ascii_lowercase();
            match field.names.iter().position(|name| *name == lower) {
                Some(i) => Ok(field.min + i as u32),
                None => Err(format!(
                    "its {} `{token}` is not one, and {}",
                    field.name, field.takes
                )),
            }
        };
        let first_value = match value(first) {
            Ok(v) => v,
            Err(problem) => return Some(problem),
        };
        if let Some(last) = last {
            let last_value = match value(last) {
                Ok(v) => v,
                Err(problem) => return Some(problem),
            };
            if last_value < first_value {
                return Some(format!(
                    "its {} `{range}` run backwards: write the earlier first, or list them, \
                     e.g. 22,23,0",
                    field.plural
                ));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(pattern: &str) -> String {
        Schedule::new(&[pattern.to_owned()], chrono_tz::Europe::London)
            .unwrap_err()
            .problem
    }

    #[test]
    fn each_field_out_of_range_is_named_with_its_range() {
        assert_eq!(
            refused("61 8 * * *"),
            "it has minute 61, and a minute is 0 to 59"
        );
        assert_eq!(
            refused("0 25 * * *"),
            "it has hour 25, and an hour is 0 to 23"
        );
        assert_eq!(
            refused("0 8 32 * *"),
            "it has day of the month 32, and a day of the month is 1 to 31"
        );
        assert_eq!(
            refused("0 8 * 13 *"),
            "it has month 13, and a month is 1 to 12 or Jan to Dec"
        );
        assert!(refused("0 8 * * 8").starts_with("it has weekday 8"));
        assert!(refused("0 8 * * Mon-Fry").starts_with("its weekday `Fry` is not one"));
        assert!(refused("0 8-x * * *").starts_with("its hour `x` is not one"));
        assert!(refused("0 18-8 * * *").contains("`18-8` run backwards"));
        assert!(refused("0 */0 * * *").contains("steps by 0"));
    }

    #[test]
    fn a_wrong_number_of_fields_is_said_in_words() {
        assert!(refused("0 0 8 * * Mon-Fri").contains("no seconds field"));
        assert_eq!(refused(""), "it is empty");
        assert!(refused("@daily").contains("shorthand"));
        assert_eq!(refused("0 8 * *"), "it has 4 fields");
    }

    #[test]
    fn what_croner_takes_is_still_taken() {
        for pattern in [
            "0 8 * * Mon-Fri",
            "30 7,13 * * 1-5",
            "*/15 8-17 * * mon-fri",
            "0 8 L * *",
            "0 8 * * 5#3",
            "0 8 ? * Sun",
            "0 8 1 Jan-Mar *",
        ] {
            assert!(
                Schedule::new(&[pattern.to_owned()], chrono_tz::Europe::London).is_ok(),
                "{pattern}"
            );
        }
    }
}
