//! The pipeline every case goes through, whatever its area: check → materialise
//! certificates → area runs nodes and client → classify → verdict. The CLI and
//! the nextest harness both call [`run_case`].

pub mod shared;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::areas::{self, Load};
use crate::catalogue::Classification;
use crate::error::{ErrorKind, HarnessError};
use crate::outcome::Outcome;
use crate::peers::Observation;
use crate::scenario::{Case, Expectation};

/// How cases run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Treat a missing real peer as an error instead of a skip (CI sets
    /// `TLSMATRIX_REQUIRE_PEERS=1`, so a broken install cannot pass as skips).
    pub(crate) require_peers: bool,
}

impl RunOptions {
    /// The same options, treating a missing real peer as an error when `require`.
    pub fn with_require_peers(mut self, require: bool) -> Self {
        self.require_peers = require;
        self
    }
}

impl RunOptions {
    /// Treat a missing real peer as an error instead of a skip (CI sets
    /// `TLSMATRIX_REQUIRE_PEERS=1`, so a broken install cannot pass as skips).
    pub fn require_peers(&self) -> bool {
        self.require_peers
    }
}

impl RunOptions {
    /// Options from the environment (`TLSMATRIX_REQUIRE_PEERS`).
    pub fn from_env() -> Self {
        Self {
            require_peers: std::env::var("TLSMATRIX_REQUIRE_PEERS")
                .is_ok_and(|v| v == "1" || v == "true"),
        }
    }
}

/// The verdict on one case.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    /// The outcome (and entry, where named) matched the expectation.
    Passed,
    /// The system under test did something else than expected.
    Failed,
    /// Not run, with the reason (data-declared skip or missing peer).
    Skipped {
        /// Why.
        reason: String,
    },
    /// The harness could not run the case.
    Error {
        /// The harness error, as the CLI prints it.
        message: String,
        /// Its kind.
        kind: ErrorKind,
        /// What to do about it ([`HarnessError::fix`]).
        fix: String,
    },
}

impl Verdict {
    /// The verdict on a case the harness could not run.
    pub fn error(e: &HarnessError) -> Self {
        Self::Error {
            message: e.to_string(),
            kind: e.kind(),
            fix: e.fix(),
        }
    }
}

/// Everything known about one case after it ran.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// The case.
    pub case: Arc<Case>,
    /// The classification of what happened, when the case ran.
    pub actual: Option<Classification>,
    /// The raw observation, when the case ran.
    pub observation: Option<Observation>,
    /// The verdict.
    pub verdict: Verdict,
    /// Wall time of the whole case.
    pub elapsed: Duration,
    /// The case directory (deleted after the run; kept for redaction).
    pub workdir: Option<PathBuf>,
}

impl CaseResult {
    /// The case's expectation.
    pub fn expect(&self) -> &Expectation {
        &self.case.expect
    }

    /// The fix of the catalogue entry that explains the actual outcome.
    pub fn fix(&self) -> Option<String> {
        let entry = self.actual.as_ref()?.entry.as_ref()?;
        let area = areas::find(&self.case.area).ok()?;
        area.catalogue().entry(entry).map(|e| e.fix.clone())
    }

    /// True unless the case failed or errored.
    pub fn is_ok(&self) -> bool {
        matches!(self.verdict, Verdict::Passed | Verdict::Skipped { .. })
    }
}

/// Checks every case against its area's schema before anything runs.
pub fn check_cases(cases: &[Case]) -> Result<(), HarnessError> {
    for case in cases {
        areas::find(&case.area)?.check(case)?;
    }
    Ok(())
}

/// Runs one case through the pipeline.
pub async fn run_case(case: Arc<Case>, options: &RunOptions) -> CaseResult {
    let start = Instant::now();
    let mut result = CaseResult {
        case: case.clone(),
        actual: None,
        observation: None,
        verdict: Verdict::Passed,
        elapsed: Duration::ZERO,
        workdir: None,
    };
    if let Some(reason) = &case.skip {
        result.verdict = Verdict::Skipped {
            reason: reason.clone(),
        };
        return result;
    }
    match run_inner(&case, &mut result).await {
        Ok(()) => {}
        Err(e) if e.is_missing_peer() && !options.require_peers => {
            result.verdict = Verdict::Skipped {
                reason: e.to_string(),
            }
        }
        Err(e) => result.verdict = Verdict::error(&e),
    }
    result.elapsed = start.elapsed();
    result
}

async fn run_inner(case: &Case, result: &mut CaseResult) -> Result<(), HarnessError> {
    tracing::info!(case = %case.id, "case started");
    let area = areas::find(&case.area)?;
    for requirement in area.check(case)? {
        (requirement.locate)()?;
    }
    let dir = scratch_dir()?;
    result.workdir = Some(dir.path().to_path_buf());
    // Cases with the same `pki:` spec share one set per run (see `pki::set_cache`).
    let pki = crate::pki::set_cache::materialize(&case.pki, dir.path()).await?;
    case.hosts.write_to(dir.path())?;
    for (name, source) in &case.files {
        let target = crate::confine::inside(
            dir.path(),
            name,
            &case.source.display().to_string(),
            &format!("files.{name}"),
        )?;
        let mode = std::fs::metadata(source).map_err(|e| HarnessError::read(source, e))?;
        let bytes = std::fs::read(source).map_err(|e| HarnessError::read(source, e))?;
        // Keep a key's restrictive mode; everything else readable.
        let mode = if std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o077 == 0 {
            0o600
        } else {
            0o644
        };
        crate::pki::write_file(&target, &bytes, mode)?;
    }
    let observation = area.run(case, dir.path(), &pki).await?;
    let actual = classify_at(area, &observation, case.version.as_deref());
    result.verdict = if verdict_holds(&case.expect, &actual) {
        Verdict::Passed
    } else {
        Verdict::Failed
    };
    result.actual = Some(actual);
    result.observation = Some(observation);
    Ok(())
}

/// A fresh directory for one case (certificates, keys, configuration), named
/// `tlsmatrix-<pid>-...` in the temp directory and removed when dropped: on
/// success, on error and on an interrupt (the runtime's shutdown drops it). A
/// process killed outright leaves it behind; [`reap_stale_scratch_dirs`]
/// removes it on the next run.
pub fn scratch_dir() -> Result<tempfile::TempDir, HarnessError> {
    tempfile::Builder::new()
        .prefix(&format!("tlsmatrix-{}-", std::process::id()))
        .tempdir()
        .map_err(|e| HarnessError::write(std::env::temp_dir(), e))
}

/// Removes the scratch directories of tlsmatrix processes that no longer run
/// (killed with SIGKILL, say): `tlsmatrix-<pid>-...` in the temp directory,
/// owned by this user, whose pid is gone. Returns how many were removed.
pub fn reap_stale_scratch_dirs() -> usize {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return 0;
    };
    // SAFETY: getuid(2) has no preconditions.
    let uid = unsafe { libc::getuid() };
    let mut reaped = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("tlsmatrix-"))
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue;
        };
        // SAFETY: kill(2) with signal 0 only checks that the pid exists.
        let gone = pid > 0
            && unsafe { libc::kill(pid, 0) } == -1
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
        if meta.is_dir()
            && meta.uid() == uid
            && gone
            && std::fs::remove_dir_all(entry.path()).is_ok()
        {
            reaped += 1;
        }
    }
    reaped
}

/// Classifies an observation with the area's catalogue.
pub fn classify(area: &dyn areas::Area, observation: &Observation) -> Classification {
    classify_at(area, observation, None)
}

/// [`classify`] for a run against one product release: catalogue entries
/// whose `since`/`until` exclude it are passed over.
pub fn classify_at(
    area: &dyn areas::Area,
    observation: &Observation,
    version: Option<&str>,
) -> Classification {
    if let Some(outcome) = &observation.direct {
        return Classification {
            outcome: outcome.clone(),
            entry: None,
        };
    }
    match observation.connected_brokers {
        Some(brokers) => Classification {
            outcome: Outcome::Connected { brokers },
            entry: None,
        },
        None => area
            .catalogue()
            .classify_text_at(observation.text(), version),
    }
}

fn verdict_holds(expect: &Expectation, actual: &Classification) -> bool {
    expect.outcome == actual.outcome
        && expect
            .entry
            .as_ref()
            .is_none_or(|entry| actual.entry.as_ref() == Some(entry))
}

/// How many cases of each [`Load`] may be in flight at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slots {
    /// CPU-bound cases (`--jobs`).
    pub(crate) cpu: usize,
    /// Cases that mostly wait, on top of the CPU-bound ones.
    pub(crate) waiting: usize,
}

/// Waiting cases in flight per job slot: a kcat case that waits out its 2 s
/// metadata timeout uses a few milliseconds of CPU.
pub const WAITING_PER_JOB: usize = 4;

impl Slots {
    /// `jobs` CPU-bound cases, and [`WAITING_PER_JOB`] times as many waiting ones.
    pub fn for_jobs(jobs: usize) -> Self {
        let jobs = jobs.max(1);
        Self {
            cpu: jobs,
            waiting: jobs * WAITING_PER_JOB,
        }
    }

    /// One case at a time, whatever its load (per-case measurements).
    pub fn serial() -> Self {
        Self { cpu: 1, waiting: 0 }
    }
}

/// Runs cases with [`Slots::for_jobs`]`(parallel)`, calling `each` as results
/// come in; returns results in case order.
pub async fn run_all(
    cases: Vec<Arc<Case>>,
    options: &RunOptions,
    parallel: usize,
    each: impl FnMut(&CaseResult),
) -> Vec<CaseResult> {
    run_all_in(cases, options, Slots::for_jobs(parallel), each).await
}

/// Runs cases with at most `slots.cpu` CPU-bound and `slots.waiting` waiting
/// cases (by [`areas::Area::load`]) at once, calling `each` as results come
/// in; returns results in case order. With no waiting slots, every case
/// takes a CPU slot.
pub async fn run_all_in(
    cases: Vec<Arc<Case>>,
    options: &RunOptions,
    slots: Slots,
    mut each: impl FnMut(&CaseResult),
) -> Vec<CaseResult> {
    let cpu = Arc::new(tokio::sync::Semaphore::new(slots.cpu.max(1)));
    let waiting = Arc::new(tokio::sync::Semaphore::new(slots.waiting));
    let mut handles = Vec::new();
    for case in cases {
        let options = options.clone();
        let load = areas::find(&case.area).map_or(Load::Cpu, |a| a.load(&case));
        let semaphore = match load {
            Load::Waits if slots.waiting > 0 => waiting.clone(),
            _ => cpu.clone(),
        };
        let task_case = case.clone();
        let handle = tokio::spawn(async move {
            match semaphore.clone().acquire_owned().await {
                // The case gives its lane back while it waits for a process
                // another case holds (`process::lane`).
                Ok(permit) => {
                    crate::process::lane::Lane::new(semaphore, permit)
                        .run(run_case(task_case, &options))
                        .await
                }
                Err(_) => run_case(task_case, &options).await,
            }
        });
        handles.push((case, handle));
    }
    let mut out = Vec::with_capacity(handles.len());
    for (case, handle) in handles {
        let result = handle.await.unwrap_or_else(|e| CaseResult {
            case,
            actual: None,
            observation: None,
            verdict: Verdict::error(&HarnessError::run("the case panicked", e)),
            elapsed: Duration::ZERO,
            workdir: None,
        });
        each(&result);
        out.push(result);
    }
    out
}
