//! The pure core: working days, the timeline and its evaluation, cases, and notification
//! planning. Everything here takes `today` as an argument and reads no clock, file, environment
//! or database, so any day can be replayed and tested.

pub mod account;
pub mod address;
pub mod agency;
pub mod calendar;
pub mod case;
pub mod contacts;
pub mod diagnostic;
pub mod impact;
pub mod listing;
pub mod plan;
pub mod record;
pub mod report;
pub mod timeline;
pub mod urgency;
