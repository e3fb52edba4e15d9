//! Membership gossip over UDP, always plaintext (as in Zeebe: "a small portion of
//! Zeebe traffic is done over UDP, which is left unencrypted"). Each node sends
//! the members it knows (JSON) to every member and contact point at a short
//! interval and merges what it receives, newest version per member winning.

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
    pub name: String,
    /// Broker or gateway.
    pub role: NodeRole,
    /// A broker's node id.
    pub node_id: Option<u32>,
    /// The messaging (TCP) address.
    pub messaging: SocketAddr,
    /// The gossip (UDP) address.
    pub gossip: SocketAddr,
    /// Partition id → role, for a broker.
    pub partitions: BTreeMap<u32, PartitionRole>,
    /// Bumped by the member on every change of its own entry.
    pub version: u64,
}

/// The members a node knows.
pub type Members = Arc<Mutex<BTreeMap<String, Member>>>;

/// A node's view of the membership, shared with its gossip task.
#[derive(Debug, Clone)]
pub struct Gossip {
    name: String,
    members: Members,
    /// Bumped on every change of the view, so waiters need not poll.
    changed: Arc<watch::Sender<u64>>,
}

impl Gossip {
    /// Starts gossiping as `me` on `socket`, to `contacts` and every member
    /// learnt, until `stop` turns true.
    pub fn start(
        socket: UdpSocket,
        me: Member,
        contacts: Vec<SocketAddr>,
        stop: watch::Receiver<bool>,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let name = me.name.clone();
        let members: Members = Arc::new(Mutex::new(BTreeMap::from([(name.clone(), me)])));
        let changed = Arc::new(watch::Sender::new(0));
        let task = tokio::spawn(run(
            socket,
            members.clone(),
            changed.clone(),
            contacts,
            stop,
        ));
        (
            Self {
                name,
                members,
                changed,
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
        if let Ok(mut members) = self.members.lock() {
            if let Some(me) = members.get_mut(&self.name) {
                me.partitions = partitions;
                me.version += 1;
                self.changed.send_modify(|v| *v += 1);
            }
        }
    }
}

async fn run(
    socket: UdpSocket,
    members: Members,
    changed: Arc<watch::Sender<u64>>,
    contacts: Vec<SocketAddr>,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(INTERVAL);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = tick.tick() => {
                let (payload, targets) = {
                    let Ok(known) = members.lock() else { break };
                    let payload = serde_json::to_vec(&known.values().collect::<Vec<_>>()).unwrap_or_default();
                    let mut targets: Vec<SocketAddr> = known.values().map(|m| m.gossip).collect();
                    targets.extend(&contacts);
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
                let Ok(heard) = serde_json::from_slice::<Vec<Member>>(&buf[..n]) else { continue };
                let Ok(mut known) = members.lock() else { break };
                for member in heard {
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
