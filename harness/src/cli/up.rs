//! `up`: serving reference nodes from the user's own files until
//! SIGINT/SIGTERM: a Zeebe gateway, a cluster, one member of a cluster
//! across hosts, or a KrakenD-style HTTP gateway.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use tlsmatrix::config::zeebe::{GatewayMode, GatewaySettings};
use tlsmatrix::config::EnvMap;
use tlsmatrix::error::HarnessError;
use tlsmatrix::nodes::cluster::{ClusterMember, MemberSettings, NodeRole, JOIN_DEADLINE};
use tlsmatrix::nodes::{up, GatewayNode, Started, Topology};

use super::args::{MemberArg, ModeArg, UpArgs};
use super::{interrupted, runtime, until_interrupted, wait_for_signal};

/// `up`: which kind of file and node, from the flags and the file's
/// extension; flags that do not apply to the file are refused.
pub(crate) fn up(args: UpArgs) -> Result<ExitCode, HarnessError> {
    let UpArgs {
        config,
        port,
        mode,
        workdir,
        brokers,
        member,
        name,
    } = args;
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
        up_gateway(&config, mode, &workdir, brokers)
    }
}

fn up_gateway(
    config: &Path,
    mode: ModeArg,
    workdir: &Path,
    brokers: u32,
) -> Result<ExitCode, HarnessError> {
    let text = tlsmatrix::input::read(config)?;
    if tlsmatrix::nodes::cluster::ClusterFile::is_cluster_file(&text) {
        return up_cluster(config, &text, workdir);
    }
    let mode = match mode {
        ModeArg::Standalone => GatewayMode::Standalone,
        ModeArg::Embedded => GatewayMode::Embedded,
    };
    let source = config.display().to_string();
    let props = tlsmatrix::config::Properties::from_yaml(&source, &text, zeebe_env())?;
    for warning in tlsmatrix::config::lint::zeebe_gateway(&props, mode) {
        eprintln!("tlsmatrix: warning: {warning}");
    }
    if let Some(warning) = tlsmatrix::config::lint::other_shape(&props, mode) {
        eprintln!("tlsmatrix: warning: {warning}");
    }
    let settings = GatewaySettings::from_properties(mode, &props, workdir)?;
    if settings.host() == "0.0.0.0" {
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
            "{}{} ({})",
            up::GATEWAY_LISTENING,
            node.address(),
            if node.is_tls() { "TLS" } else { "plaintext" }
        );
        if let Some((address, tls)) = node.rest_address() {
            println!(
                "{}{address} ({})",
                up::GATEWAY_REST_LISTENING,
                if tls { "TLS" } else { "plaintext" }
            );
        }
        let _ = std::io::stdout().flush();
        wait_for_signal().await;
        eprintln!("tlsmatrix gateway: stopping");
        node.shutdown().await;
        Ok::<_, HarnessError>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The `ZEEBE_*` variables of this process: what a Zeebe node reads; and
/// the `SERVER_*` ones, Spring's `server.*` (the REST server, 8.5.0 and later).
fn zeebe_env() -> EnvMap {
    std::env::vars()
        .filter(|(k, _)| k.starts_with("ZEEBE_") || k.starts_with("SERVER_"))
        .collect()
}

/// `up` for a cluster file: starts every node (each with its own
/// configuration and environment from the file), prints every address and the
/// formation, and serves until SIGINT/SIGTERM.
fn up_cluster(config: &Path, text: &str, workdir: &Path) -> Result<ExitCode, HarnessError> {
    let source = config.display().to_string();
    let file = tlsmatrix::nodes::cluster::ClusterFile::parse(&source, text)?;
    if file.nodes().is_empty() {
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
            println!("{}{node}", up::CLUSTER_NODE);
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
                "{} ({state}); gateway listening on {address} (zbctl status --insecure --address {address})",
                up::CLUSTER_READY
            ),
            None => println!("{} ({state}); no gateway", up::CLUSTER_READY),
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
    let text = tlsmatrix::input::read(config)?;
    let env = zeebe_env();
    let props =
        tlsmatrix::config::Properties::from_yaml(&config.display().to_string(), &text, env)?;
    let settings = MemberSettings::from_properties(name, role, &props, workdir)?;
    let rt = runtime()?;
    let Some(started) = until_interrupted(&rt, ClusterMember::start(&settings)) else {
        return Ok(interrupted(rt, false, "the node"));
    };
    let member = match started? {
        Started::Ready(member) => member,
        Started::Refused(r) => return Err(r.into_error()),
    };
    rt.block_on(async {
        println!("{}{}", up::CLUSTER_NODE, member.addresses());
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
                    "{} ({state}); gateway listening on {address}",
                    up::MEMBER_READY
                ),
                None => println!("{} ({state})", up::MEMBER_READY),
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
    use tlsmatrix::config::krakend::ServiceSettings;
    use tlsmatrix::nodes::http_gateway::HttpGatewayNode;
    let settings = ServiceSettings::from_file(config, workdir)?;
    for warning in settings.warnings() {
        eprintln!("tlsmatrix: warning: {warning}");
    }
    let listen = std::net::SocketAddr::from(([127, 0, 0, 1], port.unwrap_or(settings.port())));
    let rt = runtime()?;
    let start = HttpGatewayNode::start(&settings, Default::default(), listen);
    let Some(node) = until_interrupted(&rt, start) else {
        return Ok(interrupted(rt, false, "the http gateway"));
    };
    let node = node?;
    rt.block_on(async {
        println!(
            "{}{} ({}): {}://localhost:{}/__health",
            up::HTTP_GATEWAY_LISTENING,
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
