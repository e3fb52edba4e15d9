//! Go's texts: the handshake errors `net/http` logs, the alerts as Go
//! names them, and the versions a ClientHello offers as Go reads them.

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
