//! The official Java Kafka client (`org.apache.kafka:kafka-clients` 3.8.1),
//! driven through `tlsmatrix.kafka.ClientProbe` (`harness/probes/kafka-java`):
//! AdminClient `describeCluster`, then optionally a producer and a
//! group-less consumer; one JSON line on stdout. A case runs in a warm
//! `--serve` JVM with fresh clients unless [`warm::kafka_temperature`] says
//! cold; then in a JVM of its own.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::kcat::KafkaClientConfig;
use super::warm::{self, Temperature, WarmPeer};
use super::Observation;
use crate::config::EnvMap;
use crate::error::HarnessError;
use crate::outcome::Outcome;
use crate::process;
use crate::process::jvm::{self, JvmLaunch};

/// The peer's name, with the pinned library version.
pub const PEER: &str = "kafka-clients 3.8.1";

/// How to build it.
pub const INSTALL: &str = jvm::KAFKA_JAVA_INSTALL;

/// Finds the JVM and the built probe jar, or says how to build them.
pub fn locate() -> Result<PathBuf, HarnessError> {
    jvm::kafka_java().locate(PEER, INSTALL)
}

/// The JVM command for a main class of the probe jar (`heap`: `-Xmx…`), see
/// [`jvm::kafka_java_launch`].
pub fn launch(main: &str, heap: &str, workdir: &Path) -> Result<JvmLaunch, HarnessError> {
    jvm::kafka_java_launch(PEER, main, heap, workdir)
}

#[derive(Debug, Deserialize)]
struct ProbeLine {
    ok: bool,
    #[serde(default)]
    brokers: u32,
    #[serde(default)]
    produced: u32,
    #[serde(default)]
    consumed: u32,
    #[serde(default)]
    stage: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    warning: Option<String>,
}

/// The command line as reports show it: the password replaced, the JVM's
/// class path left out.
fn shown_command(args: &[String]) -> String {
    let mut shown = vec!["java … tlsmatrix.kafka.ClientProbe".to_string()];
    let mut hide = false;
    for a in args {
        if hide {
            shown.push("[redacted]".into());
            hide = false;
        } else if let Some((k, _)) = a.split_once('=').filter(|(k, _)| k.ends_with("password")) {
            // --prop ssl.keystore.password=...
            shown.push(format!("{k}=[redacted]"));
        } else {
            hide = a == "--password";
            shown.push(a.clone());
        }
    }
    shown.join(" ")
}

/// Runs `ClientProbe`: `describeCluster`, then `records` records produced and
/// consumed back when `records > 0`.
pub async fn run(
    c: &KafkaClientConfig,
    topic: &str,
    records: u32,
) -> Result<Observation, HarnessError> {
    let args = probe_args(c, topic, records);
    let jvm = launch("tlsmatrix.kafka.ClientProbe", "-Xmx256m", &c.workdir)?;
    let env: EnvMap = std::env::var("PATH")
        .map(|p| [("PATH".to_string(), p)].into_iter().collect())
        .unwrap_or_default();
    let paths = c.ca.iter().map(String::as_str).chain(
        c.properties
            .iter()
            .filter(|(k, _)| k.ends_with(".location"))
            .map(|(_, v)| v.as_str()),
    );
    let out = match warm::kafka_temperature(&c.workdir, paths) {
        // kafka-clients reads no environment variable: the request's is empty.
        Temperature::Warm => {
            warm::run(
                WarmPeer::KafkaJava,
                &jvm.java,
                &warm::launch_prefix(&jvm.args),
                &args,
                &EnvMap::new(),
                &c.workdir,
                // The cold run's bound, less the dump (see `warm::run`).
                c.deadline,
            )
            .await?
        }
        Temperature::Cold => {
            let mut full = jvm.args.clone();
            full.extend(args.iter().cloned());
            let deadline = c.deadline + jvm.dump_allowance();
            let out = process::run(&jvm.java, &full, &env, &c.workdir, deadline).await?;
            jvm.finish(out.exit_code);
            out
        }
    };
    Ok(observation(&out, &args, records))
}

/// The probe's arguments (after the JVM's): the client's settings, the
/// round trip when `records > 0`, and its own deadline.
fn probe_args(c: &KafkaClientConfig, topic: &str, records: u32) -> Vec<String> {
    let mut args = vec![
        "--bootstrap".to_string(),
        c.bootstrap.clone(),
        "--security-protocol".into(),
        c.security_protocol.clone(),
    ];
    let mut flag = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            args.push(format!("--{k}"));
            args.push(v.clone());
        }
    };
    flag("sasl-mechanism", &c.sasl_mechanism);
    flag("username", &c.username);
    flag("password", &c.password);
    flag("ca-pem", &c.ca);
    for (k, v) in &c.properties {
        args.extend(["--prop".to_string(), format!("{k}={v}")]);
    }
    if records > 0 {
        args.extend([
            "--topic".into(),
            topic.into(),
            "--produce".into(),
            records.to_string(),
            "--consume".into(),
            records.to_string(),
        ]);
    }
    // The probe's own deadline, then 3 s for the JVM to start and stop.
    let budget = c.deadline.saturating_sub(std::time::Duration::from_secs(3));
    args.extend(["--timeout-ms".into(), budget.as_millis().to_string()]);
    args
}

/// What the probe's output says: its JSON line read into an observation.
fn observation(out: &process::ProcessOutput, args: &[String], records: u32) -> Observation {
    let mut obs = Observation {
        peer: PEER.to_string(),
        command: Some(shown_command(args)),
        exit_code: out.exit_code,
        elapsed: out.elapsed,
        ..Observation::default()
    };
    let line = out.stdout.lines().find(|l| l.starts_with('{'));
    match line.map(serde_json::from_str::<ProbeLine>) {
        Some(Ok(p)) if p.ok => {
            obs.direct = Some(Outcome::Succeeded);
            obs.stdout = if records > 0 {
                format!(
                    "describeCluster: {} broker(s); produced {} and consumed {} records",
                    p.brokers, p.produced, p.consumed
                )
            } else {
                format!("describeCluster: {} broker(s)", p.brokers)
            };
        }
        Some(Ok(p)) => {
            let mut text = format!(
                "stage {}: {}",
                p.stage.unwrap_or_default(),
                p.error.unwrap_or_default()
            );
            if let Some(w) = p.warning {
                text.push_str("\nlast NetworkClient warning: ");
                text.push_str(&w);
            }
            obs.stderr = text;
        }
        _ => {
            let tail: Vec<&str> = out.stderr.lines().rev().take(5).collect();
            obs.stderr = format!(
                "ClientProbe printed no result line (exit {:?}); its last log lines:\n{}",
                out.exit_code,
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
    }
    obs
}
