//! The library as another project uses it: certificates, a reference gateway
//! and a client, each a value that cleans up when dropped.

use tlsmatrix::modules::zeebe::{Client, Gateway};
use tlsmatrix::pki::{CertSpec, PkiSpec};

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
    let gateway = Gateway::default()
        .with_tls(pki.chain("gateway").unwrap(), pki.key("gateway").unwrap())
        .with_brokers(3)
        .start()
        .await
        .unwrap();
    let client = Client::for_gateway(&gateway).with_workdir(dir.path());

    let trusted = client.clone().with_ca("ca.pem").topology().await.unwrap();
    assert_eq!(trusted.connected_brokers, Some(3), "{}", trusted.text());

    let untrusted = client.topology().await.unwrap();
    assert_eq!(untrusted.connected_brokers, None);
    assert!(
        untrusted.text().contains("UnknownIssuer"),
        "{}",
        untrusted.text()
    );
}

#[tokio::test]
async fn shutdown_frees_the_port() {
    let gateway = Gateway::default().start().await.unwrap();
    let address = gateway.address();
    gateway.shutdown().await;
    let node = Gateway::default()
        .with_address("127.0.0.1", address.port())
        .start()
        .await
        .unwrap();
    assert_eq!(node.address(), address);
}

/// The README's "As a library" example is the crate's doc test, line for
/// line (the doc test's hidden `# ` lines aside), so the README's compiles.
#[test]
fn the_readme_library_example_is_the_doc_test() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("../README.md")).unwrap();
    let section = readme
        .split("## As a library")
        .nth(1)
        .expect("the README has an As a library section");
    let readme_example: Vec<&str> = section
        .split("```rust\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("a rust block in the section")
        .lines()
        .collect();
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
    let doc: Vec<&str> = lib
        .lines()
        .filter_map(|l| {
            l.strip_prefix("//!")
                .map(|l| l.strip_prefix(' ').unwrap_or(l))
        })
        .skip_while(|l| *l != "```")
        .skip(1)
        .take_while(|l| *l != "```")
        .filter(|l| !l.starts_with("# "))
        .collect();
    assert!(readme_example.len() > 10, "{readme_example:?}");
    assert_eq!(readme_example, doc);
}

/// A token server, a gateway with the interceptor and real zbctl: every call
/// leaves exactly one audit record, and neither the token zbctl used (read
/// back from its own credentials cache) nor the client secret appears in the
/// audit file or any node log.
#[tokio::test]
async fn audit_has_one_record_per_call_and_no_token_or_secret() {
    use tlsmatrix::nodes::gateway_auth::GatewayAuth;
    use tlsmatrix::nodes::jwt::SigningKey;
    use tlsmatrix::nodes::token_server::{TokenServer, TokenServerSettings};

    const SECRET: &str = "secret-4d1f7c2a-never-logged";
    let dir = tempfile::tempdir().unwrap();
    let (key, _) = SigningKey::generate("audit-test").unwrap();
    let gateway_key = key.verifying_key();
    let server = TokenServer::start(
        TokenServerSettings::default()
            .with_client("auditor", SECRET)
            .with_expires_in(300),
        key,
    )
    .await
    .unwrap();
    let audit_file = dir.path().join("audit.jsonl");
    let auth = GatewayAuth::new(gateway_key, "zeebe-api", None, "test")
        .unwrap()
        .with_audit_file(audit_file.clone());
    let gateway = Gateway::default().with_auth(auth).start().await.unwrap();
    let client = Client::for_gateway(&gateway)
        .with_workdir(dir.path())
        .with_plaintext(true)
        .with_env("ZEEBE_CLIENT_ID", "auditor")
        .with_env("ZEEBE_CLIENT_SECRET", SECRET)
        .with_env("ZEEBE_AUTHORIZATION_SERVER_URL", server.token_url())
        .with_env("ZEEBE_TOKEN_AUDIENCE", "zeebe-api");
    const CALLS: usize = 3;
    for _ in 0..CALLS {
        let obs = client
            .zbctl_status()
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
