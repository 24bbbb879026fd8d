//! What the daemon tells systemd: READY, STOPPING, the watchdog, and the STATUS line.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::service::Service;
use crate::store::Store;

/// The text with every word that holds an `@` replaced: a config error quotes the line it
/// found, and the log never carries an address.
pub(super) fn redact_addresses(text: &str) -> String {
    text.split_inclusive(char::is_whitespace)
        .map(|word| {
            if word.contains('@') {
                let end = &word[word.trim_end().len()..];
                format!("[address]{end}")
            } else {
                word.to_owned()
            }
        })
        .collect()
}
/// What `systemctl status` shows: the next run and the queue.
pub(super) async fn status_line(service: &Service, store: &Store, now: DateTime<Utc>) -> String {
    let next = service
        .schedule
        .next_after(now)
        .map(|at| {
            at.with_timezone(&service.config.partnership.timezone)
                .format("%a %Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|| "none".to_owned());
    match store.outbox_counts().await {
        Ok(counts) => format!(
            "next run {next}; {} emails pending; {} failed",
            counts.pending + counts.in_flight,
            counts.failed
        ),
        Err(e) => format!("next run {next}; database unavailable: {e}"),
    }
}
/// The STATUS line's lead after a refused reload: the local time and the first line of the
/// reason (a config error's `file:line:column: message`; its quoted source line and caret stay
/// in the journal), at most [`REFUSAL_CHARS`] characters of it.
pub(super) fn refused_reload_line(at: chrono::NaiveTime, reason: &str) -> String {
    let first = reason
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("invalid");
    let mut shown: String = first.chars().take(REFUSAL_CHARS).collect();
    if shown.len() < first.len() {
        shown.push('…');
    }
    format!(
        "configuration reload refused at {}: {shown}",
        at.format("%H:%M")
    )
}
/// A STATUS line is one line of `systemctl status`: the reason is cut there.
const REFUSAL_CHARS: usize = 160;
/// Sends `line` as the STATUS, when it differs from the `last` one sent.
pub(super) fn status(last: &mut String, line: String) {
    if line != *last {
        let _ = notify(&[sd_notify::NotifyState::Status(&line)]);
        *last = line;
    }
}
/// Tells the service manager (`$NOTIFY_SOCKET`) about `states`, never waiting: a datagram the
/// socket cannot take at once is dropped. sd-notify's own `notify` sends blocking, and a
/// listener that stops reading (the socket queue holds 10 datagrams) would stall the daemon,
/// signals included.
pub(super) fn notify(states: &[sd_notify::NotifyState]) -> std::io::Result<()> {
    use std::os::linux::net::SocketAddrExt as _;
    use std::os::unix::net::{SocketAddr, UnixDatagram};
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return Ok(());
    };
    let message: String = states.iter().map(|s| format!("{s}\n")).collect();
    let socket = UnixDatagram::unbound()?;
    socket.set_nonblocking(true)?;
    let bytes = std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str());
    let address = match bytes.strip_prefix(b"@") {
        Some(name) => SocketAddr::from_abstract_name(name)?,
        None => SocketAddr::from_pathname(&path)?,
    };
    socket.send_to_addr(message.as_bytes(), &address)?;
    Ok(())
}
/// Half the systemd watchdog period, when one is set.
pub(super) fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled()
        .map(|period| period / 2)
        .filter(|d| !d.is_zero())
}
