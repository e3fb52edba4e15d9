//! A node's log: the lines it would print, kept for reports and snapshots, and a
//! count of connections still being handled so a case can wait for the node to
//! finish logging before it reads the log.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

/// The log lines of one node, shared with its connection tasks.
#[derive(Debug, Clone)]
pub struct NodeLog {
    name: Arc<str>,
    lines: Arc<Mutex<Vec<String>>>,
    active: Arc<watch::Sender<usize>>,
}

/// Held by a task while it handles a connection; dropping it marks the
/// connection as handled.
#[derive(Debug)]
pub struct ActiveGuard(Arc<watch::Sender<usize>>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl NodeLog {
    /// An empty log for the node called `name`.
    pub fn new(name: &str) -> Self {
        Self {
            name: Arc::from(name),
            lines: Arc::new(Mutex::new(Vec::new())),
            active: Arc::new(watch::Sender::new(0)),
        }
    }

    /// Appends a line (also emitted through `tracing`).
    pub fn line(&self, line: impl Into<String>) {
        let line = line.into();
        tracing::info!(node = %self.name, "{line}");
        if let Ok(mut lines) = self.lines.lock() {
            lines.push(line);
        }
    }

    /// A detail the real node logs below INFO: traced, not kept (snapshots
    /// hold what an operator sees at the default level).
    pub fn debug(&self, line: impl Into<String>) {
        tracing::debug!(node = %self.name, "{}", line.into());
    }

    /// The lines so far, each once, in order of first appearance (a client that
    /// retries produces the same line again).
    pub fn lines(&self) -> Vec<String> {
        let lines = self.lines.lock().map(|l| l.clone()).unwrap_or_default();
        let mut seen = std::collections::HashSet::new();
        lines
            .into_iter()
            .filter(|l| seen.insert(l.clone()))
            .collect()
    }

    /// Marks a connection as being handled until the guard is dropped.
    pub fn begin(&self) -> ActiveGuard {
        self.active.send_modify(|n| *n += 1);
        ActiveGuard(self.active.clone())
    }

    /// Waits until no connection is mid-handshake, or `within` passes.
    pub async fn settle(&self, within: Duration) {
        let mut rx = self.active.subscribe();
        let _ = tokio::time::timeout(within, rx.wait_for(|n| *n == 0)).await;
    }
}
