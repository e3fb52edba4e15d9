//! The real `kcat` (librdkafka; Debian package, installed by `ci/setup`),
//! driven with `-X` properties the way a Kafka user configures a client:
//! `-L` for metadata, `-P` then `-C` for a produce/consume round trip.

use std::path::PathBuf;
use std::time::Duration;

use super::Observation;
use crate::config::EnvMap;
use crate::error::HarnessError;
use crate::outcome::Outcome;
use crate::process::{self, tools};

/// How to install it.
pub const INSTALL: &str = tools::KCAT.install;

/// Finds kcat.
pub fn locate() -> Result<PathBuf, HarnessError> {
    tools::KCAT.locate()
}

/// A Kafka client's connection settings. Its `Debug` shows no password
/// (`sasl.password`, nor a property whose name holds `password`).
#[derive(Clone)]
pub struct KafkaClientConfig {
    /// `host:port`.
    pub(crate) bootstrap: String,
    /// `security.protocol`.
    pub(crate) security_protocol: String,
    /// `sasl.mechanisms`.
    pub(crate) sasl_mechanism: Option<String>,
    /// `sasl.username`.
    pub(crate) username: Option<String>,
    /// `sasl.password` (a credential: never shown, see [`shown_command`]).
    pub(crate) password: Option<String>,
    /// `ssl.ca.location`.
    pub(crate) ca: Option<String>,
    /// Further client properties as the user sets them
    /// (`ssl.endpoint.identification.algorithm`, `ssl.keystore.location`, ...):
    /// kcat's `-X`, the Java client's properties.
    pub(crate) properties: Vec<(String, String)>,
    /// Working directory.
    pub(crate) workdir: PathBuf,
    /// Bound on each run.
    pub(crate) deadline: Duration,
}

impl std::fmt::Debug for KafkaClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaClientConfig")
            .field("bootstrap", &self.bootstrap)
            .field("security_protocol", &self.security_protocol)
            .field("sasl_mechanism", &self.sasl_mechanism)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("ca", &self.ca)
            .field(
                "properties",
                &self
                    .properties
                    .iter()
                    .map(|(k, v)| {
                        let shown = if k.contains("password") {
                            "<redacted>"
                        } else {
                            v
                        };
                        (k, shown)
                    })
                    .collect::<Vec<_>>(),
            )
            .field("workdir", &self.workdir)
            .field("deadline", &self.deadline)
            .finish()
    }
}

impl KafkaClientConfig {
    /// A `PLAINTEXT` client of `bootstrap` (`host:port`) in `workdir`, with no
    /// SASL, CA or further properties, each run bounded by 10 s.
    pub fn new(bootstrap: impl Into<String>, workdir: impl Into<PathBuf>) -> Self {
        Self {
            bootstrap: bootstrap.into(),
            security_protocol: "PLAINTEXT".to_string(),
            sasl_mechanism: None,
            username: None,
            password: None,
            ca: None,
            properties: Vec::new(),
            workdir: workdir.into(),
            deadline: Duration::from_secs(10),
        }
    }

    /// `security.protocol` (`PLAINTEXT`, `SSL`, `SASL_PLAINTEXT`, `SASL_SSL`).
    pub fn with_security_protocol(mut self, protocol: impl Into<String>) -> Self {
        self.security_protocol = protocol.into();
        self
    }

    /// `sasl.mechanisms` with `sasl.username` and `sasl.password`.
    pub fn with_sasl(
        mut self,
        mechanism: impl Into<String>,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        self.sasl_mechanism = Some(mechanism.into());
        self.username = Some(username.into());
        self.password = Some(password.into());
        self
    }

    /// `ssl.ca.location`, relative to the working directory.
    pub fn with_ca(mut self, path: impl Into<String>) -> Self {
        self.ca = Some(path.into());
        self
    }

    /// One further client property, as the user sets it.
    pub fn with_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.push((name.into(), value.into()));
        self
    }

    /// Bounds each run.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// `host:port` it bootstraps from.
    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// `security.protocol`.
    pub fn security_protocol(&self) -> &str {
        &self.security_protocol
    }

    /// `sasl.mechanisms`, if set.
    pub fn sasl_mechanism(&self) -> Option<&str> {
        self.sasl_mechanism.as_deref()
    }

    /// `sasl.username`, if set (the password has no getter: a credential).
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    /// `ssl.ca.location`, if set.
    pub fn ca(&self) -> Option<&str> {
        self.ca.as_deref()
    }

    /// The further properties, in the order set.
    pub fn properties(&self) -> &[(String, String)] {
        &self.properties
    }

    /// The working directory.
    pub fn workdir(&self) -> &std::path::Path {
        &self.workdir
    }

    /// The bound on each run.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }
}

/// kcat's `-m`, the metadata timeout in seconds. A listing that succeeds
/// returns as soon as the answer arrives (10–120 ms on loopback, measured),
/// so this bounds failures only: librdkafka reconnects until it expires, and
/// every failing case waited the whole of it. The diagnosis a case keeps is
/// librdkafka's first log line, printed at the first failed attempt, and
/// kcat's closing `% ERROR`, which does not depend on how many attempts fit.
/// At kcat's default of 5 s the failing Kafka cases were the longest of the
/// matrix; 2 s leaves loopback's slowest success (under `run --repeat` on a
/// loaded machine) an order of magnitude of room.
pub const METADATA_TIMEOUT_SECS: u32 = 2;

fn common_args(c: &KafkaClientConfig) -> Vec<String> {
    let mut args = vec![
        "-b".to_string(),
        c.bootstrap.clone(),
        "-m".into(),
        METADATA_TIMEOUT_SECS.to_string(),
    ];
    let mut prop = |k: &str, v: &str| {
        args.push("-X".into());
        args.push(format!("{k}={v}"));
    };
    prop("security.protocol", &c.security_protocol);
    if let Some(m) = &c.sasl_mechanism {
        prop("sasl.mechanisms", m);
    }
    if let Some(u) = &c.username {
        prop("sasl.username", u);
    }
    if let Some(p) = &c.password {
        prop("sasl.password", p);
    }
    if let Some(ca) = &c.ca {
        prop("ssl.ca.location", ca);
    }
    for (k, v) in &c.properties {
        prop(k, v);
    }
    args
}

/// The command line as reports show it: the password replaced (kcat itself
/// gets it from a 0600 file, see [`password_to_file`]).
pub fn shown_command(args: &[String]) -> String {
    let shown: Vec<String> = args
        .iter()
        .map(|a| match a.split_once('=') {
            // sasl.password, ssl.keystore.password, ssl.key.password, ...
            Some((k, _)) if k.ends_with("password") => format!("{k}=[redacted]"),
            _ => a.clone(),
        })
        .collect();
    format!("kcat {}", shown.join(" "))
}

/// The arguments kcat really gets: a `-X sasl.password=...` pair is taken
/// off the command line (where `/proc/PID/cmdline` shows it to every user)
/// and written, mode 0600, to a configuration file of its own in the working
/// directory (the case directory), given with `-F`; the file is removed after
/// the run. Reports still show the property, redacted ([`shown_command`]).
fn password_to_file(
    args: &[String],
    workdir: &std::path::Path,
) -> Result<(Vec<String>, Option<PathBuf>), HarnessError> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let Some(i) = args
        .iter()
        .position(|a| a.starts_with("sasl.password="))
        .filter(|i| *i > 0 && args[i - 1] == "-X")
    else {
        return Ok((args.to_vec(), None));
    };
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let file = workdir.join(format!(".kcat-sasl-{}-{n}.conf", std::process::id()));
    crate::pki::write_file(&file, format!("{}\n", args[i]).as_bytes(), 0o600)?;
    let mut argv = args[..i - 1].to_vec();
    argv.extend(["-F".to_string(), file.display().to_string()]);
    argv.extend(args[i + 1..].iter().cloned());
    Ok((argv, Some(file)))
}

/// librdkafka's hint after a certificate verification failure on one of its
/// code paths.
const VERIFY_HINT: &str = ": broker certificate could not be verified, verify that ssl.ca.location is correctly configured or root CA certificates are installed (install ca-certificates package)";

/// What kcat's stderr says, stably: librdkafka's first log line (the first
/// connection attempt's diagnosis, without its log level and Unix timestamp:
/// librdkafka raises the level of a repeated failure, so the first line
/// comes at level 4 or 6 depending on timing) and kcat's own
/// `% ERROR` lines. kcat reconnects until its timeout, and how many retries
/// fit, in which order their errors come and which ones librdkafka
/// suppresses as identical is timing, not behaviour. For the same reason the
/// `SSL handshake failed: ` prefix and the `: broker certificate could not be
/// verified, ...` hint go: librdkafka adds them or not depending on which I/O
/// call saw the error first (measured: both forms, at random, against the
/// same server behaviour). glibc's heap-check abort lines go too
/// (`free(): corrupted unsorted chunks`, measured once in a CI run after the
/// closing `% ERROR`): kcat crashing while librdkafka shuts down is not what
/// the user's connection did.
pub fn distinct_log_lines(stderr: &str) -> String {
    let stamp = regex::Regex::new(r"^%[0-9]\|[0-9]+\.[0-9]+\|").expect("valid");
    let heap_abort = regex::Regex::new(
        r"^(?:[a-z_]+\(\): (?:corrupted|invalid|double free)|double free or corruption|corrupted size vs\. prev_size)",
    )
    .expect("valid");
    let mut first_log = None;
    let mut errors: Vec<String> = Vec::new();
    let mut other: Vec<String> = Vec::new();
    for line in stderr.lines() {
        if stamp.is_match(line) {
            first_log.get_or_insert_with(|| {
                stamp
                    .replace(line, "%|")
                    .replace("SSL handshake failed: error:", "error:")
                    .replace(VERIFY_HINT, "")
            });
        } else if !line.trim().is_empty() && !heap_abort.is_match(line) {
            let bucket = if line.starts_with("% ERROR") {
                &mut errors
            } else {
                &mut other
            };
            if !bucket.iter().any(|l| l == line) {
                bucket.push(line.to_string());
            }
        }
    }
    first_log
        .into_iter()
        .chain(errors)
        .chain(other)
        .collect::<Vec<_>>()
        .join("\n")
}

async fn run(
    c: &KafkaClientConfig,
    args: Vec<String>,
    input: Option<&[u8]>,
) -> Result<(Observation, Vec<String>), HarnessError> {
    let bin = locate()?;
    let (argv, secret) = password_to_file(&args, &c.workdir)?;
    let result =
        process::run_with_input(&bin, &argv, &EnvMap::new(), &c.workdir, c.deadline, input).await;
    if let Some(file) = &secret {
        let _ = std::fs::remove_file(file);
    }
    let mut out = result?;
    if let Some(file) = secret {
        // kcat announces the file; it is ours, not the user's configuration.
        let announce = format!("% Reading configuration from file {}", file.display());
        out.stderr = out
            .stderr
            .lines()
            .filter(|l| l.trim_end() != announce)
            .map(|l| format!("{l}\n"))
            .collect();
    }
    out.stderr = distinct_log_lines(&out.stderr);
    Ok((
        Observation {
            peer: "kcat".to_string(),
            command: Some(shown_command(&args)),
            // After a failure kcat exits 1 or, now and then, dies by a signal
            // while librdkafka shuts down (measured): only success is kept.
            exit_code: out.exit_code.filter(|c| *c == 0),
            stdout: out.stdout,
            stderr: out.stderr,
            elapsed: out.elapsed,
            ..Observation::default()
        },
        args,
    ))
}

/// `kcat -L`: a success lists the brokers.
pub async fn metadata(c: &KafkaClientConfig) -> Result<Observation, HarnessError> {
    let mut args = common_args(c);
    args.push("-L".into());
    let (mut obs, _) = run(c, args, None).await?;
    if obs.exit_code == Some(0) && obs.stdout.contains(" brokers:") {
        obs.direct = Some(Outcome::Succeeded);
        // The listing names a random port and the topics of the run: keep the
        // first line, which says how many brokers.
        obs.stdout = obs.stdout.lines().take(2).collect::<Vec<_>>().join("\n");
    }
    Ok(obs)
}

/// Produces `messages` to `topic` (`-P`), then consumes them back from the
/// beginning (`-C -e`): a success reads exactly what was written.
pub async fn round_trip(
    c: &KafkaClientConfig,
    topic: &str,
    messages: &[&str],
) -> Result<Observation, HarnessError> {
    let mut args = common_args(c);
    args.extend(["-P".into(), "-t".into(), topic.into()]);
    let input = format!("{}\n", messages.join("\n"));
    let (produced, _) = run(c, args, Some(input.as_bytes())).await?;
    if produced.exit_code != Some(0) || !produced.stderr.trim().is_empty() {
        return Ok(produced);
    }
    let mut args = common_args(c);
    args.extend([
        "-C".into(),
        "-t".into(),
        topic.into(),
        "-o".into(),
        "beginning".into(),
        "-e".into(),
        "-q".into(),
        "-c".into(),
        messages.len().to_string(),
    ]);
    let (mut consumed, _) = run(c, args, None).await?;
    let got: Vec<&str> = consumed.stdout.lines().collect();
    if consumed.exit_code == Some(0) && got == messages {
        consumed.direct = Some(Outcome::Succeeded);
        consumed.stdout = format!(
            "produced and consumed {} records: {}",
            got.len(),
            got.join(", ")
        );
    }
    Ok(consumed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_goes_to_a_0600_file_not_to_the_command_line() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let args: Vec<String> = ["-b", "h:1", "-X", "sasl.password=s3cret", "-X", "a=b", "-L"]
            .map(String::from)
            .to_vec();
        let (argv, file) = password_to_file(&args, dir.path()).unwrap();
        let file = file.unwrap();
        assert!(!argv.join(" ").contains("s3cret"), "{argv:?}");
        assert_eq!(argv[2], "-F");
        assert_eq!(argv[4..], ["-X", "a=b", "-L"]);
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "sasl.password=s3cret\n"
        );
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(shown_command(&args).contains("sasl.password=[redacted]"));
    }

    #[test]
    fn a_crash_at_shutdown_is_not_part_of_the_diagnosis() {
        let stderr = "%3|1700000000.123|FAIL|rdkafka#producer-1| [thrd:x]: x: error (after 1ms in state SSL_HANDSHAKE)\n% ERROR: Failed to acquire metadata: Local: Broker transport failure\nfree(): corrupted unsorted chunks\ndouble free or corruption (out)\n";
        assert_eq!(
            distinct_log_lines(stderr),
            "%|FAIL|rdkafka#producer-1| [thrd:x]: x: error (after 1ms in state SSL_HANDSHAKE)\n% ERROR: Failed to acquire metadata: Local: Broker transport failure"
        );
    }
}
