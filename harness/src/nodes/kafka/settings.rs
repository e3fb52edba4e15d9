//! The gateway's settings, read from its documented environment variables.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::upstream;
use crate::config::EnvMap;
use crate::error::HarnessError;

/// Listener security, by Kafka's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SecurityProtocol {
    /// No TLS, no SASL.
    Plaintext,
    /// TLS, no SASL.
    Ssl,
    /// SASL without TLS.
    SaslPlaintext,
    /// SASL over TLS.
    SaslSsl,
}

impl SecurityProtocol {
    /// Kafka's name (`SASL_SSL`) to the protocol.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "PLAINTEXT" => Self::Plaintext,
            "SSL" => Self::Ssl,
            "SASL_PLAINTEXT" => Self::SaslPlaintext,
            "SASL_SSL" => Self::SaslSsl,
            _ => return None,
        })
    }

    /// True with TLS.
    pub fn tls(self) -> bool {
        matches!(self, Self::Ssl | Self::SaslSsl)
    }

    /// True with SASL.
    pub fn sasl(self) -> bool {
        matches!(self, Self::SaslPlaintext | Self::SaslSsl)
    }
}

/// The defaults tlsmatrix's reference uses when the variables are unset
/// (and warns about, loudly).
pub const DEFAULT_SECRET: &str = "tlsmatrix-default-user-pool-secret";
/// Default master username.
pub const DEFAULT_MASTER_USERNAME: &str = "admin";
/// Default master password.
pub const DEFAULT_MASTER_PASSWORD: &str = "conduktor";

/// The gateway's settings.
#[derive(Debug, Clone)]
pub struct KafkaGatewaySettings {
    /// `GATEWAY_SECURITY_PROTOCOL` (default PLAINTEXT).
    pub(crate) security_protocol: SecurityProtocol,
    /// The listener's certificate chain and key (SSL, SASL_SSL).
    pub(crate) tls: Option<(PathBuf, PathBuf)>,
    /// `GATEWAY_USER_POOL_SECRET_KEY`.
    pub(crate) secret: String,
    /// `JWT_AUTH_MASTER_USERNAME`.
    pub(crate) master_username: String,
    /// `JWT_AUTH_MASTER_PASSWORD`.
    pub(crate) master_password: String,
    /// `GATEWAY_FEATURE_FLAGS_MULTI_TENANCY` (default false).
    pub(crate) multi_tenancy: bool,
    /// Tenants that exist (`orgId-clusterId`), for multi-tenancy.
    pub(crate) tenants: BTreeSet<String>,
    /// The backend's own users (multi-tenancy off: credentials pass through).
    pub(crate) backend_users: BTreeMap<String, String>,
    /// What the operator must hear at start: defaults left in place, a weak secret.
    pub(crate) warnings: Vec<String>,
    /// The Kafka cluster behind the gateway (`KAFKA_*`); none: the in-memory log.
    pub(crate) backend: Option<upstream::BackendSettings>,
    /// `GATEWAY_ADVERTISED_HOST`: the host Metadata answers name (default
    /// `127.0.0.1`), which clients dial (and verify) after bootstrap.
    pub(crate) advertised_host: String,
}

impl KafkaGatewaySettings {
    /// Reads the documented variables from `env`; `source` names them in errors.
    pub fn from_env(source: &str, env: &EnvMap) -> Result<Self, HarnessError> {
        let mut warnings = Vec::new();
        let var = |k: &str| env.get(k).filter(|v| !v.is_empty()).cloned();
        let security_protocol = match var("GATEWAY_SECURITY_PROTOCOL") {
            None => SecurityProtocol::Plaintext,
            Some(v) => SecurityProtocol::parse(&v).ok_or_else(|| {
                HarnessError::invalid(
                    source,
                    "GATEWAY_SECURITY_PROTOCOL",
                    format!("unknown security protocol {v:?}"),
                    "use PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL",
                )
            })?,
        };
        let secret = var("GATEWAY_USER_POOL_SECRET_KEY").unwrap_or_else(|| {
            warnings.push(format!(
                "WARNING: GATEWAY_USER_POOL_SECRET_KEY is not set: tokens are signed with a built-in default ({DEFAULT_SECRET:?}) anyone can read in this source; set a secret of at least 32 random bytes"
            ));
            DEFAULT_SECRET.to_string()
        });
        if secret.len() < 32 && secret != DEFAULT_SECRET {
            warnings.push(format!(
                "WARNING: GATEWAY_USER_POOL_SECRET_KEY has {} bytes; HS256 needs a key of at least 256 bits (32 bytes) (RFC 7518 3.2)",
                secret.len()
            ));
        }
        let master_username =
            var("JWT_AUTH_MASTER_USERNAME").unwrap_or_else(|| DEFAULT_MASTER_USERNAME.into());
        let master_password =
            var("JWT_AUTH_MASTER_PASSWORD").unwrap_or_else(|| DEFAULT_MASTER_PASSWORD.into());
        if master_username == DEFAULT_MASTER_USERNAME && master_password == DEFAULT_MASTER_PASSWORD
        {
            warnings.push(
                "WARNING: JWT_AUTH_MASTER_USERNAME / JWT_AUTH_MASTER_PASSWORD are left at their defaults: anyone who can reach the admin API can mint tokens; set both".to_string(),
            );
        }
        let multi_tenancy = match var("GATEWAY_FEATURE_FLAGS_MULTI_TENANCY").as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(HarnessError::invalid(
                    source,
                    "GATEWAY_FEATURE_FLAGS_MULTI_TENANCY",
                    format!("expected true or false, found {other:?}"),
                    "set it to true or false",
                ))
            }
        };
        Ok(Self {
            security_protocol,
            tls: None,
            secret,
            master_username,
            master_password,
            multi_tenancy,
            tenants: BTreeSet::new(),
            backend_users: BTreeMap::new(),
            warnings,
            backend: upstream::BackendSettings::from_env(source, env)?,
            advertised_host: var("GATEWAY_ADVERTISED_HOST").unwrap_or_else(|| "127.0.0.1".into()),
        })
    }
}
