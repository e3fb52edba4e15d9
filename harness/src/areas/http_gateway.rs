//! Area `http-gateway`: real HTTP clients (curl, openssl s_client) against a
//! KrakenD-style gateway with service TLS and mutual TLS.
//!
//! Case body:
//!
//! ```yaml
//! openssl-recipe: krakend     # optional: run KrakenD's documented openssl commands first
//! gateway:
//!   backend: embedded         # or go-oracle (Go's crypto/tls, as KrakenD serves)
//!   go: "1.25"                # embedded only: which Go generation's alerts ("1.19": older KrakenD)
//!   config:                   # krakend.json, as a tree (written as JSON), or:
//!     tls: { public_key: server.crt, private_key: server.key, enable_mtls: true, ca_certs: [rootCA.pem] }
//!   config-file: krakend.json # a KrakenD file in the case directory
//! client:
//!   kind: curl                # or openssl (s_client), chromium (headless; cacert imported with certutil)
//!   host: localhost           # the host in the URL / SNI, resolved to 127.0.0.1
//!   tls: true                 # https (default) or http
//!   cacert: rootCA.pem        # --cacert / -CAfile
//!   cert: client.crt          # --cert / -cert
//!   key: client.key           # --key / -key
//!   insecure: false           # -k
//!   tls-max: "1.2"            # --tls-max / -tls1_2
//!   http2: false              # curl's default HTTP/2 (racy texts; off unless asked)
//!   path: /__health
//! ```
//!
//! The file's `port` is replaced by a free port on 127.0.0.1; everything else
//! is read as KrakenD reads it, paths relative to the case directory.
//!
//! Client mTLS to backends: a case may start the reference backend server
//! ([`HttpBackendNode`], in process, the same for both gateway
//! implementations) with
//!
//! ```yaml
//! upstream:
//!   cert: backend-chain.pem   # its certificate chain and key, from the case PKI
//!   key: backend.key
//!   client-ca: ca.pem         # optional: require a client certificate from this CA
//! ```
//!
//! Its port is known only at run time: every `{backend}` in the gateway's
//! configuration (e.g. `host: ["https://127.0.0.1:{backend}"]`) is replaced by
//! it before the gateway reads the file. Its handshake errors join the node
//! log after the gateway's, prefixed `upstream: `.

use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use serde::Deserialize;

use super::{refused, Area, AreaSpec, BoxFuture, Requirement};
use crate::catalogue::Catalogue;
use crate::config::krakend::ServiceSettings;
use crate::error::HarnessError;
use crate::nodes::go_tls::GoGeneration;
use crate::nodes::http_backend::HttpBackendNode;
use crate::nodes::http_gateway::HttpGatewayNode;
use crate::nodes::http_oracle::{self, HttpOracle};
use crate::nodes::Started;
use crate::peers::chromium::{self, BrowserConfig};
use crate::peers::http_clients::{self, HttpClientConfig};
use crate::peers::Observation;
use crate::pki::openssl_recipe::{self, Recipe};
use crate::pki::Materialized;
use crate::scenario::Case;

/// How long a client run may take.
pub const CLIENT_DEADLINE: Duration = Duration::from_secs(10);
/// How long the gateway may take to finish logging after the client is done.
const SETTLE_DEADLINE: Duration = Duration::from_secs(3);
/// The file name the case's configuration is written to.
const CONFIG_FILE: &str = "krakend.json";

/// The case body of this area.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CaseBody {
    /// A documented openssl recipe to run in the case directory first.
    #[serde(default)]
    pub(crate) openssl_recipe: Option<Recipe>,
    /// The gateway under test.
    pub(crate) gateway: GatewayBody,
    /// The client.
    pub(crate) client: ClientBody,
    /// The reference backend server the gateway's endpoints call.
    #[serde(default)]
    pub(crate) upstream: Option<UpstreamBody>,
}

/// The reference backend server of a case.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct UpstreamBody {
    /// Its certificate chain file.
    pub(crate) cert: String,
    /// Its key file.
    pub(crate) key: String,
    /// A CA file: when given, a client certificate from it is required.
    #[serde(default)]
    pub(crate) client_ca: Option<String>,
}

/// What the gateway configuration says for the backend's port.
pub const BACKEND_PORT_PLACEHOLDER: &str = "{backend}";

/// Which gateway implementation serves a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// tlsmatrix's reference gateway, in process.
    #[default]
    Embedded,
    /// The Go oracle (Go's crypto/tls configured as KrakenD configures it).
    GoOracle,
}

/// The gateway part of a case.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct GatewayBody {
    /// Which implementation serves.
    #[serde(default)]
    pub(crate) backend: Backend,
    /// Which Go generation the reference emulates.
    #[serde(default)]
    pub(crate) go: GoGeneration,
    /// krakend.json as a tree.
    #[serde(default)]
    pub(crate) config: serde_yaml_ng::Value,
    /// Or: a KrakenD file in the case directory.
    #[serde(default)]
    pub(crate) config_file: Option<String>,
}

/// Which client runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientKind {
    /// The real curl.
    Curl,
    /// The real `openssl s_client`.
    Openssl,
    /// Headless Chromium loading the URL (`cacert` imported into its NSS
    /// trust store; no client certificate, TLS version or `-k` flags).
    Chromium,
}

/// The client part of a case.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ClientBody {
    /// Which client.
    pub(crate) kind: ClientKind,
    /// The host name dialled.
    #[serde(default = "localhost")]
    pub(crate) host: String,
    /// https (true) or http.
    #[serde(default = "yes")]
    pub(crate) tls: bool,
    /// CA file.
    #[serde(default)]
    pub(crate) cacert: Option<String>,
    /// Client certificate file.
    #[serde(default)]
    pub(crate) cert: Option<String>,
    /// Client key file.
    #[serde(default)]
    pub(crate) key: Option<String>,
    /// Skip server verification.
    #[serde(default)]
    pub(crate) insecure: bool,
    /// Highest TLS version offered.
    #[serde(default)]
    pub(crate) tls_max: Option<String>,
    /// Let curl negotiate HTTP/2.
    #[serde(default)]
    pub(crate) http2: bool,
    /// URL path.
    #[serde(default = "health")]
    pub(crate) path: String,
}

fn localhost() -> String {
    "localhost".to_string()
}
fn yes() -> bool {
    true
}
fn health() -> String {
    "/__health".to_string()
}

struct HttpGatewayArea {
    catalogue: Catalogue,
}

/// The area.
pub fn area() -> &'static dyn Area {
    static AREA: OnceLock<HttpGatewayArea> = OnceLock::new();
    AREA.get_or_init(|| HttpGatewayArea {
        catalogue: super::load_catalogue(
            "http-gateway",
            include_str!("../../catalogue/http-gateway.yaml"),
        ),
    })
}

impl AreaSpec for HttpGatewayArea {
    type Body = CaseBody;
    const SCHEMA: &'static str = file!();

    fn name(&self) -> &'static str {
        "http-gateway"
    }

    fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    fn check(&self, case: &Case, body: &CaseBody) -> Result<Vec<Requirement>, HarnessError> {
        if body.gateway.config_file.is_some() && !body.gateway.config.is_null() {
            return Err(HarnessError::invalid(
                case.source.display().to_string(),
                format!("{}: gateway.config-file", case.id),
                "both gateway.config and gateway.config-file are given",
                "keep one of them",
            ));
        }
        let mut needs = vec![match body.client.kind {
            ClientKind::Curl => Requirement {
                peer: "curl",
                locate: http_clients::locate_curl,
            },
            ClientKind::Openssl => Requirement {
                peer: "openssl",
                locate: || crate::process::tools::OPENSSL.locate(),
            },
            ClientKind::Chromium => Requirement {
                peer: chromium::PEER,
                locate: chromium::locate,
            },
        }];
        if body.client.kind == ClientKind::Chromium {
            check_browser(case, &body.client)?;
            needs.push(Requirement {
                peer: "certutil",
                locate: chromium::locate_certutil,
            });
        }
        if body.openssl_recipe.is_some() {
            needs.push(Requirement {
                peer: "openssl",
                locate: || crate::process::tools::OPENSSL.locate(),
            });
        }
        if body.gateway.backend == Backend::GoOracle {
            needs.push(Requirement {
                peer: "go-oracle",
                locate: http_oracle::locate,
            });
        }
        Ok(needs)
    }

    fn run<'a>(
        &'a self,
        case: &'a Case,
        body: &'a CaseBody,
        workdir: &'a Path,
        _pki: &'a Materialized,
    ) -> BoxFuture<'a, Result<Observation, HarnessError>> {
        Box::pin(async move {
            if let Some(recipe) = body.openssl_recipe {
                openssl_recipe::run(recipe, workdir).await?;
            }
            let upstream = match &body.upstream {
                Some(u) => Some(
                    HttpBackendNode::start(workdir, &u.cert, &u.key, u.client_ca.as_deref())
                        .await?,
                ),
                None => None,
            };
            let port = upstream.as_ref().map(|u| u.port().to_string());
            let with_port = |text: String| match &port {
                Some(port) => text.replace(BACKEND_PORT_PLACEHOLDER, port),
                None => text,
            };
            let config = match &body.gateway.config_file {
                Some(file) => {
                    let path = crate::confine::inside(
                        workdir,
                        file,
                        &case.source.display().to_string(),
                        &format!("{}: gateway.config-file", case.id),
                    )?;
                    if let (Some(_), Ok(text)) = (&port, std::fs::read_to_string(&path)) {
                        crate::pki::write_file(&path, with_port(text).as_bytes(), 0o644)?;
                    }
                    file.clone()
                }
                None => {
                    let json = serde_json::to_string_pretty(&body.gateway.config)
                        .map_err(|e| HarnessError::run("http-gateway", e))?;
                    crate::pki::write_file(
                        &workdir.join(CONFIG_FILE),
                        with_port(json).as_bytes(),
                        0o644,
                    )?;
                    CONFIG_FILE.to_string()
                }
            };
            let obs = match body.gateway.backend {
                Backend::Embedded => run_embedded(body, &config, workdir).await,
                Backend::GoOracle => run_oracle(body, &config, workdir).await,
            };
            match upstream {
                Some(upstream) => {
                    upstream.log().settle(SETTLE_DEADLINE).await;
                    let lines = upstream.log().lines();
                    upstream.shutdown().await;
                    let mut obs = obs?;
                    obs.node_logs.extend(lines);
                    Ok(obs)
                }
                None => obs,
            }
        })
    }
}

/// Node log lines of a client that went away mid-handshake (curl giving up
/// on its own CA file after its ClientHello, say): Go logs `EOF`, a broken
/// pipe or a reset at random, depending on who moves first, and the line
/// carries no diagnosis. Both backends' logs leave them out, so snapshots
/// hold only what is deterministic.
fn is_transport_noise(line: &str) -> bool {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(
            r"TLS handshake error from \S+: (EOF|write tcp \S+: write: broken pipe|read tcp \S+: read: connection reset by peer)$",
        )
        .expect("valid")
    })
    .is_match(line)
}

/// The node log lines a snapshot keeps: transport noise out; for a browser,
/// a line that repeats the one before it (ports aside) once only. Chromium
/// opens one or two connections for the same failed page load, by timing
/// (measured on `browser::ip-not-in-certificate` against the Go oracle: one
/// `remote error: tls: unknown certificate` line in one clean-clone run, two
/// in the others), so the count varies and the text does not.
fn keep_diagnostic_lines(
    mut obs: Observation,
    logs: Vec<String>,
    client: ClientKind,
) -> Observation {
    let mut kept: Vec<String> = Vec::new();
    for line in logs.into_iter().filter(|l| !is_transport_noise(l)) {
        let repeat = client == ClientKind::Chromium
            && kept.last().is_some_and(|last| {
                crate::redact::redact(last, None) == crate::redact::redact(&line, None)
            });
        if !repeat {
            kept.push(line);
        }
    }
    obs.node_logs = kept;
    obs
}

/// Refuses the curl/openssl flags a browser has no equivalent for.
fn check_browser(case: &Case, c: &ClientBody) -> Result<(), HarnessError> {
    let unsupported = [
        ("cert", c.cert.is_some()),
        ("key", c.key.is_some()),
        ("insecure", c.insecure),
        ("tls-max", c.tls_max.is_some()),
        ("http2", c.http2),
    ];
    match unsupported.iter().find(|(_, set)| *set) {
        Some((key, _)) => Err(HarnessError::invalid(
            case.source.display().to_string(),
            format!("{}: client.{key}", case.id),
            "the chromium client takes the URL (host, tls, path) and a CA to trust (cacert) only",
            "drop the key for chromium, or use curl or openssl for this case",
        )),
        None => Ok(()),
    }
}

async fn run_client(
    body: &CaseBody,
    workdir: &Path,
    port: u16,
) -> Result<Observation, HarnessError> {
    let c = &body.client;
    let config = HttpClientConfig {
        host: c.host.clone(),
        port,
        tls: c.tls,
        cacert: c.cacert.clone(),
        cert: c.cert.clone(),
        key: c.key.clone(),
        insecure: c.insecure,
        tls_max: c.tls_max.clone(),
        http2: c.http2,
        path: c.path.clone(),
        workdir: workdir.to_path_buf(),
        deadline: CLIENT_DEADLINE,
    };
    match c.kind {
        ClientKind::Curl => http_clients::curl(&config).await,
        ClientKind::Openssl => http_clients::s_client(&config).await,
        ClientKind::Chromium => {
            let scheme = if c.tls { "https" } else { "http" };
            chromium::load(&BrowserConfig {
                url: format!(
                    "{scheme}://{}{}",
                    crate::peers::host_port(&c.host, port),
                    c.path
                ),
                trusted_ca: c.cacert.clone(),
                workdir: workdir.to_path_buf(),
                deadline: CLIENT_DEADLINE,
            })
            .await
        }
    }
}

async fn run_embedded(
    body: &CaseBody,
    config: &str,
    workdir: &Path,
) -> Result<Observation, HarnessError> {
    let listen = "127.0.0.1:0".parse().expect("valid address");
    let started = match ServiceSettings::from_file(&workdir.join(config), workdir) {
        Ok(settings) => HttpGatewayNode::start(&settings, body.gateway.go, listen).await,
        Err(e) => Err(e),
    };
    let gateway = match Started::in_process("gateway", started)? {
        Started::Ready(gateway) => gateway,
        Started::Refused(r) => return Ok(refused("gateway", r)),
    };
    let obs = run_client(body, workdir, gateway.address().port()).await?;
    gateway.log().settle(SETTLE_DEADLINE).await;
    let logs = gateway.log().lines();
    gateway.shutdown().await;
    Ok(keep_diagnostic_lines(obs, logs, body.client.kind))
}

async fn run_oracle(
    body: &CaseBody,
    config: &str,
    workdir: &Path,
) -> Result<Observation, HarnessError> {
    match HttpOracle::start(config, workdir).await? {
        Started::Refused(r) => Ok(refused("gateway", r)),
        Started::Ready(oracle) => {
            let result = run_client(body, workdir, oracle.port()).await;
            let logs = oracle.stop().await;
            Ok(keep_diagnostic_lines(result?, logs, body.client.kind))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logs() -> Vec<String> {
        [
            "http: TLS handshake error from 127.0.0.1:40001: remote error: tls: unknown certificate",
            "http: TLS handshake error from 127.0.0.1:40002: remote error: tls: unknown certificate",
            "http: TLS handshake error from 127.0.0.1:40003: EOF",
        ]
        .map(String::from)
        .to_vec()
    }

    #[test]
    fn a_browser_repeat_is_kept_once_and_noise_is_dropped() {
        let obs = keep_diagnostic_lines(Observation::default(), logs(), ClientKind::Chromium);
        assert_eq!(obs.node_logs, logs()[..1]);
    }

    #[test]
    fn other_clients_keep_every_diagnostic_line() {
        let obs = keep_diagnostic_lines(Observation::default(), logs(), ClientKind::Curl);
        assert_eq!(obs.node_logs, logs()[..2]);
    }
}
