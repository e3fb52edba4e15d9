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

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use serde::Deserialize;

use super::{Area, AreaSpec, BoxFuture, Requirement};
use crate::catalogue::Catalogue;
use crate::config::EnvMap;
use crate::error::HarnessError;
use crate::nodes::cluster::{node_specs, Cluster, ClusterFile, NodeBody, NodeRole};
use crate::nodes::{prefixed, Refusal, Started};
use crate::outcome::Outcome;
use crate::peers::{zbctl, Observation, ZeebeClientConfig};
use crate::pki::cluster_recipe::{self, Recipe};
use crate::pki::Materialized;
use crate::scenario::Case;

/// How long the zbctl call may take.
pub const CLIENT_DEADLINE: Duration = Duration::from_secs(10);

/// The case body of this area.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CaseBody {
    /// Certificates made with the documented openssl commands.
    #[serde(default)]
    pub(crate) openssl: Recipe,
    /// Files made by concatenating others (`out: [part, ...]`).
    #[serde(default)]
    pub(crate) concat: BTreeMap<String, Vec<String>>,
    /// The nodes, by name.
    pub(crate) nodes: BTreeMap<String, NodeBody>,
    /// The client.
    #[serde(default)]
    pub(crate) client: ClientBody,
    /// Where the nodes run (set by `tlsmatrix run --backend containers`).
    #[serde(default)]
    pub(crate) backend: ClusterBackend,
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

/// The client part of a case.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ClientBody {
    /// Run the real `zbctl status` against the standalone gateway.
    #[serde(default)]
    pub(crate) zbctl: bool,
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
                locate: cluster_recipe::locate,
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
            cluster_recipe::concatenate(workdir, &body.concat)?;
            match body.backend {
                ClusterBackend::Embedded => run_cluster(case, body, workdir).await,
                ClusterBackend::Containers => run_across_hosts(body, workdir).await,
            }
        })
    }
}

/// A node that refused its configuration: the case's outcome, with its error
/// (classified by the catalogue, so that the entry and its fix are named)
/// after the node's name, and the logs collected up to it.
fn refused(refusal: Refusal) -> Observation {
    let message = refusal.did_not_start();
    super::refused("cluster", Refusal { message, ..refusal })
}

async fn run_cluster(
    case: &Case,
    body: &CaseBody,
    case_dir: &Path,
) -> Result<Observation, HarnessError> {
    let source = format!("{}: {}", case.source.display(), case.id);
    let mut specs = match node_specs(&source, &body.nodes, case_dir)? {
        Ok(specs) => specs,
        Err(r) => return Ok(refused(r)),
    };
    let runtime = crate::version::ProductRuntime::of(case.version.as_deref());
    for spec in &mut specs {
        spec.settings.runtime = runtime;
    }
    let cluster = match Cluster::start(&specs).await? {
        Started::Ready(cluster) => cluster,
        Started::Refused(r) => return Ok(refused(r)),
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
    use crate::containers::ReferenceImage;
    let file = ClusterFile {
        openssl: body.openssl.clone(),
        concat: body.concat.clone(),
        nodes: body.nodes.clone(),
    };
    let launches = file.members(case_dir)?;
    let image = ReferenceImage::get().await?;
    let cluster = match image.start_members(case_dir, launches).await? {
        Started::Ready(cluster) => cluster,
        // The containers started before it are not part of the case's logs.
        Started::Refused(r) => return Ok(refused(r.with_logs(Vec::new()))),
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
        .flat_map(|(name, node)| prefixed(name, node.log_lines()))
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
