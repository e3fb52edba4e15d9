//! A per-run cache of certificate sets. Cases whose `pki:` sections are the
//! same spec get the same certificates and keys, made once per process by
//! rcgen, and the same keystores and truststores, made once by the real
//! `openssl` and `keytool` (the first case that needs them runs the tools in
//! its own directory; later cases get exact copies). Each case still gets its
//! own files in its own directory, keys 0600.
//!
//! Why this changes no answer: a case's certificates are a function of its
//! spec; which random key a certificate has, or which serial, is not part of
//! any case's meaning (snapshots redact what varies), and validity windows are
//! whole days relative to now. Nothing a peer keeps between cases is keyed by
//! a certificate: TLS session caches are keyed by host and port, and every
//! node of every case has a fresh port and a fresh session store.
//!
//! The key is the spec's whole serialized form. Only the engine's case runs
//! use the cache; `tlsmatrix certs`, reproductions and the library's
//! [`crate::pki::PkiSpec::build`] make fresh material each time. Under
//! nextest every test is a process of its own, so a case there always makes
//! its own set.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::OnceCell;

use super::keystore::{place_stores, MadeStore};
use super::{Materialized, Pki, PkiSpec};
use crate::error::HarnessError;

/// One spec's set: its certificates, and its stores once a case made them.
struct Set {
    pki: Pki,
    stores: OnceCell<Arc<Vec<MadeStore>>>,
}

fn sets() -> &'static Mutex<HashMap<String, Arc<Set>>> {
    static SETS: OnceLock<Mutex<HashMap<String, Arc<Set>>>> = OnceLock::new();
    SETS.get_or_init(Default::default)
}

/// How many specs this process has built a set for (for tests and `bench`).
pub fn cached_sets() -> usize {
    sets().lock().map(|s| s.len()).unwrap_or(0)
}

/// Writes the set `spec` describes into `dir` (certificates, keys, and the
/// keystores and truststores its `files:` entries name), from this process's
/// cache when a case with the same spec made it before. A spec that fails to
/// build or whose stores fail is not cached: its error goes to its case.
pub async fn materialize(spec: &PkiSpec, dir: &Path) -> Result<Materialized, HarnessError> {
    let key = serde_json::to_string(spec).map_err(|e| HarnessError::run("pki", e))?;
    let cached = sets()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&key)
        .cloned();
    let set = match cached {
        Some(set) => set,
        None => {
            // Built outside the lock: two cases with a new spec at the same
            // time may both build it; the first one stored is kept.
            let built = Arc::new(Set {
                pki: spec.build()?,
                stores: OnceCell::new(),
            });
            sets()
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(key)
                .or_insert(built)
                .clone()
        }
    };
    let mut written = set.pki.write_to(dir)?;
    let stores = set
        .stores
        .get_or_try_init(|| async { set.pki.make_stores(dir).await.map(Arc::new) })
        .await?;
    place_stores(dir, stores, &mut written)?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::CertSpec;

    #[tokio::test]
    async fn the_same_spec_gives_the_same_files_in_each_directory() {
        let spec = PkiSpec::new()
            .with("ca", CertSpec::root())
            .with("leaf", CertSpec::leaf("ca").with_sans(["set-cache.test"]));
        let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let a = materialize(&spec, one.path()).await.unwrap();
        let b = materialize(&spec, two.path()).await.unwrap();
        let read = |m: &Materialized, dir: &Path| {
            let chain = m.chain("leaf").unwrap();
            assert!(
                chain.starts_with(dir),
                "files are in the case's own directory"
            );
            std::fs::read(chain).unwrap()
        };
        assert_eq!(read(&a, one.path()), read(&b, two.path()));
        let other = PkiSpec::new().with("ca", CertSpec::root().with_validity_days(-1, 2));
        let three = tempfile::tempdir().unwrap();
        let c = materialize(&other, three.path()).await.unwrap();
        assert_ne!(
            std::fs::read(c.cert("ca").unwrap()).unwrap(),
            std::fs::read(a.cert("ca").unwrap()).unwrap(),
            "another spec is another set"
        );
    }
}
