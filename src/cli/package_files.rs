//! `rrn dev package-files DIR`: the man pages (`rrn(1)` and one per command, clap_mangen) and the
//! bash, zsh and fish completions (clap_complete), made from the clap definitions the binary
//! parses with, so they cannot drift from it. `deploy/build-deb` runs it between the release
//! build and `cargo deb`; a build script cannot, since the definitions use the library's types.

use std::path::Path;

use anyhow::Context as _;
use clap::CommandFactory as _;

use super::{Cli, CliError};

/// Writes `DIR/man/rrn.1`, `DIR/man/rrn-case.1`, … and `DIR/completions/{rrn.bash,_rrn,rrn.fish}`.
pub(super) fn write(dir: &Path, out: &mut dyn std::io::Write) -> Result<(), CliError> {
    let man = dir.join("man");
    let completions = dir.join("completions");
    for folder in [&man, &completions] {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("creating {}", folder.display()))?;
    }
    let command = Cli::command();
    write_man_pages(&command, &man)?;
    for shell in [
        clap_complete::Shell::Bash,
        clap_complete::Shell::Zsh,
        clap_complete::Shell::Fish,
    ] {
        clap_complete::generate_to(shell, &mut command.clone(), "rrn", &completions)
            .with_context(|| format!("writing the {shell} completions"))?;
    }
    writeln!(out, "{}\n{}", man.display(), completions.display()).context("writing stdout")?;
    Ok(())
}

/// A page for the command and, recursively, one for each visible subcommand
/// (`rrn-case.1`, `rrn-case-open.1`); the hidden developer commands and clap's `help`
/// subcommands get none.
fn write_man_pages(command: &clap::Command, man: &Path) -> anyhow::Result<()> {
    let mut command = command.clone();
    command.build();
    write_page(&command, man)
}

fn write_page(command: &clap::Command, man: &Path) -> anyhow::Result<()> {
    let path = man.join(format!("{}.1", command.get_display_name().unwrap_or("rrn")));
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone())
        .render(&mut page)
        .with_context(|| format!("rendering {}", path.display()))?;
    std::fs::write(&path, page).with_context(|| format!("writing {}", path.display()))?;
    // clap's own `help` subcommands say what `--help` says: no page of their own.
    for sub in command
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        write_page(sub, man)?;
    }
    Ok(())
}
