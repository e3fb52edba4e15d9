//! The real `zbctl` (npm package `zbctl`, pinned by `ci/setup`), driven with
//! `--address`, `--insecure`, `--certPath` and the Zeebe environment variables.

use std::path::PathBuf;

use super::{Observation, ZeebeClientConfig};
use crate::error::HarnessError;
use crate::process::{self, tools};

/// The npm package version `ci/setup` installs.
pub const PINNED_VERSION: &str = "8.4.1";

/// How to install it.
pub const INSTALL: &str = tools::ZBCTL.install;

/// Where the real binary lies: `$TLSMATRIX_ZBCTL`, the tools directory, or `PATH`.
pub fn locate() -> Result<PathBuf, HarnessError> {
    tools::ZBCTL.locate()
}

/// Runs `zbctl status` with the flags the configuration asks for.
pub async fn status(config: &ZeebeClientConfig) -> Result<Observation, HarnessError> {
    status_with(config, &[]).await
}

/// [`status`] with extra flags after the connection flags (OAuth:
/// `--clientId`, `--clientSecret`, `--authzUrl`, `--audience`). The secret's
/// value is shown as `[redacted]` in the observation's command.
pub async fn status_with(
    config: &ZeebeClientConfig,
    extra: &[String],
) -> Result<Observation, HarnessError> {
    let bin = locate()?;
    let mut args = vec!["status".to_string()];
    args.extend(config.flags("--address", "--insecure", "--certPath"));
    args.extend(extra.iter().cloned());
    // zbctl's own request timeout stays below our deadline so that its message,
    // not our kill, is what a hang produces.
    let timeout = config
        .deadline
        .saturating_sub(std::time::Duration::from_secs(1))
        .max(std::time::Duration::from_secs(1));
    args.push("--requestTimeout".to_string());
    args.push(format!("{}ms", timeout.as_millis()));
    let out = process::run(&bin, &args, &config.env, &config.workdir, config.deadline).await?;
    let connected_brokers = (out.exit_code == Some(0))
        .then(|| brokers_in_status(&out.stdout))
        .flatten();
    Ok(Observation {
        peer: format!("zbctl {PINNED_VERSION}"),
        command: Some(format!("zbctl {}", shown(&args).join(" "))),
        exit_code: out.exit_code,
        stdout: out.stdout,
        stderr: out.stderr,
        connected_brokers,
        elapsed: out.elapsed,
        ..Observation::default()
    })
}

/// The arguments with the value of `--clientSecret` replaced.
fn shown(args: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut secret_next = false;
    for a in args {
        if secret_next {
            out.push("[redacted]".to_string());
            secret_next = false;
        } else if a.starts_with("--clientSecret=") {
            out.push("--clientSecret=[redacted]".to_string());
        } else {
            secret_next = a == "--clientSecret";
            out.push(a.clone());
        }
    }
    out
}

/// The broker count of `zbctl status` text output (`Cluster size: N` and one
/// `Broker N - host:port` line each).
pub fn brokers_in_status(stdout: &str) -> Option<u32> {
    if !stdout.contains("Cluster size:") {
        return None;
    }
    Some(
        stdout
            .lines()
            .filter(|l| l.trim_start().starts_with("Broker "))
            .count() as u32,
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_brokers() {
        let text = "Cluster size: 2\nPartitions count: 2\nBrokers:\n  Broker 0 - broker-0:26501\n    Version: 8.4.0\n  Broker 1 - broker-1:26501\n";
        assert_eq!(super::brokers_in_status(text), Some(2));
        assert_eq!(super::brokers_in_status("Error: x"), None);
    }
}
