//! Client-side Zeebe settings, with the documented Java/Go client semantics of
//! the environment overrides.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::EnvMap;

/// `ZEEBE_INSECURE_CONNECTION`: "true" means plaintext, any other non-empty value
/// means TLS, empty means unset.
pub const INSECURE_ENV: &str = "ZEEBE_INSECURE_CONNECTION";
/// `ZEEBE_CA_CERTIFICATE_PATH`: the CA file, overriding the code's setting.
pub const CA_PATH_ENV: &str = "ZEEBE_CA_CERTIFICATE_PATH";

/// How a Zeebe client is set up in code (or on the command line), plus the
/// environment it runs in.
#[derive(Debug, Clone)]
pub struct ZeebeClientConfig {
    /// `host:port` to dial.
    pub(crate) address: String,
    /// `usePlaintext()` / `UsePlaintextConnection: true` / `--insecure`.
    pub(crate) plaintext: bool,
    /// `caCertificatePath(..)` / `CaCertificatePath` / `--certPath`.
    pub(crate) ca_path: Option<String>,
    /// The client's environment (only these variables; never the test process's).
    pub(crate) env: EnvMap,
    /// The client's working directory; relative paths resolve against it.
    pub(crate) workdir: PathBuf,
    /// Bound on the whole call.
    pub(crate) deadline: Duration,
}

impl ZeebeClientConfig {
    /// A TLS client of `address` (`host:port`) in `workdir`, with no CA set,
    /// an empty environment and a 10 s bound.
    pub fn new(address: impl Into<String>, workdir: impl Into<PathBuf>) -> Self {
        Self {
            address: address.into(),
            plaintext: false,
            ca_path: None,
            env: EnvMap::new(),
            workdir: workdir.into(),
            deadline: Duration::from_secs(10),
        }
    }

    /// Plaintext instead of TLS (`usePlaintext()`, `--insecure`).
    pub fn with_plaintext(mut self, plaintext: bool) -> Self {
        self.plaintext = plaintext;
        self
    }

    /// Trusts this CA file (`caCertificatePath`, `--certPath`), relative to
    /// the working directory.
    pub fn with_ca_path(mut self, path: impl Into<String>) -> Self {
        self.ca_path = Some(path.into());
        self
    }

    /// Sets one variable of the client's environment (only these are set).
    pub fn with_env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(name.into(), value.into());
        self
    }

    /// Bounds the whole call.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// `host:port` it dials.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Whether the code asks for plaintext (before the environment).
    pub fn plaintext(&self) -> bool {
        self.plaintext
    }

    /// The CA file the code names (before the environment).
    pub fn ca_path(&self) -> Option<&str> {
        self.ca_path.as_deref()
    }

    /// The client's environment.
    pub fn env(&self) -> &EnvMap {
        &self.env
    }

    /// The client's working directory.
    pub fn workdir(&self) -> &Path {
        &self.workdir
    }

    /// The bound on the whole call.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// The address, plaintext and CA settings as command-line flags, spelled
    /// the way a tool names them (`--insecure`/`--certPath` for zbctl,
    /// `--plaintext`/`--ca` for the probes). The tool applies the environment.
    pub fn flags(&self, address: &str, plaintext: &str, ca: &str) -> Vec<String> {
        let mut args = vec![address.to_string(), self.address.clone()];
        if self.plaintext {
            args.push(plaintext.to_string());
        }
        if let Some(path) = &self.ca_path {
            args.push(ca.to_string());
            args.push(path.clone());
        }
        args
    }

    /// Whether the client uses plaintext after applying `ZEEBE_INSECURE_CONNECTION`
    /// as the Java and Go clients document it: the variable overrides the code.
    pub fn effective_plaintext(&self) -> bool {
        match self.env.get(INSECURE_ENV).filter(|v| !v.is_empty()) {
            Some(value) => value == "true",
            None => self.plaintext,
        }
    }

    /// The CA file after applying `ZEEBE_CA_CERTIFICATE_PATH` (which overrides the
    /// code), resolved against the working directory.
    pub fn effective_ca_path(&self) -> Option<PathBuf> {
        self.env
            .get(CA_PATH_ENV)
            .filter(|v| !v.is_empty())
            .or(self.ca_path.as_ref())
            .map(|p| resolve(&self.workdir, p))
    }
}

fn resolve(workdir: &Path, p: &str) -> PathBuf {
    workdir.join(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(plaintext: bool, env: &[(&str, &str)]) -> ZeebeClientConfig {
        ZeebeClientConfig {
            address: "127.0.0.1:1".into(),
            plaintext,
            ca_path: Some("code.pem".into()),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            workdir: PathBuf::from("/w"),
            deadline: Duration::from_secs(1),
        }
    }

    #[test]
    fn insecure_env_semantics() {
        assert!(config(false, &[(INSECURE_ENV, "true")]).effective_plaintext());
        assert!(!config(true, &[(INSECURE_ENV, "TRUE")]).effective_plaintext());
        assert!(!config(true, &[(INSECURE_ENV, "false")]).effective_plaintext());
        assert!(config(true, &[(INSECURE_ENV, "")]).effective_plaintext());
        assert!(!config(false, &[]).effective_plaintext());
    }

    #[test]
    fn ca_env_overrides_code() {
        assert_eq!(
            config(false, &[]).effective_ca_path(),
            Some(PathBuf::from("/w/code.pem"))
        );
        assert_eq!(
            config(false, &[(CA_PATH_ENV, "env.pem")]).effective_ca_path(),
            Some(PathBuf::from("/w/env.pem"))
        );
        assert_eq!(
            config(false, &[(CA_PATH_ENV, "")]).effective_ca_path(),
            Some(PathBuf::from("/w/code.pem"))
        );
    }
}
