//! Rebuild when a migration changes (`sqlx::migrate!` embeds the folders at compile time), and
//! give `rrn --version` the commit it is built from (`RRN_GIT_COMMIT`, `unknown` outside a git
//! checkout, as in a source tarball).
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=migrations/sqlite");
    println!("cargo:rerun-if-changed=migrations/postgres");
    println!("cargo:rerun-if-env-changed=RRN_GIT_COMMIT");
    let commit = std::env::var("RRN_GIT_COMMIT")
        .ok()
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=RRN_GIT_COMMIT={commit}");
    // HEAD moves on every commit and checkout: its reflog changes each time (a worktree keeps
    // its own, hence --git-path rather than .git/).
    for path in ["HEAD", "logs/HEAD"] {
        if let Some(file) = git(&["rev-parse", "--git-path", path]) {
            println!("cargo:rerun-if-changed={file}");
        }
    }
}

/// The trimmed output of a git command that succeeded.
fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    (output.status.success() && !text.trim().is_empty()).then(|| text.trim().to_owned())
}
