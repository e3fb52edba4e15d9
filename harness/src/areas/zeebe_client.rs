//! Area `zeebe-client`: Zeebe clients (built-in, real zbctl) against a reference
//! Zeebe gateway configured from Zeebe YAML and environment.
//!
//! Case body:
//!
//! ```yaml
//! gateway:
//!   mode: standalone          # or embedded (zeebe.broker.gateway.*)
//!   config: { zeebe: { gateway: { security: { enabled: true, ... } } } }
//!   config-file: gateway.yaml # or a Zeebe YAML file in the case directory
//!   env: { ZEEBE_GATEWAY_SECURITY_ENABLED: "true" }
//!   brokers: 1
//!   backend: embedded        # or netty-oracle (grpc-java on Netty, a child process)
//! client:
//!   kind: zbctl               # or builtin, go, java, camunda, camunda-spring,
//!                             # node, camunda-sdk, python (grpcio); REST: curl,
//!                             # camunda-rest, camunda-sdk-rest
//!   plaintext: false          # --insecure / usePlaintext() / http:// scheme
//!   ca: ca.pem                # --certPath / caCertificatePath()
//!   host: 127.0.0.1           # the host name dialled (localhost, 127.0.0.1, ...)
//!   env: { ZEEBE_INSECURE_CONNECTION: "true" }
//!   args: [--camunda.client.grpc-address=https://127.0.0.1:1]  # zbctl, camunda-spring
//! ```
//!
//! The gateway's `network.host`/`network.port` are replaced by `127.0.0.1:0` so
//! that every case gets a free port; everything else is read as Zeebe reads it.

use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use serde::Deserialize;

use super::{refused, Area, AreaSpec, BoxFuture, Requirement};
use crate::catalogue::Catalogue;
use crate::config::zeebe::{GatewayMode, GatewaySettings};
use crate::config::{EnvMap, Properties};
use crate::error::HarnessError;
use crate::nodes::oracle::NettyOracle;
use crate::nodes::{GatewayNode, Started, Topology};
use crate::peers::probe::Probe;
use crate::peers::{
    builtin, camunda, camunda_sdk, camunda_spring, http_clients, python, zbctl, Observation,
    ZeebeClientConfig,
};
use crate::pki::Materialized;
use crate::scenario::Case;

/// How long a client call may take.
pub const CLIENT_DEADLINE: Duration = Duration::from_secs(10);
/// How long the gateway may take to finish logging after the client is done.
pub const SETTLE_DEADLINE: Duration = Duration::from_secs(3);

/// The case body of this area.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CaseBody {
    /// The gateway under test.
    pub(crate) gateway: GatewayBody,
    /// The client.
    pub(crate) client: ClientBody,
}

/// The gateway part of a case.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct GatewayBody {
    /// Standalone or embedded configuration shape.
    #[serde(default)]
    pub(crate) mode: GatewayMode,
    /// The Zeebe YAML, as a tree.
    #[serde(default)]
    pub(crate) config: serde_yaml_ng::Value,
    /// Or: a Zeebe YAML file in the case directory (a user's own `gateway.yaml`).
    #[serde(default)]
    pub(crate) config_file: Option<String>,
    /// Environment variables of the gateway process.
    #[serde(default)]
    pub(crate) env: EnvMap,
    /// Which implementation serves: the in-process reference or the netty-oracle.
    #[serde(default)]
    pub(crate) backend: Backend,
    /// Brokers in the reported topology.
    #[serde(default = "one")]
    pub(crate) brokers: u32,
}

fn one() -> u32 {
    1
}

/// Which gateway implementation serves a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// tlsmatrix's reference gateway, in process.
    #[default]
    Embedded,
    /// grpc-java on Netty (the stack Zeebe's gateway runs on), as a child process.
    NettyOracle,
    /// The reference gateway in a container of tlsmatrix's reference image
    /// (`tlsmatrix run --backend containers`; needs a Docker engine). Same
    /// configuration as `embedded`; the case directory is mounted read-only.
    Containers,
}

/// Which client runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientKind {
    /// tlsmatrix's own tonic + rustls client.
    Builtin,
    /// The real zbctl.
    Zbctl,
    /// The official Go client library, through its probe.
    Go,
    /// The official Java client library, through its probe.
    Java,
    /// The Camunda Java client (`CamundaClient`, camunda-client-java 8.9.0),
    /// through its probe, over gRPC: `plaintext` picks the `http://` scheme
    /// of its gRPC address, else `https://` (its only TLS switch).
    Camunda,
    /// The Camunda Java client in REST mode (camunda-client-java 8.9.0:
    /// `restAddress`, `preferRestOverGrpc(true)`, `useRest()`), through the
    /// same probe, against the gateway's REST port (`GET /v2/topology`,
    /// release 8.5.0 and later): `plaintext` picks the `http://` scheme of
    /// its REST address, else `https://`; `ca` is its `caCertificatePath`,
    /// which the REST client trusts alone. A kind of its own, as curl is,
    /// because the kind says which port of the gateway the client dials.
    CamundaRest,
    /// The Camunda Spring Boot starter (camunda-spring-boot-starter 8.8.4,
    /// Spring Boot 3.5.6, camunda-client-java 8.8.4), through its probe: a
    /// non-web Spring Boot application takes the starter's `CamundaClient`
    /// bean and asks over gRPC. The case is given the way an application
    /// gets its configuration: address, `plaintext` and `ca` are the
    /// `camunda.client.grpc-address` (`https://`, `http://` when
    /// `plaintext`) and `camunda.client.ca-certificate-path` of
    /// `config/application.yaml` in the case directory; `env` is the
    /// environment (`CAMUNDA_CLIENT_*`, legacy names); `args` are Spring
    /// command-line properties (`--camunda.client.NAME=VALUE`). Spring's
    /// order: command line over environment over `application.yaml`.
    CamundaSpring,
    /// The zeebe-node library, through its probe.
    Node,
    /// The Camunda 8 JavaScript SDK (`@camunda8/sdk` 8.8.13, successor of
    /// zeebe-node), through its probe, over gRPC: `plaintext` is the
    /// constructor's `CAMUNDA_SECURE_CONNECTION: false`, `ca` its
    /// `CAMUNDA_CUSTOM_ROOT_CERT_PATH`; the environment does the rest.
    CamundaSdk,
    /// The same SDK's REST client (`getCamundaRestClient().getTopology()`)
    /// against the gateway's REST API: `https://` (`http://` when
    /// `plaintext`), `ca` as `CAMUNDA_CUSTOM_ROOT_CERT_PATH`.
    CamundaSdkRest,
    /// Python `grpcio` (gRPC core, BoringSSL), through its probe: no Zeebe
    /// library, so no `ZEEBE_*` variable is read.
    Python,
    /// The real curl against the gateway's REST API (`GET /v2/topology`,
    /// release 8.5.0 and later): `https://` with `--cacert` from `ca`, or
    /// `http://` when `plaintext`; no `ZEEBE_*` variable is read.
    Curl,
}

impl ClientKind {
    /// Every kind's name as a case writes it (`client.kind`).
    pub const NAMES: [&'static str; 12] = [
        "builtin",
        "zbctl",
        "go",
        "java",
        "camunda",
        "camunda-rest",
        "camunda-spring",
        "node",
        "camunda-sdk",
        "camunda-sdk-rest",
        "python",
        "curl",
    ];

    /// Whether this client dials the gateway's REST API instead of gRPC.
    pub fn dials_rest(self) -> bool {
        matches!(self, Self::Curl | Self::CamundaRest | Self::CamundaSdkRest)
    }
}

/// The client part of a case.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ClientBody {
    /// Which client.
    pub(crate) kind: ClientKind,
    /// Plaintext switch.
    #[serde(default)]
    pub(crate) plaintext: bool,
    /// CA file, relative to the case directory.
    #[serde(default)]
    pub(crate) ca: Option<String>,
    /// The host name to dial.
    #[serde(default = "localhost_ip")]
    pub(crate) host: String,
    /// Environment variables of the client.
    #[serde(default)]
    pub(crate) env: EnvMap,
    /// Extra command-line flags: zbctl's (its OAuth flags: `--clientId`,
    /// `--clientSecret`, `--authzUrl`, `--audience`), or camunda-spring's
    /// Spring command-line properties (`--camunda.client.NAME=VALUE`).
    #[serde(default)]
    pub(crate) args: Vec<String>,
}

fn localhost_ip() -> String {
    "127.0.0.1".to_string()
}

struct ZeebeClientArea {
    catalogue: Catalogue,
}

/// The area.
pub fn area() -> &'static dyn Area {
    static AREA: OnceLock<ZeebeClientArea> = OnceLock::new();
    AREA.get_or_init(|| ZeebeClientArea {
        catalogue: super::load_catalogue(
            "zeebe-client",
            include_str!("../../catalogue/zeebe-client.yaml"),
        ),
    })
}

impl AreaSpec for ZeebeClientArea {
    type Body = CaseBody;
    const SCHEMA: &'static str = file!();

    fn name(&self) -> &'static str {
        "zeebe-client"
    }

    fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    fn check(&self, case: &Case, body: &CaseBody) -> Result<Vec<Requirement>, HarnessError> {
        let mut needs: Vec<Requirement> = Vec::new();
        if body.gateway.backend == Backend::NettyOracle {
            needs.push(Requirement {
                peer: "netty-oracle",
                locate: crate::nodes::oracle::locate,
            });
        }
        if body.gateway.backend == Backend::Containers {
            needs.push(Requirement {
                peer: "docker",
                locate: crate::containers::locate_docker,
            });
        }
        if body.client.kind.dials_rest() && body.gateway.backend != Backend::Embedded {
            return Err(HarnessError::invalid(
                case.source.display().to_string(),
                format!("{}: client.kind", case.id),
                "curl, camunda-rest and camunda-sdk-rest dial the REST server, which only the embedded reference gateway serves",
                "give REST cases gateway.backend: embedded (the default)",
            ));
        }
        needs.extend(client_needs(case, &body.client)?);
        Ok(needs)
    }

    /// The embedded cases, with `gateway.backend: containers`.
    fn on_containers(&self, case: &Case, _body: &CaseBody) -> Option<Case> {
        if case.label("backend") != Some("embedded") {
            return None;
        }
        let mut case = case.clone();
        case.body
            .edit(|tree| {
                tree.get_mut("gateway")
                    .and_then(|g| g.as_mapping_mut())
                    .map(|g| g.insert("backend".into(), "containers".into()))
                    .is_some()
            })
            .then_some(())?;
        Some(super::label_containers(case))
    }

    fn run<'a>(
        &'a self,
        case: &'a Case,
        body: &'a CaseBody,
        workdir: &'a Path,
        _pki: &'a Materialized,
    ) -> BoxFuture<'a, Result<Observation, HarnessError>> {
        Box::pin(async move {
            if let Some(file) = &body.gateway.config_file {
                crate::confine::inside(
                    workdir,
                    file,
                    &case.source.display().to_string(),
                    &format!("{}: gateway.config-file", case.id),
                )?;
            }
            match body.gateway.backend {
                Backend::Embedded => run_embedded(case, body, workdir).await,
                Backend::NettyOracle => run_oracle(case, body, workdir).await,
                Backend::Containers => run_container(body, workdir).await,
            }
        })
    }
}

/// Checks a client body and says what it needs on this machine.
pub(crate) fn client_needs(
    case: &Case,
    client: &ClientBody,
) -> Result<Vec<Requirement>, HarnessError> {
    if client.kind == ClientKind::CamundaSpring {
        if let Err(problem) = camunda_spring::check_args(&client.args) {
            return Err(HarnessError::invalid(
                case.source.display().to_string(),
                format!("{}: client.args", case.id),
                problem,
                "write each argument as --camunda.client.NAME=VALUE (Spring's command-line form)",
            ));
        }
    } else if !client.args.is_empty() && client.kind != ClientKind::Zbctl {
        return Err(HarnessError::invalid(
            case.source.display().to_string(),
            format!("{}: client.args", case.id),
            "extra flags are for zbctl and camunda-spring only",
            "configure the other clients through client.env",
        ));
    }
    Ok(client_requirements(client.kind))
}

/// What a client kind needs on this machine.
fn client_requirements(kind: ClientKind) -> Vec<Requirement> {
    match kind {
        ClientKind::Builtin => Vec::new(),
        ClientKind::Zbctl => vec![Requirement {
            peer: "zbctl",
            locate: zbctl::locate,
        }],
        ClientKind::Go => vec![Requirement {
            peer: "go-client",
            locate: || Probe::Go.locate(),
        }],
        ClientKind::Java => vec![Requirement {
            peer: "java-client",
            locate: || Probe::Java.locate(),
        }],
        ClientKind::Camunda | ClientKind::CamundaRest => vec![Requirement {
            peer: "camunda-client",
            locate: camunda::locate,
        }],
        ClientKind::CamundaSpring => vec![Requirement {
            peer: "camunda-spring",
            locate: camunda_spring::locate,
        }],
        ClientKind::Node => vec![Requirement {
            peer: "zeebe-node",
            locate: || Probe::Node.locate(),
        }],
        ClientKind::CamundaSdk | ClientKind::CamundaSdkRest => vec![Requirement {
            peer: "camunda-sdk",
            locate: camunda_sdk::locate,
        }],
        ClientKind::Python => vec![Requirement {
            peer: "python-grpcio",
            locate: python::locate_grpcio,
        }],
        ClientKind::Curl => vec![Requirement {
            peer: "curl",
            locate: http_clients::locate_curl,
        }],
    }
}

/// The client half of a case, against whichever gateway listens on `port`.
async fn run_client(
    body: &CaseBody,
    workdir: &Path,
    port: u16,
) -> Result<Observation, HarnessError> {
    run_zeebe_client(&body.client, workdir, port).await
}

/// Runs a Zeebe client as a case body describes it against `127.0.0.1:port`
/// (other areas that put something in front of the gateway reuse it).
pub(crate) async fn run_zeebe_client(
    client: &ClientBody,
    workdir: &Path,
    port: u16,
) -> Result<Observation, HarnessError> {
    run_zeebe_client_within(client, workdir, port, CLIENT_DEADLINE).await
}

/// [`run_zeebe_client`] with its own bound on the call (the live-endpoint
/// probe takes it from the command line).
pub(crate) async fn run_zeebe_client_within(
    client: &ClientBody,
    workdir: &Path,
    port: u16,
    deadline: Duration,
) -> Result<Observation, HarnessError> {
    let config = ZeebeClientConfig {
        address: crate::peers::host_port(&client.host, port),
        plaintext: client.plaintext,
        ca_path: client.ca.clone(),
        env: client.env.clone(),
        workdir: workdir.to_path_buf(),
        deadline,
    };
    match client.kind {
        ClientKind::Builtin => builtin::topology(&config).await,
        ClientKind::Zbctl => zbctl::status_with(&config, &client.args).await,
        ClientKind::Go => Probe::Go.topology(&config).await,
        ClientKind::Java => Probe::Java.topology(&config).await,
        ClientKind::Camunda => camunda::topology(&config).await,
        ClientKind::CamundaRest => camunda::rest_topology(&config).await,
        ClientKind::CamundaSpring => camunda_spring::topology(&config, &client.args).await,
        ClientKind::Node => Probe::Node.topology(&config).await,
        ClientKind::CamundaSdk => camunda_sdk::topology(&config, camunda_sdk::Api::Grpc).await,
        ClientKind::CamundaSdkRest => camunda_sdk::topology(&config, camunda_sdk::Api::Rest).await,
        ClientKind::Python => python::grpcio_topology(&config).await,
        ClientKind::Curl => {
            http_clients::curl_zeebe_rest(&rest_client(client, workdir, port, deadline)).await
        }
    }
}

/// curl's configuration for a REST case: the documented topology path of the
/// newest modelled release, `--cacert` from the client's `ca`.
fn rest_client(
    client: &ClientBody,
    workdir: &Path,
    port: u16,
    deadline: Duration,
) -> http_clients::HttpClientConfig {
    http_clients::HttpClientConfig {
        host: client.host.clone(),
        port,
        tls: !client.plaintext,
        cacert: client.ca.clone(),
        cert: None,
        key: None,
        insecure: false,
        tls_max: None,
        http2: false,
        path: crate::version::rest_topology_path(None).to_string(),
        workdir: workdir.to_path_buf(),
        deadline,
    }
}

async fn run_embedded(
    case: &Case,
    body: &CaseBody,
    workdir: &Path,
) -> Result<Observation, HarnessError> {
    let props = match &body.gateway.config_file {
        Some(file) if !body.gateway.config.is_null() => {
            return Err(HarnessError::invalid(
                case.source.display().to_string(),
                format!("{}: gateway.config-file", case.id),
                format!("both gateway.config and gateway.config-file ({file}) are given"),
                "keep one of them",
            ))
        }
        Some(file) => {
            let path = workdir.join(file);
            let text = crate::input::read(&path)?;
            Properties::from_yaml(file, &text, body.gateway.env.clone())?
        }
        None => {
            let source = format!("{} (gateway.config)", case.id);
            Properties::from_value(&source, &body.gateway.config, body.gateway.env.clone())?
        }
    };
    let mut settings = GatewaySettings::from_properties(body.gateway.mode, &props, workdir)?;
    settings.runtime = crate::version::ProductRuntime::of(case.version.as_deref());
    settings.host = "127.0.0.1".to_string();
    settings.port = 0;
    // A release with REST serves it whatever the configuration says (on
    // Spring's 8080 by default): here on a free loopback port, as gRPC.
    if settings.runtime.rest {
        let mut rest = settings
            .rest
            .take()
            .unwrap_or_else(crate::config::rest::RestSettings::plaintext);
        rest.host = "127.0.0.1".to_string();
        rest.port = 0;
        settings.rest = Some(rest);
    }
    let started = GatewayNode::start(&settings, Topology::with_brokers(body.gateway.brokers)).await;
    let gateway = match Started::in_process("gateway", started)? {
        Started::Ready(gateway) => gateway,
        Started::Refused(r) => return Ok(refused("gateway", r)),
    };
    // curl and camunda-rest dial the REST port; on a release without REST
    // nothing listens there (a port reserved and closed, so the refusal is
    // real).
    let closed;
    let port = if body.client.kind.dials_rest() {
        match gateway.rest_address() {
            Some((address, _)) => address.port(),
            None => {
                closed = crate::nodes::closed_port::ClosedPort::reserve("the gateway's REST port")?;
                closed.port()
            }
        }
    } else {
        gateway.address().port()
    };
    let mut obs = run_client(body, workdir, port).await?;
    gateway.log().settle(SETTLE_DEADLINE).await;
    obs.node_logs = gateway.log().lines();
    gateway.shutdown().await;
    Ok(obs)
}

async fn run_oracle(
    case: &Case,
    body: &CaseBody,
    workdir: &Path,
) -> Result<Observation, HarnessError> {
    if body.gateway.mode == GatewayMode::Embedded || body.gateway.brokers != 1 {
        return Err(HarnessError::invalid(
            case.source.display().to_string(),
            &case.id,
            "the netty-oracle models a standalone gateway reporting one broker",
            "skip this combination in the scenario's expect rules (skip: ...)",
        ));
    }
    let config = config_file(body, workdir, "oracle-gateway.yaml")?;
    match NettyOracle::start(
        config.as_deref(),
        &body.gateway.env,
        workdir,
        case.version.as_deref(),
    )
    .await?
    {
        Started::Refused(r) => Ok(refused("gateway", r)),
        Started::Ready(oracle) => {
            let result = run_client(body, workdir, oracle.port()).await;
            let logs = oracle.stop().await;
            let mut obs = result?;
            obs.node_logs = logs;
            Ok(obs)
        }
    }
}

/// The gateway's configuration as a file in the case directory, for a node
/// started outside this process: the case's own file, or the body's tree
/// written as `name`; none when the body has neither.
fn config_file(
    body: &CaseBody,
    workdir: &Path,
    name: &str,
) -> Result<Option<String>, HarnessError> {
    match (&body.gateway.config_file, body.gateway.config.is_null()) {
        (Some(file), _) => Ok(Some(file.clone())),
        (None, true) => Ok(None),
        (None, false) => {
            let text = serde_yaml_ng::to_string(&body.gateway.config)
                .map_err(|e| HarnessError::run(name, e))?;
            crate::pki::write_file(&workdir.join(name), text.as_bytes(), 0o644)?;
            Ok(Some(name.to_string()))
        }
    }
}

/// The reference gateway in a container: configured from the same file and
/// environment as in process, the case directory mounted read-only.
async fn run_container(body: &CaseBody, workdir: &Path) -> Result<Observation, HarnessError> {
    use crate::containers::ReferenceImage;
    let config = match config_file(body, workdir, "container-gateway.yaml")? {
        Some(file) => file,
        None => {
            crate::pki::write_file(&workdir.join("container-gateway.yaml"), b"{}\n", 0o644)?;
            "container-gateway.yaml".to_string()
        }
    };
    let image = ReferenceImage::get().await?;
    let mut spec = image.zeebe_gateway(workdir, &config, &body.gateway.env);
    if body.gateway.mode == GatewayMode::Embedded {
        spec.cmd
            .extend(["--mode".to_string(), "embedded".to_string()]);
    }
    spec.cmd
        .extend(["--brokers".to_string(), body.gateway.brokers.to_string()]);
    match spec.start().await? {
        Started::Refused(r) => Ok(refused("gateway", r)),
        Started::Ready(node) => {
            let result = run_client(body, workdir, node.port()).await;
            let logs = node.log_lines();
            node.stop().await;
            let mut obs = result?;
            obs.node_logs = logs;
            Ok(obs)
        }
    }
}

#[cfg(test)]
mod kind_names {
    use super::ClientKind;

    /// `NAMES` is every kind, each once: a kind added to the enum without
    /// its name fails here (the match has no wildcard).
    #[test]
    fn names_are_the_kinds() {
        let kinds: Vec<ClientKind> = ClientKind::NAMES
            .iter()
            .map(|n| serde_yaml_ng::from_str(n).unwrap_or_else(|e| panic!("{n}: {e}")))
            .collect();
        for kind in &kinds {
            match kind {
                ClientKind::Builtin
                | ClientKind::Zbctl
                | ClientKind::Go
                | ClientKind::Java
                | ClientKind::Camunda
                | ClientKind::CamundaRest
                | ClientKind::CamundaSpring
                | ClientKind::Node
                | ClientKind::CamundaSdk
                | ClientKind::CamundaSdkRest
                | ClientKind::Python
                | ClientKind::Curl => {}
            }
        }
        let unique: std::collections::HashSet<String> =
            kinds.iter().map(|k| format!("{k:?}")).collect();
        assert_eq!(unique.len(), ClientKind::NAMES.len());
    }
}
