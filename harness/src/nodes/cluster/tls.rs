//! A node's TLS material, loaded at start as Zeebe loads it: the chain file
//! (`CERTIFICATE` and `TRUSTED CERTIFICATE` blocks; its first certificate is the
//! node's own, X.509 v1 allowed), the private key (PKCS#8 RSA, EC or DSA, as
//! Netty's `SslContextBuilder.forServer(File, File)` reads it). Serving is TLS
//! 1.3 only, as `NettyMessagingService` fixes it.
//!
//! What fails at start and what at handshake was measured with
//! `harness/probes/cluster-tls` (Netty 4.1.122.Final, netty-tcnative-boringssl-static
//! 2.0.72.Final, OpenJDK 17, contexts built exactly as `NettyMessagingService`
//! builds them): an encrypted, PKCS#1, SEC1 or Ed25519 key and a chain file
//! without a certificate fail when the context is built (the node does not
//! start); a DSA key and a key that does not match the certificate build fine
//! and fail every handshake the node serves. Zeebe's own start-up checks
//! (`SystemContext`) only require both paths and readable files.

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
    /// The node started, but every handshake it serves fails (a DSA key, which
    /// TLS 1.3 cannot sign with; a key that does not match the certificate).
    /// rustls cannot serve either, so the node answers the ClientHello with the
    /// fatal alert and logs the line a Zeebe node logs (both measured).
    Fails {
        /// The node's log line for each failed handshake.
        log_line: String,
        /// The TLS alert sent.
        alert: u8,
        /// Why, in one sentence, for reports.
        diagnosis: String,
    },
}

/// The TLS alert a Zeebe node (BoringSSL) sends when it cannot complete a
/// handshake it serves: `internal_error` (measured).
const INTERNAL_ERROR: u8 = 80;

/// A node's TLS, both directions.
#[derive(Clone)]
pub struct NodeTls {
    /// The server side (incoming messaging connections).
    pub(crate) server: ServerTls,
    /// The client side (connections the node dials).
    pub(crate) connector: TlsConnector,
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

/// Checks that a configured file is readable, as Zeebe's `SystemContext`
/// does; the error carries Zeebe's message (source) and names the key, the
/// value as configured and the node's working directory.
fn readable(
    settings: &NodeSettings,
    key: &str,
    what: &str,
    path: &ConfiguredPath,
) -> Result<(), HarnessError> {
    if std::fs::File::open(&path.resolved).is_ok() {
        return Ok(());
    }
    let full = format!("{}.{key}", settings.role.security_prefix());
    Err(HarnessError::invalid(
        &settings.source,
        &full,
        format!(
            "{} ({:?} resolved against the node's working directory {})",
            crate::version::tls_config_unreadable(what, &path.resolved.display().to_string()),
            path.raw,
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

fn file_name(path: &Path) -> &str {
    path.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
}

/// A password-protected key: Netty's reader fails on it (measured: "File does
/// not contain valid private key"), and Zeebe documents that it does not
/// support them.
fn encrypted_key(path: &Path) -> Option<HarnessError> {
    let bytes = std::fs::read(path).ok()?;
    let blocks = ::pem::parse_many(&bytes).ok()?;
    blocks
        .iter()
        .any(|b| {
            b.tag() == "ENCRYPTED PRIVATE KEY"
                || b
                    .headers()
                    .get("Proc-Type")
                    .is_some_and(|v| v.contains("ENCRYPTED"))
        })
        .then(|| {
            HarnessError::material(
                path,
                format!(
                    "File does not contain valid private key: {} (it is password-protected; password-protected private keys are not supported by Zeebe)",
                    file_name(path)
                ),
                format!(
                    "decrypt it (`openssl pkey -in {0} -out {0}.plain`) and inject the plain key from a secret manager at runtime",
                    path.display()
                ),
            )
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
/// From 8.6.0 a configured keystore is read instead of the PEM files
/// ([`keystore`]); an older release does not bind the `keyStore` keys
/// (Spring ignores them), so it needs the PEM files as before.
pub async fn load(settings: &NodeSettings) -> Result<Option<NodeTls>, HarnessError> {
    let security = &settings.security;
    if !security.enabled {
        return Ok(None);
    }
    let tls = match &security.key_store_path {
        Some(store) if settings.runtime.keystore => keystore(settings, store).await.map(Some),
        Some(_) => {
            settings.require_pem_files()?;
            pem(settings)
        }
        None => pem(settings),
    }?;
    // The server context is built from the key material first; building it
    // then opens the JVM's default trust store (see super::jvm_trust).
    if let Some(store) = &settings.jvm_trust_store {
        store.check(&settings.name, &settings.source).await?;
    }
    Ok(tls)
}

/// Zeebe 8.6's keystore path for the cluster transport (sources and
/// measurements: [`crate::version::KEYSTORE_SINCE`]). A broker validates
/// first (`SystemContext` with `TlsConfigUtil.validateTlsConfig`): PEM files
/// beside a keystore are refused, and the store must be readable. A
/// standalone gateway does not validate: `MessagingConfig.configureTls`
/// takes the keystore and drops the PEM paths. Then `NettyMessagingService`
/// opens the store (PKCS#12, the password or an empty one), serves the first
/// alias's key and chain, and trusts that same chain when it dials.
async fn keystore(
    settings: &NodeSettings,
    store: &ConfiguredPath,
) -> Result<NodeTls, HarnessError> {
    let security = &settings.security;
    let prefix = settings.role.security_prefix();
    let full = |k: &str| format!("{prefix}.{k}");
    if settings.role == super::settings::NodeRole::Broker {
        if security.certificate_chain_path.is_some() || security.private_key_path.is_some() {
            return Err(HarnessError::invalid(
                &settings.source,
                full("keyStore.filePath"),
                crate::version::KEYSTORE_AND_PEM_REFUSED,
                format!(
                    "keep one on {}: the keystore ({}) or the PEM files ({} and {}); unset the others, and their {} / {} variables",
                    settings.name,
                    full("keyStore.filePath"),
                    full("certificateChainPath"),
                    full("privateKeyPath"),
                    super::settings::env_var(&full("certificateChainPath")),
                    super::settings::env_var(&full("privateKeyPath")),
                ),
            ));
        }
        if std::fs::File::open(&store.resolved).is_err() {
            return Err(HarnessError::invalid(
                &settings.source,
                full("keyStore.filePath"),
                format!(
                    "{} ({:?} resolved against the node's working directory {})",
                    crate::version::tls_config_keystore_unreadable(
                        &store.resolved.display().to_string()
                    ),
                    store.raw,
                    settings.workdir.display()
                ),
                format!(
                    "give an absolute path, or a path relative to the working directory of {} (or set {})",
                    settings.name,
                    super::settings::env_var(&full("keyStore.filePath"))
                ),
            ));
        }
    }
    let identity = pki::read_pkcs12(
        &store.resolved,
        security.key_store_password.as_ref().map(|p| p.0.as_str()),
    )
    .await
    .map_err(|e| e.in_setting(&settings.source, &full("keyStore.password")))?;
    let signing = provider()
        .key_provider
        .load_private_key(identity.key)
        .map_err(|e| {
            HarnessError::material(
                &store.resolved,
                format!("the first entry's private key cannot be used: {e}"),
                "put an RSA or EC (P-256/P-384) key entry first in the store",
            )
            .in_setting(&settings.source, &full("keyStore.filePath"))
        })?;
    node_tls(
        settings,
        ServerTls::Serve(serve(settings, identity.chain.clone(), signing)?),
        identity.chain,
    )
}

/// A TLS 1.3 acceptor serving `certs` with `signing`.
fn serve(
    settings: &NodeSettings,
    certs: Vec<rustls::pki_types::CertificateDer<'static>>,
    signing: Arc<dyn rustls::sign::SigningKey>,
) -> Result<TlsAcceptor, HarnessError> {
    let certified = Arc::new(rustls::sign::CertifiedKey::new(certs, signing));
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| HarnessError::run(&settings.name, e))?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(certified)));
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Both directions of a node's TLS: `server`, and a TLS 1.3 client that
/// trusts `trust` (the node's own chain).
fn node_tls(
    settings: &NodeSettings,
    server: ServerTls,
    trust: Vec<rustls::pki_types::CertificateDer<'static>>,
) -> Result<NodeTls, HarnessError> {
    let client = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| HarnessError::run(&settings.name, e))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(ChainTrust::new(trust, provider())))
        .with_no_client_auth();
    Ok(NodeTls {
        server,
        connector: TlsConnector::from(Arc::new(client)),
    })
}

/// The server side of a node whose key TLS 1.3 can sign with: served, or
/// failing every handshake (as BoringSSL does) when the key does not match
/// the chain's first certificate.
fn key_pair_server(
    settings: &NodeSettings,
    chain: &ConfiguredPath,
    key: &ConfiguredPath,
    certs: &[rustls::pki_types::CertificateDer<'static>],
) -> Result<ServerTls, HarnessError> {
    let prefix = settings.role.security_prefix();
    let in_setting =
        |k: &str, e: HarnessError| e.in_setting(&settings.source, &format!("{prefix}.{k}"));
    let key_der =
        pki::read_private_key(&key.resolved).map_err(|e| in_setting("privateKeyPath", e))?;
    let signing = provider()
        .key_provider
        .load_private_key(key_der)
        .map_err(|e| {
            in_setting(
                "privateKeyPath",
                HarnessError::material(
                    &key.resolved,
                    format!("the private key cannot be used: {e}"),
                    "use an RSA or EC (P-256/P-384) key in PKCS#8",
                ),
            )
        })?;
    let leaf_spki = x509_parser::parse_x509_certificate(&certs[0])
        .map(|(_, cert)| cert.tbs_certificate.subject_pki.raw.to_vec())
        .map_err(|e| {
            in_setting(
                "certificateChainPath",
                HarnessError::material(
                    &chain.resolved,
                    format!("the first certificate cannot be parsed: {e}"),
                    "put the node's own certificate first in the chain file",
                ),
            )
        })?;
    if signing
        .public_key()
        .is_some_and(|spki| spki.as_ref() != leaf_spki.as_slice())
    {
        Ok(ServerTls::Fails {
            // measured: BoringSSL refuses the pair when the handshake sets it.
            log_line: "javax.net.ssl.SSLHandshakeException: General OpenSslEngine problem; caused by: javax.net.ssl.SSLException: java.lang.Exception: Error setting certificate (error:0b000074:X.509 certificate routines:OPENSSL_internal:KEY_VALUES_MISMATCH)".to_string(),
            alert: INTERNAL_ERROR,
            diagnosis: format!(
                "{} started, but its private key does not match its certificate (the first one of {}): every handshake it serves fails",
                settings.name, chain.raw
            ),
        })
    } else {
        Ok(ServerTls::Serve(serve(settings, certs.to_vec(), signing)?))
    }
}

/// The PEM path: the chain and key files.
fn pem(settings: &NodeSettings) -> Result<Option<NodeTls>, HarnessError> {
    let security = &settings.security;
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
    readable(settings, "certificateChainPath", "certificate chain", chain)?;
    readable(settings, "privateKeyPath", "private key", key)?;
    let certs = pki::read_certificates(&chain.resolved)
        .map_err(|e| match e {
            // Netty's wording first (measured), then what the file holds.
            HarnessError::Material { path, problem, fix } => HarnessError::Material {
                problem: format!(
                    "File does not contain valid certificates: {} ({problem})",
                    file_name(&path)
                ),
                path,
                fix,
            },
            other => other,
        })
        .map_err(|e| in_setting("certificateChainPath", e))?;
    // With BouncyCastle (8.4.1+) a traditional DSA key is read like a PKCS#8 one.
    let traditional = || {
        (!settings.runtime.bouncycastle)
            .then(|| traditional_dsa(&key.resolved))
            .flatten()
    };
    if let Some(e) = encrypted_key(&key.resolved).or_else(traditional) {
        return Err(in_setting("privateKeyPath", e));
    }
    // PKCS#8 RSA, EC or DSA only, as Netty's reader (measured).
    crate::nodes::gateway::netty_accepts_key(&key.resolved, settings.runtime)
        .map_err(|e| in_setting("privateKeyPath", e))?;
    let server = if is_dsa_key(&key.resolved) {
        ServerTls::Fails {
            // measured: the server side of a handshake with a DSA key.
            log_line: "javax.net.ssl.SSLHandshakeException: Unable to find key material for auth method(s): [ECDHE_ECDSA, ECDHE_ECDSA, ECDHE_RSA, ECDHE_RSA, ECDHE_RSA, ECDHE_RSA, RSA, RSA, RSA]".to_string(),
            alert: INTERNAL_ERROR,
            diagnosis: format!(
                "{} started, but its private key is DSA, which TLS 1.3 cannot sign with: every handshake it serves fails",
                settings.name
            ),
        }
    } else {
        key_pair_server(settings, chain, key, &certs)?
    };
    node_tls(settings, server, certs).map(Some)
}
