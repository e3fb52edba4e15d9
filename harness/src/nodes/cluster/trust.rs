//! How a cluster node verifies the node it dials, as Zeebe's messaging client
//! does: the certificates of the node's own chain file (or of its keystore's
//! first entry, from 8.6.0) are the whole trust store; no host name check; no
//! client certificate (not mTLS).
//!
//! Trust: `NettyMessagingService.loadClientSslContext` calls
//! `SslContextBuilder.forClient().trustManager(certificateChain)` (8.6.0 on,
//! with a keystore: `trustManager(TlsConfigUtil.getCertificateChain(...))`).
//! Netty builds a trust manager factory over a key store holding only those
//! certificates, so neither the JVM's default trust store (`cacerts`,
//! `javax.net.ssl.trustStore`) nor the system roots are consulted, whatever
//! the seed's "default Java trust store ... configurable via
//! `javax.net.ssl.trustStore`" says. Measured with the cluster-tls probe
//! (Netty 4.1.122 + tcnative 2.0.72, JDK 17) in
//! `harness/tests/cluster_oracle.rs::jvm_trust_store_is_not_consulted`: a
//! leaf-only chain stays untrusted with the CA in a `javax.net.ssl.trustStore`,
//! and a trust store path that does not exist or a wrong trust store password
//! changes nothing. The seed's sentence is the documented statement
//! `zeebe-cluster::doc-jvm-truststore` (`tlsmatrix drift`).
//!
//! Host names: Zeebe's `NettyMessagingService.loadClientSslContext` builds
//! `SslContextBuilder.forClient().trustManager(certificateChain)` and its client
//! channel initializer calls `clientSslContext.newHandler(channel.alloc())`, with
//! no peer host and no `endpointIdentificationAlgorithm` (source read via
//! camunda/camunda `atomix/cluster/src/main/java/io/atomix/cluster/messaging/impl/NettyMessagingService.java`).
//! On Netty 4.1 endpoint identification is off unless set (netty/netty#14174:
//! "the default endpoint identification algorithm default remains unchanged in
//! 4.1, where it is disabled"), so the nodes check the chain but not the name.
//! Netty 4.2 turned the default to `HTTPS` (netty/netty#14127); a Zeebe built
//! on Netty 4.2 without an explicit setting would behave differently: that is
//! for the Netty oracle to settle.
//!
//! X.509 v1 certificates (what the seed's openssl recipe makes) are accepted:
//! the path is built with x509-parser (issuer by subject and signature), not
//! webpki, which refuses v1 leaves.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, SubjectPublicKeyInfoDer, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error, SignatureScheme};
use x509_parser::prelude::{FromDer, X509Certificate};

/// How long a path may be, leaf to anchor.
const MAX_PATH: usize = 8;

/// A server-certificate verifier trusting a chain file's certificates (and
/// nothing else), without a host name check.
#[derive(Debug)]
pub struct ChainTrust {
    anchors: Vec<CertificateDer<'static>>,
    provider: Arc<CryptoProvider>,
}

impl ChainTrust {
    /// Trusts `chain` (every certificate in it), and only that.
    pub fn new(chain: Vec<CertificateDer<'static>>, provider: Arc<CryptoProvider>) -> Self {
        Self {
            anchors: chain,
            provider,
        }
    }
}

fn parse(der: &[u8]) -> Option<X509Certificate<'_>> {
    X509Certificate::from_der(der).ok().map(|(_, c)| c)
}

fn signed_by(cert: &X509Certificate<'_>, issuer: &X509Certificate<'_>) -> bool {
    cert.issuer().as_raw() == issuer.subject().as_raw()
        && cert.verify_signature(Some(issuer.public_key())).is_ok()
}

/// Checks that `presented` (leaf first) leads to a trusted certificate. A
/// certificate that is itself trusted ends the path (the JDK's PKIX validator
/// does the same with a trust store entry found in the chain).
pub fn verify_path(
    presented: &[&[u8]],
    anchors: &[CertificateDer<'_>],
    now: i64,
) -> Result<(), CertificateError> {
    let parsed: Vec<X509Certificate<'_>> = presented
        .iter()
        .map(|der| parse(der).ok_or(CertificateError::BadEncoding))
        .collect::<Result<_, _>>()?;
    let is_anchor = |der: &[u8]| anchors.iter().any(|a| a.as_ref() == der);
    let mut current = parsed.first().ok_or(CertificateError::BadEncoding)?;
    // A trusted certificate carrying the issuer's name but not its key: the
    // JDK picks it as the anchor by name and fails on the signature ("signature
    // check failed", measured with the openssl recipe, whose certificates all
    // share one name).
    let mut name_only_anchor = false;
    for _ in 0..MAX_PATH {
        if is_anchor(current.as_ref()) {
            return Ok(());
        }
        let validity = current.validity();
        if now > validity.not_after.timestamp() {
            return Err(CertificateError::Expired);
        }
        if now < validity.not_before.timestamp() {
            return Err(CertificateError::NotValidYet);
        }
        let same_name: Vec<X509Certificate<'_>> = anchors
            .iter()
            .filter_map(|a| parse(a.as_ref()))
            .filter(|a| {
                a.as_ref() != current.as_ref() && current.issuer().as_raw() == a.subject().as_raw()
            })
            .collect();
        if same_name.iter().any(|a| signed_by(current, a)) {
            return Ok(());
        }
        name_only_anchor |= !same_name.is_empty();
        match parsed
            .iter()
            .find(|c| c.as_ref() != current.as_ref() && signed_by(current, c))
        {
            Some(next) => current = next,
            None => break,
        }
    }
    Err(if name_only_anchor {
        CertificateError::BadSignature
    } else {
        CertificateError::UnknownIssuer
    })
}

impl ServerCertVerifier for ChainTrust {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let presented: Vec<&[u8]> = std::iter::once(end_entity.as_ref())
            .chain(intermediates.iter().map(|c| c.as_ref()))
            .collect();
        verify_path(&presented, &self.anchors, now.as_secs() as i64)
            .map(|()| ServerCertVerified::assertion())
            .map_err(Error::InvalidCertificate)
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        // The messaging transport is TLS 1.3 only; 1.2 is never negotiated.
        Err(Error::General(
            "TLS 1.2 is not offered by the cluster transport".to_string(),
        ))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        // The leaf's raw SPKI: rustls' own helper would re-parse the leaf with
        // webpki, which refuses X.509 v1.
        let spki = parse(cert.as_ref())
            .map(|c| c.public_key().raw.to_vec())
            .ok_or(Error::InvalidCertificate(CertificateError::BadEncoding))?;
        rustls::crypto::verify_tls13_signature_with_raw_key(
            message,
            &SubjectPublicKeyInfoDer::from(spki.as_slice()),
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::verify_path;
    use crate::pki::{CertSpec, Defect, Pki, PkiSpec};
    use rustls::CertificateError;

    fn pki() -> Pki {
        PkiSpec::new()
            .with("ca", CertSpec::root())
            .with("other-ca", CertSpec::root())
            .with("int", CertSpec::intermediate("ca"))
            .with("leaf", CertSpec::leaf("ca"))
            .with("via-int", CertSpec::leaf("int"))
            .with("expired", CertSpec::leaf("ca").with_defect(Defect::Expired))
            .build()
            .unwrap()
    }

    fn der<'a>(pki: &'a Pki, name: &str) -> &'a [u8] {
        pki.get(name).unwrap().cert.as_ref()
    }

    fn now() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    #[test]
    fn trusts_what_the_chain_file_leads_to() {
        let p = pki();
        let ca = p.get("ca").unwrap().cert.clone();
        let other = p.get("other-ca").unwrap().cert.clone();
        let leaf = p.get("leaf").unwrap().cert.clone();
        // Issued by an anchor.
        assert_eq!(
            verify_path(&[der(&p, "leaf")], std::slice::from_ref(&ca), now()),
            Ok(())
        );
        // The presented certificate is itself in the chain file (a shared leaf).
        assert_eq!(verify_path(&[der(&p, "leaf")], &[leaf], now()), Ok(()));
        // Another root only.
        assert_eq!(
            verify_path(&[der(&p, "leaf")], &[other], now()),
            Err(CertificateError::UnknownIssuer)
        );
        // Through a presented intermediate, or one only the verifier has.
        assert_eq!(
            verify_path(
                &[der(&p, "via-int"), der(&p, "int")],
                std::slice::from_ref(&ca),
                now()
            ),
            Ok(())
        );
        let int = p.get("int").unwrap().cert.clone();
        assert_eq!(verify_path(&[der(&p, "via-int")], &[int], now()), Ok(()));
        assert_eq!(
            verify_path(&[der(&p, "via-int")], std::slice::from_ref(&ca), now()),
            Err(CertificateError::UnknownIssuer)
        );
        // Validity is checked, host names are not (these leaves have no SAN).
        assert_eq!(
            verify_path(&[der(&p, "expired")], &[ca], now()),
            Err(CertificateError::Expired)
        );
    }
}
