//! KrakenD's service configuration (`krakend.json`), the parts that decide
//! server TLS (`port` and the `tls` object) and client TLS to backends
//! (`endpoints[].backend[]` with their `client_tls`), read the way KrakenD
//! reads them.
//!
//! Client TLS to backends, as KrakenD documents it: the service-level
//! `client_tls` object (KrakenD CE; lura's `InitHTTPDefaultTransport` builds
//! the default transport's `tls.Config` from it) and, per backend, the same
//! object under the backend's `extra_config` → `"backend/http/client"` →
//! `"client_tls"` (KrakenD Enterprise, "HTTP Per-backend Client settings":
//! "include the backend/http/client namespace in the backend's extra
//! configuration … client_tls … See the global Client TLS options"). The keys
//! are the schema's (`https://www.krakend.io/schema/v2.12/client_tls.json`):
//! `allow_insecure_connections`, `ca_certs` (list of PEM files),
//! `disable_system_ca_pool`, `client_certs` (list of
//! `{"certificate", "private_key"}`), `min_version`/`max_version` (KrakenD's
//! version names; an unset one is TLS13, as lura's `parseTLSVersion` has it),
//! plus `curve_preferences`/`cipher_suites`, which are read as lists of numbers
//! and otherwise left to the defaults. A backend with its own `client_tls`
//! uses it whole; otherwise the service-level one; otherwise Go's defaults
//! (system roots, TLS 1.2 to 1.3).
//!
//! The router option `return_error_msg` (service `extra_config` → `router`,
//! or lura's full namespace `github_com/luraproject/lura/router/gin`) makes
//! KrakenD write a failed backend call's error text as the 500 body (lura's
//! `router/gin/endpoint.go`); without it the body is empty.
//!
//! Unknown keys (endpoints, `extra_config`, ...) are ignored, as a real file
//! has many; a known key with the wrong type is an error naming its JSON path.
//! Relative paths are resolved against the working directory, as KrakenD opens
//! them from its own working directory.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::HarnessError;

/// A TLS protocol version, by KrakenD's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    /// `SSL3.0`: accepted by the parser, refused by every modern stack.
    Ssl30,
    /// `TLS10`.
    Tls10,
    /// `TLS11`.
    Tls11,
    /// `TLS12`.
    Tls12,
    /// `TLS13`.
    Tls13,
}

impl TlsVersion {
    /// KrakenD's names, in order.
    pub const NAMES: [&'static str; 5] = ["SSL3.0", "TLS10", "TLS11", "TLS12", "TLS13"];

    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "SSL3.0" => Self::Ssl30,
            "TLS10" => Self::Tls10,
            "TLS11" => Self::Tls11,
            "TLS12" => Self::Tls12,
            "TLS13" => Self::Tls13,
            _ => return None,
        })
    }

    /// KrakenD's name of the version.
    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// The `tls` object of a KrakenD service configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceTls {
    /// `public_key`: the server certificate (chain) file, resolved.
    pub(crate) public_key: PathBuf,
    /// `private_key`: its key file, resolved.
    pub(crate) private_key: PathBuf,
    /// `enable_mtls`: every endpoint requires a verified client certificate.
    pub(crate) enable_mtls: bool,
    /// `ca_certs`: extra CA files for client certificates, as written and resolved.
    pub(crate) ca_certs: Vec<(String, PathBuf)>,
    /// `disable_system_ca_pool`: leave the system roots out of the client CA pool.
    pub(crate) disable_system_ca_pool: bool,
    /// `min_version` (KrakenD's default: TLS13).
    pub(crate) min_version: TlsVersion,
    /// `max_version` (KrakenD's default: TLS13).
    pub(crate) max_version: TlsVersion,
    /// The file this came from, as errors name it.
    pub(crate) source: String,
}

/// The service settings tlsmatrix reads from a KrakenD file.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceSettings {
    /// `port` (KrakenD's default: 8080).
    pub(crate) port: u16,
    /// The `tls` object, when present and not `disabled`.
    pub(crate) tls: Option<ServiceTls>,
    /// What KrakenD accepts silently but an operator should hear about
    /// (an unknown TLS version name falls back to TLS13).
    pub(crate) warnings: Vec<String>,
    /// `endpoints`, each with its backends.
    pub(crate) endpoints: Vec<EndpointSettings>,
    /// `extra_config.router.return_error_msg`.
    pub(crate) return_error_msg: bool,
}

impl ServiceSettings {
    /// `port` (KrakenD's default: 8080).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// What KrakenD accepts silently but an operator should hear about
    /// (an unknown TLS version name falls back to TLS13).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// `endpoints`, each with its backends.
    pub fn endpoints(&self) -> &[EndpointSettings] {
        &self.endpoints
    }

    /// `extra_config.router.return_error_msg`.
    pub fn return_error_msg(&self) -> bool {
        self.return_error_msg
    }
}

/// KrakenD's default port.
pub const DEFAULT_PORT: u16 = 8080;

/// A file path as written in the configuration and resolved against the
/// working directory.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigPath {
    /// As written (what KrakenD's log lines show).
    pub(crate) given: String,
    /// Resolved.
    pub(crate) path: PathBuf,
}

/// One `client_certs` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientCert {
    /// `certificate`: the certificate (chain) PEM file.
    pub(crate) certificate: ConfigPath,
    /// `private_key`: its key.
    pub(crate) private_key: ConfigPath,
}

/// A `client_tls` object: how the gateway dials HTTPS backends.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientTls {
    /// `allow_insecure_connections`: skip verification of the backend's
    /// certificate (Go's `InsecureSkipVerify`).
    pub(crate) allow_insecure_connections: bool,
    /// `ca_certs`: CA files trusted besides the system pool.
    pub(crate) ca_certs: Vec<ConfigPath>,
    /// `disable_system_ca_pool`: leave the system roots out.
    pub(crate) disable_system_ca_pool: bool,
    /// `client_certs`: certificates the gateway can present to backends.
    pub(crate) client_certs: Vec<ClientCert>,
    /// `min_version` (unset: TLS13, as lura's `parseTLSVersion`).
    pub(crate) min_version: TlsVersion,
    /// `max_version` (unset: TLS13).
    pub(crate) max_version: TlsVersion,
}

/// One `backend` entry of an endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct BackendSettings {
    /// `host`: base URLs (`https://127.0.0.1:8443`); the first one is dialled.
    pub(crate) hosts: Vec<String>,
    /// `url_pattern`: the path appended to the host.
    pub(crate) url_pattern: String,
    /// `method` (default: the endpoint's).
    pub(crate) method: String,
    /// The client TLS in force for this backend: its own
    /// `extra_config."backend/http/client".client_tls`, else the service's
    /// `client_tls`, else none (Go's defaults).
    pub(crate) client_tls: Option<ClientTls>,
    /// Where `client_tls` came from, as a JSON path (for log lines and errors).
    pub(crate) client_tls_path: Option<String>,
}

/// One `endpoints` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointSettings {
    /// `endpoint`: the path the gateway serves.
    pub(crate) endpoint: String,
    /// `method` (default GET).
    pub(crate) method: String,
    /// `backend`: the calls made for it (the reference calls the first one).
    pub(crate) backends: Vec<BackendSettings>,
}

struct Reader<'a> {
    source: &'a str,
}

impl Reader<'_> {
    fn wrong(&self, path: &str, expected: &str, got: &Value) -> HarnessError {
        HarnessError::invalid(
            self.source,
            path,
            format!("expected {expected}, found {}", kind(got)),
            format!("write `{path}` as {expected}, as KrakenD's schema has it"),
        )
    }

    fn bool(&self, obj: &Value, key: &str, path: &str) -> Result<bool, HarnessError> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(self.wrong(path, "true or false", other)),
        }
    }

    fn string(&self, obj: &Value, key: &str, path: &str) -> Result<Option<String>, HarnessError> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.wrong(path, "a string", other)),
        }
    }

    /// A version name; an unknown one is TLS13 with a warning, as KrakenD
    /// (lura's `parseTLSVersion`) silently falls back to TLS 1.3.
    fn version(
        &self,
        obj: &Value,
        key: &str,
        path: &str,
        warnings: &mut Vec<String>,
    ) -> Result<TlsVersion, HarnessError> {
        let Some(name) = self.string(obj, key, path)? else {
            return Ok(TlsVersion::Tls13);
        };
        Ok(TlsVersion::parse(&name).unwrap_or_else(|| {
            warnings.push(format!(
                "{}: {path}: unknown TLS version {name:?}, KrakenD silently uses TLS13; fix: use one of {}",
                self.source,
                TlsVersion::NAMES.join(", ")
            ));
            TlsVersion::Tls13
        }))
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

impl ServiceSettings {
    /// Reads a KrakenD JSON file.
    pub fn from_file(path: &Path, workdir: &Path) -> Result<Self, HarnessError> {
        let text = crate::input::read(path)?;
        let duplicates = crate::config::lint::duplicate_json_keys(&text);
        let value: Value = serde_json::from_str(&text).map_err(|e| {
            HarnessError::invalid(
                path.display().to_string(),
                format!("line {}, column {}", e.line(), e.column()),
                format!("not valid JSON: {e}"),
                "fix the JSON syntax (KrakenD reads plain JSON)",
            )
        })?;
        let mut settings = Self::from_value(&path.display().to_string(), &value, workdir)?;
        for key in duplicates {
            settings.warnings.push(format!(
                "{}: {key}: the key appears more than once; KrakenD (Go's encoding/json) keeps the last one and ignores the others",
                path.display()
            ));
        }
        Ok(settings)
    }

    /// Reads a parsed KrakenD configuration; `source` names it in errors.
    pub fn from_value(source: &str, value: &Value, workdir: &Path) -> Result<Self, HarnessError> {
        let r = Reader { source };
        if !value.is_object() {
            return Err(r.wrong("$", "an object", value));
        }
        let port = match value.get("port") {
            None | Some(Value::Null) => DEFAULT_PORT,
            Some(Value::Number(n)) => n
                .as_u64()
                .and_then(|n| u16::try_from(n).ok())
                .ok_or_else(|| r.wrong("port", "a port number (0-65535)", &value["port"]))?,
            Some(other) => return Err(r.wrong("port", "a number", other)),
        };
        let mut warnings = Vec::new();
        if let Some(tls) = value.get("tls") {
            lint_tls(source, tls, &mut warnings);
        }
        let tls = match value.get("tls") {
            None | Some(Value::Null) => None,
            Some(tls @ Value::Object(_)) => Self::tls(&r, tls, workdir, &mut warnings)?,
            Some(other) => return Err(r.wrong("tls", "an object", other)),
        };
        let global_tls = match value.get("client_tls") {
            None | Some(Value::Null) => None,
            Some(ct @ Value::Object(_)) => {
                Some(client_tls(&r, ct, "client_tls", workdir, &mut warnings)?)
            }
            Some(other) => return Err(r.wrong("client_tls", "an object", other)),
        };
        let endpoints = match value.get("endpoints") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, e)| endpoint(&r, e, i, &global_tls, workdir, &mut warnings))
                .collect::<Result<_, _>>()?,
            Some(other) => return Err(r.wrong("endpoints", "a list of endpoints", other)),
        };
        let mut return_error_msg = false;
        for ns in ["router", "github_com/luraproject/lura/router/gin"] {
            match value.get("extra_config").and_then(|e| e.get(ns)) {
                None | Some(Value::Null) => {}
                Some(router @ Value::Object(_)) => {
                    return_error_msg |= r.bool(
                        router,
                        "return_error_msg",
                        &format!("extra_config.{ns}.return_error_msg"),
                    )?;
                }
                Some(other) => {
                    return Err(r.wrong(&format!("extra_config.{ns}"), "an object", other))
                }
            }
        }
        Ok(Self {
            port,
            tls,
            warnings,
            endpoints,
            return_error_msg,
        })
    }

    fn tls(
        r: &Reader,
        tls: &Value,
        workdir: &Path,
        warnings: &mut Vec<String>,
    ) -> Result<Option<ServiceTls>, HarnessError> {
        if r.bool(tls, "disabled", "tls.disabled")? {
            return Ok(None);
        }
        let required = |key: &str| -> Result<PathBuf, HarnessError> {
            let path = format!("tls.{key}");
            r.string(tls, key, &path)?
                .map(|p| workdir.join(p))
                .ok_or_else(|| {
                    HarnessError::invalid(
                        r.source,
                        &path,
                        "TLS is on but the key is missing",
                        format!(
                            "set `{path}` to a PEM file (relative to KrakenD's working directory), \
                             or set `tls.disabled: true`"
                        ),
                    )
                })
        };
        let public_key = required("public_key")?;
        let private_key = required("private_key")?;
        let ca_certs = match tls.get("ca_certs") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::String(s) => Ok((s.clone(), workdir.join(s))),
                    other => Err(r.wrong(&format!("tls.ca_certs[{i}]"), "a file path", other)),
                })
                .collect::<Result<_, _>>()?,
            Some(other) => return Err(r.wrong("tls.ca_certs", "a list of file paths", other)),
        };
        let min_version = r.version(tls, "min_version", "tls.min_version", warnings)?;
        let max_version = r.version(tls, "max_version", "tls.max_version", warnings)?;
        if min_version > max_version {
            return Err(HarnessError::invalid(
                r.source,
                "tls.min_version",
                format!(
                    "min_version {} is above max_version {}",
                    min_version.name(),
                    max_version.name()
                ),
                "set min_version at or below max_version",
            ));
        }
        Ok(Some(ServiceTls {
            public_key,
            private_key,
            enable_mtls: r.bool(tls, "enable_mtls", "tls.enable_mtls")?,
            ca_certs,
            disable_system_ca_pool: r.bool(
                tls,
                "disable_system_ca_pool",
                "tls.disable_system_ca_pool",
            )?,
            min_version,
            max_version,
            source: r.source.to_string(),
        }))
    }
}

/// The keys KrakenD reads in the service's `tls` object.
const TLS_KEYS: [&str; 8] = [
    "public_key",
    "private_key",
    "enable_mtls",
    "ca_certs",
    "disable_system_ca_pool",
    "min_version",
    "max_version",
    "disabled",
];

/// What KrakenD ignores silently but an operator should hear about: a key of
/// the `tls` object it does not know (a misspelt `enabled_mtls` leaves mTLS
/// off), named with the key it most likely meant.
fn lint_tls(source: &str, tls: &Value, warnings: &mut Vec<String>) {
    let Value::Object(map) = tls else { return };
    for key in map.keys() {
        if TLS_KEYS.contains(&key.as_str()) {
            continue;
        }
        let guess = crate::config::lint::closest(key, &TLS_KEYS)
            .map(|k| format!("; did you mean `tls.{k}`?"))
            .unwrap_or_default();
        warnings.push(format!(
            "{source}: tls.{key}: KrakenD ignores this key{guess}"
        ));
    }
}

fn string_list(
    r: &Reader,
    obj: &Value,
    key: &str,
    path: &str,
) -> Result<Vec<String>, HarnessError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s.clone()),
                other => Err(r.wrong(&format!("{path}[{i}]"), "a string", other)),
            })
            .collect(),
        Some(other) => Err(r.wrong(path, "a list of strings", other)),
    }
}

fn number_list(r: &Reader, obj: &Value, key: &str, path: &str) -> Result<(), HarnessError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Array(items)) => {
            items
                .iter()
                .enumerate()
                .try_for_each(|(i, item)| match item {
                    Value::Number(n) if n.as_u64().is_some_and(|n| n <= u64::from(u16::MAX)) => {
                        Ok(())
                    }
                    other => Err(r.wrong(&format!("{path}[{i}]"), "a number (0-65535)", other)),
                })
        }
        Some(other) => Err(r.wrong(path, "a list of numbers", other)),
    }
}

fn config_path(given: &str, workdir: &Path) -> ConfigPath {
    ConfigPath {
        given: given.to_string(),
        path: workdir.join(given),
    }
}

/// A `client_tls` object at `path`.
fn client_tls(
    r: &Reader,
    ct: &Value,
    path: &str,
    workdir: &Path,
    warnings: &mut Vec<String>,
) -> Result<ClientTls, HarnessError> {
    let ca_certs = string_list(r, ct, "ca_certs", &format!("{path}.ca_certs"))?
        .iter()
        .map(|s| config_path(s, workdir))
        .collect();
    number_list(
        r,
        ct,
        "curve_preferences",
        &format!("{path}.curve_preferences"),
    )?;
    number_list(r, ct, "cipher_suites", &format!("{path}.cipher_suites"))?;
    let client_certs = match ct.get("client_certs") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let at = format!("{path}.client_certs[{i}]");
                if !item.is_object() {
                    return Err(r.wrong(
                        &at,
                        "an object with certificate and private_key",
                        item,
                    ));
                }
                let file = |key: &str| -> Result<ConfigPath, HarnessError> {
                    let key_path = format!("{at}.{key}");
                    r.string(item, key, &key_path)?
                        .map(|s| config_path(&s, workdir))
                        .ok_or_else(|| {
                            HarnessError::invalid(
                                r.source,
                                &key_path,
                                "a client certificate entry without this key",
                                format!(
                                    "set `{key_path}` to a PEM file (relative to KrakenD's working directory)"
                                ),
                            )
                        })
                };
                Ok(ClientCert {
                    certificate: file("certificate")?,
                    private_key: file("private_key")?,
                })
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(r.wrong(
                &format!("{path}.client_certs"),
                "a list of {certificate, private_key} objects",
                other,
            ))
        }
    };
    let min_version = r.version(ct, "min_version", &format!("{path}.min_version"), warnings)?;
    let max_version = r.version(ct, "max_version", &format!("{path}.max_version"), warnings)?;
    Ok(ClientTls {
        allow_insecure_connections: r.bool(
            ct,
            "allow_insecure_connections",
            &format!("{path}.allow_insecure_connections"),
        )?,
        ca_certs,
        disable_system_ca_pool: r.bool(
            ct,
            "disable_system_ca_pool",
            &format!("{path}.disable_system_ca_pool"),
        )?,
        client_certs,
        min_version,
        max_version,
    })
}

/// The `endpoints[index]` entry.
fn endpoint(
    r: &Reader,
    e: &Value,
    index: usize,
    global_tls: &Option<ClientTls>,
    workdir: &Path,
    warnings: &mut Vec<String>,
) -> Result<EndpointSettings, HarnessError> {
    let at = format!("endpoints[{index}]");
    if !e.is_object() {
        return Err(r.wrong(&at, "an object", e));
    }
    let endpoint = r
        .string(e, "endpoint", &format!("{at}.endpoint"))?
        .ok_or_else(|| {
            HarnessError::invalid(
                r.source,
                format!("{at}.endpoint"),
                "an endpoint without its path",
                "set `endpoint` to the path the gateway serves, e.g. \"/api/data\"",
            )
        })?;
    let method = r
        .string(e, "method", &format!("{at}.method"))?
        .unwrap_or_else(|| "GET".to_string())
        .to_ascii_uppercase();
    let backends = match e.get("backend") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(j, b)| {
                let at = format!("{at}.backend[{j}]");
                backend(r, b, &at, &method, global_tls, workdir, warnings)
            })
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(r.wrong(&format!("{at}.backend"), "a list of backends", other)),
    };
    Ok(EndpointSettings {
        endpoint,
        method,
        backends,
    })
}

/// One `backend[j]` entry (at `bat`) of an endpoint whose method is
/// `method`: its own `client_tls`, else the service's.
fn backend(
    r: &Reader,
    b: &Value,
    bat: &str,
    method: &str,
    global_tls: &Option<ClientTls>,
    workdir: &Path,
    warnings: &mut Vec<String>,
) -> Result<BackendSettings, HarnessError> {
    if !b.is_object() {
        return Err(r.wrong(bat, "an object", b));
    }
    let hosts = string_list(r, b, "host", &format!("{bat}.host"))?;
    let url_pattern = r
        .string(b, "url_pattern", &format!("{bat}.url_pattern"))?
        .unwrap_or_default();
    let backend_method = r
        .string(b, "method", &format!("{bat}.method"))?
        .map(|m| m.to_ascii_uppercase())
        .unwrap_or_else(|| method.to_string());
    let (client_tls, client_tls_path) = match own_client_tls(r, b, bat, workdir, warnings)? {
        Some((ct, p)) => (Some(ct), Some(p)),
        None => (
            global_tls.clone(),
            global_tls.as_ref().map(|_| "client_tls".to_string()),
        ),
    };
    Ok(BackendSettings {
        hosts,
        url_pattern,
        method: backend_method,
        client_tls,
        client_tls_path,
    })
}

/// A backend's own `extra_config."backend/http/client".client_tls`, with the
/// path it was read at; each level must be an object.
fn own_client_tls(
    r: &Reader,
    b: &Value,
    bat: &str,
    workdir: &Path,
    warnings: &mut Vec<String>,
) -> Result<Option<(ClientTls, String)>, HarnessError> {
    let extra = match b.get("extra_config") {
        None | Some(Value::Null) => return Ok(None),
        Some(extra @ Value::Object(_)) => extra,
        Some(other) => return Err(r.wrong(&format!("{bat}.extra_config"), "an object", other)),
    };
    let client = match extra.get("backend/http/client") {
        None | Some(Value::Null) => return Ok(None),
        Some(client @ Value::Object(_)) => client,
        Some(other) => {
            let at = format!("{bat}.extra_config.backend/http/client");
            return Err(r.wrong(&at, "an object", other));
        }
    };
    let p = format!("{bat}.extra_config.backend/http/client.client_tls");
    match client.get("client_tls") {
        None | Some(Value::Null) => Ok(None),
        Some(ct @ Value::Object(_)) => Ok(Some((client_tls(r, ct, &p, workdir, warnings)?, p))),
        Some(other) => Err(r.wrong(&p, "an object", other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(value: Value) -> Result<ServiceSettings, HarnessError> {
        ServiceSettings::from_value("krakend.json", &value, Path::new("/w"))
    }

    #[test]
    fn documented_example_reads_with_defaults() {
        let s = read(json!({
            "version": 3, "$schema": "https://www.krakend.io/schema/v2.5/krakend.json",
            "port": 443, "endpoints": [],
            "tls": { "public_key": "./server.crt", "private_key": "./server.key",
                     "enable_mtls": true, "ca_certs": ["./rootCA.pem"],
                     "disable_system_ca_pool": true }
        }))
        .unwrap();
        assert_eq!(s.port, 443);
        let tls = s.tls.unwrap();
        assert_eq!(tls.public_key, Path::new("/w/./server.crt"));
        assert_eq!(
            tls.ca_certs,
            vec![("./rootCA.pem".to_string(), PathBuf::from("/w/./rootCA.pem"))]
        );
        assert!(tls.enable_mtls && tls.disable_system_ca_pool);
        assert_eq!(
            (tls.min_version, tls.max_version),
            (TlsVersion::Tls13, TlsVersion::Tls13)
        );
    }

    #[test]
    fn errors_name_the_json_path() {
        let e = read(json!({"tls": {"public_key": "a", "private_key": "b", "enable_mtls": "yes"}}))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("tls.enable_mtls") && e.contains("true or false"),
            "{e}"
        );
        let e = read(json!({"tls": {"public_key": "a"}}))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("tls.private_key") && e.contains("missing"),
            "{e}"
        );
        let s =
            read(json!({"tls": {"public_key": "a", "private_key": "b", "min_version": "TLS1.2"}}))
                .unwrap();
        assert_eq!(s.tls.unwrap().min_version, TlsVersion::Tls13);
        assert!(
            s.warnings[0].contains(
                "tls.min_version: unknown TLS version \"TLS1.2\", KrakenD silently uses TLS13"
            ),
            "{:?}",
            s.warnings
        );
        let e = read(json!({"tls": {"public_key": "a", "private_key": "b", "ca_certs": [1]}}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("tls.ca_certs[0]"), "{e}");
        assert!(read(json!({"tls": {"disabled": true}}))
            .unwrap()
            .tls
            .is_none());
    }

    #[test]
    fn backend_client_tls_reads_with_json_paths() {
        let s = read(json!({
            "endpoints": [{"endpoint": "/api", "backend": [{
                "host": ["https://127.0.0.1:8443"], "url_pattern": "/data",
                "extra_config": {"backend/http/client": {"client_tls": {
                    "ca_certs": ["ca.pem"], "disable_system_ca_pool": true,
                    "client_certs": [{"certificate": "gw.pem", "private_key": "gw.key"}]
                }}}
            }]}],
            "extra_config": {"router": {"return_error_msg": true}}
        }))
        .unwrap();
        assert!(s.return_error_msg);
        let b = &s.endpoints[0].backends[0];
        assert_eq!(s.endpoints[0].method, "GET");
        let ct = b.client_tls.as_ref().unwrap();
        assert_eq!(ct.client_certs[0].certificate.path, Path::new("/w/gw.pem"));
        assert_eq!(ct.min_version, TlsVersion::Tls13);
        assert!(ct.disable_system_ca_pool && !ct.allow_insecure_connections);
        let e = read(json!({"endpoints": [{"endpoint": "/a", "backend": [{"host": ["h"],
            "extra_config": {"backend/http/client": {"client_tls": {"client_certs": [{"certificate": 3}]}}}}]}]}))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("endpoints[0].backend[0].extra_config.backend/http/client.client_tls.client_certs[0].certificate"),
            "{e}"
        );
        let e = read(json!({"client_tls": {"allow_insecure_connections": "yes"}}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("client_tls.allow_insecure_connections"), "{e}");
    }
}
