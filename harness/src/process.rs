//! The process layer: everything about starting a program, under `nodes/`,
//! `peers/`, `pki/` and `containers/`, and importing none of them.
//!
//! - [`tools`]: the table of tools (name, override variable, install hint)
//!   and how one is found ([`tools::locate`], [`tools::tools_dir`]);
//! - [`command`]: the one hermetic command builder (an empty environment,
//!   `HOME` and the working directory, the case's hosts file);
//! - [`run`]: a tool run to completion, bounded, output captured;
//! - [`lifecycle`]: the one result of starting anything, [`Started`] (ready,
//!   or a typed [`Refusal`]), shared by child processes, in-process nodes
//!   and containers;
//! - [`child`]: a long-running child started with one readiness model
//!   ([`Ready`]), the same one containers wait on;
//! - [`registry`]: the children that may still run, killed and reaped on
//!   an interrupt;
//! - [`jvm`]: a JVM launch with its class-data archive;
//! - [`lane`]: the engine's slot a case runs in, given back while the case
//!   waits for a process another case holds;
//! - [`warm`]: long-lived processes that serve one case after another.

pub mod child;
pub mod command;
pub mod jvm;
pub mod lane;
pub mod lifecycle;
pub mod registry;
pub mod run;
pub mod tools;
pub mod warm;

pub use child::ChildProcess;
pub use command::Hermetic;
pub use lifecycle::{Refusal, Started};
pub use registry::{forget_child, kill_all_children, register_child};
pub use run::{run, run_with_input, ProcessOutput};
pub use tools::{locate, tools_dir, Tool};

/// When a started program counts as ready: data, not code that waits (as
/// testcontainers' `WaitFor`). One model for child processes and containers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ready {
    /// A line of standard output starting with this text. A child process
    /// must print it as its first line (the rest of the line is its
    /// payload, an address); a container may print other lines before it.
    Stdout(String),
    /// A line of standard error containing this text (nginx logs
    /// `getrlimit(RLIMIT_NOFILE)` once it listens); the lines before it
    /// are kept as the log.
    Stderr(String),
    /// The image's own HEALTHCHECK reports healthy (containers only).
    Healthcheck,
}
