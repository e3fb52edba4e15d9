//! Zeebe gateway configuration: the standalone gateway's `zeebe.gateway.*` and a
//! broker's embedded gateway `zeebe.broker.gateway.*`, from YAML plus the
//! environment variables Zeebe binds to the same keys.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{EnvMap, Properties};
use crate::error::HarnessError;

/// Which configuration shape a gateway is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GatewayMode {
    /// A standalone gateway (`gateway.yaml`): keys under `zeebe.gateway`,
    /// variables `ZEEBE_GATEWAY_*`.
    #[default]
    Standalone,
    /// A gateway embedded in a broker (`broker.yaml`): keys under
    /// `zeebe.broker.gateway`, variables `ZEEBE_BROKER_GATEWAY_*`.
    Embedded,
}

impl GatewayMode {
    /// The key prefix of this shape.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Standalone => "zeebe.gateway",
            Self::Embedded => "zeebe.broker.gateway",
        }
    }

    /// The key and variable that choose the gateway's port in this shape.
    pub fn port_setting(self) -> String {
        let key = format!("{}.network.port", self.prefix());
        let var = format!("ZEEBE_{}", key[6..].replace('.', "_").to_uppercase());
        format!("{key} / {var}")
    }
}

/// Zeebe's default gateway port.
pub const DEFAULT_PORT: u16 = 26500;

/// Client-facing TLS of a gateway (`<prefix>.security`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GatewaySecurity {
    /// `security.enabled`: TLS between clients and the gateway.
    pub(crate) enabled: bool,
    /// `security.certificateChainPath`, resolved against the working directory.
    pub(crate) certificate_chain_path: Option<PathBuf>,
    /// `security.privateKeyPath`, resolved against the working directory.
    pub(crate) private_key_path: Option<PathBuf>,
    /// `security.keyStore.filePath` (8.6.0 and later): a PKCS#12 keystore
    /// instead of the two PEM files, resolved against the working directory.
    pub(crate) key_store_path: Option<PathBuf>,
    /// `security.keyStore.password` (none: the store has no password).
    pub(crate) key_store_password: Option<KeyStorePassword>,
}

impl GatewaySecurity {
    /// `security.enabled`.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// `security.certificateChainPath`, resolved.
    pub fn certificate_chain_path(&self) -> Option<&Path> {
        self.certificate_chain_path.as_deref()
    }

    /// `security.privateKeyPath`, resolved.
    pub fn private_key_path(&self) -> Option<&Path> {
        self.private_key_path.as_deref()
    }

    /// `security.keyStore.filePath`, resolved.
    pub fn key_store_path(&self) -> Option<&Path> {
        self.key_store_path.as_deref()
    }
}

/// A keystore password: shown as `[redacted]`, never in a log or a message.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyStorePassword(pub(crate) String);

impl KeyStorePassword {
    /// A keystore password (never shown by `Debug`).
    pub fn new(password: impl Into<String>) -> Self {
        Self(password.into())
    }
}

impl std::fmt::Debug for KeyStorePassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The settings of a gateway that matter for its client-facing transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewaySettings {
    /// The shape the settings were read from.
    pub(crate) mode: GatewayMode,
    /// `network.host` (Zeebe's default `0.0.0.0`).
    pub(crate) host: String,
    /// `network.port` (Zeebe's default 26500).
    pub(crate) port: u16,
    /// `security.*`.
    pub(crate) security: GatewaySecurity,
    /// Where the settings came from, for messages.
    pub(crate) source: String,
    /// The modelled release's runtime (how it reads keys); the newest
    /// modelled release unless a case names another.
    pub(crate) runtime: crate::version::ProductRuntime,
    /// The REST server's `server.*` settings, when any is configured; served
    /// only by a release that has REST ([`crate::version::REST_SINCE`]).
    pub(crate) rest: Option<super::rest::RestSettings>,
}

impl GatewaySettings {
    /// A plaintext standalone gateway on `127.0.0.1` with a free port: the
    /// starting point for library users (`.with_tls(..)`, `.with_address(..)`).
    pub fn plaintext() -> Self {
        Self {
            mode: GatewayMode::Standalone,
            host: "127.0.0.1".to_string(),
            port: 0,
            security: GatewaySecurity::default(),
            source: "tlsmatrix".to_string(),
            runtime: crate::version::ProductRuntime::default(),
            rest: None,
        }
    }

    /// The same settings with a REST server (release 8.5.0 and later).
    pub fn with_rest(mut self, rest: super::rest::RestSettings) -> Self {
        self.rest = Some(rest);
        self
    }

    /// The same settings with TLS on, serving `chain` (leaf first) and `key`.
    pub fn with_tls(mut self, chain: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.security = GatewaySecurity {
            enabled: true,
            certificate_chain_path: Some(chain.into()),
            private_key_path: Some(key.into()),
            ..GatewaySecurity::default()
        };
        self
    }

    /// The same settings with TLS on, serving the first entry of the PKCS#12
    /// keystore `store` opened with `password` (none: an empty one); read
    /// from 8.6.0 ([`crate::version::KEYSTORE_SINCE`]).
    pub fn with_key_store(
        mut self,
        store: impl Into<PathBuf>,
        password: Option<KeyStorePassword>,
    ) -> Self {
        self.security = GatewaySecurity {
            enabled: true,
            key_store_path: Some(store.into()),
            key_store_password: password,
            ..GatewaySecurity::default()
        };
        self
    }

    /// The same settings read as `runtime`'s release reads them.
    pub fn with_runtime(mut self, runtime: crate::version::ProductRuntime) -> Self {
        self.runtime = runtime;
        self
    }

    /// The shape the settings were read from.
    pub fn mode(&self) -> GatewayMode {
        self.mode
    }

    /// `network.host`.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// `network.port` (0: a free port is picked at start).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `security.*`.
    pub fn security(&self) -> &GatewaySecurity {
        &self.security
    }

    /// Where the settings came from, for messages.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The modelled release's runtime.
    pub fn runtime(&self) -> &crate::version::ProductRuntime {
        &self.runtime
    }

    /// The REST server's settings, when any is configured.
    pub fn rest(&self) -> Option<&super::rest::RestSettings> {
        self.rest.as_ref()
    }

    /// The same settings listening on `host:port` (port 0 picks a free port).
    pub fn with_address(mut self, host: &str, port: u16) -> Self {
        self.host = host.to_string();
        self.port = port;
        self
    }

    /// Reads the settings from YAML text and an environment. Relative paths are
    /// resolved against `workdir`, the node's working directory, as Zeebe does.
    pub fn from_yaml(
        mode: GatewayMode,
        source: &str,
        text: &str,
        env: &EnvMap,
        workdir: &Path,
    ) -> Result<Self, HarnessError> {
        let props = Properties::from_yaml(source, text, env.clone())?;
        Self::from_properties(mode, &props, workdir)
    }

    /// Reads the settings from a configuration file and an environment.
    pub fn from_file(
        mode: GatewayMode,
        path: &Path,
        env: &EnvMap,
        workdir: &Path,
    ) -> Result<Self, HarnessError> {
        let text = crate::input::read(path)?;
        Self::from_yaml(mode, &path.display().to_string(), &text, env, workdir)
    }

    /// Reads the settings from flattened properties.
    pub fn from_properties(
        mode: GatewayMode,
        props: &Properties,
        workdir: &Path,
    ) -> Result<Self, HarnessError> {
        let p = mode.prefix();
        let key = |k: &str| format!("{p}.{k}");
        let path = |k: &str| -> Result<Option<PathBuf>, HarnessError> {
            Ok(props.string(&key(k))?.map(|s| workdir.join(s)))
        };
        let settings = Self {
            mode,
            host: props
                .string(&key("network.host"))?
                .unwrap_or_else(|| "0.0.0.0".to_string()),
            port: props.port(&key("network.port"), DEFAULT_PORT)?,
            security: GatewaySecurity {
                enabled: props.bool(&key("security.enabled"), false)?,
                certificate_chain_path: path("security.certificateChainPath")?,
                private_key_path: path("security.privateKeyPath")?,
                key_store_path: path("security.keyStore.filePath")?,
                key_store_password: props
                    .string(&key("security.keyStore.password"))?
                    .map(KeyStorePassword),
            },
            source: props.source().to_string(),
            runtime: crate::version::ProductRuntime::default(),
            rest: if super::rest::RestSettings::configured(props)? {
                Some(super::rest::RestSettings::from_properties(props, workdir)?)
            } else {
                None
            },
        };
        // A TLS gateway without its PEM files (or, from 8.6.0, a keystore)
        // is not refused here: that is the product's own refusal when it
        // starts, with the release's text (nodes::gateway::pem_paths).
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> EnvMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn keystore_keys_and_their_variables_are_read_and_the_password_never_shown() {
        let yaml = "zeebe.gateway.security:\n  enabled: true\n  keyStore:\n    filePath: ks.p12\n";
        let s = GatewaySettings::from_yaml(
            GatewayMode::Standalone,
            "g.yaml",
            yaml,
            &env(&[("ZEEBE_GATEWAY_SECURITY_KEYSTORE_PASSWORD", "s3cret-pw")]),
            Path::new("/w"),
        )
        .expect("a keystore alone is a complete TLS configuration");
        assert_eq!(s.security.key_store_path, Some(PathBuf::from("/w/ks.p12")));
        assert_eq!(
            s.security.key_store_password,
            Some(KeyStorePassword("s3cret-pw".into()))
        );
        assert!(!format!("{s:?}").contains("s3cret-pw"));
        let embedded = GatewaySettings::from_yaml(
            GatewayMode::Embedded,
            "b.yaml",
            "",
            &env(&[
                ("ZEEBE_BROKER_GATEWAY_SECURITY_ENABLED", "true"),
                ("ZEEBE_BROKER_GATEWAY_SECURITY_KEYSTORE_FILEPATH", "b.p12"),
            ]),
            Path::new("/w"),
        )
        .expect("read from the environment");
        assert_eq!(
            embedded.security.key_store_path,
            Some(PathBuf::from("/w/b.p12"))
        );
    }

    #[test]
    fn standalone_defaults() {
        let s = GatewaySettings::from_yaml(
            GatewayMode::Standalone,
            "g.yaml",
            "",
            &EnvMap::new(),
            Path::new("/w"),
        )
        .unwrap();
        assert_eq!(
            (s.host.as_str(), s.port, s.security.enabled),
            ("0.0.0.0", 26500, false)
        );
    }

    #[test]
    fn embedded_reads_broker_keys_and_ignores_standalone_ones() {
        let yaml = "zeebe:\n  gateway:\n    security:\n      enabled: true\n  broker:\n    gateway:\n      network:\n        port: 26600\n    unrelated: 1\n";
        let s = GatewaySettings::from_yaml(
            GatewayMode::Embedded,
            "b.yaml",
            yaml,
            &EnvMap::new(),
            Path::new("/w"),
        )
        .unwrap();
        assert_eq!((s.port, s.security.enabled), (26600, false));
    }

    #[test]
    fn env_enables_tls_with_relative_paths() {
        let e = env(&[
            ("ZEEBE_BROKER_GATEWAY_SECURITY_ENABLED", "true"),
            (
                "ZEEBE_BROKER_GATEWAY_SECURITY_CERTIFICATECHAINPATH",
                "chain.pem",
            ),
            (
                "ZEEBE_BROKER_GATEWAY_SECURITY_PRIVATEKEYPATH",
                "/abs/key.pem",
            ),
        ]);
        let s =
            GatewaySettings::from_yaml(GatewayMode::Embedded, "b.yaml", "", &e, Path::new("/w"))
                .unwrap();
        assert!(s.security.enabled);
        assert_eq!(
            s.security.certificate_chain_path.unwrap(),
            PathBuf::from("/w/chain.pem")
        );
        assert_eq!(
            s.security.private_key_path.unwrap(),
            PathBuf::from("/abs/key.pem")
        );
    }

    #[test]
    fn tls_without_chain_loads_and_is_refused_at_start() {
        // The release checks the PEM paths when the gateway starts, not when
        // the configuration binds (nodes::gateway::pem_paths), so loading
        // succeeds and keeps the paths unset.
        let yaml = "zeebe:\n  gateway:\n    security:\n      enabled: true\n";
        let s = GatewaySettings::from_yaml(
            GatewayMode::Standalone,
            "g.yaml",
            yaml,
            &EnvMap::new(),
            Path::new("/w"),
        )
        .unwrap();
        assert!(s.security.enabled);
        assert!(s.security.certificate_chain_path.is_none());
        assert!(s.security.private_key_path.is_none());
    }
}
