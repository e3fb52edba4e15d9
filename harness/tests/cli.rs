//! The `tlsmatrix` binary end to end: `up` with an openssl-made chain and the
//! real zbctl, a changed expectation failing `run`, `certs`, report formats,
//! and every kind of bad input answered with exit code 2 and a message naming
//! the file, the key and the fix (never a panic).

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use rstest::rstest;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

mod common;
use common::{run_tlsmatrix, runtime, text, tlsmatrix_command, workspace, DEADLINE};

/// Runs a shell command line (openssl) in `dir`, bounded by the deadline.
fn run_shell(dir: &Path, script: &str) {
    let out = runtime().block_on(async {
        tokio::time::timeout(
            DEADLINE,
            Command::new("bash")
                .arg("-ec")
                .arg(script)
                .current_dir(dir)
                .kill_on_drop(true)
                .output(),
        )
        .await
        .expect("shell finished before the deadline")
        .expect("bash started")
    });
    assert!(out.status.success(), "{script}\n{}", text(&out.stderr));
}

/// A CA and a gateway chain made by openssl (not by us), with SANs for
/// localhost and 127.0.0.1; the key in openssl's default PKCS#8 PEM.
fn make_openssl_chain(dir: &Path) {
    run_shell(
        dir,
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 30 -subj /CN=openssl-test-ca 2>/dev/null
         openssl req -new -newkey rsa:2048 -nodes -keyout gateway.key -out gateway.csr -subj /CN=localhost 2>/dev/null
         printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext
         openssl x509 -req -in gateway.csr -CA ca.pem -CAkey ca.key -set_serial 01 -days 30 -extfile san.ext -out gateway.pem 2>/dev/null
         cat gateway.pem ca.pem > chain.pem",
    );
}

fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write test file");
    path
}

const TLS_GATEWAY_YAML: &str = "zeebe:\n  gateway:\n    network:\n      host: 127.0.0.1\n      port: 0\n    security:\n      enabled: true\n      certificateChainPath: chain.pem\n      privateKeyPath: gateway.key\n    unrelated:\n      setting: ignored\n";

/// A running `tlsmatrix up`, killed on drop.
struct Up {
    child: Child,
    address: String,
}

fn start_up(dir: &Path, rt: &tokio::runtime::Runtime) -> Up {
    start_up_with(
        dir,
        rt,
        &["up", "gateway.yaml"],
        tlsmatrix::nodes::up::GATEWAY_LISTENING,
    )
}

/// `tlsmatrix ARGS` in `dir`, ready once it prints `prefix` and its address.
fn start_up_with(dir: &Path, rt: &tokio::runtime::Runtime, args: &[&str], prefix: &str) -> Up {
    rt.block_on(async {
        let mut cmd = tlsmatrix_command(args, dir);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("tlsmatrix up started");
        let stdout = child.stdout.take().expect("stdout piped");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(DEADLINE, lines.next_line())
            .await
            .expect("tlsmatrix up became ready before the deadline")
            .expect("read stdout")
            .expect("tlsmatrix up printed its address");
        let address = line
            .strip_prefix(prefix)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("unexpected readiness line: {line}"))
            .to_string();
        Up { child, address }
    })
}

fn zbctl() -> PathBuf {
    tlsmatrix::peers::zbctl::locate().expect("zbctl installed by ci/setup")
}

#[test]
fn up_serves_an_openssl_chain_to_real_zbctl() {
    let dir = tempfile::tempdir().unwrap();
    make_openssl_chain(dir.path());
    write(dir.path(), "gateway.yaml", TLS_GATEWAY_YAML);
    let rt = runtime();
    let mut up = start_up(dir.path(), &rt);
    let out = rt.block_on(async {
        tokio::time::timeout(
            DEADLINE,
            Command::new(zbctl())
                .args(["--certPath", "ca.pem", "status", "--address", &up.address])
                .current_dir(dir.path())
                .env("HOME", dir.path())
                .kill_on_drop(true)
                .output(),
        )
        .await
        .expect("zbctl finished before the deadline")
        .expect("zbctl started")
    });
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "zbctl failed: {}", text(&out.stderr));
    assert!(stdout.starts_with("Cluster size: 1\n"), "{stdout}");
    assert!(stdout.contains("Broker 0 - broker-0:26501"), "{stdout}");

    // SIGTERM stops it cleanly.
    let pid = up.child.id().expect("running") as i32;
    // SAFETY: plain kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = rt.block_on(async {
        tokio::time::timeout(DEADLINE, up.child.wait())
            .await
            .expect("tlsmatrix up stopped before the deadline")
            .expect("wait")
    });
    assert!(status.success(), "{status:?}");
}

#[test]
fn plaintext_up_logs_the_netty_preface_line_for_a_tls_client() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "gateway.yaml",
        "zeebe.gateway.network: {host: 127.0.0.1, port: 0}\n",
    );
    let rt = runtime();
    let mut up = start_up(dir.path(), &rt);
    let out = rt.block_on(async {
        tokio::time::timeout(
            DEADLINE,
            Command::new(zbctl())
                .args(["status", "--address", &up.address])
                .current_dir(dir.path())
                .env("HOME", dir.path())
                .kill_on_drop(true)
                .output(),
        )
        .await
        .expect("zbctl finished before the deadline")
        .expect("zbctl started")
    });
    assert!(
        text(&out.stderr).contains("tls: first record does not look like a TLS handshake"),
        "{}",
        text(&out.stderr)
    );
    let mut stderr = up.child.stderr.take().expect("stderr piped");
    let pid = up.child.id().expect("running") as i32;
    // SAFETY: plain kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let log = rt.block_on(async {
        use tokio::io::AsyncReadExt;
        let mut log = String::new();
        tokio::time::timeout(DEADLINE, stderr.read_to_string(&mut log))
            .await
            .expect("tlsmatrix up stopped before the deadline")
            .expect("read stderr");
        log
    });
    assert!(
        log.contains("HTTP/2 client preface string missing or corrupt. Hex dump for received bytes: 16030100"),
        "{log}"
    );
}

#[test]
fn changed_expectation_fails_run_and_names_the_case() {
    let dir = tempfile::tempdir().unwrap();
    let area = dir.path().join("zeebe-client");
    std::fs::create_dir(&area).unwrap();
    let original =
        std::fs::read_to_string(workspace().join("scenarios/zeebe-client/certificates.yaml"))
            .unwrap();
    let changed = original.replacen(
        "  - when: { material: expired }\n    outcome: certificate-expired",
        "  - when: { material: expired }\n    outcome: connected(1)",
        1,
    );
    assert_ne!(
        original, changed,
        "the scenario file still has the rule this test edits"
    );
    write(&area, "certificates.yaml", &changed);
    let out = run_tlsmatrix(
        &[
            "run",
            "zeebe-client",
            "--filter",
            "*::expired.builtin.embedded",
        ],
        dir.path(),
        &[],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("case zeebe-client::certificates::expired.builtin.embedded"),
        "{stderr}"
    );
    assert!(stderr.contains("expected: connected(1)"), "{stderr}");
    assert!(
        stderr.contains("actual:   certificate-expired (zeebe-client::certificate-expired)"),
        "{stderr}"
    );
    assert!(stderr.contains("fix:"), "{stderr}");
}

#[test]
fn missing_zbctl_skips_with_reason_and_install_command() {
    let out = run_tlsmatrix(
        &[
            "run",
            "--filter",
            "zeebe-client::certificates::valid.*.embedded",
        ],
        &workspace(),
        &[("TLSMATRIX_ZBCTL", "/nonexistent/zbctl")],
    );
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stdout.contains("zeebe-client::certificates::valid.zbctl.embedded"),
        "{stdout}"
    );
    assert!(
        stderr.contains("run: 5 passed, 0 failed, 1 skipped"),
        "{stderr}"
    );
    assert!(stderr.contains("zbctl is not installed"), "{stderr}");
    assert!(
        stderr.contains("install it with: bash ci/setup"),
        "{stderr}"
    );
}

#[test]
fn report_formats_are_machine_readable() {
    let filter = [
        "--filter",
        "zeebe-client::tls-matrix::gw-*.builtin.tls.ca-given.env-none.embedded",
    ];
    let json = run_tlsmatrix(
        &["run", "--format", "json", filter[0], filter[1]],
        &workspace(),
        &[],
    );
    assert!(json.status.success(), "{}", text(&json.stderr));
    let lines: Vec<serde_json::Value> = text(&json.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["actual"], "tls-client-plaintext-server");
    assert_eq!(
        lines[0]["entry"],
        "zeebe-client::tls-client-plaintext-gateway"
    );
    assert_eq!(lines[1]["actual"], "connected(1)");
    let junit = run_tlsmatrix(
        &["run", "--format", "junit", filter[0], filter[1]],
        &workspace(),
        &[],
    );
    let xml = text(&junit.stdout);
    assert!(
        xml.contains("<testsuite name=\"zeebe-client\" tests=\"2\""),
        "{xml}"
    );
}

#[test]
fn certs_writes_the_documented_set_with_private_keys_0600() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let out = run_tlsmatrix(&["certs", "--out", "set"], dir.path(), &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let set = dir.path().join("set");
    let readme = std::fs::read_to_string(set.join("README.txt")).unwrap();
    for name in [
        "ca",
        "gateway",
        "gateway-expired",
        "gateway-wrong-root",
        "gateway-rsa-pkcs1",
        "client",
    ] {
        assert!(
            readme.contains(&format!("\n{name}: ")),
            "{name} missing from README.txt"
        );
        let mode = std::fs::metadata(set.join(format!("{name}.key")))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}.key");
    }
    assert!(std::fs::read_to_string(set.join("gateway-rsa-pkcs1.key"))
        .unwrap()
        .starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    assert!(std::fs::read_to_string(set.join("gateway-p384-sec1.key"))
        .unwrap()
        .starts_with("-----BEGIN EC PRIVATE KEY-----"));
}

/// Bad inputs to `up`: each exits 2 with a message naming file, key and fix.
#[rstest]
#[case::missing_chain_file("no-such-chain.pem", "gateway.key", &["zeebe.gateway.security.certificateChainPath", "Expected the configured network security certificate chain path", "no-such-chain.pem' to point to a readable file, but it does not", "fix: point it (or ZEEBE_GATEWAY_SECURITY_CERTIFICATECHAINPATH) at the PEM certificate chain file"])]
#[case::pem_without_certificate("gateway.key", "gateway.key", &["zeebe.gateway.security.certificateChainPath", "no certificate in this PEM file (found only: PRIVATE KEY)", "fix: point the setting at the PEM certificate chain"])]
#[case::key_not_matching("chain.pem", "ca.key", &["zeebe.gateway.security.privateKeyPath", "does not match the first certificate", "fix: use the key the certificate was issued for"])]
#[case::password_protected_key("chain.pem", "encrypted.key", &["zeebe.gateway.security.privateKeyPath", "password-protected private keys are not supported, as in Zeebe", "fix: decrypt it"])]
#[case::missing_key_file("chain.pem", "no-such.key", &["zeebe.gateway.security.privateKeyPath", "Expected the configured network security private key path", "no-such.key' to point to a readable file, but it does not", "fix: point it (or ZEEBE_GATEWAY_SECURITY_PRIVATEKEYPATH)"])]
fn up_rejects_bad_material(#[case] chain: &str, #[case] key: &str, #[case] expected: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    make_openssl_chain(dir.path());
    run_shell(dir.path(), "openssl pkcs8 -topk8 -in gateway.key -out encrypted.key -passout pass:secret -v2 aes-256-cbc");
    write(
        dir.path(),
        "gateway.yaml",
        &format!("zeebe.gateway:\n  network: {{host: 127.0.0.1, port: 0}}\n  security:\n    enabled: true\n    certificateChainPath: {chain}\n    privateKeyPath: {key}\n"),
    );
    let out = run_tlsmatrix(&["up", "gateway.yaml"], dir.path(), &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("tlsmatrix: error: gateway.yaml: "),
        "{stderr}"
    );
    for needle in expected {
        assert!(stderr.contains(needle), "missing {needle:?} in: {stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn up_reports_a_port_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    write(
        dir.path(),
        "gateway.yaml",
        &format!("zeebe.gateway.network:\n  host: 127.0.0.1\n  port: {port}\n"),
    );
    let out = run_tlsmatrix(&["up", "gateway.yaml"], dir.path(), &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{stderr}"
    );
    assert!(
        stderr.contains("fix: stop the process using that port"),
        "{stderr}"
    );
}

#[test]
fn up_reports_a_wrong_type_with_file_key_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "gateway.yaml",
        "zeebe:\n  gateway:\n    security:\n      enabled: perhaps\n",
    );
    let out = run_tlsmatrix(&["up", "gateway.yaml"], dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr).trim(),
        "tlsmatrix: error: gateway.yaml: zeebe.gateway.security.enabled: expected true or false, found \"perhaps\"; fix: set zeebe.gateway.security.enabled to true or false"
    );
}

/// Bad scenario files: each exits 2 naming the file (with line and column for
/// syntax errors), the key and the fix.
#[rstest]
#[case::malformed_yaml("area: zeebe-client\ndescription: x\n  - not: [a mapping\n", &["zeebe-client/bad.yaml:3:8: malformed YAML: mapping values are not allowed in this context", "fix: correct the syntax"])]
#[case::unknown_top_level_key("area: zeebe-client\ndescription: x\nexpekt: []\n", &["bad.yaml:3:1: unknown field `expekt`", "fix: rename the key"])]
#[case::unknown_axis_in_rule("area: zeebe-client\ndescription: x\naxes:\n  client:\n    builtin: {client: {kind: builtin}}\nexpect:\n  - when: {clinet: builtin}\n    outcome: connected(1)\n", &["bad.yaml: expect.when.clinet: no axis named \"clinet\"", "fix: use one of: client"])]
#[case::unknown_outcome("area: zeebe-client\ndescription: x\ncases:\n  - name: a\n    body: {}\n    outcome: works\n", &["unknown outcome \"works\""])]
#[case::unknown_case_body_key("area: zeebe-client\ndescription: x\ncases:\n  - name: a\n    body: {gateway: {}, client: {kind: builtin, certpath: ca.pem}}\n    outcome: connected(1)\n", &["zeebe-client::bad::a: invalid case body: unknown field `certpath`"])]
#[case::case_without_expectation("area: zeebe-client\ndescription: x\naxes:\n  client:\n    builtin: {client: {kind: builtin}}\n", &["no expect rule matches case zeebe-client::bad::builtin"])]
#[case::misspelt_entry("area: zeebe-client\ndescription: x\ncases:\n  - name: a\n    body: {gateway: {}, client: {kind: builtin}}\n    outcome: unknown-authority\n    entry: zeebe-client::unknown-authorty\n", &["bad.yaml: cases.a.entry: no catalogue entry zeebe-client::unknown-authorty in area zeebe-client", "fix: did you mean zeebe-client::unknown-authority?"])]
#[case::entry_of_another_area("area: zeebe-client\ndescription: x\naxes:\n  client:\n    builtin: {client: {kind: builtin}}\nexpect:\n  - outcome: connected(1)\n    entry: kafka-gateway::no-such-entry\n", &["bad.yaml: expect[0].entry: no catalogue entry kafka-gateway::no-such-entry in area zeebe-client", "fix: use one of: zeebe-client::"])]
#[case::entry_outside_the_grammar("area: zeebe-client\ndescription: x\ncases:\n  - name: a\n    body: {}\n    outcome: connected(1)\n    entry: Unknown Authority\n", &["bad.yaml:", "invalid name \"Unknown Authority\": an entry id is area::name", "fix: write the name as the message says"])]
fn run_rejects_bad_scenario_files(#[case] yaml: &str, #[case] expected: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let area = dir.path().join("zeebe-client");
    std::fs::create_dir(&area).unwrap();
    write(&area, "bad.yaml", yaml);
    let out = run_tlsmatrix(&["run", "zeebe-client"], dir.path(), &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for needle in expected {
        assert!(stderr.contains(needle), "missing {needle:?} in: {stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn missing_scenario_path_is_a_clear_error() {
    let out = run_tlsmatrix(&["run", "no-such-dir"], &workspace(), &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no-such-dir: cannot read: No such file or directory"),
        "{stderr}"
    );
}

/// Runs the real zbctl `status` with extra arguments in `dir`; returns stderr.
fn zbctl_status_stderr(rt: &tokio::runtime::Runtime, dir: &Path, args: &[&str]) -> String {
    let out = rt.block_on(async {
        tokio::time::timeout(
            DEADLINE,
            Command::new(zbctl())
                .arg("status")
                .args(args)
                .current_dir(dir)
                .env_clear()
                .env("HOME", dir)
                .kill_on_drop(true)
                .output(),
        )
        .await
        .expect("zbctl finished before the deadline")
        .expect("zbctl started")
    });
    text(&out.stderr).trim().to_string()
}

/// The cluster seed's own openssl recipe: X.509 v1 certificates, the CA as a
/// `TRUSTED CERTIFICATE` block in the chain. The gateway must load it (Zeebe
/// does); zbctl then answers as measured in shared/facts/rust-tls-stack.md.
#[test]
fn up_loads_the_documented_openssl_recipe_and_zbctl_reports_its_limits() {
    let dir = tempfile::tempdir().unwrap();
    run_shell(
        dir.path(),
        "subj='/C=XX/L=Default City/O=Default Company Ltd'
         openssl req -new -newkey rsa:2048 -nodes -out ca.csr -keyout ca.key -subj \"$subj\" 2>/dev/null
         openssl x509 -trustout -signkey ca.key -days 365 -req -in ca.csr -out ca.pem 2>/dev/null
         openssl genpkey -out nodeA.key -algorithm RSA -pkeyopt rsa_keygen_bits:2048 2>/dev/null
         openssl req -new -key nodeA.key -out nodeA.csr -subj \"$subj\" 2>/dev/null
         openssl x509 -req -days 365 -in nodeA.csr -CA ca.pem -CAkey ca.key -set_serial 01 -out nodeA.pem 2>/dev/null
         cat nodeA.pem ca.pem > chainNodeA.pem
         openssl x509 -in ca.pem -out ca-plain.pem",
    );
    let chain = std::fs::read_to_string(dir.path().join("chainNodeA.pem")).unwrap();
    assert!(
        chain.contains("-----BEGIN TRUSTED CERTIFICATE-----"),
        "{chain}"
    );
    write(
        dir.path(),
        "gateway.yaml",
        "zeebe.gateway:\n  network: {host: 127.0.0.1, port: 0}\n  security: {enabled: true, certificateChainPath: chainNodeA.pem, privateKeyPath: nodeA.key}\n",
    );
    let rt = runtime();
    let up = start_up(dir.path(), &rt);
    let port = up.address.rsplit(':').next().unwrap().to_string();
    let by_ip = format!("127.0.0.1:{port}");
    let by_name = format!("localhost:{port}");
    assert_eq!(
        zbctl_status_stderr(
            &rt,
            dir.path(),
            &["--address", &by_ip, "--certPath", "ca.pem"]
        ),
        "Error: credentials: failed to append certificates"
    );
    assert!(zbctl_status_stderr(
        &rt,
        dir.path(),
        &["--address", &by_ip, "--certPath", "ca-plain.pem"]
    )
    .ends_with(
        "x509: cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs\""
    ),);
    assert!(zbctl_status_stderr(
        &rt,
        dir.path(),
        &["--address", &by_name, "--certPath", "ca-plain.pem"]
    )
    .ends_with("x509: certificate is not valid for any names, but wanted to match localhost\""),);
    drop(up);
}

/// Each documented troubleshooting case has a fixture report that `reproduce`
/// confirms, finding the documented fix; a report with the user's own files too.
#[rstest]
#[case::tls_client_plaintext_gateway(
    "tls-client-plaintext-gateway.yaml",
    "zeebe-client::tls-client-plaintext-gateway",
    "FIX: enable TLS on the gateway"
)]
#[case::plaintext_client_tls_gateway(
    "plaintext-client-tls-gateway.yaml",
    "zeebe-client::plaintext-client-tls-gateway",
    "FIX: give the client TLS"
)]
#[case::unknown_authority(
    "unknown-authority.yaml",
    "zeebe-client::unknown-authority",
    "FIX: give the client the CA"
)]
#[case::own_files(
    "own-files/report.yaml",
    "zeebe-client::hostname-mismatch",
    "FIX: dial localhost"
)]
fn reproduce_confirms_each_fixture_report_and_finds_the_fix(
    #[case] report: &str,
    #[case] entry: &str,
    #[case] fix: &str,
) {
    let path = format!("fixtures/reports/{report}");
    let out = run_tlsmatrix(&["reproduce", &path], &workspace(), &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let mut lines = stdout.lines();
    assert_eq!(
        lines.next(),
        Some(format!("REPRODUCED: {entry}").as_str()),
        "{stdout}"
    );
    assert!(lines.next().is_some_and(|l| l.starts_with(fix)), "{stdout}");
}

/// Every catalogue entry with remedies has a report of its own,
/// `fixtures/reports/remedies/<area>/<entry>.yaml`, built with fast peers:
/// `reproduce` confirms it and one of the entry's remedies connects, so the
/// remedies are shown to work on real peers, not only to parse.
#[rstest]
fn reproduce_finds_a_working_remedy_for_each_remedy_report(
    #[files("../fixtures/reports/remedies/*/*.yaml")] report: PathBuf,
) {
    let area = report.parent().and_then(Path::file_name).unwrap();
    let stem = report.file_stem().unwrap();
    let entry = format!("{}::{}", area.to_string_lossy(), stem.to_string_lossy());
    let out = run_tlsmatrix(
        &["reproduce", &report.display().to_string()],
        &workspace(),
        &[],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let mut lines = stdout.lines();
    assert_eq!(
        lines.next(),
        Some(format!("REPRODUCED: {entry}").as_str()),
        "{stdout}"
    );
    let fix = lines.next().unwrap_or("");
    assert!(
        fix.starts_with("FIX: ") && !fix.starts_with("FIX: none of"),
        "{stdout}"
    );
}

/// A report may quote a node's log instead of the client's text, or give an
/// outcome (`expect:`) for a silent misconfiguration; a text that lands on
/// the same outcome through another case is said as such.
#[rstest]
#[case::expect_outcome(
    "area: zeebe-client\ntitle: plaintext works though we asked for TLS\nexpect: connected(1)\nsetup:\n  gateway: {}\n  client: {kind: builtin, plaintext: true}\n",
    0,
    "REPRODUCED: connected(1)"
)]
#[case::expect_not_met(
    "area: zeebe-client\ntitle: t\nexpect: unknown-authority\nsetup:\n  gateway: {}\n  client: {kind: builtin, plaintext: true}\n",
    1,
    "NOT REPRODUCED: the report expects unknown-authority, the setup gives connected(1)"
)]
#[case::different_text(
    "area: zeebe-client\ntitle: t\nreported-error: \"Caused by: javax.net.ssl.SSLHandshakeException: PKIX path building failed\"\nsetup:\n  gateway: {config: {zeebe: {gateway: {security: {enabled: true, certificateChainPath: gateway-chain.pem, privateKeyPath: gateway.key}}}}}\n  client: {kind: builtin}\ngenerate:\n  ca: {}\n  gateway: {issuer: ca, sans: [localhost, 127.0.0.1]}\n",
    0,
    "REPRODUCED: zeebe-client::unknown-authority"
)]
fn reproduce_says_what_was_seen(#[case] yaml: &str, #[case] code: i32, #[case] first: &str) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "report.yaml", yaml);
    let out = run_tlsmatrix(&["reproduce", "report.yaml"], dir.path(), &[]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{stdout}{}",
        text(&out.stderr)
    );
    assert_eq!(stdout.lines().next(), Some(first), "{stdout}");
}

#[test]
fn reproduce_emits_a_scenario_that_runs_green() {
    let dir = tempfile::tempdir().unwrap();
    let area = dir.path().join("zeebe-client");
    std::fs::create_dir(&area).unwrap();
    let report = workspace().join("fixtures/reports/unknown-authority.yaml");
    let target = area.join("from-report.yaml");
    let out = run_tlsmatrix(
        &[
            "reproduce",
            report.to_str().unwrap(),
            "--emit-scenario",
            target.to_str().unwrap(),
        ],
        dir.path(),
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let run = run_tlsmatrix(&["run", "zeebe-client"], dir.path(), &[]);
    let stderr = text(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(
        stderr.contains("run: 1 passed, 0 failed, 0 skipped"),
        "{stderr}"
    );
    assert!(text(&run.stdout).contains("zeebe-client::from-report::unknown-authority"));
}

#[rstest]
#[case::missing_field("area: zeebe-client\ntitle: t\nsetup: {}\n", &["reported-error: missing field `reported-error`", "see fixtures/reports/unknown-authority.yaml"])]
#[case::empty_error_text("area: zeebe-client\ntitle: t\nreported-error: \"  \"\nsetup: {}\n", &["reported-error: the reported error text is empty"])]
#[case::unreadable_file("area: zeebe-client\ntitle: t\nreported-error: x\nsetup: {}\nfiles: {ca.pem: missing-ca.pem}\n", &["report.yaml: files.ca.pem:", "missing-ca.pem: cannot read"])]
#[case::setup_not_in_schema("area: zeebe-client\ntitle: t\nreported-error: x\nsetup: {client: {kind: kcat}}\n", &["report.yaml: zeebe-client::reproduce::report: invalid case body: unknown variant `kcat`"])]
fn reproduce_rejects_bad_reports(#[case] yaml: &str, #[case] expected: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "report.yaml", yaml);
    let out = run_tlsmatrix(&["reproduce", "report.yaml"], dir.path(), &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for needle in expected {
        assert!(stderr.contains(needle), "missing {needle:?} in: {stderr}");
    }
}

#[test]
fn reproduce_with_an_absent_client_says_how_to_install_it() {
    let out = run_tlsmatrix(
        &["reproduce", "fixtures/reports/unknown-authority.yaml"],
        &workspace(),
        &[("TLSMATRIX_ZBCTL", "/nonexistent/zbctl")],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot run the reported client here: zbctl is not installed"),
        "{stderr}"
    );
    assert!(
        stderr.contains("install it with: bash ci/setup"),
        "{stderr}"
    );
}

/// `explain` maps each documented message, old and current forms, to its case.
#[rstest]
#[case::documented_first_record("Error: rpc error: code = Unavailable desc = all SubConns are in TransientFailure, latest connection error: connection error: desc = \"transport: authentication handshake failed: tls: first record does not look like a TLS handshake\"", "zeebe-client::tls-client-plaintext-gateway")]
#[case::documented_connection_closed("Error: rpc error: code = Unavailable desc = all SubConns are in TransientFailure, latest connection error: connection closed", "zeebe-client::plaintext-client-tls-gateway")]
#[case::today_server_preface("Error: rpc error: code = Unavailable desc = connection error: desc = \"error reading server preface: EOF\"", "zeebe-client::plaintext-client-tls-gateway")]
#[case::documented_unknown_authority("Error: rpc error: code = Unavailable desc = all SubConns are in TransientFailure, latest connection error: connection error: desc = \"transport: authentication handshake failed: x509: certificate signed by unknown authority", "zeebe-client::unknown-authority")]
#[case::newer_go_unknown_authority("transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority", "zeebe-client::unknown-authority")]
fn explain_maps_documented_and_current_texts(#[case] message: &str, #[case] entry: &str) {
    let out = run_tlsmatrix(&["explain", message], &workspace(), &[]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.starts_with(&format!("{entry}: ")), "{stdout}");
    assert!(stdout.contains("   fix: "), "{stdout}");
}

/// Whatever a user pastes: a whole stack trace (the decisive `Caused by:`
/// deep in it, shaded packages), a proxy's log, a text cut off mid-word, a
/// bare line that names no product, and a wrapper line that says nothing.
#[rstest]
#[case::stack_trace_caused_by(
    "io.grpc.StatusRuntimeException: UNAVAILABLE: io exception\n\tat io.grpc.Status.asRuntimeException(Status.java:539)\nCaused by: io.grpc.netty.shaded.io.netty.handler.codec.DecoderException: javax.net.ssl.SSLHandshakeException: PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target",
    "zeebe-client::unknown-authority",
    "matched: "
)]
#[case::nginx_error_log(
    "2019/07/16 00:29:18 [error] 135#135: *1745 upstream sent too large http2 frame: 4740180 while reading response header from upstream",
    "zeebe-auth::proxy-upstream-failed",
    "the text points to: zeebe-auth"
)]
#[case::cut_off(
    "Error: rpc error: code = Unavailable desc = connection error: desc = \"transport: authentication handshake failed: x509: certificate signed by unkn",
    "zeebe-client::unknown-authority",
    "(cut off)"
)]
#[case::go_server_log(
    "2021/12/24 19:52:20 http: TLS handshake error from 192.168.208.93:47148: remote error: tls: bad certificate",
    "http-gateway::gateway-not-trusted",
    "the text points to: http-gateway"
)]
#[case::bare_line_is_ambiguous(
    "x509: certificate signed by unknown authority",
    "http-gateway::gateway-not-trusted",
    "ambiguous: the text alone does not decide"
)]
#[case::kafka_broker_log(
    "Unexpected Kafka request of type METADATA during SASL handshake.",
    "kafka-gateway::sasl-on-one-side",
    "the text points to: kafka-gateway"
)]
fn explain_reads_what_users_paste(
    #[case] text_in: &str,
    #[case] entry: &str,
    #[case] needle: &str,
) {
    let out = run_tlsmatrix(&["explain", text_in], &workspace(), &[]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.starts_with(&format!("{entry}: ")), "{stdout}");
    assert!(stdout.contains(needle), "missing {needle:?} in {stdout}");
}

#[test]
fn explain_says_which_lines_decide_an_undecided_text() {
    let out = run_tlsmatrix(
        &[
            "explain",
            "io.grpc.StatusRuntimeException: UNAVAILABLE: io exception",
        ],
        &workspace(),
        &[],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.starts_with("undecided: this text says the connection failed, not why."),
        "{stdout}"
    );
    assert!(
        stdout.contains("look for the `Caused by:` lines"),
        "{stdout}"
    );
    assert!(
        stdout.contains("-> zeebe-client::hostname-mismatch"),
        "{stdout}"
    );
}

#[test]
fn explain_scores_the_corpus_of_real_texts() {
    let out = run_tlsmatrix(
        &["explain", "--corpus", "fixtures/real-texts"],
        &workspace(),
        &[],
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("top (any area)"), "{stdout}");
    assert!(stdout.contains("\nzeebe-cluster "), "{stdout}");
}

#[test]
fn explain_unknown_text_shows_the_closest_cases() {
    let out = run_tlsmatrix(
        &["explain", "tls: handshake went sideways"],
        &workspace(),
        &[],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.starts_with("unknown: no catalogue case matches this text.\nclosest cases:"),
        "{stdout}"
    );
    let empty = run_tlsmatrix(&["explain", " "], &workspace(), &[]);
    assert_eq!(empty.status.code(), Some(2));
    assert!(text(&empty.stderr).contains("the error text is empty"));
}

#[test]
fn json_lines_carry_the_schema_version() {
    let out = run_tlsmatrix(
        &[
            "run",
            "--format",
            "json",
            "--filter",
            "zeebe-client::certificates::valid.builtin.embedded",
        ],
        &workspace(),
        &[],
    );
    let line: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert_eq!(line["schema"], "tlsmatrix/case-result/v1");
    for field in [
        "id",
        "area",
        "expected",
        "actual",
        "verdict",
        "elapsed_ms",
        "peer",
        "output",
        "node_log",
    ] {
        assert!(line.get(field).is_some(), "{field} missing from {line}");
    }
}

#[test]
fn markdown_report_has_a_matrix_per_scenario_file() {
    let out = run_tlsmatrix(
        &[
            "run",
            "--format",
            "markdown",
            "--backend",
            "all",
            "--filter",
            "zeebe-client::certificates::expired.*",
        ],
        &workspace(),
        &[],
    );
    let md = text(&out.stdout);
    // Rows: the server-side axis; columns: the client-side one; each cell
    // the reference's outcome, then the oracle's.
    assert!(
        md.contains(
            "## zeebe-client::certificates\n\n| material | builtin | zbctl | go | java | node |"
        ),
        "{md}"
    );
    assert!(
        md.contains("| expired | ✓ certificate-expired / ✓ certificate-expired |"),
        "{md}"
    );
}

/// The HTML report opened in real headless Chromium: the DOM it renders has a
/// coloured cell per case, and a screenshot is kept for CI as an artifact
/// (target/tlsmatrix-report.png).
#[test]
fn html_report_renders_in_headless_chromium() {
    let chromium = ["chromium", "chromium-browser"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|p| {
                std::env::split_paths(&p)
                    .map(|d| d.join(name))
                    .find(|f| f.is_file())
            })
        })
        .expect("chromium is installed by ci/setup (apt package chromium)");
    let target = workspace().join("target");
    let html = target.join("tlsmatrix-report.html");
    let png = target.join("tlsmatrix-report.png");
    let out = run_tlsmatrix(
        &[
            "run",
            "--format",
            "html",
            "--filter",
            "zeebe-client::certificates::*.embedded",
        ],
        &workspace(),
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::write(&html, &out.stdout).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let chrome = |extra: &[String]| {
        let mut args: Vec<String> = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        args.extend_from_slice(extra);
        args.push(format!("file://{}", html.display()));
        runtime().block_on(async {
            tokio::time::timeout(
                DEADLINE,
                Command::new(&chromium)
                    .args(&args)
                    .kill_on_drop(true)
                    .output(),
            )
            .await
            .expect("chromium finished before the deadline")
            .expect("chromium started")
        })
    };
    let dom = text(&chrome(&["--dump-dom".to_string()]).stdout);
    // One run per case, each coloured and linked to its detail block (the
    // six Ed25519 cases are skipped on 8.4.1, which the reference does not
    // model yet).
    assert_eq!(dom.matches("<a class=\"run pass\"").count(), 84, "{dom}");
    assert_eq!(dom.matches("<a class=\"run skip\"").count(), 6, "{dom}");
    assert!(dom.contains(
        "id=\"zeebe-client::certificates::expired.zbctl.embedded\" href=\"#d-zeebe-client__certificates__expired.zbctl.embedded\" data-outcome=\"certificate-expired\""
    ), "{dom}");
    assert_eq!(dom.matches("<div class=\"detail\"").count(), 90, "{dom}");
    // A grid: rows are the server-side axis (the certificate material), columns
    // the client-side one (the client); the backend sits inside the cell.
    assert!(
        dom.contains("<p class=\"axes\">rows: material · columns: client</p>"),
        "{dom}"
    );
    assert!(
        dom.contains(
            "<table class=\"grid\" data-file=\"zeebe-client::certificates\" data-differs=\"0\">"
        ),
        "{dom}"
    );
    assert!(
        dom.contains(
            "<tr data-area=\"zeebe-client\"><th>zeebe-client</th><td>84</td><td>0</td><td>6</td>"
        ),
        "{dom}"
    );
    // Okabe–Ito: success is bluish green, every outcome has a symbol too.
    assert!(dom.contains("background:#009E73"), "{dom}");
    assert!(dom.contains("<p id=\"totals\">84 passed, 0 failed, 6 skipped, 0 errors</p>"));
    let _ = std::fs::remove_file(&png);
    chrome(&[
        format!("--screenshot={}", png.display()),
        "--window-size=1200,1600".to_string(),
    ]);
    let bytes = std::fs::read(&png).expect("chromium wrote the screenshot");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert!(
        bytes.len() > 10_000,
        "screenshot suspiciously small: {} bytes",
        bytes.len()
    );
}

#[test]
fn drift_compares_documented_and_todays_texts_per_peer() {
    let out = run_tlsmatrix(&["drift"], &workspace(), &[]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    for entry in [
        "zeebe-client::tls-client-plaintext-gateway",
        "zeebe-client::plaintext-client-tls-gateway",
        "zeebe-client::unknown-authority",
        "http-gateway::client-certificate-missing",
    ] {
        assert!(
            stdout.contains(&format!("{entry}\n  documented   [matches] ")),
            "{entry}: {stdout}"
        );
    }
    assert!(stdout.contains("  zbctl 8.4.1  [matches, differs from documented] Error: rpc error: code = Unavailable desc = connection error: desc = \"error reading server preface: EOF\""), "{stdout}");
    // KrakenD's documented line is TLS 1.3 from Go before 1.21; today's Go says
    // certificate_required (the same catalogue case).
    assert!(stdout.contains("  curl         [matches, differs from documented] curl: (56) OpenSSL SSL_read: OpenSSL/3.0.19: error:0A00045C:SSL routines::tlsv13 alert certificate required, errno 0"), "{stdout}");
    assert_eq!(
        stdout.matches("verdict: signature holds").count(),
        4,
        "{stdout}"
    );
    // The documentation's "PKCS8 private key" sentence, measured per release.
    assert!(stdout.contains("zeebe-client::doc-gateway-key-pkcs8-only\n  documented   `privateKeyPath` is a file path pointing to the certificate's PKCS8 private key"), "{stdout}");
    assert!(stdout.contains("  8.4.0        [holds]\n    zeebe-client::certificates::rsa-pkcs1.builtin.embedded: node-start-failed"), "{stdout}");
    assert!(stdout.contains("  8.4.1        [DOES NOT HOLD]\n    zeebe-client::certificates::rsa-pkcs1.builtin.embedded: connected(1)"), "{stdout}");
    assert!(
        stdout.contains(
            "verdict: documentation drift (as recorded): the sentence holds for 8.4.0 only"
        ),
        "{stdout}"
    );
    assert!(!stdout.contains("DRIFT CHANGED"), "{stdout}");
}

/// Writes an executable shell script standing in for a real peer.
fn fake_peer(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = write(dir, name, &format!("#!/usr/bin/env bash\n{body}\n"));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn a_probe_that_prints_no_json_is_a_harness_error_showing_its_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let probe = fake_peer(
        dir.path(),
        "go-probe",
        "echo 'not json'; echo 'panic: boom' >&2; exit 3",
    );
    let out = run_tlsmatrix(
        &[
            "run",
            "--filter",
            "zeebe-client::certificates::valid.go.embedded",
        ],
        &workspace(),
        &[("TLSMATRIX_GO_PROBE", probe.to_str().unwrap())],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("go-client 8.4.5: the probe printed no JSON line (exit Some(3)); its stderr:\npanic: boom"), "{stderr}");
}

#[test]
fn an_oracle_that_never_becomes_ready_shows_its_last_log_lines() {
    let dir = tempfile::tempdir().unwrap();
    let java = fake_peer(
        dir.path(),
        "java",
        "if [ \"$1\" = -version ]; then echo 'openjdk version \"17.0.9\" 2023-10-17' >&2; exit 0; fi\necho 'starting up, slowly' >&2\nexec sleep 30",
    );
    let out = run_tlsmatrix(
        &[
            "run",
            "--backend",
            "netty-oracle",
            "--filter",
            "zeebe-client::certificates::valid.builtin.netty-oracle",
        ],
        &workspace(),
        &[
            ("TLSMATRIX_JAVA", java.to_str().unwrap()),
            ("TLSMATRIX_ORACLE_READY_SECS", "1"),
        ],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "netty-oracle: not ready within 1s; its last log lines:\nstarting up, slowly"
        ),
        "{stderr}"
    );
}

#[test]
fn a_jdk_too_old_skips_the_java_cases_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let java = fake_peer(
        dir.path(),
        "java",
        "echo 'openjdk version \"11.0.2\" 2019-01-15' >&2",
    );
    let out = run_tlsmatrix(
        &[
            "run",
            "--filter",
            "zeebe-client::certificates::valid.java.embedded",
        ],
        &workspace(),
        &[("TLSMATRIX_JAVA", java.to_str().unwrap())],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("run: 0 passed, 0 failed, 1 skipped"),
        "{stderr}"
    );
    assert!(
        stderr.contains("is too old: the probes need a JDK 17 or newer"),
        "{stderr}"
    );
}

/// Processes whose process group is `pgid` (children a run left behind keep
/// the group of the run that started them), as (pid, "pid (comm").
fn processes_in_group(pgid: u32) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp ...: comm may hold spaces, so split after ')'.
        let Some((head, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.get(2).and_then(|g| g.parse::<u32>().ok()) == Some(pgid) {
            found.push((pid, head.to_string()));
        }
    }
    found
}

/// TCP sockets in LISTEN state, as (local port, socket inode), from
/// /proc/net/tcp and tcp6.
fn listening_sockets() -> Vec<(u16, u64)> {
    let mut found = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
            if f.len() > 9 && f[3] == "0A" {
                let port = f[1]
                    .rsplit(':')
                    .next()
                    .and_then(|p| u16::from_str_radix(p, 16).ok());
                if let (Some(port), Ok(inode)) = (port, f[9].parse::<u64>()) {
                    found.push((port, inode));
                }
            }
        }
    }
    found
}

/// Listening sockets of the processes of group `pgid` right now, as (local
/// port, socket inode): in-process nodes of the run itself and its
/// child-process nodes. The inode names one socket for as long as it is
/// open; a port number alone may be taken again by another test's listener
/// once the run has freed it.
fn listening_sockets_of_group(pgid: u32) -> std::collections::BTreeSet<(u16, u64)> {
    let mut inodes = std::collections::BTreeSet::new();
    for (pid, _) in processes_in_group(pgid) {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path()) {
                let t = target.to_string_lossy();
                if let Some(inode) = t.strip_prefix("socket:[").and_then(|r| r.strip_suffix(']')) {
                    inodes.extend(inode.parse::<u64>());
                }
            }
        }
    }
    listening_sockets()
        .into_iter()
        .filter(|(_, inode)| inodes.contains(inode))
        .collect()
}

/// A run with child-process nodes and peers (JVM oracles and probes; nginx,
/// the Go oracle, curl and zbctl), completed or stopped by Ctrl-C in the
/// middle: it leaves no child process, no listening port and no temp
/// directory behind. Ports are sampled from /proc on every log line the run
/// prints while it goes (node log lines come while the nodes listen).
#[rstest]
#[case::completed(false, &["run", "--backend", "all", "--filter", "zeebe-auth::nginx::*", "--filter", "http-gateway::service-mtls::*.go-oracle"])]
#[case::sigint_jvm_oracle_and_probes(true, &["run", "--backend", "netty-oracle", "--filter", "zeebe-client::certificates::*.java.netty-oracle"])]
// These cases take milliseconds: --repeat keeps the run going while the
// signal arrives (a finished run no longer listens for it).
#[case::sigint_nginx_and_go_oracle(true, &["run", "--backend", "all", "--repeat", "50", "--filter", "zeebe-auth::nginx::*", "--filter", "http-gateway::service-mtls::*.go-oracle"])]
fn a_run_leaves_no_process_listening_port_or_temp_dir(
    #[case] interrupt: bool,
    #[case] args: &[&str],
) {
    let tmp = tempfile::tempdir().unwrap();
    let rt = runtime();
    let mut cmd = tlsmatrix_command(args, &workspace());
    cmd.env("TMPDIR", tmp.path())
        .env("RUST_LOG", "tlsmatrix=info,rustls=error")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0);
    let (status, pgid, ports) = rt.block_on(async {
        let mut child = cmd.spawn().expect("tlsmatrix started");
        let pgid = child.id().expect("running");
        let stderr = child.stderr.take().expect("stderr piped");
        let mut lines = BufReader::new(stderr).lines();
        let mut ports = std::collections::BTreeSet::new();
        if interrupt {
            // Readiness: the engine's own "case started" line.
            tokio::time::timeout(DEADLINE, async {
                while let Ok(Some(line)) = lines.next_line().await {
                    ports.extend(listening_sockets_of_group(pgid));
                    if line.contains("case started") {
                        break;
                    }
                }
            })
            .await
            .expect("a case started before the deadline");
            // SAFETY: kill(2) on our own child's pid.
            assert_eq!(unsafe { libc::kill(pgid as i32, libc::SIGINT) }, 0);
        }
        let drain = async {
            while let Ok(Some(_)) = lines.next_line().await {
                ports.extend(listening_sockets_of_group(pgid));
            }
        };
        let status = tokio::time::timeout(DEADLINE, async { tokio::join!(child.wait(), drain).0 })
            .await
            .expect("tlsmatrix stopped before the deadline")
            .expect("wait");
        (status, pgid, ports)
    });
    assert_eq!(
        status.code(),
        Some(if interrupt { 130 } else { 0 }),
        "{status:?}"
    );
    assert_eq!(
        processes_in_group(pgid),
        Vec::new(),
        "processes left behind"
    );
    if !interrupt {
        assert!(
            !ports.is_empty(),
            "no listening port was seen during the run"
        );
    }
    // The same socket (port and inode) still open: a port number alone
    // may be another test's listener by now.
    let still: Vec<(u16, u64)> = listening_sockets()
        .into_iter()
        .filter(|socket| ports.contains(socket))
        .collect();
    assert!(
        still.is_empty(),
        "sockets (port, inode) of the run still listening: {still:?} (seen: {ports:?})"
    );
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "temp entries left behind: {left:?}");
}

/// Private keys never reach reports or snapshots (they live in 0600 files in
/// the case directory only).
#[test]
fn reports_and_snapshots_never_contain_key_material() {
    for format in ["json", "junit", "html", "markdown", "table"] {
        let out = run_tlsmatrix(
            &[
                "run",
                "--format",
                format,
                "--filter",
                "zeebe-client::certificates::*.builtin.embedded",
            ],
            &workspace(),
            &[],
        );
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(
            !all.contains("-----BEGIN"),
            "{format} report holds PEM material"
        );
    }
    for entry in std::fs::read_dir(workspace().join("snapshots/zeebe-client"))
        .unwrap()
        .flatten()
    {
        let snap = std::fs::read_to_string(entry.path()).unwrap();
        assert!(!snap.contains("-----BEGIN"), "{}", entry.path().display());
    }
}

#[test]
fn repeat_zero_is_refused() {
    let out = run_tlsmatrix(&["run", "--repeat", "0"], &workspace(), &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("invalid value '0' for '--repeat <REPEAT>'"),
        "{stderr}"
    );
}

/// KrakenD's mTLS example, commands as documented (the des3 passphrase given
/// on the command line).
const KRAKEND_RECIPE: &str = "
openssl genrsa -des3 -passout pass:x -out rootCA.protected.key 2048
openssl rsa -passin pass:x -in rootCA.protected.key -out rootCA.key
openssl req -x509 -new -nodes -key rootCA.key -sha256 -days 1024 -out rootCA.pem -subj \"/C=US/ST=California/L=Mountain View/O=Your Organization/OU=Your Unit/CN=example.com\"
openssl genrsa -out client.key 2048
openssl req -new -key client.key -out client.csr -subj \"/C=US/ST=California/L=Mountain View/O=Your Organization/OU=Your Unit/CN=localhost\"
openssl x509 -req -in client.csr -extensions client -CA rootCA.pem -CAkey rootCA.key -CAcreateserial -out client.crt -days 500 -sha256
openssl genrsa -out server.key 2048
openssl req -new -key server.key -out server.csr -subj \"/C=US/ST=California/L=Mountain View/O=Your Organization/OU=Your Unit/CN=localhost\"
openssl x509 -req -in server.csr -extensions server -CA rootCA.pem -CAkey rootCA.key -CAcreateserial -out server.crt -days 500 -sha256
";

/// The documented krakend.json of the mTLS example.
const KRAKEND_JSON: &str = r#"{
    "version": 3,
    "$schema": "https://www.krakend.io/schema/v2.5/krakend.json",
    "port": 443,
    "tls": {
        "public_key": "./server.crt",
        "private_key": "./server.key",
        "enable_mtls": true,
        "ca_certs": [
            "./rootCA.pem"
        ],
        "disable_system_ca_pool": true
    }
}"#;

fn curl(rt: &tokio::runtime::Runtime, dir: &Path, args: &[&str]) -> Output {
    rt.block_on(async {
        tokio::time::timeout(
            DEADLINE,
            Command::new("curl")
                .args(args)
                .current_dir(dir)
                .kill_on_drop(true)
                .output(),
        )
        .await
        .expect("curl finished before the deadline")
        .expect("curl installed by ci/setup")
    })
}

#[test]
fn up_serves_the_documented_krakend_recipe_to_real_curl() {
    let dir = tempfile::tempdir().unwrap();
    run_shell(dir.path(), &format!("exec 2>/dev/null\n{KRAKEND_RECIPE}"));
    write(dir.path(), "krakend.json", KRAKEND_JSON);
    let rt = runtime();
    let up = start_up_with(
        dir.path(),
        &rt,
        &["up", "krakend.json", "--port", "0"],
        tlsmatrix::nodes::up::HTTP_GATEWAY_LISTENING,
    );
    let port = up.address.rsplit(':').next().unwrap().to_string();
    let url = format!("https://localhost:{port}/__health");
    let ok = curl(
        &rt,
        dir.path(),
        &[
            "-sS",
            "--cacert",
            "rootCA.pem",
            "--key",
            "client.key",
            "--cert",
            "client.crt",
            &url,
        ],
    );
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    assert!(
        text(&ok.stdout).contains(r#""status":"ok""#),
        "{}",
        text(&ok.stdout)
    );
    // Without a certificate: today's KrakenD (Go 1.25) answers TLS 1.3's
    // certificate_required; --http1.1 keeps curl's text stable.
    let refused = curl(
        &rt,
        dir.path(),
        &["-sS", "--http1.1", "--cacert", "rootCA.pem", &url],
    );
    let stderr = text(&refused.stderr);
    assert_eq!(refused.status.code(), Some(56), "{stderr}");
    assert!(
        stderr.contains("tlsv13 alert certificate required"),
        "{stderr}"
    );
    drop(up);
}

/// Bad KrakenD files: `up` exits 2 naming the file, the JSON path and the fix.
#[rstest]
#[case::missing_private_key(r#"{"tls": {"public_key": "server.crt"}}"#, &["krakend.json: tls.private_key: TLS is on but the key is missing", "fix: set `tls.private_key`"])]
#[case::key_as_certificate(r#"{"tls": {"public_key": "k.pem", "private_key": "k.pem"}}"#, &["krakend.json: tls.public_key:", "k.pem"])]
#[case::wrong_type(r#"{"port": "8080"}"#, &["krakend.json: port: expected a number, found a string"])]
#[case::not_json("{tls: }", &["krakend.json: line 1, column 2: not valid JSON"])]
fn up_rejects_bad_krakend_files(#[case] json: &str, #[case] expected: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "krakend.json", json);
    write(
        dir.path(),
        "k.pem",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    );
    let out = run_tlsmatrix(&["up", "krakend.json", "--port", "0"], dir.path(), &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for needle in expected {
        assert!(stderr.contains(needle), "missing {needle:?} in: {stderr}");
    }
}

/// zeebe-auth bad input: an authorization rule naming a method the gateway
/// does not have is refused before anything runs, naming the rule and the fix.
#[test]
fn auth_rules_with_an_unknown_method_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let area = dir.path().join("zeebe-auth");
    std::fs::create_dir(&area).unwrap();
    write(
        &area,
        "bad.yaml",
        "area: zeebe-auth\ndescription: x\nbase:\n  gateway: { auth: { audience: a, rules: { zeebe: [Topolgy] } } }\n  client: { kind: builtin }\ncases:\n  - name: typo\n    body: {}\n    outcome: connected(1)\n",
    );
    let out = run_tlsmatrix(&["run", "zeebe-auth"], dir.path(), &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for needle in [
        "zeebe-auth::bad::typo (gateway.auth): rules.zeebe: \"Topolgy\" is not a method of gateway_protocol.Gateway",
        "fix: use one of: ActivateJobs,",
    ] {
        assert!(stderr.contains(needle), "missing {needle:?} in: {stderr}");
    }
}

/// `probe --format json` as (attempt, client, outcome, catalogue entry or status).
fn probe_rows(out: &Output) -> Vec<(String, String, String, String)> {
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)));
    probe_rows_json(&json)
}

/// [`probe_rows`] of an already parsed diagnosis.
fn probe_rows_json(json: &serde_json::Value) -> Vec<(String, String, String, String)> {
    json["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|a| {
            let s = |k: &str| a[k].as_str().unwrap_or_default().to_string();
            let detail = if s("status") == "tried" {
                s("entry")
            } else {
                s("reason")
            };
            (s("attempt"), s("client"), s("outcome"), detail)
        })
        .collect()
}

fn row(
    attempt: &str,
    client: &str,
    outcome: &str,
    detail: &str,
) -> (String, String, String, String) {
    (attempt.into(), client.into(), outcome.into(), detail.into())
}

#[test]
fn probe_diagnoses_a_live_zeebe_gateway_per_attempt_with_the_catalogue_fix() {
    let dir = tempfile::tempdir().unwrap();
    make_openssl_chain(dir.path());
    write(dir.path(), "gateway.yaml", TLS_GATEWAY_YAML);
    let rt = runtime();
    let up = start_up(dir.path(), &rt);
    let args = [
        "probe",
        up.address.as_str(),
        "--ca",
        "ca.pem",
        "--client",
        "builtin,zbctl",
    ];
    let json = run_tlsmatrix(
        &[&args[..], &["--format", "json"]].concat(),
        dir.path(),
        &[],
    );
    assert_eq!(json.status.code(), Some(0), "{}", text(&json.stderr));
    let plaintext = "zeebe-client::plaintext-client-tls-gateway";
    assert_eq!(
        probe_rows(&json),
        [
            row(
                "plaintext",
                "builtin",
                "plaintext-client-tls-server",
                plaintext
            ),
            row(
                "plaintext",
                "zbctl",
                "plaintext-client-tls-server",
                plaintext
            ),
            row(
                "tls-system-roots",
                "builtin",
                "unknown-authority",
                "zeebe-client::unknown-authority"
            ),
            row(
                "tls-system-roots",
                "zbctl",
                "unknown-authority",
                "zeebe-client::unknown-authority"
            ),
            row("tls-given-ca", "builtin", "connected(1)", ""),
            row("tls-given-ca", "zbctl", "connected(1)", ""),
        ]
    );
    let table = run_tlsmatrix(&args, dir.path(), &[]);
    let shown = text(&table.stdout);
    assert!(
        shown.contains("fix:  Give the client the CA certificate"),
        "{shown}"
    );
    assert!(
        shown.contains("diagnosis: connects with: tls-given-ca (builtin), tls-given-ca (zbctl)"),
        "{shown}"
    );
    // Without --ca the attempt that needs it says which option to add.
    let no_ca = run_tlsmatrix(
        &["probe", up.address.as_str(), "--client", "builtin"],
        dir.path(),
        &[],
    );
    let shown = text(&no_ca.stdout);
    assert_eq!(no_ca.status.code(), Some(1), "{shown}");
    assert!(
        shown.contains("builtin   not tried: give --ca FILE"),
        "{shown}"
    );
    drop(up);
}

#[test]
fn probe_tells_curl_users_which_client_certificate_a_live_krakend_wants() {
    let dir = tempfile::tempdir().unwrap();
    run_shell(dir.path(), &format!("exec 2>/dev/null\n{KRAKEND_RECIPE}"));
    write(dir.path(), "krakend.json", KRAKEND_JSON);
    let rt = runtime();
    let up = start_up_with(
        dir.path(),
        &rt,
        &["up", "krakend.json", "--port", "0"],
        tlsmatrix::nodes::up::HTTP_GATEWAY_LISTENING,
    );
    let port = up.address.rsplit(':').next().unwrap();
    let address = format!("localhost:{port}");
    let out = run_tlsmatrix(
        &[
            "probe",
            &address,
            "--area",
            "http-gateway",
            "--ca",
            "rootCA.pem",
            "--cert",
            "client.crt",
            "--key",
            "client.key",
            "--format",
            "json",
        ],
        dir.path(),
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let rows = probe_rows(&out);
    let outcome = |attempt: &str| {
        rows.iter()
            .find(|r| r.0 == attempt)
            .map(|r| (r.2.clone(), r.3.clone()))
            .unwrap_or_else(|| panic!("{attempt} missing from {rows:?}"))
    };
    assert_eq!(outcome("mtls-given-ca").0, "succeeded");
    assert_eq!(outcome("tls-system-roots").0, "unknown-authority");
    for no_cert in ["tls-insecure", "tls-given-ca"] {
        let (outcome, entry) = outcome(no_cert);
        assert_eq!(
            outcome, "client-certificate-required",
            "{no_cert}: {rows:?}"
        );
        assert!(entry.starts_with("http-gateway::"), "{no_cert}: {entry}");
    }
    assert!(!text(&out.stdout).contains("PRIVATE KEY"));
    // Before the attempts: the endpoint's CertificateRequest and the CA it names.
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let request = &json["endpoint"]["client_certificate"];
    assert_eq!(request["required"], true, "{request}");
    // rootCA.pem, then the server's own certificate, which KrakenD adds to its client CA pool.
    let names = "C=US, ST=California, L=Mountain View, O=Your Organization, OU=Your Unit, CN=";
    assert_eq!(
        request["ca_names"],
        serde_json::json!([format!("{names}example.com"), format!("{names}localhost")])
    );
    assert_eq!(
        endpoint_findings(&json),
        ["http-gateway::client-certificate-missing"]
    );
    drop(up);
}

/// The catalogue cases the endpoint's findings name (`-` for none).
fn endpoint_findings(json: &serde_json::Value) -> Vec<String> {
    json["endpoint"]["findings"]
        .as_array()
        .expect("endpoint findings")
        .iter()
        .map(|f| f["entry"].as_str().unwrap_or("-").to_string())
        .collect()
}

/// `tlsmatrix up` serving `chain`/`key` of a set made by the pki builders,
/// probed with `--ca ca.pem`: the JSON diagnosis and the table's endpoint
/// section (up to the first attempt).
fn probe_endpoint(spec: &tlsmatrix::pki::PkiSpec, leaf: &str) -> (serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    spec.build().unwrap().write_to(dir.path()).unwrap();
    write(
        dir.path(),
        "gateway.yaml",
        &TLS_GATEWAY_YAML
            .replace("chain.pem", &format!("{leaf}-chain.pem"))
            .replace("gateway.key", &format!("{leaf}.key")),
    );
    let rt = runtime();
    let up = start_up(dir.path(), &rt);
    let args = [
        "probe",
        up.address.as_str(),
        "--ca",
        "ca.pem",
        "--client",
        "builtin",
    ];
    let json = run_tlsmatrix(
        &[&args[..], &["--format", "json"]].concat(),
        dir.path(),
        &[],
    );
    let json: serde_json::Value = serde_json::from_slice(&json.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", text(&json.stdout), text(&json.stderr)));
    let table = text(&run_tlsmatrix(&args, dir.path(), &[]).stdout);
    drop(up);
    let section = table
        .split("\nplaintext — ")
        .next()
        .and_then(|t| t.split_once("\nendpoint\n"))
        .map(|(_, e)| format!("endpoint\n{e}"))
        .unwrap_or_else(|| panic!("no endpoint section in: {table}"));
    (json, section)
}

/// Snapshots an endpoint section with what varies between runs redacted:
/// dates, days to expiry and ports (insta filters), nothing else.
fn assert_endpoint_snapshot(name: &str, section: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.add_filter(
        r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} UTC",
        "[date]",
    );
    settings.add_filter(r"\(-?[0-9]+ days\)", "([days] days)");
    settings.add_filter(r"expires in [0-9]+ days", "expires in [days] days");
    settings.add_filter(r"127\.0\.0\.1:[0-9]{1,5}", "127.0.0.1:[port]");
    settings.bind(|| insta::assert_snapshot!(name, section));
}

fn gateway_leaf(issuer: &str) -> tlsmatrix::pki::CertSpec {
    tlsmatrix::pki::CertSpec::leaf(issuer).with_sans(["localhost", "127.0.0.1"])
}

#[test]
fn probe_shows_a_missing_intermediate_before_the_attempts() {
    use tlsmatrix::pki::{CertSpec, ChainShape, PkiSpec};
    let spec = PkiSpec::new()
        .with("ca", CertSpec::root())
        .with("intermediate", CertSpec::intermediate("ca"))
        .with(
            "gateway",
            gateway_leaf("intermediate").with_chain(ChainShape::LeafOnly),
        );
    let (json, section) = probe_endpoint(&spec, "gateway");
    let endpoint = &json["endpoint"];
    assert_eq!(endpoint["chain"].as_array().unwrap().len(), 1, "{endpoint}");
    assert_eq!(
        endpoint["chain"][0]["issuer"],
        "CN=tlsmatrix intermediate, O=tlsmatrix"
    );
    assert_eq!(endpoint["chain_check"]["complete"], false, "{endpoint}");
    assert_eq!(
        endpoint_findings(&json),
        ["zeebe-client::unknown-authority"]
    );
    // The attempts agree with the finding.
    assert_eq!(
        probe_rows_json(&json).last().unwrap(),
        &row(
            "tls-given-ca",
            "builtin",
            "unknown-authority",
            "zeebe-client::unknown-authority"
        )
    );
    assert_endpoint_snapshot("probe-endpoint-missing-intermediate", &section);
}

#[test]
fn probe_shows_a_near_expiry_before_the_attempts() {
    use tlsmatrix::pki::{CertSpec, PkiSpec};
    let spec = PkiSpec::new()
        .with("ca", CertSpec::root())
        .with("gateway", gateway_leaf("ca").with_validity_days(-1, 10));
    let (json, section) = probe_endpoint(&spec, "gateway");
    let endpoint = &json["endpoint"];
    let days = endpoint["chain"][0]["days_to_expiry"].as_i64().unwrap();
    assert!((9..=10).contains(&days), "{endpoint}");
    assert_eq!(endpoint["chain_check"]["complete"], true, "{endpoint}");
    assert_eq!(
        endpoint_findings(&json),
        ["zeebe-client::certificate-expired"]
    );
    // Still valid today: the attempt with the CA connects.
    assert_eq!(
        probe_rows_json(&json).last().unwrap(),
        &row("tls-given-ca", "builtin", "connected(1)", "")
    );
    assert_endpoint_snapshot("probe-endpoint-near-expiry", &section);
}

#[rstest]
#[case::closed_port(None, "nothing accepts connections at 127.0.0.1:")]
#[case::unresolvable(Some("nosuch.invalid:26500"), "nosuch.invalid:26500 does not resolve")]
fn probe_of_an_unreachable_address_is_a_diagnosis(
    #[case] address: Option<&str>,
    #[case] expected: &str,
) {
    let dir = tempfile::tempdir().unwrap();
    // A port nothing listens on: bound to learn a free one, then closed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let address = address.map_or(closed, str::to_string);
    let out = run_tlsmatrix(&["probe", &address, "--timeout", "5"], dir.path(), &[]);
    let shown = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{shown}{}", text(&out.stderr));
    assert!(shown.contains(expected), "{shown}");
    assert!(shown.contains("reachable: no"), "{shown}");
}

#[rstest]
#[case::no_port(&["probe", "localhost"], "ADDRESS: \"localhost\": no port")]
#[case::unknown_area(&["probe", "127.0.0.1:1", "--area", "zeebe-cluster"], "no probe plan for \"zeebe-cluster\"")]
#[case::cert_without_key(&["probe", "127.0.0.1:1", "--cert", "c.pem"], "--key")]
#[case::missing_ca(&["probe", "127.0.0.1:1", "--ca", "nowhere.pem"], "nowhere.pem: the file does not exist")]
fn probe_rejects_bad_arguments(#[case] args: &[&str], #[case] expected: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = run_tlsmatrix(args, dir.path(), &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(expected), "{stderr}");
}

#[test]
fn containers_backend_without_a_docker_engine_says_what_is_missing() {
    let out = run_tlsmatrix(
        &["run", "--backend", "containers"],
        &workspace(),
        &[("DOCKER_HOST", "unix:///nonexistent/tlsmatrix-docker.sock")],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no Docker engine at unix:///nonexistent/tlsmatrix-docker.sock"),
        "{stderr}"
    );
    assert!(stderr.contains("Docker engine"), "{stderr}");
}

/// A client that answers differently on its second run: `--repeat` names the
/// case, counts each outcome and shows the whole text of the first deviating
/// run.
#[test]
fn repeat_reports_what_a_flaky_case_did_each_time() {
    let dir = tempfile::tempdir().unwrap();
    let counter = dir.path().join("runs");
    let zbctl = fake_peer(
        dir.path(),
        "zbctl",
        &format!(
            "n=$(cat {c} 2>/dev/null || echo 0); echo $((n+1)) > {c}\n\
             if [ \"$n\" = 1 ]; then echo 'Error: rpc error: code = Unavailable desc = connection error: desc = \"transport: authentication handshake failed: x509: certificate signed by unknown authority\"' >&2; echo 'a second line' >&2; exit 1; fi\n\
             echo 'Cluster size: 1'; echo 'Brokers:'; echo '  Broker 0 - 0.0.0.0:26501'; echo '    Version: 8.4.0'",
            c = counter.display()
        ),
    );
    let out = run_tlsmatrix(
        &[
            "run",
            "--filter",
            "zeebe-client::certificates::valid.zbctl.embedded",
            "--repeat",
            "3",
            "--jobs",
            "1",
        ],
        &workspace(),
        &[("TLSMATRIX_ZBCTL", zbctl.to_str().unwrap())],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("flaky across 3 repetitions: zeebe-client::certificates::valid.zbctl.embedded changed outcome: connected(1) ×2, unknown-authority ×1"),
        "{stderr}"
    );
    assert!(
        stderr.contains("first unknown-authority at repetition 2:\n    Error: rpc error"),
        "{stderr}"
    );
    assert!(
        stderr.contains("certificate signed by unknown authority\"\n    a second line\n"),
        "the whole text, not its first line: {stderr}"
    );
}

/// The reports written from real public threads (fixtures/reports/real) keep
/// the verdicts their RESULTS.md records: a reproduction that changes
/// (better or worse) is a test failure until RESULTS.md says so.
#[rstest]
fn real_reports_keep_their_recorded_verdicts(
    #[files("../fixtures/reports/real/*.yaml")] report: std::path::PathBuf,
) {
    let results =
        std::fs::read_to_string(workspace().join("fixtures/reports/real/RESULTS.md")).unwrap();
    let name = report.file_name().unwrap().to_string_lossy().to_string();
    let recorded = results
        .lines()
        .find(|l| l.starts_with(&format!("| [{name}](")))
        .and_then(|l| l.split(" | ").nth(3))
        .unwrap_or_else(|| panic!("{name} has no row in RESULTS.md"))
        .trim()
        .to_string();
    let out = run_tlsmatrix(&["reproduce", report.to_str().unwrap()], &workspace(), &[]);
    let stdout = text(&out.stdout);
    assert_eq!(
        stdout.lines().next().unwrap_or(""),
        recorded,
        "{name}: {stdout}{}",
        text(&out.stderr)
    );
    let expected_code = if recorded.starts_with("REPRODUCED") {
        0
    } else {
        1
    };
    assert_eq!(out.status.code(), Some(expected_code), "{stdout}");
}

#[test]
fn completions_name_every_command() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let out = run_tlsmatrix(&["completions", shell], dir.path(), &[]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let script = text(&out.stdout);
        for command in [
            "run",
            "list",
            "certs",
            "up",
            "catalogue",
            "reproduce",
            "drift",
            "probe",
            "bench",
            "explain",
            "completions",
            "man",
        ] {
            assert!(script.contains(command), "{shell}: {command} missing");
        }
    }
    let bad = run_tlsmatrix(&["completions", "tcsh"], dir.path(), &[]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("possible values: bash"));
}

#[test]
fn man_page_is_roff_with_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_tlsmatrix(&["man"], dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let page = text(&out.stdout);
    // clap_mangen opens with two roff string definitions (.ie/.el), then .TH.
    let first_macro = page
        .lines()
        .find(|l| l.starts_with(".TH") || l.starts_with(".SH"))
        .unwrap_or_default();
    assert!(first_macro.starts_with(".TH tlsmatrix 1"), "{page}");
    for needle in [
        ".SH SUBCOMMANDS",
        "tlsmatrix\\-probe(1)",
        "tlsmatrix\\-man(1)",
    ] {
        assert!(page.contains(needle), "{needle} missing from: {page}");
    }
}

#[rstest]
#[case::top(&["--help"])]
#[case::run(&["run", "--help"])]
#[case::probe(&["probe", "--help"])]
#[case::up(&["up", "--help"])]
#[case::explain(&["explain", "--help"])]
fn help_ends_with_examples_of_its_own_command(#[case] args: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let out = run_tlsmatrix(args, dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let help = text(&out.stdout);
    let examples = help
        .split_once("\nExamples:\n")
        .unwrap_or_else(|| panic!("no examples in: {help}"))
        .1;
    let command = if args[0] == "--help" { "" } else { args[0] };
    assert!(
        examples
            .lines()
            .filter(|l| l.starts_with("  "))
            .any(|l| l.contains(&format!("tlsmatrix {command}").trim_end().to_string())),
        "{examples}"
    );
}

/// `tlsmatrix ARGS` on a pseudo-terminal (util-linux `script`), so that colour
/// would be printed; returns what the terminal received.
fn on_a_terminal(args: &str, env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let line = format!("{} {args}", common::TLSMATRIX);
    let out = runtime().block_on(async {
        tokio::time::timeout(
            DEADLINE,
            // Not scrubbed: colour needs the terminal's TERM.
            Command::new("script")
                .args(["-qec", &line, "/dev/null"])
                .current_dir(dir.path())
                .env_remove("NO_COLOR")
                .env_remove("RUST_LOG")
                .envs(env.iter().copied())
                .stdin(Stdio::null())
                .kill_on_drop(true)
                .output(),
        )
        .await
        .expect("script finished before the deadline")
        .expect("script (util-linux) installed")
    });
    text(&out.stdout)
}

#[test]
fn no_color_turns_colour_off_on_a_terminal() {
    // Help (clap) and log lines (tracing) are coloured on a terminal ...
    let dir = tempfile::tempdir().unwrap();
    make_openssl_chain(dir.path());
    write(dir.path(), "gateway.yaml", TLS_GATEWAY_YAML);
    let rt = runtime();
    let up = start_up(dir.path(), &rt);
    let probe = format!("probe {} --client builtin --timeout 5", up.address);
    let logs = [("RUST_LOG", "rustls=debug")];
    for args in ["--help", probe.as_str()] {
        let coloured = on_a_terminal(args, &logs);
        assert!(
            coloured.contains("\x1b["),
            "{args}: no colour at all: {coloured}"
        );
        // ... and not with NO_COLOR.
        let plain = on_a_terminal(args, &[logs[0], ("NO_COLOR", "1")]);
        assert!(!plain.contains("\x1b["), "{args}: {plain:?}");
        assert!(
            plain.contains("tlsmatrix") || plain.contains("probe"),
            "{plain}"
        );
    }
    // Off a terminal there is no colour either.
    let piped = run_tlsmatrix(
        &["probe", up.address.as_str(), "--client", "builtin"],
        dir.path(),
        &logs,
    );
    assert!(
        !text(&piped.stderr).contains("\x1b["),
        "{}",
        text(&piped.stderr)
    );
    assert!(
        text(&piped.stderr).contains("DEBUG"),
        "{}",
        text(&piped.stderr)
    );
    drop(up);
}

/// A silent misconfiguration in the user's own gateway file: the product
/// ignores a misspelt key (so TLS stays off and the client connects in
/// plaintext), the report expects that outcome, and the evidence names the key.
#[test]
fn reproduce_shows_the_keys_the_product_ignores() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "report.yaml",
        "area: zeebe-client\ntitle: TLS is on in our file, yet plaintext clients connect\nexpect: connected(1)\nsetup:\n  gateway:\n    config: {zeebe: {gateway: {securty: {enabled: true}}}}\n  client: {kind: builtin, plaintext: true}\n",
    );
    let out = run_tlsmatrix(&["reproduce", "report.yaml"], dir.path(), &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.starts_with("REPRODUCED: connected(1)"), "{stdout}");
    assert!(
        stdout.contains("  lint: ") && stdout.contains("zeebe.gateway.securty.enabled: Zeebe ignores this key; did you mean zeebe.gateway.security.enabled?"),
        "{stdout}"
    );
}
