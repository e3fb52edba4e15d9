//! Test support shared by every integration test crate (as rustls shares its
//! `rustls-test` helpers): where the workspace is, the tokio runtimes, and the
//! one builder of `tlsmatrix` commands, which always starts the binary with a
//! scrubbed environment (`env_clear`, then only [`KEPT_VARS`]), stdin closed
//! and killed on drop. A test that needs a variable (`ZEEBE_*`,
//! `TLSMATRIX_REQUIRE_PEERS`) sets it on the command, where the reader sees it.
#![allow(dead_code)] // each test crate uses its own subset

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use tokio::process::Command;

/// How long one tlsmatrix invocation may take.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// The `tlsmatrix` binary cargo built for these tests.
pub const TLSMATRIX: &str = env!("CARGO_BIN_EXE_tlsmatrix");

/// The variables a `tlsmatrix` command keeps from the test's environment:
/// where the real peers are (`PATH`, `ci/setup`'s tools directory and the
/// tools' override variables), a home and a temp directory, the Docker
/// engine's address and the binary the containers run, and the oracle's
/// start bound for loaded machines. Everything else (`ZEEBE_*`, `RUST_LOG`,
/// `TLSMATRIX_REQUIRE_PEERS`, locale) is dropped.
pub const KEPT_VARS: &[&str] = &[
    "PATH",
    "HOME",
    "TMPDIR",
    "TLSMATRIX_TOOLS",
    "TLSMATRIX_ZBCTL",
    "TLSMATRIX_OPENSSL",
    "TLSMATRIX_JAVA",
    "TLSMATRIX_KEYTOOL",
    "TLSMATRIX_KCAT",
    "TLSMATRIX_NGINX",
    "TLSMATRIX_GO_PROBE",
    "TLSMATRIX_ORACLE_READY_SECS",
    "TLSMATRIX_BIN",
    "DOCKER_HOST",
];

/// The workspace root (scenarios, snapshots, fixtures, catalogue files).
pub fn workspace() -> PathBuf {
    crate_dir().join("..")
}

/// The `tlsmatrix` crate's directory (`harness/`: its sources and probes).
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A current-thread runtime, for driving child processes.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A two-worker runtime, as `tlsmatrix run` gives one case (nodes and peers
/// run side by side).
pub fn multi_thread_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

/// The kept variables' values in this test's environment.
fn kept_env() -> Vec<(&'static str, OsString)> {
    KEPT_VARS
        .iter()
        .filter_map(|k| std::env::var_os(k).map(|v| (*k, v)))
        .collect()
}

/// Scrubs `cmd`'s environment down to [`KEPT_VARS`]: for a command that
/// starts `tlsmatrix` through another program (a pseudo-terminal).
pub fn scrub(cmd: &mut Command) -> &mut Command {
    cmd.env_clear().envs(kept_env())
}

/// `tlsmatrix ARGS` in `cwd` (tokio), environment scrubbed, stdin closed,
/// killed on drop.
pub fn tlsmatrix_command(args: &[&str], cwd: &Path) -> Command {
    let mut cmd = Command::new(TLSMATRIX);
    scrub(&mut cmd)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    cmd
}

/// `tlsmatrix ARGS` in `cwd` (std, for tests without a runtime), environment
/// scrubbed, stdin closed.
pub fn tlsmatrix_std_command(args: &[&str], cwd: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(TLSMATRIX);
    cmd.args(args)
        .current_dir(cwd)
        .env_clear()
        .envs(kept_env())
        .stdin(Stdio::null());
    cmd
}

/// Runs `tlsmatrix args` in `cwd` to completion, bounded by the deadline.
pub fn run_tlsmatrix(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = tlsmatrix_command(args, cwd);
    cmd.envs(env.iter().copied());
    runtime().block_on(async {
        tokio::time::timeout(DEADLINE, cmd.output())
            .await
            .expect("tlsmatrix finished before the deadline")
            .expect("tlsmatrix started")
    })
}

/// Bytes a process printed, as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
