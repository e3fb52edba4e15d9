//! The Camunda Java client (`io.camunda:camunda-client-java` 8.9.0,
//! `CamundaClient`, which replaces the Zeebe Java client since Camunda 8.8),
//! driven through `tlsmatrix.camunda.CamundaClientProbe`
//! (`harness/probes/camunda-java`, a Maven module and class path of its own,
//! apart from zeebe-client-java 8.4.21): a JVM per case when the case runs
//! cold, else a warm `--serve` JVM with a fresh client per case
//! ([`super::warm`], [`super::warm::WarmPeer::Camunda`]), one Topology call
//! over gRPC ([`topology`]) or over REST ([`rest_topology`]), one JSON line on
//! stdout in the shape [`super::probe`] reads.
//!
//! Facts about the client, read from the camunda-client-java 8.9.0 sources
//! jar (Maven Central), classes under `io.camunda.client.impl`:
//!
//! * TLS is decided by the scheme of the gRPC address alone
//!   (`util/AddressUtil.isPlaintextConnection`): `http`/`grpc` mean
//!   plaintext, `https`/`grpcs` mean TLS, any other scheme is a
//!   `ClientException` (`Unrecognized scheme '…'`). The public
//!   `CamundaClientBuilder` of 8.9.0 has no `usePlaintext()`; the probe
//!   therefore dials `http://HOST:PORT` for a case's `plaintext: true` and
//!   `https://HOST:PORT` otherwise (`--address URI`).
//! * With TLS, `CamundaClientImpl.configureConnectionSecurity` uses the
//!   JDK's trust store when no CA path is set, else
//!   `GrpcSslContexts.forClient().trustManager(FileInputStream(path))`; an
//!   empty path is an `IllegalArgumentException` and an unreadable file an
//!   `IOException` wrapped in a `RuntimeException`, both thrown by `build()`.
//!   Without TLS the CA path is ignored.
//! * `CamundaClientBuilderImpl.build()` applies the environment
//!   (`applyOverrides`) when `applyEnvironmentVariableOverrides` is true,
//!   the default, so the environment wins over the builder's calls.
//! * Each setting reads its `CAMUNDA_*` name first and the legacy `ZEEBE_*`
//!   name only when the first is unset (`BuilderUtils
//!   .applyEnvironmentValueIfNotNull` stops at the first defined name):
//!   `CAMUNDA_CA_CERTIFICATE_PATH` / `ZEEBE_CA_CERTIFICATE_PATH`,
//!   `CAMUNDA_GRPC_ADDRESS` / `ZEEBE_GRPC_ADDRESS`, `CAMUNDA_REST_ADDRESS` /
//!   `ZEEBE_REST_ADDRESS`, `CAMUNDA_PREFER_REST` / `ZEEBE_PREFER_REST`,
//!   `CAMUNDA_OVERRIDE_AUTHORITY` / `ZEEBE_OVERRIDE_AUTHORITY` (names in
//!   `CamundaClientEnvironmentVariables` and
//!   `LegacyZeebeClientEnvironmentVariables`).
//! * `ZEEBE_INSECURE_CONNECTION` has no `CAMUNDA_*` twin in 8.9.0; it is
//!   read with `Boolean.parseBoolean` (case-insensitive `true`) and rewrites
//!   the scheme of the gRPC and REST addresses (`http` when true, `https`
//!   otherwise). It is applied *before* the address variables, so a
//!   `CAMUNDA_GRPC_ADDRESS`/`ZEEBE_GRPC_ADDRESS` replaces its effect.
//! * The probe sets `preferRestOverGrpc(false)` and asks with `useGrpc()`,
//!   so `CAMUNDA_PREFER_REST` cannot move the call to REST.
//!
//! Facts about its REST mode (same sources jar):
//!
//! * `newTopologyRequest()` goes over REST when `preferRestOverGrpc` is true
//!   (the builder's default, `DEFAULT_PREFER_REST_OVER_GRPC`) or the request
//!   says `useRest()`: `command/TopologyRequestImpl.sendHttpRequest` asks
//!   `GET /topology` below the REST address plus `/v2`
//!   (`http/HttpClientFactory.REST_API_PATH`). `useRest()`/`useGrpc()` win
//!   over the preference, so the probe in REST mode sets both
//!   `preferRestOverGrpc(true)` and `useRest()`, and `CAMUNDA_PREFER_REST`
//!   cannot move its call back to gRPC.
//! * The REST client is Apache HttpClient 5 (async, `httpclient5` 5.5.2 on
//!   the probe's class path). `http/HttpClientFactory.createSslContext`
//!   decides by the scheme of the REST address alone
//!   (`AddressUtil.isPlaintextConnection`, the same rule as gRPC): for
//!   `http` or with no CA path it is `SSLContexts.createDefault()`, the
//!   JDK's trust store; with `https` and `caCertificatePath` the PEM file's
//!   certificates become the *only* trust anchors (a fresh `KeyStore`, one
//!   entry per certificate). So `caCertificatePath` applies to REST as to
//!   gRPC, and one CA path serves both. An unreadable CA file is a
//!   `RuntimeException` from `build()`.
//! * Host names are checked by HttpClient's `DefaultHostnameVerifier`
//!   (wrapped in `HttpClientFactory.HostnameVerifier`, which checks
//!   `overrideAuthority` instead when set and maps `0.0.0.0` to
//!   `localhost`); a name the certificate lacks fails the handshake with
//!   `SSLPeerUnverifiedException: Certificate for <HOST> doesn't match any
//!   of the subject alternative names: [...]`.
//! * A non-2xx answer whose body is not a problem document is a
//!   `MalformedResponseException` quoting the body (`http/ApiCallback
//!   .handleErrorResponse`): Tomcat's plain-text 400 on its TLS port is
//!   printed verbatim ("This combination of host and port requires TLS.").
//! * `CAMUNDA_REST_ADDRESS` / `ZEEBE_REST_ADDRESS` replace the builder's
//!   `restAddress` (CAMUNDA first), and are applied after
//!   `ZEEBE_INSECURE_CONNECTION`, whose `usePlaintext` rewrites the scheme
//!   of the REST address as of the gRPC one (`CamundaClientBuilderImpl
//!   .usePlaintext` → `AddressUtil.composeAddress`).
//! * The `CamundaClientImpl` constructor builds the gRPC channel and the
//!   HTTP client both, whatever the preference; the gRPC channel connects
//!   lazily, so in REST mode the gRPC port and its TLS are never touched.
//!   The probe in REST mode leaves the gRPC address at the client's default
//!   (`http://0.0.0.0:26500`, `CamundaClientBuilderImpl
//!   .DEFAULT_GRPC_ADDRESS`).

use std::path::PathBuf;

use super::warm::{self, WarmPeer};
use super::{Observation, ZeebeClientConfig};
use crate::error::HarnessError;
use crate::process;
use crate::process::jvm::ProbeJar;

/// The peer's name, with the pinned library version.
pub const PEER: &str = "camunda-client 8.9.0";

/// How to build it.
pub const INSTALL: &str =
    "bash ci/setup (or: bash harness/probes/camunda-java/build.sh; needs a JDK 17 and Maven)";

const MAIN: &str = "tlsmatrix.camunda.CamundaClientProbe";

fn jar() -> ProbeJar {
    ProbeJar::new("camunda-java")
}

/// Finds the JVM and the built probe jar, or says how to build them.
pub fn locate() -> Result<PathBuf, HarnessError> {
    jar().locate(PEER, INSTALL)
}

/// The gRPC address the probe dials: the scheme carries the TLS choice.
pub fn grpc_address(config: &ZeebeClientConfig) -> String {
    let scheme = if config.plaintext { "http" } else { "https" };
    format!("{scheme}://{}", config.address)
}

/// The REST address the probe dials in REST mode: the scheme carries the
/// TLS choice, as for gRPC.
pub fn rest_address(config: &ZeebeClientConfig) -> String {
    grpc_address(config)
}

/// Runs one case over gRPC (in a warm JVM or one of its own, as
/// [`warm::temperature`] decides) and reads its JSON line.
pub async fn topology(config: &ZeebeClientConfig) -> Result<Observation, HarnessError> {
    run(config, "--address", grpc_address(config)).await
}

/// Runs one case in REST mode (warm or cold, as for [`topology`]) (`restAddress`,
/// `preferRestOverGrpc(true)`, `useRest()`: `GET /v2/topology` on
/// `config.address`) and reads its JSON line.
pub async fn rest_topology(config: &ZeebeClientConfig) -> Result<Observation, HarnessError> {
    run(config, "--rest", rest_address(config)).await
}

async fn run(
    config: &ZeebeClientConfig,
    flag: &str,
    address: String,
) -> Result<Observation, HarnessError> {
    // The JVM takes its home from the password database, not $HOME: keep
    // the client's credentials cache in the case directory.
    let flags = [
        format!("-Duser.home={}", config.workdir.display()),
        "-Xss512k".to_string(),
    ];
    let launch = jar().launch(PEER, INSTALL, MAIN, &flags)?;
    let mut probe_args = vec![flag.to_string(), address];
    if let Some(ca) = &config.ca_path {
        probe_args.push("--ca".to_string());
        probe_args.push(ca.clone());
    }
    let timeout = config
        .deadline
        .saturating_sub(std::time::Duration::from_secs(2));
    probe_args.push("--timeout-ms".to_string());
    probe_args.push(timeout.as_millis().to_string());
    let mut args = launch.args.clone();
    args.extend(probe_args.iter().cloned());
    let out = match warm::temperature(WarmPeer::Camunda, config) {
        warm::Temperature::Warm => {
            // The cold run's bound, less the dump (see `warm::run`).
            warm::run(
                WarmPeer::Camunda,
                &launch.java,
                &warm::launch_prefix(&launch.args),
                &probe_args,
                &config.env,
                &config.workdir,
                config.deadline + super::probe::RUNTIME_STARTUP_ALLOWANCE,
            )
            .await?
        }
        warm::Temperature::Cold => {
            let bound =
                config.deadline + super::probe::RUNTIME_STARTUP_ALLOWANCE + launch.dump_allowance();
            let out =
                process::run(&launch.java, &args, &config.env, &config.workdir, bound).await?;
            launch.finish(out.exit_code);
            out
        }
    };
    super::probe::read_line(PEER, &launch.java, &args, &out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(plaintext: bool) -> ZeebeClientConfig {
        ZeebeClientConfig {
            address: "127.0.0.1:26500".into(),
            plaintext,
            ca_path: None,
            env: Default::default(),
            workdir: PathBuf::from("/tmp"),
            deadline: std::time::Duration::from_secs(10),
        }
    }

    #[test]
    fn the_scheme_carries_the_tls_choice() {
        assert_eq!(grpc_address(&config(false)), "https://127.0.0.1:26500");
        assert_eq!(grpc_address(&config(true)), "http://127.0.0.1:26500");
        assert_eq!(rest_address(&config(false)), "https://127.0.0.1:26500");
        assert_eq!(rest_address(&config(true)), "http://127.0.0.1:26500");
    }
}
