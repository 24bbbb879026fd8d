//! Which database: the `--database` override, the default SQLite file in the state folder, and
//! URLs made absolute or safe to show.

use std::path::{Path, PathBuf};

/// `--database URL` from the command line: wins over the config and `RRN_DATABASE__URL` for
/// every config this process loads (a SIGHUP reload included). Set once, at the edge.
pub(super) static DATABASE_OVERRIDE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Makes every [`Config::load`] of this process use `url` as its database.
pub fn override_database(url: String) {
    let _ = DATABASE_OVERRIDE.set(url);
}

/// A database URL as it may be shown: a password in it is replaced by `***`.
pub fn shown_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            let slash = if rest.contains('/') { "/" } else { "" };
            format!("{scheme}://{user}:***@{host}{slash}{path}")
        }
        _ => url.to_owned(),
    }
}

/// An SQLite URL whose file path is relative, made relative to the config file's folder (as
/// every other path in the config is), so that the database does not depend on the folder a
/// command happens to run in. Other URLs, absolute paths and `:memory:` are kept as they are.
pub(super) fn resolve_sqlite_url(url: &str, base: &Path) -> String {
    let Some((path, query)) = relative_sqlite_path(url) else {
        return url.to_owned();
    };
    let joined = base.join(path);
    match query {
        Some(query) => format!("sqlite://{}?{query}", joined.display()),
        None => format!("sqlite://{}", joined.display()),
    }
}

/// The relative file path of an SQLite URL (and its `?query`), if it has one.
pub(super) fn relative_sqlite_path(url: &str) -> Option<(&str, Option<&str>)> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let (path, query) = rest
        .split_once('?')
        .map_or((rest, None), |(p, q)| (p, Some(q)));
    (!path.is_empty() && !path.starts_with(':') && !Path::new(path).is_absolute())
        .then_some((path, query))
}

/// The packaged service's state folder (systemd's `StateDirectory=`, owned by its user): the
/// last resort of [`state_dir`].
pub const SERVICE_STATE_DIR: &str = "/var/lib/rapid-review-notifier";

/// The default database: SQLite's `rrn.db` in the state directory.
pub fn default_sqlite_url() -> String {
    format!("sqlite://{}", state_dir().join("rrn.db").display())
}

/// Where `rrn` keeps its state (the SQLite database, the maildir): systemd's
/// `$STATE_DIRECTORY`, else `$XDG_STATE_HOME` or `~/.local/state`, in a `rapid-review-notifier`
/// folder.
pub fn state_dir() -> PathBuf {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("STATE_DIRECTORY")
        .or_else(|| env("XDG_STATE_HOME").map(|p| p.join("rapid-review-notifier")))
        .or_else(|| env("HOME").map(|p| p.join(".local/state/rapid-review-notifier")))
        .unwrap_or_else(|| PathBuf::from(SERVICE_STATE_DIR))
}
