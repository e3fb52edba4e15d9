//! A per-run cache of what a documented openssl recipe produced. The first
//! case with a given recipe input runs the real `openssl` commands in a fresh
//! private directory; the files they leave (with their modes: keys 0600) are
//! kept in memory for the rest of the process, and every case with the same
//! input gets exact copies of them in its own directory. The certificates are
//! still made by real openssl; a case only skips making them again.
//!
//! The key is the recipe's whole input: which recipe, its parameters, the
//! `openssl` binary that runs it. Two cases share files only when the
//! commands they would run are the same commands.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::OnceCell;

use crate::error::HarnessError;

/// One file a recipe made.
#[derive(Debug, Clone)]
struct Made {
    name: String,
    bytes: Vec<u8>,
    mode: u32,
}

type Slot = Arc<OnceCell<Arc<Vec<Made>>>>;

fn slots() -> &'static Mutex<HashMap<String, Slot>> {
    static SLOTS: OnceLock<Mutex<HashMap<String, Slot>>> = OnceLock::new();
    SLOTS.get_or_init(Default::default)
}

/// How many recipe inputs this process has cached (for tests and `bench`).
pub fn cached_inputs() -> usize {
    slots()
        .lock()
        .map(|s| s.values().filter(|c| c.initialized()).count())
        .unwrap_or(0)
}

/// Puts the files of the recipe whose whole input is `key` into `dir`: made
/// by `make` (given a fresh private directory to run the commands in) the
/// first time this process sees `key`, copied from memory after that. Cases
/// with the same key at the same time wait for the one that makes them. A
/// failed `make` is not cached: its error goes to its case, and the next case
/// tries again.
pub async fn materialize<F, Fut>(key: String, dir: &Path, make: F) -> Result<(), HarnessError>
where
    F: FnOnce(PathBuf) -> Fut,
    Fut: Future<Output = Result<(), HarnessError>>,
{
    let slot = {
        let mut slots = slots().lock().unwrap_or_else(|p| p.into_inner());
        slots.entry(key).or_default().clone()
    };
    let files = slot
        .get_or_try_init(|| async {
            let scratch = tempfile::Builder::new()
                .prefix(&format!("tlsmatrix-{}-recipe-", std::process::id()))
                .tempdir()
                .map_err(|e| HarnessError::write(std::env::temp_dir(), e))?;
            make(scratch.path().to_path_buf()).await?;
            read_made(scratch.path()).map(Arc::new)
        })
        .await?;
    for file in files.iter() {
        super::write_file(&dir.join(&file.name), &file.bytes, file.mode)?;
    }
    Ok(())
}

/// Every regular file a recipe left in `dir`, with its permission bits.
fn read_made(dir: &Path) -> Result<Vec<Made>, HarnessError> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| HarnessError::read(dir, e))? {
        let path = entry.map_err(|e| HarnessError::read(dir, e))?.path();
        let meta = path
            .symlink_metadata()
            .map_err(|e| HarnessError::read(&path, e))?;
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        out.push(Made {
            name: name.to_string(),
            bytes: std::fs::read(&path).map_err(|e| HarnessError::read(&path, e))?,
            mode: meta.permissions().mode() & 0o777,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn same_input_makes_once_and_copies_files_and_modes() {
        static RUNS: AtomicUsize = AtomicUsize::new(0);
        let make = |scratch: PathBuf| async move {
            RUNS.fetch_add(1, Ordering::SeqCst);
            crate::pki::write_file(&scratch.join("a.key"), b"secret", 0o600)?;
            crate::pki::write_file(&scratch.join("a.pem"), b"cert", 0o644)?;
            Ok(())
        };
        let key = "test: same_input_makes_once".to_string();
        let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        materialize(key.clone(), one.path(), make).await.unwrap();
        materialize(key, two.path(), make).await.unwrap();
        assert_eq!(RUNS.load(Ordering::SeqCst), 1, "made once, copied once");
        for dir in [one.path(), two.path()] {
            assert_eq!(std::fs::read(dir.join("a.key")).unwrap(), b"secret");
            let mode =
                |n: &str| std::fs::metadata(dir.join(n)).unwrap().permissions().mode() & 0o777;
            assert_eq!((mode("a.key"), mode("a.pem")), (0o600, 0o644));
        }
    }

    #[tokio::test]
    async fn a_failed_make_is_not_cached() {
        let dir = tempfile::tempdir().unwrap();
        let key = "test: a_failed_make_is_not_cached".to_string();
        let failed = materialize(key.clone(), dir.path(), |_| async {
            Err(HarnessError::run("openssl recipe", "failed on purpose"))
        })
        .await;
        assert!(failed.is_err());
        materialize(key, dir.path(), |s: PathBuf| async move {
            crate::pki::write_file(&s.join("made.pem"), b"x", 0o644)
        })
        .await
        .unwrap();
        assert!(dir.path().join("made.pem").is_file());
    }
}
