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

use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::ResolvesClientCert;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme, SupportedProtocolVersion};
use serde::Serialize;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate, X509Name};
use x509_parser::public_key::PublicKey;

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

/// What one handshake saw.
#[derive(Default)]
struct Seen {
    chain: Option<Vec<CertificateDer<'static>>>,
    request: Option<Vec<Vec<u8>>>,
}

#[derive(Debug)]
struct Recorder {
    seen: Mutex<Seen>,
    provider: Arc<CryptoProvider>,
}

impl std::fmt::Debug for Seen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Seen").finish_non_exhaustive()
    }
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let chain = std::iter::once(end_entity)
            .chain(intermediates)
            .map(|c| c.clone().into_owned())
            .collect();
        if let Ok(mut seen) = self.seen.lock() {
            seen.chain = Some(chain);
        }
        // Inspection only: whatever is served is shown, not trusted.
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
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

impl ResolvesClientCert for Recorder {
    fn resolve(
        &self,
        root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        if let Ok(mut seen) = self.seen.lock() {
            seen.request = Some(root_hint_subjects.iter().map(|s| s.to_vec()).collect());
        }
        // Present none: the request itself is what is shown.
        None
    }

    fn has_certs(&self) -> bool {
        // True so that rustls keeps what it needs to answer a CertificateRequest.
        true
    }
}

/// One handshake's result.
struct Handshake {
    /// The ServerHello chose the offered version (the server's certificate came).
    reached: bool,
    /// The handshake completed.
    completed: bool,
    alpn: Option<Vec<u8>>,
    chain: Option<Vec<CertificateDer<'static>>>,
    request: Option<Vec<Vec<u8>>>,
    /// The handshake's error, or the alert that followed a completed one.
    error: Option<String>,
}

fn handshake(
    addr: SocketAddr,
    name: &ServerName<'static>,
    version: &'static SupportedProtocolVersion,
    alpn: &[&[u8]],
    deadline: Duration,
) -> Handshake {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let recorder = Arc::new(Recorder {
        seen: Mutex::new(Seen::default()),
        provider: provider.clone(),
    });
    let mut result = Handshake {
        reached: false,
        completed: false,
        alpn: None,
        chain: None,
        request: None,
        error: None,
    };
    let config = match rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[version])
    {
        Ok(builder) => builder
            .dangerous()
            .with_custom_certificate_verifier(recorder.clone())
            .with_client_cert_resolver(recorder.clone()),
        Err(e) => {
            result.error = Some(e.to_string());
            return result;
        }
    };
    let mut config = config;
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let outcome = (|| -> Result<rustls::ClientConnection, String> {
        let mut conn = rustls::ClientConnection::new(Arc::new(config), name.clone())
            .map_err(|e| e.to_string())?;
        let mut sock = TcpStream::connect_timeout(&addr, deadline).map_err(|e| e.to_string())?;
        sock.set_read_timeout(Some(deadline))
            .and_then(|()| sock.set_write_timeout(Some(deadline)))
            .map_err(|e| e.to_string())?;
        let failure = drive_handshake(&mut conn, &mut sock);
        result.alpn = conn.alpn_protocol().map(<[u8]>::to_vec);
        if let Some(failure) = failure {
            return Err(failure);
        }
        result.completed = true;
        // A server that asked for a certificate and requires one says so
        // right after the handshake (TLS 1.3: an alert instead of data).
        if recorder.seen.lock().is_ok_and(|s| s.request.is_some()) {
            result.error = alert_after_handshake(&mut conn, &mut sock, deadline)?;
        }
        Ok(conn)
    })();
    if let Err(e) = outcome {
        result.error = Some(e);
    }
    if let Ok(mut seen) = recorder.seen.lock() {
        result.chain = seen.chain.take();
        result.request = seen.request.take();
    }
    result.reached = result.chain.is_some() || result.completed;
    result
}

/// Runs the handshake to its end; what ended it early, if anything.
fn drive_handshake(conn: &mut rustls::ClientConnection, sock: &mut TcpStream) -> Option<String> {
    while conn.is_handshaking() {
        match conn.complete_io(sock) {
            Ok((0, 0)) if conn.is_handshaking() => {
                return Some("the server closed the connection".to_string());
            }
            Ok(_) => {}
            Err(e) => return Some(io_text(&e)),
        }
    }
    None
}

/// After a completed handshake in which the server asked for a client
/// certificate: the alert (TLS 1.3 sends it instead of data) of a server
/// that requires one, read within 2 s at most.
fn alert_after_handshake(
    conn: &mut rustls::ClientConnection,
    sock: &mut TcpStream,
    deadline: Duration,
) -> Result<Option<String>, String> {
    sock.set_read_timeout(Some(deadline.min(Duration::from_secs(2))))
        .map_err(|e| e.to_string())?;
    match conn.complete_io(sock) {
        Err(e) if !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            Ok(Some(io_text(&e)))
        }
        _ => {
            let mut buf = [0u8; 1];
            match conn.reader().read(&mut buf) {
                Err(e) if e.kind() != ErrorKind::WouldBlock => Ok(Some(io_text(&e))),
                _ => Ok(None),
            }
        }
    }
}

fn io_text(e: &std::io::Error) -> String {
    match e.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => "no answer within the deadline".to_string(),
        _ => e.to_string(),
    }
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

fn describe(der: &CertificateDer<'_>, now: i64) -> CertificateFacts {
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

fn san_text(name: &GeneralName<'_>) -> String {
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

fn key_text(cert: &X509Certificate<'_>) -> String {
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

fn oid_text(oid: &x509_parser::der_parser::oid::Oid<'_>) -> String {
    x509_parser::objects::oid2sn(oid, x509_parser::objects::oid_registry())
        .map(str::to_string)
        .unwrap_or_else(|_| oid.to_id_string())
}

/// A CA name of a CertificateRequest: DER `Name` (with its SEQUENCE, as Go
/// and rustls send it) or its contents alone.
fn name_text(der: &[u8]) -> String {
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
fn issued_by(cert: &X509Certificate<'_>, issuer: &X509Certificate<'_>) -> bool {
    cert.issuer().as_raw() == issuer.subject().as_raw()
        && cert.verify_signature(Some(issuer.public_key())).is_ok()
}

fn self_signed(cert: &X509Certificate<'_>) -> bool {
    issued_by(cert, cert)
}

fn check_chain(chain: &[CertificateDer<'_>], anchors: &Anchors) -> ChainCheck {
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
