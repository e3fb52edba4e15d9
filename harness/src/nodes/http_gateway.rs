//! The reference HTTP gateway: KrakenD's service TLS (and service mTLS) on
//! hyper + rustls, configured from a KrakenD JSON file, serving `/__health`.
//!
//! Server TLS follows KrakenD on Go's `crypto/tls` (see [`super::go_tls`]):
//! TLS 1.3 only unless `min_version`/`max_version` say otherwise, client
//! certificates required and verified like Go when `enable_mtls` is on, with
//! a client CA pool of the system roots (unless `disable_system_ca_pool`), the
//! `ca_certs` files and the server's own `public_key` certificates. Handshake
//! failures are logged as Go's `net/http` logs them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::CertificateDer;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use super::go_tls::{self, AlertRewrite, GoClientVerifier, GoGeneration};
use super::{wire, NodeLog};
use crate::config::krakend::{ServiceSettings, ServiceTls, TlsVersion};
use crate::error::HarnessError;
use crate::pki;

/// How long a client may take to complete its handshake.
const HANDSHAKE_DEADLINE: Duration = Duration::from_secs(10);

/// What Go's `net/http` answers a plaintext HTTP request on a TLS port.
const HTTP_TO_HTTPS: &[u8] =
    b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";

/// A running reference HTTP gateway. Dropping it stops it.
#[derive(Debug)]
pub struct HttpGatewayNode {
    address: SocketAddr,
    tls: bool,
    log: NodeLog,
    tasks: super::tasks::NodeTasks,
}

/// The system roots, loaded once (Go's `x509.SystemCertPool`).
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: std::sync::OnceLock<Vec<CertificateDer<'static>>> = std::sync::OnceLock::new();
    ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs)
}

/// The client CA pool KrakenD builds: system roots unless disabled, every
/// `ca_certs` file, and the server's own certificate chain.
///
/// As in lura, a `ca_certs` file that cannot be read is logged and skipped,
/// and a file without certificates (a key, say) adds nothing, silently: the
/// gateway starts either way and the clients of that CA are refused.
fn client_ca_pool(tls: &ServiceTls, log: &NodeLog) -> Vec<CertificateDer<'static>> {
    let mut pool: Vec<CertificateDer<'static>> = Vec::new();
    if !tls.disable_system_ca_pool {
        pool.extend(system_roots().iter().cloned());
    }
    for (given, file) in &tls.ca_certs {
        match std::fs::read(file) {
            Err(e) => log.line(format!(
                "log: ERROR: [SERVICE: HTTP Server] Cannot load certificate CA {given}: open {given}: {}",
                go_io_text(&e)
            )),
            Ok(_) => pool.extend(pki::read_certificates(file).unwrap_or_default()),
        }
    }
    pool.extend(pki::read_certificates(&tls.public_key).unwrap_or_default());
    pool
}

/// Go's text for an `os.Open` error.
fn go_io_text(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory",
        std::io::ErrorKind::PermissionDenied => "permission denied",
        _ => "input/output error",
    }
}

fn versions(
    tls: &ServiceTls,
) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, HarnessError> {
    let all = [
        (TlsVersion::Tls12, &rustls::version::TLS12),
        (TlsVersion::Tls13, &rustls::version::TLS13),
    ];
    let chosen: Vec<_> = all
        .iter()
        .filter(|(v, _)| *v >= tls.min_version && *v <= tls.max_version)
        .map(|(_, p)| *p)
        .collect();
    if chosen.is_empty() {
        return Err(HarnessError::invalid(
            "krakend.json",
            "tls.max_version",
            format!(
                "{}..{} leaves no version the reference serves (TLS 1.2 and 1.3 only; \
                 today's Go refuses TLS 1.0/1.1 clients by default too)",
                tls.min_version.name(),
                tls.max_version.name()
            ),
            "set max_version to TLS12 or TLS13",
        ));
    }
    Ok(chosen)
}

/// The TLS acceptor and, with mTLS, the verifier whose failures are logged.
fn acceptor(
    tls: &ServiceTls,
    generation: GoGeneration,
    log: &NodeLog,
) -> Result<(TlsAcceptor, Option<Arc<GoClientVerifier>>), HarnessError> {
    let certified = pki::load_certified_key(&tls.public_key, &tls.private_key).map_err(|e| {
        let key = match &e {
            HarnessError::Material { path, .. } | HarnessError::Io { path, .. }
                if *path == tls.public_key =>
            {
                "tls.public_key"
            }
            _ => "tls.private_key",
        };
        e.in_setting("krakend.json", key)
    })?;
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    // KrakenD's default curve preferences: P-521, P-384, P-256 (no X25519).
    provider.kx_groups = vec![
        rustls::crypto::aws_lc_rs::kx_group::SECP384R1,
        rustls::crypto::aws_lc_rs::kx_group::SECP256R1,
    ];
    let builder = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&versions(tls)?)
        .map_err(|e| HarnessError::run("http gateway TLS", e))?;
    let (builder, verifier) = if tls.enable_mtls {
        let verifier = Arc::new(GoClientVerifier::new(client_ca_pool(tls, log), generation));
        (
            builder.with_client_cert_verifier(verifier.clone()),
            Some(verifier),
        )
    } else {
        (builder.with_no_client_auth(), None)
    };
    let mut config =
        builder.with_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(certified)));
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((TlsAcceptor::from(Arc::new(config)), verifier))
}

impl HttpGatewayNode {
    /// Starts a gateway from KrakenD settings on `listen` (port 0 picks a free
    /// port; the file's `port` is the caller's to use or replace).
    pub async fn start(
        settings: &ServiceSettings,
        generation: GoGeneration,
        listen: SocketAddr,
    ) -> Result<Self, HarnessError> {
        let log = NodeLog::new("http-gateway");
        let tls = match &settings.tls {
            Some(tls) => {
                let (acceptor, verifier) = acceptor(tls, generation, &log)?;
                Some((acceptor, verifier, tls.max_version >= TlsVersion::Tls13))
            }
            None => None,
        };
        let listener = TcpListener::bind(listen).await.map_err(|source| {
            if source.kind() == std::io::ErrorKind::AddrInUse {
                HarnessError::PortInUse {
                    address: listen.to_string(),
                    source,
                }
            } else {
                HarnessError::run(format!("http gateway on {listen}"), source)
            }
        })?;
        let address = listener
            .local_addr()
            .map_err(|e| HarnessError::run("http gateway", e))?;
        let (stop, mut stop_rx) = watch::channel(false);
        let is_tls = tls.is_some();
        let accept_log = log.clone();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop_rx.changed() => break,
                    accepted = listener.accept() => {
                        let Ok((tcp, peer)) = accepted else { continue };
                        let _ = tcp.set_nodelay(true);
                        let guard = accept_log.begin();
                        let log = accept_log.clone();
                        let tls = tls.clone();
                        let stop = stop_rx.clone();
                        tokio::spawn(async move {
                            match tls {
                                Some((acceptor, verifier, tls13)) => {
                                    tls_conn(tcp, peer, (acceptor, tls13), verifier, generation, &log, stop).await
                                }
                                None => serve(TokioIo::new(tcp), stop).await,
                            }
                            drop(guard);
                        });
                    }
                }
            }
        });
        Ok(Self {
            address,
            tls: is_tls,
            log,
            tasks: super::tasks::NodeTasks::new(stop, vec![task]),
        })
    }

    /// The address the gateway listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// True when the gateway serves TLS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The gateway's log.
    pub fn log(&self) -> &NodeLog {
        &self.log
    }

    /// Stops accepting and waits (bounded) for the accept loop to end.
    pub async fn shutdown(mut self) {
        self.tasks.shutdown().await;
    }
}

async fn tls_conn(
    tcp: TcpStream,
    peer: SocketAddr,
    (acceptor, tls13): (TlsAcceptor, bool),
    verifier: Option<Arc<GoClientVerifier>>,
    generation: GoGeneration,
    log: &NodeLog,
    stop: watch::Receiver<bool>,
) {
    let Some(first) = wire::peek_first_record(&tcp).await else {
        return;
    };
    if first[0] != 0x16 {
        if looks_like_http(&first) {
            // Go answers in plaintext.
            log.line(format!(
                "http: TLS handshake error from {peer}: client sent an HTTP request to an HTTPS server"
            ));
            let mut tcp = tcp;
            let _ = tcp.write_all(HTTP_TO_HTTPS).await;
            wire::close_cleanly(tcp, &[]).await;
        } else {
            log.line(format!(
                "http: TLS handshake error from {peer}: tls: first record does not look like a TLS handshake"
            ));
            wire::close_cleanly(tcp, &[]).await;
        }
        return;
    }
    let local = tcp.local_addr().ok();
    let stream = AlertRewrite::new(tcp, generation);
    match tokio::time::timeout(HANDSHAKE_DEADLINE, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => serve(TokioIo::new(tls), stop).await,
        Ok(Err(e)) => {
            let failures = verifier.map(|v| v.take_failures()).unwrap_or_default();
            let inner = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
            let net = |op: &str, what: &str| match local {
                Some(local) => format!("{op} tcp {local}->{peer}: {op}: {what}"),
                None => format!("{op}: {what}"),
            };
            let text = match (failures.last(), inner) {
                (Some(failure), _) => failure.clone(),
                (None, Some(inner)) => go_tls::go_handshake_text(inner, &first, tls13),
                (None, None) => match e.kind() {
                    std::io::ErrorKind::UnexpectedEof => "EOF".to_string(),
                    std::io::ErrorKind::BrokenPipe => net("write", "broken pipe"),
                    std::io::ErrorKind::ConnectionReset => net("read", "connection reset by peer"),
                    _ => e.to_string(),
                },
            };
            log.line(format!("http: TLS handshake error from {peer}: {text}"));
        }
        Err(_) => log.debug("TLS handshake timed out"),
    }
}

/// Go's `tlsRecordHeaderLooksLikeHTTP`: the first bytes of a method.
fn looks_like_http(first: &[u8]) -> bool {
    ["GET /", "HEAD ", "POST ", "PUT /", "OPTIO"]
        .iter()
        .any(|m| first.starts_with(&m.as_bytes()[..first.len().min(5)]) && first.len() >= 5)
}

async fn serve<I>(io: I, mut stop: watch::Receiver<bool>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    let conn = builder.serve_connection(io, hyper::service::service_fn(handle));
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = stop.changed() => {}
    }
}

/// KrakenD's built-in endpoints: `/__health`; everything else 404s like gin.
async fn handle(
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let response = if req.uri().path() == "/__health" {
        let body = serde_json::json!({ "agents": {}, "now": go_now(), "status": "ok" });
        Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "application/json; charset=utf-8")
            .body(Full::new(Bytes::from(body.to_string())))
    } else {
        Response::builder()
            .status(StatusCode::NOT_FOUND)
            .header("content-type", "text/plain")
            .body(Full::new(Bytes::from_static(b"404 page not found")))
    };
    Ok(response.unwrap_or_default())
}

/// Go's `time.Now().String()` in UTC, as KrakenD's health answer carries it:
/// `2006-01-02 15:04:05.999999999 +0000 UTC m=+0.000000001` (the monotonic
/// reading counted from the first call).
fn go_now() -> String {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let monotonic = START.get_or_init(std::time::Instant::now).elapsed();
    let now = time::OffsetDateTime::now_utc();
    let nanos = format!("{:09}", now.nanosecond());
    let nanos = nanos.trim_end_matches('0');
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}{}{} +0000 UTC m=+{:.9}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        if nanos.is_empty() { "" } else { "." },
        nanos,
        monotonic.as_secs_f64()
    )
}
