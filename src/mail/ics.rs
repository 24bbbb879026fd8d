//! The `deadlines.ics` attachment: an email's due dates as calendar entries that later emails
//! about the same deadline update.

use icalendar::{Component as _, EventLike as _};

use super::ids::id_part;
use super::render::{Renderer, clean};
use crate::domain::plan::Email;

impl Renderer {
    /// The email's deadlines as an iCalendar file (RFC 5545): an all-day VEVENT per item with
    /// a due date. The UID names the deadline (case, milestone, agency), so every email about it
    /// updates one calendar entry; the SEQUENCE is the outbox row, which only grows, so the
    /// newest email wins. `None` when no item has a due date.
    pub(super) fn deadlines(&self, email: &Email, outbox_id: i64) -> Option<String> {
        // `empty`, not `new`: `new` brings its own PRODID, and RFC 5545 allows exactly one.
        let mut calendar = icalendar::Calendar::empty();
        for (name, value) in [
            ("VERSION", "2.0"),
            ("PRODID", "-//rapid-review-notifier//EN"),
            ("CALSCALE", "GREGORIAN"),
            ("METHOD", "PUBLISH"),
        ] {
            calendar.append_property(icalendar::Property::new(name, value));
        }
        let mut any = false;
        for notification in &email.items {
            let (Some(due), Some(case), Some(milestone)) = (
                notification.item.due,
                &notification.case,
                &notification.milestone,
            ) else {
                continue;
            };
            let agency = notification.agency.as_ref().map_or("-", |a| a.as_str());
            let uid = format!(
                "rrn.{}.{}.{}@{}",
                id_part(case.as_str()),
                id_part(milestone),
                id_part(agency),
                self.domain
            );
            let summary = clean(&format!(
                "{} Rapid Review {case}: {} due",
                self.marking, notification.item.title
            ));
            let mut event = icalendar::Event::new();
            event
                .uid(&uid)
                .summary(&summary)
                // An all-day event: DTEND is exclusive, the day after.
                .starts(due)
                .ends(due.succ_opt().unwrap_or(due))
                .sequence(u32::try_from(outbox_id).unwrap_or(u32::MAX));
            if let Some(derivation) = &notification.item.derivation {
                event.description(derivation);
            }
            calendar.push(event.done());
            any = true;
        }
        any.then(|| calendar.done().to_string())
    }
}
