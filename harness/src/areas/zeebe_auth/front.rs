//! What stands in front of the gateway in a zeebe-auth case, as real reports
//! put it there, and the combinations refused before anything starts:
//!
//! - `proxy:` real nginx (`nodes/nginx.rs`): `grpc_pass` or `proxy_pass`
//!   (HTTP/1), optionally with an upstream client certificate, an
//!   `auth_request` auth service and an mTLS sidecar before the gateway
//!   (`nodes/nginx_sites.rs`), each a process with its own error log;
//! - `stream-proxy:` nginx's L4 `stream` module terminating TLS
//!   (`nodes/nginx_stream.rs`), or, with `upstream-tls` and a certificate from
//!   its own CA, a TLS-intercepting proxy;
//! - `http-gateway:` the reference KrakenD-style HTTP gateway
//!   (`nodes/http_gateway.rs`) from a KrakenD configuration whose backend
//!   host `{gateway-url}` is the Zeebe gateway.

use std::path::Path;

use super::CaseBody;
use crate::config::krakend::ServiceSettings;
use crate::error::HarnessError;
use crate::nodes::go_tls::GoGeneration;
use crate::nodes::http_gateway::HttpGatewayNode;
use crate::nodes::nginx::{self, Nginx, NginxSettings};
use crate::nodes::{nginx_sites, nginx_stream, NodeStack, RunningNode, Started};
use crate::scenario::Case;

/// The text a KrakenD configuration uses for the Zeebe gateway's URL.
pub const GATEWAY_URL: &str = "{gateway-url}";

/// Refuses what cannot run as written, naming the file, the key and the fix.
pub fn check(case: &Case, body: &CaseBody) -> Result<(), HarnessError> {
    let file = case.source.display().to_string();
    let invalid = |key: &str, problem: &str, fix: &str| {
        HarnessError::invalid(&file, format!("{}: {key}", case.id), problem, fix)
    };
    let fronts = [
        body.proxy.is_some(),
        body.stream_proxy.is_some(),
        body.http_gateway.is_some(),
    ];
    if fronts.iter().filter(|f| **f).count() > 1 {
        return Err(invalid(
            "proxy, stream-proxy, http-gateway",
            "more than one front in one case; each stands alone in front of the gateway",
            "keep one of proxy, stream-proxy and http-gateway (set the others to null)",
        ));
    }
    if let Some(p) = &body.proxy {
        check_proxy(p, &invalid)?;
    }
    if let Some(s) = &body.stream_proxy {
        if s.upstream_ca.is_some() && !s.upstream_tls {
            return Err(invalid(
                "stream-proxy.upstream-ca",
                "upstream-ca without upstream-tls: a plaintext upstream has no certificate to verify (nginx would ignore proxy_ssl_verify)",
                "set stream-proxy.upstream-tls: true, or drop upstream-ca",
            ));
        }
    }
    if let Some(value) = &body.http_gateway {
        krakend_settings(case, value, Path::new("."), 1)?;
    }
    Ok(())
}

fn check_proxy(
    p: &NginxSettings,
    invalid: &dyn Fn(&str, &str, &str) -> HarnessError,
) -> Result<(), HarnessError> {
    if p.tls && (p.certificate.is_none() || p.certificate_key.is_none()) {
        return Err(invalid(
            "proxy.certificate",
            "tls: true needs certificate and certificate-key (nginx refuses an ssl listener without ssl_certificate)",
            "name the proxy's certificate chain and key files, or set tls: false",
        ));
    }
    if p.upstream_certificate.is_some() != p.upstream_certificate_key.is_some() {
        return Err(invalid(
            "proxy.upstream-certificate",
            "upstream-certificate and upstream-certificate-key go together (grpc_ssl_certificate needs grpc_ssl_certificate_key)",
            "name both the client certificate and its key, or neither",
        ));
    }
    if p.upstream_certificate.is_some() && !p.upstream_scheme.is_tls() {
        return Err(invalid(
            "proxy.upstream-certificate",
            "a client certificate for a plaintext upstream: nginx sends it only over TLS (grpcs or https)",
            "set proxy.upstream-scheme: grpcs, or drop upstream-certificate",
        ));
    }
    if let Some(auth) = &p.auth_request {
        if !(200..=599).contains(&auth.status) {
            return Err(invalid(
                "proxy.auth-request.status",
                &format!("{} is not an HTTP status nginx can answer", auth.status),
                "use a status between 200 and 599 (401 or 403 for a refusal)",
            ));
        }
    }
    Ok(())
}

/// The KrakenD settings of `http-gateway:`, with `{gateway-url}` replaced.
fn krakend_settings(
    case: &Case,
    value: &serde_yaml_ng::Value,
    workdir: &Path,
    gateway_port: u16,
) -> Result<ServiceSettings, HarnessError> {
    let source = format!("{} ({}: http-gateway)", case.source.display(), case.id);
    let json = serde_json::to_string(value).map_err(|e| {
        HarnessError::invalid(
            &source,
            "http-gateway",
            format!("not a KrakenD configuration: {e}"),
            "write http-gateway as KrakenD's JSON object, in YAML",
        )
    })?;
    let json = json.replace(GATEWAY_URL, &format!("http://127.0.0.1:{gateway_port}"));
    let value: serde_json::Value = serde_json::from_str(&json).map_err(|e| {
        HarnessError::invalid(
            &source,
            "http-gateway",
            format!("not a KrakenD configuration: {e}"),
            "write http-gateway as KrakenD's JSON object, in YAML",
        )
    })?;
    ServiceSettings::from_value(&source, &value, workdir)
}

/// The running front: its nodes in start order, the one the client dials
/// last.
pub struct Front {
    nodes: NodeStack,
    port: u16,
}

fn boxed<N: RunningNode + 'static>(started: Started<N>) -> Started<Box<dyn RunningNode>> {
    started.map(|node| Box::new(node) as Box<dyn RunningNode>)
}

/// The port a started node listens on (every node of a front serves).
fn port_of(node: &dyn RunningNode) -> u16 {
    node.address().map_or(0, |a| a.port())
}

impl Front {
    /// Starts the case's front towards the gateway on `gateway_port`; `None`
    /// when the client dials the gateway itself. A node that refuses its
    /// configuration stops the ones started before it.
    pub async fn start(
        case: &Case,
        body: &CaseBody,
        gateway_port: u16,
        workdir: &Path,
    ) -> Result<Option<Started<Self>>, HarnessError> {
        let mut nodes = NodeStack::new();
        if let Some(p) = &body.proxy {
            let mut upstream = gateway_port;
            if let Some(mtls) = &p.upstream_mtls {
                let started = Nginx::start_config(
                    "sidecar",
                    &|port| nginx_sites::mtls_sidecar("sidecar", port, gateway_port, mtls),
                    workdir,
                )
                .await?;
                match nodes.push(boxed(started)).await {
                    Ok(sidecar) => upstream = port_of(sidecar),
                    Err(r) => return Ok(Some(Started::Refused(r))),
                }
            }
            let mut auth_port = None;
            if let Some(auth) = &p.auth_request {
                let started = Nginx::start_config(
                    "auth",
                    &|port| nginx_sites::auth_service("auth", port, auth.status),
                    workdir,
                )
                .await?;
                match nodes.push(boxed(started)).await {
                    Ok(auth) => auth_port = Some(port_of(auth)),
                    Err(r) => return Ok(Some(Started::Refused(r))),
                }
            }
            let started = Nginx::start_config(
                "nginx",
                &|port| nginx::config_with(p, port, upstream, auth_port),
                workdir,
            )
            .await?;
            return Ok(Some(Self::dialed(nodes, boxed(started)).await));
        }
        if let Some(s) = &body.stream_proxy {
            let module = nginx_stream::locate_module()?;
            let module = module.display().to_string();
            let started = Nginx::start_config(
                "stream-proxy",
                &|port| nginx_stream::config("stream-proxy", &module, s, port, gateway_port),
                workdir,
            )
            .await?;
            return Ok(Some(Self::dialed(nodes, boxed(started)).await));
        }
        if let Some(value) = &body.http_gateway {
            let settings = krakend_settings(case, value, workdir, gateway_port)?;
            let node = HttpGatewayNode::start(
                &settings,
                GoGeneration::Current,
                "127.0.0.1:0".parse().expect("valid address"),
            )
            .await?;
            return Ok(Some(Self::dialed(nodes, boxed(Started::Ready(node))).await));
        }
        Ok(None)
    }

    /// The front with `dialed`, the node the client dials, on top of `nodes`.
    async fn dialed(mut nodes: NodeStack, dialed: Started<Box<dyn RunningNode>>) -> Started<Self> {
        match nodes.push(dialed).await {
            Ok(node) => {
                let port = port_of(node.as_ref());
                Started::Ready(Self { nodes, port })
            }
            Err(r) => Started::Refused(r),
        }
    }

    /// The port the client dials.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops every node (the last started first) and returns their log
    /// lines: the node the client dials first, then the others in start
    /// order, each line `node: line` (this area's snapshots hold that form,
    /// older than the stack's `[node] line`).
    pub async fn stop(self) -> Vec<String> {
        let mut stopped = self.nodes.stop().await;
        if let Some(dialed) = stopped.pop() {
            stopped.insert(0, dialed);
        }
        stopped
            .into_iter()
            .flat_map(|n| {
                let node = n.node;
                n.lines.into_iter().map(move |l| format!("{node}: {l}"))
            })
            .collect()
    }
}

/// The real programs the front needs.
pub fn needs(body: &CaseBody) -> Vec<super::Requirement> {
    let mut needs = Vec::new();
    if body.proxy.is_some() || body.stream_proxy.is_some() {
        needs.push(super::Requirement {
            peer: "nginx",
            locate: nginx::locate,
        });
    }
    if body.stream_proxy.is_some() {
        needs.push(super::Requirement {
            peer: "nginx stream module",
            locate: nginx_stream::locate_module,
        });
    }
    needs
}
