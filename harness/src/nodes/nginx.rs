//! Real nginx (Debian package, installed by `ci/setup`) as a TLS-terminating
//! gRPC proxy in front of the gateway, started as a child process with a
//! generated configuration in the case directory: `listen ... ssl http2`,
//! `grpc_pass grpc://` or `grpcs://` upstream (or `proxy_pass http://` /
//! `https://`, the HTTP/1 misconfiguration real reports show), upstream
//! verification with a trusted CA, an upstream client certificate, and
//! `auth_request` to an auth service. Other configurations (the auth service,
//! an mTLS sidecar: `nodes/nginx_sites.rs`; the L4 `stream` proxy:
//! `nodes/nginx_stream.rs`) start through [`Nginx::start_config`]. nginx runs as a single process (`master_process off`), so
//! stopping or killing that process leaves no worker behind; it is ready when
//! it logs its `getrlimit(RLIMIT_NOFILE)` notice, which comes after its
//! sockets listen. Its error log (stderr) is the node log.
//!
//! Measured facts this follows: nginx shares upstream TLS sessions (and their
//! verification result) between locations, so every proxy gets its own process
//! and `grpc_ssl_session_reuse off`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::HarnessError;
use crate::nodes::stack::{RunningNode, StopFuture};
use crate::process::{tools, ChildProcess, Hermetic, Ready, Refusal, Started};

/// How to install nginx.
pub const INSTALL: &str = tools::NGINX.install;

const READY_DEADLINE: Duration = Duration::from_secs(15);

/// How often nginx is started on a fresh port when the one it was given was
/// taken before it could bind it.
const BIND_ATTEMPTS: usize = 3;

/// nginx's text (errno 98) when its `listen` port is taken.
const ADDRESS_IN_USE: &str = "Address already in use";

/// Finds the nginx binary.
pub fn locate() -> Result<PathBuf, HarnessError> {
    tools::NGINX.locate()
}

/// The proxy's settings, as a case body spells them.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct NginxSettings {
    /// TLS on the listener (`listen ... ssl`).
    #[serde(default = "yes")]
    pub(crate) tls: bool,
    /// HTTP/2 on the listener (`listen ... http2`); gRPC needs it.
    #[serde(default = "yes")]
    pub(crate) http2: bool,
    /// The listener's certificate chain and key (case-directory files).
    #[serde(default)]
    pub(crate) certificate: Option<String>,
    /// Its key.
    #[serde(default)]
    pub(crate) certificate_key: Option<String>,
    /// `grpc`/`grpcs` (`grpc_pass`) or `http`/`https` (`proxy_pass`, HTTP/1).
    #[serde(default)]
    pub(crate) upstream_scheme: UpstreamScheme,
    /// `grpc_ssl_trusted_certificate` (with `grpc_ssl_verify on`) for a TLS upstream.
    #[serde(default)]
    pub(crate) upstream_ca: Option<String>,
    /// `grpc_ssl_name`: the name the upstream certificate is checked against.
    #[serde(default = "localhost")]
    pub(crate) upstream_name: String,
    /// `grpc_ssl_certificate`: the client certificate (chain) nginx presents
    /// to a TLS upstream.
    #[serde(default)]
    pub(crate) upstream_certificate: Option<String>,
    /// `grpc_ssl_certificate_key`: its key.
    #[serde(default)]
    pub(crate) upstream_certificate_key: Option<String>,
    /// `auth_request`: every request is first sent to an auth service (a
    /// second nginx) answering this status; 401 and 403 reach the client as
    /// nginx's HTML error page.
    #[serde(default)]
    pub(crate) auth_request: Option<AuthRequest>,
    /// A sidecar (a second nginx) between this proxy and the gateway that
    /// terminates TLS and requires client certificates, as a service mesh or a
    /// second ingress does: the proxy's upstream is the sidecar.
    #[serde(default)]
    pub(crate) upstream_mtls: Option<UpstreamMtls>,
}

/// The scheme nginx passes requests upstream with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpstreamScheme {
    /// `grpc_pass grpc://`: gRPC over h2c.
    #[default]
    Grpc,
    /// `grpc_pass grpcs://`: gRPC over TLS.
    Grpcs,
    /// `proxy_pass http://`: HTTP/1 (nginx's default proxy), which a gRPC
    /// upstream does not speak.
    Http,
    /// `proxy_pass https://`: HTTP/1 over TLS.
    Https,
}

impl UpstreamScheme {
    /// The scheme as nginx writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Grpc => "grpc",
            Self::Grpcs => "grpcs",
            Self::Http => "http",
            Self::Https => "https",
        }
    }

    /// TLS towards the upstream.
    pub fn is_tls(self) -> bool {
        matches!(self, Self::Grpcs | Self::Https)
    }

    /// The directive prefix: `grpc` (`grpc_pass`, `grpc_ssl_*`) or `proxy`.
    fn directive(self) -> &'static str {
        match self {
            Self::Grpc | Self::Grpcs => "grpc",
            Self::Http | Self::Https => "proxy",
        }
    }
}

/// The auth service behind `auth_request`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AuthRequest {
    /// The status it answers every subrequest with (2xx lets the request
    /// through; 401 and 403 are passed to the client).
    pub(crate) status: u16,
}

/// The mTLS sidecar in front of the gateway.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct UpstreamMtls {
    /// Its certificate chain (`ssl_certificate`).
    pub(crate) certificate: String,
    /// Its key.
    pub(crate) certificate_key: String,
    /// The CA whose client certificates it accepts (`ssl_client_certificate`,
    /// `ssl_verify_client on`).
    pub(crate) client_ca: String,
}

fn yes() -> bool {
    true
}
fn localhost() -> String {
    "localhost".to_string()
}

/// The nginx.conf for these settings.
pub fn config(s: &NginxSettings, port: u16, upstream_port: u16) -> String {
    config_with(s, port, upstream_port, None)
}

/// [`config`] with the port of the auth service behind `auth_request`.
pub fn config_with(
    s: &NginxSettings,
    port: u16,
    upstream_port: u16,
    auth_port: Option<u16>,
) -> String {
    let mut listen = format!("127.0.0.1:{port}");
    if s.tls {
        listen.push_str(" ssl");
    }
    if s.http2 {
        listen.push_str(" http2");
    }
    let mut server = format!("    listen {listen};\n");
    if s.tls {
        if let Some(cert) = &s.certificate {
            server.push_str(&format!("    ssl_certificate {cert};\n"));
        }
        if let Some(key) = &s.certificate_key {
            server.push_str(&format!("    ssl_certificate_key {key};\n"));
        }
    }
    let scheme = s.upstream_scheme;
    let d = scheme.directive();
    let mut location = format!(
        "      {d}_pass {}://127.0.0.1:{upstream_port};\n",
        scheme.as_str()
    );
    if scheme.is_tls() {
        location.push_str(&format!("      {d}_ssl_session_reuse off;\n"));
        location.push_str(&format!("      {d}_ssl_name {};\n", s.upstream_name));
        location.push_str(&format!("      {d}_ssl_server_name on;\n"));
        if let Some(ca) = &s.upstream_ca {
            location.push_str(&format!("      {d}_ssl_verify on;\n"));
            location.push_str(&format!("      {d}_ssl_trusted_certificate {ca};\n"));
        }
        if let Some(cert) = &s.upstream_certificate {
            location.push_str(&format!("      {d}_ssl_certificate {cert};\n"));
        }
        if let Some(key) = &s.upstream_certificate_key {
            location.push_str(&format!("      {d}_ssl_certificate_key {key};\n"));
        }
    }
    if let Some(auth_port) = auth_port {
        location.push_str("      auth_request /tlsmatrix-auth;\n");
        server.push_str(&format!(
            "    location = /tlsmatrix-auth {{\n      internal;\n      proxy_pass http://127.0.0.1:{auth_port}/auth;\n      proxy_pass_request_body off;\n      proxy_set_header Content-Length \"\";\n    }}\n"
        ));
    }
    format!(
        "# generated by tlsmatrix\nmaster_process off;\npid nginx.pid;\nerror_log stderr info;\nevents {{ worker_connections 64; }}\nhttp {{\n  access_log off;\n{TEMP_PATHS}  server {{\n{server}    location / {{\n{location}    }}\n  }}\n}}\n",
    )
}

/// nginx's temporary directories, inside the case directory.
pub const TEMP_PATHS: &str = "  client_body_temp_path tmp/body;\n  proxy_temp_path tmp/proxy;\n  fastcgi_temp_path tmp/fastcgi;\n  uwsgi_temp_path tmp/uwsgi;\n  scgi_temp_path tmp/scgi;\n";

/// A running nginx.
#[derive(Debug)]
pub struct Nginx {
    name: String,
    node: ChildProcess,
    port: u16,
}

/// nginx's error-log lines an operator reads: without date, pid and
/// connection number, and without the start-up notices. An `[info]` line of
/// a write that failed because the client had already gone
/// (`SSL_write() failed (32: Broken pipe)`, `(104: Connection reset by
/// peer)`) is left out: whether nginx writes before or after the client
/// closes is timing (seen in CI after a refused zbctl call), not what the
/// case shows.
pub fn operator_lines(stderr: &str) -> Vec<String> {
    let prefix = regex::Regex::new(r"^[0-9/]+ [0-9:]+ (\[[a-z]+\]) [0-9]+#[0-9]+: (\*[0-9]+ )?")
        .expect("valid");
    let mut seen = std::collections::HashSet::new();
    stderr
        .lines()
        .filter(|l| {
            ["[emerg]", "[alert]", "[crit]", "[error]", "[warn]"]
                .iter()
                .any(|lvl| l.contains(lvl))
                || (l.contains("[info]") && l.contains("SSL") && !client_gone(l))
                || l.starts_with("nginx: ")
        })
        .map(|l| prefix.replace(l, "$1 ").into_owned())
        .filter(|l| seen.insert(l.clone()))
        .collect()
}

/// An `[info]` line of a write to a client that had already closed.
fn client_gone(line: &str) -> bool {
    line.contains("SSL_write() failed")
        && (line.contains("(32: Broken pipe)") || line.contains("(104: Connection reset by peer)"))
}

impl Nginx {
    /// Writes `nginx/nginx.conf` under `workdir` and starts nginx on a free
    /// port, proxying to `upstream_port`. Certificate paths are relative to
    /// the case directory.
    pub async fn start(
        settings: &NginxSettings,
        upstream_port: u16,
        workdir: &Path,
    ) -> Result<Started<Self>, HarnessError> {
        Self::start_config(
            "nginx",
            &|port| config(settings, port, upstream_port),
            workdir,
        )
        .await
    }

    /// Writes `NAME.conf` (rendered for the port nginx is given) into
    /// `workdir` and starts nginx with it, as the node `NAME`. A refusal's
    /// message is nginx's own error lines.
    pub async fn start_config(
        name: &str,
        render: &(dyn Fn(u16) -> String + Sync),
        workdir: &Path,
    ) -> Result<Started<Self>, HarnessError> {
        let bin = locate()?;
        // nginx binds its own port, so the free port it is given may be taken
        // by a node of another case before it binds: then it is given another.
        for _ in 0..BIND_ATTEMPTS - 1 {
            match Self::start_once(&bin, name, render, workdir).await? {
                Started::Refused(r) if r.message.contains(ADDRESS_IN_USE) => continue,
                started => return Ok(started),
            }
        }
        Self::start_once(&bin, name, render, workdir).await
    }

    async fn start_once(
        bin: &Path,
        name: &str,
        render: &(dyn Fn(u16) -> String + Sync),
        workdir: &Path,
    ) -> Result<Started<Self>, HarnessError> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| HarnessError::start_failed("nginx", e))?
            .port();
        let prefix = workdir.to_path_buf();
        std::fs::create_dir_all(prefix.join("tmp"))
            .map_err(|e| HarnessError::write(prefix.join("tmp"), e))?;
        let text = render(port);
        let conf = format!("{name}.conf");
        crate::pki::write_file(&prefix.join(&conf), text.as_bytes(), 0o644)?;
        let cmd = Hermetic::new(bin, &prefix)
            .arg("-p")
            .arg(format!("{}/", prefix.display()))
            .args(["-c", &conf, "-g", "daemon off;"])
            .command();
        let ready = Ready::Stderr("getrlimit(RLIMIT_NOFILE)".into());
        let started = ChildProcess::start("nginx", cmd, &ready, READY_DEADLINE).await?;
        Ok(started
            .map_refusal(|r| Refusal::new(name, operator_lines(&r.message).join("\n")))
            .map(|node| Self {
                name: name.to_string(),
                node,
                port,
            }))
    }

    /// The port nginx listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops nginx (SIGTERM: fast shutdown) and returns its operator-level log,
    /// once it has read what its clients sent (see [`drain`]).
    pub async fn stop(self) -> Vec<String> {
        drain(self.port).await;
        operator_lines(&self.node.stop().await)
    }
}

/// How long [`drain`] waits at most.
const DRAIN: Duration = Duration::from_secs(1);

/// Waits, at most [`DRAIN`], until nginx has read everything sent to `port`:
/// no connection on it with unread bytes, an unread close (`CLOSE_WAIT`) or
/// one not yet accepted, as `/proc/net/tcp` shows them. A client's alert or
/// close that nginx had not read when it was stopped made its `[info]` line
/// (`SSL_do_handshake() failed ... alert internal error`) come or not by
/// timing: seen once in a CI run, after a warm Java client's case ended a few
/// milliseconds after its alert. nginx runs as one process, so no signal
/// makes it drain; this checks the kernel's queues every 5 ms instead. It
/// waits for nothing the case shows: only for nginx to see what was sent.
async fn drain(port: u16) {
    let deadline = std::time::Instant::now() + DRAIN;
    while std::time::Instant::now() < deadline && unread(port) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// True when a socket on local `port` has data or a close nginx has not read.
fn unread(port: u16) -> bool {
    let local = format!(":{port:04X}");
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|table| {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        let pending = text.lines().skip(1).any(|line| {
            // sl local_address rem_address st tx_queue:rx_queue ...
            let cols: Vec<&str> = line.split_whitespace().collect();
            let [_, local_address, _, state, queues, ..] = cols.as_slice() else {
                return false;
            };
            let rx = queues.split(':').nth(1).unwrap_or("0");
            local_address.ends_with(&local)
                && (*state == "08" || u64::from_str_radix(rx, 16).unwrap_or(0) > 0)
        });
        pending
    })
}

impl RunningNode for Nginx {
    fn name(&self) -> &str {
        &self.name
    }

    fn address(&self) -> Option<std::net::SocketAddr> {
        Some(([127, 0, 0, 1], self.port).into())
    }

    fn stop(self: Box<Self>) -> StopFuture {
        Box::pin(Nginx::stop(*self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_has_the_documented_directives() {
        let s: NginxSettings = serde_yaml_ng::from_str(
            "{certificate: proxy-chain.pem, certificate-key: proxy.key, upstream-scheme: grpcs, upstream-ca: ca.pem}",
        )
        .unwrap();
        let c = config(&s, 1, 2);
        assert!(c.contains("listen 127.0.0.1:1 ssl http2;"), "{c}");
        assert!(c.contains("grpc_pass grpcs://127.0.0.1:2;"), "{c}");
        assert!(
            c.contains("grpc_ssl_verify on;") && c.contains("grpc_ssl_trusted_certificate ca.pem;"),
            "{c}"
        );
        assert!(c.contains("master_process off;"), "{c}");
    }

    #[test]
    fn operator_lines_drop_stamps_and_notices() {
        let log = "2026/11/26 21:00:00 [notice] 5#5: start worker processes\n2026/11/26 21:00:01 [error] 6#6: *3 upstream prematurely closed connection while reading response header from upstream, client: 127.0.0.1\n";
        assert_eq!(
            operator_lines(log),
            vec!["[error] upstream prematurely closed connection while reading response header from upstream, client: 127.0.0.1"]
        );
    }
}
