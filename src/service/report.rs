//! The compliance report of a period, for `rrn report` and the workspace's `/report`: every
//! case streamed from the store and folded into the figures one at a time, so memory holds one
//! case whatever their number.

use chrono::NaiveDate;

use crate::domain::calendar::Calendar;
use crate::domain::report::{Delay, Period, Report, Tally};
use crate::domain::timeline::Timeline;
use crate::store::{Store, StoreError};

/// The report of `period` as of `today`; `publication` is the milestone whose completion is
/// an LCSPR's publication (`None`: the timeline has none).
pub async fn compile(
    store: &Store,
    timeline: &Timeline,
    calendar: &Calendar,
    period: Period,
    today: NaiveDate,
    publication: Option<&str>,
) -> Result<Report, StoreError> {
    // Nothing records delays yet (`rrn case delay` is a later part of #16): every case is
    // counted with none, and the `delayed` figures fill in once delays can be recorded.
    let delays: &[Delay] = &[];
    let mut tally = Tally::new(timeline, calendar, period, today, publication);
    store
        .scan_every_case(|case| tally.add(&case, delays))
        .await?;
    Ok(tally.finish())
}
