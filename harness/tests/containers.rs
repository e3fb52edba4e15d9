//! The containers backend against a real Docker engine. `.ci/run` has none
//! (and no image registry), so every test here is
//! `#[ignore = "needs a Docker engine"]`; the `containers` job of
//! ci/github-workflow.yml runs them, and so does `bash ci/docker-engine` then
//! `cargo nextest run -p tlsmatrix --test containers --run-ignored ignored-only`
//! on a Debian machine without a registry (it starts an engine and makes the
//! base image from Debian's packages).
//! What needs no engine (the engine check, refusing `--backend containers`
//! without one) is tested in the library and in tests/cli.rs.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tlsmatrix::config::EnvMap;
use tlsmatrix::containers::{ProductContainer, Ready, ReferenceImage, CASE_MOUNT};
use tlsmatrix::nodes::Started;

mod common;
use common::{tlsmatrix_command, tlsmatrix_std_command, workspace, DEADLINE};

/// `tlsmatrix certs` into `dir`: ca.pem, gateway-chain.pem, gateway.key (0600), ...
async fn certs(dir: &Path) {
    let out = tlsmatrix_command(&["certs", "--out"], dir)
        .arg(dir)
        .output()
        .await
        .expect("tlsmatrix certs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `zbctl status` against 127.0.0.1:port with extra flags: (exit code, text).
async fn zbctl_status(dir: &Path, port: u16, flags: &[&str]) -> (Option<i32>, String) {
    let zbctl = tlsmatrix::peers::zbctl::locate().expect("zbctl installed by ci/setup");
    let out = tokio::time::timeout(
        DEADLINE,
        tokio::process::Command::new(zbctl)
            .args(["status", "--address", &format!("127.0.0.1:{port}")])
            .args(flags)
            .current_dir(dir)
            .env_remove("ZEEBE_ADDRESS")
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("zbctl finished before the deadline")
    .expect("zbctl started");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[tokio::test]
#[ignore = "needs a Docker engine"]
async fn reference_gateway_container_serves_tls_to_real_zbctl() {
    let dir = tempfile::tempdir().unwrap();
    certs(dir.path()).await;
    std::fs::write(
        dir.path().join("gateway.yaml"),
        "zeebe:\n  gateway:\n    security:\n      enabled: true\n      certificateChainPath: gateway-chain.pem\n      privateKeyPath: gateway.key\n",
    )
    .unwrap();
    let image = ReferenceImage::get().await.expect("reference image built");
    let spec = image.zeebe_gateway(dir.path(), "gateway.yaml", &EnvMap::new());
    let Started::Ready(node) = spec.start().await.expect("container started") else {
        panic!("the reference gateway refused its configuration");
    };
    let (code, text) = zbctl_status(dir.path(), node.port(), &["--certPath", "ca.pem"]).await;
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("Brokers:"), "{text}");
    let (code, text) = zbctl_status(dir.path(), node.port(), &[]).await;
    assert_ne!(code, Some(0), "{text}");
    assert!(
        text.contains("certificate signed by unknown authority"),
        "{text}"
    );
    node.stop().await;
}

/// Three brokers and a gateway in one container of the reference image, TLS on
/// every messaging link (the documented `ZEEBE_BROKER_NETWORK_SECURITY_*` and
/// `ZEEBE_GATEWAY_CLUSTER_SECURITY_*` variables): ready only once formed.
#[tokio::test]
#[ignore = "needs a Docker engine"]
async fn reference_cluster_container_forms_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    certs(dir.path()).await;
    let broker = "{ env: { ZEEBE_BROKER_NETWORK_SECURITY_ENABLED: \"true\", ZEEBE_BROKER_NETWORK_SECURITY_CERTIFICATECHAINPATH: gateway-chain.pem, ZEEBE_BROKER_NETWORK_SECURITY_PRIVATEKEYPATH: gateway.key } }";
    std::fs::write(
        dir.path().join("cluster.yaml"),
        format!("nodes:\n  broker-0: {broker}\n  broker-1: {broker}\n  broker-2: {broker}\n  gateway: {{ env: {{ ZEEBE_GATEWAY_CLUSTER_SECURITY_ENABLED: \"true\", ZEEBE_GATEWAY_CLUSTER_SECURITY_CERTIFICATECHAINPATH: gateway-chain.pem, ZEEBE_GATEWAY_CLUSTER_SECURITY_PRIVATEKEYPATH: gateway.key }} }}\n"),
    )
    .unwrap();
    let image = ReferenceImage::get().await.expect("reference image built");
    let spec = image.zeebe_cluster(dir.path(), "cluster.yaml", &EnvMap::new());
    // Ready means `tlsmatrix cluster ready (formed)`: a partial cluster
    // prints `(partial)` and never becomes ready.
    let Started::Ready(node) = spec.start().await.expect("container started") else {
        panic!("the cluster did not form in its container");
    };
    node.stop().await;
}

/// A broker with TLS on its messaging, by the documented variables.
const TLS_BROKER: &str = "{ env: { ZEEBE_BROKER_NETWORK_SECURITY_ENABLED: \"true\", ZEEBE_BROKER_NETWORK_SECURITY_CERTIFICATECHAINPATH: gateway-chain.pem, ZEEBE_BROKER_NETWORK_SECURITY_PRIVATEKEYPATH: gateway.key } }";
/// A standalone gateway with TLS on its cluster side.
const TLS_GATEWAY: &str = "{ env: { ZEEBE_GATEWAY_CLUSTER_SECURITY_ENABLED: \"true\", ZEEBE_GATEWAY_CLUSTER_SECURITY_CERTIFICATECHAINPATH: gateway-chain.pem, ZEEBE_GATEWAY_CLUSTER_SECURITY_PRIVATEKEYPATH: gateway.key } }";

/// Runs a cluster file in process, then with one container per node; returns
/// (in-process report, across-hosts report, formed across hosts, the
/// gateway's host port), after checking that every node got its own
/// container on one network.
async fn in_process_and_across_hosts(
    cluster: &str,
) -> (String, String, bool, u16, tempfile::TempDir) {
    use tlsmatrix::nodes::cluster::ClusterFile;
    let dir = tempfile::tempdir().unwrap();
    certs(dir.path()).await;
    let file = ClusterFile::parse("cluster.yaml", cluster).unwrap();
    let in_process = file
        .start("cluster.yaml", dir.path())
        .await
        .expect("started in process");
    let expected = in_process.form().await.report();
    in_process.shutdown().await;

    let image = ReferenceImage::get().await.expect("reference image built");
    let Started::Ready(across) = image
        .zeebe_cluster_across_hosts(dir.path(), &file)
        .await
        .expect("docker answered")
    else {
        panic!("a node refused its configuration in its container");
    };
    let names: Vec<&str> = across.nodes().map(|(name, _)| name).collect();
    assert_eq!(names, ["gateway", "broker-0", "broker-1", "broker-2"]);
    let (report, formed) = across
        .formation(Duration::from_secs(30))
        .await
        .expect("the gateway reported its formation");
    eprintln!("across hosts:\n{report}");
    let port = across.gateway_port().expect("a gateway");
    // Every node advertised its own container's address, not the host's.
    for (name, node) in across.nodes() {
        let line = node
            .wait_for_line(tlsmatrix::nodes::up::CLUSTER_NODE, DEADLINE)
            .await
            .expect("listening line");
        assert!(line.contains(&format!("{name} (")), "{line}");
        assert!(
            !line.contains("messaging 127.0.0.1") && !line.contains("messaging 0.0.0.0"),
            "{line}"
        );
    }
    // zbctl before the containers go: the topology crosses hosts too.
    let (code, text) = zbctl_status(dir.path(), port, &["--insecure"]).await;
    assert_eq!(code, Some(0), "{text}");
    assert!(text.starts_with("Cluster size: 3\n"), "{text}");
    assert_eq!(text.matches("  Broker ").count(), 3, "{text}");
    across.stop().await;
    (expected, report, formed, port, dir)
}

/// One container per node (three brokers and a gateway on a Docker network,
/// joined by `ZEEBE_*_CLUSTER_INITIALCONTACTPOINTS` naming the other
/// containers), TLS on every messaging link: the cluster forms across hosts
/// and the gateway's report is the in-process one, line for line.
#[tokio::test]
#[ignore = "needs a Docker engine"]
async fn cluster_across_containers_forms_over_tls_as_in_process() {
    let cluster = format!(
        "nodes:\n  broker-0: {TLS_BROKER}\n  broker-1: {TLS_BROKER}\n  broker-2: {TLS_BROKER}\n  gateway: {TLS_GATEWAY}\n"
    );
    let (expected, report, formed, _, _dir) = in_process_and_across_hosts(&cluster).await;
    assert!(formed, "{report}");
    assert_eq!(report, expected);
}

/// The same with TLS off on one broker: across hosts, as in process, the
/// cluster forms only partly and the report names the broker and the fix.
#[tokio::test]
#[ignore = "needs a Docker engine"]
async fn a_plaintext_broker_among_tls_hosts_reads_as_in_process() {
    let cluster = format!(
        "nodes:\n  broker-0: {TLS_BROKER}\n  broker-1: {TLS_BROKER}\n  broker-2: {{}}\n  gateway: {TLS_GATEWAY}\n"
    );
    let (expected, report, formed, _, _dir) = in_process_and_across_hosts(&cluster).await;
    assert!(!formed, "{report}");
    assert!(
        report.contains("TLS is enabled on broker-0, broker-1, gateway and disabled on broker-2"),
        "{report}"
    );
    assert_eq!(report, expected);
}

#[tokio::test]
#[ignore = "needs a Docker engine"]
async fn a_refused_configuration_in_a_container_reads_as_in_process() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("gateway.yaml"),
        "zeebe:\n  gateway:\n    security:\n      enabled: true\n      privateKeyPath: missing.key\n",
    )
    .unwrap();
    let image = ReferenceImage::get().await.expect("reference image built");
    let spec = image.zeebe_gateway(dir.path(), "gateway.yaml", &EnvMap::new());
    let Started::Refused(refusal) = spec.start().await.expect("docker answered") else {
        panic!("a gateway without a certificate chain became ready");
    };
    let message = refusal.message;
    assert!(message.contains("certificateChainPath"), "{message}");
}

/// `tlsmatrix run ARGS --backend containers --jobs 2` from the workspace,
/// every peer required.
fn containers_run(args: &[&str]) -> std::process::Command {
    let mut cmd = tlsmatrix_std_command(&["run"], &workspace());
    cmd.args(args)
        .args(["--backend", "containers", "--jobs", "2"])
        .env("TLSMATRIX_REQUIRE_PEERS", "1");
    cmd
}

/// The engine's event stream (`GET /events`), read as it comes.
struct EngineEvents {
    stream: std::os::unix::net::UnixStream,
    seen: String,
}

impl EngineEvents {
    fn subscribe() -> Self {
        use std::io::Write;
        let host = std::env::var("DOCKER_HOST")
            .unwrap_or_else(|_| "unix:///var/run/docker.sock".to_string());
        let path = host
            .strip_prefix("unix://")
            .expect("a local engine (unix://)");
        let mut stream = std::os::unix::net::UnixStream::connect(path).expect("engine socket");
        stream
            .write_all(b"GET /events HTTP/1.0\r\nHost: docker\r\n\r\n")
            .expect("events request");
        Self {
            stream,
            seen: String::new(),
        }
    }

    /// Reads events until one contains `text` (true) or `within` passes.
    fn wait_for(&mut self, text: &str, within: Duration) -> bool {
        use std::io::Read;
        let end = std::time::Instant::now() + within;
        let mut buf = [0u8; 4096];
        while !self.seen.contains(text) {
            let left = end.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() || self.stream.set_read_timeout(Some(left)).is_err() {
                return false;
            }
            match self.stream.read(&mut buf) {
                Ok(0) | Err(_) => return false,
                Ok(n) => self.seen.push_str(&String::from_utf8_lossy(&buf[..n])),
            }
        }
        true
    }
}

/// The zeebe-client TLS matrix with every gateway in a container: the same
/// expectations as in process.
#[test]
#[ignore = "needs a Docker engine"]
fn tls_matrix_on_containers_meets_the_embedded_expectations() {
    let out = containers_run(&[
        "scenarios/zeebe-client/tls-matrix.yaml",
        "--filter",
        "*.builtin.*",
        "--filter",
        "*.zbctl.*",
    ])
    .output()
    .expect("tlsmatrix run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(stderr.contains(" 0 failed"), "{stderr}");
    assert!(!stderr.contains(" 0 passed"), "{stderr}");
}

/// The zeebe-cluster matrix across hosts: every case whose nodes can run on
/// hosts of their own (all but the deliberate gossip-port collision) with one
/// container per node meets the expectation it meets in process.
#[test]
#[ignore = "needs a Docker engine"]
fn cluster_matrix_across_containers_meets_the_embedded_expectations() {
    let out = containers_run(&["scenarios/zeebe-cluster"])
        .output()
        .expect("tlsmatrix run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stderr.contains(" 0 failed"), "{stderr}");
    // Every case but the collision ran, each in containers.
    assert_eq!(stdout.matches(".containers ").count(), 38, "{stdout}");
    assert!(!stdout.contains("gossip-port-collision"), "{stdout}");
}

/// SIGINT in the middle of a containers run: exit 130, and no container or
/// network the run named (`tlsmatrix-<pid>-...`) is left on the engine.
#[test]
#[ignore = "needs a Docker engine"]
fn an_interrupted_containers_run_leaves_no_container_or_network() {
    // Subscribed before the run starts, so its first container is not missed.
    let mut events = EngineEvents::subscribe();
    let child = containers_run(&["scenarios/zeebe-cluster"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tlsmatrix run");
    let pid = child.id();
    assert!(
        events.wait_for(&format!("\"name\":\"tlsmatrix-{pid}-"), DEADLINE),
        "the run created no container within {DEADLINE:?}"
    );
    // SAFETY: plain kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGINT) }, 0);
    let out = child.wait_with_output().expect("exited");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert_eq!(
        tlsmatrix::containers::left_by(pid),
        Vec::<String>::new(),
        "{stderr}"
    );
}

/// The user's own Zeebe image (never ours to ship: its licence is the
/// vendor's), configured with the documented ZEEBE_BROKER_GATEWAY_SECURITY_*
/// variables and our certificates mounted read-only. Readiness: the image's
/// HEALTHCHECK, or `TLSMATRIX_ZEEBE_READY=stdout:TEXT`.
#[tokio::test]
#[ignore = "needs a Docker engine and TLSMATRIX_ZEEBE_IMAGE naming the user's Zeebe image (e.g. camunda/zeebe:8.4.5)"]
async fn users_zeebe_image_with_documented_env_and_read_only_certs() {
    let reference = std::env::var("TLSMATRIX_ZEEBE_IMAGE")
        .expect("set TLSMATRIX_ZEEBE_IMAGE to the image to test, e.g. camunda/zeebe:8.4.5");
    let ready = match std::env::var("TLSMATRIX_ZEEBE_READY") {
        Ok(v) => match v.strip_prefix("stdout:") {
            Some(text) => Ready::Stdout(text.to_string()),
            None => Ready::Healthcheck,
        },
        Err(_) => Ready::Healthcheck,
    };
    let dir = tempfile::tempdir().unwrap();
    certs(dir.path()).await;
    let spec = ProductContainer::named(&reference, 26500, ready)
        .with_env("ZEEBE_BROKER_GATEWAY_SECURITY_ENABLED", "true")
        .with_env(
            "ZEEBE_BROKER_GATEWAY_SECURITY_CERTIFICATECHAINPATH",
            format!("{CASE_MOUNT}/gateway-chain.pem"),
        )
        .with_env(
            "ZEEBE_BROKER_GATEWAY_SECURITY_PRIVATEKEYPATH",
            format!("{CASE_MOUNT}/gateway.key"),
        )
        .with_mount(dir.path(), CASE_MOUNT)
        // The key is 0600 and ours: the container reads it as our uid.
        .with_user(unsafe { libc::getuid() }.to_string());
    let Started::Ready(node) = spec.start().await.expect("docker answered") else {
        panic!("{reference} did not become ready");
    };
    let (code, text) = zbctl_status(dir.path(), node.port(), &["--certPath", "ca.pem"]).await;
    assert_eq!(code, Some(0), "{text}");
    let (_, text) = zbctl_status(dir.path(), node.port(), &["--insecure"]).await;
    assert!(text.contains("error reading server preface"), "{text}");
    node.stop().await;
}
