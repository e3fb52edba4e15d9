//! Hostile input and faults (issue 21), table-driven: each input is files
//! written into a fresh case directory, a command line, the exit code and
//! the substrings its message must (and must not) hold. Every input is also
//! checked for no panic, nothing written outside the case directory (a
//! sibling canary directory stays empty and nothing appears beside the case
//! directory), and nothing left behind (the child's `TMPDIR` ends empty and
//! the case directory holds only what the test wrote).
//!
//! Classes: writes outside (paths from input files), keys (`certs --out`),
//! panics (validity days, a closed stdout), bounds (cases, nesting, size),
//! silently wrong (lint warnings, flags that do not apply, file kinds), wrong
//! names in errors, interrupts (SIGINT/SIGTERM, and a killed run's leftovers
//! reaped by the next).

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{run_tlsmatrix, runtime, text, tlsmatrix_command};

/// One hostile input.
struct Input {
    /// The class and what is tried.
    kind: &'static str,
    /// Files written into the case directory (`{OUT}` stands for the canary
    /// directory outside it).
    files: Vec<(&'static str, Vec<u8>)>,
    /// Symbolic links in the case directory: name → target.
    links: Vec<(&'static str, &'static str)>,
    /// The command line.
    args: Vec<&'static str>,
    /// The exit code.
    exit: i32,
    /// Substrings the output must hold (the key, the flag, the bound).
    expect: Vec<&'static str>,
    /// Substrings it must not hold.
    reject: Vec<&'static str>,
    /// Write the documented certificate set (`tlsmatrix certs --out .`) first.
    certs: bool,
}

fn input(kind: &'static str, args: &[&'static str], exit: i32, expect: &[&'static str]) -> Input {
    Input {
        kind,
        files: Vec::new(),
        links: Vec::new(),
        args: args.to_vec(),
        exit,
        expect: expect.to_vec(),
        reject: Vec::new(),
        certs: false,
    }
}

impl Input {
    fn file(mut self, name: &'static str, contents: impl Into<Vec<u8>>) -> Self {
        self.files.push((name, contents.into()));
        self
    }
    fn link(mut self, name: &'static str, target: &'static str) -> Self {
        self.links.push((name, target));
        self
    }
    fn reject(mut self, text: &'static str) -> Self {
        self.reject.push(text);
        self
    }
    fn with_certs(mut self) -> Self {
        self.certs = true;
        self
    }
}

/// A report around `extra` (files:, generate:, setup: lines).
fn report(setup: &str, extra: &str) -> String {
    format!(
        "area: zeebe-client\ntitle: hostile\nreported-error: |\n  x509: certificate signed by unknown authority\nsetup:\n{setup}{extra}"
    )
}

const SETUP: &str =
    "  gateway: { config-file: gateway.yaml }\n  client: { kind: builtin, ca: ca.pem }\n";
const GATEWAY: &str = "zeebe.gateway.security: { enabled: false }\n";

fn scenario(pki: &str, rest: &str) -> String {
    format!("area: zeebe-client\ndescription: hostile\npki:\n{pki}{rest}")
}

const CASE: &str = "cases:\n  - name: one\n    body: { gateway: {}, client: { kind: builtin } }\n    outcome: connected(1)\n    because: x\n";

fn inputs() -> Vec<Input> {
    vec![
        // ---- writes outside: every name from an input file stays inside ----
        input("outside: report files: absolute name", &["reproduce", "report.yaml"], 2, &["report.yaml: files.{OUT}/planted.yaml:", "absolute name"])
            .file("report.yaml", report(SETUP, "files:\n  {OUT}/planted.yaml: gateway.yaml\n"))
            .file("gateway.yaml", GATEWAY),
        input("outside: report files: `..` name", &["reproduce", "report.yaml"], 2, &["files.../planted.yaml:", "`..` component"])
            .file("report.yaml", report(SETUP, "files:\n  ../planted.yaml: gateway.yaml\n"))
            .file("gateway.yaml", GATEWAY),
        input("outside: report files: absolute source", &["reproduce", "report.yaml"], 2, &["files.gateway.yaml:", "\"/etc/passwd\"", "absolute name"])
            .file("report.yaml", report(SETUP, "files:\n  gateway.yaml: /etc/passwd\n")),
        input("outside: report files: `..` source", &["reproduce", "report.yaml"], 2, &["files.gateway.yaml:", "`..` component"])
            .file("report.yaml", report(SETUP, "files:\n  gateway.yaml: ../outside/x.yaml\n")),
        input("outside: report files: source through a link", &["reproduce", "report.yaml"], 2, &["files.gateway.yaml:", "symbolic link"])
            .file("report.yaml", report(SETUP, "files:\n  gateway.yaml: leak/secret.yaml\n"))
            .link("leak", "{OUT}"),
        input("outside: report files: source is a directory", &["reproduce", "report.yaml"], 2, &["files.gateway.yaml:", "not a regular file"])
            .file("report.yaml", report(SETUP, "files:\n  gateway.yaml: sub\n"))
            .file("sub/x", "x"),
        input("outside: report generate: `..` name", &["reproduce", "report.yaml"], 2, &["generate.../../planted:", "`..` component"])
            .file("report.yaml", report(SETUP, "generate:\n  ../../planted: {}\n")),
        input("outside: report generate: absolute name", &["reproduce", "report.yaml"], 2, &["generate.{OUT}/planted:", "absolute name"])
            .file("report.yaml", report(SETUP, "generate:\n  {OUT}/planted: {}\n")),
        input("outside: report config-file absolute (reads any file)", &["reproduce", "report.yaml"], 2, &["setup.gateway.config-file:", "absolute name"])
            .file("report.yaml", report("  gateway: { config-file: /etc/passwd }\n  client: { kind: builtin }\n", "")),
        input("outside: report config-file `..`", &["reproduce", "report.yaml"], 2, &["setup.gateway.config-file:", "`..` component"])
            .file("report.yaml", report("  gateway: { config-file: ../outside/gw.yaml }\n  client: { kind: builtin }\n", "")),
        input("outside: scenario pki: `..` name", &["list", "zeebe-client"], 2, &["pki.../../planted:", "`..` component"])
            .file("zeebe-client/x.yaml", scenario("  ../../planted: {}\n", CASE)),
        input("outside: scenario pki: absolute name", &["list", "zeebe-client"], 2, &["pki./tmp/planted:", "absolute name"])
            .file("zeebe-client/x.yaml", scenario("  /tmp/planted: {}\n", CASE)),
        input("outside: cluster config-file absolute", &["up", "cluster.yaml"], 2, &["nodes.broker-0.config-file:", "absolute name"])
            .file("cluster.yaml", "nodes:\n  broker-0: { config-file: /etc/passwd }\n"),
        input("outside: cluster workdir `..`", &["up", "cluster.yaml"], 2, &["nodes.broker-0.workdir:", "`..` component"])
            .file("cluster.yaml", "nodes:\n  broker-0: { workdir: ../../planted }\n"),
        input("outside: cluster concat `..` target", &["up", "cluster.yaml"], 2, &["concat.../planted.pem:", "`..` component"])
            .file("cluster.yaml", "concat:\n  ../planted.pem: [a.pem]\nnodes:\n  broker-0: {}\n")
            .file("a.pem", "x"),
        input("outside: cluster openssl letter with a path", &["up", "cluster.yaml"], 2, &["openssl.nodes:", "not a plain node letter"])
            .file("cluster.yaml", "openssl: { nodes: [\"/../../planted\"] }\nnodes:\n  broker-0: {}\n"),
        // ---- panics: values checked at load, the key named ----
        input("panic: validity days beyond X.509 time", &["list", "zeebe-client"], 2, &["pki.ca.not-after-days:", "years 1950 to 9999"])
            .file("zeebe-client/x.yaml", scenario("  ca: { not-after-days: 99999999999 }\n", CASE)),
        input("panic: validity days overflowing seconds", &["list", "zeebe-client"], 2, &["pki.ca.not-before-days:"])
            .file("zeebe-client/x.yaml", scenario("  ca: { not-before-days: -9223372036854775807 }\n", CASE)),
        input("panic: report generate validity", &["reproduce", "report.yaml"], 2, &["generate.ca.not-after-days:"])
            .file("report.yaml", report(SETUP, "generate:\n  ca: { not-after-days: 3000000000 }\n")),
        // ---- bounds, each named ----
        input("bound: cases per scenario file", &["list", "zeebe-client"], 2, &["axes:", "10000 cases per scenario file"])
            .file("zeebe-client/x.yaml", {
                let mut s = String::from("area: zeebe-client\ndescription: x\naxes:\n");
                for a in ["a", "b", "c", "d", "e", "f"] {
                    s.push_str(&format!("  {a}:\n"));
                    for v in 0..10 {
                        s.push_str(&format!("    v{v}: {{}}\n"));
                    }
                }
                s.push_str("expect:\n  - when: {}\n    outcome: connected(1)\n    because: x\n");
                s
            }),
        input("bound: nesting depth of a scenario", &["list", "zeebe-client"], 2, &["(line 3)", "64 levels"])
            .file("zeebe-client/x.yaml", format!("area: zeebe-client\ndescription: x\nbase: {}\n", "[".repeat(100_000))),
        input("bound: nesting depth of a KrakenD file", &["up", "krakend.json"], 2, &["krakend.json: (line 1)", "64 levels"])
            .file("krakend.json", format!("{{\"port\": 0, \"x\": {}", "[".repeat(100_000))),
        input("bound: nesting depth of a report", &["reproduce", "report.yaml"], 2, &["report.yaml: (line", "64 levels"])
            .file("report.yaml", format!("area: {}", "{a: ".repeat(1000))),
        input("bound: file size of a scenario", &["list", "zeebe-client"], 2, &["(file size)", "4194304 bytes"])
            .file("zeebe-client/x.yaml", format!("area: zeebe-client\n#{}\n", "x".repeat(5 << 20))),
        input("bound: file size of a gateway file", &["up", "gateway.yaml"], 2, &["gateway.yaml: (file size)", "4194304 bytes"])
            .file("gateway.yaml", format!("#{}\n", "x".repeat(5 << 20))),
        // ---- silently wrong becomes said ----
        input("said: misspelt `securty:` in a gateway file", &["up", "gateway.yaml"], 2, &["gateway.yaml: zeebe.gateway.securty.enabled: Zeebe ignores this key; did you mean zeebe.gateway.security.enabled?", "zeebe.gateway.network.port"])
            .file("gateway.yaml", "zeebe.gateway:\n  securty: { enabled: true }\n  network: { port: 99999 }\n"),
        input("said: embedded keys read as standalone", &["up", "gateway.yaml"], 2, &["zeebe.broker.gateway.security.enabled: ignored in this shape", "did you mean --mode embedded?"])
            .file("gateway.yaml", "zeebe.broker.gateway.security: { enabled: true }\nzeebe.gateway.network.port: 99999\n"),
        input("said: `--mode embedded` binds what the file says, 0.0.0.0 noted", &["up", "gateway.yaml", "--mode", "embedded"], 2, &["zeebe.broker.gateway.network.host: listening on all interfaces (0.0.0.0), Zeebe's default", "cannot listen on 0.0.0.0:{BUSY}"])
            .file("gateway.yaml", "zeebe.broker.gateway.network.port: {BUSY}\n"),
        input("said: KrakenD `enabled_mtls`", &["up", "krakend.json"], 2, &["krakend.json: tls.enabled_mtls: KrakenD ignores this key; did you mean `tls.enable_mtls`?", "tls.public_key"])
            .file("krakend.json", r#"{"port": 0, "tls": {"public_key": "no.pem", "private_key": "no.key", "enabled_mtls": true}}"#),
        input("said: KrakenD duplicate key", &["up", "krakend.json"], 2, &["krakend.json: tls.enable_mtls: the key appears more than once", "keeps the last one"])
            .file("krakend.json", r#"{"port": 0, "tls": {"public_key": "no.pem", "private_key": "no.key", "enable_mtls": true, "enable_mtls": false}}"#),
        input("said: `.JSON` is a KrakenD file", &["up", "GATEWAY.JSON"], 2, &["GATEWAY.JSON: tls.public_key:"])
            .file("GATEWAY.JSON", r#"{"port": 0, "tls": {"public_key": "no.pem", "private_key": "no.key"}}"#),
        input("refused: --port for a gateway file", &["up", "gateway.yaml", "--port", "1"], 2, &["command line: --port:", "zeebe.gateway.network.port"])
            .file("gateway.yaml", GATEWAY),
        input("refused: --mode embedded for a KrakenD file", &["up", "k.json", "--mode", "embedded"], 2, &["command line: --mode:"])
            .file("k.json", "{}"),
        input("refused: a cluster file with no nodes", &["up", "cluster.yaml"], 2, &["cluster.yaml: nodes:", "without nodes"])
            .file("cluster.yaml", "nodes: {}\n"),
        input("refused: --jobs 0", &["run", "--jobs", "0"], 2, &["--jobs", "0 runs nothing"]),
        input("refused: bench --jobs 0", &["bench", "--jobs", "0"], 2, &["--jobs", "0 runs nothing"]),
        input("refused: misspelt --backend, not blamed on --filter", &["run", "zeebe-client", "--backend", "embeded"], 2, &["command line: --backend: no backend named \"embeded\""])
            .file("zeebe-client/x.yaml", scenario("  ca: {}\n", CASE))
            .reject("--filter"),
        // ---- wrong names in errors ----
        input("name: schema error is not malformed YAML", &["list", "zeebe-client"], 2, &["x.yaml:3:1: unknown field `expekt`", "fix: rename the key"])
            .file("zeebe-client/x.yaml", "area: zeebe-client\ndescription: x\nexpekt: []\n")
            .reject("malformed YAML"),
        input("name: duplicate key points at its line", &["list", "zeebe-client"], 2, &["x.yaml:4:3: pki: duplicate entry with key \"ca\"", "keep the key once"])
            .file("zeebe-client/x.yaml", "area: zeebe-client\ndescription: x\npki:\n  ca: {}\n  ca: {}\ncases: []\n"),
        input("name: non-UTF-8 input", &["up", "gateway.yaml"], 2, &["gateway.yaml: (encoding): not UTF-8 text", "save the file as UTF-8"])
            .file("gateway.yaml", b"zeebe: \xff\xfe\n".to_vec())
            .reject("permissions"),
        input("name: a directory as the configuration", &["up", "sub"], 2, &["sub: cannot read:", "name a file, not a directory"])
            .file("sub/x", "x")
            .reject("permissions"),
        input("name: a directory as the report", &["reproduce", "sub"], 2, &["name a file, not a directory"])
            .file("sub/x", "x")
            .reject("permissions"),
        input("name: chain file given as the key", &["up", "gateway.yaml"], 2, &["gateway.yaml: zeebe.gateway.security.privateKeyPath:", "gateway-chain.pem: no private key in this PEM file"])
            .with_certs()
            .file("gateway.yaml", "zeebe.gateway:\n  network: { host: 127.0.0.1, port: 0 }\n  security: { enabled: true, certificateChainPath: gateway-chain.pem, privateKeyPath: gateway-chain.pem }\n")
            .reject("security.certificateChainPath:"),
        input("name: port clash in embedded mode", &["up", "gateway.yaml", "--mode", "embedded"], 2, &["fix: stop the process using that port or set another port (zeebe.broker.gateway.network.port / ZEEBE_BROKER_GATEWAY_NETWORK_PORT)"])
            .file("gateway.yaml", "zeebe.broker.gateway.network: { host: 127.0.0.1, port: {BUSY} }\n"),
        input("name: port clash in KrakenD", &["up", "krakend.json"], 2, &["the KrakenD file's `port`, or `tlsmatrix up --port`"])
            .file("krakend.json", "{\"port\": {BUSY}}")
            .reject("zeebe"),
        input("name: KrakenD errors name the file given", &["up", "my-gw.json"], 2, &["my-gw.json: tls.public_key:"])
            .file("my-gw.json", r#"{"port": 0, "tls": {"public_key": "no.pem", "private_key": "no.key"}}"#)
            .reject("krakend.json"),
    ]
}

/// Every file and folder under `dir`, relative, sorted.
fn tree(dir: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            out.insert(p.strip_prefix(root).unwrap().display().to_string());
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                walk(root, &p, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

/// Runs one input in a fresh root holding `case/` (the working directory),
/// `outside/` (the canary) and `tmp/` (the child's TMPDIR); returns what went
/// wrong, if anything.
fn try_input(input: &Input, busy: u16) -> Result<String, String> {
    let root = tempfile::tempdir().unwrap();
    let case = root.path().join("case");
    let outside = root.path().join("outside");
    let tmp = root.path().join("tmp");
    for d in [&case, &outside, &tmp] {
        std::fs::create_dir(d).unwrap();
    }
    let fill = |s: &str| {
        s.replace("{OUT}", &outside.display().to_string())
            .replace("{BUSY}", &busy.to_string())
    };
    for (name, contents) in &input.files {
        let path = case.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let bytes = match std::str::from_utf8(contents) {
            Ok(s) => fill(s).into_bytes(),
            Err(_) => contents.clone(),
        };
        std::fs::write(path, bytes).unwrap();
    }
    for (name, target) in &input.links {
        std::os::unix::fs::symlink(fill(target), case.join(name)).unwrap();
    }
    std::fs::write(outside.join("secret.yaml"), "zeebe: {}\n").unwrap();
    if input.certs {
        let made = run_tlsmatrix(&["certs", "--out", "."], &case, &[]);
        assert!(made.status.success(), "{}", text(&made.stderr));
    }
    let before = tree(&case);
    let args: Vec<String> = input.args.iter().map(|a| fill(a)).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let start = Instant::now();
    let out = run_tlsmatrix(&args, &case, &[("TMPDIR", tmp.to_str().unwrap())]);
    let took = start.elapsed();
    let said = format!("{}{}", text(&out.stderr), text(&out.stdout));
    let first = said
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .to_string();
    let mut wrong = Vec::new();
    if out.status.code() != Some(input.exit) {
        wrong.push(format!(
            "exit {:?}, expected {}",
            out.status.code(),
            input.exit
        ));
    }
    for e in &input.expect {
        if !said.contains(&fill(e)) {
            wrong.push(format!("missing {:?}", fill(e)));
        }
    }
    for r in &input.reject {
        if said.contains(r) {
            wrong.push(format!("holds {r:?}"));
        }
    }
    if said.contains("panicked at") {
        wrong.push("panicked".to_string());
    }
    if tree(&outside) != BTreeSet::from(["secret.yaml".to_string()]) {
        wrong.push(format!("wrote outside: {:?}", tree(&outside)));
    }
    let beside: BTreeSet<String> = std::fs::read_dir(root.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    if beside != BTreeSet::from(["case".into(), "outside".into(), "tmp".into()]) {
        wrong.push(format!("wrote beside the case directory: {beside:?}"));
    }
    if !tree(&tmp).is_empty() {
        wrong.push(format!("left behind in TMPDIR: {:?}", tree(&tmp)));
    }
    if tree(&case) != before {
        let new: Vec<_> = tree(&case).difference(&before).cloned().collect();
        wrong.push(format!("left behind in the case directory: {new:?}"));
    }
    if took > Duration::from_secs(10) {
        wrong.push(format!("took {took:?}"));
    }
    if wrong.is_empty() {
        Ok(first)
    } else {
        Err(format!(
            "{}\n  {}\n  output: {said}",
            input.kind,
            wrong.join("\n  ")
        ))
    }
}

#[test]
fn every_hostile_input_is_refused_with_its_key_and_nothing_written_outside() {
    let inputs = inputs();
    assert!(inputs.len() >= 40, "{} inputs", inputs.len());
    // A port held for the "port clash" inputs.
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = held.local_addr().unwrap().port();
    let results: Vec<(usize, Result<String, String>)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|w| {
                let inputs = &inputs;
                s.spawn(move || {
                    (w..inputs.len())
                        .step_by(4)
                        .map(|i| (i, try_input(&inputs[i], busy)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    let mut table = String::from("| kind | exit | first line of the message |\n|---|---|---|\n");
    let mut failures = Vec::new();
    let mut sorted = results;
    sorted.sort_by_key(|(i, _)| *i);
    for (i, result) in sorted {
        match result {
            Ok(first) => table.push_str(&format!(
                "| {} | {} | `{}` |\n",
                inputs[i].kind,
                inputs[i].exit,
                first.chars().take(160).collect::<String>()
            )),
            Err(e) => failures.push(e),
        }
    }
    // The table of what was tried: `cargo nextest run --no-capture` shows it.
    println!("{table}");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn certs_replaces_keys_atomically_never_through_a_link_or_an_open_mode() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("certs");
    let outside = root.path().join("outside");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    // An existing world-readable key, and a key file that is a link out.
    std::fs::write(out.join("ca.key"), "old").unwrap();
    std::fs::set_permissions(out.join("ca.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(outside.join("target"), "").unwrap();
    std::os::unix::fs::symlink(outside.join("target"), out.join("gateway.key")).unwrap();
    let o = run_tlsmatrix(&["certs", "--out", "certs"], root.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    for key in ["ca.key", "gateway.key"] {
        let meta = std::fs::symlink_metadata(out.join(key)).unwrap();
        assert!(meta.is_file(), "{key} is a regular file now");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{key}");
        assert!(std::fs::read_to_string(out.join(key))
            .unwrap()
            .contains("PRIVATE KEY"));
    }
    assert_eq!(
        std::fs::read_to_string(outside.join("target")).unwrap(),
        "",
        "written through the link"
    );
    let staged: Vec<_> = tree(&out)
        .into_iter()
        .filter(|f| f.starts_with('.'))
        .collect();
    assert!(staged.is_empty(), "staging left behind: {staged:?}");
}

#[test]
fn a_closed_stdout_ends_quietly_for_every_printing_command() {
    for args in [
        &["list"][..],
        &["catalogue"],
        &["explain", "x509: certificate signed by unknown authority"],
    ] {
        let root = tempfile::tempdir().unwrap();
        let mut cmd = tlsmatrix_command(args, &common::workspace());
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let out = runtime().block_on(async {
            use tokio::io::AsyncBufReadExt;
            let mut child = cmd.env("TMPDIR", root.path()).spawn().unwrap();
            let stdout = child.stdout.take().unwrap();
            let mut lines = tokio::io::BufReader::new(stdout).lines();
            let _ = lines.next_line().await; // `| head -1`
            drop(lines);
            tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
                .await
                .unwrap()
                .unwrap()
        });
        let stderr = text(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(stderr.trim().is_empty(), "{args:?} said: {stderr}");
        assert!(
            matches!(out.status.code(), Some(0 | 141)),
            "{args:?}: {:?}",
            out.status
        );
    }
}

/// Starts `tlsmatrix args` in `cwd` with TMPDIR `tmp`, waits until `ready`
/// says so (bounded), sends `signal`, and returns the exit code and stderr.
fn interrupt(
    args: &[&str],
    cwd: &Path,
    tmp: &Path,
    ready: impl Fn() -> bool,
    signal: i32,
) -> (Option<i32>, String) {
    let mut cmd = tlsmatrix_command(args, cwd);
    cmd.env("TMPDIR", tmp)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    runtime().block_on(async {
        let child = cmd.spawn().unwrap();
        let pid = child.id().unwrap() as i32;
        let start = Instant::now();
        while !ready() {
            assert!(start.elapsed() < Duration::from_secs(30), "never ready");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // SAFETY: kill(2) on our own child's pid.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
        let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .unwrap()
            .unwrap();
        (out.status.code(), text(&out.stderr))
    })
}

/// Processes whose working directory is under `dir` (children left running).
fn processes_in(dir: &Path) -> Vec<String> {
    let dir = dir.canonicalize().unwrap();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .chars()
                .all(|c| c.is_ascii_digit())
        })
        .filter(|e| std::fs::read_link(e.path().join("cwd")).is_ok_and(|c| c.starts_with(&dir)))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

fn scratch_dirs(tmp: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(tmp)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("tlsmatrix-")
        })
        .collect()
}

#[test]
fn sigint_and_sigterm_during_reproduce_remove_the_case_directory_and_exit_130() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let root = tempfile::tempdir().unwrap();
        let tmp = root.path().join("tmp");
        std::fs::create_dir(&tmp).unwrap();
        // The Java client starts a JVM (about 0.6 s) after the case
        // directory (keys inside) exists: the signal comes in between.
        std::fs::write(
            root.path().join("report.yaml"),
            report(
                "  gateway: { config: { zeebe.gateway.security: { enabled: true, certificateChainPath: gateway-chain.pem, privateKeyPath: gateway.key } } }\n  client: { kind: java, ca: ca.pem }\n",
                "generate:\n  ca: {}\n  gateway: { issuer: ca, sans: [localhost] }\n",
            ),
        )
        .unwrap();
        let (code, stderr) = interrupt(
            &["reproduce", "report.yaml"],
            root.path(),
            &tmp,
            || {
                scratch_dirs(&tmp)
                    .iter()
                    .any(|d| d.join("gateway.key").exists())
            },
            signal,
        );
        assert_eq!(code, Some(130), "{stderr}");
        assert!(stderr.contains("interrupted"), "{stderr}");
        assert!(
            scratch_dirs(&tmp).is_empty(),
            "left behind: {:?}",
            scratch_dirs(&tmp)
        );
        assert!(
            processes_in(&tmp).is_empty(),
            "still running: {:?}",
            processes_in(&tmp)
        );
    }
}

#[test]
fn sigint_during_up_of_a_cluster_stops_openssl_and_exits_130() {
    let root = tempfile::tempdir().unwrap();
    let tmp = root.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    // DSA parameters take openssl seconds: interrupted while it runs.
    std::fs::write(
        root.path().join("cluster.yaml"),
        "openssl: { nodes: [A], dsa-nodes: [B] }\nnodes:\n  broker-0: {}\n",
    )
    .unwrap();
    // The recipe runs in a scratch directory under TMPDIR (the per-run recipe
    // cache, `pki::recipe_cache`) and is copied into place when it is done:
    // its CA in the scratch directory means openssl is at the DSA nodes.
    let scratch = tmp.clone();
    let (code, stderr) = interrupt(
        &["up", "cluster.yaml"],
        root.path(),
        &tmp,
        || {
            std::fs::read_dir(&scratch)
                .is_ok_and(|entries| entries.flatten().any(|e| e.path().join("ca.pem").exists()))
        },
        libc::SIGINT,
    );
    assert_eq!(code, Some(130), "{stderr}");
    assert!(
        processes_in(root.path()).is_empty(),
        "still running: {:?}",
        processes_in(root.path())
    );
}

#[test]
fn sigterm_during_certs_leaves_no_half_written_set() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("certs");
    let tmp = root.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let probe = out.clone();
    let (code, stderr) = interrupt(
        &["certs", "--out", "certs"],
        root.path(),
        &tmp,
        // The staging directory exists: the set is being written.
        move || {
            tree(&probe)
                .iter()
                .any(|f| f.starts_with(".tlsmatrix-certs-"))
        },
        libc::SIGTERM,
    );
    // Either the signal came while writing (130, nothing left) or after the
    // set was complete (0, the whole set): never a part of it.
    let files = tree(&out);
    match code {
        Some(130) => assert!(files.is_empty(), "{files:?}"),
        Some(0) => assert!(
            files.contains("README.txt") && files.contains("ca.key"),
            "{files:?}"
        ),
        other => panic!("exit {other:?}: {stderr}"),
    }
    assert!(
        !files.iter().any(|f| f.starts_with('.')),
        "staging left: {files:?}"
    );
}

#[test]
fn a_killed_runs_scratch_directory_is_reaped_by_the_next_run() {
    let root = tempfile::tempdir().unwrap();
    let tmp = root.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    // A pid that is gone: a child that has ended.
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let pid = gone.id();
    gone.wait().unwrap();
    let stale = tmp.join(format!("tlsmatrix-{pid}-abc123"));
    std::fs::create_dir(&stale).unwrap();
    std::fs::write(stale.join("gateway.key"), "key").unwrap();
    // A live process's directory stays (ours).
    let live = tmp.join(format!("tlsmatrix-{}-def456", std::process::id()));
    std::fs::create_dir(&live).unwrap();
    std::fs::write(root.path().join("report.yaml"), "area: [").unwrap();
    let out = run_tlsmatrix(
        &["reproduce", "report.yaml"],
        root.path(),
        &[("TMPDIR", tmp.to_str().unwrap())],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(!stale.exists(), "the killed run's directory is reaped");
    assert!(live.exists(), "a live process's directory stays");
}
