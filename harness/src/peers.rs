//! Clients we drive against the nodes, built-in and real tools, each returning an
//! [`Observation`]: what a user would have seen, unclassified.

pub mod builtin;
pub mod camunda;
pub mod camunda_sdk;
pub mod camunda_spring;
pub mod chromium;
pub mod http_clients;
pub mod kafka_java;
pub mod kcat;
pub mod probe;
pub mod python;
pub mod warm;
pub mod zbctl;
mod zeebe_settings;

use std::time::Duration;

use serde::Serialize;

pub use zeebe_settings::ZeebeClientConfig;

/// What one client run produced, raw.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Observation {
    /// The peer, with its version where known (`zbctl 8.4.0`, `builtin`).
    pub peer: String,
    /// The command line run, for a real tool (paths as given).
    pub command: Option<String>,
    /// The exit code of a real tool.
    pub exit_code: Option<i32>,
    /// Standard output (or the built-in client's success summary).
    pub stdout: String,
    /// Standard error (or the built-in client's error chain).
    pub stderr: String,
    /// Brokers in the topology answer when the call succeeded.
    pub connected_brokers: Option<u32>,
    /// An outcome the area established itself instead of from text (an HTTP
    /// 2xx answer, a formed cluster); wins over text classification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direct: Option<crate::outcome::Outcome>,
    /// Log lines of the nodes involved, filled in by the engine.
    pub node_logs: Vec<String>,
    /// Wall time of the client run.
    #[serde(skip)]
    pub elapsed: Duration,
}

impl Observation {
    /// The text a user would read: the error output when there is one, else the
    /// standard output; trimmed.
    pub fn text(&self) -> &str {
        let err = self.stderr.trim();
        if err.is_empty() {
            self.stdout.trim()
        } else {
            err
        }
    }
}

pub use crate::nodes::{bracketed, host_port};

/// Joins an error and its sources with ": ", skipping a source whose text the
/// previous one already contains.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = vec![err.to_string()];
    let mut source = err.source();
    while let Some(e) = source {
        let text = e.to_string();
        if !parts.last().is_some_and(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = e.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_ipv6_literal_is_bracketed() {
        assert_eq!(super::host_port("::1", 26500), "[::1]:26500");
        assert_eq!(super::host_port("127.0.0.1", 26500), "127.0.0.1:26500");
        assert_eq!(super::host_port("localhost", 443), "localhost:443");
    }
}
