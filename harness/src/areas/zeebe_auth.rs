//! Area `zeebe-auth`: OAuth client-credentials tokens and proxies in front of
//! the Zeebe gateway. A reference token server issues ES256 JWTs, the
//! reference gateway checks them (interceptor: signature, expiry, audience,
//! then client → method rules) and audits every call, real nginx terminates
//! TLS in front of it, and real Zeebe clients fetch tokens the way they do.
//!
//! Case body:
//!
//! ```yaml
//! token-server:
//!   tls: false                  # https with chain/key below
//!   chain: token-chain.pem
//!   key: token.key
//!   clients: { zeebe: s3cr3t }  # registered client id → secret
//!   expires-in: 300             # <= 0: tokens already expired by their claim
//!   signing-key: trusted        # or rogue: a key the gateway does not trust
//!   running: true               # false: the token URL points at a closed port
//! gateway:
//!   config: { zeebe: { gateway: { security: { ... } } } }   # as in zeebe-client
//!   env: {}
//!   auth: { audience: zeebe-api, rules: { zeebe: [Topology] } }   # absent: no interceptor
//! proxy:                        # optional: real nginx between client and gateway
//!   tls: true
//!   http2: true
//!   certificate: proxy-chain.pem
//!   certificate-key: proxy.key
//!   upstream-scheme: grpc       # grpcs (with upstream-ca), http or https (proxy_pass, HTTP/1)
//!   upstream-certificate: front-chain.pem     # grpc_ssl_certificate (and -key)
//!   auth-request: { status: 401 }             # an auth service answering 401
//!   upstream-mtls: { certificate: ..., certificate-key: ..., client-ca: ca.pem }   # mTLS sidecar
//! stream-proxy:                 # or: nginx's L4 stream module terminating TLS
//!   certificate: proxy-chain.pem
//!   certificate-key: proxy.key
//!   alpn: [h2]                  # ssl_alpn; none by default
//!   upstream-tls: false         # true: TLS again towards the gateway (intercepting)
//! http-gateway: { ... }         # or: the KrakenD-style gateway, backend host "{gateway-url}"
//! client:                       # as in zeebe-client; `{token-url}` in env values
//!   kind: zbctl                 # is replaced by the token server's URL
//!   env: { ZEEBE_CLIENT_ID: zeebe, ZEEBE_CLIENT_SECRET: s3cr3t, ZEEBE_AUTHORIZATION_SERVER_URL: "{token-url}", ZEEBE_TOKEN_AUDIENCE: zeebe-api }
//! ```
//!
//! Every audit record is also appended to `audit.jsonl` in the case
//! directory; tokens and secrets never appear in it or in any log.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use serde::Deserialize;

mod front;

use super::zeebe_client::{client_needs, run_zeebe_client, ClientBody};
use super::{refused, Area, AreaSpec, BoxFuture, Requirement};
use crate::catalogue::Catalogue;
use crate::config::zeebe::{GatewayMode, GatewaySettings};
use crate::config::{EnvMap, Properties};
use crate::error::HarnessError;
use crate::nodes::closed_port::ClosedPort;
use crate::nodes::gateway_auth::GatewayAuth;
use crate::nodes::jwt::{SigningKey, VerifyingKey};
use crate::nodes::nginx::NginxSettings;
use crate::nodes::nginx_stream::StreamSettings;
use crate::nodes::token_server::{TokenServer, TokenServerSettings};
use crate::nodes::{GatewayNode, Started, Topology};
use crate::peers::Observation;
use crate::pki::Materialized;
use crate::scenario::Case;

/// The case body of this area.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CaseBody {
    /// The OAuth token server.
    #[serde(default)]
    pub(crate) token_server: TokenServerBody,
    /// The gateway and its interceptor.
    pub(crate) gateway: GatewayBody,
    /// nginx in front of the gateway.
    #[serde(default)]
    pub(crate) proxy: Option<NginxSettings>,
    /// nginx's L4 stream proxy in front of the gateway.
    #[serde(default)]
    pub(crate) stream_proxy: Option<StreamSettings>,
    /// The KrakenD-style HTTP gateway in front of the gateway (a KrakenD
    /// configuration; `{gateway-url}` is the Zeebe gateway's URL).
    #[serde(default)]
    pub(crate) http_gateway: Option<serde_yaml_ng::Value>,
    /// The client.
    pub(crate) client: ClientBody,
}

/// Which key signs the token server's tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SigningKeyChoice {
    /// The key the gateway trusts.
    #[default]
    Trusted,
    /// Another key (a second token server, a rotated key the gateway never got).
    Rogue,
}

/// The token server part of a case.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct TokenServerBody {
    /// Serve https.
    #[serde(default)]
    pub(crate) tls: bool,
    /// TLS chain file.
    #[serde(default)]
    pub(crate) chain: Option<String>,
    /// TLS key file.
    #[serde(default)]
    pub(crate) key: Option<String>,
    /// Registered clients.
    #[serde(default = "default_clients")]
    pub(crate) clients: BTreeMap<String, String>,
    /// Token lifetime in seconds.
    #[serde(default = "five_minutes")]
    pub(crate) expires_in: i64,
    /// Which key signs.
    #[serde(default)]
    pub(crate) signing_key: SigningKeyChoice,
    /// Whether it runs at all.
    #[serde(default = "yes")]
    pub(crate) running: bool,
}

impl Default for TokenServerBody {
    fn default() -> Self {
        Self {
            tls: false,
            chain: None,
            key: None,
            clients: default_clients(),
            expires_in: five_minutes(),
            signing_key: SigningKeyChoice::Trusted,
            running: true,
        }
    }
}

fn default_clients() -> BTreeMap<String, String> {
    BTreeMap::from([("zeebe".to_string(), "s3cr3t".to_string())])
}
fn five_minutes() -> i64 {
    300
}
fn yes() -> bool {
    true
}

/// The gateway part of a case.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct GatewayBody {
    /// Zeebe YAML as a tree.
    #[serde(default)]
    pub(crate) config: serde_yaml_ng::Value,
    /// Environment.
    #[serde(default)]
    pub(crate) env: EnvMap,
    /// The interceptor; absent = none.
    #[serde(default)]
    pub(crate) auth: Option<AuthBody>,
}

/// The interceptor's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AuthBody {
    /// The audience tokens must carry.
    pub(crate) audience: String,
    /// Client id → allowed gateway methods; absent = all methods.
    #[serde(default)]
    pub(crate) rules: Option<BTreeMap<String, Vec<String>>>,
}

struct ZeebeAuthArea {
    catalogue: Catalogue,
}

/// The area.
pub fn area() -> &'static dyn Area {
    static AREA: OnceLock<ZeebeAuthArea> = OnceLock::new();
    AREA.get_or_init(|| ZeebeAuthArea {
        catalogue: super::load_catalogue(
            "zeebe-auth",
            include_str!("../../catalogue/zeebe-auth.yaml"),
        ),
    })
}

/// The file every audit record of a case is appended to.
pub const AUDIT_FILE: &str = "audit.jsonl";

impl AreaSpec for ZeebeAuthArea {
    type Body = CaseBody;
    const SCHEMA: &'static str = file!();

    fn name(&self) -> &'static str {
        "zeebe-auth"
    }

    fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    fn check(&self, case: &Case, body: &CaseBody) -> Result<Vec<Requirement>, HarnessError> {
        if let Some(auth) = &body.gateway.auth {
            // Unknown method names in the rules are bad input, found before anything runs.
            let (key, _) = SigningKey::generate("check")?;
            GatewayAuth::new(
                key.verifying_key(),
                &auth.audience,
                auth.rules.clone(),
                &format!("{} (gateway.auth)", case.id),
            )?;
        }
        front::check(case, body)?;
        let mut needs = client_needs(case, &body.client)?;
        needs.extend(front::needs(body));
        Ok(needs)
    }

    fn run<'a>(
        &'a self,
        case: &'a Case,
        body: &'a CaseBody,
        workdir: &'a Path,
        _pki: &'a Materialized,
    ) -> BoxFuture<'a, Result<Observation, HarnessError>> {
        Box::pin(async move { run(case, body, workdir).await })
    }
}

async fn run(case: &Case, body: &CaseBody, workdir: &Path) -> Result<Observation, HarnessError> {
    let (token_server, gateway_key) = start_token_server(case, body, workdir).await?;
    let (token_url, closed_port) = token_url(token_server.as_ref())?;

    let source = format!("{} (gateway.config)", case.id);
    let props = Properties::from_value(&source, &body.gateway.config, body.gateway.env.clone())?;
    let mut settings = GatewaySettings::from_properties(GatewayMode::Standalone, &props, workdir)?;
    settings.host = "127.0.0.1".to_string();
    settings.port = 0;
    let auth = match &body.gateway.auth {
        Some(a) => Some(Arc::new(
            GatewayAuth::new(gateway_key, &a.audience, a.rules.clone(), &source)?
                .with_audit_file(workdir.join(AUDIT_FILE)),
        )),
        None => None,
    };
    let started =
        GatewayNode::start_with_auth(&settings, Topology::with_brokers(1), auth.clone()).await;
    let gateway = match Started::in_process("gateway", started)? {
        Started::Ready(g) => g,
        Started::Refused(r) => return Ok(refused("gateway", r)),
    };
    let proxy = match front::Front::start(case, body, gateway.address().port(), workdir).await {
        Ok(None) => None,
        Ok(Some(Started::Ready(front))) => Some(front),
        Ok(Some(Started::Refused(r))) => {
            gateway.shutdown().await;
            // The case shows the refusing node's own message only.
            return Ok(refused(&r.node.clone(), r.with_logs(Vec::new())));
        }
        Err(e) => {
            gateway.shutdown().await;
            return Err(e);
        }
    };
    let port = proxy
        .as_ref()
        .map_or(gateway.address().port(), front::Front::port);
    let mut client = body.client.clone();
    for value in client.env.values_mut().chain(client.args.iter_mut()) {
        *value = value.replace("{token-url}", &token_url);
    }
    let result = run_zeebe_client(&client, workdir, port).await;
    let mut logs = Vec::new();
    if let Some(front) = proxy {
        logs.extend(front.stop().await);
    }
    gateway
        .log()
        .settle(super::zeebe_client::SETTLE_DEADLINE)
        .await;
    logs.extend(
        gateway
            .log()
            .lines()
            .into_iter()
            .map(|l| format!("gateway: {l}")),
    );
    gateway.shutdown().await;
    if let Some(auth) = &auth {
        logs.extend(audit_lines(auth));
    }
    if let Some(server) = token_server {
        logs.extend(
            server
                .log()
                .lines()
                .into_iter()
                .map(|l| format!("token-server: {l}")),
        );
        server.shutdown().await;
    }
    drop(closed_port);
    let mut obs = result?;
    obs.node_logs = logs;
    Ok(obs)
}

/// The case's signing keys (the trusted one, and a rogue one when the token
/// server signs with it; both written 0600) and its token server, when it
/// runs; with the key the gateway verifies tokens with.
async fn start_token_server(
    case: &Case,
    body: &CaseBody,
    workdir: &Path,
) -> Result<(Option<TokenServer>, VerifyingKey), HarnessError> {
    // Keys: the trusted one and, for a rogue token server, another; both 0600.
    let (trusted, trusted_der) = SigningKey::generate("tlsmatrix-trusted")?;
    crate::nodes::token_server::write_signing_key(workdir, "token-signing.key", &trusted_der)?;
    let gateway_key = trusted.verifying_key();
    let signer = match body.token_server.signing_key {
        SigningKeyChoice::Trusted => trusted,
        SigningKeyChoice::Rogue => {
            let (rogue, der) = SigningKey::generate("tlsmatrix-rogue")?;
            crate::nodes::token_server::write_signing_key(
                workdir,
                "token-signing-rogue.key",
                &der,
            )?;
            rogue
        }
    };
    let ts = &body.token_server;
    let tls = match (ts.tls, &ts.chain, &ts.key) {
        (false, _, _) => None,
        (true, Some(chain), Some(key)) => Some((workdir.join(chain), workdir.join(key))),
        (true, _, _) => {
            return Err(HarnessError::invalid(
                case.source.display().to_string(),
                format!("{}: token-server", case.id),
                "tls: true needs chain and key",
                "name the token server's certificate chain and key files",
            ))
        }
    };
    let server = if ts.running {
        Some(
            TokenServer::start(
                TokenServerSettings {
                    clients: ts.clients.clone(),
                    expires_in: ts.expires_in,
                    tls,
                },
                signer,
            )
            .await?,
        )
    } else {
        None
    };
    Ok((server, gateway_key))
}

/// The token URL the client is given. Without a token server it names a port
/// that refuses connections, held (the returned reservation) until the case
/// ends so no other node can be given it.
fn token_url(server: Option<&TokenServer>) -> Result<(String, Option<ClosedPort>), HarnessError> {
    Ok(match server {
        Some(server) => (server.token_url(), None),
        None => {
            let closed = ClosedPort::reserve("token server")?;
            let url = format!("http://127.0.0.1:{}/oauth/token", closed.port());
            (url, Some(closed))
        }
    })
}

/// The gateway's audit records as node-log lines: each distinct record once
/// (a client's retries repeat them); the audit file keeps every one, with its
/// time.
fn audit_lines(auth: &GatewayAuth) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    auth.records()
        .into_iter()
        .map(|r| {
            format!(
                "audit: client={} method={} decision={} reason={}",
                r.client.as_deref().unwrap_or("-"),
                r.method,
                r.decision,
                r.reason
            )
        })
        .filter(|l| seen.insert(l.clone()))
        .collect()
}
