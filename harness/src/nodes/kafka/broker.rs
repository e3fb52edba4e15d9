//! A real Apache Kafka broker (3.8.1, KRaft combined mode) as the gateway's
//! backend: `tlsmatrix.kafka.Broker` of `harness/probes/kafka-java`, started
//! as a child process and ready when it prints its `TLSMATRIX-READY` line
//! (after an AdminClient saw the broker and every listener accepted a TCP
//! connection: no sleeps).
//!
//! A broker is reused across cases whose broker configuration is identical
//! ([`KafkaBroker::acquire`]): the same listeners, users and certificate
//! chain and key (by content). A reused broker is a `--serve` process of its
//! own directory (`process::warm`); after each case the harness asks it how
//! many topics it holds, and its answer comes after every log line it wrote
//! before reading the question, so the case gets exactly the lines written
//! while it ran. A broker that holds a topic (a round trip made one), that
//! did not answer, or whose case ended in a harness error, is not given to
//! another case: the next case starts its own, as a cold run does. A case
//! without topics leaves nothing in a broker that the next one could see (no
//! records, no group, no tenant: the gateway holds the tenants).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::HarnessError;
use crate::nodes::stack::{RunningNode, StopFuture};
use crate::process::jvm::{self, JvmLaunch};
use crate::process::warm::{self, Pool, WarmProcess};
use crate::process::{ChildProcess, Hermetic, Ready, Started};

/// The peer's name in requirements and reports.
pub const PEER: &str = "kafka 3.8.1 broker";

/// How long the broker may take to become ready (measured: 2.3–3 s alone;
/// the machine may be busy).
pub const READY_DEADLINE: Duration = Duration::from_secs(90);

/// How many times a broker start that lost a port to another process is made.
pub const BIND_ATTEMPTS: u32 = 3;

/// Finds the JVM and the built probe jar (the broker's classes are in it).
pub fn locate() -> Result<PathBuf, HarnessError> {
    jvm::kafka_java().locate(PEER, jvm::KAFKA_JAVA_INSTALL)
}

/// What the broker is started with.
#[derive(Debug, Clone, Default)]
pub struct BrokerSpec {
    /// Listener names, each a protocol name (PLAINTEXT, SSL, SASL_PLAINTEXT,
    /// SASL_SSL): one listener per protocol.
    pub(crate) listeners: Vec<String>,
    /// PLAIN users of the SASL listeners.
    pub(crate) users: BTreeMap<String, String>,
    /// Certificate chain and PKCS#8 key (PEM) of the TLS listeners.
    pub(crate) tls: Option<(PathBuf, PathBuf)>,
}

/// A running broker.
#[derive(Debug)]
pub struct KafkaBroker {
    run: Run,
    listeners: BTreeMap<String, String>,
    /// Process spawn to readiness line (zero for a reused broker).
    pub(crate) start_to_ready: Duration,
}

/// How a broker runs: a process of one case, or a reused one.
enum Run {
    /// Started for this case, in its directory; stopped after it.
    Cold {
        node: Box<ChildProcess>,
        /// Told how the JVM exited, for its class-data archive.
        jvm: JvmLaunch,
    },
    /// A `--serve` broker of a pool keyed by its configuration.
    Warm {
        process: WarmProcess,
        pool: &'static Pool,
        /// Its stderr's length when this case took it.
        log_from: u64,
        /// The pool's slot this case holds (see `process::warm::Pool::slot`).
        _slot: crate::process::warm::Slot,
    },
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Run::Cold { .. } => "Cold",
            Run::Warm { .. } => "Warm",
        })
    }
}

/// How long a reused broker waits for its next case before it ends: an idle
/// KRaft broker keeps about a tenth of a core busy (measured in a default
/// matrix run: 4-5 idle brokers, 0.1 s of CPU per second), and the cases of
/// one configuration come together (one scenario file).
const BROKER_IDLE_FOR: Duration = Duration::from_secs(3);

/// How long a reused broker may take to answer after a case (it lists its
/// topics over its internal listener; milliseconds when idle).
const SERVE_ANSWER_WITHIN: Duration = Duration::from_secs(30);

impl KafkaBroker {
    /// Starts a broker in `dir/kafka-broker` (fresh per case). A broker that
    /// exits before being ready is refused with its whole stderr.
    ///
    /// The probe picks the listeners' ports by binding port 0 and closing it
    /// (KRaft needs the controller's port before the broker starts), so
    /// another process can take one in between, and the broker then stops
    /// with "Address already in use" (seen once in 969 cases under a full
    /// run). Such a start is tried again with fresh ports and a fresh
    /// directory, at most [`BIND_ATTEMPTS`] times: the ports are ours, never
    /// part of a case.
    pub async fn start(spec: &BrokerSpec, dir: &Path) -> Result<Started<Self>, HarnessError> {
        let mut attempt = 1;
        loop {
            let started = Self::start_once(spec, dir).await?;
            match started {
                Started::Refused(r)
                    if attempt < BIND_ATTEMPTS && r.message.contains("Address already in use") =>
                {
                    let _ = std::fs::remove_dir_all(dir.join("kafka-broker"));
                    attempt += 1;
                }
                other => return Ok(other),
            }
        }
    }

    /// A broker for one case: a reused one of the same configuration when
    /// warm peers are on (`process::warm::enabled`), else one started in
    /// `dir` ([`KafkaBroker::start`]). Release it with
    /// [`KafkaBroker::stop`].
    pub async fn acquire(spec: &BrokerSpec, dir: &Path) -> Result<Started<Self>, HarnessError> {
        if !warm::enabled() {
            return Self::start(spec, dir).await;
        }
        locate()?;
        let key = pool_key(spec)?;
        // One broker per configuration: cases of one configuration take
        // turns (a case is about a second; a broker's start 2-3 s of CPU).
        let pool = warm::pool_of(&key, 1, Some(BROKER_IDLE_FOR));
        let jvm = jvm::kafka_java_launch(PEER, "tlsmatrix.kafka.Broker", "-Xmx512m", dir)?;
        // The class-data archive is used when there, never written by a
        // broker that outlives the case (as a warm probe's JVM).
        let mut args: Vec<String> = jvm
            .args
            .iter()
            .filter(|a| {
                !a.starts_with("-XX:ArchiveClassesAtExit") && !a.starts_with("-Duser.home=")
            })
            .cloned()
            .collect();
        // Relative: the warm process's own working directory.
        args.extend(broker_args(spec, Path::new("kafka-broker")));
        let mut slot = pool.slot(PEER).await?;
        let t = Instant::now();
        let process = match pool
            .take(&mut slot, PEER, &jvm.java, &args, READY_DEADLINE)
            .await
        {
            Ok(p) => p,
            // A broker that did not start (a port lost to another process,
            // say) is started as a cold run does: with its retries, and its
            // refusal in the cold run's words.
            Err(e) => {
                tracing::debug!(error = %e, "a reused kafka broker did not start; starting one");
                return Self::start(spec, dir).await;
            }
        };
        let ready = serde_json::from_str::<serde_json::Value>(process.ready_line())
            .ok()
            .and_then(|v| v.get("line").and_then(|l| l.as_str()).map(str::to_string))
            .unwrap_or_default();
        let log_from = process.stderr_len();
        Ok(Started::Ready(Self {
            listeners: parse_ready(&ready),
            run: Run::Warm {
                process,
                pool,
                log_from,
                _slot: slot,
            },
            start_to_ready: t.elapsed(),
        }))
    }

    async fn start_once(spec: &BrokerSpec, dir: &Path) -> Result<Started<Self>, HarnessError> {
        locate()?;
        let jvm = jvm::kafka_java_launch(PEER, "tlsmatrix.kafka.Broker", "-Xmx512m", dir)?;
        let mut args = jvm.args.clone();
        args.extend(broker_args(spec, &dir.join("kafka-broker")));
        let cmd = Hermetic::new(&jvm.java, dir)
            .args(&args)
            .inherit_path()
            .command();
        let t = Instant::now();
        let ready = Ready::Stdout("TLSMATRIX-READY ".into());
        let started = ChildProcess::start(PEER, cmd, &ready, READY_DEADLINE).await?;
        Ok(started.map(|node| Self {
            listeners: parse_ready(node.payload()),
            run: Run::Cold {
                node: Box::new(node),
                jvm,
            },
            start_to_ready: t.elapsed(),
        }))
    }

    /// `host:port` of a listener.
    pub fn listener(&self, name: &str) -> Option<&str> {
        self.listeners.get(name).map(String::as_str)
    }

    /// Every listener by name.
    pub fn listeners(&self) -> &BTreeMap<String, String> {
        &self.listeners
    }

    /// Replaces `{backend:NAME}` in `text` with that listener's address.
    pub fn substitute(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (name, address) in &self.listeners {
            out = out.replace(&format!("{{backend:{name}}}"), address);
        }
        out
    }

    /// Stops it (SIGTERM, clean shutdown) and returns the lines of its log
    /// worth showing: failed authentications and closed connections, without
    /// times and channel ids. A reused broker is asked instead (see the
    /// module's comment), gives the lines it wrote during the case, and goes
    /// back to its pool when it holds no topic.
    pub async fn stop(self) -> Vec<String> {
        match self.run {
            Run::Cold { node, jvm } => {
                let (stderr, exit_code) = node.stop_with_exit().await;
                jvm.finish(exit_code);
                notable_lines(&stderr)
            }
            Run::Warm {
                mut process,
                pool,
                log_from,
                _slot,
            } => {
                let answer = match process.send("{}") {
                    Ok(()) => process.next_line(SERVE_ANSWER_WITHIN).await,
                    Err(_) => None,
                };
                let lines = notable_lines(&process.stderr_since(log_from));
                let clean = answer
                    .as_deref()
                    .and_then(|a| serde_json::from_str::<serde_json::Value>(a).ok())
                    .is_some_and(|v| {
                        v.get("ok") == Some(&serde_json::Value::Bool(true))
                            && v.get("topics").and_then(serde_json::Value::as_u64) == Some(0)
                    });
                warm::count_served(pool);
                if clean {
                    pool.put_back(process);
                } else {
                    tracing::debug!(?answer, "kafka broker not reused");
                }
                lines
            }
        }
    }
}

/// The pool of brokers configured as `spec`: its listeners, users and the
/// contents of its certificate chain and key (a case's files are its own,
/// but the certificate sets of one run are made once per spec, so equal
/// specs give equal contents).
fn pool_key(spec: &BrokerSpec) -> Result<String, HarnessError> {
    let mut key = format!("kafka-broker {:?} {:?}", spec.listeners, spec.users);
    if let Some((chain, private)) = &spec.tls {
        for path in [chain, private] {
            let text = std::fs::read_to_string(path).map_err(|e| HarnessError::read(path, e))?;
            key.push(' ');
            key.push_str(&text);
        }
    }
    Ok(key)
}

/// The broker's own arguments for `spec`, its data under `dir`.
fn broker_args(spec: &BrokerSpec, dir: &Path) -> Vec<String> {
    let mut args = vec!["--dir".to_string(), dir.display().to_string()];
    for l in &spec.listeners {
        args.extend(["--listener".to_string(), format!("{l}://127.0.0.1:0")]);
    }
    if !spec.users.is_empty() {
        let users: Vec<String> = spec.users.iter().map(|(u, p)| format!("{u}:{p}")).collect();
        args.extend(["--users".to_string(), users.join(",")]);
    }
    if let Some((chain, key)) = &spec.tls {
        args.extend([
            "--cert-pem".to_string(),
            chain.display().to_string(),
            "--key-pem".to_string(),
            key.display().to_string(),
        ]);
    }
    args
}

/// The listeners of a ready line (`TLSMATRIX-READY first NAME=host:port ...`).
fn parse_ready(line: &str) -> BTreeMap<String, String> {
    line.split_whitespace()
        .skip(1)
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl RunningNode for KafkaBroker {
    fn name(&self) -> &str {
        PEER
    }

    fn address(&self) -> Option<std::net::SocketAddr> {
        self.listeners.values().find_map(|a| a.parse().ok())
    }

    fn stop(self: Box<Self>) -> StopFuture {
        Box::pin(KafkaBroker::stop(*self))
    }
}

/// The broker's WARN lines that say something about a client's connection,
/// reduced to what does not vary (log time, channel id, selector ids).
pub fn notable_lines(stderr: &str) -> Vec<String> {
    let time = regex::Regex::new(r"^\[[0-9:,]+\] ").expect("valid");
    let channel = regex::Regex::new(r"channelId=[^)]*").expect("valid");
    let mut out: Vec<String> = Vec::new();
    for line in stderr.lines() {
        if !(line.contains("Unexpected error from")
            || line.contains("Failed authentication")
            || line.contains("InvalidReceiveException"))
        {
            continue;
        }
        let line = time.replace(line, "");
        let line = format!("kafka: {}", channel.replace_all(&line, "channelId=[id]"));
        if !out.contains(&line) {
            out.push(line);
        }
    }
    out
}
