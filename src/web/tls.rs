//! HTTPS served directly, when `[web] tls_cert` is set (behind a reverse proxy it is not).
//!
//! Handshakes happen off the accept path: a task accepts TCP connections and gives each
//! handshake a task of its own with a time limit, so a client that connects and says nothing
//! holds up no one else; `axum::serve` only takes the finished ones.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::config::WebSection;

/// How long a client may take over its handshake.
const HANDSHAKE_LIMIT: Duration = Duration::from_secs(10);
/// Handshakes under way at once; more wait to be accepted (the kernel's backlog holds them).
const HANDSHAKES_AT_ONCE: usize = 256;

/// Why HTTPS cannot be served as configured.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error(
        "[web] tls_key is set without tls_cert: give both (the certificate chain and its key, \
         PEM files), or neither to serve plain HTTP behind a reverse proxy"
    )]
    KeyWithoutCertificate,
    #[error(
        "[web] tls_cert is set but there is no key: set [web] tls_key to the key's PEM file, or \
         pass it as the systemd credential web-tls-key"
    )]
    NoKey,
    #[error("[web] {field} = {}: cannot read it: {reason}", path.display())]
    Read {
        field: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("[web] tls_cert = {}: no certificate in it (a PEM file with BEGIN CERTIFICATE)", .0.display())]
    NoCertificate(PathBuf),
    #[error("[web] tls_cert and tls_key do not make a usable pair: {0}")]
    Pair(String),
}

/// The TLS acceptor `[web]` asks for; `None` to serve plain HTTP.
pub fn acceptor(web: &WebSection) -> Result<Option<TlsAcceptor>, TlsError> {
    let credential = std::env::var_os("CREDENTIALS_DIRECTORY")
        .map(|dir| PathBuf::from(dir).join("web-tls-key"))
        .filter(|path| path.exists());
    let (cert, key) = match (&web.tls_cert, &web.tls_key) {
        (None, None) => return Ok(None),
        (None, Some(_)) => return Err(TlsError::KeyWithoutCertificate),
        (Some(cert), Some(key)) => (cert, key.clone()),
        (Some(cert), None) => (cert, credential.ok_or(TlsError::NoKey)?),
    };
    let chain = read_chain(cert)?;
    let key = PrivateKeyDer::from_pem_file(&key).map_err(|e| TlsError::Read {
        field: "tls_key",
        path: key.clone(),
        reason: e.to_string(),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Pair(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Pair(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(TlsAcceptor::from(Arc::new(config))))
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let read = |e: rustls::pki_types::pem::Error| TlsError::Read {
        field: "tls_cert",
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(read)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(read)?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate(path.to_path_buf()));
    }
    Ok(chain)
}

/// A listener whose connections have finished their TLS handshake.
pub struct TlsListener {
    local: SocketAddr,
    done: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
}

impl TlsListener {
    /// Accepts on `listener` until the returned listener is dropped.
    pub fn new(listener: TcpListener, acceptor: TlsAcceptor) -> io::Result<Self> {
        let local = listener.local_addr()?;
        let (sender, done) = mpsc::channel(64);
        let handshakes = Arc::new(Semaphore::new(HANDSHAKES_AT_ONCE));
        tokio::spawn(async move {
            loop {
                let Ok(permit) = handshakes.clone().acquire_owned().await else {
                    return;
                };
                let (stream, peer) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors, say: wait a little rather than spin.
                        tracing::warn!("cannot accept a connection: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                if sender.is_closed() {
                    return;
                }
                let (acceptor, sender) = (acceptor.clone(), sender.clone());
                tokio::spawn(async move {
                    let _permit = permit;
                    match tokio::time::timeout(HANDSHAKE_LIMIT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = sender.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, "TLS handshake failed: {e}"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake took too long"),
                    }
                });
            }
        });
        Ok(Self { local, done })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.done.recv().await {
            Some(connection) => connection,
            // The accepting task ended (it does not, while this listener lives): serve no more.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}
