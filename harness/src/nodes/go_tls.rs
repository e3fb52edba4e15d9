//! Server-side TLS the way Go's `crypto/tls` does it, on rustls: the stack
//! KrakenD (and most Go gateways) serve with, so that clients see the alerts and
//! the gateway logs the lines a real Go server produces.
//!
//! What differs from rustls' own `WebPkiClientVerifier`, and why:
//! - Client certificates are verified like Go's `x509.Certificate.Verify`: X.509
//!   v1 certificates (what `openssl x509 -req` makes without extensions) are
//!   accepted, the issuer is found by name and signature, the validity window
//!   is checked first, and an extended key usage must allow client auth.
//! - Verification failures map to the alerts Go sends: today's Go (≥ 1.21)
//!   sends `unknown_ca` (48) for an unknown authority, `certificate_expired`
//!   (45) for a certificate outside its validity, `bad_certificate` (42) for
//!   everything else; Go 1.19/1.20 send `bad_certificate` for all of them.
//! - A TLS 1.2 client that sends no certificate gets `handshake_failure` (40)
//!   from today's Go and `bad_certificate` (42) from older Go, where rustls
//!   sends `certificate_required` (116): [`AlertRewrite`] rewrites that one
//!   plaintext alert record. In TLS 1.3 the alert is encrypted and rustls'
//!   116 is what today's Go sends too; the older Go's 42 there is not emulated.
//!
//! Measured against Go 1.25 and 1.19 servers with curl 7.88.1 (see
//! `harness/oracles/http-go/README.md`).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use x509_parser::prelude::{FromDer, X509Certificate};

/// Which Go generation's alerts to reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
pub enum GoGeneration {
    /// Go ≥ 1.21 (KrakenD CE 2.x today builds with Go 1.25).
    #[default]
    #[serde(rename = "1.25")]
    Current,
    /// Go 1.19/1.20: `bad_certificate` for every client-certificate failure,
    /// the alert KrakenD's documentation shows.
    #[serde(rename = "1.19")]
    Legacy,
}

/// Why Go's verification refused a client certificate, with Go's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GoVerifyError {
    /// `x509.UnknownAuthorityError`.
    UnknownAuthority,
    /// `x509.CertificateInvalidError{Reason: Expired}` (also "not yet valid").
    Expired(String),
    /// Anything else (bad encoding, incompatible key usage, ...).
    Other(String),
}

impl GoVerifyError {
    /// Go's error text, as the server logs it after "tls: failed to verify certificate: ".
    pub fn go_text(&self) -> String {
        match self {
            Self::UnknownAuthority => "x509: certificate signed by unknown authority".into(),
            Self::Expired(t) | Self::Other(t) => t.clone(),
        }
    }
}

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

/// Go's `x509.Certificate.Verify` for a client certificate, as far as a TLS
/// gateway exercises it: validity window first, then a chain to a root (issuer
/// by name and signature, intermediates must be CAs), then the extended key
/// usage (client auth) along the chain.
pub fn go_verify(
    leaf: &[u8],
    intermediates: &[&[u8]],
    roots: &[&[u8]],
    now: i64,
) -> Result<(), GoVerifyError> {
    go_verify_for(leaf, intermediates, roots, now, None)
}

/// Go's `x509.Certificate.Verify` in the order Go runs it: the leaf's
/// validity window, then (for a server certificate, `host` given) the host
/// name or IP address against the SANs (`VerifyHostname`, before any chain is
/// built: a certificate without the IP SAN from an unknown CA reports the
/// SAN), then a chain to a root, then the extended key usage along the chain
/// (server auth when `host` is given, client auth otherwise).
pub fn go_verify_for(
    leaf: &[u8],
    intermediates: &[&[u8]],
    roots: &[&[u8]],
    now: i64,
    host: Option<&str>,
) -> Result<(), GoVerifyError> {
    let (_, cert) = X509Certificate::from_der(leaf)
        .map_err(|e| GoVerifyError::Other(format!("x509: malformed certificate: {e}")))?;
    check_validity(&cert, now)?;
    if let Some(host) = host {
        go_verify_hostname(&cert, host).map_err(GoVerifyError::Other)?;
    }
    if roots.contains(&leaf) {
        return Ok(());
    }
    let chain = build_chain(&cert, intermediates, roots, now, 0)?;
    // Key usage along the chain (Go: checkChainForKeyUsage).
    for der in std::iter::once(leaf).chain(chain.iter().copied()) {
        let Ok((_, c)) = X509Certificate::from_der(der) else {
            continue;
        };
        if let Ok(Some(eku)) = c.extended_key_usage() {
            let eku = &eku.value;
            let allowed = if host.is_some() {
                eku.server_auth
            } else {
                eku.client_auth
            };
            if !(eku.any || allowed) {
                return Err(GoVerifyError::Other(
                    "x509: certificate specifies an incompatible key usage".into(),
                ));
            }
        }
    }
    Ok(())
}

fn check_validity(cert: &X509Certificate<'_>, now: i64) -> Result<(), GoVerifyError> {
    let validity = cert.validity();
    let (from, to) = (
        validity.not_before.timestamp(),
        validity.not_after.timestamp(),
    );
    let stamp = |t: i64| {
        time::OffsetDateTime::from_unix_timestamp(t)
            .ok()
            .and_then(|d| {
                d.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| t.to_string())
    };
    if now > to {
        return Err(GoVerifyError::Expired(format!(
            "x509: certificate has expired or is not yet valid: current time {} is after {}",
            stamp(now),
            stamp(to)
        )));
    }
    if now < from {
        return Err(GoVerifyError::Expired(format!(
            "x509: certificate has expired or is not yet valid: current time {} is before {}",
            stamp(now),
            stamp(from)
        )));
    }
    Ok(())
}

/// Issuers up to a root, leaf excluded; the root last.
fn build_chain<'a>(
    cert: &X509Certificate<'_>,
    intermediates: &[&'a [u8]],
    roots: &[&'a [u8]],
    now: i64,
    depth: usize,
) -> Result<Vec<&'a [u8]>, GoVerifyError> {
    if depth > 8 {
        return Err(GoVerifyError::UnknownAuthority);
    }
    let issued_by = |der: &[u8]| -> bool {
        X509Certificate::from_der(der).is_ok_and(|(_, issuer)| {
            issuer.subject().as_raw() == cert.issuer().as_raw()
                && cert.verify_signature(Some(issuer.public_key())).is_ok()
        })
    };
    let mut hint = None;
    for root in roots {
        if issued_by(root) {
            let (_, parsed) =
                X509Certificate::from_der(root).map_err(|_| GoVerifyError::UnknownAuthority)?;
            match check_validity(&parsed, now) {
                Ok(()) => return Ok(vec![root]),
                Err(e) => hint = Some(e),
            }
        }
    }
    for inter in intermediates {
        if !issued_by(inter) {
            continue;
        }
        let Ok((_, parsed)) = X509Certificate::from_der(inter) else {
            continue;
        };
        if !parsed.is_ca() {
            continue;
        }
        if let Err(e) = check_validity(&parsed, now) {
            hint = Some(e);
            continue;
        }
        if let Ok(mut rest) = build_chain(&parsed, intermediates, roots, now, depth + 1) {
            rest.insert(0, inter);
            return Ok(rest);
        }
    }
    Err(hint.unwrap_or(GoVerifyError::UnknownAuthority))
}

/// The plaintext TLS 1.2 alert rustls sends when a client presents no
/// certificate: fatal `certificate_required`.
const CERTIFICATE_REQUIRED_RECORD: [u8; 7] = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x74];

/// A stream that rewrites rustls' plaintext TLS 1.2 `certificate_required`
/// alert into the one Go sends (`handshake_failure` today, `bad_certificate`
/// before Go 1.21). Everything else passes through untouched.
#[derive(Debug)]
pub struct AlertRewrite<S> {
    inner: S,
    generation: GoGeneration,
}

impl<S> AlertRewrite<S> {
    /// Wraps a server-side stream.
    pub fn new(inner: S, generation: GoGeneration) -> Self {
        Self { inner, generation }
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for AlertRewrite<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for AlertRewrite<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if buf.starts_with(&CERTIFICATE_REQUIRED_RECORD) {
            let mut patched = buf[..CERTIFICATE_REQUIRED_RECORD.len()].to_vec();
            patched[6] = match self.generation {
                GoGeneration::Current => 40,
                GoGeneration::Legacy => 42,
            };
            // Write the patched record alone; the caller writes the rest next.
            return match Pin::new(&mut self.inner).poll_write(cx, &patched) {
                Poll::Ready(Ok(n)) => Poll::Ready(Ok(n)),
                other => other,
            };
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The TLS versions a ClientHello record offers, as Go's server sees them:
/// the `supported_versions` extension when present (GREASE values left out),
/// else every version up to the legacy version field (TLS 1.0 at least).
pub fn offered_versions(record: &[u8]) -> Option<Vec<u16>> {
    let u16_at = |i: usize| -> Option<u16> {
        Some(u16::from_be_bytes([*record.get(i)?, *record.get(i + 1)?]))
    };
    // Record header (5), handshake header (4), then the ClientHello.
    if record.first() != Some(&0x16) || record.get(5) != Some(&0x01) {
        return None;
    }
    let legacy = u16_at(9)?;
    let mut i = 9 + 2 + 32;
    i += 1 + usize::from(*record.get(i)?); // session id
    i += 2 + usize::from(u16_at(i)?); // cipher suites
    i += 1 + usize::from(*record.get(i)?); // compression methods
    let mut offered = None;
    if let Some(total) = u16_at(i) {
        let end = (i + 2 + usize::from(total)).min(record.len());
        i += 2;
        while i + 4 <= end {
            let (kind, len) = (u16_at(i)?, usize::from(u16_at(i + 2)?));
            if kind == 43 {
                let data = record.get(i + 5..i + 4 + len)?;
                offered = Some(
                    data.chunks_exact(2)
                        .map(|c| u16::from_be_bytes([c[0], c[1]]))
                        .filter(|v| v & 0x0f0f != 0x0a0a)
                        .collect(),
                );
            }
            i += 4 + len;
        }
    }
    Some(offered.unwrap_or_else(|| {
        [0x0304u16, 0x0303, 0x0302, 0x0301]
            .into_iter()
            .filter(|v| *v <= legacy)
            .collect()
    }))
}

/// Go's handshake error text for a rustls error on the server side (what
/// `net/http` logs as `http: TLS handshake error from ADDR: TEXT`).
/// `client_hello` is the client's first record, `tls13` whether the server
/// allows TLS 1.3 (a TLS 1.3 client's alert after the server's flight cannot
/// be decrypted by Go, which then reports a bad record MAC: measured).
pub fn go_handshake_text(err: &rustls::Error, client_hello: &[u8], tls13: bool) -> String {
    use rustls::{AlertDescription as A, Error as E, PeerIncompatible as P};
    match err {
        E::NoCertificatesPresented => "tls: client didn't provide a certificate".into(),
        E::PeerIncompatible(
            P::Tls12NotOffered | P::Tls13RequiredForQuic | P::SupportedVersionsExtensionRequired,
        ) => {
            let versions = offered_versions(client_hello)
                .unwrap_or_default()
                .iter()
                .map(|v| format!("{v:x}"))
                .collect::<Vec<_>>()
                .join(" ");
            format!("tls: client offered only unsupported versions: [{versions}]")
        }
        E::AlertReceived(_) if tls13 => "local error: tls: bad record MAC".into(),
        E::PeerIncompatible(P::NoCipherSuitesInCommon) => {
            "tls: no cipher suite supported by both client and server".into()
        }
        E::PeerIncompatible(_) => format!("tls: {err}"),
        E::AlertReceived(alert) => {
            let name = match alert {
                A::UnknownCA => "unknown certificate authority",
                A::BadCertificate => "bad certificate",
                A::CertificateExpired => "expired certificate",
                A::CertificateUnknown => "unknown certificate",
                A::HandshakeFailure => "handshake failure",
                A::ProtocolVersion => "protocol version not supported",
                A::DecryptError => "error decrypting message",
                _ => return format!("remote error: tls: {alert:?}"),
            };
            format!("remote error: tls: {name}")
        }
        other => format!("tls: {other}"),
    }
}

/// Go's `matchHostnames`: case-insensitive, one trailing dot ignored, a `*`
/// as the whole first label matches exactly one label.
fn go_match_hostnames(pattern: &str, host: &str) -> bool {
    let pattern = pattern.to_ascii_lowercase();
    let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    if pattern.is_empty() || host.is_empty() {
        return false;
    }
    let (p, h): (Vec<&str>, Vec<&str>) = (pattern.split('.').collect(), host.split('.').collect());
    p.len() == h.len()
        && p.iter()
            .zip(&h)
            .enumerate()
            .all(|(i, (p, h))| (i == 0 && *p == "*") || p == h)
}

/// Go's `x509.Certificate.VerifyHostname` with the texts of its
/// `HostnameError`: an IP address is matched against IP SANs only, a name
/// against DNS SANs only (never the common name).
pub fn go_verify_hostname(cert: &X509Certificate<'_>, host: &str) -> Result<(), String> {
    use x509_parser::extensions::GeneralName;
    let candidate = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let san = cert.subject_alternative_name().ok().flatten();
    let names: Vec<&GeneralName<'_>> = san
        .as_ref()
        .map(|s| s.value.general_names.iter().collect())
        .unwrap_or_default();
    let dns: Vec<&str> = names
        .iter()
        .filter_map(|n| match n {
            GeneralName::DNSName(d) => Some(*d),
            _ => None,
        })
        .collect();
    let ips: Vec<std::net::IpAddr> = names
        .iter()
        .filter_map(|n| match n {
            GeneralName::IPAddress(b) => match b.len() {
                4 => <[u8; 4]>::try_from(*b).ok().map(std::net::IpAddr::from),
                16 => <[u8; 16]>::try_from(*b).ok().map(|a| {
                    let v6 = std::net::Ipv6Addr::from(a);
                    v6.to_ipv4_mapped()
                        .map_or(std::net::IpAddr::V6(v6), std::net::IpAddr::V4)
                }),
                _ => None,
            },
            _ => None,
        })
        .collect();
    let wanted_ip = candidate.parse::<std::net::IpAddr>().ok();
    let ok = match wanted_ip {
        Some(ip) => ips.contains(&ip),
        None => dns.iter().any(|d| go_match_hostnames(d, candidate)),
    };
    if ok {
        return Ok(());
    }
    let shown = if wanted_ip.is_some() { candidate } else { host };
    let common_name = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .unwrap_or_default();
    if san.is_none() && go_match_hostnames(common_name, shown) {
        return Err(
            "x509: certificate relies on legacy Common Name field, use SANs instead".into(),
        );
    }
    let valid = if wanted_ip.is_some() {
        if ips.is_empty() {
            return Err(format!(
                "x509: cannot validate certificate for {shown} because it doesn't contain any IP SANs"
            ));
        }
        ips.iter()
            .map(|ip| ip.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    } else {
        dns.join(", ")
    };
    if valid.is_empty() {
        return Err(format!(
            "x509: certificate is not valid for any names, but wanted to match {shown}"
        ));
    }
    Err(format!(
        "x509: certificate is valid for {valid}, not {shown}"
    ))
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

/// Go's text for a TLS alert received from the peer (`alert.String()`), as
/// in `remote error: tls: certificate required`.
pub fn go_alert_text(alert: rustls::AlertDescription) -> String {
    use rustls::AlertDescription as A;
    let name = match alert {
        A::CloseNotify => "close notify",
        A::UnexpectedMessage => "unexpected message",
        A::BadRecordMac => "bad record MAC",
        A::HandshakeFailure => "handshake failure",
        A::BadCertificate => "bad certificate",
        A::UnsupportedCertificate => "unsupported certificate",
        A::CertificateRevoked => "revoked certificate",
        A::CertificateExpired => "expired certificate",
        A::CertificateUnknown => "unknown certificate",
        A::IllegalParameter => "illegal parameter",
        A::UnknownCA => "unknown certificate authority",
        A::AccessDenied => "access denied",
        A::DecodeError => "error decoding message",
        A::DecryptError => "error decrypting message",
        A::ProtocolVersion => "protocol version not supported",
        A::InsufficientSecurity => "insufficient security level",
        A::InternalError => "internal error",
        A::CertificateRequired => "certificate required",
        A::NoApplicationProtocol => "no application protocol",
        other => return format!("remote error: tls: alert({})", u8::from(other)),
    };
    format!("remote error: tls: {name}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{CertSpec, PkiSpec};

    #[test]
    fn verifies_like_go() {
        let spec = PkiSpec::new()
            .with("ca", CertSpec::root())
            .with("other", CertSpec::root())
            .with("client", CertSpec::leaf("ca"))
            .with("stranger", CertSpec::leaf("other"))
            .with("old", CertSpec::leaf("ca").with_validity_days(-30, -1));
        let pki = spec.build().unwrap();
        let ca = pki.get("ca").unwrap().cert.to_vec();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let leaf = |n: &str| pki.get(n).unwrap().cert.to_vec();
        assert_eq!(go_verify(&leaf("client"), &[], &[&ca], now), Ok(()));
        assert_eq!(
            go_verify(&leaf("stranger"), &[], &[&ca], now),
            Err(GoVerifyError::UnknownAuthority)
        );
        assert!(matches!(
            go_verify(&leaf("old"), &[], &[&ca], now),
            Err(GoVerifyError::Expired(t)) if t.contains("is after")
        ));
    }

    #[test]
    fn server_names_like_go() {
        let spec = PkiSpec::new()
            .with("ca", CertSpec::root())
            .with("named", CertSpec::leaf("ca").with_sans(["localhost"]))
            .with(
                "both",
                CertSpec::leaf("ca").with_sans(["localhost", "127.0.0.1"]),
            )
            .with(
                "wild",
                CertSpec::leaf("ca").with_sans(["*.example.test", "10.0.0.1"]),
            );
        let pki = spec.build().unwrap();
        let check = |name: &str, host: &str| {
            let der = pki.get(name).unwrap().cert.to_vec();
            let (_, cert) = X509Certificate::from_der(&der).unwrap();
            go_verify_hostname(&cert, host)
        };
        assert_eq!(
            check("named", "127.0.0.1"),
            Err("x509: cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs".into())
        );
        assert_eq!(check("both", "127.0.0.1"), Ok(()));
        assert_eq!(check("both", "LOCALHOST."), Ok(()));
        assert_eq!(check("wild", "api.example.test"), Ok(()));
        assert_eq!(
            check("wild", "127.0.0.1"),
            Err("x509: certificate is valid for 10.0.0.1, not 127.0.0.1".into())
        );
        assert_eq!(
            check("named", "other.test"),
            Err("x509: certificate is valid for localhost, not other.test".into())
        );
    }
}
