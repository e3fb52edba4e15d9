//! Zeebe: the reference gateway and the clients that dial it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::config::zeebe::GatewaySettings;
use crate::error::HarnessError;
use crate::nodes::gateway_auth::GatewayAuth;
use crate::nodes::{GatewayNode, Topology};
use crate::peers::{builtin, zbctl, Observation, ZeebeClientConfig};

/// The port a Zeebe gateway serves gRPC on by default.
pub const GRPC_PORT: u16 = 26500;

/// A reference Zeebe gateway to start. Default: plaintext on 127.0.0.1, a
/// free port, one broker in the topology, no authentication.
#[derive(Debug, Clone)]
pub struct Gateway {
    settings: GatewaySettings,
    brokers: u32,
    auth: Option<Arc<GatewayAuth>>,
}

impl Default for Gateway {
    fn default() -> Self {
        Self {
            settings: GatewaySettings::plaintext(),
            brokers: 1,
            auth: None,
        }
    }
}

impl Gateway {
    /// A gateway from settings read as Zeebe reads them
    /// ([`GatewaySettings::from_yaml`]: a user's `gateway.yaml` and `ZEEBE_*`).
    pub fn from_settings(settings: GatewaySettings) -> Self {
        Self {
            settings,
            ..Self::default()
        }
    }

    /// Serves TLS with this certificate chain and private key (PEM files).
    pub fn with_tls(mut self, chain: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.settings = self.settings.with_tls(chain, key);
        self
    }

    /// Listens on `host:port` (port 0: a free one).
    pub fn with_address(mut self, host: &str, port: u16) -> Self {
        self.settings = self.settings.with_address(host, port);
        self
    }

    /// Brokers the topology reports.
    pub fn with_brokers(mut self, brokers: u32) -> Self {
        self.brokers = brokers;
        self
    }

    /// Puts an authentication interceptor (tokens, audit) in front of every call.
    pub fn with_auth(mut self, auth: GatewayAuth) -> Self {
        self.auth = Some(Arc::new(auth));
        self
    }

    /// Starts it; the node stops when dropped (or on `shutdown`).
    pub async fn start(&self) -> Result<GatewayNode, HarnessError> {
        GatewayNode::start_with_auth(
            &self.settings,
            Topology::with_brokers(self.brokers),
            self.auth.clone(),
        )
        .await
    }
}

/// A Zeebe client call: the built-in client ([`Client::topology`]) or the
/// real zbctl ([`Client::zbctl_status`]). Default: TLS to
/// `127.0.0.1:26500` with the system's roots, an empty environment, the
/// current directory, a 10 s bound.
#[derive(Debug, Clone)]
pub struct Client {
    config: ZeebeClientConfig,
}

impl Default for Client {
    fn default() -> Self {
        Self {
            config: ZeebeClientConfig {
                address: format!("127.0.0.1:{GRPC_PORT}"),
                plaintext: false,
                ca_path: None,
                env: Default::default(),
                workdir: PathBuf::from("."),
                deadline: Duration::from_secs(10),
            },
        }
    }
}

impl Client {
    /// A client that dials `gateway` as `localhost:PORT` (the name its
    /// certificate is usually made for).
    pub fn for_gateway(gateway: &GatewayNode) -> Self {
        Self::default().with_address(format!("localhost:{}", gateway.address().port()))
    }

    /// Dials `host:port`.
    pub fn with_address(mut self, address: impl Into<String>) -> Self {
        self.config.address = address.into();
        self
    }

    /// Plaintext instead of TLS (`usePlaintext()`, `--insecure`).
    pub fn with_plaintext(mut self, plaintext: bool) -> Self {
        self.config.plaintext = plaintext;
        self
    }

    /// Trusts this CA file (`caCertificatePath`, `--certPath`), relative to
    /// the working directory.
    pub fn with_ca(mut self, path: impl Into<String>) -> Self {
        self.config.ca_path = Some(path.into());
        self
    }

    /// Sets one variable of the client's environment (only these are set).
    pub fn with_env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.env.insert(name.into(), value.into());
        self
    }

    /// The client's working directory (relative paths resolve against it).
    pub fn with_workdir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config.workdir = dir.into();
        self
    }

    /// Bound on the whole call.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.config.deadline = deadline;
        self
    }

    /// The built-in client's Topology call.
    pub async fn topology(&self) -> Result<Observation, HarnessError> {
        builtin::topology(&self.config).await
    }

    /// The real `zbctl status` (installed by `ci/setup`).
    pub async fn zbctl_status(&self) -> Result<Observation, HarnessError> {
        zbctl::status(&self.config).await
    }
}
