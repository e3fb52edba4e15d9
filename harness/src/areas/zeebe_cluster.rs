//! Area `zeebe-cluster`: Zeebe cluster transport security. A reference cluster
//! (brokers and an optional standalone gateway, see [`crate::nodes::cluster`])
//! is configured from each node's Zeebe YAML and environment, formed, and
//! probed; optionally the real `zbctl status` asks the gateway for the topology.
//!
//! Case body:
//!
//! ```yaml
//! openssl: { nodes: [A, B, C], dsa-nodes: [D], encrypt: [A] }  # the documented recipe, real openssl
//! concat: { both-roots.pem: [b2-chain.pem, ca.pem] }            # chain files made with `cat`
//! nodes:                      # by name; brokers get node ids in name order
//!   broker-0:
//!     role: broker            # default: gateway when the name starts with "gateway"
//!     config: { zeebe: { broker: { network: { security: { enabled: true, ... } } } } }
//!     config-file: broker-0.yaml
//!     env: { ZEEBE_BROKER_NETWORK_SECURITY_ENABLED: "true" }
//!     workdir: nodes/b0       # the node's working directory, in the case directory
//!     gossip-port-of: broker-1  # bind gossip to that node's port (a collision)
//!   gateway:
//!     config: { zeebe: { gateway: { cluster: { security: { ... } } } } }
//! client:
//!   zbctl: true               # also run `zbctl status --insecure` against the gateway
//! ```
//!
//! Outcome: `connected(N)` when the cluster formed (every request between nodes
//! succeeded, every partition has a leader; with zbctl, also its status listing
//! N brokers), set directly; otherwise the catalogue classifies the output:
//! `cluster-partial` from the failing links it lists, `node-start-failed` from
//! the node's error (file, key, fix), each with the entry that explains it.

mod openssl;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use serde::Deserialize;

use super::{Area, AreaSpec, BoxFuture, Requirement};
use crate::catalogue::Catalogue;
use crate::config::{EnvMap, Properties};
use crate::error::HarnessError;
use crate::nodes::cluster::{Cluster, ClusterStart, NodeRole, NodeSettings, NodeSpec};
use crate::outcome::Outcome;
use crate::peers::{zbctl, Observation, ZeebeClientConfig};
use crate::pki::Materialized;
use crate::scenario::Case;

pub use openssl::{Recipe, DEFAULT_SUBJECT};

/// How long the zbctl call may take.
pub const CLIENT_DEADLINE: Duration = Duration::from_secs(10);

/// A cluster file for `tlsmatrix up`: a case body without the client.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ClusterFile {
    /// Certificates made with the documented openssl commands, in the working directory.
    #[serde(default)]
    pub openssl: Recipe,
    /// Files made by concatenating others (`out: [part, ...]`).
    #[serde(default)]
    pub concat: BTreeMap<String, Vec<String>>,
    /// The nodes, by name.
    pub nodes: BTreeMap<String, NodeBody>,
}

impl ClusterFile {
    /// True when `text` is a cluster file (a YAML mapping with `nodes:`), not a
    /// single node's Zeebe configuration.
    pub fn is_cluster_file(text: &str) -> bool {
        serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text)
            .ok()
            .and_then(|v| v.get("nodes").cloned())
            .is_some()
    }

    /// Reads a cluster file.
    pub fn parse(source: &str, text: &str) -> Result<Self, HarnessError> {
        serde_yaml_ng::from_str(text).map_err(|e| HarnessError::yaml(source, &e))
    }

    /// Makes the files, reads every node's settings and starts the cluster in
    /// `workdir`. A node that refuses to start is an error naming the node.
    pub async fn start(&self, source: &str, workdir: &Path) -> Result<Cluster, HarnessError> {
        self.make_files(workdir).await?;
        let specs = match node_specs(source, &self.nodes, workdir)? {
            Ok(specs) => specs,
            Err((node, e)) => return Err(HarnessError::run(format!("{node} did not start"), e)),
        };
        match Cluster::start(&specs).await? {
            ClusterStart::Ready(cluster) => Ok(cluster),
            ClusterStart::NodeFailed(f) => Err(HarnessError::run(
                format!("{} did not start", f.node),
                f.error,
            )),
        }
    }
}

/// One node of a cluster file, as `tlsmatrix up --member` starts it on a
/// host of its own (see [`ClusterFile::members`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberLaunch {
    /// The node's name.
    pub name: String,
    /// Broker or gateway.
    pub role: NodeRole,
    /// A broker's node id (brokers in name order, as in process).
    pub node_id: Option<u32>,
    /// Its Zeebe YAML, relative to the cluster file's directory.
    pub config: String,
    /// Its working directory, relative to the cluster file's directory.
    pub workdir: String,
    /// Its own environment, plus the cluster's size and its node id
    /// (`ZEEBE_BROKER_CLUSTER_CLUSTERSIZE`, `ZEEBE_BROKER_CLUSTER_NODEID`).
    /// Addresses (contact points, hosts) are the launcher's to add.
    pub env: EnvMap,
}

impl ClusterFile {
    /// Makes the files in `dir`: the openssl recipe's certificates, then the
    /// concatenations.
    pub async fn make_files(&self, dir: &Path) -> Result<(), HarnessError> {
        self.openssl.run(dir).await?;
        openssl::concatenate(dir, &self.concat)
    }

    /// One launch per node, brokers first (node ids in name order), the
    /// gateway last: the same cluster as [`ClusterFile::start`], one node per
    /// host (see [`ClusterFile::make_files`] for the certificates). A node
    /// configured inline gets its YAML written to `.member-<name>.yaml` in
    /// `dir`. A gossip port shared on purpose (`gossip-port-of`) needs one
    /// host, so it is an error here.
    pub fn members(&self, dir: &Path) -> Result<Vec<MemberLaunch>, HarnessError> {
        if let Some((name, _)) = self.nodes.iter().find(|(_, n)| n.gossip_port_of.is_some()) {
            return Err(HarnessError::invalid(
                "cluster file",
                format!("nodes.{name}.gossip-port-of"),
                "a port collision needs the nodes on one host",
                "run this cluster in process, or drop gossip-port-of",
            ));
        }
        let ordered = start_order(&self.nodes);
        let brokers = ordered
            .iter()
            .filter(|(name, node)| node.role_of(name) == NodeRole::Broker)
            .count();
        let mut next_id = 0;
        let mut launches = Vec::new();
        for (name, node) in ordered {
            let role = node.role_of(name);
            let workdir = node.workdir.clone().unwrap_or_else(|| ".".to_string());
            // As in process: the working directory exists (the mount is read-only).
            let host_workdir = if workdir == "." {
                dir.to_path_buf()
            } else {
                crate::confine::inside(
                    dir,
                    &workdir,
                    "cluster file",
                    &format!("nodes.{name}.workdir"),
                )?
            };
            if let Some(file) = &node.config_file {
                crate::confine::inside(
                    &host_workdir,
                    file,
                    "cluster file",
                    &format!("nodes.{name}.config-file"),
                )?;
            }
            std::fs::create_dir_all(&host_workdir)
                .map_err(|e| HarnessError::write(&host_workdir, e))?;
            let config = match (&node.config_file, node.config.is_null()) {
                (Some(file), true) => Path::new(&workdir).join(file).display().to_string(),
                (Some(file), false) => {
                    return Err(HarnessError::invalid(
                        "cluster file",
                        format!("nodes.{name}.config-file"),
                        format!("both config and config-file ({file}) are given"),
                        "keep one of them",
                    ))
                }
                (None, _) => {
                    let file = format!(".member-{name}.yaml");
                    let text = if node.config.is_null() {
                        "{}\n".to_string()
                    } else {
                        serde_yaml_ng::to_string(&node.config)
                            .map_err(|e| HarnessError::run(name, e))?
                    };
                    let path = dir.join(&file);
                    std::fs::write(&path, text).map_err(|e| HarnessError::write(&path, e))?;
                    file
                }
            };
            let mut env = node.env.clone();
            let node_id = (role == NodeRole::Broker).then(|| {
                next_id += 1;
                next_id - 1
            });
            if let Some(id) = node_id {
                env.insert("ZEEBE_BROKER_CLUSTER_NODEID".into(), id.to_string());
                env.insert(
                    "ZEEBE_BROKER_CLUSTER_CLUSTERSIZE".into(),
                    brokers.to_string(),
                );
            }
            launches.push(MemberLaunch {
                name: name.clone(),
                role,
                node_id,
                config,
                workdir,
                env,
            });
        }
        Ok(launches)
    }
}

/// The case body of this area.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CaseBody {
    /// Certificates made with the documented openssl commands.
    #[serde(default)]
    pub openssl: Recipe,
    /// Files made by concatenating others (`out: [part, ...]`).
    #[serde(default)]
    pub concat: BTreeMap<String, Vec<String>>,
    /// The nodes, by name.
    pub nodes: BTreeMap<String, NodeBody>,
    /// The client.
    #[serde(default)]
    pub client: ClientBody,
    /// Where the nodes run (set by `tlsmatrix run --backend containers`).
    #[serde(default)]
    pub backend: ClusterBackend,
}

/// Where a case's nodes run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClusterBackend {
    /// Every node in process (gossip and messaging on 127.0.0.1).
    #[default]
    Embedded,
    /// One container of the reference image per node, on a Docker network of
    /// their own, joined by contact points (needs a Docker engine).
    Containers,
}

/// One node of a case.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct NodeBody {
    /// Broker or gateway (default: from the name).
    #[serde(default)]
    pub role: Option<NodeRole>,
    /// The node's Zeebe YAML, as a tree.
    #[serde(default)]
    pub config: serde_yaml_ng::Value,
    /// Or: a Zeebe YAML file, relative to the node's working directory.
    #[serde(default)]
    pub config_file: Option<String>,
    /// The node's environment variables.
    #[serde(default)]
    pub env: EnvMap,
    /// The node's working directory, relative to the case directory.
    #[serde(default)]
    pub workdir: Option<String>,
    /// Bind gossip to the port of this (earlier) node.
    #[serde(default)]
    pub gossip_port_of: Option<String>,
}

/// The client part of a case.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ClientBody {
    /// Run the real `zbctl status` against the standalone gateway.
    #[serde(default)]
    pub zbctl: bool,
}

impl NodeBody {
    /// The node's role: as written, else gateway for a name starting with
    /// `gateway`, else broker.
    pub fn role_of(&self, name: &str) -> NodeRole {
        self.role.unwrap_or(if name.starts_with("gateway") {
            NodeRole::Gateway
        } else {
            NodeRole::Broker
        })
    }
}

struct ZeebeClusterArea {
    catalogue: Catalogue,
}

/// The area.
pub fn area() -> &'static dyn Area {
    static AREA: OnceLock<ZeebeClusterArea> = OnceLock::new();
    AREA.get_or_init(|| ZeebeClusterArea {
        catalogue: super::load_catalogue(
            "zeebe-cluster",
            include_str!("../../catalogue/zeebe-cluster.yaml"),
        ),
    })
}

/// The case body, with the cluster's shape checked: at least one broker, at
/// most one gateway, a gateway when zbctl runs.
fn parse(case: &Case) -> Result<CaseBody, HarnessError> {
    let body: CaseBody = super::parse_body(case, file!())?;
    let gateways = body
        .nodes
        .iter()
        .filter(|(name, n)| n.role_of(name) == NodeRole::Gateway)
        .count();
    let brokers = body.nodes.len() - gateways;
    if brokers == 0 || gateways > 1 || (body.client.zbctl && gateways == 0) {
        return Err(HarnessError::invalid(
            case.source.display().to_string(),
            format!("{}: nodes", case.id),
            format!("{brokers} broker(s) and {gateways} gateway(s)"),
            "list at least one broker and at most one gateway (zbctl needs the gateway)",
        ));
    }
    Ok(body)
}

impl AreaSpec for ZeebeClusterArea {
    type Body = CaseBody;
    const SCHEMA: &'static str = file!();

    fn parse(&self, case: &Case) -> Result<CaseBody, HarnessError> {
        parse(case)
    }

    fn name(&self) -> &'static str {
        "zeebe-cluster"
    }

    fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    fn check(&self, _case: &Case, body: &CaseBody) -> Result<Vec<Requirement>, HarnessError> {
        let mut needs = Vec::new();
        if !body.openssl.is_empty() {
            needs.push(Requirement {
                peer: "openssl",
                locate: openssl::locate,
            });
        }
        if body.client.zbctl {
            needs.push(Requirement {
                peer: "zbctl",
                locate: zbctl::locate,
            });
        }
        if body.backend == ClusterBackend::Containers {
            needs.push(Requirement {
                peer: "docker",
                locate: crate::containers::locate_docker,
            });
        }
        Ok(needs)
    }

    /// Every case whose nodes can run on hosts of their own (no shared
    /// gossip port), with one container per node.
    fn on_containers(&self, case: &Case, body: &CaseBody) -> Option<Case> {
        if body.nodes.values().any(|n| n.gossip_port_of.is_some()) {
            return None;
        }
        let mut case = case.clone();
        case.body
            .edit(|tree| {
                tree.as_mapping_mut()
                    .map(|m| m.insert("backend".into(), "containers".into()))
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
            body.openssl.run(workdir).await?;
            openssl::concatenate(workdir, &body.concat)?;
            match body.backend {
                ClusterBackend::Embedded => run_cluster(case, body, workdir).await,
                ClusterBackend::Containers => run_across_hosts(body, workdir).await,
            }
        })
    }
}

/// A node that refused its configuration: the case's outcome, with its error
/// (classified by the catalogue, so that the entry and its fix are named).
fn refused(node: &str, error: &HarnessError, logs: Vec<String>) -> Observation {
    Observation {
        peer: "cluster".to_string(),
        stderr: format!("{node} did not start: {error}"),
        node_logs: logs,
        ..Observation::default()
    }
}

/// Reads one node's settings; a configuration Zeebe would refuse is an `Err`
/// carrying the refusal (an outcome), a harness problem is a `HarnessError`.
fn node_spec(
    source: &str,
    name: &str,
    node: &NodeBody,
    case_dir: &Path,
) -> Result<Result<NodeSpec, HarnessError>, HarnessError> {
    let workdir = match &node.workdir {
        Some(dir) => {
            crate::confine::inside(case_dir, dir, source, &format!("nodes.{name}.workdir"))?
        }
        None => case_dir.to_path_buf(),
    };
    std::fs::create_dir_all(&workdir).map_err(|e| HarnessError::write(&workdir, e))?;
    let props = match (&node.config_file, node.config.is_null()) {
        (Some(file), false) => {
            return Err(HarnessError::invalid(
                source,
                format!("nodes.{name}.config-file"),
                format!("both config and config-file ({file}) are given"),
                "keep one of them",
            ))
        }
        (Some(file), true) => {
            let path = crate::confine::inside(
                &workdir,
                file,
                source,
                &format!("nodes.{name}.config-file"),
            )?;
            let text = match crate::input::read(&path) {
                Ok(text) => text,
                Err(e) => return Ok(Err(e)),
            };
            Properties::from_yaml(file, &text, node.env.clone())
        }
        (None, _) => {
            Properties::from_value(&format!("{name} (config)"), &node.config, node.env.clone())
        }
    };
    Ok(props
        .and_then(|props| NodeSettings::from_properties(name, node.role_of(name), &props, &workdir))
        .map(|settings| NodeSpec {
            settings,
            gossip_port_of: node.gossip_port_of.clone(),
        }))
}

/// The nodes in start order: brokers in name order (their node ids), then the
/// gateway; in process and across hosts alike.
fn start_order(nodes: &BTreeMap<String, NodeBody>) -> Vec<(&String, &NodeBody)> {
    let mut ordered: Vec<(&String, &NodeBody)> = nodes.iter().collect();
    ordered.sort_by_key(|(name, node)| (node.role_of(name) == NodeRole::Gateway, name.as_str()));
    ordered
}

/// Every node's spec, brokers first (node ids in name order), the gateway
/// last; `Err((node, refusal))` for the first node whose configuration Zeebe
/// would refuse.
type Specs = Result<Vec<NodeSpec>, (String, HarnessError)>;

fn node_specs(
    source: &str,
    nodes: &BTreeMap<String, NodeBody>,
    dir: &Path,
) -> Result<Specs, HarnessError> {
    let ordered = start_order(nodes);
    let mut specs = Vec::new();
    for (name, node) in ordered {
        match node_spec(source, name, node, dir)? {
            Ok(spec) => specs.push(spec),
            Err(e) => return Ok(Err((name.clone(), e))),
        }
    }
    Ok(Ok(specs))
}

async fn run_cluster(
    case: &Case,
    body: &CaseBody,
    case_dir: &Path,
) -> Result<Observation, HarnessError> {
    let source = format!("{}: {}", case.source.display(), case.id);
    let mut specs = match node_specs(&source, &body.nodes, case_dir)? {
        Ok(specs) => specs,
        Err((node, e)) => return Ok(refused(&node, &e, Vec::new())),
    };
    let runtime = crate::version::ProductRuntime::of(case.version.as_deref());
    for spec in &mut specs {
        spec.settings.runtime = runtime;
    }
    let cluster = match Cluster::start(&specs).await? {
        ClusterStart::Ready(cluster) => cluster,
        ClusterStart::NodeFailed(failure) => {
            return Ok(refused(&failure.node, &failure.error, failure.logs))
        }
    };
    let formation = cluster.form().await;
    let mut obs = observe(
        body,
        case_dir,
        formation.report(),
        formation.is_formed(),
        formation.brokers,
        cluster.gateway_address().map(|a| a.to_string()),
    )
    .await?;
    obs.node_logs = cluster.logs();
    cluster.shutdown().await;
    Ok(obs)
}

/// The case with one container per node: the same observation, read from
/// the gateway's own formation report (or the last broker's).
async fn run_across_hosts(body: &CaseBody, case_dir: &Path) -> Result<Observation, HarnessError> {
    use crate::containers::{ClusterAcrossHosts, ReferenceImage};
    let file = ClusterFile {
        openssl: body.openssl.clone(),
        concat: body.concat.clone(),
        nodes: body.nodes.clone(),
    };
    let launches = file.members(case_dir)?;
    let image = ReferenceImage::get().await?;
    let cluster = match image.start_members(case_dir, launches).await? {
        ClusterAcrossHosts::Ready(cluster) => cluster,
        ClusterAcrossHosts::Refused { node, text } => {
            return Ok(Observation {
                peer: "cluster".to_string(),
                stderr: format!("{node} did not start: {text}"),
                ..Observation::default()
            })
        }
    };
    let result = async {
        let (report, formed) = cluster.formation(CLIENT_DEADLINE).await?;
        let brokers = body
            .nodes
            .iter()
            .filter(|(name, n)| n.role_of(name) == NodeRole::Broker)
            .count() as u32;
        let gateway = cluster.gateway_port().map(|p| format!("127.0.0.1:{p}"));
        observe(body, case_dir, report, formed, brokers, gateway).await
    }
    .await;
    let logs: Vec<String> = cluster
        .nodes()
        .flat_map(|(name, node)| {
            node.log_lines()
                .into_iter()
                .map(move |line| format!("[{name}] {line}"))
        })
        .collect();
    cluster.stop().await;
    let mut obs = result?;
    obs.node_logs = logs;
    Ok(obs)
}

/// The observation of a formed or partial cluster: with zbctl, also its
/// status through the gateway at `gateway`.
async fn observe(
    body: &CaseBody,
    case_dir: &Path,
    mut report: String,
    formed: bool,
    brokers: u32,
    gateway: Option<String>,
) -> Result<Observation, HarnessError> {
    let mut obs = Observation {
        peer: "cluster-probe".to_string(),
        ..Observation::default()
    };
    let mut zbctl_ok = true;
    if let (true, Some(address)) = (body.client.zbctl, gateway) {
        let config = ZeebeClientConfig {
            address,
            plaintext: true,
            ca_path: None,
            env: EnvMap::new(),
            workdir: case_dir.to_path_buf(),
            deadline: CLIENT_DEADLINE,
        };
        let status = zbctl::status(&config).await?;
        report.push_str("\n--- zbctl status (through the gateway) ---\n");
        report.push_str(status.stdout.trim_end());
        if !status.stderr.trim().is_empty() {
            report.push('\n');
            report.push_str(status.stderr.trim_end());
        }
        zbctl_ok = status.connected_brokers == Some(brokers);
        obs.peer = format!("cluster-probe + {}", status.peer);
        obs.command = status.command;
        obs.exit_code = status.exit_code;
    }
    // A formed cluster is established here; a partial one is classified by the
    // catalogue from the report (the failing links), which names the entry.
    if formed && zbctl_ok {
        obs.direct = Some(Outcome::Connected { brokers });
        obs.stdout = report;
    } else {
        obs.stderr = report;
    }
    Ok(obs)
}
