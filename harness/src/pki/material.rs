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

    fn existing(&self, name: &str, file: String) -> Option<PathBuf> {
        self.files
            .get(name)
            .filter(|files| files.contains(&file))
            .map(|_| self.dir.join(file))
    }
}

impl Pki {
    /// Writes `<name>.pem` and `<name>.key` for every certificate and
    /// `<name>-chain.pem` for every certificate that has an issuer.
    pub fn write_to(&self, dir: &Path) -> Result<Materialized, HarnessError> {
        let mut files = BTreeMap::new();
        for issued in self.iter() {
            let name = &issued.name;
            let mut written = Vec::new();
            let cert_file = format!("{name}.pem");
            write_file(&dir.join(&cert_file), issued.cert_pem().as_bytes(), 0o644)?;
            written.push(cert_file);
            let key_file = format!("{name}.key");
            write_file(&dir.join(&key_file), issued.key_pem()?.as_bytes(), 0o600)?;
            written.push(key_file);
            if !issued.issuers.is_empty() {
                let chain: String = self.chain(name).iter().map(|c| c.cert_pem()).collect();
                let chain_file = format!("{name}-chain.pem");
                write_file(&dir.join(&chain_file), chain.as_bytes(), 0o644)?;
                written.push(chain_file);
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
