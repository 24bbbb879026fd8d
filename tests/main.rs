//! The integration tests, in one binary: one module per area, whose tests are named
//! `AREA::TEST` (`cargo test --test main -- calendar::` runs one area; the store's scenarios are
//! `store::sqlite::NAME` and `store::postgres::NAME`).
//!
//! The harness is libtest-mimic (`harness = false` in Cargo.toml), because a PostgreSQL test
//! must be reported ignored, with the reason, when there is no server (`common::db`), which
//! libtest cannot do at run time. A test is a plain `fn()` that panics to fail, listed in its
//! module's `trials!`; it runs on a thread named after it, so a panic's message names the test,
//! as under libtest. The tests share this process and run in parallel (`--test-threads`): a
//! test gives its settings to the commands it starts (`Command::env`, `Command::current_dir`),
//! never to the process.

use libtest_mimic::{Arguments, Completion, Failed, Trial};

/// `pub fn trials()` of an area's module: a trial `AREA::NAME` for each test function `NAME`
/// listed (a `#[cfg(...)]` before a name applies to its trial).
macro_rules! trials {
    ($($(#[$meta:meta])* $test:ident),* $(,)?) => {
        // Pushed one by one, so that a `#[cfg]` can leave one out.
        #[allow(clippy::vec_init_then_push)]
        pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
            let mut trials = Vec::new();
            $(
                $(#[$meta])*
                trials.push(crate::trial(
                    crate::test_name(module_path!(), stringify!($test)),
                    $test,
                ));
            )*
            trials
        }
    };
}

mod common;

mod architecture;
mod calendar;
mod cli;
mod daemon;
mod failover;
mod impact;
mod mail;
mod plan;
mod report;
mod schedule;
mod store;
mod story;
mod timeline;
mod web;

fn main() {
    let args = Arguments::from_args();
    let trials: Vec<Trial> = [
        architecture::trials(),
        calendar::trials(),
        cli::trials(),
        cli::root_trials(),
        daemon::trials(),
        daemon::faketime_trials(),
        failover::trials(),
        impact::trials(),
        mail::trials(),
        mail::postgres_trials(),
        plan::trials(),
        report::trials(),
        schedule::trials(),
        store::trials(),
        story::trials(),
        timeline::trials(),
        web::trials(),
    ]
    .into_iter()
    .flatten()
    .collect();
    libtest_mimic::run(&args, trials).exit();
}

/// `AREA::NAME` for the test `NAME` of the module at `module_path` (`main::AREA`, or deeper).
fn test_name(module_path: &str, name: &str) -> String {
    let area = module_path.split_once("::").map_or(module_path, |(_, a)| a);
    format!("{area}::{name}")
}

/// A trial that passes unless `test` panics.
fn trial(name: String, test: fn()) -> Trial {
    ignorable_trial(name, move || {
        test();
        Ok(Completion::Completed)
    })
}

/// A trial whose test may say at run time that it cannot run (`Completion::Ignored`), or fail
/// with a message (`Err`) or a panic.
fn ignorable_trial(
    name: String,
    test: impl FnOnce() -> Result<Completion, Failed> + Send + 'static,
) -> Trial {
    let thread = name.clone();
    Trial::ignorable_test(name, move || named_thread(thread, test))
}

/// Runs `test` on a thread named `name`, so the panic hook's message names the test; a panic
/// fails the test with its message.
fn named_thread(
    name: String,
    test: impl FnOnce() -> Result<Completion, Failed> + Send + 'static,
) -> Result<Completion, Failed> {
    let thread = std::thread::Builder::new()
        .name(name)
        .spawn(test)
        .expect("a thread for the test");
    thread.join().unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("(a panic without a message)");
        Err(format!("test panicked: {message}").into())
    })
}
