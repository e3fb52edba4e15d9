//! Real client libraries driven through small probe programs (Go, Java, Node,
//! under `harness/probes/<lang>/`): each takes `--address`, `--plaintext`,
//! `--ca` and a timeout, calls Topology once with the library's own settings
//! (the library applies the `ZEEBE_*` environment itself), and prints one JSON
//! line: `{"ok":true,"brokers":N,...}` or `{"ok":false,"error":"...","chain":[...]}`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::process;
use super::{Observation, ZeebeClientConfig};
use crate::error::HarnessError;

/// A client library probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// The official Go client (`github.com/camunda/zeebe/clients/go/v8`).
    Go,
}

#[derive(Debug, Deserialize)]
struct ProbeLine {
    ok: bool,
    #[serde(default)]
    brokers: Option<u32>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    chain: Vec<String>,
}

fn probes_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("probes")
}

impl Probe {
    /// The peer's name with the pinned library version.
    pub fn peer(self) -> &'static str {
        match self {
            Self::Go => "go-client 8.4.5",
        }
    }

    /// Finds the built probe, or says how to build it.
    pub fn locate(self) -> Result<PathBuf, HarnessError> {
        let (var, path, install) = match self {
            Self::Go => (
                "TLSMATRIX_GO_PROBE",
                probes_dir().join("go/bin/zeebe-go-probe"),
                "bash ci/setup (or: bash harness/probes/go/build.sh; needs Go 1.26)",
            ),
        };
        let found = match std::env::var_os(var) {
            Some(p) => Some(PathBuf::from(p)).filter(|p| p.is_file()),
            None => Some(path.clone()).filter(|p| p.is_file()),
        };
        found.ok_or_else(|| HarnessError::PeerMissing {
            peer: self.peer().to_string(),
            detail: format!("not at ${var}, not at {}", path.display()),
            install: install.to_string(),
        })
    }

    fn command(self, config: &ZeebeClientConfig) -> Result<(PathBuf, Vec<String>), HarnessError> {
        let program = self.locate()?;
        let mut args = vec!["--address".to_string(), config.address.clone()];
        if config.plaintext {
            args.push("--plaintext".to_string());
        }
        if let Some(ca) = &config.ca_path {
            args.push("--ca".to_string());
            args.push(ca.clone());
        }
        let timeout = config
            .deadline
            .saturating_sub(std::time::Duration::from_secs(1));
        match self {
            Self::Go => args.push(format!("--timeout={}ms", timeout.as_millis())),
        }
        Ok((program, args))
    }

    /// Runs the probe once and reads its JSON line.
    pub async fn topology(self, config: &ZeebeClientConfig) -> Result<Observation, HarnessError> {
        let (program, args) = self.command(config)?;
        let out = process::run(
            &program,
            &args,
            &config.env,
            &config.workdir,
            config.deadline,
        )
        .await?;
        let line = out
            .stdout
            .lines()
            .rev()
            .find(|l| l.trim_start().starts_with('{'));
        let Some(parsed) = line.and_then(|l| serde_json::from_str::<ProbeLine>(l).ok()) else {
            return Err(HarnessError::run(
                self.peer(),
                format!(
                    "the probe printed no JSON line (exit {:?}); its stderr:\n{}",
                    out.exit_code,
                    out.stderr.trim()
                ),
            ));
        };
        let mut obs = Observation {
            peer: self.peer().to_string(),
            command: Some(format!(
                "{} {}",
                program
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("probe"),
                args.join(" ")
            )),
            exit_code: out.exit_code,
            elapsed: out.elapsed,
            ..Observation::default()
        };
        if parsed.ok {
            obs.connected_brokers = Some(parsed.brokers.unwrap_or(0));
            obs.stdout = format!("Topology: {} broker(s)", parsed.brokers.unwrap_or(0));
        } else {
            // The error, then each cause that adds something, one per line.
            let mut lines = vec![parsed.error.unwrap_or_default()];
            for cause in parsed.chain {
                if !lines.iter().any(|l| l.contains(&cause)) {
                    lines.push(format!("caused by: {cause}"));
                }
            }
            obs.stderr = lines.join("\n");
        }
        Ok(obs)
    }
}
