//! A cluster across hosts: one reference container per node of a cluster
//! file, on a Docker network of its own, each node started with
//! `tlsmatrix up --member` and wired the way a multi-host Zeebe deployment is
//! (`ZEEBE_BROKER_CLUSTER_NODEID`, `..._CLUSTERSIZE`,
//! `..._INITIALCONTACTPOINTS` naming the other containers, the internal port
//! 26502 on every host, each node advertising its own container's address).
//!
//! The gateway starts first, so that every broker finds it among its contact
//! points and every node has seen every other when it sends its formation
//! requests; the brokers follow in node-id order. The formation is read from
//! the gateway's own report (`tlsmatrix cluster member ready`), which has the
//! same shape as the in-process one, so the two compare line for line.

use std::path::Path;
use std::time::Duration;

use super::{ContainerNode, ContainerStart, Ready, ReferenceImage, CASE_MOUNT};
use crate::error::HarnessError;
use crate::nodes::cluster::{ClusterFile, MemberLaunch, NodeRole, INTERNAL_PORT, JOIN_DEADLINE};
use crate::nodes::up;

/// The line a member prints once it listens.
const LISTENING: &str = up::CLUSTER_NODE;
/// The line a member prints once it has formed as it sees the cluster.
const FORMED: &str = up::MEMBER_READY;

/// The result of starting a cluster across containers.
#[allow(clippy::large_enum_variant)]
pub enum ClusterAcrossHosts {
    /// Every node's container runs.
    Ready(ContainerCluster),
    /// A node refused its configuration: which, and what it said.
    Refused {
        /// The node's name.
        node: String,
        /// Its error (the same text as in process).
        text: String,
    },
}

/// One running container per node. Dropping it removes every container and
/// the network.
pub struct ContainerCluster {
    nodes: Vec<(MemberLaunch, ContainerNode)>,
    network: String,
}

impl ReferenceImage {
    /// Starts `file`'s cluster in `dir` (the files are made there first, and
    /// the directory is mounted read-only in every container) with one
    /// container per node. Ready when every node listens; see
    /// [`ContainerCluster::formation`] for the formation.
    pub async fn zeebe_cluster_across_hosts(
        &self,
        dir: &Path,
        file: &ClusterFile,
    ) -> Result<ClusterAcrossHosts, HarnessError> {
        file.make_files(dir).await?;
        let launches = file.members(dir)?;
        self.start_members(dir, launches).await
    }

    /// Starts one container per launch (see [`ClusterFile::members`]), the
    /// files already in `dir`.
    pub async fn start_members(
        &self,
        dir: &Path,
        mut launches: Vec<MemberLaunch>,
    ) -> Result<ClusterAcrossHosts, HarnessError> {
        // The gateway first: every broker then finds it as a contact point.
        launches.sort_by_key(|l| (l.role == NodeRole::Broker, l.node_id));
        let network = super::unique_name("");
        let host = |name: &str| format!("{network}-{name}");
        let everyone: Vec<String> = launches
            .iter()
            .map(|l| format!("{}:{INTERNAL_PORT}", host(&l.name)))
            .collect();
        let mut nodes: Vec<(MemberLaunch, ContainerNode)> = Vec::new();
        for launch in launches {
            let mut spec = self.up(
                dir,
                &format!("{CASE_MOUNT}/{}", launch.config),
                &launch.env,
                Ready::Stdout(LISTENING.to_string()),
            );
            let contacts: Vec<&str> = everyone
                .iter()
                .filter(|c| !c.starts_with(&format!("{}:", host(&launch.name))))
                .map(String::as_str)
                .collect();
            let (role, contact_key) = match launch.role {
                NodeRole::Broker => ("broker", "ZEEBE_BROKER_CLUSTER_INITIALCONTACTPOINTS"),
                NodeRole::Gateway => ("gateway", "ZEEBE_GATEWAY_CLUSTER_INITIALCONTACTPOINTS"),
            };
            spec.env.insert(contact_key.into(), contacts.join(","));
            spec.cmd = vec![
                "up".into(),
                format!("{CASE_MOUNT}/{}", launch.config),
                "--member".into(),
                role.into(),
                "--name".into(),
                launch.name.clone(),
                "--workdir".into(),
                format!("{CASE_MOUNT}/{}", launch.workdir),
            ];
            if launch.role == NodeRole::Broker {
                spec.port = INTERNAL_PORT;
            }
            spec.network = Some(network.clone());
            spec.container_name = Some(host(&launch.name));
            match spec.start().await? {
                ContainerStart::Ready(node) => nodes.push((launch, node)),
                ContainerStart::Refused(text) => {
                    for (_, node) in nodes {
                        node.stop().await;
                    }
                    return Ok(ClusterAcrossHosts::Refused {
                        node: launch.name,
                        text,
                    });
                }
            }
        }
        Ok(ClusterAcrossHosts::Ready(ContainerCluster {
            nodes,
            network,
        }))
    }
}

impl ContainerCluster {
    /// The Docker network the nodes share.
    pub fn network(&self) -> &str {
        &self.network
    }

    /// Each node's name and container.
    pub fn nodes(&self) -> impl Iterator<Item = (&str, &ContainerNode)> {
        self.nodes.iter().map(|(l, n)| (l.name.as_str(), n))
    }

    /// The host port of the gateway's gRPC endpoint, when there is a gateway.
    pub fn gateway_port(&self) -> Option<u16> {
        self.reporter()
            .filter(|(l, _)| l.role == NodeRole::Gateway)
            .map(|(_, n)| n.port())
    }

    /// The node whose report covers the cluster: the gateway, else the
    /// broker started last.
    fn reporter(&self) -> Option<&(MemberLaunch, ContainerNode)> {
        self.nodes
            .iter()
            .find(|(l, _)| l.role == NodeRole::Gateway)
            .or(self.nodes.last())
    }

    /// Waits (bounded by the join deadline and `slack`) for the reporting node
    /// to form, and returns its formation report (from `cluster:` to
    /// `result:`) and whether it formed.
    pub async fn formation(&self, slack: Duration) -> Result<(String, bool), HarnessError> {
        let Some((launch, node)) = self.reporter() else {
            return Err(HarnessError::run("cluster across hosts", "no node"));
        };
        let line = node
            .wait_for_line(FORMED, JOIN_DEADLINE + slack)
            .await
            .ok_or_else(|| {
                HarnessError::run(
                    &launch.name,
                    format!(
                        "no formation report within {} s; it printed:\n{}",
                        (JOIN_DEADLINE + slack).as_secs(),
                        node.stdout()
                    ),
                )
            })?;
        let out = node.stdout();
        let report: Vec<&str> = out
            .lines()
            .skip_while(|l| !l.starts_with("cluster: "))
            .take_while(|l| !l.starts_with(FORMED))
            .collect();
        Ok((report.join("\n"), line.contains(up::FORMED)))
    }

    /// Stops and removes every container (the network goes with the last).
    pub async fn stop(self) {
        for (_, node) in self.nodes {
            node.stop().await;
        }
    }
}
