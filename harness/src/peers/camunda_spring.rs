//! The Camunda Spring Boot starter (`io.camunda:camunda-spring-boot-starter`
//! 8.8.4, Spring Boot 3.5.6, camunda-client-java 8.8.4), driven through
//! `tlsmatrix.camundaspring.CamundaSpringProbe`
//! (`harness/probes/camunda-spring`, a Maven module and class path of its
//! own): a minimal non-web Spring Boot application per case, in a JVM of
//! its own or, when [`warm::spring_temperature`] allows, a fresh
//! `SpringApplication` in a warm `--serve` JVM ([`WarmPeer::Spring`]),
//! takes the `CamundaClient` bean the starter built from its
//! `camunda.client.*` properties, asks for the topology once over gRPC
//! (`useGrpc()`) and prints one JSON line in the shape [`super::probe`]
//! reads.
//!
//! 8.8.4 is the newest starter the Maven registry serves here (8.9.0 and
//! 8.8.12 are not served), so this peer's client is camunda-client-java
//! 8.8.4, not the 8.9.0 of [`super::camunda`].
//!
//! How a case reaches the starter, as a user's application gets it:
//!
//! * the case's address, `plaintext` and `ca` become `config/application.yaml`
//!   in the case directory (a location Spring Boot reads by default, below
//!   the working directory): `camunda.client.grpc-address` is
//!   `https://HOST:PORT`, or `http://HOST:PORT` when `plaintext`, and `ca`
//!   is `camunda.client.ca-certificate-path`;
//! * `client.env` is the JVM's environment (`CAMUNDA_CLIENT_*` and legacy
//!   names);
//! * `client.args` are Spring command-line arguments
//!   (`--camunda.client.grpc-address=...`), passed unchanged.
//!
//! Spring Boot's order is command line over environment over
//! `application.yaml`.
//!
//! Facts about the starter, read from the camunda-spring-boot-starter 8.8.4
//! sources jar (Maven Central), classes under `io.camunda.client.spring`:
//!
//! * `properties/CamundaClientProperties` is
//!   `@ConfigurationProperties("camunda.client")`: `grpc-address` (default
//!   `http://0.0.0.0:26500`), `rest-address`, `ca-certificate-path` (no
//!   default), `prefer-rest-over-grpc` (default true), `override-authority`,
//!   `mode`, `enabled`. Spring's relaxed binding reads them from
//!   `CAMUNDA_CLIENT_GRPCADDRESS` and `CAMUNDA_CLIENT_CACERTIFICATEPATH`,
//!   and from the underscore forms `CAMUNDA_CLIENT_GRPC_ADDRESS` and
//!   `CAMUNDA_CLIENT_CA_CERTIFICATE_PATH` too (checked with this probe).
//! * `configuration/CamundaClientProdAutoConfiguration.camundaClient` builds
//!   `new CamundaClientImpl(SpringCamundaClientConfiguration)` directly,
//!   never through `CamundaClientBuilderImpl.build()`: the client's own
//!   environment reading (`CAMUNDA_GRPC_ADDRESS`,
//!   `CAMUNDA_CA_CERTIFICATE_PATH`, `ZEEBE_CA_CERTIFICATE_PATH`,
//!   `ZEEBE_INSECURE_CONNECTION`, ...) does not happen in the starter.
//!   `CamundaClientImpl.configureConnectionSecurity` then decides TLS by the
//!   scheme of `grpc-address` alone (`http`/`grpc` plaintext, `https`/`grpcs`
//!   TLS), trusts the JDK's store without a CA path, and opens the CA path
//!   with a `FileInputStream` (a missing file fails the `camundaClient`
//!   bean, so the application context does not start).
//! * `properties/CamundaClientPropertiesPostProcessor` (an
//!   `EnvironmentPostProcessor`) maps legacy property names from
//!   `camunda-client-legacy-property-mappings.properties` onto the new ones,
//!   as a property source of the highest precedence, but only when the new
//!   name is set nowhere (not even in `application.yaml`):
//!   `camunda.client.grpc-address` ← `zeebe.grpc.address`,
//!   `zeebe.client.broker.grpc-address`, ...; `camunda.client
//!   .ca-certificate-path` ← `zeebe.client.security.cert-path`, .... Through
//!   Spring's environment variable mapping that makes `ZEEBE_GRPC_ADDRESS`
//!   and `ZEEBE_CLIENT_SECURITY_CERTPATH` legacy names the starter reads.

use std::path::PathBuf;

use super::warm::{self, WarmPeer};
use super::{Observation, ZeebeClientConfig};
use crate::error::HarnessError;
use crate::process;
use crate::process::jvm::ProbeJar;

/// The peer's name, with the pinned starter version.
pub const PEER: &str = "camunda-spring-boot-starter 8.8.4";

/// How to build it.
pub const INSTALL: &str =
    "bash ci/setup (or: bash harness/probes/camunda-spring/build.sh; needs a JDK 17 and Maven)";

const MAIN: &str = "tlsmatrix.camundaspring.CamundaSpringProbe";

/// Where the peer writes the case's `application.yaml`, below the case
/// directory (Spring Boot reads `./config/application.yaml` by default).
pub const APPLICATION_YAML: &str = "config/application.yaml";

fn jar() -> ProbeJar {
    ProbeJar::new("camunda-spring")
}

/// Finds the JVM and the built probe jar, or says how to build them.
pub fn locate() -> Result<PathBuf, HarnessError> {
    jar().locate(PEER, INSTALL)
}

/// The `application.yaml` for a case: the gRPC address with the scheme that
/// carries the TLS choice, and the CA path when the case gives one.
pub fn application_yaml(config: &ZeebeClientConfig) -> String {
    let scheme = if config.plaintext { "http" } else { "https" };
    let mut yaml = format!(
        "camunda:\n  client:\n    grpc-address: \"{scheme}://{}\"\n",
        config.address
    );
    if let Some(ca) = &config.ca_path {
        // A YAML double-quoted scalar: escape backslashes and quotes.
        let quoted = ca.replace('\\', "\\\\").replace('"', "\\\"");
        yaml.push_str(&format!("    ca-certificate-path: \"{quoted}\"\n"));
    }
    yaml
}

/// Checks that each extra argument is a Spring command-line property
/// (`--name=value`), the only form the probe passes on.
pub fn check_args(args: &[String]) -> Result<(), String> {
    match args
        .iter()
        .find(|a| !(a.starts_with("--") && a.contains('=')) || a.starts_with("--timeout-ms"))
    {
        Some(bad) => Err(format!(
            "{bad:?} is not a Spring command-line property (--camunda.client.NAME=VALUE)"
        )),
        None => Ok(()),
    }
}

/// Writes the case's `application.yaml`, runs the probe once (one JVM) with
/// `args` as Spring command-line arguments and reads its JSON line.
pub async fn topology(
    config: &ZeebeClientConfig,
    args: &[String],
) -> Result<Observation, HarnessError> {
    let yaml = config.workdir.join(APPLICATION_YAML);
    let write = |yaml: &std::path::Path| -> std::io::Result<()> {
        if let Some(dir) = yaml.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(yaml, application_yaml(config))
    };
    write(&yaml).map_err(|e| HarnessError::write(&yaml, e))?;
    // The JVM takes its home from the password database, not $HOME: keep
    // anything the client caches in the case directory.
    let flags = [
        format!("-Duser.home={}", config.workdir.display()),
        "-Xss512k".to_string(),
    ];
    let launch = jar().launch(PEER, INSTALL, MAIN, &flags)?;
    let timeout = config
        .deadline
        .saturating_sub(std::time::Duration::from_secs(2));
    let mut probe_args = vec!["--timeout-ms".to_string(), timeout.as_millis().to_string()];
    probe_args.extend(args.iter().cloned());
    let mut argv = launch.args.clone();
    argv.extend(probe_args.iter().cloned());
    let out = match warm::spring_temperature(config, args) {
        warm::Temperature::Warm => {
            // The cold run's bound, less the dump (see `warm::run`).
            warm::run(
                WarmPeer::Spring,
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
                process::run(&launch.java, &argv, &config.env, &config.workdir, bound).await?;
            launch.finish(out.exit_code);
            out
        }
    };
    let mut obs = super::probe::read_line(PEER, &launch.java, &argv, &out)?;
    // Class paths vary by checkout: show the application.yaml and the
    // case's own arguments.
    obs.command = Some(
        format!(
            "CamundaSpringProbe (camunda.client.grpc-address: {}://{}{}) {}",
            if config.plaintext { "http" } else { "https" },
            config.address,
            config
                .ca_path
                .as_ref()
                .map(|ca| format!(", ca-certificate-path: {ca}"))
                .unwrap_or_default(),
            args.join(" ")
        )
        .trim_end()
        .to_string(),
    );
    Ok(obs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(plaintext: bool, ca: Option<&str>) -> ZeebeClientConfig {
        ZeebeClientConfig {
            address: "127.0.0.1:26500".into(),
            plaintext,
            ca_path: ca.map(str::to_string),
            env: Default::default(),
            workdir: PathBuf::from("/tmp"),
            deadline: std::time::Duration::from_secs(10),
        }
    }

    #[test]
    fn the_scheme_carries_the_tls_choice() {
        assert_eq!(
            application_yaml(&config(false, Some("ca.pem"))),
            "camunda:\n  client:\n    grpc-address: \"https://127.0.0.1:26500\"\n    ca-certificate-path: \"ca.pem\"\n"
        );
        assert_eq!(
            application_yaml(&config(true, None)),
            "camunda:\n  client:\n    grpc-address: \"http://127.0.0.1:26500\"\n"
        );
    }

    #[test]
    fn the_ca_path_is_a_quoted_yaml_scalar() {
        let yaml = application_yaml(&config(false, Some(r#"dir\a "b".pem"#)));
        let parsed: serde_yaml_ng::Value = serde_yaml_ng::from_str(&yaml).expect("yaml");
        assert_eq!(
            parsed["camunda"]["client"]["ca-certificate-path"].as_str(),
            Some(r#"dir\a "b".pem"#)
        );
    }

    #[test]
    fn only_spring_properties_pass_as_arguments() {
        assert!(check_args(&["--camunda.client.grpc-address=https://h:1".into()]).is_ok());
        assert!(check_args(&["--camunda.client.grpc-address".into()]).is_err());
        assert!(check_args(&["camunda.client.x=y".into()]).is_err());
        assert!(check_args(&["--timeout-ms=1".into()]).is_err());
    }
}
