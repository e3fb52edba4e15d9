//! The reference gateway's REST listener against the REST oracle: embedded
//! Tomcat at the version Zeebe 8.6.0 serves its REST API with
//! (`tlsmatrix::version::REST_SERVER_8_6`), configured from the same PEM
//! files the way Spring Boot configures its connector
//! (`harness/probes/rest-tls/RestOracle.java`). For each server setup and each
//! curl invocation, both must give curl the same exit code and the same
//! text (ports redacted); a setup the oracle refuses to serve, the reference
//! must refuse too. The oracle reports its Tomcat version, checked against
//! the release data: an oracle on another runtime proves nothing.
//!
//! Needs `java` and the Tomcat jars in the local Maven repository (`ci/setup`
//! runs `harness/probes/rest-tls/run.sh --fetch`); without them each case
//! prints why it was skipped, unless `TLSMATRIX_REQUIRE_PEERS=1` makes that a
//! failure.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use rstest::rstest;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

use tlsmatrix::pki::{CertSpec, ChainShape, Defect, PkiSpec};

mod common;
use common::{runtime, text, tlsmatrix_command, DEADLINE};

fn oracle_script() -> PathBuf {
    common::crate_dir().join("probes/rest-tls/run.sh")
}

/// Why the oracle cannot run here, if it cannot.
fn unavailable() -> Option<String> {
    let repo = std::env::var_os("MAVEN_REPO")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".m2/repository")))?;
    let (_, version) = tlsmatrix::version::REST_SERVER_8_6;
    let core = repo.join(format!(
        "org/apache/tomcat/embed/tomcat-embed-core/{version}/tomcat-embed-core-{version}.jar"
    ));
    if std::process::Command::new("java")
        .arg("-version")
        .output()
        .is_err()
    {
        return Some("java is not on PATH".to_string());
    }
    if !core.is_file() {
        return Some(format!(
            "{} is missing (run `bash harness/probes/rest-tls/run.sh --fetch` once with Maven)",
            core.display()
        ));
    }
    None
}

/// Every file the cases use, in `dir`.
fn material(dir: &Path) {
    PkiSpec::new()
        .with("ca", CertSpec::root())
        .with("other-ca", CertSpec::root())
        .with("int", CertSpec::intermediate("ca"))
        .with("leaf", CertSpec::leaf("ca"))
        .with(
            "wrong-host",
            CertSpec::leaf("ca").with_defect(Defect::WrongSan),
        )
        .with("expired", CertSpec::leaf("ca").with_defect(Defect::Expired))
        .with(
            "missing-int",
            CertSpec::leaf("int").with_chain(ChainShape::LeafOnly),
        )
        .with(
            "mismatched",
            CertSpec::leaf("ca").with_defect(Defect::MismatchedKey),
        )
        .build()
        .unwrap()
        .write_to(dir)
        .unwrap();
}

/// A server that runs (killed on drop), or why it did not start.
enum Served {
    /// `_child` is held so the server runs until the case ends (killed on drop).
    Listening {
        _child: Child,
        port: u16,
    },
    Refused(String),
}

/// Waits for the first stdout line starting with `prefix`; its remainder.
async fn ready_line(child: &mut Child, prefix: &str) -> Result<String, String> {
    let stdout = child.stdout.take().expect("stdout piped");
    let mut lines = BufReader::new(stdout).lines();
    let found = tokio::time::timeout(DEADLINE, async {
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            if let Some(rest) = line.strip_prefix(prefix) {
                return Some(rest.to_string());
            }
        }
        None
    })
    .await
    .expect("the server became ready or exited before the deadline");
    match found {
        Some(rest) => Ok(rest),
        None => {
            let mut stderr = String::new();
            if let Some(mut err) = child.stderr.take() {
                let _ = tokio::time::timeout(DEADLINE, err.read_to_string(&mut stderr)).await;
            }
            Err(stderr)
        }
    }
}

/// The reference: `tlsmatrix up gateway.yaml` with `server.*` (REST on the
/// newest modelled release), TLS when `pem` gives the chain and key.
async fn reference(dir: &Path, pem: Option<(&str, &str)>) -> Served {
    let ssl = match pem {
        Some((chain, key)) => {
            format!("  ssl:\n    certificate: {chain}\n    certificate-private-key: {key}\n")
        }
        None => String::new(),
    };
    let yaml = format!(
        "zeebe:\n  gateway:\n    network:\n      host: 127.0.0.1\n      port: 0\nserver:\n  address: 127.0.0.1\n  port: 0\n{ssl}"
    );
    std::fs::write(dir.join("gateway.yaml"), yaml).unwrap();
    let mut cmd = tlsmatrix_command(&["up", "gateway.yaml"], dir);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("tlsmatrix up started");
    match ready_line(&mut child, tlsmatrix::nodes::up::GATEWAY_REST_LISTENING).await {
        Ok(rest) => {
            let address = rest.split_whitespace().next().unwrap_or_default();
            let port = address
                .rsplit(':')
                .next()
                .and_then(|p| p.parse().ok())
                .unwrap_or_else(|| panic!("unexpected REST line: {rest}"));
            Served::Listening {
                _child: child,
                port,
            }
        }
        Err(stderr) => Served::Refused(stderr),
    }
}

/// The oracle: embedded Tomcat from the same files; its version is checked.
async fn oracle(dir: &Path, pem: Option<(&str, &str)>) -> Served {
    let mut cmd = Command::new("bash");
    cmd.arg(oracle_script());
    if let Some((chain, key)) = pem {
        cmd.args(["--cert", chain, "--key", key]);
    }
    cmd.current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().expect("the REST oracle started");
    match ready_line(&mut child, "listening ").await {
        Ok(rest) => {
            let mut words = rest.split_whitespace();
            let port = words.next().and_then(|p| p.parse().ok()).expect("a port");
            let version = words.nth(1).unwrap_or_default();
            let (_, modelled) = tlsmatrix::version::REST_SERVER_8_6;
            assert!(
                version.starts_with(modelled),
                "the oracle runs Tomcat {version}, the release data says {modelled}"
            );
            Served::Listening {
                _child: child,
                port,
            }
        }
        Err(stderr) => Served::Refused(stderr),
    }
}

/// curl's exit code and what it printed (ports redacted; a JSON answer is
/// reduced to "json": the two servers' topologies differ by design).
async fn curl(dir: &Path, port: u16, scheme: &str, ca: Option<&str>) -> (Option<i32>, String) {
    let url = format!("{scheme}://localhost:{port}/v2/topology");
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "10", "--http1.1"]);
    if let Some(ca) = ca {
        cmd.args(["--cacert", ca]);
    }
    cmd.arg(&url)
        .current_dir(dir)
        .env("HOME", dir)
        .kill_on_drop(true);
    let out = tokio::time::timeout(DEADLINE, cmd.output())
        .await
        .expect("curl finished before the deadline")
        .expect("curl started");
    let stdout = text(&out.stdout);
    let body = if stdout.starts_with('{') {
        "json".to_string()
    } else {
        stdout
    };
    let said = format!("{}{}", text(&out.stderr), body).replace(&port.to_string(), "[port]");
    (out.status.code(), tlsmatrix::redact::redact(&said, None))
}

const CALLS: &[(&str, Option<&str>)] = &[
    ("https", Some("ca.pem")),
    ("https", Some("other-ca.pem")),
    ("https", None),
    ("http", None),
];

#[rstest]
#[case::tls("leaf-chain.pem", "leaf.key")]
#[case::wrong_host("wrong-host-chain.pem", "wrong-host.key")]
#[case::expired("expired-chain.pem", "expired.key")]
#[case::chain_without_intermediate("missing-int-chain.pem", "missing-int.key")]
#[case::key_does_not_match("mismatched-chain.pem", "mismatched.key")]
#[case::plaintext("", "")]
fn reference_rest_agrees_with_tomcat(#[case] chain: &str, #[case] key: &str) {
    if let Some(why) = unavailable() {
        assert!(
            std::env::var("TLSMATRIX_REQUIRE_PEERS").map_or(true, |v| v != "1" && v != "true"),
            "REST oracle required but unavailable: {why}"
        );
        eprintln!("skipped: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    material(dir.path());
    let pem = (!chain.is_empty()).then_some((chain, key));
    let rt = runtime();
    rt.block_on(async {
        let ours = reference(dir.path(), pem).await;
        let theirs = oracle(dir.path(), pem).await;
        match (ours, theirs) {
            (Served::Refused(_), Served::Refused(_)) => {}
            (Served::Listening { port: ours, .. }, Served::Listening { port: theirs, .. }) => {
                for (scheme, ca) in CALLS {
                    let our = curl(dir.path(), ours, scheme, *ca).await;
                    let their = curl(dir.path(), theirs, scheme, *ca).await;
                    assert_eq!(
                        our, their,
                        "curl {scheme} --cacert {ca:?}: reference (left) and Tomcat (right) differ"
                    );
                }
            }
            (Served::Refused(why), Served::Listening { .. }) => {
                panic!("the reference refused what Tomcat serves:\n{why}")
            }
            (Served::Listening { .. }, Served::Refused(why)) => {
                panic!("Tomcat refused what the reference serves:\n{why}")
            }
        }
    });
}
