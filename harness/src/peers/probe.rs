//! Real client libraries driven through small probe programs (Go, Java, Node,
//! under `harness/probes/<lang>/`): each takes `--address`, `--plaintext`,
//! `--ca` and a timeout, calls Topology once with the library's own settings
//! (the library applies the `ZEEBE_*` environment itself), and prints one JSON
//! line: `{"ok":true,"brokers":N,...}` or `{"ok":false,"error":"...","chain":[...]}`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Observation, ZeebeClientConfig};
use crate::error::HarnessError;
use crate::process;
use crate::process::jvm::{JvmLaunch, ProbeJar};

/// Extra time a JVM or Node.js probe gets to start before its call's own
/// timeout begins to matter.
pub const RUNTIME_STARTUP_ALLOWANCE: std::time::Duration = std::time::Duration::from_secs(15);

/// A client library probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// The official Go client (`github.com/camunda/zeebe/clients/go/v8`).
    Go,
    /// The official Java client (`io.camunda:zeebe-client-java`).
    Java,
    /// The Node client (`zeebe-node` from npm).
    Node,
}

/// A probe's command line.
struct Launch {
    program: PathBuf,
    args: Vec<String>,
    /// For the Java probe: the JVM launch, told when it has exited.
    jvm: Option<JvmLaunch>,
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
            Self::Java => "java-client 8.4.21",
            Self::Node => "zeebe-node 8.3.2",
        }
    }

    /// Finds the built probe (and its runtime), or says how to build it.
    pub fn locate(self) -> Result<PathBuf, HarnessError> {
        self.program(&[]).map(|p| p.program)
    }

    /// The program to run and the arguments that precede the probe's own;
    /// `jvm_flags` go to a JVM only.
    fn program(self, jvm_flags: &[String]) -> Result<Launch, HarnessError> {
        let missing = |detail: String, install: &str| HarnessError::PeerMissing {
            peer: self.peer().to_string(),
            detail,
            install: install.to_string(),
        };
        let on_path = |name: &str| process::locate("TLSMATRIX_NO_SUCH_OVERRIDE", "", name);
        let plain = |program, args| Launch {
            program,
            args,
            jvm: None,
        };
        match self {
            Self::Go => {
                let path = probes_dir().join("go/bin/zeebe-go-probe");
                let found = match std::env::var_os("TLSMATRIX_GO_PROBE") {
                    Some(p) => Some(PathBuf::from(p)).filter(|p| p.is_file()),
                    None => Some(path.clone()).filter(|p| p.is_file()),
                };
                let program = found.ok_or_else(|| {
                    missing(
                        format!("not at $TLSMATRIX_GO_PROBE, not at {}", path.display()),
                        "bash ci/setup (or: bash harness/probes/go/build.sh; needs Go 1.26)",
                    )
                })?;
                Ok(plain(program, Vec::new()))
            }
            Self::Java => {
                let install = "bash ci/setup (or: bash harness/probes/java/build.sh; needs a JDK 17 and Maven)";
                let mut flags = jvm_flags.to_vec();
                flags.push("-Xss512k".to_string());
                let launch = ProbeJar::new("java").launch(
                    self.peer(),
                    install,
                    "tlsmatrix.probe.JavaClientProbe",
                    &flags,
                )?;
                Ok(Launch {
                    program: launch.java.clone(),
                    args: launch.args.clone(),
                    jvm: Some(launch),
                })
            }
            Self::Node => {
                let dir = probes_dir().join("node");
                let install =
                    "bash ci/setup (or: bash harness/probes/node/build.sh; needs Node 20 and npm)";
                let node = on_path("node")
                    .ok_or_else(|| missing("no `node` on PATH".to_string(), install))?;
                if !dir.join("node_modules/zeebe-node").is_dir() {
                    return Err(missing(
                        format!("{} has no node_modules/zeebe-node", dir.display()),
                        install,
                    ));
                }
                Ok(plain(
                    node,
                    vec![dir.join("probe.js").display().to_string()],
                ))
            }
        }
    }

    fn command(self, config: &ZeebeClientConfig) -> Result<Launch, HarnessError> {
        // The JVM takes its home from the password database, not $HOME:
        // without this the Java client's OAuth credentials cache
        // (~/.camunda/credentials, keyed by client id) lands in the real home
        // directory and hands a later case an earlier case's token (measured).
        let home = [format!("-Duser.home={}", config.workdir.display())];
        let mut launch = self.program(&home)?;
        let args = &mut launch.args;
        args.extend(config.flags("--address", "--plaintext", "--ca"));
        let timeout = config
            .deadline
            .saturating_sub(std::time::Duration::from_secs(2));
        match self {
            Self::Go => args.push(format!("--timeout={}ms", timeout.as_millis())),
            Self::Java | Self::Node => {
                args.push("--timeout-ms".to_string());
                args.push(timeout.as_millis().to_string());
            }
        }
        Ok(launch)
    }

    /// Runs the probe once and reads its JSON line.
    pub async fn topology(self, config: &ZeebeClientConfig) -> Result<Observation, HarnessError> {
        let Launch { program, args, jvm } = self.command(config)?;
        // The call's own timeout is passed to the probe (above); the process
        // bound adds room for the runtime to start (a JVM on a loaded 2-core
        // machine took several seconds before main(), measured under
        // `run --repeat 20` beside two builds), which is not what a case tests.
        let runtime_start = match self {
            Self::Go => std::time::Duration::ZERO,
            Self::Java | Self::Node => RUNTIME_STARTUP_ALLOWANCE,
        };
        let startup = runtime_start
            + jvm
                .as_ref()
                .map_or(std::time::Duration::ZERO, JvmLaunch::dump_allowance);
        let out = match super::warm::temperature(super::warm::WarmPeer::Zeebe(self), config) {
            super::warm::Temperature::Warm => {
                // The cold run's bound, less the dump (see `warm::run`).
                let launch = self.program(&[])?;
                super::warm::run(
                    super::warm::WarmPeer::Zeebe(self),
                    &launch.program,
                    &super::warm::launch_prefix(&launch.args),
                    &super::warm::probe_args(&args),
                    &config.env,
                    &config.workdir,
                    config.deadline + runtime_start,
                )
                .await?
            }
            super::warm::Temperature::Cold => {
                let out = process::run(
                    &program,
                    &args,
                    &config.env,
                    &config.workdir,
                    config.deadline + startup,
                )
                .await?;
                if let Some(jvm) = &jvm {
                    jvm.finish(out.exit_code);
                }
                out
            }
        };
        read_line(self.peer(), &program, &args, &out)
    }
}

/// Reads a probe's JSON line (the last line of its stdout that starts with
/// `{`) into an observation: the broker count on success, else the error and
/// each cause that adds something, one per line. Shared by every probe that
/// prints this line, whatever its language.
pub(crate) fn read_line(
    peer: &str,
    program: &Path,
    args: &[String],
    out: &process::ProcessOutput,
) -> Result<Observation, HarnessError> {
    let line = out
        .stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'));
    let Some(parsed) = line.and_then(|l| serde_json::from_str::<ProbeLine>(l).ok()) else {
        return Err(HarnessError::protocol(
            peer,
            format!(
                "the probe printed no JSON line (exit {:?}); its stderr:\n{}",
                out.exit_code,
                out.stderr.trim()
            ),
        ));
    };
    let mut obs = Observation {
        peer: peer.to_string(),
        command: Some(format!(
            "{} {}",
            program
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("probe"),
            // Classpaths and script paths vary by checkout: show the probe's own flags.
            args.iter()
                .skip_while(|a| *a != "--address")
                .cloned()
                .collect::<Vec<_>>()
                .join(" ")
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
