//! `tlsmatrix reproduce`: a user's misconfiguration report built locally, run,
//! classified, compared with what the user saw, then each catalogue remedy
//! applied in turn to show which fix makes it connect.
//!
//! A report file (YAML, unknown keys rejected):
//!
//! ```yaml
//! area: zeebe-client
//! title: zbctl cannot reach our gateway
//! reported-error: |          # what the user pasted: client output, a node's or
//!   Error: rpc error: ...    # proxy's log, a whole stack trace
//! expect: connected(1)       # or an outcome instead, for a silent misconfiguration
//!                            # ("mTLS is not enforced": it connects, and should not)
//! setup:                     # the case body, in the area's schema
//!   gateway: { config-file: gateway.yaml }
//!   client: { kind: zbctl, ca: ca.pem }
//! files:                     # the user's own files (relative to the report)
//!   gateway.yaml: gateway.yaml
//! generate:                  # or certificates generated like theirs (a pki section)
//!   ca: {}
//!   gateway: { issuer: ca, sans: [localhost] }
//! ```

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::areas;
use crate::catalogue::Classification;
use crate::engine::{self, CaseResult, RunOptions, Verdict};
use crate::error::HarnessError;
use crate::hosts::Hosts;
use crate::outcome::Outcome;
use crate::pki::PkiSpec;
use crate::redact::redact;
use crate::scenario::{deep_merge, Case, Expectation};
use serde_yaml_ng::Value;

mod material;
pub use material::{Material, VARIABLES};

/// A user's report, as a file.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Report {
    /// The area the report is about.
    pub(crate) area: crate::ids::AreaName,
    /// One line saying what the user reports.
    pub(crate) title: String,
    /// The error text the user saw, verbatim (client output, a node's or a
    /// proxy's log, a stack trace). Optional when `expect` is given.
    #[serde(default)]
    pub(crate) reported_error: Option<String>,
    /// The outcome the user saw when there is no error text to quote: a
    /// silent misconfiguration (it connects and should not, say).
    #[serde(default)]
    pub(crate) expect: Option<Outcome>,
    /// The setup as a case body of the area.
    pub(crate) setup: serde_yaml_ng::Value,
    /// The user's own files: name in the case directory → path relative to the report.
    #[serde(default)]
    pub(crate) files: std::collections::BTreeMap<String, PathBuf>,
    /// Certificates generated like the user's.
    #[serde(default)]
    pub(crate) generate: PkiSpec,
    /// The product release the user runs (`8.4.0`), one an area models; the
    /// newest modelled release when absent.
    #[serde(default)]
    pub(crate) product_version: Option<String>,
    /// Files the setup names that do not exist on the user's machine either
    /// (the report is about a missing file): exempt from the check that every
    /// named certificate, key or store file is written.
    #[serde(default)]
    pub(crate) absent: Vec<String>,
    /// The user's host names, resolved to the reference nodes for every
    /// client (see [`crate::hosts`]).
    #[serde(default)]
    pub(crate) hosts: Hosts,
}

/// One remedy tried.
#[derive(Debug)]
pub struct RemedyRun {
    /// The remedy's name, with the report's own file names and host names.
    pub name: String,
    /// The change to the user's setup, one `key.path: value` per leaf.
    pub change: Vec<String>,
    /// What happened with it applied; `Err` when it could not be computed
    /// from the report's material (the reason).
    pub result: Result<CaseResult, String>,
}

impl RemedyRun {
    /// True when the remedy ran and connected.
    pub fn connected(&self) -> bool {
        self.result
            .as_ref()
            .is_ok_and(|r| r.actual.as_ref().is_some_and(|a| a.outcome.is_connected()))
    }
}

/// The outcome of `reproduce`.
#[derive(Debug)]
pub struct Reproduction {
    /// The report.
    pub report: Report,
    /// The report file.
    pub source: PathBuf,
    /// What the user's text classifies as.
    pub reported: Classification,
    /// Every case of the area the user's text matches (explain's candidates):
    /// a run on one of them is consistent with the text.
    pub reported_candidates: Vec<crate::ids::EntryId>,
    /// The run of the user's setup.
    pub run: CaseResult,
    /// Each remedy of the matched catalogue entry, applied alone.
    pub remedies: Vec<RemedyRun>,
    /// Wall time from start to verdict.
    pub elapsed: Duration,
}

/// What `reproduce` concludes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// The local run lands on the reported case (or outcome, for `expect:`),
    /// or today's client output or node log holds one of the user's lines
    /// word for word.
    Reproduced,
    /// The local run gives the outcome the user's text classifies as, through
    /// another case that the user's text also matches (explain ranked it
    /// lower): the same failure seen from another side or in another form.
    ReproducedWithADifferentText,
    /// The local run does something else.
    NotReproduced,
}

/// Where one of the user's lines was seen, word for word, in today's run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeenIn {
    /// In the client's output.
    ClientOutput,
    /// In a node's log.
    NodeLog,
}

impl Reproduction {
    /// The user's text (empty for an `expect:`-only report).
    pub fn reported_text(&self) -> &str {
        self.report.reported_error.as_deref().unwrap_or("").trim()
    }

    /// What the reproduction concludes.
    pub fn finding(&self) -> Finding {
        let Some(actual) = self.run.actual.as_ref() else {
            return Finding::NotReproduced;
        };
        if let Some(expect) = &self.report.expect {
            return if &actual.outcome == expect {
                Finding::Reproduced
            } else {
                Finding::NotReproduced
            };
        }
        if (self.reported.entry.is_some() && actual.entry == self.reported.entry)
            || self.user_line_seen().is_some()
        {
            Finding::Reproduced
        } else if self.reported.outcome != Outcome::Unclassified
            && actual.outcome == self.reported.outcome
            && actual
                .entry
                .as_ref()
                .is_some_and(|e| self.reported_candidates.contains(e))
        {
            Finding::ReproducedWithADifferentText
        } else {
            Finding::NotReproduced
        }
    }

    /// True when the run failed the way the user reported.
    pub fn reproduced(&self) -> bool {
        self.finding() == Finding::Reproduced
    }

    /// The first of the user's lines (at least 20 characters, after
    /// redaction) that today's client output or node log holds word for word.
    pub fn user_line_seen(&self) -> Option<(SeenIn, String)> {
        let obs = self.run.observation.as_ref()?;
        let workdir = self.run.workdir.as_deref();
        let output = redact(obs.text(), workdir);
        let logs: Vec<String> = obs.node_logs.iter().map(|l| redact(l, workdir)).collect();
        let pasted = crate::pasted::Pasted::new(self.reported_text());
        pasted
            .units
            .iter()
            .skip(1)
            .map(|u| redact(&u.text, None))
            .filter(|l| l.len() >= 20)
            .find_map(|line| {
                if output.contains(&line) {
                    Some((SeenIn::ClientOutput, line))
                } else if logs.iter().any(|l| l.contains(&line)) {
                    Some((SeenIn::NodeLog, line))
                } else {
                    None
                }
            })
    }

    /// True when the user's text equals today's text after redaction.
    pub fn textually_identical(&self) -> bool {
        let Some(obs) = &self.run.observation else {
            return false;
        };
        redact(self.reported_text(), None) == redact(obs.text(), self.run.workdir.as_deref())
    }

    /// The remedies that made it connect.
    pub fn working_fixes(&self) -> Vec<&RemedyRun> {
        self.remedies.iter().filter(|r| r.connected()).collect()
    }

    /// Human text: the verdict first, then the evidence.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let reported = self
            .reported
            .entry
            .as_deref()
            .unwrap_or("no catalogue case");
        let actual = self.run.actual.as_ref();
        let actual_text = actual
            .map(|a| match &a.entry {
                Some(entry) => format!("{} ({entry})", a.outcome.id()),
                None => a.outcome.id(),
            })
            .unwrap_or_else(|| "not run".to_string());
        self.headline(&mut out, &actual_text, reported);
        self.evidence(&mut out, &actual_text, reported);
        out
    }

    /// The finding (REPRODUCED, ...) and the first fix that worked.
    fn headline(&self, out: &mut String, actual_text: &str, reported: &str) {
        let actual = self.run.actual.as_ref();
        let says = match &self.report.expect {
            Some(expect) => format!("expects {}", expect.id()),
            None => format!("says {reported}"),
        };
        match self.finding() {
            Finding::Reproduced if self.report.expect.is_some() => {
                let _ = writeln!(out, "REPRODUCED: {actual_text}");
            }
            Finding::Reproduced => {
                let _ = writeln!(
                    out,
                    "REPRODUCED: {}",
                    actual.and_then(|a| a.entry.as_deref()).unwrap_or(reported)
                );
            }
            Finding::ReproducedWithADifferentText => {
                let _ = writeln!(
                    out,
                    "REPRODUCED WITH A DIFFERENT TEXT: the report {says}, the setup gives {actual_text}"
                );
            }
            Finding::NotReproduced => {
                let _ = writeln!(
                    out,
                    "NOT REPRODUCED: the report {says}, the setup gives {actual_text}"
                );
            }
        }
        let fixes = self.working_fixes();
        match fixes.first() {
            Some(fix) => {
                let _ = writeln!(out, "FIX: {}", fix.name);
                if !fix.change.is_empty() {
                    let _ = writeln!(out, "     change: {}", fix.change.join("; "));
                }
            }
            None if !self.remedies.is_empty() => {
                let _ = writeln!(out, "FIX: none of the catalogue's remedies made it connect");
            }
            None => {}
        }
    }

    /// The evidence: the report, lint, what the reported text classifies as,
    /// the local run's outcome and texts, and each remedy's result.
    fn evidence(&self, out: &mut String, actual_text: &str, reported: &str) {
        let _ = writeln!(
            out,
            "\nevidence ({}, {:.0} ms)",
            self.source.display(),
            self.elapsed.as_secs_f64() * 1000.0
        );
        let _ = writeln!(out, "  report: {}", self.report.title);
        // Paths in the product's own configuration are read as the product
        // would read them, even outside the case directory: said here.
        for (key, path) in crate::confine::outside_reads(&self.report.setup, "setup") {
            let _ = writeln!(
                out,
                "  reads outside the case directory, as the product would: {key} = {path}"
            );
        }
        for warning in lint(&self.report, &self.source) {
            let _ = writeln!(out, "  lint: {warning}");
        }
        let _ = writeln!(
            out,
            "  reported text classifies as: {} ({})",
            self.reported.outcome.id(),
            reported
        );
        let _ = writeln!(out, "  local run: {actual_text}");
        if let Verdict::Error { message, .. } = &self.run.verdict {
            let _ = writeln!(out, "  harness error: {message}");
        }
        if let Some(obs) = &self.run.observation {
            let _ = writeln!(out, "  peer: {}", obs.peer);
            let _ = writeln!(out, "  output today: {}", obs.text());
            for line in &obs.node_logs {
                let _ = writeln!(out, "  node log: {line}");
            }
            let text = self.text_verdict();
            let _ = writeln!(out, "  text: {text}");
        }
        for remedy in &self.remedies {
            let got = match &remedy.result {
                Ok(result) => result
                    .actual
                    .as_ref()
                    .map(|a| a.outcome.id())
                    .unwrap_or_else(|| format!("{:?}", result.verdict)),
                Err(reason) => format!("not tried: {reason}"),
            };
            let _ = writeln!(out, "  remedy \"{}\": {got}", remedy.name);
        }
    }

    /// How today's text compares with the report's.
    fn text_verdict(&self) -> String {
        if self.report.expect.is_some() {
            "no text reported (expect: given)".to_string()
        } else if self.textually_identical() {
            "identical to the report after redaction".to_string()
        } else {
            match self.user_line_seen() {
                Some((SeenIn::ClientOutput, line)) => {
                    format!("the client's output today holds the user's line \"{line}\"")
                }
                Some((SeenIn::NodeLog, line)) => {
                    format!("a node's log today holds the user's line \"{line}\"")
                }
                None => "differs from the report (older client, or another form of the same case)"
                    .to_string(),
            }
        }
    }

    /// A scenario file holding the confirmed report as a regression case.
    pub fn scenario_yaml(&self) -> Result<String, HarnessError> {
        if !self.report.files.is_empty() {
            return Err(HarnessError::invalid(
                self.source.display().to_string(),
                "files",
                "a scenario cannot carry the user's own files",
                "describe the certificates under `generate:` and inline the configuration in `setup:`",
            ));
        }
        let actual = self.run.actual.as_ref().ok_or_else(|| {
            HarnessError::run(
                "reproduce",
                "the setup did not run; there is no outcome to record",
            )
        })?;
        let name = self
            .source
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("report")
            .to_lowercase()
            .replace(|c: char| !c.is_ascii_alphanumeric(), "-");
        let mut case = serde_yaml_ng::Mapping::new();
        case.insert("name".into(), name.into());
        case.insert("body".into(), self.report.setup.clone());
        case.insert("outcome".into(), actual.outcome.id().into());
        if let Some(entry) = &actual.entry {
            case.insert("entry".into(), entry.as_str().into());
        }
        case.insert(
            "because".into(),
            format!("reproduced from a report: {}", self.report.title).into(),
        );
        let mut file = serde_yaml_ng::Mapping::new();
        file.insert("area".into(), self.report.area.as_str().into());
        file.insert(
            "description".into(),
            format!(
                "regression case from a reproduced report: {}",
                self.report.title
            )
            .into(),
        );
        file.insert(
            "pki".into(),
            serde_yaml_ng::to_value(&self.report.generate)
                .map_err(|e| HarnessError::run("reproduce", e))?,
        );
        if !self.report.hosts.is_empty() {
            file.insert(
                "hosts".into(),
                serde_yaml_ng::to_value(&self.report.hosts)
                    .map_err(|e| HarnessError::run("reproduce", e))?,
            );
        }
        file.insert(
            "cases".into(),
            serde_yaml_ng::Value::Sequence(vec![case.into()]),
        );
        serde_yaml_ng::to_string(&file).map_err(|e| HarnessError::run("reproduce", e))
    }
}

/// Reads a report file.
pub fn load(path: &Path) -> Result<Report, HarnessError> {
    let text = crate::input::read(path)?;
    // A key given twice is an error in the plain tree (typed maps keep the last).
    serde_yaml_ng::from_str::<serde_yaml_ng::Value>(&text)
        .map_err(|e| HarnessError::yaml(path.display().to_string(), &e))?;
    let report: Report = serde_yaml_ng::from_str(&text).map_err(|e| {
        let message = e.to_string();
        if message.contains("missing field") {
            HarnessError::invalid(
                path.display().to_string(),
                message.split('`').nth(1).unwrap_or("(report)"),
                strip_at(&message),
                "a report needs area, title, reported-error and setup; see fixtures/reports/unknown-authority.yaml for a complete example",
            )
        } else {
            HarnessError::yaml(path.display().to_string(), &e)
        }
    })?;
    match (&report.reported_error, &report.expect) {
        (None, None) => {
            return Err(HarnessError::invalid(
                path.display().to_string(),
                "reported-error",
                "missing field `reported-error`",
                "a report needs area, title, reported-error (or expect: OUTCOME for a silent misconfiguration) and setup; see fixtures/reports/unknown-authority.yaml for a complete example",
            ));
        }
        (Some(text), _) if text.trim().is_empty() => {
            return Err(HarnessError::invalid(
                path.display().to_string(),
                "reported-error",
                "the reported error text is empty",
                "paste the client's error message, e.g. `reported-error: |` followed by the text",
            ));
        }
        _ => {}
    }
    if let Some(v) = &report.product_version {
        let known = crate::version::known_versions();
        if !known.iter().any(|k| k == v) {
            return Err(HarnessError::invalid(
                path.display().to_string(),
                "product-version",
                format!("no area models release {v:?}"),
                format!("use one of: {}", known.join(", ")),
            ));
        }
    }
    report.hosts.check(&path.display().to_string())?;
    check_names(&report, path)?;
    check_named_files(&report, path)?;
    Ok(report)
}

/// Certificate, key and keystore file names a setup names (string values
/// ending in one of these, without a directory).
const MATERIAL_EXTENSIONS: [&str; 8] = [
    ".pem", ".crt", ".key", ".cer", ".der", ".p12", ".pfx", ".jks",
];

/// A report whose setup names a certificate, key or store file that neither
/// `generate:` nor `files:` writes would run another case than the user's:
/// refused before anything runs, with the files that are written.
fn check_named_files(report: &Report, path: &Path) -> Result<(), HarnessError> {
    fn strings<'a>(value: &'a serde_yaml_ng::Value, at: String, out: &mut Vec<(String, &'a str)>) {
        match value {
            serde_yaml_ng::Value::String(s) => out.push((at, s)),
            serde_yaml_ng::Value::Sequence(items) => {
                for (i, v) in items.iter().enumerate() {
                    strings(v, format!("{at}[{i}]"), out);
                }
            }
            serde_yaml_ng::Value::Mapping(map) => {
                for (k, v) in map {
                    let key = k
                        .as_str()
                        .map(String::from)
                        .unwrap_or_else(|| format!("{k:?}"));
                    strings(v, format!("{at}.{key}"), out);
                }
            }
            _ => {}
        }
    }
    // The cluster's documented openssl recipe (`setup.openssl`) writes its
    // own files; what it writes is the recipe's, not the report's, to name.
    if report.setup.get("openssl").is_some() {
        return Ok(());
    }
    let mut named = Vec::new();
    strings(&report.setup, "setup".to_string(), &mut named);
    let written: Vec<String> = report
        .generate
        .file_names()
        .into_iter()
        .chain(report.files.keys().cloned())
        .chain(report.absent.iter().cloned())
        .collect();
    for (key, value) in named {
        let value = value.trim();
        let looks_like_material = !value.contains(char::is_whitespace)
            && !value.contains('/')
            && MATERIAL_EXTENSIONS.iter().any(|ext| value.ends_with(ext));
        if looks_like_material && !written.iter().any(|w| w == value) {
            return Err(HarnessError::invalid(
                path.display().to_string(),
                key,
                format!(
                    "names {value}, which neither generate: nor files: writes; written: {}",
                    if written.is_empty() { "nothing".to_string() } else { written.join(", ") }
                ),
                "name one of the written files, or give the certificate entry `files:` with that name (e.g. `files: { layout: kubernetes-tls }` for tls.crt, tls.key, ca.crt), or list it under `absent:` when the report is about that file missing",
            ));
        }
    }
    Ok(())
}

/// The one rule for names in a report ([`crate::confine`]): a `files:` name
/// lands in the case directory and its source lies beside the report (in the
/// report's directory), `generate:` names become file names in the case
/// directory, and every `config-file:` / `workdir:` under `setup:` names a
/// file or folder in the case directory.
fn check_names(report: &Report, path: &Path) -> Result<(), HarnessError> {
    let file = path.display().to_string();
    let base = path.parent().unwrap_or(Path::new("."));
    let refuse = |key: String, name: &str, why: &str| {
        HarnessError::invalid(
            &file,
            key,
            format!("{name:?}: {why}"),
            "give a plain relative name inside the case directory (no leading `/`, no `..`)",
        )
    };
    for (name, source) in &report.files {
        let key = format!("files.{name}");
        if let Some(why) = crate::confine::refusal(name) {
            return Err(refuse(key, name, why));
        }
        let source = source.to_string_lossy();
        let full = crate::confine::inside(base, &source, &file, &key)?;
        let meta = std::fs::metadata(&full)
            .map_err(|e| HarnessError::read(&full, e).in_setting(&file, &key))?;
        if !meta.is_file() {
            return Err(HarnessError::invalid(
                &file,
                key,
                format!("{} is not a regular file", full.display()),
                "name a file beside the report",
            ));
        }
    }
    report.generate.check(&file, "generate")?;
    let mut names = Vec::new();
    names_under(&report.setup, "setup", &mut names);
    for (key, name) in names {
        if let Some(why) = crate::confine::refusal(&name) {
            return Err(refuse(key, &name, why));
        }
    }
    Ok(())
}

/// Every `config-file:` and `workdir:` under `value`, with its dotted key.
fn names_under(value: &serde_yaml_ng::Value, key: &str, out: &mut Vec<(String, String)>) {
    if let serde_yaml_ng::Value::Mapping(map) = value {
        for (k, v) in map {
            let Some(k) = k.as_str() else { continue };
            let key = format!("{key}.{k}");
            match (k, v) {
                ("config-file" | "workdir", serde_yaml_ng::Value::String(name)) => {
                    out.push((key, name.clone()))
                }
                ("config" | "env", _) => {} // the product's own settings
                _ => names_under(v, &key, out),
            }
        }
    }
}

fn strip_at(message: &str) -> String {
    message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_string()
}

fn case_for(
    report: &Report,
    source: &Path,
    body: serde_yaml_ng::Value,
    pki: PkiSpec,
    name: &str,
) -> Result<Case, HarnessError> {
    let base = source.parent().unwrap_or(Path::new("."));
    let id = crate::ids::CaseId::new(&report.area, "reproduce", name)
        .map_err(|e| e.at(source.display().to_string(), "area"))?;
    Ok(Case {
        id,
        area: report.area.clone(),
        source: source.to_path_buf(),
        labels: Vec::new(),
        pki: Arc::new(pki),
        hosts: Arc::new(report.hosts.clone()),
        body: crate::scenario::Body::new(body),
        expect: Expectation {
            outcome: Outcome::Unclassified,
            entry: None,
            because: None,
        },
        skip: None,
        files: report
            .files
            .iter()
            .map(|(n, p)| (n.clone(), base.join(p)))
            .collect(),
        version: report.product_version.clone(),
        alternatives: Vec::new(),
    })
}

/// Deep-merges a remedy's patch over a case body. A key `*` in the patch
/// stands for every key the body has at that place (`nodes: { "*": ... }`:
/// every node of a cluster, whatever the user named them).
pub fn apply_patch(body: &mut Value, patch: &Value) {
    let concrete = each_key(patch, body);
    deep_merge(body, &concrete);
}

fn each_key(patch: &Value, body: &Value) -> Value {
    let Value::Mapping(map) = patch else {
        return patch.clone();
    };
    let mut out = serde_yaml_ng::Mapping::new();
    for (k, v) in map {
        if k.as_str() == Some("*") {
            for (bk, bv) in body.as_mapping().into_iter().flatten() {
                let each = each_key(v, bv);
                match out.get_mut(bk) {
                    Some(existing) => deep_merge(existing, &each),
                    None => {
                        out.insert(bk.clone(), each);
                    }
                }
            }
        } else {
            let sub = body.get(k).unwrap_or(&Value::Null);
            if v.is_null() && sub.is_null() {
                // Removing what is not there: nothing to say, nothing to insert.
                continue;
            }
            out.insert(k.clone(), each_key(v, sub));
        }
    }
    Value::Mapping(out)
}

/// A patch as `setup.key.path: value` lines, one per leaf; the value of a
/// secret or password (from the report's own setup) is not repeated.
fn change_lines(prefix: &str, value: &serde_yaml_ng::Value) -> Vec<String> {
    let last = prefix.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    if ["secret", "password", "jaas"]
        .iter()
        .any(|w| last.contains(w))
        && !value.is_mapping()
    {
        return vec![format!("{prefix}: (the one in your setup)")];
    }
    match value {
        serde_yaml_ng::Value::Mapping(map) => map
            .iter()
            .flat_map(|(k, v)| {
                let key = k
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("{k:?}"));
                change_lines(&format!("{prefix}.{key}"), v)
            })
            .collect(),
        serde_yaml_ng::Value::String(s) if s.is_empty() => vec![format!("{prefix}: (unset)")],
        serde_yaml_ng::Value::Null => vec![format!("{prefix}: (removed)")],
        other => {
            let text = serde_yaml_ng::to_string(other).unwrap_or_default();
            vec![format!("{prefix}: {}", text.trim())]
        }
    }
}

/// Keys the product would ignore in the report's gateway configuration (a
/// Zeebe `gateway.config` inline or its `config-file`, with `gateway.env`):
/// misspelt, at the wrong level, or of the other gateway shape. The product
/// ignores them, and so does the run; the evidence says so.
pub fn lint(report: &Report, source: &Path) -> Vec<String> {
    let Some(gateway) = report.setup.get("gateway") else {
        return Vec::new();
    };
    let text = match (gateway.get("config"), gateway.get("config-file")) {
        (Some(config), _) if config.is_mapping() => {
            serde_yaml_ng::to_string(config).unwrap_or_default()
        }
        (_, Some(serde_yaml_ng::Value::String(name))) => {
            let base = source.parent().unwrap_or(Path::new("."));
            match report.files.get(name) {
                Some(path) => crate::input::read(&base.join(path)).unwrap_or_default(),
                None => return Vec::new(),
            }
        }
        _ => return Vec::new(),
    };
    let env: crate::config::EnvMap = gateway
        .get("env")
        .and_then(|e| e.as_mapping())
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let mode = match gateway.get("mode").and_then(|m| m.as_str()) {
        Some("embedded") => crate::config::zeebe::GatewayMode::Embedded,
        _ => crate::config::zeebe::GatewayMode::Standalone,
    };
    let file = format!("{}: setup.gateway", source.display());
    let Ok(props) = crate::config::Properties::from_yaml(&file, &text, env) else {
        return Vec::new();
    };
    let mut warnings = crate::config::lint::zeebe_gateway(&props, mode);
    warnings.extend(crate::config::lint::other_shape(&props, mode));
    warnings
}

/// What the user's text classifies as: explain's top case in the report's
/// area (so a stack trace, a node's or a proxy's log work as well as a
/// client's last line).
fn classify_reported(
    area: &'static dyn areas::Area,
    text: Option<&str>,
) -> (Classification, Vec<crate::ids::EntryId>) {
    let explanation = text.map(|t| crate::explain::explain_in(t, &[area]));
    let candidates = explanation
        .as_ref()
        .map(|e| e.matches.iter().map(|c| c.entry.id.clone()).collect())
        .unwrap_or_default();
    let top = explanation.as_ref().and_then(|e| {
        e.top()
            .map(|c| (c.entry.outcome.clone(), c.entry.id.clone()))
    });
    let classification = match top {
        Some((outcome, entry)) => Classification {
            outcome,
            entry: Some(entry),
        },
        None => Classification {
            outcome: Outcome::Unclassified,
            entry: None,
        },
    };
    (classification, candidates)
}

/// Builds, runs and explains a report, then tries each remedy.
pub async fn reproduce(path: &Path, options: &RunOptions) -> Result<Reproduction, HarnessError> {
    let start = Instant::now();
    let report = load(path)?;
    let area = areas::find(&report.area)?;
    let (reported, reported_candidates) = classify_reported(area, report.reported_error.as_deref());
    let case = case_for(
        &report,
        path,
        report.setup.clone(),
        report.generate.clone(),
        "report",
    )?;
    area.check(&case)
        .map_err(|e| e.in_setting(&path.display().to_string(), "setup"))?;
    let run = engine::run_case(Arc::new(case), options).await;
    if let Verdict::Skipped { reason } = &run.verdict {
        return Err(HarnessError::start_failed(
            "reproduce",
            format!("cannot run the reported client here: {reason}"),
        )
        .with_fix("install what the reason names, or reproduce on a machine that has it"));
    }
    // Remedies of the case the run fell into (or, failing that, the reported one).
    let entry_id = run
        .actual
        .as_ref()
        .and_then(|a| a.entry.clone())
        .or_else(|| reported.entry.clone());
    let mut remedies = Vec::new();
    if let Some(entry) = entry_id
        .as_deref()
        .and_then(|id| area.catalogue().entry(id))
    {
        let material = Material::of(&report, path)?;
        for (i, remedy) in entry.remedies.iter().enumerate() {
            let name = material
                .text(&remedy.name)
                .unwrap_or_else(|_| remedy.name.clone());
            let patch = match material.substitute(&remedy.patch) {
                Ok(patch) => patch,
                Err(reason) => {
                    remedies.push(RemedyRun {
                        name,
                        change: Vec::new(),
                        result: Err(reason),
                    });
                    continue;
                }
            };
            let mut body = report.setup.clone();
            apply_patch(&mut body, &patch);
            let mut pki = report.generate.clone();
            pki.certs.extend(remedy.pki.certs.clone());
            let case = case_for(&report, path, body, pki, &format!("remedy-{}", i + 1))?;
            let result = engine::run_case(Arc::new(case), options).await;
            remedies.push(RemedyRun {
                name,
                change: change_lines("setup", &patch),
                result: Ok(result),
            });
        }
    }
    Ok(Reproduction {
        report,
        source: path.to_path_buf(),
        reported,
        reported_candidates,
        run,
        remedies,
        elapsed: start.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_report_naming_a_file_generate_does_not_write_fails_listing_what_it_writes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let report = |generate: &str| {
            format!(
                "area: zeebe-client\ntitle: t\nreported-error: x509\nsetup:\n  gateway: {{ config: {{ zeebe: {{ gateway: {{ security: {{ enabled: true, certificateChainPath: tls.crt, privateKeyPath: tls.key }} }} }} }} }}\n  client: {{ kind: zbctl, ca: ca.crt }}\ngenerate:\n{generate}"
            )
        };
        let path = dir.path().join("report.yaml");
        std::fs::write(&path, report("  ca: {}\n  gateway: { issuer: ca }\n")).expect("write");
        let err = super::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("setup.gateway.config.zeebe.gateway.security.certificateChainPath: names tls.crt, which neither generate: nor files: writes; written: ca.pem, ca.key, gateway.pem, gateway-chain.pem, gateway.key"),
            "{err}"
        );
        std::fs::write(
            &path,
            report("  ca: {}\n  gateway: { issuer: ca, files: { layout: kubernetes-tls } }\n"),
        )
        .expect("write");
        super::load(&path).expect("tls.crt, tls.key and ca.crt are written");
    }
}
