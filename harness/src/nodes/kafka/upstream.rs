//! The gateway's side towards a real Kafka cluster: its own connection
//! settings (Conduktor Gateway's `KAFKA_*` variables), a connection with TLS
//! and SASL PLAIN as a Kafka client makes it, and raw request forwarding.
//!
//! Conduktor documents the backend connection as "all environment variables
//! that start with `KAFKA_` are mapped to configuration properties for
//! connecting Gateway to the Kafka cluster", with `KAFKA_BOOTSTRAP_SERVERS`,
//! `KAFKA_SECURITY_PROTOCOL`, `KAFKA_SASL_MECHANISM` and
//! `KAFKA_SASL_JAAS_CONFIG` as the examples
//! (<https://docs.conduktor.io/guide/conduktor-in-production/deploy-artifacts/deploy-gateway/connect-to-kafka>,
//! <https://docs.conduktor.io/guide/conduktor-in-production/deploy-artifacts/deploy-gateway/environment-variables>).
//! The reference reads those four plus `KAFKA_SSL_TRUSTSTORE_TYPE` (PEM only)
//! and `KAFKA_SSL_TRUSTSTORE_LOCATION` (`ssl.truststore.*`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, MetadataRequest, RequestHeader, ResponseHeader, SaslAuthenticateRequest,
    SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::wire::{self, FrameError};
use super::SecurityProtocol;
use crate::config::EnvMap;
use crate::error::HarnessError;
use crate::pki;

/// How long connecting, the TLS handshake and authentication may take.
pub const CONNECT_DEADLINE: Duration = Duration::from_secs(10);

/// The gateway's connection settings towards the Kafka cluster.
#[derive(Debug, Clone)]
pub struct BackendSettings {
    /// `KAFKA_BOOTSTRAP_SERVERS`, in order.
    pub(crate) bootstrap: Vec<String>,
    /// `KAFKA_SECURITY_PROTOCOL` (default PLAINTEXT).
    pub(crate) security_protocol: SecurityProtocol,
    /// `KAFKA_SASL_MECHANISM` (default PLAIN; only PLAIN can authenticate).
    pub(crate) sasl_mechanism: String,
    /// Username and password of `KAFKA_SASL_JAAS_CONFIG` (PlainLoginModule).
    pub(crate) credentials: Option<(String, String)>,
    /// `KAFKA_SSL_TRUSTSTORE_LOCATION` (a PEM file; relative to the
    /// gateway's working directory). Absent: the system's CA store.
    pub(crate) truststore: Option<PathBuf>,
}

/// The `username` and `password` options of a JAAS line
/// (`org.apache.kafka.common.security.plain.PlainLoginModule required
/// username="u" password="p";`, single or double quotes).
pub fn jaas_credentials(jaas: &str) -> Option<(String, String)> {
    let option = |name: &str| {
        let re = regex::Regex::new(&format!(r#"\b{name}\s*=\s*(?:"([^"]*)"|'([^']*)')"#))
            .expect("valid");
        let caps = re.captures(jaas)?;
        caps.get(1)
            .or_else(|| caps.get(2))
            .map(|m| m.as_str().to_string())
    };
    Some((option("username")?, option("password")?))
}

impl BackendSettings {
    /// Reads the `KAFKA_*` variables; `None` when `KAFKA_BOOTSTRAP_SERVERS`
    /// is unset (the gateway then serves from its in-memory log).
    pub fn from_env(source: &str, env: &EnvMap) -> Result<Option<Self>, HarnessError> {
        let var = |k: &str| env.get(k).filter(|v| !v.is_empty()).cloned();
        let Some(bootstrap) = var("KAFKA_BOOTSTRAP_SERVERS") else {
            return Ok(None);
        };
        let security_protocol = match var("KAFKA_SECURITY_PROTOCOL") {
            None => SecurityProtocol::Plaintext,
            Some(v) => SecurityProtocol::parse(&v).ok_or_else(|| {
                HarnessError::invalid(
                    source,
                    "KAFKA_SECURITY_PROTOCOL",
                    format!("unknown security protocol {v:?}"),
                    "use PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL",
                )
            })?,
        };
        let credentials = match var("KAFKA_SASL_JAAS_CONFIG") {
            None => None,
            Some(jaas) => Some(jaas_credentials(&jaas).ok_or_else(|| {
                HarnessError::invalid(
                    source,
                    "KAFKA_SASL_JAAS_CONFIG",
                    "no username=\"...\" password=\"...\" options found",
                    "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"p\";",
                )
            })?),
        };
        if security_protocol.sasl() && credentials.is_none() {
            return Err(HarnessError::invalid(
                source,
                "KAFKA_SASL_JAAS_CONFIG",
                format!("KAFKA_SECURITY_PROTOCOL is {security_protocol:?} but no JAAS configuration gives the gateway's credentials"),
                "set KAFKA_SASL_JAAS_CONFIG with the PlainLoginModule",
            ));
        }
        match var("KAFKA_SSL_TRUSTSTORE_TYPE").as_deref() {
            None | Some("PEM") => {}
            Some(other) => {
                return Err(HarnessError::invalid(
                    source,
                    "KAFKA_SSL_TRUSTSTORE_TYPE",
                    format!("{other} trust stores are not read by the reference gateway"),
                    "use KAFKA_SSL_TRUSTSTORE_TYPE=PEM with a PEM file of CA certificates",
                ))
            }
        }
        Ok(Some(Self {
            bootstrap: bootstrap.split(',').map(|s| s.trim().to_string()).collect(),
            security_protocol,
            sasl_mechanism: var("KAFKA_SASL_MECHANISM").unwrap_or_else(|| "PLAIN".into()),
            credentials,
            truststore: var("KAFKA_SSL_TRUSTSTORE_LOCATION").map(PathBuf::from),
        }))
    }

    /// Resolves a relative trust store path against `dir`.
    pub fn resolve(mut self, dir: &Path) -> Self {
        self.truststore = self.truststore.map(|p| dir.join(p));
        self
    }

    /// One line for the log: where and how.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "{} over {}",
            self.bootstrap.join(","),
            protocol_name(self.security_protocol)
        );
        if let (true, Some((user, _))) = (self.security_protocol.sasl(), &self.credentials) {
            s.push_str(&format!(" ({} as {user:?})", self.sasl_mechanism));
        }
        s
    }
}

/// Kafka's name of a security protocol.
pub fn protocol_name(p: SecurityProtocol) -> &'static str {
    match p {
        SecurityProtocol::Plaintext => "PLAINTEXT",
        SecurityProtocol::Ssl => "SSL",
        SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
        SecurityProtocol::SaslSsl => "SASL_SSL",
    }
}

/// A byte stream, TLS or not.
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// One authenticated connection to a backend broker.
pub struct Upstream {
    io: Box<dyn Io>,
    correlation: i32,
    /// The address connected to.
    pub(crate) address: String,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("address", &self.address)
            .finish()
    }
}

fn tls_config(b: &BackendSettings) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    match &b.truststore {
        Some(path) => {
            let certs = pki::read_certificates(path)
                .map_err(|e| format!("KAFKA_SSL_TRUSTSTORE_LOCATION {}: {e}", path.display()))?;
            for cert in certs {
                roots.add(cert).map_err(|e| {
                    format!(
                        "KAFKA_SSL_TRUSTSTORE_LOCATION {}: unusable CA certificate: {e}",
                        path.display()
                    )
                })?;
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Encodes a request frame (size prefix included).
pub fn encode_request<T: Encodable>(
    api: ApiKey,
    version: i16,
    correlation: i32,
    body: &T,
) -> Result<Bytes, String> {
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    let mut header = RequestHeader::default();
    header.request_api_key = api as i16;
    header.request_api_version = version;
    header.correlation_id = correlation;
    header.client_id = Some(StrBytes::from_static_str("tlsmatrix-gateway"));
    header
        .encode(&mut buf, api.request_header_version(version))
        .map_err(|e| format!("encoding a {api:?} request header: {e}"))?;
    body.encode(&mut buf, version)
        .map_err(|e| format!("encoding a {api:?} request: {e}"))?;
    let len = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&len.to_be_bytes());
    Ok(buf.freeze())
}

/// Decodes a response frame (no size prefix) of `api` at `version`.
pub fn decode_response<T: Decodable>(
    api: ApiKey,
    version: i16,
    mut frame: Bytes,
) -> Result<(ResponseHeader, T), String> {
    let header = ResponseHeader::decode(&mut frame, api.response_header_version(version))
        .map_err(|e| format!("malformed {api:?} response header: {e}"))?;
    let body =
        T::decode(&mut frame, version).map_err(|e| format!("malformed {api:?} response: {e}"))?;
    Ok((header, body))
}

/// Kafka's text for the error codes a gateway meets while connecting.
fn kafka_error(code: i16) -> String {
    let (name, text) = match code {
        33 => (
            "UNSUPPORTED_SASL_MECHANISM",
            "The broker does not support the requested SASL mechanism.",
        ),
        34 => (
            "ILLEGAL_SASL_STATE",
            "Request is not valid given the current SASL state.",
        ),
        35 => (
            "UNSUPPORTED_VERSION",
            "The version of API is not supported.",
        ),
        58 => ("SASL_AUTHENTICATION_FAILED", "SASL Authentication failed."),
        _ => ("", "see Kafka's protocol error codes"),
    };
    format!("error code {code} {name}: {text}")
}

impl Upstream {
    /// Connects to the first bootstrap server that answers, with TLS and
    /// SASL as configured. The error is the text the gateway reports.
    pub async fn connect(b: &BackendSettings) -> Result<Self, String> {
        let mut last = String::from("KAFKA_BOOTSTRAP_SERVERS lists no server");
        for address in &b.bootstrap {
            match tokio::time::timeout(CONNECT_DEADLINE, Self::connect_one(b, address)).await {
                Ok(Ok(up)) => return Ok(up),
                Ok(Err(e)) => last = e,
                Err(_) => {
                    last = format!(
                    "backend {address}: no answer within {CONNECT_DEADLINE:?} (connecting over {})",
                    protocol_name(b.security_protocol)
                )
                }
            }
        }
        Err(last)
    }

    async fn connect_one(b: &BackendSettings, address: &str) -> Result<Self, String> {
        let proto = protocol_name(b.security_protocol);
        let tcp = TcpStream::connect(address)
            .await
            .map_err(|e| format!("backend {address}: cannot connect: {e}"))?;
        let _ = tcp.set_nodelay(true);
        let io: Box<dyn Io> = if b.security_protocol.tls() {
            let config = tls_config(b)?;
            let host = address.rsplit_once(':').map_or(address, |(h, _)| h);
            let name = rustls::pki_types::ServerName::try_from(host.to_string())
                .map_err(|e| format!("backend {address}: bad host name: {e}"))?;
            let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
                .connect(name, tcp)
                .await
                .map_err(|e| {
                    use std::io::ErrorKind::{ConnectionReset, UnexpectedEof};
                    if matches!(e.kind(), UnexpectedEof | ConnectionReset) {
                        // EOF or reset is timing; both mean the same.
                        format!("backend {address}: TLS handshake failed: the backend closed the connection without a TLS answer (KAFKA_SECURITY_PROTOCOL={proto}: is the backend's listener TLS?)")
                    } else {
                        format!("backend {address}: TLS handshake failed: {e}")
                    }
                })?;
            Box::new(tls)
        } else {
            Box::new(tcp)
        };
        let mut up = Self {
            io,
            correlation: 0,
            address: address.to_string(),
        };
        if b.security_protocol.sasl() {
            up.authenticate(b).await?;
        }
        Ok(up)
    }

    async fn authenticate(&mut self, b: &BackendSettings) -> Result<(), String> {
        let address = self.address.clone();
        let mut hs = SaslHandshakeRequest::default();
        hs.mechanism = StrBytes::from_string(b.sasl_mechanism.clone());
        let resp: SaslHandshakeResponse = self.call(ApiKey::SaslHandshake, 1, &hs).await?;
        if resp.error_code != 0 {
            let offered: Vec<&str> = resp.mechanisms.iter().map(|m| m.as_str()).collect();
            return Err(format!(
                "backend {address}: SASL handshake for {} refused: {}; the backend's enabled mechanisms are [{}] (KAFKA_SASL_MECHANISM)",
                b.sasl_mechanism,
                kafka_error(resp.error_code),
                offered.join(", ")
            ));
        }
        if b.sasl_mechanism != "PLAIN" {
            return Err(format!(
                "backend {address}: KAFKA_SASL_MECHANISM {} is accepted by the backend but the reference gateway only authenticates with PLAIN",
                b.sasl_mechanism
            ));
        }
        let (user, password) = b.credentials.clone().unwrap_or_default();
        let mut auth = SaslAuthenticateRequest::default();
        auth.auth_bytes = Bytes::from(format!("\0{user}\0{password}"));
        let resp: SaslAuthenticateResponse = self.call(ApiKey::SaslAuthenticate, 2, &auth).await?;
        if resp.error_code != 0 {
            return Err(format!(
                "backend {address}: SASL authentication as {user:?} failed: {} ({})",
                resp.error_message
                    .as_ref()
                    .map_or("(no message)", |m| m.as_str()),
                kafka_error(resp.error_code)
            ));
        }
        Ok(())
    }

    /// One request of the gateway's own, its decoded response.
    pub async fn call<Q: Encodable, R: Decodable>(
        &mut self,
        api: ApiKey,
        version: i16,
        body: &Q,
    ) -> Result<R, String> {
        self.correlation += 1;
        let frame = encode_request(api, version, self.correlation, body)?;
        let response = self.exchange(&frame, api).await?;
        decode_response::<R>(api, version, response).map(|(_, r)| r)
    }

    /// Checks the connection is usable: a Metadata v1 request for no
    /// topics; returns how many brokers the cluster lists.
    pub async fn probe(&mut self) -> Result<usize, String> {
        let mut req = MetadataRequest::default();
        req.topics = Some(Vec::new());
        let resp: kafka_protocol::messages::MetadataResponse =
            self.call(ApiKey::Metadata, 1, &req).await?;
        Ok(resp.brokers.len())
    }

    /// Writes a request frame (size prefix included) and reads its response
    /// frame (without the prefix).
    pub async fn exchange(&mut self, frame: &[u8], api: ApiKey) -> Result<Bytes, String> {
        self.send(frame, api).await?;
        let address = &self.address;
        match wire::read_frame(&mut self.io).await {
            Ok(Some(f)) => Ok(f),
            Ok(None) | Err(FrameError::Truncated { read: 0, .. }) => Err(format!(
                "backend {address}: the backend closed the connection in answer to {api:?} (does its listener want SASL or TLS? KAFKA_SECURITY_PROTOCOL)"
            )),
            Err(FrameError::Size(size)) if matches!(size >> 24, 0x14..=0x17) => Err(format!(
                "backend {address}: the answer to {api:?} is a TLS record, not a Kafka frame (Invalid receive (size = {size} larger than {})): the backend's listener speaks TLS; set KAFKA_SECURITY_PROTOCOL to SSL or SASL_SSL",
                wire::MAX_FRAME
            )),
            Err(e) => Err(format!("backend {address}: reading the answer to {api:?}: {e}")),
        }
    }

    /// Writes a request frame (size prefix included) that gets no response.
    pub async fn send(&mut self, frame: &[u8], api: ApiKey) -> Result<(), String> {
        wire::write_frame(&mut self.io, frame)
            .await
            .map_err(|e| format!("backend {}: writing {api:?}: {e}", self.address))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jaas_options_in_either_quotes() {
        assert_eq!(
            jaas_credentials(
                r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="gw" password="s3cret";"#
            ),
            Some(("gw".into(), "s3cret".into()))
        );
        assert_eq!(
            jaas_credentials("PlainLoginModule required username='usr' password='pwd';"),
            Some(("usr".into(), "pwd".into()))
        );
        assert_eq!(jaas_credentials("PlainLoginModule required;"), None);
    }
}
