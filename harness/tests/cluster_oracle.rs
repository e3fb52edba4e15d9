//! The reference cluster against the cluster-tls probe (Netty's OpenSSL engine
//! with contexts built as Zeebe's `NettyMessagingService` builds them): for a
//! subset of certificate situations (16 with PEM files, 5 with PKCS#12
//! keystores as Zeebe 8.6.0 reads them), does the node start, does the dialling
//! node's handshake succeed, and do both sides report the same failure? And
//! what does a JVM trust store (`javax.net.ssl.trustStore`) change (5)?
//!
//! Needs `java` and the Netty jars in the local Maven repository (see
//! `harness/probes/cluster-tls/run.sh`); without them each case prints why it
//! was skipped, unless `TLSMATRIX_REQUIRE_PEERS=1` makes that a failure.

use std::path::{Path, PathBuf};
use std::process::Command;

use rstest::rstest;
use tlsmatrix::nodes::cluster::{
    Cluster, ClusterSecurity, ConfiguredPath, JvmTrustStore, NodeRole, NodeSettings, NodeSpec,
};
use tlsmatrix::nodes::Started;
use tlsmatrix::pki::{CertSpec, ChainShape, Defect, KeyAlgorithm, KeyEncoding, PkiSpec};

mod common;

const SUBJECT: &str = "/C=XX/L=Default City/O=Default Company Ltd";

fn probe() -> PathBuf {
    common::crate_dir().join("probes/cluster-tls/run.sh")
}

/// Why the probe cannot run here, if it cannot.
fn unavailable() -> Option<String> {
    let repo = std::env::var_os("MAVEN_REPO")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".m2/repository")))?;
    let handler = repo.join("io/netty/netty-handler/4.1.122.Final");
    if Command::new("java").arg("-version").output().is_err() {
        return Some("java is not on PATH".to_string());
    }
    if !handler.is_dir() {
        return Some(format!(
            "{} is missing (run harness/probes/cluster-tls/run.sh once with Maven)",
            handler.display()
        ));
    }
    None
}

fn sh(dir: &Path, script: &str) {
    let out = Command::new("bash")
        .args(["-c", script])
        .current_dir(dir)
        .output()
        .expect("bash");
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every file the cases use, copied into `dir`: made once per nextest run
/// (each case is a process of its own) in the target's temporary directory,
/// under a lock, so 28 cases do not run the openssl recipe (a 2048-bit DSA
/// parameter generation among it) and keytool 28 times. What a case sees is
/// the same set of files; which keys they hold is no part of any case.
fn material(dir: &Path) {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::PermissionsExt;
    let run = std::env::var("NEXTEST_RUN_ID")
        .unwrap_or_else(|_| format!("process-{}", std::process::id()));
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cluster-oracle-material");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o700)).unwrap();
    let lock = std::fs::File::create(root.join("lock")).unwrap();
    // SAFETY: flock on a descriptor this function owns; released when closed.
    assert_eq!(unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }, 0);
    let made = root.join(&run);
    if !made.join(".done").exists() {
        // Another run's files are stale.
        for entry in std::fs::read_dir(&root).unwrap().flatten() {
            if entry.path().is_dir() {
                std::fs::remove_dir_all(entry.path()).unwrap();
            }
        }
        std::fs::create_dir(&made).unwrap();
        make_material(&made);
        jvm_trust_store(&made);
        std::fs::write(made.join(".done"), "").unwrap();
    }
    drop(lock);
    for entry in std::fs::read_dir(&made).unwrap().flatten() {
        let name = entry.file_name();
        if name != ".done" {
            std::fs::copy(entry.path(), dir.join(name)).unwrap();
        }
    }
}

/// Makes every file the cases use in `dir`.
fn make_material(dir: &Path) {
    PkiSpec::new()
        .with("ca", CertSpec::root())
        .with("other-ca", CertSpec::root())
        .with("int", CertSpec::intermediate("ca"))
        .with("leaf", CertSpec::leaf("ca"))
        .with("dialler", CertSpec::leaf("ca"))
        .with("int-dialler", CertSpec::leaf("int"))
        .with("wrong-root", CertSpec::leaf("other-ca"))
        .with("expired", CertSpec::leaf("ca").with_defect(Defect::Expired))
        .with(
            "not-yet-valid",
            CertSpec::leaf("ca").with_defect(Defect::NotYetValid),
        )
        .with(
            "wrong-host",
            CertSpec::leaf("ca").with_defect(Defect::WrongSan),
        )
        .with(
            "mismatched",
            CertSpec::leaf("ca").with_defect(Defect::MismatchedKey),
        )
        .with(
            "missing-int",
            CertSpec::leaf("int").with_chain(ChainShape::LeafOnly),
        )
        .with(
            "rsa-pkcs1",
            CertSpec::leaf("ca")
                .with_algorithm(KeyAlgorithm::Rsa2048)
                .with_key_encoding(KeyEncoding::Pkcs1),
        )
        .with(
            "sec1",
            CertSpec::leaf("ca").with_key_encoding(KeyEncoding::Sec1),
        )
        .with(
            "ed25519",
            CertSpec::leaf("ca").with_algorithm(KeyAlgorithm::Ed25519),
        )
        .build()
        .unwrap()
        .write_to(dir)
        .unwrap();
    // The seed's openssl recipe, non-interactive; D has a DSA key.
    sh(
        dir,
        &format!(
            "set -e
             openssl req -new -newkey rsa:2048 -nodes -out rca.csr -keyout rca.key -subj '{SUBJECT}' 2>/dev/null
             openssl x509 -trustout -signkey rca.key -days 365 -req -in rca.csr -out rca.pem 2>/dev/null
             openssl genpkey -genparam -algorithm DSA -pkeyopt dsa_paramgen_bits:2048 -out dsa.params 2>/dev/null
             for n in A B D; do
               if [ $n = D ]; then openssl genpkey -paramfile dsa.params -out node$n.key; 
               else openssl genpkey -out node$n.key -algorithm RSA -pkeyopt rsa_keygen_bits:2048 2>/dev/null; fi
               openssl req -new -key node$n.key -out node$n.csr -subj '{SUBJECT}'
               openssl x509 -req -days 365 -in node$n.csr -CA rca.pem -CAkey rca.key -set_serial 01 -out node$n.pem 2>/dev/null
               cat node$n.pem rca.pem > chainNode$n.pem
             done
             openssl pkey -in nodeA.key -out nodeA-encrypted.key -aes-256-cbc -passout pass:x
             openssl pkey -in nodeD.key -traditional -out nodeD-traditional.key"
        ),
    );
    // PKCS#12 keystores (Zeebe 8.6.0 on) as users make them: openssl pkcs12
    // -export from a chain and key; a renewed certificate added after an
    // expired one with keytool -importkeystore; a leaf exported alone.
    sh(
        dir,
        &format!(
            "set -e
             export TLSMATRIX_STORE_PASS={STORE_PASSWORD} OTHER_PASS=another-secret
             p12() {{ openssl pkcs12 -export -in $1-chain.pem -inkey $1.key -name $1 -out $2 -passout env:${{3:-TLSMATRIX_STORE_PASS}}; }}
             p12 leaf leaf.p12; p12 dialler dialler.p12; p12 expired renewed.p12
             p12 leaf other-password.p12 OTHER_PASS
             openssl pkcs12 -export -in dialler.pem -inkey dialler.key -name dialler -out dialler-leaf.p12 -passout env:TLSMATRIX_STORE_PASS
             keytool -importkeystore -noprompt -srckeystore leaf.p12 -srcstoretype PKCS12 -srcstorepass:env TLSMATRIX_STORE_PASS \
               -destkeystore renewed.p12 -deststoretype PKCS12 -deststorepass:env TLSMATRIX_STORE_PASS >/dev/null 2>&1"
        ),
    );
}

/// A JVM trust store (`javax.net.ssl.trustStore`) holding the CA, as a user
/// makes one with keytool, and the JVM options that name it.
fn jvm_trust_store(dir: &Path) {
    sh(
        dir,
        "keytool -importcert -noprompt -alias ca -file ca.pem -keystore jvm-trust.p12 \
           -storetype PKCS12 -storepass changeit >/dev/null 2>&1 && \
         keytool -importcert -noprompt -alias ca -file ca.pem -keystore jvm-trust.jks \
           -storetype JKS -storepass changeit >/dev/null 2>&1",
    );
}

/// The password of the keystores `material` makes (one store has another).
const STORE_PASSWORD: &str = "node-secret";

/// A broker reading a PKCS#12 keystore, on 8.6.0 (the first release that does).
fn keystore_node(name: &str, dir: &Path, store: &str) -> NodeSpec {
    let settings = node(name, dir, store, store)
        .settings()
        .clone()
        .with_security(
            ClusterSecurity::default()
                .with_enabled(true)
                .with_key_store(
                    ConfiguredPath::new(store, dir),
                    Some(tlsmatrix::config::zeebe::KeyStorePassword::new(
                        STORE_PASSWORD,
                    )),
                ),
        )
        .with_runtime(tlsmatrix::version::ProductRuntime::of(Some("8.6.0")));
    NodeSpec::new(settings)
}

/// What one side of the comparison found.
#[derive(Debug, PartialEq)]
enum Seen {
    /// The serving node did not start (its SSL context was refused).
    StartFailed,
    /// The handshake succeeded.
    Connected,
    /// The handshake failed.
    Failed,
}

fn node(name: &str, dir: &Path, chain: &str, key: &str) -> NodeSpec {
    let path = |p: &str| ConfiguredPath::new(p, dir);
    NodeSpec::new(
        NodeSettings::new(name, NodeRole::Broker, dir)
            .with_security(
                ClusterSecurity::default()
                    .with_enabled(true)
                    .with_pem_files(path(chain), path(key)),
            )
            .with_source("oracle")
            // The transport probe (harness/probes/cluster-tls) runs Netty
            // without BouncyCastle, as Zeebe 8.4.0 shipped; the reference reads
            // keys as that release did, so both sides model one runtime.
            .with_runtime(tlsmatrix::version::ProductRuntime::of(Some("8.4.0"))),
    )
}

/// The reference: broker-0 serves (chain, key), broker-1 dials with its chain.
fn reference(dir: &Path, chain: &str, key: &str, dialler: (&str, &str)) -> (Seen, String) {
    reference_with_jvm_options(dir, chain, key, dialler, None)
}

/// The reference, both nodes' environment carrying `java_options` in
/// `JAVA_OPTS`.
fn reference_with_jvm_options(
    dir: &Path,
    chain: &str,
    key: &str,
    dialler: (&str, &str),
    java_options: Option<&str>,
) -> (Seen, String) {
    let jvm_trust_store = java_options.and_then(|options| {
        let env = [("JAVA_OPTS".to_string(), options.to_string())].into();
        let props = tlsmatrix::config::Properties::from_yaml("oracle", "", env).unwrap();
        JvmTrustStore::from_env(&props, dir)
    });
    let rt = common::multi_thread_runtime().expect("tokio runtime");
    rt.block_on(async {
        let node = |name: &str, chain: &str, key: &str| {
            if chain.ends_with(".p12") {
                keystore_node(name, dir, chain)
            } else {
                node(name, dir, chain, key)
            }
        };
        let with_store = |spec: NodeSpec| {
            NodeSpec::new(
                spec.settings()
                    .clone()
                    .with_jvm_trust_store(jvm_trust_store.clone()),
            )
        };
        let specs = [
            with_store(node("broker-0", chain, key)),
            with_store(node("broker-1", dialler.0, dialler.1)),
        ];
        match Cluster::start(&specs).await.unwrap() {
            Started::Refused(r) => (Seen::StartFailed, r.message),
            Started::Ready(cluster) => {
                let formation = cluster.form().await;
                let logs = cluster.logs().join("\n");
                cluster.shutdown().await;
                let link = formation
                    .links
                    .iter()
                    .find(|l| l.from == "broker-1" && l.to == "broker-0")
                    .expect("link broker-1 -> broker-0");
                match &link.result {
                    Ok(()) => (Seen::Connected, logs),
                    Err(_) => (Seen::Failed, logs),
                }
            }
        }
    })
}

/// The probe: Netty + BoringSSL + the JDK trust manager.
fn netty(dir: &Path, chain: &str, key: &str, dialler_chain: &str) -> (Seen, String) {
    netty_with_jvm_options(dir, chain, key, dialler_chain, None, &[])
}

/// The probe, its JVM started with `java_options` in `JAVA_TOOL_OPTIONS`
/// (read by every JVM at start, as `JAVA_OPTS` is by Zeebe's start script)
/// and `env` added to its environment.
fn netty_with_jvm_options(
    dir: &Path,
    chain: &str,
    key: &str,
    dialler_chain: &str,
    java_options: Option<&str>,
    env: &[(&str, &str)],
) -> (Seen, String) {
    let mut command = Command::new(probe());
    command
        .args([chain, key, dialler_chain])
        .env("TLSMATRIX_STORE_PASS", STORE_PASSWORD)
        .envs(env.iter().copied())
        .current_dir(dir);
    if let Some(options) = java_options {
        command.env("JAVA_TOOL_OPTIONS", options);
    }
    let out = command.output().expect("run.sh");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let seen = if text.starts_with("server-context:") {
        Seen::StartFailed
    } else if text.starts_with("handshake: ok") {
        Seen::Connected
    } else if text.starts_with("client:") {
        Seen::Failed
    } else {
        panic!(
            "probe printed nothing usable:\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    (seen, text)
}

#[rstest]
#[case::recipe_v1_trusted_certificate("chainNodeA.pem", "nodeA.key", ("chainNodeB.pem", "nodeB.key"), &[])]
#[case::recipe_dialler_trusts_only_its_leaf("chainNodeA.pem", "nodeA.key", ("nodeB.pem", "nodeB.key"), &["signature check failed", "TLSV1_ALERT_INTERNAL_ERROR"])]
#[case::recipe_dsa_key("chainNodeD.pem", "nodeD.key", ("chainNodeB.pem", "nodeB.key"), &["Unable to find key material", "TLSV1_ALERT_INTERNAL_ERROR"])]
#[case::recipe_dsa_key_traditional("chainNodeD.pem", "nodeD-traditional.key", ("chainNodeB.pem", "nodeB.key"), &["File does not contain valid private key"])]
#[case::recipe_encrypted_key("chainNodeA.pem", "nodeA-encrypted.key", ("chainNodeB.pem", "nodeB.key"), &["File does not contain valid private key"])]
#[case::per_node_leaves("leaf-chain.pem", "leaf.key", ("dialler-chain.pem", "dialler.key"), &[])]
#[case::another_root("wrong-root-chain.pem", "wrong-root.key", ("dialler-chain.pem", "dialler.key"), &["PKIX path building failed", "TLSV1_ALERT_INTERNAL_ERROR"])]
#[case::expired("expired-chain.pem", "expired.key", ("dialler-chain.pem", "dialler.key"), &["validity check failed", "SSLV3_ALERT_CERTIFICATE_EXPIRED"])]
#[case::not_yet_valid("not-yet-valid-chain.pem", "not-yet-valid.key", ("dialler-chain.pem", "dialler.key"), &["validity check failed", "SSLV3_ALERT_CERTIFICATE_EXPIRED"])]
#[case::host_name_not_checked("wrong-host-chain.pem", "wrong-host.key", ("dialler-chain.pem", "dialler.key"), &[])]
#[case::intermediate_only_in_the_diallers_chain("missing-int-chain.pem", "missing-int.key", ("int-dialler-chain.pem", "int-dialler.key"), &[])]
#[case::key_of_another_certificate("mismatched-chain.pem", "mismatched.key", ("dialler-chain.pem", "dialler.key"), &["KEY_VALUES_MISMATCH", "TLSV1_ALERT_INTERNAL_ERROR"])]
#[case::rsa_pkcs1_key("rsa-pkcs1-chain.pem", "rsa-pkcs1.key", ("dialler-chain.pem", "dialler.key"), &["File does not contain valid private key"])]
#[case::ec_sec1_key("sec1-chain.pem", "sec1.key", ("dialler-chain.pem", "dialler.key"), &["File does not contain valid private key"])]
#[case::ed25519_key("ed25519-chain.pem", "ed25519.key", ("dialler-chain.pem", "dialler.key"), &["File does not contain valid private key"])]
#[case::chain_file_without_certificate("leaf.key", "leaf.key", ("dialler-chain.pem", "dialler.key"), &["File does not contain valid certificates"])]
#[case::keystores("leaf.p12", "-", ("dialler.p12", "-"), &[])]
#[case::keystore_wrong_password("other-password.p12", "-", ("dialler.p12", "-"), &["Failed to start messaging service; invalid server TLS configuration", "Keystore failed to load file", "keystore password was incorrect"])]
#[case::keystore_expired_entry_first("renewed.p12", "-", ("dialler.p12", "-"), &["validity check failed", "SSLV3_ALERT_CERTIFICATE_EXPIRED"])]
#[case::keystore_dialler_chain_without_ca("leaf.p12", "-", ("dialler-leaf.p12", "-"), &["PKIX path building failed", "TLSV1_ALERT_INTERNAL_ERROR"])]
#[case::keystore_serving_pem_dialler("leaf-chain.pem", "leaf.key", ("dialler.p12", "-"), &[])]
fn reference_agrees_with_netty(
    #[case] chain: &str,
    #[case] key: &str,
    #[case] dialler: (&str, &str),
    #[case] texts: &[&str],
) {
    if let Some(why) = unavailable() {
        assert!(
            std::env::var("TLSMATRIX_REQUIRE_PEERS").map_or(true, |v| v != "1" && v != "true"),
            "cluster-tls probe required but unavailable: {why}"
        );
        eprintln!("skipped: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    material(dir.path());
    let (theirs, their_text) = netty(dir.path(), chain, key, dialler.0);
    let (ours, our_text) = reference(dir.path(), chain, key, dialler);
    assert_eq!(ours, theirs, "netty:\n{their_text}\nreference:\n{our_text}");
    for text in texts {
        assert!(
            their_text.contains(text),
            "netty does not say {text:?}:\n{their_text}"
        );
        assert!(
            our_text.contains(text),
            "the reference does not say {text:?}:\n{our_text}"
        );
    }
}

/// The JVM's trust store is not the cluster transport's: the dialling context
/// is `trustManager(certificateChain)`, so a `javax.net.ssl.trustStore` never
/// makes a peer trusted (the seed says it does; see
/// `zeebe-cluster::doc-jvm-truststore`). But the server context, built without
/// a trust manager, opens the JVM's default one: a wrong password stops the
/// node. The probe's JVM gets the properties in `JAVA_TOOL_OPTIONS`, the
/// reference's nodes in `JAVA_OPTS`; both must give `expected` and `texts`.
///
/// The operating system's store is not the transport's either: with the CA
/// in `SSL_CERT_FILE` / `SSL_CERT_DIR` (where OpenSSL-based programs look
/// for the system's roots; Netty's OpenSSL engine verifies with the JDK's
/// trust manager) and not in any JVM store, a leaf-only dialler is refused
/// as without it. The reference reads neither.
#[rstest]
#[case::leaf_only_dialler_ca_in_os_store_only(
    ("dialler.pem", "dialler.key"),
    "",
    &[("SSL_CERT_FILE", "ca.pem"), ("SSL_CERT_DIR", ".")],
    Seen::Failed,
    &["PKIX path building failed"]
)]
#[case::leaf_only_dialler_ca_in_jvm_truststore(
    ("dialler.pem", "dialler.key"),
    "-Djavax.net.ssl.trustStore=jvm-trust.p12 -Djavax.net.ssl.trustStorePassword=changeit -Djavax.net.ssl.trustStoreType=PKCS12",
    &[],
    Seen::Failed,
    &["PKIX path building failed"]
)]
#[case::jvm_truststore_path_missing(
    ("dialler-chain.pem", "dialler.key"),
    "-Djavax.net.ssl.trustStore=no-such-trust.p12 -Djavax.net.ssl.trustStorePassword=changeit",
    &[],
    Seen::Connected,
    &[]
)]
#[case::jvm_truststore_path_missing_wrong_password(
    ("dialler-chain.pem", "dialler.key"),
    "-Djavax.net.ssl.trustStore=no-such-trust.p12 -Djavax.net.ssl.trustStorePassword=wrong-password",
    &[],
    Seen::StartFailed,
    &["unable to setup trustmanager", "problem accessing trust store"]
)]
#[case::jvm_truststore_wrong_password(
    ("dialler-chain.pem", "dialler.key"),
    "-Djavax.net.ssl.trustStore=jvm-trust.p12 -Djavax.net.ssl.trustStorePassword=wrong-password",
    &[],
    Seen::StartFailed,
    &["unable to setup trustmanager", "problem accessing trust store", "keystore password was incorrect"]
)]
#[case::jvm_truststore_jks_wrong_password(
    ("dialler-chain.pem", "dialler.key"),
    "-Djavax.net.ssl.trustStore=jvm-trust.jks -Djavax.net.ssl.trustStorePassword=wrong-password -Djavax.net.ssl.trustStoreType=JKS",
    &[],
    Seen::StartFailed,
    &["unable to setup trustmanager", "problem accessing trust store", "Keystore was tampered with, or password was incorrect"]
)]
#[case::jvm_truststore_right_password(
    ("dialler-chain.pem", "dialler.key"),
    "-Djavax.net.ssl.trustStore=jvm-trust.jks -Djavax.net.ssl.trustStorePassword=changeit",
    &[],
    Seen::Connected,
    &[]
)]
fn jvm_trust_store_is_not_consulted(
    #[case] dialler: (&str, &str),
    #[case] java_options: &str,
    #[case] env: &[(&str, &str)],
    #[case] expected: Seen,
    #[case] texts: &[&str],
) {
    if let Some(why) = unavailable() {
        assert!(
            std::env::var("TLSMATRIX_REQUIRE_PEERS").map_or(true, |v| v != "1" && v != "true"),
            "cluster-tls probe required but unavailable: {why}"
        );
        eprintln!("skipped: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    material(dir.path());
    let (theirs, their_text) = netty_with_jvm_options(
        dir.path(),
        "leaf-chain.pem",
        "leaf.key",
        dialler.0,
        (!java_options.is_empty()).then_some(java_options),
        env,
    );
    assert_eq!(theirs, expected, "netty:\n{their_text}");
    let (ours, our_text) = reference_with_jvm_options(
        dir.path(),
        "leaf-chain.pem",
        "leaf.key",
        dialler,
        Some(java_options),
    );
    assert_eq!(ours, theirs, "netty:\n{their_text}\nreference:\n{our_text}");
    for text in texts {
        assert!(
            their_text.contains(text),
            "netty does not say {text:?}:\n{their_text}"
        );
        assert!(
            our_text.contains(text),
            "the reference does not say {text:?}:\n{our_text}"
        );
    }
}
