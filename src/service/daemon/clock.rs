//! The clock watch: the daemon holds while the wall clock is more than a day ahead of the time
//! that really passed.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tracing::error;

/// The wall clock and the monotonic clock at the last wake-up that acted, to notice a jump.
#[derive(Default)]
pub(super) struct ClockWatch {
    reference: Option<(DateTime<Utc>, Instant)>,
    holding: bool,
}
impl ClockWatch {
    /// Why to hold, while the wall clock is more than a day ahead of the time that really
    /// passed (stepped, or a bad NTP source): such a clock would plan days that have not come
    /// and use up their reminders. The hold ends when it comes back, or at a restart, which
    /// accepts the new time.
    pub(super) fn hold(&mut self, now: DateTime<Utc>) -> Option<String> {
        let reading = (now, Instant::now());
        let (since_wall, since_instant) = self.reference.unwrap_or(reading);
        if let Some(ahead) = clock_jump(now - since_wall, reading.1 - since_instant) {
            let reason = format!(
                "the clock jumped {} ahead of the time that passed since {since_wall}: nothing is \
                 planned or sent until it comes back; if the new time is right, restart the \
                 service to accept it",
                humanise(ahead)
            );
            if !self.holding {
                error!("{reason}");
                self.holding = true;
            }
            return Some(reason);
        }
        self.holding = false;
        self.reference = Some(reading);
        None
    }
}
/// How far the wall clock moved beyond the time that really passed, when that is more than a
/// day (`None` for drift, NTP slews, or a clock that went back). The monotonic clock stands
/// still while a machine is suspended, so a suspension of over a day counts too: a restart
/// accepts the new time.
pub(super) fn clock_jump(wall: chrono::Duration, passed: Duration) -> Option<chrono::Duration> {
    let passed = chrono::Duration::from_std(passed).unwrap_or(chrono::Duration::MAX);
    let ahead = wall - passed;
    (ahead > chrono::Duration::days(1)).then_some(ahead)
}
pub(super) fn humanise(d: chrono::Duration) -> String {
    match d.num_hours() {
        h if h >= 48 => format!("{} days", d.num_days()),
        h => format!("{h} hours"),
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_wall_clock_more_than_a_day_ahead_of_the_time_passed_is_a_jump() {
        let minute = Duration::from_secs(60);
        assert_eq!(clock_jump(chrono::Duration::minutes(1), minute), None);
        // A clock that went back, or a slow drift, is not a jump ahead.
        assert_eq!(clock_jump(chrono::Duration::hours(-5), minute), None);
        assert_eq!(clock_jump(chrono::Duration::hours(23), minute), None);
        assert_eq!(
            clock_jump(chrono::Duration::days(3), minute),
            Some(chrono::Duration::days(3) - chrono::Duration::minutes(1))
        );
        // Three days that really passed (a long pause between wake-ups) are no jump.
        assert_eq!(
            clock_jump(chrono::Duration::days(3), Duration::from_secs(3 * 86_400)),
            None
        );
        assert_eq!(humanise(chrono::Duration::days(3)), "3 days");
        assert_eq!(humanise(chrono::Duration::hours(30)), "30 hours");
    }
}
