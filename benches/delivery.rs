//! Delivering a queue of 1,000 emails over one SMTP connection to a real SMTP server on
//! 127.0.0.1 (mailin-embedded, in this process): `cargo bench --bench delivery`.
//!
//! Not a criterion bench: one burst is the figure that matters (the target is under
//! 10 s), and each repetition needs a fresh queue. Set `RRN_BENCH_EMAILS` for another size.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use chrono::Utc;
use mailin_embedded::response::OK;
use mailin_embedded::{Handler, Response, Server, SslConfig};
use rrn::config::Config;
use rrn::mail::{Mailer, Renderer, sample_email};
use rrn::service::delivery::{Claimer, Delivery, deliver};
use rrn::store::{Batch, NewEmail, Store};

#[derive(Clone, Default)]
struct Counter(Arc<AtomicUsize>);

impl Handler for Counter {
    fn data_end(&mut self) -> Response {
        self.0.fetch_add(1, Ordering::SeqCst);
        OK
    }
}

fn main() {
    let emails: usize = std::env::var("RRN_BENCH_EMAILS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let counter = Counter::default();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut server = Server::new(counter.clone());
    server
        .with_name("smtp.bench")
        .with_ssl(SslConfig::None)
        .unwrap()
        .with_tcp_listener(listener);
    std::thread::spawn(move || {
        let _ = server.serve();
    });

    let dir = tempfile::tempdir().unwrap();
    let env = vec![
        ("RRN_MAIL__TRANSPORT".to_owned(), "smtp".to_owned()),
        ("RRN_SMTP__HOST".to_owned(), "127.0.0.1".to_owned()),
        ("RRN_SMTP__PORT".to_owned(), port.to_string()),
        ("RRN_SMTP__TLS".to_owned(), "none".to_owned()),
    ];
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/config/rrn.toml");
    let config = Config::load_from(Some(std::path::Path::new(shipped)), &env).unwrap();
    let url = format!("sqlite://{}", dir.path().join("rrn.db").display());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = Store::open(&url).await.unwrap();
        let renderer = Renderer::load(&config).unwrap();
        let mailer = Mailer::from_config(&config, dir.path()).unwrap();
        let email = sample_email();
        let json = serde_json::to_string(&email).unwrap();
        let now = Utc::now();
        let queued = vec![
            NewEmail {
                case_id: None,
                kind: rrn::store::OutboxKind::Digest,
                recipient: email.recipient.email.as_str().to_owned(),
                json,
            };
            emails
        ];
        let mut tx = store.begin().await.unwrap();
        tx.queue(&Batch::new(queued, &[]), "bench", now)
            .await
            .unwrap();
        tx.commit().await.unwrap();

        let started = Instant::now();
        let claimer = Claimer::this_process(chrono::Duration::seconds(60));
        let delivery = Delivery {
            store: &store,
            config: &config,
            renderer: &renderer,
            mailer: &mailer,
            admin: None,
            claimer: &claimer,
            progress: None,
        };
        let report = deliver(&delivery, true, now, None).await.unwrap();
        let elapsed = started.elapsed();
        assert_eq!(report.sent, emails, "{report:?}");
        assert_eq!(counter.0.load(Ordering::SeqCst), emails);
        println!(
            "delivered {emails} emails over one SMTP connection in {:.2} s ({:.1} ms each)",
            elapsed.as_secs_f64(),
            elapsed.as_secs_f64() * 1000.0 / emails as f64
        );
    });
}
