//! The inspection handshake: rustls with a verifier that records the served
//! chain and accepts it, and a client-certificate resolver that records the
//! CertificateRequest's CA names and presents no certificate.

use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::ResolvesClientCert;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme, SupportedProtocolVersion};

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
pub(super) struct Handshake {
    /// The ServerHello chose the offered version (the server's certificate came).
    pub(super) reached: bool,
    /// The handshake completed.
    pub(super) completed: bool,
    pub(super) alpn: Option<Vec<u8>>,
    pub(super) chain: Option<Vec<CertificateDer<'static>>>,
    pub(super) request: Option<Vec<Vec<u8>>>,
    /// The handshake's error, or the alert that followed a completed one.
    pub(super) error: Option<String>,
}

pub(super) fn handshake(
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
