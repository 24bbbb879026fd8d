//! A real SMTP server on a free port of 127.0.0.1, in the test process (mailin-embedded), that
//! records what it receives: plain or with STARTTLS, with or without AUTH PLAIN, answering each
//! recipient as told, and as slow as asked.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailin_embedded::response::{AUTH_OK, INVALID_CREDENTIALS, OK};
use mailin_embedded::{AuthMechanism, Handler, Response, Server, SslConfig};

use super::PrivateCa;

/// The `RRN_*` settings that send a test's emails to the SMTP server on `port`, in clear text.
pub(crate) fn smtp_env(port: u16) -> [(&'static str, String); 4] {
    [
        ("RRN_MAIL__TRANSPORT", "smtp".to_owned()),
        ("RRN_SMTP__HOST", "127.0.0.1".to_owned()),
        ("RRN_SMTP__PORT", port.to_string()),
        ("RRN_SMTP__TLS", "none".to_owned()),
    ]
}

/// A plain SMTP server that accepts every message at once; see [`SmtpServer`] for others.
pub(crate) fn smtp_server() -> (Mailbox, u16) {
    SmtpServer::default().start()
}

/// How the test SMTP server behaves; [`SmtpServer::start`] starts one.
#[derive(Default)]
pub(crate) struct SmtpServer {
    /// The user and password AUTH PLAIN must present, when the server asks for AUTH.
    credentials: Option<(String, String)>,
    tls: Option<SslConfig>,
    /// How long it takes to accept each message.
    delay: Duration,
}

impl SmtpServer {
    /// Requires AUTH PLAIN with these credentials.
    pub(crate) fn with_auth(mut self, user: &str, password: &str) -> Self {
        self.credentials = Some((user.to_owned(), password.to_owned()));
        self
    }

    /// Offers STARTTLS with the server certificate of `ca`.
    pub(crate) fn with_starttls(mut self, ca: &PrivateCa) -> Self {
        self.tls = Some(SslConfig::Trusted {
            cert_path: ca.cert.display().to_string(),
            key_path: ca.key.display().to_string(),
            chain_path: ca.ca.display().to_string(),
        });
        self
    }

    /// Takes `delay` to accept each message (after its final `.`, before the 250).
    pub(crate) fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Starts it on a free port of 127.0.0.1: what it receives, and the port. It serves until
    /// the test process ends.
    pub(crate) fn start(self) -> (Mailbox, u16) {
        // The test server's TLS (rustls) needs one process-wide provider chosen.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mailbox = Mailbox::default();
        let auth = self.credentials.is_some();
        {
            let mut state = mailbox.state.lock().unwrap();
            state.credentials = self.credentials;
            state.delay = self.delay;
        }
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut server = Server::new(Connection {
            mailbox: mailbox.clone(),
            message: Vec::new(),
            to: Vec::new(),
        });
        server
            .with_name("smtp.test")
            .with_ssl(self.tls.unwrap_or(SslConfig::None))
            .unwrap()
            .with_tcp_listener(listener);
        if auth {
            server.with_auth(AuthMechanism::Plain);
        }
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        (mailbox, port)
    }
}

/// What the test SMTP server received, and how it answers each recipient.
#[derive(Clone, Default)]
pub(crate) struct Mailbox {
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    /// Recipient -> answer to RCPT (250 when absent).
    answers: HashMap<String, Response>,
    /// (envelope recipients, message) of each accepted message.
    received: Vec<(Vec<String>, String)>,
    credentials: Option<(String, String)>,
    /// The users who logged in, one entry a login.
    authenticated: Vec<String>,
    delay: Duration,
}

impl Mailbox {
    /// From now on, RCPT TO `address` is answered `response`.
    pub(crate) fn answer(&self, address: &str, response: Response) {
        self.state
            .lock()
            .unwrap()
            .answers
            .insert(address.to_owned(), response);
    }

    /// From now on, RCPT TO `address` is accepted again.
    pub(crate) fn forget(&self, address: &str) {
        self.state.lock().unwrap().answers.remove(address);
    }

    /// (envelope recipients, message) of each message accepted so far, in order.
    pub(crate) fn received(&self) -> Vec<(Vec<String>, String)> {
        self.state.lock().unwrap().received.clone()
    }

    /// The users who logged in with AUTH PLAIN, one entry a login.
    pub(crate) fn authenticated(&self) -> Vec<String> {
        self.state.lock().unwrap().authenticated.clone()
    }
}

/// The handler of one SMTP connection (mailin-embedded clones it for each): the message being
/// received is the connection's own.
#[derive(Clone)]
struct Connection {
    mailbox: Mailbox,
    message: Vec<u8>,
    to: Vec<String>,
}

impl Handler for Connection {
    fn rcpt(&mut self, to: &str) -> Response {
        let state = self.mailbox.state.lock().unwrap();
        let address = to.trim_matches(['<', '>']);
        state.answers.get(address).cloned().unwrap_or(OK)
    }

    fn auth_plain(&mut self, _authorization_id: &str, user: &str, password: &str) -> Response {
        let mut state = self.mailbox.state.lock().unwrap();
        match &state.credentials {
            Some((u, p)) if u == user && p == password => {
                state.authenticated.push(user.to_owned());
                AUTH_OK
            }
            _ => INVALID_CREDENTIALS,
        }
    }

    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.message.clear();
        self.to = to.to_vec();
        OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.message.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let delay = self.mailbox.state.lock().unwrap().delay;
        std::thread::sleep(delay);
        let message = String::from_utf8_lossy(&self.message).into_owned();
        let to = std::mem::take(&mut self.to);
        self.mailbox
            .state
            .lock()
            .unwrap()
            .received
            .push((to, message));
        OK
    }
}
