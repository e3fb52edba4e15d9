//! Harness errors: our own infrastructure or the user's input failed, as opposed to
//! an [`Outcome`](crate::outcome::Outcome), which is what the system under test did.
//!
//! Every variant that concerns user input names the file, the key (where there is
//! one) and the fix, so that a support engineer never has to read a backtrace.

use std::path::PathBuf;

/// What went wrong in tlsmatrix itself or in the input it was given.
///
/// The CLI exits with code 2 on any of these; a case whose outcome merely differs
/// from its expectation is a result, not a `HarnessError`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HarnessError {
    /// A file could not be read or written.
    #[error("{path}: {action}: {source}; fix: {fix}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// What we were doing ("cannot read", "cannot write", ...).
        action: &'static str,
        /// The operating system's error.
        source: std::io::Error,
        /// What the user can do about it.
        fix: String,
    },
    /// A YAML document is not well formed.
    #[error("{file}:{line}:{column}: malformed YAML: {message}; fix: correct the syntax at that position")]
    Yaml {
        /// The file (or a description of the source).
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// A YAML document is well formed but not what its schema allows (an
    /// unknown key, a wrong type, a missing key), located.
    #[error("{file}:{line}:{column}: {message}; fix: {fix}")]
    Schema {
        /// The file (or a description of the source).
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The deserializer's message.
        message: String,
        /// What to change.
        fix: String,
    },
    /// A configuration or scenario key has a wrong value, type or name.
    #[error("{file}: {key}: {problem}; fix: {fix}")]
    Invalid {
        /// The file (or environment, or scenario case) the value came from.
        file: String,
        /// The key, dotted (`zeebe.gateway.security.enabled`) or as an env variable.
        key: String,
        /// What is wrong with it.
        problem: String,
        /// What to change.
        fix: String,
    },
    /// A certificate or key file cannot be used.
    #[error("{path}: {problem}; fix: {fix}")]
    Material {
        /// The PEM file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
        /// What to change.
        fix: String,
    },
    /// A listening address is already taken.
    #[error("cannot listen on {address}: {source}; fix: stop the process using that port or set another port ({setting})")]
    PortInUse {
        /// The address we tried to bind.
        address: String,
        /// The operating system's error.
        source: std::io::Error,
        /// The setting that chose the port, as the input names it
        /// (`zeebe.gateway.network.port / ZEEBE_GATEWAY_NETWORK_PORT`, ...).
        setting: String,
    },
    /// A real peer (zbctl, a JVM, ...) needed by a case is not installed.
    #[error("{peer} is not installed ({detail}); install it with: {install}")]
    PeerMissing {
        /// The peer's name.
        peer: String,
        /// Where we looked.
        detail: String,
        /// The command that installs it.
        install: String,
    },
    /// What a case needs is not available on this machine (not a broken
    /// install: a kernel or platform limit); skipped like a missing peer.
    #[error("{what} cannot run here: {reason}; fix: {fix}")]
    Unavailable {
        /// The feature, as the case names it (`hosts:`).
        what: String,
        /// Why not.
        reason: String,
        /// What to change.
        fix: String,
    },
    /// A peer or node could not be started or driven.
    #[error("{what}: {problem}")]
    Run {
        /// The peer or node.
        what: String,
        /// What went wrong.
        problem: String,
    },
}

impl HarnessError {
    /// An [`HarnessError::Invalid`] in one call.
    pub fn invalid(
        file: impl Into<String>,
        key: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::Invalid {
            file: file.into(),
            key: key.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }

    /// An [`HarnessError::Material`] in one call.
    pub fn material(
        path: impl Into<PathBuf>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::Material {
            path: path.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }

    /// An [`HarnessError::Run`] in one call.
    pub fn run(what: impl Into<String>, problem: impl std::fmt::Display) -> Self {
        Self::Run {
            what: what.into(),
            problem: problem.to_string(),
        }
    }

    /// Reading `path` failed.
    pub fn read(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        let path = path.into();
        let fix = match source.kind() {
            std::io::ErrorKind::NotFound => {
                "check the path; relative paths are resolved against the node's working directory"
            }
            std::io::ErrorKind::PermissionDenied => "check the file's permissions",
            std::io::ErrorKind::IsADirectory => "name a file, not a directory",
            std::io::ErrorKind::InvalidData => "save the file as UTF-8 text",
            _ => "check that the path names a readable file",
        }
        .to_string();
        Self::Io {
            path,
            action: "cannot read",
            source,
            fix,
        }
    }

    /// Writing `path` failed.
    pub fn write(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            action: "cannot write",
            source,
            fix: "check that the directory exists and is writable".to_string(),
        }
    }

    /// A YAML error from `serde_yaml_ng`, located in `file`.
    pub fn yaml(file: impl Into<String>, err: &serde_yaml_ng::Error) -> Self {
        let file = file.into();
        let message = strip_location(&err.to_string());
        match err.location() {
            Some(loc) => match schema_fix(&message) {
                Some(fix) => Self::Schema {
                    file,
                    line: loc.line(),
                    column: loc.column(),
                    message,
                    fix: fix.to_string(),
                },
                None => Self::Yaml {
                    file,
                    line: loc.line(),
                    column: loc.column(),
                    message,
                },
            },
            None => Self::invalid(
                file,
                "(document)",
                err.to_string(),
                "correct the document's structure",
            ),
        }
    }

    /// Re-frames a file error as a problem of the setting that named the file:
    /// `gateway.yaml: zeebe.gateway.security.privateKeyPath: key.pem: ...`.
    pub fn in_setting(self, source: &str, key: &str) -> Self {
        match self {
            Self::Material { path, problem, fix } => Self::Invalid {
                file: source.to_string(),
                key: key.to_string(),
                problem: format!("{}: {problem}", path.display()),
                fix,
            },
            Self::Io {
                path,
                action,
                source: err,
                fix,
            } => Self::Invalid {
                file: source.to_string(),
                key: key.to_string(),
                problem: format!("{}: {action}: {err}", path.display()),
                fix,
            },
            other => other,
        }
    }

    /// True when the error means "cannot run here" rather than "broken".
    pub fn is_missing_peer(&self) -> bool {
        matches!(self, Self::PeerMissing { .. } | Self::Unavailable { .. })
    }
}

/// The fix for a message of serde's data model (the document parsed, but a
/// key or value is not what the schema allows); `None` for a syntax error.
fn schema_fix(message: &str) -> Option<&'static str> {
    // serde_yaml_ng prefixes the path (`nodes.a: unknown field ...`).
    let what = message
        .split_once(": ")
        .filter(|(path, _)| !path.contains(' '))
        .map_or(message, |(_, rest)| rest);
    let fixes = [
        (
            "unknown field",
            "rename the key to one of the expected ones (a typo is an error, not a silent default)",
        ),
        ("unknown variant", "use one of the expected values"),
        ("invalid type", "give the value the type expected"),
        ("invalid value", "give a value in the range expected"),
        ("invalid length", "give as many items as expected"),
        ("missing field", "add the key"),
        ("duplicate field", "keep the key once"),
        ("duplicate entry", "keep the key once"),
    ];
    fixes
        .iter()
        .find(|(start, _)| what.starts_with(start))
        .map(|(_, fix)| *fix)
}

/// serde_yaml_ng appends " at line L column C"; we print the location ourselves.
fn strip_location(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}
