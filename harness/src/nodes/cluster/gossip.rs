//! Membership gossip over UDP, always plaintext (as in Zeebe: "a small portion of
//! Zeebe traffic is done over UDP, which is left unencrypted"). Each node sends
//! the members it knows (JSON) to every member and contact point at a short
//! interval and merges what it receives, newest version per member winning.
//!
//! Besides its addresses, a member gossips what formation needs from it, so
//! that nodes on different hosts reach the same conclusions: whether its
//! messaging uses TLS, the results of the requests it sent to the brokers, and
//! (a broker) the cluster size it was configured with and its partition roles.
//!
//! Contact points may be names (`broker-1:26502`, as in
//! `initialContactPoints`): they are resolved in the background, again and
//! again until they resolve, because a node may start before the hosts it
//! names exist.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::net::UdpSocket;
use tokio::sync::watch;

use super::settings::NodeRole;

/// How often a node gossips.
const INTERVAL: Duration = Duration::from_millis(20);

/// A partition's role on one broker, as gossiped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartitionRole {
    /// Leads the partition.
    Leader,
    /// Replicates it, in contact with the leader.
    Follower,
    /// A replica cut off from the partition's majority.
    Inactive,
}

/// One member as gossip carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The node's name.
    pub(crate) name: String,
    /// Broker or gateway.
    pub(crate) role: NodeRole,
    /// A broker's node id.
    pub(crate) node_id: Option<u32>,
    /// The messaging (TCP) address.
    pub(crate) messaging: SocketAddr,
    /// The gossip (UDP) address.
    pub(crate) gossip: SocketAddr,
    /// Partition id → role, for a broker.
    pub(crate) partitions: BTreeMap<u32, PartitionRole>,
    /// Bumped by the member on every change of its own entry.
    pub(crate) version: u64,
    /// True when the member's messaging uses TLS.
    #[serde(default)]
    pub(crate) tls: bool,
    /// A broker's configured cluster size (`zeebe.broker.cluster.clusterSize`).
    #[serde(default)]
    pub(crate) cluster_size: Option<u32>,
    /// What the member saw and the results of its requests, once it has
    /// sent them all.
    #[serde(default)]
    pub(crate) report: Option<GossippedReport>,
    /// Why every handshake this member serves fails, when it does.
    #[serde(default)]
    pub(crate) cannot_serve: Option<String>,
}

/// What a member reports once it has sent its formation requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GossippedReport {
    /// The members its gossip knew when it sent them.
    pub(crate) sees: Vec<String>,
    /// Each broker dialled, in node-id order, and `None` when the request
    /// succeeded or what failed.
    pub(crate) links: Vec<(String, Option<String>)>,
}

/// A contact point: an address, or a `host:port` to resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contact {
    /// Known already.
    Address(SocketAddr),
    /// `host:port`, resolved until it resolves.
    Name(String),
}

/// One gossip datagram: the sender's cluster and the members it knows. A node
/// ignores datagrams of another cluster (`clusterName`; Zeebe's messaging
/// preamble carries the name's hash for the same purpose), which also keeps a
/// node from merging members of another cluster that reuses its ports.
#[derive(Debug, Serialize, Deserialize)]
struct Datagram<M> {
    cluster: String,
    members: Vec<M>,
}

/// How often an unresolved contact point is looked up again.
const RESOLVE_INTERVAL: Duration = Duration::from_millis(200);

/// The members a node knows.
pub type Members = Arc<Mutex<BTreeMap<String, Member>>>;

/// A node's view of the membership, shared with its gossip task.
#[derive(Debug, Clone)]
pub struct Gossip {
    name: String,
    members: Members,
    /// Bumped on every change of the view, so waiters need not poll.
    changed: Arc<watch::Sender<u64>>,
    /// Told of every change of this node's own entry, which is then sent at
    /// once instead of at the next interval.
    local: Arc<tokio::sync::Notify>,
}

impl Gossip {
    /// Starts gossiping as `me` on `socket`, to `contacts` and every member
    /// learnt, until `stop` turns true.
    pub fn start(
        socket: UdpSocket,
        cluster: String,
        me: Member,
        contacts: Vec<Contact>,
        stop: watch::Receiver<bool>,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let name = me.name.clone();
        let members: Members = Arc::new(Mutex::new(BTreeMap::from([(name.clone(), me)])));
        let changed = Arc::new(watch::Sender::new(0));
        let (known, names): (Vec<_>, Vec<_>) = contacts
            .into_iter()
            .partition(|c| matches!(c, Contact::Address(_)));
        let resolved: Arc<Mutex<Vec<SocketAddr>>> = Arc::new(Mutex::new(
            known
                .into_iter()
                .filter_map(|c| match c {
                    Contact::Address(a) => Some(a),
                    Contact::Name(_) => None,
                })
                .collect(),
        ));
        let names: Vec<String> = names
            .into_iter()
            .filter_map(|c| match c {
                Contact::Name(n) => Some(n),
                Contact::Address(_) => None,
            })
            .collect();
        if !names.is_empty() {
            tokio::spawn(resolve(names, resolved.clone(), stop.clone()));
        }
        let local = Arc::new(tokio::sync::Notify::new());
        let task = tokio::spawn(run(
            socket,
            cluster,
            members.clone(),
            changed.clone(),
            local.clone(),
            resolved,
            stop,
        ));
        (
            Self {
                name,
                members,
                changed,
                local,
            },
            task,
        )
    }

    /// Waits until `holds` is true of this node's view, or `deadline`;
    /// returns whether it holds. Woken by every change of the view.
    pub async fn wait_until(
        &self,
        deadline: tokio::time::Instant,
        holds: impl Fn(&BTreeMap<String, Member>) -> bool,
    ) -> bool {
        // Subscribed before the first look, so no change is missed.
        let mut rx = self.changed.subscribe();
        loop {
            if holds(&self.members()) {
                return true;
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {}
                _ => return holds(&self.members()),
            }
        }
    }

    /// The members known now, by name.
    pub fn members(&self) -> BTreeMap<String, Member> {
        self.members.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Replaces this node's own partition roles (a new version is gossiped).
    pub fn set_partitions(&self, partitions: BTreeMap<u32, PartitionRole>) {
        self.update(|me| me.partitions = partitions);
    }

    /// Publishes what this node saw and the results of its requests (a new
    /// version is gossiped).
    pub fn set_report(&self, report: GossippedReport) {
        self.update(|me| me.report = Some(report));
    }

    /// This node's own entry.
    pub fn me(&self) -> Option<Member> {
        self.members().remove(&self.name)
    }

    fn update(&self, change: impl FnOnce(&mut Member)) {
        if let Ok(mut members) = self.members.lock() {
            if let Some(me) = members.get_mut(&self.name) {
                change(me);
                me.version += 1;
                self.changed.send_modify(|v| *v += 1);
                self.local.notify_one();
            }
        }
    }
}

/// Looks `names` up until each resolves (or `stop`), adding the addresses to
/// `resolved`.
async fn resolve(
    mut names: Vec<String>,
    resolved: Arc<Mutex<Vec<SocketAddr>>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(RESOLVE_INTERVAL);
    while !names.is_empty() {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tick.tick() => {}
        }
        let mut pending = Vec::new();
        for name in names {
            let found = tokio::net::lookup_host(name.as_str())
                .await
                .map(|addrs| addrs.filter(SocketAddr::is_ipv4).collect::<Vec<_>>());
            match found {
                Ok(addrs) => {
                    if addrs.is_empty() {
                        pending.push(name);
                    } else if let Ok(mut list) = resolved.lock() {
                        list.extend(addrs);
                    }
                }
                Err(_) => pending.push(name),
            }
        }
        names = pending;
    }
}

async fn run(
    socket: UdpSocket,
    cluster: String,
    members: Members,
    changed: Arc<watch::Sender<u64>>,
    local: Arc<tokio::sync::Notify>,
    contacts: Arc<Mutex<Vec<SocketAddr>>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(INTERVAL);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            // Our own entry changed: send it now (the tick fires at once).
            _ = local.notified() => tick.reset_immediately(),
            _ = tick.tick() => {
                let (payload, targets) = {
                    let Ok(known) = members.lock() else { break };
                    let datagram = Datagram { cluster: cluster.clone(), members: known.values().collect() };
                    let payload = serde_json::to_vec(&datagram).unwrap_or_default();
                    let mut targets: Vec<SocketAddr> = known.values().map(|m| m.gossip).collect();
                    if let Ok(contacts) = contacts.lock() {
                        targets.extend(contacts.iter());
                    }
                    targets.sort();
                    targets.dedup();
                    (payload, targets)
                };
                for target in targets {
                    let _ = socket.send_to(&payload, target).await;
                }
            }
            received = socket.recv_from(&mut buf) => {
                let Ok((n, _)) = received else { continue };
                let Ok(heard) = serde_json::from_slice::<Datagram<Member>>(&buf[..n]) else { continue };
                if heard.cluster != cluster {
                    continue;
                }
                let Ok(mut known) = members.lock() else { break };
                for member in heard.members {
                    let newer = known.get(&member.name).is_none_or(|m| m.version < member.version);
                    if newer {
                        known.insert(member.name.clone(), member);
                        changed.send_modify(|v| *v += 1);
                    }
                }
            }
        }
    }
}
