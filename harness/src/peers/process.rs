//! Running a real tool as a child process: explicit environment, working
//! directory, deadline, output captured, killed on drop and on timeout.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

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
/// `deadline`.
pub async fn run(
    program: &Path,
    args: &[String],
    env: &EnvMap,
    workdir: &Path,
    deadline: Duration,
) -> Result<ProcessOutput, HarnessError> {
    let start = Instant::now();
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .env_clear()
        .env("HOME", workdir)
        .envs(env)
        .current_dir(workdir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = command.spawn().map_err(|e| {
        HarnessError::run(program.display().to_string(), format!("cannot start: {e}"))
    })?;
    match tokio::time::timeout(deadline, child.wait_with_output()).await {
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
