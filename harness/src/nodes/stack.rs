//! One lifecycle for every node: a started node is a [`RunningNode`] (a
//! name, an address, a stop that returns its log lines), and a
//! [`NodeStack`] starts nodes in order, stops the earlier ones when one
//! refuses, and stops them in reverse order. Log lines of several nodes are
//! told apart by one prefix, `[node] line` ([`prefixed`]).
//!
//! The result of one start, [`Started`] with its [`Refusal`], lives in the
//! process layer (`process/lifecycle.rs`) so that child processes and
//! containers share it.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use super::gateway::GatewayNode;
use super::http_backend::HttpBackendNode;
use super::http_gateway::HttpGatewayNode;
use super::kafka::KafkaGateway;
use super::token_server::TokenServer;
use crate::process::{Refusal, Started};

/// A future a node's stop returns.
pub type StopFuture = Pin<Box<dyn Future<Output = Vec<String>> + Send>>;

/// How long a stopping in-process node waits for the connections still
/// being handled to finish logging.
pub const SETTLE_DEADLINE: Duration = Duration::from_secs(3);

/// A started node, whatever runs it (in process, a child process, a
/// container). Dropping it stops it too, without its log.
pub trait RunningNode: Send {
    /// Its name: in log prefixes and refusals.
    fn name(&self) -> &str;

    /// Where a client reaches it, when it serves clients.
    fn address(&self) -> Option<SocketAddr>;

    /// Stops it (bounded) and returns its log lines, as an operator reads
    /// them.
    fn stop(self: Box<Self>) -> StopFuture;
}

impl RunningNode for Box<dyn RunningNode> {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn address(&self) -> Option<SocketAddr> {
        (**self).address()
    }

    fn stop(self: Box<Self>) -> StopFuture {
        <dyn RunningNode>::stop(*self)
    }
}

/// `[node] line` for each line: the one prefix of a node's log lines among
/// other nodes' lines.
pub fn prefixed(node: &str, lines: impl IntoIterator<Item = String>) -> Vec<String> {
    lines
        .into_iter()
        .map(|line| format!("[{node}] {line}"))
        .collect()
}

/// One stopped node's log lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeLines {
    /// The node's name.
    pub node: String,
    /// Its lines, in its own order.
    pub lines: Vec<String>,
}

/// Nodes started in order, each after the ones it depends on (a proxy after
/// its upstream, a broker after its contact points). Dropping the stack
/// drops every node (each stops on drop).
pub struct NodeStack<N = Box<dyn RunningNode>> {
    nodes: Vec<N>,
}

impl<N> Default for NodeStack<N> {
    fn default() -> Self {
        Self { nodes: Vec::new() }
    }
}

impl<N: RunningNode> std::fmt::Debug for NodeStack<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.nodes.iter().map(RunningNode::name))
            .finish()
    }
}

impl<N: RunningNode + 'static> NodeStack<N> {
    /// An empty stack.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a started node on top. On a refusal the nodes started before it
    /// are stopped (the last first) and the refusal comes back with their
    /// log lines and then its own, each `[node] line`.
    pub async fn push(&mut self, started: Started<N>) -> Result<&N, Refusal> {
        match started {
            Started::Ready(node) => {
                self.nodes.push(node);
                Ok(self.nodes.last().expect("just pushed"))
            }
            Started::Refused(refusal) => {
                let earlier = std::mem::take(&mut self.nodes);
                let mut logs: Vec<String> = Self { nodes: earlier }
                    .stop()
                    .await
                    .into_iter()
                    .flat_map(|n| prefixed(&n.node, n.lines))
                    .collect();
                logs.extend(prefixed(&refusal.node, refusal.logs));
                Err(Refusal { logs, ..refusal })
            }
        }
    }

    /// The running nodes, in start order.
    pub fn nodes(&self) -> &[N] {
        &self.nodes
    }

    /// The node started last (the one a client dials, in a chain).
    pub fn last(&self) -> Option<&N> {
        self.nodes.last()
    }

    /// Stops every node, the last started first, and returns their log
    /// lines in start order.
    pub async fn stop(self) -> Vec<NodeLines> {
        let mut stopped = Vec::with_capacity(self.nodes.len());
        for node in self.nodes.into_iter().rev() {
            let name = node.name().to_string();
            let lines = Box::new(node).stop().await;
            stopped.push(NodeLines { node: name, lines });
        }
        stopped.reverse();
        stopped
    }
}

/// [`RunningNode`] for an in-process node with `log()` and `shutdown()`:
/// its stop waits (bounded) for the connections still being handled to
/// finish logging, takes its lines and shuts it down.
macro_rules! in_process_node {
    ($ty:ty, $name:literal, |$node:ident| $address:expr) => {
        impl RunningNode for $ty {
            fn name(&self) -> &str {
                $name
            }

            fn address(&self) -> Option<SocketAddr> {
                let $node = self;
                Some($address)
            }

            fn stop(self: Box<Self>) -> StopFuture {
                Box::pin(async move {
                    self.log().settle(SETTLE_DEADLINE).await;
                    let lines = self.log().lines();
                    self.shutdown().await;
                    lines
                })
            }
        }
    };
}

in_process_node!(GatewayNode, "gateway", |node| node.address());
in_process_node!(HttpGatewayNode, "http-gateway", |node| node.address());
in_process_node!(TokenServer, "token-server", |node| node.address());
in_process_node!(KafkaGateway, "kafka-gateway", |node| node.address());
in_process_node!(HttpBackendNode, "backend", |node| SocketAddr::from((
    [127, 0, 0, 1],
    node.port()
)));

#[cfg(test)]
mod tests {
    use super::*;

    /// A node that only logs its stop, in a shared order.
    #[derive(Debug)]
    struct Fake {
        name: &'static str,
        stops: std::sync::Arc<std::sync::Mutex<Vec<&'static str>>>,
    }

    impl RunningNode for Fake {
        fn name(&self) -> &str {
            self.name
        }
        fn address(&self) -> Option<SocketAddr> {
            None
        }
        fn stop(self: Box<Self>) -> StopFuture {
            Box::pin(async move {
                self.stops.lock().unwrap().push(self.name);
                vec![format!("{} stopped", self.name)]
            })
        }
    }

    #[tokio::test]
    async fn a_refusal_stops_the_earlier_nodes_last_first_with_their_logs() {
        let stops = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let fake = |name| Fake {
            name,
            stops: stops.clone(),
        };
        let mut stack = NodeStack::new();
        stack.push(Started::Ready(fake("a"))).await.unwrap();
        stack.push(Started::Ready(fake("b"))).await.unwrap();
        let refusal = Refusal::new("c", "bad").with_logs(vec!["ERROR c".into()]);
        let refused = stack.push(Started::Refused(refusal)).await.unwrap_err();
        assert_eq!(*stops.lock().unwrap(), ["b", "a"]);
        assert_eq!(
            refused.logs,
            ["[a] a stopped", "[b] b stopped", "[c] ERROR c"]
        );
        assert!(stack.nodes().is_empty());
    }

    #[tokio::test]
    async fn a_stack_stops_in_reverse_and_returns_logs_in_start_order() {
        let stops = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut stack = NodeStack::new();
        for name in ["a", "b"] {
            let node = Fake {
                name,
                stops: stops.clone(),
            };
            stack.push(Started::Ready(node)).await.unwrap();
        }
        let logs = stack.stop().await;
        assert_eq!(*stops.lock().unwrap(), ["b", "a"]);
        let names: Vec<&str> = logs.iter().map(|n| n.node.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
    }
}
