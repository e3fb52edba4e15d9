//! The background tasks of a running node and the signal that stops them:
//! stopped gracefully (bounded) by `shutdown`, aborted when dropped, so a node
//! is a value that stops when it goes out of scope. Every in-process node that
//! serves a TCP listener accepts through [`NodeTasks::accept`].

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long a graceful shutdown waits for each task.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(5);

/// A node's tasks and their stop signal.
#[derive(Debug)]
pub struct NodeTasks {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl NodeTasks {
    /// Tasks that watch `stop` (the sender of their stop signal).
    pub fn new(stop: watch::Sender<bool>, tasks: Vec<JoinHandle<()>>) -> Self {
        Self { stop, tasks }
    }

    /// No tasks yet: add them with [`Self::accept`].
    pub fn idle() -> Self {
        let (stop, _) = watch::channel(false);
        Self {
            stop,
            tasks: Vec::new(),
        }
    }

    /// Accepts connections on `listener` until the node stops, each handed to
    /// `handle` (with the stop signal, for connections that outlive a
    /// request) on a task of its own. `handle` runs at accept time, so what
    /// it does before its future starts (marking the node's log busy, say)
    /// happens before the next accept.
    pub fn accept<F, Fut>(&mut self, listener: TcpListener, handle: F)
    where
        F: Fn(TcpStream, SocketAddr, watch::Receiver<bool>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut stop = self.stop.subscribe();
        let for_connections = self.stop.subscribe();
        self.tasks.push(tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.changed() => break,
                    accepted = listener.accept() => {
                        let Ok((tcp, peer)) = accepted else { continue };
                        tokio::spawn(handle(tcp, peer, for_connections.clone()));
                    }
                }
            }
        }));
    }

    /// Signals stop and waits (bounded) for every task to end.
    pub async fn shutdown(&mut self) {
        let _ = self.stop.send(true);
        for task in self.tasks.drain(..) {
            let _ = tokio::time::timeout(SHUTDOWN_DEADLINE, task).await;
        }
    }
}

impl Drop for NodeTasks {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}
