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

mod alert_rewrite;
mod texts;
mod verifiers;
mod verify;

pub use alert_rewrite::AlertRewrite;
pub use texts::{go_alert_text, go_handshake_text, offered_versions};
pub use verifiers::{GoClientCertResolver, GoClientVerifier, GoServerVerifier};
pub use verify::{go_verify, go_verify_for, go_verify_hostname, GoVerifyError};

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
