//! `tlsmatrix bench`: figures, measured in one run, never asserted on.
//!
//! - floor: an in-process TLS 1.3 handshake plus one unary Topology call
//!   (built-in client, fresh connection each time) against the reference gateway;
//! - gateway start-to-ready (TLS material loaded, listening);
//! - cluster start-to-ready (3 brokers + gateway, TLS), in process;
//! - with a Docker engine, the reference gateway's and the same cluster's
//!   start-to-ready in a container of the reference image;
//! - Kafka gateway authenticate + metadata over TLS (`nodes::kafka::bench`);
//! - per-case cost of each area's default matrix, by peer, relative to the floor;
//! - per-case cost of the warm peers (Java, Node, Camunda, Kafka Java
//!   clients, Spring starter, JavaScript SDK, the netty-oracle gateway when the run
//!   selects its cases: `--backend all`, and a real Kafka broker reused per
//!   configuration), warm and cold;
//! - the CI split: the tests and test time each runner of the workflow's
//!   partitioned job gets ([`ci_split`]);
//! - wall time of the full default matrix.

mod ci_split;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::zeebe::GatewaySettings;
use crate::engine::{self, RunOptions};
use crate::error::HarnessError;
use crate::nodes::{GatewayNode, Topology};
use crate::peers::{builtin, ZeebeClientConfig};
use crate::pki::{CertSpec, PkiSpec};
use crate::scenario::Case;

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs.get(xs.len() / 2).copied().unwrap_or_default()
}

fn p90(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs.get(xs.len() * 9 / 10).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Runs the benchmark and returns its report.
pub async fn bench(
    cases: Vec<Case>,
    iterations: usize,
    jobs: usize,
) -> Result<String, HarnessError> {
    let mut out = String::new();
    let dir = tempfile::tempdir().map_err(|e| HarnessError::write(std::env::temp_dir(), e))?;
    let pki = PkiSpec::new()
        .with("ca", CertSpec::root())
        .with(
            "gateway",
            CertSpec::leaf("ca").with_sans(["localhost", "127.0.0.1"]),
        )
        .build()?
        .write_to(dir.path())?;
    let chain = pki.chain("gateway").unwrap_or_default();
    let key = pki.key("gateway").unwrap_or_default();
    let settings = GatewaySettings::plaintext().with_tls(chain.clone(), key.clone());
    let (header, floor_median) = gateway_and_floor(&settings, dir.path(), iterations, jobs).await?;
    out.push_str(&header);
    out.push_str(&oracle_start(dir.path()).await?);
    out.push_str(&cluster_start(dir.path(), &chain, &key).await?);
    // In the container the case directory is the working directory.
    let file_name = |p: &std::path::Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    out.push_str(&container_start(dir.path(), &file_name(&chain), &file_name(&key)).await);
    out.push_str(&crate::nodes::kafka::bench::auth_metadata(iterations, dir.path()).await?);

    // Per-case cost, one case at a time, then the full matrix at full parallelism.
    let arcs: Vec<Arc<Case>> = cases.into_iter().map(Arc::new).collect();
    let options = RunOptions::from_env();
    out.push_str(&per_case_cost(&arcs, &options, floor_median).await);
    out.push_str(&auth_layers(iterations.max(1), dir.path()).await?);
    out.push_str(&warm_and_cold(&arcs, &options).await);
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    out.push_str(&ci_split::section(&workspace, ci_split::WORKFLOW_RUNNERS).await);
    let t = Instant::now();
    let full = engine::run_all(arcs, &options, jobs, |_| {}).await;
    let wall = t.elapsed();
    let ok = full.iter().filter(|r| r.is_ok()).count();
    let _ = writeln!(
        out,
        "full default matrix: {} cases ({ok} ok) in {:.2} s wall",
        full.len(),
        wall.as_secs_f64()
    );
    Ok(out)
}

/// The header, the floor (an in-process TLS 1.3 handshake and one unary
/// call with the built-in client) and the reference gateway's start-to-ready;
/// with the floor's median, which the per-case costs are relative to.
async fn gateway_and_floor(
    settings: &GatewaySettings,
    dir: &std::path::Path,
    iterations: usize,
    jobs: usize,
) -> Result<(String, Duration), HarnessError> {
    // Gateway start-to-ready.
    let mut starts = Vec::new();
    for _ in 0..iterations.clamp(1, 50) {
        let t = Instant::now();
        let node = GatewayNode::start(settings, Topology::default()).await?;
        starts.push(t.elapsed());
        node.shutdown().await;
    }

    // Floor: handshake + one unary call.
    let node = GatewayNode::start(settings, Topology::default()).await?;
    let config = ZeebeClientConfig {
        address: format!("127.0.0.1:{}", node.address().port()),
        plaintext: false,
        ca_path: Some("ca.pem".to_string()),
        env: Default::default(),
        workdir: dir.to_path_buf(),
        deadline: Duration::from_secs(10),
    };
    let mut floor = Vec::new();
    for _ in 0..iterations.max(1) {
        let t = Instant::now();
        let obs = builtin::topology(&config).await?;
        if obs.connected_brokers.is_none() {
            return Err(HarnessError::protocol("bench floor", obs.text()));
        }
        floor.push(t.elapsed());
    }
    node.shutdown().await;
    let floor_median = median(floor.clone());

    let mut out = String::new();
    let _ = writeln!(
        out,
        "tlsmatrix bench ({iterations} iterations, {jobs} jobs, {} cores)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let _ = writeln!(
        out,
        "floor: TLS 1.3 handshake + 1 unary RPC, in process: median {}, p90 {}",
        ms(floor_median),
        ms(p90(floor))
    );
    let _ = writeln!(
        out,
        "gateway start-to-ready (TLS): median {}, p90 {}",
        ms(median(starts.clone())),
        ms(p90(starts))
    );

    Ok((out, floor_median))
}

/// The netty-oracle's start-to-ready, when it is built.
async fn oracle_start(dir: &std::path::Path) -> Result<String, HarnessError> {
    let mut out = String::new();
    if crate::nodes::oracle::locate().is_ok() {
        let mut oracle_starts = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            if let crate::nodes::Started::Ready(oracle) =
                crate::nodes::oracle::NettyOracle::start(None, &Default::default(), dir, None)
                    .await?
            {
                oracle_starts.push(t.elapsed());
                oracle.stop().await;
            }
        }
        let _ = writeln!(
            out,
            "netty-oracle start-to-ready (JVM, plaintext): median {} of {}",
            ms(median(oracle_starts.clone())),
            oracle_starts.len()
        );
    } else {
        let _ = writeln!(
            out,
            "netty-oracle start-to-ready: not measured (the oracle is not built: bash ci/setup)"
        );
    }

    Ok(out)
}

/// Each case once, one at a time: the median cost per area and peer,
/// relative to the floor.
async fn per_case_cost(arcs: &[Arc<Case>], options: &RunOptions, floor_median: Duration) -> String {
    let mut out = String::new();
    let serial = engine::run_all_in(arcs.to_vec(), options, engine::Slots::serial(), |_| {}).await;
    let mut by_peer: BTreeMap<(String, String), Vec<Duration>> = BTreeMap::new();
    for r in &serial {
        let peer = r
            .observation
            .as_ref()
            .map(|o| o.peer.clone())
            .unwrap_or_else(|| "skipped".into());
        by_peer
            .entry((r.case.area.to_string(), peer))
            .or_default()
            .push(r.elapsed);
    }
    let _ = writeln!(out, "per-case cost (serial), relative to the floor:");
    for ((area, peer), times) in by_peer {
        let n = times.len();
        let m = median(times);
        let _ = writeln!(
            out,
            "  {area:<14} {peer:<16} {n:>4} cases  median {:>10}  = {:>5.1}x floor",
            ms(m),
            m.as_secs_f64() / floor_median.as_secs_f64().max(1e-9)
        );
    }
    out
}

/// Cases at most per warm peer and pass in
/// [`warm_and_cold`].
const WARM_COLD_CASES: usize = 40;

/// The per-case cost of the warm peers (Java client, zeebe-node, Camunda
/// Java client, Java Kafka client, Spring starter, the JavaScript SDK,
/// Python grpcio, the netty-oracle, a real
/// Kafka broker reused per configuration), warm (long-lived
/// probes, `crate::peers::warm`) and cold (a process per case): the same
/// cases one at a time, first warm, then cold. The warm pass includes
/// starting its one process per peer; cases the warm/cold rule sends cold
/// are cold in both passes (the line says how many ran warm).
async fn warm_and_cold(cases: &[Arc<Case>], options: &RunOptions) -> String {
    use crate::peers::warm;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "per-case cost of the long-lived (warm) and per-case (cold) probes, serial:"
    );
    let label = |c: &Case, l: &str| c.labels.iter().any(|(_, v)| v == l);
    for (kind, peer) in [
        ("java", "java-client"),
        ("node", "zeebe-node"),
        ("camunda", "camunda-client"),
        ("kafka", "kafka-clients"),
        ("spring", "spring-starter"),
        ("sdk", "camunda-sdk"),
        ("python", "python-grpcio"),
        ("oracle", "netty-oracle"),
        ("broker", "kafka-broker"),
    ] {
        // The Camunda client's gRPC cases have no client axis (one file);
        // the Kafka Java client's are the kafka-gateway cases that need it.
        let runs = |c: &Case| match kind {
            "camunda" => {
                c.area == "zeebe-client"
                    && (label(c, "camunda-rest") || c.id.as_str().contains("::camunda-client::"))
            }
            "kafka" => {
                c.area == "kafka-gateway"
                    && crate::areas::find(&c.area)
                        .and_then(|a| a.check(c))
                        .is_ok_and(|reqs| {
                            reqs.iter()
                                .any(|r| r.peer() == crate::peers::kafka_java::PEER)
                        })
            }
            "spring" => c.id.as_str().contains("::camunda-spring::"),
            "sdk" => c.id.as_str().contains("::camunda-sdk"),
            // A real Kafka broker behind the gateway, reused across cases of
            // one broker configuration (`nodes::kafka::broker`).
            "broker" => {
                c.area == "kafka-gateway"
                    && crate::areas::find(&c.area)
                        .and_then(|a| a.check(c))
                        .is_ok_and(|reqs| {
                            reqs.iter()
                                .any(|r| r.peer() == crate::nodes::kafka::broker::PEER)
                        })
            }
            // The gateway is the warm process here, whatever the client.
            "oracle" => label(c, "netty-oracle"),
            other => c.area == "zeebe-client" && label(c, other),
        };
        let selected: Vec<Arc<Case>> = cases
            .iter()
            .filter(|c| runs(c))
            .filter(|c| kind == "oracle" || !label(c, "netty-oracle"))
            .take(WARM_COLD_CASES)
            .cloned()
            .collect();
        if selected.is_empty() {
            let hint = if kind == "oracle" {
                " (select them: tlsmatrix bench --backend all)"
            } else {
                ""
            };
            let _ = writeln!(out, "  {peer:<12} no case selected{hint}");
            continue;
        }
        let mut line = format!("  {peer:<12} {:>3} cases", selected.len());
        for enabled in [true, false] {
            warm::set_enabled(enabled);
            let served = warm::served();
            let results = engine::run_all(selected.clone(), options, 1, |_| {}).await;
            let served = warm::served() - served;
            warm::shutdown();
            let times: Vec<Duration> = results.iter().map(|r| r.elapsed).collect();
            let mean = times.iter().sum::<Duration>() / times.len().max(1) as u32;
            let _ = write!(
                line,
                "  {}: mean {:>9} median {:>9}{}",
                if enabled { "warm" } else { "cold" },
                ms(mean),
                ms(median(times)),
                if enabled {
                    format!(" ({served} warm)")
                } else {
                    String::new()
                }
            );
        }
        warm::set_enabled(true);
        let _ = writeln!(out, "{line}");
    }
    out
}

/// The bench cluster: 3 brokers and a gateway, TLS on every messaging link,
/// with the certificate chain and key at these paths.
fn cluster_file_text(chain: &str, key: &str) -> String {
    let broker = format!(
        "{{ env: {{ ZEEBE_BROKER_NETWORK_SECURITY_ENABLED: \"true\", ZEEBE_BROKER_NETWORK_SECURITY_CERTIFICATECHAINPATH: \"{chain}\", ZEEBE_BROKER_NETWORK_SECURITY_PRIVATEKEYPATH: \"{key}\" }} }}"
    );
    format!(
        "nodes:\n  broker-0: {broker}\n  broker-1: {broker}\n  broker-2: {broker}\n  gateway: {{ env: {{ ZEEBE_GATEWAY_CLUSTER_SECURITY_ENABLED: \"true\", ZEEBE_GATEWAY_CLUSTER_SECURITY_CERTIFICATECHAINPATH: \"{chain}\", ZEEBE_GATEWAY_CLUSTER_SECURITY_PRIVATEKEYPATH: \"{key}\" }} }}\n"
    )
}

/// A 3-broker + gateway cluster with TLS on every messaging link, in process:
/// start to formed (every node sees every other, every link handshaken).
async fn cluster_start(
    dir: &std::path::Path,
    chain: &std::path::Path,
    key: &std::path::Path,
) -> Result<String, HarnessError> {
    use crate::nodes::cluster::ClusterFile;
    let text = cluster_file_text(&chain.display().to_string(), &key.display().to_string());
    let file = ClusterFile::parse("bench cluster", &text)?;
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let cluster = file.start("bench cluster", dir).await?;
        let formed = cluster.form().await.is_formed();
        let took = t.elapsed();
        cluster.shutdown().await;
        if !formed {
            return Err(HarnessError::deadline(
                "bench cluster",
                "the cluster did not form",
            ));
        }
        times.push(took);
    }
    Ok(format!(
        "cluster start-to-ready (3 brokers + gateway, TLS, in process): median {} of {}\n",
        ms(median(times.clone())),
        times.len()
    ))
}

/// The reference gateway, then the bench cluster, in a container of the
/// reference image (built beforehand, not timed): container start to ready
/// (for the cluster: formed), or why it was not measured.
async fn container_start(dir: &std::path::Path, chain: &str, key: &str) -> String {
    use crate::containers::{ProductContainer, ReferenceImage};
    use crate::nodes::Started;
    let image = match ReferenceImage::get().await {
        Ok(image) => image,
        Err(e) => return format!("containers: not measured ({e})\n"),
    };
    let files = [
        ("gateway.yaml", "{}\n".to_string()),
        ("cluster.yaml", cluster_file_text(chain, key)),
    ];
    for (name, text) in &files {
        if let Err(e) = std::fs::write(dir.join(name), text) {
            return format!("containers: not measured ({e})\n");
        }
    }
    let what: [(&str, ProductContainer); 2] = [
        (
            "gateway start-to-ready in a container (reference image, plaintext)",
            image.zeebe_gateway(dir, "gateway.yaml", &Default::default()),
        ),
        (
            "cluster start-to-ready in a container (3 brokers + gateway, TLS, reference image)",
            image.zeebe_cluster(dir, "cluster.yaml", &Default::default()),
        ),
    ];
    let mut out = String::new();
    for (label, spec) in what {
        let mut times = Vec::new();
        for _ in 0..3 {
            match spec.start().await {
                Ok(Started::Ready(node)) => {
                    times.push(node.startup());
                    node.stop().await;
                }
                Ok(Started::Refused(r)) => {
                    return format!("{out}containers: not measured ({})\n", r.message)
                }
                Err(e) => return format!("{out}containers: not measured ({e})\n"),
            }
        }
        out.push_str(&format!(
            "{label}: median {} of {}\n",
            ms(median(times.clone())),
            times.len()
        ));
    }
    out.push_str(&across_hosts(&image, dir, chain, key).await);
    out
}

/// The bench cluster with one container per node: from the first container's
/// start to the gateway's `tlsmatrix cluster member ready (formed)`.
async fn across_hosts(
    image: &crate::containers::ReferenceImage,
    dir: &std::path::Path,
    chain: &str,
    key: &str,
) -> String {
    use crate::nodes::cluster::ClusterFile;
    use crate::nodes::Started;
    const LABEL: &str = "cluster start-to-ready across containers (one per node: 3 brokers + gateway, TLS, reference image)";
    let file = match ClusterFile::parse("bench cluster", &cluster_file_text(chain, key)) {
        Ok(file) => file,
        Err(e) => return format!("{LABEL}: not measured ({e})\n"),
    };
    let mut times = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let cluster = match image.zeebe_cluster_across_hosts(dir, &file).await {
            Ok(Started::Ready(cluster)) => cluster,
            Ok(Started::Refused(r)) => {
                return format!(
                    "{LABEL}: not measured ({} refused: {})\n",
                    r.node, r.message
                )
            }
            Err(e) => return format!("{LABEL}: not measured ({e})\n"),
        };
        let formed = cluster.formation(Duration::from_secs(10)).await;
        let took = t.elapsed();
        cluster.stop().await;
        match formed {
            Ok((_, true)) => times.push(took),
            Ok((report, false)) => return format!("{LABEL}: not measured (partial:\n{report})\n"),
            Err(e) => return format!("{LABEL}: not measured ({e})\n"),
        }
    }
    format!(
        "{LABEL}: median {} of {}\n",
        ms(median(times.clone())),
        times.len()
    )
}

/// Sequential Topology calls on one reused HTTP/2 connection: the median.
async fn calls(url: &str, token: Option<&str>, n: usize) -> Result<Duration, HarnessError> {
    use crate::proto::gateway_client::GatewayClient;
    use crate::proto::TopologyRequest;
    let channel = tonic::transport::Endpoint::from_shared(url.to_string())
        .map_err(|e| HarnessError::run("bench", e))?
        .connect()
        .await
        .map_err(|e| HarnessError::protocol("bench", e))?;
    let mut client = GatewayClient::new(channel);
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let mut req = tonic::Request::new(TopologyRequest {});
        if let Some(token) = token {
            let value = format!("Bearer {token}")
                .parse()
                .map_err(|e| HarnessError::run("bench", format!("{e:?}")))?;
            req.metadata_mut().insert("authorization", value);
        }
        let t = Instant::now();
        client
            .topology(req)
            .await
            .map_err(|e| HarnessError::protocol("bench", e.message().to_string()))?;
        times.push(t.elapsed());
    }
    Ok(median(times))
}

/// What each zeebe-auth layer adds per call: the gateway alone, with the
/// token interceptor (ES256 verify, rule, audit record), and behind real
/// nginx (an h2c listener proxying to it), each on one reused connection.
async fn auth_layers(n: usize, dir: &std::path::Path) -> Result<String, HarnessError> {
    use crate::nodes::gateway_auth::GatewayAuth;
    use crate::nodes::jwt::{Claims, SigningKey};
    use crate::nodes::nginx::{Nginx, NginxSettings};
    use crate::nodes::Started;
    let n = n.max(20);
    let mut out = String::new();
    let plain = GatewayNode::start(&GatewaySettings::plaintext(), Topology::default()).await?;
    let direct = calls(&format!("http://{}", plain.address()), None, n).await?;
    plain.shutdown().await;

    let (key, _) = SigningKey::generate("bench")?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let token = key.sign(&Claims {
        iss: "bench".into(),
        sub: "zeebe".into(),
        aud: "zeebe-api".into(),
        iat: now,
        exp: now + 600,
        scope: String::new(),
    })?;
    let auth = GatewayAuth::new(key.verifying_key(), "zeebe-api", None, "bench")?;
    let guarded = GatewayNode::start_with_auth(
        &GatewaySettings::plaintext(),
        Topology::default(),
        Some(Arc::new(
            auth.with_audit_file(dir.join("bench-audit.jsonl")),
        )),
    )
    .await?;
    let url = format!("http://{}", guarded.address());
    let with_auth = calls(&url, Some(&token), n).await?;
    let _ = writeln!(
        out,
        "zeebe-auth layers, median per call on one connection ({n} calls each):"
    );
    let _ = writeln!(out, "  gateway alone                {:>10}", ms(direct));
    let _ = writeln!(
        out,
        "  + token interceptor          {:>10}  (+{})",
        ms(with_auth),
        ms(with_auth.saturating_sub(direct))
    );
    let settings: NginxSettings =
        serde_yaml_ng::from_str("{tls: false}").map_err(|e| HarnessError::run("bench", e))?;
    match Nginx::start(&settings, guarded.address().port(), dir).await {
        Ok(Started::Ready(nginx)) => {
            let through = calls(
                &format!("http://127.0.0.1:{}", nginx.port()),
                Some(&token),
                n,
            )
            .await;
            nginx.stop().await;
            let through = through?;
            let _ = writeln!(
                out,
                "  + nginx in front (h2c)       {:>10}  (+{} over the interceptor)",
                ms(through),
                ms(through.saturating_sub(with_auth))
            );
        }
        Ok(Started::Refused(r)) => {
            let msg = r.message;
            let _ = writeln!(out, "  + nginx in front: refused its configuration: {msg}");
        }
        Err(e) => {
            let _ = writeln!(out, "  + nginx in front: not measured ({e})");
        }
    }
    guarded.shutdown().await;
    Ok(out)
}
