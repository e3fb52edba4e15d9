//! Area `kafka-gateway`: Kafka clients (real kcat, the Java kafka-clients)
//! against a Conduktor-style gateway: SASL PLAIN with gateway tokens (HS256
//! JWTs minted by the admin API) as passwords, tenants, TLS on the client
//! side, and on the backend side a real Kafka broker the gateway proxies to
//! with its own `KAFKA_*` TLS/SASL settings.
//!
//! Case body:
//!
//! ```yaml
//! gateway:
//!   env:                         # the gateway's documented variables
//!     GATEWAY_SECURITY_PROTOCOL: SASL_PLAINTEXT
//!     GATEWAY_USER_POOL_SECRET_KEY: ...
//!     JWT_AUTH_MASTER_USERNAME: superUser
//!     JWT_AUTH_MASTER_PASSWORD: superUser
//!     GATEWAY_FEATURE_FLAGS_MULTI_TENANCY: "true"
//!   tls: { chain: gateway-chain.pem, key: gateway.key }
//!   tenants: [1-cluster1]        # tenants that exist (multi-tenancy)
//!   backend-users: { alice: alice-secret }   # the backend's users (multi-tenancy off)
//!   # with a real backend: KAFKA_BOOTSTRAP_SERVERS: "{backend:SASL_SSL}", KAFKA_SECURITY_PROTOCOL,
//!   # KAFKA_SASL_MECHANISM, KAFKA_SASL_JAAS_CONFIG, KAFKA_SSL_TRUSTSTORE_TYPE/_LOCATION in env
//! backend:                       # optional: a real Kafka 3.8.1 broker (needs Java + probe jar)
//!   listeners: [SASL_SSL]        # one listener per protocol name
//!   users: { gateway: gateway-secret }
//!   tls: { chain: kafka-chain.pem, key: kafka.key }
//! client:
//!   kind: kcat                   # or java (ClientProbe, kafka-clients 3.8.1)
//!   action: metadata             # or round-trip (produce 3 records, consume them)
//!   security-protocol: SASL_PLAINTEXT
//!   sasl-mechanism: PLAIN
//!   username: alice
//!   password: alice-secret       # a literal, or:
//!   # password: { admin-token: { tenant: 1-cluster1, user: alice, master-username: superUser, master-password: superUser } }
//!   # password: { token: { org-id: 1, cluster-id: cluster1, username: alice, secret: other } }
//!   ca: ca.pem
//! ```
//!
//! A password fetched from the admin API is a real HTTP call; if the admin
//! API refuses, that refusal is the case's observation.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use serde::Deserialize;

use super::{Area, AreaSpec, BoxFuture, Load, Requirement};
use crate::catalogue::Catalogue;
use crate::config::EnvMap;
use crate::error::HarnessError;
use crate::nodes::kafka::broker::{self, BrokerSpec, KafkaBroker};
use crate::nodes::kafka::tenants::{self, GatewayClaims};
use crate::nodes::kafka::{KafkaGateway, KafkaGatewaySettings, SecurityProtocol};
use crate::nodes::Started;
use crate::peers::kafka_java;
use crate::peers::kcat::{self, KafkaClientConfig};
use crate::peers::Observation;
use crate::pki::Materialized;
use crate::scenario::Case;

/// How long a client run may take.
pub const CLIENT_DEADLINE: Duration = Duration::from_secs(10);

/// The case body of this area.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CaseBody {
    /// The gateway.
    pub(crate) gateway: GatewayBody,
    /// The client.
    pub(crate) client: ClientBody,
    /// A real Kafka broker behind the gateway (needs Java and the probe jar).
    #[serde(default)]
    pub(crate) backend: Option<BackendBody>,
}

/// The real Kafka broker of a case. The gateway's `KAFKA_*` values may name
/// its listeners as `{backend:SASL_SSL}` (replaced by `127.0.0.1:port`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct BackendBody {
    /// Listeners, each named by its protocol (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL).
    pub(crate) listeners: Vec<String>,
    /// PLAIN users of its SASL listeners.
    #[serde(default)]
    pub(crate) users: BTreeMap<String, String>,
    /// Certificate of its TLS listeners (PKCS#8 key).
    #[serde(default)]
    pub(crate) tls: Option<TlsFiles>,
}

/// The gateway part of a case.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct GatewayBody {
    /// Environment (the documented variables).
    #[serde(default)]
    pub(crate) env: EnvMap,
    /// Listener certificate.
    #[serde(default)]
    pub(crate) tls: Option<TlsFiles>,
    /// Tenants that exist.
    #[serde(default)]
    pub(crate) tenants: BTreeSet<String>,
    /// The backend's users.
    #[serde(default)]
    pub(crate) backend_users: BTreeMap<String, String>,
}

/// A certificate chain and key in the case directory.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct TlsFiles {
    /// Chain file.
    pub(crate) chain: String,
    /// Key file.
    pub(crate) key: String,
}

/// Which client runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientKind {
    /// The real kcat.
    Kcat,
    /// The Java `kafka-clients` (`ClientProbe`, `harness/probes/kafka-java`).
    Java,
    /// kafka-python (pure Python, not librdkafka), `harness/probes/python`;
    /// metadata only.
    Python,
}

/// What the client does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// List brokers and topics.
    #[default]
    Metadata,
    /// Produce three records and consume them back.
    RoundTrip,
}

/// Where the SASL password comes from.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Password {
    /// As written.
    Literal(String),
    /// Minted by the gateway's admin API.
    AdminToken {
        /// The request.
        #[serde(rename = "admin-token")]
        admin_token: AdminTokenRequest,
    },
    /// Minted by the harness with a given secret (a token from elsewhere).
    Token {
        /// The claims and the secret.
        token: ForgedToken,
    },
}

/// A token request to the admin API.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AdminTokenRequest {
    /// `orgId-clusterId`.
    pub(crate) tenant: String,
    /// The user.
    pub(crate) user: String,
    /// Master username sent.
    pub(crate) master_username: String,
    /// Master password sent.
    pub(crate) master_password: String,
}

/// A token minted outside the gateway.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ForgedToken {
    /// orgId.
    pub(crate) org_id: i64,
    /// clusterId.
    pub(crate) cluster_id: String,
    /// username.
    pub(crate) username: String,
    /// The HMAC secret it is signed with.
    pub(crate) secret: String,
}

/// The client part of a case.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ClientBody {
    /// Which client.
    pub(crate) kind: ClientKind,
    /// What it does.
    #[serde(default)]
    pub(crate) action: Action,
    /// `security.protocol`.
    #[serde(default = "plaintext")]
    pub(crate) security_protocol: String,
    /// `sasl.mechanisms`.
    #[serde(default)]
    pub(crate) sasl_mechanism: Option<String>,
    /// `sasl.username`.
    #[serde(default)]
    pub(crate) username: Option<String>,
    /// `sasl.password`.
    #[serde(default)]
    pub(crate) password: Option<Password>,
    /// `ssl.ca.location`.
    #[serde(default)]
    pub(crate) ca: Option<String>,
    /// The bootstrap host name dialled (default `127.0.0.1`); a case's
    /// `hosts:` name resolves to the gateway.
    #[serde(default)]
    pub(crate) host: Option<String>,
    /// Further client properties, as the user sets them: kcat's `-X`, the
    /// Java client's properties (`ssl.endpoint.identification.algorithm`,
    /// `ssl.truststore.location`, `ssl.keystore.password`, ...).
    #[serde(default)]
    pub(crate) properties: BTreeMap<String, String>,
}

fn plaintext() -> String {
    "PLAINTEXT".to_string()
}

struct KafkaGatewayArea {
    catalogue: Catalogue,
}

/// The area.
pub fn area() -> &'static dyn Area {
    static AREA: OnceLock<KafkaGatewayArea> = OnceLock::new();
    AREA.get_or_init(|| KafkaGatewayArea {
        catalogue: super::load_catalogue(
            "kafka-gateway",
            include_str!("../../catalogue/kafka-gateway.yaml"),
        ),
    })
}

impl AreaSpec for KafkaGatewayArea {
    type Body = CaseBody;
    const SCHEMA: &'static str = file!();

    fn name(&self) -> &'static str {
        "kafka-gateway"
    }

    fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    fn check(&self, case: &Case, body: &CaseBody) -> Result<Vec<Requirement>, HarnessError> {
        KafkaGatewaySettings::from_env(&format!("{} (gateway.env)", case.id), &body.gateway.env)?;
        for l in body.backend.iter().flat_map(|b| &b.listeners) {
            if SecurityProtocol::parse(l).is_none() {
                return Err(HarnessError::invalid(
                    case.source.display().to_string(),
                    &case.id,
                    format!("backend listener {l:?} is not a security protocol name"),
                    "name each backend listener PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL",
                ));
            }
        }
        let mut needs = vec![match body.client.kind {
            ClientKind::Kcat => Requirement {
                peer: "kcat",
                locate: kcat::locate,
            },
            ClientKind::Java => Requirement {
                peer: kafka_java::PEER,
                locate: kafka_java::locate,
            },
            ClientKind::Python => Requirement {
                peer: crate::peers::python::KAFKA_PEER,
                locate: crate::peers::python::locate_kafka,
            },
        }];
        if body.client.kind == ClientKind::Python && body.client.action != Action::Metadata {
            return Err(HarnessError::invalid(
                case.source.display().to_string(),
                format!("{}: client.action", case.id),
                "the python (kafka-python) client lists metadata only",
                "use kcat or java for a round trip",
            ));
        }
        if body.backend.is_some() {
            needs.push(Requirement {
                peer: broker::PEER,
                locate: broker::locate,
            });
        }
        Ok(needs)
    }

    fn run<'a>(
        &'a self,
        case: &'a Case,
        body: &'a CaseBody,
        workdir: &'a Path,
        _pki: &'a Materialized,
    ) -> BoxFuture<'a, Result<Observation, HarnessError>> {
        Box::pin(async move { run(case, body, workdir).await })
    }

    /// kcat against the in-process gateway mostly waits (a failing case
    /// waits out its 2 s metadata timeout; kcat itself is a small C
    /// process). The Java client and a real broker start a JVM: CPU (and
    /// half a gigabyte of heap each), so they stay bounded by `--jobs`.
    fn load(&self, _case: &Case, b: &Self::Body) -> Load {
        if b.client.kind == ClientKind::Kcat && b.backend.is_none() {
            Load::Waits
        } else {
            Load::Cpu
        }
    }
}

/// Gateway log lines of a client's retry that went away mid-handshake (reset,
/// EOF): kcat reconnects until its timeout, and whether a retry ends that way
/// is timing. They carry no diagnosis; the first attempt's line stays.
fn is_transport_noise(line: &str) -> bool {
    line.contains("SSL handshake failed (")
        && [
            "Connection reset by peer",
            "tls handshake eof",
            "Broken pipe",
        ]
        .iter()
        .any(|n| line.contains(n))
}

/// A minimal HTTP/1.1 POST (the admin API call a user makes with curl).
async fn post(url_base: &str, path: &str, body: &str) -> Result<(u16, String), HarnessError> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = url_base.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(host)
        .await
        .map_err(|e| HarnessError::protocol("admin API", e))?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(request.as_bytes())
        .await
        .map_err(|e| HarnessError::protocol("admin API", e))?;
    let mut response = String::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_string(&mut response))
        .await
        .map_err(|_| HarnessError::deadline("admin API", "no answer within 10 s"))?
        .map_err(|e| HarnessError::protocol("admin API", e))?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    Ok((status, body))
}

/// Starts the case's backend broker, if any, runs the case, stops the broker
/// and adds its notable log lines.
async fn run(case: &Case, body: &CaseBody, workdir: &Path) -> Result<Observation, HarnessError> {
    let Some(spec) = &body.backend else {
        return run_gateway(case, body, workdir, None).await;
    };
    let spec = BrokerSpec {
        listeners: spec.listeners.clone(),
        users: spec.users.clone(),
        tls: spec
            .tls
            .as_ref()
            .map(|t| (workdir.join(&t.chain), workdir.join(&t.key))),
    };
    let kafka = match KafkaBroker::acquire(&spec, workdir).await? {
        Started::Ready(b) => b,
        Started::Refused(r) => {
            // A broker the harness configured: its refusal is the harness's.
            let tail: Vec<&str> = r.message.lines().rev().take(10).collect();
            return Err(HarnessError::refused(
                broker::PEER,
                format!(
                    "did not start:\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                ),
            ));
        }
    };
    tracing::debug!(elapsed = ?kafka.start_to_ready, "kafka broker ready");
    let result = run_gateway(case, body, workdir, Some(&kafka)).await;
    let lines = kafka.stop().await;
    let mut obs = result?;
    obs.node_logs.extend(lines);
    Ok(obs)
}

async fn run_gateway(
    case: &Case,
    body: &CaseBody,
    workdir: &Path,
    kafka: Option<&KafkaBroker>,
) -> Result<Observation, HarnessError> {
    let settings = gateway_settings(case, body, workdir, kafka)?;
    let gateway = match KafkaGateway::start(settings).await {
        Ok(g) => g,
        Err(
            e @ (HarnessError::Material { .. }
            | HarnessError::Invalid { .. }
            | HarnessError::Io { .. }),
        ) => {
            return Ok(Observation {
                peer: "gateway".to_string(),
                stderr: e.to_string(),
                ..Observation::default()
            })
        }
        Err(e) => return Err(e),
    };
    let c = &body.client;
    let password = match client_password(c, &gateway).await? {
        Ok(password) => password,
        Err(mut refused) => {
            gateway.log().settle(Duration::from_secs(1)).await;
            refused.node_logs = gateway.log().lines();
            gateway.shutdown().await;
            return Ok(refused);
        }
    };
    let config = KafkaClientConfig {
        bootstrap: match &c.host {
            Some(host) => crate::peers::host_port(host, gateway.address().port()),
            None => gateway.address().to_string(),
        },
        security_protocol: c.security_protocol.clone(),
        sasl_mechanism: c.sasl_mechanism.clone(),
        username: c.username.clone(),
        password,
        ca: c.ca.clone(),
        properties: c
            .properties
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        workdir: workdir.to_path_buf(),
        deadline: CLIENT_DEADLINE,
    };
    let result = match (c.kind, c.action) {
        (ClientKind::Kcat, Action::Metadata) => kcat::metadata(&config).await,
        (ClientKind::Kcat, Action::RoundTrip) => {
            kcat::round_trip(&config, "tlsmatrix", &["one", "two", "three"]).await
        }
        (ClientKind::Java, Action::Metadata) => kafka_java::run(&config, "tlsmatrix", 0).await,
        (ClientKind::Java, Action::RoundTrip) => kafka_java::run(&config, "tlsmatrix", 3).await,
        (ClientKind::Python, _) => crate::peers::python::kafka_describe(&config).await,
    };
    gateway.log().settle(Duration::from_secs(3)).await;
    let logs = case_log_lines(gateway.log().lines());
    gateway.shutdown().await;
    let mut obs = result?;
    obs.node_logs = logs;
    if obs.direct.is_none() && obs.exit_code == Some(0) && obs.stderr.trim().is_empty() {
        // kcat exited 0 without what a success prints: say so instead of
        // classifying an empty text.
        obs.stderr = format!(
            "kcat exited 0 without the expected output: {}",
            obs.stdout.trim()
        );
    }
    Ok(obs)
}

/// The gateway's settings from the case's `gateway:` (its `KAFKA_*` values
/// with the backend broker's listener addresses filled in).
fn gateway_settings(
    case: &Case,
    body: &CaseBody,
    workdir: &Path,
    kafka: Option<&KafkaBroker>,
) -> Result<KafkaGatewaySettings, HarnessError> {
    let source = format!("{} (gateway.env)", case.id);
    let env: EnvMap = body
        .gateway
        .env
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                kafka.map_or_else(|| v.clone(), |b| b.substitute(v)),
            )
        })
        .collect();
    let mut settings = KafkaGatewaySettings::from_env(&source, &env)?;
    settings.backend = settings.backend.map(|b| b.resolve(workdir));
    settings.tls = body
        .gateway
        .tls
        .as_ref()
        .map(|t| (workdir.join(&t.chain), workdir.join(&t.key)));
    settings.tenants = body.gateway.tenants.clone();
    settings.backend_users = body.gateway.backend_users.clone();
    Ok(settings)
}

/// The client's password: as written, a token minted here, or one the
/// gateway's admin API gives (as a user gets it with curl). An admin API
/// that gives none ends the case: its answer is the observation (`Err`).
async fn client_password(
    c: &ClientBody,
    gateway: &KafkaGateway,
) -> Result<Result<Option<String>, Observation>, HarnessError> {
    let password = match &c.password {
        None => None,
        Some(Password::Literal(p)) => Some(p.clone()),
        Some(Password::Token { token }) => Some(tenants::mint(
            token.secret.as_bytes(),
            &GatewayClaims {
                org_id: token.org_id,
                cluster_id: token.cluster_id.clone(),
                username: token.username.clone(),
            },
        )),
        Some(Password::AdminToken { admin_token: r }) => {
            let path = format!("/auth/tenant/{}/user/{}/token", r.tenant, r.user);
            let request =
                serde_json::json!({"username": r.master_username, "password": r.master_password})
                    .to_string();
            let (status, answer) = post(&gateway.admin_url(), &path, &request).await?;
            let token = serde_json::from_str::<serde_json::Value>(&answer)
                .ok()
                .and_then(|v| v["data"].as_str().map(String::from));
            match token {
                Some(t) if status == 200 => Some(t),
                _ => {
                    return Ok(Err(Observation {
                        peer: "admin API".to_string(),
                        command: Some(format!("POST {path} (master credentials as JSON)")),
                        exit_code: Some(i32::from(status)),
                        stderr: format!("HTTP {status}: {answer}"),
                        ..Observation::default()
                    }));
                }
            }
        }
    };
    Ok(Ok(password))
}

/// The gateway's log lines worth keeping. kcat retries until its timeout,
/// and a retry's failure can differ in its details (other first bytes,
/// another alert once librdkafka gives up): each kind of line (its text
/// before the first parenthesis, digits aside) once, the first attempt's.
fn case_log_lines(lines: Vec<String>) -> Vec<String> {
    let mut kinds = std::collections::HashSet::new();
    lines
        .into_iter()
        .filter(|l| !is_transport_noise(l))
        .filter(|l| {
            let kind = l.split('(').next().unwrap_or(l);
            kinds.insert(kind.replace(|c: char| c.is_ascii_digit(), ""))
        })
        .collect()
}
