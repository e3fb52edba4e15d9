//! The netty-oracle backend: the small grpc-java/Netty gateway under
//! `harness/probes/java/` (the open server stack Zeebe's gateway runs on), run
//! as a child process from the same Zeebe YAML and environment as the
//! reference. Ready when it prints its listening line; killed on drop.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::EnvMap;
use crate::error::HarnessError;
use crate::nodes::stack::{RunningNode, StopFuture};
use crate::process::jvm::{JvmLaunch, ProbeJar};
use crate::process::{ChildProcess, Hermetic, Ready, Refusal, Started};

/// How long the JVM may take to print its listening line
/// (`TLSMATRIX_ORACLE_READY_SECS` overrides it).
pub const READY_DEADLINE: Duration = Duration::from_secs(60);

fn ready_deadline() -> Duration {
    std::env::var("TLSMATRIX_ORACLE_READY_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(READY_DEADLINE, Duration::from_secs)
}

/// A running netty-oracle gateway.
#[derive(Debug)]
pub struct NettyOracle {
    node: ChildProcess,
    /// Told how the JVM exited, for its class-data archive.
    jvm: JvmLaunch,
    port: u16,
    tls: bool,
}

/// The install hint for the oracle.
pub const INSTALL: &str =
    "bash ci/setup (or: bash harness/probes/java/build.sh; needs a JDK 17 and Maven)";

/// The oracle's build for one modelled release (the newest when `None`):
/// `harness/probes/java/target/oracle-<release>`, built by `build.sh` with the
/// Netty, grpc-java, netty-tcnative and BouncyCastle of
/// `harness/probes/java/versions/<release>.properties`.
pub fn probe_jar(release: Option<&str>) -> ProbeJar {
    let release = release.unwrap_or(crate::version::newest_runtime());
    ProbeJar::at(
        ProbeJar::new("java")
            .target()
            .join(format!("oracle-{release}")),
    )
}

/// The `java` launcher, checked, with the oracle of the newest modelled
/// release built, or how to get them.
pub fn locate() -> Result<PathBuf, HarnessError> {
    probe_jar(None).locate("netty-oracle", INSTALL)
}

/// Keeps the lines an operator reads at INFO: the log header without its
/// timestamp, and the exception line; stack frames and shutdown chatter go.
pub fn operator_lines(stderr: &str) -> Vec<String> {
    let stamp = regex::Regex::new(r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:.]+ ").expect("valid");
    stderr
        .lines()
        .filter(|l| {
            !l.starts_with(char::is_whitespace) && !l.starts_with("netty-oracle: shutting down")
        })
        .filter(|l| !l.trim().is_empty() && !l.starts_with("Caused by") && !l.starts_with("..."))
        .map(|l| stamp.replace(l, "").into_owned())
        .collect()
}

impl NettyOracle {
    /// Starts the oracle with `--config config` (relative to `workdir`) and the
    /// gateway's environment, forced onto 127.0.0.1 and a free port.
    /// `release` picks the build of that release's runtime (the newest
    /// modelled release when `None`). A refusal (as Zeebe's at startup)
    /// says its stderr, stack frames left out.
    pub async fn start(
        config: Option<&str>,
        env: &EnvMap,
        workdir: &Path,
        release: Option<&str>,
    ) -> Result<Started<Self>, HarnessError> {
        // Keeps log lines written while the shutdown hook drains the server;
        // a release before 8.6.0 does not bind the keyStore keys.
        let keystore = crate::version::ProductRuntime::of(release).keystore;
        let properties = [
            "-Djava.util.logging.manager=tlsmatrix.probe.KeepLogsLogManager".into(),
            format!("-Dtlsmatrix.keystore={keystore}"),
        ];
        let jvm = probe_jar(release).launch(
            "netty-oracle",
            INSTALL,
            "tlsmatrix.probe.NettyOracleGateway",
            &properties,
        )?;
        let mut cmd = Hermetic::new(&jvm.java, workdir).args(&jvm.args);
        if let Some(config) = config {
            cmd = cmd.args(["--config", config]);
        }
        let cmd = cmd
            .home()
            .envs(env)
            .env("ZEEBE_GATEWAY_NETWORK_HOST", "127.0.0.1")
            .env("ZEEBE_GATEWAY_NETWORK_PORT", "0")
            .command();
        let started = ChildProcess::start(
            "netty-oracle",
            cmd,
            &Ready::Stdout("netty-oracle listening on ".into()),
            ready_deadline(),
        )
        .await?;
        let node = match started {
            Started::Refused(r) => {
                let lines = operator_lines(&r.message).join("\n");
                return Ok(Started::Refused(Refusal::new(r.node, lines)));
            }
            Started::Ready(node) => node,
        };
        let rest = node.payload();
        let (addr, mode) = rest.split_once(' ').unwrap_or((rest, ""));
        let port = addr
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| HarnessError::protocol("netty-oracle", format!("no port in: {rest}")))?;
        Ok(Started::Ready(Self {
            jvm,
            tls: mode.contains("TLS"),
            node,
            port,
        }))
    }

    /// The port it listens on (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// True when it serves TLS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Stops it with SIGTERM (its shutdown hook closes the server, so every log
    /// line is written) and returns its operator-level log lines.
    pub async fn stop(self) -> Vec<String> {
        let (stderr, exit_code) = self.node.stop_with_exit().await;
        self.jvm.finish(exit_code);
        let mut seen = std::collections::HashSet::new();
        operator_lines(&stderr)
            .into_iter()
            .filter(|l| seen.insert(l.clone()))
            .collect()
    }
}

impl RunningNode for NettyOracle {
    fn name(&self) -> &str {
        "netty-oracle"
    }

    fn address(&self) -> Option<std::net::SocketAddr> {
        Some(([127, 0, 0, 1], self.port).into())
    }

    fn stop(self: Box<Self>) -> StopFuture {
        Box::pin(NettyOracle::stop(*self))
    }
}
