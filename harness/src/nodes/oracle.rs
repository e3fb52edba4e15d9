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
use crate::process::warm::{mirror_case_dir, Pool, Request, WarmProcess};
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
    running: Running,
    port: u16,
    tls: bool,
}

/// Where the gateway runs.
enum Running {
    /// A JVM of its own.
    Cold {
        node: Box<ChildProcess>,
        /// Told how the JVM exited, for its class-data archive.
        jvm: JvmLaunch,
    },
    /// A warm `--serve` JVM of its release's pool, lent for this case.
    Warm {
        process: WarmProcess,
        pool: &'static Pool,
        _slot: crate::process::warm::Slot,
    },
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Cold { node, .. } => f.debug_struct("Cold").field("node", node).finish(),
            Self::Warm { .. } => f.write_str("Warm"),
        }
    }
}

/// The variables the oracle reads from its environment (its
/// `loadConfig`): the network and security keys of the Zeebe gateway.
const ORACLE_ENV: [&str; 7] = [
    "ZEEBE_GATEWAY_NETWORK_HOST",
    "ZEEBE_GATEWAY_NETWORK_PORT",
    "ZEEBE_GATEWAY_SECURITY_ENABLED",
    "ZEEBE_GATEWAY_SECURITY_CERTIFICATECHAINPATH",
    "ZEEBE_GATEWAY_SECURITY_PRIVATEKEYPATH",
    "ZEEBE_GATEWAY_SECURITY_KEYSTORE_FILEPATH",
    "ZEEBE_GATEWAY_SECURITY_KEYSTORE_PASSWORD",
];

/// Whether a gateway may start in a warm oracle JVM. The oracle reads its
/// configuration (the `--config` file and `ORACLE_ENV`) per gateway, in
/// `start`; what a JVM reads once is the rest of its environment
/// (`JAVA_TOOL_OPTIONS`, `NETTY_ORACLE_LOG_LEVEL`, read when logging is set
/// up) and its working directory. So a case runs cold when its gateway gets
/// any other variable, or when its configuration climbs out of the case
/// directory with `..` (the warm JVM's working directory mirrors the case
/// directory's entries, so any other relative path names the same file by
/// the same text: see `process::warm::mirror_case_dir`).
fn warm_allowed(config: Option<&str>, env: &EnvMap, workdir: &Path) -> bool {
    let climbs = |text: &str| text.contains("..");
    let config_climbs = config.is_some_and(|c| {
        climbs(c) || std::fs::read_to_string(workdir.join(c)).is_ok_and(|t| climbs(&t))
    });
    crate::process::warm::enabled()
        && !config_climbs
        && env
            .iter()
            .all(|(k, v)| ORACLE_ENV.contains(&k.as_str()) && !climbs(v))
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
        if warm_allowed(config, env, workdir) {
            return Self::start_warm(config, env, workdir, release).await;
        }
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
            tls: mode.contains("TLS"),
            running: Running::Cold {
                node: Box::new(node),
                jvm,
            },
            port,
        }))
    }

    /// [`Self::start`] in a warm oracle JVM of the release's pool (see
    /// `NettyOracleGateway.serve`): the same arguments and environment as a
    /// request, the case directory mirrored into its working directory. A
    /// refusal is the one-shot oracle's stderr, so the same lines.
    async fn start_warm(
        config: Option<&str>,
        env: &EnvMap,
        workdir: &Path,
        release: Option<&str>,
    ) -> Result<Started<Self>, HarnessError> {
        let release = release.unwrap_or(crate::version::newest_runtime());
        let keystore = crate::version::ProductRuntime::of(Some(release)).keystore;
        let properties = [
            "-Djava.util.logging.manager=tlsmatrix.probe.KeepLogsLogManager".into(),
            format!("-Dtlsmatrix.keystore={keystore}"),
        ];
        let jvm = probe_jar(Some(release)).launch(
            "netty-oracle",
            INSTALL,
            "tlsmatrix.probe.NettyOracleGateway",
            &properties,
        )?;
        // A warm JVM never writes the class-data archive (it would at exit,
        // after this process).
        let launch_args: Vec<String> = jvm
            .args
            .iter()
            .filter(|a| !a.starts_with("-XX:ArchiveClassesAtExit"))
            .cloned()
            .collect();
        let pool = crate::process::warm::pool(&format!("netty-oracle-{release}"));
        let deadline = ready_deadline();
        let mut slot = pool.slot("netty-oracle").await?;
        let mut process = pool
            .take(&mut slot, "netty-oracle", &jvm.java, &launch_args, deadline)
            .await?;
        let cwd = process.cwd();
        mirror_case_dir(&cwd, workdir).map_err(|e| HarnessError::write(&cwd, e))?;
        let mut env = env.clone();
        env.insert("ZEEBE_GATEWAY_NETWORK_HOST".into(), "127.0.0.1".into());
        env.insert("ZEEBE_GATEWAY_NETWORK_PORT".into(), "0".into());
        let args: Vec<String> = config
            .map(|c| vec!["--config".to_string(), c.to_string()])
            .unwrap_or_default();
        let answer = exchange(
            &mut process,
            &Request {
                args: &args,
                env: &env,
                cwd: workdir,
                home: workdir,
            },
            deadline,
        )
        .await?;
        if let Some(listening) = answer.get("listening").and_then(|v| v.as_str()) {
            let rest = listening
                .strip_prefix("netty-oracle listening on ")
                .unwrap_or(listening);
            let (addr, mode) = rest.split_once(' ').unwrap_or((rest, ""));
            let port = addr
                .rsplit(':')
                .next()
                .and_then(|p| p.parse().ok())
                .ok_or_else(|| {
                    HarnessError::protocol("netty-oracle", format!("no port in: {rest}"))
                })?;
            crate::process::warm::count_served(pool);
            return Ok(Started::Ready(Self {
                tls: mode.contains("TLS"),
                running: Running::Warm {
                    process,
                    pool,
                    _slot: slot,
                },
                port,
            }));
        }
        if answer.get("exit").is_none() {
            return Err(HarnessError::protocol(
                "netty-oracle",
                format!("the warm oracle answered neither listening nor exit: {answer}"),
            ));
        }
        // It refused: the process is clean (no gateway started), and goes back.
        crate::process::warm::count_served(pool);
        let stderr = stderr_of(&answer);
        give_back(pool, process, &answer);
        let lines = operator_lines(&stderr).join("\n");
        Ok(Started::Refused(Refusal::new("netty-oracle", lines)))
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
        let stderr = match self.running {
            Running::Cold { node, jvm } => {
                let node = *node;
                let (stderr, exit_code) = node.stop_with_exit().await;
                jvm.finish(exit_code);
                stderr
            }
            Running::Warm {
                mut process, pool, ..
            } => {
                // The one-shot oracle's shutdown hook is bounded by 7 s.
                match exchange_line(&mut process, "stop", Duration::from_secs(15)).await {
                    Ok(answer) => {
                        let stderr = stderr_of(&answer);
                        give_back(pool, process, &answer);
                        stderr
                    }
                    Err(e) => e.to_string(),
                }
            }
        };
        let mut seen = std::collections::HashSet::new();
        operator_lines(&stderr)
            .into_iter()
            .filter(|l| seen.insert(l.clone()))
            .collect()
    }
}

/// Sends one request to a warm oracle and reads its JSON answer.
async fn exchange(
    process: &mut WarmProcess,
    request: &Request<'_>,
    within: Duration,
) -> Result<serde_json::Value, HarnessError> {
    let line = serde_json::to_string(request).map_err(|e| HarnessError::run("netty-oracle", e))?;
    exchange_line(process, &line, within).await
}

async fn exchange_line(
    process: &mut WarmProcess,
    line: &str,
    within: Duration,
) -> Result<serde_json::Value, HarnessError> {
    process.send(line).map_err(|e| {
        HarnessError::protocol(
            "netty-oracle",
            format!(
                "the warm oracle took no request ({e}); its stderr:\n{}",
                process.stderr_tail()
            ),
        )
    })?;
    let Some(answer) = process.next_line(within).await else {
        return Err(HarnessError::deadline(
            "netty-oracle",
            format!(
                "the warm oracle gave no answer within {within:?}; its stderr:\n{}",
                process.stderr_tail()
            ),
        ));
    };
    serde_json::from_str(&answer)
        .map_err(|e| HarnessError::protocol("netty-oracle", format!("answer {answer:?}: {e}")))
}

/// The `stderr` of a warm oracle's answer: what its gateway wrote and logged.
fn stderr_of(answer: &serde_json::Value) -> String {
    answer
        .get("stderr")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string()
}

/// Puts a warm oracle back in its pool, unless its gateway did not stop
/// within its bounds (`"last":true`: the process exits, and is dropped).
fn give_back(pool: &'static Pool, process: WarmProcess, answer: &serde_json::Value) {
    if answer.get("last").is_none() {
        pool.put_back(process);
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
