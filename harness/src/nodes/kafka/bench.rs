//! `tlsmatrix bench`'s Kafka figure: authenticate + metadata through the
//! gateway over TLS. One sample is what a Kafka client does on a new
//! connection: TCP connect, TLS handshake, SaslHandshake + SaslAuthenticate
//! (PLAIN, a gateway token as the password, multi-tenancy on), one Metadata
//! request (v1, no topics). Median of N, sequential, fresh connection each.
//! Measured against the in-memory gateway, and, when Java and the probe jar
//! are there, against the gateway in front of a real Kafka broker (SASL_SSL
//! on both sides; the gateway makes its own backend connection per client
//! connection) and against that broker directly.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use super::broker::{BrokerSpec, KafkaBroker};
use super::tenants::{self, GatewayClaims};
use super::upstream::{BackendSettings, Upstream};
use super::{KafkaGateway, KafkaGatewaySettings, SecurityProtocol};
use crate::config::EnvMap;
use crate::error::HarnessError;
use crate::pki::{CertSpec, PkiSpec};
use crate::process::Started;

const SECRET: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0-tlsmatrix-bench";

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs.get(xs.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// `n` samples of connect + TLS + SASL PLAIN + Metadata against `address`.
async fn samples(
    address: &str,
    user: &str,
    password: &str,
    ca: &Path,
    n: usize,
) -> Result<Vec<Duration>, HarnessError> {
    let settings = BackendSettings {
        bootstrap: vec![address.to_string()],
        security_protocol: SecurityProtocol::SaslSsl,
        sasl_mechanism: "PLAIN".into(),
        credentials: Some((user.to_string(), password.to_string())),
        truststore: Some(ca.to_path_buf()),
    };
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let mut up = Upstream::connect(&settings)
            .await
            .map_err(|e| HarnessError::protocol("kafka bench", e))?;
        up.probe()
            .await
            .map_err(|e| HarnessError::protocol("kafka bench", e))?;
        out.push(t.elapsed());
    }
    Ok(out)
}

fn gateway_settings(
    dir: &Path,
    backend: Option<&str>,
) -> Result<KafkaGatewaySettings, HarnessError> {
    let mut env = EnvMap::new();
    for (k, v) in [
        ("GATEWAY_SECURITY_PROTOCOL", "SASL_SSL"),
        ("GATEWAY_USER_POOL_SECRET_KEY", SECRET),
        ("JWT_AUTH_MASTER_USERNAME", "bench"),
        ("JWT_AUTH_MASTER_PASSWORD", "bench-password"),
        ("GATEWAY_FEATURE_FLAGS_MULTI_TENANCY", "true"),
    ] {
        env.insert(k.to_string(), v.to_string());
    }
    if let Some(address) = backend {
        for (k, v) in [
            ("KAFKA_BOOTSTRAP_SERVERS", address),
            ("KAFKA_SECURITY_PROTOCOL", "SASL_SSL"),
            ("KAFKA_SASL_MECHANISM", "PLAIN"),
            (
                "KAFKA_SASL_JAAS_CONFIG",
                r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="gateway" password="gateway-secret";"#,
            ),
            ("KAFKA_SSL_TRUSTSTORE_TYPE", "PEM"),
            ("KAFKA_SSL_TRUSTSTORE_LOCATION", "ca.pem"),
        ] {
            env.insert(k.to_string(), v.to_string());
        }
    }
    let mut s = KafkaGatewaySettings::from_env("kafka bench", &env)?;
    s.tls = Some((dir.join("gateway-chain.pem"), dir.join("gateway.key")));
    s.tenants = ["1-bench".to_string()].into_iter().collect();
    s.backend = s.backend.map(|b| b.resolve(dir));
    Ok(s)
}

/// The section of the bench report.
pub async fn auth_metadata(n: usize, dir: &Path) -> Result<String, HarnessError> {
    let n = n.clamp(20, 500);
    let dir = dir.join("kafka-bench");
    std::fs::create_dir_all(&dir).map_err(|e| HarnessError::write(&dir, e))?;
    PkiSpec::new()
        .with("ca", CertSpec::root())
        .with(
            "gateway",
            CertSpec::leaf("ca").with_sans(["localhost", "127.0.0.1"]),
        )
        .with(
            "kafka",
            CertSpec::leaf("ca").with_sans(["localhost", "127.0.0.1"]),
        )
        .build()?
        .write_to(&dir)?;
    let ca = dir.join("ca.pem");
    let token = tenants::mint(
        SECRET.as_bytes(),
        &GatewayClaims {
            org_id: 1,
            cluster_id: "bench".into(),
            username: "alice".into(),
        },
    );
    let mut out = String::new();
    let _ = writeln!(
        out,
        "kafka-gateway: authenticate + metadata over TLS (new connection: TLS handshake, SaslHandshake + SaslAuthenticate PLAIN with a gateway token, Metadata v1), {n} sequential samples:"
    );
    let gateway = KafkaGateway::start(gateway_settings(&dir, None)?).await?;
    let local = samples(&gateway.address().to_string(), "alice", &token, &ca, n).await;
    gateway.shutdown().await;
    let _ = writeln!(
        out,
        "  through the gateway, in-memory log     median {:>10}",
        ms(median(local?))
    );
    if super::broker::locate().is_err() {
        let _ = writeln!(
            out,
            "  through the gateway to a real broker   not measured (no Java or probe jar: bash ci/setup)"
        );
        return Ok(out);
    }
    let spec = BrokerSpec {
        listeners: vec!["SASL_SSL".into()],
        users: [("gateway".to_string(), "gateway-secret".to_string())]
            .into_iter()
            .collect(),
        tls: Some((dir.join("kafka-chain.pem"), dir.join("kafka.key"))),
    };
    let broker = match KafkaBroker::start(&spec, &dir).await? {
        Started::Ready(b) => b,
        Started::Refused(r) => {
            let _ = writeln!(
                out,
                "  real broker: did not start: {}",
                r.message.lines().last().unwrap_or_default()
            );
            return Ok(out);
        }
    };
    let started = broker.start_to_ready;
    let address = broker.listener("SASL_SSL").unwrap_or_default().to_string();
    let measured = async {
        let gateway = KafkaGateway::start(gateway_settings(&dir, Some(&address))?).await?;
        let through = samples(&gateway.address().to_string(), "alice", &token, &ca, n).await;
        gateway.shutdown().await;
        let direct = samples(&address, "gateway", "gateway-secret", &ca, n).await?;
        Ok::<_, HarnessError>((through?, direct))
    }
    .await;
    broker.stop().await;
    let (through, direct) = measured?;
    let (through, direct) = (median(through), median(direct));
    let _ = writeln!(
        out,
        "  through the gateway to a real broker   median {:>10}  (the gateway's own TLS + SASL connection to the broker included)",
        ms(through)
    );
    let _ = writeln!(
        out,
        "  the real broker directly (no gateway)  median {:>10}  (gateway adds {})",
        ms(direct),
        ms(through.saturating_sub(direct))
    );
    let _ = writeln!(
        out,
        "  kafka 3.8.1 broker start-to-ready (KRaft, SASL_SSL listener): {}",
        ms(started)
    );
    Ok(out)
}
