//! `run` and `list`: which cases a command line selects, and the run's
//! policy: progress, repetitions, the report on standard output, the
//! differential, flakes and skips on standard error, and the exit code.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use tlsmatrix::engine::{self, RunOptions};
use tlsmatrix::error::HarnessError;
use tlsmatrix::report::{self, Format, Totals};
use tlsmatrix::scenario::{self, Case};

use super::args::{BackendArg, RunArgs, SelectArgs};
use super::{interrupted, runtime, until_interrupted};

/// `list`: the ids of the selected cases.
pub(crate) fn list(select: &SelectArgs) -> Result<ExitCode, HarnessError> {
    for case in select_cases(select)? {
        println!("{}", case.id());
    }
    Ok(ExitCode::SUCCESS)
}

/// The default scenario folder: `./scenarios`, else the one beside this crate.
pub(crate) fn default_scenarios() -> PathBuf {
    let local = PathBuf::from("scenarios");
    if local.is_dir() {
        local
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
    }
}

pub(crate) fn select_cases(select: &SelectArgs) -> Result<Vec<Case>, HarnessError> {
    let paths = if select.paths.is_empty() {
        vec![default_scenarios()]
    } else {
        select.paths.clone()
    };
    let cases = scenario::load_paths(&paths)?;
    engine::check_cases(&cases)?;
    let cases =
        tlsmatrix::version::select(cases, &select.product_version.clone().unwrap_or_default())?;
    check_backend(&select.backend, &cases)?;
    let cases: Vec<Case> = match &select.backend {
        BackendArg::Containers => {
            tlsmatrix::containers::locate_docker()?;
            cases.into_iter().filter_map(on_containers).collect()
        }
        BackendArg::All => cases,
        BackendArg::Only(backend) => cases
            .into_iter()
            .filter(|c| c.label("backend").is_none_or(|b| b == backend))
            .collect(),
    };
    if select.filter.is_empty() {
        return Ok(cases);
    }
    let mut builder = globset::GlobSetBuilder::new();
    for f in &select.filter {
        builder.add(globset::Glob::new(f).map_err(|e| {
            HarnessError::invalid(
                "command line",
                "--filter",
                e.to_string(),
                "use a glob such as 'zeebe-client::*zbctl*'",
            )
        })?);
    }
    let set = builder.build().map_err(|e| {
        HarnessError::invalid("command line", "--filter", e.to_string(), "fix the glob")
    })?;
    Ok(cases.into_iter().filter(|c| set.is_match(c.id())).collect())
}

/// `--backend` names a backend some selected case runs on (or `all`,
/// `containers`, or the default `embedded`); a misspelt one is refused here,
/// naming the flag, instead of selecting nothing.
fn check_backend(backend: &BackendArg, cases: &[Case]) -> Result<(), HarnessError> {
    let mut known: std::collections::BTreeSet<&str> =
        cases.iter().filter_map(|c| c.label("backend")).collect();
    known.extend(["embedded", "all", "containers"]);
    let backend = backend.name();
    if known.contains(backend) {
        return Ok(());
    }
    Err(HarnessError::invalid(
        "command line",
        "--backend",
        format!("no backend named {backend:?}"),
        format!(
            "use one of: {}",
            known.into_iter().collect::<Vec<_>>().join(", ")
        ),
    ))
}

/// `--backend containers`: each case as its area places its nodes in
/// containers ([`tlsmatrix::areas::Area::on_containers`]); cases an area cannot
/// place are left out.
fn on_containers(case: Case) -> Option<Case> {
    let area = tlsmatrix::areas::find(case.area()).ok()?;
    let case = area.on_containers(&case)?;
    area.check(&case).ok()?;
    Some(case)
}

pub(crate) fn run(args: RunArgs) -> Result<ExitCode, HarnessError> {
    let cases: Vec<Arc<Case>> = select_cases(&args.select)?
        .into_iter()
        .map(Arc::new)
        .collect();
    if cases.is_empty() {
        return Err(HarnessError::invalid(
            "command line",
            "--filter",
            "no case matches the selection",
            "check the paths and the filter with `tlsmatrix list`",
        ));
    }
    let options = RunOptions::from_env();
    let rt = runtime()?;
    tlsmatrix::engine::reap_stale_scratch_dirs();
    let start = Instant::now();
    let repeat = args.repeat;
    let bar = indicatif::ProgressBar::new(cases.len() as u64 * repeat as u64);
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let mut rounds = Vec::new();
    for _ in 0..repeat {
        let run = engine::run_all(cases.clone(), &options, args.jobs, |r| {
            bar.set_message(r.case.id().to_string());
            bar.inc(1);
        });
        // Ctrl-C / SIGTERM: stop, and let the runtime's shutdown drop every
        // case task, which kills their child processes (kill_on_drop), stops
        // their nodes and removes their temp directories, before exiting 130.
        match until_interrupted(&rt, run) {
            Some(results) => rounds.push(results),
            None => {
                bar.finish_and_clear();
                return Ok(interrupted(
                    rt,
                    args.select.backend == BackendArg::Containers,
                    "the run",
                ));
            }
        }
    }
    bar.finish_and_clear();
    if args.select.backend == BackendArg::Containers {
        // A network goes only with its last container; what a drop could
        // not remove goes now.
        tlsmatrix::containers::reap_own();
    }
    let wall = start.elapsed();
    let results = rounds.last().cloned().unwrap_or_default();
    write_report(args.format, &results, wall);
    Ok(summarise(&results, &rounds, wall))
}

/// The report of the last round, on stdout, in the chosen format.
fn write_report(format: Format, results: &[engine::CaseResult], wall: std::time::Duration) {
    let mut out = std::io::stdout().lock();
    let _ = match format {
        Format::Table => write!(out, "{}", report::table(results)),
        Format::Json => write!(out, "{}", report::json_lines(results)),
        Format::Junit => write!(out, "{}", report::junit(results, wall)),
        Format::Markdown => write!(out, "{}", report::markdown(results)),
        Format::Html => write!(out, "{}", report::html(results)),
    };
}

/// What the run says on stderr after its report (backend differences,
/// failures, skips grouped by reason, flakes across the rounds, totals) and
/// its exit code: 2 for a harness error, 1 for a failure, a flake or a
/// backend difference, else success.
fn summarise(
    results: &[engine::CaseResult],
    rounds: &[Vec<engine::CaseResult>],
    wall: std::time::Duration,
) -> ExitCode {
    let repeat = rounds.len();
    let flaky = flapping(rounds);
    let (pairs, diffs) = report::differential::differences(results);
    for d in &diffs {
        eprintln!(
            "\nbackend difference: {} vs {}\n--- {}\n{}\n--- {}\n{}",
            d.reference, d.other, d.reference, d.expected, d.other, d.actual
        );
    }
    if pairs > 0 {
        eprintln!(
            "\ndifferential: {pairs} case pairs compared across backends, {} differ",
            diffs.len()
        );
    }
    for r in results.iter().filter(|r| !r.is_ok()) {
        eprint!("\n{}", report::failure_text(r));
    }
    // Skips are reported with their reason, grouped (a missing peer skips many).
    let mut reasons: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for r in results {
        if let engine::Verdict::Skipped { reason } = &r.verdict {
            *reasons.entry(reason.as_str()).or_default() += 1;
        }
    }
    for (reason, n) in reasons {
        eprintln!("\nskipped {n} case(s): {reason}");
    }
    for line in &flaky {
        eprintln!("\nflaky across {repeat} repetitions: {line}");
    }
    let t = Totals::of(results);
    eprintln!(
        "\nrun: {} passed, {} failed, {} skipped",
        t.passed, t.failed, t.skipped
    );
    eprintln!(
        "harness errors: {}; cases: {}; repetitions: {repeat}; wall time: {:.2}s",
        t.errors,
        results.len(),
        wall.as_secs_f64()
    );
    if t.errors > 0 {
        ExitCode::from(2)
    } else if t.failed > 0 || !flaky.is_empty() || !diffs.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Cases whose outcome changed across repetitions, each with how often it
/// had which outcome (in order of first appearance) and, for every outcome
/// but the first, the whole text of its first occurrence, indented: what a
/// flake looked like.
fn flapping(rounds: &[Vec<engine::CaseResult>]) -> Vec<String> {
    let Some(first) = rounds.first() else {
        return Vec::new();
    };
    let outcome = |x: &engine::CaseResult| {
        x.actual
            .as_ref()
            .map_or_else(|| "no outcome".to_string(), |a| a.outcome.id())
    };
    let mut flaky = Vec::new();
    for (i, r) in first.iter().enumerate() {
        let mut seen: Vec<(String, usize, String)> = Vec::new();
        for (n, round) in rounds.iter().enumerate() {
            let Some(x) = round.get(i) else { continue };
            let o = outcome(x);
            match seen.iter_mut().find(|(id, _, _)| *id == o) {
                Some(entry) => entry.1 += 1,
                None => {
                    // The whole text: a flake's first line is often the
                    // same as the usual one, and the difference is below it.
                    let text = x
                        .observation
                        .as_ref()
                        .map(|obs| obs.text().lines().collect::<Vec<_>>().join("\n    "))
                        .unwrap_or_else(|| format!("{:?}", x.verdict));
                    seen.push((o, 1, format!("repetition {}:\n    {text}", n + 1)));
                }
            }
        }
        if seen.len() > 1 {
            let counts: Vec<String> = seen.iter().map(|(o, c, _)| format!("{o} ×{c}")).collect();
            let mut line = format!("{} changed outcome: {}", r.case.id(), counts.join(", "));
            for (o, _, first_seen) in seen.iter().skip(1) {
                line.push_str(&format!("\n  first {o} at {first_seen}"));
            }
            flaky.push(line);
        }
    }
    flaky
}
