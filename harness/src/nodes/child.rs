//! A node that runs as a child process (an oracle on another stack): started
//! with its configuration, ready when it prints its listening line on stdout,
//! stopped with SIGTERM so it writes every log line, killed on drop.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::error::HarnessError;
use crate::peers::process;

/// What starting a child node gave.
#[derive(Debug)]
pub enum ChildStart {
    /// Listening; the readiness line's payload.
    Ready(Box<ChildNode>, String),
    /// It exited before its readiness line: it refused its configuration. Its
    /// whole stderr.
    Refused(String),
}

/// A running child node.
#[derive(Debug)]
pub struct ChildNode {
    name: String,
    child: Child,
    pid: Option<u32>,
}

impl ChildNode {
    /// Spawns `cmd` (stdout and stderr piped, killed on drop) and waits up to
    /// `deadline` for a stdout line starting with `ready_prefix`; returns the
    /// rest of that line.
    pub async fn start(
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
        process::register_child(pid);
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| HarnessError::run(name, "no stdout"))?;
        let mut lines = BufReader::new(stdout).lines();
        let mut node = Self {
            name: name.to_string(),
            child,
            pid,
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
                process::forget_child(node.pid);
                Ok(ChildStart::Refused(stderr))
            }
            Err(_) => {
                let _ = node.child.start_kill();
                let stderr = node.read_stderr().await;
                let _ = node.child.wait().await;
                process::forget_child(node.pid);
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

    async fn read_stderr(&mut self) -> String {
        let mut out = String::new();
        if let Some(mut err) = self.child.stderr.take() {
            let _ = err.read_to_string(&mut out).await;
        }
        out
    }

    /// Stops it with SIGTERM, waits (bounded) and returns its whole stderr.
    pub async fn stop(mut self) -> String {
        if let Some(pid) = self.child.id() {
            // SAFETY: kill(2) on our own child's pid.
            unsafe {
                libc::kill(pid as i32, libc::SIGTERM);
            }
        }
        let stderr = tokio::time::timeout(Duration::from_secs(15), self.read_stderr())
            .await
            .unwrap_or_default();
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .is_err()
        {
            tracing::warn!(node = %self.name, "did not stop on SIGTERM; killing it");
            let _ = self.child.kill().await;
        }
        process::forget_child(self.pid);
        stderr
    }
}
