//! The corpus of real texts (`fixtures/real-texts/`) stays classified: every
//! text whose cause the thread established puts that case on top of
//! `explain --area` (the area a report names, as `reproduce` reads it),
//! except the listed misses, which must still miss, so the list stays true.
//! Over every area (no `--area`), the score is printed and kept above a floor:
//! a bare line that names no product cannot say which product's case it is.

use std::path::PathBuf;

mod common;

fn corpus_dir() -> PathBuf {
    common::workspace().join("fixtures/real-texts")
}

#[test]
fn every_known_cause_is_on_top_except_the_listed_misses() {
    let corpus = tlsmatrix::corpus::load(&corpus_dir()).expect("the corpus loads");
    let scored = tlsmatrix::corpus::score(&corpus);
    println!("{}", tlsmatrix::corpus::render(&scored));
    let known: Vec<_> = scored.iter().filter(|s| s.cause.contains("::")).collect();
    assert!(
        known.len() >= 100,
        "only {} texts with a known cause",
        known.len()
    );
    let mut wrong = Vec::new();
    for s in &known {
        match (&s.miss, s.right_in_area()) {
            (None, false) => wrong.push(format!(
                "{}: expected {}, got {}",
                s.id,
                s.cause,
                s.top_in_area.as_deref().unwrap_or("nothing")
            )),
            (Some(reason), true) => wrong.push(format!(
                "{}: listed as a miss ({reason}) but explain gets it right now: remove `miss:`",
                s.id
            )),
            _ => {}
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let right = known.iter().filter(|s| s.right_in_area()).count();
    assert!(
        right * 10 >= known.len() * 9,
        "right case on top (--area) for {right} of {} texts, below 90%",
        known.len()
    );
    let anywhere = known.iter().filter(|s| s.right()).count();
    assert!(
        anywhere * 4 >= known.len() * 3,
        "right case on top over every area for {anywhere} of {} texts, below 75%",
        known.len()
    );
}

#[test]
fn the_corpus_spans_the_areas_and_stacks() {
    let corpus = tlsmatrix::corpus::load(&corpus_dir()).expect("the corpus loads");
    let areas: std::collections::BTreeSet<_> = corpus.texts().iter().map(|(_, a, _)| a).collect();
    assert_eq!(areas.len(), 5, "{areas:?}");
    let stacks: std::collections::BTreeSet<_> =
        corpus.texts().iter().map(|(_, _, t)| t.stack()).collect();
    assert!(stacks.len() >= 8, "{stacks:?}");
    for (_, _, t) in corpus.texts() {
        assert!(
            t.source().contains('#') || t.source().starts_with("https://"),
            "{}: source {:?} is neither owner/repo#number nor a URL",
            t.id(),
            t.source()
        );
        assert!(!t.text().trim().is_empty(), "{}: empty text", t.id());
    }
}

/// Signatures grown from real texts must not move our own runs: every
/// recorded snapshot's client output still classifies as the entry it
/// recorded (a cheap check that runs no peer; the scenario suite checks the
/// same on live runs).
#[test]
fn recorded_snapshots_keep_their_entries() {
    let root = common::workspace().join("snapshots");
    let mut checked = 0;
    let mut moved = Vec::new();
    for area_dir in std::fs::read_dir(&root).expect("snapshots/") {
        let area_dir = area_dir.expect("an entry").path();
        let area_name = area_dir.file_name().unwrap().to_string_lossy().to_string();
        let Ok(area) = tlsmatrix::areas::find(&area_name) else {
            continue;
        };
        for snap in std::fs::read_dir(&area_dir).expect("an area's snapshots") {
            let snap = snap.expect("an entry").path();
            let body = std::fs::read_to_string(&snap).expect("a snapshot");
            let Some(entry) = body
                .lines()
                .find_map(|l| l.strip_prefix("entry: "))
                .filter(|e| *e != "-")
                .map(str::to_string)
            else {
                continue;
            };
            let Some(output) = body.split("--- client output ---\n").nth(1) else {
                continue;
            };
            let output = output.split("\n--- ").next().unwrap_or("");
            let got = area.catalogue().classify_text(output);
            checked += 1;
            if got.entry.as_deref() != Some(entry.as_str()) {
                moved.push(format!(
                    "{}: recorded {entry}, now {:?}",
                    snap.file_name().unwrap().to_string_lossy(),
                    got.entry
                ));
            }
        }
    }
    assert!(checked > 500, "only {checked} snapshots with an entry");
    assert!(
        moved.is_empty(),
        "{} moved:\n{}",
        moved.len(),
        moved.join("\n")
    );
}

/// Every entry can be reached by some text: its own signatures (our runs and
/// pasted texts) or, for entries grown only from real texts, a family.
#[test]
fn every_entry_is_reachable() {
    let mut unreachable = Vec::new();
    for area in tlsmatrix::areas::registry() {
        for entry in area.catalogue().entries() {
            if entry.signatures().is_empty() && entry.families().is_empty() {
                unreachable.push(entry.id().clone());
            }
        }
    }
    assert!(
        unreachable.is_empty(),
        "no signature, no family: {unreachable:?}"
    );
}

/// Every catalogue entry says how to fix it as data (`remedies`) or why no
/// case body can (`no-remedy`); a remedy uses only the report's material
/// variables (and the areas' own run-time placeholders), and its patch,
/// merged over each case of its entry (or the area's first case), is a body
/// the area's schema accepts. Runs no peer.
#[test]
fn every_entry_has_remedies_that_fit_its_area() {
    use tlsmatrix::reproduce::{apply_patch, Material, VARIABLES};
    // Replaced by the areas at run time, not by the report's material.
    const PLACEHOLDERS: &[&str] = &["backend", "token-url"];
    let token = regex::Regex::new(r"\{([A-Za-z_-]+)(:[A-Z_]+)?\}").unwrap();
    let mut material = Material::default();
    for (var, _) in VARIABLES {
        let sample = match *var {
            "gateway-protocol" | "client-protocol" => "SASL_SSL".to_string(),
            _ => format!("x-{var}"),
        };
        material = material.with_var(var, sample);
    }
    let scenarios = common::workspace().join("scenarios");
    let mut problems = Vec::new();
    let mut checked = 0;
    for area in tlsmatrix::areas::registry() {
        let cases = tlsmatrix::scenario::load_paths(&[scenarios.join(area.name())])
            .expect("the area's scenarios load");
        for entry in area.catalogue().entries() {
            match (entry.remedies().is_empty(), &entry.no_remedy()) {
                (true, None) => {
                    problems.push(format!("{}: neither remedies nor no-remedy", entry.id()))
                }
                (false, Some(_)) => {
                    problems.push(format!("{}: both remedies and no-remedy", entry.id()))
                }
                _ => {}
            }
            let mut bases: Vec<_> = cases
                .iter()
                .filter(|c| c.expect().entry() == Some(entry.id()))
                .collect();
            if bases.is_empty() {
                bases.extend(cases.first());
            }
            for remedy in entry.remedies() {
                let text = format!(
                    "{} {}",
                    remedy.name(),
                    serde_yaml_ng::to_string(remedy.patch()).unwrap()
                );
                for cap in token.captures_iter(&text) {
                    let var = &cap[1];
                    let known =
                        VARIABLES.iter().any(|(v, _)| *v == var) || PLACEHOLDERS.contains(&var);
                    if !known {
                        problems.push(format!(
                            "{}: remedy {:?} uses {{{var}}}, not a material variable",
                            entry.id(),
                            remedy.name()
                        ));
                    }
                }
                let patch = material
                    .substitute(remedy.patch())
                    .expect("every variable set");
                for base in &bases {
                    let pki = base.pki().clone().with_all(remedy.pki());
                    let case = (*base)
                        .clone()
                        .with_body_edit(|tree| apply_patch(tree, &patch))
                        .with_pki(pki);
                    checked += 1;
                    if let Err(e) = area.check(&case) {
                        problems.push(format!(
                            "{}: remedy {:?} over {}: {e}",
                            entry.id(),
                            remedy.name(),
                            case.id()
                        ));
                    }
                }
            }
        }
    }
    assert!(checked > 100, "only {checked} patched bodies checked");
    problems.dedup();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
