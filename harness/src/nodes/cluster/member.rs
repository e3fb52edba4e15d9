//! One cluster node on its own (a broker or a standalone gateway), started
//! the way a Zeebe node on its own host starts: from its YAML and `ZEEBE_*`
//! environment, binding its internal port, advertising an address the others
//! can reach, and joining them through `initialContactPoints`. This is what
//! runs a cluster across hosts (one container per node, see
//! [`crate::containers`]); the steps of formation are the same as in process
//! ([`super::formation`]).
//!
//! Keys read (each also as its environment variable):
//!
//! | broker | gateway | default |
//! | --- | --- | --- |
//! | `zeebe.broker.cluster.nodeId` | | 0 |
//! | `zeebe.broker.cluster.clusterSize` | | 1 |
//! | `zeebe.broker.cluster.initialContactPoints` | `zeebe.gateway.cluster.initialContactPoints` | none |
//! | `zeebe.broker.network.host` (`internalApi.host` wins) | `zeebe.gateway.cluster.host` | 0.0.0.0 |
//! | `zeebe.broker.network.internalApi.port` | `zeebe.gateway.cluster.port` | 26502 |
//! | `zeebe.broker.network.advertisedHost` (`internalApi.advertisedHost` wins) | `zeebe.gateway.cluster.advertisedHost` | the host, else this host's name |
//! | | `zeebe.gateway.cluster.memberId` | `gateway` |
//! | `zeebe.broker.cluster.clusterName` | `zeebe.gateway.cluster.clusterName` | `zeebe-cluster` |
//!
//! plus the transport security of [`super::settings`] and, for a gateway,
//! its client-facing settings (`zeebe.gateway.network.*`, `zeebe.gateway.security.*`).
//! A broker is named `broker-<nodeId>` unless a name is given. The reference
//! replicates every partition on every broker, one partition per broker, as in
//! process; `partitionsCount` and `replicationFactor` are not read.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use super::formation::{self, Expect, Formation};
use super::gossip::Contact;
use super::settings::{env_var, NodeRole, NodeSettings};
use super::{start_node, InProcessNode, NodeAddresses, Placement, SETTLE_DEADLINE};
use crate::config::zeebe::{GatewayMode, GatewaySettings};
use crate::config::Properties;
use crate::error::HarnessError;
use crate::nodes::gateway::GatewayNode;
use crate::process::{Refusal, Started};

/// Zeebe's default internal (cluster) port, TCP and UDP.
pub const INTERNAL_PORT: u16 = 26502;

/// How long a node started on its own may wait for the others: they may start
/// later, on other hosts.
pub const JOIN_DEADLINE: Duration = Duration::from_secs(60);

/// Everything one node needs to start on its own.
#[derive(Debug, Clone)]
pub struct MemberSettings {
    /// Transport security, name, role and source.
    pub(crate) node: NodeSettings,
    /// A broker's node id.
    pub(crate) node_id: Option<u32>,
    /// A broker's configured cluster size.
    pub(crate) cluster_size: u32,
    /// The host the internal port binds to.
    pub(crate) host: String,
    /// The internal port (TCP messaging and UDP gossip).
    pub(crate) port: u16,
    /// The host advertised to the others, when configured.
    pub(crate) advertised_host: Option<String>,
    /// `host:port` contact points.
    pub(crate) contacts: Vec<String>,
    /// A gateway's client-facing settings.
    pub(crate) grpc: Option<GatewaySettings>,
    /// `clusterName`: nodes gossip only with nodes of the same name.
    pub(crate) cluster_name: String,
}

impl MemberSettings {
    /// Reads one node's settings. `name` overrides the default name
    /// (`broker-<nodeId>`, or the gateway's `memberId`).
    pub fn from_properties(
        name: Option<&str>,
        role: NodeRole,
        props: &Properties,
        workdir: &Path,
    ) -> Result<Self, HarnessError> {
        let source = props.source().to_string();
        let (node_id, cluster_size) = match role {
            NodeRole::Broker => broker_id(props)?,
            NodeRole::Gateway => (None, 0),
        };
        let first = |keys: &[&str]| -> Result<Option<String>, HarnessError> {
            for key in keys {
                if let Some(v) = props.string(key)? {
                    return Ok(Some(v));
                }
            }
            Ok(None)
        };
        let cluster_name = match role {
            NodeRole::Broker => props.string("zeebe.broker.cluster.clusterName")?,
            NodeRole::Gateway => props.string("zeebe.gateway.cluster.clusterName")?,
        }
        .unwrap_or_else(|| super::CLUSTER_NAME.to_string());
        let (host, port, advertised_host, contacts, default_name) = match role {
            NodeRole::Broker => (
                first(&[
                    "zeebe.broker.network.internalApi.host",
                    "zeebe.broker.network.host",
                ])?,
                props.port("zeebe.broker.network.internalApi.port", INTERNAL_PORT)?,
                first(&[
                    "zeebe.broker.network.internalApi.advertisedHost",
                    "zeebe.broker.network.advertisedHost",
                ])?,
                props.list("zeebe.broker.cluster.initialContactPoints")?,
                format!("broker-{}", node_id.unwrap_or_default()),
            ),
            NodeRole::Gateway => (
                props.string("zeebe.gateway.cluster.host")?,
                props.port("zeebe.gateway.cluster.port", INTERNAL_PORT)?,
                props.string("zeebe.gateway.cluster.advertisedHost")?,
                props.list("zeebe.gateway.cluster.initialContactPoints")?,
                props
                    .string("zeebe.gateway.cluster.memberId")?
                    .unwrap_or_else(|| "gateway".to_string()),
            ),
        };
        check_contacts(&source, role, &contacts)?;
        let name = name.map(str::to_string).unwrap_or(default_name);
        let grpc = match role {
            NodeRole::Broker => None,
            NodeRole::Gateway => Some(GatewaySettings::from_properties(
                GatewayMode::Standalone,
                props,
                workdir,
            )?),
        };
        Ok(Self {
            node: NodeSettings::from_properties(&name, role, props, workdir)?,
            node_id,
            cluster_size,
            host: host.unwrap_or_else(|| "0.0.0.0".to_string()),
            port,
            advertised_host,
            contacts,
            grpc,
            cluster_name,
        })
    }
}

/// A broker's `nodeId` and `clusterSize`, refused (with Zeebe's own words)
/// when the id is outside the cluster.
fn broker_id(props: &Properties) -> Result<(Option<u32>, u32), HarnessError> {
    let id = props.integer("zeebe.broker.cluster.nodeId", 0)?;
    let size = props.integer("zeebe.broker.cluster.clusterSize", 1)?;
    if id < 0 || id >= size {
        return Err(HarnessError::invalid(
            props.source(),
            "zeebe.broker.cluster.nodeId",
            // Zeebe's own message (SystemContext), after ours.
            format!(
                "the node id is outside the cluster (Zeebe: \"Node id {id} needs to be non negative and smaller then cluster size {size}.\")"
            ),
            format!(
                "give each broker an id from 0 to clusterSize - 1 ({} / {})",
                env_var("zeebe.broker.cluster.nodeId"),
                env_var("zeebe.broker.cluster.clusterSize")
            ),
        ));
    }
    Ok((Some(id as u32), size as u32))
}

/// Every `initialContactPoints` entry is `HOST:PORT`.
fn check_contacts(source: &str, role: NodeRole, contacts: &[String]) -> Result<(), HarnessError> {
    for contact in contacts {
        if contact
            .rsplit_once(':')
            .is_none_or(|(_, p)| p.parse::<u16>().is_err())
        {
            let key = match role {
                NodeRole::Broker => "zeebe.broker.cluster.initialContactPoints",
                NodeRole::Gateway => "zeebe.gateway.cluster.initialContactPoints",
            };
            return Err(HarnessError::invalid(
                source,
                key,
                format!("contact point {contact:?} is not HOST:PORT"),
                format!(
                    "list the other nodes' internal addresses as HOST:PORT, e.g. broker-0:{INTERNAL_PORT} ({})",
                    env_var(key)
                ),
            ));
        }
    }
    Ok(())
}

/// A node running on its own. Dropping it stops it.
pub struct ClusterMember {
    node: InProcessNode,
}

impl std::fmt::Debug for ClusterMember {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterMember")
            .field("name", &self.node.name)
            .finish()
    }
}

/// The first IPv4 address `host` resolves to (bounded).
async fn resolve(host: &str) -> Option<IpAddr> {
    let lookup = tokio::net::lookup_host((host, 0));
    let addrs = tokio::time::timeout(Duration::from_secs(5), lookup)
        .await
        .ok()?
        .ok()?;
    addrs.map(|a| a.ip()).find(IpAddr::is_ipv4)
}

/// This host's name, as the kernel has it.
fn host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

impl ClusterMember {
    /// Binds the internal port, starts gossiping to the contact points (names
    /// are resolved until they resolve) and, for a gateway, serves gRPC. A
    /// refusal keeps its error (file, key and fix) as its cause.
    pub async fn start(settings: &MemberSettings) -> Result<Started<Self>, HarnessError> {
        let node = &settings.node;
        let (host_key, advertised_key) = match node.role {
            NodeRole::Broker => (
                "zeebe.broker.network.host",
                "zeebe.broker.network.advertisedHost",
            ),
            NodeRole::Gateway => (
                "zeebe.gateway.cluster.host",
                "zeebe.gateway.cluster.advertisedHost",
            ),
        };
        let unresolved = |key: &str, host: &str| {
            HarnessError::invalid(
                &node.source,
                key,
                format!("{host:?} does not resolve to an IPv4 address"),
                format!(
                    "set {key} ({}) to an address or a name this host resolves",
                    env_var(key)
                ),
            )
        };
        let refused = |e| Ok(Started::Refused(Refusal::of_error(&node.name, e)));
        let Some(bind_ip) = resolve(&settings.host).await else {
            return refused(unresolved(host_key, &settings.host));
        };
        let advertised = match &settings.advertised_host {
            Some(host) => match resolve(host).await {
                Some(ip) => Some(ip),
                None => return refused(unresolved(advertised_key, host)),
            },
            None if bind_ip.is_unspecified() => {
                // As Zeebe: an unspecified bind address advertises this host.
                let name = host_name().unwrap_or_else(|| "localhost".to_string());
                match resolve(&name).await {
                    Some(ip) => Some(ip),
                    None => return refused(unresolved(advertised_key, &name)),
                }
            }
            None => None,
        };
        let placement = Placement {
            messaging: SocketAddr::new(bind_ip, settings.port),
            gossip: None,
            advertised,
            contacts: settings
                .contacts
                .iter()
                .map(|c| match c.parse::<SocketAddr>() {
                    Ok(addr) => Contact::Address(addr),
                    Err(_) => Contact::Name(c.clone()),
                })
                .collect(),
            grpc: settings
                .grpc
                .clone()
                .unwrap_or_else(GatewaySettings::plaintext),
            cluster: settings.cluster_name.clone(),
        };
        let started = start_node(node, settings.node_id, settings.cluster_size, placement).await?;
        Ok(started.map(|node| ClusterMember { node }))
    }

    /// Where the node listens.
    pub fn addresses(&self) -> NodeAddresses {
        self.node.addresses()
    }

    /// A gateway's client-facing address.
    pub fn gateway_address(&self) -> Option<SocketAddr> {
        self.node.gateway.as_ref().map(GatewayNode::address)
    }

    /// Runs formation as this node sees it: waits (at most `within`) for the
    /// brokers the cluster size names, sends its requests, decides or learns
    /// the partition roles, and reads the formation from its gossip view.
    pub async fn form(&self, within: Duration) -> Formation {
        let deadline = tokio::time::Instant::now() + within;
        formation::form_node(self.node.forming(), Expect::ClusterSize, deadline).await;
        self.node.log.settle(SETTLE_DEADLINE).await;
        Formation::from_view(&self.node.gossip.members(), &[])
    }

    /// The node's log lines.
    pub fn logs(&self) -> Vec<String> {
        self.node.log.lines()
    }

    /// Stops the node (its gateway, bounded).
    pub async fn shutdown(mut self) {
        if let Some(gateway) = self.node.gateway.take() {
            gateway.shutdown().await;
        }
    }
}

impl crate::nodes::RunningNode for ClusterMember {
    fn name(&self) -> &str {
        &self.node.name
    }

    fn address(&self) -> Option<SocketAddr> {
        Some(self.gateway_address().unwrap_or(self.addresses().messaging))
    }

    fn stop(self: Box<Self>) -> crate::nodes::stack::StopFuture {
        Box::pin(async move {
            let lines = self.logs();
            self.shutdown().await;
            lines
        })
    }
}
