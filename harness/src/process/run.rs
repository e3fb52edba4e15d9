//! Running a real tool as a child process: explicit environment, working
//! directory, deadline, output captured, killed on drop and on timeout.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::registry::{forget_child, register_child};
use crate::config::EnvMap;
use crate::error::HarnessError;

/// The result of one child process run.
#[derive(Debug, Clone)]
pub struct ProcessOutput {
    /// Exit code; `None` when killed (deadline) or ended by a signal.
    pub exit_code: Option<i32>,
    /// Standard output, lossy UTF-8.
    pub stdout: String,
    /// Standard error, lossy UTF-8.
    pub stderr: String,
    /// Wall time.
    pub elapsed: Duration,
    /// True when the deadline killed it.
    pub timed_out: bool,
}

/// Runs `program args` in `workdir` with exactly `env` (plus `HOME=workdir`, so
/// tools that cache credentials write into the case directory), bounded by
/// `deadline`. When `workdir` holds a case's hosts file
/// ([`crate::hosts::HOSTS_FILE`]), the tool resolves the case's names with it.
pub async fn run(
    program: &Path,
    args: &[String],
    env: &EnvMap,
    workdir: &Path,
    deadline: Duration,
) -> Result<ProcessOutput, HarnessError> {
    run_with_input(program, args, env, workdir, deadline, None).await
}

/// [`run`], writing `input` to the child's standard input (then closing it).
pub async fn run_with_input(
    program: &Path,
    args: &[String],
    env: &EnvMap,
    workdir: &Path,
    deadline: Duration,
    input: Option<&[u8]>,
) -> Result<ProcessOutput, HarnessError> {
    let start = Instant::now();
    let mut command = super::Hermetic::new(program, workdir)
        .home()
        .args(args)
        .envs(env)
        // A case with `hosts:` names: the tool sees the case's hosts file as
        // /etc/hosts, in a user and mount namespace of its own (see `crate::hosts`).
        .case_hosts()?
        .command();
    command
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().map_err(|e| {
        HarnessError::start_failed(program.display().to_string(), format!("cannot start: {e}"))
    })?;
    let pid = child.id();
    register_child(pid);
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        use tokio::io::AsyncWriteExt;
        // A child that exits early closes its end: not our error.
        let _ = stdin.write_all(input).await;
    }
    let waited = tokio::time::timeout(deadline, child.wait_with_output()).await;
    // Reached only when the run was not cancelled: the child has exited, or was
    // killed by kill_on_drop when the timeout dropped it.
    forget_child(pid);
    match waited {
        Ok(Ok(out)) => Ok(ProcessOutput {
            exit_code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            elapsed: start.elapsed(),
            timed_out: false,
        }),
        Ok(Err(e)) => Err(HarnessError::run(program.display().to_string(), e)),
        // Dropping the future drops the child, which kill_on_drop kills.
        Err(_) => Ok(ProcessOutput {
            exit_code: None,
            stdout: String::new(),
            stderr: format!("tlsmatrix: killed after the deadline of {deadline:?}"),
            elapsed: start.elapsed(),
            timed_out: true,
        }),
    }
}
