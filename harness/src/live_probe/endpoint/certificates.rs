//! Reading a served certificate as a reader of `openssl x509 -text` wants
//! it, and checking the served chain: complete, in order, anchored.

use rustls::pki_types::CertificateDer;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate, X509Name};
use x509_parser::public_key::PublicKey;

use super::{Anchors, CertificateFacts, ChainCheck};

pub(super) fn describe(der: &CertificateDer<'_>, now: i64) -> CertificateFacts {
    let Ok((_, cert)) = X509Certificate::from_der(der) else {
        return CertificateFacts {
            subject: "(not a parsable X.509 certificate)".to_string(),
            issuer: String::new(),
            sans: Vec::new(),
            key: String::new(),
            signature: String::new(),
            not_after: String::new(),
            days_to_expiry: 0,
            ca: false,
        };
    };
    let sans = match cert.subject_alternative_name() {
        Ok(Some(ext)) => ext.value.general_names.iter().map(san_text).collect(),
        _ => Vec::new(),
    };
    let not_after = cert.validity().not_after.timestamp();
    CertificateFacts {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        sans,
        key: key_text(&cert),
        signature: oid_text(&cert.signature_algorithm.algorithm),
        not_after: time::OffsetDateTime::from_unix_timestamp(not_after)
            .map(|t| {
                format!(
                    "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
                    t.year(),
                    u8::from(t.month()),
                    t.day(),
                    t.hour(),
                    t.minute(),
                    t.second()
                )
            })
            .unwrap_or_default(),
        days_to_expiry: (not_after - now).div_euclid(86_400),
        ca: cert.is_ca(),
    }
}

pub(super) fn san_text(name: &GeneralName<'_>) -> String {
    match name {
        GeneralName::DNSName(d) => format!("DNS:{d}"),
        GeneralName::IPAddress(ip) => match ip.len() {
            4 => format!(
                "IP:{}",
                std::net::Ipv4Addr::from(<[u8; 4]>::try_from(*ip).unwrap_or_default())
            ),
            16 => format!(
                "IP:{}",
                std::net::Ipv6Addr::from(<[u8; 16]>::try_from(*ip).unwrap_or_default())
            ),
            _ => format!("IP:{}", hex::encode(ip)),
        },
        GeneralName::RFC822Name(m) => format!("email:{m}"),
        GeneralName::URI(u) => format!("URI:{u}"),
        other => format!("{other:?}"),
    }
}

pub(super) fn key_text(cert: &X509Certificate<'_>) -> String {
    let spki = cert.public_key();
    let algorithm = spki.algorithm.algorithm.to_id_string();
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => format!("RSA {}", rsa.key_size()),
        Ok(PublicKey::EC(point)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|oid| match oid.to_id_string().as_str() {
                    "1.2.840.10045.3.1.7" => "P-256".to_string(),
                    "1.3.132.0.34" => "P-384".to_string(),
                    "1.3.132.0.35" => "P-521".to_string(),
                    other => other.to_string(),
                })
                .unwrap_or_else(|| format!("{} bits", point.key_size()));
            format!("ECDSA {curve}")
        }
        _ if algorithm == "1.3.101.112" => "Ed25519".to_string(),
        _ if algorithm == "1.3.101.113" => "Ed448".to_string(),
        Ok(other) => format!("{algorithm} ({} bits)", other.key_size()),
        Err(_) => algorithm,
    }
}

pub(super) fn oid_text(oid: &x509_parser::der_parser::oid::Oid<'_>) -> String {
    x509_parser::objects::oid2sn(oid, x509_parser::objects::oid_registry())
        .map(str::to_string)
        .unwrap_or_else(|_| oid.to_id_string())
}

/// A CA name of a CertificateRequest: DER `Name` (with its SEQUENCE, as Go
/// and rustls send it) or its contents alone.
pub(super) fn name_text(der: &[u8]) -> String {
    if let Ok((_, name)) = X509Name::from_der(der) {
        return name.to_string();
    }
    let mut wrapped = vec![0x30];
    let len = der.len();
    if len < 0x80 {
        wrapped.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        wrapped.push(0x80 | bytes.len() as u8);
        wrapped.extend(bytes);
    }
    wrapped.extend_from_slice(der);
    X509Name::from_der(&wrapped)
        .map(|(_, n)| n.to_string())
        .unwrap_or_else(|_| format!("(unparsable name {})", hex::encode(der)))
}

/// True when `issuer` issued and signed `cert`.
pub(super) fn issued_by(cert: &X509Certificate<'_>, issuer: &X509Certificate<'_>) -> bool {
    cert.issuer().as_raw() == issuer.subject().as_raw()
        && cert.verify_signature(Some(issuer.public_key())).is_ok()
}

pub(super) fn self_signed(cert: &X509Certificate<'_>) -> bool {
    issued_by(cert, cert)
}

pub(super) fn check_chain(chain: &[CertificateDer<'_>], anchors: &Anchors) -> ChainCheck {
    let parsed: Vec<X509Certificate<'_>> = chain
        .iter()
        .filter_map(|c| X509Certificate::from_der(c).ok().map(|(_, x)| x))
        .collect();
    let mut says = Vec::new();
    if parsed.len() != chain.len() {
        says.push("a served certificate does not parse as X.509".to_string());
    }
    let mut in_order = true;
    for (i, pair) in parsed.windows(2).enumerate() {
        if !issued_by(&pair[0], &pair[1]) {
            in_order = false;
            says.push(format!(
                "not in order: certificate #{} ({}) did not issue #{i}",
                i + 1,
                pair[1].subject()
            ));
        }
    }
    let Some(last) = parsed.last() else {
        return ChainCheck {
            in_order,
            complete: false,
            says,
        };
    };
    let complete = if self_signed(last) {
        says.push(format!(
            "ends at a self-signed certificate that is served ({})",
            last.subject()
        ));
        true
    } else {
        let (what, anchor_der): (String, Vec<CertificateDer<'static>>) = match anchors {
            Anchors::Given(path, certs) => (format!("--ca {path}"), certs.clone()),
            Anchors::Unusable(why) => {
                says.push(format!("--ca holds no usable certificate ({why})"));
                (String::new(), Vec::new())
            }
            Anchors::System => (
                "the system roots (give --ca to check against your CA)".to_string(),
                rustls_native_certs::load_native_certs().certs,
            ),
        };
        let anchor_certs: Vec<X509Certificate<'_>> = anchor_der
            .iter()
            .filter_map(|c| X509Certificate::from_der(c).ok().map(|(_, x)| x))
            .collect();
        match anchor_certs.iter().find(|a| issued_by(last, a)) {
            Some(anchor) => {
                says.push(format!(
                    "the last served certificate is issued by {} of {what}",
                    anchor.subject()
                ));
                true
            }
            None if !what.is_empty() => {
                says.push(if last.is_ca() {
                    format!(
                        "incomplete: the last served certificate ({}) is issued by {}, which is neither served nor in {what}",
                        last.subject(),
                        last.issuer()
                    )
                } else {
                    format!(
                        "incomplete: only a leaf is served and its issuer {} is neither served nor in {what}: an intermediate is missing, or the issuer is not trusted",
                        last.issuer()
                    )
                });
                false
            }
            None => false,
        }
    };
    ChainCheck {
        in_order,
        complete,
        says,
    }
}
