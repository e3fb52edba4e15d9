//! The command line. Thin: every command calls the library.
//!
//! Exit codes: 0 all cases passed (or were skipped with a reason), 1 a case
//! failed or flapped across repetitions, 2 a harness error (bad input, a port in
//! use, ...), which is printed with the file, the key and the fix.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};

use crate::config::zeebe::{GatewayMode, GatewaySettings};
use crate::config::EnvMap;
use crate::engine::{self, RunOptions};
use crate::error::HarnessError;
use crate::nodes::cluster::{ClusterMember, MemberSettings, MemberStart, NodeRole, JOIN_DEADLINE};
use crate::nodes::{GatewayNode, Topology};
use crate::report::{self, Format, Totals};
use crate::scenario::{self, Case};

mod help;

/// tlsmatrix: TLS conformance scenarios for clients, gateways and clusters.
#[derive(Debug, Parser)]
#[command(name = "tlsmatrix", version, about, after_help = help::TOP)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run scenario cases against the embedded reference nodes.
    #[command(after_help = help::RUN)]
    Run(RunArgs),
    /// List the case ids the scenario files expand to.
    #[command(after_help = help::LIST)]
    List(SelectArgs),
    /// Write a documented set of certificates and keys for manual use.
    #[command(after_help = help::CERTS)]
    Certs {
        /// Directory to write into (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
    /// Start a reference node from its configuration file and serve until
    /// SIGINT/SIGTERM: a Zeebe gateway from gateway.yaml (plus the ZEEBE_*
    /// environment), a whole cluster from a cluster file (YAML with `nodes:`,
    /// as a zeebe-cluster case body), or a KrakenD-style HTTP gateway from a
    /// `.json` file.
    #[command(after_help = help::UP)]
    Up {
        /// gateway.yaml (or broker.yaml with --mode embedded), a cluster file, or krakend.json.
        config: PathBuf,
        /// KrakenD files only: listen on this port instead of the file's `port`
        /// (0 picks a free one).
        #[arg(long)]
        port: Option<u16>,
        /// Which configuration shape to read.
        #[arg(long, value_enum, default_value_t = ModeArg::Standalone)]
        mode: ModeArg,
        /// Working directory for relative paths (default: the current directory).
        #[arg(long)]
        workdir: Option<PathBuf>,
        /// Brokers reported in the topology.
        #[arg(long, default_value_t = 1)]
        brokers: u32,
        /// Start one node of a cluster that runs across hosts: a broker or a
        /// standalone gateway read from CONFIG and the `ZEEBE_*` environment
        /// (nodeId, clusterSize, initialContactPoints, host, advertisedHost,
        /// internal port, transport security), joining the others by its
        /// contact points.
        #[arg(long, value_enum)]
        member: Option<MemberArg>,
        /// With --member: the node's name in reports (default: broker-<nodeId>,
        /// or the gateway's memberId).
        #[arg(long, requires = "member")]
        name: Option<String>,
    },
    /// Print the case catalogue: documented and observed troubleshooting cases.
    #[command(after_help = help::CATALOGUE)]
    Catalogue,
    /// Reproduce a user's report locally: verdict, evidence, and the fix that works.
    #[command(after_help = help::REPRODUCE)]
    Reproduce {
        /// The report file (YAML).
        report: PathBuf,
        /// Also write the confirmed report as a scenario file.
        #[arg(long)]
        emit_scenario: Option<PathBuf>,
    },
    /// Per documented case: the documented message, what each client prints
    /// today, and whether the case's signature still matches both.
    #[command(after_help = help::DRIFT)]
    Drift(SelectArgs),
    /// Run an area's client attempts against an endpoint that already runs (no
    /// node is started) and print, per attempt, the outcome, the catalogue case
    /// and its fix. Exit 0 when an attempt connected, 1 when none did.
    #[command(after_help = help::PROBE)]
    Probe(ProbeArgs),
    /// Measure: the handshake floor, gateway start time, per-case cost, full matrix.
    #[command(after_help = help::BENCH)]
    Bench {
        #[command(flatten)]
        select: SelectArgs,
        /// Iterations of the floor and start measurements.
        #[arg(long, default_value_t = 50)]
        iterations: usize,
        /// Cases run at once for the full-matrix figure (1 or more).
        #[arg(long, default_value_t = default_jobs(), value_parser = at_least_one)]
        jobs: usize,
    },
    /// Match an error text against the catalogue: the case, likely causes, fixes.
    #[command(after_help = help::EXPLAIN)]
    Explain {
        /// The error text; standard input when absent or "-".
        text: Option<String>,
        /// Only this area's catalogue.
        #[arg(long)]
        area: Option<String>,
        /// Instead of one text, score every text of a corpus directory
        /// (fixtures/real-texts): right case on top, per area and per stack.
        #[arg(long, value_name = "DIR", conflicts_with = "text")]
        corpus: Option<std::path::PathBuf>,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(after_help = help::COMPLETIONS)]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): usage, options, and each command with its summary.
    #[command(after_help = help::MAN)]
    Man,
}

#[derive(Debug, clap::Args)]
struct ProbeArgs {
    /// host:port of the endpoint ([v6]:port for IPv6 literals).
    address: String,
    /// Whose client side runs: zeebe-client (a Zeebe gateway), http-gateway
    /// (a KrakenD-style gateway), kafka-gateway (a Kafka gateway or broker).
    #[arg(long, default_value = "zeebe-client")]
    area: String,
    /// Client kinds, comma-separated (default: builtin,zbctl for zeebe-client,
    /// curl for http-gateway, kcat for kafka-gateway).
    #[arg(long, value_delimiter = ',')]
    client: Vec<String>,
    /// CA file the server is verified against, in the attempts that use one.
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Client certificate (http-gateway mTLS attempts).
    #[arg(long, requires = "key")]
    cert: Option<PathBuf>,
    /// The client certificate's private key (handed to the client, never shown).
    #[arg(long, requires = "cert")]
    key: Option<PathBuf>,
    /// SASL PLAIN username (kafka-gateway).
    #[arg(long)]
    username: Option<String>,
    /// SASL PLAIN password, e.g. a gateway token (never shown); also read from
    /// TLSMATRIX_PROBE_PASSWORD so it stays out of the shell history.
    #[arg(long, env = "TLSMATRIX_PROBE_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// Bound on the reachability check and on each client run, in seconds.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// `table` (text) or `json`.
    #[arg(long, default_value = "table")]
    format: String,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum MemberArg {
    Broker,
    Gateway,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ModeArg {
    Standalone,
    Embedded,
}

#[derive(Debug, clap::Args)]
struct SelectArgs {
    /// Scenario files or folders (default: every file under scenarios/).
    paths: Vec<PathBuf>,
    /// Only cases whose id matches this glob (repeatable).
    #[arg(long)]
    filter: Vec<String>,
    /// Only cases on this backend (`embedded`, `netty-oracle`, `go-oracle`), or
    /// `all`. Cases without a backend axis always run. `containers` runs the
    /// embedded cases of the areas that support it (zeebe-client) with their
    /// nodes in containers of the reference image (needs a Docker engine).
    #[arg(long, default_value = "embedded")]
    backend: String,
    /// The product release the cases run against: one an area models
    /// (`tlsmatrix catalogue` lists them), `changed` (the newest plus the
    /// older releases' cases whose expectation differs, as nextest runs) or
    /// `all` (every case at every release). Default: each area's newest
    /// release. An older release runs only the cases whose expectation
    /// differs for it; their ids end `@<release>`.
    #[arg(long, value_name = "RELEASE", value_parser = crate::version::Selection::parse)]
    product_version: Option<crate::version::Selection>,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    #[command(flatten)]
    select: SelectArgs,
    /// Report format on standard output.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Run the selection N times (N ≥ 1) and report any case whose outcome changed.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    repeat: u32,
    /// Cases run at once (1 or more).
    #[arg(long, default_value_t = default_jobs(), value_parser = at_least_one)]
    jobs: usize,
}

fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get() * 2)
}

/// A count of 1 or more: `--jobs 0` would run nothing (it used to run as 1).
fn at_least_one(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(0) => Err("0 runs nothing; give 1 or more".to_string()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("{e}; give a whole number, 1 or more")),
    }
}

/// Runs the command line; returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // testcontainers warns about every container that ends before its
    // readiness line: for a case that expects a refused configuration that
    // is the outcome, which the report already shows.
    let default_level = if matches!(cli.command, Command::Up { .. }) {
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
            crate::peers::process::kill_all_children();
            std::process::exit(CLOSED_STDOUT_EXIT);
        }
        default(info);
    }));
}

/// Runs `work` on `rt` until it ends or SIGINT/SIGTERM comes; `None` when a
/// signal came first (then end with [`interrupted`]). Every command that
/// starts nodes or writes keys runs its work through here: one interrupt path.
fn until_interrupted<F: std::future::Future>(
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
fn interrupted(rt: tokio::runtime::Runtime, containers: bool, what: &str) -> ExitCode {
    rt.shutdown_timeout(Duration::from_secs(10));
    crate::peers::process::kill_all_children();
    if containers {
        crate::containers::reap_own();
    }
    eprintln!(
        "tlsmatrix: interrupted; every node, peer process and temp directory of {what} was removed"
    );
    ExitCode::from(130)
}

fn runtime() -> Result<tokio::runtime::Runtime, HarnessError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| HarnessError::run("tokio runtime", e))
}

fn dispatch(cli: Cli) -> Result<ExitCode, HarnessError> {
    match cli.command {
        Command::Run(args) => run(args),
        Command::List(select) => {
            for case in select_cases(&select)? {
                println!("{}", case.id);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Certs { out } => certs(&out),
        Command::Up {
            config,
            port,
            mode,
            workdir,
            brokers,
            member,
            name,
        } => {
            // Relative paths in every kind of file resolve against this.
            let workdir = match workdir {
                Some(w) => w,
                None => std::env::current_dir().map_err(|e| HarnessError::read(".", e))?,
            };
            // File kinds by extension, in any case (`.JSON` is KrakenD too).
            let is_json = config
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("json"));
            let refuse = |flag: &str, why: &str, fix: &str| {
                Err(HarnessError::invalid("command line", flag, why, fix))
            };
            if port.is_some() && !is_json {
                return refuse(
                    "--port",
                    "--port applies to KrakenD (.json) files only",
                    "set the port in the file: zeebe.gateway.network.port (ZEEBE_GATEWAY_NETWORK_PORT),                      zeebe.broker.gateway.network.port with --mode embedded, or a node's config in a cluster file",
                );
            }
            if is_json && matches!(mode, ModeArg::Embedded) {
                return refuse(
                    "--mode",
                    "--mode embedded applies to Zeebe YAML files, not to a KrakenD (.json) file",
                    "drop --mode",
                );
            }
            if is_json && member.is_some() {
                return refuse(
                    "--member",
                    "--member applies to Zeebe YAML files, not to a KrakenD (.json) file",
                    "drop --member",
                );
            }
            if let Some(member) = member {
                let role = match member {
                    MemberArg::Broker => NodeRole::Broker,
                    MemberArg::Gateway => NodeRole::Gateway,
                };
                up_member(&config, role, name.as_deref(), &workdir)
            } else if is_json {
                up_http(&config, port, &workdir)
            } else {
                up(&config, mode, &workdir, brokers)
            }
        }
        Command::Reproduce {
            report,
            emit_scenario,
        } => {
            let rt = runtime()?;
            crate::engine::reap_stale_scratch_dirs();
            let options = RunOptions::from_env();
            let work = crate::reproduce::reproduce(&report, &options);
            let Some(reproduction) = until_interrupted(&rt, work) else {
                return Ok(interrupted(rt, false, "the reproduction"));
            };
            let reproduction = reproduction?;
            print!("{}", reproduction.render());
            if let Some(out) = emit_scenario {
                if !reproduction.reproduced() {
                    return Err(HarnessError::invalid(
                        report.display().to_string(),
                        "reported-error",
                        "the report did not reproduce; refusing to record it as a scenario",
                        "check the setup against what the user runs",
                    ));
                }
                let yaml = reproduction.scenario_yaml()?;
                crate::pki::write_file(&out, yaml.as_bytes(), 0o644)?;
                println!("\nwrote scenario {}", out.display());
            }
            Ok(if reproduction.reproduced() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Drift(mut select) => {
            // Every release whose texts differ, unless one is asked for.
            select
                .product_version
                .get_or_insert(crate::version::Selection::Changed);
            let cases = select_cases(&select)?;
            let rt = runtime()?;
            let options = RunOptions::from_env();
            let Some(drifts) = until_interrupted(&rt, crate::drift::drift(&cases, &options)) else {
                return Ok(interrupted(rt, false, "drift"));
            };
            let drifts = drifts?;
            print!("{}", crate::drift::render(&drifts));
            let Some(statements) =
                until_interrupted(&rt, crate::drift::statements(&cases, &options))
            else {
                return Ok(interrupted(rt, false, "drift"));
            };
            let statements = statements?;
            print!("{}", crate::drift::render_statements(&statements));
            Ok(
                if drifts.iter().all(crate::drift::Drift::holds)
                    && statements.iter().all(crate::drift::StatementDrift::agrees)
                {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                },
            )
        }
        Command::Bench {
            select,
            iterations,
            jobs,
        } => {
            let cases = select_cases(&select)?;
            let rt = runtime()?;
            let Some(figures) =
                until_interrupted(&rt, crate::bench::bench(cases, iterations, jobs))
            else {
                return Ok(interrupted(rt, false, "the bench"));
            };
            print!("{}", figures?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Probe(args) => probe(args),
        Command::Completions { shell } => help::completions(shell).map(|()| ExitCode::SUCCESS),
        Command::Man => help::man().map(|()| ExitCode::SUCCESS),
        Command::Explain {
            corpus: Some(dir), ..
        } => {
            let corpus = crate::corpus::load(&dir)?;
            print!("{}", crate::corpus::render(&crate::corpus::score(&corpus)));
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain { text, area, .. } => {
            let text = match text.as_deref() {
                None | Some("-") => {
                    let mut buf = String::new();
                    std::io::Read::read_to_string(&mut std::io::stdin(), &mut buf)
                        .map_err(|e| HarnessError::read("standard input", e))?;
                    buf
                }
                Some(t) => t.to_string(),
            };
            let explanation = crate::explain::explain(&text, area.as_deref())?;
            print!("{}", explanation.render());
            Ok(if explanation.matches.is_empty() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Catalogue => {
            for area in crate::areas::registry() {
                let versions = area.catalogue().versions();
                if !versions.is_empty() {
                    let list: Vec<String> = versions.iter().map(|v| v.to_string()).collect();
                    println!(
                        "{} models releases: {} (default: {})",
                        area.name(),
                        list.join(", "),
                        list.last().map_or("", String::as_str)
                    );
                }
                for e in area.catalogue().entries() {
                    let span = area.catalogue().span(&e.id).describe();
                    println!(
                        "{} [{}{}] -> {}",
                        e.id,
                        if e.documented {
                            "documented"
                        } else {
                            "observed"
                        },
                        if span.is_empty() {
                            String::new()
                        } else {
                            format!(", {span}")
                        },
                        e.outcome.id()
                    );
                    println!("  {}", e.title);
                    println!("  fix: {}", e.fix);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn probe(args: ProbeArgs) -> Result<ExitCode, HarnessError> {
    if args.format != "table" && args.format != "json" {
        return Err(HarnessError::invalid(
            "command line",
            "--format",
            format!("{:?} is not a probe format", args.format),
            "use table or json",
        ));
    }
    let options = crate::live_probe::ProbeOptions {
        address: args.address,
        area: args.area,
        clients: args.client,
        ca: args.ca,
        cert: args.cert,
        key: args.key,
        username: args.username,
        password: args.password,
        deadline: std::time::Duration::from_secs(args.timeout.max(1)),
    };
    let rt = runtime()?;
    let Some(diagnosis) = until_interrupted(&rt, crate::live_probe::probe(&options)) else {
        return Ok(interrupted(rt, false, "the probe"));
    };
    let diagnosis = diagnosis?;
    if args.format == "json" {
        let json = serde_json::to_string_pretty(&diagnosis)
            .map_err(|e| HarnessError::run("probe report", e))?;
        println!("{json}");
    } else {
        print!("{}", diagnosis.render());
    }
    Ok(if diagnosis.connected() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The default scenario folder: `./scenarios`, else the one beside this crate.
pub fn default_scenarios() -> PathBuf {
    let local = PathBuf::from("scenarios");
    if local.is_dir() {
        local
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
    }
}

fn select_cases(select: &SelectArgs) -> Result<Vec<Case>, HarnessError> {
    let paths = if select.paths.is_empty() {
        vec![default_scenarios()]
    } else {
        select.paths.clone()
    };
    let cases = scenario::load_paths(&paths)?;
    engine::check_cases(&cases)?;
    let cases = crate::version::select(cases, &select.product_version.clone().unwrap_or_default())?;
    check_backend(&select.backend, &cases)?;
    let cases: Vec<Case> = if select.backend == "containers" {
        crate::containers::locate_docker()?;
        cases.into_iter().filter_map(on_containers).collect()
    } else {
        cases
            .into_iter()
            .filter(|c| {
                select.backend == "all" || c.label("backend").is_none_or(|b| b == select.backend)
            })
            .collect()
    };
    if select.filter.is_empty() {
        return Ok(cases);
    }
    let mut builder = globset::GlobSetBuilder::new();
    for f in &select.filter {
        builder.add(globset::Glob::new(f).map_err(|e| {
            HarnessError::invalid(
                "command line",
                "--filter",
                e.to_string(),
                "use a glob such as 'zeebe-client::*zbctl*'",
            )
        })?);
    }
    let set = builder.build().map_err(|e| {
        HarnessError::invalid("command line", "--filter", e.to_string(), "fix the glob")
    })?;
    Ok(cases.into_iter().filter(|c| set.is_match(&c.id)).collect())
}

/// `--backend` names a backend some selected case runs on (or `all`,
/// `containers`, or the default `embedded`); a misspelt one is refused here,
/// naming the flag, instead of selecting nothing.
fn check_backend(backend: &str, cases: &[Case]) -> Result<(), HarnessError> {
    let mut known: std::collections::BTreeSet<&str> =
        cases.iter().filter_map(|c| c.label("backend")).collect();
    known.extend(["embedded", "all", "containers"]);
    if known.contains(backend) {
        return Ok(());
    }
    Err(HarnessError::invalid(
        "command line",
        "--backend",
        format!("no backend named {backend:?}"),
        format!(
            "use one of: {}",
            known.into_iter().collect::<Vec<_>>().join(", ")
        ),
    ))
}

/// `--backend containers`: each case as its area places its nodes in
/// containers ([`crate::areas::Area::on_containers`]); cases an area cannot
/// place are left out.
fn on_containers(case: Case) -> Option<Case> {
    let area = crate::areas::find(&case.area).ok()?;
    let case = area.on_containers(&case)?;
    area.check(&case).ok()?;
    Some(case)
}

fn run(args: RunArgs) -> Result<ExitCode, HarnessError> {
    let cases: Vec<Arc<Case>> = select_cases(&args.select)?
        .into_iter()
        .map(Arc::new)
        .collect();
    if cases.is_empty() {
        return Err(HarnessError::invalid(
            "command line",
            "--filter",
            "no case matches the selection",
            "check the paths and the filter with `tlsmatrix list`",
        ));
    }
    let options = RunOptions::from_env();
    let rt = runtime()?;
    crate::engine::reap_stale_scratch_dirs();
    let start = Instant::now();
    let repeat = args.repeat;
    let bar = indicatif::ProgressBar::new(cases.len() as u64 * repeat as u64);
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let mut rounds = Vec::new();
    for _ in 0..repeat {
        let run = engine::run_all(cases.clone(), &options, args.jobs, |r| {
            bar.set_message(r.case.id.clone());
            bar.inc(1);
        });
        // Ctrl-C / SIGTERM: stop, and let the runtime's shutdown drop every
        // case task, which kills their child processes (kill_on_drop), stops
        // their nodes and removes their temp directories, before exiting 130.
        match until_interrupted(&rt, run) {
            Some(results) => rounds.push(results),
            None => {
                bar.finish_and_clear();
                return Ok(interrupted(
                    rt,
                    args.select.backend == "containers",
                    "the run",
                ));
            }
        }
    }
    bar.finish_and_clear();
    if args.select.backend == "containers" {
        // A network goes only with its last container; what a drop could
        // not remove goes now.
        crate::containers::reap_own();
    }
    let wall = start.elapsed();
    let results = rounds.last().cloned().unwrap_or_default();
    let mut out = std::io::stdout().lock();
    let _ = match args.format {
        Format::Table => write!(out, "{}", report::table(&results)),
        Format::Json => write!(out, "{}", report::json_lines(&results)),
        Format::Junit => write!(out, "{}", report::junit(&results, wall)),
        Format::Markdown => write!(out, "{}", report::markdown(&results)),
        Format::Html => write!(out, "{}", report::html(&results)),
    };
    let flaky = flapping(&rounds);
    let (pairs, diffs) = report::differential::differences(&results);
    for d in &diffs {
        eprintln!(
            "\nbackend difference: {} vs {}\n--- {}\n{}\n--- {}\n{}",
            d.reference, d.other, d.reference, d.expected, d.other, d.actual
        );
    }
    if pairs > 0 {
        eprintln!(
            "\ndifferential: {pairs} case pairs compared across backends, {} differ",
            diffs.len()
        );
    }
    for r in results.iter().filter(|r| !r.is_ok()) {
        eprint!("\n{}", report::failure_text(r));
    }
    // Skips are reported with their reason, grouped (a missing peer skips many).
    let mut reasons: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for r in &results {
        if let engine::Verdict::Skipped { reason } = &r.verdict {
            *reasons.entry(reason.as_str()).or_default() += 1;
        }
    }
    for (reason, n) in reasons {
        eprintln!("\nskipped {n} case(s): {reason}");
    }
    for line in &flaky {
        eprintln!("\nflaky across {repeat} repetitions: {line}");
    }
    let t = Totals::of(&results);
    eprintln!(
        "\nrun: {} passed, {} failed, {} skipped",
        t.passed, t.failed, t.skipped
    );
    eprintln!(
        "harness errors: {}; cases: {}; repetitions: {repeat}; wall time: {:.2}s",
        t.errors,
        results.len(),
        wall.as_secs_f64()
    );
    if t.errors > 0 {
        return Ok(ExitCode::from(2));
    }
    Ok(if t.failed > 0 || !flaky.is_empty() || !diffs.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Cases whose outcome changed across repetitions, each with how often it
/// had which outcome (in order of first appearance) and, for every outcome
/// but the first, the whole text of its first occurrence, indented: what a
/// flake looked like.
fn flapping(rounds: &[Vec<engine::CaseResult>]) -> Vec<String> {
    let Some(first) = rounds.first() else {
        return Vec::new();
    };
    let outcome = |x: &engine::CaseResult| {
        x.actual
            .as_ref()
            .map_or_else(|| "no outcome".to_string(), |a| a.outcome.id())
    };
    let mut flaky = Vec::new();
    for (i, r) in first.iter().enumerate() {
        let mut seen: Vec<(String, usize, String)> = Vec::new();
        for (n, round) in rounds.iter().enumerate() {
            let Some(x) = round.get(i) else { continue };
            let o = outcome(x);
            match seen.iter_mut().find(|(id, _, _)| *id == o) {
                Some(entry) => entry.1 += 1,
                None => {
                    // The whole text: a flake's first line is often the
                    // same as the usual one, and the difference is below it.
                    let text = x
                        .observation
                        .as_ref()
                        .map(|obs| obs.text().lines().collect::<Vec<_>>().join("\n    "))
                        .unwrap_or_else(|| format!("{:?}", x.verdict));
                    seen.push((o, 1, format!("repetition {}:\n    {text}", n + 1)));
                }
            }
        }
        if seen.len() > 1 {
            let counts: Vec<String> = seen.iter().map(|(o, c, _)| format!("{o} ×{c}")).collect();
            let mut line = format!("{} changed outcome: {}", r.case.id, counts.join(", "));
            for (o, _, first_seen) in seen.iter().skip(1) {
                line.push_str(&format!("\n  first {o} at {first_seen}"));
            }
            flaky.push(line);
        }
    }
    flaky
}

/// `certs --out DIR`: the documented set. Everything is first written into a
/// fresh staging directory inside DIR (keys created 0600 with
/// `O_EXCL|O_NOFOLLOW`), then each file is renamed over its name in DIR: an
/// existing file (of any mode, or a symbolic link) is replaced atomically,
/// never written through, and an interrupt leaves no half-written set (the
/// staging directory goes with it, exit 130).
fn certs(out: &Path) -> Result<ExitCode, HarnessError> {
    std::fs::create_dir_all(out).map_err(|e| HarnessError::write(out, e))?;
    let staging = tempfile::Builder::new()
        .prefix(".tlsmatrix-certs-")
        .tempdir_in(out)
        .map_err(|e| HarnessError::write(out, e))?;
    let dir = staging.path().to_path_buf();
    let rt = runtime()?;
    let work = rt.spawn_blocking(move || -> Result<usize, HarnessError> {
        let pki = crate::pki::manual_set().build()?;
        let written = pki.write_to(&dir)?;
        let readme = format!(
            "Certificates written by `tlsmatrix certs` for manual use.\n\
             Every certificate NAME has NAME.pem (the certificate), NAME.key (its private key, mode 0600)\n\
             and, when it has an issuer, NAME-chain.pem (the certificate followed by its issuers).\n\
             Files named *-expired, *-wrong-root, ... are broken on purpose.\n\n{}",
            crate::pki::describe(&pki)
        );
        crate::pki::write_readme(&dir.join("README.txt"), &readme)?;
        Ok(written.files().len())
    });
    let Some(joined) = until_interrupted(&rt, work) else {
        // The blocking writer ends within the runtime's shutdown; then the
        // staging directory, with whatever it holds, is removed.
        let code = interrupted(rt, false, "certs");
        drop(staging);
        return Ok(code);
    };
    let count = joined.map_err(|e| HarnessError::run("certs", e))??;
    let entries = std::fs::read_dir(staging.path()).map_err(|e| HarnessError::read(out, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| HarnessError::read(out, e))?;
        let target = out.join(entry.file_name());
        std::fs::rename(entry.path(), &target).map_err(|e| HarnessError::write(&target, e))?;
    }
    println!("wrote {count} certificates to {}", out.display());
    Ok(ExitCode::SUCCESS)
}

fn up(
    config: &Path,
    mode: ModeArg,
    workdir: &Path,
    brokers: u32,
) -> Result<ExitCode, HarnessError> {
    let text = crate::input::read(config)?;
    if crate::areas::zeebe_cluster::ClusterFile::is_cluster_file(&text) {
        return up_cluster(config, &text, workdir);
    }
    let mode = match mode {
        ModeArg::Standalone => GatewayMode::Standalone,
        ModeArg::Embedded => GatewayMode::Embedded,
    };
    let source = config.display().to_string();
    let props = crate::config::Properties::from_yaml(&source, &text, zeebe_env())?;
    for warning in crate::config::lint::zeebe_gateway(&props, mode) {
        eprintln!("tlsmatrix: warning: {warning}");
    }
    if let Some(warning) = crate::config::lint::other_shape(&props, mode) {
        eprintln!("tlsmatrix: warning: {warning}");
    }
    let settings = GatewaySettings::from_properties(mode, &props, workdir)?;
    if settings.host == "0.0.0.0" {
        // Zeebe's own default; `up` follows the product (see the README).
        eprintln!(
            "tlsmatrix: note: {source}: {}.network.host: listening on all interfaces (0.0.0.0), Zeebe's default; set it to 127.0.0.1 to keep the gateway local",
            mode.prefix()
        );
    }
    let rt = runtime()?;
    let start = GatewayNode::start(&settings, Topology::with_brokers(brokers));
    let Some(node) = until_interrupted(&rt, start) else {
        return Ok(interrupted(rt, false, "the gateway"));
    };
    let node = node?;
    // Serving: SIGINT/SIGTERM is the way to stop it (exit 0).
    rt.block_on(async {
        println!(
            "tlsmatrix gateway listening on {} ({})",
            node.address(),
            if node.is_tls() { "TLS" } else { "plaintext" }
        );
        let _ = std::io::stdout().flush();
        wait_for_signal().await;
        eprintln!("tlsmatrix gateway: stopping");
        node.shutdown().await;
        Ok::<_, HarnessError>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The `ZEEBE_*` variables of this process: what a Zeebe node reads.
fn zeebe_env() -> EnvMap {
    std::env::vars()
        .filter(|(k, _)| k.starts_with("ZEEBE_"))
        .collect()
}

/// `up` for a cluster file: starts every node (each with its own
/// configuration and environment from the file), prints every address and the
/// formation, and serves until SIGINT/SIGTERM.
fn up_cluster(config: &Path, text: &str, workdir: &Path) -> Result<ExitCode, HarnessError> {
    let source = config.display().to_string();
    let file = crate::areas::zeebe_cluster::ClusterFile::parse(&source, text)?;
    if file.nodes.is_empty() {
        return Err(HarnessError::invalid(
            &source,
            "nodes",
            "a cluster file without nodes starts nothing",
            "list the brokers and the gateway under nodes: (see README, Serving a reference cluster)",
        ));
    }
    let rt = runtime()?;
    // Starting (the openssl recipe, keys, every node) and forming can be
    // interrupted: what has started is dropped and removed, exit 130.
    let start = async {
        let cluster = file.start(&source, workdir).await?;
        for node in cluster.addresses() {
            println!("tlsmatrix cluster node {node}");
        }
        let formation = cluster.form().await;
        Ok::<_, HarnessError>((cluster, formation))
    };
    let Some(started) = until_interrupted(&rt, start) else {
        return Ok(interrupted(rt, false, "the cluster"));
    };
    let (cluster, formation) = started?;
    rt.block_on(async {
        println!("{}", formation.report());
        let state = formation.state();
        match cluster.gateway_address() {
            Some(address) => println!(
                "tlsmatrix cluster ready ({state}); gateway listening on {address} (zbctl status --insecure --address {address})"
            ),
            None => println!("tlsmatrix cluster ready ({state}); no gateway"),
        }
        let _ = std::io::stdout().flush();
        wait_for_signal().await;
        eprintln!("tlsmatrix cluster: stopping");
        cluster.shutdown().await;
        Ok::<_, HarnessError>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `up --member`: one node of a cluster across hosts. Prints its addresses
/// as soon as it listens (`tlsmatrix cluster node ...`), forms as it sees the
/// cluster (waiting at most [`JOIN_DEADLINE`] for the others), prints the
/// formation and `tlsmatrix cluster member ready (formed|partial)`, and serves
/// until SIGINT/SIGTERM.
fn up_member(
    config: &Path,
    role: NodeRole,
    name: Option<&str>,
    workdir: &Path,
) -> Result<ExitCode, HarnessError> {
    let text = crate::input::read(config)?;
    let env = zeebe_env();
    let props = crate::config::Properties::from_yaml(&config.display().to_string(), &text, env)?;
    let settings = MemberSettings::from_properties(name, role, &props, workdir)?;
    let rt = runtime()?;
    let Some(started) = until_interrupted(&rt, ClusterMember::start(&settings)) else {
        return Ok(interrupted(rt, false, "the node"));
    };
    let member = match started? {
        MemberStart::Ready(member) => member,
        MemberStart::Refused(e) => return Err(e),
    };
    rt.block_on(async {
        println!("tlsmatrix cluster node {}", member.addresses());
        let _ = std::io::stdout().flush();
        // One handler for the whole life of the node: a signal that comes
        // while formation ends must not fall between two handlers.
        let signal = wait_for_signal();
        tokio::pin!(signal);
        let formation = tokio::select! {
            formation = member.form(JOIN_DEADLINE) => Some(formation),
            _ = &mut signal => None,
        };
        if let Some(formation) = formation {
            println!("{}", formation.report());
            let state = formation.state();
            match member.gateway_address() {
                Some(address) => println!(
                    "tlsmatrix cluster member ready ({state}); gateway listening on {address}"
                ),
                None => println!("tlsmatrix cluster member ready ({state})"),
            }
            let _ = std::io::stdout().flush();
            signal.await;
        }
        eprintln!("tlsmatrix cluster node: stopping");
        member.shutdown().await;
        Ok::<_, HarnessError>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `up` for a KrakenD file: the reference HTTP gateway, paths relative to the
/// working directory, on 127.0.0.1.
fn up_http(config: &Path, port: Option<u16>, workdir: &Path) -> Result<ExitCode, HarnessError> {
    use crate::config::krakend::ServiceSettings;
    use crate::nodes::http_gateway::HttpGatewayNode;
    let settings = ServiceSettings::from_file(config, workdir)?;
    for warning in &settings.warnings {
        eprintln!("tlsmatrix: warning: {warning}");
    }
    let listen = std::net::SocketAddr::from(([127, 0, 0, 1], port.unwrap_or(settings.port)));
    let rt = runtime()?;
    let start = HttpGatewayNode::start(&settings, Default::default(), listen);
    let Some(node) = until_interrupted(&rt, start) else {
        return Ok(interrupted(rt, false, "the http gateway"));
    };
    let node = node?;
    rt.block_on(async {
        println!(
            "tlsmatrix http gateway listening on {} ({}): {}://localhost:{}/__health",
            node.address(),
            if node.is_tls() { "TLS" } else { "plaintext" },
            if node.is_tls() { "https" } else { "http" },
            node.address().port()
        );
        let _ = std::io::stdout().flush();
        wait_for_signal().await;
        eprintln!("tlsmatrix http gateway: stopping");
        node.shutdown().await;
        Ok::<_, HarnessError>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let term = signal(SignalKind::terminate());
    match term {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
