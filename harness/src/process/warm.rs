//! Warm processes: a long-lived `--serve` process (a client probe, an
//! oracle) that serves one case at a time over a line protocol, kept in a
//! pool per kind so the next case reuses it. What a process serves and when
//! a case may use one is its caller's business (`peers::warm` for the client
//! probes, `nodes::oracle` for the netty-oracle); this module starts them,
//! waits for their ready line, mirrors a case directory into their working
//! directory and keeps them.
//!
//! A process started with `--serve` prints `{"ready":true}` once loaded, then
//! reads one JSON request per line on stdin. It ends when its stdin closes
//! (this process exiting closes it), is killed on drop, and is registered
//! with the child registry, so an interrupt reaps it.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use serde::Serialize;

use super::{forget_child, register_child};
use crate::error::HarnessError;

/// Processes of one pool busy at once: one per core (at least 2, at most
/// 8). A case whose kind has every process busy waits for one instead of
/// starting another: a warm case costs milliseconds to a second, a JVM's
/// start a second or two of CPU, and the runs are CPU-bound (measured: with
/// 8 per pool a default matrix started 4 Spring starter JVMs, 9 s of CPU, for
/// 17 cases).
fn process_limit() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8))
}

/// How long a case waits for a busy process of its kind (see
/// [`Pool::slot`]); the case's own bounds start after it.
const SLOT_WAIT: Duration = Duration::from_secs(300);

/// How long a case waits for a busy process of its kind to come free before
/// it starts another, below the pool's limit (see [`Pool::slot`]), until the
/// pool has timed a new process (its start and first case): then as long as
/// that took. A warm case takes milliseconds (a Spring starter case up to a
/// second); a second process costs its start, a second or two of CPU for a
/// JVM, and a run is CPU-bound: measured on 2 cores, the default matrix started two of
/// every warm JVM kind (two Spring starter JVMs: 5.8 s of CPU for 17 cases).
const START_PATIENCE: Duration = Duration::from_secs(1);

static DISABLED: AtomicBool = AtomicBool::new(false);

/// Cases served warm by this process so far.
static SERVED: AtomicU64 = AtomicU64::new(0);

/// How many cases this process has run in warm probes (the meta-test checks
/// that its warm pass really was warm).
pub fn served() -> u64 {
    SERVED.load(Ordering::SeqCst)
}

/// Turns warm peers off (`false`) or back on for this process; the
/// environment variable `TLSMATRIX_PEERS=cold` turns them off too. The
/// warm-vs-cold meta-test and `tlsmatrix bench` switch with it.
pub fn set_enabled(enabled: bool) {
    DISABLED.store(!enabled, Ordering::SeqCst);
}

/// True unless [`set_enabled`]`(false)` or `TLSMATRIX_PEERS=cold`.
pub fn enabled() -> bool {
    !DISABLED.load(Ordering::SeqCst)
        && std::env::var("TLSMATRIX_PEERS").map_or(true, |v| v != "cold")
}

/// Makes `cwd` (a warm process's working directory) hold a symbolic link to
/// each entry of the case directory `case`, by the same name, and nothing
/// else, so a path relative to the working directory names the case's file.
pub(crate) fn mirror_case_dir(cwd: &Path, case: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(cwd)? {
        let path = entry?.path();
        if std::fs::symlink_metadata(&path)?.is_dir() {
            std::fs::remove_dir_all(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    for entry in std::fs::read_dir(case)? {
        let entry = entry?;
        std::os::unix::fs::symlink(entry.path(), cwd.join(entry.file_name()))?;
    }
    Ok(())
}

/// One request of the line protocol.
#[derive(Serialize)]
pub(crate) struct Request<'a> {
    /// The one-shot process's own arguments.
    pub(crate) args: &'a [String],
    /// The case's environment.
    pub(crate) env: &'a BTreeMap<String, String>,
    /// The case directory.
    pub(crate) cwd: &'a Path,
    /// The case's home.
    pub(crate) home: &'a Path,
}

/// A running `--serve` process.
pub(crate) struct WarmProcess {
    child: Child,
    stdin: ChildStdin,
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
    /// Its ready line (a node's says where it listens).
    ready: String,
    /// When it last went back to its pool.
    returned: std::time::Instant,
    /// Its home (its log inside) and, in `cwd/`, its working directory;
    /// removed after it.
    _dir: tempfile::TempDir,
}

impl Drop for WarmProcess {
    /// Kills the process and waits for it (SIGKILL ends it at once).
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        forget_child(Some(self.child.id()));
    }
}

impl WarmProcess {
    /// Starts `program args --serve` with an empty environment but `HOME`, in
    /// a directory of its own, and waits (bounded) for its ready line.
    pub(crate) async fn start(
        peer: &str,
        program: &Path,
        args: &[String],
        ready_within: Duration,
    ) -> Result<Self, HarnessError> {
        // `tlsmatrix-<pid>-`: a process that ends with warm processes still
        // in its pools (they are statics, never dropped) leaves this behind,
        // and the next run's `engine::reap_stale_scratch_dirs` removes it.
        let prefix = format!("tlsmatrix-{}-warm-", std::process::id());
        let dir = tempfile::Builder::new()
            .prefix(&prefix)
            .tempdir()
            .map_err(|e| HarnessError::write(std::env::temp_dir(), e))?;
        let log = dir.path().join("stderr.log");
        let stderr = std::fs::File::create(&log).map_err(|e| HarnessError::write(&log, e))?;
        let cwd = dir.path().join("cwd");
        std::fs::create_dir(&cwd).map_err(|e| HarnessError::write(&cwd, e))?;
        let mut child = std::process::Command::new(program)
            .args(args)
            .arg("--serve")
            .env_clear()
            .env("HOME", dir.path())
            .current_dir(&cwd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|e| {
                HarnessError::start_failed(
                    program.display().to_string(),
                    format!("cannot start: {e}"),
                )
            })?;
        register_child(Some(child.id()));
        let (stdin, stdout) = match (child.stdin.take(), child.stdout.take()) {
            (Some(i), Some(o)) => (i, o),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                forget_child(Some(child.id()));
                return Err(HarnessError::start_failed(
                    peer,
                    "no pipes to the warm probe",
                ));
            }
        };
        // A plain thread reads the lines: the pool outlives any one tokio
        // runtime, and a channel can be awaited from whichever runs the case.
        let (tx, lines) = tokio::sync::mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut process = Self {
            child,
            stdin,
            lines,
            ready: String::new(),
            returned: std::time::Instant::now(),
            _dir: dir,
        };
        let began = std::time::Instant::now();
        let ready = process.next_line(ready_within).await;
        match ready {
            Some(line) if line.contains("\"ready\":true") => {
                tracing::debug!(peer, ready_after = ?began.elapsed(), "warm process ready");
                process.ready = line;
                Ok(process)
            }
            // The same words as a child node that is not ready
            // (`ChildProcess::start`).
            Some(line) => Err(HarnessError::protocol(
                peer,
                format!(
                    "unexpected readiness line: {line}; its last log lines:\n{}",
                    process.stderr_tail()
                ),
            )),
            None => {
                let tail = process.stderr_tail();
                Err(match process.child.try_wait().ok().flatten() {
                    Some(status) => HarnessError::start_failed(
                        peer,
                        format!(
                            "exited before it was ready ({status}); its last log lines:\n{tail}"
                        ),
                    ),
                    None => HarnessError::deadline(
                        peer,
                        format!("not ready within {ready_within:?}; its last log lines:\n{tail}"),
                    ),
                })
            }
        }
    }

    /// The next line, or `None` at end of output or after `within`.
    pub(crate) async fn next_line(&mut self, within: Duration) -> Option<String> {
        tokio::time::timeout(within, self.lines.recv())
            .await
            .ok()
            .flatten()
    }

    /// Whether the process has ended (it is reaped if so).
    pub(crate) fn has_exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// Its working directory (see [`mirror_case_dir`]).
    pub(crate) fn cwd(&self) -> PathBuf {
        self._dir.path().join("cwd")
    }

    /// Sends one request line.
    pub(crate) fn send(&mut self, line: &str) -> std::io::Result<()> {
        writeln!(self.stdin, "{line}").and_then(|()| self.stdin.flush())
    }

    /// Its ready line, as it printed it.
    pub(crate) fn ready_line(&self) -> &str {
        &self.ready
    }

    /// How many bytes of stderr it has written so far (a mark for
    /// [`WarmProcess::stderr_since`]).
    pub(crate) fn stderr_len(&self) -> u64 {
        std::fs::metadata(self._dir.path().join("stderr.log")).map_or(0, |m| m.len())
    }

    /// Its stderr from byte `mark` on (what it wrote since
    /// [`WarmProcess::stderr_len`] said `mark`).
    pub(crate) fn stderr_since(&self, mark: u64) -> String {
        use std::io::{Read, Seek, SeekFrom};
        let mut text = Vec::new();
        if let Ok(mut file) = std::fs::File::open(self._dir.path().join("stderr.log")) {
            if file.seek(SeekFrom::Start(mark)).is_ok() {
                let _ = file.read_to_end(&mut text);
            }
        }
        String::from_utf8_lossy(&text).into_owned()
    }

    /// The last lines of its stderr, for an error message.
    pub(crate) fn stderr_tail(&self) -> String {
        let text = std::fs::read_to_string(self._dir.path().join("stderr.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

/// The warm processes of one kind.
pub(crate) struct Pool {
    idle: Mutex<Vec<WarmProcess>>,
    /// How long a process may stay idle before it ends (`None`: until this
    /// process ends); see [`Pool::put_back`].
    idle_for: Option<Duration>,
    /// One per process that may be in use at once (see [`Pool::slot`]).
    slots: tokio::sync::Semaphore,
    /// How many slots there are.
    limit: usize,
    /// Told when a slot or a process comes free, or a process has started.
    freed: tokio::sync::Notify,
    /// Held while a case looks at the pool and takes a slot (see
    /// [`Pool::slot`]).
    deciding: Mutex<()>,
    /// Processes being started for a case (see [`Pool::take`]).
    starting_for_case: std::sync::atomic::AtomicUsize,
    /// How long the pool's last start and the first case of the started
    /// process took, in milliseconds (0: none yet).
    start_ms: AtomicU64,
    /// Cases this pool has served (a pool that has served one expects more:
    /// see [`Pool::start_spare`]).
    pub(crate) served: AtomicU64,
    /// A spare process is being started in the background.
    starting: AtomicBool,
    /// Told when a spare start ended (its process is idle, or it failed).
    spare_done: tokio::sync::Notify,
}

impl Pool {
    /// One of the pool's slots (see [`process_limit`]), held while a case
    /// uses a process of it: waits, at most [`SLOT_WAIT`], while every
    /// process is busy. Below the limit, a case that finds every process of
    /// the pool busy waits for one to come free before it takes a slot of
    /// its own (and with it starts a process): while one is starting and
    /// serving its first case (which loads the client, as the case's own
    /// process would), then as long as that took for the pool's last new
    /// process (waiting is then never longer than starting a process;
    /// [`START_PATIENCE`] before the first). The waits are not
    /// part of the case: its bounds start once it has its process, and which
    /// process serves a case does not change what it observes.
    pub(crate) async fn slot(&'static self, peer: &str) -> Result<Slot, HarnessError> {
        let patience_for = || match self.start_ms.load(Ordering::SeqCst) {
            0 => START_PATIENCE,
            ms => Duration::from_millis(ms),
        };
        let mut patience = tokio::time::Instant::now() + patience_for();
        let give_up = tokio::time::Instant::now() + SLOT_WAIT;
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            let starting = {
                // Look and take under one lock: two cases that come at once
                // to a pool with no process start one, not two.
                let _deciding = self
                    .deciding
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let idle = self.idle.lock().map(|i| i.len()).unwrap_or(0);
                let busy = self.limit - self.slots.available_permits();
                let starting = self.starting_for_case.load(Ordering::SeqCst);
                let impatient = starting == 0 && tokio::time::Instant::now() >= patience;
                if busy < self.limit && (idle > 0 || busy == 0 || impatient) {
                    if let Ok(permit) = self.slots.try_acquire() {
                        let mut slot = Slot {
                            permit: Some(permit),
                            pool: self,
                            reserved: false,
                            started: None,
                        };
                        if idle == 0 {
                            // It will start a process: the next case waits
                            // for that start rather than making its own.
                            slot.reserve();
                        }
                        return Ok(slot);
                    }
                }
                if busy >= self.limit {
                    break;
                }
                starting > 0
            };
            let until = if starting { give_up } else { patience };
            let timed_out = super::lane::waiting(tokio::time::timeout_at(until, freed))
                .await
                .is_err();
            if timed_out && starting {
                break;
            }
            if starting {
                // A start ended: the patience counts from there.
                patience = tokio::time::Instant::now() + patience_for();
            }
        }
        let permit = match self.slots.try_acquire() {
            Ok(permit) => Ok(Ok(permit)),
            Err(_) => {
                super::lane::waiting(tokio::time::timeout(SLOT_WAIT, self.slots.acquire())).await
            }
        };
        let permit = permit
            .map_err(|_| {
                HarnessError::deadline(
                    peer,
                    format!("no warm process of its kind came free within {SLOT_WAIT:?}"),
                )
            })?
            .map_err(|e| HarnessError::run(peer, e))?;
        Ok(Slot {
            permit: Some(permit),
            pool: self,
            reserved: false,
            started: None,
        })
    }

    /// Gives `process` back after a case, for the next. In a pool with an
    /// idle bound (`idle_for`: a Kafka broker, whose idle JVM keeps a tenth
    /// of a core busy) a process that no case took within it ends: a timer
    /// thread per return, not a readiness wait.
    pub(crate) fn put_back(&'static self, mut process: WarmProcess) {
        process.returned = std::time::Instant::now();
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(process);
        }
        self.freed.notify_waiters();
        let Some(idle_for) = self.idle_for else {
            return;
        };
        let _ = std::thread::Builder::new()
            .name("tlsmatrix-warm-expiry".into())
            .spawn(move || {
                std::thread::sleep(idle_for);
                let expired: Vec<WarmProcess> = match self.idle.lock() {
                    Ok(mut idle) => {
                        let (gone, kept) = std::mem::take(&mut *idle)
                            .into_iter()
                            .partition(|p| p.returned.elapsed() >= idle_for);
                        *idle = kept;
                        gone
                    }
                    Err(_) => Vec::new(),
                };
                // Dropped outside the lock: each waits for its process's end.
                drop(expired);
            });
    }

    /// An idle process, else the spare under way (waiting for it is never
    /// longer than starting one), else a process of the case's own.
    pub(crate) async fn take(
        &self,
        slot: &mut Slot,
        peer: &str,
        program: &Path,
        launch_args: &[String],
        allowance: Duration,
    ) -> Result<WarmProcess, HarnessError> {
        loop {
            let spare = self.spare_done.notified();
            tokio::pin!(spare);
            spare.as_mut().enable();
            if let Some(mut p) = self.idle.lock().ok().and_then(|mut idle| idle.pop()) {
                // An idle process that has ended since its last case (killed
                // from outside, say) would refuse the request: it is dropped,
                // never handed to a case.
                if p.has_exited() {
                    tracing::debug!(peer, "an idle warm process had ended; dropped");
                    continue;
                }
                slot.unreserve();
                return Ok(p);
            }
            if self.starting.load(Ordering::SeqCst)
                && tokio::time::timeout(allowance, spare).await.is_ok()
            {
                continue;
            }
            let busy = self.limit - self.slots.available_permits();
            tracing::debug!(peer, busy, "starting a warm process for a case");
            // The slot stays reserved through the new process's first case,
            // which loads the client's classes: a case waits for that rather
            // than start a process that would do the same.
            slot.reserve();
            slot.started = Some(std::time::Instant::now());
            let started = WarmProcess::start(peer, program, launch_args, allowance).await;
            if started.is_err() {
                slot.started = None;
                slot.unreserve();
            }
            return started;
        }
    }

    /// Starts one spare process in the background when a case left none
    /// idle: a zeebe-node process ends itself after a failed case (see
    /// [`reusable_after`]), and the next case would otherwise wait for a
    /// Node.js start and zeebe-node's load. Only a pool that has already
    /// served a case does this (a process that runs one case, as each
    /// nextest test does, never starts one it will not use), and at most one
    /// spare is under way at a time. The spare is the same `--serve` process
    /// the case would have started itself, started earlier: what a case sees
    /// does not change. A spare that fails to start is dropped; the next case
    /// starts its own and reports that failure.
    pub(crate) fn start_spare(
        &'static self,
        peer: &'static str,
        program: &Path,
        launch_args: &[String],
        allowance: Duration,
    ) {
        let idle_empty = self
            .idle
            .lock()
            .map(|idle| idle.is_empty())
            .unwrap_or(false);
        if !idle_empty
            || self.served.load(Ordering::SeqCst) < 2
            || self.starting.swap(true, Ordering::SeqCst)
        {
            return;
        }
        let program = program.to_path_buf();
        let launch_args = launch_args.to_vec();
        let spawned = std::thread::Builder::new()
            .name("tlsmatrix-warm-spare".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(runtime) = runtime {
                    let started = runtime.block_on(WarmProcess::start(
                        peer,
                        &program,
                        &launch_args,
                        allowance,
                    ));
                    if let (Ok(process), Ok(mut idle)) = (started, self.idle.lock()) {
                        if enabled() {
                            idle.push(process);
                        }
                    }
                    self.freed.notify_waiters();
                }
                self.starting.store(false, Ordering::SeqCst);
                self.spare_done.notify_waiters();
            });
        if spawned.is_err() {
            self.starting.store(false, Ordering::SeqCst);
        }
    }
}

/// A case's slot in a pool (see [`Pool::slot`]), held while it uses a
/// process of the pool; its end tells the cases waiting for one.
pub(crate) struct Slot {
    permit: Option<tokio::sync::SemaphorePermit<'static>>,
    pool: &'static Pool,
    /// This slot's case is starting a process (or about to), or serving
    /// the first case of the process it started.
    reserved: bool,
    /// When this slot's case started a process.
    started: Option<std::time::Instant>,
}

impl Slot {
    /// Counts this slot's case as starting a process of the pool.
    fn reserve(&mut self) {
        if !self.reserved {
            self.reserved = true;
            self.pool.starting_for_case.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Its case has its process (or its start failed): tells the waiters.
    fn unreserve(&mut self) {
        if self.reserved {
            self.reserved = false;
            self.pool.starting_for_case.fetch_sub(1, Ordering::SeqCst);
            self.pool.freed.notify_waiters();
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(t) = self.started.take() {
            // What a new process costs a case: its start and first case.
            let ms = u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX);
            self.pool.start_ms.store(ms.max(1), Ordering::SeqCst);
        }
        self.unreserve();
        // The permit goes back first: a waiter woken here sees it free.
        drop(self.permit.take());
        self.pool.freed.notify_waiters();
    }
}

fn pools() -> std::sync::MutexGuard<'static, BTreeMap<String, &'static Pool>> {
    static POOLS: OnceLock<Mutex<BTreeMap<String, &'static Pool>>> = OnceLock::new();
    POOLS
        .get_or_init(|| Mutex::new(BTreeMap::new()))
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The pool of kind `key` (one per peer kind, one per oracle release).
pub(crate) fn pool(key: &str) -> &'static Pool {
    pool_of(key, process_limit(), None)
}

/// The pool of kind `key` whose processes are busy `limit` at a time (a
/// node that costs seconds of CPU to start: one Kafka broker per
/// configuration) and end after `idle_for` without a case (see
/// [`Pool::put_back`]). The first call for a key decides.
pub(crate) fn pool_of(key: &str, limit: usize, idle_for: Option<Duration>) -> &'static Pool {
    pools().entry(key.to_string()).or_insert_with(|| {
        Box::leak(Box::new(Pool {
            idle: Mutex::new(Vec::new()),
            idle_for,
            slots: tokio::sync::Semaphore::new(limit.max(1)),
            limit: limit.max(1),
            freed: tokio::sync::Notify::new(),
            deciding: Mutex::new(()),
            starting_for_case: std::sync::atomic::AtomicUsize::new(0),
            start_ms: AtomicU64::new(0),
            served: AtomicU64::new(0),
            starting: AtomicBool::new(false),
            spare_done: tokio::sync::Notify::new(),
        }))
    })
}

/// Counts one case served warm (see [`served`]).
pub(crate) fn count_served(pool: &Pool) {
    SERVED.fetch_add(1, Ordering::SeqCst);
    pool.served.fetch_add(1, Ordering::SeqCst);
}

/// Ends every idle warm process of this process (the bench measures cold
/// start after it; a run's processes otherwise end with it).
pub fn shutdown() {
    let pools: Vec<&'static Pool> = pools().values().copied().collect();
    for pool in pools {
        if let Ok(mut idle) = pool.idle.lock() {
            idle.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two cases that come at once to a pool with no process start one
    /// process, not two: the second waits for the first's start and first
    /// case (a real `sh` that answers its ready line), then takes that
    /// process.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_cases_at_once_start_one_process() {
        let pool = pool_of("test-two-cases-at-once", 2, None);
        let sh = Path::new("/bin/sh");
        let args: Vec<String> = ["-c", "echo '{\"ready\":true}'; exec cat >/dev/null", "sh"]
            .map(String::from)
            .to_vec();
        let case = |args: Vec<String>| async move {
            let mut slot = pool.slot("sh").await.expect("a slot");
            let process = pool
                .take(&mut slot, "sh", sh, &args, Duration::from_secs(10))
                .await
                .expect("sh started");
            tokio::time::sleep(Duration::from_millis(100)).await;
            pool.put_back(process);
        };
        let (a, b) = tokio::join!(
            tokio::spawn(case(args.clone())),
            tokio::spawn(case(args.clone()))
        );
        a.unwrap();
        b.unwrap();
        let idle = pool.idle.lock().unwrap().len();
        pool.idle.lock().unwrap().clear();
        assert_eq!(idle, 1, "processes started for two cases at once");
    }
}
