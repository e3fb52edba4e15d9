//! The rustls verifier and resolver adapters that decide like Go's
//! `crypto/tls`: client certificates as `tls.RequireAndVerifyClientCert`,
//! server certificates as Go's client, the client certificate chosen as
//! Go's `getClientCertificate`.

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::verify::{go_verify, go_verify_for, GoVerifyError};
use super::GoGeneration;

/// A trust anchor: its DER and the parts chain building needs.
#[derive(Debug, Clone)]
struct Anchor {
    der: Vec<u8>,
}

/// Verifies client certificates as Go's `tls.RequireAndVerifyClientCert` does.
#[derive(Debug)]
pub struct GoClientVerifier {
    roots: Vec<Anchor>,
    hints: Vec<DistinguishedName>,
    generation: GoGeneration,
    algorithms: WebPkiSupportedAlgorithms,
    /// Last failure, for the node log (Go logs the handshake error).
    failures: std::sync::Mutex<Vec<String>>,
}

impl GoClientVerifier {
    /// A verifier trusting `roots` (DER certificates: the system pool, the
    /// `ca_certs` files and the server's own certificates, as KrakenD builds
    /// its client CA pool).
    pub fn new(roots: Vec<CertificateDer<'static>>, generation: GoGeneration) -> Self {
        let hints = roots
            .iter()
            .filter_map(|der| {
                X509Certificate::from_der(der)
                    .ok()
                    .map(|(_, c)| DistinguishedName::from(c.subject().as_raw().to_vec()))
            })
            .collect();
        Self {
            roots: roots
                .into_iter()
                .map(|der| Anchor { der: der.to_vec() })
                .collect(),
            hints,
            generation,
            algorithms: rustls::crypto::aws_lc_rs::default_provider()
                .signature_verification_algorithms,
            failures: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Go's texts of the verification failures so far, oldest first, drained.
    pub fn take_failures(&self) -> Vec<String> {
        self.failures
            .lock()
            .map(|mut f| std::mem::take(&mut *f))
            .unwrap_or_default()
    }

    fn to_rustls(&self, err: &GoVerifyError) -> rustls::Error {
        let certificate_error = match (self.generation, err) {
            (GoGeneration::Legacy, _) | (_, GoVerifyError::Other(_)) => {
                CertificateError::BadEncoding
            }
            (GoGeneration::Current, GoVerifyError::UnknownAuthority) => {
                CertificateError::UnknownIssuer
            }
            (GoGeneration::Current, GoVerifyError::Expired(_)) => CertificateError::Expired,
        };
        rustls::Error::InvalidCertificate(certificate_error)
    }

    fn verify_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
        tls13: bool,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_handshake_signature(&self.algorithms, message, cert, dss, tls13)
    }
}

/// Checks a handshake signature against the public key of `cert` without
/// webpki's certificate parsing (which refuses v1 certificates Go accepts).
fn verify_handshake_signature(
    algorithms: &WebPkiSupportedAlgorithms,
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
    tls13: bool,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    let bad = || rustls::Error::InvalidCertificate(CertificateError::BadSignature);
    let (_, parsed) = X509Certificate::from_der(cert).map_err(|_| bad())?;
    let spki =
        rustls::pki_types::SubjectPublicKeyInfoDer::from(parsed.tbs_certificate.subject_pki.raw);
    if tls13 {
        return rustls::crypto::verify_tls13_signature_with_raw_key(
            message, &spki, dss, algorithms,
        );
    }
    let raw = webpki::RawPublicKeyEntity::try_from(&spki).map_err(|_| bad())?;
    let algs = algorithms
        .mapping
        .iter()
        .find(|(scheme, _)| *scheme == dss.scheme)
        .map(|(_, algs)| *algs)
        .ok_or_else(bad)?;
    algs.iter()
        .find(|alg| {
            raw.verify_signature(**alg, message, dss.signature())
                .is_ok()
        })
        .map(|_| HandshakeSignatureValid::assertion())
        .ok_or_else(bad)
}

impl ClientCertVerifier for GoClientVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let roots: Vec<&[u8]> = self.roots.iter().map(|a| a.der.as_slice()).collect();
        let intermediates: Vec<&[u8]> = intermediates.iter().map(|c| c.as_ref()).collect();
        match go_verify(end_entity, &intermediates, &roots, now.as_secs() as i64) {
            Ok(()) => Ok(ClientCertVerified::assertion()),
            Err(err) => {
                if let Ok(mut f) = self.failures.lock() {
                    f.push(format!(
                        "tls: failed to verify certificate: {}",
                        err.go_text()
                    ));
                }
                Err(self.to_rustls(&err))
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.verify_signature(message, cert, dss, false)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.verify_signature(message, cert, dss, true)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Verifies a server certificate the way Go's `crypto/tls` client does
/// (`verifyServerCertificate` → [`go_verify_for`] with the dialled host), or
/// not at all with `InsecureSkipVerify` (KrakenD's
/// `allow_insecure_connections`); handshake signatures are checked either way.
/// A failure is kept with Go's text, `tls: failed to verify certificate: …`.
#[derive(Debug)]
pub struct GoServerVerifier {
    roots: Vec<Vec<u8>>,
    host: String,
    insecure: bool,
    algorithms: WebPkiSupportedAlgorithms,
    failure: std::sync::Mutex<Option<String>>,
}

impl GoServerVerifier {
    /// A verifier of the server at `host` (a name or an IP address) that
    /// trusts `roots`.
    pub fn new(roots: Vec<CertificateDer<'static>>, host: &str, insecure: bool) -> Self {
        Self {
            roots: roots.into_iter().map(|r| r.to_vec()).collect(),
            host: host.to_string(),
            insecure,
            algorithms: rustls::crypto::aws_lc_rs::default_provider()
                .signature_verification_algorithms,
            failure: std::sync::Mutex::new(None),
        }
    }

    /// Go's text of the verification failure, if there was one.
    pub fn failure(&self) -> Option<String> {
        self.failure.lock().ok().and_then(|f| f.clone())
    }
}

impl rustls::client::danger::ServerCertVerifier for GoServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        if self.insecure {
            return Ok(rustls::client::danger::ServerCertVerified::assertion());
        }
        let roots: Vec<&[u8]> = self.roots.iter().map(Vec::as_slice).collect();
        let intermediates: Vec<&[u8]> = intermediates.iter().map(|c| c.as_ref()).collect();
        match go_verify_for(
            end_entity,
            &intermediates,
            &roots,
            now.as_secs() as i64,
            Some(&self.host),
        ) {
            Ok(()) => Ok(rustls::client::danger::ServerCertVerified::assertion()),
            Err(err) => {
                if let Ok(mut f) = self.failure.lock() {
                    *f = Some(format!(
                        "tls: failed to verify certificate: {}",
                        err.go_text()
                    ));
                }
                // Go's client sends bad_certificate for every verification failure.
                Err(rustls::Error::InvalidCertificate(
                    CertificateError::BadEncoding,
                ))
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_handshake_signature(&self.algorithms, message, cert, dss, false)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_handshake_signature(&self.algorithms, message, cert, dss, true)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Chooses the client certificate the way Go's client does
/// (`getClientCertificate` with `Config.Certificates`): the first one whose
/// chain has a certificate issued by a CA the server named in its
/// CertificateRequest (any, when it named none); when none fits, Go sends no
/// certificate at all, so a gateway holding a certificate from another CA
/// shows up at the server as "no certificate".
#[derive(Debug)]
pub struct GoClientCertResolver {
    keys: Vec<std::sync::Arc<rustls::sign::CertifiedKey>>,
}

impl GoClientCertResolver {
    /// A resolver over the configured certificates, in order.
    pub fn new(keys: Vec<std::sync::Arc<rustls::sign::CertifiedKey>>) -> Self {
        Self { keys }
    }
}

impl rustls::client::ResolvesClientCert for GoClientCertResolver {
    fn resolve(
        &self,
        root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<std::sync::Arc<rustls::sign::CertifiedKey>> {
        self.keys
            .iter()
            .find(|key| {
                root_hint_subjects.is_empty()
                    || key.cert.iter().any(|c| {
                        X509Certificate::from_der(c)
                            .is_ok_and(|(_, x)| root_hint_subjects.contains(&x.issuer().as_raw()))
                    })
            })
            .cloned()
    }

    fn has_certs(&self) -> bool {
        !self.keys.is_empty()
    }
}
