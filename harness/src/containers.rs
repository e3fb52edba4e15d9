//! The containers backend: nodes as Docker containers started with
//! testcontainers, configured the way the products document it (environment
//! variables and configuration files), certificates mounted read-only, and
//! readiness by `WaitFor` conditions (a log line, or the image's own
//! HEALTHCHECK), never sleeps.
//!
//! Two kinds of image:
//! - [`ReferenceImage`]: tlsmatrix's own reference nodes
//!   (`ci/reference-nodes.Dockerfile`), built on first use from the
//!   `tlsmatrix` binary on the host. `tlsmatrix run --backend containers`
//!   runs the embedded cases of the areas that support it with their nodes
//!   in these containers instead of in process (zeebe-client today).
//!   [`ReferenceImage::zeebe_cluster_across_hosts`] runs a cluster file with
//!   one container per node on a Docker network of its own.
//! - [`ProductContainer`]: an image the user names (their own Zeebe, nginx or
//!   Kafka image and tag), with the product's documented environment, files
//!   mounted read-only, and a readiness condition.
//!
//! Without a Docker engine every entry point answers
//! [`HarnessError::PeerMissing`] naming the socket it tried, so the CLI and
//! the tests say "needs a Docker engine" instead of failing obscurely; the
//! tests that need one are `#[ignore = "needs a Docker engine"]` and run in
//! the `containers` job of `ci/github-workflow.yml`.

mod cluster;
mod reaper;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use testcontainers::core::logs::LogFrame;
use testcontainers::core::{AccessMode, ContainerPort, IntoContainerPort, Mount, WaitFor};
use testcontainers::runners::{AsyncBuilder, AsyncRunner};
use testcontainers::{
    ContainerAsync, ContainerRequest, GenericBuildableImage, GenericImage, ImageExt,
};

use crate::config::EnvMap;
use crate::error::HarnessError;
use crate::nodes::stack::{RunningNode, StopFuture};
use crate::nodes::up;
use crate::process::{Refusal, Started};

pub use cluster::ContainerCluster;
pub use reaper::{left_by, reap_own, reap_stale, unique_name, Reaped};

/// The reference nodes' image name.
pub const REFERENCE_IMAGE: &str = "tlsmatrix/reference-nodes";
/// Its Dockerfile, compiled in so the binary can build its own image.
pub const REFERENCE_DOCKERFILE: &str = include_str!("../../ci/reference-nodes.Dockerfile");
/// Where a case directory is mounted (read-only) in every container.
pub const CASE_MOUNT: &str = "/case";
/// How long a container may take to become ready (image build excluded).
pub const STARTUP_DEADLINE: Duration = Duration::from_secs(120);

/// How a reference node words a configuration it refuses (`tlsmatrix up`
/// prints it on stderr and exits).
const REFUSAL_PREFIX: &str = "tlsmatrix: error: ";

/// How long a container that ended before it was ready may take for its
/// output to reach us.
const REFUSAL_LOG_DEADLINE: Duration = Duration::from_secs(5);

/// What to install when the engine is missing.
pub const INSTALL: &str =
    "start a Docker engine (https://docs.docker.com/engine/install/) or point DOCKER_HOST at one";

/// The Docker endpoint testcontainers will use: `DOCKER_HOST`, else the
/// default socket.
fn docker_host() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".to_string())
}

/// Checks that a Docker engine answers `GET /_ping` within a few seconds.
/// The first time in a process, also removes what tlsmatrix processes that
/// no longer run left on the engine ([`reap_stale`]).
pub async fn docker_engine() -> Result<(), HarnessError> {
    static REAPED: std::sync::Once = std::sync::Once::new();
    tokio::task::spawn_blocking(|| {
        locate_docker()?;
        REAPED.call_once(|| {
            let reaped = reap_stale();
            if reaped != Reaped::default() {
                tracing::info!(
                    "removed {} container(s) and {} network(s) left by tlsmatrix processes that no longer run",
                    reaped.containers,
                    reaped.networks
                );
            }
        });
        Ok(())
    })
    .await
    .map_err(|e| HarnessError::run("docker check", e))?
}

/// [`docker_engine`] without a runtime (a case's requirements are checked
/// synchronously): the engine's address, or why there is none.
pub fn locate_docker() -> Result<PathBuf, HarnessError> {
    let host = docker_host();
    ping_docker(&host).map_err(|detail| HarnessError::PeerMissing {
        peer: "docker".to_string(),
        detail: format!("no Docker engine at {host}: {detail}"),
        install: INSTALL.to_string(),
    })?;
    Ok(PathBuf::from(host))
}

fn ping_docker(host: &str) -> Result<(), String> {
    let (status, _) = docker_request(host, "GET", "/_ping")?;
    if status.starts_with("HTTP/1.") && status.contains(" 200 ") {
        Ok(())
    } else {
        Err(format!("unexpected answer to /_ping: {status}"))
    }
}

/// One request to the engine's API (HTTP/1.0, so the answer is neither
/// chunked nor kept alive), bounded at 3 s per read and write: the status
/// line and the body.
fn docker_request(host: &str, method: &str, path: &str) -> Result<(String, String), String> {
    use std::io::{Read, Write};
    const WITHIN: Option<Duration> = Some(Duration::from_secs(3));
    let request = format!("{method} {path} HTTP/1.0\r\nHost: docker\r\n\r\n");
    let mut answer = Vec::new();
    let io = |e: std::io::Error| e.to_string();
    if let Some(path) = host.strip_prefix("unix://") {
        let mut s = std::os::unix::net::UnixStream::connect(path).map_err(io)?;
        s.set_read_timeout(WITHIN).map_err(io)?;
        s.set_write_timeout(WITHIN).map_err(io)?;
        s.write_all(request.as_bytes()).map_err(io)?;
        s.read_to_end(&mut answer).map_err(io)?;
    } else if let Some(addr) = host.strip_prefix("tcp://") {
        let addr = std::net::ToSocketAddrs::to_socket_addrs(addr)
            .map_err(io)?
            .next()
            .ok_or("no address")?;
        let mut s =
            std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(3)).map_err(io)?;
        s.set_read_timeout(WITHIN).map_err(io)?;
        s.set_write_timeout(WITHIN).map_err(io)?;
        s.write_all(request.as_bytes()).map_err(io)?;
        s.read_to_end(&mut answer).map_err(io)?;
    } else {
        return Err("only unix:// and tcp:// hosts are checked".to_string());
    }
    let answer = String::from_utf8_lossy(&answer);
    let status = answer.lines().next().unwrap_or_default().to_string();
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// The `tlsmatrix` binary to put in the reference image: `TLSMATRIX_BIN`, the
/// running executable when it is `tlsmatrix`, else the `tlsmatrix` beside a
/// test binary (`target/<profile>/deps/x` → `target/<profile>/tlsmatrix`).
pub fn tlsmatrix_binary() -> Result<PathBuf, HarnessError> {
    if let Ok(bin) = std::env::var("TLSMATRIX_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let exe = std::env::current_exe().map_err(|e| HarnessError::read("current executable", e))?;
    if exe.file_name().is_some_and(|n| n == "tlsmatrix") {
        return Ok(exe);
    }
    let sibling = exe
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("tlsmatrix"));
    match sibling {
        Some(bin) if bin.is_file() => Ok(bin),
        _ => Err(HarnessError::PeerMissing {
            peer: "tlsmatrix binary".to_string(),
            detail: format!("not beside {}", exe.display()),
            install: "cargo build -p tlsmatrix, or set TLSMATRIX_BIN".to_string(),
        }),
    }
}

/// tlsmatrix's reference nodes as an image.
#[derive(Debug, Clone)]
pub struct ReferenceImage {
    tag: String,
}

impl ReferenceImage {
    /// Builds the image (once per process; Docker's cache makes later builds
    /// of the same binary cheap) from [`REFERENCE_DOCKERFILE`] and
    /// [`tlsmatrix_binary`]. The tag is the crate version.
    pub async fn get() -> Result<Self, HarnessError> {
        static BUILT: tokio::sync::OnceCell<ReferenceImage> = tokio::sync::OnceCell::const_new();
        BUILT
            .get_or_try_init(|| async {
                docker_engine().await?;
                let tag = env!("CARGO_PKG_VERSION").to_string();
                let binary = tlsmatrix_binary()?;
                // Without debug info a debug build is about 8× smaller
                // (352 → 46 MB here), which is what the build context sends.
                let scratch = tempfile::tempdir()
                    .map_err(|e| HarnessError::write("a temporary directory", e))?;
                let binary = without_debug_info(&binary, scratch.path()).unwrap_or(binary);
                GenericBuildableImage::new(REFERENCE_IMAGE, &tag)
                    .with_dockerfile_string(REFERENCE_DOCKERFILE)
                    .with_file(binary, "./tlsmatrix")
                    .build_image()
                    .await
                    .map_err(|e| image_error(&format!("{REFERENCE_IMAGE}:{tag}"), e))
                    .map(drop)?;
                Ok(ReferenceImage { tag })
            })
            .await
            .cloned()
    }

    /// A Zeebe gateway from `gateway.yaml` in `case_dir` (mounted read-only at
    /// [`CASE_MOUNT`]) plus the `ZEEBE_*` environment, as `tlsmatrix up` reads
    /// them, listening on 0.0.0.0:26500 in the container.
    pub fn zeebe_gateway(
        &self,
        case_dir: &Path,
        config_file: &str,
        env: &EnvMap,
    ) -> ProductContainer {
        self.up(
            case_dir,
            config_file,
            env,
            Ready::Stdout(up::GATEWAY_LISTENING.into()),
        )
    }

    /// A whole cluster from a cluster file in `case_dir` (brokers and
    /// gateway as `tlsmatrix up` starts them from a zeebe-cluster case body),
    /// ready when it has formed: every node sees every other and every
    /// messaging link has handshaken.
    pub fn zeebe_cluster(
        &self,
        case_dir: &Path,
        cluster_file: &str,
        env: &EnvMap,
    ) -> ProductContainer {
        self.up(
            case_dir,
            cluster_file,
            env,
            Ready::Stdout(format!("{} {}", up::CLUSTER_READY, up::FORMED)),
        )
    }

    /// `tlsmatrix up FILE --workdir /case`, the case directory mounted
    /// read-only, the Zeebe gateway port on 0.0.0.0:26500.
    fn up(&self, case_dir: &Path, file: &str, env: &EnvMap, ready: Ready) -> ProductContainer {
        let mut env = env.clone();
        env.insert("ZEEBE_GATEWAY_NETWORK_HOST".into(), "0.0.0.0".into());
        env.insert("ZEEBE_GATEWAY_NETWORK_PORT".into(), "26500".into());
        env.insert("ZEEBE_BROKER_GATEWAY_NETWORK_HOST".into(), "0.0.0.0".into());
        env.insert("ZEEBE_BROKER_GATEWAY_NETWORK_PORT".into(), "26500".into());
        env.insert("NO_COLOR".into(), "1".into());
        env.insert("RUST_LOG".into(), "info,rustls=error".into());
        ProductContainer {
            image: REFERENCE_IMAGE.to_string(),
            tag: self.tag.clone(),
            env,
            mounts: vec![(case_dir.to_path_buf(), CASE_MOUNT.to_string())],
            cmd: vec![
                "up".into(),
                file.into(),
                "--workdir".into(),
                CASE_MOUNT.into(),
            ],
            port: 26500,
            ready,
            user: None,
            network: None,
            container_name: None,
        }
    }
}

/// A copy of `binary` in `dir` without debug information (`strip
/// --strip-debug`), or `None` when `strip` is missing or fails: the binary is
/// then sent as it is.
fn without_debug_info(binary: &Path, dir: &Path) -> Option<PathBuf> {
    let out = dir.join("tlsmatrix");
    let status = std::process::Command::new("strip")
        .arg("--strip-debug")
        .arg("-o")
        .arg(&out)
        .arg(binary)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .ok()?;
    (status.success() && out.is_file()).then_some(out)
}

pub use crate::process::Ready;

/// A container to start: an image the user names (or the reference image), the
/// product's documented environment, host paths mounted read-only, the port
/// clients dial, and when it is ready.
#[derive(Debug, Clone)]
pub struct ProductContainer {
    /// Image name (`camunda/zeebe`, `nginx`, `apache/kafka`, ...).
    pub(crate) image: String,
    /// Image tag.
    pub(crate) tag: String,
    /// Environment variables, as the product documents them.
    pub(crate) env: EnvMap,
    /// (host path, container path), always read-only: certificates and
    /// configuration files.
    pub(crate) mounts: Vec<(PathBuf, String)>,
    /// Command (arguments to the image's entry point); empty: the image's own.
    pub(crate) cmd: Vec<String>,
    /// The container port clients dial (mapped to a free host port).
    pub(crate) port: u16,
    /// Readiness condition.
    pub(crate) ready: Ready,
    /// User (uid or name) the container runs as; none: the image's own. Keys
    /// stay 0600 on the host, so an image that runs as another user needs the
    /// host's uid here to read them.
    pub(crate) user: Option<String>,
    /// A Docker network to join (created when missing, removed with its last
    /// container); other containers on it reach this one by its name.
    pub(crate) network: Option<String>,
    /// The container's name (unique on the engine); none: one made by
    /// [`unique_name`].
    pub(crate) container_name: Option<String>,
}

impl ProductContainer {
    /// Image name (`camunda/zeebe`, `nginx`, `apache/kafka`, ...).
    pub fn image(&self) -> &str {
        &self.image
    }

    /// Image tag.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// Environment variables, as the product documents them.
    pub fn env(&self) -> &EnvMap {
        &self.env
    }

    /// (host path, container path), always read-only: certificates and
    /// configuration files.
    pub fn mounts(&self) -> &[(PathBuf, String)] {
        &self.mounts
    }

    /// Command (arguments to the image's entry point); empty: the image's own.
    pub fn cmd(&self) -> &[String] {
        &self.cmd
    }

    /// Readiness condition.
    pub fn ready(&self) -> &Ready {
        &self.ready
    }

    /// User (uid or name) the container runs as; none: the image's own. Keys
    /// stay 0600 on the host, so an image that runs as another user needs the
    /// host's uid here to read them.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// A Docker network to join (created when missing, removed with its last
    /// container); other containers on it reach this one by its name.
    pub fn network(&self) -> Option<&str> {
        self.network.as_deref()
    }

    /// The container's name (unique on the engine); none: one made by
    /// [`unique_name`].
    pub fn container_name(&self) -> Option<&str> {
        self.container_name.as_deref()
    }

    /// The same container with the environment variable `key` set to `value`.
    pub fn with_env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    /// The same container with the host directory `host` mounted read-only at `target`.
    pub fn with_mount(mut self, host: impl Into<PathBuf>, target: impl Into<String>) -> Self {
        self.mounts.push((host.into(), target.into()));
        self
    }

    /// The same container running `cmd` instead of the image's command.
    pub fn with_cmd(mut self, cmd: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.cmd = cmd.into_iter().map(Into::into).collect();
        self
    }

    /// The same container running as `user` (a uid, `uid:gid` or a name).
    pub fn with_user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// The same container on the Docker network `network`.
    pub fn with_network(mut self, network: impl Into<String>) -> Self {
        self.network = Some(network.into());
        self
    }

    /// The same container named `name`.
    pub fn with_container_name(mut self, name: impl Into<String>) -> Self {
        self.container_name = Some(name.into());
        self
    }
}

impl ProductContainer {
    /// A user-named image `name:tag` (`camunda/zeebe:8.4.5`); `tag` defaults to
    /// `latest` when the reference has none.
    pub fn named(reference: &str, port: u16, ready: Ready) -> Self {
        let (image, tag) = match reference.rsplit_once(':') {
            Some((i, t)) if !t.contains('/') => (i.to_string(), t.to_string()),
            _ => (reference.to_string(), "latest".to_string()),
        };
        Self {
            image,
            tag,
            env: EnvMap::new(),
            mounts: Vec::new(),
            cmd: Vec::new(),
            port,
            ready,
            user: None,
            network: None,
            container_name: None,
        }
    }

    /// Starts the container and waits for readiness (bounded by
    /// [`STARTUP_DEADLINE`]). A container that exits or never becomes ready is
    /// [`Started::Refused`] with what it said: for a node, that is the
    /// product refusing its configuration.
    pub async fn start(&self) -> Result<Started<ContainerNode>, HarnessError> {
        docker_engine().await?;
        let port: ContainerPort = self.port.tcp();
        // Named after this process, so that what a killed run leaves is
        // found and removed by the next one (see `reaper`).
        let name = self
            .container_name
            .clone()
            .unwrap_or_else(|| unique_name(&self.image.replace(['/', ':'], "-")));
        let mut request = self.request(port, &name);
        let captured = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let stdout = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = captured.clone();
        let stdout_sink = stdout.clone();
        // Bumped on every frame, so a refusal can wait for the words that
        // explain it: the consumer runs on its own task and may lag behind
        // the readiness check that saw the container end.
        let (frames, mut frame_seen) = tokio::sync::watch::channel(0usize);
        request = request.with_log_consumer(move |frame: &LogFrame| {
            let bytes = match frame {
                LogFrame::StdOut(b) | LogFrame::StdErr(b) => b,
            };
            let text = String::from_utf8_lossy(bytes);
            if let Ok(mut all) = sink.lock() {
                all.push_str(&text);
            }
            if let (LogFrame::StdOut(_), Ok(mut out)) = (frame, stdout_sink.lock()) {
                out.push_str(&text);
            }
            frames.send_modify(|n| *n += 1);
        });
        let started = Instant::now();
        match request.start().await {
            Ok(container) => {
                let host_port = container
                    .get_host_port_ipv4(port)
                    .await
                    .map_err(|e| image_error(&self.reference(), e))?;
                Ok(Started::Ready(ContainerNode {
                    name,
                    container,
                    host_port,
                    startup: started.elapsed(),
                    output: captured,
                    stdout,
                    frames: frame_seen,
                }))
            }
            Err(testcontainers::TestcontainersError::WaitContainer(e)) => {
                let explained = || captured.lock().is_ok_and(|t| t.contains(REFUSAL_PREFIX));
                // Bounded: an image that is not ours may never say it.
                let _ = tokio::time::timeout(REFUSAL_LOG_DEADLINE, async {
                    while !explained() {
                        if frame_seen.changed().await.is_err() {
                            break;
                        }
                    }
                })
                .await;
                let output = captured.lock().map(|t| t.clone()).unwrap_or_default();
                let said = refusal(&self.reference(), &e.to_string(), &output);
                Ok(Started::Refused(Refusal::new(name, said)))
            }
            Err(e) => Err(image_error(&self.reference(), e)),
        }
    }

    /// The container request: the image with its exposed port and readiness,
    /// the environment, read-only mounts, user, network, name and command.
    fn request(&self, port: ContainerPort, name: &str) -> ContainerRequest<GenericImage> {
        let wait = match &self.ready {
            Ready::Stdout(text) => WaitFor::message_on_stdout(text),
            Ready::Stderr(text) => WaitFor::message_on_stderr(text),
            Ready::Healthcheck => WaitFor::healthcheck(),
        };
        let mut request = GenericImage::new(&self.image, &self.tag)
            .with_exposed_port(port)
            .with_wait_for(wait)
            .with_startup_timeout(STARTUP_DEADLINE);
        for (k, v) in &self.env {
            request = request.with_env_var(k, v);
        }
        for (host, target) in &self.mounts {
            request = request.with_mount(
                Mount::bind_mount(host.display().to_string(), target)
                    .with_access_mode(AccessMode::ReadOnly),
            );
        }
        if let Some(user) = &self.user {
            request = request.with_user(user);
        }
        if let Some(network) = &self.network {
            request = request.with_network(network);
        }
        request = request.with_container_name(name);
        if !self.cmd.is_empty() {
            request = request.with_cmd(self.cmd.clone());
        }
        request
    }

    /// `image:tag`.
    pub fn reference(&self) -> String {
        format!("{}:{}", self.image, self.tag)
    }
}

/// What a container that never became ready said: a reference node's own
/// error (`tlsmatrix: error: ...`, the same text as in process), else the
/// readiness error and the last lines of its output.
fn refusal(reference: &str, wait_error: &str, output: &str) -> String {
    if let Some(line) = output.lines().find_map(|l| l.strip_prefix(REFUSAL_PREFIX)) {
        return line.to_string();
    }
    let tail: Vec<&str> = output.lines().rev().take(20).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    format!(
        "{reference} did not become ready: {wait_error}\n{}",
        tail.join("\n")
    )
}

/// A pull or build that failed: the image reference and Docker's reason.
fn image_error(reference: &str, e: testcontainers::TestcontainersError) -> HarnessError {
    HarnessError::invalid(
        "containers backend",
        reference,
        format!("Docker could not provide the image: {e}"),
        "check the image name and tag, that the engine can pull from its registry (or that the image is present locally), and `docker info`",
    )
}

/// A running container, stopped and removed when dropped.
pub struct ContainerNode {
    /// The container's name.
    name: String,
    container: ContainerAsync<GenericImage>,
    host_port: u16,
    startup: Duration,
    output: std::sync::Arc<std::sync::Mutex<String>>,
    stdout: std::sync::Arc<std::sync::Mutex<String>>,
    frames: tokio::sync::watch::Receiver<usize>,
}

impl ContainerNode {
    /// The host port mapped to the container's port (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.host_port
    }

    /// Time from `start` to ready.
    pub fn startup(&self) -> Duration {
        self.startup
    }

    /// The node log lines a reference node printed (its `tracing` lines for
    /// `tlsmatrix::nodes::log`, reduced to the line itself); for another
    /// image, every line of its output.
    /// Lines arrive through the log stream as the container prints them, so
    /// a line printed at the very end of a case may come after this call.
    pub fn log_lines(&self) -> Vec<String> {
        let text = self.output.lock().map(|t| t.clone()).unwrap_or_default();
        node_lines(&text)
    }

    /// What the container printed on its standard output so far.
    pub fn stdout(&self) -> String {
        self.stdout.lock().map(|t| t.clone()).unwrap_or_default()
    }

    /// Waits until a line of standard output starts with `prefix` (at most
    /// `within`) and returns it. Woken by every frame of output, never polled.
    pub async fn wait_for_line(&self, prefix: &str, within: Duration) -> Option<String> {
        let mut frames = self.frames.clone();
        let find = |out: String| {
            out.lines()
                .find(|l| l.starts_with(prefix))
                .map(str::to_string)
        };
        tokio::time::timeout(within, async {
            loop {
                if let Some(line) = find(self.stdout()) {
                    return Some(line);
                }
                if frames.changed().await.is_err() {
                    return find(self.stdout());
                }
            }
        })
        .await
        .ok()
        .flatten()
    }

    /// Stops and removes the container.
    pub async fn stop(self) {
        let _ = self.container.rm().await;
    }
}

impl RunningNode for ContainerNode {
    fn name(&self) -> &str {
        &self.name
    }

    fn address(&self) -> Option<std::net::SocketAddr> {
        Some(([127, 0, 0, 1], self.host_port).into())
    }

    /// Its node log lines (see [`ContainerNode::log_lines`]), then the
    /// container is removed.
    fn stop(self: Box<Self>) -> StopFuture {
        Box::pin(async move {
            let lines = self.log_lines();
            ContainerNode::stop(*self).await;
            lines
        })
    }
}

/// The node log lines in a reference node's output: `... tlsmatrix::nodes::log:
/// LINE node=NAME` → `LINE`. Output without such lines is returned whole.
pub fn node_lines(text: &str) -> Vec<String> {
    const MARK: &str = "tlsmatrix::nodes::log: ";
    let ours: Vec<String> = text
        .lines()
        .filter_map(|l| l.split_once(MARK).map(|(_, rest)| rest))
        .map(|rest| match rest.rsplit_once(" node=") {
            Some((line, _)) => line.to_string(),
            None => rest.to_string(),
        })
        .collect();
    if ours.is_empty() && !text.contains(MARK) {
        text.lines().map(str::to_string).collect()
    } else {
        ours
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_node_lines_are_reduced_to_the_node_line() {
        let out = "2026-11-27T00:32:39.514Z  INFO tlsmatrix::nodes::log: INFO [io.grpc.netty.NettyServerTransport.connections] Transport failed node=gateway\ntlsmatrix gateway listening on 0.0.0.0:26500 (TLS)\n";
        assert_eq!(
            node_lines(out),
            ["INFO [io.grpc.netty.NettyServerTransport.connections] Transport failed"]
        );
        assert_eq!(node_lines("a\nb\n"), ["a", "b"]);
    }

    #[test]
    fn image_references_split_into_name_and_tag() {
        let c = ProductContainer::named("camunda/zeebe:8.4.5", 26500, Ready::Healthcheck);
        assert_eq!(
            (c.image.as_str(), c.tag.as_str()),
            ("camunda/zeebe", "8.4.5")
        );
        let c = ProductContainer::named("localhost:5000/nginx", 443, Ready::Healthcheck);
        assert_eq!(
            (c.image.as_str(), c.tag.as_str()),
            ("localhost:5000/nginx", "latest")
        );
    }

    #[test]
    fn a_missing_engine_is_said_with_the_reason() {
        let e = ping_docker("unix:///nonexistent/tlsmatrix-docker.sock").unwrap_err();
        assert!(e.contains("No such file or directory"), "{e}");
        let e = ping_docker("ssh://host").unwrap_err();
        assert!(e.contains("only unix:// and tcp://"), "{e}");
    }
}
