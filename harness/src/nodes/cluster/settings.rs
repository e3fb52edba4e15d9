//! A cluster node's transport-security settings, read the way Zeebe reads them:
//! `zeebe.broker.network.security.*` for a broker, `zeebe.gateway.cluster.security.*`
//! for a standalone gateway, each overridable by the environment variable Spring
//! binds to the key (`ZEEBE_BROKER_NETWORK_SECURITY_ENABLED`, ...). Relative
//! paths are resolved against the node's working directory.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::zeebe::KeyStorePassword;
use crate::config::Properties;
use crate::error::HarnessError;

/// What a cluster node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeRole {
    /// A broker: owns partition replicas, serves messaging, gossips.
    Broker,
    /// A standalone gateway: learns the topology by gossip, forwards requests
    /// to brokers over messaging.
    Gateway,
}

impl NodeRole {
    /// The key prefix of this role's cluster transport security.
    pub fn security_prefix(self) -> &'static str {
        match self {
            Self::Broker => "zeebe.broker.network.security",
            Self::Gateway => "zeebe.gateway.cluster.security",
        }
    }

    /// The role as Zeebe's logs name it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Broker => "broker",
            Self::Gateway => "gateway",
        }
    }
}

/// A configured file path: as written, and resolved against the working directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfiguredPath {
    /// The value as configured (relative or absolute).
    pub(crate) raw: String,
    /// The path the node opens.
    pub(crate) resolved: PathBuf,
}

impl ConfiguredPath {
    /// A path as configured, resolved against `workdir` as the node resolves it.
    pub fn new(raw: impl Into<String>, workdir: &Path) -> Self {
        let raw = raw.into();
        Self {
            resolved: workdir.join(&raw),
            raw,
        }
    }

    /// The value as configured (relative or absolute).
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The path the node opens.
    pub fn resolved(&self) -> &Path {
        &self.resolved
    }
}

/// `<prefix>.security.*` of one node.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterSecurity {
    /// `enabled`: TLS 1.3 on every TCP connection of the node.
    pub(crate) enabled: bool,
    /// `certificateChainPath`: the node's certificate first, then its chain;
    /// also the node's trust material.
    pub(crate) certificate_chain_path: Option<ConfiguredPath>,
    /// `privateKeyPath`: the PEM private key of the chain's first certificate.
    pub(crate) private_key_path: Option<ConfiguredPath>,
    /// `keyStore.filePath` (read from 8.6.0, see
    /// [`crate::version::KEYSTORE_SINCE`]): a PKCS#12 keystore instead of
    /// the two PEM files; its first entry's chain is also the node's trust.
    pub(crate) key_store_path: Option<ConfiguredPath>,
    /// `keyStore.password` (none: the store is opened with an empty one).
    pub(crate) key_store_password: Option<KeyStorePassword>,
}

impl ClusterSecurity {
    /// The same settings with `enabled` set: TLS 1.3 on every TCP connection.
    pub fn with_enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// The same settings serving the PEM files `certificateChainPath` (leaf
    /// first) and `privateKeyPath`.
    pub fn with_pem_files(mut self, chain: ConfiguredPath, key: ConfiguredPath) -> Self {
        self.certificate_chain_path = Some(chain);
        self.private_key_path = Some(key);
        self
    }

    /// The same settings reading a PKCS#12 `keyStore.filePath` with
    /// `keyStore.password` (none: an empty one); read from 8.6.0.
    pub fn with_key_store(
        mut self,
        path: ConfiguredPath,
        password: Option<KeyStorePassword>,
    ) -> Self {
        self.key_store_path = Some(path);
        self.key_store_password = password;
        self
    }

    /// `enabled`.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// `certificateChainPath`.
    pub fn certificate_chain_path(&self) -> Option<&ConfiguredPath> {
        self.certificate_chain_path.as_ref()
    }

    /// `privateKeyPath`.
    pub fn private_key_path(&self) -> Option<&ConfiguredPath> {
        self.private_key_path.as_ref()
    }

    /// `keyStore.filePath`.
    pub fn key_store_path(&self) -> Option<&ConfiguredPath> {
        self.key_store_path.as_ref()
    }

    /// `keyStore.password` (shown as `[redacted]` by `Debug`).
    pub fn key_store_password(&self) -> Option<&KeyStorePassword> {
        self.key_store_password.as_ref()
    }
}

/// Everything a cluster node needs to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSettings {
    /// The node's name in reports (`broker-0`, `gateway`).
    pub(crate) name: String,
    /// Broker or gateway.
    pub(crate) role: NodeRole,
    /// Transport security.
    pub(crate) security: ClusterSecurity,
    /// The working directory relative paths are resolved against.
    pub(crate) workdir: PathBuf,
    /// Where the settings came from (file name or case), for messages.
    pub(crate) source: String,
    /// The modelled release's runtime (how it reads keys).
    pub(crate) runtime: crate::version::ProductRuntime,
    /// The JVM trust store its environment names (`javax.net.ssl.trustStore`
    /// in `JAVA_OPTS` or `JAVA_TOOL_OPTIONS`), see [`super::jvm_trust`].
    pub(crate) jvm_trust_store: Option<super::jvm_trust::JvmTrustStore>,
}

/// The environment variable Spring binds to a dotted key.
pub fn env_var(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '-' && *c != '_')
        .map(|c| if c == '.' { '_' } else { c })
        .collect::<String>()
        .to_uppercase()
}

impl NodeSettings {
    /// A node named `name` with TLS off, resolving relative paths against
    /// `workdir`, on the newest modelled release; `.with_security(..)`,
    /// `.with_runtime(..)` change it.
    pub fn new(name: impl Into<String>, role: NodeRole, workdir: impl Into<PathBuf>) -> Self {
        Self {
            name: name.into(),
            role,
            security: ClusterSecurity::default(),
            workdir: workdir.into(),
            source: "tlsmatrix".to_string(),
            runtime: crate::version::ProductRuntime::default(),
            jvm_trust_store: None,
        }
    }

    /// The same settings with the JVM trust store a node's `JAVA_OPTS` or
    /// `JAVA_TOOL_OPTIONS` name (see [`super::jvm_trust::JvmTrustStore::from_env`]).
    pub fn with_jvm_trust_store(mut self, store: Option<super::jvm_trust::JvmTrustStore>) -> Self {
        self.jvm_trust_store = store;
        self
    }

    /// The same settings with this transport security.
    pub fn with_security(mut self, security: ClusterSecurity) -> Self {
        self.security = security;
        self
    }

    /// The same settings read as `runtime`'s release reads them.
    pub fn with_runtime(mut self, runtime: crate::version::ProductRuntime) -> Self {
        self.runtime = runtime;
        self
    }

    /// The same settings naming `source` (a file name or case) in messages.
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = source.into();
        self
    }

    /// The node's name in reports (`broker-0`, `gateway`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Broker or gateway.
    pub fn role(&self) -> NodeRole {
        self.role
    }

    /// Transport security.
    pub fn security(&self) -> &ClusterSecurity {
        &self.security
    }

    /// The working directory relative paths are resolved against.
    pub fn workdir(&self) -> &Path {
        &self.workdir
    }

    /// Where the settings came from, for messages.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The modelled release's runtime.
    pub fn runtime(&self) -> &crate::version::ProductRuntime {
        &self.runtime
    }

    /// Reads a node's settings from flattened properties (file + environment).
    pub fn from_properties(
        name: &str,
        role: NodeRole,
        props: &Properties,
        workdir: &Path,
    ) -> Result<Self, HarnessError> {
        let prefix = role.security_prefix();
        let path = |k: &str| -> Result<Option<ConfiguredPath>, HarnessError> {
            Ok(props
                .string(&format!("{prefix}.{k}"))?
                .map(|raw| ConfiguredPath {
                    resolved: workdir.join(&raw),
                    raw,
                }))
        };
        let settings = Self {
            name: name.to_string(),
            role,
            security: ClusterSecurity {
                enabled: props.bool(&format!("{prefix}.enabled"), false)?,
                certificate_chain_path: path("certificateChainPath")?,
                private_key_path: path("privateKeyPath")?,
                key_store_path: path("keyStore.filePath")?,
                key_store_password: props
                    .string(&format!("{prefix}.keyStore.password"))?
                    .map(KeyStorePassword),
            },
            workdir: workdir.to_path_buf(),
            source: props.source().to_string(),
            runtime: crate::version::ProductRuntime::default(),
            jvm_trust_store: super::jvm_trust::JvmTrustStore::from_env(props, workdir),
        };
        settings.validate()?;
        Ok(settings)
    }

    /// Zeebe refuses to start with TLS enabled but a file not configured; a
    /// keystore is complete on its own (whether the release reads it is
    /// checked when the node loads its TLS, [`Self::require_pem_files`]).
    fn validate(&self) -> Result<(), HarnessError> {
        if self.security.key_store_path.is_some() {
            return Ok(());
        }
        self.require_pem_files()
    }

    /// With TLS enabled, both PEM paths must be configured (`SystemContext`):
    /// what a release without keystore keys requires even when a keystore is
    /// configured, since it ignores those keys.
    pub fn require_pem_files(&self) -> Result<(), HarnessError> {
        if !self.security.enabled {
            return Ok(());
        }
        let prefix = self.role.security_prefix();
        for (key, value, what) in [
            (
                "certificateChainPath",
                &self.security.certificate_chain_path,
                "certificate chain",
            ),
            (
                "privateKeyPath",
                &self.security.private_key_path,
                "private key",
            ),
        ] {
            if value.is_none() {
                let full = format!("{prefix}.{key}");
                return Err(HarnessError::invalid(
                    &self.source,
                    &full,
                    // Zeebe's own message (SystemContext, source) after ours.
                    format!(
                        "TLS is enabled but no {what} is configured (Zeebe: \"{}\")",
                        crate::version::tls_config_unset(what)
                    ),
                    format!(
                        "set {full} (or {}) to the PEM {what} file, or disable TLS with {prefix}.enabled: false on every node",
                        env_var(&full)
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

    #[test]
    fn env_names_match_the_documented_variables() {
        assert_eq!(
            env_var("zeebe.broker.network.security.certificateChainPath"),
            "ZEEBE_BROKER_NETWORK_SECURITY_CERTIFICATECHAINPATH"
        );
        assert_eq!(
            env_var("zeebe.gateway.cluster.security.privateKeyPath"),
            "ZEEBE_GATEWAY_CLUSTER_SECURITY_PRIVATEKEYPATH"
        );
    }

    #[test]
    fn env_beats_yaml_and_paths_resolve_against_workdir() {
        let yaml = "zeebe:\n  broker:\n    network:\n      security:\n        enabled: false\n        certificateChainPath: a.pem\n";
        let env: EnvMap = [
            ("ZEEBE_BROKER_NETWORK_SECURITY_ENABLED", "true"),
            (
                "ZEEBE_BROKER_NETWORK_SECURITY_CERTIFICATECHAINPATH",
                "b.pem",
            ),
            ("ZEEBE_BROKER_NETWORK_SECURITY_PRIVATEKEYPATH", "b.key"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let props = Properties::from_yaml("broker.yaml", yaml, env).unwrap();
        let s =
            NodeSettings::from_properties("broker-0", NodeRole::Broker, &props, Path::new("/w"))
                .unwrap();
        assert!(s.security.enabled);
        let chain = s.security.certificate_chain_path.unwrap();
        assert_eq!(
            (chain.raw.as_str(), chain.resolved),
            ("b.pem", PathBuf::from("/w/b.pem"))
        );
    }

    #[test]
    fn keystore_keys_and_variables_are_read_per_role_and_the_password_never_shown() {
        let yaml =
            "zeebe.broker.network.security: { enabled: true, keyStore: { filePath: a.p12 } }\n";
        let env: EnvMap = [(
            "ZEEBE_BROKER_NETWORK_SECURITY_KEYSTORE_PASSWORD",
            "s3cret-pw",
        )]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let props = Properties::from_yaml("broker.yaml", yaml, env).unwrap();
        let s =
            NodeSettings::from_properties("broker-0", NodeRole::Broker, &props, Path::new("/w"))
                .expect("a keystore alone is a complete TLS configuration");
        let store = s.security.key_store_path.clone().unwrap();
        assert_eq!(store.resolved, PathBuf::from("/w/a.p12"));
        assert_eq!(
            s.security.key_store_password.as_ref().map(|p| p.0.as_str()),
            Some("s3cret-pw")
        );
        assert!(!format!("{s:?}").contains("s3cret-pw"));
        // A release without keyStore keys needs the PEM files all the same.
        let err = s.require_pem_files().unwrap_err().to_string();
        assert!(
            err.contains("certificateChainPath: TLS is enabled"),
            "{err}"
        );

        let env: EnvMap = [("ZEEBE_GATEWAY_CLUSTER_SECURITY_KEYSTORE_FILEPATH", "g.p12")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let props = Properties::from_yaml(
            "gateway.yaml",
            "zeebe.gateway.cluster.security.enabled: true\n",
            env,
        )
        .unwrap();
        let g =
            NodeSettings::from_properties("gateway", NodeRole::Gateway, &props, Path::new("/w"))
                .unwrap();
        assert_eq!(g.security.key_store_path.unwrap().raw, "g.p12");
    }

    #[test]
    fn enabled_without_key_names_key_variable_and_fix() {
        let yaml =
            "zeebe.gateway.cluster.security: { enabled: true, certificateChainPath: c.pem }\n";
        let props = Properties::from_yaml("gateway.yaml", yaml, EnvMap::new()).unwrap();
        let err =
            NodeSettings::from_properties("gateway", NodeRole::Gateway, &props, Path::new("/w"))
                .unwrap_err()
                .to_string();
        assert!(
            err.starts_with(
                "gateway.yaml: zeebe.gateway.cluster.security.privateKeyPath: TLS is enabled"
            ),
            "{err}"
        );
        assert!(
            err.contains("ZEEBE_GATEWAY_CLUSTER_SECURITY_PRIVATEKEYPATH"),
            "{err}"
        );
    }
}
