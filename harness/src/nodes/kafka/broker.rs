//! A real Apache Kafka broker (3.8.1, KRaft combined mode) as the gateway's
//! backend: `tlsmatrix.kafka.Broker` of `harness/probes/kafka-java`, started
//! as a child process and ready when it prints its `TLSMATRIX-READY` line
//! (after an AdminClient saw the broker and every listener accepted a TCP
//! connection: no sleeps).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::HarnessError;
use crate::nodes::stack::{RunningNode, StopFuture};
use crate::process::jvm::{self, JvmLaunch};
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
    node: ChildProcess,
    /// Told how the JVM exited, for its class-data archive.
    jvm: JvmLaunch,
    listeners: BTreeMap<String, String>,
    /// Process spawn to readiness line.
    pub(crate) start_to_ready: Duration,
}

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

    async fn start_once(spec: &BrokerSpec, dir: &Path) -> Result<Started<Self>, HarnessError> {
        locate()?;
        let jvm = jvm::kafka_java_launch(PEER, "tlsmatrix.kafka.Broker", "-Xmx512m", dir)?;
        let mut args = jvm.args.clone();
        args.extend([
            "--dir".to_string(),
            dir.join("kafka-broker").display().to_string(),
        ]);
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
        let cmd = Hermetic::new(&jvm.java, dir)
            .args(&args)
            .inherit_path()
            .command();
        let t = Instant::now();
        let ready = Ready::Stdout("TLSMATRIX-READY ".into());
        let started = ChildProcess::start(PEER, cmd, &ready, READY_DEADLINE).await?;
        Ok(started.map(|node| {
            let listeners = node
                .payload()
                .split_whitespace()
                .skip(1)
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            Self {
                node,
                jvm,
                listeners,
                start_to_ready: t.elapsed(),
            }
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
    /// times and channel ids.
    pub async fn stop(self) -> Vec<String> {
        let (stderr, exit_code) = self.node.stop_with_exit().await;
        self.jvm.finish(exit_code);
        notable_lines(&stderr)
    }
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
