//! Helpers shared by the integration tests.

use std::process::Command;

/// `rrn` with every `RRN_*` variable of the test process removed from its environment, so the
/// machine's settings cannot leak into a test.
pub fn rrn_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rrn"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("RRN_") {
            command.env_remove(name);
        }
    }
    command
}
