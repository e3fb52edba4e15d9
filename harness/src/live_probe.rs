//! `tlsmatrix probe ADDRESS`: the client side of an area's matrix against an
//! endpoint that already runs (no node is started), each attempt classified
//! with the area's catalogue and shown with the catalogue's fix.
//!
//! The attempts are data (`harness/plans/probe.yaml`); each runs once per
//! client kind chosen with `--client`, through the same peer code the scenario
//! cases use, and is classified by [`engine::classify`] as a case would be.
//! Before any attempt the address is resolved and dialled once (bounded by
//! the deadline): an unresolvable name or a closed port is a diagnosis of its
//! own, not a row of identical client failures. Then the endpoint itself is
//! shown ([`endpoint`]): its chain, versions, ALPN and client-certificate
//! request, each finding with the catalogue case it makes likely.

pub mod endpoint;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::areas::{self, zeebe_client};
use crate::engine;
use crate::error::HarnessError;
use crate::outcome::Outcome;
use crate::peers::http_clients::{self, HttpClientConfig};
use crate::peers::kcat::{self, KafkaClientConfig};
use crate::peers::Observation;

const PLAN: &str = include_str!("../plans/probe.yaml");

/// One attempt of a probe plan (see `harness/plans/probe.yaml`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Attempt {
    /// Short name shown in the report.
    pub(crate) id: String,
    /// What the attempt does, in words.
    pub(crate) says: String,
    /// Dial with TLS.
    #[serde(default)]
    pub(crate) tls: bool,
    /// Verify the server against `--ca` (else the system roots).
    #[serde(default)]
    pub(crate) ca: bool,
    /// Present `--cert`/`--key`.
    #[serde(default)]
    pub(crate) cert: bool,
    /// Do not verify the server.
    #[serde(default)]
    pub(crate) insecure: bool,
    /// SASL PLAIN with `--username`/`--password`.
    #[serde(default)]
    pub(crate) sasl: bool,
    /// Options the attempt requires: `ca`, `cert`, `credentials`.
    #[serde(default)]
    pub(crate) needs: Vec<String>,
}

/// The probe plans of every area that has one, by area name.
pub fn plans() -> Result<BTreeMap<String, Vec<Attempt>>, HarnessError> {
    serde_yaml_ng::from_str(PLAN).map_err(|e| {
        HarnessError::invalid(
            "harness/plans/probe.yaml",
            "attempts",
            e.to_string(),
            "fix the plan; its keys are listed at the top of the file",
        )
    })
}

/// What to probe and how.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// `host:port` (`[v6]:port` for IPv6 literals).
    pub(crate) address: String,
    /// The area whose client side runs.
    pub(crate) area: String,
    /// Client kinds, as the area's case bodies name them; empty: the area's default.
    pub(crate) clients: Vec<String>,
    /// CA file for the attempts that verify against it.
    pub(crate) ca: Option<PathBuf>,
    /// Client certificate (chain) file.
    pub(crate) cert: Option<PathBuf>,
    /// Client private key file (only handed to the client, never read or shown).
    pub(crate) key: Option<PathBuf>,
    /// SASL username.
    pub(crate) username: Option<String>,
    /// SASL password (never shown).
    pub(crate) password: Option<String>,
    /// Bound on the reachability check and on each client run.
    pub(crate) deadline: Duration,
}

impl ProbeOptions {
    /// Probes `address` (`host:port`) with `area`'s default clients, each
    /// attempt bounded by 10 s.
    pub fn new(address: impl Into<String>, area: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            area: area.into(),
            clients: Vec::new(),
            ca: None,
            cert: None,
            key: None,
            username: None,
            password: None,
            deadline: Duration::from_secs(10),
        }
    }

    /// The same options running these client kinds (empty: the area's default).
    pub fn with_clients(mut self, clients: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.clients = clients.into_iter().map(Into::into).collect();
        self
    }

    /// The same options verifying against the CA file `ca`.
    pub fn with_ca(mut self, ca: impl Into<PathBuf>) -> Self {
        self.ca = Some(ca.into());
        self
    }

    /// The same options presenting the client certificate (chain) file `cert`.
    pub fn with_cert(mut self, cert: impl Into<PathBuf>) -> Self {
        self.cert = Some(cert.into());
        self
    }

    /// The same options with the client private key file `key` (only handed to
    /// the client, never read or shown).
    pub fn with_key(mut self, key: impl Into<PathBuf>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// The same options with the SASL `username`.
    pub fn with_username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }

    /// The same options with the SASL `password` (never shown).
    pub fn with_password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// The same options bounding the reachability check and each client run by `deadline`.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// `host:port` probed.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The area whose client side runs.
    pub fn area(&self) -> &str {
        &self.area
    }
}

/// Whether the address answered at the TCP level.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Reachability {
    /// A TCP connection was accepted.
    Open {
        /// The address dialled.
        resolved: String,
        /// Time to connect, in milliseconds.
        connect_ms: f64,
    },
    /// The name did not resolve.
    Unresolvable {
        /// The resolver's error.
        error: String,
    },
    /// Nothing accepted the connection (refused, unreachable, or no answer
    /// within the deadline).
    Closed {
        /// The address dialled.
        resolved: String,
        /// The connect error.
        error: String,
    },
}

/// One attempt with one client.
#[derive(Debug, Clone, Serialize)]
pub struct AttemptResult {
    /// The attempt's id.
    pub attempt: String,
    /// What it does.
    pub says: String,
    /// The client kind.
    pub client: String,
    /// What happened.
    #[serde(flatten)]
    pub status: AttemptStatus,
}

/// The result of one attempt.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum AttemptStatus {
    /// The client ran.
    Tried {
        /// The classified outcome.
        outcome: Outcome,
        /// The catalogue entry that explains it.
        entry: Option<String>,
        /// The entry's title.
        title: Option<String>,
        /// The entry's fix.
        fix: Option<String>,
        /// What the client printed (its first lines).
        said: String,
        /// The command line of a real tool (credentials replaced).
        command: Option<String>,
    },
    /// The attempt did not run, with why.
    NotTried {
        /// Why (a missing option or client).
        reason: String,
    },
}

impl AttemptResult {
    /// True when the attempt reached the service.
    pub fn connected(&self) -> bool {
        matches!(
            &self.status,
            AttemptStatus::Tried {
                outcome: Outcome::Connected { .. } | Outcome::Succeeded,
                ..
            }
        )
    }
}

/// The whole diagnosis of one endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnosis {
    /// The address probed.
    pub address: String,
    /// The area whose client side ran.
    pub area: String,
    /// The TCP check.
    pub reachability: Reachability,
    /// What the endpoint showed before any client ran (none when unreachable).
    pub endpoint: Option<endpoint::Endpoint>,
    /// Every attempt × client.
    pub attempts: Vec<AttemptResult>,
}

impl Diagnosis {
    /// True when at least one attempt reached the service.
    pub fn connected(&self) -> bool {
        self.attempts.iter().any(AttemptResult::connected)
    }

    /// The summary line.
    pub fn verdict(&self) -> String {
        match &self.reachability {
            Reachability::Unresolvable { error } => {
                format!("{} does not resolve ({error}): check the host name and the DNS the clients use", self.address)
            }
            Reachability::Closed { resolved, error } => format!(
                "nothing accepts connections at {resolved} ({error}): check that the service runs, its port, and any firewall in between"
            ),
            Reachability::Open { .. } => {
                let mut ok: Vec<String> = Vec::new();
                for a in self.attempts.iter().filter(|a| a.connected()) {
                    let s = format!("{} ({})", a.attempt, a.client);
                    if !ok.contains(&s) {
                        ok.push(s);
                    }
                }
                if ok.is_empty() {
                    "no attempt connected: the fixes above say what to change on each side".to_string()
                } else {
                    format!("connects with: {}", ok.join(", "))
                }
            }
        }
    }

    /// The report as text.
    pub fn render(&self) -> String {
        let mut out = format!("probe {} · area {}\n", self.address, self.area);
        match &self.reachability {
            Reachability::Open {
                resolved,
                connect_ms,
            } => out.push_str(&format!(
                "reachable: TCP connect to {resolved} in {connect_ms:.1} ms\n"
            )),
            Reachability::Unresolvable { .. } => out.push_str("reachable: no\n"),
            Reachability::Closed { .. } => out.push_str("reachable: no\n"),
        }
        if let Some(e) = &self.endpoint {
            out.push_str(&endpoint::render(e));
        }
        let mut last = "";
        for a in &self.attempts {
            if a.attempt != last {
                out.push_str(&format!("\n{} — {}\n", a.attempt, a.says));
                last = &a.attempt;
            }
            match &a.status {
                AttemptStatus::NotTried { reason } => {
                    out.push_str(&format!("  {:<9} not tried: {reason}\n", a.client));
                }
                AttemptStatus::Tried {
                    outcome,
                    entry,
                    title,
                    fix,
                    said,
                    ..
                } => {
                    out.push_str(&format!("  {:<9} {}", a.client, outcome.id()));
                    if let Some(entry) = entry {
                        out.push_str(&format!("  [{entry}]"));
                    }
                    out.push('\n');
                    if let Some(title) = title {
                        out.push_str(&format!("            case: {title}\n"));
                    }
                    if !said.is_empty() && !a.connected() {
                        out.push_str(&format!("            said: {said}\n"));
                    }
                    if let Some(fix) = fix {
                        out.push_str(&format!("            fix:  {fix}\n"));
                    }
                }
            }
        }
        out.push_str(&format!("\ndiagnosis: {}\n", self.verdict()));
        out
    }
}

/// Splits `host:port` (`[v6]:port`).
fn split_address(address: &str) -> Result<(String, u16), HarnessError> {
    let bad = |why: &str| {
        HarnessError::invalid(
            "command line",
            "ADDRESS",
            format!("{address:?}: {why}"),
            "give host:port, e.g. 127.0.0.1:26500 or zeebe.example.com:443 ([::1]:26500 for IPv6)",
        )
    };
    let (host, port) = address.rsplit_once(':').ok_or_else(|| bad("no port"))?;
    let port: u16 = port.parse().map_err(|_| bad("the port is not a number"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(bad("no host"));
    }
    Ok((host.to_string(), port))
}

async fn reachability(host: &str, port: u16, deadline: Duration) -> Reachability {
    let resolved: Vec<SocketAddr> =
        match tokio::time::timeout(deadline, tokio::net::lookup_host((host, port))).await {
            Ok(Ok(addrs)) => addrs.collect(),
            Ok(Err(e)) => {
                return Reachability::Unresolvable {
                    error: e.to_string(),
                }
            }
            Err(_) => {
                return Reachability::Unresolvable {
                    error: format!("no answer within {deadline:?}"),
                }
            }
        };
    let Some(first) = resolved.first() else {
        return Reachability::Unresolvable {
            error: "no address".to_string(),
        };
    };
    let mut last_error = String::new();
    for addr in &resolved {
        let started = Instant::now();
        match tokio::time::timeout(deadline, tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(_stream)) => {
                return Reachability::Open {
                    resolved: addr.to_string(),
                    connect_ms: started.elapsed().as_secs_f64() * 1000.0,
                }
            }
            Ok(Err(e)) => last_error = e.to_string(),
            Err(_) => last_error = format!("no answer within {deadline:?}"),
        }
    }
    Reachability::Closed {
        resolved: first.to_string(),
        error: last_error,
    }
}

fn default_clients(area: &str) -> Vec<String> {
    let kinds: &[&str] = match area {
        "zeebe-client" => &["builtin", "zbctl"],
        "http-gateway" => &["curl"],
        _ => &["kcat"],
    };
    kinds.iter().map(|k| k.to_string()).collect()
}

fn absolute(path: &Path) -> Result<String, HarnessError> {
    if !path.exists() {
        return Err(HarnessError::invalid(
            "command line",
            path.display().to_string(),
            "the file does not exist",
            "give the path of an existing file (relative to the current directory)",
        ));
    }
    std::path::absolute(path)
        .map(|p| p.display().to_string())
        .map_err(|e| HarnessError::read(path, e))
}

/// Probes an endpoint with an area's client attempts.
pub async fn probe(options: &ProbeOptions) -> Result<Diagnosis, HarnessError> {
    let plans = plans()?;
    let attempts = plans.get(&options.area).ok_or_else(|| {
        HarnessError::invalid(
            "command line",
            "--area",
            format!("no probe plan for {:?}", options.area),
            format!(
                "use one of: {}",
                plans.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        )
    })?;
    let area = areas::find(&options.area)?;
    let (host, port) = split_address(&options.address)?;
    let ca = options.ca.as_deref().map(absolute).transpose()?;
    let cert = options.cert.as_deref().map(absolute).transpose()?;
    let key = options.key.as_deref().map(absolute).transpose()?;
    if cert.is_some() != key.is_some() {
        return Err(HarnessError::invalid(
            "command line",
            "--cert/--key",
            "a client certificate needs both --cert and --key",
            "give both, or neither",
        ));
    }
    let clients = if options.clients.is_empty() {
        default_clients(&options.area)
    } else {
        options.clients.clone()
    };
    let reach = reachability(&host, port, options.deadline).await;
    let mut diagnosis = Diagnosis {
        address: options.address.clone(),
        area: options.area.clone(),
        reachability: reach,
        endpoint: None,
        attempts: Vec::new(),
    };
    let dialled = match &diagnosis.reachability {
        Reachability::Open { resolved, .. } => resolved.parse::<SocketAddr>().ok(),
        _ => return Ok(diagnosis),
    };
    let dial_ip = dialled.map_or_else(|| host.clone(), |a| a.ip().to_string());
    if let Some(addr) = dialled {
        let anchors = anchors(options.ca.as_deref(), ca.as_deref());
        let (inspect_host, area, deadline) = (host.clone(), options.area.clone(), options.deadline);
        diagnosis.endpoint = tokio::task::spawn_blocking(move || {
            endpoint::inspect(addr, &inspect_host, &anchors, &area, deadline)
        })
        .await
        .ok();
    }
    let workdir = crate::engine::scratch_dir()?;
    let files = Files {
        ca: ca.as_deref(),
        cert: cert.as_deref(),
        key: key.as_deref(),
    };
    for attempt in attempts {
        for client in &clients {
            let status = if let Some(reason) = missing_input(attempt, &files, options) {
                AttemptStatus::NotTried { reason }
            } else {
                let run = Dial {
                    area: &options.area,
                    client,
                    host: &host,
                    port,
                    address: &options.address,
                    dial_ip: &dial_ip,
                    files: &files,
                    options,
                    workdir: workdir.path(),
                };
                match run.run(attempt).await {
                    Ok(obs) => tried(area, &obs),
                    Err(e) => AttemptStatus::NotTried {
                        reason: e.to_string(),
                    },
                }
            };
            diagnosis.attempts.push(AttemptResult {
                attempt: attempt.id.clone(),
                says: attempt.says.clone(),
                client: client.clone(),
                status,
            });
        }
    }
    Ok(diagnosis)
}

/// The trust anchors the endpoint inspection checks the chain against: the
/// `--ca` file, named as the user gave it and read from its absolute path,
/// else the system's.
fn anchors(given: Option<&Path>, absolute: Option<&str>) -> endpoint::Anchors {
    match (given, absolute) {
        (Some(given), Some(path)) => match crate::pki::read_certificates(Path::new(path)) {
            Ok(certs) if !certs.is_empty() => {
                endpoint::Anchors::Given(given.display().to_string(), certs)
            }
            Ok(_) => endpoint::Anchors::Unusable(format!("{}: no certificate", given.display())),
            Err(e) => endpoint::Anchors::Unusable(e.to_string()),
        },
        _ => endpoint::Anchors::System,
    }
}

/// Why an attempt cannot be tried with what the command line gave (`give
/// --ca FILE and ...`), or `None` when it can.
fn missing_input(attempt: &Attempt, files: &Files<'_>, options: &ProbeOptions) -> Option<String> {
    let missing: Vec<&str> = attempt
        .needs
        .iter()
        .map(String::as_str)
        .filter(|n| match *n {
            "ca" => files.ca.is_none(),
            "cert" => files.cert.is_none(),
            "credentials" => options.username.is_none() || options.password.is_none(),
            _ => false,
        })
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "give {}",
            missing
                .iter()
                .map(|m| match *m {
                    "ca" => "--ca FILE",
                    "cert" => "--cert FILE --key FILE",
                    _ => "--username U --password P",
                })
                .collect::<Vec<_>>()
                .join(" and ")
        )
    })
}

fn tried(area: &dyn areas::Area, obs: &Observation) -> AttemptStatus {
    let class = engine::classify(area, obs);
    let entry = class
        .entry
        .as_deref()
        .and_then(|id| area.catalogue().entry(id));
    let said: String = obs
        .text()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(2)
        .collect::<Vec<_>>()
        .join(" / ");
    AttemptStatus::Tried {
        outcome: class.outcome,
        title: entry.map(|e| e.title.clone()),
        fix: entry.map(|e| e.fix.clone()),
        entry: class.entry.map(String::from),
        said: said.chars().take(400).collect(),
        command: obs.command.clone(),
    }
}

struct Files<'a> {
    ca: Option<&'a str>,
    cert: Option<&'a str>,
    key: Option<&'a str>,
}

/// One client run of one attempt.
struct Dial<'a> {
    area: &'a str,
    client: &'a str,
    host: &'a str,
    port: u16,
    address: &'a str,
    /// The IP address the reachability check connected to (curl and
    /// s_client dial it, keeping the name for SNI and verification).
    dial_ip: &'a str,
    files: &'a Files<'a>,
    options: &'a ProbeOptions,
    workdir: &'a Path,
}

fn unknown_client(area: &str, client: &str, known: &str) -> HarnessError {
    HarnessError::invalid(
        "command line",
        "--client",
        format!("{client:?} is not a client of the {area} area"),
        format!("use one of: {known}"),
    )
}

impl Dial<'_> {
    async fn run(&self, a: &Attempt) -> Result<Observation, HarnessError> {
        let ca = a.ca.then(|| self.files.ca.map(str::to_string)).flatten();
        match self.area {
            "zeebe-client" => {
                let kind: zeebe_client::ClientKind =
                    serde_yaml_ng::from_value(serde_yaml_ng::Value::String(self.client.into()))
                        .map_err(|_| {
                            unknown_client(
                                self.area,
                                self.client,
                                &zeebe_client::ClientKind::NAMES.join(", "),
                            )
                        })?;
                let body = zeebe_client::ClientBody {
                    kind,
                    plaintext: !a.tls,
                    ca,
                    host: self.host.to_string(),
                    env: Default::default(),
                    args: Vec::new(),
                };
                zeebe_client::run_zeebe_client_within(
                    &body,
                    self.workdir,
                    self.port,
                    self.options.deadline,
                )
                .await
            }
            "http-gateway" => {
                let config = HttpClientConfig {
                    host: self.host.to_string(),
                    port: self.port,
                    tls: a.tls,
                    cacert: ca,
                    cert: a
                        .cert
                        .then(|| self.files.cert.map(str::to_string))
                        .flatten(),
                    key: a.cert.then(|| self.files.key.map(str::to_string)).flatten(),
                    insecure: a.insecure,
                    tls_max: None,
                    http2: false,
                    path: "/__health".to_string(),
                    workdir: self.workdir.to_path_buf(),
                    deadline: self.options.deadline,
                };
                match self.client {
                    "curl" => http_clients::curl_via(&config, self.dial_ip).await,
                    "s-client" => http_clients::s_client_via(&config, self.dial_ip).await,
                    other => Err(unknown_client(self.area, other, "curl, s-client")),
                }
            }
            "kafka-gateway" => {
                if self.client != "kcat" {
                    return Err(unknown_client(self.area, self.client, "kcat"));
                }
                let protocol = match (a.tls, a.sasl) {
                    (false, false) => "PLAINTEXT",
                    (true, false) => "SSL",
                    (false, true) => "SASL_PLAINTEXT",
                    (true, true) => "SASL_SSL",
                };
                let config = KafkaClientConfig {
                    bootstrap: self.address.to_string(),
                    security_protocol: protocol.to_string(),
                    sasl_mechanism: a.sasl.then(|| "PLAIN".to_string()),
                    username: a.sasl.then(|| self.options.username.clone()).flatten(),
                    password: a.sasl.then(|| self.options.password.clone()).flatten(),
                    ca,
                    properties: Vec::new(),
                    workdir: self.workdir.to_path_buf(),
                    deadline: self.options.deadline,
                };
                kcat::metadata(&config).await
            }
            other => Err(HarnessError::invalid(
                "command line",
                "--area",
                format!("{other}: the probe has no client runner for this area"),
                "add one in live_probe.rs",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_plan_names_a_registered_area_and_known_needs() {
        let plans = plans().unwrap();
        assert_eq!(
            plans.keys().cloned().collect::<Vec<_>>(),
            ["http-gateway", "kafka-gateway", "zeebe-client"]
        );
        for (area, attempts) in &plans {
            areas::find(area).unwrap();
            for a in attempts {
                for n in &a.needs {
                    assert!(
                        ["ca", "cert", "credentials"].contains(&n.as_str()),
                        "{area}/{}: {n}",
                        a.id
                    );
                }
                assert_eq!(a.ca, a.needs.iter().any(|n| n == "ca"), "{area}/{}", a.id);
                assert_eq!(
                    a.cert,
                    a.needs.iter().any(|n| n == "cert"),
                    "{area}/{}",
                    a.id
                );
                assert_eq!(
                    a.sasl,
                    a.needs.iter().any(|n| n == "credentials"),
                    "{area}/{}",
                    a.id
                );
            }
        }
    }

    #[test]
    fn addresses_split_or_say_how_to_write_them() {
        assert_eq!(
            split_address("127.0.0.1:26500").unwrap(),
            ("127.0.0.1".into(), 26500)
        );
        assert_eq!(split_address("[::1]:443").unwrap(), ("::1".into(), 443));
        let e = split_address("localhost").unwrap_err().to_string();
        assert!(e.contains("host:port"), "{e}");
        assert!(split_address("h:port").is_err());
    }
}
