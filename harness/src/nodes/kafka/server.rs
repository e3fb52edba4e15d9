//! The running gateway: the Kafka listener (TLS when the protocol says so)
//! and the admin API, on free ports, stopped on drop; a refusal to start
//! when the Kafka backend cannot be used.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use super::admin::admin_api;
use super::connection::serve_kafka;
use super::log_store::LogStore;
use super::settings::KafkaGatewaySettings;
use super::upstream;
use crate::error::HarnessError;
use crate::nodes::NodeLog;
use crate::pki;

/// What every connection of one gateway shares.
pub(super) struct Shared {
    pub(super) settings: KafkaGatewaySettings,
    pub(super) store: Mutex<LogStore>,
    pub(super) log: NodeLog,
    pub(super) port: u16,
}

/// The TLS acceptor when the protocol says TLS: refused without a
/// certificate chain and key.
fn acceptor(
    settings: &KafkaGatewaySettings,
) -> Result<Option<tokio_rustls::TlsAcceptor>, HarnessError> {
    match (settings.security_protocol.tls(), &settings.tls) {
        (false, _) => Ok(None),
        (true, Some((chain, key))) => {
            let certified = pki::load_certified_key(chain, key)?;
            let config = rustls::ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map_err(|e| HarnessError::run("kafka gateway TLS", e))?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(certified)));
            Ok(Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))))
        }
        (true, None) => Err(HarnessError::invalid(
            "kafka gateway",
            "GATEWAY_SECURITY_PROTOCOL",
            "SSL needs a certificate chain and key",
            "give the gateway a certificate (tls.chain, tls.key in the case)",
        )),
    }
}

/// Connects to the Kafka backend and lists its brokers before the gateway
/// starts (a backend it cannot use is a refusal naming the `KAFKA_*`
/// variables); the log line saying so.
async fn check_backend(backend: &upstream::BackendSettings) -> Result<String, HarnessError> {
    let refused = |e: String| {
        HarnessError::invalid(
            "kafka gateway",
            "KAFKA_BOOTSTRAP_SERVERS",
            format!("cannot use the Kafka backend, not starting: {e}"),
            "make the KAFKA_* variables (KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM, KAFKA_SASL_JAAS_CONFIG, KAFKA_SSL_TRUSTSTORE_LOCATION) match the backend's listener",
        )
    };
    let mut up = upstream::Upstream::connect(backend)
        .await
        .map_err(refused)?;
    let brokers = up.probe().await.map_err(refused)?;
    Ok(format!(
        "backend: connected to {}; the cluster lists {brokers} broker(s)",
        backend.describe()
    ))
}

/// A running gateway (Kafka listener and admin API). Dropping it stops it.
#[derive(Debug)]
pub struct KafkaGateway {
    address: SocketAddr,
    admin: SocketAddr,
    log: NodeLog,
    tasks: crate::nodes::tasks::NodeTasks,
}

impl KafkaGateway {
    /// Starts on 127.0.0.1, free ports for the Kafka listener and the admin API.
    pub async fn start(settings: KafkaGatewaySettings) -> Result<Self, HarnessError> {
        let acceptor = acceptor(&settings)?;
        let backend_line = match &settings.backend {
            Some(backend) => Some(check_backend(backend).await?),
            None => None,
        };
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| HarnessError::start_failed("kafka gateway", e))?;
        let admin_listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| HarnessError::start_failed("kafka admin API", e))?;
        let address = listener
            .local_addr()
            .map_err(|e| HarnessError::start_failed("kafka gateway", e))?;
        let admin = admin_listener
            .local_addr()
            .map_err(|e| HarnessError::start_failed("kafka admin API", e))?;
        let log = NodeLog::new("kafka-gateway");
        for w in &settings.warnings {
            log.line(w.clone());
        }
        if let Some(line) = backend_line {
            log.line(line);
        }
        let shared = Arc::new(Shared {
            settings,
            store: Mutex::new(LogStore::default()),
            log: log.clone(),
            port: address.port(),
        });
        let mut tasks = crate::nodes::tasks::NodeTasks::idle();
        let kafka_shared = shared.clone();
        tasks.accept(listener, move |tcp, peer, _| {
            let _ = tcp.set_nodelay(true);
            let shared = kafka_shared.clone();
            let acceptor = acceptor.clone();
            let guard = shared.log.begin();
            async move {
                match acceptor {
                    Some(acceptor) => {
                        let accepted =
                            tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp))
                                .await;
                        match accepted {
                            Ok(Ok(tls)) => serve_kafka(tls, peer, &shared).await,
                            Ok(Err(e)) => shared.log.line(format!(
                                "Failed authentication with /{}: SSL handshake failed ({e})",
                                peer.ip()
                            )),
                            Err(_) => {}
                        }
                    }
                    None => serve_kafka(tcp, peer, &shared).await,
                }
                drop(guard);
            }
        });
        tasks.accept(admin_listener, move |tcp, _, _| {
            let shared = shared.clone();
            async move {
                let service = hyper::service::service_fn(move |req| {
                    let shared = shared.clone();
                    async move { Ok::<_, std::convert::Infallible>(admin_api(&shared, req).await) }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            }
        });
        Ok(Self {
            address,
            admin,
            log,
            tasks,
        })
    }

    /// The Kafka listener.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The admin API's base URL.
    pub fn admin_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.admin.port())
    }

    /// The gateway's log.
    pub fn log(&self) -> &NodeLog {
        &self.log
    }

    /// Stops both listeners.
    pub async fn shutdown(mut self) {
        self.tasks.shutdown().await;
    }
}
