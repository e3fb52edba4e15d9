//! The one hermetic command builder. A tool or node started by tlsmatrix
//! sees only what the case gives it: an empty environment plus the variables
//! named here, the case directory as its working directory (and, when asked,
//! as its `HOME`, so that tools that cache credentials write there), and,
//! when the case has `hosts:` names, the case's hosts file as `/etc/hosts`
//! in a user and mount namespace of its own (see [`crate::hosts`]).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::config::EnvMap;
use crate::error::HarnessError;

/// A command with an empty environment and a working directory, built by
/// value: `Hermetic::new(program, dir).home().envs(&env).command()`.
#[derive(Debug)]
pub struct Hermetic {
    command: tokio::process::Command,
    workdir: PathBuf,
}

impl Hermetic {
    /// `program` in `workdir`, with an empty environment.
    pub fn new(program: impl AsRef<OsStr>, workdir: &Path) -> Self {
        let mut command = tokio::process::Command::new(program);
        command.env_clear().current_dir(workdir);
        Self {
            command,
            workdir: workdir.to_path_buf(),
        }
    }

    /// `HOME` set to the working directory.
    pub fn home(mut self) -> Self {
        self.command.env("HOME", &self.workdir);
        self
    }

    /// `PATH` as this process has it (empty when unset): for a JVM that
    /// looks up helpers on it.
    pub fn inherit_path(mut self) -> Self {
        self.command
            .env("PATH", std::env::var("PATH").unwrap_or_default());
        self
    }

    /// One argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.command.arg(arg);
        self
    }

    /// Arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command.args(args);
        self
    }

    /// One variable (after those set before it).
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.command.env(key, value);
        self
    }

    /// Variables (after those set before them).
    pub fn envs(mut self, env: &EnvMap) -> Self {
        self.command.envs(env);
        self
    }

    /// When the working directory holds a case's hosts file
    /// ([`crate::hosts::HOSTS_FILE`]), the program sees it as `/etc/hosts`.
    pub fn case_hosts(mut self) -> Result<Self, HarnessError> {
        if let Some(hosts) = crate::hosts::case_file(&self.workdir) {
            let isolation = crate::hosts::Isolation::for_file(&hosts)?;
            // SAFETY: `enter` only makes system calls on data prepared before the fork.
            unsafe { self.command.pre_exec(move || isolation.enter()) };
        }
        Ok(self)
    }

    /// The command, killed when dropped, with standard input closed (stdout
    /// and stderr are the caller's to pipe).
    pub fn command(mut self) -> tokio::process::Command {
        self.command.stdin(Stdio::null()).kill_on_drop(true);
        self.command
    }
}
