//! The cluster file: the nodes of a cluster (brokers and an optional
//! standalone gateway), each with its Zeebe YAML and environment, and the
//! documented certificates to make first. One topology for every launcher:
//! in process ([`ClusterFile::start`], a zeebe-cluster case), one host per
//! node ([`ClusterFile::members`], `tlsmatrix up --member` and the
//! containers backend), and the same start order for both ([`start_order`]).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::{Cluster, NodeRole, NodeSettings, NodeSpec};
use crate::config::{EnvMap, Properties};
use crate::error::HarnessError;
use crate::pki::cluster_recipe::{self, Recipe};
use crate::process::{Refusal, Started};

/// A cluster file for `tlsmatrix up`: a case body without the client.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ClusterFile {
    /// Certificates made with the documented openssl commands, in the working directory.
    #[serde(default)]
    pub(crate) openssl: Recipe,
    /// Files made by concatenating others (`out: [part, ...]`).
    #[serde(default)]
    pub(crate) concat: BTreeMap<String, Vec<String>>,
    /// The nodes, by name.
    pub(crate) nodes: BTreeMap<String, NodeBody>,
}

impl ClusterFile {
    /// The nodes, by name.
    pub fn nodes(&self) -> &BTreeMap<String, NodeBody> {
        &self.nodes
    }
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
            Err(r) => {
                return Err(HarnessError::refused(
                    format!("{} did not start", r.node),
                    r.message,
                ))
            }
        };
        match Cluster::start(&specs).await? {
            Started::Ready(cluster) => Ok(cluster),
            Started::Refused(r) => Err(HarnessError::refused(
                format!("{} did not start", r.node),
                r.message,
            )),
        }
    }
}

/// One node of a cluster file, as `tlsmatrix up --member` starts it on a
/// host of its own (see [`ClusterFile::members`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberLaunch {
    /// The node's name.
    pub(crate) name: String,
    /// Broker or gateway.
    pub(crate) role: NodeRole,
    /// A broker's node id (brokers in name order, as in process).
    pub(crate) node_id: Option<u32>,
    /// Its Zeebe YAML, relative to the cluster file's directory.
    pub(crate) config: String,
    /// Its working directory, relative to the cluster file's directory.
    pub(crate) workdir: String,
    /// Its own environment, plus the cluster's size and its node id
    /// (`ZEEBE_BROKER_CLUSTER_CLUSTERSIZE`, `ZEEBE_BROKER_CLUSTER_NODEID`).
    /// Addresses (contact points, hosts) are the launcher's to add.
    pub(crate) env: EnvMap,
}

impl ClusterFile {
    /// Makes the files in `dir`: the openssl recipe's certificates, then the
    /// concatenations.
    pub async fn make_files(&self, dir: &Path) -> Result<(), HarnessError> {
        self.openssl.run(dir).await?;
        cluster_recipe::concatenate(dir, &self.concat)
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
            let config = member_config(dir, name, node, &workdir)?;
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

/// The configuration file a member launch names: its `config-file` (relative
/// to the case directory, through its working directory), or its inline
/// `config` written to `.member-<name>.yaml` in `dir`; both is an error.
fn member_config(
    dir: &Path,
    name: &str,
    node: &NodeBody,
    workdir: &str,
) -> Result<String, HarnessError> {
    match (&node.config_file, node.config.is_null()) {
        (Some(file), true) => Ok(Path::new(workdir).join(file).display().to_string()),
        (Some(file), false) => Err(HarnessError::invalid(
            "cluster file",
            format!("nodes.{name}.config-file"),
            format!("both config and config-file ({file}) are given"),
            "keep one of them",
        )),
        (None, _) => {
            let file = format!(".member-{name}.yaml");
            let text = if node.config.is_null() {
                "{}\n".to_string()
            } else {
                serde_yaml_ng::to_string(&node.config).map_err(|e| HarnessError::run(name, e))?
            };
            let path = dir.join(&file);
            std::fs::write(&path, text).map_err(|e| HarnessError::write(&path, e))?;
            Ok(file)
        }
    }
}

/// One node of a cluster file (or of a zeebe-cluster case).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct NodeBody {
    /// Broker or gateway (default: from the name).
    #[serde(default)]
    pub(crate) role: Option<NodeRole>,
    /// The node's Zeebe YAML, as a tree.
    #[serde(default)]
    pub(crate) config: serde_yaml_ng::Value,
    /// Or: a Zeebe YAML file, relative to the node's working directory.
    #[serde(default)]
    pub(crate) config_file: Option<String>,
    /// The node's environment variables.
    #[serde(default)]
    pub(crate) env: EnvMap,
    /// The node's working directory, relative to the case directory.
    #[serde(default)]
    pub(crate) workdir: Option<String>,
    /// Bind gossip to the port of this (earlier) node.
    #[serde(default)]
    pub(crate) gossip_port_of: Option<String>,
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

/// Reads one node's settings; a configuration Zeebe would refuse is an `Err`
/// carrying the refusal (an outcome), a harness problem is a `HarnessError`.
pub fn node_spec(
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
pub fn start_order(nodes: &BTreeMap<String, NodeBody>) -> Vec<(&String, &NodeBody)> {
    let mut ordered: Vec<(&String, &NodeBody)> = nodes.iter().collect();
    ordered.sort_by_key(|(name, node)| (node.role_of(name) == NodeRole::Gateway, name.as_str()));
    ordered
}

/// Every node's spec, brokers first (node ids in name order), the gateway
/// last; the [`Refusal`] of the first node whose configuration Zeebe would
/// refuse.
pub type Specs = Result<Vec<NodeSpec>, Refusal>;

/// Reads every node's settings in [`start_order`] (see [`Specs`]).
pub fn node_specs(
    source: &str,
    nodes: &BTreeMap<String, NodeBody>,
    dir: &Path,
) -> Result<Specs, HarnessError> {
    let ordered = start_order(nodes);
    let mut specs = Vec::new();
    for (name, node) in ordered {
        match node_spec(source, name, node, dir)? {
            Ok(spec) => specs.push(spec),
            Err(e) => return Ok(Err(Refusal::of_error(name, e))),
        }
    }
    Ok(Ok(specs))
}
