//! A report's own material, read the way a support engineer reads it: the
//! certificates `generate` makes and the user's own files, parsed; which
//! chain the setup serves and which the client presents; the CA that actually
//! signed each; the names a certificate really carries. Remedies name these
//! as `{server-ca}`, `{server-chain}`, `{server-name}`, `{server-ip}` and
//! `{client-ca}`, so a fix is a change to the user's configuration with the
//! user's file names, not a generic sentence. Settings the setup itself holds
//! (the audience the gateway expects, a client registered at the token
//! server, a Kafka tenant, user or master credential) are variables too
//! ([`SETUP_VARIABLES`]), so a fix makes both sides agree with what is there.

use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml_ng::Value;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::Report;
use crate::error::HarnessError;

/// What one certificate says of itself.
#[derive(Debug, Clone)]
struct CertInfo {
    subject: String,
    issuer: String,
    ca: bool,
    dns: Vec<String>,
    ips: Vec<String>,
}

/// The report's material and the variables remedies may use.
#[derive(Debug, Clone, Default)]
pub struct Material {
    /// `server-ca` → `ca.crt`, ...
    pub(crate) vars: BTreeMap<&'static str, String>,
    /// Why a variable could not be computed.
    pub(crate) missing: BTreeMap<&'static str, String>,
}

impl Material {
    /// The same material with the variable `name` (one of [`VARIABLES`]) set to `value`.
    pub fn with_var(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.vars.insert(name, value.into());
        self
    }
}

impl Material {
    /// `server-ca` → `ca.crt`, ...
    pub fn vars(&self) -> &BTreeMap<&'static str, String> {
        &self.vars
    }

    /// Why a variable could not be computed.
    pub fn missing(&self) -> &BTreeMap<&'static str, String> {
        &self.missing
    }
}

/// Every variable a remedy may use, with what it means (for errors).
pub const VARIABLES: &[(&str, &str)] = &[
    (
        "server-ca",
        "the CA certificate file that signed the served chain",
    ),
    (
        "server-chain",
        "the certificate chain file the server serves",
    ),
    ("server-name", "a DNS name the served certificate carries"),
    ("server-ip", "an IP address the served certificate carries"),
    (
        "client-ca",
        "the CA certificate file that signed the client's certificate",
    ),
    (
        "token-audience",
        "the audience the gateway's interceptor expects",
    ),
    ("client-id", "a client id registered at the token server"),
    ("client-secret", "that client's secret at the token server"),
    ("kafka-user", "the SASL user name the Kafka client sends"),
    (
        "gateway-protocol",
        "the Kafka gateway's listener protocol (GATEWAY_SECURITY_PROTOCOL)",
    ),
    ("client-protocol", "the Kafka client's security.protocol"),
    ("kafka-tenant", "a tenant the Kafka gateway has"),
    (
        "master-username",
        "the Kafka gateway's admin API user (JWT_AUTH_MASTER_USERNAME)",
    ),
    (
        "master-password",
        "the Kafka gateway's admin API password (JWT_AUTH_MASTER_PASSWORD)",
    ),
    ("backend-user", "a user the Kafka backend has"),
    (
        "backend-password",
        "that user's password at the Kafka backend",
    ),
];

/// The variables read from the setup itself: name, where in the case body
/// (`<key>`/`<value>`: the first entry of a mapping, `<0>`: the first item of
/// a list), and what is missing when it is absent.
pub const SETUP_VARIABLES: &[(&str, &[&str], &str)] = &[
    (
        "token-audience",
        &["gateway", "auth", "audience"],
        "the gateway has no interceptor (gateway.auth.audience)",
    ),
    (
        "client-id",
        &["token-server", "clients", "<key>"],
        "the setup registers no client at the token server (token-server.clients)",
    ),
    (
        "client-secret",
        &["token-server", "clients", "<value>"],
        "the setup registers no client at the token server (token-server.clients)",
    ),
    (
        "kafka-user",
        &["client", "username"],
        "the client sends no SASL user name (client.username)",
    ),
    (
        "gateway-protocol",
        &["gateway", "env", "GATEWAY_SECURITY_PROTOCOL"],
        "the setup does not set GATEWAY_SECURITY_PROTOCOL",
    ),
    (
        "client-protocol",
        &["client", "security-protocol"],
        "the setup does not set the client's security-protocol",
    ),
    (
        "kafka-tenant",
        &["gateway", "tenants", "<0>"],
        "the gateway has no tenant (gateway.tenants)",
    ),
    (
        "master-username",
        &["gateway", "env", "JWT_AUTH_MASTER_USERNAME"],
        "the setup does not set JWT_AUTH_MASTER_USERNAME",
    ),
    (
        "master-password",
        &["gateway", "env", "JWT_AUTH_MASTER_PASSWORD"],
        "the setup does not set JWT_AUTH_MASTER_PASSWORD",
    ),
    (
        "backend-user",
        &["backend", "users", "<key>"],
        "the backend has no users (backend.users)",
    ),
    (
        "backend-password",
        &["backend", "users", "<value>"],
        "the backend has no users (backend.users)",
    ),
];

impl Material {
    /// Reads the report's material: `generate` is built into a temporary
    /// directory (removed on return), `files` are read where they are.
    pub fn of(report: &Report, source: &Path) -> Result<Self, HarnessError> {
        let mut certs: Vec<(String, Vec<CertInfo>)> = Vec::new();
        let tmp = tempfile::tempdir().map_err(|e| HarnessError::write(std::env::temp_dir(), e))?;
        if !report.generate.is_empty() {
            let written = report.generate.build()?.write_to(tmp.path())?;
            for files in written.files().values() {
                for file in files.iter().filter(|f| f.ends_with(".pem")) {
                    if let Ok(infos) = read(&tmp.path().join(file)) {
                        certs.push((file.clone(), infos));
                    }
                }
            }
        }
        let base = source.parent().unwrap_or(Path::new("."));
        let mut config_texts = Vec::new();
        for (name, path) in &report.files {
            let full = base.join(path);
            match read(&full) {
                Ok(infos) if !infos.is_empty() => certs.push((name.clone(), infos)),
                _ => {
                    if let Ok(text) = crate::input::read(&full) {
                        config_texts.push(text);
                    }
                }
            }
        }
        let mut server_refs = Vec::new();
        let mut client_refs = Vec::new();
        collect(&report.setup, false, &mut server_refs, &mut client_refs);
        for text in &config_texts {
            server_refs.extend(
                text.split(|c: char| c.is_whitespace() || "\"',:{}[]=".contains(c))
                    .map(str::to_string),
            );
        }
        // The referenced certificate file: a leaf, or else a self-signed
        // certificate served as it is (users do serve those).
        let named = |refs: &[String]| -> Option<(String, Vec<CertInfo>)> {
            let find = |accept: &dyn Fn(&CertInfo) -> bool| {
                refs.iter().find_map(|r| {
                    let file = r.rsplit('/').next().unwrap_or(r);
                    certs
                        .iter()
                        .find(|(name, infos)| name == file && infos.first().is_some_and(accept))
                        .cloned()
                })
            };
            find(&|c| !c.ca).or_else(|| find(&|c| c.subject == c.issuer))
        };
        let mut m = Material::default();
        m.server_vars(&certs, named(&server_refs));
        m.set(
            "client-ca",
            named(&client_refs)
                .and_then(|(_, chain)| issuer_file(&certs, &chain))
                .ok_or_else(|| {
                    "the client presents no certificate whose CA is among the report's files"
                        .to_string()
                }),
        );
        for (var, path, missing) in SETUP_VARIABLES {
            m.set(
                var,
                lookup(&report.setup, path).ok_or_else(|| (*missing).to_string()),
            );
        }
        Ok(m)
    }

    /// Sets `var` to its value, or records why it has none.
    fn set(&mut self, var: &'static str, value: Result<String, String>) {
        match value {
            Ok(value) => {
                self.vars.insert(var, value);
            }
            Err(why) => {
                self.missing.insert(var, why);
            }
        }
    }

    /// The server's variables from the certificate file the setup serves
    /// (`named`, with its chain): the file, its first DNS name and IP
    /// address, and the report's file of the CA that signed it.
    fn server_vars(
        &mut self,
        certs: &[(String, Vec<CertInfo>)],
        named: Option<(String, Vec<CertInfo>)>,
    ) {
        let Some((file, chain)) = named else {
            for var in ["server-chain", "server-name", "server-ip", "server-ca"] {
                self.set(
                    var,
                    Err("the setup names no certificate file the server serves".into()),
                );
            }
            return;
        };
        self.set("server-chain", Ok(file));
        let leaf = &chain[0];
        self.set(
            "server-name",
            leaf.dns
                .first()
                .cloned()
                .ok_or_else(|| "the served certificate carries no DNS name".into()),
        );
        self.set(
            "server-ip",
            leaf.ips
                .first()
                .cloned()
                .ok_or_else(|| "the served certificate carries no IP address".into()),
        );
        self.set(
            "server-ca",
            issuer_file(certs, &chain).ok_or_else(|| {
                format!(
                    "the CA that signed the served chain ({}) is not among the report's files",
                    chain.last().map(|c| c.issuer.as_str()).unwrap_or("?")
                )
            }),
        );
    }

    /// `value` with every `{variable}` replaced; the first variable that
    /// could not be computed is the error, with the reason.
    pub fn substitute(&self, value: &Value) -> Result<Value, String> {
        Ok(match value {
            Value::String(s) => Value::String(self.text(s)?),
            Value::Sequence(items) => Value::Sequence(
                items
                    .iter()
                    .map(|v| self.substitute(v))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Mapping(map) => {
                let mut out = serde_yaml_ng::Mapping::new();
                for (k, v) in map {
                    out.insert(self.substitute(k)?, self.substitute(v)?);
                }
                Value::Mapping(out)
            }
            other => other.clone(),
        })
    }

    /// `text` with every `{variable}` replaced.
    pub fn text(&self, text: &str) -> Result<String, String> {
        let mut out = text.to_string();
        for (var, _) in VARIABLES {
            let token = format!("{{{var}}}");
            if out.contains(&token) {
                match self.vars.get(var) {
                    Some(v) => out = out.replace(&token, v),
                    None => {
                        return Err(self
                            .missing
                            .get(var)
                            .cloned()
                            .unwrap_or_else(|| format!("{{{var}}} is unknown")))
                    }
                }
            }
        }
        Ok(out)
    }
}

/// The scalar at `path` in `value` (see [`SETUP_VARIABLES`]), as text.
fn lookup(value: &Value, path: &[&str]) -> Option<String> {
    let Some((first, rest)) = path.split_first() else {
        return match value {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        };
    };
    let next = match *first {
        "<key>" => value.as_mapping()?.keys().next()?,
        "<value>" => value.as_mapping()?.values().next()?,
        "<0>" => value.as_sequence()?.first()?,
        key => value.get(key)?,
    };
    lookup(next, rest)
}

/// Strings under `client` go to the client's references, the rest to the server's.
fn collect(value: &Value, in_client: bool, server: &mut Vec<String>, client: &mut Vec<String>) {
    match value {
        Value::String(s) => {
            if in_client {
                client.push(s.clone());
            } else {
                server.push(s.clone());
            }
        }
        Value::Sequence(items) => items
            .iter()
            .for_each(|v| collect(v, in_client, server, client)),
        Value::Mapping(map) => {
            for (k, v) in map {
                let is_client = in_client || k.as_str() == Some("client");
                collect(v, is_client, server, client);
            }
        }
        _ => {}
    }
}

/// The file holding the CA certificate that signed the chain's last
/// certificate (a file with that certificate first, preferring one alone).
fn issuer_file(certs: &[(String, Vec<CertInfo>)], chain: &[CertInfo]) -> Option<String> {
    let last = chain.last()?;
    if chain.len() == 1 && last.subject == last.issuer {
        // A self-signed certificate is its own CA: the client trusts the file itself.
        return certs
            .iter()
            .filter(|(_, infos)| infos.len() == 1 && infos[0].subject == last.subject)
            .map(|(name, _)| name.clone())
            .min_by_key(|name| name.len());
    }
    let mut candidates: Vec<&(String, Vec<CertInfo>)> = certs
        .iter()
        .filter(|(_, infos)| {
            infos
                .first()
                .is_some_and(|c| c.ca && c.subject == last.issuer)
        })
        .collect();
    candidates.sort_by_key(|(name, infos)| (infos.len(), name.len()));
    candidates.first().map(|(name, _)| name.clone())
}

fn read(path: &Path) -> Result<Vec<CertInfo>, HarnessError> {
    let ders = crate::pki::read_certificates(path)?;
    Ok(ders
        .iter()
        .filter_map(|der| X509Certificate::from_der(der).ok().map(|(_, c)| c))
        .map(|c| {
            let mut dns = Vec::new();
            let mut ips = Vec::new();
            if let Ok(Some(san)) = c.subject_alternative_name() {
                for name in &san.value.general_names {
                    match name {
                        GeneralName::DNSName(d) => dns.push(d.to_string()),
                        GeneralName::IPAddress(b) => {
                            if let Ok(a) = <[u8; 4]>::try_from(*b) {
                                ips.push(std::net::Ipv4Addr::from(a).to_string());
                            } else if let Ok(a) = <[u8; 16]>::try_from(*b) {
                                ips.push(std::net::Ipv6Addr::from(a).to_string());
                            }
                        }
                        _ => {}
                    }
                }
            }
            CertInfo {
                subject: c.subject().to_string(),
                issuer: c.issuer().to_string(),
                ca: c.is_ca(),
                dns,
                ips,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(yaml: &str) -> Report {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    #[test]
    fn the_served_chain_its_ca_and_names_come_from_the_material() {
        let r = report(
            "area: zeebe-client\ntitle: t\nreported-error: x\nsetup:\n  gateway: {env: {ZEEBE_GATEWAY_SECURITY_CERTIFICATECHAINPATH: gw-chain.pem}}\n  client: {kind: zbctl}\ngenerate:\n  root: {}\n  mid: {issuer: root, ca: true}\n  gw: {issuer: mid, sans: [zeebe.example, 10.0.0.7]}\n",
        );
        let m = Material::of(&r, Path::new("report.yaml")).unwrap();
        assert_eq!(
            m.vars.get("server-chain").map(String::as_str),
            Some("gw-chain.pem")
        );
        assert_eq!(
            m.vars.get("server-name").map(String::as_str),
            Some("zeebe.example")
        );
        assert_eq!(
            m.vars.get("server-ip").map(String::as_str),
            Some("10.0.0.7")
        );
        // The chain is leaf + intermediate: the root signed its last certificate.
        assert_eq!(
            m.vars.get("server-ca").map(String::as_str),
            Some("root.pem")
        );
        assert!(m
            .text("--certPath {server-ca}")
            .unwrap()
            .ends_with("root.pem"));
        assert!(m
            .text("{client-ca}")
            .unwrap_err()
            .contains("client presents no certificate"));
    }

    #[test]
    fn settings_of_the_setup_are_variables_and_their_absence_is_the_reason() {
        let r = report(
            "area: zeebe-auth\ntitle: t\nreported-error: x\nsetup:\n  token-server: {clients: {worker: w0rker}}\n  gateway: {auth: {audience: zeebe-api}}\n  client: {kind: zbctl}\n",
        );
        let m = Material::of(&r, Path::new("report.yaml")).unwrap();
        assert_eq!(
            m.text("{client-id}:{client-secret}@{token-audience}")
                .unwrap(),
            "worker:w0rker@zeebe-api"
        );
        assert!(m
            .text("{kafka-tenant}")
            .unwrap_err()
            .contains("gateway.tenants"));
        for (var, _, _) in SETUP_VARIABLES {
            assert!(
                VARIABLES.iter().any(|(v, _)| v == var),
                "{var} is not in VARIABLES"
            );
        }
    }

    #[test]
    fn a_self_signed_served_certificate_is_its_own_ca() {
        let r = report(
            "area: zeebe-client\ntitle: t\nreported-error: x\nsetup:\n  gateway: {env: {ZEEBE_GATEWAY_SECURITY_CERTIFICATECHAINPATH: self.pem}}\n  client: {kind: zbctl}\ngenerate:\n  self: {sans: [localhost]}\n",
        );
        let m = Material::of(&r, Path::new("report.yaml")).unwrap();
        assert_eq!(
            m.vars.get("server-ca").map(String::as_str),
            Some("self.pem"),
            "{m:?}"
        );
    }
}
