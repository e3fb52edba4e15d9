//! Launching a probe JVM one way for every Java peer: the checked `java`, the
//! class path of a probe's `target/` (`probe.jar` and `lib/*.jar`), the flags
//! of a short-lived JVM, and a class-data-sharing archive (AppCDS) of the
//! classes an earlier run of the same main class loaded.
//!
//! Why the archive: a Java case is mostly JVM start. Loading and verifying the
//! Zeebe client's, grpc-java's and Netty's classes from jars took about half of
//! the probe's CPU time (measured: 0.72 s → 0.39 s CPU per run with the
//! archive). The archive changes how classes are loaded, not which classes or
//! what they do, so a case observes the same client.
//!
//! How it is made: nothing to install. A run that finds no archive for its
//! main class (or one older than `probe.jar`) adds
//! `-XX:ArchiveClassesAtExit` with a temporary name; when that JVM has exited
//! by itself, [`JvmLaunch::finish`] renames the file into place, atomically,
//! so concurrent first runs race harmlessly (the last rename wins) and a JVM
//! killed mid-dump leaves nothing behind. Later runs map it with
//! `-XX:SharedArchiveFile`. The JVM checks the archive against the class path
//! itself and, should it not match, loads from the jars as before; the
//! `cds` log tags are off, so that fallback prints nothing a case would read.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::HarnessError;

/// A probe's build output: `harness/probes/<name>/target`.
#[derive(Debug, Clone)]
pub struct ProbeJar {
    target: PathBuf,
}

/// The arguments of one JVM run, and the archive it may leave behind.
#[derive(Debug)]
pub struct JvmLaunch {
    /// `java` itself.
    pub(crate) java: PathBuf,
    /// Everything after `java`, up to and including the main class.
    pub(crate) args: Vec<String>,
    /// `(temporary, final)` archive paths when this run writes the archive.
    dump: Option<(PathBuf, PathBuf)>,
}

/// Flags every probe JVM gets: C1 only and the serial collector (a run lasts
/// a second, not long enough for C2 or a concurrent collector to pay off),
/// and no `cds` logging on standard output.
const SHORT_LIVED: [&str; 3] = [
    "-XX:TieredStopAtLevel=1",
    "-XX:+UseSerialGC",
    "-Xlog:cds*=off",
];

impl ProbeJar {
    /// `harness/probes/<probe>/target`.
    pub fn new(probe: &str) -> Self {
        Self {
            target: Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("probes")
                .join(probe)
                .join("target"),
        }
    }

    /// A build output elsewhere than `probes/<probe>/target` (the
    /// netty-oracle of one release: `probes/java/target/oracle-<release>`).
    pub fn at(target: PathBuf) -> Self {
        Self { target }
    }

    /// The build directory.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// `probe.jar`.
    pub fn jar(&self) -> PathBuf {
        self.target.join("probe.jar")
    }

    /// Checks that `java` (17 or newer) and the built jar are there, or says
    /// how to get them.
    pub fn locate(&self, peer: &str, install: &str) -> Result<PathBuf, HarnessError> {
        let java = java(peer, install)?;
        if !self.jar().is_file() || !self.target.join("lib").is_dir() {
            return Err(HarnessError::PeerMissing {
                peer: peer.to_string(),
                detail: format!("{} is not built", self.jar().display()),
                install: install.to_string(),
            });
        }
        Ok(java)
    }

    /// `probe.jar:lib/*`.
    pub fn classpath(&self) -> String {
        format!(
            "{}:{}/*",
            self.jar().display(),
            self.target.join("lib").display()
        )
    }

    /// The archive of `main`'s classes, made by `java`.
    fn archive(&self, java: &Path, main: &str) -> PathBuf {
        use std::hash::{Hash, Hasher};
        // A different JVM rejects another's archive: one file per launcher.
        let mut h = std::collections::hash_map::DefaultHasher::new();
        java.hash(&mut h);
        let simple = main.rsplit('.').next().unwrap_or(main);
        self.target
            .join(format!("{simple}-{:016x}.jsa", h.finish()))
    }

    /// The command for `main` with the JVM `flags` (heap, system properties)
    /// before it; the caller appends the program's own arguments. A run
    /// without a current archive writes one; the caller reports the JVM's
    /// exit to [`JvmLaunch::finish`], which keeps it.
    pub fn launch(
        &self,
        peer: &str,
        install: &str,
        main: &str,
        flags: &[String],
    ) -> Result<JvmLaunch, HarnessError> {
        let java = self.locate(peer, install)?;
        let archive = self.archive(&java, main);
        let mut args: Vec<String> = SHORT_LIVED.iter().map(|s| s.to_string()).collect();
        let dump = if is_fresh(&archive, &self.jar()) {
            args.push(format!("-XX:SharedArchiveFile={}", archive.display()));
            None
        } else {
            static SEQ: AtomicU64 = AtomicU64::new(0);
            let tmp = archive.with_extension(format!(
                "{}-{}.tmp",
                std::process::id(),
                SEQ.fetch_add(1, Ordering::Relaxed)
            ));
            args.push(format!("-XX:ArchiveClassesAtExit={}", tmp.display()));
            Some((tmp, archive))
        };
        args.extend(flags.iter().cloned());
        args.extend(["-cp".to_string(), self.classpath(), main.to_string()]);
        Ok(JvmLaunch { java, args, dump })
    }
}

/// How to build the Kafka probes (`harness/probes/kafka-java`): the official
/// Java client's probe and the real broker share one jar.
pub const KAFKA_JAVA_INSTALL: &str =
    "bash ci/setup (or: bash harness/probes/kafka-java/build.sh; needs a JDK 17 and Maven)";

/// The Kafka probes' build.
pub fn kafka_java() -> ProbeJar {
    ProbeJar::new("kafka-java")
}

/// The JVM command for a main class of the Kafka probes' jar (`heap`:
/// `-Xmx…`), its home in `workdir`; see [`ProbeJar::launch`].
pub fn kafka_java_launch(
    peer: &str,
    main: &str,
    heap: &str,
    workdir: &Path,
) -> Result<JvmLaunch, HarnessError> {
    // The JVM takes its home from the password database, not $HOME.
    let flags = [format!("-Duser.home={}", workdir.display()), heap.into()];
    kafka_java().launch(peer, KAFKA_JAVA_INSTALL, main, &flags)
}

/// The `java` launcher (`$TLSMATRIX_JAVA`, else `PATH`), checked once to be a
/// JDK 17 or newer, as the probes and the oracle need.
pub fn java(peer: &str, install: &str) -> Result<PathBuf, HarnessError> {
    use std::sync::OnceLock;
    static CHECKED: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let checked = CHECKED.get_or_init(|| {
        let java = super::tools::JAVA.find().ok_or(super::tools::JAVA.looked)?;
        let out = std::process::Command::new(&java)
            .arg("-version")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("{} -version failed: {e}", java.display()))?;
        let text = String::from_utf8_lossy(&out.stderr);
        let version = text.split('"').nth(1).unwrap_or_default().to_string();
        let major: u32 = match version.split('.').collect::<Vec<_>>().as_slice() {
            ["1", minor, ..] => minor.parse().unwrap_or(0),
            [major, ..] => major.parse().unwrap_or(0),
            _ => 0,
        };
        if major < 17 {
            return Err(format!(
                "java {version:?} at {} is too old: the probes need a JDK 17 or newer",
                java.display()
            ));
        }
        Ok(java)
    });
    checked.clone().map_err(|detail| HarnessError::PeerMissing {
        peer: peer.to_string(),
        detail,
        install: install.to_string(),
    })
}

/// True when `archive` exists and is no older than `jar`.
fn is_fresh(archive: &Path, jar: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    match (modified(archive), modified(jar)) {
        (Some(a), Some(j)) => a >= j,
        _ => false,
    }
}

/// Extra time a JVM that writes its archive gets before its run's deadline
/// kills it: the dump comes after the program's own output (a 25 MB archive
/// took over 5 s on a loaded machine, measured) and changes nothing the case
/// observes, but a kill in the middle would lose the run's result.
pub const ARCHIVE_DUMP_ALLOWANCE: std::time::Duration = std::time::Duration::from_secs(30);

impl JvmLaunch {
    /// The extra time this run needs on top of its deadline:
    /// [`ARCHIVE_DUMP_ALLOWANCE`] when it writes the archive, else none.
    pub fn dump_allowance(&self) -> std::time::Duration {
        match self.dump {
            Some(_) => ARCHIVE_DUMP_ALLOWANCE,
            None => std::time::Duration::ZERO,
        }
    }

    /// After the JVM is gone: keeps the archive it wrote when it exited by
    /// itself (`exit_code` is `Some`), else removes the partial file.
    pub fn finish(&self, exit_code: Option<i32>) {
        let Some((tmp, archive)) = &self.dump else {
            return;
        };
        let written = std::fs::metadata(tmp).is_ok_and(|m| m.len() > 0);
        if exit_code.is_some() && written {
            // Losing a race to another first run is fine: theirs is as good.
            let _ = std::fs::rename(tmp, archive);
        } else {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

impl Drop for JvmLaunch {
    /// A launch dropped without [`Self::finish`] (its JVM killed with the
    /// case) leaves no partial archive.
    fn drop(&mut self) {
        if let Some((tmp, _)) = &self.dump {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_archive_older_than_its_jar_is_stale() {
        let dir = tempfile::tempdir().expect("temp dir");
        let jar = dir.path().join("probe.jar");
        let archive = dir.path().join("Main-0.jsa");
        assert!(!is_fresh(&archive, &jar), "neither exists");
        std::fs::write(&archive, b"archive").expect("write");
        std::fs::write(&jar, b"jar").expect("write");
        let older = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        std::fs::File::options()
            .write(true)
            .open(&archive)
            .and_then(|f| f.set_modified(older))
            .expect("set mtime");
        assert!(!is_fresh(&archive, &jar), "the jar was rebuilt after it");
        std::fs::File::options()
            .write(true)
            .open(&jar)
            .and_then(|f| f.set_modified(older - std::time::Duration::from_secs(60)))
            .expect("set mtime");
        assert!(is_fresh(&archive, &jar));
    }

    #[test]
    fn a_dump_is_kept_only_when_the_jvm_exited_by_itself() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (tmp, archive) = (dir.path().join("a.tmp"), dir.path().join("a.jsa"));
        let launch = |dump| JvmLaunch {
            java: PathBuf::from("java"),
            args: Vec::new(),
            dump,
        };
        std::fs::write(&tmp, b"partial").expect("write");
        launch(Some((tmp.clone(), archive.clone()))).finish(None);
        assert!(
            !tmp.exists() && !archive.exists(),
            "a killed JVM's file goes"
        );
        std::fs::write(&tmp, b"whole").expect("write");
        launch(Some((tmp.clone(), archive.clone()))).finish(Some(1));
        assert!(!tmp.exists());
        assert_eq!(std::fs::read(&archive).expect("kept"), b"whole");
    }
}
