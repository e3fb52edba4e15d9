//! The netty-oracle carries the product's runtime: for every modelled release,
//! the oracle built for it (`harness/probes/java/target/oracle-<release>`)
//! loads exactly the Netty, grpc-java, netty-tcnative and BouncyCastle that
//! `harness/probes/java/versions/<release>.properties` records from the
//! release's published poms.
//!
//! Two views are compared with the record: what the running oracle loads
//! (`NettyOracleGateway --runtime` names the jar each key class came from),
//! and the build's class path (`lib/`), so that no second version of a
//! library sits beside the recorded one.

use std::collections::BTreeMap;
use std::process::Command;

use tlsmatrix::nodes::oracle;
use tlsmatrix::version::{runtime_properties, runtimes};

/// `NAME CLASS JAR` lines of `--runtime`, by name; plus `java` and `openssl`.
fn loaded(release: &str) -> BTreeMap<String, String> {
    let jar = oracle::probe_jar(Some(release));
    let java = jar
        .locate("netty-oracle", oracle::INSTALL)
        .unwrap_or_else(|e| panic!("the oracle of {release} is not built: {e}"));
    let out = Command::new(java)
        .args(["-cp", &jar.classpath()])
        .args(["tlsmatrix.probe.NettyOracleGateway", "--runtime"])
        .output()
        .expect("java runs");
    assert!(
        out.status.success(),
        "--runtime failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let name = words.next()?.to_string();
            let last = l.rsplit(' ').next()?.to_string();
            let value = if name == "openssl" {
                l.split_whitespace().nth(1)?.to_string()
            } else {
                last
            };
            Some((name, value))
        })
        .collect()
}

/// The jar names of the build's `lib/`.
fn class_path(release: &str) -> Vec<String> {
    let lib = oracle::probe_jar(Some(release)).target().join("lib");
    let mut names: Vec<String> = std::fs::read_dir(&lib)
        .unwrap_or_else(|e| panic!("{}: {e}", lib.display()))
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn each_release_oracle_loads_the_recorded_runtime() {
    assert!(runtimes().len() >= 2, "at least 8.4.0 and the newest");
    for (release, text) in runtimes() {
        let record: BTreeMap<&str, &str> = runtime_properties(text).into_iter().collect();
        assert_eq!(record.get("product"), Some(release), "{release}: product=");
        let want = |k: &str| {
            *record
                .get(k)
                .unwrap_or_else(|| panic!("versions/{release}.properties has no {k}="))
        };
        let (netty, grpc, tcnative, bc) = (
            want("netty"),
            want("grpc"),
            want("tcnative"),
            want("bouncycastle"),
        );
        let got = loaded(release);
        let expected = |name: &str, jar: String| {
            assert_eq!(
                got.get(name).map(String::as_str),
                Some(jar.as_str()),
                "{release}: the oracle loads {name} from another jar than versions/{release}.properties says; got {got:?}"
            );
        };
        expected("netty", format!("netty-handler-{netty}.jar"));
        expected("grpc", format!("grpc-netty-{grpc}.jar"));
        expected("tcnative", format!("netty-tcnative-classes-{tcnative}.jar"));
        if bc.is_empty() {
            expected("bcpkix", "absent".to_string());
            expected("bcprov", "absent".to_string());
        } else {
            expected("bcpkix", format!("bcpkix-jdk18on-{bc}.jar"));
            expected("bcprov", format!("bcprov-jdk18on-{bc}.jar"));
        }
        // The product's gateway serves TLS with BoringSSL (tcnative), not the JDK.
        expected("openssl", "true".to_string());

        // No other version of the same libraries on the class path.
        for jar in class_path(release) {
            let other = |prefix: &str, version: &str| {
                jar.starts_with(prefix) && !jar.contains(&format!("-{version}"))
            };
            let stray = if jar.starts_with("netty-tcnative") {
                other("netty-tcnative", tcnative)
            } else {
                other("netty-", netty)
                    || other("grpc-", grpc)
                    || other("bc", if bc.is_empty() { "none" } else { bc })
            };
            assert!(
                !stray,
                "{release}: {jar} is on the oracle's class path beside the recorded versions"
            );
        }
    }
}
