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
    #[error("cannot listen on {address}: {source}; fix: {}", .owner.fix())]
    PortInUse {
        /// The address we tried to bind.
        address: String,
        /// The operating system's error.
        source: std::io::Error,
        /// Whose setting chose the port: the fix names that product's setting.
        owner: PortOwner,
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
    /// A tool or process (a real peer, an oracle, openssl, a broker) could
    /// not be started, or exited before it was ready.
    #[error("{what}: {problem}")]
    StartFailed {
        /// The tool or process.
        what: String,
        /// What went wrong, in the tool's words where it said something.
        problem: String,
        /// What to change, when more is known than the kind's default.
        fix: Option<String>,
    },
    /// Something bounded did not happen within its bound.
    #[error("{what}: {problem}")]
    Deadline {
        /// What was awaited.
        what: String,
        /// What did not happen, with the bound.
        problem: String,
        /// What to change, when more is known than the kind's default.
        fix: Option<String>,
    },
    /// A node refused the configuration it was given (a case that expects a
    /// refusal has it as its outcome; elsewhere it is this error).
    #[error("{what}: {problem}")]
    Refused {
        /// The node.
        what: String,
        /// The refusal, in the node's words.
        problem: String,
        /// What to change, when more is known than the kind's default.
        fix: Option<String>,
    },
    /// A peer or node answered outside its protocol (no JSON line, an
    /// unexpected status, a call that failed).
    #[error("{what}: {problem}")]
    Protocol {
        /// Who answered.
        what: String,
        /// What came instead.
        problem: String,
        /// What to change, when more is known than the kind's default.
        fix: Option<String>,
    },
    /// tlsmatrix's own machinery failed (a runtime, a temp directory, a
    /// serialization): none of the kinds above.
    #[error("{what}: {problem}")]
    Run {
        /// The peer or node.
        what: String,
        /// What went wrong.
        problem: String,
    },
}

/// Whose setting chose a port that is taken: the fix of a
/// [`HarnessError::PortInUse`] names that product's setting.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PortOwner {
    /// A Zeebe gateway or broker; the setting as its input names it
    /// (`zeebe.gateway.network.port / ZEEBE_GATEWAY_NETWORK_PORT`).
    Zeebe {
        /// The port's setting.
        setting: String,
    },
    /// A KrakenD-style HTTP gateway: the file's `port` or `up --port`.
    KrakenD,
}

impl PortOwner {
    /// The fix for a taken port of this owner.
    pub fn fix(&self) -> String {
        let setting = match self {
            Self::Zeebe { setting } => setting.as_str(),
            Self::KrakenD => "the KrakenD file's `port`, or `tlsmatrix up --port`",
        };
        format!("stop the process using that port or set another port ({setting})")
    }
}

/// The kind of a [`HarnessError`], as verdicts and JSON results carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// [`HarnessError::Io`].
    Io,
    /// [`HarnessError::Yaml`].
    Yaml,
    /// [`HarnessError::Schema`].
    Schema,
    /// [`HarnessError::Invalid`].
    Invalid,
    /// [`HarnessError::Material`].
    Material,
    /// [`HarnessError::PortInUse`].
    PortInUse,
    /// [`HarnessError::PeerMissing`].
    PeerMissing,
    /// [`HarnessError::Unavailable`].
    Unavailable,
    /// [`HarnessError::StartFailed`].
    StartFailed,
    /// [`HarnessError::Deadline`].
    Deadline,
    /// [`HarnessError::Refused`].
    Refused,
    /// [`HarnessError::Protocol`].
    Protocol,
    /// [`HarnessError::Run`].
    Run,
}

impl HarnessError {
    /// A [`HarnessError::StartFailed`] without a fix of its own.
    pub fn start_failed(what: impl Into<String>, problem: impl std::fmt::Display) -> Self {
        Self::StartFailed {
            what: what.into(),
            problem: problem.to_string(),
            fix: None,
        }
    }

    /// A [`HarnessError::Deadline`] without a fix of its own.
    pub fn deadline(what: impl Into<String>, problem: impl std::fmt::Display) -> Self {
        Self::Deadline {
            what: what.into(),
            problem: problem.to_string(),
            fix: None,
        }
    }

    /// A [`HarnessError::Refused`] without a fix of its own.
    pub fn refused(what: impl Into<String>, problem: impl std::fmt::Display) -> Self {
        Self::Refused {
            what: what.into(),
            problem: problem.to_string(),
            fix: None,
        }
    }

    /// A [`HarnessError::Protocol`] without a fix of its own.
    pub fn protocol(what: impl Into<String>, problem: impl std::fmt::Display) -> Self {
        Self::Protocol {
            what: what.into(),
            problem: problem.to_string(),
            fix: None,
        }
    }

    /// This error with `fix` as its own fix (for the kinds that carry one
    /// beside their message: start, deadline, refusal, protocol).
    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        if let Self::StartFailed { fix: f, .. }
        | Self::Deadline { fix: f, .. }
        | Self::Refused { fix: f, .. }
        | Self::Protocol { fix: f, .. } = &mut self
        {
            *f = Some(fix.into());
        }
        self
    }

    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Io { .. } => ErrorKind::Io,
            Self::Yaml { .. } => ErrorKind::Yaml,
            Self::Schema { .. } => ErrorKind::Schema,
            Self::Invalid { .. } => ErrorKind::Invalid,
            Self::Material { .. } => ErrorKind::Material,
            Self::PortInUse { .. } => ErrorKind::PortInUse,
            Self::PeerMissing { .. } => ErrorKind::PeerMissing,
            Self::Unavailable { .. } => ErrorKind::Unavailable,
            Self::StartFailed { .. } => ErrorKind::StartFailed,
            Self::Deadline { .. } => ErrorKind::Deadline,
            Self::Refused { .. } => ErrorKind::Refused,
            Self::Protocol { .. } => ErrorKind::Protocol,
            Self::Run { .. } => ErrorKind::Run,
        }
    }

    /// What to do about it: the error's own fix, else its kind's.
    pub fn fix(&self) -> String {
        let own = |fix: &Option<String>, default: &str| {
            fix.clone().unwrap_or_else(|| default.to_string())
        };
        match self {
            Self::Io { fix, .. }
            | Self::Schema { fix, .. }
            | Self::Invalid { fix, .. }
            | Self::Material { fix, .. }
            | Self::Unavailable { fix, .. } => fix.clone(),
            Self::Yaml { .. } => "correct the syntax at that position".to_string(),
            Self::PortInUse { owner, .. } => owner.fix(),
            Self::PeerMissing { install, .. } => format!("install it with: {install}"),
            Self::StartFailed { fix, .. } => own(
                fix,
                "check that the tool runs by hand with the same arguments (its own words are above)",
            ),
            Self::Deadline { fix, .. } => own(
                fix,
                "run the case again alone: a loaded machine is slower; if it still takes too long, it is stuck",
            ),
            Self::Refused { fix, .. } => own(
                fix,
                "change the configuration the refusal names (`tlsmatrix explain` with its text names the case)",
            ),
            Self::Protocol { fix, .. } => own(
                fix,
                "check that the address reaches the node or peer the case means, in the protocol it speaks",
            ),
            Self::Run { .. } => {
                "this is tlsmatrix's own failure: report it with the command line".to_string()
            }
        }
    }

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
        (
            "invalid name",
            "write the name as the message says (the grammar of names: crate::ids)",
        ),
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

#[cfg(test)]
mod kind_tests {
    use super::*;

    #[test]
    fn a_port_in_use_names_the_setting_of_whoever_raised_it() {
        let taken = |owner| HarnessError::PortInUse {
            address: "127.0.0.1:1".to_string(),
            source: std::io::Error::from(std::io::ErrorKind::AddrInUse),
            owner,
        };
        let krakend = taken(PortOwner::KrakenD).to_string();
        assert!(krakend.contains("the KrakenD file's `port`"), "{krakend}");
        assert!(!krakend.to_lowercase().contains("zeebe"), "{krakend}");
        let zeebe = taken(PortOwner::Zeebe {
            setting: "zeebe.gateway.network.port".to_string(),
        });
        assert!(zeebe.to_string().contains("(zeebe.gateway.network.port)"));
        assert_eq!(zeebe.kind(), ErrorKind::PortInUse);
    }

    #[test]
    fn an_error_verdict_carries_its_kind_and_fix_into_json() {
        let e = HarnessError::deadline("admin API", "no answer within 10 s");
        assert_eq!(e.to_string(), "admin API: no answer within 10 s");
        let verdict = crate::engine::Verdict::error(&e.with_fix("raise the bound"));
        let json = serde_json::to_value(&verdict).expect("serializable");
        assert_eq!(json["verdict"], "error");
        assert_eq!(json["kind"], "deadline");
        assert_eq!(json["fix"], "raise the bound");
        assert_eq!(json["message"], "admin API: no answer within 10 s");
    }
}
