//! One SMTP connection, opened on first use and reused for every message of a delivery pass.
//!
//! lettre's pooled transport opens its sockets with Nagle's algorithm on. lettre writes a
//! message body and its `.` terminator as two writes, so the terminator waits for the server's
//! delayed ACK (about 40 ms on Linux) and a burst of 1,000 emails took 45 s. Here the socket is
//! opened by us with `TCP_NODELAY`, and lettre's own connection type speaks SMTP over it: TLS,
//! STARTTLS, AUTH and the reply parsing are still lettre's.

use std::fmt;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use lettre::Message;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::Response;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

use lettre::transport::smtp::Error;

use super::error::SendError;

/// How long the QUIT after a failure may wait for its reply. The connection is being dropped
/// anyway; a server that stopped answering must not hold delivery past its timeout.
const QUIT_AFTER_FAILURE: Duration = Duration::from_secs(2);

/// How the connection is protected.
#[derive(Clone)]
pub enum Protection {
    /// Plain text (a relay on this machine, or one the config names as `tls = "none"`).
    None,
    /// Plain text upgraded with STARTTLS before anything else is said; refused if the server
    /// does not offer it.
    StartTls(TlsParameters),
    /// TLS from the first byte (port 465).
    Implicit(TlsParameters),
}

/// Where and how to connect.
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub protection: Protection,
    pub credentials: Option<Credentials>,
    /// The bound on every wait on the server: opening the session (connect, greeting, TLS,
    /// EHLO, AUTH) and each message's exchange together, and the QUIT at the end of a pass.
    pub timeout: Duration,
}

/// A lazily opened, reused SMTP connection.
pub struct SmtpSession {
    settings: SmtpSettings,
    hello: ClientId,
    connection: Mutex<Option<AsyncSmtpConnection>>,
}

impl SmtpSession {
    pub fn new(settings: SmtpSettings) -> Self {
        Self {
            settings,
            hello: ClientId::default(),
            connection: Mutex::new(None),
        }
    }

    /// Sends one message over the open connection, opening it first if needed. A connection
    /// that broke is dropped, so the next message opens a fresh one.
    pub async fn send(&self, message: &Message) -> Result<Response, SendError> {
        let mut slot = self.connection.lock().await;
        let exchange = async {
            if slot.is_none() {
                *slot = Some(self.connect().await?);
            }
            let connection = slot.as_mut().expect("just opened");
            connection
                .send(message.envelope(), &message.formatted())
                .await
                .map_err(ConnectError::Message)
        };
        let failure = match tokio::time::timeout(self.settings.timeout, exchange).await {
            Ok(Ok(response)) => return Ok(response),
            Ok(Err(e)) => Some(e),
            Err(_) => None,
        };
        // After a timeout the connection is in an unknown state; after a network error lettre
        // marks it broken. A rejected message (4xx/5xx) leaves it usable.
        let reusable = matches!(&failure, Some(ConnectError::Message(e)) if !e.is_timeout())
            && slot.as_ref().is_some_and(|c| !c.has_broken());
        // lettre's `abort` sends QUIT and waits for the reply with no limit of its own: a
        // server that swallowed the message and went silent would hold the pass for ever.
        // Dropping the connection closes the socket whether or not the QUIT was answered.
        if !reusable && let Some(mut connection) = slot.take() {
            let bound = QUIT_AFTER_FAILURE.min(self.settings.timeout);
            let _ = tokio::time::timeout(bound, connection.abort()).await;
        }
        let server = format!("{}:{}", self.settings.host, self.settings.port);
        Err(match failure {
            // Only the server's answer to this message can make it undeliverable for good.
            Some(ConnectError::Message(e)) if e.is_permanent() => {
                SendError::Permanent(e.to_string())
            }
            Some(ConnectError::Message(e)) => SendError::Transient(format!("{e} ({server})")),
            // A refused login or TLS handshake is the service's problem, not the message's:
            // retried (and reported when it gives up), never a reason to drop every email.
            Some(ConnectError::Session(e)) => {
                SendError::Unavailable(format!("cannot open an SMTP session with {server}: {e}"))
            }
            Some(ConnectError::Socket(e)) => {
                SendError::Unavailable(format!("cannot connect to {server}: {e}"))
            }
            None => SendError::Unavailable(format!(
                "{server} did not answer within {} s",
                self.settings.timeout.as_secs()
            )),
        })
    }

    /// Says goodbye, when a connection is open (end of a delivery pass).
    pub async fn close(&self) {
        if let Some(mut connection) = self.connection.lock().await.take() {
            let _ = tokio::time::timeout(self.settings.timeout, connection.quit()).await;
        }
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, ConnectError> {
        let settings = &self.settings;
        let tcp = TcpStream::connect((settings.host.as_str(), settings.port)).await?;
        tcp.set_nodelay(true)?;
        let mut connection = match &settings.protection {
            Protection::None => {
                AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello).await?
            }
            Protection::StartTls(parameters) => {
                let mut connection =
                    AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello).await?;
                connection.starttls(parameters.clone(), &self.hello).await?;
                connection
            }
            Protection::Implicit(parameters) => {
                let peer = tcp.peer_addr()?;
                #[allow(deprecated)] // the way lettre offers to wrap a socket of our own
                let mut stream =
                    lettre::transport::smtp::client::AsyncNetworkStream::use_existing_tokio1(
                        Box::new(tcp),
                    );
                stream.upgrade_tls(parameters.clone()).await?;
                let tls = Tunnel {
                    inner: tokio_util::compat::FuturesAsyncReadCompatExt::compat(stream),
                    peer,
                };
                AsyncSmtpConnection::connect_with_transport(Box::new(tls), &self.hello).await?
            }
        };
        if let Some(credentials) = &settings.credentials {
            connection.auth(DEFAULT_MECHANISMS, credentials).await?;
        }
        Ok(connection)
    }
}

/// Where an exchange failed: opening the socket, opening the session (greeting, TLS, AUTH),
/// or sending the message itself.
enum ConnectError {
    Socket(std::io::Error),
    Session(Error),
    Message(Error),
}

impl From<std::io::Error> for ConnectError {
    fn from(e: std::io::Error) -> Self {
        Self::Socket(e)
    }
}

impl From<Error> for ConnectError {
    fn from(e: Error) -> Self {
        Self::Session(e)
    }
}

/// A TLS stream lettre built over our socket, handed back to lettre as a plain stream so its
/// connection type can speak SMTP over it from the greeting on.
#[allow(deprecated)] // lettre marks the stream type "not meant to be public", yet offers it for this
struct Tunnel {
    inner: tokio_util::compat::Compat<lettre::transport::smtp::client::AsyncNetworkStream>,
    peer: SocketAddr,
}

impl fmt::Debug for Tunnel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tunnel").field("peer", &self.peer).finish()
    }
}

impl AsyncTokioStream for Tunnel {
    fn peer_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.peer)
    }
}

impl AsyncRead for Tunnel {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Tunnel {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
