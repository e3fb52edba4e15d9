//! The command line. Thin: every command calls the library's public API;
//! the CLI is part of the binary, not of the library.
//!
//! By concern: [`args`] (the clap types and value enums), [`run`] (selection
//! and the run/report policy), [`up`] (serving nodes), [`commands`] (the
//! other commands), [`help`] (examples, completions, man page). This file
//! holds what every command shares: dispatch, the runtime and the one
//! interrupt path.
//!
//! Exit codes: 0 all cases passed (or were skipped with a reason), 1 a case
//! failed or flapped across repetitions, 2 a harness error (bad input, a port in
//! use, ...), which is printed with the file, the key and the fix.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use tlsmatrix::error::HarnessError;

mod args;
mod commands;
mod help;
mod run;
mod up;

use args::{Cli, Command};

/// Runs the command line; returns the process exit code.
pub(crate) fn main() -> ExitCode {
    let cli = Cli::parse();
    // testcontainers warns about every container that ends before its
    // readiness line: for a case that expects a refused configuration that
    // is the outcome, which the report already shows.
    let default_level = if matches!(cli.command, Command::Up(_)) {
        "info,rustls=error"
    } else {
        "warn,rustls=error,testcontainers=error"
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(help::colour(std::io::stderr().is_terminal()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .try_init();
    quiet_on_closed_stdout();
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tlsmatrix: error: {e}");
            ExitCode::from(2)
        }
    }
}

/// Exit code of a command whose standard output was closed by its reader
/// (`tlsmatrix list | head -1`): 128 + SIGPIPE, what a shell reports for a
/// tool the closed pipe stopped.
const CLOSED_STDOUT_EXIT: i32 = 141;

/// A closed standard output ends the command quietly. Rust ignores SIGPIPE,
/// so a write to a closed pipe fails with EPIPE and `print!` panics with
/// "failed printing to stdout"; every command prints through `print!`, so the
/// one place that sees them all is the panic hook: on exactly that panic it
/// kills this process's children and exits [`CLOSED_STDOUT_EXIT`] without a
/// word. Any other panic still goes to the default hook.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout")
            && message.contains(&std::io::Error::from_raw_os_error(libc::EPIPE).to_string())
        {
            tlsmatrix::process::kill_all_children();
            std::process::exit(CLOSED_STDOUT_EXIT);
        }
        default(info);
    }));
}

/// Runs `work` on `rt` until it ends or SIGINT/SIGTERM comes; `None` when a
/// signal came first (then end with [`interrupted`]). Every command that
/// starts nodes or writes keys runs its work through here: one interrupt path.
pub(crate) fn until_interrupted<F: std::future::Future>(
    rt: &tokio::runtime::Runtime,
    work: F,
) -> Option<F::Output> {
    rt.block_on(async {
        // The handler is installed before the work starts, so a signal during
        // the very first step is caught too.
        let signal = wait_for_signal();
        tokio::pin!(signal);
        tokio::select! {
            biased;
            _ = &mut signal => None,
            out = work => Some(out),
        }
    })
}

/// The end of an interrupted command: the work future is already dropped
/// (its nodes stopped, its temp directories removed); the runtime's shutdown
/// drops every task it spawned (child processes are killed on drop), every
/// registered child is killed and waited for, the containers of this process
/// are removed when `containers`, and the exit code is 130.
pub(crate) fn interrupted(rt: tokio::runtime::Runtime, containers: bool, what: &str) -> ExitCode {
    rt.shutdown_timeout(Duration::from_secs(10));
    tlsmatrix::process::kill_all_children();
    if containers {
        tlsmatrix::containers::reap_own();
    }
    eprintln!(
        "tlsmatrix: interrupted; every node, peer process and temp directory of {what} was removed"
    );
    ExitCode::from(130)
}

/// The command's runtime, with SIGINT and SIGTERM listened for from here on.
///
/// The listeners are installed when the runtime is built, before the command
/// writes or starts anything, and they live until the process ends: a signal
/// that comes before the first `await`, or between two waits (a node served
/// after it started), is never the default disposition (killed, nothing
/// cleaned) and never falls between two handlers. Build the runtime first,
/// then create staging directories or start nodes. One runtime per process:
/// every command builds exactly one.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, HarnessError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| HarnessError::run("tokio runtime", e))?;
    {
        let _entered = rt.enter();
        use tokio::signal::unix::{signal, SignalKind};
        let listeners = signal(SignalKind::interrupt())
            .and_then(|int| Ok((int, signal(SignalKind::terminate())?)))
            .map_err(|e| HarnessError::run("SIGINT/SIGTERM listeners", e))?;
        // A second runtime in one process keeps the first listeners (none does).
        let _ = INTERRUPTS.set(tokio::sync::Mutex::new(listeners));
    }
    Ok(rt)
}

/// SIGINT and SIGTERM listeners of this process (see [`runtime`]).
static INTERRUPTS: std::sync::OnceLock<
    tokio::sync::Mutex<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
> = std::sync::OnceLock::new();

fn dispatch(cli: Cli) -> Result<ExitCode, HarnessError> {
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::List(select) => run::list(&select),
        Command::Certs { out } => commands::certs(&out),
        Command::Up(args) => up::up(args),
        Command::Reproduce {
            report,
            emit_scenario,
        } => commands::reproduce(&report, emit_scenario),
        Command::Drift(select) => commands::drift(select),
        Command::Bench {
            select,
            iterations,
            jobs,
        } => commands::bench(&select, iterations, jobs),
        Command::Probe(args) => commands::probe(args),
        Command::Completions { shell } => help::completions(shell).map(|()| ExitCode::SUCCESS),
        Command::Man => help::man().map(|()| ExitCode::SUCCESS),
        Command::Explain {
            corpus: Some(dir), ..
        } => commands::corpus(&dir),
        Command::Explain { text, area, .. } => commands::explain(text.as_deref(), area.as_deref()),
        Command::Catalogue => commands::catalogue(),
    }
}

/// Until SIGINT or SIGTERM comes (one that came since [`runtime`] built the
/// listeners and no earlier wait consumed counts too).
pub(crate) async fn wait_for_signal() {
    let Some(listeners) = INTERRUPTS.get() else {
        // Only reached without `runtime()`: nothing to be interrupted.
        return std::future::pending().await;
    };
    let mut guard = listeners.lock().await;
    let (int, term) = &mut *guard;
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
}
