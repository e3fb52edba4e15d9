//! A long-running child process (an oracle on another stack, nginx, a
//! broker): started with its configuration, ready by a [`Ready`] rule (its
//! first stdout line, or a stderr line), stopped with SIGTERM so it writes
//! every log line, killed on drop.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader, Lines};
use tokio::process::{Child, Command};

use super::lifecycle::{Refusal, Started};
use super::registry::{forget_child, register_child};
use super::Ready;
use crate::error::HarnessError;

/// A running child node.
#[derive(Debug)]
pub struct ChildProcess {
    name: String,
    child: Child,
    pid: Option<u32>,
    /// The rest of a stdout readiness line (an address); empty for a
    /// stderr-ready child.
    payload: String,
    /// For a stderr-ready child: the task collecting its stderr.
    stderr_task: Option<tokio::sync::oneshot::Receiver<String>>,
}

/// The stream a child announces readiness on, and how a line is matched.
enum Watch<'a> {
    /// The first stdout line must start with this; the rest is the payload.
    /// Stdout is not the log (stderr is, read when the child ends).
    Stdout(&'a str),
    /// The first stderr line containing this; every stderr line is the log.
    Stderr(&'a str),
}

/// How the wait for the readiness line ended.
enum Waited {
    /// The readiness line, with its payload.
    Ready(String),
    /// A first stdout line that is not the readiness line.
    Unexpected(String),
    /// The stream closed first: the child exited.
    Ended,
}

impl Watch<'_> {
    /// Reads lines until readiness or the end of the stream; the lines that
    /// are the child's log are kept in `log`.
    async fn wait(
        &self,
        lines: &mut Lines<BufReader<Box<dyn AsyncRead + Send + Unpin>>>,
        log: &mut String,
    ) -> Waited {
        while let Ok(Some(line)) = lines.next_line().await {
            match self {
                Self::Stdout(prefix) => {
                    return match line.strip_prefix(prefix) {
                        Some(rest) => Waited::Ready(rest.trim().to_string()),
                        None => Waited::Unexpected(line),
                    }
                }
                Self::Stderr(text) => {
                    log.push_str(&line);
                    log.push('\n');
                    if line.contains(text) {
                        return Waited::Ready(String::new());
                    }
                }
            }
        }
        Waited::Ended
    }
}

impl ChildProcess {
    /// Spawns `cmd` (its stdio piped, killed on drop) and waits up to
    /// `deadline` for `ready`: a stdout line starting with a prefix (the
    /// rest of it is [`Self::payload`]) or a stderr line containing a text
    /// (nginx logs `getrlimit(RLIMIT_NOFILE)` once it listens; the stderr
    /// lines before it are kept and returned by [`Self::stop`] with the
    /// rest). A child that exits first refused its configuration: its whole
    /// stderr is the refusal's message.
    pub async fn start(
        name: &str,
        mut cmd: Command,
        ready: &Ready,
        deadline: Duration,
    ) -> Result<Started<ChildProcess>, HarnessError> {
        let watch = match ready {
            Ready::Stdout(prefix) => Watch::Stdout(prefix),
            Ready::Stderr(text) => Watch::Stderr(text),
            Ready::Healthcheck => {
                return Err(HarnessError::run(
                    name,
                    "a child process has no HEALTHCHECK: wait for a line of its output",
                ))
            }
        };
        let stdout = match watch {
            Watch::Stdout(_) => Stdio::piped(),
            Watch::Stderr(_) => Stdio::null(),
        };
        cmd.stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .map_err(|e| HarnessError::start_failed(name, format!("cannot start: {e}")))?;
        let pid = child.id();
        register_child(pid);
        let watched: Option<Box<dyn AsyncRead + Send + Unpin>> = match watch {
            Watch::Stdout(_) => child.stdout.take().map(|s| Box::new(s) as _),
            Watch::Stderr(_) => child.stderr.take().map(|s| Box::new(s) as _),
        };
        let mut node = Self {
            name: name.to_string(),
            child,
            pid,
            payload: String::new(),
            stderr_task: None,
        };
        let Some(watched) = watched else {
            let missing = match watch {
                Watch::Stdout(_) => "no stdout",
                Watch::Stderr(_) => "no stderr",
            };
            return Err(HarnessError::start_failed(name, missing));
        };
        let mut lines = BufReader::new(watched).lines();
        let mut log = String::new();
        let waited = tokio::time::timeout(deadline, watch.wait(&mut lines, &mut log)).await;
        match waited {
            Ok(Waited::Ready(payload)) => {
                if let Watch::Stderr(_) = watch {
                    node.stderr_task = Some(keep_reading(lines, log));
                }
                node.payload = payload;
                Ok(Started::Ready(node))
            }
            Ok(Waited::Unexpected(line)) => Err(HarnessError::protocol(
                name,
                format!("unexpected readiness line: {line}"),
            )),
            Ok(Waited::Ended) => {
                // It exited, refusing its configuration.
                log.push_str(&node.read_stderr().await);
                let _ = node.child.wait().await;
                forget_child(node.pid);
                Ok(Started::Refused(Refusal::new(name, log)))
            }
            Err(_) => Err(node.not_ready(&watch, log, deadline).await),
        }
    }

    /// Kills a child that was not ready within `deadline`: the error quotes
    /// its whole log when readiness was a stderr line, else its last ten
    /// log lines.
    async fn not_ready(
        mut self,
        watch: &Watch<'_>,
        mut log: String,
        deadline: Duration,
    ) -> HarnessError {
        let _ = self.child.start_kill();
        log.push_str(&self.read_stderr().await);
        let _ = self.child.wait().await;
        forget_child(self.pid);
        let log = match watch {
            Watch::Stderr(_) => format!("its log so far:\n{log}"),
            Watch::Stdout(_) => {
                let tail: Vec<&str> = log.lines().rev().take(10).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                format!("its last log lines:\n{}", tail.join("\n"))
            }
        };
        HarnessError::deadline(&self.name, format!("not ready within {deadline:?}; {log}"))
    }

    /// The rest of its stdout readiness line (an address, listeners); empty
    /// for a child ready on stderr.
    pub fn payload(&self) -> &str {
        &self.payload
    }

    async fn read_stderr(&mut self) -> String {
        if let Some(rx) = self.stderr_task.take() {
            return rx.await.unwrap_or_default();
        }
        let mut out = String::new();
        if let Some(mut err) = self.child.stderr.take() {
            let _ = err.read_to_string(&mut out).await;
        }
        out
    }

    /// Stops it with SIGTERM, waits (bounded) and returns its whole stderr.
    pub async fn stop(self) -> String {
        self.stop_with_exit().await.0
    }

    /// [`Self::stop`], with the exit code: `None` when it had to be killed
    /// or ended by a signal it did not handle.
    pub async fn stop_with_exit(mut self) -> (String, Option<i32>) {
        if let Some(pid) = self.child.id() {
            // SAFETY: kill(2) on our own child's pid.
            unsafe {
                libc::kill(pid as i32, libc::SIGTERM);
            }
        }
        let stderr = tokio::time::timeout(Duration::from_secs(15), self.read_stderr())
            .await
            .unwrap_or_default();
        let exit_code = match tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await
        {
            Ok(status) => status.ok().and_then(|s| s.code()),
            Err(_) => {
                tracing::warn!(node = %self.name, "did not stop on SIGTERM; killing it");
                let _ = self.child.kill().await;
                None
            }
        };
        forget_child(self.pid);
        (stderr, exit_code)
    }
}

/// Keeps reading a child's stderr in the background once it is ready, so the
/// pipe never fills; the receiver gets the whole log (`log` so far and every
/// later line) when stderr ends. [`ChildProcess::stop`] returns it.
fn keep_reading(
    mut lines: tokio::io::Lines<BufReader<Box<dyn AsyncRead + Send + Unpin>>>,
    mut log: String,
) -> tokio::sync::oneshot::Receiver<String> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            log.push_str(&line);
            log.push('\n');
        }
        let _ = tx.send(log);
    });
    rx
}
