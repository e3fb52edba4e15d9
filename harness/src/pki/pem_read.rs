//! Reading PEM files the way the products do: certificate chains with
//! `CERTIFICATE` and `TRUSTED CERTIFICATE` blocks, private keys in PKCS#8, PKCS#1
//! or SEC1, refusing password-protected keys as Zeebe does.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer,
};
use rustls::sign::CertifiedKey;

use super::der::first_sequence;
use crate::error::HarnessError;

fn parse_pem(path: &Path) -> Result<Vec<::pem::Pem>, HarnessError> {
    let bytes = std::fs::read(path).map_err(|e| HarnessError::read(path, e))?;
    parse_pem_bytes(path, &bytes)
}

fn parse_pem_bytes(path: &Path, bytes: &[u8]) -> Result<Vec<::pem::Pem>, HarnessError> {
    ::pem::parse_many(bytes).map_err(|e| {
        HarnessError::material(
            path,
            format!("not a valid PEM file: {e}"),
            "provide PEM text (-----BEGIN ...-----); convert DER with `openssl x509 -inform der`",
        )
    })
}

fn labels(blocks: &[::pem::Pem]) -> String {
    if blocks.is_empty() {
        return "no PEM blocks at all".to_string();
    }
    let names: Vec<&str> = blocks.iter().map(|b| b.tag()).collect();
    format!("found only: {}", names.join(", "))
}

/// The certificates of a PEM file, in file order. `TRUSTED CERTIFICATE` blocks
/// (what `openssl x509 -trustout` writes) count, without their trust trailer.
pub fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, HarnessError> {
    let bytes = std::fs::read(path).map_err(|e| HarnessError::read(path, e))?;
    parse_certificates(path, &bytes)
}

/// [`read_certificates`] on bytes already read; `path` names them in errors.
pub fn parse_certificates(
    path: &Path,
    bytes: &[u8],
) -> Result<Vec<CertificateDer<'static>>, HarnessError> {
    let blocks = parse_pem_bytes(path, bytes)?;
    let mut certs = Vec::new();
    for block in &blocks {
        match block.tag() {
            "CERTIFICATE" | "X509 CERTIFICATE" => {
                certs.push(CertificateDer::from(block.contents().to_vec()))
            }
            "TRUSTED CERTIFICATE" => {
                let der = first_sequence(block.contents()).ok_or_else(|| {
                    HarnessError::material(
                        path,
                        "a TRUSTED CERTIFICATE block does not start with a DER certificate",
                        "regenerate it with `openssl x509 -trustout`",
                    )
                })?;
                certs.push(CertificateDer::from(der.to_vec()));
            }
            _ => {}
        }
    }
    if certs.is_empty() {
        return Err(HarnessError::material(
            path,
            format!("no certificate in this PEM file ({})", labels(&blocks)),
            "point the setting at the PEM certificate chain (leaf first, then its CA), not at a key or CSR",
        ));
    }
    Ok(certs)
}

/// The private key of a PEM file. Password-protected keys are refused, as Zeebe
/// refuses them.
pub fn read_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, HarnessError> {
    let blocks = parse_pem(path)?;
    for block in &blocks {
        let encrypted_header = block
            .headers()
            .get("Proc-Type")
            .is_some_and(|v| v.contains("ENCRYPTED"));
        if block.tag() == "ENCRYPTED PRIVATE KEY" || encrypted_header {
            return Err(HarnessError::material(
                path,
                "password-protected private keys are not supported, as in Zeebe",
                format!(
                    "decrypt it (`openssl pkey -in {0} -out {0}.plain`) and inject the plain key from a secret manager at runtime",
                    path.display()
                ),
            ));
        }
        let der = block.contents().to_vec();
        match block.tag() {
            "PRIVATE KEY" => return Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der))),
            "RSA PRIVATE KEY" => return Ok(PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(der))),
            "EC PRIVATE KEY" => return Ok(PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(der))),
            _ => {}
        }
    }
    Err(HarnessError::material(
        path,
        format!("no private key in this PEM file ({})", labels(&blocks)),
        "point the setting at the PEM private key (PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)",
    ))
}

/// Loads a chain and its key for serving, checking that the key belongs to the
/// chain's first certificate.
///
/// The leaf is not parsed by webpki here: X.509 v1 leaves (what the openssl
/// recipe in Zeebe's documentation makes) are accepted by Zeebe and must load.
pub fn load_certified_key(chain: &Path, key: &Path) -> Result<Arc<CertifiedKey>, HarnessError> {
    let certs = read_certificates(chain)?;
    let key_der = read_private_key(key)?;
    certified(certs, key_der, chain, key, true)
}

/// [`load_certified_key`] without the check that the key belongs to the
/// leaf: for a server that does not check either and fails every handshake
/// instead (Spring Boot's `server.ssl.certificate` / `certificate-private-key`
/// on embedded Tomcat 10.1.30 with JSSE, Zeebe 8.6.0's REST server: it starts,
/// and a client verifying the handshake signature sees `bad signature`;
/// measured by `harness/tests/rest_oracle.rs`).
pub fn load_certified_key_unchecked(
    chain: &Path,
    key: &Path,
) -> Result<Arc<CertifiedKey>, HarnessError> {
    let certs = read_certificates(chain)?;
    let key_der = read_private_key(key)?;
    certified(certs, key_der, chain, key, false)
}

/// [`load_certified_key`] for a chain and key already read (from a
/// keystore: `chain` and `key` then both name the store, for messages).
pub fn certified_key(
    certs: Vec<CertificateDer<'static>>,
    key_der: PrivateKeyDer<'static>,
    chain: &Path,
    key: &Path,
) -> Result<Arc<CertifiedKey>, HarnessError> {
    certified(certs, key_der, chain, key, true)
}

fn certified(
    certs: Vec<CertificateDer<'static>>,
    key_der: PrivateKeyDer<'static>,
    chain: &Path,
    key: &Path,
    check_match: bool,
) -> Result<Arc<CertifiedKey>, HarnessError> {
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let signing = provider
        .key_provider
        .load_private_key(key_der)
        .map_err(|e| {
            HarnessError::material(
                key,
                format!("the private key cannot be used: {e}"),
                "use an RSA, EC (P-256/P-384) or Ed25519 key",
            )
        })?;
    let leaf_spki = x509_parser::parse_x509_certificate(&certs[0])
        .map(|(_, cert)| cert.tbs_certificate.subject_pki.raw.to_vec())
        .map_err(|e| {
            HarnessError::material(
                chain,
                format!("the first certificate cannot be parsed: {e}"),
                "put the node's own certificate first in the chain file",
            )
        })?;
    match signing.public_key() {
        Some(spki) if spki.as_ref() == leaf_spki.as_slice() => {}
        Some(_) if !check_match => {}
        Some(_) => {
            return Err(HarnessError::material(
                key,
                format!(
                    "this private key does not match the first certificate of {}",
                    chain.display()
                ),
                "use the key the certificate was issued for (compare `openssl pkey -pubout` with `openssl x509 -pubkey`)",
            ))
        }
        None => {}
    }
    Ok(Arc::new(CertifiedKey::new(certs, signing)))
}
