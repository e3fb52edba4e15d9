//! Go's `x509.Certificate.Verify` as a TLS peer exercises it: the validity
//! window, the host name against the SANs (`VerifyHostname`), a chain to a
//! root, the extended key usage, each failure with Go's text.

use x509_parser::prelude::{FromDer, X509Certificate};

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
