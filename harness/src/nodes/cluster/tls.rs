//! A node's TLS material, loaded at start as Zeebe loads it: the chain file
//! (`CERTIFICATE` and `TRUSTED CERTIFICATE` blocks; its first certificate is the
//! node's own, X.509 v1 allowed), the private key (PKCS#8, PKCS#1 or SEC1; RSA,
//! EC or DSA; password-protected keys refused), key and certificate checked to
//! match. Serving is TLS 1.3 only, as `NettyMessagingService` fixes it.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::ServerName;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use super::settings::{ConfiguredPath, NodeSettings};
use super::trust::ChainTrust;
use crate::error::HarnessError;
use crate::pki;

/// How a node serves TLS.
#[derive(Clone)]
pub enum ServerTls {
    /// A rustls acceptor with the node's certificate and key.
    Serve(TlsAcceptor),
    /// The node's key is DSA. Zeebe starts with such a key (DSA is among the
    /// documented key algorithms), but TLS 1.3 has no DSA signature scheme, so
    /// every handshake the node serves fails. rustls cannot load DSA keys, so
    /// the failure is emulated: the node reads the ClientHello and answers with
    /// a fatal `handshake_failure` alert.
    DsaKey,
}

/// A node's TLS, both directions.
#[derive(Clone)]
pub struct NodeTls {
    /// The server side (incoming messaging connections).
    pub server: ServerTls,
    /// The client side (connections the node dials).
    pub connector: TlsConnector,
}

impl NodeTls {
    /// The server name the client side presents: none is checked (see
    /// [`super::trust`]), so the peer's IP address is as good as any.
    pub fn server_name(addr: std::net::SocketAddr) -> ServerName<'static> {
        ServerName::IpAddress(addr.ip().into())
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Checks that a configured file exists; the error names the key, the resolved
/// absolute path and the node's working directory.
fn exists(settings: &NodeSettings, key: &str, path: &ConfiguredPath) -> Result<(), HarnessError> {
    if path.resolved.exists() {
        return Ok(());
    }
    let full = format!("{}.{key}", settings.role.security_prefix());
    Err(HarnessError::invalid(
        &settings.source,
        &full,
        format!(
            "{:?} does not exist: resolved to {} (the node's working directory is {})",
            path.raw,
            path.resolved.display(),
            settings.workdir.display()
        ),
        format!(
            "give an absolute path, or a path relative to the working directory of {} (or set {})",
            settings.name,
            super::settings::env_var(&full)
        ),
    ))
}

/// True when the PEM key file holds a DSA key (traditional `DSA PRIVATE KEY`
/// or PKCS#8 with the DSA algorithm identifier).
fn is_dsa_key(path: &Path) -> bool {
    use pkcs8::der::Decode;
    const DSA: &str = "1.2.840.10040.4.1";
    let Ok(bytes) = std::fs::read(path) else {
        return false;
    };
    let Ok(blocks) = ::pem::parse_many(&bytes) else {
        return false;
    };
    blocks.iter().any(|b| {
        b.tag() == "DSA PRIVATE KEY"
            || (b.tag() == "PRIVATE KEY"
                && pkcs8::PrivateKeyInfo::from_der(b.contents())
                    .is_ok_and(|info| info.algorithm.oid.to_string() == DSA))
    })
}

/// A traditional (`DSA PRIVATE KEY`) DSA key, which Netty's PKCS#8 reader
/// refuses like PKCS#1 and SEC1 keys.
fn traditional_dsa(path: &Path) -> Option<HarnessError> {
    let bytes = std::fs::read(path).ok()?;
    let blocks = ::pem::parse_many(&bytes).ok()?;
    blocks.iter().any(|b| b.tag() == "DSA PRIVATE KEY").then(|| {
        HarnessError::material(
            path,
            format!(
                "File does not contain valid private key: {} (a traditional DSA PRIVATE KEY; Zeebe reads PKCS#8 RSA, EC or DSA keys only)",
                path.file_name().and_then(|n| n.to_str()).unwrap_or_default()
            ),
            format!(
                "convert it to PKCS#8: openssl pkcs8 -topk8 -nocrypt -in {0} -out {0}.pkcs8",
                path.display()
            ),
        )
    })
}

/// Loads a node's TLS material, or `None` when its security is disabled.
pub fn load(settings: &NodeSettings) -> Result<Option<NodeTls>, HarnessError> {
    let security = &settings.security;
    if !security.enabled {
        return Ok(None);
    }
    let (Some(chain), Some(key)) = (&security.certificate_chain_path, &security.private_key_path)
    else {
        // NodeSettings::from_properties refuses this combination.
        return Err(HarnessError::run(
            &settings.name,
            "TLS enabled without files",
        ));
    };
    let prefix = settings.role.security_prefix();
    let in_setting =
        |k: &str, e: HarnessError| e.in_setting(&settings.source, &format!("{prefix}.{k}"));
    exists(settings, "certificateChainPath", chain)?;
    exists(settings, "privateKeyPath", key)?;
    let certs = pki::read_certificates(&chain.resolved)
        .map_err(|e| in_setting("certificateChainPath", e))?;
    // Zeebe reads both files with Netty's SslContextBuilder.forServer(File, File),
    // the same code path grpc-java's gateway uses: PKCS#8 RSA, EC or DSA keys
    // only (measured for the gateway on the netty-oracle; inferred here).
    if let Some(traditional) = traditional_dsa(&key.resolved) {
        return Err(in_setting("privateKeyPath", traditional));
    }
    crate::nodes::gateway::netty_accepts_key(&key.resolved)
        .map_err(|e| in_setting("privateKeyPath", e))?;
    let server = if is_dsa_key(&key.resolved) {
        ServerTls::DsaKey
    } else {
        let certified = pki::load_certified_key(&chain.resolved, &key.resolved).map_err(|e| {
            let k = match &e {
                HarnessError::Material { path, .. } if *path == chain.resolved => {
                    "certificateChainPath"
                }
                _ => "privateKeyPath",
            };
            in_setting(k, e)
        })?;
        let config = rustls::ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| HarnessError::run(&settings.name, e))?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(certified)));
        ServerTls::Serve(TlsAcceptor::from(Arc::new(config)))
    };
    let client = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| HarnessError::run(&settings.name, e))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(ChainTrust::new(certs, provider())))
        .with_no_client_auth();
    Ok(Some(NodeTls {
        server,
        connector: TlsConnector::from(Arc::new(client)),
    }))
}
