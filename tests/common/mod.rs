//! What the test areas share: the `rrn` command, the shipped config, a private certificate
//! authority, and the PostgreSQL and SQLite test databases (`db`).

pub mod db;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository's example config, with its bank-holiday file, timeline and templates beside it.
pub const CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/config/rrn.toml");

/// `rrn` with every `RRN_*` variable of the test process removed from its environment, so the
/// machine's settings cannot leak into a test. A test gives its own settings to the command
/// (`Command::env`), never to the test process: the tests share one process.
pub fn rrn_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rrn"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("RRN_") {
            command.env_remove(name);
        }
    }
    command
}

/// `args` with `--rehearse` added when they date a change or a run with `--at`: a test's
/// database is a throwaway, and its fixed dates may be ahead of the real clock.
pub fn rehearsing<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut args = args.to_vec();
    let writes = matches!(args.first(), Some(&"case") | Some(&"run"))
        && !matches!(args.get(1), Some(&"show") | Some(&"list") | Some(&"export"));
    if writes && args.contains(&"--at") {
        args.push("--rehearse");
    }
    args
}

/// Runs `future` to its end on a runtime of its own (the tests are not async).
pub fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// A private certificate authority and a server certificate for 127.0.0.1 signed by it, made
/// with the `openssl` command (as a partnership's internal relay would have).
pub struct PrivateCa {
    /// The authority's certificate, which a client must trust.
    pub ca: PathBuf,
    /// The server's certificate and key.
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl PrivateCa {
    /// Makes one in `dir`.
    pub fn new(dir: &Path) -> Self {
        let openssl = |args: &[&str]| {
            let output = Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .output()
                .expect("openssl is installed");
            assert!(
                output.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        };
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=rrn test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ]);
        std::fs::write(
            dir.join("server.ext"),
            "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ]);
        Self {
            ca: dir.join("ca.pem"),
            cert: dir.join("server.pem"),
            key: dir.join("server.key"),
        }
    }
}
