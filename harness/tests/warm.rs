//! Warm real peers must not change what a case observes: a sample of Java
//! client, zeebe-node, Camunda Java client, Java Kafka client, Camunda
//! Spring Boot starter, Camunda 8 JavaScript SDK, Python grpcio,
//! netty-oracle and reused Kafka broker cases
//! (successes and failures, every scenario file that has them, gRPC and
//! REST, PEM and keystore trust) runs warm, then cold, and every case must
//! give the same outcome, catalogue entry and redacted snapshot text. The
//! nightly job runs the same comparison over every case of those peers
//! (`--run-ignored`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tlsmatrix::engine::{self, RunOptions};
use tlsmatrix::nodes::kafka::broker;
use tlsmatrix::peers::{kafka_java, warm};
use tlsmatrix::scenario::{self, Case};
use tlsmatrix::{areas, report, version};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Whether `case` runs the peer `kind`: `java` (zeebe-client-java, and the
/// JVM trust-store cases), `node` (zeebe-node), `camunda` (the Camunda
/// Java client over gRPC or REST), `kafka` (the Java Kafka client),
/// `spring` (the Camunda Spring Boot starter), `sdk` (the Camunda 8
/// JavaScript SDK, gRPC and REST), `python` (the Python grpcio client),
/// `oracle` (the netty-oracle
/// gateway, whatever the client) or `broker` (a real Kafka broker behind the
/// gateway, reused across cases of the same broker configuration).
fn runs(case: &Case, kind: &str) -> bool {
    let label = |v: &str| case.labels().iter().any(|(_, l)| l == v);
    match kind {
        "java" => {
            case.area().as_str() != "kafka-gateway"
                && (label("java") || case.id().contains("java-truststores"))
        }
        "camunda" => label("camunda-rest") || case.id().contains("::camunda-client::"),
        "spring" => case.id().contains("::camunda-spring::"),
        "sdk" => case.id().contains("::camunda-sdk"),
        "oracle" => label("netty-oracle"),
        "kafka" | "broker" => {
            let peer = if kind == "kafka" {
                kafka_java::PEER
            } else {
                broker::PEER
            };
            case.area().as_str() == "kafka-gateway"
                && areas::find(case.area())
                    .and_then(|a| a.check(case))
                    .is_ok_and(|reqs| reqs.iter().any(|r| r.peer() == peer))
        }
        // The Kafka gateway's `python` client is kafka-python (cold).
        "python" => case.area().as_str() == "zeebe-client" && label("python"),
        other => label(other),
    }
}

/// The peer kinds [`runs`] knows.
const KINDS: [&str; 9] = [
    "java", "node", "camunda", "kafka", "spring", "oracle", "broker", "sdk", "python",
];

/// The cases of the warm peers (Java client, zeebe-node, Camunda Java
/// client, Kafka Java client, Spring starter, on either backend) and every
/// case on the netty-oracle, whose peer is installed (CI installs all;
/// `TLSMATRIX_REQUIRE_PEERS=1` makes a missing one fail here).
fn warm_peer_cases() -> Vec<Case> {
    let cases = scenario::load_paths(&[workspace().join("scenarios")])
        .and_then(|c| version::select(c, &version::Selection::Newest))
        .expect("scenarios load");
    let require = RunOptions::from_env().require_peers();
    cases
        .into_iter()
        .filter(|c| {
            c.skip().is_none()
                && ["zeebe-client", "zeebe-auth", "kafka-gateway"].contains(&c.area().as_str())
        })
        .filter(|c| KINDS.iter().any(|k| runs(c, k)))
        .filter(|c| {
            let missing = areas::find(c.area())
                .and_then(|a| a.check(c))
                .map(|reqs| reqs.iter().any(|r| r.locate().is_err()))
                .unwrap_or(true);
            assert!(
                !(missing && require),
                "{}: its peer is not installed",
                c.id()
            );
            !missing
        })
        .collect()
}

/// Runs `cases` warm, then cold, and lists every difference.
fn compare(cases: Vec<Case>) -> (usize, u64, Vec<String>) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let cases: Vec<Arc<Case>> = cases.into_iter().map(Arc::new).collect();
    let options = RunOptions::from_env();
    let pass = |enabled: bool| {
        warm::set_enabled(enabled);
        let results = rt.block_on(engine::run_all(cases.clone(), &options, 2, |_| {}));
        warm::shutdown();
        results
    };
    let before = warm::served();
    let warm_results = pass(true);
    let served = warm::served() - before;
    let cold_results = pass(false);
    warm::set_enabled(true);
    let mut problems = Vec::new();
    for (w, c) in warm_results.iter().zip(&cold_results) {
        let (wt, ct) = (report::snapshot_text(w), report::snapshot_text(c));
        let outcome = |r: &engine::CaseResult| r.actual.as_ref().map(|a| a.outcome.id());
        if outcome(w) != outcome(c) || wt != ct {
            // A side without an outcome ended in a harness error: its
            // snapshot text is only the case line, so show why.
            let why = |r: &engine::CaseResult| match r.actual {
                Some(_) => String::new(),
                None => report::failure_text(r),
            };
            problems.push(format!(
                "{}: warm and cold differ\n--- warm\n{wt}{}\n--- cold\n{ct}{}",
                w.case.id(),
                why(w),
                why(c)
            ));
        }
    }
    (cases.len(), served, problems)
}

/// Compares `cases` warm and cold (see [`compare`]) after checking that the
/// sample has at least `minimum` cases of each peer kind it names.
fn check(cases: Vec<Case>, minimum: &[(&str, usize)]) {
    let count = |k: &str| cases.iter().filter(|c| runs(c, k)).count();
    let counts: Vec<String> = KINDS.iter().map(|k| format!("{} {k}", count(k))).collect();
    let counts = counts.join(", ");
    for (kind, at_least) in minimum {
        assert!(
            count(kind) >= *at_least,
            "too few {kind} cases to compare (at least {at_least}): {counts}"
        );
    }
    // One comparison at a time in a process: warm peers are switched on and
    // off process-wide (`cargo test` runs these tests as threads of one
    // process; nextest gives each its own).
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (compared, served, problems) = compare(cases);
    eprintln!(
        "warm vs cold: {compared} cases compared ({counts}; a case can count twice), \
         {served} warm serves (a client or a gateway)"
    );
    assert!(
        served > 0,
        "no case ran warm: the comparison compared cold with cold"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// The cases of the peers with few cases (the Camunda client, the Kafka Java
/// client, the Spring starter, on either backend); the netty-oracle's other
/// cases; the rest (the Java client and zeebe-node on the embedded gateway).
fn groups() -> (Vec<Case>, Vec<Case>, Vec<Case>) {
    let (few, others): (Vec<Case>, Vec<Case>) = warm_peer_cases().into_iter().partition(|c| {
        runs(c, "camunda") || runs(c, "kafka") || runs(c, "spring") || runs(c, "broker")
    });
    let (oracle, others): (Vec<Case>, Vec<Case>) =
        others.into_iter().partition(|c| runs(c, "oracle"));
    (few, oracle, others)
}

// The sample is three tests, so the workflow's runners (and the cores of one
// machine) share it: one test was the longest of the suite (about 190 s of
// the CI job's slowest runner).

/// Every 7th Java and Node case on the embedded gateway, so the sample spans
/// the scenario files (the tls-matrix's refused and connected cases,
/// certificates, gateway configuration, the insecure-environment cases,
/// OAuth; Python grpcio's cases among them), and every 2nd Camunda 8
/// JavaScript SDK case (gRPC and REST).
#[test]
fn java_node_and_sdk_cases_are_the_same_warm_and_cold() {
    let (_, _, others) = groups();
    let (sdk, others): (Vec<Case>, Vec<Case>) = others.into_iter().partition(|c| runs(c, "sdk"));
    check(
        others
            .into_iter()
            .step_by(7)
            .chain(sdk.into_iter().step_by(2))
            .collect(),
        &[("java", 10), ("node", 10), ("sdk", 5), ("python", 5)],
    );
}

/// Every 4th Camunda client, Kafka Java client and Spring starter case
/// (fewer cases: gRPC and REST; PEM, PKCS#12 and JKS trust, SASL, a real
/// broker; application.yaml, environment and command-line properties), and
/// the real-broker cases but the SASL_SSL ones after the first three: a
/// broker is reused only by a later case of the same broker configuration,
/// so the sample keeps every configuration with more than one case (the
/// PLAINTEXT broker's second case is the one whose broker logs lines of its
/// own), a round trip that leaves a topic, and a refusal by the broker.
/// The cold side is what costs (a broker start is 2-3 s of CPU); the nightly
/// variant runs them all.
#[test]
fn camunda_kafka_spring_and_broker_cases_are_the_same_warm_and_cold() {
    let (few, _, _) = groups();
    let (brokers, others): (Vec<Case>, Vec<Case>) =
        few.into_iter().partition(|c| runs(c, "broker"));
    let mut sasl_ssl = 0;
    let brokers = brokers.into_iter().filter(|c| {
        let setup = c.labels().iter().find(|(axis, _)| axis == "setup");
        let other = setup.is_some_and(|(_, v)| {
            [
                "plaintext",
                "ssl",
                "ssl-backend-plaintext-gateway",
                "plaintext-backend-ssl-gateway",
                "sasl-backend-no-sasl-gateway",
            ]
            .contains(&v.as_str())
        });
        sasl_ssl += usize::from(!other);
        other || sasl_ssl <= 3
    });
    check(
        others.into_iter().step_by(4).chain(brokers).collect(),
        &[("camunda", 4), ("kafka", 4), ("spring", 2), ("broker", 8)],
    );
}

/// Every 25th case on the netty-oracle (every client; TLS, plaintext and
/// refused gateways, PEM and keystore configuration; the newest release).
#[test]
fn netty_oracle_cases_are_the_same_warm_and_cold() {
    let (_, oracle, _) = groups();
    check(oracle.into_iter().step_by(25).collect(), &[("oracle", 10)]);
}

/// The nightly variant: every Java, Node, Camunda, Kafka Java client,
/// Spring starter, JavaScript SDK, Python grpcio, netty-oracle and Kafka
/// broker case.
#[test]
#[ignore = "every Java, Node, Camunda, Kafka Java client, Spring starter, JavaScript SDK, Python grpcio, netty-oracle and Kafka broker case twice (minutes): the nightly job runs it"]
fn every_case_is_the_same_warm_and_cold() {
    check(
        warm_peer_cases(),
        &[
            ("java", 10),
            ("node", 10),
            ("camunda", 5),
            ("kafka", 5),
            ("spring", 2),
            ("oracle", 10),
            ("broker", 10),
            ("sdk", 10),
            ("python", 5),
        ],
    );
}
