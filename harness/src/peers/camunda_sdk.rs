//! The Camunda 8 JavaScript SDK (npm `@camunda8/sdk` 8.8.13, the successor
//! of the deprecated zeebe-node), driven through `harness/probes/camunda-sdk/probe.js`:
//! a warm `--serve` Node process that loads the SDK's own modules afresh for
//! each case (the SDK reads its environment when it is loaded, see below;
//! `warm::temperature` says which cases run in a process of their own), one topology call
//! over gRPC (`new Camunda8(config).getZeebeGrpcApiClient().topology()`) or
//! REST (`getCamundaRestClient().getTopology()`, `GET {ZEEBE_REST_ADDRESS}/v2/topology`),
//! one JSON line on stdout in the shape [`super::probe`] reads, plus the
//! lines the SDK wrote with `console.error`/`console.warn` (a user reads them
//! beside the error; a CA file it cannot read is only such a line).
//!
//! The probe configures the SDK as a user does: the case's environment, and
//! a constructor config object holding only what the case's fields say:
//! `ZEEBE_ADDRESS` (gRPC: `HOST:PORT`, no scheme) or `ZEEBE_REST_ADDRESS`
//! (REST: `https://HOST:PORT`, `http://` for `plaintext`),
//! `CAMUNDA_SECURE_CONNECTION: false` for `plaintext` (gRPC), the case's `ca`
//! as `CAMUNDA_CUSTOM_ROOT_CERT_PATH`, and `ZEEBE_GRPC_CLIENT_RETRY: false`
//! (one attempt).
//!
//! Facts read from the 8.8.13 package as npm installs it (`dist/` of
//! `@camunda8/sdk` 8.8.13; sources in camunda/camunda-8-js-sdk `src/`):
//!
//! * **Configuration** (`lib/Configuration.js`): every setting is read from
//!   `process.env` by typed-env 2.0.0's `createEnv` when the module is
//!   *loaded*, then merged under the constructor's config
//!   (`lodash.mergeWith({}, env, config)`): the constructor wins. Booleans are
//!   true for `true` (any case) or `1`, false for any other non-empty value
//!   (`CAMUNDA_SECURE_CONNECTION=yes` is false); an empty value is unset.
//!   A value outside a setting's `choices` (`CAMUNDA_AUTH_STRATEGY=none`)
//!   throws when the SDK is loaded.
//! * **gRPC address and TLS** (`zeebe/zb/ZeebeGrpcClient.js` constructor,
//!   `lib/ZeebeGrpcAddressUtils.js`): a `ZEEBE_GRPC_ADDRESS` with `://` must be
//!   `grpc://` (plaintext) or `grpcs://` (TLS), wins over `ZEEBE_ADDRESS`, and
//!   its scheme alone decides TLS (`CAMUNDA_SECURE_CONNECTION` and
//!   `ZEEBE_INSECURE_CONNECTION` are then ignored, with a warning). Otherwise
//!   the address is `ZEEBE_ADDRESS || ZEEBE_GRPC_ADDRESS || localhost:26500`
//!   and TLS is `CAMUNDA_SECURE_CONNECTION ?? !ZEEBE_INSECURE_CONNECTION`:
//!   TLS unless one of them says otherwise. With neither address set the
//!   default is `grpc://localhost:26500` (plaintext). Both TLS variables are
//!   deprecated and warned about on every client (`console.warn`).
//! * **Trust** (`lib/GetCustomCertificateBuffer.js`): with
//!   `CAMUNDA_CUSTOM_ROOT_CERT_PATH` (relative to the working directory) or
//!   else `CAMUNDA_CUSTOM_ROOT_CERT_STRING`, the roots are that certificate
//!   *plus* the system's (`lib/GetSystemCertificates.js`:
//!   `/etc/ssl/certs/ca-certificates.crt` on Linux), given to grpc-js's
//!   `credentials.createSsl`. Without either, grpc-js's own default roots.
//! * **A CA file that cannot be read is not an error**: `readRootCertificate`
//!   catches it, writes `Failed to read custom SSL certificate: ENOENT: …` with
//!   `console.error` and goes on with the system roots alone; the call then
//!   fails on the gateway's certificate (measured: `self-signed certificate
//!   in certificate chain`).
//! * **Client certificate** (`ZeebeGrpcClient.js`): `CAMUNDA_CUSTOM_CERT_CHAIN_PATH`
//!   and `CAMUNDA_CUSTOM_PRIVATE_KEY_PATH` are read with `fs.readFileSync`
//!   (relative to the working directory) when the gRPC client is built, in a
//!   promise: a missing file rejects the first call with
//!   `ENOENT: no such file or directory, open '…'`. A chain without a key is
//!   grpc-js's `Certificate chain must be given with accompanying private key`.
//!   The REST client (`c8/lib/CamundaRestClient.js`) passes only the roots
//!   (got's `https.certificateAuthority`), never a client certificate.
//! * **Auth** (`lib/ConstructOAuthProvider.js`): `CAMUNDA_AUTH_STRATEGY`
//!   defaults to `NONE` (choices `BASIC`, `OAUTH`, `BEARER`, `COOKIE`,
//!   `NONE`); `NONE` is promoted to `OAUTH` only when it was not set
//!   explicitly and `CAMUNDA_OAUTH_URL`, `ZEEBE_CLIENT_ID` and
//!   `ZEEBE_CLIENT_SECRET` are all set; `CAMUNDA_OAUTH_DISABLED=true` forces
//!   `NONE` whatever else is set.
//! * **Wire**: the gRPC client sends gzip-compressed messages
//!   (`'grpc.default_compression_algorithm': 2`, `zeebe/lib/GrpcClient.js`);
//!   `ZEEBE_GRPC_CLIENT_RETRY` defaults to true with
//!   `ZEEBE_GRPC_CLIENT_MAX_RETRIES` -1 (forever).
//! * **grpc-js**: the package asks for `@grpc/grpc-js` `^1.14.3`; the
//!   probe's `package-lock.json` pins 1.14.7 (and `@grpc/proto-loader`
//!   0.8.x). Its connection errors read `14 UNAVAILABLE: No connection
//!   established. Last error: Error: <Node TLS text>. Resolution note: `.

use std::path::PathBuf;

use serde::Deserialize;

use super::warm::{self, Temperature, WarmPeer};
use super::{Observation, ZeebeClientConfig};
use crate::error::HarnessError;
use crate::process;

/// The peer's name, with the pinned library version.
pub const PEER: &str = "camunda-sdk 8.8.13";

/// How to install it.
pub const INSTALL: &str =
    "bash ci/setup (or: bash harness/probes/camunda-sdk/build.sh; needs Node 20 and npm)";

/// Which API the probe calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// The Zeebe gRPC API (`getZeebeGrpcApiClient().topology()`).
    Grpc,
    /// The Camunda REST API (`getCamundaRestClient().getTopology()`).
    Rest,
}

fn probe_dir() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("probes/camunda-sdk")
}

/// Finds `node` and the installed SDK, or says how to install them.
pub fn locate() -> Result<PathBuf, HarnessError> {
    let missing = |detail: String| HarnessError::PeerMissing {
        peer: PEER.to_string(),
        detail,
        install: INSTALL.to_string(),
    };
    let node = process::locate("TLSMATRIX_NO_SUCH_OVERRIDE", "", "node")
        .ok_or_else(|| missing("no `node` on PATH".to_string()))?;
    let dir = probe_dir();
    if !dir
        .join("node_modules/@camunda8/sdk/package.json")
        .is_file()
    {
        return Err(missing(format!(
            "{} has no node_modules/@camunda8/sdk",
            dir.display()
        )));
    }
    Ok(node)
}

/// The probe's arguments for a case (after the script's path).
pub fn probe_args(config: &ZeebeClientConfig, api: Api) -> Vec<String> {
    let mut args = config.flags("--address", "--plaintext", "--ca");
    if api == Api::Rest {
        args.push("--rest".to_string());
    }
    let timeout = config
        .deadline
        .saturating_sub(std::time::Duration::from_secs(2));
    args.push("--timeout-ms".to_string());
    args.push(timeout.as_millis().to_string());
    args
}

#[derive(Debug, Default, Deserialize)]
struct LibraryLog {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    log: Vec<String>,
}

/// The SDK's own console lines worth showing beside the error: not Node's
/// runtime warnings (`(node:PID) [DEP0123] …`, which name a process id), not
/// the SDK logger's copy of the error itself, each once.
fn library_lines(log: &[String], error: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for line in log {
        let text = line
            .split_once(": ")
            .map_or(line.as_str(), |(_, rest)| rest)
            .trim();
        let repeats_error = !error.is_empty() && text.contains(error.trim());
        if text.starts_with("(node:") || repeats_error || text.is_empty() {
            continue;
        }
        let line = format!("sdk {line}");
        if !lines.contains(&line) {
            lines.push(line);
        }
    }
    lines
}

/// Runs the probe once (a warm `--serve` process when the case may run warm,
/// see `warm::temperature`; else a Node process of its own) and reads its
/// JSON line.
pub async fn topology(config: &ZeebeClientConfig, api: Api) -> Result<Observation, HarnessError> {
    let node = locate()?;
    let script = probe_dir().join("probe.js").display().to_string();
    let mut args = vec![script.clone()];
    args.extend(probe_args(config, api));
    let bound = config.deadline + super::probe::RUNTIME_STARTUP_ALLOWANCE;
    let out = match warm::temperature(WarmPeer::CamundaSdk, config) {
        Temperature::Warm => {
            warm::run(
                WarmPeer::CamundaSdk,
                &node,
                &[script],
                &probe_args(config, api),
                &config.env,
                &config.workdir,
                bound,
            )
            .await?
        }
        Temperature::Cold => {
            process::run(&node, &args, &config.env, &config.workdir, bound).await?
        }
    };
    let mut obs = super::probe::read_line(PEER, &node, &args, &out)?;
    if obs.connected_brokers.is_none() {
        let parsed = out
            .stdout
            .lines()
            .rev()
            .find(|l| l.trim_start().starts_with('{'))
            .and_then(|l| serde_json::from_str::<LibraryLog>(l).ok())
            .unwrap_or_default();
        let extra = library_lines(&parsed.log, parsed.error.as_deref().unwrap_or(""));
        if !extra.is_empty() {
            obs.stderr = format!("{}\n{}", obs.stderr, extra.join("\n"));
        }
    }
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
    fn the_case_fields_become_probe_flags() {
        assert_eq!(
            probe_args(&config(false, Some("ca.pem")), Api::Grpc),
            [
                "--address",
                "127.0.0.1:26500",
                "--ca",
                "ca.pem",
                "--timeout-ms",
                "8000"
            ]
        );
        assert_eq!(
            probe_args(&config(true, None), Api::Rest),
            [
                "--address",
                "127.0.0.1:26500",
                "--plaintext",
                "--rest",
                "--timeout-ms",
                "8000"
            ]
        );
    }

    #[test]
    fn library_lines_drop_node_warnings_and_the_error_again() {
        let log = [
            "error: Failed to read custom SSL certificate: ENOENT: no such file".to_string(),
            "error: (node:42) [DEP0123] DeprecationWarning: Setting the TLS ServerName".to_string(),
            "error: 13:02:03.049 | zeebe |  ERROR: [topology]: 14 UNAVAILABLE: x".to_string(),
            "warn: ⚠️  CAMUNDA_SECURE_CONNECTION is deprecated.".to_string(),
            "warn: ⚠️  CAMUNDA_SECURE_CONNECTION is deprecated.".to_string(),
        ];
        assert_eq!(
            library_lines(&log, "14 UNAVAILABLE: x"),
            [
                "sdk error: Failed to read custom SSL certificate: ENOENT: no such file",
                "sdk warn: ⚠️  CAMUNDA_SECURE_CONNECTION is deprecated.",
            ]
        );
    }
}
