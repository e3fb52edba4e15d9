//! The go-oracle backend of the http-gateway area: a Go HTTPS server configured
//! from the same KrakenD JSON, with KrakenD's server TLS (Go's `crypto/tls`, the
//! stack KrakenD runs on), under `harness/oracles/http-go/`. A child process.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::HarnessError;
use crate::nodes::stack::{RunningNode, StopFuture};
use crate::process::{ChildProcess, Hermetic, Ready, Refusal, Started};

/// How to build it.
pub const INSTALL: &str = "bash ci/setup (or: bash harness/oracles/http-go/build.sh; needs Go)";

/// How long it may take to print its readiness line.
const READY_DEADLINE: Duration = Duration::from_secs(20);

/// The oracle binary, or how to build it.
pub fn locate() -> Result<PathBuf, HarnessError> {
    let bin =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("oracles/http-go/bin/tlsmatrix-http-oracle");
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(HarnessError::PeerMissing {
            peer: "go-oracle".to_string(),
            detail: format!("{} is not built", bin.display()),
            install: INSTALL.to_string(),
        })
    }
}

/// A running Go oracle.
#[derive(Debug)]
pub struct HttpOracle {
    node: ChildProcess,
    port: u16,
}

/// Go's log lines without the `log` package's date and time prefix.
fn log_lines(stderr: &str) -> Vec<String> {
    let stamp = regex::Regex::new(r"^[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9:.]+ ").expect("valid");
    let mut seen = std::collections::HashSet::new();
    stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| stamp.replace(l, "").into_owned())
        .filter(|l| seen.insert(l.clone()))
        .collect()
}

impl HttpOracle {
    /// Starts the oracle on `config` (relative to `workdir`, its working
    /// directory), on 127.0.0.1 and a free port. A refusal's message is its
    /// log lines.
    pub async fn start(config: &str, workdir: &Path) -> Result<Started<Self>, HarnessError> {
        let cmd = Hermetic::new(locate()?, workdir)
            .args(["--config", config, "--listen", "127.0.0.1:0"])
            .home()
            .command();
        let ready = Ready::Stdout("TLSMATRIX-READY ".into());
        ChildProcess::start("go-oracle", cmd, &ready, READY_DEADLINE)
            .await?
            .map_refusal(|r| Refusal::new(r.node, log_lines(&r.message).join("\n")))
            .try_map(|node| {
                let addr = node.payload();
                let port = addr
                    .rsplit(':')
                    .next()
                    .and_then(|p| p.parse().ok())
                    .ok_or_else(|| {
                        HarnessError::protocol("go-oracle", format!("no port in: {addr}"))
                    })?;
                Ok(Self { node, port })
            })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops it and returns its log lines.
    pub async fn stop(self) -> Vec<String> {
        log_lines(&self.node.stop().await)
    }
}

impl RunningNode for HttpOracle {
    fn name(&self) -> &str {
        "go-oracle"
    }

    fn address(&self) -> Option<std::net::SocketAddr> {
        Some(([127, 0, 0, 1], self.port).into())
    }

    fn stop(self: Box<Self>) -> StopFuture {
        Box::pin(HttpOracle::stop(*self))
    }
}
