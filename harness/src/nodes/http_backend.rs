//! The reference backend server of the http-gateway area: the service a
//! KrakenD endpoint proxies to, in process, on rustls, on 127.0.0.1 and a
//! port from binding `:0`. Both gateway implementations (the reference and
//! the Go oracle) dial this same server, so a differential case compares the
//! gateways alone.
//!
//! Decisions:
//! - It serves HTTPS with the certificate chain and key a case gives it (from
//!   the case PKI), so a scenario can give it a certificate without the IP SAN
//!   the gateway dials, from another CA, and so on.
//! - With `client_ca` it requires a client certificate and verifies it with
//!   [`GoClientVerifier`] (Go's `RequireAndVerifyClientCert`, today's Go): most
//!   backends behind KrakenD are Go services, and the alerts the gateway then
//!   receives (`certificate required` for none, `unknown certificate
//!   authority` for another CA) are the ones a Go backend sends.
//! - TLS 1.2 and 1.3, no ALPN (HTTP/1.1 only: KrakenD's backend transport
//!   does not attempt HTTP/2 once it has its own `tls.Config`).
//! - Every request gets `200` and [`ANSWER`]; its handshake failures are logged
//!   as Go's `net/http` server logs them, prefixed `upstream: `.
//! - When it requires client certificates it reads the client's second flight
//!   [`SECOND_FLIGHT_DELAY`] after sending its own, as a backend across a real
//!   network answers: in TLS 1.3 the client's handshake is over before the
//!   server judges its certificate, and a Go client whose HTTP transport gets
//!   the alert before it has counted its request in flight reports
//!   `readLoopPeekFailLocked: remote error: tls: …` instead of
//!   `remote error: tls: …` (a race inside `net/http`, measured here about
//!   once in ten runs under load). The delay makes the request go first.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::go_tls::{self, GoClientVerifier, GoGeneration};
use super::NodeLog;
use crate::error::HarnessError;
use crate::pki;

/// The JSON every request is answered with (keys sorted and compact, as Go's
/// `encoding/json` re-encodes a map, so a gateway that decodes and re-encodes
/// it answers the same bytes).
pub const ANSWER: &str = r#"{"message":"hello from the backend","status":"ok"}"#;

/// How long the backend waits before reading the client's second handshake
/// flight when it requires client certificates.
pub const SECOND_FLIGHT_DELAY: Duration = Duration::from_millis(150);

/// How long one connection may take.
const CONNECTION_DEADLINE: Duration = Duration::from_secs(10);

/// A running reference backend. Dropping it stops it.
#[derive(Debug)]
pub struct HttpBackendNode {
    address: SocketAddr,
    log: NodeLog,
    tasks: super::tasks::NodeTasks,
}

impl HttpBackendNode {
    /// Starts the backend with `chain`/`key` (paths in `workdir`), requiring
    /// client certificates from the CA file `client_ca` when given.
    pub async fn start(
        workdir: &Path,
        chain: &str,
        key: &str,
        client_ca: Option<&str>,
    ) -> Result<Self, HarnessError> {
        let log = NodeLog::new("upstream");
        let certified = pki::load_certified_key(&workdir.join(chain), &workdir.join(key))?;
        let builder = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_protocol_versions(&[&rustls::version::TLS12, &rustls::version::TLS13])
        .map_err(|e| HarnessError::run("upstream TLS", e))?;
        let (builder, verifier) = match client_ca {
            Some(ca) => {
                let roots = pki::read_certificates(&workdir.join(ca))?;
                let verifier = Arc::new(GoClientVerifier::new(roots, GoGeneration::Current));
                (
                    builder.with_client_cert_verifier(verifier.clone()),
                    Some(verifier),
                )
            }
            None => (builder.with_no_client_auth(), None),
        };
        let config =
            builder.with_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(certified)));
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| HarnessError::start_failed("upstream", e))?;
        let address = listener
            .local_addr()
            .map_err(|e| HarnessError::start_failed("upstream", e))?;
        let mut tasks = super::tasks::NodeTasks::idle();
        let accept_log = log.clone();
        tasks.accept(listener, move |tcp, peer, _| {
            let guard = accept_log.begin();
            let log = accept_log.clone();
            let acceptor = acceptor.clone();
            let verifier = verifier.clone();
            async move {
                let _ = tokio::time::timeout(
                    CONNECTION_DEADLINE,
                    connection(tcp, peer, acceptor, verifier, &log),
                )
                .await;
                drop(guard);
            }
        });
        Ok(Self {
            address,
            log,
            tasks,
        })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// Its log.
    pub fn log(&self) -> &NodeLog {
        &self.log
    }

    /// Stops it.
    pub async fn shutdown(mut self) {
        self.tasks.shutdown().await;
    }
}

async fn connection(
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    acceptor: TlsAcceptor,
    verifier: Option<Arc<GoClientVerifier>>,
    log: &NodeLog,
) {
    let tcp = SecondFlightDelay::new(tcp, verifier.is_some());
    match acceptor.accept(tcp).into_fallible().await {
        Ok(mut tls) => {
            // One request, read up to the end of its head (GET, no body).
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match tls.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{ANSWER}",
                ANSWER.len()
            );
            let _ = tls.write_all(response.as_bytes()).await;
            let _ = tls.shutdown().await;
        }
        Err((e, tcp)) => {
            let failures = verifier.map(|v| v.take_failures()).unwrap_or_default();
            let inner = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
            let text = match (failures.last(), inner) {
                (Some(failure), _) => failure.clone(),
                (None, Some(rustls::Error::AlertReceived(alert))) => go_tls::go_alert_text(*alert),
                (None, Some(inner)) => go_tls::go_handshake_text(inner, &[], false),
                (None, None) => e.to_string(),
            };
            log.line(format!(
                "upstream: http: TLS handshake error from {peer}: {text}"
            ));
            // Drain what the client sent before closing, so it reads the
            // alert rather than a reset.
            super::wire::close_cleanly(tcp.inner, &[]).await;
        }
    }
}

/// A server-side stream that, once the server has written (its first
/// flight), sleeps [`SECOND_FLIGHT_DELAY`] before its next read, once.
struct SecondFlightDelay {
    inner: tokio::net::TcpStream,
    /// 0: nothing written yet; 1: written, sleep before the next read; 2: done.
    state: u8,
    sleep: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

impl SecondFlightDelay {
    fn new(inner: tokio::net::TcpStream, enabled: bool) -> Self {
        Self {
            inner,
            state: if enabled { 0 } else { 2 },
            sleep: None,
        }
    }
}

impl tokio::io::AsyncRead for SecondFlightDelay {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if self.state == 1 {
            let sleep = self
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(SECOND_FLIGHT_DELAY)));
            if sleep.as_mut().poll(cx).is_pending() {
                return std::task::Poll::Pending;
            }
            self.state = 2;
            self.sleep = None;
        }
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for SecondFlightDelay {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        if self.state == 0 {
            self.state = 1;
        }
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
