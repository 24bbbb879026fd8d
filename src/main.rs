//! The `rrn` binary: parse the arguments, run the command, print, map errors to exit statuses.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // One TLS provider for the process, whatever else the dependency tree enables.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = rrn::cli::Cli::parse();
    match rrn::cli::run(cli) {
        Ok(output) => {
            // A closed pipe (`rrn … | head`) is not an error worth reporting.
            let _ = std::io::stdout().lock().write_all(output.as_bytes());
            ExitCode::SUCCESS
        }
        Err(error) => {
            if let Some(output) = error.output() {
                let _ = std::io::stdout().lock().write_all(output.as_bytes());
            }
            eprintln!("rrn: error: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
