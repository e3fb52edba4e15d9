//! What the command line shows about itself: examples under each command's
//! `--help`, shell completions, the man page, and whether colour is printed.
//!
//! Every example runs as written from the repository's root (the files named
//! are the repository's own, or the user's, said so by their names).

use std::io::Write;

use clap::CommandFactory;

use tlsmatrix::error::HarnessError;

/// Examples under `tlsmatrix --help`.
pub(crate) const TOP: &str = "\
Examples:
  tlsmatrix run                                        # every scenario, embedded reference nodes
  tlsmatrix probe zeebe.example.com:443 --ca ca.pem    # a live endpoint: chain, versions, ALPN, each client
  tlsmatrix explain 'x509: certificate signed by unknown authority'
  tlsmatrix completions bash > ~/.local/share/bash-completion/completions/tlsmatrix
  tlsmatrix man > tlsmatrix.1

NO_COLOR (non-empty) turns colour off; it is only printed to a terminal.";

/// Examples under `tlsmatrix run --help`.
pub(crate) const RUN: &str = "\
Examples:
  tlsmatrix run scenarios/zeebe-client --filter 'zeebe-client::tls-matrix::*'
  tlsmatrix run --backend all                      # each case on the oracle too, compared
  tlsmatrix run --format junit > junit.xml
  tlsmatrix run --repeat 20                        # a case whose outcome changes fails the run";

/// Examples under `tlsmatrix list --help`.
pub(crate) const LIST: &str = "\
Examples:
  tlsmatrix list
  tlsmatrix list scenarios/http-gateway --filter 'http-gateway::*'";

/// Examples under `tlsmatrix certs --help`.
pub(crate) const CERTS: &str = "\
Examples:
  tlsmatrix certs --out ./certs                    # certs/README.txt says what each file is";

/// Examples under `tlsmatrix up --help`.
pub(crate) const UP: &str = "\
Examples:
  tlsmatrix up gateway.yaml                        # a Zeebe gateway (plus the ZEEBE_* environment)
  tlsmatrix up broker.yaml --mode embedded         # the gateway embedded in a broker
  tlsmatrix up cluster.yaml                        # brokers and a gateway from one file with nodes:
  tlsmatrix up node.yaml --member broker           # one node of a cluster across hosts
  tlsmatrix up krakend.json --port 8443            # a KrakenD-style HTTP gateway";

/// Examples under `tlsmatrix catalogue --help`.
pub(crate) const CATALOGUE: &str = "\
Examples:
  tlsmatrix catalogue | grep -A2 unknown-authority";

/// Examples under `tlsmatrix reproduce --help`.
pub(crate) const REPRODUCE: &str = "\
Examples:
  tlsmatrix reproduce fixtures/reports/unknown-authority.yaml
  tlsmatrix reproduce report.yaml --emit-scenario scenarios/zeebe-client/regression.yaml";

/// Examples under `tlsmatrix drift --help`.
pub(crate) const DRIFT: &str = "\
Examples:
  tlsmatrix drift
  tlsmatrix drift scenarios/zeebe-client";

/// Examples under `tlsmatrix probe --help`.
pub(crate) const PROBE: &str = "\
Examples:
  tlsmatrix probe zeebe.example.com:443 --ca ca.pem
  tlsmatrix probe localhost:8443 --area http-gateway --ca rootCA.pem --cert client.crt --key client.key
  TLSMATRIX_PROBE_PASSWORD=TOKEN tlsmatrix probe kafka.example.com:9092 --area kafka-gateway --username app
  tlsmatrix probe 127.0.0.1:26500 --format json";

/// Examples under `tlsmatrix bench --help`.
pub(crate) const BENCH: &str = "\
Examples:
  tlsmatrix bench --iterations 50";

/// Examples under `tlsmatrix explain --help`.
pub(crate) const EXPLAIN: &str = "\
Examples:
  tlsmatrix explain 'Error: rpc error: code = Unavailable desc = connection error'
  tlsmatrix explain --area zeebe-client < gateway.log
  tlsmatrix explain --corpus fixtures/real-texts";

/// Examples under `tlsmatrix completions --help`.
pub(crate) const COMPLETIONS: &str = "\
Examples:
  tlsmatrix completions bash > ~/.local/share/bash-completion/completions/tlsmatrix
  tlsmatrix completions zsh > ~/.zfunc/_tlsmatrix
  tlsmatrix completions fish > ~/.config/fish/completions/tlsmatrix.fish";

/// Examples under `tlsmatrix man --help`.
pub(crate) const MAN: &str = "\
Examples:
  tlsmatrix man > tlsmatrix.1 && man ./tlsmatrix.1";

/// Writes the completion script for `shell` to standard output.
pub(crate) fn completions(shell: clap_complete::Shell) -> Result<(), HarnessError> {
    let mut out = Vec::new();
    clap_complete::generate(
        shell,
        &mut super::args::Cli::command(),
        "tlsmatrix",
        &mut out,
    );
    write_stdout(&out)
}

/// Writes the man page (roff) to standard output.
pub(crate) fn man() -> Result<(), HarnessError> {
    let mut out = Vec::new();
    clap_mangen::Man::new(super::args::Cli::command())
        .render(&mut out)
        .map_err(|e| HarnessError::run("man page", e))?;
    write_stdout(&out)
}

fn write_stdout(bytes: &[u8]) -> Result<(), HarnessError> {
    std::io::stdout()
        .write_all(bytes)
        .map_err(|e| HarnessError::write("standard output", e))
}

/// Whether colour goes to a stream: only to a terminal, and never when
/// `NO_COLOR` is set to a non-empty value (<https://no-color.org>).
pub(crate) fn colour(stream_is_terminal: bool) -> bool {
    stream_is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
