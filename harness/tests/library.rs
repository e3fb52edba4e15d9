//! The library as another project uses it: certificates, a reference gateway
//! and a client, each a value that cleans up when dropped.

use std::time::Duration;

use tlsmatrix::config::zeebe::GatewaySettings;
use tlsmatrix::nodes::{GatewayNode, Topology};
use tlsmatrix::peers::{builtin, ZeebeClientConfig};
use tlsmatrix::pki::{CertSpec, PkiSpec};

fn client_for(gateway: &GatewayNode, dir: &std::path::Path, ca: Option<&str>) -> ZeebeClientConfig {
    ZeebeClientConfig {
        address: format!("localhost:{}", gateway.address().port()),
        plaintext: false,
        ca_path: ca.map(str::to_string),
        env: Default::default(),
        workdir: dir.to_path_buf(),
        deadline: Duration::from_secs(10),
    }
}

#[tokio::test]
async fn tls_gateway_with_generated_certificates_serves_topology() {
    let dir = tempfile::tempdir().unwrap();
    let pki = PkiSpec::new()
        .with("ca", CertSpec::root())
        .with("gateway", CertSpec::leaf("ca").with_sans(["localhost"]))
        .build()
        .unwrap()
        .write_to(dir.path())
        .unwrap();
    let settings = GatewaySettings::plaintext()
        .with_tls(pki.chain("gateway").unwrap(), pki.key("gateway").unwrap());
    let gateway = GatewayNode::start(&settings, Topology::with_brokers(3))
        .await
        .unwrap();

    let trusted = builtin::topology(&client_for(&gateway, dir.path(), Some("ca.pem")))
        .await
        .unwrap();
    assert_eq!(trusted.connected_brokers, Some(3), "{}", trusted.text());

    let untrusted = builtin::topology(&client_for(&gateway, dir.path(), None))
        .await
        .unwrap();
    assert_eq!(untrusted.connected_brokers, None);
    assert!(
        untrusted.text().contains("UnknownIssuer"),
        "{}",
        untrusted.text()
    );
}

#[tokio::test]
async fn shutdown_frees_the_port() {
    let gateway = GatewayNode::start(&GatewaySettings::plaintext(), Topology::default())
        .await
        .unwrap();
    let address = gateway.address();
    gateway.shutdown().await;
    let again = GatewaySettings::plaintext().with_address("127.0.0.1", address.port());
    let node = GatewayNode::start(&again, Topology::default())
        .await
        .unwrap();
    assert_eq!(node.address(), address);
}

/// A token server, a gateway with the interceptor and real zbctl: every call
/// leaves exactly one audit record, and neither the token zbctl used (read
/// back from its own credentials cache) nor the client secret appears in the
/// audit file or any node log.
#[tokio::test]
async fn audit_has_one_record_per_call_and_no_token_or_secret() {
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use tlsmatrix::nodes::gateway_auth::GatewayAuth;
    use tlsmatrix::nodes::jwt::SigningKey;
    use tlsmatrix::nodes::token_server::{TokenServer, TokenServerSettings};
    use tlsmatrix::peers::zbctl;

    const SECRET: &str = "secret-4d1f7c2a-never-logged";
    let dir = tempfile::tempdir().unwrap();
    let (key, _) = SigningKey::generate("audit-test").unwrap();
    let gateway_key = key.verifying_key();
    let server = TokenServer::start(
        TokenServerSettings {
            clients: BTreeMap::from([("auditor".to_string(), SECRET.to_string())]),
            expires_in: 300,
            tls: None,
        },
        key,
    )
    .await
    .unwrap();
    let audit_file = dir.path().join("audit.jsonl");
    let auth = GatewayAuth::new(gateway_key, "zeebe-api", None, "test")
        .unwrap()
        .with_audit_file(audit_file.clone());
    let gateway = GatewayNode::start_with_auth(
        &GatewaySettings::plaintext(),
        Topology::with_brokers(1),
        Some(Arc::new(auth)),
    )
    .await
    .unwrap();
    let mut config = client_for(&gateway, dir.path(), None);
    config.plaintext = true;
    config.env = [
        ("ZEEBE_CLIENT_ID", "auditor"),
        ("ZEEBE_CLIENT_SECRET", SECRET),
        (
            "ZEEBE_AUTHORIZATION_SERVER_URL",
            server.token_url().as_str(),
        ),
        ("ZEEBE_TOKEN_AUDIENCE", "zeebe-api"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    const CALLS: usize = 3;
    for _ in 0..CALLS {
        let obs = zbctl::status(&config)
            .await
            .expect("zbctl installed by ci/setup");
        assert_eq!(obs.connected_brokers, Some(1), "{}", obs.text());
    }
    let cache = std::fs::read_to_string(dir.path().join(".camunda/credentials"))
        .expect("zbctl caches its token under $HOME, the case directory");
    let token = cache
        .lines()
        .find_map(|l| l.trim().strip_prefix("accesstoken: "))
        .expect("a cached access token")
        .to_string();
    assert!(token.len() > 100, "a JWT: {token}");

    let audit = std::fs::read_to_string(&audit_file).unwrap();
    let records: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(records.len(), CALLS, "{audit}");
    for r in &records {
        assert_eq!(r["client"], "auditor");
        assert_eq!(r["method"], "Topology");
        assert_eq!(r["decision"], "allow");
        assert!(r["time"].as_str().is_some_and(|t| t.ends_with('Z')));
    }
    let logs = [gateway.log().lines(), server.log().lines()]
        .concat()
        .join("\n");
    for (what, text) in [("audit file", &audit), ("node logs", &logs)] {
        assert!(!text.contains(&token), "the token leaked into the {what}");
        assert!(!text.contains(SECRET), "the secret leaked into the {what}");
        // No fragment of the token either (its signature part is unique).
        let signature = token.rsplit('.').next().unwrap();
        assert!(
            !text.contains(signature),
            "part of the token leaked into the {what}"
        );
    }
    gateway.shutdown().await;
    server.shutdown().await;
}
