//! Real HTTP/TLS clients a user reaches for: `curl` and `openssl s_client`
//! (Debian packages, installed by `ci/setup`), driven with the flags an
//! operator types, against `https://HOST:PORT/__health`.

use std::path::PathBuf;
use std::time::Duration;

use super::Observation;
use crate::config::EnvMap;
use crate::error::HarnessError;
use crate::outcome::Outcome;
use crate::process::{self, tools};

/// How to install the tools.
pub const INSTALL: &str = tools::CURL.install;

/// One client run against an HTTP gateway.
#[derive(Debug, Clone)]
pub struct HttpClientConfig {
    /// The host name in the URL / SNI (`localhost`, `127.0.0.1`, ...); always
    /// resolved to 127.0.0.1.
    pub(crate) host: String,
    /// The gateway's port.
    pub(crate) port: u16,
    /// `https` (true) or `http`.
    pub(crate) tls: bool,
    /// `--cacert` / `-CAfile`, relative to the working directory.
    pub(crate) cacert: Option<String>,
    /// `--cert` / `-cert`.
    pub(crate) cert: Option<String>,
    /// `--key` / `-key`.
    pub(crate) key: Option<String>,
    /// `-k`: skip server verification (curl only).
    pub(crate) insecure: bool,
    /// `--tls-max` (`1.2`, `1.3`).
    pub(crate) tls_max: Option<String>,
    /// Let curl use HTTP/2 (its default). Off by default: curl's TLS 1.3
    /// client-certificate failure text is racy over HTTP/2 (measured).
    pub(crate) http2: bool,
    /// The URL path.
    pub(crate) path: String,
    /// The working directory (paths are relative to it).
    pub(crate) workdir: PathBuf,
    /// Bound on the whole run.
    pub(crate) deadline: Duration,
}

impl HttpClientConfig {
    /// An HTTPS request to `https://HOST:PORT/__health` from `workdir`, with no
    /// CA, client certificate or TLS cap, over HTTP/1.1, bounded by 10 s.
    pub fn new(host: impl Into<String>, port: u16, workdir: impl Into<PathBuf>) -> Self {
        Self {
            host: host.into(),
            port,
            tls: true,
            cacert: None,
            cert: None,
            key: None,
            insecure: false,
            tls_max: None,
            http2: false,
            path: "/__health".to_string(),
            workdir: workdir.into(),
            deadline: Duration::from_secs(10),
        }
    }

    /// `https` (true) or `http`.
    pub fn with_tls(mut self, tls: bool) -> Self {
        self.tls = tls;
        self
    }

    /// `--cacert` / `-CAfile`, relative to the working directory.
    pub fn with_cacert(mut self, path: impl Into<String>) -> Self {
        self.cacert = Some(path.into());
        self
    }

    /// `--cert` and `--key` (`-cert`, `-key`), relative to the working directory.
    pub fn with_client_cert(mut self, cert: impl Into<String>, key: impl Into<String>) -> Self {
        self.cert = Some(cert.into());
        self.key = Some(key.into());
        self
    }

    /// `-k`: skip server verification (curl only).
    pub fn with_insecure(mut self, insecure: bool) -> Self {
        self.insecure = insecure;
        self
    }

    /// `--tls-max` (`1.2`, `1.3`).
    pub fn with_tls_max(mut self, version: impl Into<String>) -> Self {
        self.tls_max = Some(version.into());
        self
    }

    /// Lets curl use HTTP/2 (its own default).
    pub fn with_http2(mut self, http2: bool) -> Self {
        self.http2 = http2;
        self
    }

    /// The URL path.
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Bounds the whole run.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// The host name in the URL and SNI.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port dialled.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the URL is `https`.
    pub fn tls(&self) -> bool {
        self.tls
    }

    /// `--cacert`, if set.
    pub fn cacert(&self) -> Option<&str> {
        self.cacert.as_deref()
    }

    /// `--cert`, if set.
    pub fn cert(&self) -> Option<&str> {
        self.cert.as_deref()
    }

    /// `--key`, if set.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// Whether `-k` is given.
    pub fn insecure(&self) -> bool {
        self.insecure
    }

    /// `--tls-max`, if set.
    pub fn tls_max(&self) -> Option<&str> {
        self.tls_max.as_deref()
    }

    /// Whether curl may use HTTP/2.
    pub fn http2(&self) -> bool {
        self.http2
    }

    /// The URL path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The working directory.
    pub fn workdir(&self) -> &std::path::Path {
        &self.workdir
    }

    /// The bound on the whole run.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }
}

/// Finds `curl`.
pub fn locate_curl() -> Result<PathBuf, HarnessError> {
    tools::CURL.locate()
}

fn is_ip(host: &str) -> bool {
    host.parse::<std::net::IpAddr>().is_ok()
}

/// The curl command line for a configuration (without the program); the host
/// name resolves to 127.0.0.1.
pub fn curl_args(c: &HttpClientConfig) -> Vec<String> {
    curl_args_via(c, LOOPBACK)
}

/// Where scenario cases dial: their nodes listen on loopback, whatever name
/// the client uses.
const LOOPBACK: &str = "127.0.0.1";

/// [`curl_args`] with the host name resolving to `dial` (an IP address).
pub fn curl_args_via(c: &HttpClientConfig, dial: &str) -> Vec<String> {
    let mut args: Vec<String> = vec!["-sS".into()];
    args.extend(["--max-time".into(), c.deadline.as_secs().max(1).to_string()]);
    if !c.http2 {
        args.push("--http1.1".into());
    }
    // A case's `hosts:` name resolves through the case's hosts file, as the
    // user's name does through their resolver (see `crate::hosts`).
    if !is_ip(&c.host) && crate::hosts::lookup(&c.workdir, &c.host).is_none() {
        // curl takes an IPv6 address here in brackets.
        let dial = super::bracketed(dial);
        args.extend(["--resolve".into(), format!("{}:{}:{dial}", c.host, c.port)]);
    }
    for (flag, value) in [
        ("--cacert", &c.cacert),
        ("--cert", &c.cert),
        ("--key", &c.key),
    ] {
        if let Some(v) = value {
            args.extend([flag.into(), v.clone()]);
        }
    }
    if c.insecure {
        args.push("-k".into());
    }
    if let Some(max) = &c.tls_max {
        args.extend(["--tls-max".into(), max.clone()]);
    }
    let scheme = if c.tls { "https" } else { "http" };
    args.push(format!(
        "{scheme}://{}{}",
        super::host_port(&c.host, c.port),
        c.path
    ));
    args
}

/// A success is an HTTP answer carrying KrakenD's health JSON.
fn healthy(stdout: &str) -> bool {
    stdout.contains(r#""status":"ok""#)
}

/// Runs curl.
pub async fn curl(c: &HttpClientConfig) -> Result<Observation, HarnessError> {
    curl_via(c, LOOPBACK).await
}

/// Runs curl with the host name resolving to `dial` (the live-endpoint probe
/// dials where the name really resolves).
pub async fn curl_via(c: &HttpClientConfig, dial: &str) -> Result<Observation, HarnessError> {
    let bin = locate_curl()?;
    let args = curl_args_via(c, dial);
    let out = process::run(&bin, &args, &EnvMap::new(), &c.workdir, c.deadline).await?;
    Ok(Observation {
        peer: "curl".to_string(),
        command: Some(format!("curl {}", args.join(" "))),
        exit_code: out.exit_code,
        direct: (out.exit_code == Some(0) && healthy(&out.stdout)).then_some(Outcome::Succeeded),
        stdout: out.stdout,
        stderr: out.stderr,
        elapsed: out.elapsed,
        ..Observation::default()
    })
}

/// Runs curl against a Zeebe gateway's REST topology (`c.path`, e.g.
/// `/v2/topology`): a success is an HTTP answer carrying the topology JSON
/// (`gatewayVersion`), counted by its brokers (`nodeId`).
pub async fn curl_zeebe_rest(c: &HttpClientConfig) -> Result<Observation, HarnessError> {
    let mut obs = curl_via(c, LOOPBACK).await?;
    obs.direct =
        (obs.exit_code == Some(0) && obs.stdout.contains(r#""gatewayVersion""#)).then(|| {
            Outcome::Connected {
                brokers: obs.stdout.matches(r#""nodeId""#).count() as u32,
            }
        });
    Ok(obs)
}

/// The `openssl s_client` command line for a configuration (dialling 127.0.0.1).
pub fn s_client_args(c: &HttpClientConfig) -> Vec<String> {
    s_client_args_via(c, LOOPBACK)
}

/// [`s_client_args`] dialling `dial` (an IP address).
pub fn s_client_args_via(c: &HttpClientConfig, dial: &str) -> Vec<String> {
    // A case's `hosts:` name is dialled by name (see `crate::hosts`).
    let dial = match crate::hosts::lookup(&c.workdir, &c.host) {
        Some(_) => c.host.as_str(),
        None => dial,
    };
    let mut args: Vec<String> = vec![
        "s_client".into(),
        "-connect".into(),
        super::host_port(dial, c.port),
        "-verify_return_error".into(),
        "-ign_eof".into(),
        "-quiet".into(),
    ];
    if is_ip(&c.host) {
        args.extend(["-verify_ip".into(), c.host.clone()]);
    } else {
        args.extend(["-servername".into(), c.host.clone()]);
        args.extend(["-verify_hostname".into(), c.host.clone()]);
    }
    for (flag, value) in [("-CAfile", &c.cacert), ("-cert", &c.cert), ("-key", &c.key)] {
        if let Some(v) = value {
            args.extend([flag.into(), v.clone()]);
        }
    }
    match c.tls_max.as_deref() {
        Some("1.2") => args.push("-tls1_2".into()),
        Some("1.3") => args.push("-tls1_3".into()),
        _ => {}
    }
    args
}

/// Keeps the lines of `s_client`'s stderr that say what failed, without the
/// thread id OpenSSL puts first (`40F7...:error:...`).
fn s_client_errors(stderr: &str) -> String {
    let thread = regex::Regex::new(r"^[0-9A-F]{8,16}:").expect("valid");
    stderr
        .lines()
        .filter(|l| l.contains("error") || l.contains("errno"))
        .map(|l| thread.replace(l, "").into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs `openssl s_client` and sends one `GET` for the configured path.
pub async fn s_client(c: &HttpClientConfig) -> Result<Observation, HarnessError> {
    s_client_via(c, LOOPBACK).await
}

/// [`s_client`] dialling `dial` (an IP address).
pub async fn s_client_via(c: &HttpClientConfig, dial: &str) -> Result<Observation, HarnessError> {
    let bin = tools::OPENSSL.locate()?;
    let args = s_client_args_via(c, dial);
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        c.path, c.host
    );
    let out = process::run_with_input(
        &bin,
        &args,
        &EnvMap::new(),
        &c.workdir,
        c.deadline,
        Some(request.as_bytes()),
    )
    .await?;
    let ok = healthy(&out.stdout);
    Ok(Observation {
        peer: "openssl s_client".to_string(),
        command: Some(format!("openssl {}", args.join(" "))),
        exit_code: out.exit_code,
        direct: ok.then_some(Outcome::Succeeded),
        stdout: out.stdout.lines().next().unwrap_or_default().to_string(),
        stderr: if ok {
            String::new()
        } else {
            s_client_errors(&out.stderr)
        },
        elapsed: out.elapsed,
        ..Observation::default()
    })
}
