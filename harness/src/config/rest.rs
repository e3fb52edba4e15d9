//! The gateway's REST server (Zeebe 8.5.0 and later): Spring Boot's own web
//! server, configured with Spring's common `server.*` properties, apart from
//! gRPC's `zeebe.gateway.security.*` (facts and sources:
//! [`crate::version::REST_SINCE`]).
//!
//! ```yaml
//! server:
//!   port: 8080                 # SERVER_PORT (Spring's default)
//!   address: 127.0.0.1         # SERVER_ADDRESS (default: every interface)
//!   ssl:
//!     enabled: true            # SERVER_SSL_ENABLED
//!     certificate: rest.pem    # SERVER_SSL_CERTIFICATE
//!     certificate-private-key: rest.key   # SERVER_SSL_CERTIFICATEPRIVATEKEY
//! ```

use std::path::{Path, PathBuf};

use super::Properties;
use crate::error::HarnessError;

/// Spring Boot's default `server.port`.
pub const DEFAULT_REST_PORT: u16 = 8080;

/// The keys under `server.ssl` the reference reads (the PEM pair), and the
/// key-store ones it recognises to refuse them by name.
const SSL_KEYS: &[&str] = &[
    "server.ssl.enabled",
    "server.ssl.certificate",
    "server.ssl.certificate-private-key",
    "server.ssl.key-store",
    "server.ssl.bundle",
];

/// TLS of the REST server (`server.ssl.*`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RestSsl {
    /// `server.ssl.enabled`. Spring Boot's `Ssl.enabled` defaults to true
    /// once any `server.ssl` key binds, so a certificate and key alone turn
    /// TLS on (spring-boot 3.x `Ssl`, `Ssl.isEnabled`).
    pub(crate) enabled: bool,
    /// `server.ssl.certificate`: the PEM chain, leaf first (a `file:` prefix
    /// is Spring's resource syntax and is dropped), against the working
    /// directory.
    pub(crate) certificate: Option<PathBuf>,
    /// `server.ssl.certificate-private-key`: the PEM private key.
    pub(crate) certificate_private_key: Option<PathBuf>,
    /// `server.ssl.key-store` or `server.ssl.bundle` is set: a store or bundle
    /// the reference does not read (refused with the key named).
    pub(crate) store: Option<String>,
}

/// The REST server's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestSettings {
    /// `server.address` (Spring's default: every interface).
    pub(crate) host: String,
    /// `server.port` (Spring's default 8080).
    pub(crate) port: u16,
    /// `server.ssl.*`.
    pub(crate) ssl: RestSsl,
    /// Where the settings came from, for messages.
    pub(crate) source: String,
}

impl RestSettings {
    /// The same settings with `server.ssl` on, serving the PEM `certificate`
    /// (leaf first) and `certificate-private-key`.
    pub fn with_tls(mut self, certificate: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.ssl = RestSsl {
            enabled: true,
            certificate: Some(certificate.into()),
            certificate_private_key: Some(key.into()),
            store: None,
        };
        self
    }

    /// The same settings listening on `host:port` (port 0 picks a free port).
    pub fn with_address(mut self, host: &str, port: u16) -> Self {
        self.host = host.to_string();
        self.port = port;
        self
    }

    /// `server.address`.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// `server.port` (0: a free port is picked at start).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// True when `server.ssl` is on.
    pub fn tls(&self) -> bool {
        self.ssl.enabled
    }

    /// A plaintext REST server on `127.0.0.1` with a free port.
    pub fn plaintext() -> Self {
        Self {
            host: "127.0.0.1".to_string(),
            port: 0,
            ssl: RestSsl::default(),
            source: "tlsmatrix".to_string(),
        }
    }

    /// True when any `server.*` key the REST server reads is configured:
    /// `server.port`, `server.address` or a `server.ssl` key.
    pub fn configured(props: &Properties) -> Result<bool, HarnessError> {
        for key in ["server.port", "server.address"].iter().chain(SSL_KEYS) {
            if props.get(key)?.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Reads `server.*` from properties (YAML plus `SERVER_*` variables),
    /// resolving paths against `workdir`.
    pub fn from_properties(props: &Properties, workdir: &Path) -> Result<Self, HarnessError> {
        let path = |key: &str| -> Result<Option<PathBuf>, HarnessError> {
            Ok(props.string(key)?.map(|s| {
                let s = s.strip_prefix("file:").unwrap_or(&s).to_string();
                workdir.join(s)
            }))
        };
        let mut bound = false;
        for key in SSL_KEYS {
            bound |= props.get(key)?.is_some();
        }
        let store = match props.string("server.ssl.key-store")? {
            Some(s) => Some(format!("server.ssl.key-store: {s}")),
            None => props
                .string("server.ssl.bundle")?
                .map(|s| format!("server.ssl.bundle: {s}")),
        };
        let settings = Self {
            host: props
                .string("server.address")?
                .unwrap_or_else(|| "0.0.0.0".to_string()),
            port: props.port("server.port", DEFAULT_REST_PORT)?,
            ssl: RestSsl {
                enabled: props.bool("server.ssl.enabled", bound)?,
                certificate: path("server.ssl.certificate")?,
                certificate_private_key: path("server.ssl.certificate-private-key")?,
                store,
            },
            source: props.source().to_string(),
        };
        settings.validate()?;
        Ok(settings)
    }

    /// A TLS REST server needs its certificate and key (the reference reads
    /// the PEM pair only).
    fn validate(&self) -> Result<(), HarnessError> {
        if !self.ssl.enabled {
            return Ok(());
        }
        if let Some(store) = &self.ssl.store {
            return Err(HarnessError::invalid(
                &self.source,
                "server.ssl.key-store",
                format!("the reference REST server reads PEM files only ({store})"),
                "give server.ssl.certificate and server.ssl.certificate-private-key (SERVER_SSL_CERTIFICATE, SERVER_SSL_CERTIFICATEPRIVATEKEY) instead",
            ));
        }
        for (key, var, value) in [
            (
                "server.ssl.certificate",
                "SERVER_SSL_CERTIFICATE",
                &self.ssl.certificate,
            ),
            (
                "server.ssl.certificate-private-key",
                "SERVER_SSL_CERTIFICATEPRIVATEKEY",
                &self.ssl.certificate_private_key,
            ),
        ] {
            if value.is_none() {
                return Err(HarnessError::invalid(
                    &self.source,
                    key,
                    "REST TLS is enabled (server.ssl) but this file is not configured",
                    format!(
                        "set {key} (or {var}) to the PEM file, or turn REST TLS off with server.ssl.enabled: false"
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EnvMap;

    fn read(yaml: &str, env: &[(&str, &str)]) -> Result<RestSettings, HarnessError> {
        let env: EnvMap = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let props = Properties::from_yaml("g.yaml", yaml, env)?;
        RestSettings::from_properties(&props, Path::new("/w"))
    }

    #[test]
    fn defaults_are_springs() {
        let s = read("", &[]).expect("defaults");
        assert_eq!(
            (s.host.as_str(), s.port, s.ssl.enabled),
            ("0.0.0.0", 8080, false)
        );
    }

    #[test]
    fn pem_keys_and_their_variables_are_read_and_turn_tls_on() {
        let s = read(
            "server:\n  ssl:\n    certificate: file:rest.pem\n    certificate-private-key: rest.key\n",
            &[],
        )
        .expect("a PEM pair");
        assert!(
            s.ssl.enabled,
            "Spring's Ssl.enabled defaults to true once bound"
        );
        assert_eq!(s.ssl.certificate, Some(PathBuf::from("/w/rest.pem")));
        let e = read(
            "",
            &[
                ("SERVER_SSL_ENABLED", "true"),
                ("SERVER_SSL_CERTIFICATE", "/a/c.pem"),
                ("SERVER_SSL_CERTIFICATEPRIVATEKEY", "k.pem"),
                ("SERVER_PORT", "8443"),
            ],
        )
        .expect("from the environment");
        assert_eq!(e.port, 8443);
        assert_eq!(
            e.ssl.certificate_private_key,
            Some(PathBuf::from("/w/k.pem"))
        );
        let off = read("server.ssl: { enabled: false, certificate: c.pem }\n", &[]).expect("off");
        assert!(!off.ssl.enabled);
    }

    #[test]
    fn tls_without_a_key_names_the_key_and_variable() {
        let err = read("server.ssl: { enabled: true, certificate: c.pem }\n", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("server.ssl.certificate-private-key"), "{err}");
        assert!(err.contains("SERVER_SSL_CERTIFICATEPRIVATEKEY"), "{err}");
    }
}
