//! rapid-review-notifier: keeps child-safeguarding Rapid Reviews on their working-day clock.
//!
//! The data flows one way: config -> calendar -> timeline evaluation -> (later) notification
//! planning -> outbox -> delivery -> audit. See ARCHITECTURE.md for the codemap and invariants.

pub mod agency;
pub mod calendar;
pub mod case;
pub mod casework;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod delivery;
pub mod diagnostic;
pub mod email;
pub mod mailer;
pub mod moment;
pub mod observe;
pub mod plan;
pub mod report;
pub mod run;
pub mod schedule;
pub mod service;
pub mod smtp;
pub mod store;
pub mod timeline;
