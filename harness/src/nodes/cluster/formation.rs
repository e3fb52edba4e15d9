//! How a cluster forms, one node at a time, so that the same steps serve nodes
//! in one process and nodes on different hosts (one container per node):
//!
//! 1. the node waits (bounded) until gossip shows the members it expects: in
//!    process, every node started; on its own, `clusterSize` brokers;
//! 2. it sends one messaging request to every other broker and gossips the
//!    results together with the members it saw;
//! 3. a broker waits (bounded) until every broker has gossiped its results,
//!    then decides the partition roles from them: every broker decides alike,
//!    because every broker reads the same results ([`majority`]);
//! 4. the node waits (bounded) until every broker's roles have reached it.
//!
//! [`Formation::from_view`] then reads the whole formation from one node's
//! gossip view, which is what lets a gateway container report on links between
//! brokers in other containers.

use std::collections::BTreeMap;
use std::time::Duration;

use super::gossip::{Gossip, GossippedReport, Member, PartitionRole};
use super::messaging::{self, LinkError, Request};
use super::settings::{env_var, NodeRole};
use super::tls::{NodeTls, ServerTls};
use crate::nodes::log::NodeLog;

/// How long one messaging request may take.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(3);
/// How long nodes may take to finish logging a failed handshake.
pub const SETTLE_DEADLINE: Duration = Duration::from_secs(2);

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
    /// For each node, the members its gossip knew when it sent its requests.
    pub gossip: BTreeMap<String, Vec<String>>,
    /// Every request made, in a stable order.
    pub links: Vec<Link>,
    /// Every partition.
    pub partitions: Vec<PartitionState>,
    /// For each node, its role and whether its messaging uses TLS.
    pub tls: BTreeMap<String, (NodeRole, bool)>,
    /// Nodes that started but fail every handshake they serve, and why.
    pub cannot_serve: BTreeMap<String, String>,
    /// Brokers the configured cluster size promises but gossip never found.
    pub missing_brokers: u32,
}

/// What a node waits for before it sends its requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// This many members, brokers and gateways (nodes started together).
    Members(usize),
    /// As many brokers as the brokers' configured cluster size (a node started
    /// on its own, joining by contact points).
    ClusterSize,
}

/// The parts of a running node that formation uses.
#[derive(Clone)]
pub struct FormingNode {
    /// The node's name.
    pub(crate) name: String,
    /// Broker or gateway.
    pub(crate) role: NodeRole,
    /// Its gossip view.
    pub(crate) gossip: Gossip,
    /// Its log.
    pub(crate) log: NodeLog,
    /// Its TLS, when enabled.
    pub(crate) tls: Option<NodeTls>,
}

/// The brokers the view expects: the configured cluster size of the first
/// broker that gossips one.
fn expected_brokers(view: &BTreeMap<String, Member>) -> Option<usize> {
    view.values()
        .filter(|m| m.role == NodeRole::Broker)
        .find_map(|m| m.cluster_size)
        .map(|n| n as usize)
}

fn brokers_of(view: &BTreeMap<String, Member>) -> Vec<&Member> {
    let mut brokers: Vec<&Member> = view
        .values()
        .filter(|m| m.role == NodeRole::Broker)
        .collect();
    brokers.sort_by_key(|m| (m.node_id, m.name.clone()));
    brokers
}

fn complete(view: &BTreeMap<String, Member>, expect: Expect) -> bool {
    match expect {
        Expect::Members(n) => view.len() >= n,
        Expect::ClusterSize => expected_brokers(view).is_some_and(|n| brokers_of(view).len() >= n),
    }
}

/// Runs steps 1–4 for one node; every wait ends at `deadline` at the latest.
pub async fn form_node(node: FormingNode, expect: Expect, deadline: tokio::time::Instant) {
    node.gossip
        .wait_until(deadline, |view| complete(view, expect))
        .await;
    let view = node.gossip.members();
    let sees: Vec<String> = view.keys().cloned().collect();
    let subject = match node.role {
        NodeRole::Broker => "raft-ping",
        NodeRole::Gateway => "gateway-request",
    };
    let mut requests = tokio::task::JoinSet::new();
    for (i, to) in brokers_of(&view)
        .into_iter()
        .filter(|m| m.name != node.name)
        .enumerate()
    {
        let request = Request {
            subject: subject.to_string(),
            from: node.name.clone(),
        };
        let (target, addr) = (to.name.clone(), to.messaging);
        let tls = node.tls.clone();
        let log = node.log.clone();
        requests.spawn(async move {
            let result =
                messaging::request(addr, &target, tls.as_ref(), &request, REQUEST_DEADLINE)
                    .await
                    .map(|_| ());
            if let Err(e) = &result {
                log.line(format!("{} ({} to {target})", e.log_line, request.subject));
            }
            (i, target, result.err().map(|e| e.detail))
        });
    }
    let mut links = requests.join_all().await;
    links.sort_by_key(|(i, _, _)| *i);
    node.gossip.set_report(GossippedReport {
        sees,
        links: links
            .into_iter()
            .map(|(_, to, failure)| (to, failure))
            .collect(),
    });
    if node.role == NodeRole::Broker {
        let reported = |view: &BTreeMap<String, Member>| {
            complete(view, expect) && brokers_of(view).iter().all(|m| m.report.is_some())
        };
        node.gossip.wait_until(deadline, reported).await;
        let view = node.gossip.members();
        let (names, links) = broker_links(&view);
        let partitions = partitions(&names, &links);
        let roles = partitions
            .iter()
            .map(|p| {
                let role = if p.leader.as_deref() == Some(node.name.as_str()) {
                    PartitionRole::Leader
                } else if p.followers.contains(&node.name) {
                    PartitionRole::Follower
                } else {
                    PartitionRole::Inactive
                };
                (p.id, role)
            })
            .collect();
        node.gossip.set_partitions(roles);
    }
    node.gossip
        .wait_until(deadline, |view| {
            let brokers = brokers_of(view);
            complete(view, expect)
                && brokers
                    .iter()
                    .all(|m| m.partitions.len() == partition_count(brokers.len()))
        })
        .await;
}

/// One partition per broker, each replicated on every broker.
fn partition_count(brokers: usize) -> usize {
    brokers.max(1)
}

/// Broker names in node-id order and the links between brokers, from gossip.
fn broker_links(view: &BTreeMap<String, Member>) -> (Vec<String>, Vec<Link>) {
    let brokers = brokers_of(view);
    let names: Vec<String> = brokers.iter().map(|m| m.name.clone()).collect();
    let links = links_of(&brokers);
    (names, links)
}

fn links_of(members: &[&Member]) -> Vec<Link> {
    members
        .iter()
        .flat_map(|m| {
            m.report.iter().flat_map(|r| {
                r.links.iter().map(|(to, failure)| Link {
                    from: m.name.clone(),
                    to: to.clone(),
                    result: match failure {
                        None => Ok(()),
                        Some(detail) => Err(LinkError {
                            detail: detail.clone(),
                            log_line: String::new(),
                        }),
                    },
                })
            })
        })
        .collect()
}

/// Partition leaders and followers from the links between brokers.
fn partitions(names: &[String], links: &[Link]) -> Vec<PartitionState> {
    let majority = majority(names, links);
    (1..=partition_count(names.len()) as u32)
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
        .collect()
}

/// The largest group of brokers in which every ordered pair reached each other
/// (ties: the group with the lowest names), when it is a majority.
pub fn majority(names: &[String], links: &[Link]) -> Option<Vec<String>> {
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

/// The node's own entry, as formation reports it: whether it uses TLS and,
/// when its server side cannot handshake, why.
pub fn tls_facts(tls: Option<&NodeTls>) -> (bool, Option<String>) {
    match tls.map(|t| &t.server) {
        None => (false, None),
        Some(ServerTls::Serve(_)) => (true, None),
        Some(ServerTls::Fails { diagnosis, .. }) => (true, Some(diagnosis.clone())),
    }
}

impl Formation {
    /// The formation as one node's gossip view shows it. `order` lists node
    /// names in report order; members it does not name follow, brokers by
    /// node id, then the others by name.
    pub fn from_view(view: &BTreeMap<String, Member>, order: &[String]) -> Self {
        let mut members: Vec<&Member> = view.values().collect();
        let rank = |m: &Member| {
            order
                .iter()
                .position(|n| *n == m.name)
                .unwrap_or(order.len())
        };
        members.sort_by_key(|m| {
            (
                rank(m),
                m.role != NodeRole::Broker,
                m.node_id,
                m.name.clone(),
            )
        });
        let brokers = brokers_of(view);
        let count = brokers.len();
        let partitions = (1..=partition_count(count) as u32)
            .map(|id| {
                let role_of = |role: PartitionRole| {
                    brokers
                        .iter()
                        .filter(|b| b.partitions.get(&id) == Some(&role))
                        .map(|b| b.name.clone())
                        .collect::<Vec<_>>()
                };
                PartitionState {
                    id,
                    leader: role_of(PartitionRole::Leader).into_iter().next(),
                    followers: role_of(PartitionRole::Follower),
                }
            })
            .collect();
        Formation {
            brokers: count as u32,
            gossip: members
                .iter()
                .filter_map(|m| Some((m.name.clone(), m.report.as_ref()?.sees.clone())))
                .collect(),
            links: links_of(&members),
            partitions,
            tls: members
                .iter()
                .map(|m| (m.name.clone(), (m.role, m.tls)))
                .collect(),
            cannot_serve: members
                .iter()
                .filter_map(|m| Some((m.name.clone(), m.cannot_serve.clone()?)))
                .collect(),
            missing_brokers: expected_brokers(view).map_or(0, |n| n.saturating_sub(count)) as u32,
        }
    }

    /// True when every request succeeded and every partition has a leader.
    pub fn is_formed(&self) -> bool {
        self.missing_brokers == 0
            && self.links.iter().all(|l| l.result.is_ok())
            && self.partitions.iter().all(|p| p.leader.is_some())
    }

    /// `formed` or `partial`, as the readiness lines say it.
    pub fn state(&self) -> &'static str {
        if self.is_formed() {
            "formed"
        } else {
            "partial"
        }
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
        if self.missing_brokers > 0 {
            let _ = writeln!(
                out,
                "diagnosis: gossip found {} of the {} brokers set by zeebe.broker.cluster.clusterSize; fix: list reachable brokers in initialContactPoints ({} / {}) and let TCP and UDP pass on the internal port between the hosts",
                self.brokers,
                self.brokers + self.missing_brokers,
                env_var("zeebe.broker.cluster.initialContactPoints"),
                env_var("zeebe.gateway.cluster.initialContactPoints"),
            );
        }
        let failing = self.failing().count();
        if self.is_formed() {
            let _ = write!(out, "result: formed");
        } else if self.missing_brokers > 0 {
            let _ = write!(
                out,
                "result: partial: {} broker(s) never joined; {failing} of {} link(s) fail",
                self.missing_brokers,
                self.links.len()
            );
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

#[cfg(test)]
mod tests {
    use super::*;

    fn broker(id: u32, report: Option<GossippedReport>) -> Member {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 26502 + id as u16));
        Member {
            name: format!("broker-{id}"),
            role: NodeRole::Broker,
            node_id: Some(id),
            messaging: addr,
            gossip: addr,
            partitions: BTreeMap::new(),
            version: 1,
            tls: true,
            cluster_size: Some(3),
            report,
            cannot_serve: None,
        }
    }

    /// Two of three brokers found each other: every link between them is
    /// fine, but the cluster is not formed and the report says which setting
    /// brings the third.
    #[test]
    fn a_broker_gossip_never_found_keeps_the_cluster_partial() {
        let report = |to: &str| GossippedReport {
            sees: vec!["broker-0".into(), "broker-1".into()],
            links: vec![(to.to_string(), None)],
        };
        let view: BTreeMap<String, Member> = [
            broker(0, Some(report("broker-1"))),
            broker(1, Some(report("broker-0"))),
        ]
        .into_iter()
        .map(|m| (m.name.clone(), m))
        .collect();
        let formation = Formation::from_view(&view, &[]);
        assert_eq!(formation.missing_brokers, 1);
        assert!(!formation.is_formed());
        let text = formation.report();
        assert!(
            text.contains("diagnosis: gossip found 2 of the 3 brokers set by zeebe.broker.cluster.clusterSize"),
            "{text}"
        );
        assert!(
            text.contains("ZEEBE_BROKER_CLUSTER_INITIALCONTACTPOINTS"),
            "{text}"
        );
        assert!(
            text.ends_with("result: partial: 1 broker(s) never joined; 0 of 2 link(s) fail"),
            "{text}"
        );
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
