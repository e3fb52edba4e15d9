//! The messaging transport between nodes (TCP; TLS 1.3 when the node's security
//! is enabled). After the optional TLS handshake both sides exchange Zeebe's
//! 6-byte preamble (the cluster name's Java `hashCode`, then a protocol version),
//! then length-prefixed JSON requests and replies.
//!
//! Log texts: lines marked *source* are copied from Zeebe's
//! `NettyMessagingService` as published; lines marked *measured* were printed by
//! Netty's OpenSSL engine and the JDK trust manager with contexts built as
//! `NettyMessagingService` builds them (`harness/probes/cluster-tls`). The
//! `(raft-ping to broker-2)` suffix of the dialling node's lines is ours: it
//! names the request and the peer.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::tls::{NodeTls, ServerTls};
use crate::nodes::log::NodeLog;
use crate::nodes::tasks::NodeTasks;
use crate::nodes::wire;

/// Zeebe's default cluster name (`zeebe.broker.cluster.clusterName`).
pub const CLUSTER_NAME: &str = "zeebe-cluster";
/// The messaging protocol version sent after the preamble.
const PROTOCOL_VERSION: i16 = 2;
/// How long a handshake (TLS and preamble) may take.
const HANDSHAKE_DEADLINE: Duration = Duration::from_secs(3);
/// The largest frame accepted.
const MAX_FRAME: u32 = 1 << 20;

/// Java's `String.hashCode`, which Zeebe uses as the connection preamble.
pub fn java_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

fn preamble() -> [u8; 6] {
    let mut out = [0u8; 6];
    out[..4].copy_from_slice(&java_hash(CLUSTER_NAME).to_be_bytes());
    out[4..].copy_from_slice(&PROTOCOL_VERSION.to_be_bytes());
    out
}

/// One request between nodes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    /// What is asked (`raft-ping`, `gateway-request`).
    pub(crate) subject: String,
    /// The sending node's name.
    pub(crate) from: String,
}

/// The reply to a [`Request`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reply {
    /// The answering node's name.
    pub(crate) node: String,
}

/// Why a request failed, in two words: the raw error and the line a Zeebe
/// node would log on the dialling side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkError {
    /// What happened, with the underlying (rustls / io) error.
    pub detail: String,
    /// The dialling node's log line (measured or from Zeebe's source; see the
    /// module documentation).
    pub log_line: String,
}

/// BoringSSL's reason for a received alert, as Netty's OpenSSL engine reports
/// it: `error:10000438:SSL routines:OPENSSL_internal:TLSV1_ALERT_INTERNAL_ERROR`
/// (reason code 1000 + alert; measured for internal_error and certificate_expired).
fn boringssl_alert(alert: &rustls::AlertDescription) -> String {
    use rustls::AlertDescription as A;
    let name = match alert {
        A::InternalError => "TLSV1_ALERT_INTERNAL_ERROR".to_string(),
        A::CertificateExpired => "SSLV3_ALERT_CERTIFICATE_EXPIRED".to_string(),
        A::HandshakeFailure => "SSLV3_ALERT_HANDSHAKE_FAILURE".to_string(),
        A::BadCertificate => "SSLV3_ALERT_BAD_CERTIFICATE".to_string(),
        A::UnknownCA => "TLSV1_ALERT_UNKNOWN_CA".to_string(),
        other => format!("TLSV1_ALERT_{}", format!("{other:?}").to_uppercase()),
    };
    format!(
        "io.netty.handler.ssl.ReferenceCountedOpenSslEngine$OpenSslHandshakeException: error:{:08x}:SSL routines:OPENSSL_internal:{name}",
        0x1000_0000 + 1000 + u32::from(u8::from(*alert))
    )
}

/// The JDK's cause when the dialling node's trust manager refuses the peer.
const GENERAL_OPENSSL_PROBLEM: &str =
    "javax.net.ssl.SSLHandshakeException: General OpenSslEngine problem; caused by: sun.security.validator.ValidatorException";

/// The line a Zeebe node logs for a TLS error seen while dialling (measured
/// with `harness/probes/cluster-tls`, Netty's OpenSSL engine with the JDK trust
/// manager).
fn dialler_text(error: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    match error {
        rustls::Error::InvalidCertificate(C::UnknownIssuer) => format!("{GENERAL_OPENSSL_PROBLEM}: PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target"),
        rustls::Error::InvalidCertificate(C::BadSignature) => format!("{GENERAL_OPENSSL_PROBLEM}: PKIX path validation failed: java.security.cert.CertPathValidatorException: signature check failed"),
        rustls::Error::InvalidCertificate(C::Expired | C::NotValidYet) => format!("{GENERAL_OPENSSL_PROBLEM}: PKIX path validation failed: java.security.cert.CertPathValidatorException: validity check failed"),
        rustls::Error::AlertReceived(alert) => boringssl_alert(alert),
        other => format!("javax.net.ssl.SSLHandshakeException: {other}"),
    }
}

/// The line a Zeebe node logs for a TLS error seen while serving. Our rustls
/// client sends `unknown_ca` / `decrypt_error` when it refuses a certificate;
/// a Zeebe node's BoringSSL client sends `internal_error` for the same refusal
/// (measured), so the serving node logs what it would log facing a Zeebe node.
fn server_text(error: &rustls::Error) -> String {
    use rustls::AlertDescription as A;
    match error {
        rustls::Error::AlertReceived(A::UnknownCA | A::DecryptError | A::BadCertificate) => {
            boringssl_alert(&A::InternalError)
        }
        rustls::Error::AlertReceived(alert) => boringssl_alert(alert),
        other => format!("javax.net.ssl.SSLHandshakeException: {other}"),
    }
}

fn tls_error(e: &std::io::Error) -> Option<&rustls::Error> {
    e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>())
}

/// The messaging server of one node, on the node's one accept loop
/// ([`NodeTasks::accept`]), which stops it with the node.
pub fn serve(
    tasks: &mut NodeTasks,
    listener: TcpListener,
    tls: Option<NodeTls>,
    name: String,
    log: NodeLog,
) {
    let name: Arc<str> = Arc::from(name);
    tasks.accept(listener, move |tcp, _, _| {
        let _ = tcp.set_nodelay(true);
        let guard = log.begin();
        let (log, tls, name) = (log.clone(), tls.clone(), name.clone());
        async move {
            let _ =
                tokio::time::timeout(HANDSHAKE_DEADLINE * 2, accept(tcp, tls, &name, &log)).await;
            drop(guard);
        }
    });
}

async fn accept(tcp: TcpStream, tls: Option<NodeTls>, name: &str, log: &NodeLog) {
    let Some(tls) = tls else {
        serve_plain(tcp, name, log).await;
        return;
    };
    let Some(first) = wire::peek_first_bytes(&tcp).await else {
        return;
    };
    if first[0] != 0x16 {
        // measured (probes/cluster-tls --mixed): Netty's SslHandler fails
        // decoding, and nothing in Zeebe's server pipeline handles the
        // exception, so it reaches the pipeline tail. Netty 4.1.122 prints no
        // hex dump of the bytes.
        log.line("WARN io.netty.channel.DefaultChannelPipeline - An exceptionCaught() event was fired, and it reached at the tail of the pipeline. It usually means the last handler in the pipeline did not handle the exception.");
        log.line("io.netty.handler.codec.DecoderException: io.netty.handler.ssl.NotSslRecordException: not an SSL/TLS record");
        wire::close_cleanly(tcp, &[]).await;
        return;
    }
    match tls.server {
        ServerTls::Fails {
            log_line, alert, ..
        } => {
            log.line(log_line);
            // A fatal alert record (TLS 1.2 record version, as TLS 1.3 sends it).
            wire::close_cleanly(tcp, &[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, alert]).await;
        }
        ServerTls::Serve(acceptor) => {
            match tokio::time::timeout(HANDSHAKE_DEADLINE, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => exchange_server(stream, name, log).await,
                Ok(Err(e)) => {
                    if let Some(inner) = tls_error(&e) {
                        log.line(server_text(inner));
                    }
                }
                Err(_) => log.debug("TLS handshake timed out"),
            }
        }
    }
}

async fn serve_plain(tcp: TcpStream, name: &str, log: &NodeLog) {
    exchange_server(tcp, name, log).await;
}

async fn read_frame<S: AsyncRead + Unpin>(s: &mut S) -> std::io::Result<Vec<u8>> {
    let len = s.read_u32().await?;
    if len > MAX_FRAME {
        return Err(std::io::Error::other("frame too large"));
    }
    let mut buf = vec![0u8; len as usize];
    s.read_exact(&mut buf).await?;
    Ok(buf)
}

async fn write_frame<S: AsyncWrite + Unpin>(s: &mut S, body: &[u8]) -> std::io::Result<()> {
    s.write_u32(body.len() as u32).await?;
    s.write_all(body).await?;
    s.flush().await
}

async fn exchange_server<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, name: &str, log: &NodeLog) {
    let mut got = [0u8; 6];
    if s.read_exact(&mut got).await.is_err() {
        return;
    }
    if got[..4] != preamble()[..4] {
        // source: NettyMessagingService.readProtocolVersion.
        log.line("WARN io.atomix.cluster.messaging.impl.NettyMessagingService - Received invalid handshake, closing connection");
        let _ = s.shutdown().await;
        return;
    }
    if s.write_all(&preamble()).await.is_err() {
        return;
    }
    while let Ok(frame) = read_frame(&mut s).await {
        let Ok(request) = serde_json::from_slice::<Request>(&frame) else {
            break;
        };
        log.debug(format!("{} from {}", request.subject, request.from));
        let reply = Reply {
            node: name.to_string(),
        };
        let Ok(body) = serde_json::to_vec(&reply) else {
            break;
        };
        if write_frame(&mut s, &body).await.is_err() {
            break;
        }
    }
}

async fn exchange_client<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    request: &Request,
    target: &str,
) -> Result<Reply, LinkError> {
    let closed = |what: &str| {
        LinkError {
        detail: format!("{what}: the connection was closed before the request was handled"),
        // source (shortened): NettyMessagingService.bootstrapClient.
        log_line: format!("java.net.ConnectException: Channel for address {target} was closed unexpectedly before the request was handled"),
    }
    };
    s.write_all(&preamble())
        .await
        .map_err(|_| closed("writing the preamble"))?;
    let mut got = [0u8; 6];
    s.read_exact(&mut got)
        .await
        .map_err(|_| closed("reading the preamble"))?;
    let body = serde_json::to_vec(request).map_err(|e| LinkError {
        detail: e.to_string(),
        log_line: e.to_string(),
    })?;
    write_frame(&mut s, &body)
        .await
        .map_err(|_| closed("writing the request"))?;
    let frame = read_frame(&mut s)
        .await
        .map_err(|_| closed("reading the reply"))?;
    serde_json::from_slice(&frame).map_err(|e| LinkError {
        detail: format!("malformed reply: {e}"),
        log_line: format!("malformed reply: {e}"),
    })
}

/// Sends one request from a node to `addr` (the node called `target`), over
/// TLS when `tls` is given, within `deadline`.
pub async fn request(
    addr: SocketAddr,
    target: &str,
    tls: Option<&NodeTls>,
    request: &Request,
    deadline: Duration,
) -> Result<Reply, LinkError> {
    let run = async {
        let tcp = TcpStream::connect(addr).await.map_err(|e| LinkError {
            detail: format!("connect: {e}"),
            log_line: format!(
                "java.net.ConnectException: Failed to connect channel for address {target}"
            ),
        })?;
        let _ = tcp.set_nodelay(true);
        match tls {
            None => exchange_client(tcp, request, target).await,
            Some(tls) => {
                let stream = tls
                    .connector
                    .connect(NodeTls::server_name(addr), tcp)
                    .await
                    .map_err(|e| match tls_error(&e) {
                        Some(inner) => LinkError {
                            detail: format!("TLS handshake failed: {inner}"),
                            log_line: dialler_text(inner),
                        },
                        None => LinkError {
                            detail: format!("TLS handshake failed: {e}"),
                            // measured (probes/cluster-tls --mixed): a TLS client
                            // whose peer closes mid-handshake sees only the channel
                            // closing; the text is NettyMessagingService's (source,
                            // shortened).
                            log_line: format!("java.net.ConnectException: Channel for address {target} was closed unexpectedly before the request was handled"),
                        },
                    })?;
                exchange_client(stream, request, target).await
            }
        }
    };
    match tokio::time::timeout(deadline, run).await {
        Ok(result) => result,
        Err(_) => Err(LinkError {
            detail: format!("no reply within {} ms", deadline.as_millis()),
            // source (shortened): NettyMessagingService.sendAndReceive.
            log_line: format!(
                "java.util.concurrent.TimeoutException: Request to {target} timed out"
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn java_hash_matches_string_hash_code() {
        assert_eq!(super::java_hash(""), 0);
        assert_eq!(super::java_hash("a"), 97);
        assert_eq!(super::java_hash("hello"), 99162322);
    }

    #[test]
    fn alerts_read_as_boringssl_reports_them() {
        assert!(
            super::boringssl_alert(&rustls::AlertDescription::InternalError).ends_with(
                "error:10000438:SSL routines:OPENSSL_internal:TLSV1_ALERT_INTERNAL_ERROR"
            )
        );
        assert!(
            super::boringssl_alert(&rustls::AlertDescription::CertificateExpired).ends_with(
                "error:10000415:SSL routines:OPENSSL_internal:SSLV3_ALERT_CERTIFICATE_EXPIRED"
            )
        );
    }
}
