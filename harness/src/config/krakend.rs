//! KrakenD's service configuration (`krakend.json`), the parts that decide
//! server TLS: `port` and the `tls` object, read the way KrakenD reads them.
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
    pub public_key: PathBuf,
    /// `private_key`: its key file, resolved.
    pub private_key: PathBuf,
    /// `enable_mtls`: every endpoint requires a verified client certificate.
    pub enable_mtls: bool,
    /// `ca_certs`: extra CA files for client certificates, as written and resolved.
    pub ca_certs: Vec<(String, PathBuf)>,
    /// `disable_system_ca_pool`: leave the system roots out of the client CA pool.
    pub disable_system_ca_pool: bool,
    /// `min_version` (KrakenD's default: TLS13).
    pub min_version: TlsVersion,
    /// `max_version` (KrakenD's default: TLS13).
    pub max_version: TlsVersion,
}

/// The service settings tlsmatrix reads from a KrakenD file.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceSettings {
    /// `port` (KrakenD's default: 8080).
    pub port: u16,
    /// The `tls` object, when present and not `disabled`.
    pub tls: Option<ServiceTls>,
    /// What KrakenD accepts silently but an operator should hear about
    /// (an unknown TLS version name falls back to TLS13).
    pub warnings: Vec<String>,
}

/// KrakenD's default port.
pub const DEFAULT_PORT: u16 = 8080;

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
        let text = std::fs::read_to_string(path).map_err(|e| HarnessError::read(path, e))?;
        let value: Value = serde_json::from_str(&text).map_err(|e| {
            HarnessError::invalid(
                path.display().to_string(),
                format!("line {}, column {}", e.line(), e.column()),
                format!("not valid JSON: {e}"),
                "fix the JSON syntax (KrakenD reads plain JSON)",
            )
        })?;
        Self::from_value(&path.display().to_string(), &value, workdir)
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
        let tls = match value.get("tls") {
            None | Some(Value::Null) => None,
            Some(tls @ Value::Object(_)) => Self::tls(&r, tls, workdir, &mut warnings)?,
            Some(other) => return Err(r.wrong("tls", "an object", other)),
        };
        Ok(Self {
            port,
            tls,
            warnings,
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
        }))
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
}
