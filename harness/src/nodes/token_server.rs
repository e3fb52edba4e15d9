//! A reference OAuth 2.0 token server for the client-credentials grant, as the
//! Zeebe clients call it: `POST` to the configured URL with a form body
//! (`audience`, `client_id`, `client_secret`, `grant_type=client_credentials`,
//! `scope`; zbctl 8.4 and the Java client, measured and read) or the JSON body
//! older clients sent; answers `{"access_token", "token_type": "Bearer",
//! "expires_in"}` with an ES256 JWT, and publishes its key at
//! `/.well-known/jwks.json`. TLS on or off like every node.
//!
//! A client asking again for the same audience gets the same token while it
//! is valid: zbctl retries an UNAUTHENTICATED call with a fresh token and
//! loops until its timeout when every token differs (measured), which real
//! servers with caching avoid too.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::jwt::{Claims, SigningKey, VerifyingKey};
use super::NodeLog;
use crate::error::HarnessError;
use crate::pki;

/// How the token server is set up.
#[derive(Debug, Clone)]
pub struct TokenServerSettings {
    /// Registered clients: id → secret.
    pub(crate) clients: BTreeMap<String, String>,
    /// Lifetime of issued tokens in seconds; zero or negative issues tokens
    /// that are already expired (a token server whose clock runs late).
    pub(crate) expires_in: i64,
    /// TLS certificate chain and key (files), or plaintext.
    pub(crate) tls: Option<(std::path::PathBuf, std::path::PathBuf)>,
}

impl Default for TokenServerSettings {
    /// No registered client, tokens valid for 300 s, plaintext.
    fn default() -> Self {
        Self {
            clients: BTreeMap::new(),
            expires_in: 300,
            tls: None,
        }
    }
}

impl TokenServerSettings {
    /// The same settings with the client `id` registered with `secret`.
    pub fn with_client(mut self, id: impl Into<String>, secret: impl Into<String>) -> Self {
        self.clients.insert(id.into(), secret.into());
        self
    }

    /// The same settings issuing tokens valid for `seconds` (zero or
    /// negative: already expired, a token server whose clock runs late).
    pub fn with_expires_in(mut self, seconds: i64) -> Self {
        self.expires_in = seconds;
        self
    }

    /// The same settings serving HTTPS with `chain` (leaf first) and `key`.
    pub fn with_tls(
        mut self,
        chain: impl Into<std::path::PathBuf>,
        key: impl Into<std::path::PathBuf>,
    ) -> Self {
        self.tls = Some((chain.into(), key.into()));
        self
    }

    /// Lifetime of issued tokens in seconds.
    pub fn expires_in(&self) -> i64 {
        self.expires_in
    }
}

struct State {
    settings: TokenServerSettings,
    key: SigningKey,
    issuer: String,
    /// Issued tokens by (client, audience), reused while valid: ECDSA
    /// signatures are randomised, so re-signing the same claims would give a
    /// different token each time.
    issued: Mutex<HashMap<(String, String), (Claims, String)>>,
    log: NodeLog,
}

/// A running token server. Dropping it stops it.
#[derive(Debug)]
pub struct TokenServer {
    address: SocketAddr,
    tls: bool,
    verifying: VerifyingKey,
    log: NodeLog,
    tasks: super::tasks::NodeTasks,
}

impl TokenServer {
    /// Starts on 127.0.0.1 and a free port, signing with `key`.
    pub async fn start(
        settings: TokenServerSettings,
        key: SigningKey,
    ) -> Result<Self, HarnessError> {
        let acceptor = match &settings.tls {
            Some((chain, key_file)) => {
                let certified = pki::load_certified_key(chain, key_file)?;
                let config = rustls::ServerConfig::builder_with_provider(Arc::new(
                    rustls::crypto::aws_lc_rs::default_provider(),
                ))
                .with_safe_default_protocol_versions()
                .map_err(|e| HarnessError::run("token server TLS", e))?
                .with_no_client_auth()
                .with_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(certified)));
                Some(TlsAcceptor::from(Arc::new(config)))
            }
            None => None,
        };
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| HarnessError::start_failed("token server", e))?;
        let address = listener
            .local_addr()
            .map_err(|e| HarnessError::start_failed("token server", e))?;
        let tls = acceptor.is_some();
        let issuer = format!(
            "{}://127.0.0.1:{}/",
            if tls { "https" } else { "http" },
            address.port()
        );
        let log = NodeLog::new("token-server");
        let verifying = key.verifying_key();
        let state = Arc::new(State {
            settings,
            key,
            issuer,
            issued: Mutex::new(HashMap::new()),
            log: log.clone(),
        });
        let mut tasks = super::tasks::NodeTasks::idle();
        tasks.accept(listener, move |tcp, _, _| {
            let state = state.clone();
            let acceptor = acceptor.clone();
            let guard = state.log.begin();
            async move {
                let service = hyper::service::service_fn(move |req| {
                    let state = state.clone();
                    async move { Ok::<_, std::convert::Infallible>(handle(&state, req).await) }
                });
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                match acceptor {
                    Some(acceptor) => {
                        let accepted =
                            tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp))
                                .await;
                        if let Ok(Ok(tls)) = accepted {
                            let _ = builder.serve_connection(TokioIo::new(tls), service).await;
                        }
                    }
                    None => {
                        let _ = builder.serve_connection(TokioIo::new(tcp), service).await;
                    }
                }
                drop(guard);
            }
        });
        Ok(Self {
            address,
            tls,
            verifying,
            log,
            tasks,
        })
    }

    /// The token endpoint's URL (`http(s)://127.0.0.1:PORT/oauth/token`).
    pub fn token_url(&self) -> String {
        format!(
            "{}://127.0.0.1:{}/oauth/token",
            if self.tls { "https" } else { "http" },
            self.address.port()
        )
    }

    /// The address it listens on (127.0.0.1).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The key a gateway should trust.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.verifying.clone()
    }

    /// The server's log (grants and refusals; never a secret or a token).
    pub fn log(&self) -> &NodeLog {
        &self.log
    }

    /// Stops accepting and waits (bounded) for the accept loop.
    pub async fn shutdown(mut self) {
        self.tasks.shutdown().await;
    }
}

fn json(status: StatusCode, body: serde_json::Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_default()
}

/// `application/x-www-form-urlencoded` fields (`+` is a space).
fn form_fields(body: &[u8]) -> HashMap<String, String> {
    let decode = |s: &str| {
        let s = s.replace('+', " ");
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match (bytes[i], bytes.get(i + 1..i + 3)) {
                (b'%', Some(hex)) => match u8::from_str_radix(&String::from_utf8_lossy(hex), 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                },
                (b, _) => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// A token request's fields, from a JSON object (`application/json`, values
/// that are not strings as their JSON text) or a form body; `None` when the
/// body cannot be read.
async fn request_fields(req: Request<hyper::body::Incoming>) -> Option<HashMap<String, String>> {
    let is_json = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let body = req.into_body().collect().await.ok()?.to_bytes();
    if !is_json {
        return Some(form_fields(&body));
    }
    let object = serde_json::from_slice::<HashMap<String, serde_json::Value>>(&body);
    Some(
        object
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| {
                let text = v
                    .as_str()
                    .map(String::from)
                    .unwrap_or_else(|| v.to_string());
                (k, text)
            })
            .collect(),
    )
}

/// The token for `client` and `audience`: the one issued before while it has
/// not expired (or always, when tokens are issued already expired), else a
/// newly signed one. `None` when signing fails.
fn token_for(state: &State, client: String, audience: String, scope: String) -> Option<String> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut issued = match state.issued.lock() {
        Ok(i) => i,
        Err(p) => p.into_inner(),
    };
    let key = (client, audience);
    let reuse = issued
        .get(&key)
        .filter(|(c, _)| c.exp > now || state.settings.expires_in <= 0)
        .map(|(_, token)| token.clone());
    if reuse.is_some() {
        return reuse;
    }
    let claims = Claims {
        iss: state.issuer.clone(),
        sub: key.0.clone(),
        aud: key.1.clone(),
        iat: now,
        exp: now + state.settings.expires_in,
        scope,
    };
    let token = state.key.sign(&claims).ok()?;
    issued.insert(key, (claims, token.clone()));
    Some(token)
}

async fn handle(state: &State, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
    if req.uri().path() == "/.well-known/jwks.json" {
        return json(StatusCode::OK, state.key.verifying_key().jwks());
    }
    if req.method() != hyper::Method::POST {
        return json(
            StatusCode::METHOD_NOT_ALLOWED,
            serde_json::json!({"error": "invalid_request"}),
        );
    }
    let Some(fields) = request_fields(req).await else {
        return json(
            StatusCode::BAD_REQUEST,
            serde_json::json!({"error": "invalid_request"}),
        );
    };
    let field = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let (client, secret, audience) = (
        field("client_id"),
        field("client_secret"),
        field("audience"),
    );
    if field("grant_type") != "client_credentials" {
        state.log.line(format!(
            "token: refused client {client:?}: grant_type is not client_credentials"
        ));
        return json(
            StatusCode::BAD_REQUEST,
            serde_json::json!({"error": "unsupported_grant_type", "error_description": "only client_credentials is supported"}),
        );
    }
    if state.settings.clients.get(&client) != Some(&secret) {
        state.log.line(format!(
            "token: refused client {client:?}: unknown client or wrong secret"
        ));
        return json(
            StatusCode::UNAUTHORIZED,
            serde_json::json!({"error": "invalid_client", "error_description": "Invalid client or Invalid client credentials"}),
        );
    }
    let Some(token) = token_for(state, client.clone(), audience.clone(), field("scope")) else {
        return json(
            StatusCode::INTERNAL_SERVER_ERROR,
            serde_json::json!({"error": "server_error"}),
        );
    };
    state.log.line(format!(
        "token: issued to {client:?} for audience {audience:?}, expires in {} s",
        state.settings.expires_in
    ));
    json(
        StatusCode::OK,
        serde_json::json!({
            "access_token": token,
            "token_type": "Bearer",
            // A token already expired by its claim is still announced with a
            // lifetime, as a server with a late clock would.
            "expires_in": state.settings.expires_in.max(300),
        }),
    )
}

/// Writes a signing key's PKCS#8 DER as PEM, 0600, in `dir`.
pub fn write_signing_key(dir: &Path, name: &str, der: &[u8]) -> Result<(), HarnessError> {
    let text = ::pem::encode(&::pem::Pem::new("PRIVATE KEY", der.to_vec()));
    pki::write_file(&dir.join(name), text.as_bytes(), 0o600)
}

#[cfg(test)]
mod tests {
    #[test]
    fn form_decoding_matches_what_zbctl_sends() {
        let f = super::form_fields(b"audience=aud1&client_id=envid&client_secret=s3cr%26t%3Dx+y&grant_type=client_credentials&scope=zeebe+read");
        assert_eq!(f["client_secret"], "s3cr&t=x y");
        assert_eq!(f["scope"], "zeebe read");
        assert_eq!(f["audience"], "aud1");
    }
}
