//! Layers point one way (DESIGN.md): `process/` (starting programs)
//! imports none of the layers above it; `nodes/` never imports `peers/` or
//! `areas/`; `pki/` imports none of `peers/`, `nodes/` or `areas/`;
//! `containers/` (placement) never imports an area; `peers/` never imports an
//! area. The check reads every `crate::` path in the sources, so it is cheap
//! and runs with the suite.
//!
//! `KNOWN` lists the imports that break a rule today (none since issue 17
//! moved process management into `process/` and the cluster topology into
//! `nodes/cluster`). The list is a ratchet: a new
//! violation fails, and so does an entry that no longer occurs, so the list
//! only shrinks.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

mod common;

/// (importing module, imported module) pairs that break no rule.
const RULES: &[(&str, &[&str])] = &[
    (
        "nodes",
        &["peers", "areas", "engine", "cli", "reproduce", "explain"],
    ),
    ("pki", &["peers", "nodes", "areas", "engine", "cli"]),
    ("containers", &["areas", "engine", "cli"]),
    ("peers", &["areas", "engine", "cli"]),
    (
        "process",
        &[
            "nodes",
            "peers",
            "pki",
            "areas",
            "engine",
            "cli",
            "containers",
        ],
    ),
];

/// Violations that exist today (file relative to harness/src, imported module).
const KNOWN: &[(&str, &str)] = &[];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a source directory") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules a file names through `crate::`, including the
/// heads of a `use crate::{a::b, c}` group.
fn imported_modules(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.trim()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut rest = text;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            // Nested groups are rare; the heads are what matter.
            for part in group[..end].split(',') {
                let head = ident(part);
                if !head.is_empty() {
                    found.insert(head);
                }
            }
        } else {
            let head = ident(rest);
            if !head.is_empty() {
                found.insert(head);
            }
        }
    }
    found
}

#[test]
fn layers_point_one_way() {
    let src = common::crate_dir().join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut violations = BTreeSet::new();
    for file in &files {
        let rel = file
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .to_string();
        let module = rel
            .split('/')
            .next()
            .unwrap()
            .trim_end_matches(".rs")
            .to_string();
        let Some((_, forbidden)) = RULES.iter().find(|(m, _)| *m == module) else {
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for imported in imported_modules(&text) {
            if forbidden.contains(&imported.as_str()) {
                violations.insert((rel.clone(), imported));
            }
        }
    }
    let known: BTreeSet<(String, String)> = KNOWN
        .iter()
        .map(|(f, m)| (f.to_string(), m.to_string()))
        .collect();
    let new: Vec<_> = violations.difference(&known).collect();
    let gone: Vec<_> = known.difference(&violations).collect();
    assert!(
        new.is_empty(),
        "imports against the layers (DESIGN.md): {new:?}; move the shared code down a layer instead"
    );
    assert!(
        gone.is_empty(),
        "these known violations are gone: remove them from KNOWN in tests/layers.rs: {gone:?}"
    );
}

#[test]
fn imports_are_read_from_groups_and_paths() {
    let text =
        "use crate::peers::process;\nuse crate::{nodes::x, pki};\nlet a = crate::areas::find();";
    let got = imported_modules(text);
    assert_eq!(
        got,
        ["areas", "nodes", "peers", "pki"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
}

/// One lifecycle (issue 17): every start gives `process::Started<N>` (ready,
/// or a typed `Refusal`); no module defines a start enum of its own, a
/// refusal as a bare string or an ad-hoc refusal type.
#[test]
fn one_start_type() {
    let src = common::crate_dir().join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let own = [
        regex::Regex::new(r"enum \w*Start\b").unwrap(),
        regex::Regex::new(r"Refused\((String|HarnessError)\)").unwrap(),
        regex::Regex::new(r"type Refusal\b").unwrap(),
    ];
    let mut found = Vec::new();
    let mut started = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let rel = file.strip_prefix(&src).unwrap().display().to_string();
        for (n, line) in text.lines().enumerate() {
            if own.iter().any(|re| re.is_match(line)) {
                found.push(format!("{rel}:{}: {}", n + 1, line.trim()));
            }
            if line.contains("pub enum Started<") {
                started.push(rel.clone());
            }
        }
    }
    assert!(
        found.is_empty(),
        "a start result of its own; return process::Started<N> with a process::Refusal instead:\n{}",
        found.join("\n")
    );
    assert_eq!(started, ["process/lifecycle.rs"], "one Started type");
}

/// Results the library hands back to its callers, which they only read: these
/// may keep `pub` fields (a plain record, like testcontainers' exec result).
/// Everything a caller builds or passes in (settings, specs, options, scenario
/// data) has crate-private fields, `Default` or a constructor, `with_*`
/// builders and getters (issue 17, item 6).
const RECORDS: &[&str] = &[
    "Answer",
    "AttemptResult",
    "AuditRecord",
    "CaseResult",
    "Candidate",
    "CertificateFacts",
    "ChainCheck",
    "Classification",
    "ClientCertificateRequest",
    "CorruptBatch",
    "Diagnosis",
    "Difference",
    "Drift",
    "Endpoint",
    "Explanation",
    "Finding",
    "Formation",
    "Found",
    "Grid",
    "Hit",
    "Issued",
    "Link",
    "LinkError",
    "NameError",
    "NodeAddresses",
    "NodeLines",
    "Observation",
    "Offer",
    "PartitionState",
    "Pasted",
    "ProcessOutput",
    "Ranked",
    "Reaped",
    "Refusal",
    "RemedyRun",
    "Reproduction",
    "Scored",
    "StatementDrift",
    "Totals",
    "Undecision",
    "Unit",
    "UnknownOutcome",
];

/// Input types that still have `pub` fields. A ratchet like `KNOWN`: a new
/// one fails, and so does an entry that no longer has pub fields. Empty since
/// the peers' client configurations got `new`, `with_*` and getters.
const PUB_FIELDS_KNOWN: &[&str] = &[];

/// The `pub struct`s of a source text that have `pub` fields (named fields
/// at the body's first level, or a tuple struct's `(pub T)`); `pub(crate)`
/// structs and fields are not part of the public API and are not counted.
fn structs_with_pub_fields(text: &str) -> Vec<String> {
    let field = regex::Regex::new(r"^\s*pub [a-z_0-9]+\s*:").unwrap();
    let head = regex::Regex::new(r"^\s*pub struct (\w+)").unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if let Some(c) = head.captures(lines[i]) {
            let name = c[1].to_string();
            let line = lines[i].trim_end();
            if line.ends_with('{') {
                let mut depth = 1i32;
                let mut has = false;
                while depth > 0 && i + 1 < lines.len() {
                    i += 1;
                    has |= depth == 1 && field.is_match(lines[i]);
                    depth += lines[i].matches('{').count() as i32;
                    depth -= lines[i].matches('}').count() as i32;
                }
                if has {
                    found.push(name);
                }
            } else if line.contains("(pub ") {
                found.push(name);
            }
        }
        i += 1;
    }
    found
}

/// A testcontainers-style public API (issue 17, item 6): no public type that
/// callers build has `pub` fields they could mutate. The rule: a `pub struct`
/// with `pub` fields is a record in `RECORDS` (a result handed back, only
/// read) or a known input in `PUB_FIELDS_KNOWN`; anything else gives its
/// fields `pub(crate)` and adds `with_*` builders and getters.
#[test]
fn public_types_have_no_pub_fields() {
    let src = common::crate_dir().join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut found = BTreeSet::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap().display().to_string();
        if rel == "main.rs" || rel == "cli.rs" || rel.starts_with("cli/") {
            continue; // the binary's own modules are not exported
        }
        let text = std::fs::read_to_string(file).unwrap();
        for name in structs_with_pub_fields(&text) {
            if !RECORDS.contains(&name.as_str()) {
                found.insert(name);
            }
        }
    }
    let known: BTreeSet<String> = PUB_FIELDS_KNOWN.iter().map(|s| s.to_string()).collect();
    let new: Vec<_> = found.difference(&known).collect();
    let gone: Vec<_> = known.difference(&found).collect();
    assert!(
        new.is_empty(),
        "public types with pub fields callers could mutate: {new:?}; make the fields pub(crate) \
         and add with_* builders and getters, or list a returned result in RECORDS (tests/layers.rs)"
    );
    assert!(
        gone.is_empty(),
        "these types no longer have pub fields: remove them from PUB_FIELDS_KNOWN in tests/layers.rs: {gone:?}"
    );
}

#[test]
fn pub_fields_are_found_in_named_and_tuple_structs() {
    let text = "pub struct A {\n    pub a: u8,\n    inner: X { pub b: u8 },\n}\n\
                pub struct B {\n    pub(crate) b: u8,\n}\n\
                pub struct C(pub String);\npub struct D(pub(crate) String);\n\
                pub(crate) struct E {\n    pub e: u8,\n}\n";
    assert_eq!(structs_with_pub_fields(text), ["A", "C"]);
}
