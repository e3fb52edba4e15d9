//! Warm real peers: one long-lived probe process per peer kind and job slot
//! serves cases over a line protocol, instead of a JVM or a Node.js process
//! per case. The peers that run warm ([`WarmPeer`]): the Zeebe Java client,
//! zeebe-node, the Camunda Java client (gRPC and REST), the Java Kafka client
//! and the Camunda Spring Boot starter.
//!
//! A probe started with `--serve` prints `{"ready":true}` once its client
//! library is loaded, then reads one JSON request per line on stdin,
//! `{"args":[...],"env":{...},"cwd":"...","home":"..."}` (the one-shot probe's
//! own arguments and the case's environment, working directory and home), and
//! answers each with the one-shot probe's JSON line plus `"exit":N`. Each
//! request builds a fresh client. A process serves one request at a time; it
//! ends when its stdin closes (this process exiting closes it), is killed on
//! drop, and is registered with the child registry, so an interrupt reaps it.
//!
//! Which case runs warm is decided by [`temperature`], and only there.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::probe::Probe;
use super::ZeebeClientConfig;
use crate::error::HarnessError;
use crate::process::{forget_child, register_child, ProcessOutput};

/// Whether a case runs in a warm probe process or in one of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Temperature {
    /// In a long-lived `--serve` probe, with a fresh client.
    Warm,
    /// In a process started for the case, as a user runs the client.
    Cold,
}

/// Processes at most per peer kind: one per job slot (`run --jobs` is 4 by
/// default, at most a few more), so a pool never outgrows the cases in flight.
const MAX_PROCESSES: usize = 8;

/// Environment variables the Java client reads through its own
/// `Environment.system()` when a client is built, which the warm probe sets
/// and removes again with `Environment.put`/`remove` (zeebe-client-java
/// 8.4.21, read from the class files: `System.getenv` is called only inside
/// `io.camunda.zeebe.client.impl.util.Environment`). `ZeebeClientBuilderImpl
/// .build()` reads the connection variables; when `ZEEBE_CLIENT_ID` and
/// `ZEEBE_CLIENT_SECRET` are set it builds an `OAuthCredentialsProvider`,
/// whose builder reads the OAuth variables in `checkEnvironmentOverrides()`
/// and the default credentials cache path from `user.home` in
/// `applyDefaults()` (the warm probe sets `user.home` per case), all per
/// client. The token call is one `HttpURLConnection` POST per client; the
/// JDK's keep-alive cache is process-wide, but each case's token server has
/// its own port and is gone when its case ends, and a POST on a connection
/// the server closed is sent again on a fresh one (`sun.net.http.retryPost`,
/// true by default), so a connection left from an earlier case changes
/// nothing the case sees.
const JAVA_PER_CLIENT_ENV: [&str; 15] = [
    "ZEEBE_INSECURE_CONNECTION",
    "ZEEBE_CA_CERTIFICATE_PATH",
    "ZEEBE_KEEP_ALIVE",
    "ZEEBE_OVERRIDE_AUTHORITY",
    "ZEEBE_CLIENT_WORKER_STREAM_ENABLED",
    "ZEEBE_DEFAULT_TENANT_ID",
    "ZEEBE_DEFAULT_JOB_WORKER_TENANT_IDS",
    "ZEEBE_CLIENT_USE_DEFAULT_RETRY_POLICY",
    "ZEEBE_CLIENT_ID",
    "ZEEBE_CLIENT_SECRET",
    "ZEEBE_TOKEN_AUDIENCE",
    "ZEEBE_TOKEN_SCOPE",
    "ZEEBE_AUTHORIZATION_SERVER_URL",
    "ZEEBE_AUTH_READ_TIMEOUT",
    "ZEEBE_AUTH_CONNECT_TIMEOUT",
];

/// The variables of [`JAVA_PER_CLIENT_ENV`] that name a file the client
/// opens relative to the JVM's working directory. `ZEEBE_CLIENT_CONFIG_PATH`
/// (the credentials cache, which the client writes) is not in the set: a
/// file the client creates would land in the warm JVM's mirror, not in the
/// case directory, so such a case runs cold.
const JAVA_PATH_ENV: [&str; 1] = ["ZEEBE_CA_CERTIFICATE_PATH"];

/// Environment variables the Camunda Java client reads through its own
/// `io.camunda.client.impl.util.Environment.system()` when a client is built
/// (`BuilderUtils.applyEnvironmentValueIfNotNull` in
/// `CamundaClientBuilderImpl.build()`; names from
/// `CamundaClientEnvironmentVariables` and
/// `LegacyZeebeClientEnvironmentVariables`, camunda-client-java 8.9.0
/// sources jar), which the warm probe sets and removes again with
/// `Environment.put`/`remove`. The OAuth and basic-auth variables are not
/// here (credentials cache under `user.home`, the JDK's process-wide HTTP
/// keep-alive cache), nor `CAMUNDA_CLIENT_*` (the Spring starter's, not this
/// client's).
const CAMUNDA_PER_CLIENT_ENV: [&str; 15] = [
    "CAMUNDA_CA_CERTIFICATE_PATH",
    "CAMUNDA_KEEP_ALIVE",
    "CAMUNDA_OVERRIDE_AUTHORITY",
    "CAMUNDA_REST_ADDRESS",
    "CAMUNDA_GRPC_ADDRESS",
    "CAMUNDA_PREFER_REST",
    "CAMUNDA_DEFAULT_TENANT_ID",
    "ZEEBE_INSECURE_CONNECTION",
    "ZEEBE_CA_CERTIFICATE_PATH",
    "ZEEBE_KEEP_ALIVE",
    "ZEEBE_OVERRIDE_AUTHORITY",
    "ZEEBE_REST_ADDRESS",
    "ZEEBE_GRPC_ADDRESS",
    "ZEEBE_PREFER_REST",
    "ZEEBE_DEFAULT_TENANT_ID",
];

/// The variables of [`CAMUNDA_PER_CLIENT_ENV`] that name a file the client
/// opens relative to the JVM's working directory.
const CAMUNDA_PATH_ENV: [&str; 2] = ["CAMUNDA_CA_CERTIFICATE_PATH", "ZEEBE_CA_CERTIFICATE_PATH"];

/// A peer that can run warm: its own pool of `--serve` processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarmPeer {
    /// A Zeebe client probe (Go never runs warm).
    Zeebe(Probe),
    /// The Camunda Java client probe ([`super::camunda`]), gRPC and REST mode
    /// alike (the mode is an argument of each request).
    Camunda,
    /// The Java Kafka client probe ([`super::kafka_java`]): its working
    /// directory mirrors the case directory (see [`mirror_case_dir`]).
    KafkaJava,
    /// The Camunda Spring Boot starter probe ([`super::camunda_spring`]): a
    /// fresh Spring application per case, its working directory mirroring
    /// the case directory (see [`spring_temperature`]).
    Spring,
}

impl WarmPeer {
    /// The peer's name with the pinned library version.
    pub fn peer(self) -> &'static str {
        match self {
            Self::Zeebe(probe) => probe.peer(),
            Self::Camunda => super::camunda::PEER,
            Self::KafkaJava => super::kafka_java::PEER,
            Self::Spring => super::camunda_spring::PEER,
        }
    }
}

/// zeebe-node's OAuth variables: its `OAuthProvider` takes the token cache
/// directory from `os.homedir()` once, when the module loads.
const NODE_OAUTH_ENV: [&str; 8] = [
    "ZEEBE_CLIENT_ID",
    "ZEEBE_CLIENT_SECRET",
    "ZEEBE_AUTHORIZATION_SERVER_URL",
    "ZEEBE_TOKEN_AUDIENCE",
    "ZEEBE_TOKEN_SCOPE",
    "ZEEBE_TOKEN_CACHE_DIR",
    "ZEEBE_CAMUNDA_CLOUD_CLUSTER_ID",
    "ZEEBE_CLIENT_CUSTOM_AGENT_STRING",
];

static DISABLED: AtomicBool = AtomicBool::new(false);

/// Cases served warm by this process so far.
static SERVED: AtomicU64 = AtomicU64::new(0);

/// How many cases this process has run in warm probes (the meta-test checks
/// that its warm pass really was warm).
pub fn served() -> u64 {
    SERVED.load(Ordering::SeqCst)
}

/// Turns warm peers off (`false`) or back on for this process; the
/// environment variable `TLSMATRIX_PEERS=cold` turns them off too. The
/// warm-vs-cold meta-test and `tlsmatrix bench` switch with it.
pub fn set_enabled(enabled: bool) {
    DISABLED.store(!enabled, Ordering::SeqCst);
}

/// True unless [`set_enabled`]`(false)` or `TLSMATRIX_PEERS=cold`.
pub fn enabled() -> bool {
    !DISABLED.load(Ordering::SeqCst)
        && std::env::var("TLSMATRIX_PEERS").map_or(true, |v| v != "cold")
}

/// Decides whether a probe case runs warm. The rule: a case runs cold when it
/// gives the client anything the client (or its runtime) reads only once per
/// process, or that a process has only one of:
///
/// - every Go case (a Go probe starts in milliseconds; nothing to gain);
/// - a case with a hosts file (`hosts:`): its peer sees it as `/etc/hosts` in
///   a mount namespace of its own, made when the process starts;
/// - Java: an environment variable other than `JAVA_PER_CLIENT_ENV` (e.g.
///   `JAVA_TOOL_OPTIONS`, read by the JVM at start, with the `javax.net.ssl.*`
///   properties and the default `SSLContext` behind it),
///   and a path the client would open relative to its working directory that
///   the warm probe cannot give it verbatim: a JVM's working directory is
///   fixed at start, so the warm probe resolves a relative `--ca` against the
///   case directory, which is the same file only when it is a regular file
///   there (else the client's error would name another path); a
///   `ZEEBE_CA_CERTIFICATE_PATH` goes to the client verbatim and is opened
///   against the warm JVM's working directory, which mirrors the case
///   directory ([`mirror_case_dir`]), so only an empty one or one that
///   climbs out with `..` runs cold ([`mirrored_path`]);
/// - the Camunda Java client: the same rule with its own names
///   (`CAMUNDA_PER_CLIENT_ENV`; `CAMUNDA_CA_CERTIFICATE_PATH` and
///   `ZEEBE_CA_CERTIFICATE_PATH` as above), so the Spring
///   starter's `CAMUNDA_CLIENT_*` and the Camunda client's OAuth variables
///   run cold;
/// - Node: an environment variable not starting with `ZEEBE_` (`GRPC_*`, read
///   by grpc-js when it loads; `NODE_EXTRA_CA_CERTS` and `NODE_OPTIONS`, read
///   by Node at start; proxies) or one of `NODE_OAUTH_ENV` (the token cache
///   directory comes from `os.homedir()` once, at load). The working
///   directory and home are set per case with `process.chdir` and
///   `process.env`, Node's own API.
pub fn temperature(peer: WarmPeer, config: &ZeebeClientConfig) -> Temperature {
    // A JVM's working directory is fixed at start: the warm probe resolves a
    // relative `--ca` against the case directory, which is the same file
    // only when it is a regular file there.
    let ca_flag_is_warm = || {
        config.ca_path.as_ref().is_none_or(|ca| {
            !ca.is_empty() && std::fs::metadata(config.workdir.join(ca)).is_ok_and(|m| m.is_file())
        })
    };
    let warm = enabled()
        && crate::hosts::case_file(&config.workdir).is_none()
        && match peer {
            WarmPeer::Zeebe(Probe::Go) => false,
            WarmPeer::Zeebe(Probe::Java) => {
                config.env.iter().all(|(k, v)| {
                    JAVA_PER_CLIENT_ENV.contains(&k.as_str())
                        && (!JAVA_PATH_ENV.contains(&k.as_str()) || mirrored_path(v))
                }) && ca_flag_is_warm()
            }
            WarmPeer::Camunda => {
                config.env.iter().all(|(k, v)| {
                    CAMUNDA_PER_CLIENT_ENV.contains(&k.as_str())
                        && (!CAMUNDA_PATH_ENV.contains(&k.as_str()) || mirrored_path(v))
                }) && ca_flag_is_warm()
            }
            WarmPeer::Zeebe(Probe::Node) => config
                .env
                .keys()
                .all(|k| k.starts_with("ZEEBE_") && !NODE_OAUTH_ENV.contains(&k.as_str())),
            WarmPeer::KafkaJava | WarmPeer::Spring => false,
        };
    if warm {
        Temperature::Warm
    } else {
        Temperature::Cold
    }
}

/// Decides whether a Java Kafka client case runs warm. kafka-clients reads no
/// environment variable: its whole configuration is the `Properties` the
/// probe builds from its arguments, fresh for each case. What a process has
/// only one of is its working directory, which the warm process's mirrors
/// (symbolic links to the case directory's entries, [`mirror_case_dir`]), so
/// a relative path names the same file by the same text, unless it climbs
/// out of it with `..`; and the hosts file. So a case runs cold when it has a
/// hosts file (`hosts:`) or a relative path with a `..` component among
/// `paths` (the CA file and every `*.location` property).
pub fn kafka_temperature<'a>(
    workdir: &Path,
    paths: impl IntoIterator<Item = &'a str>,
) -> Temperature {
    let mut paths = paths.into_iter();
    if enabled() && crate::hosts::case_file(workdir).is_none() && paths.all(mirrored_path) {
        Temperature::Warm
    } else {
        Temperature::Cold
    }
}

/// Names in an environment variable or a Spring property key that mark
/// credentials: the OAuth token call goes through the JDK's process-wide HTTP
/// keep-alive cache and the credentials cache under `user.home`, so such a
/// case runs cold.
const SPRING_AUTH_MARKS: [&str; 6] = [
    "AUTH",
    "SECRET",
    "CLIENT_ID",
    "CLIENTID",
    "TOKEN",
    "PASSWORD",
];

/// Names in an environment variable or a Spring property key that mark a
/// file the client or Spring opens relative to the working directory.
const SPRING_PATH_MARKS: [&str; 5] = ["PATH", "CERT", "LOCATION", "STORE", "FILE"];

/// Decides whether a Camunda Spring Boot starter case runs warm. Spring reads
/// environment variables only through its environment's `systemEnvironment`
/// property source, which the warm probe replaces per case with one over the
/// case's variables (`SpringApplication.configureEnvironment`); command-line
/// properties are the request's arguments; `./config/application.yaml` and
/// relative CA paths are opened in the warm JVM's working directory, which
/// mirrors the case directory ([`mirror_case_dir`]). So a case runs cold when
///
/// - it has a hosts file (`hosts:`);
/// - an environment variable does not start with `CAMUNDA_`, `ZEEBE_` or
///   `SPRING_` (`JAVA_TOOL_OPTIONS` and the like are read by the JVM at
///   start);
/// - a variable or a `--name=value` argument is about credentials
///   (`SPRING_AUTH_MARKS`);
/// - the CA path, or the value of a variable or argument that names a file
///   (`SPRING_PATH_MARKS`), is empty or climbs out with `..`
///   ([`mirrored_path`]).
pub fn spring_temperature(config: &ZeebeClientConfig, args: &[String]) -> Temperature {
    let marked = |name: &str, marks: &[&str]| {
        let upper = name.to_ascii_uppercase().replace(['-', '.'], "_");
        marks.iter().any(|m| upper.contains(m))
    };
    let env_warm = config.env.iter().all(|(k, v)| {
        ["CAMUNDA_", "ZEEBE_", "SPRING_"]
            .iter()
            .any(|p| k.starts_with(p))
            && !marked(k, &SPRING_AUTH_MARKS)
            && (!marked(k, &SPRING_PATH_MARKS) || mirrored_path(v))
    });
    let args_warm = args.iter().all(|a| {
        let (k, v) = a.split_once('=').unwrap_or((a, ""));
        !marked(k, &SPRING_AUTH_MARKS) && (!marked(k, &SPRING_PATH_MARKS) || mirrored_path(v))
    });
    let warm = enabled()
        && crate::hosts::case_file(&config.workdir).is_none()
        && env_warm
        && args_warm
        && config.ca_path.as_deref().is_none_or(mirrored_path);
    if warm {
        Temperature::Warm
    } else {
        Temperature::Cold
    }
}

/// Whether a path a client opens names the same file, by the same text, in a
/// warm JVM as in a JVM started in the case directory: an absolute path, or a
/// relative one that stays inside the directory the warm process's working
/// directory mirrors ([`mirror_case_dir`]). An empty path is not (what a
/// client makes of it is its own business).
fn mirrored_path(path: &str) -> bool {
    let p = Path::new(path);
    !path.is_empty()
        && (p.is_absolute()
            || !p
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir)))
}

/// Makes `cwd` (a warm process's working directory) hold a symbolic link to
/// each entry of the case directory `case`, by the same name, and nothing
/// else, so a path relative to the working directory names the case's file.
fn mirror_case_dir(cwd: &Path, case: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(cwd)? {
        let path = entry?.path();
        if std::fs::symlink_metadata(&path)?.is_dir() {
            std::fs::remove_dir_all(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    for entry in std::fs::read_dir(case)? {
        let entry = entry?;
        std::os::unix::fs::symlink(entry.path(), cwd.join(entry.file_name()))?;
    }
    Ok(())
}

/// One request of the line protocol.
#[derive(Serialize)]
struct Request<'a> {
    args: &'a [String],
    env: &'a BTreeMap<String, String>,
    cwd: &'a Path,
    home: &'a Path,
}

/// A running `--serve` probe.
struct WarmProcess {
    child: Child,
    stdin: ChildStdin,
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
    /// Its home (its log inside) and, in `cwd/`, its working directory;
    /// removed after it.
    _dir: tempfile::TempDir,
}

impl Drop for WarmProcess {
    /// Kills the process and waits for it (SIGKILL ends it at once).
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        forget_child(Some(self.child.id()));
    }
}

impl WarmProcess {
    /// Starts `program args --serve` with an empty environment but `HOME`, in
    /// a directory of its own, and waits (bounded) for its ready line.
    async fn start(
        peer: &str,
        program: &Path,
        args: &[String],
        ready_within: Duration,
    ) -> Result<Self, HarnessError> {
        let dir = tempfile::Builder::new()
            .prefix("tlsmatrix-warm-")
            .tempdir()
            .map_err(|e| HarnessError::write(std::env::temp_dir(), e))?;
        let log = dir.path().join("stderr.log");
        let stderr = std::fs::File::create(&log).map_err(|e| HarnessError::write(&log, e))?;
        let cwd = dir.path().join("cwd");
        std::fs::create_dir(&cwd).map_err(|e| HarnessError::write(&cwd, e))?;
        let mut child = std::process::Command::new(program)
            .args(args)
            .arg("--serve")
            .env_clear()
            .env("HOME", dir.path())
            .current_dir(&cwd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|e| {
                HarnessError::start_failed(
                    program.display().to_string(),
                    format!("cannot start: {e}"),
                )
            })?;
        register_child(Some(child.id()));
        let (stdin, stdout) = match (child.stdin.take(), child.stdout.take()) {
            (Some(i), Some(o)) => (i, o),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                forget_child(Some(child.id()));
                return Err(HarnessError::start_failed(
                    peer,
                    "no pipes to the warm probe",
                ));
            }
        };
        // A plain thread reads the lines: the pool outlives any one tokio
        // runtime, and a channel can be awaited from whichever runs the case.
        let (tx, lines) = tokio::sync::mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut process = Self {
            child,
            stdin,
            lines,
            _dir: dir,
        };
        let ready = process.next_line(ready_within).await;
        match ready {
            Some(line) if line.contains("\"ready\":true") => Ok(process),
            other => Err(HarnessError::deadline(
                peer,
                format!(
                    "the warm probe did not print its ready line within {ready_within:?} \
                     (got {other:?}); its stderr:\n{}",
                    process.stderr_tail()
                ),
            )),
        }
    }

    /// The next line, or `None` at end of output or after `within`.
    async fn next_line(&mut self, within: Duration) -> Option<String> {
        tokio::time::timeout(within, self.lines.recv())
            .await
            .ok()
            .flatten()
    }

    fn stderr_tail(&self) -> String {
        let text = std::fs::read_to_string(self._dir.path().join("stderr.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

/// The warm processes of one peer kind.
struct Pool {
    idle: Mutex<Vec<WarmProcess>>,
    slots: tokio::sync::Semaphore,
    /// Cases this pool has served (a pool that has served one expects more:
    /// see [`Pool::start_spare`]).
    served: AtomicU64,
    /// A spare process is being started in the background.
    starting: AtomicBool,
    /// Told when a spare start ended (its process is idle, or it failed).
    spare_done: tokio::sync::Notify,
}

impl Pool {
    /// An idle process, else the spare under way (waiting for it is never
    /// longer than starting one), else a process of the case's own.
    async fn take(
        &self,
        peer: &str,
        program: &Path,
        launch_args: &[String],
    ) -> Result<WarmProcess, HarnessError> {
        loop {
            let spare = self.spare_done.notified();
            tokio::pin!(spare);
            spare.as_mut().enable();
            if let Some(p) = self.idle.lock().ok().and_then(|mut idle| idle.pop()) {
                return Ok(p);
            }
            if self.starting.load(Ordering::SeqCst)
                && tokio::time::timeout(super::probe::RUNTIME_STARTUP_ALLOWANCE, spare)
                    .await
                    .is_ok()
            {
                continue;
            }
            return WarmProcess::start(
                peer,
                program,
                launch_args,
                super::probe::RUNTIME_STARTUP_ALLOWANCE,
            )
            .await;
        }
    }

    /// Starts one spare process in the background when a case left none
    /// idle: a zeebe-node process ends itself after a failed case (see
    /// [`reusable_after`]), and the next case would otherwise wait for a
    /// Node.js start and zeebe-node's load. Only a pool that has already
    /// served a case does this (a process that runs one case, as each
    /// nextest test does, never starts one it will not use), and at most one
    /// spare is under way at a time. The spare is the same `--serve` process
    /// the case would have started itself, started earlier: what a case sees
    /// does not change. A spare that fails to start is dropped; the next case
    /// starts its own and reports that failure.
    fn start_spare(&'static self, peer: &'static str, program: &Path, launch_args: &[String]) {
        let idle_empty = self
            .idle
            .lock()
            .map(|idle| idle.is_empty())
            .unwrap_or(false);
        if !idle_empty
            || self.served.load(Ordering::SeqCst) < 2
            || self.starting.swap(true, Ordering::SeqCst)
        {
            return;
        }
        let program = program.to_path_buf();
        let launch_args = launch_args.to_vec();
        let spawned = std::thread::Builder::new()
            .name("tlsmatrix-warm-spare".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(runtime) = runtime {
                    let started = runtime.block_on(WarmProcess::start(
                        peer,
                        &program,
                        &launch_args,
                        super::probe::RUNTIME_STARTUP_ALLOWANCE,
                    ));
                    if let (Ok(process), Ok(mut idle)) = (started, self.idle.lock()) {
                        if enabled() {
                            idle.push(process);
                        }
                    }
                }
                self.starting.store(false, Ordering::SeqCst);
                self.spare_done.notify_waiters();
            });
        if spawned.is_err() {
            self.starting.store(false, Ordering::SeqCst);
        }
    }
}

fn pool(peer: WarmPeer) -> &'static Pool {
    static JAVA: OnceLock<Pool> = OnceLock::new();
    static NODE: OnceLock<Pool> = OnceLock::new();
    static GO: OnceLock<Pool> = OnceLock::new();
    static CAMUNDA: OnceLock<Pool> = OnceLock::new();
    static KAFKA_JAVA: OnceLock<Pool> = OnceLock::new();
    static SPRING: OnceLock<Pool> = OnceLock::new();
    let cell = match peer {
        WarmPeer::Zeebe(Probe::Java) => &JAVA,
        WarmPeer::Zeebe(Probe::Node) => &NODE,
        WarmPeer::Zeebe(Probe::Go) => &GO,
        WarmPeer::Camunda => &CAMUNDA,
        WarmPeer::KafkaJava => &KAFKA_JAVA,
        WarmPeer::Spring => &SPRING,
    };
    cell.get_or_init(|| Pool {
        idle: Mutex::new(Vec::new()),
        slots: tokio::sync::Semaphore::new(MAX_PROCESSES),
        served: AtomicU64::new(0),
        starting: AtomicBool::new(false),
        spare_done: tokio::sync::Notify::new(),
    })
}

/// Ends every idle warm process of this process (the bench measures cold
/// start after it; a run's processes otherwise end with it).
pub fn shutdown() {
    for peer in [
        WarmPeer::Zeebe(Probe::Java),
        WarmPeer::Zeebe(Probe::Node),
        WarmPeer::Zeebe(Probe::Go),
        WarmPeer::Camunda,
        WarmPeer::KafkaJava,
        WarmPeer::Spring,
    ] {
        if let Ok(mut idle) = pool(peer).idle.lock() {
            idle.clear();
        }
    }
}

/// Runs one case in a warm `peer`: `program launch_args --serve` when no idle
/// process is there, then `probe_args` with the case's environment, working
/// directory and home. The answer comes as the one-shot probe's output would:
/// its JSON line on stdout, its exit code. The process goes back to the pool
/// unless the case may have left something behind in it (see
/// [`reusable_after`]), it did not answer within `deadline`, or it died.
pub async fn run(
    warm_peer: WarmPeer,
    program: &Path,
    launch_args: &[String],
    probe_args: &[String],
    env: &BTreeMap<String, String>,
    workdir: &Path,
    deadline: Duration,
) -> Result<ProcessOutput, HarnessError> {
    let peer = warm_peer.peer();
    let pool = pool(warm_peer);
    let _slot = tokio::time::timeout(deadline, pool.slots.acquire())
        .await
        .map_err(|_| {
            HarnessError::deadline(peer, "no warm probe slot came free before the deadline")
        })?
        .map_err(|e| HarnessError::run(peer, e))?;
    let mut process = pool.take(peer, program, launch_args).await?;
    let start = Instant::now();
    let request = serde_json::to_string(&Request {
        args: probe_args,
        env,
        cwd: workdir,
        home: workdir,
    })
    .map_err(|e| HarnessError::run(peer, e))?;
    if matches!(
        warm_peer,
        WarmPeer::KafkaJava | WarmPeer::Camunda | WarmPeer::Zeebe(Probe::Java) | WarmPeer::Spring
    ) {
        let cwd = process._dir.path().join("cwd");
        mirror_case_dir(&cwd, workdir).map_err(|e| HarnessError::write(&cwd, e))?;
    }
    if let Err(e) = writeln!(process.stdin, "{request}").and_then(|()| process.stdin.flush()) {
        return Err(HarnessError::protocol(
            peer,
            format!(
                "the warm probe took no request ({e}); its stderr:\n{}",
                process.stderr_tail()
            ),
        ));
    }
    let Some(line) = process.next_line(deadline).await else {
        // Dropping the process kills it: a hung client is not reused.
        return Ok(ProcessOutput {
            exit_code: None,
            stdout: String::new(),
            stderr: format!(
                "tlsmatrix: the warm probe gave no answer within {deadline:?}; its stderr:\n{}",
                process.stderr_tail()
            ),
            elapsed: start.elapsed(),
            timed_out: true,
        });
    };
    let exit_code = serde_json::from_str::<serde_json::Value>(&line)
        .ok()
        .and_then(|v| v.get("exit").and_then(serde_json::Value::as_i64))
        .map(|c| c as i32);
    SERVED.fetch_add(1, Ordering::SeqCst);
    pool.served.fetch_add(1, Ordering::SeqCst);
    if reusable_after(warm_peer, &line) {
        if let Ok(mut idle) = pool.idle.lock() {
            idle.push(process);
        }
    } else {
        drop(process);
        pool.start_spare(peer, program, launch_args);
    }
    Ok(ProcessOutput {
        exit_code,
        stdout: line,
        stderr: String::new(),
        elapsed: start.elapsed(),
        timed_out: false,
    })
}

/// Whether a warm process is clean after a case answered `line`. A Java
/// client closes its channel and event loops. A zeebe-node client that
/// failed to connect is not gone after `close()`: grpc-js 1.9.7 keeps
/// re-resolving an IP-literal address in a busy loop, and its subchannel pool
/// is process-wide, so the Node process of a failed case ends itself right
/// after its answer (as the one-shot probe exits, before the loop reaches the
/// gateway again) and a fresh one serves the next case. A Kafka Java
/// client process ends itself when its case's clients did not close within
/// their bound (its answer says `"last":true`); a Spring starter process when
/// its case's watchdog fired (the same mark).
fn reusable_after(peer: WarmPeer, line: &str) -> bool {
    match peer {
        WarmPeer::Zeebe(Probe::Node) => line.starts_with("{\"ok\":true"),
        WarmPeer::KafkaJava | WarmPeer::Spring => !line.contains("\"last\":true"),
        WarmPeer::Zeebe(Probe::Java | Probe::Go) | WarmPeer::Camunda => true,
    }
}

/// The probe's program with every argument before its own (`--address` and
/// after): what a warm process of it is started with. A JVM's class-data
/// archive is used when there, never written by a warm JVM (it would be
/// written when the JVM exits, after this process).
pub fn launch_prefix(args: &[String]) -> Vec<String> {
    args.iter()
        .take_while(|a| *a != "--address")
        .filter(|a| !a.starts_with("-XX:ArchiveClassesAtExit") && !a.starts_with("-Duser.home="))
        .cloned()
        .collect()
}

/// The probe's own arguments (from `--address` on).
pub fn probe_args(args: &[String]) -> Vec<String> {
    args.iter()
        .skip_while(|a| *a != "--address")
        .cloned()
        .collect()
}
