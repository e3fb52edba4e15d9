//! Invoking the `tlsmatrix` binary from integration tests: one hermetic
//! command (no `ZEEBE_*`, no `RUST_LOG`, stdin closed, killed on drop) and a
//! bounded run to completion. Shared by `cli.rs` and `hostile.rs`.
#![allow(dead_code)] // each test crate uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use tokio::process::Command;

/// How long one tlsmatrix invocation may take.
pub const DEADLINE: Duration = Duration::from_secs(60);

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

pub fn tlsmatrix_command(args: &[&str], cwd: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tlsmatrix"));
    cmd.args(args)
        .current_dir(cwd)
        .env_remove("TLSMATRIX_REQUIRE_PEERS")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    for (k, _) in std::env::vars() {
        if k.starts_with("ZEEBE_") {
            cmd.env_remove(k);
        }
    }
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

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
