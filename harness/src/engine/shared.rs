//! One engine for a whole nextest run.
//!
//! nextest runs every test in a process of its own, so a case run there
//! cannot reuse a warm peer, a certificate set or a loaded scenario list: each
//! of the ~1,750 case processes parsed every scenario file and started its
//! peer's JVM or Node.js process cold. Here the first case process of a run
//! starts a server (the same test binary, [`SERVE_ARG`]), and every case
//! process of the run sends it its case id over a Unix socket and gets back
//! what the test asserts: the verdict, the failure text and the redacted
//! snapshot text. The server runs each case through [`super::run_case`], as
//! `tlsmatrix run` does (warm peers, certificate sets once per run, CPU-bound
//! and waiting cases bounded by [`super::Slots`]); the test still compares
//! the snapshot itself, in its own process.
//!
//! Decisions, so the answer never depends on where a case ran:
//! - The server is used only under nextest (`NEXTEST_RUN_ID` set) and not
//!   with `TLSMATRIX_SHARED_ENGINE=off`. `cargo test` and a run with the
//!   variable off run each case in the test's own process, as before.
//! - Any failure to reach the server (it could not start, it died, it does
//!   not know the case) runs the case in the test's own process, with a line
//!   on stderr saying why: slower, never a different verdict (warm and cold
//!   give the same texts; `tests/warm.rs` checks that).
//! - The server's life is bounded: it exits when the nextest process that ran
//!   the test which started it is gone, or after [`IDLE`] without a case,
//!   and it takes its warm peers with it. Its socket, lock and log live in
//!   the temporary directory under the run's id, and it removes them.
//! - It never writes to the test's stdout or stderr (nextest would report
//!   the test as leaky): it answers "ready" on a pipe of its own, then points
//!   its stdout at `/dev/null`; its stderr is its log file.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{run_case, CaseResult, RunOptions, Slots, Verdict};
use crate::areas::{self, Load};
use crate::error::HarnessError;
use crate::scenario::Case;

/// The first argument that makes a test binary serve its cases.
pub const SERVE_ARG: &str = "--tlsmatrix-shared-engine";

/// How long a server with no case in flight waits for the next one.
pub const IDLE: Duration = Duration::from_secs(120);

/// How long a case process waits for a server it started to say "ready"
/// (it loads every scenario file first).
const READY: Duration = Duration::from_secs(60);

/// How long a case process waits for its answer: longer than any case's own
/// deadlines (nextest ends a test that takes longer anyway).
const ANSWER: Duration = Duration::from_secs(600);

/// What a case process asserts, as the server computed it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Answer {
    /// The verdict.
    pub verdict: AnswerVerdict,
    /// `report::failure_text`, for a case that failed or errored.
    pub failure_text: Option<String>,
    /// `report::snapshot_text`, for a case that passed.
    pub snapshot_text: Option<String>,
    /// The case's area (its snapshots' folder).
    pub area: String,
    /// The scenario file the case came from.
    pub source: PathBuf,
}

/// The verdict of an [`Answer`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum AnswerVerdict {
    /// Passed: compare [`Answer::snapshot_text`].
    Passed,
    /// Skipped at run time, with the reason.
    Skipped {
        /// Why.
        reason: String,
    },
    /// Failed or errored: [`Answer::failure_text`] says how.
    Failed,
    /// The server has no case of that id.
    Unknown,
}

impl Answer {
    /// The answer for one case's result.
    pub fn of(result: &CaseResult) -> Self {
        let area = result.case.area().to_string();
        let source = result.case.source().to_path_buf();
        match &result.verdict {
            Verdict::Passed => Self {
                verdict: AnswerVerdict::Passed,
                failure_text: None,
                snapshot_text: Some(crate::report::snapshot_text(result)),
                area,
                source,
            },
            Verdict::Skipped { reason } => Self {
                verdict: AnswerVerdict::Skipped {
                    reason: reason.clone(),
                },
                failure_text: None,
                snapshot_text: None,
                area,
                source,
            },
            Verdict::Failed | Verdict::Error { .. } => Self {
                verdict: AnswerVerdict::Failed,
                failure_text: Some(crate::report::failure_text(result)),
                snapshot_text: None,
                area,
                source,
            },
        }
    }

    fn unknown() -> Self {
        Self {
            verdict: AnswerVerdict::Unknown,
            failure_text: None,
            snapshot_text: None,
            area: String::new(),
            source: PathBuf::new(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Request {
    id: String,
}

/// The run's server socket, when this process runs under nextest and the
/// shared engine is not turned off.
pub fn socket() -> Option<PathBuf> {
    if std::env::var("TLSMATRIX_SHARED_ENGINE").is_ok_and(|v| v == "off" || v == "0") {
        return None;
    }
    let run = std::env::var("NEXTEST_RUN_ID").ok()?;
    let run: String = run
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    if run.is_empty() {
        return None;
    }
    let path = std::env::temp_dir().join(format!("tlsmatrix-engine-{run}.sock"));
    // A Unix socket path is at most 107 bytes.
    (path.as_os_str().len() < 100).then_some(path)
}

/// Asks the run's server to run case `id`, starting the server when this is
/// the first case process to ask. `None` (with a line on stderr saying why)
/// when the server cannot be used: run the case in this process then.
pub fn ask(socket: &Path, id: &str) -> Option<Answer> {
    match ask_or_start(socket, id) {
        Ok(answer) if answer.verdict != AnswerVerdict::Unknown => Some(answer),
        Ok(_) => {
            eprintln!("tlsmatrix: the shared engine has no case {id}; running it here");
            None
        }
        Err(e) => {
            eprintln!("tlsmatrix: shared engine unavailable ({e}); running the case here");
            None
        }
    }
}

fn ask_or_start(socket: &Path, id: &str) -> Result<Answer, String> {
    if let Ok(stream) = UnixStream::connect(socket) {
        return exchange(stream, id);
    }
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(with_suffix(socket, "lock"))
        .map_err(|e| format!("lock file: {e}"))?;
    // Held while the server starts: one case process starts it, the others
    // wait here, bounded by that process's READY wait. Released before the
    // case runs, so the waiting ones do not queue behind it.
    flock(&lock)?;
    let stream = match UnixStream::connect(socket) {
        Ok(stream) => stream,
        Err(_) => {
            start_server(socket)?;
            UnixStream::connect(socket).map_err(|e| format!("connect after start: {e}"))?
        }
    };
    drop(lock);
    exchange(stream, id)
}

fn flock(file: &std::fs::File) -> Result<(), String> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a file descriptor this function borrows; the lock is
    // released when the file is closed.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
    if rc == 0 {
        Ok(())
    } else {
        Err(format!("flock: {}", std::io::Error::last_os_error()))
    }
}

fn with_suffix(socket: &Path, suffix: &str) -> PathBuf {
    let mut name = socket.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

fn exchange(mut stream: UnixStream, id: &str) -> Result<Answer, String> {
    stream
        .set_read_timeout(Some(ANSWER))
        .map_err(|e| e.to_string())?;
    let mut line = serde_json::to_string(&Request { id: id.into() }).map_err(|e| e.to_string())?;
    line.push('\n');
    stream
        .write_all(line.as_bytes())
        .map_err(|e| format!("send: {e}"))?;
    let mut answer = String::new();
    BufReader::new(stream)
        .read_line(&mut answer)
        .map_err(|e| format!("answer: {e}"))?;
    if answer.is_empty() {
        return Err("the server closed the connection without an answer".into());
    }
    serde_json::from_str(&answer).map_err(|e| format!("answer {answer:?}: {e}"))
}

/// Starts this binary as the server and waits (at most [`READY`]) for its
/// "ready" line.
fn start_server(socket: &Path) -> Result<(), String> {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let log =
        std::fs::File::create(with_suffix(socket, "log")).map_err(|e| format!("log file: {e}"))?;
    let mut child = Command::new(exe)
        .arg(SERVE_ARG)
        .arg(socket)
        .arg(std::os::unix::process::parent_id().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        // Its own process group: nextest ends a timed-out test's group.
        .process_group(0)
        .spawn()
        .map_err(|e| format!("spawn: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout pipe")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(read.map(|_| line));
    });
    match rx.recv_timeout(READY) {
        Ok(Ok(line)) if line.trim() == "ready" => Ok(()),
        Ok(Ok(line)) => {
            let _ = child.kill();
            Err(format!(
                "the server said {:?} instead of ready (its log: {})",
                line.trim(),
                with_suffix(socket, "log").display()
            ))
        }
        Ok(Err(e)) => {
            let _ = child.kill();
            Err(format!("reading the server's ready line: {e}"))
        }
        Err(_) => {
            let _ = child.kill();
            Err(format!("the server was not ready within {READY:?}"))
        }
    }
}

/// The server: runs `cases` on request at `socket` until the process `watch`
/// is gone or no case came for [`IDLE`]. Prints `ready` on stdout once it
/// listens, then points stdout at `/dev/null`.
pub fn serve(
    socket: &Path,
    watch: Option<u32>,
    cases: Vec<Case>,
    options: RunOptions,
) -> Result<(), HarnessError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| HarnessError::run("could not start the tokio runtime", e))?;
    // What earlier runs' processes left behind, once per nextest run (as
    // `tlsmatrix run` does once per run).
    super::reap_stale_scratch_dirs();
    let result = runtime.block_on(serve_on(socket, watch, cases, options, say_ready));
    crate::peers::warm::shutdown();
    for suffix in ["lock", "log"] {
        let _ = std::fs::remove_file(with_suffix(socket, suffix));
    }
    result
}

struct Server {
    cases: HashMap<String, Arc<Case>>,
    options: RunOptions,
    cpu: Arc<tokio::sync::Semaphore>,
    waiting: Arc<tokio::sync::Semaphore>,
    in_flight: AtomicUsize,
    last: Mutex<Instant>,
}

/// Serves until `watch` is gone or [`IDLE`]; `ready` is called once the
/// socket listens.
async fn serve_on(
    socket: &Path,
    watch: Option<u32>,
    cases: Vec<Case>,
    options: RunOptions,
    ready: impl FnOnce(),
) -> Result<(), HarnessError> {
    let _ = std::fs::remove_file(socket);
    let listener =
        tokio::net::UnixListener::bind(socket).map_err(|e| HarnessError::write(socket, e))?;
    let jobs = std::thread::available_parallelism().map_or(2, usize::from);
    let slots = Slots::for_jobs(jobs);
    let server = Arc::new(Server {
        cases: cases
            .into_iter()
            .map(|c| (c.id().to_string(), Arc::new(c)))
            .collect(),
        options,
        cpu: Arc::new(tokio::sync::Semaphore::new(slots.cpu)),
        waiting: Arc::new(tokio::sync::Semaphore::new(slots.waiting)),
        in_flight: AtomicUsize::new(0),
        last: Mutex::new(Instant::now()),
    });
    ready();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                server.in_flight.fetch_add(1, Ordering::SeqCst);
                let server = server.clone();
                tokio::spawn(async move {
                    if let Err(e) = answer(&server, stream).await {
                        eprintln!("shared engine: {e}");
                    }
                    server.touch();
                    server.in_flight.fetch_sub(1, Ordering::SeqCst);
                });
            }
            _ = tick.tick() => {
                if watch.is_some_and(|pid| !alive(pid)) || server.idle() {
                    break;
                }
            }
        }
    }
    let _ = std::fs::remove_file(socket);
    Ok(())
}

impl Server {
    fn touch(&self) {
        if let Ok(mut last) = self.last.lock() {
            *last = Instant::now();
        }
    }

    fn idle(&self) -> bool {
        self.in_flight.load(Ordering::SeqCst) == 0
            && self.last.lock().is_ok_and(|last| last.elapsed() > IDLE)
    }
}

async fn answer(server: &Server, stream: tokio::net::UnixStream) -> Result<(), String> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    tokio::time::timeout(
        Duration::from_secs(10),
        tokio::io::BufReader::new(read).read_line(&mut line),
    )
    .await
    .map_err(|_| "no request within 10 s".to_string())?
    .map_err(|e| format!("request: {e}"))?;
    let request: Request =
        serde_json::from_str(&line).map_err(|e| format!("request {line:?}: {e}"))?;
    let answer = match server.cases.get(&request.id) {
        None => Answer::unknown(),
        Some(case) => {
            let load = areas::find(&case.area).map_or(Load::Cpu, |a| a.load(case));
            let semaphore = match load {
                Load::Waits => server.waiting.clone(),
                _ => server.cpu.clone(),
            };
            let permit = semaphore
                .clone()
                .acquire_owned()
                .await
                .map_err(|e| format!("slot: {e}"))?;
            let task_case = case.clone();
            let options = server.options.clone();
            // The case gives its lane back while it waits for a process
            // another case holds (`process::lane`).
            let lane = crate::process::lane::Lane::new(semaphore, permit);
            let handle = tokio::spawn(async move { lane.run(run_case(task_case, &options)).await });
            match handle.await {
                Ok(result) => Answer::of(&result),
                Err(e) => Answer {
                    verdict: AnswerVerdict::Failed,
                    failure_text: Some(format!(
                        "case {} panicked in the shared engine: {e}",
                        request.id
                    )),
                    snapshot_text: None,
                    area: case.area().to_string(),
                    source: case.source().to_path_buf(),
                },
            }
        }
    };
    let mut out = serde_json::to_string(&answer).map_err(|e| e.to_string())?;
    out.push('\n');
    write
        .write_all(out.as_bytes())
        .await
        .map_err(|e| format!("answer: {e}"))
}

fn say_ready() {
    use std::os::fd::AsRawFd;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(b"ready\n");
    let _ = stdout.flush();
    // The case process that started this server holds the pipe's other end;
    // nothing else may ever be written to it.
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        // SAFETY: dup2 onto this process's own stdout descriptor.
        unsafe { libc::dup2(null.as_raw_fd(), stdout.as_raw_fd()) };
    }
}

fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 sends nothing; it only checks that the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Runs the server when this process was started as one
/// (`argv[1] == SERVE_ARG`): `argv[2]` is the socket, `argv[3]` the process
/// to outlive no longer. `load` gives the cases, exactly as the case
/// processes list them. Returns `false` (and does nothing) otherwise;
/// exits the process when it served.
pub fn serve_if_asked(load: impl FnOnce() -> Result<Vec<Case>, HarnessError>) -> bool {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) != Some(SERVE_ARG) {
        return false;
    }
    let Some(socket) = args.get(2).map(PathBuf::from) else {
        eprintln!("{SERVE_ARG} needs a socket path");
        std::process::exit(2);
    };
    let watch = args.get(3).and_then(|p| p.parse().ok());
    let outcome = load().and_then(|cases| serve(&socket, watch, cases, RunOptions::from_env()));
    match outcome {
        Ok(()) => std::process::exit(0),
        Err(e) => {
            // Before "ready" this line reaches the waiting case process.
            println!("failed: {e}");
            eprintln!("shared engine: {e}");
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_survive_the_wire() {
        for verdict in [
            AnswerVerdict::Passed,
            AnswerVerdict::Skipped {
                reason: "no zbctl".into(),
            },
            AnswerVerdict::Failed,
            AnswerVerdict::Unknown,
        ] {
            let answer = Answer {
                verdict: verdict.clone(),
                failure_text: Some("line one\nline \"two\"".into()),
                snapshot_text: None,
                area: "zeebe-client".into(),
                source: PathBuf::from("scenarios/zeebe-client/x.yaml"),
            };
            let line = serde_json::to_string(&answer).unwrap();
            assert!(!line.contains('\n'), "one line per answer: {line}");
            let back: Answer = serde_json::from_str(&line).unwrap();
            assert_eq!(back.verdict, verdict);
            assert_eq!(back.failure_text, answer.failure_text);
        }
    }

    /// A server with no cases, on a real socket: it says it does not know
    /// the case (the caller then runs it itself), and it ends once the
    /// process it watches is gone.
    #[test]
    fn an_unknown_case_is_answered_and_the_server_ends_with_its_watch() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("engine.sock");
        let mut watched = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let server = {
            let socket = socket.clone();
            let pid = watched.id();
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                let ready = move || tx.send(()).unwrap();
                let options = RunOptions::default();
                runtime.block_on(serve_on(&socket, Some(pid), Vec::new(), options, ready))
            })
        };
        rx.recv_timeout(Duration::from_secs(30))
            .expect("the server listens");
        let stream = UnixStream::connect(&socket).unwrap();
        let answer = exchange(stream, "zeebe-client::nope").unwrap();
        assert_eq!(answer.verdict, AnswerVerdict::Unknown);
        assert!(ask(&socket, "zeebe-client::nope").is_none());
        watched.kill().unwrap();
        watched.wait().unwrap();
        server.join().unwrap().unwrap();
        assert!(!socket.exists(), "the server removes its socket");
    }
}
