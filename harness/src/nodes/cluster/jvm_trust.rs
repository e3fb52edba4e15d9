//! The JVM trust store a node's environment names, and what the cluster
//! transport does with it.
//!
//! A user points a JVM at a trust store with the `javax.net.ssl.trustStore`
//! and `javax.net.ssl.trustStorePassword` system properties, given in
//! `JAVA_TOOL_OPTIONS` (read by every JVM at start) or `JAVA_OPTS` (which
//! Zeebe's start scripts put on java's command line, after it: a property in
//! both takes `JAVA_OPTS`'s value). Values are split on white space; quoting
//! is not modelled.
//!
//! What the transport does with it, measured on the cluster-tls probe
//! (Netty 4.1.122 with tcnative 2.0.72 and the `OPENSSL_REFCNT` provider,
//! OpenJDK 17; `harness/tests/cluster_oracle.rs`,
//! `jvm_trust_store_is_not_consulted`):
//!
//! * It never trusts by it: the dialling context is
//!   `trustManager(certificateChain)` (see [`super::trust`]).
//! * It opens it anyway: `SslContextBuilder.forServer(chain, key).build()`
//!   with no trust manager lets Netty's OpenSSL server context initialise the
//!   JDK's default `TrustManagerFactory`, which loads the store. A wrong
//!   password therefore stops the messaging service from starting:
//!   "Failed to start messaging service; invalid server TLS configuration",
//!   caused by `javax.net.ssl.SSLException: unable to setup trustmanager`,
//!   `java.security.KeyStoreException: problem accessing trust store` and the
//!   JDK's `java.io.IOException: keystore password was incorrect`
//!   (PKCS#12; JKS: "Keystore was tampered with, or password was incorrect").
//! * A path that is not a readable file makes the JDK open its default store
//!   instead (`$JAVA_HOME/lib/security/jssecacerts`, then `cacerts`) with the
//!   same password: with the default password (`changeit`) the node starts,
//!   with another one it stops as above, in the words of the default store's
//!   format (Debian's `cacerts` is JKS). The reference opens the default
//!   store of the `java` it finds ([`tools::JAVA`]), which is the probe's.
//! * A store without a password is read without the integrity check, so it
//!   is never refused.

use std::path::Path;

use super::settings::ConfiguredPath;
use crate::config::zeebe::KeyStorePassword;
use crate::config::Properties;
use crate::error::HarnessError;
use crate::pki;
use crate::process::tools;

/// The JDK's default trust store: `jssecacerts`, else `cacerts`, under the
/// `lib/security` of the `java` found by [`tools::JAVA`].
fn jdk_default_trust_store() -> Option<std::path::PathBuf> {
    let java = std::fs::canonicalize(tools::JAVA.find()?).ok()?;
    let security = java.parent()?.parent()?.join("lib/security");
    ["jssecacerts", "cacerts"]
        .iter()
        .map(|name| security.join(name))
        .find(|p| p.is_file())
}

/// The variables that carry JVM options, in the order the JVM applies them.
const CARRIERS: [&str; 2] = ["JAVA_TOOL_OPTIONS", "JAVA_OPTS"];

/// The JVM trust store of one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JvmTrustStore {
    /// `javax.net.ssl.trustStore`, resolved against the node's working directory.
    pub(crate) path: ConfiguredPath,
    /// `javax.net.ssl.trustStorePassword`, if given.
    pub(crate) password: Option<KeyStorePassword>,
    /// The variable the path came from (`JAVA_OPTS` or `JAVA_TOOL_OPTIONS`).
    pub(crate) variable: &'static str,
}

impl JvmTrustStore {
    /// `javax.net.ssl.trustStore`, as given and resolved.
    pub fn path(&self) -> &ConfiguredPath {
        &self.path
    }

    /// The variable the path came from (`JAVA_OPTS` or `JAVA_TOOL_OPTIONS`).
    pub fn variable(&self) -> &'static str {
        self.variable
    }

    /// The trust store the node's environment names, if any.
    pub fn from_env(props: &Properties, workdir: &Path) -> Option<Self> {
        let mut path = None;
        let mut password = None;
        for variable in CARRIERS {
            let Some(options) = props.env_value(variable) else {
                continue;
            };
            for option in options.split_whitespace() {
                if let Some(raw) = option.strip_prefix("-Djavax.net.ssl.trustStore=") {
                    path = Some((raw.to_string(), variable));
                } else if let Some(p) = option.strip_prefix("-Djavax.net.ssl.trustStorePassword=") {
                    password = Some(KeyStorePassword(p.to_string()));
                }
            }
        }
        path.map(|(raw, variable)| Self {
            path: ConfiguredPath {
                resolved: workdir.join(&raw),
                raw,
            },
            password,
            variable,
        })
    }

    /// What building the node's server TLS context does with the store: a
    /// refusal in the product's words when the password does not open it.
    pub async fn check(&self, node: &str, source: &str) -> Result<(), HarnessError> {
        let Some(password) = &self.password else {
            return Ok(());
        };
        let (opened, fallback) = if self.path.resolved.is_file() {
            (self.path.resolved.clone(), None)
        } else {
            // The JDK's `TrustStoreManager` tries the named file, then its
            // default store, and opens the first readable one with the same
            // password.
            let Some(default) = jdk_default_trust_store() else {
                return Ok(());
            };
            (default.clone(), Some(default))
        };
        let Some(cause) = pki::jdk_store_refusal(&opened, &password.0).await? else {
            return Ok(());
        };
        let shown = match &fallback {
            None => self.path.raw.clone(),
            Some(default) => format!(
                "$JAVA_HOME/lib/security/{}",
                default.file_name().unwrap_or_default().to_string_lossy()
            ),
        };
        let named = match &fallback {
            None => format!("javax.net.ssl.trustStore={}", self.path.raw),
            Some(_) => format!(
                "javax.net.ssl.trustStore={} does not exist, so the JDK opened its default store {shown}",
                self.path.raw
            ),
        };
        Err(HarnessError::invalid(
            source,
            self.variable,
            format!(
                "{}; caused by: javax.net.ssl.SSLException: unable to setup trustmanager; caused by: java.security.KeyStoreException: problem accessing trust store; caused by: {cause} ({named})",
                pki::KEYSTORE_WRAPPER,
            ),
            format!(
                "give -Djavax.net.ssl.trustStorePassword the password of {} in {} of {node} (check it with: keytool -list -keystore {}), or drop the javax.net.ssl.trustStore options: the cluster transport trusts its certificate chain file only, never this store",
                shown, self.variable, shown
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EnvMap;

    fn props(env: &[(&str, &str)]) -> Properties {
        let env: EnvMap = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Properties::from_yaml("broker.yaml", "", env).unwrap()
    }

    #[test]
    fn java_opts_wins_over_java_tool_options_and_paths_resolve() {
        let p = props(&[
            (
                "JAVA_TOOL_OPTIONS",
                "-Djavax.net.ssl.trustStore=a.p12 -Djavax.net.ssl.trustStorePassword=one",
            ),
            ("JAVA_OPTS", "-Xmx1g -Djavax.net.ssl.trustStore=b.p12"),
        ]);
        let store = JvmTrustStore::from_env(&p, Path::new("/w")).unwrap();
        assert_eq!(store.path.raw, "b.p12");
        assert_eq!(store.path.resolved, Path::new("/w/b.p12"));
        assert_eq!(store.variable, "JAVA_OPTS");
        assert_eq!(store.password, Some(KeyStorePassword("one".into())));
    }

    #[test]
    fn no_options_no_store() {
        assert_eq!(JvmTrustStore::from_env(&props(&[]), Path::new("/w")), None);
        let p = props(&[("JAVA_OPTS", "-Xmx1g")]);
        assert_eq!(JvmTrustStore::from_env(&p, Path::new("/w")), None);
    }

    #[tokio::test]
    async fn a_wrong_password_is_the_jdks_refusal() {
        let dir = tempfile::tempdir().unwrap();
        crate::pki::PkiSpec::new()
            .with("ca", crate::pki::CertSpec::root())
            .build()
            .unwrap()
            .write_to(dir.path())
            .unwrap();
        for (store, kind, said) in [
            ("t.p12", "PKCS12", "keystore password was incorrect"),
            (
                "t.jks",
                "JKS",
                "Keystore was tampered with, or password was incorrect",
            ),
        ] {
            let made = std::process::Command::new("keytool")
                .args([
                    "-importcert",
                    "-noprompt",
                    "-alias",
                    "ca",
                    "-file",
                    "ca.pem",
                ])
                .args([
                    "-keystore",
                    store,
                    "-storetype",
                    kind,
                    "-storepass",
                    "changeit",
                ])
                .current_dir(dir.path())
                .output();
            if !made.is_ok_and(|o| o.status.success()) {
                eprintln!("skipped: keytool cannot make {store} here");
                return;
            }
            let path = dir.path().join(store);
            let refusal = crate::pki::jdk_store_refusal(&path, "changeit")
                .await
                .unwrap();
            assert_eq!(refusal, None, "{store}");
            let refusal = crate::pki::jdk_store_refusal(&path, "wrong").await.unwrap();
            assert!(
                refusal.as_deref().is_some_and(|r| r.contains(said)),
                "{store}: {refusal:?}"
            );
            let p = props(&[(
                "JAVA_OPTS",
                &format!(
                    "-Djavax.net.ssl.trustStore={store} -Djavax.net.ssl.trustStorePassword=wrong"
                ),
            )]);
            let jvm = JvmTrustStore::from_env(&p, dir.path()).unwrap();
            let err = jvm.check("broker-0", "broker.yaml").await.unwrap_err();
            assert!(err.to_string().contains(said), "{err}");
        }
    }
}
