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

/// One store made for a certificate of a set: the certificate's name, the
/// store's file (relative to the case directory), its bytes and mode.
#[derive(Debug, Clone)]
pub(crate) struct MadeStore {
    name: String,
    file: String,
    bytes: Vec<u8>,
    mode: u32,
}

impl Pki {
    /// Writes every keystore and truststore the set's `files:` entries name
    /// into `dir`, recording them in `written`.
    pub async fn write_keystores(
        &self,
        dir: &Path,
        written: &mut Materialized,
    ) -> Result<(), HarnessError> {
        let made = self.make_stores(dir).await?;
        place_stores(dir, &made, written)
    }

    /// Makes every keystore and truststore the set's `files:` entries name,
    /// with the real tools working in private directories inside `dir`.
    pub(crate) async fn make_stores(&self, dir: &Path) -> Result<Vec<MadeStore>, HarnessError> {
        let mut made = Vec::new();
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
                let mut bytes = keystore(name, store, work.path()).await?;
                if !store.then.is_empty() {
                    bytes = self.append_entries(name, store, bytes, work.path()).await?;
                }
                made.push(MadeStore {
                    name: name.clone(),
                    file: store.file.clone(),
                    bytes,
                    mode: 0o600,
                });
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
                made.push(MadeStore {
                    name: name.clone(),
                    file: store.file.clone(),
                    bytes,
                    mode: 0o644,
                });
            }
        }
        Ok(made)
    }
}

/// Writes stores made by [`Pki::make_stores`] into `dir` (keystores 0600,
/// truststores 0644), recording them in `written`.
pub(crate) fn place_stores(
    dir: &Path,
    made: &[MadeStore],
    written: &mut Materialized,
) -> Result<(), HarnessError> {
    for store in made {
        super::write_file(
            &crate::confine::inside(dir, &store.file, "pki", &store.name)?,
            &store.bytes,
            store.mode,
        )?;
        written.record(&store.name, store.file.clone());
    }
    Ok(())
}

impl Pki {
    /// Adds the key entries `store.then` names to a PKCS#12 store, each with
    /// `keytool -importkeystore` from a one-entry store of its own, in order.
    async fn append_entries(
        &self,
        name: &str,
        store: &Store,
        bytes: Vec<u8>,
        work: &Path,
    ) -> Result<Vec<u8>, HarnessError> {
        if store.kind != StoreType::Pkcs12 {
            return Err(invalid(
                name,
                "keystores.then",
                "more entries are written to PKCS#12 keystores only",
                "use type: pkcs12, or drop then",
            ));
        }
        let merged = work.join("merged.p12");
        super::write_file(&merged, &bytes, 0o600)?;
        let keytool = tools::KEYTOOL.locate()?;
        for other in &store.then {
            let Some(issued) = self.get(other) else {
                return Err(invalid(
                    name,
                    "keystores.then",
                    &format!("{other:?} is not a certificate of this set"),
                    "name a certificate defined under pki:",
                ));
            };
            let chain: String = self.chain(other).iter().map(|c| c.cert_pem()).collect();
            let entry = work.join(".entry");
            std::fs::create_dir_all(&entry).map_err(|e| HarnessError::write(&entry, e))?;
            super::write_file(&entry.join("chain.pem"), chain.as_bytes(), 0o644)?;
            super::write_file(&entry.join("key.pem"), issued.key_pem()?.as_bytes(), 0o600)?;
            let single = Store {
                alias: Some(other.clone()),
                then: Vec::new(),
                ..store.clone()
            };
            let one = keystore(other, &single, &entry).await?;
            super::write_file(&entry.join("entry.p12"), &one, 0o600)?;
            run(
                &keytool,
                &[
                    "-importkeystore",
                    "-noprompt",
                    "-srckeystore",
                    ".entry/entry.p12",
                    "-srcstoretype",
                    "PKCS12",
                    "-srcstorepass:env",
                    "TLSMATRIX_STORE_PASS",
                    "-destkeystore",
                    "merged.p12",
                    "-deststoretype",
                    "PKCS12",
                    "-deststorepass:env",
                    "TLSMATRIX_STORE_PASS",
                ],
                &[("TLSMATRIX_STORE_PASS", store.store_password.as_str())],
                work,
                &format!("pki: {name}.files.keystores.then ({other})"),
            )
            .await?;
            let _ = std::fs::remove_dir_all(&entry);
        }
        let bytes = std::fs::read(&merged).map_err(|e| HarnessError::read(&merged, e));
        let _ = std::fs::remove_file(&merged);
        bytes
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
        return Err(HarnessError::start_failed(
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

/// The sentence both Zeebe 8.6 callers of `TlsConfigUtil` wrap a keystore
/// failure in (`Gateway.setSecurityConfig`, `NettyMessagingService.loadServerSslContext`).
pub const KEYSTORE_WRAPPER: &str =
    "Failed to start messaging service; invalid server TLS configuration";

/// What a Zeebe node serves from a PKCS#12 keystore: the key of the store's
/// first alias and that entry's chain, as `TlsConfigUtil` in Zeebe 8.6 takes
/// them (`keyStore.aliases().nextElement()`; the docs ask for one entry only).
#[derive(Debug)]
pub struct KeyStoreIdentity {
    /// The first entry's certificate and the store's certificates that chain
    /// from it by issuer, leaf first.
    pub(crate) chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    /// The first entry's private key.
    pub(crate) key: rustls::pki_types::PrivateKeyDer<'static>,
    /// How many key entries the store holds.
    pub(crate) entries: usize,
}

impl KeyStoreIdentity {
    /// How many key entries the store holds.
    pub fn entries(&self) -> usize {
        self.entries
    }
}

/// Reads a PKCS#12 keystore as a Zeebe node does, with `openssl pkcs12`
/// (the tool that made it; the password through the environment). A store
/// that does not open with the password (none: empty, as Zeebe sanitises it)
/// is refused with the product's words, naming the file: Zeebe 8.6's
/// `TlsConfigUtil` wraps the JDK's `KeyStore.load` failure in "Keystore
/// failed to load file", and both callers (the gateway's gRPC server and the
/// cluster transport) wrap that in "Failed to start messaging service;
/// invalid server TLS configuration" (sources: [`crate::version::KEYSTORE_SINCE`]).
/// A wrong password is the JDK's `java.io.IOException: keystore password was
/// incorrect` (measured with OpenJDK 17 on a store from `openssl pkcs12
/// -export`, where openssl says "Mac verify error").
pub async fn read_pkcs12(
    path: &Path,
    password: Option<&str>,
) -> Result<KeyStoreIdentity, HarnessError> {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let openssl = tools::OPENSSL.locate()?;
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let env: EnvMap = [(
        "TLSMATRIX_STORE_PASS".to_string(),
        password.unwrap_or_default().to_string(),
    )]
    .into_iter()
    .chain(std::env::var("PATH").map(|p| ("PATH".to_string(), p)))
    .collect();
    let args: Vec<String> = [
        "pkcs12",
        "-in",
        &path.display().to_string(),
        "-nodes",
        "-passin",
        "env:TLSMATRIX_STORE_PASS",
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    let out = process::run(&openssl, &args, &env, dir, TOOL_DEADLINE).await?;
    let refused = |detail: &str| {
        HarnessError::material(
            path,
            format!(
                "{KEYSTORE_WRAPPER}; caused by: java.lang.IllegalStateException: Keystore failed to load file: {}, please ensure it is a valid PKCS12 keystore; caused by: {detail}",
                path.display()
            ),
            format!(
                "check the store and its password with: openssl pkcs12 -in {} -noout",
                path.display()
            ),
        )
    };
    if out.exit_code != Some(0) {
        let first = out
            .stderr
            .lines()
            .next()
            .unwrap_or("openssl could not open it")
            .trim()
            .to_string();
        let detail = if first.starts_with("Mac verify error") {
            // openssl's "Mac verify error: invalid password?"; the JDK's words.
            "java.io.IOException: keystore password was incorrect".to_string()
        } else {
            format!("(openssl pkcs12: {first})")
        };
        return Err(refused(&detail));
    }
    let (keys, certs) = bags(&out.stdout);
    let Some((id, key)) = keys.first().cloned() else {
        return Err(refused("it holds no private key entry"));
    };
    let Some(leaf) = certs.iter().find(|(c, _)| !id.is_empty() && *c == id) else {
        return Err(refused("its first key has no certificate"));
    };
    let chain = jdk_chain(&leaf.1, &certs);
    Ok(KeyStoreIdentity {
        chain: chain.into_iter().map(CertificateDer::from).collect(),
        key: PrivateKeyDer::Pkcs8(key.into()),
        entries: keys.len(),
    })
}

/// DER blocks of one kind, each with its bag's `localKeyID` (empty when it
/// has none), in file order.
type Bags = Vec<(String, Vec<u8>)>;

/// The private keys and the certificates `openssl pkcs12 -nodes` printed.
fn bags(stdout: &str) -> (Bags, Bags) {
    // openssl prints each bag in file order: its attributes (localKeyID),
    // then the PEM block.
    let mut key_id = String::new();
    let mut keys: Vec<(String, Vec<u8>)> = Vec::new();
    let mut certs: Vec<(String, Vec<u8>)> = Vec::new();
    let mut block: Option<String> = None;
    for line in stdout.lines() {
        if let Some(text) = block.as_mut() {
            text.push_str(line);
            text.push('\n');
            if line.starts_with("-----END ") {
                let text = block.take().unwrap_or_default();
                for pem in pem::parse_many(text.as_bytes()).unwrap_or_default() {
                    match pem.tag() {
                        "PRIVATE KEY" => keys.push((key_id.clone(), pem.contents().to_vec())),
                        "CERTIFICATE" => certs.push((key_id.clone(), pem.contents().to_vec())),
                        _ => {}
                    }
                }
            }
        } else if line.starts_with("Bag Attributes") {
            key_id.clear();
        } else if let Some(id) = line.trim().strip_prefix("localKeyID:") {
            key_id = id.trim().to_string();
        } else if line.starts_with("-----BEGIN ") {
            block = Some(format!("{line}\n"));
        }
    }
    (keys, certs)
}

/// The chain the JDK builds for an entry from the store's certificates, by
/// issuer: the leaf, then each issuer found among `certs`, up to a
/// self-signed one (at most 11 certificates).
fn jdk_chain(leaf: &[u8], certs: &Bags) -> Vec<Vec<u8>> {
    let names = |der: &[u8]| {
        x509_parser::parse_x509_certificate(der)
            .map(|(_, c)| {
                (
                    c.tbs_certificate.subject.as_raw().to_vec(),
                    c.tbs_certificate.issuer.as_raw().to_vec(),
                )
            })
            .ok()
    };
    // The JDK builds an entry's chain from the store's certificates by issuer.
    let mut chain = vec![leaf.to_vec()];
    while let Some((subject, issuer)) = chain.last().and_then(|c| names(c)) {
        if subject == issuer || chain.len() > 10 {
            break;
        }
        let Some(next) = certs
            .iter()
            .map(|(_, der)| der)
            .find(|der| names(der).is_some_and(|(s, _)| s == issuer) && !chain.contains(der))
        else {
            break;
        };
        chain.push(next.clone());
    }
    chain
}

/// Whether the JDK's `KeyStore.load(stream, password)` opens the store at
/// `path` with `password`, as the JVM does with `javax.net.ssl.trustStore`
/// and `javax.net.ssl.trustStorePassword`: `None` when it opens, else the
/// JDK's exception. The format is taken from the file, as JDK 17's
/// `keystore.type.compat` does (`0xFEEDFEED`: JKS, else PKCS#12), whatever
/// `javax.net.ssl.trustStoreType` says.
///
/// * JKS: the store ends with SHA-1 over the password (UTF-16BE), the words
///   "Mighty Aphrodite" and the store's bytes (`sun.security.provider.JavaKeyStore
///   .engineLoad`); a mismatch is `java.io.IOException: Keystore was
///   tampered with, or password was incorrect`.
/// * PKCS#12: `openssl pkcs12 -nokeys` with the password; its "Mac verify
///   error" is the JDK's `java.io.IOException: keystore password was
///   incorrect` (measured: OpenJDK 17 on a store from `keytool -importcert`,
///   `harness/tests/cluster_oracle.rs`).
pub async fn jdk_store_refusal(
    path: &Path,
    password: &str,
) -> Result<Option<String>, HarnessError> {
    let bytes = std::fs::read(path).map_err(|e| HarnessError::read(path, e))?;
    if bytes.starts_with(&[0xFE, 0xED, 0xFE, 0xED]) {
        const DIGEST: usize = 20;
        if bytes.len() < DIGEST {
            return Ok(Some("java.io.EOFException".to_string()));
        }
        let (body, stored) = bytes.split_at(bytes.len() - DIGEST);
        let mut context =
            aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY);
        let utf16: Vec<u8> = password.encode_utf16().flat_map(u16::to_be_bytes).collect();
        context.update(&utf16);
        context.update(b"Mighty Aphrodite");
        context.update(body);
        return Ok((context.finish().as_ref() != stored).then(|| {
            "java.io.IOException: Keystore was tampered with, or password was incorrect".to_string()
        }));
    }
    let openssl = tools::OPENSSL.locate()?;
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let env: EnvMap = [("TLSMATRIX_STORE_PASS".to_string(), password.to_string())]
        .into_iter()
        .chain(std::env::var("PATH").map(|p| ("PATH".to_string(), p)))
        .collect();
    let args: Vec<String> = [
        "pkcs12",
        "-in",
        &path.display().to_string(),
        "-nokeys",
        "-passin",
        "env:TLSMATRIX_STORE_PASS",
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    let out = process::run(&openssl, &args, &env, dir, TOOL_DEADLINE).await?;
    if out.exit_code == Some(0) {
        return Ok(None);
    }
    let first = out.stderr.lines().next().unwrap_or("").trim().to_string();
    Ok(Some(if first.starts_with("Mac verify error") {
        "java.io.IOException: keystore password was incorrect".to_string()
    } else {
        format!("java.io.IOException: (openssl pkcs12: {first})")
    }))
}
