//! A long-running child process (an oracle on another stack, nginx, a
//! broker): started with its configuration, ready by a [`Ready`] rule (its
//! first stdout line, or a stderr line), stopped with SIGTERM so it writes
//! every log line, killed on drop.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

use super::registry::{forget_child, register_child};
use super::Ready;
use crate::error::HarnessError;

/// What starting a child node gave.
#[derive(Debug)]
pub enum ChildStart {
    /// Listening; the readiness line's payload.
    Ready(Box<ChildProcess>, String),
    /// It exited before its readiness line: it refused its configuration. Its
    /// whole stderr.
    Refused(String),
}

/// A running child node.
#[derive(Debug)]
pub struct ChildProcess {
    name: String,
    child: Child,
    pid: Option<u32>,
    /// For a stderr-ready child: the task collecting its stderr.
    stderr_task: Option<tokio::sync::oneshot::Receiver<String>>,
}

impl ChildProcess {
    /// Spawns `cmd` (its stdio piped, killed on drop) and waits up to
    /// `deadline` for `ready`; with [`Ready::Stdout`], the rest of that
    /// line comes with it.
    pub async fn start(
        name: &str,
        cmd: Command,
        ready: &Ready,
        deadline: Duration,
    ) -> Result<ChildStart, HarnessError> {
        match ready {
            Ready::Stdout(prefix) => Self::start_on_stdout(name, cmd, prefix, deadline).await,
            Ready::Stderr(text) => Self::start_on_stderr(name, cmd, text, deadline).await,
            Ready::Healthcheck => Err(HarnessError::run(
                name,
                "a child process has no HEALTHCHECK: wait for a line of its output",
            )),
        }
    }

    /// Spawns `cmd` (stdout and stderr piped, killed on drop) and waits up to
    /// `deadline` for a stdout line starting with `ready_prefix`; returns the
    /// rest of that line.
    async fn start_on_stdout(
        name: &str,
        mut cmd: Command,
        ready_prefix: &str,
        deadline: Duration,
    ) -> Result<ChildStart, HarnessError> {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .map_err(|e| HarnessError::run(name, format!("cannot start: {e}")))?;
        let pid = child.id();
        register_child(pid);
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| HarnessError::run(name, "no stdout"))?;
        let mut lines = BufReader::new(stdout).lines();
        let mut node = Self {
            name: name.to_string(),
            child,
            pid,
            stderr_task: None,
        };
        match tokio::time::timeout(deadline, lines.next_line()).await {
            Ok(Ok(Some(line))) => match line.strip_prefix(ready_prefix) {
                Some(rest) => Ok(ChildStart::Ready(Box::new(node), rest.trim().to_string())),
                None => Err(HarnessError::run(
                    name,
                    format!("unexpected readiness line: {line}"),
                )),
            },
            Ok(_) => {
                // stdout closed: it exited, refusing its configuration.
                let stderr = node.read_stderr().await;
                let _ = node.child.wait().await;
                forget_child(node.pid);
                Ok(ChildStart::Refused(stderr))
            }
            Err(_) => {
                let _ = node.child.start_kill();
                let stderr = node.read_stderr().await;
                let _ = node.child.wait().await;
                forget_child(node.pid);
                let tail: Vec<&str> = stderr.lines().rev().take(10).collect();
                Err(HarnessError::run(
                    name,
                    format!(
                        "not ready within {deadline:?}; its last log lines:\n{}",
                        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                    ),
                ))
            }
        }
    }

    /// Like [`Self::start_on_stdout`] for a process that announces readiness on
    /// stderr (nginx logs `start worker process` once it listens): ready at the
    /// first stderr line containing `ready_text`. The lines before it are kept
    /// and returned by [`stop`](Self::stop) with the rest.
    async fn start_on_stderr(
        name: &str,
        mut cmd: Command,
        ready_text: &str,
        deadline: Duration,
    ) -> Result<ChildStart, HarnessError> {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .map_err(|e| HarnessError::run(name, format!("cannot start: {e}")))?;
        let pid = child.id();
        register_child(pid);
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| HarnessError::run(name, "no stderr"))?;
        let mut lines = BufReader::new(stderr).lines();
        let mut seen = String::new();
        let waited = tokio::time::timeout(deadline, async {
            loop {
                match lines.next_line().await {
                    Ok(Some(line)) => {
                        let ready = line.contains(ready_text);
                        seen.push_str(&line);
                        seen.push('\n');
                        if ready {
                            return true;
                        }
                    }
                    _ => return false,
                }
            }
        })
        .await;
        let mut node = Self {
            name: name.to_string(),
            child,
            pid,
            stderr_task: None,
        };
        match waited {
            Ok(true) => {
                // Keep reading stderr in the background so the pipe never fills;
                // stop() returns everything.
                let (tx, rx) = tokio::sync::oneshot::channel();
                tokio::spawn(async move {
                    let mut rest = seen;
                    while let Ok(Some(line)) = lines.next_line().await {
                        rest.push_str(&line);
                        rest.push('\n');
                    }
                    let _ = tx.send(rest);
                });
                node.stderr_task = Some(rx);
                Ok(ChildStart::Ready(Box::new(node), String::new()))
            }
            Ok(false) => {
                let _ = node.child.wait().await;
                forget_child(node.pid);
                Ok(ChildStart::Refused(seen))
            }
            Err(_) => {
                let _ = node.child.start_kill();
                let _ = node.child.wait().await;
                forget_child(node.pid);
                Err(HarnessError::run(
                    name,
                    format!("not ready within {deadline:?}; its log so far:\n{seen}"),
                ))
            }
        }
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
