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

use super::{ContainerNode, Ready, ReferenceImage, CASE_MOUNT};
use crate::error::HarnessError;
use crate::nodes::cluster::{ClusterFile, MemberLaunch, NodeRole, INTERNAL_PORT, JOIN_DEADLINE};
use crate::nodes::up;
use crate::nodes::NodeStack;
use crate::process::{Refusal, Started};

/// The line a member prints once it listens.
const LISTENING: &str = up::CLUSTER_NODE;
/// The line a member prints once it has formed as it sees the cluster.
const FORMED: &str = up::MEMBER_READY;

/// One running container per node. Dropping it removes every container and
/// the network.
pub struct ContainerCluster {
    /// Each node's launch, in the order of `nodes`.
    launches: Vec<MemberLaunch>,
    nodes: NodeStack<ContainerNode>,
    network: String,
}

impl ReferenceImage {
    /// Starts `file`'s cluster in `dir` (the files are made there first, and
    /// the directory is mounted read-only in every container) with one
    /// container per node. Ready when every node listens; see
    /// [`ContainerCluster::formation`] for the formation. A node that refuses
    /// its configuration refuses the start, under the node's name, with its
    /// error (the same text as in process).
    pub async fn zeebe_cluster_across_hosts(
        &self,
        dir: &Path,
        file: &ClusterFile,
    ) -> Result<Started<ContainerCluster>, HarnessError> {
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
    ) -> Result<Started<ContainerCluster>, HarnessError> {
        // The gateway first: every broker then finds it as a contact point.
        launches.sort_by_key(|l| (l.role == NodeRole::Broker, l.node_id));
        let network = super::unique_name("");
        let host = |name: &str| format!("{network}-{name}");
        let everyone: Vec<String> = launches
            .iter()
            .map(|l| format!("{}:{INTERNAL_PORT}", host(&l.name)))
            .collect();
        let mut nodes = NodeStack::new();
        let mut started = Vec::new();
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
            let container = spec
                .start()
                .await?
                .map_refusal(|r| Refusal::new(&launch.name, r.message));
            if let Err(refusal) = nodes.push(container).await {
                return Ok(Started::Refused(refusal));
            }
            started.push(launch);
        }
        Ok(Started::Ready(ContainerCluster {
            launches: started,
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
        let names = self.launches.iter().map(|l| l.name.as_str());
        names.zip(self.nodes.nodes())
    }

    /// The host port of the gateway's gRPC endpoint, when there is a gateway.
    pub fn gateway_port(&self) -> Option<u16> {
        self.reporter()
            .filter(|(l, _)| l.role == NodeRole::Gateway)
            .map(|(_, n)| n.port())
    }

    /// The node whose report covers the cluster: the gateway, else the
    /// broker started last.
    fn reporter(&self) -> Option<(&MemberLaunch, &ContainerNode)> {
        let mut nodes = self.launches.iter().zip(self.nodes.nodes());
        nodes
            .clone()
            .find(|(l, _)| l.role == NodeRole::Gateway)
            .or_else(|| nodes.next_back())
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
                HarnessError::deadline(
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

    /// Stops and removes every container, the last started first (the
    /// network goes with the last).
    pub async fn stop(self) {
        self.nodes.stop().await;
    }
}
