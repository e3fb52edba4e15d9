//! `tlsmatrix up cluster.yaml` end to end: a 3-broker + gateway cluster from
//! certificates made by the seed's openssl commands (real openssl), nodes
//! configured inline, by a Zeebe YAML file and by environment variables, every
//! address printed, the real `zbctl status` listing three brokers, SIGTERM
//! stopping everything; a node that refuses its configuration is exit code 2
//! naming the node, the key and the fix.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

mod common;
use common::{runtime, tlsmatrix_command, tlsmatrix_std_command, DEADLINE};

const RECIPE_CLUSTER: &str = "\
openssl: { nodes: [A, B, C, G] }
nodes:
  broker-0: { config: { zeebe.broker.network.security: { enabled: true, certificateChainPath: chainNodeA.pem, privateKeyPath: nodeA.key } } }
  broker-1: { config-file: broker-1.yaml }
  broker-2:
    env:
      ZEEBE_BROKER_NETWORK_SECURITY_ENABLED: \"true\"
      ZEEBE_BROKER_NETWORK_SECURITY_CERTIFICATECHAINPATH: chainNodeC.pem
      ZEEBE_BROKER_NETWORK_SECURITY_PRIVATEKEYPATH: nodeC.key
  gateway: { config: { zeebe.gateway.cluster.security: { enabled: true, certificateChainPath: chainNodeG.pem, privateKeyPath: nodeG.key } } }
";

fn up(dir: &Path) -> Command {
    let mut cmd = tlsmatrix_command(&["up", "cluster.yaml"], dir);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd
}

#[test]
fn up_starts_the_openssl_recipe_cluster_and_zbctl_lists_three_brokers() {
    let zbctl = match tlsmatrix::peers::zbctl::locate() {
        Ok(zbctl) => zbctl,
        Err(e) if !tlsmatrix::engine::RunOptions::from_env().require_peers() => {
            eprintln!("skipped: {e}");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cluster.yaml"), RECIPE_CLUSTER).unwrap();
    std::fs::write(
        dir.path().join("broker-1.yaml"),
        "zeebe:\n  broker:\n    network:\n      security:\n        enabled: true\n        certificateChainPath: chainNodeB.pem\n        privateKeyPath: nodeB.key\n",
    )
    .unwrap();
    let rt = runtime();
    rt.block_on(async {
        let mut child = up(dir.path()).spawn().expect("tlsmatrix up started");
        let stdout = child.stdout.take().expect("stdout piped");
        let mut lines = BufReader::new(stdout).lines();
        let mut printed = Vec::new();
        let ready = tokio::time::timeout(DEADLINE, async {
            while let Ok(Some(line)) = lines.next_line().await {
                printed.push(line.clone());
                if line.starts_with(tlsmatrix::nodes::up::CLUSTER_READY) {
                    return Some(line);
                }
            }
            None
        })
        .await
        .expect("ready before the deadline")
        .unwrap_or_else(|| panic!("no readiness line:\n{}", printed.join("\n")));
        assert!(ready.contains("(formed)"), "{}", printed.join("\n"));
        let nodes = printed
            .iter()
            .filter(|l| l.starts_with(tlsmatrix::nodes::up::CLUSTER_NODE))
            .count();
        assert_eq!(nodes, 4, "{}", printed.join("\n"));
        assert!(printed
            .iter()
            .any(|l| l.contains("broker-2 (broker 2): messaging 127.0.0.1:")
                && l.contains("(TLS 1.3), gossip 127.0.0.1:")));
        let address = ready
            .split("gateway listening on ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .expect("gateway address")
            .to_string();
        let out = tokio::time::timeout(
            DEADLINE,
            Command::new(&zbctl)
                .args(["status", "--insecure", "--address", &address])
                .current_dir(dir.path())
                .env("HOME", dir.path())
                .kill_on_drop(true)
                .output(),
        )
        .await
        .expect("zbctl finished before the deadline")
        .expect("zbctl started");
        let status = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(status.starts_with("Cluster size: 3\n"), "{status}");
        assert_eq!(status.matches("  Broker ").count(), 3, "{status}");
        assert_eq!(status.matches(": Leader, Healthy").count(), 3, "{status}");

        terminate(&mut child).await;
    });
}

/// SIGTERM to a `tlsmatrix up` child: it must exit successfully, within 10 s.
async fn terminate(child: &mut tokio::process::Child) {
    let pid = child.id().expect("running") as i32;
    // SAFETY: plain kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let exit = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("stopped within 10 s of SIGTERM")
        .expect("wait");
    assert!(exit.success(), "{exit:?}");
}

#[test]
fn up_names_the_node_the_key_and_the_fix_when_a_node_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cluster.yaml"),
        "nodes:\n  broker-0: {}\n  broker-1: { env: { ZEEBE_BROKER_NETWORK_SECURITY_ENABLED: \"true\" } }\n",
    )
    .unwrap();
    let out = runtime().block_on(async {
        tokio::time::timeout(DEADLINE, up(dir.path()).output())
            .await
            .expect("exited before the deadline")
            .expect("tlsmatrix up started")
    });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("broker-1 did not start"), "{stderr}");
    assert!(
        stderr.contains("zeebe.broker.network.security.certificateChainPath: TLS is enabled but no certificate chain is configured"),
        "{stderr}"
    );
    assert!(
        stderr.contains("ZEEBE_BROKER_NETWORK_SECURITY_CERTIFICATECHAINPATH"),
        "{stderr}"
    );
}

/// One `tlsmatrix up --member` process: its stdout lines as they come.
struct MemberProcess {
    child: tokio::process::Child,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    printed: Vec<String>,
}

impl MemberProcess {
    fn spawn(dir: &Path, role: &str, env: &[(String, String)]) -> Self {
        let mut cmd = tlsmatrix_command(&["up", "node.yaml", "--member", role], dir);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("tlsmatrix up --member started");
        let stdout = child.stdout.take().expect("stdout piped");
        Self {
            child,
            lines: BufReader::new(stdout).lines(),
            printed: Vec::new(),
        }
    }

    /// Reads until a line starts with `prefix` (bounded) and returns it.
    async fn line(&mut self, prefix: &str) -> String {
        // Under nextest's 60 s limit, so that a hang says what was printed.
        let found = tokio::time::timeout(Duration::from_secs(45), async {
            while let Ok(Some(line)) = self.lines.next_line().await {
                self.printed.push(line.clone());
                if line.starts_with(prefix) {
                    return Some(line);
                }
            }
            None
        })
        .await
        .unwrap_or_else(|_| {
            panic!(
                "no {prefix:?} line within 45 s:\n{}",
                self.printed.join("\n")
            )
        });
        found.unwrap_or_else(|| panic!("no {prefix:?} line:\n{}", self.printed.join("\n")))
    }

    /// The internal port from the `tlsmatrix cluster node` line.
    async fn internal_port(&mut self) -> u16 {
        let line = self.line(tlsmatrix::nodes::up::CLUSTER_NODE).await;
        line.split("messaging 127.0.0.1:")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no messaging port in {line}"))
    }
}

/// The same cluster as nodes on their own, one process each, configured only
/// by Zeebe's cluster variables (`ZEEBE_BROKER_CLUSTER_NODEID`,
/// `..._CLUSTERSIZE`, `..._INITIALCONTACTPOINTS` by name, internal port 0
/// on 127.0.0.1): the gateway's report equals the in-process report of the
/// equivalent cluster file, line for line, once with TLS everywhere and once
/// with one plaintext broker.
#[test]
fn members_in_separate_processes_report_as_the_cluster_in_process() {
    let tls_broker = [
        ("ZEEBE_BROKER_NETWORK_SECURITY_ENABLED", "true"),
        (
            "ZEEBE_BROKER_NETWORK_SECURITY_CERTIFICATECHAINPATH",
            "node-chain.pem",
        ),
        ("ZEEBE_BROKER_NETWORK_SECURITY_PRIVATEKEYPATH", "node.key"),
    ];
    let tls_gateway = [
        ("ZEEBE_GATEWAY_CLUSTER_SECURITY_ENABLED", "true"),
        (
            "ZEEBE_GATEWAY_CLUSTER_SECURITY_CERTIFICATECHAINPATH",
            "node-chain.pem",
        ),
        ("ZEEBE_GATEWAY_CLUSTER_SECURITY_PRIVATEKEYPATH", "node.key"),
    ];
    for plaintext_broker in [None, Some(2)] {
        let dir = tempfile::tempdir().unwrap();
        let pki = tlsmatrix::pki::PkiSpec::new()
            .with("ca", tlsmatrix::pki::CertSpec::root())
            .with("node", tlsmatrix::pki::CertSpec::leaf("ca"))
            .build()
            .unwrap();
        pki.write_to(dir.path()).unwrap();
        std::fs::write(dir.path().join("node.yaml"), "zeebe: {}\n").unwrap();
        let env_of = |pairs: &[(&str, &str)]| -> String {
            pairs
                .iter()
                .map(|(k, v)| format!("{k}: \"{v}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let broker = |id: u32| {
            if plaintext_broker == Some(id) {
                "{}".to_string()
            } else {
                format!("{{ env: {{ {} }} }}", env_of(&tls_broker))
            }
        };
        let cluster = format!(
            "nodes:\n  broker-0: {}\n  broker-1: {}\n  broker-2: {}\n  gateway: {{ env: {{ {} }} }}\n",
            broker(0),
            broker(1),
            broker(2),
            env_of(&tls_gateway)
        );
        let rt = runtime();
        rt.block_on(async {
            let file =
                tlsmatrix::nodes::cluster::ClusterFile::parse("cluster.yaml", &cluster).unwrap();
            let cluster = file.start("cluster.yaml", dir.path()).await.unwrap();
            let expected = cluster.form().await.report();
            cluster.shutdown().await;

            let owned = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            };
            let mut env = owned(&tls_gateway);
            env.extend(owned(&[
                ("ZEEBE_GATEWAY_CLUSTER_HOST", "127.0.0.1"),
                ("ZEEBE_GATEWAY_CLUSTER_PORT", "0"),
                ("ZEEBE_GATEWAY_NETWORK_HOST", "127.0.0.1"),
                ("ZEEBE_GATEWAY_NETWORK_PORT", "0"),
            ]));
            // The gateway first; the brokers find it by name.
            let mut gateway = MemberProcess::spawn(dir.path(), "gateway", &env);
            let contact = format!("localhost:{}", gateway.internal_port().await);
            let mut brokers = Vec::new();
            for id in 0..3u32 {
                let mut env: Vec<(String, String)> = if plaintext_broker == Some(id) {
                    Vec::new()
                } else {
                    owned(&tls_broker)
                };
                let id = id.to_string();
                env.extend(owned(&[
                    ("ZEEBE_BROKER_CLUSTER_NODEID", id.as_str()),
                    ("ZEEBE_BROKER_CLUSTER_CLUSTERSIZE", "3"),
                    (
                        "ZEEBE_BROKER_CLUSTER_INITIALCONTACTPOINTS",
                        contact.as_str(),
                    ),
                    ("ZEEBE_BROKER_NETWORK_HOST", "127.0.0.1"),
                    ("ZEEBE_BROKER_NETWORK_INTERNALAPI_PORT", "0"),
                ]));
                let mut broker = MemberProcess::spawn(dir.path(), "broker", &env);
                broker.internal_port().await;
                brokers.push(broker);
            }
            let ready = gateway.line(tlsmatrix::nodes::up::MEMBER_READY).await;
            let printed = &gateway.printed;
            let report: Vec<&str> = printed
                .iter()
                .map(String::as_str)
                .skip_while(|l| !l.starts_with("cluster: "))
                .take_while(|l| !l.starts_with(tlsmatrix::nodes::up::MEMBER_READY))
                .collect();
            assert_eq!(report.join("\n"), expected, "{}", printed.join("\n"));
            assert_eq!(
                ready.contains("(formed)"),
                plaintext_broker.is_none(),
                "{ready}"
            );
            for mut member in brokers.into_iter().chain([gateway]) {
                terminate(&mut member.child).await;
            }
        });
    }
}

/// A node on its own refuses what Zeebe refuses, naming the key, the
/// variable and the fix: a node id outside the cluster (with Zeebe's own
/// message), a contact point that is not HOST:PORT.
#[test]
fn a_member_refuses_a_node_id_outside_the_cluster_and_a_malformed_contact_point() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("node.yaml"), "zeebe: {}\n").unwrap();
    /// (role, environment, what stderr must name)
    type Refusal<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a [&'a str]);
    let cases: [Refusal; 2] = [
        (
            "broker",
            &[
                ("ZEEBE_BROKER_CLUSTER_NODEID", "3"),
                ("ZEEBE_BROKER_CLUSTER_CLUSTERSIZE", "3"),
            ],
            &[
                "zeebe.broker.cluster.nodeId",
                "Node id 3 needs to be non negative and smaller then cluster size 3.",
                "ZEEBE_BROKER_CLUSTER_NODEID",
            ],
        ),
        (
            "gateway",
            &[("ZEEBE_GATEWAY_CLUSTER_INITIALCONTACTPOINTS", "broker-0")],
            &[
                "zeebe.gateway.cluster.initialContactPoints",
                "contact point \"broker-0\" is not HOST:PORT",
                "ZEEBE_GATEWAY_CLUSTER_INITIALCONTACTPOINTS",
            ],
        ),
    ];
    for (role, env, wanted) in cases {
        let mut cmd = tlsmatrix_std_command(&["up", "node.yaml", "--member", role], dir.path());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("tlsmatrix up --member");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        for w in wanted {
            assert!(stderr.contains(w), "{w:?} not in {stderr}");
        }
    }
}
