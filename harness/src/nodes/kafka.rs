//! The reference Kafka gateway (Conduktor-style): speaks the Kafka protocol to
//! clients (ApiVersions, SaslHandshake, SaslAuthenticate, Metadata, Produce,
//! Fetch, ListOffsets, InitProducerId), with listener security PLAINTEXT, SSL,
//! SASL_PLAINTEXT or SASL_SSL, SASL PLAIN whose password is a gateway token
//! (HS256 JWT, see [`tenants`]) when multi-tenancy is on or the backend's own
//! credentials when it is off, and an admin REST API minting tokens. Records
//! live in an in-memory log ([`log_store`]).
//!
//! Settings come from the gateway's documented environment variables:
//! `GATEWAY_USER_POOL_SECRET_KEY`, `JWT_AUTH_MASTER_USERNAME`,
//! `JWT_AUTH_MASTER_PASSWORD`, plus `GATEWAY_SECURITY_PROTOCOL` and
//! `GATEWAY_FEATURE_FLAGS_MULTI_TENANCY` and `GATEWAY_ADVERTISED_HOST` (the host
//! Metadata answers name); certificates and the backend's
//! users come from the case.
//!
//! With `KAFKA_BOOTSTRAP_SERVERS` set the gateway proxies to a real Kafka
//! cluster instead ([`upstream`]): it connects with its own `KAFKA_*`
//! TLS/SASL settings, and **refuses to start** when that connection cannot be
//! made or authenticated, with the backend's answer as the reason (a gateway
//! that starts anyway would hand every client a generic failure). Each
//! authenticated client connection gets its own backend connection; requests
//! are forwarded as they came, Metadata answers are rewritten so that every
//! broker is the gateway's own listener.

pub mod bench;
pub mod broker;
pub mod log_store;
pub mod tenants;
pub mod upstream;
pub mod wire;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, BrokerId, FetchResponse, InitProducerIdResponse,
    ListOffsetsResponse, MetadataResponse, ProduceResponse, ProducerId, RequestHeader, RequestKind,
    ResponseKind, SaslAuthenticateResponse, SaslHandshakeResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;

use self::log_store::LogStore;
use self::tenants::GatewayClaims;
use super::NodeLog;
use crate::config::EnvMap;
use crate::error::HarnessError;
use crate::pki;

/// Listener security, by Kafka's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SecurityProtocol {
    /// No TLS, no SASL.
    Plaintext,
    /// TLS, no SASL.
    Ssl,
    /// SASL without TLS.
    SaslPlaintext,
    /// SASL over TLS.
    SaslSsl,
}

impl SecurityProtocol {
    /// Kafka's name (`SASL_SSL`) to the protocol.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "PLAINTEXT" => Self::Plaintext,
            "SSL" => Self::Ssl,
            "SASL_PLAINTEXT" => Self::SaslPlaintext,
            "SASL_SSL" => Self::SaslSsl,
            _ => return None,
        })
    }

    /// True with TLS.
    pub fn tls(self) -> bool {
        matches!(self, Self::Ssl | Self::SaslSsl)
    }

    /// True with SASL.
    pub fn sasl(self) -> bool {
        matches!(self, Self::SaslPlaintext | Self::SaslSsl)
    }
}

/// The defaults tlsmatrix's reference uses when the variables are unset
/// (and warns about, loudly).
pub const DEFAULT_SECRET: &str = "tlsmatrix-default-user-pool-secret";
/// Default master username.
pub const DEFAULT_MASTER_USERNAME: &str = "admin";
/// Default master password.
pub const DEFAULT_MASTER_PASSWORD: &str = "conduktor";

/// The gateway's settings.
#[derive(Debug, Clone)]
pub struct KafkaGatewaySettings {
    /// `GATEWAY_SECURITY_PROTOCOL` (default PLAINTEXT).
    pub security_protocol: SecurityProtocol,
    /// The listener's certificate chain and key (SSL, SASL_SSL).
    pub tls: Option<(PathBuf, PathBuf)>,
    /// `GATEWAY_USER_POOL_SECRET_KEY`.
    pub secret: String,
    /// `JWT_AUTH_MASTER_USERNAME`.
    pub master_username: String,
    /// `JWT_AUTH_MASTER_PASSWORD`.
    pub master_password: String,
    /// `GATEWAY_FEATURE_FLAGS_MULTI_TENANCY` (default false).
    pub multi_tenancy: bool,
    /// Tenants that exist (`orgId-clusterId`), for multi-tenancy.
    pub tenants: BTreeSet<String>,
    /// The backend's own users (multi-tenancy off: credentials pass through).
    pub backend_users: BTreeMap<String, String>,
    /// What the operator must hear at start: defaults left in place, a weak secret.
    pub warnings: Vec<String>,
    /// The Kafka cluster behind the gateway (`KAFKA_*`); none: the in-memory log.
    pub backend: Option<upstream::BackendSettings>,
    /// `GATEWAY_ADVERTISED_HOST`: the host Metadata answers name (default
    /// `127.0.0.1`), which clients dial (and verify) after bootstrap.
    pub advertised_host: String,
}

impl KafkaGatewaySettings {
    /// Reads the documented variables from `env`; `source` names them in errors.
    pub fn from_env(source: &str, env: &EnvMap) -> Result<Self, HarnessError> {
        let mut warnings = Vec::new();
        let var = |k: &str| env.get(k).filter(|v| !v.is_empty()).cloned();
        let security_protocol = match var("GATEWAY_SECURITY_PROTOCOL") {
            None => SecurityProtocol::Plaintext,
            Some(v) => SecurityProtocol::parse(&v).ok_or_else(|| {
                HarnessError::invalid(
                    source,
                    "GATEWAY_SECURITY_PROTOCOL",
                    format!("unknown security protocol {v:?}"),
                    "use PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL",
                )
            })?,
        };
        let secret = var("GATEWAY_USER_POOL_SECRET_KEY").unwrap_or_else(|| {
            warnings.push(format!(
                "WARNING: GATEWAY_USER_POOL_SECRET_KEY is not set: tokens are signed with a built-in default ({DEFAULT_SECRET:?}) anyone can read in this source; set a secret of at least 32 random bytes"
            ));
            DEFAULT_SECRET.to_string()
        });
        if secret.len() < 32 && secret != DEFAULT_SECRET {
            warnings.push(format!(
                "WARNING: GATEWAY_USER_POOL_SECRET_KEY has {} bytes; HS256 needs a key of at least 256 bits (32 bytes) (RFC 7518 3.2)",
                secret.len()
            ));
        }
        let master_username =
            var("JWT_AUTH_MASTER_USERNAME").unwrap_or_else(|| DEFAULT_MASTER_USERNAME.into());
        let master_password =
            var("JWT_AUTH_MASTER_PASSWORD").unwrap_or_else(|| DEFAULT_MASTER_PASSWORD.into());
        if master_username == DEFAULT_MASTER_USERNAME && master_password == DEFAULT_MASTER_PASSWORD
        {
            warnings.push(
                "WARNING: JWT_AUTH_MASTER_USERNAME / JWT_AUTH_MASTER_PASSWORD are left at their defaults: anyone who can reach the admin API can mint tokens; set both".to_string(),
            );
        }
        let multi_tenancy = match var("GATEWAY_FEATURE_FLAGS_MULTI_TENANCY").as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(HarnessError::invalid(
                    source,
                    "GATEWAY_FEATURE_FLAGS_MULTI_TENANCY",
                    format!("expected true or false, found {other:?}"),
                    "set it to true or false",
                ))
            }
        };
        Ok(Self {
            security_protocol,
            tls: None,
            secret,
            master_username,
            master_password,
            multi_tenancy,
            tenants: BTreeSet::new(),
            backend_users: BTreeMap::new(),
            warnings,
            backend: upstream::BackendSettings::from_env(source, env)?,
            advertised_host: var("GATEWAY_ADVERTISED_HOST").unwrap_or_else(|| "127.0.0.1".into()),
        })
    }
}

/// Apache Kafka's text to a client whose SASL PLAIN credentials were refused
/// (measured on a Kafka 3.8.1 broker, `harness/probes/kafka-java`); the
/// gateway answers it for every refusal and logs the real reason.
pub const AUTHENTICATION_FAILED: &str = "Authentication failed: Invalid username or password";

struct Shared {
    settings: KafkaGatewaySettings,
    store: Mutex<LogStore>,
    log: NodeLog,
    port: u16,
}

/// A running gateway (Kafka listener and admin API). Dropping it stops it.
#[derive(Debug)]
pub struct KafkaGateway {
    address: SocketAddr,
    admin: SocketAddr,
    log: NodeLog,
    tasks: super::tasks::NodeTasks,
}

impl KafkaGateway {
    /// Starts on 127.0.0.1, free ports for the Kafka listener and the admin API.
    pub async fn start(settings: KafkaGatewaySettings) -> Result<Self, HarnessError> {
        let acceptor = match (settings.security_protocol.tls(), &settings.tls) {
            (false, _) => None,
            (true, Some((chain, key))) => {
                let certified = pki::load_certified_key(chain, key)?;
                let config = rustls::ServerConfig::builder_with_provider(Arc::new(
                    rustls::crypto::aws_lc_rs::default_provider(),
                ))
                .with_safe_default_protocol_versions()
                .map_err(|e| HarnessError::run("kafka gateway TLS", e))?
                .with_no_client_auth()
                .with_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(certified)));
                Some(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
            }
            (true, None) => {
                return Err(HarnessError::invalid(
                    "kafka gateway",
                    "GATEWAY_SECURITY_PROTOCOL",
                    "SSL needs a certificate chain and key",
                    "give the gateway a certificate (tls.chain, tls.key in the case)",
                ))
            }
        };
        let mut backend_line = None;
        if let Some(b) = &settings.backend {
            let refused = |e: String| {
                HarnessError::invalid(
                    "kafka gateway",
                    "KAFKA_BOOTSTRAP_SERVERS",
                    format!("cannot use the Kafka backend, not starting: {e}"),
                    "make the KAFKA_* variables (KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM, KAFKA_SASL_JAAS_CONFIG, KAFKA_SSL_TRUSTSTORE_LOCATION) match the backend's listener",
                )
            };
            let mut up = upstream::Upstream::connect(b).await.map_err(refused)?;
            let brokers = up.probe().await.map_err(refused)?;
            backend_line = Some(format!(
                "backend: connected to {}; the cluster lists {brokers} broker(s)",
                b.describe()
            ));
        }
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| HarnessError::run("kafka gateway", e))?;
        let admin_listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| HarnessError::run("kafka admin API", e))?;
        let address = listener
            .local_addr()
            .map_err(|e| HarnessError::run("kafka gateway", e))?;
        let admin = admin_listener
            .local_addr()
            .map_err(|e| HarnessError::run("kafka admin API", e))?;
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
        let mut tasks = super::tasks::NodeTasks::idle();
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

fn json(status: u16, body: serde_json::Value) -> hyper::Response<Full<Bytes>> {
    hyper::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_default()
}

/// `POST /auth/tenant/{orgId}-{clusterId}/user/{user}/token` with the master
/// credentials as JSON → `{"data": token}`.
async fn admin_api(
    shared: &Shared,
    req: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let ["auth", "tenant", tenant, "user", user, "token"] = parts.as_slice() else {
        return json(
            404,
            serde_json::json!({"error": format!("no route {path}")}),
        );
    };
    let (tenant, user) = (tenant.to_string(), user.to_string());
    if req.method() != hyper::Method::POST {
        return json(405, serde_json::json!({"error": "use POST"}));
    }
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return json(400, serde_json::json!({"error": "unreadable body"})),
    };
    let creds: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            shared.log.line(format!(
                "admin API: refused a token request: body is not JSON ({e})"
            ));
            return json(
                400,
                serde_json::json!({"error": format!("request body is not JSON: {e}; send {{\"username\":\"...\",\"password\":\"...\"}}")}),
            );
        }
    };
    let s = &shared.settings;
    if creds["username"] != s.master_username.as_str()
        || creds["password"] != s.master_password.as_str()
    {
        shared
            .log
            .line("admin API: refused a token request: wrong master credentials".to_string());
        return json(
            401,
            serde_json::json!({"error": "invalid master credentials"}),
        );
    }
    let Some((org, cluster)) = tenant
        .split_once('-')
        .and_then(|(o, c)| Some((o.parse::<i64>().ok()?, c.to_string())))
    else {
        return json(
            400,
            serde_json::json!({"error": format!("tenant {tenant:?} is not [organisation id]-[cluster id] with an integer organisation id")}),
        );
    };
    let claims = GatewayClaims {
        org_id: org,
        cluster_id: cluster,
        username: user.clone(),
    };
    shared.log.line(format!(
        "admin API: minted a token for user {user:?} of tenant {:?}",
        claims.tenant()
    ));
    json(
        200,
        serde_json::json!({ "data": tenants::mint(s.secret.as_bytes(), &claims) }),
    )
}

fn str_bytes(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// One client connection: frames in, responses out, SASL state.
async fn serve_kafka<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    peer: SocketAddr,
    shared: &Shared,
) {
    let sasl = shared.settings.security_protocol.sasl();
    let mut authenticated = !sasl;
    let mut handshaken = false;
    let mut backend: Option<upstream::Upstream> = None;
    loop {
        let frame = match wire::read_frame(&mut stream).await {
            Ok(Some(f)) => f,
            Ok(None) => return,
            Err(e) => {
                shared
                    .log
                    .line(format!("closing connection from /{}: {e}", peer.ip()));
                close_cleanly(&mut stream).await;
                return;
            }
        };
        let (header, request) = match wire::decode_request(frame.clone()) {
            Ok(r) => r,
            Err(e) => {
                shared
                    .log
                    .line(format!("closing connection from /{}: {e}", peer.ip()));
                return;
            }
        };
        let api = ApiKey::try_from(header.request_api_key).unwrap_or(ApiKey::ApiVersions);
        if !authenticated
            && !matches!(
                api,
                ApiKey::ApiVersions | ApiKey::SaslHandshake | ApiKey::SaslAuthenticate
            )
        {
            shared.log.line(format!(
                "Failed authentication with /{} (Unexpected Kafka request of type {} during SASL handshake.)",
                peer.ip(),
                api_name(api)
            ));
            return;
        }
        if let (Some(settings), true) = (
            &shared.settings.backend,
            matches!(
                request,
                RequestKind::Metadata(_)
                    | RequestKind::Produce(_)
                    | RequestKind::Fetch(_)
                    | RequestKind::ListOffsets(_)
                    | RequestKind::InitProducerId(_)
            ),
        ) {
            match forward(shared, settings, &mut backend, &header, &request, &frame).await {
                Ok(None) => continue,
                Ok(Some(response)) => {
                    if wire::write_frame(&mut stream, &response).await.is_err() {
                        return;
                    }
                    continue;
                }
                Err(e) => {
                    shared
                        .log
                        .line(format!("closing connection from /{}: {e}", peer.ip()));
                    return;
                }
            }
        }
        let (response, close) = match request {
            RequestKind::ApiVersions(_) => (api_versions(&header), false),
            RequestKind::SaslHandshake(r) if sasl => {
                let mut resp = SaslHandshakeResponse::default();
                resp.mechanisms = vec![str_bytes("PLAIN")];
                if r.mechanism.as_str() == "PLAIN" {
                    handshaken = true;
                } else {
                    resp.error_code = 33; // UNSUPPORTED_SASL_MECHANISM
                    shared.log.line(format!(
                        "Failed authentication with /{} (Unsupported SASL mechanism {})",
                        peer.ip(),
                        r.mechanism.as_str()
                    ));
                }
                let failed = resp.error_code != 0;
                (ResponseKind::SaslHandshake(resp), failed)
            }
            RequestKind::SaslAuthenticate(r) if sasl && handshaken => {
                let mut resp = SaslAuthenticateResponse::default();
                match authenticate(shared, r.auth_bytes) {
                    Ok(who) => {
                        authenticated = true;
                        shared
                            .log
                            .debug(format!("authenticated {who} from /{}", peer.ip()));
                    }
                    Err(reason) => {
                        resp.error_code = 58; // SASL_AUTHENTICATION_FAILED
                        resp.error_message = Some(str_bytes(AUTHENTICATION_FAILED));
                        shared.log.line(format!(
                            "Failed authentication with /{} ({reason})",
                            peer.ip()
                        ));
                    }
                }
                let failed = resp.error_code != 0;
                (ResponseKind::SaslAuthenticate(resp), failed)
            }
            RequestKind::SaslHandshake(_) if !sasl => {
                // Kafka's answer on a listener without SASL: ILLEGAL_SASL_STATE.
                let mut resp = SaslHandshakeResponse::default();
                resp.error_code = 34;
                shared.log.line(format!(
                    "Failed authentication with /{} (Unexpected handshake request: SASL is not enabled on this listener)",
                    peer.ip()
                ));
                (ResponseKind::SaslHandshake(resp), true)
            }
            RequestKind::SaslHandshake(_) | RequestKind::SaslAuthenticate(_) => {
                shared.log.line(format!(
                    "closing connection from /{}: {} out of order",
                    peer.ip(),
                    api_name(api)
                ));
                return;
            }
            RequestKind::Metadata(r) => (metadata(shared, r), false),
            RequestKind::Produce(r) => (produce(shared, r), false),
            RequestKind::Fetch(r) => (fetch(shared, r), false),
            RequestKind::ListOffsets(r) => (list_offsets(shared, r), false),
            RequestKind::InitProducerId(_) => {
                let mut resp = InitProducerIdResponse::default();
                resp.producer_id = ProducerId(1000);
                (ResponseKind::InitProducerId(resp), false)
            }
            _ => {
                shared.log.line(format!(
                    "closing connection from /{}: {} is not served",
                    peer.ip(),
                    api_name(api)
                ));
                return;
            }
        };
        let frame = match wire::encode_response(&header, &response) {
            Ok(f) => f,
            Err(e) => {
                shared
                    .log
                    .line(format!("closing connection from /{}: {e}", peer.ip()));
                return;
            }
        };
        if wire::write_frame(&mut stream, &frame).await.is_err() || close {
            return;
        }
    }
}

/// Forwards one client request to the backend over this client
/// connection's backend connection (made on first use) and returns the
/// response frame to send back (size prefix included), `None` when the
/// request gets none (Produce with acks=0). Metadata answers are rewritten:
/// every broker is the gateway's listener.
async fn forward(
    shared: &Shared,
    settings: &upstream::BackendSettings,
    backend: &mut Option<upstream::Upstream>,
    header: &RequestHeader,
    request: &RequestKind,
    frame: &Bytes,
) -> Result<Option<Bytes>, String> {
    let up = match backend {
        Some(up) => up,
        None => backend.insert(upstream::Upstream::connect(settings).await?),
    };
    let api = ApiKey::try_from(header.request_api_key).unwrap_or(ApiKey::Metadata);
    let mut sized = bytes::BytesMut::with_capacity(frame.len() + 4);
    sized.extend_from_slice(&(frame.len() as i32).to_be_bytes());
    sized.extend_from_slice(frame);
    if let RequestKind::Produce(p) = request {
        if p.acks == 0 {
            up.send(&sized, api).await?;
            return Ok(None);
        }
    }
    let response = up.exchange(&sized, api).await?;
    if api != ApiKey::Metadata {
        let mut out = bytes::BytesMut::with_capacity(response.len() + 4);
        out.extend_from_slice(&(response.len() as i32).to_be_bytes());
        out.extend_from_slice(&response);
        return Ok(Some(out.freeze()));
    }
    let (_, mut metadata) =
        upstream::decode_response::<MetadataResponse>(api, header.request_api_version, response)?;
    for broker in &mut metadata.brokers {
        broker.host = str_bytes(&shared.settings.advertised_host);
        broker.port = i32::from(shared.port);
        broker.rack = None;
    }
    wire::encode_response(header, &ResponseKind::Metadata(metadata))
        .map(Some)
        .map_err(|e| e.to_string())
}

/// Closes after a bad frame with FIN, draining what the peer still sends
/// (bounded): closing with unread bytes would send a reset, and the client
/// would see a reset or an EOF at random.
async fn close_cleanly<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Ok(n) = stream.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

fn api_name(api: ApiKey) -> String {
    // Kafka's names are upper snake case (API_VERSIONS, METADATA, ...).
    let debug = format!("{api:?}");
    let mut out = String::new();
    for (i, c) in debug.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// Checks SASL PLAIN credentials; the error is the reason the log gets.
fn authenticate(shared: &Shared, auth_bytes: Bytes) -> Result<String, String> {
    let (user, password) = wire::sasl_plain(auth_bytes).ok_or("malformed SASL/PLAIN message")?;
    let s = &shared.settings;
    if s.multi_tenancy {
        let claims =
            tenants::verify(s.secret.as_bytes(), &password, &user).map_err(|e| e.to_string())?;
        if !s.tenants.contains(&claims.tenant()) {
            return Err(tenants::TokenError::UnknownTenant(claims.tenant()).to_string());
        }
        Ok(format!("{user} (tenant {})", claims.tenant()))
    } else if s.backend_users.get(&user) == Some(&password) {
        Ok(user)
    } else {
        Err(format!(
            "Authentication failed: Invalid username or password for {user:?} (multi-tenancy is off: credentials pass through to the backend)"
        ))
    }
}

fn api_versions(header: &RequestHeader) -> ResponseKind {
    let mut resp = ApiVersionsResponse::default();
    if !(0..=3).contains(&header.request_api_version) {
        resp.error_code = 35; // UNSUPPORTED_VERSION
    }
    resp.api_keys = wire::SUPPORTED
        .iter()
        .map(|(key, min, max)| {
            let mut v = ApiVersion::default();
            v.api_key = *key as i16;
            v.min_version = *min;
            v.max_version = *max;
            v
        })
        .collect();
    ResponseKind::ApiVersions(resp)
}

fn metadata(shared: &Shared, r: kafka_protocol::messages::MetadataRequest) -> ResponseKind {
    let mut store = shared.store.lock().unwrap_or_else(|p| p.into_inner());
    let names: Vec<String> = match &r.topics {
        None => store.topics(),
        Some(topics) => topics
            .iter()
            .filter_map(|t| t.name.as_ref().map(|n| n.0.as_str().to_string()))
            .collect(),
    };
    let mut resp = MetadataResponse::default();
    let mut broker = MetadataResponseBroker::default();
    broker.node_id = BrokerId(1);
    broker.host = str_bytes(&shared.settings.advertised_host);
    broker.port = i32::from(shared.port);
    resp.brokers = vec![broker];
    resp.cluster_id = Some(str_bytes("tlsmatrix-gateway"));
    resp.controller_id = BrokerId(1);
    resp.topics = names
        .into_iter()
        .map(|name| {
            let mut topic = MetadataResponseTopic::default();
            if r.topics.is_some() && !store.has(&name) {
                if r.allow_auto_topic_creation {
                    store.ensure(&name);
                } else {
                    topic.error_code = 3; // UNKNOWN_TOPIC_OR_PARTITION
                }
            }
            topic.name = Some(TopicName(str_bytes(&name)));
            if topic.error_code == 0 {
                let mut p = MetadataResponsePartition::default();
                p.partition_index = 0;
                p.leader_id = BrokerId(1);
                p.replica_nodes = vec![BrokerId(1)];
                p.isr_nodes = vec![BrokerId(1)];
                topic.partitions = vec![p];
            }
            topic
        })
        .collect();
    ResponseKind::Metadata(resp)
}

fn produce(shared: &Shared, r: kafka_protocol::messages::ProduceRequest) -> ResponseKind {
    use kafka_protocol::messages::produce_response::{
        PartitionProduceResponse, TopicProduceResponse,
    };
    let mut store = shared.store.lock().unwrap_or_else(|p| p.into_inner());
    let mut resp = ProduceResponse::default();
    resp.responses = r
        .topic_data
        .into_iter()
        .map(|t| {
            let mut tr = TopicProduceResponse::default();
            let name = t.name.0.as_str().to_string();
            tr.partition_responses = t
                .partition_data
                .into_iter()
                .map(|p| {
                    let mut pr = PartitionProduceResponse::default();
                    pr.index = p.index;
                    pr.log_append_time_ms = -1;
                    if p.index != 0 {
                        pr.error_code = 3;
                        return pr;
                    }
                    match store.append(&name, p.records.as_deref().unwrap_or_default()) {
                        Ok(base) => pr.base_offset = base,
                        Err(e) => {
                            pr.error_code = 2; // CORRUPT_MESSAGE
                            pr.error_message = Some(str_bytes(&e.to_string()));
                            shared.log.line(format!("produce to {name}: {e}"));
                        }
                    }
                    pr
                })
                .collect();
            tr.name = t.name;
            tr
        })
        .collect();
    ResponseKind::Produce(resp)
}

fn fetch(shared: &Shared, r: kafka_protocol::messages::FetchRequest) -> ResponseKind {
    use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
    let store = shared.store.lock().unwrap_or_else(|p| p.into_inner());
    let mut resp = FetchResponse::default();
    resp.responses = r
        .topics
        .into_iter()
        .map(|t| {
            let name = t.topic.0.as_str().to_string();
            let mut tr = FetchableTopicResponse::default();
            tr.partitions = t
                .partitions
                .into_iter()
                .map(|p| {
                    let mut pd = PartitionData::default();
                    pd.partition_index = p.partition;
                    let hw = store.high_watermark(&name);
                    pd.high_watermark = hw;
                    pd.last_stable_offset = hw;
                    pd.log_start_offset = 0;
                    pd.preferred_read_replica = BrokerId(-1);
                    if !store.has(&name) || p.partition != 0 {
                        pd.error_code = 3;
                    } else if p.fetch_offset > hw || p.fetch_offset < 0 {
                        pd.error_code = 1; // OFFSET_OUT_OF_RANGE
                    } else {
                        let max = usize::try_from(p.partition_max_bytes.max(1)).unwrap_or(1);
                        pd.records = Some(store.fetch(&name, p.fetch_offset, max));
                    }
                    pd
                })
                .collect();
            tr.topic = t.topic;
            tr
        })
        .collect();
    ResponseKind::Fetch(resp)
}

fn list_offsets(shared: &Shared, r: kafka_protocol::messages::ListOffsetsRequest) -> ResponseKind {
    use kafka_protocol::messages::list_offsets_response::{
        ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
    };
    let store = shared.store.lock().unwrap_or_else(|p| p.into_inner());
    let mut resp = ListOffsetsResponse::default();
    resp.topics = r
        .topics
        .into_iter()
        .map(|t| {
            let name = t.name.0.as_str().to_string();
            let mut tr = ListOffsetsTopicResponse::default();
            tr.partitions = t
                .partitions
                .into_iter()
                .map(|p| {
                    let mut pr = ListOffsetsPartitionResponse::default();
                    pr.partition_index = p.partition_index;
                    pr.timestamp = -1;
                    if !store.has(&name) || p.partition_index != 0 {
                        pr.error_code = 3;
                    } else {
                        pr.offset = if p.timestamp == -2 {
                            0
                        } else {
                            store.high_watermark(&name)
                        };
                    }
                    pr
                })
                .collect();
            tr.name = t.name;
            tr
        })
        .collect();
    ResponseKind::ListOffsets(resp)
}
