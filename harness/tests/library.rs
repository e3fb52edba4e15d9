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
