//! The `rrn` binary: parse the arguments, run the command on stdout, map errors to exit
//! statuses.

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // One TLS provider for the process, whatever else the dependency tree enables.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = rrn::cli::Cli::parse();
    let mut stdout = rrn::cli::Stdout::new();
    let result = rrn::cli::run(cli, &mut stdout);
    // What the command wrote comes before what went wrong with it.
    let _ = stdout.flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("rrn: error: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
