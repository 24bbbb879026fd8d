//! Root and the service's database: `rrn` run as root must not create files beside a database
//! that belongs to another user (the write-ahead log, its index, the lock files), nor create the
//! service's state folder: root-owned files there stop the service, which runs as its own user.
//!
//! As root, an SQLite database is refused when the file, or the nearest folder above it that
//! exists, belongs to another user, and when it would be created inside the service's state
//! folder before that folder exists. The edge may allow it on purpose ([`allow_root`]).

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::StoreError;

/// What the edge told the store: root allowed on purpose, and the service's state folder.
static GUARD: OnceLock<RootGuard> = OnceLock::new();

/// How the store treats a process running as root.
#[derive(Debug, Clone, Default)]
pub struct RootGuard {
    /// Root may open and create any database (`--allow-root`, `RRN_ALLOW_ROOT=1`).
    pub allowed: bool,
    /// The service's own state folder, which root must not create.
    pub service_folder: Option<PathBuf>,
}

/// Sets how this process treats root, once, at the edge (before a store is opened).
pub fn guard_root(guard: RootGuard) {
    let _ = GUARD.set(guard);
}

/// The effective user id of this process: the owner of `/proc/self` (Linux gives the process's
/// effective ids to its `/proc` entry). `None` where there is no `/proc`.
fn effective_uid() -> Option<u32> {
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

/// Refuses, when this process runs as root, an SQLite database `file` that another user owns.
pub(super) fn check(file: &Path) -> Result<(), StoreError> {
    let guard = GUARD.get().cloned().unwrap_or_default();
    if guard.allowed || effective_uid() != Some(0) {
        return Ok(());
    }
    check_as_root(file, &guard)
}

/// [`check`] for a process known to run as root.
fn check_as_root(file: &Path, guard: &RootGuard) -> Result<(), StoreError> {
    let absolute = std::path::absolute(file).unwrap_or_else(|_| file.to_owned());
    // The file itself, else the nearest folder above it that exists.
    let existing = absolute
        .ancestors()
        .find_map(|path| std::fs::metadata(path).ok().map(|m| (path.to_owned(), m)));
    if let Some((path, metadata)) = existing
        && metadata.uid() != 0
    {
        return Err(StoreError::NotRoots {
            path,
            owner: user_name(metadata.uid()),
        });
    }
    if let Some(folder) = &guard.service_folder
        && absolute.starts_with(folder)
        && !folder.exists()
    {
        let folder = folder.clone();
        return Err(StoreError::ServiceFolderMissing { folder });
    }
    Ok(())
}

/// The name `/etc/passwd` gives `uid`, else the number.
fn user_name(uid: u32) -> String {
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| {
            passwd.lines().find_map(|line| {
                let mut fields = line.split(':');
                let name = fields.next()?;
                (fields.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_owned())
            })
        })
        .unwrap_or_else(|| format!("uid {uid}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_refused_a_database_another_user_owns_and_the_service_folder_it_would_create() {
        if effective_uid() != Some(0) {
            return; // what root is refused; tests/cli.rs checks it through the binary too
        }
        let dir = tempfile::tempdir().unwrap();
        let guard = RootGuard::default();
        let file = dir.path().join("state/rrn.db");
        // Root's own folders: fine, the database's folder created or not.
        assert!(check_as_root(&file, &guard).is_ok());
        std::fs::create_dir(dir.path().join("state")).unwrap();
        std::os::unix::fs::chown(dir.path().join("state"), Some(65534), Some(65534)).unwrap();
        let refused = check_as_root(&file, &guard).unwrap_err().to_string();
        assert!(refused.contains("belongs to the user"), "{refused}");
        assert!(refused.contains("rrn …`"), "{refused}");
        // The service's folder, not there yet: root does not create it.
        let service = RootGuard {
            allowed: false,
            service_folder: Some(dir.path().join("service")),
        };
        let refused = check_as_root(&dir.path().join("service/rrn.db"), &service)
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("sudo -u rapid-review-notifier env STATE_DIRECTORY="),
            "{refused}"
        );
        assert_eq!(user_name(0), "root");
    }
}
