//! Running a real tool as a child process: explicit environment, working
//! directory, deadline, output captured, killed on drop and on timeout.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::config::EnvMap;
use crate::error::HarnessError;

/// Child processes of this process that may still run: registered when
/// spawned, forgotten once waited for. Dropping a tokio `Child` with
/// `kill_on_drop` only *sends* SIGKILL; [`kill_all_children`] also waits, so an
/// interrupted run can promise that nothing of it survives.
static CHILDREN: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

/// Remembers a spawned child until [`forget_child`].
pub fn register_child(pid: Option<u32>) {
    if let (Some(pid), Ok(mut children)) = (pid, CHILDREN.lock()) {
        children.push(pid);
    }
}

/// Forgets a child that has been waited for.
pub fn forget_child(pid: Option<u32>) {
    if let (Some(pid), Ok(mut children)) = (pid, CHILDREN.lock()) {
        children.retain(|p| *p != pid);
    }
}

/// Kills every registered child and waits until each is gone (a child tokio
/// already reaped makes waitpid fail with ECHILD, which is fine).
pub fn kill_all_children() {
    let pids: Vec<u32> = CHILDREN
        .lock()
        .map(|mut c| std::mem::take(&mut *c))
        .unwrap_or_default();
    for pid in pids {
        // SAFETY: kill(2) and waitpid(2) on a pid this process spawned.
        unsafe {
            libc::kill(pid as i32, libc::SIGKILL);
            let mut status = 0;
            libc::waitpid(pid as i32, &mut status, 0);
        }
    }
}

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
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .env_clear()
        .env("HOME", workdir)
        .envs(env)
        .current_dir(workdir)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // A case with `hosts:` names: the tool sees the case's hosts file as
    // /etc/hosts, in a user and mount namespace of its own (see `crate::hosts`).
    if let Some(hosts) = crate::hosts::case_file(workdir) {
        let isolation = crate::hosts::Isolation::for_file(&hosts)?;
        // SAFETY: `enter` only makes system calls on data prepared before the fork.
        unsafe { command.pre_exec(move || isolation.enter()) };
    }
    let mut child = command.spawn().map_err(|e| {
        HarnessError::run(program.display().to_string(), format!("cannot start: {e}"))
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

/// Finds a tool: the override variable, then tlsmatrix's own tools directory
/// (where `ci/setup` installs), then `PATH`.
pub fn locate(override_var: &str, tools_relative: &str, on_path: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(override_var).map(PathBuf::from) {
        return p.is_file().then_some(p);
    }
    let tools = tools_dir().join(tools_relative);
    if tools.is_file() {
        return Some(tools);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(on_path))
            .find(|p| p.is_file())
    })
}

/// Where `ci/setup` installs real peers: `$TLSMATRIX_TOOLS`, else `.tools/` at the
/// workspace root.
pub fn tools_dir() -> PathBuf {
    std::env::var_os("TLSMATRIX_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools"))
}
