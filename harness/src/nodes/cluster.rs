//! A reference Zeebe-like cluster: brokers and an optional standalone gateway,
//! each with a UDP gossip endpoint (always plaintext) and a TCP messaging
//! endpoint (TLS 1.3 when the node's security is enabled). [`Cluster`] runs
//! every node in process; [`ClusterMember`] runs one node on its own, joining
//! the others by contact points (a cluster across hosts, e.g. one container
//! per node). Both form through the same steps (`cluster/formation.rs`).
//!
//! Formation: members find each other by gossip; every broker sends a request
//! over messaging to every other broker; a partition (one per broker, each
//! replicated on every broker) has a leader when a majority of its replicas are
//! mutually reachable. The gateway learns the topology from gossip (so
//! `zbctl status` lists brokers even when messaging fails, as with Zeebe) and
//! sends requests to every broker over messaging. A TLS mismatch therefore shows
//! as in Zeebe: members visible, requests failing, the failing handshake in the
//! node logs.
//!
//! In process, every port comes from binding `127.0.0.1:0`; every wait has a
//! deadline.

pub mod file;
mod formation;
mod gossip;
mod jvm_trust;
mod member;
mod messaging;
mod settings;
mod tls;
pub mod trust;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::watch;

pub use file::{node_spec, node_specs, start_order, ClusterFile, MemberLaunch, NodeBody};
pub use formation::{Formation, Link, PartitionState};
pub use gossip::{Contact, GossippedReport, Member, PartitionRole};
pub use jvm_trust::JvmTrustStore;
pub use member::{ClusterMember, MemberSettings, INTERNAL_PORT, JOIN_DEADLINE};
pub use messaging::{java_hash, LinkError, CLUSTER_NAME};
pub use settings::{env_var, ClusterSecurity, ConfiguredPath, NodeRole, NodeSettings};

use self::formation::{Expect, FormingNode, SETTLE_DEADLINE};
use self::gossip::Gossip;
use self::tls::NodeTls;
use super::gateway::{GatewayNode, TopologySource};
use super::log::NodeLog;
use super::stack::{prefixed, NodeStack, RunningNode, StopFuture};
use super::tasks::NodeTasks;
use crate::config::zeebe::GatewaySettings;
use crate::error::HarnessError;
use crate::process::{Refusal, Started};
use crate::proto::{partition, BrokerInfo, Partition, TopologyResponse};

/// How long gossip may take to converge, in process.
const GOSSIP_DEADLINE: Duration = Duration::from_secs(5);

/// One node to start.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    /// Its settings.
    pub(crate) settings: NodeSettings,
    /// Bind the gossip endpoint to the port another (earlier) node already
    /// uses: a port collision, on purpose.
    pub(crate) gossip_port_of: Option<String>,
}

impl NodeSpec {
    /// A node started with `settings`.
    pub fn new(settings: NodeSettings) -> Self {
        Self {
            settings,
            gossip_port_of: None,
        }
    }

    /// The same node binding its gossip endpoint to the port `node` (an
    /// earlier node) already uses: a port collision, on purpose.
    pub fn with_gossip_port_of(mut self, node: impl Into<String>) -> Self {
        self.gossip_port_of = Some(node.into());
        self
    }

    /// Its settings.
    pub fn settings(&self) -> &NodeSettings {
        &self.settings
    }

    /// The node whose gossip port this one binds, if any.
    pub fn gossip_port_of(&self) -> Option<&str> {
        self.gossip_port_of.as_deref()
    }
}

/// Where one running node listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeAddresses {
    /// The node's name.
    pub name: String,
    /// Broker or gateway.
    pub role: NodeRole,
    /// A broker's node id.
    pub node_id: Option<u32>,
    /// The messaging (TCP) address.
    pub messaging: SocketAddr,
    /// True when messaging uses TLS.
    pub tls: bool,
    /// The gossip (UDP) address.
    pub gossip: SocketAddr,
    /// A gateway's client-facing gRPC address.
    pub grpc: Option<SocketAddr>,
    /// True when that address serves TLS.
    pub grpc_tls: bool,
}

impl std::fmt::Display for NodeAddresses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}", self.name, self.role.label())?;
        if let Some(id) = self.node_id {
            write!(f, " {id}")?;
        }
        write!(
            f,
            "): messaging {} ({}), gossip {} (UDP, plaintext)",
            self.messaging,
            if self.tls { "TLS 1.3" } else { "plaintext" },
            self.gossip
        )?;
        if let Some(grpc) = self.grpc {
            let security = if self.grpc_tls { "TLS" } else { "plaintext" };
            write!(f, ", gRPC {grpc} ({security})")?;
        }
        Ok(())
    }
}

struct InProcessNode {
    name: String,
    role: NodeRole,
    log: NodeLog,
    startup_lines: usize,
    gossip: Gossip,
    gossip_addr: SocketAddr,
    tls: Option<NodeTls>,
    gateway: Option<GatewayNode>,
    /// Gossip and the messaging server: dropping the node stops them.
    _tasks: NodeTasks,
}

impl InProcessNode {
    fn addresses(&self) -> NodeAddresses {
        let me = self.gossip.me();
        NodeAddresses {
            name: self.name.clone(),
            role: self.role,
            node_id: me.as_ref().and_then(|m| m.node_id),
            messaging: me.as_ref().map_or(self.gossip_addr, |m| m.messaging),
            tls: self.tls.is_some(),
            gossip: self.gossip_addr,
            grpc: self.gateway.as_ref().map(GatewayNode::address),
            grpc_tls: self.gateway.as_ref().is_some_and(GatewayNode::is_tls),
        }
    }

    fn forming(&self) -> FormingNode {
        FormingNode {
            name: self.name.clone(),
            role: self.role,
            gossip: self.gossip.clone(),
            log: self.log.clone(),
            tls: self.tls.clone(),
        }
    }
}

impl InProcessNode {
    /// Its log lines: the startup lines in order, then the lines logged
    /// later sorted (connections run concurrently, so their order varies
    /// between runs).
    fn ordered_lines(&self) -> Vec<String> {
        let lines = self.log.lines();
        let split = self.startup_lines.min(lines.len());
        let (startup, later) = lines.split_at(split);
        let mut later = later.to_vec();
        later.sort();
        let mut out = startup.to_vec();
        out.extend(later);
        out
    }
}

impl RunningNode for InProcessNode {
    fn name(&self) -> &str {
        &self.name
    }

    fn address(&self) -> Option<SocketAddr> {
        let addresses = self.addresses();
        Some(addresses.grpc.unwrap_or(addresses.messaging))
    }

    /// Its log lines as they are now; then its gateway stops (bounded) and
    /// the rest of it when dropped.
    fn stop(mut self: Box<Self>) -> StopFuture {
        Box::pin(async move {
            let lines = self.ordered_lines();
            if let Some(gateway) = self.gateway.take() {
                gateway.shutdown().await;
            }
            lines
        })
    }
}

/// A running cluster. Dropping it stops every node.
pub struct Cluster {
    nodes: NodeStack<InProcessNode>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field(
                "nodes",
                &self
                    .nodes
                    .nodes()
                    .iter()
                    .map(|n| n.name.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// The topology a gateway answers with: the brokers its gossip knows, the
/// cluster size the brokers were configured with.
fn topology_of(gossip: &Gossip) -> TopologyResponse {
    let members = gossip.members();
    let brokers = members.values().find_map(|m| m.cluster_size).unwrap_or(0);
    let mut brokers_seen: Vec<&Member> = members
        .values()
        .filter(|m| m.role == NodeRole::Broker)
        .collect();
    brokers_seen.sort_by_key(|m| m.node_id);
    let partitions = brokers.max(1);
    TopologyResponse {
        brokers: brokers_seen
            .iter()
            .map(|m| BrokerInfo {
                node_id: m.node_id.unwrap_or_default() as i32,
                host: m.messaging.ip().to_string(),
                port: i32::from(m.messaging.port()),
                partitions: m
                    .partitions
                    .iter()
                    .map(|(id, role)| {
                        let (role, health) = match role {
                            PartitionRole::Leader => (
                                partition::PartitionBrokerRole::Leader,
                                partition::PartitionBrokerHealth::Healthy,
                            ),
                            PartitionRole::Follower => (
                                partition::PartitionBrokerRole::Follower,
                                partition::PartitionBrokerHealth::Healthy,
                            ),
                            PartitionRole::Inactive => (
                                partition::PartitionBrokerRole::Inactive,
                                partition::PartitionBrokerHealth::Unhealthy,
                            ),
                        };
                        Partition {
                            partition_id: *id as i32,
                            role: role as i32,
                            health: health as i32,
                        }
                    })
                    .collect(),
                version: super::gateway::ZEEBE_VERSION.to_string(),
            })
            .collect(),
        cluster_size: brokers as i32,
        partitions_count: partitions as i32,
        replication_factor: brokers as i32,
        gateway_version: super::gateway::ZEEBE_VERSION.to_string(),
    }
}

impl Cluster {
    /// Starts the nodes in order (brokers get node ids 0, 1, ... in order). A
    /// node whose configuration Zeebe would refuse refuses the whole start:
    /// the nodes before it stop, and the refusal carries that node's error
    /// and every node's log lines (`[node] line`) up to it.
    pub async fn start(specs: &[NodeSpec]) -> Result<Started<Cluster>, HarnessError> {
        let brokers = specs
            .iter()
            .filter(|s| s.settings.role == NodeRole::Broker)
            .count() as u32;
        let mut nodes: NodeStack<InProcessNode> = NodeStack::new();
        let mut next_id = 0;
        // Every cluster in process is its own, whatever ports it reuses.
        static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let cluster = format!(
            "{CLUSTER_NAME}/{}/{}",
            std::process::id(),
            STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        for spec in specs {
            let settings = &spec.settings;
            let node_id = (settings.role == NodeRole::Broker).then(|| {
                next_id += 1;
                next_id - 1
            });
            let gossip = match &spec.gossip_port_of {
                None => loopback,
                Some(other) => match nodes.nodes().iter().find(|n| &n.name == other) {
                    Some(n) => n.gossip_addr,
                    None => {
                        return Err(HarnessError::invalid(
                            &settings.source,
                            "gossip-port-of",
                            format!("no node named {other:?} starts before {}", settings.name),
                            "name a node listed earlier",
                        ))
                    }
                },
            };
            let placement = Placement {
                messaging: loopback,
                gossip: Some(gossip),
                advertised: None,
                contacts: nodes
                    .nodes()
                    .iter()
                    .map(|n| Contact::Address(n.gossip_addr))
                    .collect(),
                grpc: GatewaySettings::plaintext(),
                cluster: cluster.clone(),
            };
            let started = start_node(settings, node_id, brokers, placement)
                .await?
                .map_refusal(|r| {
                    let line = format!(
                        "ERROR failed to start {}: {}",
                        settings.role.label(),
                        r.message
                    );
                    r.with_logs(vec![line])
                });
            if let Err(refusal) = nodes.push(started).await {
                return Ok(Started::Refused(refusal));
            }
        }
        Ok(Started::Ready(Cluster { nodes }))
    }

    /// Every node's addresses, in start order.
    pub fn addresses(&self) -> Vec<NodeAddresses> {
        self.nodes
            .nodes()
            .iter()
            .map(InProcessNode::addresses)
            .collect()
    }

    /// The client (gRPC) address of the standalone gateway, if there is one.
    pub fn gateway_address(&self) -> Option<SocketAddr> {
        self.nodes
            .nodes()
            .iter()
            .find_map(|n| n.gateway.as_ref().map(GatewayNode::address))
    }

    /// Every node's log, `[node] line`, node by node: the startup lines in
    /// order, then the lines logged later sorted (connections run concurrently,
    /// so their order varies between runs).
    pub fn logs(&self) -> Vec<String> {
        self.nodes
            .nodes()
            .iter()
            .flat_map(|node| prefixed(&node.name, node.ordered_lines()))
            .collect()
    }

    /// Forms the cluster: every node runs the formation steps at once,
    /// expecting every node started (each wait bounded); the formation is
    /// then read from the first node's gossip view, once it holds every
    /// node's report (bounded).
    pub async fn form(&self) -> Formation {
        let nodes = self.nodes.nodes();
        let total = nodes.len();
        let deadline = tokio::time::Instant::now() + GOSSIP_DEADLINE;
        let mut forming = tokio::task::JoinSet::new();
        for node in nodes {
            forming.spawn(formation::form_node(
                node.forming(),
                Expect::Members(total),
                deadline,
            ));
        }
        forming.join_all().await;
        for node in nodes {
            node.log.settle(SETTLE_DEADLINE).await;
        }
        let Some(first) = nodes.first() else {
            return Formation::from_view(&BTreeMap::new(), &[]);
        };
        first
            .gossip
            .wait_until(deadline, |view| {
                view.len() == total && view.values().all(|m| m.report.is_some())
            })
            .await;
        let order: Vec<String> = nodes.iter().map(|n| n.name.clone()).collect();
        Formation::from_view(&first.gossip.members(), &order)
    }

    /// Stops every node, the last started first, and waits for the
    /// gateways to stop (bounded).
    pub async fn shutdown(self) {
        self.nodes.stop().await;
    }
}

/// Where a node binds and whom it contacts.
#[derive(Debug, Clone)]
struct Placement {
    /// The messaging (TCP) bind address.
    messaging: SocketAddr,
    /// The gossip (UDP) bind address; `None`: the messaging address and port,
    /// as Zeebe's internal API shares one port between TCP and UDP.
    gossip: Option<SocketAddr>,
    /// The address advertised to the others; `None`: the bound one.
    advertised: Option<std::net::IpAddr>,
    /// Gossip contact points.
    contacts: Vec<Contact>,
    /// The cluster's name: gossip from another cluster is ignored.
    cluster: String,
    /// The client-facing gRPC settings of a gateway.
    grpc: GatewaySettings,
}

/// A node's port taken or its address unusable: a refusal naming the port's
/// key and variable.
fn bind_refusal(
    settings: &NodeSettings,
    what: &str,
    addr: SocketAddr,
    e: std::io::Error,
) -> HarnessError {
    let port_key = match settings.role {
        NodeRole::Broker => "zeebe.broker.network.internalApi.port",
        NodeRole::Gateway => "zeebe.gateway.cluster.port",
    };
    HarnessError::invalid(
        &settings.source,
        port_key,
        format!("cannot bind the {what} endpoint to {addr}: {e}"),
        format!(
            "give every node on the host its own port ({port_key} / {})",
            env_var(port_key)
        ),
    )
}

/// Starts one node. The error is the harness's; a refusal is the node
/// refusing its configuration (its error naming the file, key and fix).
async fn start_node(
    settings: &NodeSettings,
    node_id: Option<u32>,
    cluster_size: u32,
    placement: Placement,
) -> Result<Started<InProcessNode>, HarnessError> {
    let refused = |e: HarnessError| Ok(Started::Refused(Refusal::of_error(&settings.name, e)));
    let tls = match tls::load(settings).await {
        Ok(tls) => tls,
        Err(e) => return refused(e),
    };
    let bind_error =
        |what: &str, addr: SocketAddr, e: std::io::Error| bind_refusal(settings, what, addr, e);
    let listener = match TcpListener::bind(placement.messaging).await {
        Ok(listener) => listener,
        Err(e) => return refused(bind_error("messaging (TCP)", placement.messaging, e)),
    };
    let messaging_bound = listener
        .local_addr()
        .map_err(|e| HarnessError::start_failed(&settings.name, e))?;
    let gossip_bind = placement.gossip.unwrap_or(messaging_bound);
    let socket = match UdpSocket::bind(gossip_bind).await {
        Ok(socket) => socket,
        Err(e) => return refused(bind_error("gossip (UDP)", gossip_bind, e)),
    };
    let gossip_bound = socket
        .local_addr()
        .map_err(|e| HarnessError::start_failed(&settings.name, e))?;
    let advertise = |bound: SocketAddr| match placement.advertised {
        Some(ip) => SocketAddr::new(ip, bound.port()),
        None => bound,
    };
    let (messaging, gossip_addr) = (advertise(messaging_bound), advertise(gossip_bound));
    let log = NodeLog::new(&settings.name);
    let (stop, stop_rx) = watch::channel(false);
    // source: NettyMessagingService.start.
    log.line(format!(
        "Started messaging service bound to [{messaging_bound}], advertising {messaging}, and using {}",
        if tls.is_some() { "TLS" } else { "plaintext" }
    ));
    let (uses_tls, cannot_serve) = formation::tls_facts(tls.as_ref());
    let me = Member {
        name: settings.name.clone(),
        role: settings.role,
        node_id,
        messaging,
        gossip: gossip_addr,
        partitions: BTreeMap::new(),
        version: 0,
        tls: uses_tls,
        cluster_size: (settings.role == NodeRole::Broker).then_some(cluster_size),
        report: None,
        cannot_serve,
    };
    let (gossip, gossip_task) =
        Gossip::start(socket, placement.cluster, me, placement.contacts, stop_rx);
    // Dropping the node (its `NodeTasks`) stops gossip and messaging.
    let mut tasks = NodeTasks::new(stop, vec![gossip_task]);
    messaging::serve(
        &mut tasks,
        listener,
        tls.clone(),
        settings.name.clone(),
        log.clone(),
    );
    let gateway = match settings.role {
        NodeRole::Broker => None,
        NodeRole::Gateway => {
            let view = gossip.clone();
            let source: TopologySource = Arc::new(move || topology_of(&view));
            match GatewayNode::start_with_topology(&placement.grpc, source).await {
                Ok(gateway) => Some(gateway),
                // Its client-facing settings refused, or its port taken.
                Err(e) => return refused(e),
            }
        }
    };
    let startup_lines = log.lines().len();
    Ok(Started::Ready(InProcessNode {
        name: settings.name.clone(),
        role: settings.role,
        log,
        startup_lines,
        gossip,
        gossip_addr,
        tls,
        gateway,
        _tasks: tasks,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{CertSpec, PkiSpec};

    fn tls_node(name: &str, role: NodeRole, dir: &std::path::Path) -> NodeSpec {
        NodeSpec {
            settings: NodeSettings {
                name: name.to_string(),
                role,
                security: ClusterSecurity {
                    enabled: true,
                    certificate_chain_path: Some(ConfiguredPath {
                        raw: format!("{name}-chain.pem"),
                        resolved: dir.join(format!("{name}-chain.pem")),
                    }),
                    private_key_path: Some(ConfiguredPath {
                        raw: format!("{name}.key"),
                        resolved: dir.join(format!("{name}.key")),
                    }),
                    ..Default::default()
                },
                workdir: dir.to_path_buf(),
                runtime: crate::version::ProductRuntime::default(),
                source: "test".to_string(),
                jvm_trust_store: None,
            },
            gossip_port_of: None,
        }
    }

    /// Three brokers and a gateway, each with its own leaf under one CA, form;
    /// prints the start-to-ready time (start + formation).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn three_brokers_and_gateway_form_over_tls() {
        let dir = tempfile::tempdir().unwrap();
        let names = ["broker-0", "broker-1", "broker-2", "gateway"];
        let mut spec = PkiSpec::new().with("ca", CertSpec::root());
        for name in names {
            spec = spec.with(name, CertSpec::leaf("ca"));
        }
        spec.build().unwrap().write_to(dir.path()).unwrap();
        let specs: Vec<NodeSpec> = names
            .iter()
            .map(|n| {
                let role = if *n == "gateway" {
                    NodeRole::Gateway
                } else {
                    NodeRole::Broker
                };
                tls_node(n, role, dir.path())
            })
            .collect();
        let started = std::time::Instant::now();
        let Started::Ready(cluster) = Cluster::start(&specs).await.unwrap() else {
            panic!("a node did not start");
        };
        let formation = cluster.form().await;
        let ready = started.elapsed();
        eprintln!("start-to-ready: {} ms", ready.as_millis());
        assert!(formation.is_formed(), "{}", formation.report());
        assert_eq!(formation.links.len(), 9);
        assert!(cluster.gateway_address().is_some());
        cluster.shutdown().await;
    }
}
