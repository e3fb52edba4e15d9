//! Python client libraries driven through small probe scripts
//! (`harness/probes/python/`), run by the venv `ci/setup` installs them into
//! (`.tools/python`, pinned in `requirements.txt`). Each script prints one JSON
//! line like the other probes (see [`super::probe`]).
//!
//! - `grpcio_probe.py`: Python `grpcio` (gRPC core on BoringSSL) calling the
//!   Zeebe gateway's Topology with a generic unary call; it reads no `ZEEBE_*`
//!   variable (grpcio knows none).

use std::path::{Path, PathBuf};

use super::process;
use super::{Observation, ZeebeClientConfig};
use crate::error::HarnessError;

/// The pinned grpcio, as the peer is named in reports.
pub const GRPCIO_PEER: &str = "python-grpcio 1.85.1";

/// How to install the Python probes' libraries.
pub const INSTALL: &str =
    "bash ci/setup (or: bash harness/probes/python/build.sh; needs python3 with venv and pip)";

fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("probes/python")
}

/// The venv's Python with the pinned libraries (`$TLSMATRIX_PYTHON`, else
/// `python/bin/python` in the tools directory), or how to install it. The
/// venv counts only once `build.sh` has finished (its `.requirements` stamp).
pub fn locate(peer: &str) -> Result<PathBuf, HarnessError> {
    if let Some(p) = std::env::var_os("TLSMATRIX_PYTHON").map(PathBuf::from) {
        return p
            .is_file()
            .then_some(p)
            .ok_or_else(|| missing(peer, "not at $TLSMATRIX_PYTHON".to_string()));
    }
    let venv = process::tools_dir().join("python");
    let python = venv.join("bin/python");
    if python.is_file() && venv.join(".requirements").is_file() {
        Ok(python)
    } else {
        Err(missing(
            peer,
            format!("no venv with the pinned libraries at {}", venv.display()),
        ))
    }
}

fn missing(peer: &str, detail: String) -> HarnessError {
    HarnessError::PeerMissing {
        peer: peer.to_string(),
        detail,
        install: INSTALL.to_string(),
    }
}

/// Finds the grpcio probe's runtime, or says how to install it.
pub fn locate_grpcio() -> Result<PathBuf, HarnessError> {
    locate(GRPCIO_PEER)
}

/// Runs the grpcio probe once against the configured address and reads its line.
pub async fn grpcio_topology(config: &ZeebeClientConfig) -> Result<Observation, HarnessError> {
    let python = locate_grpcio()?;
    let script = scripts_dir().join("grpcio_probe.py");
    let mut args = vec![script.display().to_string()];
    args.extend(config.flags("--address", "--plaintext", "--ca"));
    let timeout = config
        .deadline
        .saturating_sub(std::time::Duration::from_secs(2));
    args.push("--timeout-ms".to_string());
    args.push(timeout.as_millis().to_string());
    // grpc core logs each failed handshake on stderr as well; the JSON line
    // carries what the application sees.
    let out = process::run(
        &python,
        &args,
        &config.env,
        &config.workdir,
        config.deadline,
    )
    .await?;
    super::probe::read_line(GRPCIO_PEER, &script, &args, &out)
}
