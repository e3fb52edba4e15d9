//! A reference Zeebe-like cluster, in process: brokers and an optional
//! standalone gateway, each with a UDP gossip endpoint (always plaintext) and a
//! TCP messaging endpoint (TLS 1.3 when the node's security is enabled).
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
//! Every port comes from binding `127.0.0.1:0`; every wait has a deadline.

mod gossip;
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

pub use gossip::{Member, PartitionRole};
pub use messaging::{java_hash, LinkError, CLUSTER_NAME};
pub use settings::{env_var, ClusterSecurity, ConfiguredPath, NodeRole, NodeSettings};

use self::gossip::Gossip;
use self::messaging::Request;
use self::tls::NodeTls;
use super::gateway::{GatewayNode, TopologySource};
use super::log::NodeLog;
use crate::config::zeebe::GatewaySettings;
use crate::error::HarnessError;
use crate::proto::{partition, BrokerInfo, Partition, TopologyResponse};

/// How long one messaging request may take.
const REQUEST_DEADLINE: Duration = Duration::from_secs(3);
/// How long gossip may take to converge.
const GOSSIP_DEADLINE: Duration = Duration::from_secs(5);
/// How long nodes may take to finish logging a failed handshake.
const SETTLE_DEADLINE: Duration = Duration::from_secs(2);

/// One node to start.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    /// Its settings.
    pub settings: NodeSettings,
    /// Bind the gossip endpoint to the port another (earlier) node already
    /// uses: a port collision, on purpose.
    pub gossip_port_of: Option<String>,
}

/// A node that refused to start.
#[derive(Debug)]
pub struct StartFailure {
    /// The node's name.
    pub node: String,
    /// Why, naming the file, key and fix.
    pub error: HarnessError,
    /// The log lines of every node up to the failure (`[node] line`).
    pub logs: Vec<String>,
}

/// The result of starting a cluster.
#[derive(Debug)]
pub enum ClusterStart {
    /// Every node started.
    Ready(Cluster),
    /// A node refused to start; the nodes started before it are stopped.
    NodeFailed(StartFailure),
}

/// One node-to-node messaging request and its result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The dialling node.
    pub from: String,
    /// The node dialled.
    pub to: String,
    /// `Ok` or why it failed.
    pub result: Result<(), LinkError>,
}

/// A partition's state after formation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionState {
    /// Partition id, from 1.
    pub id: u32,
    /// The leader, when a majority of replicas is mutually reachable.
    pub leader: Option<String>,
    /// The other replicas in the majority.
    pub followers: Vec<String>,
}

/// What formation found.
#[derive(Debug, Clone)]
pub struct Formation {
    /// Brokers in the cluster.
    pub brokers: u32,
    /// For each node, the members its gossip knows.
    pub gossip: BTreeMap<String, Vec<String>>,
    /// Every request made, in a stable order.
    pub links: Vec<Link>,
    /// Every partition.
    pub partitions: Vec<PartitionState>,
    /// For each node, its role and whether its messaging uses TLS.
    pub tls: BTreeMap<String, (NodeRole, bool)>,
    /// Nodes that started but fail every handshake they serve, and why.
    pub cannot_serve: BTreeMap<String, String>,
}

impl Formation {
    /// True when every request succeeded and every partition has a leader.
    pub fn is_formed(&self) -> bool {
        self.links.iter().all(|l| l.result.is_ok())
            && self.partitions.iter().all(|p| p.leader.is_some())
    }

    /// When some nodes use TLS and others do not: which, and the fix (cluster
    /// TLS is all or nothing).
    pub fn mixed_tls(&self) -> Option<String> {
        let (on, off): (Vec<_>, Vec<_>) = self.tls.iter().partition(|(_, (_, tls))| *tls);
        if on.is_empty() || off.is_empty() {
            return None;
        }
        let names = |nodes: &[(&String, &(NodeRole, bool))]| {
            nodes
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        // The fix names the smaller side's settings.
        let (fewer, value) = if off.len() <= on.len() {
            (&off, "true")
        } else {
            (&on, "false")
        };
        let mut keys: Vec<String> = fewer
            .iter()
            .map(|(_, (role, _))| format!("{}.enabled", role.security_prefix()))
            .collect();
        keys.sort();
        keys.dedup();
        let keys = keys
            .iter()
            .map(|k| format!("{k}: {value} (or {}={value})", env_var(k)))
            .collect::<Vec<_>>()
            .join("; ");
        Some(format!(
            "diagnosis: TLS is enabled on {} and disabled on {}; cluster TLS is all or nothing; fix: on {} set {keys}",
            names(&on),
            names(&off),
            names(fewer)
        ))
    }

    /// The failing links.
    pub fn failing(&self) -> impl Iterator<Item = &Link> {
        self.links.iter().filter(|l| l.result.is_err())
    }

    /// A stable, human-readable report.
    pub fn report(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "cluster: {} broker(s), {} partition(s), replication factor {}",
            self.brokers,
            self.partitions.len(),
            self.brokers
        );
        let _ = writeln!(out, "gossip (UDP, plaintext):");
        for (node, members) in &self.gossip {
            let _ = writeln!(out, "  {node} sees {}", members.join(", "));
        }
        let _ = writeln!(out, "messaging (TCP):");
        for link in &self.links {
            match &link.result {
                Ok(()) => {
                    let _ = writeln!(out, "  {} -> {}: ok", link.from, link.to);
                }
                Err(e) => {
                    let _ = writeln!(out, "  {} -> {}: FAILED: {}", link.from, link.to, e.detail);
                }
            }
        }
        let _ = writeln!(out, "partitions:");
        for p in &self.partitions {
            match &p.leader {
                Some(leader) => {
                    let _ = writeln!(
                        out,
                        "  {}: leader {leader}; followers {}",
                        p.id,
                        if p.followers.is_empty() {
                            "-".to_string()
                        } else {
                            p.followers.join(", ")
                        }
                    );
                }
                None => {
                    let _ = writeln!(
                        out,
                        "  {}: no leader (no majority of replicas reach each other)",
                        p.id
                    );
                }
            }
        }
        if let Some(diagnosis) = self.mixed_tls() {
            let _ = writeln!(out, "{diagnosis}");
        }
        for why in self.cannot_serve.values() {
            let _ = writeln!(out, "diagnosis: {why}");
        }
        let failing = self.failing().count();
        if self.is_formed() {
            let _ = write!(out, "result: formed");
        } else {
            let _ = write!(
                out,
                "result: partial: {failing} of {} link(s) fail",
                self.links.len()
            );
        }
        out
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
    /// A gateway's client-facing gRPC address (plaintext).
    pub grpc: Option<SocketAddr>,
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
            write!(f, ", gRPC {grpc} (plaintext)")?;
        }
        Ok(())
    }
}

struct RunningNode {
    name: String,
    role: NodeRole,
    log: NodeLog,
    startup_lines: usize,
    gossip: Gossip,
    gossip_addr: SocketAddr,
    tls: Option<NodeTls>,
    gateway: Option<GatewayNode>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for RunningNode {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// A running cluster. Dropping it stops every node.
pub struct Cluster {
    nodes: Vec<RunningNode>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field(
                "nodes",
                &self
                    .nodes
                    .iter()
                    .map(|n| n.name.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

fn topology_of(gossip: &Gossip, brokers: u32) -> TopologyResponse {
    let members = gossip.members();
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

fn prefixed(name: &str, lines: impl IntoIterator<Item = String>) -> Vec<String> {
    lines.into_iter().map(|l| format!("[{name}] {l}")).collect()
}

impl Cluster {
    /// Starts the nodes in order (brokers get node ids 0, 1, ... in order). A
    /// node whose configuration Zeebe would refuse makes the whole start fail
    /// with that node's error.
    pub async fn start(specs: &[NodeSpec]) -> Result<ClusterStart, HarnessError> {
        let brokers = specs
            .iter()
            .filter(|s| s.settings.role == NodeRole::Broker)
            .count() as u32;
        let mut nodes: Vec<RunningNode> = Vec::new();
        let mut next_id = 0;
        for spec in specs {
            let node_id = (spec.settings.role == NodeRole::Broker).then(|| {
                next_id += 1;
                next_id - 1
            });
            match start_node(spec, node_id, brokers, &nodes).await? {
                Ok(node) => nodes.push(node),
                Err(error) => {
                    let mut logs = Cluster { nodes }.logs();
                    logs.push(format!(
                        "[{}] ERROR failed to start {}: {error}",
                        spec.settings.name,
                        spec.settings.role.label()
                    ));
                    return Ok(ClusterStart::NodeFailed(StartFailure {
                        node: spec.settings.name.clone(),
                        error,
                        logs,
                    }));
                }
            }
        }
        Ok(ClusterStart::Ready(Cluster { nodes }))
    }

    /// Every node's addresses, in start order.
    pub fn addresses(&self) -> Vec<NodeAddresses> {
        self.nodes
            .iter()
            .filter_map(|n| {
                let me = n.gossip.members().remove(&n.name)?;
                Some(NodeAddresses {
                    name: n.name.clone(),
                    role: n.role,
                    node_id: me.node_id,
                    messaging: me.messaging,
                    tls: n.tls.is_some(),
                    gossip: n.gossip_addr,
                    grpc: n.gateway.as_ref().map(GatewayNode::address),
                })
            })
            .collect()
    }

    /// The client (gRPC) address of the standalone gateway, if there is one.
    pub fn gateway_address(&self) -> Option<SocketAddr> {
        self.nodes
            .iter()
            .find_map(|n| n.gateway.as_ref().map(GatewayNode::address))
    }

    /// Every node's log, `[node] line`, node by node: the startup lines in
    /// order, then the lines logged later sorted (connections run concurrently,
    /// so their order varies between runs).
    pub fn logs(&self) -> Vec<String> {
        let mut out = Vec::new();
        for node in &self.nodes {
            let lines = node.log.lines();
            let split = node.startup_lines.min(lines.len());
            let (startup, later) = lines.split_at(split);
            let mut later = later.to_vec();
            later.sort();
            out.extend(prefixed(&node.name, startup.iter().cloned()));
            out.extend(prefixed(&node.name, later));
        }
        out
    }

    /// Waits for gossip to converge (bounded), sends the formation requests,
    /// elects partition leaders and gossips the partition roles.
    pub async fn form(&self) -> Formation {
        let total = self.nodes.len();
        let deadline = tokio::time::Instant::now() + GOSSIP_DEADLINE;
        for node in &self.nodes {
            node.gossip
                .wait_until(deadline, |members| members.len() == total)
                .await;
        }
        let gossip = self
            .nodes
            .iter()
            .map(|n| (n.name.clone(), n.gossip.members().into_keys().collect()))
            .collect();

        let brokers: Vec<&RunningNode> = self
            .nodes
            .iter()
            .filter(|n| n.role == NodeRole::Broker)
            .collect();
        let mut requests = tokio::task::JoinSet::new();
        let mut index = 0usize;
        for from in &self.nodes {
            let view = from.gossip.members();
            for to in &brokers {
                if from.name == to.name {
                    continue;
                }
                let subject = match from.role {
                    NodeRole::Broker => "raft-ping",
                    NodeRole::Gateway => "gateway-request",
                };
                let request = Request {
                    subject: subject.to_string(),
                    from: from.name.clone(),
                };
                let target = to.name.clone();
                let addr = view.get(&target).map(|m| m.messaging);
                let tls = from.tls.clone();
                let log = from.log.clone();
                let from_name = from.name.clone();
                let i = index;
                index += 1;
                requests.spawn(async move {
                    let result = match addr {
                        None => Err(LinkError {
                            detail: "not known by gossip".to_string(),
                            log_line: format!("no address known for {target}"),
                        }),
                        Some(addr) => messaging::request(
                            addr,
                            &target,
                            tls.as_ref(),
                            &request,
                            REQUEST_DEADLINE,
                        )
                        .await
                        .map(|_| ()),
                    };
                    if let Err(e) = &result {
                        log.line(format!("{} ({} to {target})", e.log_line, request.subject));
                    }
                    (
                        i,
                        Link {
                            from: from_name,
                            to: target,
                            result,
                        },
                    )
                });
            }
        }
        let mut links: Vec<(usize, Link)> = requests.join_all().await;
        links.sort_by_key(|(i, _)| *i);
        let links: Vec<Link> = links.into_iter().map(|(_, l)| l).collect();
        for node in &self.nodes {
            node.log.settle(SETTLE_DEADLINE).await;
        }

        let names: Vec<String> = brokers.iter().map(|b| b.name.clone()).collect();
        let majority = majority(&names, &links);
        let partitions: Vec<PartitionState> = (1..=names.len().max(1) as u32)
            .map(|id| match &majority {
                Some(group) => {
                    let leader = group[(id as usize - 1) % group.len()].clone();
                    PartitionState {
                        id,
                        followers: group.iter().filter(|n| **n != leader).cloned().collect(),
                        leader: Some(leader),
                    }
                }
                None => PartitionState {
                    id,
                    leader: None,
                    followers: Vec::new(),
                },
            })
            .collect();
        for broker in &brokers {
            let roles = partitions
                .iter()
                .map(|p| {
                    let role = if p.leader.as_deref() == Some(broker.name.as_str()) {
                        PartitionRole::Leader
                    } else if p.followers.contains(&broker.name) {
                        PartitionRole::Follower
                    } else {
                        PartitionRole::Inactive
                    };
                    (p.id, role)
                })
                .collect();
            broker.gossip.set_partitions(roles);
        }
        // Let the new roles reach every node's view (bounded).
        let deadline = tokio::time::Instant::now() + GOSSIP_DEADLINE;
        for node in &self.nodes {
            node.gossip
                .wait_until(deadline, |members| {
                    members
                        .values()
                        .filter(|m| m.role == NodeRole::Broker)
                        .all(|m| m.partitions.len() == partitions.len())
                })
                .await;
        }
        Formation {
            brokers: names.len() as u32,
            gossip,
            links,
            partitions,
            tls: self
                .nodes
                .iter()
                .map(|n| (n.name.clone(), (n.role, n.tls.is_some())))
                .collect(),
            cannot_serve: self
                .nodes
                .iter()
                .filter_map(|n| match n.tls.as_ref().map(|t| &t.server) {
                    Some(tls::ServerTls::Fails { diagnosis, .. }) => {
                        Some((n.name.clone(), diagnosis.clone()))
                    }
                    _ => None,
                })
                .collect(),
        }
    }

    /// Stops every node and waits for the gateways to stop (bounded).
    pub async fn shutdown(mut self) {
        for node in &mut self.nodes {
            if let Some(gateway) = node.gateway.take() {
                gateway.shutdown().await;
            }
        }
    }
}

/// The largest group of brokers in which every ordered pair reached each other
/// (ties: the group with the lowest names), when it is a majority.
fn majority(names: &[String], links: &[Link]) -> Option<Vec<String>> {
    let ok = |a: &str, b: &str| {
        links
            .iter()
            .any(|l| l.from == a && l.to == b && l.result.is_ok())
    };
    let n = names.len();
    let mut best: Option<Vec<String>> = None;
    for mask in 1u32..(1 << n.min(16)) {
        let group: Vec<String> = (0..n)
            .filter(|i| mask & (1 << i) != 0)
            .map(|i| names[i].clone())
            .collect();
        let connected = group
            .iter()
            .all(|a| group.iter().all(|b| a == b || ok(a, b)));
        let better = best
            .as_ref()
            .is_none_or(|b| group.len() > b.len() || (group.len() == b.len() && group < *b));
        if connected && better {
            best = Some(group);
        }
    }
    best.filter(|g| g.len() * 2 > n)
}

async fn start_node(
    spec: &NodeSpec,
    node_id: Option<u32>,
    brokers: u32,
    earlier: &[RunningNode],
) -> Result<Result<RunningNode, HarnessError>, HarnessError> {
    let settings = &spec.settings;
    let tls = match tls::load(settings) {
        Ok(tls) => tls,
        Err(e) => return Ok(Err(e)),
    };
    let gossip_bind: SocketAddr = match &spec.gossip_port_of {
        None => SocketAddr::from(([127, 0, 0, 1], 0)),
        Some(other) => match earlier.iter().find(|n| &n.name == other) {
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
    let port_key = match settings.role {
        NodeRole::Broker => "zeebe.broker.network.internalApi.port",
        NodeRole::Gateway => "zeebe.gateway.cluster.port",
    };
    let socket = match UdpSocket::bind(gossip_bind).await {
        Ok(socket) => socket,
        Err(e) => {
            return Ok(Err(HarnessError::invalid(
                &settings.source,
                port_key,
                format!("cannot bind the gossip (UDP) endpoint to {gossip_bind}: {e}"),
                format!(
                    "give every node on the host its own port ({port_key} / {})",
                    env_var(port_key)
                ),
            )))
        }
    };
    let gossip_addr = socket
        .local_addr()
        .map_err(|e| HarnessError::run(&settings.name, e))?;
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| HarnessError::run(&settings.name, e))?;
    let messaging = listener
        .local_addr()
        .map_err(|e| HarnessError::run(&settings.name, e))?;
    let log = NodeLog::new(&settings.name);
    let (stop, stop_rx) = watch::channel(false);
    let server = tokio::spawn(messaging::serve(
        listener,
        tls.clone(),
        settings.name.clone(),
        log.clone(),
        stop_rx.clone(),
    ));
    // source: NettyMessagingService.start.
    log.line(format!(
        "Started messaging service bound to [{messaging}], advertising {messaging}, and using {}",
        if tls.is_some() { "TLS" } else { "plaintext" }
    ));
    let me = Member {
        name: settings.name.clone(),
        role: settings.role,
        node_id,
        messaging,
        gossip: gossip_addr,
        partitions: BTreeMap::new(),
        version: 0,
    };
    let contacts = earlier.iter().map(|n| n.gossip_addr).collect();
    let (gossip, gossip_task) = Gossip::start(socket, me, contacts, stop_rx);
    let gateway = match settings.role {
        NodeRole::Broker => None,
        NodeRole::Gateway => {
            let view = gossip.clone();
            let source: TopologySource = Arc::new(move || topology_of(&view, brokers));
            Some(GatewayNode::start_with_topology(&GatewaySettings::plaintext(), source).await?)
        }
    };
    let startup_lines = log.lines().len();
    Ok(Ok(RunningNode {
        name: settings.name.clone(),
        role: settings.role,
        log,
        startup_lines,
        gossip,
        gossip_addr,
        tls,
        gateway,
        stop,
        tasks: vec![server, gossip_task],
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
                },
                workdir: dir.to_path_buf(),
                source: "test".to_string(),
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
        let ClusterStart::Ready(cluster) = Cluster::start(&specs).await.unwrap() else {
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

    #[test]
    fn majority_needs_mutual_links() {
        let names: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let link = |from: &str, to: &str, ok: bool| Link {
            from: from.to_string(),
            to: to.to_string(),
            result: if ok {
                Ok(())
            } else {
                Err(LinkError {
                    detail: String::new(),
                    log_line: String::new(),
                })
            },
        };
        let links = vec![
            link("a", "b", false),
            link("b", "a", true),
            link("a", "c", false),
            link("c", "a", true),
            link("b", "c", true),
            link("c", "b", true),
        ];
        assert_eq!(
            majority(&names, &links),
            Some(vec!["b".to_string(), "c".to_string()])
        );
        let none: Vec<Link> = Vec::new();
        assert_eq!(majority(&names, &none), None);
    }
}
