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
use std::path::Path;
use std::time::{Duration, Instant};

use super::probe::Probe;
use super::ZeebeClientConfig;
use crate::error::HarnessError;
use crate::process::warm::{count_served, mirror_case_dir, pool, Request};
use crate::process::ProcessOutput;

/// Whether a case runs in a warm probe process or in one of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Temperature {
    /// In a long-lived `--serve` probe, with a fresh client.
    Warm,
    /// In a process started for the case, as a user runs the client.
    Cold,
}

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
    /// The Camunda 8 JavaScript SDK probe ([`super::camunda_sdk`]), gRPC and
    /// REST mode alike: the SDK's own modules load afresh for each case.
    CamundaSdk,
    /// The Python grpcio probe ([`super::python`]): a fresh channel and
    /// credentials per case, closed after it.
    PythonGrpcio,
}

impl WarmPeer {
    /// Its pool's name.
    fn key(self) -> &'static str {
        match self {
            Self::Zeebe(Probe::Java) => "java",
            Self::Zeebe(Probe::Node) => "node",
            Self::Zeebe(Probe::Go) => "go",
            Self::Camunda => "camunda",
            Self::KafkaJava => "kafka-java",
            Self::Spring => "spring",
            Self::CamundaSdk => "camunda-sdk",
            Self::PythonGrpcio => "python-grpcio",
        }
    }

    /// The peer's name with the pinned library version.
    pub fn peer(self) -> &'static str {
        match self {
            Self::Zeebe(probe) => probe.peer(),
            Self::Camunda => super::camunda::PEER,
            Self::KafkaJava => super::kafka_java::PEER,
            Self::Spring => super::camunda_spring::PEER,
            Self::CamundaSdk => super::camunda_sdk::PEER,
            Self::PythonGrpcio => super::python::GRPCIO_PEER,
        }
    }
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
///   by Node at start; proxies). The working directory and home are set per
///   case with `process.chdir` and `process.env`, Node's own API, and
///   zeebe-node's own modules are loaded afresh for each case (Node's module
///   cache, `require.cache`), so what zeebe-node reads when it loads (its
///   OAuth token cache directory from `os.homedir()`) comes from the case's
///   environment: its OAuth cases run warm;
/// - the Camunda 8 JavaScript SDK: the same, with `CAMUNDA_*` beside
///   `ZEEBE_*` (the SDK reads its whole configuration with typed-env when it
///   loads: its own modules load afresh for each case; `DEBUG`, read by the
///   `debug` package when it loads, runs cold);
/// - Python grpcio: any variable but `ZEEBE_*` (which the probe itself
///   reads per case, from `os.environ` set for the case with the working
///   directory): gRPC core reads `GRPC_*` (its trace flags, its default roots
///   `GRPC_DEFAULT_SSL_ROOTS_FILE_PATH`) and the proxy variables once per
///   process, so a case that sets one runs cold.
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
            WarmPeer::Zeebe(Probe::Node) => config.env.keys().all(|k| k.starts_with("ZEEBE_")),
            WarmPeer::CamundaSdk => config
                .env
                .keys()
                .all(|k| k.starts_with("ZEEBE_") || k.starts_with("CAMUNDA_")),
            WarmPeer::PythonGrpcio => config.env.keys().all(|k| k.starts_with("ZEEBE_")),
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

pub use crate::process::warm::{enabled, served, set_enabled, shutdown};

/// Runs one case in a warm `peer`: `program launch_args --serve` when no idle
/// process is there, then `probe_args` with the case's environment, working
/// directory and home. The answer comes as the one-shot probe's output would:
/// its JSON line on stdout, its exit code. The process goes back to the pool
/// unless the case may have left something behind in it (see
/// [`reusable_after`]), it did not answer within `bound`, or it died.
///
/// `bound` is the bound the cold process would have had (the call's deadline
/// plus the runtime's start-up allowance), less the class-data dump a warm
/// JVM never makes: the first case of a warm process loads the client's
/// classes as a cold process does (a Spring application's first context
/// takes seconds on a loaded machine before any archive exists), so a warm
/// case never has less time than its cold run would.
pub async fn run(
    warm_peer: WarmPeer,
    program: &Path,
    launch_args: &[String],
    probe_args: &[String],
    env: &BTreeMap<String, String>,
    workdir: &Path,
    bound: Duration,
) -> Result<ProcessOutput, HarnessError> {
    let peer = warm_peer.peer();
    let pool = pool(warm_peer.key());
    let mut slot = pool.slot(peer).await?;
    let allowance = super::probe::RUNTIME_STARTUP_ALLOWANCE;
    let mut process = pool
        .take(&mut slot, peer, program, launch_args, allowance)
        .await?;
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
        let cwd = process.cwd();
        mirror_case_dir(&cwd, workdir).map_err(|e| HarnessError::write(&cwd, e))?;
    }
    if let Err(e) = process.send(&request) {
        return Err(HarnessError::protocol(
            peer,
            format!(
                "the warm probe took no request ({e}); its stderr:\n{}",
                process.stderr_tail()
            ),
        ));
    }
    let Some(line) = process.next_line(bound).await else {
        // Dropping the process kills it: a hung client is not reused.
        return Ok(ProcessOutput {
            exit_code: None,
            stdout: String::new(),
            stderr: format!(
                "tlsmatrix: the warm probe gave no answer within {bound:?}; its stderr:\n{}",
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
    count_served(pool);
    if reusable_after(warm_peer, &line) {
        pool.put_back(process);
    } else {
        drop(process);
        pool.start_spare(peer, program, launch_args, allowance);
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
/// failed to connect is not gone after `close()` (grpc-js 1.9.7 restarts the
/// closed channel's load balancer and re-resolves an IP-literal address in a
/// busy loop); the probe retires it before answering (`retire` in
/// `probes/node-warm.js`) and ends its process after the answer, marked
/// `"last":true`, only when a subchannel of it is left in grpc-js's
/// process-wide pool. The Camunda SDK probe does the same with grpc-js
/// 1.14.7 (no busy loop, but the closed channel still reconnects). A Kafka Java client process ends itself when its
/// case's clients did not close within their bound; a Spring starter process
/// when its case's watchdog fired (the same mark).
fn reusable_after(peer: WarmPeer, line: &str) -> bool {
    match peer {
        WarmPeer::Zeebe(Probe::Node)
        | WarmPeer::CamundaSdk
        | WarmPeer::KafkaJava
        | WarmPeer::Spring => !line.contains("\"last\":true"),
        WarmPeer::Zeebe(Probe::Java | Probe::Go) | WarmPeer::Camunda | WarmPeer::PythonGrpcio => {
            true
        }
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
