//! Spring-Boot-style property lookup, which is how Zeebe reads its YAML and its
//! environment: a YAML tree is flattened to dotted keys, key segments match in
//! relaxed form (`certificateChainPath`, `certificate-chain-path` and
//! `certificate_chain_path` are one key), and an environment variable named after
//! the key (`ZEEBE_GATEWAY_SECURITY_ENABLED`) overrides the file.

use std::collections::BTreeMap;

use serde_yaml_ng::Value;

use crate::error::HarnessError;

/// Environment variables given to a node or a client, explicitly: tlsmatrix never
/// lets the test process's own environment leak into a case.
pub type EnvMap = BTreeMap<String, String>;

/// One value found for a key, and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// The value, as YAML (environment values are strings).
    pub value: Value,
    /// `file: dotted.key` or `environment: VAR`, for error messages.
    pub origin: String,
    /// The key as written in the source.
    pub key: String,
}

/// A flattened YAML document plus an environment.
#[derive(Debug, Clone, Default)]
pub struct Properties {
    source: String,
    flat: BTreeMap<String, (String, Value)>,
    env: EnvMap,
}

/// Relaxed form of a dotted key: lower case, without `-` and `_`.
pub fn relaxed(key: &str) -> String {
    key.split('.')
        .map(|seg| {
            seg.chars()
                .filter(|c| *c != '-' && *c != '_')
                .flat_map(char::to_lowercase)
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// The environment variable Spring Boot binds to a dotted key:
/// `zeebe.gateway.security.certificateChainPath` → `ZEEBE_GATEWAY_SECURITY_CERTIFICATECHAINPATH`.
pub fn env_name(key: &str) -> String {
    relaxed(key).replace('.', "_").to_uppercase()
}

impl Properties {
    /// Parses YAML text. `source` names the file in errors.
    pub fn from_yaml(source: &str, text: &str, env: EnvMap) -> Result<Self, HarnessError> {
        let value: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_yaml_ng::from_str(text).map_err(|e| HarnessError::yaml(source, &e))?
        };
        Self::from_value(source, &value, env)
    }

    /// Flattens an already parsed YAML value.
    pub fn from_value(source: &str, value: &Value, env: EnvMap) -> Result<Self, HarnessError> {
        let mut flat = BTreeMap::new();
        match value {
            Value::Null => {}
            Value::Mapping(_) => flatten("", value, &mut flat),
            _ => {
                return Err(HarnessError::invalid(
                    source,
                    "(document)",
                    "the document is not a mapping of keys",
                    "start the file with `zeebe:` as in the product's configuration template",
                ))
            }
        }
        Ok(Self {
            source: source.to_string(),
            flat,
            env,
        })
    }

    /// The raw value of environment variable `name`, if the node's
    /// environment sets it (for variables that are not Spring keys, such as
    /// `JAVA_OPTS`).
    pub fn env_value(&self, name: &str) -> Option<&str> {
        self.env.get(name).map(String::as_str)
    }

    /// The file name used in errors.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Every key of the file, dotted, as written (for linting).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.flat.values().map(|(written, _)| written.as_str())
    }

    /// The value of `key`: the environment variable if set and non-empty, else the
    /// file's value. A key whose parent is a scalar is a type error.
    pub fn get(&self, key: &str) -> Result<Option<Found>, HarnessError> {
        let var = env_name(key);
        if let Some(v) = self.env.get(&var).filter(|v| !v.is_empty()) {
            return Ok(Some(Found {
                value: Value::String(v.clone()),
                origin: "environment".to_string(),
                key: var,
            }));
        }
        let wanted = relaxed(key);
        // A scalar where a section is expected (`security: true`) hides the key.
        let mut prefix = String::new();
        for seg in wanted.split('.') {
            if !prefix.is_empty() {
                if let Some((written, v)) = self.flat.get(&prefix) {
                    if !matches!(v, Value::Null) {
                        return Err(HarnessError::invalid(
                            &self.source,
                            written,
                            format!("expected a section (mapping), found {}", describe(v)),
                            format!(
                                "write `{written}:` as a mapping holding `{}`",
                                key.rsplit('.').next().unwrap_or(key)
                            ),
                        ));
                    }
                }
                prefix.push('.');
            }
            prefix.push_str(seg);
        }
        Ok(self.flat.get(&wanted).map(|(written, v)| Found {
            value: v.clone(),
            origin: self.source.clone(),
            key: written.clone(),
        }))
    }

    /// A boolean, Spring style (`true`/`false`, also `yes`/`no`, `on`/`off`, `1`/`0`,
    /// any case); empty means unset.
    pub fn bool(&self, key: &str, default: bool) -> Result<bool, HarnessError> {
        let Some(found) = self.get(key)? else {
            return Ok(default);
        };
        let text = match &found.value {
            Value::Bool(b) => return Ok(*b),
            Value::Null => return Ok(default),
            Value::String(s) => s.trim().to_lowercase(),
            Value::Number(n) => n.to_string(),
            other => return Err(self.type_error(&found, "true or false", other)),
        };
        match text.as_str() {
            "" => Ok(default),
            "true" | "yes" | "on" | "1" => Ok(true),
            "false" | "no" | "off" | "0" => Ok(false),
            _ => Err(self.type_error(&found, "true or false", &found.value)),
        }
    }

    /// A string; empty or null means unset.
    pub fn string(&self, key: &str) -> Result<Option<String>, HarnessError> {
        let Some(found) = self.get(key)? else {
            return Ok(None);
        };
        match &found.value {
            Value::Null => Ok(None),
            Value::String(s) if s.trim().is_empty() => Ok(None),
            Value::String(s) => Ok(Some(s.clone())),
            Value::Number(n) => Ok(Some(n.to_string())),
            Value::Bool(b) => Ok(Some(b.to_string())),
            other => Err(self.type_error(&found, "a single value", other)),
        }
    }

    /// A TCP port (0–65535).
    pub fn port(&self, key: &str, default: u16) -> Result<u16, HarnessError> {
        let Some(found) = self.get(key)? else {
            return Ok(default);
        };
        let parsed = match &found.value {
            Value::Null => return Ok(default),
            Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
            Value::String(s) => s.trim().parse::<u16>().ok(),
            _ => None,
        };
        parsed.ok_or_else(|| self.type_error(&found, "a port number from 0 to 65535", &found.value))
    }

    /// A whole number (an environment value is parsed).
    pub fn integer(&self, key: &str, default: i64) -> Result<i64, HarnessError> {
        let Some(found) = self.get(key)? else {
            return Ok(default);
        };
        let parsed = match &found.value {
            Value::Null => return Ok(default),
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        parsed.ok_or_else(|| self.type_error(&found, "a whole number", &found.value))
    }

    /// A list of strings: a YAML sequence, or (as Spring binds an environment
    /// variable to a list) one value split at commas; blanks are dropped.
    pub fn list(&self, key: &str) -> Result<Vec<String>, HarnessError> {
        let Some(found) = self.get(key)? else {
            return Ok(Vec::new());
        };
        let items: Vec<String> = match &found.value {
            Value::Null => Vec::new(),
            Value::String(s) => s.split(',').map(str::to_string).collect(),
            Value::Sequence(items) => items
                .iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(n) => Ok(n.to_string()),
                    other => Err(self.type_error(&found, "a list of values", other)),
                })
                .collect::<Result<_, _>>()?,
            other => return Err(self.type_error(&found, "a list of values", other)),
        };
        Ok(items
            .into_iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect())
    }

    fn type_error(&self, found: &Found, wanted: &str, got: &Value) -> HarnessError {
        HarnessError::invalid(
            &found.origin,
            &found.key,
            format!("expected {wanted}, found {}", describe(got)),
            format!("set {} to {wanted}", found.key),
        )
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "nothing".to_string(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("{s:?}"),
        Value::Sequence(_) => "a list".to_string(),
        Value::Mapping(_) => "a section (mapping)".to_string(),
        Value::Tagged(t) => format!("a tagged value {}", t.tag),
    }
}

fn flatten(prefix: &str, value: &Value, out: &mut BTreeMap<String, (String, Value)>) {
    match value {
        Value::Mapping(map) => {
            for (k, v) in map {
                let key = match k {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => continue,
                };
                let full = if prefix.is_empty() {
                    key
                } else {
                    format!("{prefix}.{key}")
                };
                if matches!(v, Value::Mapping(_)) {
                    flatten(&full, v, out);
                } else {
                    out.insert(relaxed(&full), (full, v.clone()));
                }
            }
        }
        _ => {
            out.insert(relaxed(prefix), (prefix.to_string(), value.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relaxed_names_and_env() {
        assert_eq!(
            env_name("zeebe.gateway.security.certificateChainPath"),
            "ZEEBE_GATEWAY_SECURITY_CERTIFICATECHAINPATH"
        );
        assert_eq!(
            relaxed("a.certificate-chain-path"),
            relaxed("A.certificateChainPath")
        );
    }

    #[test]
    fn lists_come_from_yaml_sequences_and_comma_separated_env() {
        let yaml = "zeebe.broker.cluster.initialContactPoints: [a:26502, \"b:26502\"]\n";
        let p = Properties::from_yaml("b.yaml", yaml, EnvMap::new()).unwrap();
        assert_eq!(
            p.list("zeebe.broker.cluster.initialContactPoints").unwrap(),
            ["a:26502", "b:26502"]
        );
        let env: EnvMap = [(
            "ZEEBE_BROKER_CLUSTER_INITIALCONTACTPOINTS".to_string(),
            "c:1, d:2,".to_string(),
        )]
        .into();
        let p = Properties::from_yaml("b.yaml", yaml, env).unwrap();
        assert_eq!(
            p.list("zeebe.broker.cluster.initialContactPoints").unwrap(),
            ["c:1", "d:2"]
        );
        let p = Properties::from_yaml("b.yaml", "zeebe.broker.cluster.nodeId: x\n", EnvMap::new())
            .unwrap();
        let err = p
            .integer("zeebe.broker.cluster.nodeId", 0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected a whole number"), "{err}");
    }

    #[test]
    fn env_overrides_file_and_empty_env_is_unset() {
        let yaml = "zeebe:\n  gateway:\n    security:\n      enabled: false\n";
        let mut env = EnvMap::new();
        env.insert("ZEEBE_GATEWAY_SECURITY_ENABLED".into(), "true".into());
        let p = Properties::from_yaml("g.yaml", yaml, env.clone()).unwrap();
        assert!(p.bool("zeebe.gateway.security.enabled", false).unwrap());
        env.insert("ZEEBE_GATEWAY_SECURITY_ENABLED".into(), String::new());
        let p = Properties::from_yaml("g.yaml", yaml, env).unwrap();
        assert!(!p.bool("zeebe.gateway.security.enabled", true).unwrap());
    }

    #[test]
    fn dotted_keys_flatten_like_nested_ones() {
        let p = Properties::from_yaml(
            "g.yaml",
            "zeebe.gateway.network.port: 1234\n",
            EnvMap::new(),
        )
        .unwrap();
        assert_eq!(p.port("zeebe.gateway.network.port", 0).unwrap(), 1234);
    }

    #[test]
    fn wrong_type_names_file_key_and_fix() {
        let p = Properties::from_yaml(
            "g.yaml",
            "zeebe:\n  gateway:\n    security:\n      enabled: maybe\n",
            EnvMap::new(),
        )
        .unwrap();
        let err = p
            .bool("zeebe.gateway.security.enabled", false)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "g.yaml: zeebe.gateway.security.enabled: expected true or false, found \"maybe\"; fix: set zeebe.gateway.security.enabled to true or false"
        );
    }

    #[test]
    fn scalar_section_is_an_error() {
        let p = Properties::from_yaml(
            "g.yaml",
            "zeebe:\n  gateway:\n    security: true\n",
            EnvMap::new(),
        )
        .unwrap();
        let err = p
            .bool("zeebe.gateway.security.enabled", false)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("g.yaml: zeebe.gateway.security: expected a section"),
            "{err}"
        );
    }
}
