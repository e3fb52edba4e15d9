//! Writing a built [`Pki`] to disk: certificates world-readable, keys 0600.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::Pki;
use crate::error::HarnessError;

/// The files a [`Pki`] was written to.
#[derive(Debug, Clone, Default)]
pub struct Materialized {
    dir: PathBuf,
    files: BTreeMap<String, Vec<String>>,
}

impl Materialized {
    /// The directory the files live in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `<name>.pem`, the certificate alone.
    pub fn cert(&self, name: &str) -> Option<PathBuf> {
        self.existing(name, format!("{name}.pem"))
    }

    /// `<name>.key`, the private key (mode 0600).
    pub fn key(&self, name: &str) -> Option<PathBuf> {
        self.existing(name, format!("{name}.key"))
    }

    /// `<name>-chain.pem`, the leaf and its issuers per its chain shape.
    pub fn chain(&self, name: &str) -> Option<PathBuf> {
        self.existing(name, format!("{name}-chain.pem"))
    }

    /// Every file written, by certificate name.
    pub fn files(&self) -> &BTreeMap<String, Vec<String>> {
        &self.files
    }

    /// Records a file written for the certificate `name` after [`Pki::write_to`].
    pub(crate) fn record(&mut self, name: &str, file: String) {
        self.files.entry(name.to_string()).or_default().push(file);
    }

    fn existing(&self, name: &str, file: String) -> Option<PathBuf> {
        self.files
            .get(name)
            .filter(|files| files.contains(&file))
            .map(|_| self.dir.join(file))
    }
}

impl Pki {
    /// Writes every certificate's PEM files: `<name>.pem`, `<name>.key` and,
    /// for a certificate with an issuer, `<name>-chain.pem`; or the files its
    /// `files:` names (keystores are written by [`Pki::write_keystores`]).
    pub fn write_to(&self, dir: &Path) -> Result<Materialized, HarnessError> {
        let mut files = BTreeMap::new();
        for issued in self.iter() {
            let name = &issued.name;
            let pem = issued.spec.pem_files(name);
            let mut written = Vec::new();
            if let Some(cert_file) = pem.cert {
                write_file(&dir.join(&cert_file), issued.cert_pem().as_bytes(), 0o644)?;
                written.push(cert_file);
            }
            if let Some(key_file) = pem.key {
                write_file(&dir.join(&key_file), issued.key_pem()?.as_bytes(), 0o600)?;
                written.push(key_file);
            }
            if let Some(chain_file) = pem.chain {
                let chain: String = self.chain(name).iter().map(|c| c.cert_pem()).collect();
                write_file(&dir.join(&chain_file), chain.as_bytes(), 0o644)?;
                written.push(chain_file);
            }
            if let Some(ca_file) = pem.ca {
                let root = self.root_of(name).map(|r| r.cert_pem()).unwrap_or_default();
                write_file(&dir.join(&ca_file), root.as_bytes(), 0o644)?;
                written.push(ca_file);
            }
            files.insert(name.clone(), written);
        }
        Ok(Materialized {
            dir: dir.to_path_buf(),
            files,
        })
    }
}

/// Creates (or truncates) `path` with `mode` set at creation, so a key is never
/// readable by others, not even for a moment.
pub(crate) fn write_file(path: &Path, contents: &[u8], mode: u32) -> Result<(), HarnessError> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .map_err(|e| HarnessError::write(path, e))?;
    file.write_all(contents)
        .map_err(|e| HarnessError::write(path, e))
}
