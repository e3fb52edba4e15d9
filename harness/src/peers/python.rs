//! Python client libraries driven through small probe scripts
//! (`harness/probes/python/`), run by the venv `ci/setup` installs them into
//! (`.tools/python`, pinned in `requirements.txt`). Each script prints one JSON
//! line like the other probes (see [`super::probe`]).
//!
//! - `grpcio_probe.py`: Python `grpcio` (gRPC core on BoringSSL) calling the
//!   Zeebe gateway's Topology with a generic unary call; it reads no `ZEEBE_*`
//!   variable (grpcio knows none).

use std::path::{Path, PathBuf};

use super::warm::{self, Temperature, WarmPeer};
use super::{Observation, ZeebeClientConfig};
use crate::error::HarnessError;
use crate::process;

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
    let out = match warm::temperature(WarmPeer::PythonGrpcio, config) {
        Temperature::Warm => {
            warm::run(
                WarmPeer::PythonGrpcio,
                &python,
                &[script.display().to_string()],
                &args[1..],
                &config.env,
                &config.workdir,
                config.deadline,
            )
            .await?
        }
        Temperature::Cold => {
            process::run(
                &python,
                &args,
                &config.env,
                &config.workdir,
                config.deadline,
            )
            .await?
        }
    };
    super::probe::read_line(GRPCIO_PEER, &script, &args, &out)
}

/// The pinned kafka-python, as the peer is named in reports.
pub const KAFKA_PEER: &str = "kafka-python 3.0.12";

/// Finds the kafka-python probe's runtime, or says how to install it.
pub fn locate_kafka() -> Result<PathBuf, HarnessError> {
    locate(KAFKA_PEER)
}

/// Runs `kafka_probe.py` (kafka-python's `KafkaAdminClient.describe_cluster`)
/// once: the Java client's property names (`ssl.endpoint.identification.algorithm`)
/// map to kafka-python's settings inside the probe. The password is passed on
/// the command line of a child of ours and shown `[redacted]`.
pub async fn kafka_describe(
    c: &super::kcat::KafkaClientConfig,
) -> Result<Observation, HarnessError> {
    let python = locate_kafka()?;
    let script = scripts_dir().join("kafka_probe.py");
    let mut args = vec![
        script.display().to_string(),
        "--bootstrap".to_string(),
        c.bootstrap.clone(),
        "--security-protocol".to_string(),
        c.security_protocol.clone(),
    ];
    for (flag, value) in [
        ("--sasl-mechanism", &c.sasl_mechanism),
        ("--username", &c.username),
        ("--password", &c.password),
        ("--ca-pem", &c.ca),
    ] {
        if let Some(v) = value {
            args.extend([flag.to_string(), v.clone()]);
        }
    }
    for (k, v) in &c.properties {
        args.extend(["--prop".to_string(), format!("{k}={v}")]);
    }
    let budget = c.deadline.saturating_sub(std::time::Duration::from_secs(2));
    args.extend(["--timeout-ms".to_string(), budget.as_millis().to_string()]);
    let out = process::run(
        &python,
        &args,
        &crate::config::EnvMap::new(),
        &c.workdir,
        c.deadline,
    )
    .await?;
    let mut shown = vec!["kafka_probe.py".to_string()];
    let mut hide = false;
    for a in args.iter().skip(1) {
        shown.push(if hide {
            "[redacted]".to_string()
        } else {
            a.clone()
        });
        hide = a == "--password";
    }
    let mut obs = Observation {
        peer: KAFKA_PEER.to_string(),
        command: Some(shown.join(" ")),
        exit_code: out.exit_code,
        elapsed: out.elapsed,
        ..Observation::default()
    };
    let line = out.stdout.lines().rev().find(|l| l.starts_with('{'));
    match line.and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok()) {
        Some(v) if v["ok"] == true => {
            obs.direct = Some(crate::outcome::Outcome::Succeeded);
            obs.stdout = format!("describe_cluster: {} broker(s)", v["brokers"]);
        }
        Some(v) => {
            let mut text = format!(
                "{}: {}",
                v["stage"].as_str().unwrap_or_default(),
                v["error"].as_str().unwrap_or_default()
            );
            if let Some(w) = v["warning"].as_str() {
                text.push_str("\nfirst kafka.conn warning: ");
                text.push_str(w);
            }
            obs.stderr = text;
        }
        None => {
            return Err(HarnessError::protocol(
                KAFKA_PEER,
                format!(
                    "the probe printed no JSON line (exit {:?}); its stderr:\n{}",
                    out.exit_code,
                    out.stderr.trim()
                ),
            ))
        }
    }
    Ok(obs)
}
