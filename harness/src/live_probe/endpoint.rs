//! What the endpoint itself shows, before any client runs: the chain it
//! serves, whether that chain is complete and in order, the TLS versions and
//! ALPN protocols it accepts, and whether it asks for a client certificate
//! (and which CAs it names for one). What testssl.sh and sslyze show first.
//!
//! The handshakes are rustls with a verifier that records the served chain
//! and accepts it (inspection only: nothing is sent over these connections)
//! and a client-certificate resolver that records the CertificateRequest's
//! CA names and presents no certificate. Each finding names the catalogue
//! case it makes likely.

use std::net::SocketAddr;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName};
use serde::Serialize;

mod certificates;
mod handshake;

use certificates::{check_chain, describe, name_text};
use handshake::handshake;

/// Days before expiry from which a certificate is reported as expiring soon.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// One served certificate, as a reader of `openssl x509 -text` wants it.
#[derive(Debug, Clone, Serialize)]
pub struct CertificateFacts {
    /// Subject distinguished name.
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// Subject alternative names (`DNS:`, `IP:`, ...).
    pub sans: Vec<String>,
    /// Key type and size, e.g. `ECDSA P-256` or `RSA 2048`.
    pub key: String,
    /// Signature algorithm, e.g. `ecdsa-with-SHA256`.
    pub signature: String,
    /// End of validity, `YYYY-MM-DD HH:MM:SS UTC`.
    pub not_after: String,
    /// Whole days from now to the end of validity (negative once expired).
    pub days_to_expiry: i64,
    /// Whether the certificate may issue others (basicConstraints CA).
    pub ca: bool,
}

/// Whether the served chain is complete and in order.
#[derive(Debug, Clone, Serialize)]
pub struct ChainCheck {
    /// Each certificate is issued (and signed) by the next one served.
    pub in_order: bool,
    /// The chain reaches a trust anchor: a served self-signed root, or a
    /// certificate of `--ca` (the system roots without `--ca`).
    pub complete: bool,
    /// What was found, in words.
    pub says: Vec<String>,
}

/// One offer (a TLS version or an ALPN protocol) and whether the endpoint took it.
#[derive(Debug, Clone, Serialize)]
pub struct Offer {
    /// What was offered: `TLS 1.3`, `h2`, ...
    pub offered: String,
    /// The endpoint accepted it.
    pub accepted: bool,
    /// Why not, when the handshake ended in an error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The endpoint's CertificateRequest.
#[derive(Debug, Clone, Serialize)]
pub struct ClientCertificateRequest {
    /// The CA names it sends (empty: any CA).
    pub ca_names: Vec<String>,
    /// Whether the handshake fails without a certificate; `None` when that
    /// could not be told within the deadline.
    pub required: Option<bool>,
}

/// A finding and the catalogue case it makes likely.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// What was found, in words.
    pub says: String,
    /// The catalogue case it makes likely, if the catalogue has one.
    pub entry: Option<String>,
    /// That case's title.
    pub title: Option<String>,
}

/// Everything the endpoint showed before the client attempts.
#[derive(Debug, Clone, Serialize)]
pub struct Endpoint {
    /// A TLS handshake reached the server's certificate.
    pub tls: bool,
    /// Why no TLS handshake got that far (a plaintext endpoint, a refused hello).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_tls: Option<String>,
    /// The chain served, leaf first.
    pub chain: Vec<CertificateFacts>,
    /// Whether that chain is complete and in order.
    pub chain_check: Option<ChainCheck>,
    /// TLS 1.3 and TLS 1.2, each offered alone.
    pub versions: Vec<Offer>,
    /// h2 and http/1.1, each offered alone.
    pub alpn: Vec<Offer>,
    /// The CertificateRequest, when the endpoint sent one.
    pub client_certificate: Option<ClientCertificateRequest>,
    /// Findings, each with the catalogue case it makes likely.
    pub findings: Vec<Finding>,
}

/// The trust anchors the chain is checked against.
pub enum Anchors {
    /// The certificates of `--ca` (its path for the text).
    Given(String, Vec<CertificateDer<'static>>),
    /// The `--ca` file could not be read as certificates.
    Unusable(String),
    /// The system roots.
    System,
}

/// Inspects the endpoint at `addr` (`host` for SNI when it is a name).
pub fn inspect(
    addr: SocketAddr,
    host: &str,
    anchors: &Anchors,
    area: &str,
    deadline: Duration,
) -> Endpoint {
    let name = ServerName::try_from(host.to_string())
        .unwrap_or_else(|_| ServerName::IpAddress(addr.ip().into()));
    let both: [&[u8]; 2] = [b"h2", b"http/1.1"];
    let versions = [
        ("TLS 1.3", &rustls::version::TLS13),
        ("TLS 1.2", &rustls::version::TLS12),
    ];
    let mut chain = None;
    let mut request = None;
    let mut required = None;
    let mut best = None;
    let mut first_error = None;
    let mut version_offers = Vec::new();
    for (label, version) in versions {
        let h = handshake(addr, &name, version, &both, deadline);
        if h.reached {
            best.get_or_insert(version);
            if chain.is_none() {
                chain = h.chain.clone();
            }
            if let Some(r) = &h.request {
                request.get_or_insert_with(|| r.clone());
                // Refused after the request (TLS 1.2: before the server's
                // Finished; TLS 1.3: an alert right after): required.
                required = Some(required.unwrap_or(false) || h.error.is_some());
            }
        } else {
            first_error.get_or_insert_with(|| h.error.clone().unwrap_or_default());
        }
        version_offers.push(Offer {
            offered: label.to_string(),
            accepted: h.reached,
            error: (!h.reached).then_some(h.error).flatten(),
        });
    }
    let mut alpn_offers = Vec::new();
    if let Some(version) = best {
        for protocol in both {
            let h = handshake(addr, &name, version, &[protocol], deadline);
            let accepted = h.alpn.as_deref() == Some(protocol);
            alpn_offers.push(Offer {
                offered: String::from_utf8_lossy(protocol).into_owned(),
                accepted,
                error: if accepted || h.error.is_none() {
                    (!accepted).then(|| "the server chose no protocol".to_string())
                } else {
                    h.error
                },
            });
        }
    }
    let chain_der = chain.unwrap_or_default();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let facts: Vec<CertificateFacts> = chain_der.iter().map(|c| describe(c, now)).collect();
    let chain_check = (!chain_der.is_empty()).then(|| check_chain(&chain_der, anchors));
    let client_certificate = request.map(|names| ClientCertificateRequest {
        ca_names: names.iter().map(|n| name_text(n)).collect(),
        required,
    });
    let mut endpoint = Endpoint {
        tls: best.is_some(),
        no_tls: best.is_none().then(|| first_error.unwrap_or_default()),
        chain: facts,
        chain_check,
        versions: version_offers,
        alpn: alpn_offers,
        client_certificate,
        findings: Vec::new(),
    };
    endpoint.findings = findings(&endpoint, area);
    endpoint
}

/// The catalogue case each kind of finding makes likely, per area. Kept
/// explicit (not looked up by outcome) because an area's catalogue also has
/// cases of the same outcome about another hop (a backend, a token server).
const LIKELY: &[(&str, Likely, &str)] = &[
    (
        "zeebe-client",
        Likely::Untrusted,
        "zeebe-client::unknown-authority",
    ),
    (
        "zeebe-client",
        Likely::Expiry,
        "zeebe-client::certificate-expired",
    ),
    (
        "zeebe-client",
        Likely::NoH2,
        "zeebe-auth::proxy-without-http2",
    ),
    (
        "http-gateway",
        Likely::Untrusted,
        "http-gateway::gateway-not-trusted",
    ),
    (
        "http-gateway",
        Likely::Expiry,
        "http-gateway::gateway-certificate-expired",
    ),
    (
        "http-gateway",
        Likely::ClientCertificate,
        "http-gateway::client-certificate-missing",
    ),
    (
        "kafka-gateway",
        Likely::Untrusted,
        "kafka-gateway::gateway-not-trusted",
    ),
];

/// A kind of finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Likely {
    /// The chain is incomplete, out of order or reaches no anchor.
    Untrusted,
    /// A certificate expired or expires within [`EXPIRY_WARNING_DAYS`].
    Expiry,
    /// A gRPC area and no h2 in ALPN.
    NoH2,
    /// The endpoint asks for a client certificate.
    ClientCertificate,
}

/// The areas whose clients speak gRPC (and so need h2 by ALPN).
const GRPC_AREAS: &[&str] = &["zeebe-client", "zeebe-auth"];

fn finding(area: &str, kind: Likely, says: String) -> Finding {
    let entry = LIKELY
        .iter()
        .find(|(a, k, _)| *a == area && *k == kind)
        .map(|(_, _, id)| id.to_string());
    let title = entry
        .as_deref()
        .and_then(crate::areas::entry)
        .map(|e| e.title.clone());
    Finding { says, entry, title }
}

fn findings(endpoint: &Endpoint, area: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(check) = &endpoint.chain_check {
        let says = match (check.complete, check.in_order) {
            (true, true) => None,
            (false, true) => Some("the served chain is incomplete: clients cannot build a path to a trusted root (a missing intermediate, or a CA they do not have)"),
            (true, false) => Some("the served chain is not in order: strict clients reject it"),
            (false, false) => Some("the served chain is incomplete and not in order"),
        };
        if let Some(says) = says {
            out.push(finding(area, Likely::Untrusted, says.to_string()));
        }
    }
    for (i, c) in endpoint.chain.iter().enumerate() {
        if c.days_to_expiry < 0 {
            out.push(finding(
                area,
                Likely::Expiry,
                format!("certificate #{i} ({}) has expired", c.subject),
            ));
        } else if c.days_to_expiry <= EXPIRY_WARNING_DAYS {
            out.push(finding(
                area,
                Likely::Expiry,
                format!(
                    "certificate #{i} ({}) expires in {} days (within {EXPIRY_WARNING_DAYS})",
                    c.subject, c.days_to_expiry
                ),
            ));
        }
    }
    if GRPC_AREAS.contains(&area)
        && endpoint.tls
        && !endpoint
            .alpn
            .iter()
            .any(|o| o.offered == "h2" && o.accepted)
    {
        out.push(finding(
            area,
            Likely::NoH2,
            "h2 is not accepted by ALPN: gRPC clients cannot negotiate HTTP/2".to_string(),
        ));
    }
    if let Some(request) = &endpoint.client_certificate {
        let names = if request.ca_names.is_empty() {
            "any CA".to_string()
        } else {
            request.ca_names.join("; ")
        };
        let how = match request.required {
            Some(true) => "requires",
            Some(false) => "asks for (optional)",
            None => "asks for",
        };
        out.push(finding(
            area,
            Likely::ClientCertificate,
            format!("the endpoint {how} a client certificate issued by {names}"),
        ));
    }
    out
}

/// The endpoint as text, before the attempts.
pub fn render(endpoint: &Endpoint) -> String {
    let mut out = String::from("\nendpoint\n");
    if let Some(why) = &endpoint.no_tls {
        out.push_str(&format!(
            "  TLS: no handshake reached a certificate ({why})\n"
        ));
        return out;
    }
    out.push_str(&format!(
        "  chain served ({} certificate{}, leaf first):\n",
        endpoint.chain.len(),
        if endpoint.chain.len() == 1 { "" } else { "s" }
    ));
    for (i, c) in endpoint.chain.iter().enumerate() {
        out.push_str(&format!("    #{i} {}\n", c.subject));
        out.push_str(&format!("       issuer:    {}\n", c.issuer));
        if !c.sans.is_empty() {
            out.push_str(&format!("       SANs:      {}\n", c.sans.join(", ")));
        }
        out.push_str(&format!(
            "       key:       {}, signed {}{}\n",
            c.key,
            c.signature,
            if c.ca { ", CA" } else { "" }
        ));
        out.push_str(&format!(
            "       not after: {} ({} days)\n",
            c.not_after, c.days_to_expiry
        ));
    }
    if let Some(check) = &endpoint.chain_check {
        let state = match (check.complete, check.in_order) {
            (true, true) => "complete, in order",
            (false, true) => "INCOMPLETE",
            (true, false) => "NOT IN ORDER",
            (false, false) => "INCOMPLETE, NOT IN ORDER",
        };
        out.push_str(&format!("  chain: {state}\n"));
        for s in &check.says {
            out.push_str(&format!("         {s}\n"));
        }
    }
    let offers = |list: &[Offer]| {
        list.iter()
            .map(|o| format!("{} {}", o.offered, if o.accepted { "yes" } else { "no" }))
            .collect::<Vec<_>>()
            .join(", ")
    };
    out.push_str(&format!("  versions: {}\n", offers(&endpoint.versions)));
    out.push_str(&format!("  ALPN: {}\n", offers(&endpoint.alpn)));
    match &endpoint.client_certificate {
        None => out.push_str("  client certificate: not requested\n"),
        Some(r) => {
            let how = match r.required {
                Some(true) => "required",
                Some(false) => "requested, optional",
                None => "requested",
            };
            out.push_str(&format!("  client certificate: {how}\n"));
            if r.ca_names.is_empty() {
                out.push_str("    CA names: none sent (any CA)\n");
            }
            for n in &r.ca_names {
                out.push_str(&format!("    CA name: {n}\n"));
            }
        }
    }
    if !endpoint.findings.is_empty() {
        out.push_str("  findings:\n");
        for f in &endpoint.findings {
            out.push_str(&format!("    - {}\n", f.says));
            match (&f.entry, &f.title) {
                (Some(e), Some(t)) => out.push_str(&format!("      likely: [{e}] {t}\n")),
                (Some(e), None) => out.push_str(&format!("      likely: [{e}]\n")),
                _ => out.push_str("      likely: no catalogue case of this area\n"),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_likely_case_is_in_its_catalogue() {
        for (area, _, id) in LIKELY {
            crate::areas::find(area).unwrap();
            assert!(crate::areas::entry(id).is_some(), "{id}");
        }
    }

    fn endpoint(alpn_h2: bool, days: i64, request: bool) -> Endpoint {
        Endpoint {
            tls: true,
            no_tls: None,
            chain: vec![CertificateFacts {
                subject: "CN=leaf".into(),
                issuer: "CN=ca".into(),
                sans: vec![],
                key: "ECDSA P-256".into(),
                signature: "ecdsa-with-SHA256".into(),
                not_after: String::new(),
                days_to_expiry: days,
                ca: false,
            }],
            chain_check: None,
            versions: vec![],
            alpn: vec![Offer {
                offered: "h2".into(),
                accepted: alpn_h2,
                error: None,
            }],
            client_certificate: request.then(|| ClientCertificateRequest {
                ca_names: vec!["CN=ca".into()],
                required: Some(true),
            }),
            findings: vec![],
        }
    }

    fn entries(e: &Endpoint, area: &str) -> Vec<Option<String>> {
        findings(e, area).into_iter().map(|f| f.entry).collect()
    }

    #[test]
    fn findings_name_the_likely_case_of_the_area() {
        assert!(entries(&endpoint(true, 200, false), "zeebe-client").is_empty());
        assert_eq!(
            entries(&endpoint(false, 200, false), "zeebe-client"),
            [Some("zeebe-auth::proxy-without-http2".to_string())]
        );
        // h2 matters to gRPC areas only.
        assert!(entries(&endpoint(false, 200, false), "http-gateway").is_empty());
        for days in [-1, 0, 30] {
            assert_eq!(
                entries(&endpoint(true, days, false), "zeebe-client"),
                [Some("zeebe-client::certificate-expired".to_string())],
                "{days}"
            );
        }
        assert!(entries(&endpoint(true, 31, false), "zeebe-client").is_empty());
        assert_eq!(
            entries(&endpoint(true, 200, true), "http-gateway"),
            [Some("http-gateway::client-certificate-missing".to_string())]
        );
        // Zeebe's catalogue has no client-certificate case: shown, unlinked.
        assert_eq!(entries(&endpoint(true, 200, true), "zeebe-client"), [None]);
    }

    #[test]
    fn ca_names_read_with_or_without_their_sequence() {
        use x509_parser::prelude::{FromDer, X509Certificate};
        let spec = crate::pki::PkiSpec::new().with("ca", crate::pki::CertSpec::root());
        let pki = spec.build().unwrap();
        let der = pki.get("ca").unwrap().cert.to_vec();
        let (_, cert) = X509Certificate::from_der(&der).unwrap();
        let raw = cert.subject().as_raw();
        assert_eq!(name_text(raw), "CN=tlsmatrix ca, O=tlsmatrix");
        // The contents alone (a SEQUENCE of short length: tag, length, body).
        assert_eq!(name_text(&raw[2..]), "CN=tlsmatrix ca, O=tlsmatrix");
    }
}
