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
                        let (tcp, peer) = match accepted {
                            Ok(accepted) => accepted,
                            Err(e) => {
                                back_off(&e).await;
                                continue;
                            }
                        };
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

/// How long an accept loop pauses after a failed accept. Out of file
/// descriptors (EMFILE/ENFILE), `accept` fails at once, again and again: without
/// a pause the loop spins a whole core until a descriptor is free.
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// The pause after a failed `accept`: [`ACCEPT_BACKOFF`] (with a warning) for
/// exhausted resources, 1 ms otherwise (a connection aborted before it was
/// accepted is not worth waiting for, but no error may spin the loop).
pub async fn back_off(error: &std::io::Error) {
    let exhausted = matches!(
        error.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    );
    let pause = if exhausted {
        tracing::warn!("accept failed ({error}); pausing {ACCEPT_BACKOFF:?}");
        ACCEPT_BACKOFF
    } else {
        Duration::from_millis(1)
    };
    tokio::time::sleep(pause).await;
}

impl Drop for NodeTasks {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}
