//! The background tasks of a running node and the signal that stops them:
//! stopped gracefully (bounded) by `shutdown`, aborted when dropped, so a node
//! is a value that stops when it goes out of scope.

use std::time::Duration;

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
