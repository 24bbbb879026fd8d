//! [`Urgency`]: how pressing something is, so that listings, digests and the daily summary put
//! the most pressing first.

use std::cmp::Reverse;

use crate::domain::timeline::Status;

/// Smaller is more urgent: overdue (longest first), due today, open, not yet open, awaiting its
/// anchor, done late, done on time. Notices that are not about a deadline rank by [`Self::REQUEST`]
/// and [`Self::NOTICE`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Urgency {
    rank: u8,
    overdue_longest_first: Reverse<i32>,
}

impl Urgency {
    /// A request for work with a deadline not yet near (the day-1 letters).
    pub const REQUEST: Self = Self::ranked(3);
    /// Information, nothing to do by a date (the Chair's notice, the submission's courtesy note).
    pub const NOTICE: Self = Self::ranked(4);
    /// Below everything: a case with nothing left to rank.
    pub const LEAST: Self = Self::ranked(u8::MAX);

    const fn ranked(rank: u8) -> Self {
        Self {
            rank,
            overdue_longest_first: Reverse(0),
        }
    }

    /// The urgency of a milestone in this status.
    pub fn of(status: Status) -> Self {
        match status {
            Status::Overdue { working_days } => Self {
                rank: 0,
                overdue_longest_first: Reverse(working_days),
            },
            Status::DueToday => Self::ranked(1),
            Status::Open => Self::ranked(2),
            Status::NotYetOpen => Self::ranked(3),
            Status::AwaitingAnchor => Self::ranked(4),
            Status::DoneLate { .. } => Self::ranked(5),
            Status::DoneOnTime => Self::ranked(6),
        }
    }

    /// Whether this is the urgency of an overdue milestone.
    pub fn is_overdue(self) -> bool {
        self.rank == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_overdue_is_the_most_urgent_and_done_on_time_the_least() {
        let order = [
            Status::Overdue { working_days: 5 },
            Status::Overdue { working_days: 1 },
            Status::DueToday,
            Status::Open,
            Status::NotYetOpen,
            Status::AwaitingAnchor,
            Status::DoneLate { working_days: 2 },
            Status::DoneOnTime,
        ];
        let urgencies: Vec<Urgency> = order.into_iter().map(Urgency::of).collect();
        assert!(urgencies.windows(2).all(|w| w[0] < w[1]), "{urgencies:?}");
        assert!(Urgency::of(Status::DoneOnTime) < Urgency::LEAST);
        assert!(Urgency::of(order[1]).is_overdue() && !Urgency::of(Status::DueToday).is_overdue());
    }
}
