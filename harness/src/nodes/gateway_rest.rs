//! The reference gateway's REST listener (Zeebe 8.5.0 and later): HTTP/1.1
//! over hyper, TLS from Spring's `server.ssl.*` (rustls), apart from gRPC.
//! It answers `GET /v2/topology` and `GET /v1/topology` with the topology as
//! the product's JSON (camunda-docs version-8.6, get-cluster-topology:
//! `brokers[].nodeId/host/port/partitions[].partitionId/role/health/version`,
//! `clusterSize`, `partitionsCount`, `replicationFactor`, `gatewayVersion`),
//! and follows embedded Tomcat 10.1.30 (8.6.0's REST server, see
//! [`crate::version::REST_SINCE`]) where a client speaks the wrong protocol:
//! plain HTTP to the TLS port gets Tomcat's 400 "requires TLS" answer.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use super::gateway::TopologySource;
use super::log::NodeLog;
use super::tasks::NodeTasks;
use super::wire;
use crate::config::rest::RestSettings;
use crate::error::HarnessError;
use crate::pki;
use crate::proto::TopologyResponse;

/// How long a TLS handshake may take.
const HANDSHAKE_DEADLINE: Duration = Duration::from_secs(10);

/// What Tomcat 10.1.30 writes, then closes, when the first bytes on a TLS
/// connector are a plain HTTP request
/// (`org.apache.tomcat.util.net.TLSClientHelloExtractor.USE_TLS_RESPONSE`,
/// read from tomcat-embed-core-10.1.30.jar).
pub const TOMCAT_USE_TLS_RESPONSE: &[u8] = b"HTTP/1.1 400 \r\nContent-Type: text/plain;charset=UTF-8\r\nConnection: close\r\n\r\nBad Request\r\nThis combination of host and port requires TLS.\r\n";

/// A running REST listener; stops with [`Self::shutdown`] or when dropped.
#[derive(Debug)]
pub struct RestListener {
    address: SocketAddr,
    tls: bool,
    tasks: NodeTasks,
}

impl RestListener {
    /// Binds `settings.host:settings.port` and serves the topology, with TLS
    /// when `server.ssl` is enabled.
    pub async fn start(
        settings: &RestSettings,
        topology: TopologySource,
        log: NodeLog,
    ) -> Result<Self, HarnessError> {
        let acceptor = if settings.ssl.enabled {
            let (Some(chain), Some(key)) = (
                settings.ssl.certificate.as_deref(),
                settings.ssl.certificate_private_key.as_deref(),
            ) else {
                return Err(HarnessError::invalid(
                    &settings.source,
                    "server.ssl.certificate",
                    "REST TLS is enabled but the PEM pair is not configured",
                    "set server.ssl.certificate and server.ssl.certificate-private-key",
                ));
            };
            pki::read_certificates(chain)
                .map_err(|e| e.in_setting(&settings.source, "server.ssl.certificate"))?;
            // Spring Boot hands Tomcat the pair without checking that the key
            // belongs to the certificate: a mismatched pair starts and every
            // handshake fails (`bad signature`), as on the product.
            let certified = pki::load_certified_key_unchecked(chain, key).map_err(|e| {
                e.in_setting(&settings.source, "server.ssl.certificate-private-key")
            })?;
            Some(acceptor(certified)?)
        } else {
            None
        };
        let bind = super::host_port(&settings.host, settings.port);
        let listener = TcpListener::bind(&bind).await.map_err(|source| {
            if source.kind() == std::io::ErrorKind::AddrInUse {
                HarnessError::PortInUse {
                    address: bind.clone(),
                    source,
                    owner: crate::error::PortOwner::Zeebe {
                        setting: "server.port / SERVER_PORT".to_string(),
                    },
                }
            } else {
                HarnessError::start_failed(format!("gateway REST server on {bind}"), source)
            }
        })?;
        let address = listener
            .local_addr()
            .map_err(|e| HarnessError::start_failed("gateway REST server", e))?;
        let tls = acceptor.is_some();
        let mut tasks = NodeTasks::idle();
        tasks.accept(listener, move |tcp, _peer, stop| {
            let guard = log.begin();
            let log = log.clone();
            let acceptor = acceptor.clone();
            let topology = topology.clone();
            async move {
                let _ = tcp.set_nodelay(true);
                match acceptor {
                    Some(acceptor) => tls_conn(tcp, acceptor, topology, stop, &log).await,
                    None => serve(TokioIo::new(tcp), topology, stop).await,
                }
                drop(guard);
            }
        });
        Ok(Self {
            address,
            tls,
            tasks,
        })
    }

    /// The address the REST server listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// True when it serves TLS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Stops accepting and waits (bounded) for the tasks.
    pub async fn shutdown(mut self) {
        self.tasks.shutdown().await;
    }
}

/// Tomcat's JSSE connector with Spring Boot's defaults: no client
/// certificate, no ALPN (`server.http2.enabled` is false by default).
fn acceptor(certified: Arc<rustls::sign::CertifiedKey>) -> Result<TlsAcceptor, HarnessError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| HarnessError::run("gateway REST TLS", e))?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(certified)));
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// An HTTP method token and a space: what Tomcat's `TLSClientHelloExtractor`
/// takes for a plain HTTP request (`isHttp`).
fn looks_like_http(first: &[u8]) -> bool {
    let method_len = first.iter().take_while(|b| b.is_ascii_uppercase()).count();
    method_len > 0 && first.get(method_len) == Some(&b' ')
}

async fn tls_conn(
    tcp: TcpStream,
    acceptor: TlsAcceptor,
    topology: TopologySource,
    stop: watch::Receiver<bool>,
    log: &NodeLog,
) {
    let Some(first) = wire::peek_first_bytes(&tcp).await else {
        return;
    };
    if first[0] != 0x16 {
        // Tomcat answers a plain HTTP request with 400 and closes; any other
        // bytes it closes on without a word.
        let reply = if looks_like_http(&first) {
            TOMCAT_USE_TLS_RESPONSE
        } else {
            &[]
        };
        wire::close_cleanly(tcp, reply).await;
        return;
    }
    match tokio::time::timeout(HANDSHAKE_DEADLINE, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => serve(TokioIo::new(tls), topology, stop).await,
        Ok(Err(e)) => {
            if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                log.debug(format!("REST TLS handshake failed: {inner}"));
            }
        }
        Err(_) => log.debug("REST TLS handshake timed out"),
    }
}

async fn serve<I>(io: I, topology: TopologySource, mut stop: watch::Receiver<bool>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
        let topology = topology.clone();
        async move { Ok::<_, std::convert::Infallible>(handle(&req, &topology)) }
    });
    let conn = hyper::server::conn::http1::Builder::new().serve_connection(io, service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = stop.changed() => {}
    }
}

fn handle(
    req: &Request<hyper::body::Incoming>,
    topology: &TopologySource,
) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    let (status, body) = if path == "/v2/topology" || path == "/v1/topology" {
        if req.method() == hyper::Method::GET {
            (StatusCode::OK, topology_json(&topology()))
        } else {
            (
                StatusCode::METHOD_NOT_ALLOWED,
                problem(405, "Method Not Allowed", path),
            )
        }
    } else {
        (StatusCode::NOT_FOUND, problem(404, "Not Found", path))
    };
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// An RFC 9457 problem body, the shape Spring answers errors with.
fn problem(status: u16, title: &str, path: &str) -> String {
    serde_json::json!({
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": format!("the tlsmatrix reference gateway serves GET /v2/topology and /v1/topology only; not {path}"),
        "instance": path,
    })
    .to_string()
}

/// The topology as the REST API's JSON (camunda-docs version-8.6,
/// get-cluster-topology.api.mdx): enum values in lower case.
pub fn topology_json(t: &TopologyResponse) -> String {
    use crate::proto::partition::{PartitionBrokerHealth, PartitionBrokerRole};
    let brokers: Vec<serde_json::Value> = t
        .brokers
        .iter()
        .map(|b| {
            let partitions: Vec<serde_json::Value> = b
                .partitions
                .iter()
                .map(|p| {
                    let role = match PartitionBrokerRole::try_from(p.role) {
                        Ok(PartitionBrokerRole::Leader) => "leader",
                        Ok(PartitionBrokerRole::Follower) => "follower",
                        _ => "inactive",
                    };
                    let health = match PartitionBrokerHealth::try_from(p.health) {
                        Ok(PartitionBrokerHealth::Healthy) => "healthy",
                        Ok(PartitionBrokerHealth::Unhealthy) => "unhealthy",
                        _ => "dead",
                    };
                    serde_json::json!({"partitionId": p.partition_id, "role": role, "health": health})
                })
                .collect();
            serde_json::json!({
                "nodeId": b.node_id,
                "host": b.host,
                "port": b.port,
                "partitions": partitions,
                "version": b.version,
            })
        })
        .collect();
    serde_json::json!({
        "brokers": brokers,
        "clusterSize": t.cluster_size,
        "partitionsCount": t.partitions_count,
        "replicationFactor": t.replication_factor,
        "gatewayVersion": t.gateway_version,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_method_and_a_space_is_http() {
        assert!(looks_like_http(b"GET /v2/topology HTTP/1.1\r\n"));
        assert!(looks_like_http(b"OPTIONS * HTTP/1.1"));
        assert!(!looks_like_http(b"\x16\x03\x01"));
        assert!(!looks_like_http(b"PRI* HTTP/2.0"));
    }
}
