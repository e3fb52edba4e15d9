//! PKCS#12 and JKS keystores and truststores, made by the tools users make
//! them with: `openssl pkcs12 -export` for a PKCS#12 keystore, the JDK's
//! `keytool` for JKS (converted from that PKCS#12) and for truststores
//! (`-importcert`, so Java sees a trusted certificate entry). Passwords reach
//! the tools through environment variables, never the command line. The
//! tools work in a private temporary directory inside the case directory;
//! the store is then written with the same 0600 writer as every key file.

use std::path::Path;
use std::time::Duration;

use super::spec::{Store, StoreType};
use super::{Materialized, Pki};
use crate::config::EnvMap;
use crate::error::HarnessError;
use crate::process::{self, tools};

/// How long one openssl or keytool run may take (keytool is a JVM).
const TOOL_DEADLINE: Duration = Duration::from_secs(60);

impl Pki {
    /// Writes every keystore and truststore the set's `files:` entries name
    /// into `dir`, recording them in `written`.
    pub async fn write_keystores(
        &self,
        dir: &Path,
        written: &mut Materialized,
    ) -> Result<(), HarnessError> {
        for issued in self.iter() {
            let Some(files) = &issued.spec.files else {
                continue;
            };
            if files.keystores.is_empty() && files.truststores.is_empty() {
                continue;
            }
            let name = &issued.name;
            let work = tempfile::Builder::new()
                .prefix(".keystore-")
                .tempdir_in(dir)
                .map_err(|e| HarnessError::write(dir, e))?;
            let chain: String = self.chain(name).iter().map(|c| c.cert_pem()).collect();
            super::write_file(
                &work.path().join("cert.pem"),
                issued.cert_pem().as_bytes(),
                0o644,
            )?;
            super::write_file(&work.path().join("chain.pem"), chain.as_bytes(), 0o644)?;
            if !files.keystores.is_empty() {
                super::write_file(
                    &work.path().join("key.pem"),
                    issued.key_pem()?.as_bytes(),
                    0o600,
                )?;
            }
            for store in &files.keystores {
                check_passwords(name, store)?;
                let bytes = keystore(name, store, work.path()).await?;
                super::write_file(
                    &crate::confine::inside(dir, &store.file, "pki", name)?,
                    &bytes,
                    0o600,
                )?;
                written.record(name, store.file.clone());
            }
            for store in &files.truststores {
                if store.key_password.is_some() {
                    return Err(invalid(
                        name,
                        "truststores.key-password",
                        "a truststore holds no key",
                        "remove key-password",
                    ));
                }
                let bytes = truststore(name, store, work.path()).await?;
                super::write_file(
                    &crate::confine::inside(dir, &store.file, "pki", name)?,
                    &bytes,
                    0o644,
                )?;
                written.record(name, store.file.clone());
            }
        }
        Ok(())
    }
}

fn invalid(name: &str, key: &str, problem: &str, fix: &str) -> HarnessError {
    HarnessError::invalid("pki", format!("{name}.files.{key}"), problem, fix)
}

fn check_passwords(name: &str, store: &Store) -> Result<(), HarnessError> {
    if store.store_password.chars().count() < 6 {
        // keytool refuses shorter ones ("Password is too short - must be at least 6 characters").
        return Err(invalid(
            name,
            "keystores.store-password",
            "keytool needs at least 6 characters",
            "use a longer password (changeit is the JDK's default)",
        ));
    }
    match (&store.key_password, store.kind) {
        (Some(k), StoreType::Pkcs12) if *k != store.store_password => Err(invalid(
            name,
            "keystores.key-password",
            "a PKCS#12 store from openssl or keytool protects the key with the store password",
            "leave key-password out (or equal to store-password), or use type: jks",
        )),
        (Some(k), StoreType::Jks) if k.chars().count() < 6 => Err(invalid(
            name,
            "keystores.key-password",
            "keytool needs at least 6 characters",
            "use a longer password",
        )),
        _ => Ok(()),
    }
}

/// Runs a tool in `work`, the passwords in the environment.
async fn run(
    program: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    work: &Path,
    what: &str,
) -> Result<(), HarnessError> {
    let env: EnvMap = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain(std::env::var("PATH").map(|p| ("PATH".to_string(), p)))
        .collect();
    let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    if program.file_name().is_some_and(|n| n == "keytool") {
        // A short-lived JVM, as the probes run theirs.
        args.extend([
            "-J-XX:TieredStopAtLevel=1".into(),
            "-J-XX:+UseSerialGC".into(),
        ]);
    }
    let out = process::run(program, &args, &env, work, TOOL_DEADLINE).await?;
    if out.exit_code != Some(0) {
        return Err(HarnessError::run(
            what,
            format!(
                "{} {} failed (exit {:?}): {}",
                program.display(),
                args.join(" "),
                out.exit_code,
                out.stderr.trim()
            ),
        ));
    }
    Ok(())
}

async fn keystore(name: &str, store: &Store, work: &Path) -> Result<Vec<u8>, HarnessError> {
    let alias = store.alias.as_deref().unwrap_or(name);
    let what = format!("pki: {name}.files.keystores");
    let openssl = tools::OPENSSL.locate()?;
    let pass = [("TLSMATRIX_STORE_PASS", store.store_password.as_str())];
    run(
        &openssl,
        &[
            "pkcs12",
            "-export",
            "-in",
            "chain.pem",
            "-inkey",
            "key.pem",
            "-name",
            alias,
            "-out",
            "store.p12",
            "-passout",
            "env:TLSMATRIX_STORE_PASS",
        ],
        &pass,
        work,
        &what,
    )
    .await?;
    let out = match store.kind {
        StoreType::Pkcs12 => "store.p12",
        StoreType::Jks => {
            let keytool = tools::KEYTOOL.locate()?;
            let key_pass = store
                .key_password
                .as_deref()
                .unwrap_or(&store.store_password);
            run(
                &keytool,
                &[
                    "-importkeystore",
                    "-noprompt",
                    "-srckeystore",
                    "store.p12",
                    "-srcstoretype",
                    "PKCS12",
                    "-srcstorepass:env",
                    "TLSMATRIX_STORE_PASS",
                    "-srcalias",
                    alias,
                    "-destkeystore",
                    "store.jks",
                    "-deststoretype",
                    "JKS",
                    "-deststorepass:env",
                    "TLSMATRIX_STORE_PASS",
                    "-destkeypass:env",
                    "TLSMATRIX_KEY_PASS",
                    "-destalias",
                    alias,
                ],
                &[
                    ("TLSMATRIX_STORE_PASS", store.store_password.as_str()),
                    ("TLSMATRIX_KEY_PASS", key_pass),
                ],
                work,
                &what,
            )
            .await?;
            "store.jks"
        }
    };
    let bytes = std::fs::read(work.join(out)).map_err(|e| HarnessError::read(work.join(out), e));
    // The next store of the same certificate starts from nothing.
    for made in ["store.p12", "store.jks"] {
        let _ = std::fs::remove_file(work.join(made));
    }
    bytes
}

async fn truststore(name: &str, store: &Store, work: &Path) -> Result<Vec<u8>, HarnessError> {
    check_passwords(name, store)?;
    let alias = store.alias.as_deref().unwrap_or(name);
    let keytool = tools::KEYTOOL.locate()?;
    let kind = match store.kind {
        StoreType::Pkcs12 => "PKCS12",
        StoreType::Jks => "JKS",
    };
    run(
        &keytool,
        &[
            "-importcert",
            "-noprompt",
            "-alias",
            alias,
            "-file",
            "cert.pem",
            "-keystore",
            "trust.store",
            "-storetype",
            kind,
            "-storepass:env",
            "TLSMATRIX_STORE_PASS",
        ],
        &[("TLSMATRIX_STORE_PASS", store.store_password.as_str())],
        work,
        &format!("pki: {name}.files.truststores"),
    )
    .await?;
    let bytes = std::fs::read(work.join("trust.store"))
        .map_err(|e| HarnessError::read(work.join("trust.store"), e));
    let _ = std::fs::remove_file(work.join("trust.store"));
    bytes
}
