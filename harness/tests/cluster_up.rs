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

const DEADLINE: Duration = Duration::from_secs(60);

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

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn up(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tlsmatrix"));
    cmd.args(["up", "cluster.yaml"])
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

#[test]
fn up_starts_the_openssl_recipe_cluster_and_zbctl_lists_three_brokers() {
    let zbctl = match tlsmatrix::peers::zbctl::locate() {
        Ok(zbctl) => zbctl,
        Err(e) if !tlsmatrix::engine::RunOptions::from_env().require_peers => {
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
                if line.starts_with("tlsmatrix cluster ready") {
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
            .filter(|l| l.starts_with("tlsmatrix cluster node "))
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

        let pid = child.id().expect("running") as i32;
        // SAFETY: plain kill(2) on our own child's pid.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        let exit = tokio::time::timeout(DEADLINE, child.wait())
            .await
            .expect("stopped before the deadline")
            .expect("wait");
        assert!(exit.success(), "{exit:?}");
    });
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
