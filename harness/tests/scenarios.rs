//! Every expanded scenario case as its own test (libtest-mimic, so nextest runs
//! and selects them by id: `cargo nextest run -E 'test(/^zeebe-client::/)'`),
//! plus checks that keep the data honest: every snapshot belongs to a case, and
//! every catalogue entry's documented texts classify to itself.
//!
//! No scenario logic lives here: each trial calls the engine, compares the
//! verdict, and snapshots the redacted text.

use std::collections::BTreeSet;
use std::sync::Arc;

use libtest_mimic::{Arguments, Failed, Trial};
use tlsmatrix::engine::shared::{Answer, AnswerVerdict};
use tlsmatrix::engine::{self, RunOptions};
use tlsmatrix::error::HarnessError;
use tlsmatrix::scenario::{self, Case};
use tlsmatrix::{areas, version};

mod common;
use common::{multi_thread_runtime, workspace};

/// Snapshot file stem for a case id (`::` is not portable in file names).
fn snapshot_name(id: &str) -> String {
    id.replace("::", "__")
}

fn run_case(case: Case, options: RunOptions) -> Result<(), Failed> {
    let rt = multi_thread_runtime().map_err(|e| Failed::from(format!("tokio runtime: {e}")))?;
    let answer = Answer::of(&rt.block_on(engine::run_case(Arc::new(case.clone()), &options)));
    check_answer(case.id(), answer)
}

/// nextest runs one case per process (`--exact ID`): with the run's shared
/// engine there, this process needs no scenario file at all. `None` when the
/// case must run here (no shared engine, or it failed: see `engine::shared`).
fn run_shared(id: &str) -> Option<Result<(), Failed>> {
    let answer = engine::shared::ask(&engine::shared::socket()?, id)?;
    Some(check_answer(id, answer))
}

/// The verdict and snapshot of a case, wherever it ran (this process or the
/// run's shared engine).
fn check_answer(id: &str, answer: Answer) -> Result<(), Failed> {
    let text = match answer.verdict {
        AnswerVerdict::Passed => answer.snapshot_text.unwrap_or_default(),
        AnswerVerdict::Skipped { reason } => {
            return Err(Failed::from(format!("skipped at run time: {reason}")));
        }
        AnswerVerdict::Failed | AnswerVerdict::Unknown => {
            return Err(Failed::from(answer.failure_text.unwrap_or_default()))
        }
    };
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(workspace().join("snapshots").join(&answer.area));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_input_file(&answer.source);
    settings.bind(|| {
        insta::assert_snapshot!(snapshot_name(id), text);
    });
    Ok(())
}

/// Runs case `id` in this process (the shared engine could not).
fn run_here(id: &str) -> Result<(), Failed> {
    let cases = load_cases().map_err(|e| Failed::from(format!("cannot load scenarios: {e}")))?;
    let case = cases
        .into_iter()
        .find(|c| c.id().as_str() == id)
        .ok_or_else(|| Failed::from(format!("no case {id}")))?;
    run_case(case, RunOptions::from_env())
}

fn snapshots_belong_to_cases(cases: &[Case]) -> Result<(), Failed> {
    let ids: BTreeSet<String> = cases.iter().map(|c| snapshot_name(c.id())).collect();
    let mut orphans = Vec::new();
    let mut count = 0;
    for area in areas::registry() {
        let dir = workspace().join("snapshots").join(area.name());
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(stem) = name.strip_suffix(".snap") {
                count += 1;
                if !ids.contains(stem) {
                    orphans.push(name);
                }
            } else if name.ends_with(".snap.new") || name.ends_with(".pending-snap") {
                orphans.push(format!("{name} (unreviewed: run `cargo insta review`)"));
            }
        }
    }
    if count == 0 {
        return Err("no snapshot files found under snapshots/".into());
    }
    if orphans.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "snapshots without a case (delete them or restore the case):\n  {}",
            orphans.join("\n  ")
        )
        .into())
    }
}

fn catalogue_documented_texts_classify() -> Result<(), Failed> {
    let mut problems = Vec::new();
    let mut checked = 0;
    for area in areas::registry() {
        for entry in area.catalogue().entries() {
            if entry.documented() && entry.documented_messages().is_empty() {
                problems.push(format!(
                    "{}: documented but without documented messages",
                    entry.id()
                ));
            }
            for text in entry.documented_messages() {
                checked += 1;
                let got = area.catalogue().classify_text(text);
                if got.entry.as_deref() != Some(entry.id().as_str()) {
                    problems.push(format!(
                        "{}: its documented text classifies as {:?}",
                        entry.id(),
                        got.entry
                    ));
                }
            }
        }
    }
    if checked == 0 {
        problems.push("no documented message was checked".into());
    }
    verdict(problems)
}

/// Every case on the netty-oracle (and any other non-reference backend) must
/// agree with the same case on the reference, compared on their snapshots.
fn backends_agree(cases: &[Case]) -> Result<(), Failed> {
    use tlsmatrix::report::differential::{comparable, reference_of};
    let mut compared = 0;
    let mut problems = Vec::new();
    let read = |id: &str, area: &str| {
        std::fs::read_to_string(
            workspace()
                .join("snapshots")
                .join(area)
                .join(format!("{}.snap", snapshot_name(id))),
        )
        .ok()
    };
    for case in cases.iter().filter(|c| c.skip().is_none()) {
        let Some(reference) = reference_of(case, cases) else {
            continue;
        };
        // A reference case skipped with a reason in the data (a divergence
        // found and written down) has nothing to compare against.
        if reference.skip().is_some() {
            continue;
        }
        let value = case
            .labels()
            .last()
            .map(|(_, v)| v.as_str())
            .unwrap_or_default();
        let (Some(expected), Some(actual)) = (
            read(reference.id(), reference.area()),
            read(case.id(), case.area()),
        ) else {
            problems.push(format!(
                "{}: snapshot of it or of {} missing",
                case.id(),
                reference.id()
            ));
            continue;
        };
        compared += 1;
        if comparable(&expected) != comparable(&actual) {
            problems.push(format!(
                "{} differs from {}:\n--- reference\n{}\n--- {value}\n{}",
                case.id(),
                reference.id(),
                comparable(&expected),
                comparable(&actual)
            ));
        }
    }
    if compared == 0 {
        problems.push("no case pair was compared".to_string());
    }
    verdict(problems)
}

/// Passes when there is no problem; otherwise fails listing them all.
fn verdict(problems: Vec<String>) -> Result<(), Failed> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n\n").into())
    }
}

/// The cases of this suite: the newest release of every case, and the older
/// releases' cases whose expectation differs, so both sides of a version
/// change are tested.
fn load_cases() -> Result<Vec<Case>, HarnessError> {
    scenario::load_paths(&[workspace().join("scenarios")])
        .and_then(|cases| engine::check_cases(&cases).map(|()| cases))
        .and_then(|cases| version::select(cases, &version::Selection::Changed))
}

fn main() {
    // The run's shared engine (see `engine::shared`) is this binary too.
    engine::shared::serve_if_asked(load_cases);
    let args = Arguments::from_args();
    if let (Some(id), true, false) = (args.filter.clone(), args.exact, args.list) {
        if !id.starts_with("meta::") && engine::shared::socket().is_some() {
            // nextest has listed the suite and decided whether this case is
            // ignored; it runs it with `--ignored` exactly when it is.
            let ignored = args.ignored;
            let trial = Trial::test(id.clone(), move || match run_shared(&id) {
                Some(result) => result,
                None => run_here(&id),
            });
            libtest_mimic::run(&args, vec![trial.with_ignored_flag(ignored)]).exit();
        }
    }
    let options = RunOptions::from_env();
    let cases = match load_cases() {
        Ok(cases) => cases,
        Err(e) => {
            eprintln!("tlsmatrix: cannot load scenarios: {e}");
            std::process::exit(2);
        }
    };
    let mut trials = vec![
        Trial::test("meta::snapshots-belong-to-cases", {
            let cases = cases.clone();
            move || snapshots_belong_to_cases(&cases)
        }),
        Trial::test(
            "meta::catalogue-documented-texts-classify",
            catalogue_documented_texts_classify,
        ),
        Trial::test("meta::backends-agree", {
            let cases = cases.clone();
            move || backends_agree(&cases)
        }),
    ];
    for case in cases {
        // A case whose real peer is missing is ignored (never passed), unless CI
        // demands every peer, in which case it runs and fails naming the install.
        // Only the cases this process may run are checked (nextest runs each test
        // in its own process with `--exact NAME`; checks start JVMs and such).
        let selected = match (&args.filter, args.exact) {
            (Some(f), true) => f == case.id(),
            (Some(f), false) => case.id().contains(f.as_str()),
            (None, _) => true,
        };
        let missing_peer = selected
            && areas::find(case.area())
                .and_then(|a| a.check(&case))
                .map(|reqs| reqs.iter().any(|r| r.locate().is_err()))
                .unwrap_or(false);
        let ignored = case.skip().is_some() || (missing_peer && !options.require_peers());
        let options = options.clone();
        let id = case.id().clone();
        trials.push(Trial::test(id, move || run_case(case, options)).with_ignored_flag(ignored));
    }
    libtest_mimic::run(&args, trials).exit();
}
