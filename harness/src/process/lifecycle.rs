//! The one result of starting anything: a child process, a reference node in
//! process, a container. It is [`Started::Ready`] with the running value, or
//! [`Started::Refused`] with a [`Refusal`]: the node itself refused its
//! configuration, which is a case's outcome, not a failure of the harness.
//! A failure of the harness (a missing tool, a deadline, Docker gone) is the
//! `Err` of the `Result<Started<N>, HarnessError>` around it.
//!
//! It lives in the process layer, the bottom one, so that `process`, `nodes`
//! and `containers` share one type; the running-node trait and the stack
//! that starts nodes in order are in `nodes/stack.rs`.

use crate::error::HarnessError;

/// What starting a node gave.
#[derive(Debug)]
#[must_use = "a ready node stops when dropped; a refusal is the case's outcome"]
pub enum Started<N> {
    /// It runs and is ready.
    Ready(N),
    /// It refused to start (its configuration, its port): why.
    Refused(Refusal),
}

/// A node that refused to start: which node, what it said, and the log
/// lines collected up to the refusal.
#[derive(Debug)]
pub struct Refusal {
    /// The node's name.
    pub node: String,
    /// What it said: a child's error lines (its whole stderr, or the lines
    /// an operator reads), or an in-process node's error (file, key, fix).
    pub message: String,
    /// Log lines collected up to the refusal: a stack's earlier nodes and
    /// the refusing node's own lines, `[node] line` (see
    /// `nodes::stack::prefixed`); empty when nothing was collected.
    pub logs: Vec<String>,
    /// The harness's own check that refused an in-process node, kept typed
    /// (its kind decides an exit code) for callers that report it as an
    /// error; [`Self::message`] is its text.
    pub cause: Option<Box<HarnessError>>,
}

impl Refusal {
    /// `node` refused, saying `message`.
    pub fn new(node: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            node: node.into(),
            message: message.into(),
            logs: Vec::new(),
            cause: None,
        }
    }

    /// `node` refused with an error of the harness's own checks (an
    /// in-process node): its text is the message, the error is kept.
    pub fn of_error(node: impl Into<String>, error: HarnessError) -> Self {
        Self {
            node: node.into(),
            message: error.to_string(),
            logs: Vec::new(),
            cause: Some(Box::new(error)),
        }
    }

    /// With these log lines.
    pub fn with_logs(mut self, logs: Vec<String>) -> Self {
        self.logs = logs;
        self
    }

    /// `NODE did not start: MESSAGE`, as a cluster's refusal is shown.
    pub fn did_not_start(&self) -> String {
        format!("{} did not start: {}", self.node, self.message)
    }

    /// The refusal as an error, for a caller that cannot go on without the
    /// node: the in-process error itself when there is one, else
    /// [`HarnessError::Refused`] with the node's message.
    pub fn into_error(self) -> HarnessError {
        match self.cause {
            Some(error) => *error,
            None => HarnessError::refused(self.node, self.message),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.did_not_start())
    }
}

impl<N> Started<N> {
    /// An in-process start: an error the node's own configuration caused
    /// (bad material, an invalid setting, a file it cannot read or a port
    /// it cannot bind) is the node refusing, as the product refuses at
    /// startup; any other error stays the harness's.
    pub fn in_process(node: &str, started: Result<N, HarnessError>) -> Result<Self, HarnessError> {
        match started {
            Ok(ready) => Ok(Self::Ready(ready)),
            Err(
                e @ (HarnessError::Material { .. }
                | HarnessError::Invalid { .. }
                | HarnessError::Io { .. }),
            ) => Ok(Self::Refused(Refusal::of_error(node, e))),
            Err(e) => Err(e),
        }
    }

    /// The ready value changed by `f`.
    pub fn map<M>(self, f: impl FnOnce(N) -> M) -> Started<M> {
        match self {
            Self::Ready(n) => Started::Ready(f(n)),
            Self::Refused(r) => Started::Refused(r),
        }
    }

    /// The ready value changed by `f`, which may fail.
    pub fn try_map<M, E>(self, f: impl FnOnce(N) -> Result<M, E>) -> Result<Started<M>, E> {
        Ok(match self {
            Self::Ready(n) => Started::Ready(f(n)?),
            Self::Refused(r) => Started::Refused(r),
        })
    }

    /// The refusal changed by `f` (a node turning a child's stderr into the
    /// lines an operator reads).
    pub fn map_refusal(self, f: impl FnOnce(Refusal) -> Refusal) -> Self {
        match self {
            Self::Refused(r) => Self::Refused(f(r)),
            ready => ready,
        }
    }

    /// The ready value, or the refusal.
    pub fn ready(self) -> Result<N, Refusal> {
        match self {
            Self::Ready(n) => Ok(n),
            Self::Refused(r) => Err(r),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_errors_are_refusals_and_others_stay_errors() {
        let invalid = HarnessError::invalid("gateway.yaml", "port", "not a port", "use 1-65535");
        let text = invalid.to_string();
        match Started::<()>::in_process("gateway", Err(invalid)) {
            Ok(Started::Refused(r)) => {
                assert_eq!((r.node.as_str(), r.message.as_str()), ("gateway", &*text));
                assert!(r.cause.is_some() && r.logs.is_empty());
                assert_eq!(r.did_not_start(), format!("gateway did not start: {text}"));
            }
            other => panic!("not a refusal: {other:?}"),
        }
        let deadline = HarnessError::deadline("gateway", "not ready");
        assert!(Started::<()>::in_process("gateway", Err(deadline)).is_err());
        let r = Refusal::new("nginx", "[emerg] bad");
        assert!(matches!(r.into_error(), HarnessError::Refused { .. }));
    }
}
