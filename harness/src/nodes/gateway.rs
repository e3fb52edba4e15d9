//! The reference Zeebe gateway: `gateway_protocol.Gateway` over tonic, plaintext
//! or TLS per its Zeebe configuration, with the real gateway's wire behaviour on
//! protocol mismatches and its log lines.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tonic::server::NamedService;
use tonic::transport::server::Connected;

use super::gateway_auth::GatewayAuth;
use super::log::NodeLog;
use super::tasks::NodeTasks;
use super::wire::{self, Preface, Rewind};
use crate::config::zeebe::GatewaySettings;
use crate::error::HarnessError;
use crate::pki;
use crate::proto::gateway_server::{Gateway, GatewayServer};
use crate::proto::{partition, BrokerInfo, Partition, TopologyRequest, TopologyResponse};

/// The Zeebe version the reference gateway reports.
pub const ZEEBE_VERSION: &str = "8.4.0";

/// How long a TLS handshake may take.
const HANDSHAKE_DEADLINE: Duration = Duration::from_secs(10);

/// The cluster a gateway reports in its Topology answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Topology {
    /// Number of brokers (node ids 0..brokers).
    pub(crate) brokers: u32,
    /// Number of partitions, spread round-robin over the brokers.
    pub(crate) partitions: u32,
    /// Replication factor reported.
    pub(crate) replication_factor: u32,
}

impl Default for Topology {
    fn default() -> Self {
        Self {
            brokers: 1,
            partitions: 1,
            replication_factor: 1,
        }
    }
}

impl Topology {
    /// A topology of `brokers` brokers, one partition each.
    pub fn with_brokers(brokers: u32) -> Self {
        Self {
            brokers,
            partitions: brokers.max(1),
            replication_factor: 1,
        }
    }

    fn response(&self) -> TopologyResponse {
        let brokers = (0..self.brokers)
            .map(|id| BrokerInfo {
                node_id: id as i32,
                host: format!("broker-{id}"),
                port: 26501,
                partitions: (1..=self.partitions)
                    .filter(|p| (p - 1) % self.brokers.max(1) == id)
                    .map(|p| Partition {
                        partition_id: p as i32,
                        role: partition::PartitionBrokerRole::Leader as i32,
                        health: partition::PartitionBrokerHealth::Healthy as i32,
                    })
                    .collect(),
                version: ZEEBE_VERSION.to_string(),
            })
            .collect();
        TopologyResponse {
            brokers,
            cluster_size: self.brokers as i32,
            partitions_count: self.partitions as i32,
            replication_factor: self.replication_factor as i32,
            gateway_version: ZEEBE_VERSION.to_string(),
        }
    }
}

/// Where a gateway's Topology answer comes from: a fixed [`Topology`], or a
/// live view (a cluster's gossip, see [`super::cluster`]).
pub type TopologySource = Arc<dyn Fn() -> TopologyResponse + Send + Sync>;

struct TopologyService(TopologySource);

#[tonic::async_trait]
impl Gateway for TopologyService {
    async fn topology(
        &self,
        _request: tonic::Request<TopologyRequest>,
    ) -> Result<tonic::Response<TopologyResponse>, tonic::Status> {
        Ok(tonic::Response::new((self.0)()))
    }
}

/// Answers every Gateway method but Topology with UNIMPLEMENTED and a message
/// that names the method, instead of tonic's bare status.
#[derive(Clone)]
struct TopologyOnly<S>(S, Option<Arc<GatewayAuth>>);

impl<S: NamedService> NamedService for TopologyOnly<S> {
    const NAME: &'static str = S::NAME;
}

impl<S> tower::Service<http::Request<tonic::body::Body>> for TopologyOnly<S>
where
    S: tower::Service<
            http::Request<tonic::body::Body>,
            Response = http::Response<tonic::body::Body>,
            Error = Infallible,
        > + Send,
    S::Future: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        let path = req.uri().path().to_string();
        if let Some(auth) = &self.1 {
            let method = path.rsplit('/').next().unwrap_or_default();
            if let Err(status) = auth.check(req.headers(), method) {
                return Box::pin(async move { Ok(status.into_http()) });
            }
        }
        if path == "/gateway_protocol.Gateway/Topology" {
            return Box::pin(self.0.call(req));
        }
        let method = path.rsplit('/').next().unwrap_or_default().to_string();
        Box::pin(async move {
            Ok(tonic::Status::unimplemented(format!(
                "the tlsmatrix reference gateway implements Topology only; {method} is not implemented"
            ))
            .into_http())
        })
    }
}

/// A connection handed to the gRPC server: plaintext (with the preface already
/// read replayed) or TLS.
enum Conn {
    Plain(Rewind<TcpStream>),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Connected for Conn {
    type ConnectInfo = Option<SocketAddr>;

    fn connect_info(&self) -> Self::ConnectInfo {
        match self {
            Conn::Plain(s) => s.inner().peer_addr().ok(),
            Conn::Tls(s) => s.get_ref().0.peer_addr().ok(),
        }
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// A running reference gateway. Dropping it stops it.
#[derive(Debug)]
pub struct GatewayNode {
    address: SocketAddr,
    tls: bool,
    log: NodeLog,
    tasks: NodeTasks,
    /// The REST listener (`server.*`), on a release that has REST.
    rest: Option<super::gateway_rest::RestListener>,
}

impl GatewayNode {
    /// Starts a gateway from Zeebe settings, listening on
    /// `settings.host:settings.port` (port 0 picks a free port).
    pub async fn start(
        settings: &GatewaySettings,
        topology: Topology,
    ) -> Result<Self, HarnessError> {
        Self::start_with_auth(settings, topology, None).await
    }

    /// [`start`](Self::start), with an authentication interceptor in front of
    /// every call.
    pub async fn start_with_auth(
        settings: &GatewaySettings,
        topology: Topology,
        auth: Option<Arc<GatewayAuth>>,
    ) -> Result<Self, HarnessError> {
        Self::start_inner(settings, Arc::new(move || topology.response()), auth).await
    }

    /// Starts a gateway whose Topology answer is computed on each call.
    pub async fn start_with_topology(
        settings: &GatewaySettings,
        topology: TopologySource,
    ) -> Result<Self, HarnessError> {
        Self::start_inner(settings, topology, None).await
    }

    async fn start_inner(
        settings: &GatewaySettings,
        topology: TopologySource,
        auth: Option<Arc<GatewayAuth>>,
    ) -> Result<Self, HarnessError> {
        let acceptor = acceptor(settings).await?;
        let listener = bind(settings).await?;
        let address = listener
            .local_addr()
            .map_err(|e| HarnessError::start_failed("gateway", e))?;
        let log = NodeLog::new("gateway");
        let rest = match &settings.rest {
            Some(rest) if settings.runtime.rest => Some(
                super::gateway_rest::RestListener::start(rest, topology.clone(), log.clone())
                    .await?,
            ),
            _ => None,
        };
        let (stop, stop_rx) = watch::channel(false);
        let (conn_tx, conn_rx) = mpsc::channel::<Result<Conn, std::io::Error>>(64);
        let tls = acceptor.is_some();

        let mut serve_stop = stop_rx;
        // A grpc-java server (what Zeebe's gateway runs on; the netty-oracle,
        // which sets no registry) accepts gzip requests: its default
        // `DecompressorRegistry.getDefaultInstance()` holds gzip. tonic
        // refuses them unless told, and @camunda8/sdk 8.8.13 sends gzip
        // (`grpc.default_compression_algorithm: 2`, its
        // `dist/zeebe/lib/GrpcClient.js`).
        let grpc = GatewayServer::new(TopologyService(topology))
            .accept_compressed(tonic::codec::CompressionEncoding::Gzip);
        let service = TopologyOnly(grpc, auth);
        let serve = tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming_shutdown(
                tokio_stream::wrappers::ReceiverStream::new(conn_rx),
                async move {
                    let _ = serve_stop.changed().await;
                },
            );
        let task = tokio::spawn(async move {
            let _ = serve.await;
        });
        let mut tasks = NodeTasks::new(stop, vec![task]);
        tasks.accept(listener, accept_connection(acceptor, log.clone(), conn_tx));
        Ok(Self {
            address,
            tls,
            log,
            tasks,
            rest,
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

    /// The REST server's address and whether it serves TLS: on a release
    /// with REST ([`crate::version::REST_SINCE`]) whose settings give
    /// `server.*` ([`GatewaySettings::rest`]).
    pub fn rest_address(&self) -> Option<(SocketAddr, bool)> {
        self.rest.as_ref().map(|r| (r.address(), r.is_tls()))
    }

    /// Stops accepting, lets open calls finish (bounded), and waits for the tasks.
    pub async fn shutdown(mut self) {
        if let Some(rest) = self.rest.take() {
            rest.shutdown().await;
        }
        self.tasks.shutdown().await;
    }
}

/// grpc-java's `useTransportSecurity` reads the key with Netty. Without
/// BouncyCastle on the class path (Zeebe 8.4.0) Netty takes PKCS#8 only
/// (`BEGIN PRIVATE KEY`) and tries the RSA, DSA and EC key factories:
/// PKCS#1, SEC1 and Ed25519 keys make the gateway refuse to start. With it
/// (8.4.1 and later), `BouncyCastlePemReader` reads PKCS#1 and SEC1 too.
/// Both measured on the netty-oracle built on each release's runtime. An
/// Ed25519 key is still refused here: the product starts with it under
/// BouncyCastle and fails every handshake, which the reference does not
/// model yet (the scenarios skip that case with the measured facts).
pub(crate) fn netty_accepts_key(
    key: &std::path::Path,
    runtime: crate::version::ProductRuntime,
) -> Result<(), HarnessError> {
    use pkcs8::der::Decode;
    use rustls::pki_types::PrivateKeyDer;
    const RSA: &str = "1.2.840.113549.1.1.1";
    const EC: &str = "1.2.840.10045.2.1";
    const DSA: &str = "1.2.840.10040.4.1";
    let refuse = |why: &str| {
        HarnessError::material(
            key,
            format!(
                "File does not contain valid private key: {} ({why}; Zeebe reads PKCS#8 RSA, EC or DSA keys only)",
                key.file_name().and_then(|n| n.to_str()).unwrap_or_default()
            ),
            format!(
                "convert it to PKCS#8: openssl pkcs8 -topk8 -nocrypt -in {0} -out {0}.pkcs8",
                key.display()
            ),
        )
    };
    match pki::read_private_key(key)? {
        PrivateKeyDer::Pkcs8(der) => {
            let info = pkcs8::PrivateKeyInfo::from_der(der.secret_pkcs8_der())
                .map_err(|_| refuse("not a PKCS#8 structure"))?;
            let oid = info.algorithm.oid.to_string();
            if [RSA, EC, DSA].contains(&oid.as_str()) {
                Ok(())
            } else {
                Err(refuse(&format!("key algorithm {oid}")))
            }
        }
        PrivateKeyDer::Pkcs1(_) | PrivateKeyDer::Sec1(_) if runtime.bouncycastle => Ok(()),
        PrivateKeyDer::Pkcs1(_) => Err(refuse("a PKCS#1 RSA PRIVATE KEY")),
        PrivateKeyDer::Sec1(_) => Err(refuse("a SEC1 EC PRIVATE KEY")),
        _ => Err(refuse("an unknown key encoding")),
    }
}

/// The PEM pair a TLS gateway serves, checked as the release checks it
/// before reading either: both paths configured, then a file at each (chain
/// first), with the release's texts ([`crate::version::gateway_pem_unset`],
/// [`crate::version::gateway_pem_unreadable`]). A keystore configured on a
/// release before 8.6.0 is not read, so it leaves the chain unset.
fn pem_paths(
    settings: &GatewaySettings,
) -> Result<(&std::path::Path, &std::path::Path), HarnessError> {
    let security = &settings.security;
    let runtime = settings.runtime;
    let p = settings.mode.prefix();
    let var = |k: &str| crate::config::env_name(&format!("{p}.security.{k}"));
    let unset = |k: &str, what: &str| {
        let fix = if security.key_store_path.is_some() && !runtime.keystore {
            format!(
                "this release reads no keystore ({p}.security.keyStore.* from {}): give the PEM chain and key",
                crate::version::KEYSTORE_SINCE
            )
        } else {
            format!(
                "set {p}.security.{k} (or {}) to the PEM {what} file, or disable TLS with {p}.security.enabled: false",
                var(k)
            )
        };
        HarnessError::invalid(
            &settings.source,
            format!("{p}.security.{k}"),
            crate::version::gateway_pem_unset(runtime, what),
            fix,
        )
    };
    let chain = security
        .certificate_chain_path
        .as_deref()
        .ok_or_else(|| unset("certificateChainPath", "certificate chain"))?;
    let key = security
        .private_key_path
        .as_deref()
        .ok_or_else(|| unset("privateKeyPath", "private key"))?;
    for (k, what, path) in [
        ("certificateChainPath", "certificate chain", chain),
        ("privateKeyPath", "private key", key),
    ] {
        // 8.4: File.exists(); 8.6: TlsConfigUtil's File.canRead().
        let there = if runtime.keystore {
            std::fs::File::open(path).is_ok()
        } else {
            path.exists()
        };
        if !there {
            return Err(HarnessError::invalid(
                &settings.source,
                format!("{p}.security.{k}"),
                crate::version::gateway_pem_unreadable(runtime, what, &path.display().to_string()),
                format!(
                    "point it (or {}) at the PEM {what} file, relative to the gateway's working directory; check where the secret or volume holding it is mounted",
                    var(k)
                ),
            ));
        }
    }
    Ok((chain, key))
}

/// The gateway's TLS acceptor (from its keystore or its PEM files), or none
/// when security is off. A file that cannot be used is an error against the
/// setting that names it.
async fn acceptor(settings: &GatewaySettings) -> Result<Option<TlsAcceptor>, HarnessError> {
    let acceptor = if settings.security.enabled
        && settings.runtime.keystore
        && settings.security.key_store_path.is_some()
    {
        Some(keystore_acceptor(settings).await?)
    } else if settings.security.enabled {
        let (chain, key) = pem_paths(settings)?;
        let prefix = settings.mode.prefix();
        let in_setting = |setting: &str, e: HarnessError| {
            e.in_setting(&settings.source, &format!("{prefix}.security.{setting}"))
        };
        // The chain is checked on its own first, so that an error in it is
        // reported against certificateChainPath even when both keys name
        // the same file.
        pki::read_certificates(chain).map_err(|e| in_setting("certificateChainPath", e))?;
        Some(tls_acceptor(chain, key, settings.runtime).map_err(|e| {
            let setting = match &e {
                // The chain read fine above: when both keys name one
                // file, what fails now is that file read as a key.
                HarnessError::Material { path, .. } | HarnessError::Io { path, .. }
                    if path == chain && chain != key =>
                {
                    "certificateChainPath"
                }
                _ => "privateKeyPath",
            };
            in_setting(setting, e)
        })?)
    } else {
        None
    };
    Ok(acceptor)
}

/// Binds the gateway's listener; an address in use names the port setting.
async fn bind(settings: &GatewaySettings) -> Result<TcpListener, HarnessError> {
    let bind = super::host_port(&settings.host, settings.port);
    TcpListener::bind(&bind).await.map_err(|source| {
        if source.kind() == std::io::ErrorKind::AddrInUse {
            HarnessError::PortInUse {
                address: bind.clone(),
                source,
                owner: crate::error::PortOwner::Zeebe {
                    setting: settings.mode.port_setting(),
                },
            }
        } else {
            HarnessError::start_failed(format!("gateway on {bind}"), source)
        }
    })
}

/// What the gateway does with each accepted connection (on the node's one
/// accept loop, [`NodeTasks::accept`]): it is handshaken (or its preface
/// read) on a task of its own and handed to the gRPC server.
fn accept_connection(
    acceptor: Option<TlsAcceptor>,
    log: NodeLog,
    conn_tx: mpsc::Sender<Result<Conn, std::io::Error>>,
) -> impl Fn(TcpStream, SocketAddr, watch::Receiver<bool>) -> ConnFuture + Send + 'static {
    move |tcp, _, _| {
        // gRPC is request/response: without NODELAY, Nagle and delayed ACKs
        // add 40 ms to every small exchange.
        let _ = tcp.set_nodelay(true);
        let guard = log.begin();
        let (log, tx, acceptor) = (log.clone(), conn_tx.clone(), acceptor.clone());
        Box::pin(async move {
            let conn = match acceptor {
                Some(acceptor) => tls_conn(tcp, acceptor, &log).await,
                None => plain_conn(tcp, &log).await,
            };
            if let Some(conn) = conn {
                let _ = tx.send(Ok(conn)).await;
            }
            drop(guard);
        })
    }
}

/// The future [`accept_connection`] gives for one connection.
type ConnFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Zeebe 8.6's keystore path (`TlsConfigUtil`): PEM files and a keystore
/// are mutually exclusive; the store must open with its password; the first
/// entry's key and chain are served.
async fn keystore_acceptor(settings: &GatewaySettings) -> Result<TlsAcceptor, HarnessError> {
    let security = &settings.security;
    let p = settings.mode.prefix();
    let store = security
        .key_store_path
        .as_deref()
        .unwrap_or_else(|| std::path::Path::new(""));
    if security.certificate_chain_path.is_some() || security.private_key_path.is_some() {
        return Err(HarnessError::invalid(
            &settings.source,
            format!("{p}.security.keyStore.filePath"),
            crate::version::KEYSTORE_AND_PEM_REFUSED,
            format!(
                "keep one: the keystore ({p}.security.keyStore.filePath) or the PEM files ({p}.security.certificateChainPath and privateKeyPath); unset the others, and their {} / {} variables",
                crate::config::env_name(&format!("{p}.security.certificateChainPath")),
                crate::config::env_name(&format!("{p}.security.privateKeyPath")),
            ),
        ));
    }
    if std::fs::File::open(store).is_err() {
        return Err(HarnessError::invalid(
            &settings.source,
            format!("{p}.security.keyStore.filePath"),
            crate::version::tls_config_keystore_unreadable(&store.display().to_string()),
            "point it at the PKCS#12 file, relative to the gateway's working directory",
        ));
    }
    let identity = pki::read_pkcs12(
        store,
        security.key_store_password.as_ref().map(|p| p.0.as_str()),
    )
    .await
    .map_err(|e| e.in_setting(&settings.source, &format!("{p}.security.keyStore.password")))?;
    let certified = pki::certified_key(identity.chain, identity.key, store, store)?;
    server_config(certified)
}

fn server_config(certified: Arc<rustls::sign::CertifiedKey>) -> Result<TlsAcceptor, HarnessError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| HarnessError::run("gateway TLS", e))?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(certified)));
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn tls_acceptor(
    chain: &std::path::Path,
    key: &std::path::Path,
    runtime: crate::version::ProductRuntime,
) -> Result<TlsAcceptor, HarnessError> {
    netty_accepts_key(key, runtime)?;
    server_config(pki::load_certified_key(chain, key)?)
}

/// A plaintext gateway checks the HTTP/2 preface as Netty does.
async fn plain_conn(mut tcp: TcpStream, log: &NodeLog) -> Option<Conn> {
    match wire::read_preface(&mut tcp).await {
        Preface::Valid(read) => Some(Conn::Plain(Rewind::new(read, tcp))),
        Preface::Corrupt(read) => {
            let message = format!(
                "HTTP/2 client preface string missing or corrupt. Hex dump for received bytes: {}",
                wire::hex_dump(&read)
            );
            log.line("INFO [io.grpc.netty.NettyServerTransport.connections] Transport failed");
            log.line(format!(
                "io.netty.handler.codec.http2.Http2Exception: {message}"
            ));
            wire::close_cleanly(tcp, &wire::settings_and_goaway(&message)).await;
            None
        }
        Preface::Gone => None,
    }
}

/// A TLS gateway refuses non-TLS bytes as Netty's SslHandler does, and logs
/// handshake failures.
async fn tls_conn(tcp: TcpStream, acceptor: TlsAcceptor, log: &NodeLog) -> Option<Conn> {
    let first = wire::peek_first_bytes(&tcp).await?;
    if first[0] != 0x16 {
        // Netty logs this below INFO (measured on the netty-oracle): an operator
        // at the default level sees nothing.
        log.debug(format!(
            "io.netty.handler.ssl.NotSslRecordException: not an SSL/TLS record: {}",
            wire::hex_dump(&first)
        ));
        wire::close_cleanly(tcp, &[]).await;
        return None;
    }
    match tokio::time::timeout(HANDSHAKE_DEADLINE, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => Some(Conn::Tls(Box::new(tls))),
        Ok(Err(e)) => {
            // A client that gives up mid-handshake (EOF, reset) is not worth a line:
            // the real gateway does not log those either.
            if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                // Logged below INFO, as grpc-java does ("TLS negotiation failed").
                log.debug(format!("TLS negotiation failed: {inner}"));
            }
            None
        }
        Err(_) => {
            log.debug("TLS handshake timed out");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::zeebe::GatewayMode;
    use crate::config::EnvMap;
    use crate::version::ProductRuntime;
    use std::path::Path;

    fn settings(yaml: &str, version: &str) -> GatewaySettings {
        GatewaySettings::from_yaml(
            GatewayMode::Standalone,
            "g.yaml",
            yaml,
            &EnvMap::new(),
            Path::new("/nonexistent-dir"),
        )
        .unwrap()
        .with_runtime(ProductRuntime::of(Some(version)))
    }

    #[test]
    fn an_unset_chain_is_refused_with_the_release_text_key_and_variable() {
        let yaml = "zeebe:\n  gateway:\n    security:\n      enabled: true\n";
        let err = pem_paths(&settings(yaml, "8.6.0")).unwrap_err().to_string();
        assert!(
            err.starts_with("g.yaml: zeebe.gateway.security.certificateChainPath: Expected to have a valid certificate chain path for network security, but none configured"),
            "{err}"
        );
        assert!(
            err.contains("ZEEBE_GATEWAY_SECURITY_CERTIFICATECHAINPATH"),
            "{err}"
        );
        let err = pem_paths(&settings(yaml, "8.4.1")).unwrap_err().to_string();
        assert!(
            err.contains(
                "Expected to find a valid path to a certificate chain but none was found."
            ),
            "{err}"
        );
    }

    #[test]
    fn a_missing_key_file_is_refused_after_the_chain_with_the_release_text() {
        let chain = tempfile::NamedTempFile::new().unwrap();
        let yaml = format!(
            "zeebe:\n  gateway:\n    security:\n      enabled: true\n      certificateChainPath: {}\n      privateKeyPath: /nonexistent-dir/key.pem\n",
            chain.path().display()
        );
        let err = pem_paths(&settings(&yaml, "8.6.0"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("zeebe.gateway.security.privateKeyPath: Expected the configured network security private key path '/nonexistent-dir/key.pem' to point to a readable file, but it does not"), "{err}");
        let err = pem_paths(&settings(&yaml, "8.4.0"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("Expected to find a private key file at the provided location '/nonexistent-dir/key.pem' but none was found."), "{err}");
    }
}
