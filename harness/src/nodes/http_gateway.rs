//! The reference HTTP gateway: KrakenD's service TLS (and service mTLS) on
//! hyper + rustls, configured from a KrakenD JSON file, serving `/__health`.
//!
//! Server TLS follows KrakenD on Go's `crypto/tls` (see [`super::go_tls`]):
//! TLS 1.3 only unless `min_version`/`max_version` say otherwise, client
//! certificates required and verified like Go when `enable_mtls` is on, with
//! a client CA pool of the system roots (unless `disable_system_ca_pool`), the
//! `ca_certs` files and the server's own `public_key` certificates. Handshake
//! failures are logged as Go's `net/http` logs them.
//!
//! Endpoints with backends are proxied to their first backend's first host
//! with KrakenD's client TLS (see [`crate::config::krakend`] for the keys):
//! the backend certificate is verified as Go's `crypto/tls` client verifies it
//! ([`GoServerVerifier`]: host/IP SAN first, then the chain, with Go's texts),
//! the client certificate is chosen as Go chooses it
//! ([`GoClientCertResolver`]). What KrakenD does when the call fails follows
//! lura's `router/gin/endpoint.go`: status 500 (`DefaultToHTTPError`),
//! `X-Krakend-Completed: false`, the error logged as
//! `[ENDPOINT: /path] <error>`, and the error text as the body only with the
//! router's `return_error_msg`. The error text is Go's `http.Client.Do`
//! error: `Get "https://127.0.0.1:PORT/path": <tls error>`. A successful call's
//! JSON is decoded and re-encoded (KrakenD's default `json` encoding: keys
//! sorted, compact).

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

use super::go_tls::{
    self, AlertRewrite, GoClientCertResolver, GoClientVerifier, GoGeneration, GoServerVerifier,
};
use super::{wire, NodeLog};
use crate::config::krakend::{BackendSettings, ClientTls, ServiceSettings, ServiceTls, TlsVersion};
use crate::error::HarnessError;
use crate::pki;

/// How long a client may take to complete its handshake.
const HANDSHAKE_DEADLINE: Duration = Duration::from_secs(10);

/// What Go's `net/http` answers a plaintext HTTP request on a TLS port.
const HTTP_TO_HTTPS: &[u8] =
    b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";

/// How long a backend call may take (KrakenD's default endpoint timeout is 2 s).
const BACKEND_DEADLINE: Duration = Duration::from_secs(2);

/// The `X-Krakend` header KrakenD CE 2.x sends.
const KRAKEND_HEADER: &str = "Version 2.12.0";

/// What the gateway serves besides `/__health`.
#[derive(Debug)]
struct Routes {
    endpoints: Vec<Route>,
    return_error_msg: bool,
    log: NodeLog,
}

#[derive(Debug)]
struct Route {
    endpoint: String,
    method: String,
    backend: Option<Upstream>,
}

/// A backend with its client TLS material loaded (once, at start, as KrakenD
/// builds its transports at start).
#[derive(Debug)]
struct Upstream {
    settings: BackendSettings,
    roots: Vec<CertificateDer<'static>>,
    keys: Vec<Arc<rustls::sign::CertifiedKey>>,
}

/// Go's `tls.LoadX509KeyPair` on a `client_certs` entry, with Go's texts.
fn load_client_cert(
    cert: &crate::config::krakend::ClientCert,
) -> Result<Arc<rustls::sign::CertifiedKey>, String> {
    for file in [&cert.certificate, &cert.private_key] {
        if let Err(e) = std::fs::read(&file.path) {
            return Err(format!("open {}: {}", file.given, go_io_text(&e)));
        }
    }
    if pki::read_certificates(&cert.certificate.path).is_err() {
        return Err("tls: failed to find any PEM data in certificate input".to_string());
    }
    pki::load_certified_key(&cert.certificate.path, &cert.private_key.path).map_err(|e| {
        if e.to_string().contains("does not match") {
            "tls: private key does not match public key".to_string()
        } else {
            "tls: failed to find any PEM data in key input".to_string()
        }
    })
}

/// The root pool and client certificates of a backend's `client_tls`; load
/// problems are logged and skipped, as lura's `LoadCertPool` does for CA files
/// (a client certificate that cannot be loaded is logged and left out: the
/// gateway then dials without it; the log text is ours, in lura's style).
fn upstream(settings: &BackendSettings, log: &NodeLog) -> Upstream {
    let Some(ct) = &settings.client_tls else {
        return Upstream {
            settings: settings.clone(),
            roots: system_roots().to_vec(),
            keys: Vec::new(),
        };
    };
    let mut roots: Vec<CertificateDer<'static>> = Vec::new();
    if !ct.disable_system_ca_pool {
        roots.extend(system_roots().iter().cloned());
    }
    for ca in &ct.ca_certs {
        match std::fs::read(&ca.path) {
            Err(e) => log.line(format!(
                "log: ERROR: [SERVICE: HTTP Server] Cannot load certificate CA {}: open {}: {}",
                ca.given,
                ca.given,
                go_io_text(&e)
            )),
            Ok(_) => roots.extend(pki::read_certificates(&ca.path).unwrap_or_default()),
        }
    }
    let mut keys = Vec::new();
    for cert in &ct.client_certs {
        match load_client_cert(cert) {
            Ok(key) => keys.push(key),
            Err(e) => log.line(format!(
                "log: ERROR: [SERVICE: HTTP Server] Cannot load client certificate {} (private key {}): {e}",
                cert.certificate.given, cert.private_key.given
            )),
        }
    }
    Upstream {
        settings: settings.clone(),
        roots,
        keys,
    }
}

/// The TLS versions a `client_tls` allows (none: Go's client defaults, TLS 1.2
/// to 1.3).
fn client_versions(ct: Option<&ClientTls>) -> Vec<&'static rustls::SupportedProtocolVersion> {
    let (min, max) = ct.map_or((TlsVersion::Tls12, TlsVersion::Tls13), |c| {
        (c.min_version, c.max_version)
    });
    [
        (TlsVersion::Tls12, &rustls::version::TLS12),
        (TlsVersion::Tls13, &rustls::version::TLS13),
    ]
    .iter()
    .filter(|(v, _)| *v >= min && *v <= max)
    .map(|(_, p)| *p)
    .collect()
}

/// Go's `url.Error` operation name for a method (`Get`, `Post`, ...).
fn url_error_op(method: &str) -> String {
    let mut chars = method.chars();
    match chars.next() {
        Some(first) => {
            first.to_ascii_uppercase().to_string() + &chars.as_str().to_ascii_lowercase()
        }
        None => "Get".to_string(),
    }
}

/// Go's text for an I/O error on an established TLS connection.
fn go_conn_error(e: &std::io::Error) -> String {
    match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        Some(rustls::Error::AlertReceived(alert)) => go_tls::go_alert_text(*alert),
        Some(other) => format!("tls: {other}"),
        None => match e.kind() {
            std::io::ErrorKind::UnexpectedEof => "EOF".to_string(),
            std::io::ErrorKind::ConnectionReset => "read: connection reset by peer".to_string(),
            _ => e.to_string(),
        },
    }
}

/// Calls a backend as Go's `http.Client.Do` does; the error is Go's text
/// without the `Get "URL": ` prefix.
async fn call_backend(up: &Upstream, host: &str) -> Result<Vec<u8>, String> {
    use tokio::io::AsyncReadExt;
    let uri: hyper::Uri = host.parse().map_err(|e| format!("parse {host:?}: {e}"))?;
    let https = uri.scheme_str() == Some("https");
    let name = uri.host().unwrap_or_default().to_string();
    let bare = name
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let path = if up.settings.url_pattern.is_empty() {
        "/".to_string()
    } else {
        up.settings.url_pattern.clone()
    };
    let tcp = TcpStream::connect((bare.as_str(), port))
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::ConnectionRefused => {
                format!("dial tcp {bare}:{port}: connect: connection refused")
            }
            _ => format!("dial tcp {bare}:{port}: {e}"),
        })?;
    let request = format!(
        "{} {path} HTTP/1.1\r\nHost: {name}:{port}\r\nUser-Agent: KrakenD Version 2.12.0\r\nAccept-Encoding: gzip\r\n\r\n",
        up.settings.method
    );
    let mut raw = Vec::new();
    if https {
        let (config, verifier) = backend_tls(up, &bare)?;
        let server_name = rustls::pki_types::ServerName::try_from(bare.clone())
            .map_err(|e| format!("tls: {e}"))?;
        let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(server_name, tcp)
            .await
            .map_err(|e| verifier.failure().unwrap_or_else(|| go_conn_error(&e)))?;
        tls.write_all(request.as_bytes())
            .await
            .map_err(|e| go_conn_error(&e))?;
        // A TLS 1.3 backend refuses the client certificate after the
        // client's handshake is done: Go's transport sees the alert when it
        // reads the response (a `transportReadFromServerError`, which
        // `Transport.roundTrip` unwraps to the read error itself: "Issue
        // 16465"), so the text is the alert alone, as the Go oracle shows.
        tls.read_to_end(&mut raw)
            .await
            .map_err(|e| go_conn_error(&e))?;
    } else {
        let mut tcp = tcp;
        tcp.write_all(request.as_bytes())
            .await
            .map_err(|e| go_conn_error(&e))?;
        tcp.read_to_end(&mut raw)
            .await
            .map_err(|e| go_conn_error(&e))?;
    }
    response_body(&raw)
}

/// The body of a whole HTTP/1.1 response, or Go's text for a response that
/// is cut short or whose status is not 2xx.
fn response_body(raw: &[u8]) -> Result<Vec<u8>, String> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| "unexpected EOF".to_string())?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    if !(200..300).contains(&status) {
        return Err(format!("invalid status code {status}"));
    }
    Ok(raw[split + 4..].to_vec())
}

/// The client TLS a backend call uses: Go's server verification for `bare`
/// (the host name without brackets), KrakenD's curves, the versions of its
/// `client_tls`, and its client certificates when it has some.
fn backend_tls(
    up: &Upstream,
    bare: &str,
) -> Result<(rustls::ClientConfig, Arc<GoServerVerifier>), String> {
    let ct = up.settings.client_tls.as_ref();
    let verifier = Arc::new(GoServerVerifier::new(
        up.roots.clone(),
        bare,
        ct.is_some_and(|c| c.allow_insecure_connections),
    ));
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    // KrakenD's default curve preferences: P-521, P-384, P-256.
    provider.kx_groups = vec![
        rustls::crypto::aws_lc_rs::kx_group::SECP384R1,
        rustls::crypto::aws_lc_rs::kx_group::SECP256R1,
    ];
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&client_versions(ct))
        .map_err(|e| format!("tls: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone());
    let config = if up.keys.is_empty() {
        builder.with_no_client_auth()
    } else {
        builder.with_client_cert_resolver(Arc::new(GoClientCertResolver::new(up.keys.clone())))
    };
    Ok((config, verifier))
}

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
            &tls.source,
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
        match e.in_setting(&tls.source, key) {
            // The PEM reader words its refusals for Zeebe; Go's crypto/tls
            // refuses an encrypted key the same way.
            HarnessError::Invalid {
                file,
                key,
                problem,
                fix,
            } => HarnessError::Invalid {
                file,
                key,
                problem: problem.replace(", as in Zeebe", ", as in KrakenD (Go's crypto/tls)"),
                fix,
            },
            other => other,
        }
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
        let routes = Arc::new(Routes {
            endpoints: settings
                .endpoints
                .iter()
                .map(|e| Route {
                    endpoint: e.endpoint.clone(),
                    method: e.method.clone(),
                    backend: e.backends.first().map(|b| upstream(b, &log)),
                })
                .collect(),
            return_error_msg: settings.return_error_msg,
            log: log.clone(),
        });
        let listener = TcpListener::bind(listen).await.map_err(|source| {
            if source.kind() == std::io::ErrorKind::AddrInUse {
                HarnessError::PortInUse {
                    address: listen.to_string(),
                    source,
                    owner: crate::error::PortOwner::KrakenD,
                }
            } else {
                HarnessError::start_failed(format!("http gateway on {listen}"), source)
            }
        })?;
        let address = listener
            .local_addr()
            .map_err(|e| HarnessError::start_failed("http gateway", e))?;
        let is_tls = tls.is_some();
        let accept_log = log.clone();
        let mut tasks = super::tasks::NodeTasks::idle();
        tasks.accept(listener, move |tcp, peer, stop| {
            let _ = tcp.set_nodelay(true);
            let guard = accept_log.begin();
            let log = accept_log.clone();
            let tls = tls.clone();
            let routes = routes.clone();
            async move {
                match tls {
                    Some((acceptor, verifier, tls13)) => {
                        tls_conn(
                            tcp,
                            peer,
                            (acceptor, tls13),
                            verifier,
                            generation,
                            &log,
                            stop,
                            routes,
                        )
                        .await
                    }
                    None => serve(TokioIo::new(tcp), stop, routes).await,
                }
                drop(guard);
            }
        });
        Ok(Self {
            address,
            tls: is_tls,
            log,
            tasks,
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

#[allow(clippy::too_many_arguments)]
async fn tls_conn(
    tcp: TcpStream,
    peer: SocketAddr,
    (acceptor, tls13): (TlsAcceptor, bool),
    verifier: Option<Arc<GoClientVerifier>>,
    generation: GoGeneration,
    log: &NodeLog,
    stop: watch::Receiver<bool>,
    routes: Arc<Routes>,
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
        Ok(Ok(tls)) => serve(TokioIo::new(tls), stop, routes).await,
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

async fn serve<I>(io: I, mut stop: watch::Receiver<bool>, routes: Arc<Routes>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    let service = hyper::service::service_fn(move |req| {
        let routes = routes.clone();
        async move { handle(req, &routes).await }
    });
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = stop.changed() => {}
    }
}

/// One endpoint call: the backend's JSON re-encoded, or KrakenD's 500.
async fn proxy(route: &Route, routes: &Routes) -> Response<Full<Bytes>> {
    let Some(up) = &route.backend else {
        // An endpoint without backends: KrakenD answers an empty object.
        return json_response(b"{}".to_vec(), true);
    };
    let host = up.settings.hosts.first().cloned().unwrap_or_default();
    let url = format!("{host}{}", up.settings.url_pattern);
    let result = match tokio::time::timeout(BACKEND_DEADLINE, call_backend(up, &host)).await {
        Ok(Ok(body)) => serde_json::from_slice::<serde_json::Value>(&body)
            .map(|v| v.to_string().into_bytes())
            .map_err(|e| format!("invalid character in the backend answer: {e}")),
        Ok(Err(e)) => Err(format!(
            "{} {url:?}: {e}",
            url_error_op(&up.settings.method)
        )),
        Err(_) => Err("context deadline exceeded".to_string()),
    };
    match result {
        Ok(body) => json_response(body, true),
        Err(e) => {
            routes
                .log
                .line(format!("log: ERROR: [ENDPOINT: {}] {e}", route.endpoint));
            let body = if routes.return_error_msg {
                e.into_bytes()
            } else {
                Vec::new()
            };
            Response::builder()
                .status(StatusCode::INTERNAL_SERVER_ERROR)
                .header("x-krakend", KRAKEND_HEADER)
                .header("x-krakend-completed", "false")
                .header("content-type", "text/plain; charset=utf-8")
                .body(Full::new(Bytes::from(body)))
                .unwrap_or_default()
        }
    }
}

fn json_response(body: Vec<u8>, complete: bool) -> Response<Full<Bytes>> {
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json; charset=utf-8")
        .header("x-krakend", KRAKEND_HEADER)
        .header(
            "x-krakend-completed",
            if complete { "true" } else { "false" },
        )
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_default()
}

/// KrakenD's built-in endpoints (`/__health`) and the configured ones;
/// everything else 404s like gin.
async fn handle(
    req: Request<hyper::body::Incoming>,
    routes: &Routes,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    if let Some(route) = routes
        .endpoints
        .iter()
        .find(|r| r.endpoint == req.uri().path() && r.method == req.method().as_str())
    {
        return Ok(proxy(route, routes).await);
    }
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
