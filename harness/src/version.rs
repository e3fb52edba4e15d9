//! Product releases as data.
//!
//! Each area names the releases it models in its catalogue file
//! (`versions: [8.4.0, 8.4.1]`); catalogue entries and scenario expectations
//! may carry `since` / `until`. A span is half-open: `since` is the first
//! release it holds for, `until` the first release it no longer holds for
//! (`until: 8.4.1` means "8.4.0 and earlier"), so two alternatives split at
//! one release name the same version, once as `until` and once as `since`.
//!
//! A case runs against one release. By default that is the newest release its
//! area models; an older release runs only the cases whose expectation differs
//! for it (another alternative is chosen), with `@<version>` appended to the
//! case id so that the snapshots of both releases sit side by side.
//!
//! What the reference reads of a release's runtime ([`ProductRuntime`]) comes
//! from the same files the netty-oracle is built from:
//! `harness/probes/java/versions/<version>.properties`, the versions of
//! Netty, grpc-java, netty-tcnative and BouncyCastle read from the release's
//! published dependency metadata. Product facts that are not in the runtime
//! (the keystore keys, [`KEYSTORE_SINCE`]) are constants here with their sources.

use std::cmp::Ordering;
use std::fmt;

use crate::error::HarnessError;
use crate::scenario::Case;

/// A product release, `MAJOR.MINOR.PATCH` (any number of numeric parts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductVersion {
    parts: Vec<u32>,
    text: String,
}

impl ProductVersion {
    /// Parses `8.4.1`; `None` unless every dot-separated part is a number.
    pub fn parse(text: &str) -> Option<Self> {
        let parts = text
            .split('.')
            .map(|p| p.parse::<u32>().ok())
            .collect::<Option<Vec<_>>>()?;
        Some(Self {
            parts,
            text: text.to_string(),
        })
    }

    /// The version as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl Ord for ProductVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.parts.cmp(&other.parts)
    }
}

impl PartialOrd for ProductVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for ProductVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The releases something holds for: `[since, until)`, either end open.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Span {
    /// The first release it holds for.
    pub(crate) since: Option<ProductVersion>,
    /// The first release it no longer holds for (exclusive).
    pub(crate) until: Option<ProductVersion>,
}

impl Span {
    /// Parses the `since` / `until` of `key` in `file`.
    pub fn parse(
        file: &str,
        key: &str,
        since: Option<&str>,
        until: Option<&str>,
    ) -> Result<Self, HarnessError> {
        let one = |name: &str, value: Option<&str>| {
            value
                .map(|v| {
                    ProductVersion::parse(v).ok_or_else(|| {
                        HarnessError::invalid(
                            file,
                            format!("{key}.{name}"),
                            format!("{v:?} is not a release number"),
                            "write a release such as 8.4.1",
                        )
                    })
                })
                .transpose()
        };
        let span = Self {
            since: one("since", since)?,
            until: one("until", until)?,
        };
        if let (Some(s), Some(u)) = (&span.since, &span.until) {
            if s >= u {
                return Err(HarnessError::invalid(
                    file,
                    key,
                    format!("since {s} is not before until {u} (until is exclusive)"),
                    "swap them, or drop one",
                ));
            }
        }
        Ok(span)
    }

    /// True when it holds for `version`.
    pub fn contains(&self, version: &ProductVersion) -> bool {
        self.since.as_ref().is_none_or(|s| version >= s)
            && self.until.as_ref().is_none_or(|u| version < u)
    }

    /// True when it holds for every release.
    pub fn is_always(&self) -> bool {
        self.since.is_none() && self.until.is_none()
    }

    /// `since 8.4.1`, `until 8.4.1`, `8.4.0 until 8.4.1`, or empty.
    pub fn describe(&self) -> String {
        match (&self.since, &self.until) {
            (None, None) => String::new(),
            (Some(s), None) => format!("since {s}"),
            (None, Some(u)) => format!("until {u}"),
            (Some(s), Some(u)) => format!("since {s} until {u}"),
        }
    }
}

/// What the reference nodes read of one release's runtime: the facts of
/// `harness/probes/java/versions/<version>.properties`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProductRuntime {
    /// BouncyCastle (bcpkix) is on the class path, so Netty reads PKCS#1 and
    /// SEC1 keys too (`BouncyCastlePemReader`).
    pub(crate) bouncycastle: bool,
    /// The gateway and the cluster transport read a PKCS#12 keystore
    /// (`security.keyStore.filePath` / `.password`) as an alternative to PEM
    /// files: from [`KEYSTORE_SINCE`] on.
    pub(crate) keystore: bool,
    /// The gateway serves its REST API (Spring Boot's `server.*`, TLS from
    /// `server.ssl.*`) beside gRPC: from [`REST_SINCE`] on.
    pub(crate) rest: bool,
}

/// The first release that reads a PKCS#12 keystore for the gateway's gRPC
/// server (`zeebe.gateway.security.keyStore.*`, camunda/camunda PR #21375)
/// and the cluster transport (`zeebe.broker.network.security.keyStore.*`,
/// `zeebe.gateway.cluster.security.keyStore.*`, PR #21220), both merged in
/// 2024-08 for 8.6; camunda-docs documents the keys from
/// versioned_docs/version-8.6 (secure-cluster-communication.md). Earlier
/// releases do not bind the keys: their `SecurityCfg` classes have no
/// `keyStore` property and Spring Boot's `@ConfigurationProperties` binding
/// ignores unknown keys, so a keystore-only TLS configuration is a TLS
/// configuration without a certificate chain there.
///
/// # What 8.6.0 does with the keys (read from its sources)
///
/// Sources: the `-sources.jar` files of release 8.6.0 on Maven Central
/// (SHA-1 of each jar): `io.camunda:zeebe-util:8.6.0`
/// (92065ee2a9953a4675c4cd1d7e482b522279a792), `zeebe-atomix-cluster`
/// (cdd43a57720b24f79d0cd492b9e7768f1d3d1116), `zeebe-broker`
/// (07b55ee9f39d9ce5a4404aff2fb32d1543d4be90), `zeebe-gateway`
/// (b8aa29d0683db9fad0068fb2ace0fec13926427d) and `camunda-zeebe`
/// (fa97ed27e7c74abbf77f6987f84859e68812b0b8). The gRPC server's
/// `io.camunda:zeebe-gateway-grpc` is not published on Maven Central; its
/// `Gateway.setSecurityConfig` was read in camunda/camunda
/// `zeebe/gateway-grpc/src/main/java/io/camunda/zeebe/gateway/Gateway.java`
/// at commits 01c9b0a92255af527ddfb6046beae2902e79ab21 and
/// cb609c54d542d9d539b458ffb8437a5f758ef680 (main after 8.6, the same
/// method in both; it calls the 8.6.0 `TlsConfigUtil` above).
///
/// - Both a keystore and a PEM chain or key: `TlsConfigUtil.validateTlsConfig`
///   throws [`KEYSTORE_AND_PEM_REFUSED`]. Called by the gateway's gRPC server
///   (`Gateway.setSecurityConfig`) and by a broker (`SystemContext`
///   `validateNetworkSecurityConfig`, when `network.security.enabled`). A
///   standalone gateway's cluster side does not call it
///   (`GatewayBasedConfiguration.messagingConfig` in camunda-zeebe): its
///   `MessagingConfig.configureTls(keyStore, password, key, chain)` keeps the
///   keystore and drops the PEM paths when a keystore is set.
/// - A keystore file that cannot be read: the same validation says
///   "Expected the configured network security keystore file '…' to point
///   to a readable file, but it does not" (gateway gRPC server and broker).
/// - Opening the store: `KeyStore.getInstance("PKCS12")`, loaded with the
///   password (`null` becomes the empty password); any failure becomes
///   `IllegalStateException("Keystore failed to load file: <path>, please
///   ensure it is a valid PKCS12 keystore")` with the JDK's exception as
///   cause, which the caller wraps again: `IllegalArgumentException`
///   (gateway) or `MessagingException` (cluster transport) "Failed to start
///   messaging service; invalid server TLS configuration". A wrong password
///   is the JDK's `java.io.IOException: keystore password was incorrect`
///   (measured: OpenJDK 17.0.15, a store from `openssl pkcs12 -export`).
/// - More than one entry: the first alias (`keyStore.aliases().nextElement()`)
///   gives both the key and the chain, for the gateway and the cluster
///   transport alike. The JDK's PKCS#12 store keeps file order, and a store
///   written by keytool holds its key entries before its trusted-certificate
///   entries (measured, OpenJDK 17.0.15: a store with entry `a`, then `b`
///   added with `keytool -importkeystore`, lists `[a, b]` and serves `a`; a
///   trusted CA added with `keytool -importcert` comes after the key entry).
/// - The cluster transport's client side trusts the keystore's chain
///   (`NettyMessagingService.loadClientSslContext`:
///   `trustManager(TlsConfigUtil.getCertificateChain(keyStore, password))`),
///   as it trusts the PEM chain file otherwise: a store whose chain lacks
///   the CA makes its node trust only its own certificate.
/// - Key paths: a broker's `keyStore.filePath` is resolved against the
///   broker's base directory (`KeyStoreCfg.init`), as its PEM paths are.
pub const KEYSTORE_SINCE: &str = "8.6.0";

/// `TlsConfigUtil.validateTlsConfig`'s refusal of a keystore beside PEM
/// files (Zeebe 8.6.0, `io.camunda:zeebe-util:8.6.0`; see [`KEYSTORE_SINCE`]).
pub const KEYSTORE_AND_PEM_REFUSED: &str = "Expected to configure with a certificate and private key pair, or with a key store and password, but both were provided. Please select only one approach";

/// `TlsConfigUtil.validateTlsConfig`'s refusal (8.6.0, `zeebe-util`; the
/// broker's network security gave it before, from `SystemContext`): TLS on
/// and the PEM `what` ("certificate chain", "private key") not configured.
pub fn tls_config_unset(what: &str) -> String {
    format!("Expected to have a valid {what} path for network security, but none configured")
}

/// `TlsConfigUtil`'s refusal of a configured PEM `what` at `path` that
/// `File.canRead()` rejects; `path` as `java.io.File` prints it.
pub fn tls_config_unreadable(what: &str, path: &str) -> String {
    format!(
        "Expected the configured network security {what} path '{path}' to point to a readable file, but it does not"
    )
}

/// `TlsConfigUtil`'s refusal of a keystore file at `path` that
/// `File.canRead()` rejects.
pub fn tls_config_keystore_unreadable(path: &str) -> String {
    format!(
        "Expected the configured network security keystore file '{path}' to point to a readable file, but it does not"
    )
}

/// The gateway's refusal to start with TLS on and the PEM `what`
/// ("certificate chain" or "private key") not configured. Before
/// [`KEYSTORE_SINCE`] it is `Gateway.setSecurityConfig`'s own text (8.4);
/// from it on the gateway calls `TlsConfigUtil.validateTlsConfig`
/// ([`tls_config_unset`]).
pub fn gateway_pem_unset(runtime: ProductRuntime, what: &str) -> String {
    if runtime.keystore {
        tls_config_unset(what)
    } else {
        format!(
            "Expected to find a valid path to a {what} but none was found. Edit the gateway configuration file to provide one or to disable TLS."
        )
    }
}

/// The gateway's refusal to start with TLS on and the PEM `what` configured
/// at `path`, where no file is (8.4: `File.exists()`) or none can be read
/// (from [`KEYSTORE_SINCE`]: [`tls_config_unreadable`]). Both print the
/// path as configured, as `java.io.File` does.
pub fn gateway_pem_unreadable(runtime: ProductRuntime, what: &str, path: &str) -> String {
    if runtime.keystore {
        tls_config_unreadable(what, path)
    } else {
        format!(
            "Expected to find a {what} file at the provided location '{path}' but none was found."
        )
    }
}

/// The first release whose gateway serves a REST API beside gRPC: camunda-docs
/// documents it from versioned_docs/version-8.5 (apis-tools/zeebe-api-rest,
/// self-managed base `http://localhost:8080/v1/`), and its TLS keys from the
/// same release (camunda-docs PR #3557, "SSL configuration for REST API",
/// labelled target:8.5, merged 2024-04-02). The REST server is Spring Boot's
/// web server, configured with the common `server.*` properties:
/// `server.port` (Spring's default 8080), `server.address`, and TLS under
/// `server.ssl` (`enabled`, `certificate`, `certificate-private-key`, or a
/// key store), bound from the environment as `SERVER_SSL_ENABLED`,
/// `SERVER_SSL_CERTIFICATE`, `SERVER_SSL_CERTIFICATEPRIVATEKEY` (Spring's
/// relaxed binding; the same names in camunda/camunda-platform-helm#3599).
/// It is configured apart from gRPC's `zeebe.gateway.security.*`: the
/// version-8.6 page secure-client-communication.md says both parts are set
/// up separately, with the same or different certificates.
///
/// The server under it changed between releases: the version-8.5 and 8.6
/// pages say the REST server is reactive as of 8.5.0 (Spring WebFlux, Reactor
/// Netty), while the 8.6.0 distribution's published pom
/// (io.camunda:camunda-zeebe:8.6.0) has spring-boot-starter-web 3.3.4 and
/// org.apache.tomcat.embed:tomcat-embed-core 10.1.30 at compile scope and no
/// WebFlux or Reactor Netty: 8.6.0 serves REST on embedded Tomcat
/// ([`REST_SERVER_8_6`]). The 8.5.0 distribution pom is not published, so
/// 8.5's server is taken from the docs only.
pub const REST_SINCE: &str = "8.5.0";

/// The embedded web server of the 8.6.0 gateway's REST API and its version,
/// from io.camunda:camunda-zeebe:8.6.0's pom (see [`REST_SINCE`]): the
/// REST oracle is built on it.
pub const REST_SERVER_8_6: (&str, &str) = ("org.apache.tomcat.embed:tomcat-embed-core", "10.1.30");

/// The first release whose Camunda 8 REST API is served under `/v2`
/// (camunda-docs versioned_docs/version-8.6, apis-tools/camunda-api-rest:
/// self-managed base `http://localhost:8080/v2/`, topology `GET /topology`);
/// 8.5 serves the Zeebe REST API under `/v1` (deprecated from 8.6, still
/// documented at `/v1/` there).
pub const REST_V2_SINCE: &str = "8.6.0";

/// The REST topology path a release documents: `/v2/topology` from
/// [`REST_V2_SINCE`], `/v1/topology` before.
pub fn rest_topology_path(version: Option<&str>) -> &'static str {
    let release = ProductVersion::parse(version.unwrap_or(newest_runtime()));
    if release
        .zip(ProductVersion::parse(REST_V2_SINCE))
        .is_some_and(|(r, since)| r >= since)
    {
        "/v2/topology"
    } else {
        "/v1/topology"
    }
}

/// The runtime files of the releases the Zeebe areas model, oldest first.
const RUNTIMES: &[(&str, &str)] = &[
    (
        "8.4.0",
        include_str!("../probes/java/versions/8.4.0.properties"),
    ),
    (
        "8.4.1",
        include_str!("../probes/java/versions/8.4.1.properties"),
    ),
    (
        "8.6.0",
        include_str!("../probes/java/versions/8.6.0.properties"),
    ),
];

/// The release whose runtime is the default: the newest with a runtime file.
pub fn newest_runtime() -> &'static str {
    RUNTIMES.last().map_or("", |(v, _)| v)
}

/// Every release with a runtime file and the file's text, oldest first.
pub fn runtimes() -> &'static [(&'static str, &'static str)] {
    RUNTIMES
}

/// The `key=value` pairs of a runtime file (comments and blank lines skipped).
pub fn runtime_properties(text: &str) -> Vec<(&str, &str)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect()
}

impl ProductRuntime {
    /// The runtime of `version`; the newest known runtime for a release
    /// without a runtime file (or none given).
    pub fn of(version: Option<&str>) -> Self {
        let text = version
            .and_then(|v| RUNTIMES.iter().find(|(r, _)| *r == v))
            .or(RUNTIMES.last())
            .map_or("", |(_, text)| text);
        let bouncycastle = runtime_properties(text)
            .iter()
            .any(|(k, v)| *k == "bouncycastle" && !v.is_empty());
        let release = ProductVersion::parse(version.unwrap_or(newest_runtime()));
        let keystore = release
            .clone()
            .zip(ProductVersion::parse(KEYSTORE_SINCE))
            .is_some_and(|(r, since)| r >= since);
        let rest = release
            .zip(ProductVersion::parse(REST_SINCE))
            .is_some_and(|(r, since)| r >= since);
        Self {
            bouncycastle,
            keystore,
            rest,
        }
    }
}

impl Default for ProductRuntime {
    fn default() -> Self {
        Self::of(None)
    }
}

/// Which releases a run covers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Selection {
    /// Every case at its area's newest release (the default run).
    #[default]
    Newest,
    /// One release: every case of the areas whose newest release it is; for
    /// an older release, only the cases whose expectation differs for it.
    Release(String),
    /// The newest release, plus every older release's cases that differ
    /// (what the nextest expansion runs, so both sides are tested).
    Changed,
    /// Every case at every release of its area: the cross product.
    All,
}

impl Selection {
    /// Parses the `--product-version` value: a release, `changed` or `all`;
    /// a release must be one some area models.
    pub fn parse(value: &str) -> Result<Self, String> {
        match value {
            "newest" => Ok(Self::Newest),
            "changed" => Ok(Self::Changed),
            "all" => Ok(Self::All),
            v => {
                let known = known_versions();
                if known.iter().any(|k| k == v) {
                    Ok(Self::Release(v.to_string()))
                } else {
                    Err(format!(
                        "no area models release {v:?}; known releases: {} (or newest, changed, all)",
                        known.join(", ")
                    ))
                }
            }
        }
    }
}

/// Every release some area models, oldest first, without repeats.
pub fn known_versions() -> Vec<String> {
    let mut all: Vec<ProductVersion> = crate::areas::registry()
        .iter()
        .flat_map(|a| a.catalogue().versions().to_vec())
        .collect();
    all.sort();
    all.dedup();
    all.into_iter().map(|v| v.to_string()).collect()
}

/// The cases of `cases` (as expanded, unversioned) at the releases
/// `selection` names, each with its version set, its expectation chosen
/// among its alternatives, and `@<version>` added to its id unless the
/// release is its area's newest.
pub fn select(cases: Vec<Case>, selection: &Selection) -> Result<Vec<Case>, HarnessError> {
    let mut out = Vec::new();
    for case in cases {
        let area = crate::areas::find(&case.area)?;
        let versions = area.catalogue().versions();
        let Some(newest) = versions.last() else {
            if let Some(alt) = case.alternatives.iter().find(|a| !a.span.is_always()) {
                return Err(HarnessError::invalid(
                    case.source.display().to_string(),
                    &case.id,
                    format!(
                        "an expectation says {} but area {} models no releases",
                        alt.span.describe(),
                        case.area
                    ),
                    format!(
                        "drop since/until, or list the releases under versions: in catalogue/{}.yaml",
                        case.area
                    ),
                ));
            }
            if selection == &Selection::Newest
                || selection == &Selection::Changed
                || selection == &Selection::All
            {
                out.push(case);
            }
            continue;
        };
        let newest_choice = choose(&case, newest)?;
        for version in versions {
            let is_newest = version == newest;
            let wanted = match selection {
                Selection::Newest => is_newest,
                Selection::All => true,
                Selection::Release(v) => v == version.as_str(),
                Selection::Changed => true,
            };
            if !wanted {
                continue;
            }
            let choice = choose(&case, version)?;
            let differs = choice != newest_choice;
            let keep = match selection {
                Selection::All => true,
                _ => is_newest || differs,
            };
            if keep {
                out.push(at(&case, version, choice, is_newest)?);
            }
        }
    }
    Ok(out)
}

/// The index of the alternative that holds for `version`.
fn choose(case: &Case, version: &ProductVersion) -> Result<usize, HarnessError> {
    case.alternatives
        .iter()
        .position(|a| a.span.contains(version))
        .ok_or_else(|| {
            HarnessError::invalid(
                case.source.display().to_string(),
                &case.id,
                format!("no expectation holds for release {version}"),
                "add an expectation without since/until after the versioned ones",
            )
        })
}

fn at(
    case: &Case,
    version: &ProductVersion,
    choice: usize,
    is_newest: bool,
) -> Result<Case, HarnessError> {
    let mut c = case.clone();
    let alt = &case.alternatives[choice];
    c.expect = alt.expect.clone();
    c.skip = alt.skip.clone();
    c.version = Some(version.to_string());
    if !is_newest {
        c.id = case
            .id
            .at_release(&version.to_string())
            .map_err(|e| e.at(case.source.display().to_string(), "versions"))?;
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order_by_number_not_text() {
        let v = |s| ProductVersion::parse(s).expect("a version");
        assert!(v("8.4.10") > v("8.4.9"));
        assert!(v("8.10.0") > v("8.9.1"));
        assert_eq!(ProductVersion::parse("8.4.x"), None);
    }

    #[test]
    fn until_is_exclusive_and_since_inclusive() {
        let span = |s, u| Span::parse("f", "k", s, u).expect("a span");
        let v = |s| ProductVersion::parse(s).expect("a version");
        let before = span(None, Some("8.4.1"));
        assert!(before.contains(&v("8.4.0")));
        assert!(!before.contains(&v("8.4.1")));
        let after = span(Some("8.4.1"), None);
        assert!(after.contains(&v("8.4.1")));
        assert!(!after.contains(&v("8.4.0")));
        assert!(Span::parse("f", "k", Some("8.4.1"), Some("8.4.1")).is_err());
    }

    #[test]
    fn runtimes_follow_the_recorded_metadata() {
        assert!(!ProductRuntime::of(Some("8.4.0")).bouncycastle);
        assert!(ProductRuntime::of(Some("8.4.1")).bouncycastle);
        assert!(!ProductRuntime::of(Some("8.4.1")).keystore);
        assert!(ProductRuntime::of(Some("8.6.0")).keystore);
        assert_eq!(ProductRuntime::default(), ProductRuntime::of(Some("8.6.0")));
        assert!(!ProductRuntime::of(Some("8.4.1")).rest);
        assert!(ProductRuntime::of(Some("8.6.0")).rest);
        assert_eq!(rest_topology_path(Some("8.5.0")), "/v1/topology");
        assert_eq!(rest_topology_path(Some("8.6.0")), "/v2/topology");
    }
}
