//! `rrn user …`: the web workspace's accounts. The first admin comes from here.

use std::io::Write;
use std::path::Path;

use anyhow::Context as _;
use chrono::Utc;
use secrecy::SecretString;
use tokio::runtime::Runtime;

use super::case::{open_store, os_user};
use super::{CliError, Format, UserArgs, UserCommand, load_config, print, print_json, usage};
use crate::casework::{Accounts, MIN_PASSWORD_CHARS};

pub(super) fn run(
    runtime: &Runtime,
    config_path: Option<&Path>,
    args: UserArgs,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let config = load_config(config_path)?;
    runtime.block_on(async {
        let store = open_store(&config).await?;
        let actor = match args.actor.as_deref() {
            Some(actor) => crate::casework::check_text(Some(actor), "--actor")?
                .unwrap_or_default()
                .to_owned(),
            None => os_user()?,
        };
        let accounts = Accounts {
            store: &store,
            actor,
            now: Utc::now(),
        };
        let message = match args.command {
            UserCommand::List { format } => {
                let list = accounts.list().await?;
                return match format {
                    Format::Json => print_json(out, &list),
                    Format::Table => print(out, &table(&list)),
                };
            }
            UserCommand::Add {
                email,
                name,
                role,
                password_file,
            } => {
                let password = password(password_file.as_deref(), &email)?;
                accounts.add(&email, &name, role, password).await?;
                format!("added {email} as {role}: they can sign in to the workspace now")
            }
            UserCommand::Disable { email } => {
                accounts.disable(&email).await?;
                format!("disabled {email}: their sessions have ended")
            }
            UserCommand::Enable { email } => {
                accounts.enable(&email).await?;
                format!("enabled {email}: they can sign in again with the password they had")
            }
            UserCommand::ResetPassword {
                email,
                password_file,
            } => {
                let password = password(password_file.as_deref(), &email)?;
                accounts.reset_password(&email, password).await?;
                format!("set a new password for {email}: their sessions have ended")
            }
            UserCommand::Role { email, role } => {
                accounts.set_role(&email, role).await?;
                format!("{email} is now {role}")
            }
        };
        print(out, &format!("{message}\n"))
    })
}

fn table(list: &[crate::domain::account::Account]) -> String {
    if list.is_empty() {
        return "no accounts yet: add the first admin with `rrn user add EMAIL --name NAME --role admin`\n".to_owned();
    }
    let width = list
        .iter()
        .map(|a| a.email.as_str().len())
        .max()
        .unwrap_or(5)
        .max(5);
    let mut text = format!(
        "{:<width$}  {:<10}  {:<8}  {:<16}  NAME\n",
        "EMAIL", "ROLE", "STATE", "LAST SIGN-IN"
    );
    for a in list {
        let last = a.last_sign_in_at.map_or("never".to_owned(), |t| {
            t.format("%Y-%m-%d %H:%M").to_string()
        });
        text.push_str(&format!(
            "{:<width$}  {:<10}  {:<8}  {:<16}  {}\n",
            a.email.as_str(),
            a.role.to_string(),
            if a.disabled { "disabled" } else { "active" },
            last,
            a.name
        ));
    }
    text
}

/// The password from `--password-file` (its first line), or asked twice on the terminal.
fn password(file: Option<&Path>, email: &str) -> Result<SecretString, CliError> {
    let text = match file {
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read the password file {}", file.display()))
                .map_err(CliError::Usage)?;
            text.lines().next().unwrap_or_default().to_owned()
        }
        None => {
            let first = rpassword::prompt_password(format!(
                "Password for {email} (at least {MIN_PASSWORD_CHARS} characters): "
            ))
            .context("reading the password from the terminal (or give --password-file FILE)")
            .map_err(CliError::Usage)?;
            let second = rpassword::prompt_password("The same password again: ")
                .context("reading the password from the terminal")
                .map_err(CliError::Usage)?;
            if first != second {
                return Err(usage(anyhow::anyhow!(
                    "the two passwords differ: nothing was changed; try again"
                )));
            }
            first
        }
    };
    Ok(SecretString::from(text))
}
