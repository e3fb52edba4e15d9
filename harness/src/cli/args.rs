//! The command line's shape: clap types and value enums, nothing that runs.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use tlsmatrix::report::Format;
use tlsmatrix::version::Selection;

/// tlsmatrix: TLS conformance scenarios for clients, gateways and clusters.
#[derive(Debug, Parser)]
#[command(name = "tlsmatrix", version, about, after_help = super::help::TOP)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run scenario cases against the embedded reference nodes.
    #[command(after_help = super::help::RUN)]
    Run(RunArgs),
    /// List the case ids the scenario files expand to.
    #[command(after_help = super::help::LIST)]
    List(SelectArgs),
    /// Write a documented set of certificates and keys for manual use.
    #[command(after_help = super::help::CERTS)]
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
    #[command(after_help = super::help::UP)]
    Up(UpArgs),
    /// Print the case catalogue: documented and observed troubleshooting cases.
    #[command(after_help = super::help::CATALOGUE)]
    Catalogue,
    /// Reproduce a user's report locally: verdict, evidence, and the fix that works.
    #[command(after_help = super::help::REPRODUCE)]
    Reproduce {
        /// The report file (YAML).
        report: PathBuf,
        /// Also write the confirmed report as a scenario file.
        #[arg(long)]
        emit_scenario: Option<PathBuf>,
    },
    /// Per documented case: the documented message, what each client prints
    /// today, and whether the case's signature still matches both.
    #[command(after_help = super::help::DRIFT)]
    Drift(SelectArgs),
    /// Run an area's client attempts against an endpoint that already runs (no
    /// node is started) and print, per attempt, the outcome, the catalogue case
    /// and its fix. Exit 0 when an attempt connected, 1 when none did.
    #[command(after_help = super::help::PROBE)]
    Probe(ProbeArgs),
    /// Measure: the handshake floor, gateway start time, per-case cost, full matrix.
    #[command(after_help = super::help::BENCH)]
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
    #[command(after_help = super::help::EXPLAIN)]
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
    #[command(after_help = super::help::COMPLETIONS)]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): usage, options, and each command with its summary.
    #[command(after_help = super::help::MAN)]
    Man,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ProbeArgs {
    /// host:port of the endpoint ([v6]:port for IPv6 literals).
    pub(crate) address: String,
    /// Whose client side runs: zeebe-client (a Zeebe gateway), http-gateway
    /// (a KrakenD-style gateway), kafka-gateway (a Kafka gateway or broker).
    #[arg(long, default_value = "zeebe-client")]
    pub(crate) area: String,
    /// Client kinds, comma-separated (default: builtin,zbctl for zeebe-client,
    /// curl for http-gateway, kcat for kafka-gateway).
    #[arg(long, value_delimiter = ',')]
    pub(crate) client: Vec<String>,
    /// CA file the server is verified against, in the attempts that use one.
    #[arg(long)]
    pub(crate) ca: Option<PathBuf>,
    /// Client certificate (http-gateway mTLS attempts).
    #[arg(long, requires = "key")]
    pub(crate) cert: Option<PathBuf>,
    /// The client certificate's private key (handed to the client, never shown).
    #[arg(long, requires = "cert")]
    pub(crate) key: Option<PathBuf>,
    /// SASL PLAIN username (kafka-gateway).
    #[arg(long)]
    pub(crate) username: Option<String>,
    /// SASL PLAIN password, e.g. a gateway token (never shown); also read from
    /// TLSMATRIX_PROBE_PASSWORD so it stays out of the shell history.
    #[arg(long, env = "TLSMATRIX_PROBE_PASSWORD", hide_env_values = true)]
    pub(crate) password: Option<String>,
    /// Bound on the reachability check and on each client run, in seconds.
    #[arg(long, default_value_t = 10)]
    pub(crate) timeout: u64,
    /// `table` (text) or `json`.
    #[arg(long, value_enum, default_value_t = ProbeFormat::Table, hide_possible_values = true)]
    pub(crate) format: ProbeFormat,
}

/// `up --member`: which node of a cluster this host runs.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum MemberArg {
    Broker,
    Gateway,
}

/// `up --mode`: which Zeebe configuration shape a file has.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum ModeArg {
    Standalone,
    Embedded,
}

/// `probe --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ProbeFormat {
    /// Text, one block per attempt.
    Table,
    /// The diagnosis as one JSON document.
    Json,
}

/// `--backend`: every backend, the containers placement, or the cases of one
/// backend. The backends are data (the values of the scenarios' `backend`
/// axes), so a name is checked against the selected cases
/// (`run::check_backend`), which names the flag and the values there are;
/// a closed enum here would make a new oracle a code change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BackendArg {
    /// `all`: every case.
    All,
    /// `containers`: the embedded cases, their nodes in containers.
    Containers,
    /// The cases whose `backend` label is this (`embedded`, the default),
    /// and the cases without a backend axis.
    Only(String),
}

impl BackendArg {
    /// Reads the flag's value (never refused here; see the type).
    pub(crate) fn parse(value: &str) -> Result<Self, std::convert::Infallible> {
        Ok(match value {
            "all" => Self::All,
            "containers" => Self::Containers,
            other => Self::Only(other.to_string()),
        })
    }

    /// The value as given.
    pub(crate) fn name(&self) -> &str {
        match self {
            Self::All => "all",
            Self::Containers => "containers",
            Self::Only(name) => name,
        }
    }
}

#[derive(Debug, clap::Args)]
pub(crate) struct SelectArgs {
    /// Scenario files or folders (default: every file under scenarios/).
    pub(crate) paths: Vec<PathBuf>,
    /// Only cases whose id matches this glob (repeatable).
    #[arg(long)]
    pub(crate) filter: Vec<String>,
    /// Only cases on this backend (`embedded`, `netty-oracle`, `go-oracle`), or
    /// `all`. Cases without a backend axis always run. `containers` runs the
    /// embedded cases of the areas that support it (zeebe-client) with their
    /// nodes in containers of the reference image (needs a Docker engine).
    #[arg(long, default_value = "embedded", value_parser = BackendArg::parse)]
    pub(crate) backend: BackendArg,
    /// The product release the cases run against: one an area models
    /// (`tlsmatrix catalogue` lists them), `changed` (the newest plus the
    /// older releases' cases whose expectation differs, as nextest runs) or
    /// `all` (every case at every release). Default: each area's newest
    /// release. An older release runs only the cases whose expectation
    /// differs for it; their ids end `@<release>`.
    #[arg(long, value_name = "RELEASE", value_parser = Selection::parse)]
    pub(crate) product_version: Option<Selection>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub(crate) select: SelectArgs,
    /// Report format on standard output.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
    /// Run the selection N times (N ≥ 1) and report any case whose outcome changed.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) repeat: u32,
    /// Cases run at once (1 or more).
    #[arg(long, default_value_t = default_jobs(), value_parser = at_least_one)]
    pub(crate) jobs: usize,
}

pub(crate) fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get() * 2)
}

/// A count of 1 or more: `--jobs 0` would run nothing (it used to run as 1).
pub(crate) fn at_least_one(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(0) => Err("0 runs nothing; give 1 or more".to_string()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("{e}; give a whole number, 1 or more")),
    }
}

#[derive(Debug, clap::Args)]
pub(crate) struct UpArgs {
    /// gateway.yaml (or broker.yaml with --mode embedded), a cluster file, or krakend.json.
    pub(crate) config: PathBuf,
    /// KrakenD files only: listen on this port instead of the file's `port`
    /// (0 picks a free one).
    #[arg(long)]
    pub(crate) port: Option<u16>,
    /// Which configuration shape to read.
    #[arg(long, value_enum, default_value_t = ModeArg::Standalone)]
    pub(crate) mode: ModeArg,
    /// Working directory for relative paths (default: the current directory).
    #[arg(long)]
    pub(crate) workdir: Option<PathBuf>,
    /// Brokers reported in the topology.
    #[arg(long, default_value_t = 1)]
    pub(crate) brokers: u32,
    /// Start one node of a cluster that runs across hosts: a broker or a
    /// standalone gateway read from CONFIG and the `ZEEBE_*` environment
    /// (nodeId, clusterSize, initialContactPoints, host, advertisedHost,
    /// internal port, transport security), joining the others by its
    /// contact points.
    #[arg(long, value_enum)]
    pub(crate) member: Option<MemberArg>,
    /// With --member: the node's name in reports (default: broker-<nodeId>,
    /// or the gateway's memberId).
    #[arg(long, requires = "member")]
    pub(crate) name: Option<String>,
}
