//! rapid-review-notifier: keeps child-safeguarding Rapid Reviews on their working-day clock.
//!
//! The data flows one way: config -> calendar -> timeline evaluation -> notification planning
//! -> outbox -> delivery -> audit, with the CLI (and later the web workspace) as edges over the
//! same casework and store. See ARCHITECTURE.md for the codemap and the invariants.

/// The business team's actions on cases, checked and written as one transaction each.
pub mod casework;
/// The `rrn` command line: one handler per command over the library.
pub mod cli;
/// The configuration file, read once into the values the domain defines.
pub mod config;
/// What a Rapid Review is and what is due when: pure, never reads the clock, a file or a database.
pub mod domain;
/// Emails: rendering with the partnership's templates, and the transports that carry them.
pub mod mail;
/// Running it: the evaluation run, delivery, the daemon and what it reports about itself.
pub mod service;
/// The case store over SQLite or PostgreSQL: the only module with SQL.
pub mod store;
/// The web workspace (`rrn web`): the business team's casework in a browser, behind a sign-in.
pub mod web;
