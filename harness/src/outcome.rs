//! What the system under test did: a closed set of connection outcomes.
//!
//! Every observation is classified into exactly one [`Outcome`] by the case
//! catalogue; the raw text is kept beside it (see [`crate::peers::Observation`]),
//! so tests assert on the outcome and snapshot the text.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The outcome of one connection attempt. Written in scenario files by its
/// [`id`](Outcome::id): `connected(1)`, `unknown-authority`, ...
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[non_exhaustive]
pub enum Outcome {
    /// The request succeeded; the answer listed this many brokers.
    #[error("connected; the topology lists {brokers} broker(s)")]
    Connected {
        /// Brokers in the topology answer.
        brokers: u32,
    },
    /// The client spoke TLS to a server expecting plaintext ("first record does
    /// not look like a TLS handshake").
    #[error("the client spoke TLS, the server expected plaintext")]
    TlsClientPlaintextServer,
    /// The client spoke plaintext (HTTP/2 preface) to a TLS server, which closed
    /// the connection ("error reading server preface").
    #[error("the client spoke plaintext, the server expected TLS")]
    PlaintextClientTlsServer,
    /// The server's chain does not lead to a CA the client trusts.
    #[error("the server's certificate is signed by an authority the client does not trust")]
    UnknownAuthority,
    /// The server's certificate is not valid for the name or address dialled.
    #[error("the server's certificate is not valid for the host name the client dialled")]
    HostnameMismatch,
    /// The server's certificate (or one in its chain) has expired.
    #[error("the server's certificate has expired")]
    CertificateExpired,
    /// The server's certificate (or one in its chain) is not valid yet.
    #[error("the server's certificate is not valid yet")]
    CertificateNotYetValid,
    /// The client's CA file does not exist.
    #[error("the client's CA certificate file does not exist")]
    CaFileMissing,
    /// The client's CA file holds no usable certificate.
    #[error("the client's CA certificate file holds no usable certificate")]
    CaFileUnusable,
    /// The server demanded a client certificate and got none it accepted.
    #[error("the server requires a client certificate")]
    ClientCertificateRequired,
    /// The server rejected the client certificate it was sent.
    #[error("the server rejected the client's certificate")]
    ClientCertificateRejected,
    /// The two sides share no TLS version or cipher suite.
    #[error("client and server share no TLS version or cipher suite")]
    ProtocolVersionMismatch,
    /// Nothing listens at the address.
    #[error("the connection was refused: nothing listens at the address")]
    ConnectionRefused,
    /// No answer before the deadline.
    #[error("no answer before the deadline")]
    TimedOut,
    /// The node refused its configuration and did not start (what an operator
    /// sees in the node's startup log, not on the client).
    #[error("the node refused its configuration and did not start")]
    NodeStartFailed,
    /// The connection worked but the server does not implement the call.
    #[error("the server does not implement the call")]
    Unimplemented,
    /// The request succeeded and needs no count: an HTTP 2xx answer, a record
    /// round trip (areas whose success is not a topology).
    #[error("the request succeeded")]
    Succeeded,
    /// The gateway answered, but its own call to the service behind it failed
    /// (an HTTP 5xx or gRPC UNAVAILABLE produced by the gateway itself).
    #[error("the gateway answered, but its call to the service behind it failed")]
    UpstreamFailed,
    /// Cluster members see each other (gossip) but requests between some of
    /// them fail: the cluster formed only partly.
    #[error("the cluster formed only partly: some node-to-node links fail")]
    ClusterPartial,
    /// The server refused the caller's credentials (gRPC UNAUTHENTICATED, HTTP
    /// 401, a failed SASL authentication).
    #[error("the server refused the caller's credentials")]
    Unauthenticated,
    /// The caller is known but not allowed to do this (gRPC PERMISSION_DENIED,
    /// HTTP 403).
    #[error("the caller is not allowed to make this call")]
    PermissionDenied,
    /// One side authenticates with SASL and the other does not (Kafka's
    /// `security.protocol` SASL_* on one side only).
    #[error("one side uses SASL authentication and the other does not")]
    SaslMismatch,
    /// The text matched no signature of the catalogue. Never expected by a
    /// scenario: it means the catalogue needs a new entry.
    #[error("the output matched no known signature")]
    Unclassified,
}

impl Outcome {
    /// The short, stable id used in scenario files and reports.
    pub fn id(&self) -> String {
        match self {
            Self::Connected { brokers } => format!("connected({brokers})"),
            Self::TlsClientPlaintextServer => "tls-client-plaintext-server".into(),
            Self::PlaintextClientTlsServer => "plaintext-client-tls-server".into(),
            Self::UnknownAuthority => "unknown-authority".into(),
            Self::HostnameMismatch => "hostname-mismatch".into(),
            Self::CertificateExpired => "certificate-expired".into(),
            Self::CertificateNotYetValid => "certificate-not-yet-valid".into(),
            Self::CaFileMissing => "ca-file-missing".into(),
            Self::CaFileUnusable => "ca-file-unusable".into(),
            Self::ClientCertificateRequired => "client-certificate-required".into(),
            Self::ClientCertificateRejected => "client-certificate-rejected".into(),
            Self::ProtocolVersionMismatch => "protocol-version-mismatch".into(),
            Self::ConnectionRefused => "connection-refused".into(),
            Self::TimedOut => "timed-out".into(),
            Self::NodeStartFailed => "node-start-failed".into(),
            Self::Unimplemented => "unimplemented".into(),
            Self::Succeeded => "succeeded".into(),
            Self::UpstreamFailed => "upstream-failed".into(),
            Self::ClusterPartial => "cluster-partial".into(),
            Self::Unauthenticated => "unauthenticated".into(),
            Self::PermissionDenied => "permission-denied".into(),
            Self::SaslMismatch => "sasl-mismatch".into(),
            Self::Unclassified => "unclassified".into(),
        }
    }

    /// One value of every variant (`connected(1)` standing for `connected(N)`).
    pub fn variants() -> Vec<Outcome> {
        vec![
            Self::Connected { brokers: 1 },
            Self::TlsClientPlaintextServer,
            Self::PlaintextClientTlsServer,
            Self::UnknownAuthority,
            Self::HostnameMismatch,
            Self::CertificateExpired,
            Self::CertificateNotYetValid,
            Self::CaFileMissing,
            Self::CaFileUnusable,
            Self::ClientCertificateRequired,
            Self::ClientCertificateRejected,
            Self::ProtocolVersionMismatch,
            Self::ConnectionRefused,
            Self::TimedOut,
            Self::NodeStartFailed,
            Self::Unimplemented,
            Self::Succeeded,
            Self::UpstreamFailed,
            Self::ClusterPartial,
            Self::Unauthenticated,
            Self::PermissionDenied,
            Self::SaslMismatch,
            Self::Unclassified,
        ]
    }

    /// Every id, with `connected(N)` as a pattern, for help texts.
    pub fn all_ids() -> Vec<String> {
        Self::variants()
            .iter()
            .map(|o| o.id().replace("(1)", "(N)"))
            .collect()
    }

    /// True for a success (a topology answer or any other successful request).
    pub fn is_connected(&self) -> bool {
        matches!(self, Self::Connected { .. } | Self::Succeeded)
    }
}

/// An outcome id that names no outcome.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown outcome {:?}; expected one of: {}", .0, Outcome::all_ids().join(", "))]
pub struct UnknownOutcome(pub String);

impl FromStr for Outcome {
    type Err = UnknownOutcome;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Some(n) = s
            .strip_prefix("connected(")
            .and_then(|r| r.strip_suffix(')'))
        {
            return n
                .parse()
                .map(|brokers| Self::Connected { brokers })
                .map_err(|_| UnknownOutcome(s.to_string()));
        }
        Self::variants()
            .into_iter()
            .find(|o| !matches!(o, Self::Connected { .. }) && o.id() == s)
            .ok_or_else(|| UnknownOutcome(s.to_string()))
    }
}

impl TryFrom<String> for Outcome {
    type Error = UnknownOutcome;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Outcome> for String {
    fn from(value: Outcome) -> Self {
        value.id()
    }
}

#[cfg(test)]
mod tests {
    use super::Outcome;

    #[test]
    fn ids_round_trip() {
        for id in Outcome::all_ids() {
            let id = id.replace("(N)", "(3)");
            assert_eq!(id.parse::<Outcome>().unwrap().id(), id);
        }
        assert!("connected".parse::<Outcome>().is_err());
        assert!("nonsense".parse::<Outcome>().is_err());
    }
}
