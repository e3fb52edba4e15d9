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
            // A certificate's name becomes file names: inside `dir` only.
            let at = |file: &str| crate::confine::inside(dir, file, "pki", name);
            let pem = issued.spec.pem_files(name);
            let mut written = Vec::new();
            if let Some(cert_file) = pem.cert {
                write_file(&at(&cert_file)?, issued.cert_pem().as_bytes(), 0o644)?;
                written.push(cert_file);
            }
            if let Some(key_file) = pem.key {
                write_file(&at(&key_file)?, issued.key_pem()?.as_bytes(), 0o600)?;
                written.push(key_file);
            }
            if let Some(chain_file) = pem.chain {
                let chain: String = self.chain(name).iter().map(|c| c.cert_pem()).collect();
                write_file(&at(&chain_file)?, chain.as_bytes(), 0o644)?;
                written.push(chain_file);
            }
            if let Some(ca_file) = pem.ca {
                let root = self.root_of(name).map(|r| r.cert_pem()).unwrap_or_default();
                write_file(&at(&ca_file)?, root.as_bytes(), 0o644)?;
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

/// Writes `path` with `mode` without ever truncating a file in place: the
/// contents go to a fresh file in the same directory (created with
/// `O_CREAT|O_EXCL|O_NOFOLLOW` and `mode`, so a key is never readable by
/// others, not even for a moment, and no link is followed), which is then
/// renamed over `path` atomically. An existing `path` (a file of another mode,
/// a symbolic link) is replaced, never written through.
pub(crate) fn write_file(path: &Path, contents: &[u8], mode: u32) -> Result<(), HarnessError> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| {
            HarnessError::write(
                path,
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"),
            )
        })?;
    let (temp, mut file) = loop {
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let temp = dir.join(format!(".{name}.tlsmatrix-{}-{n}.part", std::process::id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&temp)
        {
            Ok(file) => break (temp, file),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(HarnessError::write(path, e)),
        }
    };
    let written = file
        .write_all(contents)
        .and_then(|()| std::fs::rename(&temp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(HarnessError::write(path, e));
    }
    Ok(())
}
